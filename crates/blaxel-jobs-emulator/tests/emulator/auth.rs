//! Credentials, OAuth tokens and workspaces.

use crate::common::{H, V2, send};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use blaxel_jobs_emulator::{Clock, EmulatorConfig};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn missing_credential_gets_the_platform_envelope() {
    let h = H::manual().await;
    let r = send(
        h.bare(Method::GET, "/jobs")
            .header("X-Blaxel-Workspace", "w")
            .header("Blaxel-Version", V2),
    )
    .await;
    let body = r.expect(401);
    assert_eq!(body["error"]["code"], "AUTHENTICATION_REQUIRED");
    assert_eq!(body["error"]["retryable"], false);
    assert_eq!(body["error"]["status"], 401);
    assert_eq!(r.header("x-blaxel-source"), Some("platform"));
    assert!(r.header("x-request-id").is_some_and(|id| !id.is_empty()));
}

#[tokio::test]
async fn wrong_credentials_fail() {
    let h = H::manual().await;
    for auth in [
        "Bearer not-the-key",
        "Basic ZW11bGF0b3ItYXBpLWtleTo=",
        "Bearer",
    ] {
        let r = send(
            h.bare(Method::GET, "/jobs")
                .header("Authorization", auth)
                .header("X-Blaxel-Workspace", "w"),
        )
        .await;
        assert_eq!(
            r.expect(401)["error"]["code"],
            "AUTHENTICATION_FAILED",
            "{auth}"
        );
        assert_eq!(r.header("x-blaxel-source"), Some("platform"));
    }
}

#[tokio::test]
async fn the_api_key_works_in_both_header_spellings() {
    let h = H::with(
        EmulatorConfig::default()
            .api_key("k-123")
            .clock(Clock::Manual),
    )
    .await;
    assert_eq!(h.emu.api_key(), "k-123");
    for header in ["Authorization", "X-Blaxel-Authorization"] {
        let r = send(
            h.bare(Method::GET, "/jobs")
                .header(header, "Bearer k-123")
                .header("X-Blaxel-Workspace", "w"),
        )
        .await;
        assert_eq!(r.status, 200, "{header}: {}", r.text);
    }
    // The default key is no longer accepted.
    let r = send(
        h.bare(Method::GET, "/jobs")
            .bearer_auth("emulator-api-key")
            .header("X-Blaxel-Workspace", "w"),
    )
    .await;
    assert_eq!(r.status, 401);
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

#[tokio::test]
async fn oauth_client_credentials_give_a_bearer_token() {
    let h = H::manual().await;
    let r = send(
        h.bare(Method::POST, "/oauth/token")
            .header(
                "Authorization",
                basic(h.emu.client_id(), h.emu.client_secret()),
            )
            .json(&json!({"grant_type": "client_credentials"})),
    )
    .await;
    let tok = r.expect(200);
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 3600);
    let access = tok["access_token"].as_str().unwrap().to_owned();
    assert_ne!(access, h.emu.api_key());
    // Blaxel's answer has a refresh token too (its Python SDK reads it).
    let refresh = tok["refresh_token"].as_str().unwrap();
    assert!(!refresh.is_empty() && refresh != access);

    // The token works as a bearer credential, and is the author of what it creates.
    let r = send(
        h.bare(Method::POST, "/jobs")
            .header("X-Blaxel-Authorization", format!("Bearer {access}"))
            .header("X-Blaxel-Workspace", &h.ws)
            .json(&json!({"metadata": {"name": "by-token"}, "spec": {}})),
    )
    .await;
    let job = r.expect(200);
    assert_eq!(job["metadata"]["createdBy"], "client:emulator-client");

    // Form-encoded requests work as well.
    let r = send(
        h.bare(Method::POST, "/oauth/token")
            .header("Authorization", basic("emulator-client", "emulator-secret"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials"),
    )
    .await;
    assert!(
        r.expect(200)["access_token"]
            .as_str()
            .is_some_and(|t| t != access)
    );
    assert_eq!(
        h.emu.request_count(blaxel_jobs_emulator::Route::OAuthToken),
        2
    );
}

#[tokio::test]
async fn oauth_rejects_bad_clients_and_grants() {
    let h = H::manual().await;
    let token = |auth: Option<String>, body: serde_json::Value| {
        let mut rb = h.bare(Method::POST, "/oauth/token").json(&body);
        if let Some(a) = auth {
            rb = rb.header("Authorization", a);
        }
        send(rb)
    };
    let grant = json!({"grant_type": "client_credentials"});
    let r = token(Some(basic("emulator-client", "wrong")), grant.clone()).await;
    assert_eq!(
        r.api_error(401, "invalid_client"),
        "the client credentials are not valid"
    );
    let r = token(None, grant).await;
    r.api_error(401, "invalid_client");
    let r = token(Some(basic("emulator-client", "emulator-secret")), json!({})).await;
    r.api_error(400, "invalid_request");
    let r = token(
        Some(basic("emulator-client", "emulator-secret")),
        json!({"grant_type": "password"}),
    )
    .await;
    r.api_error(400, "unsupported_grant_type");
    // Credentials in the body are accepted too.
    let r = token(
        None,
        json!({"grant_type": "client_credentials", "client_id": "emulator-client", "client_secret": "emulator-secret"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_refresh_token_is_exchanged_once_for_a_new_pair() {
    let h = H::manual().await;
    let token = |auth: Option<String>, body: serde_json::Value| {
        let mut rb = h.bare(Method::POST, "/oauth/token").json(&body);
        if let Some(a) = auth {
            rb = rb.header("Authorization", a);
        }
        send(rb)
    };
    let first = token(
        Some(basic("emulator-client", "emulator-secret")),
        json!({"grant_type": "client_credentials"}),
    )
    .await
    .expect(200);
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();

    // No client authentication is needed: the token is the credential.
    let second = token(
        None,
        json!({"grant_type": "refresh_token", "refresh_token": refresh}),
    )
    .await
    .expect(200);
    let access = second["access_token"].as_str().unwrap();
    assert_ne!(access, first["access_token"].as_str().unwrap());
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["expires_in"], 3600);
    let r = send(
        h.bare(Method::POST, "/jobs")
            .bearer_auth(access)
            .header("X-Blaxel-Workspace", &h.ws)
            .json(&json!({"metadata": {"name": "refreshed"}, "spec": {}})),
    )
    .await;
    assert_eq!(
        r.expect(200)["metadata"]["createdBy"],
        "client:emulator-client"
    );

    // Used up: refused in OAuth 2.0's error shape, as Blaxel's token
    // endpoint answers a bad grant.
    let r = token(
        None,
        json!({"grant_type": "refresh_token", "refresh_token": refresh}),
    )
    .await;
    let body = r.expect(400);
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    // Not a bearer credential, and wrong client credentials still fail first.
    let next = second["refresh_token"].as_str().unwrap();
    let r = send(
        h.bare(Method::GET, "/jobs")
            .bearer_auth(next)
            .header("X-Blaxel-Workspace", &h.ws),
    )
    .await;
    assert_eq!(r.expect(401)["error"]["code"], "AUTHENTICATION_FAILED");
    let r = token(
        Some(basic("emulator-client", "wrong")),
        json!({"grant_type": "refresh_token", "refresh_token": next}),
    )
    .await;
    r.api_error(401, "invalid_client");
    let r = token(None, json!({"grant_type": "refresh_token"})).await;
    assert_eq!(r.expect(400)["error"], "invalid_request");
    // The refused attempt with wrong credentials did not use the token up.
    let r = token(
        Some(basic("emulator-client", "emulator-secret")),
        json!({"grant_type": "refresh_token", "refresh_token": next}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let h = H::with(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .client_credentials("c1", "s1")
            .token_ttl(Duration::ZERO),
    )
    .await;
    assert_eq!((h.emu.client_id(), h.emu.client_secret()), ("c1", "s1"));
    let r = send(
        h.bare(Method::POST, "/oauth/token")
            .header("Authorization", basic("c1", "s1"))
            .json(&json!({"grant_type": "client_credentials"})),
    )
    .await;
    let tok = r.expect(200);
    assert_eq!(tok["expires_in"], 0);
    let r = send(
        h.bare(Method::GET, "/jobs")
            .bearer_auth(tok["access_token"].as_str().unwrap())
            .header("X-Blaxel-Workspace", "w"),
    )
    .await;
    assert_eq!(r.expect(401)["error"]["code"], "AUTHENTICATION_FAILED");
}

#[tokio::test]
async fn the_workspace_is_required() {
    let h = H::manual().await;
    let r = send(h.bare(Method::GET, "/jobs").bearer_auth(h.emu.api_key())).await;
    let msg = r.api_error(400, "workspace_required");
    assert!(msg.contains("X-Blaxel-Workspace"), "{msg}");
    // The query parameter works instead of the header.
    let r = send(
        h.bare(Method::GET, "/jobs?workspace=via-query")
            .bearer_auth(h.emu.api_key())
            .header("Blaxel-Version", V2),
    )
    .await;
    assert_eq!(r.expect(200)["meta"]["total"], 0);
}

#[tokio::test]
async fn workspaces_are_isolated() {
    let mut h = H::manual().await;
    h.ws = "alpha".into();
    h.create_job("shared-name", json!({"runtime": {"memory": 1024}}))
        .await;
    h.ws = "beta".into();
    h.get("/jobs/shared-name").await.api_error(404, "not_found");
    assert_eq!(h.get("/jobs").await.expect(200)["meta"]["total"], 0);
    // The same name is free in the other workspace.
    let job = h.create_job("shared-name", json!({})).await;
    assert_eq!(job["metadata"]["workspace"], "beta");
    assert_eq!(h.emu.job_names("alpha"), vec!["shared-name"]);
    assert_eq!(h.emu.job_names("beta"), vec!["shared-name"]);
    assert!(h.emu.job_names("gamma").is_empty());
}

/// One raw request (so that any `Host` can be sent); answers the status
/// line and the whole answer.
async fn with_host(h: &H, host: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(h.emu.local_addr())
        .await
        .unwrap();
    let req = format!(
        "GET /v0/jobs HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
         X-Blaxel-Workspace: w\r\nBlaxel-Version: {V2}\r\nConnection: close\r\n\r\n",
        h.emu.api_key()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    let line = answer.lines().next().unwrap_or_default().to_owned();
    (line, answer)
}

/// A web page that rebinds its own domain to 127.0.0.1 makes the browser
/// send requests addressed to that domain: they are refused. Loopback
/// names and addresses, and names the user allowed, are answered.
#[tokio::test]
async fn only_requests_addressed_to_loopback_or_an_allowed_name_are_answered() {
    let h = H::with(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .allowed_host("dev.box"),
    )
    .await;
    let port = h.emu.local_addr().port();
    for host in [
        format!("evil.example:{port}"),
        "evil.example".to_owned(),
        format!("localhost.evil.example:{port}"),
        format!("10.0.0.1:{port}"),
    ] {
        let (line, answer) = with_host(&h, &host).await;
        assert!(line.starts_with("HTTP/1.1 403"), "{host}: {answer}");
        assert!(answer.contains("host_not_allowed"), "{answer}");
        assert!(answer.contains("--allowed-host"), "{answer}");
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        format!("app.localhost:{port}"),
        format!("DEV.box:{port}"),
    ] {
        let (line, answer) = with_host(&h, &host).await;
        assert!(line.starts_with("HTTP/1.1 200"), "{host}: {answer}");
    }
}

/// Where tasks run for real, the well-known default key and client secret
/// are replaced by random ones; a key set by the user is kept.
#[tokio::test]
async fn where_commands_run_the_well_known_credentials_are_not_accepted() {
    let manual = || EmulatorConfig::default().clock(Clock::Manual);
    for config in [
        manual().task_command("job", "true"),
        manual().run_local_images(true),
    ] {
        let h = H::with(config).await;
        let key = h.emu.api_key().to_owned();
        assert_ne!(key, "emulator-api-key");
        assert!(key.len() >= 32, "{key}");
        assert_ne!(h.emu.client_secret(), "emulator-secret");
        let r = send(
            h.bare(Method::GET, "/jobs")
                .bearer_auth("emulator-api-key")
                .header("X-Blaxel-Workspace", "w"),
        )
        .await;
        assert_eq!(r.status, 401, "{}", r.text);
        let basic = STANDARD.encode("emulator-client:emulator-secret");
        let r = send(
            h.bare(Method::POST, "/oauth/token")
                .header("Authorization", format!("Basic {basic}"))
                .json(&json!({"grant_type": "client_credentials"})),
        )
        .await;
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(h.get("/jobs").await.status, 200, "the new key works");
    }
    let h = H::with(manual().task_command("job", "true").api_key("mine")).await;
    assert_eq!(h.emu.api_key(), "mine");
    let h = H::manual().await;
    assert_eq!(
        h.emu.api_key(),
        "emulator-api-key",
        "no commands, no change"
    );
}
