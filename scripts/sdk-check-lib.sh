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

# Builds the emulator binary and prints its path.
build_emulator() {
  cargo build --quiet --locked -p blaxel-jobs-emulator --bin blaxel-jobs-emulator >&2 ||
    fail "cannot build the emulator binary"
  local binary="$target/debug/blaxel-jobs-emulator"
  case "$binary" in /*) ;; *) binary="$PWD/$binary" ;; esac
  printf '%s\n' "$binary"
}
