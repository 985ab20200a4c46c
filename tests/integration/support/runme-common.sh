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
run_pytest() {
    exec "${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" -m pytest -q -p ocikit_it -p no:cacheprovider \
        --junitxml="${JUNIT_OUTPUT_DIR:-/tmp}/pytest-$(basename "$PWD").xml" "$@"
}
