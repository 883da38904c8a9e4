//! Credentials: the API key, OAuth client credentials, browser logins and
//! access tokens.
//!
//! A request is authenticated by a bearer credential in `Authorization` or
//! `X-Blaxel-Authorization`: the configured API key, or an access token from
//! `POST /v0/oauth/token` that has not expired. Access tokens look like JWTs
//! (with `sub`, `iat` and `exp` claims) so that clients that read the expiry
//! from the token work, but the emulator only trusts its own record of the
//! tokens it issued. They expire by tokio's clock: real time, or the paused
//! clock of a test, so that a test can let a token expire without waiting.
//!
//! A browser login (what `bl login` saves after the user confirms in the
//! browser) is emulated by [`Emulator::device_login`](crate::Emulator::device_login):
//! an access token, a refresh token and a device code. The refresh token is
//! exchanged at the token endpoint (`grant_type=refresh_token`) for a new
//! access token and, when [`EmulatorConfig::rotate_refresh_tokens`](crate::EmulatorConfig::rotate_refresh_tokens)
//! is on, a new refresh token that replaces it (the old one is then
//! refused). An OAuth client's access token comes with a refresh token too,
//! as Blaxel's token endpoint answers (its Python SDK reads the field),
//! good for one `refresh_token` grant. Refresh tokens last
//! [`REFRESH_TTL`], and at most [`MAX_REFRESH_TOKENS`] are kept (the oldest
//! are forgotten first). Credentials never reach logs.

use crate::error::{ApiError, code};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use blaxel_jobs_client::headers::BLAXEL_AUTHORIZATION;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principal {
    /// The API key's owner, a workspace admin.
    ApiKey,
    /// The member API key's owner: a workspace member without the admin
    /// role (see `EmulatorConfig::member_api_key`).
    Member,
    /// An OAuth client, by client id.
    Client(String),
    /// The user of a browser login (the API key's owner too).
    Login,
}

impl Principal {
    /// Whether the caller has the workspace admin role (needed to read
    /// secret values in clear). OAuth clients are admins, as the API key.
    pub(crate) fn is_admin(&self) -> bool {
        !matches!(self, Principal::Member)
    }

    /// The name written into `createdBy` and `updatedBy`.
    pub(crate) fn name(&self) -> String {
        match self {
            Principal::ApiKey | Principal::Login => "user@emulator.local".to_owned(),
            Principal::Member => "member@emulator.local".to_owned(),
            Principal::Client(id) => format!("client:{id}"),
        }
    }
}

/// The credentials of a browser login, as `bl login` saves them in a
/// workspace's `credentials` in `~/.blaxel/config.yaml`
/// (`access_token`, `refresh_token`, `expires_in`, `device_code`).
///
/// Its `Debug` output shows neither token nor the device code.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceLogin {
    /// The workspace the login was made for.
    pub workspace: String,
    /// A short-lived access token (a JWT with `sub`, `iat` and `exp`).
    pub access_token: String,
    /// The refresh token that gets new access tokens.
    pub refresh_token: String,
    /// The access token's lifetime in seconds.
    pub expires_in: u64,
    /// The device code of the login, sent along with the refresh token.
    pub device_code: String,
}

impl std::fmt::Debug for DeviceLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceLogin")
            .field("workspace", &self.workspace)
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("device_code", &"<redacted>")
            .finish()
    }
}

/// Why a refresh token was refused (the `error_description` of the answer).
pub(crate) type Refusal = &'static str;

/// How long a refresh token can be exchanged. Blaxel does not say; this is
/// the emulator's choice.
pub(crate) const REFRESH_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The most refresh tokens kept at once; past it the oldest are forgotten,
/// so that a client asking for tokens in a loop cannot grow the store.
pub(crate) const MAX_REFRESH_TOKENS: usize = 10_000;

/// What the client credentials grant answers: an access token and the
/// refresh token that goes with it.
pub(crate) struct Issued {
    /// The bearer credential.
    pub(crate) access_token: String,
    /// Exchanged once for a new pair by the `refresh_token` grant.
    pub(crate) refresh_token: String,
}

/// What a refresh grant answers: a new access token, and the refresh token
/// to use next (a new one, or the same one for a browser login whose refresh
/// tokens are not rotated).
pub(crate) enum Refreshed {
    /// A browser login's.
    Login {
        /// The bearer credential.
        access_token: String,
        /// The refresh token to use next.
        refresh_token: String,
    },
    /// An OAuth client's: a new pair, the old refresh token used up.
    Client(Issued),
}

/// Whose a refresh token is.
#[derive(Clone)]
enum Owner {
    /// A browser login, by its device code.
    Login(String),
    /// An OAuth client, by its id.
    Client(String),
}

/// A refresh token's record.
struct Refresh {
    owner: Owner,
    expires: Instant,
    /// Issue order, to forget the oldest first.
    seq: u64,
}

/// Access tokens issued, with their expiry, and refresh tokens.
#[derive(Default)]
pub(crate) struct TokenStore {
    tokens: Mutex<HashMap<String, (Instant, Principal)>>,
    /// The last issue number, and refresh token → its record.
    refresh: Mutex<(u64, HashMap<String, Refresh>)>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.tokens.lock().map(|t| t.len()).unwrap_or(0);
        let r = self.refresh.lock().map(|r| r.1.len()).unwrap_or(0);
        f.debug_struct("TokenStore")
            .field("tokens", &n)
            .field("refresh_tokens", &r)
            .finish()
    }
}

impl TokenStore {
    /// Issues an access token for `principal`, valid for `ttl`.
    pub(crate) fn issue(&self, principal: Principal, ttl: Duration) -> String {
        let now = Instant::now();
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = serde_json::json!({
            "iss": "blaxel-jobs-emulator",
            "sub": principal.name(),
            "iat": iat,
            "exp": iat.saturating_add(ttl.as_secs()),
            "jti": crate::ids::random_id("", 16),
        });
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut sig = [0u8; 32];
        fastrand::fill(&mut sig);
        let token = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(sig));
        let expires = now
            .checked_add(ttl)
            .or_else(|| now.checked_add(Duration::from_secs(86_400 * 365 * 100)))
            .unwrap_or(now);
        let mut tokens = lock(&self.tokens);
        tokens.retain(|_, (exp, _)| *exp > now);
        tokens.insert(token.clone(), (expires, principal));
        token
    }

    /// Issues an access token for the OAuth client `client_id`, valid for
    /// `ttl`, and a refresh token that goes with it.
    pub(crate) fn issue_for_client(&self, client_id: &str, ttl: Duration) -> Issued {
        Issued {
            access_token: self.issue(Principal::Client(client_id.to_owned()), ttl),
            refresh_token: self.keep_refresh(Owner::Client(client_id.to_owned())),
        }
    }

    /// The principal of a token that is still valid.
    fn check(&self, token: &str) -> Option<Principal> {
        let tokens = lock(&self.tokens);
        let (exp, principal) = tokens.get(token)?;
        (Instant::now() < *exp).then(|| principal.clone())
    }

    /// A new browser login for `workspace`: an access token valid for
    /// `ttl`, a refresh token and a device code.
    pub(crate) fn device_login(&self, workspace: &str, ttl: Duration) -> DeviceLogin {
        let device_code = crate::ids::random_id("dc-", 24);
        let refresh_token = self.keep_refresh(Owner::Login(device_code.clone()));
        DeviceLogin {
            workspace: workspace.to_owned(),
            access_token: self.issue(Principal::Login, ttl),
            refresh_token,
            expires_in: ttl.as_secs(),
            device_code,
        }
    }

    /// Exchanges a refresh token for a new access token valid for `ttl`.
    /// A browser login's must come with its login's device code when one is
    /// sent, and is replaced by a new one when `rotate` (else it stays good);
    /// an OAuth client's must come with no other client's credentials, and
    /// is used up (a new one comes with the answer).
    pub(crate) fn refresh(
        &self,
        refresh_token: &str,
        device_code: Option<&str>,
        client: Option<&str>,
        ttl: Duration,
        rotate: bool,
    ) -> Result<Refreshed, Refusal> {
        let owner = {
            let mut refresh = lock(&self.refresh);
            let map = &mut refresh.1;
            let Some(record) = map.get(refresh_token) else {
                return Err(
                    "the refresh token is unknown, was revoked, was used, or was replaced by a \
                     newer one",
                );
            };
            if Instant::now() >= record.expires {
                map.remove(refresh_token);
                return Err("the refresh token has expired");
            }
            match &record.owner {
                Owner::Login(code) => {
                    if device_code
                        .is_some_and(|sent| !constant_time_eq(sent.as_bytes(), code.as_bytes()))
                    {
                        return Err("the device code is not the one of this refresh token's login");
                    }
                }
                Owner::Client(id) => {
                    if client.is_some_and(|c| c != id) {
                        return Err("the refresh token was issued to another client");
                    }
                }
            }
            let owner = record.owner.clone();
            if rotate || matches!(owner, Owner::Client(_)) {
                map.remove(refresh_token);
            }
            owner
        };
        Ok(match owner {
            Owner::Login(code) => Refreshed::Login {
                access_token: self.issue(Principal::Login, ttl),
                refresh_token: if rotate {
                    self.keep_refresh(Owner::Login(code))
                } else {
                    refresh_token.to_owned()
                },
            },
            Owner::Client(id) => Refreshed::Client(self.issue_for_client(&id, ttl)),
        })
    }

    /// Revokes a refresh token; false if it was not known.
    pub(crate) fn revoke_refresh_token(&self, refresh_token: &str) -> bool {
        lock(&self.refresh).1.remove(refresh_token).is_some()
    }

    /// Keeps a new refresh token for `owner`, valid for [`REFRESH_TTL`],
    /// forgetting expired ones and then the oldest while the store is full.
    fn keep_refresh(&self, owner: Owner) -> String {
        let token = crate::ids::random_id("rt-", 32);
        let now = Instant::now();
        let expires = now.checked_add(REFRESH_TTL).unwrap_or(now);
        let mut guard = lock(&self.refresh);
        let (next, map) = &mut *guard;
        if map.len() >= MAX_REFRESH_TOKENS {
            map.retain(|_, r| r.expires > now);
        }
        while map.len() >= MAX_REFRESH_TOKENS {
            let Some(oldest) = map
                .iter()
                .min_by_key(|(_, r)| r.seq)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            map.remove(&oldest);
        }
        *next = next.wrapping_add(1);
        map.insert(
            token.clone(),
            Refresh {
                owner,
                expires,
                seq: *next,
            },
        );
        token
    }
}

/// Locks a mutex, recovering it if a holder panicked.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Authenticates a request from its headers.
pub(crate) fn authenticate(
    headers: &HeaderMap,
    api_key: &str,
    member_key: Option<&str>,
    tokens: &TokenStore,
) -> Result<Principal, ApiError> {
    let mut presented = Vec::new();
    for name in [HeaderName::from_static(BLAXEL_AUTHORIZATION), AUTHORIZATION] {
        for value in headers.get_all(name) {
            presented.push(value.to_str().unwrap_or(""));
        }
    }
    if presented.is_empty() {
        return Err(ApiError::unauthorized(
            &code::AUTHENTICATION_REQUIRED,
            "no credential: send `Authorization: Bearer <API key or access token>` (or X-Blaxel-Authorization)",
        ));
    }
    for value in &presented {
        let Some(cred) = bearer(value) else { continue };
        if constant_time_eq(cred.as_bytes(), api_key.as_bytes()) {
            return Ok(Principal::ApiKey);
        }
        if member_key.is_some_and(|m| constant_time_eq(cred.as_bytes(), m.as_bytes())) {
            return Ok(Principal::Member);
        }
        if let Some(principal) = tokens.check(cred) {
            return Ok(principal);
        }
    }
    let any_bearer = presented.iter().any(|v| bearer(v).is_some());
    Err(ApiError::unauthorized(
        &code::AUTHENTICATION_FAILED,
        if any_bearer {
            "the bearer credential is not a valid API key or unexpired access token"
        } else {
            "the Authorization header must use the Bearer scheme"
        },
    ))
}

/// The credential of a `Bearer <credential>` header value.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    let cred = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !cred.is_empty()).then_some(cred)
}

/// Client credentials from `Authorization: Basic base64(id:secret)`.
pub(crate) fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Compares secrets without stopping at the first difference.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            let name = HeaderName::from_bytes(k.as_bytes()).unwrap();
            h.append(name, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn api_key_is_accepted_in_either_header() {
        let t = TokenStore::default();
        for name in [AUTHORIZATION.as_str(), BLAXEL_AUTHORIZATION] {
            let h = headers(&[(name, "Bearer k1")]);
            assert_eq!(authenticate(&h, "k1", None, &t).unwrap(), Principal::ApiKey);
        }
        let h = headers(&[(AUTHORIZATION.as_str(), "bearer   k1  ")]);
        assert!(authenticate(&h, "k1", None, &t).is_ok());
    }

    #[test]
    fn the_member_key_is_a_member_not_an_admin() {
        let t = TokenStore::default();
        let h = headers(&[(AUTHORIZATION.as_str(), "Bearer m1")]);
        let who = authenticate(&h, "k1", Some("m1"), &t).unwrap();
        assert_eq!(who, Principal::Member);
        assert!(!who.is_admin());
        assert!(authenticate(&h, "k1", None, &t).is_err());
        let h = headers(&[(AUTHORIZATION.as_str(), "Bearer k1")]);
        assert!(authenticate(&h, "k1", Some("m1"), &t).unwrap().is_admin());
    }

    #[test]
    fn missing_and_wrong_credentials_are_told_apart() {
        let t = TokenStore::default();
        let e = authenticate(&HeaderMap::new(), "k1", None, &t).unwrap_err();
        assert_eq!(e.kind, "AUTHENTICATION_REQUIRED");
        let e = authenticate(
            &headers(&[(AUTHORIZATION.as_str(), "Bearer nope")]),
            "k1",
            None,
            &t,
        )
        .unwrap_err();
        assert_eq!(e.kind, "AUTHENTICATION_FAILED");
        let e = authenticate(
            &headers(&[(AUTHORIZATION.as_str(), "Basic azE6")]),
            "k1",
            None,
            &t,
        )
        .unwrap_err();
        assert_eq!(e.kind, "AUTHENTICATION_FAILED");
    }

    #[test]
    fn tokens_work_until_they_expire() {
        let t = TokenStore::default();
        let good = t.issue(Principal::Client("c".into()), Duration::from_secs(60));
        let expired = t.issue(Principal::Client("c".into()), Duration::ZERO);
        assert_eq!(good.split('.').count(), 3);
        let h = headers(&[(BLAXEL_AUTHORIZATION, &format!("Bearer {good}"))]);
        assert_eq!(
            authenticate(&h, "k1", None, &t).unwrap(),
            Principal::Client("c".into())
        );
        let h = headers(&[(BLAXEL_AUTHORIZATION, &format!("Bearer {expired}"))]);
        assert_eq!(
            authenticate(&h, "k1", None, &t).unwrap_err().kind,
            "AUTHENTICATION_FAILED"
        );
        let debug = format!("{t:?}");
        assert!(!debug.contains(&good));
    }

    /// The client a refresh grant of `token` answers for, if it succeeds.
    fn redeem(t: &TokenStore, token: &str) -> Option<Issued> {
        match t.refresh(token, None, None, Duration::from_secs(60), false) {
            Ok(Refreshed::Client(issued)) => Some(issued),
            _ => None,
        }
    }

    #[test]
    fn a_client_s_refresh_tokens_are_good_once_and_not_access_tokens() {
        let t = TokenStore::default();
        let issued = t.issue_for_client("c", Duration::from_secs(60));
        assert_ne!(issued.refresh_token, issued.access_token);
        // A refresh token is not a bearer credential.
        let h = headers(&[("authorization", &format!("Bearer {}", issued.refresh_token))]);
        assert!(authenticate(&h, "k1", None, &t).is_err());
        // Another client cannot use it, and the attempt does not use it up.
        assert!(
            t.refresh(
                &issued.refresh_token,
                None,
                Some("other"),
                Duration::ZERO,
                false
            )
            .is_err()
        );
        let next = redeem(&t, &issued.refresh_token).expect("exchanged once");
        let h = headers(&[("authorization", &format!("Bearer {}", next.access_token))]);
        assert_eq!(
            authenticate(&h, "k1", None, &t).unwrap(),
            Principal::Client("c".into())
        );
        assert!(redeem(&t, &issued.refresh_token).is_none(), "used up");
        assert!(redeem(&t, "never-issued").is_none());
        assert!(!format!("{t:?}").contains(&issued.refresh_token));
    }

    #[test]
    fn refresh_tokens_are_bounded_oldest_forgotten_first() {
        let t = TokenStore::default();
        let first = t.issue_for_client("c", Duration::ZERO).refresh_token;
        let second = t.issue_for_client("c", Duration::ZERO).refresh_token;
        for _ in 0..MAX_REFRESH_TOKENS {
            t.issue_for_client("c", Duration::ZERO);
        }
        let kept = t.refresh.lock().unwrap().1.len();
        assert_eq!(kept, MAX_REFRESH_TOKENS);
        assert!(redeem(&t, &first).is_none());
        assert!(redeem(&t, &second).is_none());
        let last = t.issue_for_client("c", Duration::ZERO).refresh_token;
        assert!(redeem(&t, &last).is_some());
    }

    #[test]
    fn basic_credentials_decode() {
        let h = headers(&[(
            AUTHORIZATION.as_str(),
            &format!("Basic {}", STANDARD.encode("id:se:cret")),
        )]);
        assert_eq!(basic(&h), Some(("id".into(), "se:cret".into())));
        assert_eq!(
            basic(&headers(&[(AUTHORIZATION.as_str(), "Basic !!")])),
            None
        );
        assert_eq!(
            basic(&headers(&[(AUTHORIZATION.as_str(), "Bearer x")])),
            None
        );
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
