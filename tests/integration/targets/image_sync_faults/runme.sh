#!/usr/bin/env bash
# image_sync under faults: token auth on both sides, 429s through the fault proxy, a sync SIGKILLed and resumed
# (registry, OCI layout, OCI archive), keep_going past a source image whose blob was deleted.
set -euo pipefail
source "$(d="$PWD"; while [ ! -f "$d/galaxy.yml" ]; do d="$(dirname "$d")"; done; echo "$d")/tests/integration/support/runme-common.sh"
run_pytest test_image_sync_faults.py "$@"
