//! Configuration: the precedence of builder, environment variables and
//! `~/.blaxel/config.yaml`, and the errors raised before any request.

mod common;

use base64::Engine as _;
use blaxel_jobs::{
    Client, ClientBuilder, ConfigError, ConfigErrorKind, Credentials, Environment, Error,
};
use blaxel_jobs_httpmock::MockServerExt;
use common::{JOB, TempPath, job};
use httpmock::MockServer;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A builder that reads only `vars` and, when given, `file`.
fn with(vars: &[(&str, &str)], file: Option<&TempPath>) -> ClientBuilder {
    let b = Client::builder().env_vars(vars.iter().map(|(k, v)| (*k, *v)));
    match file {
        Some(f) => b.config_file(f.path()),
        None => b,
    }
}

fn config_err(b: ClientBuilder) -> ConfigError {
    match b.resolve() {
        Ok(c) => panic!("expected a configuration error, got {c:?}"),
        Err(e) => e,
    }
}

/// A config file as `bl login` writes it: ws-file (the current context)
/// with an API key and env dev, and ws-other with client credentials.
fn full_file() -> TempPath {
    TempPath::file(
        "config.yaml",
        &format!(
            "context:\n  workspace: ws-file\nworkspaces:\n- name: ws-file\n  id: 6f1c2a9e\n  credentials:\n    apiKey: file-key\n  env: dev\n- name: ws-other\n  credentials:\n    client_credentials: {}\ntracking: false\n",
            b64("other-id:other-secret")
        ),
    )
}

const ENV_ALL: &[(&str, &str)] = &[
    ("BL_WORKSPACE", "ws-env"),
    ("BL_API_KEY", "env-key"),
    ("BL_API_URL", "https://env.example.com/v0"),
    ("BL_API_VERSION", "2026-05-01"),
];

#[test]
fn the_builder_beats_the_environment_for_every_setting() {
    let file = full_file();
    let cfg = with(ENV_ALL, Some(&file))
        .workspace("ws-builder")
        .client_credentials("builder-id", "builder-secret")
        .base_url("https://builder.example.com/v0")
        .api_version("2026-06-01")
        .resolve()
        .unwrap();
    assert_eq!(cfg.workspace(), "ws-builder");
    assert_eq!(cfg.credentials_kind(), "client credentials");
    assert_eq!(cfg.base_url(), "https://builder.example.com/v0");
    assert_eq!(cfg.api_version(), "2026-06-01");
}

#[test]
fn the_environment_beats_the_config_file_for_every_setting() {
    let file = full_file();
    let cfg = with(ENV_ALL, Some(&file)).resolve().unwrap();
    assert_eq!(cfg.workspace(), "ws-env");
    assert_eq!(cfg.credentials_kind(), "API key");
    assert_eq!(cfg.base_url(), "https://env.example.com/v0");
    assert_eq!(cfg.api_version(), "2026-05-01");
}

#[test]
fn the_config_file_supplies_what_nothing_else_does() {
    let file = full_file();
    let cfg = with(&[], Some(&file)).resolve().unwrap();
    assert_eq!(cfg.workspace(), "ws-file", "context.workspace");
    assert_eq!(cfg.credentials_kind(), "API key", "credentials.apiKey");
    assert_eq!(
        cfg.base_url(),
        "https://api.blaxel.dev/v0",
        "the workspace's env"
    );
    assert_eq!(
        cfg.api_version(),
        blaxel_jobs::config::versions::DEFAULT,
        "the default version"
    );
    assert_eq!(
        cfg.api_version(),
        blaxel_jobs::config::default_api_version()
    );
}

#[test]
fn the_workspace_from_the_environment_selects_its_profile_in_the_file() {
    let file = full_file();
    let cfg = with(&[("BL_WORKSPACE", "ws-other")], Some(&file))
        .resolve()
        .unwrap();
    assert_eq!(cfg.workspace(), "ws-other");
    assert_eq!(cfg.credentials_kind(), "client credentials");
    // ws-other has no env: production.
    assert_eq!(cfg.base_url(), "https://api.blaxel.ai/v0");
}

#[test]
fn api_url_and_bl_env_precedence() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "https://api.blaxel.ai/v0"),
        (&[("BL_ENV", "prod")], "https://api.blaxel.ai/v0"),
        (&[("BL_ENV", "production")], "https://api.blaxel.ai/v0"),
        (&[("BL_ENV", "dev")], "https://api.blaxel.dev/v0"),
        (&[("BL_ENV", "DEV")], "https://api.blaxel.dev/v0"),
        (&[("BL_ENV", "local")], "http://localhost:8080/v0"),
        (
            &[
                ("BL_ENV", "dev"),
                ("BL_API_URL", "https://proxy.example.com/v0"),
            ],
            "https://proxy.example.com/v0",
        ),
        (
            &[("BL_API_URL", "https://proxy.example.com/v0/")],
            "https://proxy.example.com/v0",
        ),
        // An empty variable counts as unset.
        (&[("BL_ENV", " ")], "https://api.blaxel.ai/v0"),
    ];
    for (vars, expected) in cases {
        let mut all = vec![("BL_WORKSPACE", "ws"), ("BL_API_KEY", "k")];
        all.extend_from_slice(vars);
        let cfg = with(&all, None).resolve().unwrap();
        assert_eq!(cfg.base_url(), *expected, "{vars:?}");
    }
}

#[test]
fn bl_env_beats_the_file_env_and_the_builder_environment_beats_bl_api_url() {
    let file = full_file(); // ws-file has env: dev
    let cfg = with(&[("BL_ENV", "prod")], Some(&file)).resolve().unwrap();
    assert_eq!(cfg.base_url(), "https://api.blaxel.ai/v0");

    let cfg = with(
        &[("BL_API_URL", "https://proxy.example.com/v0")],
        Some(&file),
    )
    .environment(Environment::Local)
    .resolve()
    .unwrap();
    assert_eq!(cfg.base_url(), "http://localhost:8080/v0");

    let cfg = with(&[], Some(&file))
        .environment(Environment::Prod)
        .base_url("https://explicit.example.com/v0")
        .resolve()
        .unwrap();
    assert_eq!(
        cfg.base_url(),
        "https://explicit.example.com/v0",
        "base_url beats environment"
    );
}

#[test]
fn api_version_from_env_and_default() {
    let base = [("BL_WORKSPACE", "ws"), ("BL_API_KEY", "k")];
    assert_eq!(
        with(&base, None).resolve().unwrap().api_version(),
        blaxel_jobs::config::versions::DEFAULT
    );
    // Every version the document knows can be selected.
    for known in blaxel_jobs::config::versions::NAMES {
        let mut vars = base.to_vec();
        vars.push(("BL_API_VERSION", known));
        assert_eq!(with(&vars, None).resolve().unwrap().api_version(), *known);
    }
}

#[test]
fn bl_api_key_beats_bl_client_credentials() {
    let cc = b64("id:secret");
    let both = [
        ("BL_WORKSPACE", "ws"),
        ("BL_API_KEY", "k"),
        ("BL_CLIENT_CREDENTIALS", cc.as_str()),
    ];
    assert_eq!(
        with(&both, None).resolve().unwrap().credentials_kind(),
        "API key"
    );
    let only_cc = [
        ("BL_WORKSPACE", "ws"),
        ("BL_CLIENT_CREDENTIALS", cc.as_str()),
    ];
    assert_eq!(
        with(&only_cc, None).resolve().unwrap().credentials_kind(),
        "client credentials"
    );
    // A blank API key counts as unset.
    let blank_key = [
        ("BL_WORKSPACE", "ws"),
        ("BL_API_KEY", "  "),
        ("BL_CLIENT_CREDENTIALS", cc.as_str()),
    ];
    assert_eq!(
        with(&blank_key, None).resolve().unwrap().credentials_kind(),
        "client credentials"
    );
}

#[test]
fn both_spellings_of_client_credentials_and_api_key_are_read_from_the_file() {
    for key in ["clientCredentials", "client_credentials"] {
        let file = TempPath::file(
            "config.yaml",
            &format!(
                "context:\n  workspace: ws\nworkspaces:\n  - name: ws\n    credentials:\n      {key}: {}\n",
                b64("id:secret")
            ),
        );
        let cfg = with(&[], Some(&file)).resolve().unwrap();
        assert_eq!(cfg.credentials_kind(), "client credentials", "{key}");
    }
    let file = TempPath::file(
        "config.yaml",
        "context:\n  workspace: ws\nworkspaces:\n  - name: ws\n    credentials:\n      apiKey: k\n",
    );
    assert_eq!(
        with(&[], Some(&file)).resolve().unwrap().credentials_kind(),
        "API key"
    );
}

#[test]
fn home_from_env_vars_locates_the_config_file() {
    let home = TempPath::home_with_config(
        "context:\n  workspace: ws-home\nworkspaces:\n  - name: ws-home\n    credentials:\n      apiKey: home-key\n",
    );
    let cfg = Client::builder()
        .env_vars([("HOME", home.display())])
        .resolve()
        .unwrap();
    assert_eq!(cfg.workspace(), "ws-home");
    assert_eq!(cfg.credentials_kind(), "API key");

    // USERPROFILE (Windows) is the fallback.
    let cfg = Client::builder()
        .env_vars([("USERPROFILE", home.display())])
        .resolve()
        .unwrap();
    assert_eq!(cfg.workspace(), "ws-home");

    // Without HOME in the variables, no file is read.
    let err = config_err(Client::builder().env_vars(Vec::<(String, String)>::new()));
    assert_eq!(err.kind, ConfigErrorKind::MissingWorkspace);
}

#[test]
fn ignore_environment_reads_neither_variables_nor_files() {
    let err = config_err(Client::builder().ignore_environment().api_key("k"));
    assert_eq!(err.kind, ConfigErrorKind::MissingWorkspace);
    let cfg = Client::builder()
        .ignore_environment()
        .api_key("k")
        .workspace("ws")
        .resolve()
        .unwrap();
    assert_eq!(cfg.base_url(), "https://api.blaxel.ai/v0");
    assert_eq!(cfg.workspace(), "ws");
}

#[test]
fn missing_workspace_names_what_to_set() {
    let err = config_err(with(&[("BL_API_KEY", "k")], None));
    assert_eq!(err.kind, ConfigErrorKind::MissingWorkspace);
    assert!(err.message.contains("BL_WORKSPACE"), "{err}");
    assert!(err.message.contains("config.yaml"), "{err}");
}

#[test]
fn missing_credentials_name_the_variable_and_the_file() {
    let file = TempPath::file(
        "config.yaml",
        "context:\n  workspace: ws\nworkspaces:\n  - name: ws\n",
    );
    let err = config_err(with(&[], Some(&file)));
    assert_eq!(err.kind, ConfigErrorKind::MissingCredentials);
    assert!(err.message.contains("BL_API_KEY"), "{err}");
    assert!(err.message.contains(&file.display()), "{err}");
    assert!(err.message.contains("`ws`"), "names the workspace: {err}");

    // A workspace the file does not list has no credentials either.
    let full = full_file();
    let err = config_err(with(&[("BL_WORKSPACE", "ws-unknown")], Some(&full)));
    assert_eq!(err.kind, ConfigErrorKind::MissingCredentials);

    // A config file that does not exist is not an error in itself.
    let missing = common::temp_path("does-not-exist.yaml");
    let err = config_err(
        Client::builder()
            .env_vars([("BL_WORKSPACE", "ws")])
            .config_file(&missing),
    );
    assert_eq!(err.kind, ConfigErrorKind::MissingCredentials);
    assert!(
        err.message.contains(&missing.display().to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn configuration_errors_come_before_any_request() {
    let server = MockServer::start_async().await;
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(200);
    });
    let url = server.base_url();
    let cases: Vec<(ClientBuilder, ConfigErrorKind)> = vec![
        (
            with(&[("BL_API_URL", &url), ("BL_WORKSPACE", "ws")], None),
            ConfigErrorKind::MissingCredentials,
        ),
        (
            with(&[("BL_API_URL", &url), ("BL_API_KEY", "k")], None),
            ConfigErrorKind::MissingWorkspace,
        ),
    ];
    for (builder, kind) in cases {
        match builder.build() {
            Err(Error::Config(e)) => {
                assert_eq!(e.kind, kind);
                let shown = Error::Config(e).to_string();
                assert!(shown.starts_with("configuration error: "), "{shown}");
            }
            Err(other) => panic!("unexpected {other:?}"),
            Ok(client) => panic!("built {client:?}"),
        }
    }
    assert_eq!(any.calls(), 0);
}

#[test]
fn an_invalid_bl_env_is_named() {
    let err = config_err(with(
        &[
            ("BL_WORKSPACE", "ws"),
            ("BL_API_KEY", "k"),
            ("BL_ENV", "staging"),
        ],
        None,
    ));
    assert_eq!(err.kind, ConfigErrorKind::InvalidValue);
    assert!(err.message.contains("BL_ENV"), "{err}");
    assert!(err.message.contains("staging"), "{err}");

    let file = TempPath::file(
        "config.yaml",
        "context:\n  workspace: ws\nworkspaces:\n  - name: ws\n    credentials:\n      apiKey: k\n    env: qa\n",
    );
    let err = config_err(with(&[], Some(&file)));
    assert_eq!(err.kind, ConfigErrorKind::InvalidValue);
    assert!(err.message.contains("qa"), "{err}");
}

#[test]
fn invalid_client_credentials_are_rejected_without_echoing_them() {
    for bad in [
        "not base64 at all!".to_owned(),
        b64("no-colon-here"),
        b64(":only-secret"),
        b64("only-id:"),
    ] {
        let err = config_err(with(
            &[("BL_WORKSPACE", "ws"), ("BL_CLIENT_CREDENTIALS", &bad)],
            None,
        ));
        assert_eq!(err.kind, ConfigErrorKind::InvalidValue, "{bad}");
        assert!(err.message.contains("BL_CLIENT_CREDENTIALS"), "{err}");
        assert!(!err.message.contains(&bad), "echoes the value: {err}");
    }
    let file = TempPath::file(
        "config.yaml",
        "context:\n  workspace: ws\nworkspaces:\n  - name: ws\n    credentials:\n      clientCredentials: '%%%'\n",
    );
    let err = config_err(with(&[], Some(&file)));
    assert_eq!(err.kind, ConfigErrorKind::InvalidValue);
    assert!(err.message.contains("`ws`"), "names the workspace: {err}");
}

#[test]
fn a_malformed_config_file_is_a_config_file_error_naming_the_path() {
    for text in [
        "context: [unterminated\n",
        "workspaces: 42\n",
        "workspaces:\n  - credentials: {apiKey: k}\n", // no name
    ] {
        let file = TempPath::file("config.yaml", text);
        let err = config_err(with(&[("BL_WORKSPACE", "ws")], Some(&file)));
        assert_eq!(err.kind, ConfigErrorKind::ConfigFile, "{text:?}: {err}");
        assert!(err.message.contains(&file.display()), "{err}");
    }
    // An empty file is like no file.
    let empty = TempPath::file("config.yaml", "  \n");
    let err = config_err(with(&[("BL_WORKSPACE", "ws")], Some(&empty)));
    assert_eq!(err.kind, ConfigErrorKind::MissingCredentials);
}

#[test]
fn the_user_agent_names_the_sdk_version_and_platform() {
    let cfg = with(&[("BL_WORKSPACE", "ws"), ("BL_API_KEY", "k")], None)
        .resolve()
        .unwrap();
    assert_eq!(
        cfg.user_agent(),
        format!(
            "blaxel-jobs-rust/{} ({}/{})",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH
        )
    );
    assert_eq!(cfg.retry(), &blaxel_jobs::RetryConfig::default());
    assert_eq!(cfg.timeout(), blaxel_jobs::config::DEFAULT_TIMEOUT);
    assert_eq!(
        cfg.connect_timeout(),
        blaxel_jobs::config::DEFAULT_CONNECT_TIMEOUT
    );
    let retry = blaxel_jobs::RetryConfig::disabled();
    let cfg = with(&[("BL_WORKSPACE", "ws"), ("BL_API_KEY", "k")], None)
        .timeout(std::time::Duration::from_secs(5))
        .connect_timeout(std::time::Duration::from_secs(2))
        .retry(retry.clone())
        .resolve()
        .unwrap();
    assert_eq!(cfg.timeout(), std::time::Duration::from_secs(5));
    assert_eq!(cfg.connect_timeout(), std::time::Duration::from_secs(2));
    assert_eq!(cfg.retry(), &retry);
}

/// The credential chosen is the one sent: builder, then env, then file.
#[tokio::test]
async fn the_chosen_api_key_is_the_one_sent() {
    let server = MockServer::start_async().await;
    let url = server.base_url();
    let file = TempPath::file(
        "config.yaml",
        "context:\n  workspace: ws\nworkspaces:\n  - name: ws\n    credentials:\n      apiKey: file-key\n",
    );
    let env = [("BL_API_KEY", "env-key"), ("BL_API_URL", url.as_str())];
    let cases = [
        (
            with(&env, Some(&file)).api_key("builder-key"),
            "builder-key",
        ),
        (
            with(&env, Some(&file)).credentials(Credentials::ApiKey("creds-key".into())),
            "creds-key",
        ),
        (with(&env, Some(&file)), "env-key"),
        (with(&[("BL_API_URL", &url)], Some(&file)), "file-key"),
    ];
    for (builder, key) in cases {
        let mock = server.get_job(|when, then| {
            when.job_id(JOB)
                .into_inner()
                .header("authorization", format!("Bearer {key}"))
                .header("x-blaxel-workspace", "ws");
            then.ok(&job(JOB));
        });
        let client = builder.build().unwrap();
        client.job(JOB).get().send().await.unwrap();
        assert_eq!(mock.calls(), 1, "{key}");
    }
}

/// Client credentials from the file, in either spelling, are exchanged at
/// `{base}/oauth/token` with HTTP Basic of `id:secret`.
#[tokio::test]
async fn client_credentials_from_the_file_are_exchanged_for_a_token() {
    for key in ["clientCredentials", "client_credentials"] {
        let server = MockServer::start_async().await;
        let file = TempPath::file(
            "config.yaml",
            &format!(
                "context:\n  workspace: ws\nworkspaces:\n  - name: ws\n    credentials:\n      {key}: {}\n",
                b64("file-id:file-secret")
            ),
        );
        let token = server.mock(|when, then| {
            when.method("POST")
                .path("/oauth/token")
                .header("authorization", format!("Basic {}", b64("file-id:file-secret")));
            then.status(200)
                .json_body(serde_json::json!({"access_token": "tok-file", "expires_in": 3600, "token_type": "Bearer"}));
        });
        let get = server.get_job(|when, then| {
            when.job_id(JOB)
                .into_inner()
                .header("authorization", "Bearer tok-file");
            then.ok(&job(JOB));
        });
        let client = with(&[("BL_API_URL", &server.base_url())], Some(&file))
            .build()
            .unwrap();
        client.job(JOB).get().send().await.unwrap();
        assert_eq!(token.calls(), 1, "{key}");
        assert_eq!(get.calls(), 1, "{key}");
    }
}

#[test]
fn a_malformed_config_file_error_is_one_line() {
    let file = TempPath::file("config.yaml", "context: [unterminated\n");
    let err = Error::Config(config_err(with(&[("BL_WORKSPACE", "ws")], Some(&file))));
    let shown = err.to_string();
    assert!(!shown.contains('\n'), "{shown}");
}
