#!/usr/bin/env bash
# image_sync against the real registry: registry to registry, filters, YAML and mapping sources, OCI layout and archive
# destinations, keep_going, prune, immutable tags, and a second run that changes nothing.
set -euo pipefail
source "$(d="$PWD"; while [ ! -f "$d/galaxy.yml" ]; do d="$(dirname "$d")"; done; echo "$d")/tests/integration/support/runme-common.sh"
run_pytest test_image_sync.py "$@"
