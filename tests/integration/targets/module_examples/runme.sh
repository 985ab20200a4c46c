#!/usr/bin/env bash
# Every module's EXAMPLES, run as a playbook against the test bed (two registries, a Podman service, keys made here).
set -euo pipefail
source "$(d="$PWD"; while [ ! -f "$d/galaxy.yml" ]; do d="$(dirname "$d")"; done; echo "$d")/tests/integration/support/runme-common.sh"
run_pytest test_module_examples.py "$@"
