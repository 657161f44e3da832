#!/usr/bin/env bash
# Builds what a node runs besides the container runtime: kubelet, kube-controller-manager,
# kube-scheduler and kube-proxy from Go modules, plus the pod sandbox's "pause" program, into a
# cache folder keyed by version (next to the control plane of scripts/build-control-plane.sh).
# The four Kubernetes programs live in ONE wrapper module built by ONE `go build`, so the packages
# they share compile once. Rebuilds only what is missing. Prints the folder.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
K8S_VERSION="${HOTDESK_K8S_VERSION:-v1.36.3}"
CACHE_ROOT="${HOTDESK_CACHE_DIR:-$HOME/.cache/hotdesk-operator}"
OUT="$CACHE_ROOT/k8s-node-$K8S_VERSION"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export CGO_ENABLED=0
PROGRAMS=(kubelet kube-controller-manager kube-scheduler kube-proxy)

log() { echo "build-cluster-node: $*" >&2; }

missing=()
for p in "${PROGRAMS[@]}"; do [ -x "$OUT/$p" ] || missing+=("$p"); done

if [ ${#missing[@]} -gt 0 ]; then
  command -v go >/dev/null || { log "Go is required to build the node components (install Go 1.26+)"; exit 1; }
  work="$CACHE_ROOT/build-node-$K8S_VERSION"
  mkdir -p "$work" "$OUT"
  started=$(date +%s)
  # As in build-control-plane.sh: k8s.io/kubernetes replaces its staging modules with local paths,
  # so a consumer pins each to the v0.<minor> release, exactly (e.g. v0.36.3 for v1.36.3).
  minor="${K8S_VERSION#v1.}"
  gomod=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  replaces=$(grep -Eo 'k8s.io/[a-z0-9-]+ => \./staging/src/k8s.io/[a-z0-9-]+' "$gomod" | awk -v v="v0.${minor}" '{print "replace " $1 " => " $1 " " v}')
  [ -n "$replaces" ] || { log "no staging modules found in $gomod"; exit 1; }
  printf 'module hotdesk.local/k8s-node\n\ngo 1.26\n\nrequire k8s.io/kubernetes %s\n\n%s\n' "$K8S_VERSION" "$replaces" > "$work/go.mod"

  main_for() { # dir import-path constructor-call
    mkdir -p "$work/$1"
    cat > "$work/$1/main.go" <<GO
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"$2"
)

func main() { os.Exit(cli.Run($3)) }
GO
  }
  main_for kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager/app 'app.NewControllerManagerCommand()'
  main_for kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler/app 'app.NewSchedulerCommand()'
  main_for kube-proxy k8s.io/kubernetes/cmd/kube-proxy/app 'app.NewProxyCommand()'
  main_for kubelet k8s.io/kubernetes/cmd/kubelet/app 'app.NewKubeletCommand(context.Background())'
  sed -i 's/^\t"os"$/\t"context"\n\t"os"/' "$work/kubelet/main.go"

  # The version the kubelet reports as the node's, and the programs' --version.
  v=k8s.io/component-base/version
  ldflags="-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=${minor%%.*} -X $v.gitTreeState=clean"
  (cd "$work" && go mod tidy && rm -rf out && go build -trimpath -ldflags="$ldflags" -o out/ ./...)
  for p in "${PROGRAMS[@]}"; do mv "$work/out/$p" "$OUT/$p"; done
  log "${PROGRAMS[*]} built in $(( $(date +%s) - started )) s; $(du -sh "$OUT" | cut -f1)"
fi

# The sandbox image's only file; its source is in the project, so it is rebuilt when that changes.
pause_src="$ROOT/src/cluster/pause"
pause_sum=$(cat "$pause_src/go.mod" "$pause_src/main.go" | sha256sum | cut -c1-16)
if [ ! -x "$OUT/pause-$pause_sum" ]; then
  command -v go >/dev/null || { log "Go is required to build the pause program"; exit 1; }
  (cd "$pause_src" && GOFLAGS= go build -trimpath -ldflags='-s -w' -o "$OUT/pause-$pause_sum.tmp" .)
  mv "$OUT/pause-$pause_sum.tmp" "$OUT/pause-$pause_sum"
fi
ln -sf "pause-$pause_sum" "$OUT/pause"
echo "$OUT"
