//! Open enums: the status and kind values that Blaxel extends over time.
//!
//! The document marks these schemas with `x-blaxel-open-enum`, and the
//! generator uses the types below in their place. Each lists the values known
//! today; any other string deserializes into the `Unknown` variant, which
//! keeps the string exactly as the server sent it and serializes it back
//! unchanged, so a new server value never makes a whole response fail to
//! parse. Matching is exact first, then ASCII case-insensitive (`"Succeeded"`
//! is [`JobExecutionStatus::Succeeded`]).
//!
//! Deserializing a known value borrows the input and allocates nothing.
//!
//! ```
//! use blaxel_jobs_client::open_enum::JobExecutionStatus;
//!
//! let s: JobExecutionStatus = serde_json::from_str("\"timeout\"").unwrap();
//! assert!(s.is_terminal());
//! let new: JobExecutionStatus = serde_json::from_str("\"paused\"").unwrap();
//! assert!(!new.is_known());
//! assert_eq!(new.as_str(), "paused");
//! assert_eq!(serde_json::to_string(&new).unwrap(), "\"paused\"");
//! ```

use std::fmt;

/// A value that this version of the SDK does not know, kept as received.
///
/// It can only be made by parsing, so an `Unknown` never holds a known value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnknownValue(String);

impl UnknownValue {
    /// The value as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value that this version of the SDK does not know.
            Unknown(UnknownValue),
        }

        impl $name {
            /// The values known to this version of the SDK, as the document lists them.
            pub const KNOWN: &'static [&'static str] = &[$($value),+];

            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $value, )+
                    Self::Unknown(v) => v.as_str(),
                }
            }

            /// Whether this is one of the [`KNOWN`](Self::KNOWN) values.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }

            fn known(s: &str) -> Option<Self> {
                match s {
                    $( $value => Some(Self::$variant), )+
                    _ => None,
                }
                .or_else(|| {
                    $( if s.eq_ignore_ascii_case($value) { return Some(Self::$variant); } )+
                    None
                })
            }

            fn parse_owned(s: String) -> Self {
                Self::known(&s).unwrap_or(Self::Unknown(UnknownValue(s)))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::known(s).unwrap_or_else(|| Self::Unknown(UnknownValue(s.to_owned())))
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self::parse_owned(s)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " string"))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::from(v))
                    }
                    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<$name, E> {
                        Ok($name::parse_owned(v))
                    }
                }
                d.deserialize_str(Visitor)
            }
        }
    };
}

open_enum! {
    /// The deployment status of a job (`Status` in the document; named
    /// for what it is here, through `x-blaxel-rust-type`).
    DeploymentStatus {
        /// Being deleted.
        Deleting = "DELETING",
        /// Stopped for good.
        Terminated = "TERMINATED",
        /// The deployment failed.
        Failed = "FAILED",
        /// Turned off.
        Deactivated = "DEACTIVATED",
        /// Being turned off.
        Deactivating = "DEACTIVATING",
        /// Its code is being uploaded.
        Uploading = "UPLOADING",
        /// Its image is being built.
        Building = "BUILDING",
        /// Being deployed.
        Deploying = "DEPLOYING",
        /// Deployed and ready to run.
        Deployed = "DEPLOYED",
        /// Built, not yet deployed.
        Built = "BUILT",
        /// Archived: kept, but not deployed.
        Archived = "ARCHIVED",
        /// Being archived.
        Archiving = "ARCHIVING",
        /// Being brought back from the archive.
        Unarchiving = "UNARCHIVING",
    }
}

open_enum! {
    /// The status of an execution (`JobExecutionStatus` in the document).
    JobExecutionStatus {
        /// Waiting for capacity.
        Queued = "queued",
        /// Accepted, not yet running.
        Pending = "pending",
        /// Tasks are running.
        Running = "running",
        /// Cancellation was asked for; running tasks are finishing.
        Cancelling = "cancelling",
        /// Cancelled (final).
        Cancelled = "cancelled",
        /// At least one task failed (final).
        Failed = "failed",
        /// Every task succeeded (final).
        Succeeded = "succeeded",
        /// A task ran past its timeout (final).
        Timeout = "timeout",
    }
}

impl JobExecutionStatus {
    /// Whether the execution has reached a final status: `succeeded`,
    /// `failed`, `cancelled` or `timeout`. Unknown values are not final.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Cancelled | Self::Timeout
        )
    }
}

open_enum! {
    /// The status of one task (`JobExecutionTaskStatus` in the document).
    JobExecutionTaskStatus {
        /// Not reported yet.
        Unspecified = "unspecified",
        /// Waiting to start.
        Pending = "pending",
        /// Being set up.
        Reconciling = "reconciling",
        /// Failed (final).
        Failed = "failed",
        /// Succeeded (final).
        Succeeded = "succeeded",
        /// Running.
        Running = "running",
        /// Cancelled (final).
        Cancelled = "cancelled",
    }
}

impl JobExecutionTaskStatus {
    /// Whether the task has reached a final status: `succeeded`, `failed` or
    /// `cancelled`. Unknown values are not final.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

open_enum! {
    /// What starts an execution (`TriggerType` in the document).
    TriggerType {
        /// A synchronous HTTP endpoint.
        Http = "http",
        /// An HTTP endpoint that answers at once and calls back with the result.
        HttpAsync = "http-async",
        /// A cron schedule.
        Cron = "cron",
    }
}

open_enum! {
    /// A port's protocol (`PortProtocol` in the document).
    PortProtocol {
        /// HTTP.
        Http = "HTTP",
        /// Plain TCP.
        Tcp = "TCP",
        /// UDP.
        Udp = "UDP",
        /// TLS.
        Tls = "TLS",
    }
}

open_enum! {
    /// The infrastructure generation (`Generation` in the document).
    Generation {
        /// Containers.
        Mk2 = "mk2",
        /// MicroVMs.
        Mk3 = "mk3",
    }
}

open_enum! {
    /// The kind of a job volume (`VolumeType` in the document).
    VolumeType {
        /// Storage that lives as long as the task.
        Ephemeral = "ephemeral",
    }
}

open_enum! {
    /// A short identifier of the kind of error (`ErrorCode` in the
    /// document): `error` of the API's error object, or `error.code` of the
    /// platform's envelope. Codes not listed are kept as
    /// [`ErrorCode::Unknown`], so a `match` needs a catch-all arm. Like
    /// every open enum, a code matches without regard to case: the API's
    /// `bad_request` is [`ErrorCode::BadRequest`], as the platform's
    /// `BAD_REQUEST` is.
    ErrorCode {
        /// The `Blaxel-Version` sent is not one the server knows.
        InvalidApiVersion = "invalid_api_version",
        /// No route of the platform matches the request.
        RouteNotFound = "ROUTE_NOT_FOUND",
        /// The workload (here, the job) does not exist.
        WorkloadNotFound = "WORKLOAD_NOT_FOUND",
        /// The workspace does not exist, or the credential cannot see it.
        WorkspaceNotFound = "WORKSPACE_NOT_FOUND",
        /// The workload cannot answer right now.
        WorkloadUnavailable = "WORKLOAD_UNAVAILABLE",
        /// No credential was sent.
        AuthenticationRequired = "AUTHENTICATION_REQUIRED",
        /// The credential was refused.
        AuthenticationFailed = "AUTHENTICATION_FAILED",
        /// The credential may not do this.
        Forbidden = "FORBIDDEN",
        /// The request is malformed.
        BadRequest = "BAD_REQUEST",
        /// A usage limit of the workspace was reached.
        UsageLimitExceeded = "USAGE_LIMIT_EXCEEDED",
        /// A policy of the workspace forbids the request.
        PolicyViolation = "POLICY_VIOLATION",
    }
}
