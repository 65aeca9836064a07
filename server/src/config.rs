//! Server configuration from the environment (and `.env`): every variable of DESIGN §4, checked
//! at start-up, with errors that name the variable and what it accepts.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use emotion_core::Secret;
use emotion_core::detector::DetectorRange;

/// Which classifier chain the server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Hugging Face when `HF_API_KEY` is set, else the embedded model.
    Auto,
    Local,
    HuggingFace,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Allowed CORS origins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origins {
    Any,
    List(Vec<String>),
}

/// The server's settings. Keys are [`Secret`]s, so `Debug` shows none of them.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub backend: Backend,
    pub hf_api_key: Option<Secret>,
    pub hf_model_id: String,
    pub hf_fallback_models: Vec<String>,
    pub hf_api_url: String,
    pub hf_fallback_local: bool,
    pub host: IpAddr,
    pub port: u16,
    pub workers: usize,
    pub rate_limit_per_minute: NonZeroU32,
    pub ws_max_fps: NonZeroU32,
    pub ws_max_connections: usize,
    pub cache_ttl: Duration,
    pub cache_max_entries: u64,
    /// The BlazeFace that finds faces in frames sent without boxes; none: the whole frame.
    pub face_detector: Option<DetectorRange>,
    pub max_faces: usize,
    pub min_face_size: u32,
    /// WebSocket results a face may be missing from before its track ends.
    pub track_timeout: u32,
    pub max_image_size: usize,
    pub max_batch_size: usize,
    pub api_keys: Vec<Secret>,
    pub cors_origins: Origins,
    pub trust_proxy: bool,
    pub enable_metrics: bool,
    pub log_format: LogFormat,
    pub request_timeout: Duration,
}

/// A variable with a value the server cannot use.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{var}={value:?} is not valid: {expected}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub expected: String,
}

impl Config {
    /// Reads the process environment, after loading `.env` from the working directory if present.
    pub fn from_env() -> Result<Config, ConfigError> {
        // A missing .env is normal; a malformed one is reported by the values it leaves unset.
        let _ = dotenvy::dotenv();
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let config = Config {
            backend: parse(
                &get,
                "EMOTION_BACKEND",
                Backend::Auto,
                "auto, local or huggingface",
                |v| match v.to_ascii_lowercase().as_str() {
                    "auto" => Some(Backend::Auto),
                    "local" => Some(Backend::Local),
                    "huggingface" | "hf" => Some(Backend::HuggingFace),
                    _ => None,
                },
            )?,
            hf_api_key: get("HF_API_KEY").map(Secret::from),
            hf_model_id: get("HF_MODEL_ID").map_or_else(
                || "trpakov/vit-face-expression".to_owned(),
                |v| v.trim().to_owned(),
            ),
            hf_fallback_models: get("HF_FALLBACK_MODELS")
                .unwrap_or_else(|| {
                    "dima806/facial_emotions_image_detection,RickyIG/emotion_face_image_classification_v2".to_owned()
                })
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(String::from)
                .collect(),
            hf_api_url: parse(
                &get,
                "HF_API_URL",
                "https://router.huggingface.co/hf-inference/models".to_owned(),
                "an http:// or https:// URL",
                |v| (v.starts_with("https://") || v.starts_with("http://")).then(|| v.trim_end_matches('/').to_owned()),
            )?,
            hf_fallback_local: parse(&get, "HF_FALLBACK_LOCAL", true, "true or false", parse_bool)?,
            host: parse(
                &get,
                "HOST",
                IpAddr::from([0, 0, 0, 0]),
                "an IP address such as 0.0.0.0 or 127.0.0.1",
                |v| v.parse().ok(),
            )?,
            port: parse(&get, "PORT", 8000, "a port number from 0 to 65535", |v| {
                v.parse().ok()
            })?,
            workers: parse(
                &get,
                "WORKERS",
                cores,
                "a whole number of threads from 1 to 256",
                |v| v.parse().ok().filter(|n| (1..=256).contains(n)),
            )?,
            rate_limit_per_minute: parse(
                &get,
                "RATE_LIMIT_REQUESTS",
                NonZeroU32::new(100).expect("100 > 0"),
                "a whole number of requests per minute, at least 1",
                |v| v.parse().ok(),
            )?,
            ws_max_fps: parse(
                &get,
                "WS_MAX_FPS",
                NonZeroU32::new(30).expect("30 > 0"),
                "a whole number of frames per second from 1 to 240",
                |v| v.parse().ok().filter(|n: &NonZeroU32| n.get() <= 240),
            )?,
            ws_max_connections: parse(
                &get,
                "WS_MAX_CONNECTIONS",
                200,
                "a whole number of connections, at least 1",
                |v| v.parse().ok().filter(|n| *n >= 1),
            )?,
            cache_ttl: parse(
                &get,
                "CACHE_TTL",
                Duration::from_secs(300),
                "a whole number of seconds (0 turns the cache off)",
                |v| v.parse().ok().map(Duration::from_secs),
            )?,
            cache_max_entries: parse(
                &get,
                "CACHE_MAX_ENTRIES",
                1024,
                "a whole number of entries (0 turns the cache off)",
                |v| v.parse().ok(),
            )?,
            face_detector: parse(
                &get,
                "FACE_DETECTOR",
                Some(DetectorRange::Full),
                "short, full or off",
                |v| match v.to_ascii_lowercase().as_str() {
                    "short" => Some(Some(DetectorRange::Short)),
                    "full" => Some(Some(DetectorRange::Full)),
                    "off" | "none" => Some(None),
                    _ => None,
                },
            )?,
            max_faces: parse(
                &get,
                "MAX_FACES",
                5,
                "a whole number of faces from 1",
                |v| v.parse().ok().filter(|&n: &usize| n >= 1),
            )?,
            min_face_size: parse(
                &get,
                "MIN_FACE_SIZE",
                0,
                "a whole number of pixels",
                |v| v.parse().ok(),
            )?,
            track_timeout: parse(
                &get,
                "TRACK_TIMEOUT",
                emotion_core::Tracker::DEFAULT_TIMEOUT,
                "a whole number of frames from 1",
                |v| v.parse().ok().filter(|&n: &u32| n >= 1),
            )?,
            max_image_size: parse(
                &get,
                "MAX_IMAGE_SIZE",
                1024 * 1024,
                "a whole number of bytes from 1024 to 67108864",
                |v| {
                    v.parse()
                        .ok()
                        .filter(|n| (1024..=64 * 1024 * 1024).contains(n))
                },
            )?,
            max_batch_size: parse(
                &get,
                "MAX_BATCH_SIZE",
                10,
                "a whole number of images from 1 to 100",
                |v| v.parse().ok().filter(|n| (1..=100).contains(n)),
            )?,
            api_keys: get("API_KEYS")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(Secret::from)
                        .collect()
                })
                .unwrap_or_default(),
            cors_origins: match get("CORS_ORIGINS") {
                None => Origins::Any,
                Some(v) if v.trim() == "*" => Origins::Any,
                Some(v) => {
                    let list: Vec<String> = v
                        .split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_owned())
                        .filter(|o| !o.is_empty())
                        .collect();
                    if let Some(bad) = list
                        .iter()
                        .find(|o| !(o.starts_with("http://") || o.starts_with("https://")))
                    {
                        return Err(ConfigError {
                            var: "CORS_ORIGINS",
                            value: v.clone(),
                            expected: format!(
                                "`*` or a comma list of origins like https://example.com (`{bad}` is not one)"
                            ),
                        });
                    }
                    Origins::List(list)
                }
            },
            trust_proxy: parse(&get, "TRUST_PROXY", false, "true or false", parse_bool)?,
            enable_metrics: parse(&get, "ENABLE_METRICS", true, "true or false", parse_bool)?,
            log_format: parse(
                &get,
                "LOG_FORMAT",
                LogFormat::Pretty,
                "pretty or json",
                |v| match v.to_ascii_lowercase().as_str() {
                    "pretty" => Some(LogFormat::Pretty),
                    "json" => Some(LogFormat::Json),
                    _ => None,
                },
            )?,
            request_timeout: parse(
                &get,
                "REQUEST_TIMEOUT",
                Duration::from_secs(30),
                "a whole number of seconds from 1 to 600",
                |v| {
                    v.parse()
                        .ok()
                        .filter(|s| (1..=600).contains(s))
                        .map(Duration::from_secs)
                },
            )?,
        };
        if config.backend == Backend::HuggingFace && config.hf_api_key.is_none() {
            return Err(ConfigError {
                var: "HF_API_KEY",
                value: String::new(),
                expected: "a Hugging Face token: EMOTION_BACKEND=huggingface needs one".into(),
            });
        }
        Ok(config)
    }

    /// Whether the Hugging Face chain runs (with `auto`, when a token is set).
    pub fn uses_huggingface(&self) -> bool {
        match self.backend {
            Backend::Local => false,
            Backend::HuggingFace => true,
            Backend::Auto => self.hf_api_key.is_some(),
        }
    }

    /// The backend that actually runs, for `/health`.
    pub fn backend_name(&self) -> &'static str {
        if self.uses_huggingface() {
            "huggingface"
        } else {
            "local"
        }
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse<T>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
    expected: &str,
    read: impl Fn(&str) -> Option<T>,
) -> Result<T, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(value) => read(value.trim()).ok_or_else(|| ConfigError {
            var,
            value,
            expected: expected.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_follow_the_design() {
        let c = config(&[]).unwrap();
        assert_eq!(c.backend, Backend::Auto);
        assert_eq!(c.port, 8000);
        assert_eq!(c.rate_limit_per_minute.get(), 100);
        assert_eq!(c.ws_max_fps.get(), 30);
        assert_eq!(c.cache_ttl, Duration::from_secs(300));
        assert_eq!(c.cache_max_entries, 1024);
        assert_eq!(c.max_image_size, 1_048_576);
        assert_eq!(c.max_batch_size, 10);
        assert!(c.api_keys.is_empty());
        assert_eq!(c.cors_origins, Origins::Any);
        assert!(!c.trust_proxy);
        assert!(c.enable_metrics);
        assert_eq!(c.log_format, LogFormat::Pretty);
        assert_eq!(c.track_timeout, 15);
    }

    #[test]
    fn values_are_read_and_lists_split() {
        let c = config(&[
            ("PORT", "9000"),
            ("API_KEYS", "a, b,,c"),
            ("CORS_ORIGINS", "https://x.dev/, http://localhost:3000"),
            ("TRUST_PROXY", "true"),
            ("LOG_FORMAT", "JSON"),
        ])
        .unwrap();
        assert_eq!(c.port, 9000);
        assert_eq!(c.api_keys, ["a", "b", "c"].map(Secret::from));
        assert_eq!(
            c.cors_origins,
            Origins::List(vec!["https://x.dev".into(), "http://localhost:3000".into()])
        );
        assert!(c.trust_proxy);
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn bad_values_name_the_variable_and_what_it_accepts() {
        for (var, value, expected) in [
            ("PORT", "eighty", "port number"),
            ("WORKERS", "0", "from 1 to 256"),
            ("RATE_LIMIT_REQUESTS", "0", "at least 1"),
            ("EMOTION_BACKEND", "cloud", "auto, local or huggingface"),
            ("HF_API_URL", "ftp://x", "http:// or https:// URL"),
            ("HF_FALLBACK_LOCAL", "perhaps", "true or false"),
            ("TRUST_PROXY", "maybe", "true or false"),
            ("CORS_ORIGINS", "example.com", "comma list of origins"),
            ("LOG_FORMAT", "xml", "pretty or json"),
            ("TRACK_TIMEOUT", "0", "frames from 1"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var);
            let text = err.to_string();
            assert!(text.starts_with(&format!("{var}=")), "{text}");
            assert!(text.contains(expected), "{text}");
        }
    }

    #[test]
    fn the_backend_follows_the_token() {
        assert!(!config(&[]).unwrap().uses_huggingface());
        let auto = config(&[("HF_API_KEY", "hf_x")]).unwrap();
        assert!(auto.uses_huggingface());
        assert_eq!(auto.backend_name(), "huggingface");
        assert_eq!(auto.hf_model_id, "trpakov/vit-face-expression");
        assert_eq!(auto.hf_fallback_models.len(), 2);
        let local = config(&[("HF_API_KEY", "hf_x"), ("EMOTION_BACKEND", "local")]).unwrap();
        assert!(!local.uses_huggingface());
        let err = config(&[("EMOTION_BACKEND", "huggingface")]).unwrap_err();
        assert_eq!(err.var, "HF_API_KEY");
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let c = config(&[("HF_API_KEY", "hf_secret"), ("API_KEYS", "k1secret")]).unwrap();
        let text = format!("{c:?}");
        assert!(
            !text.contains("hf_secret") && !text.contains("k1secret"),
            "{text}"
        );
    }
}
