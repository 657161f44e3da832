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
# Phones reach london-office's edge as they would a NodePort Service on premises: at the node's
# address, on ports inside the node-port range, each of them its own node port, so what the edge
# advertises in SIP and SDP is what the node answers on. One replica: the Service's ClientIP
# affinity holds per port, so with two a phone's RTP could reach the pod not serving its call.
SIP_PORT=30060 HTTP_PORT=30080 RTP_FIRST=30100 RTP_COUNT=8
"${K[@]}" patch hotdeskpool london-office --type=merge -p "{\"spec\":{\"edge\":{\"serviceType\":\"NodePort\",\"replicas\":1,\"advertisedHost\":\"$NODE_IP\",\"sipPort\":$SIP_PORT,\"httpPort\":$HTTP_PORT,\"rtpPorts\":{\"first\":$RTP_FIRST,\"count\":$RTP_COUNT}}}}" >/dev/null
until "${K[@]}" get service -l app.kubernetes.io/component=edge,hotdesk.io/pool=london-office -o jsonpath='{.items[0].spec.type}' 2>/dev/null | grep -qx NodePort; do sleep 1; done
"${K[@]}" rollout status deployment -l app.kubernetes.io/component=edge,hotdesk.io/pool=london-office --timeout 5m >/dev/null
log "london-office's edge on $NODE_IP:$SIP_PORT after $(( $(date +%s) - started )) s"
"${K[@]}" get hotdesk
"${K[@]}" get pods -A -o wide
cat <<TEXT

The cluster runs in the network namespace $NETNS; nothing of it is reachable from outside that
namespace, and nothing in it routes off this machine. Run things there:

  scripts/cluster-kubectl.sh get hotdesk               # kubectl as root (add "helm" first for helm)
  nsenter --net=/run/netns/$NETNS baresip              # a softphone next to the node
      outbound proxy $NODE_IP:$SIP_PORT (udp), account HD0002 @ example.3cx.eu,
      password sample-only-change-me-hd0002; dial *77*102* and PIN 1357# to log in as bob.
      The edge advertises $NODE_IP:$SIP_PORT in Via and Record-Route and RTP on
      $NODE_IP:$RTP_FIRST-$(( RTP_FIRST + 2 * (RTP_COUNT - 1) )) to the login IVR's callers.
      (The samples' PBX, pbx.example.com, is not reachable from the namespace: point
      spec.pbx.host of pool london-office at a PBX you run there.)
  nsenter --net=/run/netns/$NETNS curl --digest -u c074ad0102a3:sample-only-prov-3f-14 \
      http://$NODE_IP:$HTTP_PORT/cfgc074ad0102a3.xml    # desk 3F-14's provisioning file

Stop it: npm run cluster:stop
TEXT
