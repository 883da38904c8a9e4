//! Browser logins (`bl login`'s device mode): the credentials
//! `Emulator::device_login` issues, and the refresh grant of the token
//! endpoint.

use crate::common::{H, Resp, V2, send};
use blaxel_jobs_emulator::{Clock, EmulatorConfig, Route};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// The refresh request as Blaxel's Python SDK and `bl` send it.
async fn refresh(h: &H, refresh_token: &str, device_code: &str) -> Resp {
    send(h.bare(Method::POST, "/oauth/token").json(&json!({
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "device_code": device_code,
        "client_id": "blaxel",
    })))
    .await
}

/// GET /jobs with `token` as the bearer credential: its status.
async fn list_with(h: &H, token: &str) -> u16 {
    send(
        h.bare(Method::GET, "/jobs")
            .header("X-Blaxel-Authorization", format!("Bearer {token}"))
            .header("X-Blaxel-Workspace", &h.ws)
            .header("Blaxel-Version", V2),
    )
    .await
    .status
}

/// Asserts OAuth 2.0's error object with this status and code; returns
/// its description.
fn oauth_error(r: &Resp, status: u16, code: &str) -> String {
    let body = r.expect(status);
    assert_eq!(body["error"], code, "{body}");
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["error", "error_description"], "{body}");
    body["error_description"].as_str().unwrap().to_owned()
}

fn claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[1])
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_device_login_works_and_its_refresh_token_gets_new_access_tokens() {
    let h = H::with(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .token_ttl(Duration::from_secs(900)),
    )
    .await;
    let login = h.emu.device_login(&h.ws);
    assert_eq!(login.workspace, h.ws);
    assert_eq!(login.expires_in, 900);
    let c = claims(&login.access_token);
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 900);
    for secret in [
        &login.access_token,
        &login.refresh_token,
        &login.device_code,
    ] {
        assert!(!format!("{login:?}").contains(secret.as_str()));
    }

    // The access token is a bearer credential, of the user.
    let r = send(
        h.bare(Method::POST, "/jobs")
            .bearer_auth(&login.access_token)
            .header("X-Blaxel-Workspace", &h.ws)
            .json(&json!({"metadata": {"name": "by-login"}, "spec": {}})),
    )
    .await;
    assert_eq!(
        r.expect(200)["metadata"]["createdBy"],
        "user@emulator.local"
    );

    // The refresh grant: exactly the four fields the Python SDK builds its
    // answer from; without rotation the same refresh token comes back.
    let r = refresh(&h, &login.refresh_token, &login.device_code).await;
    let body = r.expect(200);
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "refresh_token", "token_type"]
    );
    assert_eq!(body["refresh_token"], login.refresh_token.as_str());
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["token_type"], "Bearer");
    let fresh = body["access_token"].as_str().unwrap();
    assert_ne!(fresh, login.access_token);
    assert_eq!(list_with(&h, fresh).await, 200);
    // The old access token stays valid until it expires.
    assert_eq!(list_with(&h, &login.access_token).await, 200);

    // TypeScript sends no client_id; a form-encoded body works too.
    let r = send(h.bare(Method::POST, "/oauth/token").json(&json!({
        "grant_type": "refresh_token",
        "refresh_token": login.refresh_token,
        "device_code": login.device_code,
    })))
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = send(
        h.bare(Method::POST, "/oauth/token")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=refresh_token&refresh_token={}",
                login.refresh_token
            )),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(h.emu.request_count(Route::OAuthToken), 3);
}

#[tokio::test]
async fn rotation_replaces_the_refresh_token_and_refuses_the_old_one() {
    let h = H::with(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .rotate_refresh_tokens(true),
    )
    .await;
    let login = h.emu.device_login(&h.ws);
    let first = refresh(&h, &login.refresh_token, &login.device_code)
        .await
        .expect(200);
    let rotated = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, login.refresh_token);
    let again = refresh(&h, &login.refresh_token, &login.device_code).await;
    let why = oauth_error(&again, 400, "invalid_grant");
    assert!(why.contains("replaced by a newer one"), "{why}");
    assert!(!again.text.contains(&login.refresh_token), "{}", again.text);
    let second = refresh(&h, &rotated, &login.device_code).await.expect(200);
    assert_ne!(second["refresh_token"], rotated.as_str());
}

#[tokio::test]
async fn unknown_revoked_and_mismatched_refresh_tokens_are_refused() {
    let h = H::manual().await;
    let login = h.emu.device_login(&h.ws);
    let other = h.emu.device_login("another-ws");

    let r = refresh(&h, "rt-never-issued", &login.device_code).await;
    oauth_error(&r, 400, "invalid_grant");
    // Another login's device code does not go with this refresh token.
    let r = refresh(&h, &login.refresh_token, &other.device_code).await;
    let why = oauth_error(&r, 400, "invalid_grant");
    assert!(why.contains("device code"), "{why}");
    // No refresh token at all.
    let r = send(
        h.bare(Method::POST, "/oauth/token")
            .json(&json!({"grant_type": "refresh_token", "client_id": "blaxel"})),
    )
    .await;
    oauth_error(&r, 400, "invalid_request");

    assert!(h.emu.revoke_refresh_token(&login.refresh_token));
    assert!(!h.emu.revoke_refresh_token(&login.refresh_token));
    let r = refresh(&h, &login.refresh_token, &login.device_code).await;
    oauth_error(&r, 400, "invalid_grant");
    // The other login is unaffected.
    let r = refresh(&h, &other.refresh_token, &other.device_code).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Access tokens expire by tokio's clock, so a test on a paused clock can
/// let one expire without waiting.
#[tokio::test(start_paused = true)]
async fn access_tokens_expire_on_a_paused_clock() {
    let mut h = H::with(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .token_ttl(Duration::from_secs(60)),
    )
    .await;
    // No kept-alive connections: the emulator closes idle ones after 30 s,
    // which the jumps of the paused clock below pass.
    h.http = blaxel_jobs_client::tls::http_client_builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let login = h.emu.device_login(&h.ws);
    assert_eq!(list_with(&h, &login.access_token).await, 200);
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(list_with(&h, &login.access_token).await, 200);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(list_with(&h, &login.access_token).await, 401);
    let body = refresh(&h, &login.refresh_token, &login.device_code)
        .await
        .expect(200);
    let fresh = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(list_with(&h, &fresh).await, 200);
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(list_with(&h, &fresh).await, 401);
}
