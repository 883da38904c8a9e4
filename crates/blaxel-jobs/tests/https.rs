//! Credentials are never sent over plain HTTP, except to loopback.

mod common;

use blaxel_jobs::{Client, ConfigErrorKind, Environment, Error};
use blaxel_jobs_httpmock::MockServerExt;
use common::{JOB, KEY, WS, job};
use httpmock::MockServer;

fn resolve(url: &str) -> Result<blaxel_jobs::Config, blaxel_jobs::ConfigError> {
    Client::builder()
        .ignore_environment()
        .api_key(KEY)
        .workspace(WS)
        .base_url(url)
        .resolve()
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    for url in [
        "http://api.example.com/v0",
        "http://api.blaxel.ai/v0",
        "http://localhost.example.com/v0",
        "http://127.0.0.1.nip.io/v0",
        "http://10.0.0.8:8080/v0",
    ] {
        let err = resolve(url).unwrap_err();
        assert_eq!(err.kind, ConfigErrorKind::InsecureUrl, "{url}: {err}");
        assert!(err.message.contains("https"), "{err}");
        let host = url
            .trim_start_matches("http://")
            .split(['/', ':'])
            .next()
            .unwrap();
        assert!(err.message.contains(host), "names the host: {err}");
        assert!(!err.message.contains(KEY));
    }
    // From the environment as well, and through build().
    let err = Client::builder()
        .env_vars([
            ("BL_API_KEY", KEY),
            ("BL_WORKSPACE", WS),
            ("BL_API_URL", "http://api.example.com/v0"),
        ])
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config(c) if c.kind == ConfigErrorKind::InsecureUrl),
        "{err:?}"
    );
}

#[test]
fn plain_http_to_loopback_is_accepted() {
    for url in [
        "http://127.0.0.1:8080/v0",
        "http://127.0.0.1:39211",
        "http://localhost:8080/v0",
        "http://LOCALHOST:8080",
        "http://[::1]:8080/v0",
        "http://127.1.2.3:9000",
    ] {
        let cfg = resolve(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(
            cfg.base_url().to_ascii_lowercase(),
            url.to_ascii_lowercase()
        );
    }
    let cfg = Client::builder()
        .ignore_environment()
        .api_key(KEY)
        .workspace(WS)
        .environment(Environment::Local)
        .resolve()
        .unwrap();
    assert_eq!(cfg.base_url(), "http://localhost:8080/v0");
}

#[test]
fn https_is_accepted_anywhere() {
    for url in [
        "https://api.blaxel.ai/v0",
        "https://api.example.com:8443/v0/",
        "https://10.0.0.8/v0",
    ] {
        let cfg = resolve(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(cfg.base_url(), url.trim_end_matches('/'));
    }
    Client::builder()
        .ignore_environment()
        .api_key(KEY)
        .workspace(WS)
        .base_url("https://api.blaxel.ai/v0")
        .build()
        .unwrap();
}

#[test]
fn other_schemes_and_non_urls_are_invalid_values() {
    for url in [
        "ftp://api.example.com/v0",
        "api.blaxel.ai/v0",
        "not a url",
        "",
    ] {
        let err = resolve(url).unwrap_err();
        assert_eq!(err.kind, ConfigErrorKind::InvalidValue, "{url:?}: {err}");
    }
}

#[tokio::test]
async fn a_loopback_http_server_is_reachable() {
    let server = MockServer::start_async().await;
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    let mock = server.get_job(|w, t| {
        w.job_id(JOB);
        t.ok(&job(JOB));
    });
    common::client(&server).job(JOB).get().send().await.unwrap();
    assert_eq!(mock.calls(), 1);
}
