# Shared by scripts/check-python-sdk.sh and scripts/check-ts-sdk.sh; sourced,
# never run. Expects to be sourced from the repository's root.

# shellcheck source=scripts/sdk-pins.env
. scripts/sdk-pins.env

target="${CARGO_TARGET_DIR:-target}"
checks_dir="$target/sdk-checks"
mkdir -p "$checks_dir"

# Prints a failure and exits non-zero.
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

# Seconds since the epoch, with tenths, for the phase timings.
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Reuses the throwaway environment in $1 only if it was made for the pins in
# $2 (a string); otherwise empties it. Returns 0 when it can be reused.
reuse_env() {
  local dir="$1" stamp="$2"
  if [ -f "$dir/.pins" ] && [ "$(cat "$dir/.pins")" = "$stamp" ]; then
    return 0
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  return 1
}

# Builds the emulator binary as the README's test command (`cargo test
# --workspace`) builds it, and prints its path. After that command (as in
# .ci/run) there is nothing left to build; a build of the emulator alone would
# resolve other features (the tests' dev-dependencies') and recompile tokio
# and what depends on it, about 20 s on 2 cores.
build_emulator() {
  local artifacts binary
  artifacts=$(cargo test --quiet --locked --workspace --no-run \
    --message-format=json-render-diagnostics) || fail "cannot build the emulator binary"
  # The binary target itself, not the unit tests of its main.rs.
  binary=$(printf '%s\n' "$artifacts" | grep '"reason":"compiler-artifact"' |
    grep '"kind":\["bin"\],"crate_types":\["bin"\],"name":"blaxel-jobs-emulator"' |
    grep '"test":false' | grep -o '"executable":"[^"]*"' | head -n 1 | cut -d '"' -f 4)
  [ -n "$binary" ] && [ -x "$binary" ] || fail "cargo did not report the emulator binary"
  printf '%s\n' "$binary"
}
