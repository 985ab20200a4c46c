#!/usr/bin/env bash
# The ocikit.images.registry_mirror role through ansible-playbook: an htpasswd registry mirrored into a token-auth registry, as a
# scheduled job runs it (idempotent, check mode, prune, immutable tags, keep going, a summary, no secret in the output).
set -euo pipefail
source "$(d="$PWD"; while [ ! -f "$d/galaxy.yml" ]; do d="$(dirname "$d")"; done; echo "$d")/tests/integration/support/runme-common.sh"
run_pytest test_role_registry_mirror.py "$@"
