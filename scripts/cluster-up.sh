#!/usr/bin/env bash
# Starts a one-node Kubernetes cluster for the end-to-end tests and `npm run cluster`: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, containerd (runc, CNI bridge), kubelet
# and kube-proxy, all inside the network namespace "hotdesk-kube", whose only interface besides
# loopback is a veth with no peer beyond it: nothing listens on the host and nothing routes off it.
#
#   scripts/cluster-up.sh [IMAGE_ARCHIVE...]   # docker-archive tarballs to load into containerd
#
# Needs root. Binaries come from scripts/build-control-plane.sh and scripts/build-cluster-node.sh
# (built once, cached by version); containerd, runc and the CNI plugins are Debian's. Prints the
# admin kubeconfig's path. Stop with scripts/cluster-down.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/cluster-env.sh"
log() { echo "cluster-up: $*" >&2; }
[ "$(id -u)" -eq 0 ] || { log "needs root (network namespace, mounts, cgroups)"; exit 1; }
if [ -e "/run/netns/$NETNS" ]; then
  log "a cluster is already running (network namespace $NETNS); stop it with scripts/cluster-down.sh"
  exit 2
fi

bash "$ROOT/scripts/ensure-debs.sh" containerd runc containernetworking-plugins iptables conntrack curl openssl iproute2
CP="$(bash "$ROOT/scripts/build-control-plane.sh")"
NODE_BIN="$(bash "$ROOT/scripts/build-cluster-node.sh")"
started=$(date +%s%N)
elapsed() { local ds=$(( ($(date +%s%N) - started) / 100000000 )); echo "$(( ds / 10 )).$(( ds % 10 )) s"; }

E="$STATE/etc" L="$STATE/logs" P="$STATE/pids"
rm -rf "$STATE"
mkdir -p "$E/pki" "$E/cni" "$L" "$P" "$STATE/etcd" "$STATE/kubelet" "$STATE/containerd/root" "$STATE/containerd/state" "$STATE/pod-logs" "$STATE/cni-ipam"

# Kernel settings the kubelet will change, as they are now.
for s in "${HOST_SYSCTLS[@]}"; do echo "$s = $(sysctl -n "$s")"; done > "$STATE/host-sysctls.conf"

# The namespace: loopback, and a veth whose host end also stays inside, carrying the node's
# address; the default route points at it, so traffic for anywhere else goes nowhere.
ip netns add "$NETNS"
ip -n "$NETNS" link set lo up
ip -n "$NETNS" link add node0 type veth peer name node0-end
ip -n "$NETNS" link set node0-end up
ip -n "$NETNS" addr add "$NODE_IP/24" dev node0
ip -n "$NETNS" link set node0 up
ip -n "$NETNS" route add default dev node0
"${IN_NETNS[@]}" sysctl -qw net.ipv4.ip_forward=1
"${IN_NETNS[@]}" sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true

run_in_netns() { # name program args...: in the background, in the namespace, its own session
  local name=$1; shift
  setsid "${IN_NETNS[@]}" "$@" >>"$L/$name.log" 2>&1 </dev/null &
  echo $! > "$P/$name"
}
wait_for() { # what seconds command...
  local what=$1 secs=$2; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then log "$what not ready after ${secs} s; logs in $L"; exit 1; fi
    sleep 0.5
  done
}

# Static bearer tokens, all in system:masters (a throwaway test cluster); the kubelet is a node too.
: > "$E/pki/tokens.csv"
for user in admin kubelet kube-controller-manager kube-scheduler kube-proxy; do
  token=$(openssl rand -hex 24)
  echo "$token" > "$E/pki/$user.token"
  groups=system:masters
  name=$user
  [ "$user" = kubelet ] && { name="system:node:$NODE_NAME"; groups="system:nodes,system:masters"; }
  echo "$token,$name,$user,\"$groups\"" >> "$E/pki/tokens.csv"
done
chmod 600 "$E/pki/tokens.csv" "$E"/pki/*.token
openssl genrsa -out "$E/pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$E/pki/sa.key" -pubout -out "$E/pki/sa.pub" 2>/dev/null

run_in_netns etcd "$CP/etcd" --name "$NODE_NAME" --data-dir "$STATE/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster "$NODE_NAME=http://127.0.0.1:2380" --unsafe-no-fsync --log-level warn
run_in_netns kube-apiserver "$CP/kube-apiserver" --etcd-servers http://127.0.0.1:2379 \
  --cert-dir "$E/pki/apiserver" --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port 6443 \
  --token-auth-file "$E/pki/tokens.csv" --authorization-mode Node,RBAC --service-cluster-ip-range "$SERVICE_CIDR" \
  --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$E/pki/sa.pub" \
  --service-account-signing-key-file "$E/pki/sa.key" --allow-privileged=true --shutdown-delay-duration 0s \
  --kubelet-preferred-address-types InternalIP
admin_token=$(cat "$E/pki/admin.token")
wait_for kube-apiserver 120 "${IN_NETNS[@]}" curl -sfk -H "Authorization: Bearer $admin_token" "https://$NODE_IP:6443/readyz"
log "$(elapsed): kube-apiserver ready"

ca=$(base64 -w0 "$E/pki/apiserver/apiserver.crt")
for user in admin kubelet kube-controller-manager kube-scheduler kube-proxy; do
  cat > "$E/$user.kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: hotdesk-node
  cluster: {server: "https://$NODE_IP:6443", certificate-authority-data: "$ca"}
users:
- name: $user
  user: {token: "$(cat "$E/pki/$user.token")"}
contexts:
- name: hotdesk-node
  context: {cluster: hotdesk-node, user: $user, namespace: default}
current-context: hotdesk-node
KUBECONFIG
  chmod 600 "$E/$user.kubeconfig"
done

run_in_netns kube-controller-manager "$NODE_BIN/kube-controller-manager" --kubeconfig "$E/kube-controller-manager.kubeconfig" \
  --service-account-private-key-file "$E/pki/sa.key" --root-ca-file "$E/pki/apiserver/apiserver.crt" \
  --use-service-account-credentials=false --leader-elect=false --bind-address 127.0.0.1 --cert-dir "$E/pki/kcm" \
  --controllers '*'
run_in_netns kube-scheduler "$NODE_BIN/kube-scheduler" --kubeconfig "$E/kube-scheduler.kubeconfig" \
  --leader-elect=false --bind-address 127.0.0.1 --cert-dir "$E/pki/scheduler"

# containerd (Debian's 1.6) with runc; its socket and state stay under $STATE.
cat > "$E/cni/10-hotdesk.conflist" <<CNI
{"cniVersion": "0.4.0", "name": "hotdesk-pods", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$STATE/cni-ipam", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
CNI
SOCK="$STATE/containerd/state/containerd.sock"
cat > "$E/containerd.toml" <<TOML
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
[grpc]
  address = "$SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/hotdesk-pause:latest"
  netns_mounts_under_state_dir = true
  # CAP_SYS_RESOURCE is missing in this VM: keep containers' oom_score_adj at or above ours.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false
        Root = "$STATE/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$E/cni"
TOML
run_in_netns containerd containerd --config "$E/containerd.toml"
wait_for containerd 60 ctr -a "$SOCK" version
CTR=(ctr -a "$SOCK" -n k8s.io)
pause_dir=$(mktemp -d)
bash "$ROOT/scripts/build-pause-image.sh" "$NODE_BIN/pause" "$pause_dir/pause.tar" >/dev/null
"${CTR[@]}" images import "$pause_dir/pause.tar" >/dev/null
rm -rf "$pause_dir"
for archive in "$@"; do "${CTR[@]}" images import "$archive" >/dev/null; done
log "$(elapsed): containerd up, $(( $# + 1 )) image(s) loaded"

: > "$E/resolv.conf"
cat > "$E/kubelet.yaml" <<KUBELET
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This host mixes cgroup v1 hierarchies with an empty v2 mount; the kubelet refuses v1 by default.
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$SOCK
address: $NODE_IP
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
# Only reachable inside the namespace; the apiserver calls it without a client certificate (logs, exec).
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
resolvConf: $E/resolv.conf
podLogsDir: $STATE/pod-logs
# A shared CI disk: do not evict pods or collect images because other jobs filled it.
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
serializeImagePulls: false
KUBELET
run_in_netns kubelet "$NODE_BIN/kubelet" --config "$E/kubelet.yaml" --kubeconfig "$E/kubelet.kubeconfig" \
  --root-dir "$STATE/kubelet" --cert-dir "$E/pki/kubelet" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"

cat > "$E/kube-proxy.yaml" <<PROXY
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $E/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
# Leave the host's conntrack table size and timeouts alone.
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
PROXY
run_in_netns kube-proxy "$NODE_BIN/kube-proxy" --config "$E/kube-proxy.yaml"

KUBECTL=("${IN_NETNS[@]}" "$CP/kubectl" --kubeconfig "$KUBECONFIG_ADMIN")
node_ready() { "${KUBECTL[@]}" get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' | grep -qx True; }
wait_for "node $NODE_NAME" 180 node_ready
wait_for "the default ServiceAccount" 60 "${KUBECTL[@]}" get serviceaccount default
log "$(elapsed): node Ready"
echo "$KUBECONFIG_ADMIN"
