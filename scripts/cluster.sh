#!/usr/bin/env bash
# `npm run cluster`: the operator as shipped, on a one-node Kubernetes on this machine. Builds what
# is missing (node binaries, the image from the Dockerfile), starts the cluster (unless it runs),
# installs the chart with the built image, applies config/samples and waits until the samples'
# edge pods are Available. Then prints how to reach it. `npm run cluster:stop` stops it all.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/cluster-env.sh"
log() { echo "cluster: $*" >&2; }
[ "$(id -u)" -eq 0 ] || { log "needs root (network namespace, mounts, cgroups); try: sudo npm run cluster"; exit 1; }
started=$(date +%s)
archive=$(bash "$ROOT/scripts/build-image.sh")
tag=$(basename "$archive" .tar); tag=${tag#hotdesk-operator-}
if [ ! -e "/run/netns/$NETNS" ]; then
  bash "$ROOT/scripts/cluster-up.sh" "$archive" >/dev/null
else
  ctr -a "$STATE/containerd/state/containerd.sock" -n k8s.io images import "$archive" >/dev/null
fi
K=(bash "$ROOT/scripts/cluster-kubectl.sh")
"${K[@]}" helm upgrade --install hotdesk "$ROOT/charts/hotdesk-operator" --namespace hotdesk-system --create-namespace \
  --set image.repository=localhost/hotdesk-operator --set "image.tag=$tag" --set image.pullPolicy=Never \
  --wait --timeout 5m >/dev/null
log "chart installed, controller Ready after $(( $(date +%s) - started )) s"
"${K[@]}" apply -k "$ROOT/config/samples" >/dev/null
until [ "$("${K[@]}" get deployments -l app.kubernetes.io/component=edge -o name 2>/dev/null | wc -l)" -ge 1 ]; do sleep 1; done
"${K[@]}" wait --for=condition=Available deployments -l app.kubernetes.io/component=edge --timeout 5m >/dev/null
log "samples applied, edge Deployments Available after $(( $(date +%s) - started )) s"
"${K[@]}" get hotdesk
"${K[@]}" get pods -A -o wide
sip_port=$("${K[@]}" get service -l app.kubernetes.io/component=edge,hotdesk.io/pool=london-office -o jsonpath='{.items[0].spec.ports[?(@.protocol=="UDP")].nodePort}' 2>/dev/null || true)
[ -n "$sip_port" ] || sip_port="<the edge Service's node port>"
cat <<TEXT

The cluster runs in the network namespace $NETNS; nothing of it is reachable from outside that
namespace, and nothing in it routes off this machine. Run things there:

  scripts/cluster-kubectl.sh get hotdesk               # kubectl as root (add "helm" first for helm)
  nsenter --net=/run/netns/$NETNS baresip              # a softphone next to the node
      outbound proxy $NODE_IP:$sip_port (udp), account HD0001 @ example.3cx.eu,
      password sample-only-change-me-hd0001; dial *77*101* and PIN 2468# to log in as alice.
      (The samples' PBX, pbx.example.com, is not reachable from the namespace: point
      spec.pbx.host of pool london-office at a PBX you run there.)

Stop it: npm run cluster:stop
TEXT
