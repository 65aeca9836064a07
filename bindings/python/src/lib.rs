//! `emotion_client._native`: the facial emotion engine for Python.
//!
//! The Python package (`python/emotion_client/`) wraps these classes; see its README. Every
//! wait (decoding, inference, network) happens with Python detached, on the tokio runtime of
//! `pyo3-async-runtimes` (async calls) or on the caller's thread blocked on that runtime
//! (`*_sync` calls).

mod client;
mod errors;
mod frame;
mod result;
mod stream;

use pyo3::prelude::*;

/// The runtime every call runs on (shared with asyncio's bridge).
fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "EMOTIONS",
        emotion_core::Emotion::ALL
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>(),
    )?;
    m.add_class::<client::NativeClient>()?;
    m.add_class::<stream::NativeStream>()?;
    m.add_class::<result::Detection>()?;
    m.add_class::<result::FaceResult>()?;
    m.add_class::<result::FaceBounds>()?;
    Ok(())
}
