#!/usr/bin/env bash
# Runs a command with a supported Node (>= 22.19, Node 24 preferred) first on PATH and the project's
# dependencies installed. Machines here ship Node 20, which is past end of life, so a Node 24 build
# is taken from the npm registry (package "node") into a cache outside the clone. Idempotent.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_MAJOR="${HOTDESK_NODE_MAJOR:-24}"
CACHE_ROOT="${HOTDESK_CACHE_DIR:-$HOME/.cache/hotdesk-operator}"
NODE_PREFIX="$CACHE_ROOT/node-$NODE_MAJOR"

node_ok() { # is the node on PATH recent enough?
  command -v node >/dev/null 2>&1 && node -e '
    const [a,b]=process.versions.node.split(".").map(Number);
    process.exit(a>22||(a===22&&b>=19)?0:1)' 2>/dev/null
}

if ! node_ok; then
  if [ ! -x "$NODE_PREFIX/node_modules/node/bin/node" ]; then
    echo "with-node: installing Node $NODE_MAJOR from the npm registry into $NODE_PREFIX" >&2
    mkdir -p "$NODE_PREFIX"
    (cd "$NODE_PREFIX" && npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$NODE_PREFIX" "node@$NODE_MAJOR" >&2)
  fi
  export PATH="$NODE_PREFIX/node_modules/node/bin:$PATH"
fi

# Install dependencies when the lockfile changed since the last install.
stamp="$ROOT/node_modules/.hotdesk-lock-stamp"
lock_sum=$( { cat "$ROOT/package.json" "$ROOT/package-lock.json" 2>/dev/null || true; } | sha256sum | cut -d" " -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  echo "with-node: installing npm dependencies" >&2
  if [ -f "$ROOT/package-lock.json" ]; then
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2)
  else
    (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error >&2)
  fi
  lock_sum=$( { cat "$ROOT/package.json" "$ROOT/package-lock.json" 2>/dev/null || true; } | sha256sum | cut -d" " -f1)
  echo "$lock_sum" > "$stamp"
fi
export PATH="$ROOT/node_modules/.bin:$PATH"
cd "$ROOT"
exec "$@"
