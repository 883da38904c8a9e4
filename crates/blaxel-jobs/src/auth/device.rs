//! A browser login: what `bl login` saves once the user has confirmed in the
//! browser (`access_token`, `refresh_token`, `expires_in`, `device_code` in
//! a workspace's `credentials`), and how its access token is renewed.

use super::login::{DeviceLogin, Expiry, SavedIn};
use super::login_file::Renewed;
use super::{MAX_TOKEN_LIFETIME, Secret, TokenEndpoint, bearer, decode_token_response};
use crate::error::{ConfigError, ConfigErrorKind, Error};
use base64::Engine as _;
use reqwest::header::HeaderValue;
use std::fmt;
use std::sync::RwLock;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// The error that says to log in again.
pub(crate) fn login_expired(workspace: &str, why: &str) -> ConfigError {
    ConfigError::new(
        ConfigErrorKind::LoginExpired,
        format!(
            "the browser login for workspace `{workspace}` {why}: run `bl login {workspace}` \
             again"
        ),
    )
}

/// How long a token the API refused must have been in use before it is
/// renewed because of that: a server that refuses every token gets one
/// renewal a minute, not one per call.
const REFUSED_RENEWAL_INTERVAL: Duration = Duration::from_secs(60);

/// A browser login in use: its current tokens, renewed as needed.
pub(crate) struct Device {
    workspace: String,
    endpoint: TokenEndpoint,
    saved_in: Option<SavedIn>,
    state: RwLock<State>,
    /// Held while renewing, so that concurrent calls renew once.
    renewing: tokio::sync::Mutex<()>,
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "workspace: {}, token_url: {}, saved_in: {:?}",
            self.workspace, self.endpoint.url, self.saved_in
        )
    }
}

#[derive(Clone)]
struct State {
    token: Option<Token>,
    refresh_token: Option<Secret>,
    device_code: Option<Secret>,
    /// Why the login cannot be renewed, once that is known.
    dead: Option<String>,
    /// The tokens the config file held when last read or written: the
    /// file's tokens are used only when they differ from these (someone
    /// changed the file), never because this client failed to save its own.
    file_seen: Option<Seen>,
}

/// A login's access and refresh tokens.
type Seen = (Option<Secret>, Option<Secret>);

fn seen(login: &DeviceLogin) -> Seen {
    (login.access_token.clone(), login.refresh_token.clone())
}

#[derive(Clone)]
struct Token {
    access: Secret,
    header: HeaderValue,
    /// When it expires (`None`: unknown).
    expires_at: Option<Instant>,
    /// When to renew it (`None`: when the API refuses it).
    renew_at: Option<Instant>,
    /// When a renewal made it (`None`: it came from the login itself).
    renewed_at: Option<Instant>,
}

impl Token {
    fn new(
        access: Secret,
        expires: Expiry,
        renewed_at: Option<Instant>,
    ) -> Result<Token, ConfigError> {
        let header = bearer(access.expose_secret())?;
        let now = Instant::now();
        let (expires_at, renew_at) =
            schedule(access.expose_secret(), expires, now, SystemTime::now());
        Ok(Token {
            access,
            header,
            expires_at,
            renew_at,
            renewed_at,
        })
    }

    fn fresh(&self, now: Instant) -> bool {
        self.renew_at.is_none_or(|at| now < at)
    }

    fn expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }
}

impl Device {
    pub(crate) fn new(
        login: &DeviceLogin,
        workspace: &str,
        endpoint: TokenEndpoint,
    ) -> Result<Self, ConfigError> {
        let expires = login.expiry();
        let token = login
            .access_token
            .clone()
            .map(|access| Token::new(access, expires, None))
            .transpose()?;
        if token.is_none() && login.refresh_token.is_none() {
            return Err(login_expired(
                workspace,
                "has neither an access token nor a refresh token",
            ));
        }
        Ok(Device {
            workspace: workspace.to_owned(),
            endpoint,
            saved_in: login.saved_in.clone(),
            state: RwLock::new(State {
                token,
                refresh_token: login.refresh_token.clone(),
                device_code: login.device_code.clone(),
                dead: None,
                file_seen: login.saved_in.as_ref().map(|_| seen(login)),
            }),
            renewing: tokio::sync::Mutex::new(()),
        })
    }

    fn state(&self) -> State {
        match self.state.read() {
            Ok(s) => s.clone(),
            Err(e) => e.into_inner().clone(),
        }
    }

    fn set_state(&self, f: impl FnOnce(&mut State)) {
        match self.state.write() {
            Ok(mut s) => f(&mut s),
            Err(e) => f(&mut e.into_inner()),
        }
    }

    /// The current token's header, whatever its age.
    pub(crate) fn token_header(&self) -> Option<HeaderValue> {
        let s = self.state.read().ok()?;
        s.token.as_ref().map(|t| t.header.clone())
    }

    /// The current token's header, if it is not due for renewal.
    pub(crate) fn fresh_header(&self) -> Option<HeaderValue> {
        let s = self.state.read().ok()?;
        let t = s.token.as_ref()?;
        (s.dead.is_none() && t.fresh(Instant::now())).then(|| t.header.clone())
    }

    /// Why the login cannot be used any more, if it cannot.
    pub(crate) fn login_error(&self) -> Option<ConfigError> {
        let s = self.state.read().ok()?;
        s.dead
            .as_deref()
            .map(|why| login_expired(&self.workspace, why))
    }

    /// A fresh token's header: renewed now unless another call renewed it
    /// while this one waited.
    pub(crate) async fn renew(&self, deadline: Option<Instant>) -> Result<HeaderValue, Error> {
        let _renewing = self.renewing.lock().await;
        if let Some(header) = self.fresh_header() {
            return Ok(header);
        }
        self.renew_locked(None, deadline).await
    }

    /// After the API refused `sent` with 401: a better header, if there is
    /// one (see [`crate::auth::Auth::reauthorize`]).
    pub(crate) async fn reauthorize(
        &self,
        sent: &HeaderValue,
        deadline: Option<Instant>,
    ) -> Option<HeaderValue> {
        let _renewing = self.renewing.lock().await;
        let s = self.state();
        let current = s.token.as_ref()?;
        if current.header != *sent {
            // Renewed by another call meanwhile.
            return s.dead.is_none().then(|| current.header.clone());
        }
        let now = Instant::now();
        if current
            .renewed_at
            .is_some_and(|at| now.saturating_duration_since(at) < REFUSED_RENEWAL_INTERVAL)
        {
            tracing::debug!(
                "the API refused a token renewed less than a minute ago; not renewing it again yet"
            );
            return None;
        }
        self.renew_locked(Some(sent), deadline).await.ok()
    }

    /// Renews the token, with `renewing` held. `refused` is the header the
    /// API refused, when that is why.
    async fn renew_locked(
        &self,
        refused: Option<&HeaderValue>,
        deadline: Option<Instant>,
    ) -> Result<HeaderValue, Error> {
        // What the config file holds now: another program may have renewed
        // the login (and rotated its refresh token), or the user may have
        // logged in again. Taken under the file's lock when the SDK writes
        // the file, so that programs using the SDK renew one at a time.
        let mut file = None;
        if let Some(saved_in) = self.saved_in.clone() {
            let (lock, saved) = tokio::task::spawn_blocking(move || {
                let lock = saved_in.write.then(|| saved_in.lock()).and_then(|l| {
                    l.map_err(|e| {
                        tracing::debug!(error = %e, "cannot lock the config file; not saving the renewed login")
                    })
                    .ok()
                });
                (lock, saved_in.read())
            })
            .await
            .unwrap_or((None, None));
            if let Some(saved) = &saved {
                self.adopt(saved);
            }
            file = Some((lock, saved));
        }
        let s = self.state();
        let now = Instant::now();
        if let Some(t) = &s.token
            && s.dead.is_none()
        {
            let usable = match refused {
                Some(r) => t.header != *r && !t.expired(now),
                None => t.fresh(now),
            };
            if usable {
                // The file had a newer token.
                return Ok(t.header.clone());
            }
        }
        if let Some(why) = &s.dead {
            return Err(login_expired(&self.workspace, why).into());
        }
        let Some(refresh_token) = s.refresh_token.clone() else {
            return match &s.token {
                Some(t) if refused.is_none() && !t.expired(now) => Ok(t.header.clone()),
                _ => Err(self
                    .die("has expired and has no refresh token to renew it")
                    .into()),
            };
        };

        let mut body = serde_json::json!({
            "grant_type": "refresh_token",
            "refresh_token": refresh_token.expose_secret(),
            "client_id": "blaxel",
        });
        let mut secrets = vec![refresh_token.expose_secret()];
        if let Some(code) = &s.device_code {
            body["device_code"] = code.expose_secret().into();
            secrets.push(code.expose_secret());
        }
        if let Some(t) = &s.token {
            secrets.push(t.access.expose_secret());
        }
        let answer = match self.endpoint.post(&body, None, &secrets, deadline).await {
            Ok(answer) => answer,
            Err(Error::Api(e)) if matches!(e.status().as_u16(), 400 | 401 | 403) => {
                let code = e.code().map(|c| c.as_str().to_owned());
                let why = format!(
                    "has expired or was revoked: the token endpoint refused its refresh token \
                     ({}{})",
                    e.status().as_u16(),
                    code.map(|c| format!(" {}", crate::error::Clip(&c, 64)))
                        .unwrap_or_default()
                );
                return Err(self.die(&why).into());
            }
            Err(e) => return Err(e),
        };
        let (status, headers, body) = answer;
        let parsed: RefreshAnswer = decode_token_response(status, &headers, &body)?;
        if parsed.access_token.is_empty() {
            return Err(crate::error::DecodeError {
                status,
                path: "access token response".into(),
                message: "access_token is empty".into(),
                request_id: crate::error::request_id(&headers),
                body: bytes::Bytes::new(),
                body_len: body.len(),
            }
            .into());
        }
        let expires = parsed.expires_in.map_or(Expiry::Unknown, |secs| {
            let lifetime = Duration::from_secs(secs).min(MAX_TOKEN_LIFETIME);
            Expiry::At {
                at: SystemTime::now()
                    .checked_add(lifetime)
                    .unwrap_or_else(SystemTime::now),
                lifetime: Some(lifetime),
            }
        });
        let access = Secret::new(parsed.access_token);
        let token =
            Token::new(access.clone(), expires, Some(Instant::now())).map_err(Error::Config)?;
        let header = token.header.clone();
        let rotated = parsed
            .refresh_token
            .filter(|t| !t.is_empty() && t.as_str() != refresh_token.expose_secret())
            .map(Secret::new);
        self.set_state(|st| {
            st.token = Some(token);
            if let Some(r) = &rotated {
                st.refresh_token = Some(r.clone());
            }
        });
        if let (Some(saved_in), Some((Some(lock), Some(before)))) = (self.saved_in.clone(), file) {
            let renewed = Renewed {
                access_token: access,
                refresh_token: rotated,
                expires_in: parsed.expires_in,
            };
            let saved = tokio::task::spawn_blocking(move || {
                let result = saved_in.save(&before, &renewed);
                drop(lock);
                result.map_err(|e| format!("{}: {e}", saved_in.path.display()))
            })
            .await;
            match saved {
                Ok(Ok(in_file)) => self.set_state(|st| st.file_seen = Some(seen(&in_file))),
                Ok(Err(e)) => tracing::warn!(
                    error = %e,
                    "the renewed browser login was not saved to the config file; \
                     it is used by this client only"
                ),
                Err(e) => tracing::warn!(error = %e, "saving the renewed browser login failed"),
            }
        }
        Ok(header)
    }

    /// Uses what the config file holds now when it differs from what this
    /// client holds: newer tokens another program saved, or a new login.
    fn adopt(&self, saved: &DeviceLogin) {
        let in_file = seen(saved);
        let s = self.state();
        if s.file_seen.as_ref() == Some(&in_file) {
            // Unchanged since this client last read or wrote it.
            return;
        }
        self.set_state(|st| st.file_seen = Some(in_file.clone()));
        let same_access = s.token.as_ref().map(|t| &t.access) == saved.access_token.as_ref();
        if same_access && s.refresh_token == saved.refresh_token {
            return;
        }
        let expires = saved.expiry();
        let token = match saved
            .access_token
            .clone()
            .map(|a| Token::new(a, expires, None))
            .transpose()
        {
            Ok(t) => t,
            Err(_) => return,
        };
        tracing::debug!("using the browser login saved by another program");
        self.set_state(|st| {
            *st = State {
                token,
                refresh_token: saved.refresh_token.clone(),
                device_code: saved.device_code.clone(),
                dead: None,
                file_seen: Some(in_file),
            };
        });
    }

    /// Records that the login cannot be renewed, and why.
    fn die(&self, why: &str) -> ConfigError {
        self.set_state(|st| st.dead = Some(why.to_owned()));
        login_expired(&self.workspace, why)
    }
}

/// The answer to the refresh grant.
#[derive(serde::Deserialize)]
struct RefreshAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// When a token read at `now` (`wall` by the system clock) expires and when
/// to renew it, on tokio's clock: from its `exp` claim when it is a JWT,
/// else from `expires`; both `None` when neither says. Renewal is due when
/// less than half its lifetime (from `iat`, else what remains), or five
/// minutes, remains. No token is trusted for more than a day.
fn schedule(
    token: &str,
    expires: Expiry,
    now: Instant,
    wall: SystemTime,
) -> (Option<Instant>, Option<Instant>) {
    let unix = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    let wall_secs = unix(wall);
    let (remaining, lifetime) = match (jwt_times(token), expires) {
        (Some((exp, iat)), _) => {
            let remaining = exp.saturating_sub(wall_secs);
            let lifetime = iat
                .filter(|iat| *iat < exp)
                .map_or(remaining, |iat| exp - iat);
            (remaining, lifetime)
        }
        (None, Expiry::At { at, lifetime }) => {
            let remaining = unix(at).saturating_sub(wall_secs);
            (remaining, lifetime.map_or(remaining, |l| l.as_secs()))
        }
        (None, Expiry::Unknown) => return (None, None),
    };
    let remaining = Duration::from_secs(remaining).min(MAX_TOKEN_LIFETIME);
    let lifetime = Duration::from_secs(lifetime)
        .min(MAX_TOKEN_LIFETIME)
        .max(remaining);
    let margin = (lifetime / 2).min(Duration::from_secs(300));
    let expires_at = now.checked_add(remaining).unwrap_or(now);
    let renew_at = expires_at.checked_sub(margin).map_or(now, |at| at.max(now));
    (Some(expires_at), Some(renew_at))
}

/// The `exp` and `iat` claims of a JWT, in seconds since the epoch; `None`
/// for a token that is not a JWT with a readable `exp`.
fn jwt_times(token: &str) -> Option<(u64, Option<u64>)> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes).ok()?;
    let seconds = |v: &serde_json::Value| {
        v.as_u64().or_else(|| {
            v.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                // Saturates at u64::MAX.
                .map(|f| f as u64)
        })
    };
    let exp = claims.get("exp").and_then(seconds)?;
    Some((exp, claims.get("iat").and_then(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &serde_json::Value) -> String {
        let enc = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        format!(
            "{}.{}.{}",
            enc(br#"{"alg":"none"}"#),
            enc(claims.to_string().as_bytes()),
            enc(b"sig")
        )
    }

    #[test]
    fn jwt_claims_are_read_and_anything_else_is_opaque() {
        assert_eq!(
            jwt_times(&jwt(&serde_json::json!({"exp": 2000, "iat": 1000}))),
            Some((2000, Some(1000)))
        );
        assert_eq!(
            jwt_times(&jwt(&serde_json::json!({"exp": 2000.7}))),
            Some((2000, None))
        );
        for opaque in [
            "opaque-token",
            "a.b",
            "a.b.c.d",
            "",
            "..",
            "x.!!!.y",
            &jwt(&serde_json::json!({"iat": 5})),
            &jwt(&serde_json::json!({"exp": -5})),
            &jwt(&serde_json::json!({"exp": "soon"})),
            &jwt(&serde_json::json!([1, 2])),
        ] {
            assert_eq!(jwt_times(opaque), None, "{opaque}");
        }
    }

    #[test]
    fn a_token_is_renewed_when_half_its_life_or_five_minutes_remain() {
        let now = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |secs: u64| now + Duration::from_secs(secs);
        // A 60 s JWT issued now: renewed after 30 s.
        let t = jwt(&serde_json::json!({"iat": 1_000_000, "exp": 1_000_060}));
        assert_eq!(
            schedule(&t, Expiry::Unknown, now, wall),
            (Some(at(60)), Some(at(30)))
        );
        // A one-hour JWT issued 10 minutes ago: five minutes before it expires.
        let t = jwt(&serde_json::json!({"iat": 999_400, "exp": 1_003_000}));
        assert_eq!(
            schedule(&t, Expiry::Unknown, now, wall),
            (Some(at(3000)), Some(at(2700)))
        );
        // Already expired: due now.
        let t = jwt(&serde_json::json!({"iat": 1, "exp": 2}));
        assert_eq!(
            schedule(&t, Expiry::Unknown, now, wall),
            (Some(now), Some(now))
        );
        // An opaque token: its expiry from outside, else unknown.
        let expires = Expiry::At {
            at: wall + Duration::from_secs(100),
            lifetime: None,
        };
        assert_eq!(
            schedule("opaque", expires, now, wall),
            (Some(at(100)), Some(at(50)))
        );
        // With its whole lifetime known: 10 s left of 600 is due now.
        let late = Expiry::At {
            at: wall + Duration::from_secs(10),
            lifetime: Some(Duration::from_secs(600)),
        };
        assert_eq!(
            schedule("opaque", late, now, wall),
            (Some(at(10)), Some(now))
        );
        assert_eq!(schedule("opaque", Expiry::Unknown, now, wall), (None, None));
        // The claims win over `expires_in`.
        let t = jwt(&serde_json::json!({"iat": 1_000_000, "exp": 1_000_010}));
        assert_eq!(
            schedule(&t, expires, now, wall),
            (Some(at(10)), Some(at(5)))
        );
        // Never trusted for more than a day, whatever the claims say.
        let t = jwt(&serde_json::json!({"exp": u64::MAX}));
        let (expires_at, renew_at) = schedule(&t, Expiry::Unknown, now, wall);
        assert_eq!(expires_at, Some(now + MAX_TOKEN_LIFETIME));
        assert_eq!(
            renew_at,
            Some(now + MAX_TOKEN_LIFETIME - Duration::from_secs(300))
        );
    }

    proptest::proptest! {
        #[test]
        fn any_token_schedules_without_panicking(
            token in "\\PC{0,60}",
            exp in proptest::num::f64::ANY,
            iat in proptest::num::u64::ANY,
            exp_int in proptest::num::u64::ANY,
            wall in proptest::num::u64::ANY,
            expires in proptest::option::of(proptest::num::u64::ANY),
        ) {
            let now = Instant::now();
            let wall = SystemTime::UNIX_EPOCH
                .checked_add(Duration::from_secs(wall))
                .unwrap_or(SystemTime::UNIX_EPOCH);
            let expires = expires
                .and_then(|s| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(s)))
                .map_or(Expiry::Unknown, |at| Expiry::At { at, lifetime: None });
            for t in [
                token.clone(),
                jwt(&serde_json::json!({"exp": exp, "iat": iat})),
                jwt(&serde_json::json!({"exp": exp_int, "iat": iat})),
            ] {
                let (expires_at, renew_at) = schedule(&t, expires, now, wall);
                if let (Some(e), Some(r)) = (expires_at, renew_at) {
                    proptest::prop_assert!(now <= r && r <= e);
                    proptest::prop_assert!(e <= now + MAX_TOKEN_LIFETIME);
                }
            }
        }
    }
}
