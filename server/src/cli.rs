//! Subcommands: `eval` (accuracy on a labelled folder) and `detect` (one JSON Detection per file).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use emotion_core::eval::{collect_samples, evaluate};
use emotion_core::{DetectRequest, Engine, FaceBox, Frame};
use emotion_server::config::{Config, ConfigError, LogFormat};

/// Logs to stderr, one line per event; the level comes from `RUST_LOG` (default `info`).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "emotion-server",
    version,
    about = "Facial emotion detection: server and tools"
)]
pub struct Cli {
    /// What to do; with none, the server starts (configured by the environment and `.env`).
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the REST + WebSocket server with the web page (the default).
    Serve,
    /// Load a running server: WebSocket streams and REST clients at once, then print latency,
    /// throughput, drops and the server's peak memory.
    Bench(emotion_server::bench::BenchArgs),
    /// Accuracy, per-class recall, confusion matrix and images/s on a folder of `<label>/<image>` files.
    Eval {
        /// Folder with one sub-folder per emotion (angry, disgust, fear, happy, neutral, sad, surprise).
        dir: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Images in flight at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Classify image files and print one JSON Detection per line.
    Detect {
        /// JPEG, PNG or WebP files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The face box in pixels, `x,y,width,height` (default: the whole image).
        #[arg(long, value_parser = emotion_server::bench::parse_box)]
        face: Option<FaceBox>,
    },
}

/// Errors of the command line, each naming what went wrong.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} holds no images in emotion-named folders (angry, disgust, fear, happy, neutral, sad, surprise)"
    )]
    NoSamples { path: PathBuf },
    #[error(transparent)]
    Engine(#[from] emotion_core::Error),
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Serve(String),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let config = Config::from_env()?;
            init_logging(config.log_format);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(config.workers)
                .enable_all()
                .build()
                .map_err(|e| CliError::Serve(format!("cannot start the runtime: {e}")))?;
            runtime
                .block_on(emotion_server::serve::run(config))
                .map_err(|e| CliError::Serve(e.to_string()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => {
            let runtime = tokio::runtime::Runtime::new()
                .map_err(|e| CliError::Serve(format!("cannot start the runtime: {e}")))?;
            let report = runtime
                .block_on(emotion_server::bench::run(args))
                .map_err(CliError::Serve)?;
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            dir,
            json,
            concurrency,
        } => {
            let (samples, _ignored) = collect_samples(&dir).map_err(|source| CliError::Read {
                path: dir.clone(),
                source,
            })?;
            if samples.is_empty() {
                return Err(CliError::NoSamples { path: dir });
            }
            let engine = Engine::builder().build()?;
            let report = futures::executor::block_on(evaluate(&engine, &samples, concurrency));
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &report)?;
                writeln!(out)?;
            } else {
                write!(out, "{report}")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Detect { files, face } => {
            let engine = Engine::builder().build()?;
            let mut out = std::io::stdout().lock();
            let mut failed = false;
            for path in files {
                let bytes = std::fs::read(&path).map_err(|source| CliError::Read {
                    path: path.clone(),
                    source,
                })?;
                let mut request = DetectRequest::new(Frame::Encoded(bytes));
                request.faces.extend(face);
                let line = match engine.detect_blocking(request) {
                    Ok(d) => {
                        serde_json::json!({"file": path, "success": true, "detection": d.view(true)})
                    }
                    Err(e) => {
                        failed = true;
                        serde_json::json!({"file": path, "success": false,
                            "error": {"code": e.code(), "message": e.to_string()}})
                    }
                };
                serde_json::to_writer(&mut out, &line)?;
                writeln!(out)?;
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
