//! TLS set-up for the HTTP client.
//!
//! With the default `rustls` feature, reqwest is built without a crypto
//! provider of its own and this crate installs `ring` as rustls' process-wide
//! default the first time a client is made (through [`crate::hooks::Hooks::new`]
//! or [`http_client_builder`]). `ring` builds in a fraction of the time of
//! `aws-lc-rs`; the `rustls-aws-lc-rs` and `native-tls` features choose the
//! other back ends. A provider that the application installed itself is kept.

/// Makes sure rustls has a crypto provider. Cheap after the first call.
pub fn ensure_crypto_provider() {
    #[cfg(all(feature = "rustls", not(feature = "rustls-aws-lc-rs")))]
    {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            if rustls::crypto::CryptoProvider::get_default().is_none() {
                // Losing a race with another installer is fine: some provider is set.
                let _ = rustls::crypto::ring::default_provider().install_default();
            }
        });
    }
}

/// A `reqwest::ClientBuilder` whose TLS back end is ready to use.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    ensure_crypto_provider();
    reqwest::ClientBuilder::new()
}
