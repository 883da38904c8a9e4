#!/usr/bin/env bash
# Checks that Blaxel's official Python SDK works against the emulator with
# a browser login (`bl login`'s device mode): the emulator issues a login,
# the check writes ~/.blaxel/config.yaml (in a temporary HOME) as `bl login`
# does, and the SDK, configured by that file alone, runs all eleven job
# operations while renewing its access token through the refresh grant
# (refresh tokens rotated). Not run by CI (it needs PyPI); run it by hand
# after changing the emulator's token endpoint or the device-login code.
#
#   scripts/check-python-sdk-device-login.sh   # blaxel 0.4.24 in target/python-sdk-venv
#   BLAXEL_VERSION=0.4.25 scripts/check-python-sdk-device-login.sh
#
# Needs python3 (3.10 or later) with venv, and cargo. Shares its venv and
# helpers with scripts/check-python-sdk.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${BLAXEL_VERSION:-0.4.24}"
target="${CARGO_TARGET_DIR:-target}"
venv="${PYTHON_SDK_VENV:-$target/python-sdk-venv}"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import blaxel, sys; sys.exit(blaxel.__version__ != '$version')" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "blaxel==$version"
fi

cargo build --quiet --locked -p blaxel-jobs-emulator --bin blaxel-jobs-emulator
binary="$target/debug/blaxel-jobs-emulator"

EXPECTED_BLAXEL_VERSION="$version" "$venv/bin/python" scripts/check_python_sdk_device_login.py "$binary"
