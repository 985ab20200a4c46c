#!/bin/sh
# make demo: start a local registry (TLS + password), build a small image offline, run demo.yml
# twice. The second run must report every task ok (nothing changed).
set -eu
COLLECTIONS_PATH="$1"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$ROOT/.demo"
# The Python with the modules' requirements and the test bed's: the work tree's .venv, or OCIKIT_DEMO_PYTHON for an installed copy.
PY="${OCIKIT_DEMO_PYTHON:-$ROOT/.venv/bin/python}"
rm -rf "$WORK" && mkdir -p "$WORK"
export PYTHONPATH="$ROOT/tests/testbed"

echo "== starting a local registry (CNCF distribution, TLS with a throwaway CA, htpasswd auth)"
"$PY" -m ocikit_testbed serve --workdir "$WORK/registry" --tls --auth htpasswd --user demo:demo-secret >"$WORK/registry.log" 2>&1 &
REG_PID=$!
trap 'kill $REG_PID 2>/dev/null || true; wait $REG_PID 2>/dev/null || true; gpgconf --homedir "$WORK/gnupg" --kill all 2>/dev/null || true' EXIT INT TERM
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

echo "== making a throwaway GPG release key (ed25519, passphrase in a 0600 file) and a registries.d for the signatures"
GNUPGHOME="$WORK/gnupg"; export GNUPGHOME
mkdir -m 700 "$GNUPGHOME"
umask 077; printf 'demo release passphrase\n' >"$WORK/release.pass"; umask 022
gpgconf --launch gpg-agent 2>/dev/null || true
gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$WORK/release.pass" \
    --quick-gen-key 'ocikit demo release <release@demo.invalid>' ed25519 sign never
FPR="$(gpg --batch --with-colons --list-secret-keys release@demo.invalid | sed -n 's/^fpr:*\([0-9A-F]*\):*$/\1/p' | head -n 1)"
gpg --batch --quiet --export "$FPR" >"$WORK/release.gpg"
mkdir -p "$WORK/registries.d"
REGISTRY_HOST="$(sed -n 's/.*"host": *"\([^"]*\)".*/\1/p' "$WORK/registry/env.json")"
printf 'docker:\n  %s:\n    lookaside: file://%s\n    use-sigstore-attachments: true\n' "$REGISTRY_HOST" "$WORK/lookaside" \
    >"$WORK/registries.d/demo.yaml"

VARS="$WORK/vars.json"
"$PY" - "$WORK/registry/env.json" "$WORK" "$FPR" >"$VARS" <<'PYEOF'
import json, sys
env = json.load(open(sys.argv[1]))
user, password = next(iter(env["users"].items()))
print(json.dumps({"registry": env["host"], "cert_dir": env["cert_dir"], "registry_user": user,
                  "registry_password": password, "work": sys.argv[2], "release_key": sys.argv[3]}))
PYEOF

echo "== leaving a stale tag in the registry for the demo to delete (a different image, pushed with skopeo)"
"$PY" -m ocikit_testbed build-image --layout "$WORK/stale" --tag stale --layer-size 30000 --seed 7 >/dev/null
skopeo copy --quiet --dest-cert-dir "$(sed -n 's/.*"cert_dir": *"\([^"]*\)".*/\1/p' "$VARS")" \
    --dest-creds "$(sed -n 's/.*"registry_user": *"\([^"]*\)".*/\1/p' "$VARS"):$(sed -n 's/.*"registry_password": *"\([^"]*\)".*/\1/p' "$VARS")" \
    "oci:$WORK/stale:stale" "docker://$(sed -n 's/.*"registry": *"\([^"]*\)".*/\1/p' "$VARS")/demo/app:stale"

export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_PATH"
# Everything the play writes stays under .demo: Ansible's temporary files, and the modules' record of where
# blobs were seen (blob_info_cache, under XDG_CACHE_HOME), which a user's own runs keep in ~/.cache.
export XDG_CACHE_HOME="$WORK/cache" ANSIBLE_LOCAL_TEMP="$WORK/ansible-tmp" ANSIBLE_REMOTE_TEMP="$WORK/ansible-tmp"
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
