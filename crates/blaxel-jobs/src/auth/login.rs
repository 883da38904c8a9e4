//! A browser login's credentials, as data: what `bl login` saves, or what
//! a program gives the builder, and where it was read from.

use super::Secret;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// A browser login, as `bl login` saves it in `~/.blaxel/config.yaml` when
/// the user logs in in the browser (the default): a short-lived access
/// token, the refresh token that renews it, and the login's device code.
///
/// [`Client::from_env`](crate::Client::from_env) reads one from the config
/// file when the workspace's credentials have no API key and no client
/// credentials. [`ClientBuilder::device_login`](crate::ClientBuilder::device_login)
/// takes one given in code.
///
/// How the SDK uses it:
///
/// - The access token is sent as the bearer credential. It is renewed
///   before it expires (when less than half its lifetime, or five minutes,
///   remains) with `POST {base}/oauth/token` and the JSON body
///   `{"grant_type": "refresh_token", "refresh_token": ..., "device_code":
///   ..., "client_id": "blaxel"}`, once for all the calls that find it due.
///   Its expiry is read from the token's `exp` claim when it is a JWT, else
///   from `expires_in` (counted from when the config file was written);
///   a token whose expiry cannot be known is used until the API refuses it,
///   then renewed, and the refused request is sent once more.
/// - A refresh answer may carry a new refresh token, which replaces the old
///   one (a server that rotates refresh tokens refuses the old one from
///   then on); without one, the old one is kept.
/// - A login read from the config file is written back to it after each
///   renewal, as `bl` itself does, so that `bl` and other programs keep
///   working when the refresh token is rotated (see
///   [`ClientBuilder::save_refreshed_login`](crate::ClientBuilder::save_refreshed_login)).
///   Before renewing, the SDK reads the file again, and uses the tokens
///   another program saved there if they are newer. Only the three values
///   change in the file; everything else in it, comments and order
///   included, is kept byte for byte, with the file's permissions; the file
///   is replaced atomically, under a lock (`config.yaml.lock` beside it)
///   that other programs using this SDK take too.
/// - An expired access token that cannot be renewed (no refresh token, or
///   the server refused it) is an [`Error::Config`](crate::Error::Config)
///   of kind
///   [`ConfigErrorKind::LoginExpired`](crate::ConfigErrorKind::LoginExpired)
///   that says to run `bl login` again, raised before any API request is
///   sent.
/// - A token the API refused is renewed at most once a minute, so a server
///   that refuses every token cannot make the SDK loop.
///
/// Neither token nor the device code is ever shown: `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceLogin {
    pub(crate) access_token: Option<Secret>,
    pub(crate) refresh_token: Option<Secret>,
    pub(crate) device_code: Option<Secret>,
    pub(crate) expires_at: Option<SystemTime>,
    /// The token's whole lifetime, when known besides its claims
    /// (`expires_in`).
    pub(crate) lifetime: Option<Duration>,
    /// The config file it was read from, when it was.
    pub(crate) saved_in: Option<SavedIn>,
}

impl fmt::Debug for DeviceLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |s: &Option<Secret>| if s.is_some() { "***" } else { "none" };
        f.debug_struct("DeviceLogin")
            .field("access_token", &shown(&self.access_token))
            .field("refresh_token", &shown(&self.refresh_token))
            .field("device_code", &shown(&self.device_code))
            .field("expires_at", &self.expires_at)
            .field("saved_in", &self.saved_in)
            .finish()
    }
}

impl DeviceLogin {
    /// A login with this access token. Without a refresh token, it works
    /// until the token expires.
    pub fn new(access_token: impl Into<Secret>) -> Self {
        DeviceLogin {
            access_token: Some(access_token.into()),
            refresh_token: None,
            device_code: None,
            expires_at: None,
            lifetime: None,
            saved_in: None,
        }
    }

    /// The refresh token that renews the access token.
    pub fn refresh_token(mut self, token: impl Into<Secret>) -> Self {
        self.refresh_token = Some(token.into());
        self
    }

    /// The login's device code, sent along with the refresh token.
    pub fn device_code(mut self, code: impl Into<Secret>) -> Self {
        self.device_code = Some(code.into());
        self
    }

    /// When the access token expires, for a token that does not say so
    /// itself (one that is not a JWT with an `exp` claim).
    pub fn expires_at(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at);
        self.lifetime = None;
        self
    }

    /// What is known of the access token's expiry besides its claims.
    pub(crate) fn expiry(&self) -> Expiry {
        self.expires_at.map_or(Expiry::Unknown, |at| Expiry::At {
            at,
            lifetime: self.lifetime,
        })
    }
}

/// What is known of a token's expiry besides its claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// Nothing.
    Unknown,
    /// It expires at this time, after a lifetime of this long (when known).
    At {
        at: SystemTime,
        lifetime: Option<Duration>,
    },
}

/// Where a browser login was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SavedIn {
    /// The config file.
    pub(crate) path: PathBuf,
    /// The workspace whose `credentials` hold the login.
    pub(crate) workspace: String,
    /// Whether renewed tokens are written back.
    pub(crate) write: bool,
    /// When the file was last written, as read.
    pub(crate) modified: Option<SystemTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let login = DeviceLogin::new("acc-TOKEN-1")
            .refresh_token("ref-TOKEN-2")
            .device_code("dev-CODE-3");
        let shown = format!(
            "{login:?} {:?}",
            crate::Credentials::DeviceLogin(login.clone())
        );
        for secret in ["acc-TOKEN-1", "ref-TOKEN-2", "dev-CODE-3"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
