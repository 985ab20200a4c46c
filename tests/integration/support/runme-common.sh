# shellcheck shell=bash
# Sourced by every target's runme.sh: find the collection root (ansible-test runs targets from a
# copy under tests/output), put the test bed and the collection on PYTHONPATH, run pytest.
root="$PWD"
while [ ! -f "$root/galaxy.yml" ]; do
    [ "$root" = "/" ] && { echo "cannot find the collection root above $PWD" >&2; exit 1; }
    root="$(dirname "$root")"
done
export OCIKIT_COLLECTION_ROOT="$root"
PYTHONPATH="$root/tests/testbed:$root/tests/integration/support:$(cd "$root/../../.." && pwd)${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
# skopeo and podman run as root keep state in /var/lib/containers whatever HOME says (skopeo's blob-info
# cache, which would also turn a later test's uploads into mounts). As root, the suite runs in a mount
# namespace of its own where an empty tmpfs hides that directory: nothing the peers write outlives the
# run or reaches the machine's real one. Elsewhere (not root, no unshare) the peers use HOME as usual.
private_state() {
    [ "$(id -u)" = 0 ] && [ -z "${OCIKIT_PRIVATE_STATE:-}" ] && command -v unshare >/dev/null 2>&1 &&
        unshare --mount --propagation private -- true 2>/dev/null
}
run_pytest() {
    set -- "${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" -m pytest -q -rs -p ocikit_it -p no:cacheprovider \
        --junitxml="${JUNIT_OUTPUT_DIR:-/tmp}/pytest-$(basename "$PWD").xml" "$@"
    if private_state; then
        # The mount point must exist; the Debian packages of skopeo and podman create it on first use anyway.
        mkdir -p /var/lib/containers
        export OCIKIT_PRIVATE_STATE=1
        exec unshare --mount --propagation private -- \
            sh -c 'mount -t tmpfs -o mode=0700 ocikit-tests /var/lib/containers && exec "$@"' sh "$@"
    fi
    exec "$@"
}
