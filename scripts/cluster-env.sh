# Shared settings of the one-node cluster scripts (sourced, not run). One cluster per machine: the
# kubelet and containerd keep a few paths outside the state folder, and the cgroup names are global.
CACHE_ROOT="${HOTDESK_CACHE_DIR:-$HOME/.cache/hotdesk-operator}"
K8S_VERSION="${HOTDESK_K8S_VERSION:-v1.36.3}"
# Everything the cluster writes while it runs; removed by cluster-down.sh.
STATE="${HOTDESK_CLUSTER_DIR:-/var/tmp/hotdesk-cluster}"
NETNS=hotdesk-kube
NODE_NAME=hotdesk-node
# The node's address inside the namespace; pods get 10.88.0.0/16, Services 10.96.0.0/24.
NODE_IP=10.44.0.1
POD_CIDR=10.88.0.0/16
SERVICE_CIDR=10.96.0.0/24
IN_NETNS=(nsenter "--net=/run/netns/$NETNS")
KUBECONFIG_ADMIN="$STATE/etc/admin.kubeconfig"
# The kernel settings the kubelet changes on the host (it sets them for the container runtime's
# sake); cluster-up.sh records their values first and cluster-down.sh puts them back.
HOST_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
