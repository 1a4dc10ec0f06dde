# Everything runs on the Node 24 that `pnpm install` puts in node_modules (the `node` package);
# the machine's own Node only has to run pnpm.
PNPM_VERSION := $(shell sed -n 's/.*"packageManager": "pnpm@\([^"]*\)".*/\1/p' package.json)
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: setup test build demo bench image clean

setup: node_modules/.modules.yaml
	@command -v haproxy >/dev/null || scripts/install-haproxy.sh
	@scripts/install-python-tools.sh

node_modules/.modules.yaml: package.json pnpm-lock.yaml pnpm-workspace.yaml $(wildcard packages/*/package.json)
	@command -v pnpm >/dev/null || npm install --global --no-fund --no-audit pnpm@$(PNPM_VERSION)
	pnpm install --frozen-lockfile
	@touch $@

test: setup
	pnpm test

build: setup
	pnpm build

# No Docker engine runs on the build machines here; test/image checks what the image would hold.
image:
	@if docker info >/dev/null 2>&1; then docker build -t task-helper .; \
	else echo "make image: no Docker engine here (docker info failed), so no image was built; test/image/image.test.ts checks its contents instead" >&2; exit 1; fi

demo: setup
	pnpm demo

bench: setup
	pnpm bench

clean:
	rm -rf node_modules packages/*/node_modules packages/*/dist dist .tools
