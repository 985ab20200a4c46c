#!/usr/bin/env bash
# Lazily imported module_utils travel in the AnsiballZ payload and work through ansible-playbook (see tests/benchmarks/startup.py).
set -euo pipefail
source "$(d="$PWD"; while [ ! -f "$d/galaxy.yml" ]; do d="$(dirname "$d")"; done; echo "$d")/tests/integration/support/runme-common.sh"
run_pytest test_module_startup.py "$@"
