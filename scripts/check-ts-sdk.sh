#!/usr/bin/env bash
# Checks the emulator binary with Blaxel's official TypeScript SDK
# (`@blaxel/core` at the version pinned in scripts/sdk-pins.env), installed
# with npm into a throwaway folder under the Cargo target directory. The check
# (scripts/ts-sdk-check/) is compiled there with the pinned TypeScript against
# the SDK's own declarations, then run with Node. CI runs it (.ci/run).
#
#   scripts/check-ts-sdk.sh
#
# Needs Node 18 or later with npm, cargo, and the npm registry: when it cannot
# be reached the check says so and fails (it never skips). The emulator is
# built as `cargo test --workspace` builds it (nothing to do after that
# command, as in .ci/run; the whole test build otherwise). The folder is
# reused while the pins are unchanged; delete $CARGO_TARGET_DIR/sdk-checks
# (or target/sdk-checks) for a cold run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/sdk-check-lib.sh

command -v node >/dev/null && command -v npm >/dev/null ||
  fail "node and npm are not installed; the TypeScript SDK check needs Node 18 or later"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 18 ? 1 : 0)' ||
  fail "node is $(node --version); the TypeScript SDK check needs Node 18 or later"

dir="$checks_dir/typescript"
stamp="@blaxel/core@$BLAXEL_TS_SDK typescript@$TYPESCRIPT @types/node@$TYPES_NODE before=$SDK_DEPS_BEFORE node $(node --version)"
started=$(now)
if reuse_env "$dir" "$stamp"; then
  echo "@blaxel/core $BLAXEL_TS_SDK: reusing $dir"
else
  echo "@blaxel/core $BLAXEL_TS_SDK: installing into a new folder, $dir"
  cat >"$dir/package.json" <<JSON
{
  "private": true,
  "name": "blaxel-ts-sdk-check",
  "dependencies": {
    "@blaxel/core": "$BLAXEL_TS_SDK",
    "typescript": "$TYPESCRIPT",
    "@types/node": "$TYPES_NODE"
  }
}
JSON
  # --ignore-scripts: nothing from the registry runs at install time.
  if ! (cd "$dir" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error \
    --fetch-retries=2 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000 \
    --fetch-timeout=30000 --before="$SDK_DEPS_BEFORE"); then
    fail "could not install @blaxel/core@$BLAXEL_TS_SDK, typescript@$TYPESCRIPT and" \
      "@types/node@$TYPES_NODE from the npm registry ($(npm config get registry)). This check" \
      "needs it and does not skip: see npm's messages above."
  fi
  printf '%s' "$stamp" >"$dir/.pins"
fi
echo "  (environment ready in $(since "$started")s)"

started=$(now)
binary=$(build_emulator)
echo "  (emulator built in $(since "$started")s)"

started=$(now)
rm -rf "$dir/out"
cp scripts/ts-sdk-check/*.ts scripts/ts-sdk-check/tsconfig.json "$dir/"
"$dir/node_modules/.bin/tsc" -p "$dir/tsconfig.json" ||
  fail "the check does not compile against @blaxel/core $BLAXEL_TS_SDK's declarations (tsc's messages above)"
echo "  (compiled with TypeScript $TYPESCRIPT in $(since "$started")s)"

started=$(now)
EXPECTED_BLAXEL_TS_VERSION="$BLAXEL_TS_SDK" node "$dir/out/check.js" "$binary"
echo "  (checks ran in $(since "$started")s)"
