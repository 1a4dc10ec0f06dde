#!/usr/bin/env bash
# The Docker engine the container tests (test/container) build and run the images on:
#   scripts/docker-engine.sh install   Debian's docker.io (dockerd, containerd, runc, tini as docker-init) and debootstrap
#   scripts/docker-engine.sh start     install, then start dockerd as root unless an engine already answers
#   scripts/docker-engine.sh stop      stop the containers the tests labelled, then the dockerd that `start` started
# The build machines have no systemd, so the daemon is started here, in the background, and stopped
# here. `--iptables=false --bridge=none` leaves the host's firewall and interfaces alone: builds run
# with `--network host`, and containers talk only inside namespaces and `--internal` networks the
# tests make. The data root is outside the checkout, so the base images that scripts/base-images.sh
# makes survive a new clone and the second run is quick.
set -euo pipefail

# Bookworm's versions, pinned so every machine runs the same engine.
DOCKER_IO=20.10.24+dfsg1-1+deb12u1+b6
DEBOOTSTRAP=1.0.128+nmu2+deb12u2

DATA_ROOT=/var/lib/task-helper-docker
EXEC_ROOT=/run/task-helper-docker
PIDFILE=$EXEC_ROOT/dockerd.pid
LOG=/var/log/task-helper-dockerd.log
# The label every container and network of the tests carries (test/support/docker.ts).
LABEL=task-helper.test

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

engine_answers() { docker info >/dev/null 2>&1; }

install() {
  if command -v dockerd >/dev/null && command -v debootstrap >/dev/null && command -v docker >/dev/null; then return; fi
  if ! command -v apt-get >/dev/null; then
    echo "task-helper: the container tests need a Docker engine; install Docker and debootstrap, or run on Debian (apt-get)" >&2
    exit 1
  fi
  echo "Installing docker.io $DOCKER_IO and debootstrap $DEBOOTSTRAP (Debian packages) for the container tests..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "docker.io=$DOCKER_IO" "debootstrap=$DEBOOTSTRAP" >/dev/null
}

start() {
  install
  if engine_answers; then
    echo "Docker engine: $(docker version --format 'dockerd {{.Server.Version}}') (already running)"
    return
  fi
  $sudo mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
  # setsid: the daemon outlives this script and make's shell, and `stop` ends it by its pid file.
  $sudo setsid dockerd --iptables=false --ip6tables=false --bridge=none \
    --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" --pidfile "$PIDFILE" \
    -H unix:///var/run/docker.sock </dev/null >>"$LOG" 2>&1 &
  local deadline=$((SECONDS + 60))
  until engine_answers; do
    if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 $! 2>/dev/null; then
      echo "task-helper: dockerd did not come up within 60 s; the end of $LOG:" >&2
      tail -n 20 "$LOG" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "Docker engine: $(docker version --format 'dockerd {{.Server.Version}}') started (pid $(cat "$PIDFILE"), data root $DATA_ROOT, log $LOG)"
}

stop() {
  if engine_answers; then
    local containers networks
    containers=$(docker ps -aq --filter "label=$LABEL")
    [ -z "$containers" ] || docker rm -f $containers >/dev/null
    networks=$(docker network ls -q --filter "label=$LABEL")
    [ -z "$networks" ] || docker network rm $networks >/dev/null
  fi
  if [ ! -f "$PIDFILE" ]; then
    engine_answers && echo "Docker engine: left running (not started by scripts/docker-engine.sh)"
    return 0
  fi
  local pid
  pid=$(cat "$PIDFILE")
  if kill -0 "$pid" 2>/dev/null; then
    $sudo kill -TERM "$pid"
    # dockerd stops its containers (10 s each at most) and its containerd before it exits.
    local deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "task-helper: dockerd (pid $pid) still running 60 s after SIGTERM: killing it" >&2
        $sudo kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.2
    done
  fi
  $sudo rm -f "$PIDFILE"
  echo "Docker engine: stopped (pid $pid)"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: scripts/docker-engine.sh install|start|stop" >&2
    exit 2
    ;;
esac
