# The task-helper image: one esbuild bundle on Node 24 (no pnpm, sources or dev dependencies), run
# by a non-root user under tini, so no SIGTERM is ever lost (docs/operations.md, "PID 1").
#   docker build -t task-helper .
# It builds with the legacy builder as with BuildKit (no `# syntax=`: that line pulls a frontend).

FROM node:24-bookworm-slim AS build
# tini-static: linked statically, so the same file runs on the Alpine (musl) runtime stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# `pnpm fetch` needs the lockfile alone, so this layer holds every dependency and is rebuilt only
# when the lockfile changes, whatever packages the workspace adds. build-ca.pem* matches nothing in
# a checkout: the project's test build adds it to its build context where the machine's TLS is
# re-signed by a local CA. It stays in this stage, never in the image.
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json build-ca.pem* ./
RUN if [ -f build-ca.pem ]; then export NODE_EXTRA_CA_CERTS=/src/build-ca.pem; fi \
 && npm install --global --no-fund --no-audit pnpm@10.34.9 \
 && pnpm fetch --frozen-lockfile --ignore-scripts
COPY . .
# No install scripts: the bundle needs none (the `node` package's would fetch a second Node 24).
RUN pnpm install --frozen-lockfile --offline --ignore-scripts
# Writes dist/task-helper: the bundle as node_modules/@task-helper/{cli,core,plugin-delay,plugin-envoy} and an empty config/.
RUN node scripts/build.ts

FROM node:24-alpine
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="task-helper" \
      org.opencontainers.image.description="Drain sidecar for Envoy service-mesh tasks on AWS ECS and Kubernetes: no 5xx while a task stops" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/task-helper/task-helper"
COPY --from=build /usr/bin/tini-static /sbin/tini
COPY --from=build /src/dist/task-helper /opt/task-helper
# `task-helper health` for the container's ECS healthCheck: ["CMD", "task-helper", "health"].
RUN ln -s /opt/task-helper/node_modules/@task-helper/cli/dist/cli.mjs /usr/local/bin/task-helper
# A team's config file and plugins go here (FROM task-helper, then COPY): it is where `run` looks,
# and from here their `import '@task-helper/core'` finds the bundle's packages.
WORKDIR /opt/task-helper/config
# V8's code cache for the start path, warmed here because Node keys it by path, node build and user
# (scripts/warm-compile-cache.mjs). Read-only at run time (readonlyRootFilesystem): Node only reads
# it, and a cache it cannot use or write costs the compile, never the start.
ENV NODE_COMPILE_CACHE=/opt/task-helper/compile-cache
RUN rm -rf "$NODE_COMPILE_CACHE" && install -d -o node -g node "$NODE_COMPILE_CACHE"
USER node
RUN node /opt/task-helper/warm-compile-cache.mjs /opt/task-helper/node_modules/@task-helper/cli/dist/cli.mjs "$NODE_COMPILE_CACHE"
# tini is PID 1: the kernel drops a signal PID 1 has no handler for, and Node installs the helper's
# only some 30 ms after start, so with node as PID 1 an early SIGTERM would be lost and the helper
# would run on until SIGKILL. tini forwards it: before the handler, Node dies of it at once (143);
# after, the helper drains. -s keeps tini quiet under ECS's initProcessEnabled (its own init as PID 1).
ENTRYPOINT ["/sbin/tini", "-s", "--", "node", "/opt/task-helper/node_modules/@task-helper/cli/dist/cli.mjs"]
CMD ["run"]
