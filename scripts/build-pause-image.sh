#!/usr/bin/env bash
# Writes the pod sandbox image, localhost/hotdesk-pause:latest, as a docker-archive tarball that
# `ctr images import` loads: one layer holding the static pause program (src/cluster/pause) as
# /pause, run as nobody. Made by hand because it is one file and no registry is reachable.
#
#   scripts/build-pause-image.sh PAUSE_BINARY OUT.tar
set -euo pipefail
binary=$1 out=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs" "$work/archive"
cp "$binary" "$work/rootfs/pause"
chmod 755 "$work/rootfs/pause"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/rootfs" -cf "$work/layer.tar" pause
layer_sum=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir -p "$work/archive/$layer_sum"
mv "$work/layer.tar" "$work/archive/$layer_sum/layer.tar"
cat > "$work/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:$layer_sum"]}}
JSON
config_sum=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/archive/$config_sum.json"
printf '[{"Config":"%s.json","RepoTags":["localhost/hotdesk-pause:latest"],"Layers":["%s/layer.tar"]}]\n' "$config_sum" "$layer_sum" > "$work/archive/manifest.json"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/archive" -cf "$out" .
echo "$out"
