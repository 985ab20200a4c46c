#!/usr/bin/env bash
# Signatures in OCI layouts and oci-archives (ocikit's convention): an air-gap bundle from a signed registry image to another registry.
set -euo pipefail
source "$(d="$PWD"; while [ ! -f "$d/galaxy.yml" ]; do d="$(dirname "$d")"; done; echo "$d")/tests/integration/support/runme-common.sh"
run_pytest test_signature_layout.py "$@"
