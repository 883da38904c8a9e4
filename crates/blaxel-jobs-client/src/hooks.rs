//! The hooks of the generated [`Client`](crate::Client).
//!
//! The generated client carries a [`Hooks`] value and, for every request,
//! awaits its *prepare* step, calls its *on-request* function on the built
//! request, sends it with its *exec* function (by default
//! `reqwest::Client::execute`), and calls its *on-response* function on the
//! response, for callers of the generated client who want to add to its
//! requests. The `blaxel-jobs` crate sets none: it builds each request with
//! a builder's `build_request()`, sends it itself, and decodes the answer
//! with `decode()`. The `impl ClientHooks` has to live in this crate
//! because of Rust's orphan rule.
//!
//! ```
//! use blaxel_jobs_client::hooks::Hooks;
//!
//! let hooks = Hooks::on_request(|request| {
//!     request
//!         .headers_mut()
//!         .insert("x-blaxel-workspace", "my-workspace".parse().unwrap());
//! })
//! .with_prepare(|| async { Ok(()) });
//! # let _ = hooks;
//! ```

use progenitor_client::{ClientHooks, OperationInfo};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A function that may change each request just before it is sent.
pub type RequestHook = dyn Fn(&mut reqwest::Request) + Send + Sync;

/// A function that sees each response (or transport error) as it arrives.
pub type ResponseHook = dyn Fn(&reqwest::Result<reqwest::Response>) + Send + Sync;

/// Sends a request in place of `reqwest::Client::execute`: given the
/// client, the request and the operation's id, it answers the response. It
/// may send the request more than once (retries), or add to it.
pub type ExecHook = dyn Fn(
        reqwest::Client,
        reqwest::Request,
        &'static str,
    ) -> Pin<Box<dyn Future<Output = reqwest::Result<reqwest::Response>> + Send>>
    + Send
    + Sync;

/// An asynchronous step awaited before each request; an `Err` stops the
/// request with [`Error::Custom`](crate::Error::Custom).
pub type PrepareHook =
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync;

/// The per-client hook state held by the generated [`Client`](crate::Client).
#[derive(Clone)]
pub struct Hooks {
    prepare: Option<Arc<PrepareHook>>,
    on_request: Option<Arc<RequestHook>>,
    on_response: Option<Arc<ResponseHook>>,
    exec: Option<Arc<ExecHook>>,
}

impl Hooks {
    /// No hooks. Also makes sure the TLS back end is ready (see [`crate::tls`]).
    pub fn new() -> Self {
        crate::tls::ensure_crypto_provider();
        Self {
            prepare: None,
            on_request: None,
            on_response: None,
            exec: None,
        }
    }

    /// Hooks that call `f` on every request before it is sent.
    pub fn on_request(f: impl Fn(&mut reqwest::Request) + Send + Sync + 'static) -> Self {
        Self::new().with_on_request(f)
    }

    /// Calls `f` on every request before it is sent.
    pub fn with_on_request(
        mut self,
        f: impl Fn(&mut reqwest::Request) + Send + Sync + 'static,
    ) -> Self {
        self.on_request = Some(Arc::new(f));
        self
    }

    /// Awaits `f()` before every request, before the on-request function.
    pub fn with_prepare<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.prepare = Some(Arc::new(move || Box::pin(f())));
        self
    }

    /// Calls `f` with every response (or transport error) as it arrives.
    pub fn with_on_response(
        mut self,
        f: impl Fn(&reqwest::Result<reqwest::Response>) + Send + Sync + 'static,
    ) -> Self {
        self.on_response = Some(Arc::new(f));
        self
    }

    /// Sends every request with `f` instead of `reqwest::Client::execute`.
    pub fn with_exec<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(reqwest::Client, reqwest::Request, &'static str) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
    {
        self.exec = Some(Arc::new(move |client, request, operation| {
            Box::pin(f(client, request, operation))
        }));
        self
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
            .field("prepare", &self.prepare.is_some())
            .field("on_request", &self.on_request.is_some())
            .field("on_response", &self.on_response.is_some())
            .field("exec", &self.exec.is_some())
            .finish()
    }
}

impl ClientHooks<Hooks> for crate::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if let Some(prepare) = &self.inner.prepare {
            prepare().await.map_err(progenitor_client::Error::Custom)?;
        }
        if let Some(hook) = &self.inner.on_request {
            hook(request);
        }
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        match &self.inner.exec {
            Some(exec) => exec(self.client.clone(), request, info.operation_id).await,
            None => self.client.execute(request).await,
        }
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if let Some(hook) = &self.inner.on_response {
            hook(result);
        }
        Ok(())
    }
}
