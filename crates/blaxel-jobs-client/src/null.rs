//! `null` read as absent, for the optional fields whose type has no room
//! for it (a list, a map, a value with a default).
//!
//! A server written in Go sends `null` for an unset list unless told
//! otherwise, and Blaxel's Python and TypeScript SDKs read `null` as
//! absent. An optional field typed `Option<T>` reads `null` as `None` by
//! itself; the others (`Vec<T>`, maps, `bool` with a default) would fail
//! to decode. `cargo xtask codegen` gives each of those fields in the
//! generated types a `deserialize_with` of this module (see
//! `xtask/src/patches.rs`), and the hand-written types use it the same
//! way, so that `null` decodes exactly as if the member were missing.
//!
//! ```
//! use blaxel_jobs_client::types::{JobRuntime, JobSpec};
//!
//! let spec: JobSpec = serde_json::from_str(r#"{"enabled": null}"#).unwrap();
//! assert!(spec.enabled); // the document's default, as when it is missing
//! let runtime: JobRuntime = serde_json::from_str(r#"{"envs": null}"#).unwrap();
//! assert!(runtime.envs.is_empty());
//! ```

use serde::{Deserialize, Deserializer};

/// Reads `null` as `T::default()`, anything else as a `T`.
pub(crate) fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads `null` as `default()`, anything else as a `T`: for a field whose
/// default is not `T::default()` (the generated code passes the field's
/// own default function).
pub(crate) fn or_else<'de, D, T>(deserializer: D, default: fn() -> T) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_else(default))
}
