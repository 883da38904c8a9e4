//! What every request builder shares: the client, the generated request
//! being filled in, the call's own settings and the first invalid value
//! given; and the [`Request`] trait that the blocking client runs.
//!
//! The builders themselves are generated from the document (see
//! [`crate::api`]); sending goes to [`crate::transport`], one way.

use crate::Client;
use crate::error::{Error, InvalidInput};
use crate::transport::{CallSettings, Sendable};
use std::future::Future;

/// The state every request builder shares: the client, the generated
/// builder being filled in, the call's own settings, and the first invalid
/// value given (reported by `send`, before anything is sent).
#[derive(Debug, Clone)]
pub(crate) struct Call<'a, O> {
    pub(crate) client: &'a Client,
    pub(crate) op: O,
    pub(crate) settings: CallSettings,
    invalid: Option<InvalidInput>,
    /// The path parameters of the handle the builder came from, when an
    /// `x-blaxel-sdk-handles` placement made it (see [`Call::id`]).
    ids: Vec<(&'static str, String)>,
}

impl<'a, O> Call<'a, O> {
    pub(crate) fn new(client: &'a Client, op: O) -> Self {
        Call {
            client,
            op,
            settings: CallSettings::default(),
            invalid: None,
            ids: Vec::new(),
        }
    }

    /// Records a path parameter of the handle the builder came from
    /// (generated for operations placed on other handles).
    pub(crate) fn with_id(mut self, name: &'static str, value: String) -> Self {
        self.ids.push((name, value));
        self
    }

    /// The value of the path parameter `name` of the handle the builder
    /// came from, when it was placed there: what hand-written extras of an
    /// operation read to know its resource (the execution a logs request
    /// is about).
    pub(crate) fn id(&self, name: &str) -> Option<&str> {
        self.ids
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Applies a setter of the generated builder.
    pub(crate) fn map(mut self, f: impl FnOnce(O) -> O) -> Self {
        self.op = f(self.op);
        self
    }

    /// Records a check's failure; the first one is reported by `send`.
    pub(crate) fn check(mut self, result: Result<(), InvalidInput>) -> Self {
        if let (None, Err(e)) = (&self.invalid, result) {
            self.invalid = Some(e);
        }
        self
    }

    /// The first failed check, if any.
    pub(crate) fn into_checked(self) -> Result<Self, Error> {
        match self.invalid {
            Some(e) => Err(e.into()),
            None => Ok(self),
        }
    }
}

impl<'a, O: Sendable + 'a> Call<'a, O> {
    /// Sends `op`, unless a check failed: the transport builds the request,
    /// makes the attempts and decodes the answer (see
    /// [`crate::transport`]); `settings` override the client's.
    ///
    /// Not `async`, and neither are the builders' `send`: the transport's
    /// future is the only `async` layer, because each layer keeps its own
    /// copy of what it was given in the call's future, which is copied
    /// whole as it moves.
    pub(crate) fn send(self) -> impl Future<Output = Result<O::Decoded, Error>> + Send + 'a {
        use futures_util::future::{Either, ready};
        let Call {
            client,
            op,
            settings,
            invalid,
            ids: _,
        } = self;
        match invalid {
            Some(e) => Either::Left(ready(Err(e.into()))),
            None => Either::Right(crate::transport::send(client, settings, op)),
        }
    }
}

/// The setters of a call's own settings, for a builder holding a
/// [`Call`] in `self.call`: `timeout`, `operation_timeout` and `retry`,
/// each overriding the client's setting for this call.
macro_rules! settings {
    () => {
        /// Overrides the client's per-attempt timeout for this call
        /// ([`ClientBuilder::timeout`](crate::ClientBuilder::timeout)).
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.call.settings.timeout = Some(timeout);
            self
        }

        /// Overrides the client's timeout of the whole call, every attempt
        /// and wait included
        /// ([`ClientBuilder::operation_timeout`](crate::ClientBuilder::operation_timeout)).
        pub fn operation_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.call.settings.operation_timeout = Some(timeout);
            self
        }

        /// Overrides the client's retry settings for this call
        /// ([`ClientBuilder::retry`](crate::ClientBuilder::retry)); the
        /// rules of [`crate::retry`] still decide what may be retried.
        pub fn retry(mut self, retry: crate::RetryConfig) -> Self {
            self.call.settings.retry = Some(Box::new(retry));
            self
        }
    };
}
pub(crate) use settings;

/// A request builder of this crate: what its `send()` answers. Every
/// builder named after an operation ([`GetJob`](crate::GetJob),
/// [`CreateJobExecution`](crate::CreateJobExecution), …) implements it (the
/// implementations are generated with the builders), and so does
/// [`UpdateJobWith`](crate::UpdateJobWith); the blocking client runs any of
/// them.
pub trait Request: Sized {
    /// What the request answers.
    type Output;
    /// Sends the request (the builder's own `send()`).
    fn send(self) -> impl Future<Output = Result<Self::Output, Error>> + Send;
}

impl Client {
    /// Sends a request built with the generated client
    /// ([`raw`](Client::raw)) the way the SDK sends its own: with the
    /// credential, the client's timeouts, retries, body limit and tracing,
    /// and the SDK's [`Error`].
    ///
    /// ```no_run
    /// # async fn demo(client: blaxel_jobs::Client) -> Result<(), blaxel_jobs::Error> {
    /// let job = client
    ///     .execute(client.raw().get_job().job_id("nightly-report"))
    ///     .await?;
    /// # let _ = job; Ok(()) }
    /// ```
    pub fn execute<'a, O>(
        &'a self,
        request: O,
    ) -> impl Future<Output = Result<O::Output, Error>> + Send + 'a
    where
        O: blaxel_jobs_client::operations::OperationBuilder<
                ErrorBody = blaxel_jobs_client::ByteStream,
            > + 'a,
        O::Output: serde::de::DeserializeOwned + Send,
    {
        Call::new(self, request).send()
    }
}

/// A new client token: a random UUID, for the request-body property that
/// makes an `idempotent-with-client-token` operation safe to retry.
pub(crate) fn client_token() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// How an `idempotent-with-client-token` operation is sent: its request
/// carries a client token, the same on every attempt, and a `409` after a
/// retry may be the server's answer to the earlier attempt, which the
/// operation's own rule reconciles. Generated
/// builders of such operations call this; an operation added to the
/// document with a client token does not compile until its rule is
/// written.
pub(crate) trait ClientToken<'a>: Sized {
    /// The generated builder.
    type Raw;
    /// The request body.
    type Body;
    /// What the operation answers.
    type Output;
    /// Sends `body` with `call`; `path` holds the values of the path's
    /// parameters, in order.
    fn send(
        call: Call<'a, Self::Raw>,
        path: Vec<String>,
        body: Self::Body,
    ) -> impl Future<Output = Result<Self::Output, Error>> + Send + 'a;
}
