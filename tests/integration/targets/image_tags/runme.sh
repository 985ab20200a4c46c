#!/usr/bin/env bash
# Runs the pytest suite of this target against a real registry (see tests/integration/support).
set -euo pipefail
source "$(d="$PWD"; while [ ! -f "$d/galaxy.yml" ]; do d="$(dirname "$d")"; done; echo "$d")/tests/integration/support/runme-common.sh"
run_pytest test_image_tags.py "$@"
