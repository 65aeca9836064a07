//! The engine's one error type, with kinds that servers and bindings map to their own world.

/// Result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between an input frame and a [`crate::Detection`].
///
/// Messages are human sentences that name the problem; [`Error::code`] is a stable
/// snake_case identifier and [`Error::kind`] the coarse class a caller branches on.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("the image is empty")]
    EmptyImage,
    #[error("the image is not valid base64: {0}")]
    InvalidBase64(String),
    #[error("the image could not be decoded: {0}")]
    InvalidImage(String),
    #[error("unsupported image type {0}: send JPEG, PNG or WebP")]
    UnsupportedFormat(String),
    #[error("the image is {size} bytes, over the limit of {limit} bytes")]
    ImageTooLarge { size: usize, limit: usize },
    #[error(
        "the image declares {width}x{height} pixels, over the limit of {max_side} per side and {max_pixels} in all"
    )]
    DimensionsTooLarge {
        width: u32,
        height: u32,
        max_side: u32,
        max_pixels: u64,
    },
    #[error("invalid pixel buffer: {0}")]
    InvalidPixels(String),
    #[error("invalid face bounds: {0}")]
    InvalidFaceBounds(String),
    #[error("unknown model `{requested}`; the models are: {}", available.join(", "))]
    UnknownModel {
        requested: String,
        available: Vec<String>,
    },
    #[error("model {model} answered with labels that map to no emotion: {labels}")]
    UnknownLabels { model: String, labels: String },
    #[error("model {model} failed: {message}")]
    Backend { model: String, message: String },
    #[error("model {model} refused the API token: {message}")]
    BackendUnauthorized { model: String, message: String },
    #[error("no model could answer: {}", failures.join("; "))]
    BackendUnavailable { failures: Vec<String> },
    #[error("invalid settings: {0}")]
    InvalidSettings(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// The coarse class of an [`Error`]: what the caller did wrong, or what failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request or image is malformed (HTTP 400).
    InvalidInput,
    /// The image or its pixel count is over a limit (HTTP 413).
    TooLarge,
    /// The image is of a type the engine does not read (HTTP 415).
    UnsupportedFormat,
    /// Well-formed but unusable, such as a face box outside the image (HTTP 422).
    Unprocessable,
    /// A model failed or answered nonsense (HTTP 502).
    Backend,
    /// No model of the chain could answer now (HTTP 503).
    Unavailable,
    /// A bug: a panic or a broken invariant inside the engine (HTTP 500).
    Internal,
}

impl Error {
    /// The coarse class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::EmptyImage
            | Error::InvalidBase64(_)
            | Error::InvalidImage(_)
            | Error::InvalidPixels(_)
            | Error::UnknownModel { .. }
            | Error::InvalidSettings(_) => ErrorKind::InvalidInput,
            Error::ImageTooLarge { .. } | Error::DimensionsTooLarge { .. } => ErrorKind::TooLarge,
            Error::UnsupportedFormat(_) => ErrorKind::UnsupportedFormat,
            Error::InvalidFaceBounds(_) => ErrorKind::Unprocessable,
            Error::UnknownLabels { .. }
            | Error::Backend { .. }
            | Error::BackendUnauthorized { .. } => ErrorKind::Backend,
            Error::BackendUnavailable { .. } => ErrorKind::Unavailable,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// A stable snake_case identifier for this error, as sent over every API.
    pub fn code(&self) -> &'static str {
        match self {
            Error::EmptyImage => "empty_image",
            Error::InvalidBase64(_) => "invalid_base64",
            Error::InvalidImage(_) => "invalid_image",
            Error::UnsupportedFormat(_) => "unsupported_image_type",
            Error::ImageTooLarge { .. } => "image_too_large",
            Error::DimensionsTooLarge { .. } => "image_dimensions_too_large",
            Error::InvalidPixels(_) => "invalid_pixels",
            Error::InvalidFaceBounds(_) => "invalid_face_bounds",
            Error::UnknownModel { .. } => "unknown_model",
            Error::UnknownLabels { .. } => "unknown_labels",
            Error::Backend { .. } => "backend_error",
            Error::BackendUnauthorized { .. } => "backend_unauthorized",
            Error::BackendUnavailable { .. } => "backend_unavailable",
            Error::InvalidSettings(_) => "invalid_settings",
            Error::Internal(_) => "internal_error",
        }
    }
}
