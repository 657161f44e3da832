#!/usr/bin/env bash
# The one test command (npm test, and .ci/run): installs what the tests drive, builds or reuses the
# cached control plane, then type-checks and runs every test with node's built-in runner.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/ensure-debs.sh
if [ -z "${KUBEBUILDER_ASSETS:-}" ] && [ -z "${HOTDESK_KUBECONFIG:-}" ]; then
  KUBEBUILDER_ASSETS="$(bash scripts/build-control-plane.sh)"
  export KUBEBUILDER_ASSETS
fi
pattern="${1:-test/**/*.test.ts}"
# The one-node cluster suite (test/cluster/) runs the image on a kubelet: build both here, before
# any test's clock starts (each is cached: by version, and by the content that goes into the image).
case "$pattern" in
  'test/**/*.test.ts'|*cluster*)
    bash scripts/build-cluster-node.sh >/dev/null
    bash scripts/build-image.sh >/dev/null
    ;;
esac
exec bash scripts/with-node.sh bash -c '
  set -e
  tsc --noEmit -p .
  node --test --test-concurrency="${HOTDESK_TEST_CONCURRENCY:-2}" --test-timeout=600000 "$0"
' "$pattern"
