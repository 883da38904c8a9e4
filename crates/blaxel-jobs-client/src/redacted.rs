//! Types whose `Debug` output must never show a secret, written by hand
//! instead of generated (the document marks them `x-blaxel-rust-type`).
//! Their fields and JSON shape are exactly the document's.
//!
//! ```
//! use blaxel_jobs_client::types::{Env, TriggerConfiguration};
//!
//! let env = Env { name: Some("DB_PASSWORD".into()), value: Some("hunter2".into()), secret: Some(true), value_from: None };
//! assert!(!format!("{env:?}").contains("hunter2"));
//! assert_eq!(serde_json::to_value(&env).unwrap()["value"], "hunter2");
//!
//! // A `valueFrom` reference shows only which kind of source it is.
//! let env: Env = serde_json::from_str(
//!     r#"{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}"#,
//! ).unwrap();
//! assert_eq!(format!("{env:?}"), r#"Env { name: Some("DB_PASSWORD"), secret: None, value: None, value_from: Some(["secretKeyRef"]) }"#);
//!
//! let config = TriggerConfiguration { callback_secret: Some("whsec_1".into()), ..Default::default() };
//! assert!(!format!("{config:?}").contains("whsec_1"));
//! ```

use crate::generated::types::TriggerConfigurationTask;
use std::fmt;

/// Shows `Some(***)` for a present secret, `None` otherwise.
struct Masked<'a>(&'a Option<String>);

impl fmt::Debug for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(_) => f.write_str("Some(***)"),
            None => f.write_str("None"),
        }
    }
}

/// A value shown without what it holds, for the `Debug` of generated types
/// whose document marks a property `x-blaxel-sensitive`: a map shows its
/// keys, an `Option` whether it is set, a string `***`.
#[doc(hidden)]
pub struct Redacted<'a, T: ?Sized>(pub &'a T);

impl<K: fmt::Debug, V> fmt::Debug for Redacted<'_, std::collections::BTreeMap<K, V>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl fmt::Debug for Redacted<'_, serde_json::Map<String, serde_json::Value>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl fmt::Debug for Redacted<'_, String> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'a, T> fmt::Debug for Redacted<'a, Option<T>>
where
    Redacted<'a, T>: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(v) => f.debug_tuple("Some").field(&Redacted(v)).finish(),
            None => f.write_str("None"),
        }
    }
}

/// Shows the keys of a `valueFrom` object, never its values.
struct SourceKinds<'a>(&'a serde_json::Map<String, serde_json::Value>);

impl fmt::Debug for SourceKinds<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// An environment variable of a job's tasks (`Env`), in the shape of a
/// Kubernetes `EnvVar`: a literal `value`, or a `value_from` reference.
///
/// `Debug` masks the value of a secret variable and shows only the keys of
/// `value_from` (which kind of source, such as `secretKeyRef`), never what
/// is inside it.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Env {
    /// The variable's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether the value is secret: stored encrypted and masked when read back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<bool>,
    /// The variable's value (masked by the server when secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Where the value comes from instead of `value`, as in a Kubernetes
    /// `EnvVar` (for example `{"secretKeyRef": {"name": ..., "key": ...}}`).
    /// Free-form: Blaxel's document does not list the references it supports.
    #[serde(rename = "valueFrom", default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Env {
    /// Whether the variable is marked secret.
    pub fn is_secret(&self) -> bool {
        self.secret == Some(true)
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Env");
        s.field("name", &self.name).field("secret", &self.secret);
        if self.is_secret() {
            s.field("value", &Masked(&self.value));
        } else {
            s.field("value", &self.value);
        }
        s.field("value_from", &self.value_from.as_ref().map(SourceKinds));
        s.finish()
    }
}

/// Settings of a trigger (`TriggerConfiguration`); which apply depends on
/// its type. `Debug` hides `callback_secret`.
#[derive(Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TriggerConfiguration {
    /// For `http`, how callers authenticate, such as `blaxel` or `public`.
    #[serde(
        rename = "authenticationType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub authentication_type: Option<String>,
    /// For `http-async`, the secret that signs callbacks; set by the server.
    #[serde(
        rename = "callbackSecret",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub callback_secret: Option<String>,
    /// For `http-async`, where the result is posted.
    #[serde(
        rename = "callbackUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub callback_url: Option<String>,
    /// For `http`, the path the trigger answers on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// How many times the trigger retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<i64>,
    /// For `cron`, a five-field cron expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// For `cron`, the tasks each scheduled execution runs. It may be left
    /// out of answers when the server stores the list apart (see
    /// [`tasks_ref`](Self::tasks_ref)). `null` reads as absent, as in
    /// the generated types (see `null.rs`).
    #[serde(
        default,
        deserialize_with = "crate::null::or_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tasks: Vec<TriggerConfigurationTask>,
    /// Where the server stores the trigger's task list when it keeps it
    /// apart; set by the server (read-only).
    #[serde(rename = "tasksRef", default, skip_serializing_if = "Option::is_none")]
    pub tasks_ref: Option<String>,
    /// For `http-async`, seconds to wait for the result, at most 900 (mk3 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
}

impl fmt::Debug for TriggerConfiguration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TriggerConfiguration")
            .field("authentication_type", &self.authentication_type)
            .field("callback_secret", &Masked(&self.callback_secret))
            .field("callback_url", &self.callback_url)
            .field("path", &self.path)
            .field("retry", &self.retry)
            .field("schedule", &self.schedule)
            .field("tasks", &self.tasks)
            .field("tasks_ref", &self.tasks_ref)
            .field("timeout", &self.timeout)
            .finish()
    }
}
