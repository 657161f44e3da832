#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd from Go modules (and helm) into a cache folder keyed by
# version, the way controller-runtime's envtest ships its assets. Rebuilds only what is missing.
# The cache lives outside the clone so that CI's fresh clone on the same machine reuses it.
#
#   scripts/build-control-plane.sh        # prints the asset folder (KUBEBUILDER_ASSETS layout)
set -euo pipefail

K8S_VERSION="${HOTDESK_K8S_VERSION:-v1.36.3}"
HELM_VERSION="${HOTDESK_HELM_VERSION:-v3.22.0}"
CACHE_ROOT="${HOTDESK_CACHE_DIR:-$HOME/.cache/hotdesk-operator}"
ASSETS="$CACHE_ROOT/k8s-$K8S_VERSION"
HELM_DIR="$CACHE_ROOT/helm-$HELM_VERSION"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export CGO_ENABLED=0

log() { echo "build-control-plane: $*" >&2; }

need_k8s=false
for bin in kube-apiserver kubectl etcd; do [ -x "$ASSETS/$bin" ] || need_k8s=true; done

if $need_k8s; then
  command -v go >/dev/null || { log "Go is required to build the control plane (install Go 1.26+)"; exit 1; }
  work="$CACHE_ROOT/build-$K8S_VERSION"
  mkdir -p "$work/apiserver" "$work/kubectl" "$work/etcd" "$ASSETS"
  started=$(date +%s)

  # The staging modules of k8s.io/kubernetes are replaced by local paths in its own go.mod; a
  # consumer must pin each one to the matching v0.x release, derived here from that go.mod.
  minor="${K8S_VERSION#v1.}"
  staging_version="v0.${minor}"
  gomod=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  replaces=$(grep -Eo 'k8s.io/[a-z0-9-]+ => \./staging/src/k8s.io/[a-z0-9-]+' "$gomod" | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}')
  [ -n "$replaces" ] || { log "no staging modules found in $gomod"; exit 1; }
  log "k8s.io/kubernetes $K8S_VERSION pins $(echo "$replaces" | wc -l) staging modules to $staging_version"
  etcd_version=$(awk '$1=="go.etcd.io/etcd/server/v3"{print $2; exit}' "$gomod")
  log "etcd server version pinned by that release: $etcd_version"

  write_k8s_module() { # dir module-name main-body imports
    cat > "$1/go.mod" <<MOD
module hotdesk.local/$2

go 1.26

require k8s.io/kubernetes $K8S_VERSION

$replaces
MOD
    printf '%s\n' "$3" > "$1/main.go"
  }

  if [ ! -x "$ASSETS/kube-apiserver" ]; then
    write_k8s_module "$work/apiserver" apiserver 'package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() { os.Exit(cli.Run(app.NewAPIServerCommand())) }'
    (cd "$work/apiserver" && go mod tidy && go build -trimpath -ldflags='-s -w' -o "$ASSETS/kube-apiserver.tmp" . && mv "$ASSETS/kube-apiserver.tmp" "$ASSETS/kube-apiserver")
    log "kube-apiserver built after $(( $(date +%s) - started )) s"
  fi

  if [ ! -x "$ASSETS/kubectl" ]; then
    write_k8s_module "$work/kubectl" kubectl 'package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

func main() { os.Exit(cli.Run(cmd.NewDefaultKubectlCommand())) }'
    (cd "$work/kubectl" && go mod tidy && go build -trimpath -ldflags='-s -w' -o "$ASSETS/kubectl.tmp" . && mv "$ASSETS/kubectl.tmp" "$ASSETS/kubectl")
    log "kubectl built after $(( $(date +%s) - started )) s"
  fi

  if [ ! -x "$ASSETS/etcd" ]; then
    cat > "$work/etcd/go.mod" <<MOD
module hotdesk.local/etcd

go 1.26

require go.etcd.io/etcd/server/v3 $etcd_version
MOD
    cat > "$work/etcd/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    (cd "$work/etcd" && go mod tidy && go build -trimpath -ldflags='-s -w' -o "$ASSETS/etcd.tmp" . && mv "$ASSETS/etcd.tmp" "$ASSETS/etcd")
    log "etcd built after $(( $(date +%s) - started )) s"
  fi
  log "control plane built in $(( $(date +%s) - started )) s; cache $(du -sh "$ASSETS" | cut -f1)"
fi

if [ "${HOTDESK_WITH_HELM:-1}" = 1 ] && [ ! -x "$HELM_DIR/helm" ]; then
  mkdir -p "$HELM_DIR"
  started=$(date +%s)
  GOBIN="$HELM_DIR" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  log "helm built in $(( $(date +%s) - started )) s"
fi
[ -x "$HELM_DIR/helm" ] && ln -sf "$HELM_DIR/helm" "$ASSETS/helm"

echo "$ASSETS"
