//! The HTTPS client setup shared by everything here that calls out (the Hugging Face backend,
//! the emotion-server backend, the load tool): rustls with ring and the bundled Mozilla roots, so that no system
//! certificate store or OpenSSL is needed, and no process-wide TLS default is assumed.

use std::sync::Arc;

use crate::error::{Error, Result};

/// A reqwest client builder with TLS configured and this engine's `User-Agent`.
pub fn client_builder() -> Result<reqwest::ClientBuilder> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(concat!(
            "facial-emotion-detector/",
            env!("CARGO_PKG_VERSION")
        )))
}

/// A reqwest error in a sentence, without the URL (it is the same for every call).
pub fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    let source = std::error::Error::source(e)
        .map(|s| format!(": {s}"))
        .unwrap_or_default();
    format!("{what}{source}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn builds_a_client() {
        assert!(super::client_builder().unwrap().build().is_ok());
    }
}
