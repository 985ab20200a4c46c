#!/usr/bin/env bash
# Sigstore attachments (sha256-<hex>.sig) in the real registry: written and read by image_copy, verified by the policy, kept by image_delete.
set -euo pipefail
source "$(d="$PWD"; while [ ! -f "$d/galaxy.yml" ]; do d="$(dirname "$d")"; done; echo "$d")/tests/integration/support/runme-common.sh"
run_pytest test_signature_sigstore.py "$@"
