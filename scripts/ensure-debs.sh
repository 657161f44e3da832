#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks drive as real peers. Idempotent: packages
# already present are not fetched again, and apt's lists are refreshed only when something is missing.
set -euo pipefail
# sip-tester is SIPp; baresip-core is a headless softphone; kamailio stands in for a tenant PBX;
# prometheus brings promtool; espeak-ng and sox make the voice prompts; wrk and nginx are the
# provisioning benchmark's load generator and baseline; curl is the provisioning tests' Digest
# client and openssl makes their throwaway TLS certificate.
# The one-node cluster (scripts/cluster-up.sh) runs containerd with runc and the CNI plugins;
# kube-proxy drives iptables and conntrack; the image is built by buildah on a base from mmdebstrap.
# tcpdump traces the SIP of the NAT topology tests (test/support/nat-topology.ts) for their failure messages.
# The edge replica tests make a Service address the way kube-proxy does, with iptables and conntrack too.
PACKAGES=(sip-tester baresip-core kamailio prometheus espeak-ng sox wrk nginx-light procps iproute2 curl openssl
  containerd runc containernetworking-plugins iptables conntrack buildah mmdebstrap tcpdump)
# Named packages instead of the whole list: `ensure-debs.sh espeak-ng sox` (npm run demo needs only those).
[ $# -gt 0 ] && PACKAGES=("$@")
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "ensure-debs: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
# Debian starts packaged daemons on install; tests start their own on loopback ports.
for svc in kamailio nginx prometheus containerd; do
  command -v systemctl >/dev/null && $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
