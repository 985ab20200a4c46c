#!/usr/bin/env bash
# The collection tarball (ansible-galaxy collection build) carries none of what make demo, make bench and test runs leave in the tree.
set -euo pipefail
source "$(d="$PWD"; while [ ! -f "$d/galaxy.yml" ]; do d="$(dirname "$d")"; done; echo "$d")/tests/integration/support/runme-common.sh"
run_pytest test_collection_build.py "$@"
