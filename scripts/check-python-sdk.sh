#!/usr/bin/env bash
# Checks the emulator binary with Blaxel's official Python SDK (`blaxel` at
# the version pinned in scripts/sdk-pins.env), installed into a throwaway
# virtual environment under the Cargo target directory. CI runs it
# (.ci/run); what it covers is in scripts/check_python_sdk.py.
#
#   scripts/check-python-sdk.sh
#
# Needs python3 (3.10 or later) with venv, cargo, and PyPI: when the package
# index cannot be reached the check says so and fails (it never skips). The
# emulator is built as `cargo test --workspace` builds it (nothing to do
# after that command, as in .ci/run; the whole test build otherwise).
# The environment is reused while the pins are unchanged; delete
# $CARGO_TARGET_DIR/sdk-checks (or target/sdk-checks) for a cold run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/sdk-check-lib.sh

command -v python3 >/dev/null || fail "python3 is not installed; the Python SDK check needs Python 3.10 or later"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
  fail "python3 is $(python3 -V 2>&1); the Python SDK check needs 3.10 or later"

venv="$checks_dir/python"
stamp="blaxel==$BLAXEL_PYTHON_SDK pip==$PIP before=$SDK_DEPS_BEFORE $(python3 -V 2>&1)"
started=$(now)
if reuse_env "$venv" "$stamp"; then
  echo "blaxel $BLAXEL_PYTHON_SDK: reusing $venv"
else
  echo "blaxel $BLAXEL_PYTHON_SDK: installing into a new virtual environment, $venv"
  python3 -m venv "$venv" || fail "python3 -m venv failed (on Debian and Ubuntu: apt-get install python3-venv)"
  pip_install() {
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      --timeout 30 --retries 2 "$@"
  }
  if ! pip_install "pip==$PIP" || ! pip_install --uploaded-prior-to "$SDK_DEPS_BEFORE" "blaxel==$BLAXEL_PYTHON_SDK"; then
    fail "could not install blaxel==$BLAXEL_PYTHON_SDK (and pip==$PIP) from the package index" \
      "(PyPI, https://pypi.org, unless PIP_INDEX_URL names another). This check needs it and does" \
      "not skip: see pip's messages above."
  fi
  printf '%s' "$stamp" >"$venv/.pins"
fi
echo "  (environment ready in $(since "$started")s)"

started=$(now)
binary=$(build_emulator)
echo "  (emulator built in $(since "$started")s)"

started=$(now)
EXPECTED_BLAXEL_VERSION="$BLAXEL_PYTHON_SDK" "$venv/bin/python" scripts/check_python_sdk.py "$binary"
echo "  (checks ran in $(since "$started")s)"
