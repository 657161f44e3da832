#!/usr/bin/env bash
# Stops the cluster scripts/cluster-up.sh started and leaves the host as it found it: every process
# by its recorded PID (containers through containerd, then their shims), every mount below the
# state folder, the pods' cgroups, the network namespace, the kernel settings the kubelet changed
# and the few paths the kubelet and containerd create outside the state folder. Idempotent.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/cluster-env.sh"
P="$STATE/pids"
SOCK="$STATE/containerd/state/containerd.sock"

stop_pid() { # name: TERM, up to 10 s, then KILL
  local file="$P/$1" pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$file"
}

# The kubelet first, so it does not restart the containers stopped next.
stop_pid kube-proxy
stop_pid kubelet
if [ -S "$SOCK" ]; then
  CTR=(ctr -a "$SOCK" -n k8s.io)
  for task in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks kill -s KILL "$task" >/dev/null 2>&1; done
  for _ in $(seq 25); do [ -z "$("${CTR[@]}" tasks ls -q 2>/dev/null)" ] && break; sleep 0.2; done
  for task in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks delete -f "$task" >/dev/null 2>&1; done
fi
# Shims outlive containerd on purpose; each one's PID is in the runtime's state folder.
for pidfile in "$STATE"/containerd/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
  [ -f "$pidfile" ] && kill -KILL "$(cat "$pidfile")" 2>/dev/null
done
stop_pid containerd
stop_pid kube-scheduler
stop_pid kube-controller-manager
stop_pid kube-apiserver
stop_pid etcd

# Mounts below the state folder (pod volumes, rootfs overlays, netns handles), deepest first.
for _ in 1 2 3; do
  awk '{print $5}' /proc/self/mountinfo | grep "^$STATE/" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
done
# The pods' cgroups in every v1 hierarchy, deepest first.
for hierarchy in /sys/fs/cgroup/*/; do
  for top in kubepods kubepods.slice; do
    [ -d "$hierarchy$top" ] && find "$hierarchy$top" -depth -type d -exec rmdir {} + 2>/dev/null
  done
done
ip netns del "$NETNS" 2>/dev/null
[ -f "$STATE/host-sysctls.conf" ] && sysctl -q -p "$STATE/host-sysctls.conf"
# The kubelet's device-plugin socket folder is hard-coded; containerd's CNI keeps results there.
rm -rf /var/lib/kubelet/device-plugins /var/lib/cni/results
rmdir /var/lib/kubelet /var/lib/cni 2>/dev/null
left=$(awk '{print $5}' /proc/self/mountinfo | grep -c "^$STATE/")
if [ "$left" -gt 0 ]; then
  echo "cluster-down: $left mounts left below $STATE; state kept" >&2
  exit 1
fi
# The logs stay for a post-mortem; cluster-up.sh clears them.
find "$STATE" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
