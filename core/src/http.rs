//! The HTTPS client setup shared by everything here that calls out (the Hugging Face backend,
//! the load tool): rustls with ring and the bundled Mozilla roots, so that no system
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

#[cfg(test)]
mod tests {
    #[test]
    fn builds_a_client() {
        assert!(super::client_builder().unwrap().build().is_ok());
    }
}
