//! Errors before anything is sent: configuration and invalid input.

use std::fmt;

/// What kind of configuration problem occurred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// No credentials were found.
    MissingCredentials,
    /// No workspace was given.
    MissingWorkspace,
    /// A setting has a value that cannot be used.
    InvalidValue,
    /// The config file exists but cannot be read or parsed.
    ConfigFile,
    /// Credentials would be sent over plain HTTP to a non-loopback host.
    InsecureUrl,
    /// The HTTP client could not be built.
    HttpClient,
    /// A browser login (`bl login`) has expired and cannot be renewed: its
    /// refresh token is missing or was refused. Run `bl login` again.
    LoginExpired,
}

/// A configuration problem, with what to set to fix it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The kind of problem.
    pub(crate) kind: ConfigErrorKind,
    /// What is wrong and how to fix it; names the variable or file to set.
    pub(crate) message: String,
}

impl ConfigError {
    pub(crate) fn new(kind: ConfigErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// A value rejected before sending, with the field it concerns.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    /// The field, as a path in the request (`metadata.name`,
    /// `spec.triggers[0].configuration.schedule`, `memory`), when known.
    pub(crate) field: Option<String>,
    /// What is wrong.
    pub(crate) message: String,
}

impl InvalidInput {
    pub(crate) fn at_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// The same problem, at another field.
    pub(crate) fn at(self, field: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..self
        }
    }

    pub(crate) fn general(message: impl Into<String>) -> Self {
        Self {
            field: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for InvalidInput {}

impl ConfigError {
    /// The kind of problem.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// What is wrong and how to fix it; names the variable or file to set.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl InvalidInput {
    /// The field, as a path in the request (`metadata.name`,
    /// `spec.triggers[0].configuration.schedule`, `memory`), when known.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}
