//! Evaluation on a labelled folder (`<label>/<image>`): accuracy, per-class recall, confusion
//! matrix and throughput for whichever backend the engine runs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;

use crate::emotion::Emotion;
use crate::engine::{DetectRequest, Engine};
use crate::frame::Frame;
use crate::labels;

/// One labelled image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    pub path: PathBuf,
    pub truth: Emotion,
}

/// The images of `dir/<label>/`, where each label folder is named by an emotion or a synonym
/// (`anger`, `happiness`, ...). Other folders and files are listed in the second vector.
pub fn collect_samples(dir: &Path) -> std::io::Result<(Vec<Sample>, Vec<PathBuf>)> {
    let mut samples = Vec::new();
    let mut ignored = Vec::new();
    let mut folders: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    folders.sort_by_key(|e| e.file_name());
    for folder in folders {
        let path = folder.path();
        let truth = folder.file_name().to_str().and_then(labels::canonical);
        let (true, Some(truth)) = (path.is_dir(), truth) else {
            ignored.push(path);
            continue;
        };
        let mut files: Vec<_> = std::fs::read_dir(&path)?.collect::<Result<_, _>>()?;
        files.sort_by_key(|e| e.file_name());
        for file in files {
            let path = file.path();
            let is_image = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                matches!(
                    e.to_ascii_lowercase().as_str(),
                    "png" | "jpg" | "jpeg" | "webp"
                )
            });
            if is_image {
                samples.push(Sample { path, truth });
            } else {
                ignored.push(path);
            }
        }
    }
    Ok((samples, ignored))
}

/// The figures of one evaluation run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub model: String,
    pub images: usize,
    pub correct: usize,
    pub accuracy: f64,
    /// Recall of each emotion that has samples, in canonical order.
    pub per_class: Vec<ClassRecall>,
    /// `confusion[truth][predicted]`, canonical order both ways.
    pub confusion: [[u32; 7]; 7],
    pub images_per_second: f64,
    /// Images that could not be classified, with the reason.
    pub failures: Vec<Failure>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ClassRecall {
    pub emotion: Emotion,
    pub samples: u32,
    pub recall: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    pub path: PathBuf,
    pub error: String,
}

/// Classifies every sample as a whole image (they are face crops), `concurrency` at a time.
pub async fn evaluate(engine: &Engine, samples: &[Sample], concurrency: usize) -> Report {
    let started = Instant::now();
    let mut confusion = [[0u32; 7]; 7];
    let mut failures = Vec::new();
    let model = engine
        .models()
        .next()
        .map(|m| m.id().to_owned())
        .unwrap_or_default();
    let mut results = futures::stream::iter(samples)
        .map(|sample| async move {
            let outcome = match std::fs::read(&sample.path) {
                Ok(bytes) => engine
                    .detect(DetectRequest::new(Frame::Encoded(bytes)))
                    .await
                    .map(|d| d.primary().emotion)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            (sample, outcome)
        })
        .buffered(concurrency.max(1));
    while let Some((sample, outcome)) = results.next().await {
        match outcome {
            Ok(predicted) => confusion[sample.truth.index()][predicted.index()] += 1,
            Err(error) => failures.push(Failure {
                path: sample.path.clone(),
                error,
            }),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let images: u32 = confusion.iter().flatten().sum();
    let correct: u32 = (0..7).map(|i| confusion[i][i]).sum();
    let per_class = Emotion::ALL
        .into_iter()
        .filter_map(|e| {
            let row = &confusion[e.index()];
            let samples: u32 = row.iter().sum();
            (samples > 0).then(|| ClassRecall {
                emotion: e,
                samples,
                recall: f64::from(row[e.index()]) / f64::from(samples),
            })
        })
        .collect();
    Report {
        model,
        images: images as usize,
        correct: correct as usize,
        accuracy: if images == 0 {
            0.0
        } else {
            f64::from(correct) / f64::from(images)
        },
        per_class,
        confusion,
        images_per_second: if elapsed > 0.0 {
            f64::from(images) / elapsed
        } else {
            0.0
        },
        failures,
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "model      {}", self.model)?;
        writeln!(
            f,
            "accuracy   {:.4} ({} of {} images)",
            self.accuracy, self.correct, self.images
        )?;
        writeln!(f, "throughput {:.1} images/s", self.images_per_second)?;
        writeln!(f, "\nrecall per class")?;
        for c in &self.per_class {
            writeln!(
                f,
                "  {:<9} {:.3}  ({} images)",
                c.emotion.as_str(),
                c.recall,
                c.samples
            )?;
        }
        writeln!(f, "\nconfusion (rows: truth, columns: predicted)")?;
        write!(f, "  {:<9}", "")?;
        for e in Emotion::ALL {
            write!(f, "{:>9}", e.as_str())?;
        }
        writeln!(f)?;
        for truth in Emotion::ALL {
            write!(f, "  {:<9}", truth.as_str())?;
            for count in self.confusion[truth.index()] {
                write!(f, "{count:>9}")?;
            }
            writeln!(f)?;
        }
        if !self.failures.is_empty() {
            writeln!(f, "\n{} images failed:", self.failures.len())?;
            for failure in &self.failures {
                writeln!(f, "  {}: {}", failure.path.display(), failure.error)?;
            }
        }
        Ok(())
    }
}
