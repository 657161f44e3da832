#!/usr/bin/env bash
# kubectl (or, as `cluster-kubectl.sh helm ...`, helm) against the one-node cluster of
# scripts/cluster-up.sh, run inside its network namespace, the only place it can be reached.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/cluster-env.sh"
bin="$CACHE_ROOT/k8s-$K8S_VERSION"
tool=kubectl
if [ "${1:-}" = helm ]; then tool=helm; shift; fi
exec "${IN_NETNS[@]}" "$bin/$tool" --kubeconfig "$KUBECONFIG_ADMIN" "$@"
