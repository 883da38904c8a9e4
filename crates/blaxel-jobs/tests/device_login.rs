//! A browser login (`bl login`'s device mode): the SDK reads it from
//! `~/.blaxel/config.yaml`, renews its access token with the refresh token
//! (once for concurrent calls), writes renewed tokens back for `bl`, and
//! says to log in again when the login cannot be renewed.
//!
//! Timing runs on a paused tokio clock; the emulator's access tokens
//! expire by the same clock.

mod common;

use blaxel_jobs::raw::operations::Operation;
use blaxel_jobs::types::{DeploymentStatus, JobExecutionStatus};
use blaxel_jobs::{Client, ClientBuilder, ConfigErrorKind, DeviceLogin, Error, JobBuilder};
use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig, Route};
use common::TempPath;
use common::raw::{RawServer, Reply};
use futures_util::TryStreamExt as _;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WS: &str = "browser-ws";

/// The lifetime of the emulator's access tokens in these tests: renewal
/// is due after about 20 s (half of it), and a jump of 21 s stays below the
/// 30 s after which the emulator closes idle connections.
const TTL: Duration = Duration::from_secs(40);
/// A jump of the paused clock that makes a fresh token due for renewal.
const DUE: Duration = Duration::from_secs(21);

/// `~/.blaxel/config.yaml` exactly as `bl login` writes it after a browser
/// login to `workspace` (Blaxel's Go SDK, `WriteConfig`: no `env` for
/// production, tokens unquoted).
fn bl_login_file(
    workspace: &str,
    access: &str,
    refresh: &str,
    expires_in: u64,
    code: &str,
) -> String {
    format!(
        "context:\n  workspace: {workspace}\nworkspaces:\n- name: {workspace}\n  credentials:\n    \
         access_token: {access}\n    refresh_token: {refresh}\n    expires_in: {expires_in}\n    \
         device_code: {code}\ntracking: false\n"
    )
}

fn file_of(login: &blaxel_jobs_emulator::DeviceLogin) -> String {
    bl_login_file(
        &login.workspace,
        &login.access_token,
        &login.refresh_token,
        login.expires_in,
        &login.device_code,
    )
}

fn config_path(home: &TempPath) -> PathBuf {
    home.path().join(".blaxel").join("config.yaml")
}

/// A builder configured as `Client::from_env` would be with `HOME` at
/// `home`, `BL_API_URL` at `url` and `BL_WORKSPACE` set, whose HTTP client
/// keeps no idle connection (the paused clock's jumps outlast the
/// emulator's idle timeout).
fn builder(home: &TempPath, url: &str) -> ClientBuilder {
    Client::builder()
        .env_vars([
            ("HOME", home.display()),
            ("BL_API_URL", url.to_owned()),
            ("BL_WORKSPACE", WS.to_owned()),
        ])
        .http_client(blaxel_jobs::HttpClient::build(|b| b.pool_max_idle_per_host(0)).unwrap())
        .retry(common::fast_retry())
}

/// A client of [`builder`].
fn client_for(home: &TempPath, url: &str) -> Client {
    builder(home, url)
        .build()
        .expect("a client from the config file")
}

async fn emulator(rotate: bool) -> Emulator {
    Emulator::start_with(
        EmulatorConfig::default()
            .clock(Clock::Manual)
            .token_ttl(TTL)
            .rotate_refresh_tokens(rotate),
    )
    .await
    .unwrap()
}

/// A JWT (unsigned, which the SDK never checks) with these claims.
fn jwt(claims: serde_json::Value) -> String {
    use base64::Engine as _;
    let enc = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    format!(
        "{}.{}.{}",
        enc(br#"{"alg":"HS256","typ":"JWT"}"#),
        enc(claims.to_string().as_bytes()),
        enc(b"signature")
    )
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn login_expired(err: &Error) -> &blaxel_jobs::ConfigError {
    match err {
        Error::Config(e) if e.kind() == ConfigErrorKind::LoginExpired => e,
        other => panic!("expected a login-expired error, got {other:?}"),
    }
}

/// The environment variable that makes the test below run as the child.
const CHILD: &str = "BLAXEL_JOBS_DEVICE_LOGIN_CHILD_PORT";

/// `Client::from_env()` in a process whose `HOME` holds a config file
/// written as a browser `bl login` writes it, and whose `BL_API_URL` points
/// at the emulator: the quickstart's operations, across three renewals.
/// The test runs in a child process, which gets `HOME` and `BL_API_URL`
/// in its environment from the start (the SDK reads them from the process
/// environment; this test changes no variable of its own process).
#[test]
fn from_env_after_a_browser_login_runs_the_quickstart_across_renewals() {
    for _ in 0..3 {
        let home = TempPath::home_with_config("");
        // A free port for the child's emulator.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "quickstart_in_a_child",
                "--ignored",
                "--nocapture",
            ])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("BL_API_URL", format!("http://127.0.0.1:{port}/v0"))
            .env(CHILD, port.to_string())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stdout.contains("PORT TAKEN") {
            continue;
        }
        assert!(
            out.status.success(),
            "the child failed:\n{stdout}\n{stderr}"
        );
        assert!(stdout.contains("QUICKSTART DONE renewals=3"), "{stdout}");
        assert!(
            stdout.contains("1 passed"),
            "the child ran its test: {stdout}"
        );
        // The file holds the last renewal's tokens, and nothing else moved.
        let text = std::fs::read_to_string(config_path(&home)).unwrap();
        let before = stdout
            .lines()
            .find_map(|l| l.strip_prefix("FILE BEFORE "))
            .expect("the file as written");
        let changed: Vec<_> = before
            .split("\\n")
            .zip(text.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a.split(':').next().unwrap().trim().to_owned())
            .collect();
        assert_eq!(changed, ["access_token", "refresh_token"], "{text}");
        return;
    }
    panic!("no free port for the child's emulator in three tries");
}

/// The child of the test above: run only by it (`--ignored`).
#[test]
#[ignore = "run by from_env_after_a_browser_login_runs_the_quickstart_across_renewals"]
fn quickstart_in_a_child() {
    let port: u16 = std::env::var(CHILD)
        .expect("run by the parent test")
        .parse()
        .unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(quickstart(port));
}

async fn quickstart(port: u16) {
    let emu = match Emulator::start_with(
        EmulatorConfig::default()
            .port(port)
            .clock(Clock::Manual)
            .token_ttl(TTL)
            .rotate_refresh_tokens(true),
    )
    .await
    {
        Ok(emu) => emu,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            println!("PORT TAKEN");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    // What `bl login browser-ws` leaves behind after a browser login.
    let login = emu.device_login(WS);
    let home = PathBuf::from(std::env::var_os("HOME").unwrap());
    let file = file_of(&login);
    std::fs::write(home.join(".blaxel").join("config.yaml"), &file).unwrap();
    println!("FILE BEFORE {}", file.replace('\n', "\\n"));

    let client = Client::from_env().expect("configured by the config file");
    assert_eq!(client.config().workspace(), WS);
    assert_eq!(client.config().credentials_kind(), "browser login");
    let renewals = || emu.request_count(Route::OAuthToken);
    let poll = common::fast_poll();

    // 1. Create a job; it deploys.
    let name = "quickstart-browser";
    let job = JobBuilder::new(name)
        .image("registry.example.com/report:1.4")
        .memory(2048)
        .max_retries(1)
        .env("LOG_LEVEL", "info")
        .cron("0 3 * * *", [json!({"report": "daily"})])
        .build()
        .unwrap();
    client.jobs().create(job).send().await.unwrap();
    emu.advance(Duration::from_secs(5));
    let deployed = client
        .job(name)
        .wait_until_deployed()
        .poll_interval(poll)
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(deployed.status, Some(DeploymentStatus::Deployed));
    assert_eq!(renewals(), 0, "the saved token was still fresh");

    // 2. Half the token's life later: renewed before the next call.
    tokio::time::advance(DUE).await;
    let job_ref = client.job(name);
    let started = job_ref
        .executions()
        .create()
        .task(json!({"shard": 0, "durationSeconds": 4}))
        .task(json!({"shard": 1, "durationSeconds": 6, "failAttempts": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(renewals(), 1);
    let id = started.execution_id.unwrap();
    emu.advance(Duration::from_secs(30));
    let done = job_ref
        .execution(&id)
        .wait_until_succeeded()
        .poll_interval(poll)
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(done.status, Some(JobExecutionStatus::Succeeded));
    let tasks: Vec<_> = job_ref
        .execution(&id)
        .tasks()
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tasks.len(), 2);
    let runs = job_ref.executions().list().send().await.unwrap();
    assert_eq!(runs.data.len(), 1);

    // 3. Again: the second renewal, with the refresh token the first one
    //    rotated (the emulator refuses the old one).
    tokio::time::advance(DUE).await;
    let mut job = client.job(name).get().send().await.unwrap();
    assert_eq!(renewals(), 2);
    job.spec.runtime.as_mut().unwrap().memory = Some(4096);
    let updated = client.job(name).update(job).send().await.unwrap();
    assert_eq!(updated.spec.runtime.unwrap().memory, Some(4096));
    let revisions = client.job(name).revisions().send().await.unwrap();
    assert_eq!(revisions.len(), 2);

    // 4. Once more, and cancel a long run, then delete the job.
    tokio::time::advance(DUE).await;
    let long = job_ref
        .executions()
        .create()
        .task(json!({"durationSeconds": 100_000}))
        .send()
        .await
        .unwrap()
        .execution_id
        .unwrap();
    assert_eq!(renewals(), 3);
    emu.advance(Duration::from_secs(5));
    job_ref.execution(&long).cancel().send().await.unwrap();
    client.job(name).delete().send().await.unwrap();
    assert!(
        client
            .job(name)
            .get()
            .send()
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(renewals(), 3);

    // The file holds the latest tokens: `bl` can go on with them.
    let saved = std::fs::read_to_string(home.join(".blaxel").join("config.yaml")).unwrap();
    assert!(
        !saved.contains(&login.refresh_token),
        "the rotated token was saved"
    );
    assert!(!saved.contains(&login.access_token));
    assert!(saved.contains(&format!("device_code: {}", login.device_code)));
    println!("QUICKSTART DONE renewals={}", renewals());
}

/// 64 calls that find the token due at once renew it once, each time, and
/// all of them use the renewed token (the emulator refuses the old one).
#[tokio::test(start_paused = true)]
async fn sixty_four_concurrent_calls_renew_once_each_time() {
    let emu = emulator(true).await;
    let login = emu.device_login(WS);
    let home = TempPath::home_with_config(&file_of(&login));
    let client = client_for(&home, &emu.base_url());
    client.jobs().list().send().await.unwrap();
    let lists = || emu.request_count(Operation::ListJobs);
    for round in 1..=3u64 {
        // The old token has expired: a call with it would be refused.
        tokio::time::advance(TTL + Duration::from_secs(1)).await;
        let before = lists();
        let calls = (0..64).map(|_| client.jobs().list().send());
        let pages = futures_util::future::try_join_all(calls).await.unwrap();
        assert_eq!(pages.len(), 64);
        assert_eq!(emu.request_count(Route::OAuthToken), round, "round {round}");
        assert_eq!(lists() - before, 64, "no call was refused and sent again");
    }
    let saved = std::fs::read_to_string(config_path(&home)).unwrap();
    assert!(!saved.contains(&login.refresh_token));
}

/// An expired access token and no refresh token: a clear error before any
/// request, at every call.
#[tokio::test]
async fn an_expired_login_without_a_refresh_token_says_to_log_in_again() {
    let emu = emulator(false).await;
    let expired = jwt(json!({"sub": "me", "iat": unix_now() - 7200, "exp": unix_now() - 3600}));
    let home = TempPath::home_with_config(&format!(
        "context:\n  workspace: {WS}\nworkspaces:\n- name: {WS}\n  credentials:\n    access_token: {expired}\n    expires_in: 3600\n"
    ));
    let client = client_for(&home, &emu.base_url());
    for _ in 0..2 {
        let err = client.jobs().list().send().await.unwrap_err();
        let e = login_expired(&err);
        assert!(e.message().contains("no refresh token"), "{e}");
        assert!(
            e.message().contains(&format!("run `bl login {WS}` again")),
            "{e}"
        );
        assert!(!err.to_string().contains(&expired));
    }
    assert_eq!(
        emu.request_count(Operation::ListJobs),
        0,
        "no API request was sent"
    );
    assert_eq!(emu.request_count(Route::OAuthToken), 0);
}

/// A refresh token the server refuses: a clear error before any API
/// request, no second attempt at the token endpoint for later calls, and
/// the same client works again once the user has logged in again.
#[tokio::test(start_paused = true)]
async fn a_revoked_login_says_to_log_in_again_until_the_user_does() {
    let emu = emulator(false).await;
    let login = emu.device_login(WS);
    let home = TempPath::home_with_config(&file_of(&login));
    let client = client_for(&home, &emu.base_url());
    assert!(emu.revoke_refresh_token(&login.refresh_token));
    tokio::time::advance(TTL + Duration::from_secs(1)).await;
    for _ in 0..3 {
        let err = client.job("any").get().send().await.unwrap_err();
        let e = login_expired(&err);
        assert!(
            e.message()
                .contains("refused its refresh token (400 invalid_grant)"),
            "{e}"
        );
        assert!(e.message().contains("bl login browser-ws"), "{e}");
        for secret in [
            &login.access_token,
            &login.refresh_token,
            &login.device_code,
        ] {
            assert!(!format!("{err} {err:?}").contains(secret.as_str()));
        }
    }
    assert_eq!(
        emu.request_count(Operation::GetJob),
        0,
        "no API request was sent"
    );
    assert_eq!(
        emu.request_count(Route::OAuthToken),
        1,
        "refused once, not asked again"
    );

    // `bl login browser-ws` again: the client reads the new login.
    let again = emu.device_login(WS);
    std::fs::write(config_path(&home), file_of(&again)).unwrap();
    let err = client.job("any").get().send().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(
        emu.request_count(Route::OAuthToken),
        1,
        "the new token was fresh"
    );
}

/// A token that is not a JWT, with no `expires_in`: used until the API
/// refuses it, then renewed once and the request sent once more. A server
/// that refuses every token gets one renewal a minute, not a loop.
#[tokio::test(start_paused = true)]
async fn an_opaque_token_is_renewed_on_the_first_401_once() {
    // The tokens the server issued, which it accepts until told to refuse
    // every token.
    let issued: Arc<Mutex<Vec<String>>> = Arc::default();
    let refuse_all = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (accepted, refusing) = (Arc::clone(&issued), Arc::clone(&refuse_all));
    let server = RawServer::start(move |n, request| {
        if request.line().starts_with("POST /v0/oauth/token") {
            let token = format!("opaque-{n}");
            accepted.lock().unwrap().push(token.clone());
            let body =
                json!({"access_token": token, "refresh_token": "rt-1", "token_type": "Bearer"});
            return Reply::json("200 OK", &body.to_string());
        }
        let head = request.head.to_ascii_lowercase();
        let ok = !refusing.load(std::sync::atomic::Ordering::SeqCst)
            && accepted
                .lock()
                .unwrap()
                .iter()
                .any(|t| head.contains(&format!("authorization: bearer {t}\r")));
        if ok {
            Reply::json("200 OK", &common::job_value("j").to_string())
        } else {
            Reply::json(
                "401 Unauthorized",
                r#"{"error":{"code":"AUTHENTICATION_FAILED","origin":"platform"}}"#,
            )
        }
    })
    .await;
    let home = TempPath::home_with_config(&format!(
        "context:\n  workspace: {WS}\nworkspaces:\n- name: {WS}\n  credentials:\n    access_token: opaque-from-the-file\n    refresh_token: rt-0\n    device_code: dc-0\n"
    ));
    let client = client_for(&home, &format!("{}/v0", server.url));
    let lines = || {
        server
            .received()
            .iter()
            .map(|r| {
                let auth = r
                    .head
                    .lines()
                    .find_map(|l| l.strip_prefix("authorization: "))
                    .unwrap_or("-")
                    .to_owned();
                format!("{} {auth}", r.line().split(' ').nth(1).unwrap())
            })
            .collect::<Vec<_>>()
    };
    client.job("j").get().send().await.unwrap();
    assert_eq!(
        lines(),
        [
            "/v0/jobs/j Bearer opaque-from-the-file",
            "/v0/oauth/token -",
            "/v0/jobs/j Bearer opaque-1",
        ]
    );
    let refresh: serde_json::Value = serde_json::from_slice(&server.received()[1].body).unwrap();
    assert_eq!(
        refresh,
        json!({"grant_type": "refresh_token", "refresh_token": "rt-0", "device_code": "dc-0", "client_id": "blaxel"})
    );

    // From now on the server refuses every token.
    refuse_all.store(true, std::sync::atomic::Ordering::SeqCst);
    let err = client.job("j").get().send().await.unwrap_err();
    assert!(
        err.is_unauthorized(),
        "a token renewed just now is not renewed again: {err}"
    );
    assert_eq!(lines().len(), 4);
    tokio::time::advance(Duration::from_secs(61)).await;
    let err = client.job("j").get().send().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    let seen = lines();
    assert_eq!(
        seen[4..],
        [
            "/v0/jobs/j Bearer opaque-1",
            "/v0/oauth/token -",
            "/v0/jobs/j Bearer opaque-5",
        ],
        "one renewal and one more try, then the 401"
    );
    let err = client.job("j").get().send().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert_eq!(lines().len(), 8, "no renewal within the minute");
}

/// An opaque token whose `expires_in` the file gives is renewed when due,
/// counting from when the file was written.
#[tokio::test(start_paused = true)]
async fn an_opaque_token_with_expires_in_is_renewed_before_it_expires() {
    let server = RawServer::start(|_, request| {
        if request.line().starts_with("POST /v0/oauth/token") {
            let body =
                json!({"access_token": "opaque-new", "expires_in": 600, "refresh_token": ""});
            Reply::json("200 OK", &body.to_string())
        } else {
            Reply::json("200 OK", &common::job_value("j").to_string())
        }
    })
    .await;
    let home = TempPath::home_with_config(&format!(
        "workspaces:\n- name: {WS}\n  credentials:\n    access_token: opaque-old\n    refresh_token: rt-0\n    expires_in: 600\n"
    ));
    // Written 590 s ago: 10 s of its 600 remain.
    let file = std::fs::File::options()
        .write(true)
        .open(config_path(&home))
        .unwrap();
    file.set_modified(std::time::SystemTime::now() - Duration::from_secs(590))
        .unwrap();
    drop(file);
    let client = client_for(&home, &format!("{}/v0", server.url));
    client.job("j").get().send().await.unwrap();
    let paths: Vec<String> = server
        .received()
        .iter()
        .map(|r| r.line().to_owned())
        .collect();
    assert!(paths[0].starts_with("POST /v0/oauth/token"), "{paths:?}");
    assert!(paths[1].starts_with("GET /v0/jobs/j"), "{paths:?}");
    // An empty refresh token in the answer keeps the old one; the file
    // gets the new access token and lifetime.
    let saved = std::fs::read_to_string(config_path(&home)).unwrap();
    assert_eq!(
        saved,
        format!(
            "workspaces:\n- name: {WS}\n  credentials:\n    access_token: opaque-new\n    refresh_token: rt-0\n    expires_in: 600\n"
        )
    );
    // The new one is good for 600 s: no renewal 290 s later.
    tokio::time::advance(Duration::from_secs(290)).await;
    client.job("j").get().send().await.unwrap();
    assert_eq!(server.received().len(), 3);
}

/// The token endpoint is hostile too: a refused refresh whose error repeats
/// the refresh token shows it nowhere, and a redirect is not followed.
#[tokio::test]
async fn a_hostile_token_endpoint_leaks_nothing_and_redirects_nowhere() {
    let refresh = "rt-SECRET-refresh-9f8e7d";
    let code = "dc-SECRET-code-1a2b3c";
    let expired = jwt(json!({"iat": unix_now() - 7200, "exp": unix_now() - 3600}));
    let home = TempPath::home_with_config(&format!(
        "workspaces:\n- name: {WS}\n  credentials:\n    access_token: {expired}\n    refresh_token: {refresh}\n    device_code: {code}\n"
    ));
    let echo = RawServer::start(move |_, request| {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let answer =
            json!({"error": "invalid_grant", "error_description": format!("you sent {body}")});
        Reply::json("400 Bad Request", &answer.to_string())
    })
    .await;
    let client = client_for(&home, &format!("{}/v0", echo.url));
    let err = client.jobs().list().send().await.unwrap_err();
    login_expired(&err);
    let shown = format!("{err} {err:?} {client:?}");
    for secret in [refresh, code, expired.as_str()] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert_eq!(echo.received().len(), 1);

    let redirect = RawServer::start(|_, _| {
        Reply::http(
            "307 Temporary Redirect",
            &[("location", "http://127.0.0.1:9/steal")],
            "",
        )
    })
    .await;
    let client = client_for(&home, &format!("{}/v0", redirect.url));
    let err = client.jobs().list().send().await.unwrap_err();
    assert!(matches!(err, Error::Redirect(_)), "{err}");
    assert_eq!(redirect.received().len(), 1);
}

/// A login given to the builder works the same, and no file is written.
#[tokio::test(start_paused = true)]
async fn a_login_given_to_the_builder_is_renewed_in_memory() {
    let emu = emulator(true).await;
    let login = emu.device_login(WS);
    let client = Client::builder()
        .ignore_environment()
        .workspace(WS)
        .base_url(emu.base_url())
        .device_login(
            DeviceLogin::new(login.access_token.as_str())
                .refresh_token(login.refresh_token.as_str())
                .device_code(login.device_code.as_str()),
        )
        .http_client(blaxel_jobs::HttpClient::build(|b| b.pool_max_idle_per_host(0)).unwrap())
        .build()
        .unwrap();
    let shown = format!("{client:?} {:?}", client.config());
    assert!(shown.contains("browser login"), "{shown}");
    for _ in 0..3 {
        tokio::time::advance(TTL + Duration::from_secs(1)).await;
        client.jobs().list().send().await.unwrap();
    }
    assert_eq!(emu.request_count(Route::OAuthToken), 3);
    for secret in [
        &login.access_token,
        &login.refresh_token,
        &login.device_code,
    ] {
        assert!(!shown.contains(secret.as_str()));
    }
}

/// Two programs (two clients, each as a separate process would be) and
/// `bl` share one login whose refresh token the server rotates: each uses
/// what the others saved, so none is left with a refused refresh token.
#[tokio::test(start_paused = true)]
async fn programs_and_bl_sharing_a_rotated_login_all_keep_working() {
    let emu = emulator(true).await;
    let login = emu.device_login(WS);
    let home = TempPath::home_with_config(&file_of(&login));
    let first = client_for(&home, &emu.base_url());
    let second = client_for(&home, &emu.base_url());
    first.jobs().list().send().await.unwrap();
    second.jobs().list().send().await.unwrap();
    let renewals = || emu.request_count(Route::OAuthToken);

    // The first renews (rotating the refresh token) and saves.
    tokio::time::advance(TTL + Duration::from_secs(1)).await;
    first.jobs().list().send().await.unwrap();
    assert_eq!(renewals(), 1);
    // The second's refresh token is now refused by the server, but it
    // reads the file first and uses the first's fresh token.
    second.jobs().list().send().await.unwrap();
    assert_eq!(renewals(), 1);

    // `bl` renews next, from the file, as it does, and saves the result
    // its own way (the whole file rewritten).
    tokio::time::advance(TTL + Duration::from_secs(1)).await;
    let saved = std::fs::read_to_string(config_path(&home)).unwrap();
    let value = |key: &str| {
        saved
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
            .unwrap()
            .to_owned()
    };
    let http = blaxel_jobs::raw::tls::http_client_builder()
        .build()
        .unwrap();
    let answer: serde_json::Value = http
        .post(format!("{}/oauth/token", emu.base_url()))
        .json(&json!({
            "grant_type": "refresh_token",
            "refresh_token": value("refresh_token"),
            "device_code": value("device_code"),
            "client_id": "blaxel",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut by_bl = login.clone();
    by_bl.access_token = answer["access_token"].as_str().unwrap().to_owned();
    by_bl.refresh_token = answer["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(by_bl.refresh_token, value("refresh_token"), "rotated");
    std::fs::write(config_path(&home), file_of(&by_bl)).unwrap();
    assert_eq!(renewals(), 2);

    // Both programs go on with what `bl` saved, without renewing.
    first.jobs().list().send().await.unwrap();
    second.jobs().list().send().await.unwrap();
    assert_eq!(renewals(), 2);
    // And renew from it later.
    tokio::time::advance(TTL + Duration::from_secs(1)).await;
    second.jobs().list().send().await.unwrap();
    first.jobs().list().send().await.unwrap();
    assert_eq!(renewals(), 3);
}

/// `save_refreshed_login(false)`: renewed tokens stay in memory.
#[tokio::test(start_paused = true)]
async fn saving_can_be_turned_off() {
    let emu = emulator(false).await;
    let login = emu.device_login(WS);
    let text = file_of(&login);
    let home = TempPath::home_with_config(&text);
    let client = builder(&home, &emu.base_url())
        .save_refreshed_login(false)
        .build()
        .unwrap();
    tokio::time::advance(TTL + Duration::from_secs(1)).await;
    client.jobs().list().send().await.unwrap();
    assert_eq!(emu.request_count(Route::OAuthToken), 1);
    assert_eq!(std::fs::read_to_string(config_path(&home)).unwrap(), text);
    assert!(!Path::new(&format!("{}.lock", config_path(&home).display())).exists());
}

/// Precedence: an API key or client credentials in the file win over a
/// browser login, and the environment wins over the file.
#[test]
fn a_browser_login_comes_after_the_other_credentials() {
    let login = "    access_token: a\n    refresh_token: r\n    device_code: d\n";
    let file = |extra: &str| {
        TempPath::home_with_config(&format!(
            "workspaces:\n- name: {WS}\n  credentials:\n{extra}{login}"
        ))
    };
    let kind = |home: &TempPath, vars: &[(&str, &str)]| {
        let mut env: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.push(("HOME".into(), home.display()));
        env.push(("BL_WORKSPACE".into(), WS.into()));
        Client::builder()
            .env_vars(env)
            .resolve()
            .unwrap()
            .credentials_kind()
    };
    assert_eq!(kind(&file(""), &[]), "browser login");
    assert_eq!(kind(&file("    apiKey: k\n"), &[]), "API key");
    assert_eq!(
        kind(&file("    client_credentials: aWQ6c2VjcmV0\n"), &[]),
        "client credentials"
    );
    assert_eq!(kind(&file(""), &[("BL_API_KEY", "k")]), "API key");
    assert_eq!(
        kind(&file(""), &[("BL_CLIENT_CREDENTIALS", "aWQ6c2VjcmV0")]),
        "client credentials"
    );
    let builder = Client::builder()
        .env_vars([("HOME", file("").display()), ("BL_WORKSPACE", WS.into())])
        .api_key("k")
        .resolve()
        .unwrap();
    assert_eq!(builder.credentials_kind(), "API key");
    // A device code alone is no login: nothing to authenticate with.
    let home = TempPath::home_with_config(&format!(
        "workspaces:\n- name: {WS}\n  credentials:\n    device_code: d\n"
    ));
    let err = Client::builder()
        .env_vars([("HOME", home.display()), ("BL_WORKSPACE", WS.into())])
        .resolve()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::MissingCredentials);
}

/// A config file the SDK reads but cannot edit in place (a flow-style
/// entry): renewed tokens stay in memory, and the file's older tokens are
/// not taken back (their refresh token was rotated away).
#[tokio::test(start_paused = true)]
async fn a_file_the_sdk_cannot_edit_does_not_bring_old_tokens_back() {
    let emu = emulator(true).await;
    let login = emu.device_login(WS);
    let text = format!(
        "workspaces: [{{name: {WS}, credentials: {{access_token: {}, refresh_token: {}, device_code: {}}}}}]\n",
        login.access_token, login.refresh_token, login.device_code
    );
    let home = TempPath::home_with_config(&text);
    let client = client_for(&home, &emu.base_url());
    for round in 1..=3 {
        tokio::time::advance(TTL + Duration::from_secs(1)).await;
        client.jobs().list().send().await.unwrap();
        assert_eq!(emu.request_count(Route::OAuthToken), round);
    }
    assert_eq!(std::fs::read_to_string(config_path(&home)).unwrap(), text);
}
