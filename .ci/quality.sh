#!/bin/sh
# Galaxy-quality gates of make test (issue 12), each a tool a collection's users and Galaxy/Automation Hub run:
#   quality.sh lint     ansible-lint --profile production on the whole tree (roles, the demo, docs/examples, changelogs),
#                       antsibull-docs lint-collection-docs (module docs), antsibull-changelog lint (fragments)
#   quality.sh package  build the tarball, run galaxy-importer on it, install it into a fresh path with
#                       ansible-galaxy, check what ansible-builder gets from it for an execution environment,
#                       and run the demo from the installed copy
# The tools come pinned from tests/requirements-dev.txt (.venv). Everything they write (ansible-lint's cache,
# Ansible's home, the importer's temporary files, the tarball, the installed copy) goes to a temporary directory
# removed on exit: the work tree stays as git knows it, and nothing of the user's home is read or written.
set -eu
STEP="${1:-}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
COLL_ROOT="$ROOT/build/collections"
COLL="$COLL_ROOT/ansible_collections/ocikit/images"
VENV_BIN="$ROOT/.venv/bin"

for tool in ansible-lint antsibull-docs antsibull-changelog ansible-galaxy ansible-builder; do
    if [ ! -x "$VENV_BIN/$tool" ]; then
        echo "ERROR: $tool is not in .venv; it is pinned in tests/requirements-dev.txt (run make venv; PyPI must be reachable)." >&2
        exit 1
    fi
done
if ! "$VENV_BIN/python" -c 'import galaxy_importer' 2>/dev/null; then
    echo "ERROR: galaxy-importer is not in .venv; it is pinned in tests/requirements-dev.txt (run make venv; PyPI must be reachable)." >&2
    exit 1
fi
if [ ! -f "$COLL/galaxy.yml" ]; then
    echo "ERROR: no collection copy in $COLL; run make collection first." >&2
    exit 1
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/ocikit-quality.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT INT TERM
# A private home for every tool: ansible-lint's cache and collection installs, Ansible's galaxy cache and temp
# files, galaxy-importer's files. ANSIBLE_HOME also tells ansible-lint to keep its cache there, not in ./.ansible.
mkdir -p "$TMP/home"
export HOME="$TMP/home" ANSIBLE_HOME="$TMP/ansible-home" XDG_CACHE_HOME="$TMP/cache" ANSIBLE_LOCAL_TEMP="$TMP/ansible-tmp"
export PATH="$VENV_BIN:$PATH" ANSIBLE_NOCOLOR=1 NO_COLOR=1

timed() {
    name="$1"; shift
    start="$(date +%s)"
    if ! "$@"; then
        echo "ERROR: $name failed (above)." >&2
        return 1
    fi
    echo "== $name: passed in $(($(date +%s) - start)) s"
}

ansible_lint() {
    # --offline: nothing is fetched from Galaxy; the collection is found where make collection put it.
    (cd "$ROOT" && ANSIBLE_COLLECTIONS_PATH="$COLL_ROOT" ansible-lint --offline --profile production --strict --nocolor -f pep8 \
        --exclude build --exclude .venv --exclude tests/output)
}

collection_docs() {
    (cd "$COLL" && antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs self .)
}

changelog() {
    (cd "$ROOT" && antsibull-changelog lint)
}

importer() {
    tarball="$1"
    # RUN_ANSIBLE_TEST would start ansible-test in a container: make test runs ansible-test itself. Its ansible-lint fetches nothing.
    cat >"$TMP/galaxy-importer.cfg" <<EOF
[galaxy-importer]
RUN_ANSIBLE_TEST = False
RUN_ANSIBLE_LINT = True
OFFLINE_ANSIBLE_LINT = True
RUN_FLAKE8 = False
ANSIBLE_TEST_LOCAL_IMAGE = False
LOG_LEVEL_MAIN = INFO
TMP_ROOT_DIR = $TMP
EOF
    # The importer's warnings are findings too (lint, metadata, docs): they fail the gate.
    status=0
    (cd "$TMP" && GALAXY_IMPORTER_CONFIG="$TMP/galaxy-importer.cfg" python -m galaxy_importer.main "$tarball") >"$TMP/importer.log" 2>&1 || status=$?
    if [ $status -ne 0 ] || grep -Eq '^(WARNING|ERROR)' "$TMP/importer.log"; then
        grep -E '^(WARNING|ERROR)|Traceback|Error' "$TMP/importer.log" >&2 || tail -n 20 "$TMP/importer.log" >&2
        return 1
    fi
    tail -n 1 "$TMP/importer.log"
}

install() {
    ANSIBLE_COLLECTIONS_PATH="$TMP/installed" ansible-galaxy collection install --offline "$1" -p "$TMP/installed" >/dev/null
}

execution_environment() {
    # What ansible-builder collects from the installed collection (meta/execution-environment.yml) for an EE: every
    # requirement of requirements.txt and bindep.txt. And docs/examples/execution-environment.yml makes a build context.
    ansible-builder introspect "$TMP/installed" >"$TMP/introspect.txt" || return 1
    # ansible-builder leaves out PyYAML on purpose: the EE's ansible-core brings it.
    missing="$(sed -e 's/#.*//' -e 's/[ [].*//' "$ROOT/requirements.txt" "$ROOT/bindep.txt" | grep -v -i -e '^$' -e '^pyyaml' | sort -u |
        while read -r requirement; do grep -q "^- '$requirement" "$TMP/introspect.txt" || printf ' %s' "$requirement"; done)"
    if [ -n "$missing" ]; then
        echo "ansible-builder introspect lacks:$missing" >&2; cat "$TMP/introspect.txt" >&2; return 1
    fi
    ansible-builder create -f "$ROOT/docs/examples/execution-environment.yml" --context "$TMP/ee-context" >/dev/null
}

installed_demo() {
    # The installed copy's own demo script and playbook, with the modules ansible-galaxy installed:
    # what a user who installed the tarball gets. Its registry, keys and credentials go to its .demo/.
    OCIKIT_DEMO_PYTHON="$VENV_BIN/python" sh "$TMP/installed/ansible_collections/ocikit/images/docs/demo/run.sh" "$TMP/installed" \
        >"$TMP/demo.log" 2>&1 || { tail -n 40 "$TMP/demo.log" >&2; return 1; }
    tail -n 1 "$TMP/demo.log"
}

case "$STEP" in
    lint)
        # The tools must leave the work tree as it was (ansible-lint used to leave .ansible/ there, which builds then packed):
        # what git sees, ignored files included, is compared before and after.
        before="$(git -C "$ROOT" status --porcelain --ignored 2>/dev/null || true)"
        timed "ansible-lint --profile production" ansible_lint
        timed "antsibull-docs lint-collection-docs" collection_docs
        timed "antsibull-changelog lint" changelog
        after="$(git -C "$ROOT" status --porcelain --ignored 2>/dev/null || true)"
        if [ "$before" != "$after" ]; then
            echo "ERROR: the lint tools changed the work tree:" >&2
            printf '%s\n' "$after" | grep -vxF "$before" >&2 || true
            exit 1
        fi
        ;;
    package)
        start="$(date +%s)"
        ansible-galaxy collection build --output-path "$TMP/dist" "$COLL" >/dev/null
        tarball="$(ls "$TMP"/dist/ocikit-images-*.tar.gz)"
        echo "== ansible-galaxy collection build: $(tar -tzf "$tarball" | wc -l) entries in $(($(date +%s) - start)) s"
        timed "galaxy-importer" importer "$tarball"
        timed "ansible-galaxy collection install of the tarball" install "$tarball"
        timed "ansible-builder introspect and create" execution_environment
        timed "the demo from the installed tarball" installed_demo "$tarball"
        ;;
    *)
        echo "usage: $0 lint|package" >&2
        exit 2
        ;;
esac
