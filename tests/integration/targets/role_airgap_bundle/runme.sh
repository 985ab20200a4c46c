#!/usr/bin/env bash
# The ocikit.images.airgap_bundle role through ansible-playbook: export from a registry (GPG-signed images) into a bundle, carry it,
# import it into a token-auth registry and into containers-storage (a Podman service in a temp dir); tampered and wrongly signed
# bundles refused with nothing imported.
set -euo pipefail
source "$(d="$PWD"; while [ ! -f "$d/galaxy.yml" ]; do d="$(dirname "$d")"; done; echo "$d")/tests/integration/support/runme-common.sh"
run_pytest test_role_airgap_bundle.py "$@"
