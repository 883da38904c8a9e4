//! Bad input gets a clear, typed error and leaves the server's state alone.

use crate::common::{self, WS};
use blaxel_jobs::raw::operations::Operation;
use blaxel_jobs::types::PortProtocol;
use blaxel_jobs::{Client, ConfigErrorKind, Error, JobBuilder};
use blaxel_jobs_emulator::{EmulatorConfig, Route};

#[tokio::test]
async fn invalid_names_are_refused_before_sending() {
    let (emu, client) = common::manual().await;
    // ("-leading" is allowed: Blaxel's text does not say where hyphens go.)
    for name in ["Has_Capitals", "with space", &"x".repeat(50)] {
        let mut job = common::job("placeholder");
        job.metadata.name = name.to_owned();
        let err = client.jobs().create(job).send().await.unwrap_err();
        match err {
            Error::InvalidInput(i) => assert_eq!(i.field(), Some("metadata.name")),
            other => panic!("{name}: {other}"),
        }
    }
    assert_eq!(emu.request_count(Operation::CreateJob), 0);
    assert!(emu.job_names(WS).is_empty());
}

#[tokio::test]
async fn an_unknown_job_is_not_found() {
    let (emu, client) = common::manual().await;
    let err = client.job("ghost").get().send().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(
        err.api().unwrap().code().map(|c| c.as_str()),
        Some("not_found")
    );
    let err = client
        .job("ghost")
        .executions()
        .create()
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(emu.executions(WS, "ghost").is_empty());
}

#[tokio::test]
async fn a_body_the_server_rejects_names_the_field() {
    let (emu, client) = common::manual().await;
    // A protocol this SDK cannot know about passes the client's checks (the
    // enum is open) but not the server's.
    let job = JobBuilder::new("ports")
        .port("quic", 443, PortProtocol::from("QUIC"))
        .build()
        .unwrap();
    let err = client.jobs().create(job).send().await.unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(api.status().as_u16(), 400);
    assert!(api.message().unwrap_or("").contains("protocol"), "{err}");
    assert_eq!(
        emu.request_count(Operation::CreateJob),
        1,
        "400 is not retried"
    );
    assert!(emu.job_names(WS).is_empty());
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let (emu, client) = common::start(EmulatorConfig::default().max_body_bytes(16 * 1024)).await;
    let job = JobBuilder::new("big")
        .env("BLOB", "x".repeat(64 * 1024))
        .build()
        .unwrap();
    let err = client.jobs().create(job).send().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(413), "{err}");
    assert_eq!(emu.request_count(Operation::CreateJob), 1);
    assert!(emu.job_names(WS).is_empty());
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized() {
    let (emu, _) = common::manual().await;
    let client = Client::builder()
        .ignore_environment()
        .base_url(emu.base_url())
        .api_key("not-the-key")
        .workspace(WS)
        .build()
        .unwrap();
    let err = client
        .jobs()
        .create(common::job("a"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    let api = err.api().unwrap();
    assert_eq!(api.blaxel_source(), Some("platform"));
    assert!(api.code().is_some());
    assert!(!err.to_string().contains("not-the-key"));
    assert_eq!(
        emu.request_count(Operation::CreateJob),
        1,
        "401 is not retried"
    );
    assert!(emu.job_names(WS).is_empty());
}

#[tokio::test]
async fn a_missing_workspace_is_a_configuration_error_before_any_request() {
    let (emu, _) = common::manual().await;
    let err = Client::builder()
        .ignore_environment()
        .base_url(emu.base_url())
        .api_key(emu.api_key())
        .build()
        .unwrap_err();
    match err {
        Error::Config(c) => {
            assert_eq!(c.kind(), ConfigErrorKind::MissingWorkspace);
            assert!(c.message().contains("BL_WORKSPACE"), "{c}");
        }
        other => panic!("{other}"),
    }
    let total: u64 = Route::all().map(|r| emu.request_count(r)).sum();
    assert_eq!(total, 0);
}

#[tokio::test]
async fn workspaces_do_not_see_each_other() {
    let (emu, client) = common::manual().await;
    client
        .jobs()
        .create(common::job("mine"))
        .send()
        .await
        .unwrap();
    let other = Client::builder()
        .ignore_environment()
        .base_url(emu.base_url())
        .api_key(emu.api_key())
        .workspace("someone-else")
        .build()
        .unwrap();
    assert!(
        other
            .job("mine")
            .get()
            .send()
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(other.jobs().list().send().await.unwrap().data.is_empty());
}
