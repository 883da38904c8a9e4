//! `blaxel-jobs-emulator`: runs the emulator until Ctrl-C (SIGINT),
//! SIGTERM or SIGHUP; each stops it the same way, killing the processes of
//! tasks that run for real.
//!
//! ```text
//! blaxel-jobs-emulator [--port N] [--speed X] [--api-key KEY] [--client-credentials ID:SECRET]
//!                      [--execution-retention SECS]
//!                      [--task-command JOB=COMMAND]... [--run-local-images]
//!                      [--allowed-host HOST]... [--tasks-apart-from N] [--count-limit N]
//!                      [--logs-cap N] [--logs-max-window SECS]
//!                      [--token-ttl SECS] [--rotate-refresh-tokens] [--device-login WORKSPACE]...
//!                      [--until-stdin-closes]
//! ```

use blaxel_jobs_emulator::{Clock, Emulator, EmulatorConfig};
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: blaxel-jobs-emulator [--port N] [--speed X] [--api-key KEY] [--client-credentials ID:SECRET]
                            [--execution-retention SECS]
                            [--task-command JOB=COMMAND]... [--run-local-images]
                            [--allowed-host HOST]... [--tasks-apart-from N] [--count-limit N]
                            [--logs-cap N] [--logs-max-window SECS]
                            [--token-ttl SECS] [--rotate-refresh-tokens]
                            [--device-login WORKSPACE]... [--until-stdin-closes]

Runs a local, in-memory Blaxel Jobs API server on 127.0.0.1 until Ctrl-C,
SIGTERM or SIGHUP.

options:
  --port N        TCP port to listen on (default 0: a free port)
  --speed X       simulated seconds per real second, a positive number (default 1)
  --api-key KEY   the API key to accept (default emulator-api-key, or a random
                  one printed at start when tasks run for real)
  --client-credentials ID:SECRET
                  the OAuth client POST /v0/oauth/token accepts (default
                  emulator-client and emulator-secret, or a random secret
                  printed at start when tasks run for real)
  --execution-retention SECS
                  simulated seconds a finished execution is kept before it is
                  forgotten (default 86400; Blaxel does not document its own)
  --task-command JOB=COMMAND
                  run each task of job JOB for real, as `sh -c COMMAND`, in real
                  time (repeatable)
  --run-local-images
                  run the tasks of jobs whose image is `local:COMMAND` for real
                  (any client with the API key can then run commands as you)
  --allowed-host HOST
                  also answer requests addressed to HOST (by default only
                  localhost and loopback addresses are, against DNS
                  rebinding; repeatable)
  --tasks-apart-from N
                  answer executions of N tasks or more without their tasks,
                  with spec.tasksRef, as Blaxel may (default: never)
  --count-limit N count at most N items in listings; past it meta.total is N
                  and meta.totalIsPartial is true (default: no limit)
  --logs-cap N    the most lines one answer of GET /v0/observability/logs
                  carries (default 1000, at least 1)
  --logs-max-window SECS
                  the longest window GET /v0/observability/logs takes
                  (default: any)
  --token-ttl SECS
                  seconds an OAuth access token is valid (default 3600)
  --rotate-refresh-tokens
                  the refresh grant answers a new refresh token and refuses
                  the one it replaced
  --device-login WORKSPACE
                  make a browser login for WORKSPACE, as `bl login` saves it,
                  and print it as one line of JSON (repeatable)
  --until-stdin-closes
                  also stop, as on Ctrl-C, when standard input ends: a
                  program that starts the emulator with a pipe there and never
                  writes to it cannot leave it running, however it ends
  -h, --help      print this help";

/// The command line, parsed.
#[derive(Debug, Default, PartialEq)]
struct Args {
    port: u16,
    speed: Option<f64>,
    api_key: Option<String>,
    client_credentials: Option<(String, String)>,
    tasks_apart_from: Option<usize>,
    count_limit: Option<usize>,
    logs_cap: Option<usize>,
    logs_max_window: Option<Duration>,
    retention: Option<Duration>,
    task_commands: Vec<(String, String)>,
    run_local_images: bool,
    allowed_hosts: Vec<String>,
    token_ttl: Option<Duration>,
    rotate_refresh_tokens: bool,
    device_logins: Vec<String>,
    until_stdin_closes: bool,
    help: bool,
}

fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Args, String> {
    let mut out = Args::default();
    let mut it = args.into_iter();
    while let Some(raw) = it.next() {
        let arg = raw
            .into_string()
            .map_err(|a| format!("argument {a:?} is not valid UTF-8"))?;
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it
                    .next()
                    .ok_or_else(|| format!("{name} needs a value"))?
                    .into_string()
                    .map_err(|a| format!("the value of {name}, {a:?}, is not valid UTF-8")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => out.help = true,
            "--port" => {
                let v = value("--port")?;
                out.port = v
                    .parse()
                    .map_err(|_| format!("--port must be a port number (0-65535), not {v:?}"))?;
            }
            "--speed" => {
                let v = value("--speed")?;
                let speed: f64 = v
                    .parse()
                    .map_err(|_| format!("--speed must be a number, not {v:?}"))?;
                if !speed.is_finite() || speed <= 0.0 {
                    return Err(format!("--speed must be a positive number, not {v:?}"));
                }
                out.speed = Some(speed);
            }
            "--api-key" => {
                let v = value("--api-key")?;
                if v.trim().is_empty() || v.chars().any(char::is_whitespace) {
                    return Err("--api-key must be non-empty and contain no spaces".to_owned());
                }
                out.api_key = Some(v);
            }
            "--client-credentials" => {
                let v = value("--client-credentials")?;
                match v.split_once(':') {
                    Some((id, secret))
                        if !id.is_empty()
                            && !secret.is_empty()
                            && !v.chars().any(char::is_whitespace) =>
                    {
                        out.client_credentials = Some((id.to_owned(), secret.to_owned()));
                    }
                    // The value is a secret: never echo it.
                    _ => {
                        return Err("--client-credentials must be ID:SECRET, both non-empty, \
                                    without spaces"
                            .to_owned());
                    }
                }
            }
            "--tasks-apart-from" | "--count-limit" | "--logs-cap" => {
                let name = flag.clone();
                let v = value(&name)?;
                let n: usize = v
                    .parse()
                    .map_err(|_| format!("{name} must be a whole number, not {v:?}"))?;
                match name.as_str() {
                    "--count-limit" => out.count_limit = Some(n),
                    "--logs-cap" => out.logs_cap = Some(n),
                    _ => out.tasks_apart_from = Some(n),
                }
            }
            "--logs-max-window" => {
                let v = value("--logs-max-window")?;
                let secs: u64 = v.parse().map_err(|_| {
                    format!("--logs-max-window must be a whole number of seconds, not {v:?}")
                })?;
                out.logs_max_window = Some(Duration::from_secs(secs));
            }
            "--execution-retention" => {
                let v = value("--execution-retention")?;
                let secs: u64 = v.parse().map_err(|_| {
                    format!("--execution-retention must be a whole number of seconds, not {v:?}")
                })?;
                out.retention = Some(Duration::from_secs(secs));
            }
            "--task-command" => {
                let v = value("--task-command")?;
                match v.split_once('=') {
                    Some((job, command))
                        if !job.trim().is_empty() && !command.trim().is_empty() =>
                    {
                        out.task_commands
                            .push((job.trim().to_owned(), command.to_owned()));
                    }
                    _ => {
                        return Err(format!(
                            "--task-command must be JOB=COMMAND with both non-empty, not {v:?}"
                        ));
                    }
                }
            }
            "--run-local-images" => out.run_local_images = true,
            "--allowed-host" => {
                let v = value("--allowed-host")?;
                if v.trim().is_empty() || v.contains(['/', ' ']) {
                    return Err(format!("--allowed-host must be a host name, not {v:?}"));
                }
                out.allowed_hosts.push(v.trim().to_owned());
            }
            "--token-ttl" => {
                let v = value("--token-ttl")?;
                let secs: u64 = v.parse().map_err(|_| {
                    format!("--token-ttl must be a whole number of seconds, not {v:?}")
                })?;
                out.token_ttl = Some(Duration::from_secs(secs));
            }
            "--rotate-refresh-tokens" => out.rotate_refresh_tokens = true,
            "--device-login" => {
                let v = value("--device-login")?;
                if v.trim().is_empty() {
                    return Err("--device-login needs a workspace name".to_owned());
                }
                out.device_logins.push(v.trim().to_owned());
            }
            "--until-stdin-closes" => out.until_stdin_closes = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args_os().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let mut config = EmulatorConfig::default().port(args.port);
    if let Some(speed) = args.speed {
        config = config.clock(Clock::Scaled(speed));
    }
    if let Some(key) = args.api_key {
        config = config.api_key(key);
    }
    if let Some((id, secret)) = args.client_credentials {
        config = config.client_credentials(id, secret);
    }
    if let Some(n) = args.tasks_apart_from {
        config = config.store_tasks_apart_from(n);
    }
    if let Some(n) = args.logs_cap {
        config = config.logs_cap(n);
    }
    if let Some(max) = args.logs_max_window {
        config = config.logs_max_window(max);
    }
    if let Some(n) = args.count_limit {
        config = config.count_limit(n);
    }
    if let Some(retention) = args.retention {
        config = config.execution_retention(retention);
    }
    for (job, command) in args.task_commands {
        config = config.task_command(job, command);
    }
    config = config.run_local_images(args.run_local_images);
    for host in args.allowed_hosts {
        config = config.allowed_host(host);
    }
    if let Some(ttl) = args.token_ttl {
        config = config.token_ttl(ttl);
    }
    config = config.rotate_refresh_tokens(args.rotate_refresh_tokens);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config, args.device_logins, args.until_stdin_closes))
}

/// Resolves when standard input ends (or cannot be read). The read blocks a
/// thread of its own, which does not hold the runtime up when it stops.
fn stdin_closed() -> tokio::sync::oneshot::Receiver<()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("stdin-watch".to_owned())
        .spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 1024];
            let mut stdin = std::io::stdin().lock();
            while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
            let _ = tx.send(());
        });
    if let Err(e) = spawned {
        // Without the watch, a signal still stops the emulator.
        eprintln!("error: cannot watch standard input: {e}");
    }
    rx
}

async fn run(
    config: EmulatorConfig,
    device_logins: Vec<String>,
    until_stdin_closes: bool,
) -> ExitCode {
    let emu = match Emulator::start_with(config).await {
        Ok(emu) => emu,
        Err(e) => {
            eprintln!("error: cannot start the emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    let url = emu.base_url();
    println!("Blaxel Jobs emulator listening on {url}");
    println!("API key:            {}", emu.api_key());
    println!(
        "OAuth client:       {} / {} (POST {url}/oauth/token)",
        emu.client_id(),
        emu.client_secret()
    );
    for workspace in device_logins {
        let login = emu.device_login(&workspace);
        let line = serde_json::json!({
            "workspace": login.workspace,
            "access_token": login.access_token,
            "refresh_token": login.refresh_token,
            "expires_in": login.expires_in,
            "device_code": login.device_code,
        });
        println!("Device login:       {line}");
    }
    println!();
    println!("Point the SDK at it with:");
    println!("  export BL_API_URL={url}");
    println!("  export BL_API_KEY={}", emu.api_key());
    println!("  export BL_WORKSPACE=default   # any name works");
    println!();
    println!("Press Ctrl-C to stop.");
    let stdin = async {
        if until_stdin_closes && stdin_closed().await.is_ok() {
            return;
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        signal = stop_signal() => match signal {
            Ok(name) => println!("stopping ({name})"),
            Err(e) => eprintln!("error: cannot wait for a signal to stop: {e}; stopping"),
        },
        () = stdin => println!("standard input closed\nstopping"),
    }
    emu.shutdown().await;
    ExitCode::SUCCESS
}

/// Waits for Ctrl-C (SIGINT), SIGTERM (how `kill`, Docker and systemd stop
/// a service) or SIGHUP (a closed terminal); answers its name.
#[cfg(unix)]
async fn stop_signal() -> std::io::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP",
    })
}

/// Waits for Ctrl-C.
#[cfg(not(unix))]
async fn stop_signal() -> std::io::Result<&'static str> {
    tokio::signal::ctrl_c().await.map(|()| "Ctrl-C")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn parses_every_option_in_both_forms() {
        assert_eq!(parse(&[]).unwrap(), Args::default());
        let a = parse(&[
            "--port",
            "8080",
            "--speed=10",
            "--api-key",
            "k",
            "--client-credentials",
            "id:se:cret",
            "--tasks-apart-from",
            "0",
            "--count-limit=500",
            "--execution-retention",
            "3600",
            "--logs-cap",
            "50",
            "--logs-max-window=7200",
        ])
        .unwrap();
        assert_eq!(
            a,
            Args {
                port: 8080,
                speed: Some(10.0),
                api_key: Some("k".into()),
                client_credentials: Some(("id".into(), "se:cret".into())),
                tasks_apart_from: Some(0),
                count_limit: Some(500),
                logs_cap: Some(50),
                logs_max_window: Some(Duration::from_secs(7200)),
                retention: Some(Duration::from_secs(3600)),
                task_commands: Vec::new(),
                run_local_images: false,
                allowed_hosts: Vec::new(),
                token_ttl: None,
                rotate_refresh_tokens: false,
                device_logins: Vec::new(),
                until_stdin_closes: false,
                help: false
            }
        );
        let a = parse(&[
            "--task-command",
            "report=echo a=b",
            "--task-command=other=true",
            "--run-local-images",
            "--allowed-host",
            "dev.box",
            "--allowed-host=other.box",
            "--until-stdin-closes",
        ])
        .unwrap();
        assert_eq!(
            a.task_commands,
            vec![
                ("report".to_owned(), "echo a=b".to_owned()),
                ("other".to_owned(), "true".to_owned())
            ]
        );
        assert!(a.run_local_images && a.until_stdin_closes);
        assert_eq!(a.allowed_hosts, ["dev.box", "other.box"]);
        let a = parse(&[
            "--token-ttl",
            "30",
            "--rotate-refresh-tokens",
            "--device-login",
            "ws-a",
            "--device-login=ws-b",
        ])
        .unwrap();
        assert_eq!(a.token_ttl, Some(Duration::from_secs(30)));
        assert!(a.rotate_refresh_tokens);
        assert_eq!(a.device_logins, vec!["ws-a".to_owned(), "ws-b".to_owned()]);
        assert_eq!(
            parse(&["--execution-retention=0"]).unwrap().retention,
            Some(Duration::ZERO)
        );
        assert_eq!(parse(&["--port=0"]).unwrap().port, 0);
        assert!(parse(&["-h"]).unwrap().help);
    }

    #[test]
    fn rejects_bad_arguments_with_a_message() {
        for (args, needle) in [
            (&["--port"][..], "--port needs a value"),
            (&["--port", "70000"][..], "--port must be a port number"),
            (&["--speed", "fast"][..], "--speed must be a number"),
            (&["--speed", "-1"][..], "positive"),
            (&["--speed", "inf"][..], "positive"),
            (&["--api-key="][..], "--api-key must be non-empty"),
            (&["--client-credentials", "id"][..], "ID:SECRET"),
            (&["--client-credentials", ":s"][..], "ID:SECRET"),
            (&["--client-credentials=id:"][..], "ID:SECRET"),
            (&["--client-credentials", "id:s s"][..], "ID:SECRET"),
            (&["--bogus"][..], "unknown argument"),
            (&["--tasks-apart-from", "-1"][..], "whole number"),
            (&["--count-limit"][..], "--count-limit needs a value"),
            (
                &["--execution-retention", "1.5"][..],
                "--execution-retention must be a whole number",
            ),
            (&["--execution-retention", "-1"][..], "whole number"),
            (&["--task-command", "job"][..], "JOB=COMMAND"),
            (&["--task-command", "=echo"][..], "JOB=COMMAND"),
            (&["--task-command", "job="][..], "JOB=COMMAND"),
            (
                &["--allowed-host", "http://x/"][..],
                "--allowed-host must be a host name",
            ),
            (&["--allowed-host"][..], "--allowed-host needs a value"),
            (&["serve"][..], "unknown argument"),
            (
                &["--token-ttl", "1.5"][..],
                "--token-ttl must be a whole number",
            ),
            (
                &["--device-login", " "][..],
                "--device-login needs a workspace",
            ),
            (&["--device-login"][..], "--device-login needs a value"),
        ] {
            let e = parse(args).unwrap_err();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
    }
}
