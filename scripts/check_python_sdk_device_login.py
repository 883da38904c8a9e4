"""Blaxel's Python SDK against the emulator, logged in with a browser login.

Run by scripts/check-python-sdk-device-login.sh. Usage:

    python check_python_sdk_device_login.py <path to the blaxel-jobs-emulator binary>

Starts the emulator binary with short-lived access tokens, rotated refresh
tokens and a browser login for one workspace (`--device-login`), writes
~/.blaxel/config.yaml in a temporary HOME as `bl login` writes it after a
browser login (access_token, refresh_token, expires_in, device_code), and
lets the SDK configure itself from that file alone: no BL_* variable is
set. The SDK's base URL (held by its client and by its device-mode auth,
which sends the refresh grant there) is the only thing changed. It then
runs all eleven job operations (the checks of check_python_sdk.py) and
asserts that the SDK renewed its token and kept the rotated refresh token.
Exits non-zero on the first failed check.
"""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_python_sdk as base  # noqa: E402  (the operations and helpers)

WORKSPACE = "python-login"
# Shorter than the 10 minutes before expiry at which the Python SDK renews:
# it renews before every request.
TOKEN_TTL = "120"


def read_device_login(proc):
    """The login the emulator printed after its start-up line."""
    for _ in range(20):
        line = proc.stdout.readline()
        if line.startswith("Device login:"):
            return json.loads(line.split(":", 1)[1])
    proc.kill()
    raise SystemExit("the emulator printed no device login")


def write_config(login):
    """~/.blaxel/config.yaml as `bl login` leaves it (Blaxel's Go SDK,
    WriteConfig: no env for production, tokens unquoted)."""
    home = tempfile.mkdtemp(prefix="blaxel-home-")
    os.makedirs(os.path.join(home, ".blaxel"))
    with open(os.path.join(home, ".blaxel", "config.yaml"), "w", encoding="utf-8") as f:
        f.write(
            f"context:\n  workspace: {login['workspace']}\n"
            f"workspaces:\n- name: {login['workspace']}\n  credentials:\n"
            f"    access_token: {login['access_token']}\n"
            f"    refresh_token: {login['refresh_token']}\n"
            f"    expires_in: {login['expires_in']}\n"
            f"    device_code: {login['device_code']}\n"
            "tracking: false\n"
        )
    return home


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    binary = sys.argv[1]
    for name in list(os.environ):
        if name.startswith("BL_") or name == "DO_NOT_TRACK":
            del os.environ[name]

    proc, url = base.start_emulator(
        binary,
        "--token-ttl",
        TOKEN_TTL,
        "--rotate-refresh-tokens",
        "--device-login",
        WORKSPACE,
    )
    try:
        login = read_device_login(proc)
        base.check(login["workspace"] == WORKSPACE, "the emulator issued a browser login")
        os.environ["HOME"] = write_config(login)

        # Imported only now: the SDK reads the config file when imported.
        import blaxel
        from blaxel.core.authentication.devicemode import DeviceMode
        from blaxel.core.common.settings import settings

        print(f"blaxel {blaxel.__version__}")
        if blaxel.__version__ != base.EXPECTED_SDK_VERSION:
            raise SystemExit(f"expected blaxel {base.EXPECTED_SDK_VERSION}, found {blaxel.__version__}")
        auth = settings.auth
        base.check(isinstance(auth, DeviceMode), f"the SDK chose device mode ({type(auth).__name__})")
        base.check(auth.workspace_name == WORKSPACE, "the workspace comes from the file")
        # Where the refresh grant goes: the same base URL as the client's.
        auth.base_url = url

        print("emulator with a browser login:")
        version = base.run_operations(url, False)

        creds = auth.credentials
        base.check(creds.access_token != login["access_token"], "the SDK renewed its access token")
        base.check(
            creds.refresh_token not in (None, "", login["refresh_token"]),
            "and kept the rotated refresh token (the first one is refused now)",
        )
        base.check(creds.device_code == login["device_code"], "the device code is unchanged")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(
        f"PASS: blaxel {blaxel.__version__} (Blaxel-Version {version}) ran all 11 job operations "
        "with a browser login, renewing its token through the refresh grant"
    )


if __name__ == "__main__":
    main()
