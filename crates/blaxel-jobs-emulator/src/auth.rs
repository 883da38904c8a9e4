//! Credentials: the API key, OAuth client credentials and access tokens.
//!
//! A request is authenticated by a bearer credential in `Authorization` or
//! `X-Blaxel-Authorization`: the configured API key, or an access token from
//! `POST /v0/oauth/token` that has not expired (in real time). Access tokens
//! look like JWTs (with `sub`, `iat` and `exp` claims) so that clients that
//! read the expiry from the token work, but the emulator only trusts its own
//! record of the tokens it issued. Each access token comes with a refresh
//! token, as Blaxel's token endpoint answers (its Python SDK reads the
//! field); a refresh token is good for one `refresh_token` grant within
//! [`REFRESH_TTL`]. Credentials never reach logs.

use crate::error::ApiError;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::HeaderMap;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principal {
    /// The API key's owner.
    ApiKey,
    /// An OAuth client, by client id.
    Client(String),
}

impl Principal {
    /// The name written into `createdBy` and `updatedBy`.
    pub(crate) fn name(&self) -> String {
        match self {
            Principal::ApiKey => "user@emulator.local".to_owned(),
            Principal::Client(id) => format!("client:{id}"),
        }
    }
}

/// How long, in real time, a refresh token can be exchanged. Blaxel does not
/// say; this is the emulator's choice.
pub(crate) const REFRESH_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The most refresh tokens kept at once; past it the oldest are forgotten,
/// so that a client asking for tokens in a loop cannot grow the store.
const MAX_REFRESH_TOKENS: usize = 10_000;

/// What a grant answers: an access token and the refresh token that goes
/// with it.
pub(crate) struct Issued {
    /// The bearer credential.
    pub(crate) access_token: String,
    /// Exchanged once for a new pair by the `refresh_token` grant.
    pub(crate) refresh_token: String,
}

/// A refresh token's record.
struct Refresh {
    expires: Instant,
    client: String,
    /// Issue order, to forget the oldest first.
    seq: u64,
}

/// Access and refresh tokens issued, with their real-time expiry.
#[derive(Default)]
pub(crate) struct TokenStore {
    tokens: Mutex<HashMap<String, (Instant, String)>>,
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
    /// Issues an access token for `client_id`, valid for `ttl`, and a
    /// refresh token valid for [`REFRESH_TTL`].
    pub(crate) fn issue(&self, client_id: &str, ttl: Duration) -> Issued {
        Issued {
            access_token: self.issue_access(client_id, ttl),
            refresh_token: self.issue_refresh(client_id),
        }
    }

    /// The client of refresh token `token`, if it is known and unexpired;
    /// the token is used up either way.
    pub(crate) fn redeem(&self, token: &str) -> Option<String> {
        let mut refresh = self.refresh.lock().unwrap_or_else(|e| e.into_inner());
        let entry = refresh.1.remove(token)?;
        (Instant::now() < entry.expires).then_some(entry.client)
    }

    fn issue_refresh(&self, client_id: &str) -> String {
        let mut bytes = [0u8; 32];
        fastrand::fill(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let now = Instant::now();
        let expires = now.checked_add(REFRESH_TTL).unwrap_or(now);
        let mut guard = self.refresh.lock().unwrap_or_else(|e| e.into_inner());
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
                expires,
                client: client_id.to_owned(),
                seq: *next,
            },
        );
        token
    }

    /// Issues an access token for `client_id`, valid for `ttl`.
    fn issue_access(&self, client_id: &str, ttl: Duration) -> String {
        let now = Instant::now();
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = serde_json::json!({
            "iss": "blaxel-jobs-emulator",
            "sub": client_id,
            "iat": iat,
            "exp": iat.saturating_add(ttl.as_secs()),
            "jti": crate::state::random_id("", 16),
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
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|_, (exp, _)| *exp > now);
        tokens.insert(token.clone(), (expires, client_id.to_owned()));
        token
    }

    /// The client of a token that is still valid.
    fn check(&self, token: &str) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let (exp, client) = tokens.get(token)?;
        (Instant::now() < *exp).then(|| client.clone())
    }
}

/// Authenticates a request from its headers.
pub(crate) fn authenticate(
    headers: &HeaderMap,
    api_key: &str,
    tokens: &TokenStore,
) -> Result<Principal, ApiError> {
    let mut presented = Vec::new();
    for name in ["x-blaxel-authorization", "authorization"] {
        for value in headers.get_all(name) {
            presented.push(value.to_str().unwrap_or(""));
        }
    }
    if presented.is_empty() {
        return Err(ApiError::unauthorized(
            "AUTHENTICATION_REQUIRED",
            "no credential: send `Authorization: Bearer <API key or access token>` (or X-Blaxel-Authorization)",
        ));
    }
    for value in &presented {
        let Some(cred) = bearer(value) else { continue };
        if constant_time_eq(cred.as_bytes(), api_key.as_bytes()) {
            return Ok(Principal::ApiKey);
        }
        if let Some(client) = tokens.check(cred) {
            return Ok(Principal::Client(client));
        }
    }
    let any_bearer = presented.iter().any(|v| bearer(v).is_some());
    Err(ApiError::unauthorized(
        "AUTHENTICATION_FAILED",
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
    let value = headers.get("authorization")?.to_str().ok()?.trim();
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

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn api_key_is_accepted_in_either_header() {
        let t = TokenStore::default();
        for name in ["authorization", "x-blaxel-authorization"] {
            let h = headers(&[(name, "Bearer k1")]);
            assert_eq!(authenticate(&h, "k1", &t).unwrap(), Principal::ApiKey);
        }
        let h = headers(&[("authorization", "bearer   k1  ")]);
        assert!(authenticate(&h, "k1", &t).is_ok());
    }

    #[test]
    fn missing_and_wrong_credentials_are_told_apart() {
        let t = TokenStore::default();
        let e = authenticate(&HeaderMap::new(), "k1", &t).unwrap_err();
        assert_eq!(e.kind, "AUTHENTICATION_REQUIRED");
        let e = authenticate(&headers(&[("authorization", "Bearer nope")]), "k1", &t).unwrap_err();
        assert_eq!(e.kind, "AUTHENTICATION_FAILED");
        let e = authenticate(&headers(&[("authorization", "Basic azE6")]), "k1", &t).unwrap_err();
        assert_eq!(e.kind, "AUTHENTICATION_FAILED");
    }

    #[test]
    fn tokens_work_until_they_expire() {
        let t = TokenStore::default();
        let good = t.issue("c", Duration::from_secs(60)).access_token;
        let expired = t.issue("c", Duration::ZERO).access_token;
        assert_eq!(good.split('.').count(), 3);
        let h = headers(&[("x-blaxel-authorization", &format!("Bearer {good}"))]);
        assert_eq!(
            authenticate(&h, "k1", &t).unwrap(),
            Principal::Client("c".into())
        );
        let h = headers(&[("x-blaxel-authorization", &format!("Bearer {expired}"))]);
        assert_eq!(
            authenticate(&h, "k1", &t).unwrap_err().kind,
            "AUTHENTICATION_FAILED"
        );
        let debug = format!("{t:?}");
        assert!(!debug.contains(&good));
    }

    #[test]
    fn refresh_tokens_are_good_once_and_not_access_tokens() {
        let t = TokenStore::default();
        let issued = t.issue("c", Duration::from_secs(60));
        assert_ne!(issued.refresh_token, issued.access_token);
        // A refresh token is not a bearer credential.
        let h = headers(&[("authorization", &format!("Bearer {}", issued.refresh_token))]);
        assert!(authenticate(&h, "k1", &t).is_err());
        assert_eq!(t.redeem(&issued.refresh_token), Some("c".to_owned()));
        assert_eq!(t.redeem(&issued.refresh_token), None);
        assert_eq!(t.redeem("never-issued"), None);
        assert!(!format!("{t:?}").contains(&issued.refresh_token));
    }

    #[test]
    fn refresh_tokens_are_bounded_oldest_forgotten_first() {
        let t = TokenStore::default();
        let first = t.issue("c", Duration::ZERO).refresh_token;
        let second = t.issue("c", Duration::ZERO).refresh_token;
        for _ in 0..MAX_REFRESH_TOKENS {
            t.issue("c", Duration::ZERO);
        }
        let kept = t.refresh.lock().unwrap().1.len();
        assert_eq!(kept, MAX_REFRESH_TOKENS);
        assert_eq!(t.redeem(&first), None);
        assert_eq!(t.redeem(&second), None);
        let last = t.issue("c", Duration::ZERO).refresh_token;
        assert_eq!(t.redeem(&last), Some("c".to_owned()));
    }

    #[test]
    fn basic_credentials_decode() {
        let h = headers(&[(
            "authorization",
            &format!("Basic {}", STANDARD.encode("id:se:cret")),
        )]);
        assert_eq!(basic(&h), Some(("id".into(), "se:cret".into())));
        assert_eq!(basic(&headers(&[("authorization", "Basic !!")])), None);
        assert_eq!(basic(&headers(&[("authorization", "Bearer x")])), None);
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
