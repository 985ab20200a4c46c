#!/usr/bin/env bash
# docker-daemon: against Podman's Docker-compatible service (podman system service on a socket in a temp dir,
# vfs storage there too), compared with skopeo; skipped where podman is missing.
set -euo pipefail
source "$(d="$PWD"; while [ ! -f "$d/galaxy.yml" ]; do d="$(dirname "$d")"; done; echo "$d")/tests/integration/support/runme-common.sh"
run_pytest test_docker_daemon.py "$@"
