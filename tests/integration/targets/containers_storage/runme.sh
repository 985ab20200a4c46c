#!/usr/bin/env bash
# containers-storage: through Podman's libpod API (podman system service on a socket in a temp dir, vfs store there
# too), compared with skopeo reading the same store; skipped where podman is missing.
set -euo pipefail
source "$(d="$PWD"; while [ ! -f "$d/galaxy.yml" ]; do d="$(dirname "$d")"; done; echo "$d")/tests/integration/support/runme-common.sh"
run_pytest test_containers_storage.py "$@"
