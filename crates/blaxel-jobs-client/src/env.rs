//! The environment variable type (`Env` in the document), written by hand so
//! that its `Debug` output never shows a secret value.
//!
//! ```
//! use blaxel_jobs_client::types::Env;
//!
//! let env = Env { name: Some("DB_PASSWORD".into()), value: Some("hunter2".into()), secret: Some(true) };
//! assert!(!format!("{env:?}").contains("hunter2"));
//! assert_eq!(serde_json::to_value(&env).unwrap()["value"], "hunter2");
//! ```

use std::fmt;

/// An environment variable of a job's tasks.
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
}

impl Env {
    /// Whether the variable is marked secret.
    pub fn is_secret(&self) -> bool {
        self.secret == Some(true)
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = match (&self.value, self.is_secret()) {
            (Some(_), true) => &"***",
            (value, _) => value,
        };
        f.debug_struct("Env")
            .field("name", &self.name)
            .field("secret", &self.secret)
            .field("value", value)
            .finish()
    }
}
