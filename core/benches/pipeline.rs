//! Criterion benches of each step of a frame's path, on real face photos:
//! decode, preprocess, inference of one face and of 8, `Engine::detect` end to end, the face
//! detector, and the face tracker.

// A bench that cannot set up its fixtures should stop loudly.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use emotion_core::detector::{DetectorRange, FaceDetector};
use emotion_core::face::CropRegion;
use emotion_core::frame::Channels;
use emotion_core::preprocess::gray_face;
use emotion_core::{
    DetectRequest, Engine, FaceBox, FaceResult, Frame, Limits, LocalModel, PixelBox, PixelFormat,
    Scores, Tracker,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/faces")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The 640x450 group photo and its three face boxes (from faces.json).
fn group() -> (Vec<u8>, [FaceBox; 3]) {
    let b = |x, y, width, height| FaceBox {
        x,
        y,
        width,
        height,
    };
    (
        fixture("group_of_three.jpg"),
        [
            b(184.0, 112.0, 83.0, 93.0),
            b(336.0, 70.0, 103.0, 115.0),
            b(494.0, 103.0, 84.0, 94.0),
        ],
    )
}

fn no_cache() -> Engine {
    Engine::builder()
        .cache(0, Duration::ZERO)
        .build()
        .expect("engine")
}

fn benches(c: &mut Criterion) {
    let (jpeg, faces) = group();
    let limits = Limits::default();

    for channels in [Channels::Color, Channels::Gray] {
        c.bench_function(&format!("decode/jpeg_640x450_{channels:?}"), |b| {
            b.iter_batched(
                || Frame::Encoded(jpeg.clone()),
                |frame| black_box(frame.decode(&limits, channels).unwrap()),
                BatchSize::SmallInput,
            )
        });
    }

    let image = Frame::Encoded(jpeg.clone())
        .decode(&limits, Channels::Gray)
        .unwrap();
    let face: PixelBox = faces[1].resolve(image.width(), image.height()).unwrap();
    let region = CropRegion::around_face(&face, 0.1);
    c.bench_function("preprocess/gray64_from_face_box", |b| {
        b.iter(|| black_box(gray_face(&image, &region).unwrap()))
    });

    let model = LocalModel::embedded().unwrap();
    let gray = gray_face(&image, &region).unwrap();
    c.bench_function("inference/one_face", |b| {
        b.iter(|| black_box(model.infer(&gray).unwrap()))
    });

    let crops: Vec<_> = (0..8u32)
        .map(|i| {
            let shifted = PixelBox {
                x: face.x + i,
                ..face
            };
            gray_face(&image, &CropRegion::around_face(&shifted, 0.1)).unwrap()
        })
        .collect();
    let mut group8 = c.benchmark_group("inference/8_faces");
    group8.throughput(Throughput::Elements(8));
    group8.bench_function("sequential_one_thread", |b| {
        b.iter(|| {
            for face in &crops {
                black_box(model.infer(face).unwrap());
            }
        })
    });
    let engine = no_cache();
    let gray_frames: Vec<Frame> = crops
        .iter()
        .map(|f| Frame::Pixels {
            data: f.pixels().to_vec(),
            width: 64,
            height: 64,
            stride: 64,
            format: PixelFormat::Gray8,
        })
        .collect();
    group8.bench_function("engine_detect_batch", |b| {
        b.iter_batched(
            || {
                gray_frames
                    .iter()
                    .cloned()
                    .map(DetectRequest::new)
                    .collect::<Vec<_>>()
            },
            |requests| black_box(futures::executor::block_on(engine.detect_batch(requests))),
            BatchSize::SmallInput,
        )
    });
    group8.finish();

    c.bench_function("engine/detect_64x64_face_no_decode", |b| {
        b.iter_batched(
            || DetectRequest::new(gray_frames[0].clone()),
            |request| black_box(engine.detect_blocking(request).unwrap()),
            BatchSize::SmallInput,
        )
    });

    c.bench_function("engine/detect_640x450_jpeg_with_face_bounds", |b| {
        b.iter_batched(
            || DetectRequest::new(Frame::Encoded(jpeg.clone())).with_face(faces[1]),
            |request| black_box(engine.detect_blocking(request).unwrap()),
            BatchSize::SmallInput,
        )
    });

    let mut three = c.benchmark_group("engine/detect_640x450_jpeg_three_faces");
    three.throughput(Throughput::Elements(3));
    three.bench_function("parallel_single_face_runs", |b| {
        b.iter_batched(
            || {
                let mut r = DetectRequest::new(Frame::Encoded(jpeg.clone()));
                r.faces = faces.to_vec();
                r
            },
            |request| black_box(engine.detect_blocking(request).unwrap()),
            BatchSize::SmallInput,
        )
    });
    three.finish();

    // The face detector on a 640x480 camera frame (the group photo on a 4:3 canvas), whole
    // step: letterbox + inference + decoding + NMS.
    let (w, h) = (640u32, 480u32);
    let rgb = image::load_from_memory(&jpeg).unwrap().into_rgb8();
    let mut camera = vec![0u8; (w * h * 3) as usize];
    for (y, row) in rgb.rows().enumerate().take(h as usize) {
        for (x, pixel) in row.enumerate().take(w as usize) {
            let at = (y * w as usize + x) * 3;
            camera[at..at + 3].copy_from_slice(&pixel.0);
        }
    }
    let camera_image = Frame::Pixels {
        data: camera,
        width: w,
        height: h,
        stride: (w * 3) as usize,
        format: PixelFormat::Rgb8,
    }
    .decode(&limits, Channels::Color)
    .unwrap();
    for range in [DetectorRange::Short, DetectorRange::Full] {
        let detector = FaceDetector::embedded(range).unwrap();
        c.bench_function(&format!("detector/{range:?}_640x480"), |b| {
            b.iter(|| black_box(detector.detect(&camera_image).unwrap()))
        });
    }

    // The tracker's share of a stream frame: five faces, each moved 4 px since the last one.
    let scores = Scores::from_weights([1.0, 0.0, 0.0, 5.0, 1.0, 0.0, 2.0]).unwrap();
    let faces = |step: u32| -> Vec<FaceResult> {
        (0..5)
            .map(|i| {
                let bounds = PixelBox {
                    x: 10 + 120 * i + 4 * (step % 10),
                    y: 100,
                    width: 100,
                    height: 110,
                };
                FaceResult::new(bounds, scores, false)
            })
            .collect()
    };
    let mut tracker = Tracker::new(0.5);
    let mut step = 0;
    c.bench_function("track/5_faces", |b| {
        b.iter_batched(
            || {
                step += 1;
                faces(step)
            },
            |mut frame| black_box(tracker.update(&mut frame)),
            BatchSize::SmallInput,
        )
    });
}

criterion_group! {
    name = pipeline;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(pipeline);
