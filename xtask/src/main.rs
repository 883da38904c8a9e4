use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <command>

Commands:
  codegen [--check]   Generate the client, its tables of operations and API
                      versions, its open enums, the mocks and the emulator's
                      JSON copy from openapi/jobs.yaml.
                      --check regenerates in memory and fails with a diff when a
                      checked-in file is stale.
  spec-diff <FILE> [--ours <FILE>] [--deviations <FILE>]
                      Compare openapi/jobs.yaml with an upstream Blaxel
                      control-plane document (its operations tagged `jobs` or
                      under /jobs, their response headers, and every schema
                      they reach; the report lists what is not compared).
                      Prints each difference with a
                      stable key, marks the ones listed in
                      openapi/deviations.yaml as known, and fails on any other
                      difference and on listed deviations that no longer occur.
                      Adopting an upstream change: run spec-diff, edit
                      openapi/, run `cargo xtask codegen`.
  build-cost [--variant NAME]... [--variants] [--task] [--task-variant NAME]...
             [--reference] [--timings] [--keep]
                      Clean debug build, in a fresh temporary target dir, of a
                      tiny binary that depends on blaxel-jobs and calls GetJob:
                      wall time, user+sys CPU, crates compiled, packages in the
                      tree. Variants: default, no-tls, http2, aws-lc-rs
                      (--variants: all). --task measures instead (or as well,
                      with --variant) a minimal task program on
                      blaxel-jobs-task, in its variants default and no-tls
                      (--task-variant picks one). --reference also builds the same
                      program on aws-sdk-batch + aws-config. --timings keeps
                      cargo's timings report under target/build-cost/ and
                      lists the slowest units.
  help                Show this text.

Before generating, the document is checked for what progenitor cannot handle:
an OpenAPI version other than 3.0.x, missing or duplicate operationIds, more
than one request media type, multipart bodies, cookie parameters, and more
than one success or error type per operation. The list of API versions
(info.x-blaxel-api-versions) must name each version once, oldest first, with
pagedLists and changes, and include info.version, the default.
Every operation needs x-blaxel-retry (idempotent, not-idempotent, or
idempotent-with-client-token with x-blaxel-client-token naming a request-body
property); every open enum needs x-enum-descriptions, one per value, and its
x-blaxel-final, if any, lists only its own values. The
generator (progenitor, pinned exactly in xtask/Cargo.toml), the workspace's
progenitor-client requirement and Cargo.lock must agree on one version.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = xtask::workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("codegen") => {
            let check = args[1..].iter().any(|a| a == "--check");
            match args[1..].iter().find(|a| *a != "--check") {
                Some(other) => Err(format!("codegen: unknown argument `{other}`")),
                None => xtask::codegen::run(&root, check),
            }
        }
        Some("spec-diff") => xtask::spec_diff::Inputs::from_args(&root, &args[1..])
            .and_then(|inputs| xtask::spec_diff::run(&inputs)),
        Some("build-cost") => xtask::build_cost::Options::from_args(&args[1..])
            .and_then(|opts| xtask::build_cost::run(&root, &opts)),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
