#!/usr/bin/env bash
# The single-node Kubernetes cluster the k8s test tier (test/k8s) runs the manifests of
# examples/kubernetes/ on:
#   scripts/k8s-node.sh install   Debian's containerd, runc and CNI plugins (pinned), gcc for the pause binary
#   scripts/k8s-node.sh build     etcd, kube-apiserver, kubelet, kube-controller-manager, kube-scheduler,
#                                 kube-proxy from the Go module proxy (scripts/k8s-node/go.mod), once, into $K8S_DIR
#   scripts/k8s-node.sh start     install, build, then start the node in its own network namespace
#   scripts/k8s-node.sh stop      stop every process `start` started, remove the namespace, restore sysctls
#   scripts/k8s-node.sh status    0 when the node's API server and kubelet answer
# No systemd and no registry here: each daemon is started in the background by this script and
# stopped by its pid file; images come from the shared Docker engine (`docker save` | `ctr import`).
# A containerd of its own (own config, root, state and socket) keeps the Docker engine untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

K8S_VERSION=1.37.2
# Bookworm's versions, pinned so every machine runs the same runtime.
CONTAINERD=1.6.20~ds1-1+deb12u3
RUNC=1.1.5+ds1-1+deb12u1
CNI_PLUGINS=1.1.1+ds1-3+b5

# Binaries survive a new clone on the same machine (.tools is git-ignored); Go's own caches make a
# rebuild after a change of scripts/k8s-node/go.mod quick.
K8S_DIR=${K8S_DIR:-$ROOT/.tools/k8s-$K8S_VERSION}
BIN=$K8S_DIR/bin

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

install() {
  if command -v containerd >/dev/null && command -v runc >/dev/null && [ -x /usr/lib/cni/bridge ] &&
    command -v gcc >/dev/null && command -v ip >/dev/null && command -v iptables >/dev/null &&
    command -v openssl >/dev/null && command -v curl >/dev/null; then return; fi
  if ! command -v apt-get >/dev/null; then
    echo "task-helper: the Kubernetes tier needs containerd, runc, the CNI plugins, gcc, iproute2 and iptables; install them, or run on Debian (apt-get)" >&2
    exit 1
  fi
  echo "Installing containerd $CONTAINERD, runc $RUNC and containernetworking-plugins $CNI_PLUGINS (Debian packages) for the Kubernetes tier..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "containerd=$CONTAINERD" "runc=$RUNC" "containernetworking-plugins=$CNI_PLUGINS" \
    gcc libc6-dev iproute2 iptables openssl curl >/dev/null
}

built() {
  local b
  for b in etcd kube-apiserver kubelet kube-controller-manager kube-scheduler kube-proxy pause; do
    [ -x "$BIN/$b" ] || return 1
  done
  # A change of the pinned versions rebuilds.
  cmp -s "$K8S_DIR/go.sum" scripts/k8s-node/go.sum
}

build() {
  if built; then return; fi
  command -v go >/dev/null || { echo "task-helper: the Kubernetes tier builds its node with Go (1.26 or newer); install Go" >&2; exit 1; }
  mkdir -p "$BIN"
  local started=$SECONDS
  echo "Building Kubernetes $K8S_VERSION and etcd from the Go module proxy into $BIN (minutes, once)..."
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION \
    -X k8s.io/component-base/version.gitMajor=${K8S_VERSION%%.*} \
    -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) \
    -X k8s.io/component-base/version.gitTreeState=clean"
  (
    cd scripts/k8s-node
    export GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
    go build -trimpath -ldflags "$ldflags" -o "$BIN/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubelet \
      k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler \
      k8s.io/kubernetes/cmd/kube-proxy
    go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" ./etcd
    # The pause container's binary, from Kubernetes' own build/pause source in the module.
    local src
    src=$(go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
    gcc -Os -Wall -Werror -static -DVERSION="v$K8S_VERSION" -o "$BIN/pause" "$src"
  )
  cp scripts/k8s-node/go.sum "$K8S_DIR/go.sum"
  echo "Kubernetes $K8S_VERSION built in $((SECONDS - started)) s"
}

# ---- the running node ----
NETNS=task-helper-k8s
RUN_DIR=/run/task-helper-k8s
DATA=/var/lib/task-helper-k8s
LOGS=/var/log/task-helper-k8s
NODE_NAME=task-helper-node
# Inside the run's own network namespace only: the bridge the pods hang off (the node's address)
# and the Services' ClusterIPs, which kube-proxy's rules there (iptables of that namespace) route.
NODE_IP=10.244.0.1
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/24
# The sysctls the kubelet sets on start (protectKernelDefaults false; the first three change on
# these machines): each one restored by stop.
SYSCTLS="vm.overcommit_memory kernel.panic kernel.panic_on_oops vm.panic_on_oom kernel.keys.root_maxkeys kernel.keys.root_maxbytes"

in_netns() { $sudo nsenter --net="/run/netns/$NETNS" "$@"; }
pid_of() { [ -f "$RUN_DIR/$1.pid" ] && cat "$RUN_DIR/$1.pid"; }
alive() { local pid; pid=$(pid_of "$1") && kill -0 "$pid" 2>/dev/null; }

# Starts daemon NAME in the run's network namespace, in the background (setsid: it outlives this
# script), logging to $LOGS/NAME.log; stop ends it by its pid file.
daemon() {
  local name=$1
  shift
  $sudo nsenter --net="/run/netns/$NETNS" setsid "$@" </dev/null >>"$LOGS/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
}

# Waits up to $2 seconds for command $3... to succeed, or fails naming daemon $1 and its log's end.
await() {
  local name=$1 limit=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ] || ! alive "$name"; then
      echo "task-helper: $name did not come up within $limit s; the end of $LOGS/$name.log:" >&2
      tail -n 20 "$LOGS/$name.log" >&2
      exit 1
    fi
    sleep 0.2
  done
}

api() { in_netns curl -sf --cacert "$RUN_DIR/pki/ca.crt" -H "Authorization: Bearer $(token admin)" "https://127.0.0.1:6443$1"; }
token() { sed -n "s/^\([^,]*\),$1,.*/\1/p" "$RUN_DIR/pki/tokens.csv"; }

kubeconfig() { # user
  cat <<EOF
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "https://127.0.0.1:6443", certificate-authority: "$RUN_DIR/pki/ca.crt"}}]
users: [{name: $1, user: {token: "$(token "$1")"}}]
contexts: [{name: local, context: {cluster: local, user: $1}}]
current-context: local
EOF
}

# Per run: a CA, the API server's serving certificate, the service-account signing key, and one
# bearer token per client (a static token file: nothing outside this run can reach the server).
pki() {
  local d=$RUN_DIR/pki
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=task-helper-k8s-ca" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$d/apiserver.key" -out "$d/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:%s,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n' "$NODE_IP" >"$d/san.ext"
  openssl x509 -req -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
    -extfile "$d/san.ext" -out "$d/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  local t
  t() { openssl rand -hex 24; }
  {
    echo "$(t),admin,admin,system:masters"
    echo "$(t),system:node:$NODE_NAME,system:node:$NODE_NAME,system:nodes"
    echo "$(t),system:kube-controller-manager,system:kube-controller-manager,"
    echo "$(t),system:kube-scheduler,system:kube-scheduler,"
    echo "$(t),system:kube-proxy,system:kube-proxy,"
  } >"$d/tokens.csv"
  chmod 600 "$d"/*.key "$d/tokens.csv"
}

containerd_config() {
  cat <<EOF
version = 2
root = "$DATA/containerd"
state = "$RUN_DIR/containerd"
[grpc]
  address = "$RUN_DIR/containerd.sock"
[ttrpc]
  address = "$RUN_DIR/containerd-ttrpc.sock"
[debug]
  address = "$RUN_DIR/containerd-debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "task-helper-k8s/pause:$K8S_VERSION"
  # Root here lacks CAP_SYS_RESOURCE: an oom_score_adj below the parent's would be refused.
  restrict_oom_score_adj = true
  # The pods' network namespaces under the state dir: stop finds (and removes) ours alone.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$RUN_DIR/cni"
[plugins."io.containerd.internal.v1.opt"]
  path = "$DATA/opt"
EOF
}

cni_config() {
  cat <<EOF
{
  "cniVersion": "1.0.0",
  "name": "task-helper-k8s",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$RUN_DIR/cni-ipam",
        "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$NODE_IP" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    }
  ]
}
EOF
}

kubelet_config() {
  cat <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# These machines run cgroup v1, which the kubelet refuses by default since 1.35.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$RUN_DIR/containerd.sock
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
authorization:
  mode: AlwaysAllow
failSwapOn: false
resolvConf: "$RUN_DIR/resolv.conf"
clusterDomain: cluster.local
# scripts/k8s-node/dns.mjs: Services by name (their ClusterIP; a headless one's ready endpoints).
clusterDNS: ["$NODE_IP"]
# No registry: the images are imported, so nothing may collect them, and no disk-pressure
# eviction on a shared machine's busy disk.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
podPidsLimit: -1
# The containers' logs beside the daemons' (the tests read the helper's), not in the host's /var/log/pods.
podLogsDir: "$LOGS/pods"
serializeImagePulls: false
syncFrequency: 10s
nodeStatusUpdateFrequency: 4s
EOF
}

running() { alive kube-apiserver && alive kubelet && alive kube-proxy && alive api-forward && alive dns && api /readyz >/dev/null; }

start() {
  install
  build
  if running; then
    echo "Kubernetes node: already running (API server through $RUN_DIR/apiserver.sock)"
    return
  fi
  # What a run that crashed left behind (a subshell: stop runs without -e).
  (stop) >/dev/null 2>&1 || true
  local started=$SECONDS
  $sudo mkdir -p "$RUN_DIR" "$DATA" "$LOGS"
  # Each run's logs alone (the kubelet's, at --v=3, grow by megabytes a run).
  rm -f "$LOGS"/*.log
  # Unless a stop that did not finish left the values from before the kubelet.
  [ -f "$RUN_DIR/sysctls" ] || for s in $SYSCTLS; do echo "$s=$(sysctl -n "$s")"; done >"$RUN_DIR/sysctls"
  $sudo ip netns add "$NETNS"
  in_netns ip link set lo up
  # The pods' bridge, made here so the node has its address before the first pod.
  in_netns ip link add cni0 type bridge
  in_netns ip addr add "$NODE_IP/24" dev cni0
  in_netns ip link set cni0 up
  # This namespace's own: a pod's packet to a ClusterIP is routed (and DNATed) here.
  in_netns sysctl -qw net.ipv4.ip_forward=1
  pki
  mkdir -p "$RUN_DIR/cni" "$DATA/etcd" "$DATA/kubelet"
  rm -rf "$DATA/etcd"/*
  containerd_config >"$RUN_DIR/containerd.toml"
  cni_config >"$RUN_DIR/cni/10-task-helper.conflist"
  kubelet_config >"$RUN_DIR/kubelet.yaml"
  echo "nameserver 127.0.0.1" >"$RUN_DIR/resolv.conf"
  kubeconfig "system:node:$NODE_NAME" >"$RUN_DIR/kubelet.kubeconfig"
  kubeconfig system:kube-controller-manager >"$RUN_DIR/kube-controller-manager.kubeconfig"
  kubeconfig system:kube-scheduler >"$RUN_DIR/kube-scheduler.kubeconfig"
  kubeconfig system:kube-proxy >"$RUN_DIR/kube-proxy.kubeconfig"

  daemon containerd containerd --config "$RUN_DIR/containerd.toml"
  await containerd 60 ctr --address "$RUN_DIR/containerd.sock" version
  import_pause

  daemon etcd "$BIN/etcd" --name node --data-dir "$DATA/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster node=http://127.0.0.1:2380 --log-level warn
  await etcd 60 in_netns curl -sf http://127.0.0.1:2379/health

  local p=$RUN_DIR/pki
  daemon kube-apiserver "$BIN/kube-apiserver" --etcd-servers http://127.0.0.1:2379 \
    --bind-address 0.0.0.0 --secure-port 6443 --advertise-address "$NODE_IP" \
    --tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" --client-ca-file "$p/ca.crt" \
    --token-auth-file "$p/tokens.csv" --authorization-mode Node,RBAC --anonymous-auth=false \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$p/sa.pub" \
    --service-account-signing-key-file "$p/sa.key" --service-cluster-ip-range "$SERVICE_CIDR" \
    --allow-privileged --enable-priority-and-fairness=false --profiling=false --v=0
  await kube-apiserver 120 api /readyz

  token admin >"$RUN_DIR/pki/dns.token"
  chmod 600 "$RUN_DIR/pki/dns.token"
  daemon dns "$(command -v node)" "$ROOT/scripts/k8s-node/dns.mjs" "$NODE_IP" https://127.0.0.1:6443 "$p/ca.crt" "$p/dns.token"

  daemon kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig "$RUN_DIR/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$RUN_DIR/kube-controller-manager.kubeconfig" --authorization-kubeconfig "$RUN_DIR/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 10257 --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file "$p/sa.key" --root-ca-file "$p/ca.crt" \
    --profiling=false
  daemon kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$RUN_DIR/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$RUN_DIR/kube-scheduler.kubeconfig" --authorization-kubeconfig "$RUN_DIR/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 10259 --leader-elect=false --profiling=false
  daemon kubelet "$BIN/kubelet" --config "$RUN_DIR/kubelet.yaml" --kubeconfig "$RUN_DIR/kubelet.kubeconfig" \
    --root-dir "$DATA/kubelet" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=3
  await kubelet 120 node_ready
  # iptables rules in this namespace only. Every Service connection is SNATed to the node's address
  # (--masquerade-all), so a reply from a pod on the same bridge comes back through the rules
  # without br_netfilter; the conntrack sysctls, which are the host's, are left alone.
  daemon kube-proxy "$BIN/kube-proxy" --kubeconfig "$RUN_DIR/kube-proxy.kubeconfig" \
    --hostname-override "$NODE_NAME" --proxy-mode iptables --masquerade-all --cluster-cidr "$POD_CIDR" \
    --conntrack-max-per-core 0 --conntrack-tcp-timeout-established 0 --conntrack-tcp-timeout-close-wait 0 \
    --bind-address 127.0.0.1 --healthz-bind-address 127.0.0.1:10256 --metrics-bind-address 127.0.0.1:10249
  await kube-proxy 60 in_netns curl -sf http://127.0.0.1:10256/healthz
  daemon api-forward "$(command -v node)" "$ROOT/scripts/k8s-node/api-forward.mjs" "$RUN_DIR/apiserver.sock" 127.0.0.1:6443
  await api-forward 20 test -S "$RUN_DIR/apiserver.sock"
  echo "Kubernetes node: $K8S_VERSION up in $((SECONDS - started)) s (netns $NETNS, API server through $RUN_DIR/apiserver.sock, logs $LOGS)"
}

# Ready, and without the not-ready taint the node lifecycle controller puts on a new node: the
# scheduler places pods only then.
node_ready() {
  api "/api/v1/nodes/$NODE_NAME" | node -e '
    let text = "";
    process.stdin.on("data", (c) => (text += c)).on("end", () => {
      const node = JSON.parse(text);
      const ready = node.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      const tainted = (node.spec.taints ?? []).some((t) => t.key.startsWith("node.kubernetes.io/"));
      process.exit(ready && !tainted ? 0 : 1);
    });'
}

# The pause image, made from the binary built above and imported as containerd's sandbox image.
import_pause() {
  local image=task-helper-k8s/pause:$K8S_VERSION
  if ctr --address "$RUN_DIR/containerd.sock" -n k8s.io images check "name==docker.io/$image" 2>/dev/null | grep -q complete; then return; fi
  local ctx
  ctx=$(mktemp -d /var/tmp/task-helper-pause.XXXXXX)
  cp "$BIN/pause" "$ctx/pause"
  printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t "$image" "$ctx" >/dev/null 2>&1
  rm -rf "$ctx"
  docker save "$image" | ctr --address "$RUN_DIR/containerd.sock" -n k8s.io images import - >/dev/null
}

stop_daemon() {
  local pid
  pid=$(pid_of "$1") || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "task-helper: $1 (pid $pid) still running 30 s after SIGTERM: killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.1
    done
  fi
  rm -f "$RUN_DIR/$1.pid"
  stopped="$stopped $1"
}

# Every container of our containerd, killed and removed with its snapshot: no process, mount or
# CRI record outlives the run (the images stay, for the next start).
remove_containers() {
  local c="ctr --address $RUN_DIR/containerd.sock -n k8s.io" t
  for t in $($c tasks ls -q 2>/dev/null); do $c tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
  for t in $($c tasks ls -q 2>/dev/null); do $c tasks delete -f "$t" >/dev/null 2>&1 || true; done
  for t in $($c containers ls -q 2>/dev/null); do $c containers delete "$t" >/dev/null 2>&1 || true; done
}

stop() {
  # Every step, whatever the one before it did: the sysctls are restored even after a crash.
  set +e
  stopped=""
  stop_daemon kube-proxy
  stop_daemon kubelet
  stop_daemon kube-scheduler
  stop_daemon kube-controller-manager
  alive containerd && remove_containers
  stop_daemon api-forward
  stop_daemon dns
  stop_daemon kube-apiserver
  stop_daemon etcd
  stop_daemon containerd
  # The kubelet's volume mounts and the pods' network namespaces (under containerd's state dir).
  local m
  # (the kubelet bind-mounts its root dir onto itself, to share it).
  for m in $(findmnt -rn -o TARGET | grep -E "^($DATA/kubelet|$RUN_DIR)(/|$)" | sort -r); do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$DATA/kubelet" "$DATA/etcd" "$LOGS/pods" || true
  # The kubelet's cgroups (cgroupfs driver: one kubepods tree per controller), deepest first.
  find /sys/fs/cgroup/*/kubepods -depth -type d -exec rmdir {} + 2>/dev/null || true
  if ip netns list 2>/dev/null | grep -qw "$NETNS"; then
    ip netns del "$NETNS"
    stopped="$stopped netns"
  fi
  if [ -f "$RUN_DIR/sysctls" ]; then
    while IFS== read -r key value; do sysctl -qw "$key=$value"; done <"$RUN_DIR/sysctls"
    stopped="$stopped (sysctls restored)"
  fi
  rm -rf "${RUN_DIR:?}"
  if [ -n "$stopped" ]; then echo "Kubernetes node: stopped$stopped"; else echo "Kubernetes node: not running"; fi
}

case "${1:-}" in
  install) install ;;
  build) install && build ;;
  start) start ;;
  stop) stop ;;
  status)
    if running; then echo "Kubernetes node: running (API server through $RUN_DIR/apiserver.sock)"
    else echo "Kubernetes node: not running" >&2; exit 1; fi
    ;;
  *)
    echo "usage: scripts/k8s-node.sh install|build|start|stop|status" >&2
    exit 2
    ;;
esac
