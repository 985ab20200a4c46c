#!/usr/bin/env bash
# image_sign against skopeo 1.9.3 (standalone-sign/verify, manifest-digest) and the test bed's registry (verify with a lookaside).
set -euo pipefail
source "$(d="$PWD"; while [ ! -f "$d/galaxy.yml" ]; do d="$(dirname "$d")"; done; echo "$d")/tests/integration/support/runme-common.sh"
run_pytest test_image_sign.py "$@"
