//! `cargo xtask build-cost`: what a user pays, in a clean debug build, for a
//! small binary that depends on `blaxel-jobs` and makes one GetJob call.
//!
//! The binary crate is written into a temporary directory, depends on
//! `crates/blaxel-jobs` by path and on tokio (`rt-multi-thread`, `macros`),
//! and is built with a fresh target directory of its own, so nothing is
//! shared with the workspace's `target/`. The workspace's `Cargo.lock` is
//! copied beside it, so the versions built are the ones the workspace
//! tests. Downloads happen before the clock starts (`cargo fetch`).
//!
//! Each build reports its wall time, the user and system CPU time of cargo
//! and every compiler it ran (the children's times of this process, from
//! `/proc/self/stat`, as `getrusage(RUSAGE_CHILDREN)` would give them), the
//! number of crates compiled (`Compiling` lines) and the number of distinct
//! packages in `cargo tree -e normal`. `--timings` also keeps cargo's
//! timings report and lists the units that took longest.
//!
//! Variants measure the features: `default` (rustls with ring), `no-tls`
//! (`default-features = false`, plain HTTP only), `http2` (default plus
//! `http2`), `aws-lc-rs` (rustls with the aws-lc-rs provider instead of
//! ring). `--reference` builds the same program written against
//! `aws-sdk-batch` and `aws-config` (from crates.io, newest versions) in the
//! same run, so the two numbers can be compared.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The options of `cargo xtask build-cost`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The variants of the SDK build to measure, in order.
    pub variants: Vec<Variant>,
    /// The variants of the task program to measure, in order.
    pub task_variants: Vec<TaskVariant>,
    /// Also build the AWS SDK reference.
    pub reference: bool,
    /// Keep cargo's timings report and list the slowest units.
    pub timings: bool,
    /// Keep the temporary directory (its path is printed).
    pub keep: bool,
}

/// A feature set of `blaxel-jobs` to build with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Default features: HTTPS with rustls and ring.
    Default,
    /// `default-features = false`: no TLS, plain HTTP only.
    NoTls,
    /// Default features plus `http2`.
    Http2,
    /// `rustls-aws-lc-rs` instead of the default: rustls with aws-lc-rs.
    AwsLcRs,
}

impl Variant {
    /// Every variant, in the order `--variants` measures them.
    pub const ALL: [Variant; 4] = [
        Variant::Default,
        Variant::NoTls,
        Variant::Http2,
        Variant::AwsLcRs,
    ];

    /// The variant's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Default => "default",
            Variant::NoTls => "no-tls",
            Variant::Http2 => "http2",
            Variant::AwsLcRs => "aws-lc-rs",
        }
    }

    /// The variant with this name.
    pub fn parse(name: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The dependency line's feature settings, after the path.
    fn dependency_features(self) -> &'static str {
        match self {
            Variant::Default => "",
            Variant::NoTls => ", default-features = false",
            Variant::Http2 => ", features = [\"http2\"]",
            Variant::AwsLcRs => ", default-features = false, features = [\"rustls-aws-lc-rs\"]",
        }
    }
}

/// A feature set of `blaxel-jobs-task` to build the task program with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskVariant {
    /// Default features: HTTPS with rustls and ring.
    Default,
    /// `default-features = false`: plain HTTP only.
    NoTls,
}

impl TaskVariant {
    /// Every variant, in the order `--task` measures them.
    pub const ALL: [TaskVariant; 2] = [TaskVariant::Default, TaskVariant::NoTls];

    /// The variant's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TaskVariant::Default => "default",
            TaskVariant::NoTls => "no-tls",
        }
    }

    /// The variant with this name.
    pub fn parse(name: &str) -> Option<TaskVariant> {
        TaskVariant::ALL.into_iter().find(|v| v.name() == name)
    }

    fn dependency_features(self) -> &'static str {
        match self {
            TaskVariant::Default => "",
            TaskVariant::NoTls => ", default-features = false",
        }
    }
}

impl Options {
    /// Parses the arguments after `build-cost`.
    pub fn from_args(args: &[String]) -> Result<Options, String> {
        let mut opts = Options {
            variants: Vec::new(),
            task_variants: Vec::new(),
            reference: false,
            timings: false,
            keep: false,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--reference" => opts.reference = true,
                "--timings" => opts.timings = true,
                "--keep" => opts.keep = true,
                "--variants" => opts.variants = Variant::ALL.to_vec(),
                "--task" => opts.task_variants = TaskVariant::ALL.to_vec(),
                "--task-variant" => {
                    let name = it.next().ok_or("build-cost: --task-variant needs a name")?;
                    let v = TaskVariant::parse(name).ok_or_else(|| {
                        format!(
                            "build-cost: unknown task variant `{name}` (expected one of {})",
                            TaskVariant::ALL.map(TaskVariant::name).join(", ")
                        )
                    })?;
                    if !opts.task_variants.contains(&v) {
                        opts.task_variants.push(v);
                    }
                }
                "--variant" => {
                    let name = it.next().ok_or("build-cost: --variant needs a name")?;
                    let v = Variant::parse(name).ok_or_else(|| {
                        format!(
                            "build-cost: unknown variant `{name}` (expected one of {})",
                            Variant::ALL.map(Variant::name).join(", ")
                        )
                    })?;
                    if !opts.variants.contains(&v) {
                        opts.variants.push(v);
                    }
                }
                other => return Err(format!("build-cost: unknown argument `{other}`")),
            }
        }
        if opts.variants.is_empty() && opts.task_variants.is_empty() {
            opts.variants.push(Variant::Default);
        }
        Ok(opts)
    }
}

/// A binary crate to build: its manifest and `src/main.rs`.
#[derive(Debug, Clone)]
pub struct Project {
    /// A short label for reports (also the directory name).
    pub label: String,
    /// `Cargo.toml`.
    pub manifest: String,
    /// `src/main.rs`.
    pub main_rs: String,
    /// A `Cargo.lock` to start from, if any.
    pub lockfile: Option<PathBuf>,
}

const SDK_MAIN: &str = r#"//! One GetJob call with the blaxel-jobs SDK.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = blaxel_jobs::Client::from_env()?;
    let job = client.job("nightly-report").get().send().await?;
    println!("{:?}", job.status);
    Ok(())
}
"#;

const TASK_MAIN: &str = r#"//! A minimal task: typed parameters, one log line, an exit code.
#[derive(serde::Deserialize)]
struct Params {
    table: String,
    limit: Option<u32>,
}

fn main() -> std::process::ExitCode {
    blaxel_jobs_task::run(|task: blaxel_jobs_task::Task<Params>| async move {
        let p = task.params();
        tracing::info!(table = %p.table, limit = ?p.limit, "exporting");
        Ok::<(), blaxel_jobs_task::BoxError>(())
    })
}
"#;

const REFERENCE_MAIN: &str = r#"//! The same call with the AWS SDK for Batch.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_batch::Client::new(&config);
    let out = client
        .describe_job_definitions()
        .job_definition_name("nightly-report")
        .send()
        .await?;
    println!("{:?}", out.job_definitions());
    Ok(())
}
"#;

fn manifest(name: &str, dependencies: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         # Its own workspace, whatever directory it is in.\n[workspace]\n\n\
         [dependencies]\n{dependencies}\
         tokio = {{ version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }}\n"
    )
}

/// The downstream binary that uses `blaxel-jobs` from the workspace at `root`.
pub fn sdk_project(root: &Path, variant: Variant) -> Project {
    let path = root.join("crates/blaxel-jobs");
    let dependency = format!(
        "blaxel-jobs = {{ path = {:?}{} }}\n",
        path.display().to_string(),
        variant.dependency_features()
    );
    Project {
        label: format!("blaxel-jobs-{}", variant.name()),
        manifest: manifest("build-cost-sdk", &dependency),
        main_rs: SDK_MAIN.into(),
        lockfile: Some(root.join("Cargo.lock")),
    }
}

/// The minimal task program on `blaxel-jobs-task` from the workspace at
/// `root`: no tokio of its own (the crate starts its runtime), serde for
/// the parameter type and tracing for its log line.
pub fn task_project(root: &Path, variant: TaskVariant) -> Project {
    let path = root.join("crates/blaxel-jobs-task");
    let dependencies = format!(
        "blaxel-jobs-task = {{ path = {:?}{} }}\n\
         serde = {{ version = \"1\", features = [\"derive\"] }}\n\
         tracing = {{ version = \"0.1\", default-features = false, features = [\"std\"] }}\n",
        path.display().to_string(),
        variant.dependency_features()
    );
    Project {
        label: format!("blaxel-jobs-task-{}", variant.name()),
        manifest: format!(
            "[package]\nname = \"build-cost-task\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             # Its own workspace, whatever directory it is in.\n[workspace]\n\n\
             [dependencies]\n{dependencies}"
        ),
        main_rs: TASK_MAIN.into(),
        lockfile: Some(root.join("Cargo.lock")),
    }
}

/// The reference binary on `aws-sdk-batch` and `aws-config`.
pub fn reference_project() -> Project {
    Project {
        label: "aws-sdk-batch-reference".into(),
        manifest: manifest(
            "build-cost-reference",
            "aws-config = \"1\"\naws-sdk-batch = \"1\"\n",
        ),
        main_rs: REFERENCE_MAIN.into(),
        lockfile: None,
    }
}

/// What one clean build cost.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The project's label.
    pub label: String,
    /// Wall-clock time of `cargo build`.
    pub wall: Duration,
    /// User CPU time of cargo and everything it ran.
    pub user: Duration,
    /// System CPU time of cargo and everything it ran.
    pub system: Duration,
    /// `Compiling` lines: units of distinct packages compiled.
    pub compiled: usize,
    /// Distinct packages in `cargo tree -e normal`.
    pub tree: usize,
    /// `/proc/loadavg` before and after the build.
    pub load: (String, String),
    /// The slowest units from the timings report, when asked for.
    pub slowest: Vec<(String, f64)>,
}

/// Counts cargo's `Compiling <name> <version>` lines.
pub fn count_compiled(stderr: &str) -> usize {
    stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("Compiling "))
        .count()
}

/// Counts the distinct packages printed by `cargo tree --prefix none`
/// (lines that repeat a package already shown end with ` (*)`).
pub fn count_tree(tree: &str) -> usize {
    let mut seen: Vec<&str> = tree
        .lines()
        .map(|l| l.trim().trim_end_matches("(*)").trim())
        .filter(|l| !l.is_empty())
        .collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// Parses the children's user and system times (fields 16 and 17, in clock
/// ticks) out of a `/proc/<pid>/stat` line.
pub fn parse_children_ticks(stat: &str) -> Option<(u64, u64)> {
    // The command (field 2) is in parentheses and may contain spaces; the
    // text after it starts at field 3.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let cutime = fields.nth(13)?.parse().ok()?;
    let cstime = fields.next()?.parse().ok()?;
    Some((cutime, cstime))
}

fn ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|t| *t > 0)
        .unwrap_or(100)
}

/// User and system time of this process's finished children so far.
fn children_times(tick: u64) -> Result<(Duration, Duration), String> {
    let stat = std::fs::read_to_string("/proc/self/stat")
        .map_err(|e| format!("cannot read /proc/self/stat (Linux only): {e}"))?;
    let (u, s) = parse_children_ticks(&stat).ok_or("cannot parse /proc/self/stat")?;
    let nanos = |ticks: u64| Duration::from_nanos(ticks.saturating_mul(1_000_000_000 / tick));
    Ok((nanos(u), nanos(s)))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The units of a cargo timings report (`cargo-timing.html`), slowest
/// first: `name version (target)` and seconds.
pub fn parse_timings(html: &str) -> Vec<(String, f64)> {
    let Some(start) = html.find("UNIT_DATA = ") else {
        return Vec::new();
    };
    let rest = &html[start + "UNIT_DATA = ".len()..];
    let mut de = serde_json::Deserializer::from_str(rest).into_iter::<serde_json::Value>();
    let Some(Ok(serde_json::Value::Array(units))) = de.next() else {
        return Vec::new();
    };
    let mut out: Vec<(String, f64)> = units
        .iter()
        .filter_map(|u| {
            let name = u.get("name")?.as_str()?;
            let version = u.get("version").and_then(|v| v.as_str()).unwrap_or("");
            let target = u.get("target").and_then(|v| v.as_str()).unwrap_or("");
            let duration = u.get("duration")?.as_f64()?;
            Some((format!("{name} {version}{target}"), duration))
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// A cargo command in `dir` with `target` as its target directory.
fn cargo_in(dir: &Path, target: &Path) -> Command {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .env("CARGO_TERM_COLOR", "never");
    cmd
}

/// Writes `project` under `scratch` and measures its clean debug build.
pub fn measure(
    project: &Project,
    scratch: &Path,
    timings: bool,
    keep_report: Option<&Path>,
) -> Result<Measurement, String> {
    let dir = scratch.join(&project.label);
    let target = dir.join("target");
    std::fs::create_dir_all(dir.join("src"))
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::write(dir.join("Cargo.toml"), &project.manifest)
        .and_then(|()| std::fs::write(dir.join("src/main.rs"), &project.main_rs))
        .map_err(|e| format!("cannot write the project in {}: {e}", dir.display()))?;
    if let Some(lock) = &project.lockfile {
        std::fs::copy(lock, dir.join("Cargo.lock"))
            .map_err(|e| format!("cannot copy {}: {e}", lock.display()))?;
    }

    eprintln!("[{}] fetching dependencies", project.label);
    let fetch = cargo_in(&dir, &target)
        .arg("fetch")
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !fetch.status.success() {
        return Err(format!(
            "[{}] cargo fetch failed:\n{}",
            project.label,
            String::from_utf8_lossy(&fetch.stderr)
        ));
    }

    let tick = ticks_per_second();
    let load_before = loadavg();
    eprintln!("[{}] building (load average {load_before})", project.label);
    let (user0, sys0) = children_times(tick)?;
    let started = Instant::now();
    let mut build = cargo_in(&dir, &target);
    build.arg("build");
    if timings {
        build.arg("--timings");
    }
    let output = build
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let wall = started.elapsed();
    let (user1, sys1) = children_times(tick)?;
    let load_after = loadavg();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("[{}] cargo build failed:\n{stderr}", project.label));
    }

    let tree = cargo_in(&dir, &target)
        .args(["tree", "-e", "normal", "--prefix", "none"])
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;

    let mut slowest = Vec::new();
    if timings {
        let report = target.join("cargo-timings/cargo-timing.html");
        if let Ok(html) = std::fs::read_to_string(&report) {
            slowest = parse_timings(&html);
            if let Some(dest) = keep_report {
                let _ = std::fs::create_dir_all(dest);
                let to = dest.join(format!("{}-cargo-timing.html", project.label));
                if std::fs::copy(&report, &to).is_ok() {
                    eprintln!("[{}] timings report: {}", project.label, to.display());
                }
            }
        }
    }

    Ok(Measurement {
        label: project.label.clone(),
        wall,
        user: user1.saturating_sub(user0),
        system: sys1.saturating_sub(sys0),
        compiled: count_compiled(&stderr),
        tree: count_tree(&String::from_utf8_lossy(&tree.stdout)),
        load: (load_before, load_after),
        slowest,
    })
}

/// Formats measurements as a Markdown table.
pub fn table(rows: &[Measurement]) -> String {
    let mut out = String::from(
        "| build | wall s | user s | sys s | crates compiled | packages in tree (-e normal) | load before → after |\n\
         |---|---:|---:|---:|---:|---:|---|\n",
    );
    for m in rows {
        out.push_str(&format!(
            "| {} | {:.1} | {:.1} | {:.1} | {} | {} | {} → {} |\n",
            m.label,
            m.wall.as_secs_f64(),
            m.user.as_secs_f64(),
            m.system.as_secs_f64(),
            m.compiled,
            m.tree,
            m.load.0,
            m.load.1
        ));
    }
    out
}

/// `cargo xtask build-cost` on the workspace at `root`.
pub fn run(root: &Path, opts: &Options) -> Result<(), String> {
    let scratch =
        std::env::temp_dir().join(format!("blaxel-jobs-build-cost-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let reports = root.join("target/build-cost");

    let mut projects: Vec<Project> = opts
        .variants
        .iter()
        .map(|&v| sdk_project(root, v))
        .chain(opts.task_variants.iter().map(|&v| task_project(root, v)))
        .collect();
    if opts.reference {
        projects.push(reference_project());
    }
    let mut rows = Vec::new();
    let mut result = Ok(());
    for p in &projects {
        match measure(p, &scratch, opts.timings, Some(&reports)) {
            Ok(m) => {
                // The target directory is large; free it before the next build.
                let _ = std::fs::remove_dir_all(scratch.join(&p.label).join("target"));
                rows.push(m);
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if opts.keep {
        eprintln!("kept {}", scratch.display());
    } else {
        let _ = std::fs::remove_dir_all(&scratch);
    }

    if !rows.is_empty() {
        println!("{}", table(&rows));
    }
    if opts.timings {
        for m in &rows {
            println!("slowest units of {}:", m.label);
            for (unit, secs) in m.slowest.iter().take(12) {
                println!("  {secs:>6.1} s  {unit}");
            }
            println!();
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_select_variants_and_the_reference() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let o = Options::from_args(&[]).unwrap();
        assert_eq!(o.variants, [Variant::Default]);
        assert!(!o.reference);
        let o = Options::from_args(&args(&["--variant", "no-tls", "--reference"])).unwrap();
        assert_eq!(o.variants, [Variant::NoTls]);
        assert!(o.reference);
        assert_eq!(
            Options::from_args(&args(&["--variants"])).unwrap().variants,
            Variant::ALL
        );
        assert!(Options::from_args(&args(&["--variant", "nope"])).is_err());
        assert!(Options::from_args(&args(&["--frobnicate"])).is_err());
        let o = Options::from_args(&args(&["--task"])).unwrap();
        assert_eq!(o.task_variants, TaskVariant::ALL);
        assert!(o.variants.is_empty(), "--task alone measures only the task");
        let o = Options::from_args(&args(&["--task-variant", "no-tls", "--variant", "default"]))
            .unwrap();
        assert_eq!(
            (o.task_variants, o.variants),
            (vec![TaskVariant::NoTls], vec![Variant::Default])
        );
        assert!(Options::from_args(&args(&["--task-variant", "http2"])).is_err());
    }

    #[test]
    fn compiling_lines_and_tree_packages_are_counted() {
        let stderr = "   Compiling libc v0.2.1\n    Updating index\n   Compiling tokio v1.0.0\n    Finished `dev` profile";
        assert_eq!(count_compiled(stderr), 2);
        let tree = "app v0.0.0 (/tmp/x)\ntokio v1.0.0\nbytes v1.0.0\nbytes v1.0.0 (*)\n\n";
        assert_eq!(count_tree(tree), 3);
    }

    #[test]
    fn children_times_are_fields_16_and_17() {
        let stat = "42 (cargo xtask) S 1 42 42 0 -1 0 10 20 0 0 5 6 700 80 20 0 1 0 1 1 1";
        assert_eq!(parse_children_ticks(stat), Some((700, 80)));
    }

    #[test]
    fn timings_units_are_listed_slowest_first() {
        let html = r#"<script>
const UNIT_DATA = [{"i":0,"name":"ring","version":"0.17.14","mode":"todo","target":"","start":0.1,"duration":9.5},
{"i":1,"name":"blaxel-jobs-client","version":"0.1.0","mode":"todo","target":"","start":3.0,"duration":12.25}];
const CONCURRENCY_DATA = [];
</script>"#;
        let units = parse_timings(html);
        assert_eq!(units[0], ("blaxel-jobs-client 0.1.0".to_string(), 12.25));
        assert_eq!(units[1].0, "ring 0.17.14");
        assert!(parse_timings("<html></html>").is_empty());
    }

    #[test]
    fn the_sdk_project_depends_on_the_workspace_crate_by_path() {
        let p = sdk_project(Path::new("/ws"), Variant::NoTls);
        assert!(p.manifest.contains("path = \"/ws/crates/blaxel-jobs\""));
        assert!(p.manifest.contains("default-features = false"));
        assert!(p.manifest.contains("[workspace]"));
        assert!(p.main_rs.contains(".get().send()"));
        assert_eq!(p.lockfile.as_deref(), Some(Path::new("/ws/Cargo.lock")));
        assert!(reference_project().manifest.contains("aws-sdk-batch"));
        let t = task_project(Path::new("/ws"), TaskVariant::NoTls);
        assert!(
            t.manifest
                .contains("path = \"/ws/crates/blaxel-jobs-task\", default-features = false")
        );
        assert!(
            !t.manifest.contains("tokio"),
            "the task crate brings its own runtime"
        );
        assert!(!t.manifest.contains("blaxel-jobs ="));
        assert!(t.main_rs.contains("blaxel_jobs_task::run("));
    }
}
