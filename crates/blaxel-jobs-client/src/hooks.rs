//! The hooks of the generated [`Client`](crate::Client).
//!
//! The generated client carries a [`Hooks`] value and calls it before every
//! request. `blaxel-jobs` uses it to add the current credential and to record
//! the request in its tracing span; the `impl ClientHooks` has to live in
//! this crate because of Rust's orphan rule.

use progenitor_client::{ClientHooks, OperationInfo};
use std::sync::Arc;

/// A function that may change each request just before it is sent.
pub type RequestHook = dyn Fn(&mut reqwest::Request) + Send + Sync;

/// The per-client hook state held by the generated [`Client`](crate::Client).
#[derive(Clone)]
pub struct Hooks {
    on_request: Option<Arc<RequestHook>>,
}

impl Hooks {
    /// No hooks. Also makes sure the TLS back end is ready (see [`crate::tls`]).
    pub fn new() -> Self {
        crate::tls::ensure_crypto_provider();
        Self { on_request: None }
    }

    /// Hooks that call `f` on every request before it is sent.
    pub fn on_request(f: impl Fn(&mut reqwest::Request) + Send + Sync + 'static) -> Self {
        crate::tls::ensure_crypto_provider();
        Self {
            on_request: Some(Arc::new(f)),
        }
    }
}

impl Default for Hooks {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("on_request", &self.on_request.is_some())
            .finish()
    }
}

impl ClientHooks<Hooks> for crate::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if let Some(hook) = &self.inner.on_request {
            hook(request);
        }
        Ok(())
    }
}
