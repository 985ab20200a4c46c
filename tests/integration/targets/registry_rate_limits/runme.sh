#!/usr/bin/env bash
# Shared registry clients, request accounting and rate limits, against a real registry behind the fault proxy.
set -euo pipefail
source "$(d="$PWD"; while [ ! -f "$d/galaxy.yml" ]; do d="$(dirname "$d")"; done; echo "$d")/tests/integration/support/runme-common.sh"
run_pytest test_registry_rate_limits.py test_registry_connections.py "$@"
