//! TLS set-up for the HTTP client.
//!
//! With the default `rustls` feature, reqwest is built without a crypto
//! provider of its own and this crate installs `ring` as rustls' process-wide
//! default the first time a client is made (through [`crate::hooks::Hooks::new`]
//! or [`http_client_builder`]). `ring` builds in a fraction of the time of
//! `aws-lc-rs`; the `rustls-aws-lc-rs` and `native-tls` features choose the
//! other back ends. A provider that the application installed itself is kept.
//!
//! **If your program also builds reqwest clients of its own**, note that the
//! `rustls` feature compiles reqwest with `rustls-no-provider`, and features
//! are shared by every user of reqwest in a build. Unless something else in
//! your program enables one of reqwest's own TLS features, a reqwest client
//! built before any client of this crate finds no crypto provider, and
//! reqwest panics with a message saying so. Call [`ensure_crypto_provider`]
//! first thing in `main` (or in your tests' set-up), install a provider
//! yourself, or build with the `rustls-aws-lc-rs` feature instead.

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

/// A `reqwest::ClientBuilder` whose TLS back end is ready to use, and that
/// follows no redirect.
///
/// reqwest's own default follows up to 10 redirects, sending the request
/// again, body included, to wherever each `Location` points. The Jobs API
/// never redirects, so a client of it should not follow one: with this
/// builder a 3xx reaches the caller as it is (for the generated client, an
/// [`Error::UnexpectedResponse`](crate::Error::UnexpectedResponse) with the
/// 3xx status and its `Location` header). The generated
/// [`Client::new`](crate::Client::new) builds its client from here.
/// Calling `.redirect(..)` on the builder afterwards replaces the policy;
/// the `blaxel-jobs` crate's `HttpClient` does not allow that.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    ensure_crypto_provider();
    reqwest::ClientBuilder::new().redirect(reqwest::redirect::Policy::none())
}
