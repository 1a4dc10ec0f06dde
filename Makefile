# Everything runs on the Node 24 that `pnpm install` puts in node_modules (the `node` package);
# the machine's own Node only has to run pnpm.
PNPM_VERSION := $(shell sed -n 's/.*"packageManager": "pnpm@\([^"]*\)".*/\1/p' package.json)
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup test build demo bench image clean

setup: node_modules/.modules.yaml
	@command -v haproxy >/dev/null || scripts/install-haproxy.sh

node_modules/.modules.yaml: package.json pnpm-lock.yaml pnpm-workspace.yaml $(wildcard packages/*/package.json)
	@command -v pnpm >/dev/null || npm install --global --no-fund --no-audit pnpm@$(PNPM_VERSION)
	pnpm install --frozen-lockfile
	@touch $@

test: setup
	pnpm test

build: setup
	pnpm typecheck

demo: setup
	pnpm demo

bench: setup
	pnpm bench

clean:
	rm -rf node_modules packages/*/node_modules
