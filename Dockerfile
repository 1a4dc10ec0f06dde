# syntax=docker/dockerfile:1
# The task-helper image: one esbuild bundle on Node 24 (no pnpm, sources or dev dependencies),
# run by a non-root user with node as PID 1, so SIGTERM from ECS reaches it directly.

FROM node:24-bookworm-slim AS build
WORKDIR /src
RUN npm install --global --no-fund --no-audit pnpm@10.34.9
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/core/package.json packages/core/
COPY packages/cli/package.json packages/cli/
COPY packages/plugin-delay/package.json packages/plugin-delay/
COPY packages/plugin-envoy/package.json packages/plugin-envoy/
COPY packages/envoy-sim/package.json packages/envoy-sim/
RUN pnpm install --frozen-lockfile
COPY . .
# Writes dist/task-helper: the bundle as node_modules/@task-helper/{cli,core,plugin-delay,plugin-envoy} and an empty config/.
RUN node scripts/build.ts

FROM node:24-alpine
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="task-helper" \
      org.opencontainers.image.description="Drain sidecar for Envoy service-mesh tasks on AWS ECS: no 5xx while a task stops" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/task-helper/task-helper"
COPY --from=build /src/dist/task-helper /opt/task-helper
# `task-helper health` for the container's ECS healthCheck: ["CMD", "task-helper", "health"].
RUN ln -s /opt/task-helper/node_modules/@task-helper/cli/dist/cli.mjs /usr/local/bin/task-helper
# A team's config file and plugins go here (FROM task-helper, then COPY): it is where `run` looks,
# and from here their `import '@task-helper/core'` finds the bundle's packages.
WORKDIR /opt/task-helper/config
USER node
ENTRYPOINT ["node", "/opt/task-helper/node_modules/@task-helper/cli/dist/cli.mjs"]
CMD ["run"]
