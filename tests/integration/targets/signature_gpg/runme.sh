#!/usr/bin/env bash
# Simple signing (GPG) interoperability with skopeo standalone-sign and standalone-verify (no registry needed).
set -euo pipefail
source "$(d="$PWD"; while [ ! -f "$d/galaxy.yml" ]; do d="$(dirname "$d")"; done; echo "$d")/tests/integration/support/runme-common.sh"
run_pytest test_signature_gpg.py "$@"
