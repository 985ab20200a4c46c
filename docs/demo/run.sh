#!/bin/sh
# make demo: start a local registry (TLS + password), build a small image offline, run demo.yml
# twice. The second run must report every task ok (nothing changed).
set -eu
COLLECTIONS_PATH="$1"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$ROOT/.demo"
PY="$ROOT/.venv/bin/python"
rm -rf "$WORK" && mkdir -p "$WORK"
export PYTHONPATH="$ROOT/tests/testbed"

echo "== starting a local registry (CNCF distribution, TLS with a throwaway CA, htpasswd auth)"
"$PY" -m ocikit_testbed serve --workdir "$WORK/registry" --tls --auth htpasswd --user demo:demo-secret >"$WORK/registry.log" 2>&1 &
REG_PID=$!
trap 'kill $REG_PID 2>/dev/null || true; wait $REG_PID 2>/dev/null || true' EXIT INT TERM
i=0
while [ ! -s "$WORK/registry/env.json" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 $REG_PID 2>/dev/null; then
        echo "ERROR: the registry did not start; its log:" >&2; cat "$WORK/registry.log" >&2; exit 1
    fi
    sleep 0.2
done

echo "== building a small image offline into an OCI layout"
"$PY" -m ocikit_testbed build-image --layout "$WORK/build" --tag v1 --layer-size 200000 --layer-size 50000 >/dev/null

VARS="$WORK/vars.json"
"$PY" - "$WORK/registry/env.json" "$WORK" >"$VARS" <<'PYEOF'
import json, sys
env = json.load(open(sys.argv[1]))
user, password = next(iter(env["users"].items()))
print(json.dumps({"registry": env["host"], "cert_dir": env["cert_dir"], "registry_user": user,
                  "registry_password": password, "work": sys.argv[2]}))
PYEOF

echo "== leaving a stale tag in the registry for the demo to delete (a different image, pushed with skopeo)"
"$PY" -m ocikit_testbed build-image --layout "$WORK/stale" --tag stale --layer-size 30000 --seed 7 >/dev/null
skopeo copy --quiet --dest-cert-dir "$(sed -n 's/.*"cert_dir": *"\([^"]*\)".*/\1/p' "$VARS")" \
    --dest-creds "$(sed -n 's/.*"registry_user": *"\([^"]*\)".*/\1/p' "$VARS"):$(sed -n 's/.*"registry_password": *"\([^"]*\)".*/\1/p' "$VARS")" \
    "oci:$WORK/stale:stale" "docker://$(sed -n 's/.*"registry": *"\([^"]*\)".*/\1/p' "$VARS")/demo/app:stale"

export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_PATH"
export ANSIBLE_PYTHON_INTERPRETER="$PY"
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False ANSIBLE_NOCOLOR="${ANSIBLE_NOCOLOR:-}"
echo "== first run: copies and inspects (tasks report changed)"
ansible-playbook -i localhost, -c local "$ROOT/docs/demo/demo.yml" -e "@$VARS" --diff
echo "== second run: the same playbook again; every task must be ok (unchanged)"
ansible-playbook -i localhost, -c local "$ROOT/docs/demo/demo.yml" -e "@$VARS" | tee "$WORK/second.log"
if ! grep -Eq 'changed=0 +unreachable=0 +failed=0' "$WORK/second.log"; then
    echo "ERROR: the second run changed something; see above." >&2; exit 1
fi
echo "== demo done: the second run changed nothing."
