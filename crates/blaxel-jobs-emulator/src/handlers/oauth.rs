//! `POST /v0/oauth/token`, the OAuth token endpoint: the client
//! credentials grant, and the refresh grant (of an OAuth client's refresh
//! tokens and of browser logins).

use super::call::{Answer, Shr, ok};
use crate::auth;
use crate::error::ApiError;
use crate::urlencoded;
use axum::extract::State;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: u64,
}

/// The answer to a browser login's refresh grant. It has exactly these
/// four fields: Blaxel's Python SDK builds its response object from them
/// and fails on any other.
#[derive(Serialize)]
struct RefreshAnswer {
    access_token: String,
    refresh_token: String,
    expires_in: u64,
    token_type: &'static str,
}

/// `POST /v0/oauth/token`: the `client_credentials` grant (client
/// credentials in `Authorization: Basic`, or `client_id` and
/// `client_secret` in the body), whose answer carries a refresh token too,
/// and the `refresh_token` grant, of those tokens (used up by the exchange;
/// client credentials, when sent, must be the token's client's) or of a
/// browser login (with its device code when sent; kept, or rotated when
/// the emulator is told to). Client credentials that are sent must be right,
/// whatever the grant. Bodies are JSON or form-encoded.
pub(super) async fn oauth_token(State(s): Shr, headers: HeaderMap, body: Bytes) -> Answer {
    let is_json = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"))
        || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let fields: Vec<(String, String)> = if is_json {
        let v: Value = serde_json::from_slice(&body).map_err(|e| {
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("body: not valid JSON: {e}"),
            )
        })?;
        v.as_object()
            .ok_or_else(|| {
                oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "body: must be a JSON object",
                )
            })?
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
            .collect()
    } else {
        let text = std::str::from_utf8(&body).map_err(|_| {
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "body: not UTF-8",
            )
        })?;
        urlencoded::parse(text)
            .map_err(|e| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &e))?
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let cfg = &s.config;
    let creds =
        auth::basic(&headers).or_else(|| Some((field("client_id")?, field("client_secret")?)));
    let client = match creds {
        Some((id, secret)) => {
            let good = auth::constant_time_eq(id.as_bytes(), cfg.client_id.as_bytes())
                & auth::constant_time_eq(secret.as_bytes(), cfg.client_secret.as_bytes());
            if !good {
                return Err(oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "the client credentials are not valid",
                ));
            }
            Some(id)
        }
        None => None,
    };
    match field("grant_type").as_deref() {
        Some("client_credentials") => {
            let id = client.ok_or_else(|| {
                oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "client credentials are required: send Authorization: Basic base64(client_id:client_secret)",
                )
            })?;
            let issued = s.tokens.issue_for_client(&id, cfg.token_ttl);
            ok(&TokenAnswer {
                access_token: issued.access_token,
                refresh_token: issued.refresh_token,
                token_type: "Bearer",
                expires_in: cfg.token_ttl.as_secs(),
            })
        }
        Some("refresh_token") => {
            let Some(refresh_token) = field("refresh_token").filter(|t| !t.is_empty()) else {
                return Err(ApiError::oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required with grant_type refresh_token",
                ));
            };
            let device_code = field("device_code").filter(|c| !c.is_empty());
            let refreshed = s
                .tokens
                .refresh(
                    &refresh_token,
                    device_code.as_deref(),
                    client.as_deref(),
                    cfg.token_ttl,
                    cfg.rotate_refresh_tokens,
                )
                .map_err(|why| ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_grant", why))?;
            match refreshed {
                auth::Refreshed::Login {
                    access_token,
                    refresh_token,
                } => ok(&RefreshAnswer {
                    access_token,
                    refresh_token,
                    expires_in: cfg.token_ttl.as_secs(),
                    token_type: "Bearer",
                }),
                auth::Refreshed::Client(issued) => ok(&TokenAnswer {
                    access_token: issued.access_token,
                    refresh_token: issued.refresh_token,
                    token_type: "Bearer",
                    expires_in: cfg.token_ttl.as_secs(),
                }),
            }
        }
        Some(other) => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!(
                "grant_type {other:?} is not supported; use client_credentials or refresh_token"
            ),
        )),
        None => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required (client_credentials or refresh_token)",
        )),
    }
}

fn oauth_error(status: StatusCode, kind: &'static str, message: &str) -> ApiError {
    ApiError::new(status, kind, message)
}
