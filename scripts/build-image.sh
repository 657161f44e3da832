#!/usr/bin/env bash
# Builds the project's image from its Dockerfile (unchanged: it stays the one source of what goes
# in) with buildah, on the registry-free base of build-base-image.sh, and exports it as a
# docker-archive tarball that containerd imports. Cached by content: the tag and the tarball are
# named after a hash of the Dockerfile, .dockerignore and every file the Dockerfile copies, so an
# unchanged tree reuses the tarball and a changed one builds anew. Needs root.
#
#   scripts/build-image.sh      # prints the tarball's path; its image is localhost/hotdesk-operator:<hash>
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/buildah-env.sh"
log() { echo "build-image: $*" >&2; }
tag=$(bash "$ROOT/scripts/with-node.sh" node src/cluster/image-content.ts "$ROOT" "$BASE_IMAGE")
archive="$CACHE_ROOT/images/hotdesk-operator-$tag.tar"
if [ -f "$archive" ]; then echo "$archive"; exit 0; fi

bash "$ROOT/scripts/build-base-image.sh"
started=$(date +%s)
# Where TLS to the npm registry is intercepted, `npm ci` inside the build must trust the host's CA
# bundle. It is mounted for the RUN steps only; nothing of it lands in the image.
mounts=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  npmrc=$(mktemp)
  echo 'cafile=/etc/ssl/certs/ca-certificates.crt' > "$npmrc"
  chmod 644 "$npmrc"
  mounts=(--volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro --volume "$npmrc:/usr/local/etc/npmrc:ro")
fi
# crun refuses this host's hybrid cgroups; runc does not. --layers reuses unchanged stages.
(cd "$ROOT" && nice -n 10 "${BUILDAH[@]}" build --quiet --runtime /usr/sbin/runc --pull=never --network=host --layers \
  --build-arg "NODE_IMAGE=$BASE_IMAGE" "${mounts[@]}" -t "localhost/hotdesk-operator:$tag" . >/dev/null)
[ -n "${npmrc:-}" ] && rm -f "$npmrc"
mkdir -p "$CACHE_ROOT/images"
rm -f "$archive.tmp"
"${BUILDAH[@]}" push --quiet "localhost/hotdesk-operator:$tag" "docker-archive:$archive.tmp:localhost/hotdesk-operator:$tag"
mv "$archive.tmp" "$archive"
# Older builds' tarballs are of no further use.
find "$CACHE_ROOT/images" -name 'hotdesk-operator-*.tar' ! -name "hotdesk-operator-$tag.tar" -delete
log "localhost/hotdesk-operator:$tag built in $(( $(date +%s) - started )) s; $("${BUILDAH[@]}" images --format "{{.Size}}" "localhost/hotdesk-operator:$tag"), archive $(du -h "$archive" | cut -f1)"
echo "$archive"
