//! Errors as Python sees them: one exception class per kind, defined in
//! `emotion_client/_errors.py`, each carrying the stable `code`, the `message`, the HTTP
//! `status` (server mode) and `retry_after` (rate limits).

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The exception classes of `emotion_client._errors`, by the kind of failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Base,
    BadRequest,
    InvalidImage,
    Unauthorized,
    RateLimited,
    Backend,
    BackendUnavailable,
    Connection,
    Timeout,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Base => "EmotionError",
            Class::BadRequest => "BadRequestError",
            Class::InvalidImage => "InvalidImageError",
            Class::Unauthorized => "UnauthorizedError",
            Class::RateLimited => "RateLimitedError",
            Class::Backend => "BackendError",
            Class::BackendUnavailable => "BackendUnavailableError",
            Class::Connection => "EmotionConnectionError",
            Class::Timeout => "EmotionTimeoutError",
        }
    }

    /// The class for an error code, from the engine or the server; `None` when the code alone
    /// does not say (the HTTP status decides then).
    fn from_code(code: &str) -> Option<Class> {
        Some(match code {
            "empty_image"
            | "invalid_base64"
            | "invalid_image"
            | "unsupported_image_type"
            | "image_too_large"
            | "image_dimensions_too_large"
            | "invalid_pixels" => Class::InvalidImage,
            "invalid_face_bounds" | "unknown_model" | "empty_batch" | "batch_too_large" => {
                Class::BadRequest
            }
            "unauthorized" | "backend_unauthorized" => Class::Unauthorized,
            "rate_limited" => Class::RateLimited,
            "backend_error" | "unknown_labels" => Class::Backend,
            "backend_unavailable" => Class::BackendUnavailable,
            "connection_failed" => Class::Connection,
            "timeout" | "request_timeout" => Class::Timeout,
            _ => return None,
        })
    }

    fn from_status(status: u16) -> Class {
        match status {
            413 | 415 => Class::InvalidImage,
            401 | 403 => Class::Unauthorized,
            429 => Class::RateLimited,
            408 | 504 => Class::Timeout,
            502 => Class::Backend,
            503 => Class::BackendUnavailable,
            400..=499 => Class::BadRequest,
            _ => Class::Base,
        }
    }
}

/// A failure on its way to Python: `Send`, turned into the exception only where Python is
/// attached.
#[derive(Clone, Debug)]
pub struct Failure {
    pub class: Class,
    pub code: String,
    pub message: String,
    pub status: Option<u16>,
    pub retry_after: Option<f64>,
}

impl Failure {
    pub fn new(class: Class, code: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure {
            class,
            code: code.into(),
            message: message.into(),
            status: None,
            retry_after: None,
        }
    }

    /// An error answer of the server (`{"error": {"code", "message"}}`) with its status.
    pub fn from_server(
        status: u16,
        code: Option<&str>,
        message: Option<&str>,
        retry_after: Option<f64>,
    ) -> Failure {
        let code = code.unwrap_or("http_error");
        let class = Class::from_code(code).unwrap_or_else(|| Class::from_status(status));
        Failure {
            class,
            code: code.to_owned(),
            message: message.map_or_else(
                || format!("the server answered HTTP {status}"),
                str::to_owned,
            ),
            status: Some(status),
            retry_after,
        }
    }

    pub fn connection(message: impl Into<String>) -> Failure {
        Failure::new(Class::Connection, "connection_failed", message)
    }

    pub fn protocol(message: impl Into<String>) -> Failure {
        Failure::new(Class::Base, "protocol_error", message)
    }

    /// The exception instance.
    pub fn to_pyerr(&self, py: Python<'_>) -> PyErr {
        match self.build(py) {
            Ok(err) | Err(err) => err,
        }
    }

    fn build(&self, py: Python<'_>) -> PyResult<PyErr> {
        let module = py.import("emotion_client._errors")?;
        let class = module.getattr(self.class.name())?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("code", &self.code)?;
        kwargs.set_item("status", self.status)?;
        kwargs.set_item("retry_after", self.retry_after)?;
        let instance = class.call((&self.message,), Some(&kwargs))?;
        Ok(PyErr::from_value(instance))
    }
}

impl From<emotion_core::Error> for Failure {
    fn from(e: emotion_core::Error) -> Failure {
        let code = e.code();
        let class = Class::from_code(code).unwrap_or(Class::Base);
        Failure::new(class, code, e.to_string())
    }
}

impl From<Failure> for PyErr {
    fn from(f: Failure) -> PyErr {
        Python::attach(|py| f.to_pyerr(py))
    }
}

/// `Result` with a [`Failure`].
pub type Outcome<T> = Result<T, Failure>;
