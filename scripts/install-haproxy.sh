#!/usr/bin/env bash
# The end-to-end tests put a real HAProxy (Debian's package) in front of the helper.
set -euo pipefail
if command -v haproxy >/dev/null; then exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "task-helper: the end-to-end tests need haproxy; install it with your package manager" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing haproxy (Debian package) for the end-to-end tests..."
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends haproxy >/dev/null
haproxy -v | head -n 1
