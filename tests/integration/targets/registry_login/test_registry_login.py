"""registry_login against the real distribution registry (htpasswd and token auth), with skopeo reading what it writes."""

from __future__ import annotations

import base64
import concurrent.futures
import http.server
import json
import os
import threading
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import ocikit_it
from ocikit_it import PASSWORD, USER, find_secrets, run_module, run_playbook, scan_for_secrets, skopeo
from ocikit_testbed import LayerSpec, build_image, issued_tokens

WRONG = 'not-the-password'
HELPER = 'ocikittest'


def b64(user: str, password: str) -> str:
    return base64.b64encode(('%s:%s' % (user, password)).encode()).decode()


def login(reg, authfile, check=False, diff=False, env=None, **extra):
    args = {'registry': reg.host, 'username': USER, 'password': PASSWORD, 'cert_dir': str(reg.cert_dir)}
    if authfile is not None:
        args['authfile'] = str(authfile)
    args.update(extra)
    return run_module('registry_login', args, check=check, diff=diff, env=env)


def logout(authfile, registry=None, check=False, env=None, **extra):
    args = {'state': 'absent'}
    if registry is not None:
        args['registry'] = registry
    if authfile is not None:
        args['authfile'] = str(authfile)
    args.update(extra)
    return run_module('registry_login', args, check=check, env=env)


def no_secret(run, *secrets):
    """The password (and its base64 entry) appear nowhere in what the module printed."""
    text = json.dumps(run.result) + run.stderr
    for secret in (PASSWORD, b64(USER, PASSWORD)) + secrets:
        assert secret not in text


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def read(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    return build_image(tmp_path_factory.mktemp('login-src') / 'layout', 'v1', layers=[LayerSpec(size=20_000)])


@pytest.fixture
def helper_bin(tmp_path):
    """A docker-credential-ocikittest on PATH, keeping its credentials in a JSON file, logging each action."""
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    store = tmp_path / 'helper-store.json'
    script = bindir / ('docker-credential-' + HELPER)
    script.write_text('''#!%s
import json, os, sys
store = %r
action = sys.argv[1]
data = json.load(open(store)) if os.path.exists(store) else {}
with open(store + ".log", "a") as log:
    log.write(action + "\\n")
if action == "store":
    req = json.load(sys.stdin)
    data[req["ServerURL"]] = [req["Username"], req["Secret"]]
    json.dump(data, open(store, "w"))
    sys.exit(0)
server = sys.stdin.read().strip()
if action == "list":
    print(json.dumps({k: v[0] for k, v in data.items()}))
    sys.exit(0)
if server not in data:
    print("credentials not found in native keychain")
    sys.exit(1)
if action == "get":
    print(json.dumps({"ServerURL": server, "Username": data[server][0], "Secret": data[server][1]}))
elif action == "erase":
    del data[server]
    json.dump(data, open(store, "w"))
''' % (sys.executable, str(store)))
    script.chmod(0o755)

    class Helper:
        env = {'PATH': '%s%s%s' % (bindir, os.pathsep, os.environ.get('PATH', ''))}

        @staticmethod
        def data() -> dict:
            return json.loads(store.read_text()) if store.exists() else {}

        @staticmethod
        def actions() -> list:
            log = Path(str(store) + '.log')
            return log.read_text().split() if log.exists() else []

    return Helper


def skopeo_with(env, *args):
    return subprocess.run(['skopeo', *args], capture_output=True, text=True, env={**os.environ, **env}, check=False, timeout=300)


# --- log in, use, log out ---------------------------------------------------------------------

def test_login_basic_stores_0600_in_0700_dirs_and_copy_and_skopeo_use_it(image, registry, tmp_path):
    authfile = tmp_path / 'fresh' / 'containers' / 'auth.json'
    first = login(registry, authfile)
    assert not first.failed, first.msg
    assert {k: v for k, v in first.result.items() if k != 'invocation'} == {
        'changed': True, 'registry': registry.host, 'auth_key': registry.host, 'username': USER, 'authfile': str(authfile),
        'verification': {'auth_scheme': 'basic', 'verified': True},
        'diff': {'before': {'registries': [], 'credentials': {}},
                 'after': {'registries': [registry.host], 'credentials': {registry.host: {'username': USER, 'store': 'auth file'}}}},
    }
    no_secret(first)
    assert read(authfile) == {'auths': {registry.host: {'auth': b64(USER, PASSWORD)}}}
    assert mode(authfile) == 0o600
    assert mode(tmp_path / 'fresh') == 0o700 and mode(tmp_path / 'fresh' / 'containers') == 0o700
    assert sorted(p.name for p in authfile.parent.iterdir()) == ['auth.json', 'auth.json.lock']

    ref = 'docker://' + registry.ref('login/app', 'v1')
    push = run_module('image_copy', {'src': image.oci_ref, 'dest': ref, 'authfile': str(authfile), 'cert_dir': str(registry.cert_dir)})
    assert not push.failed, push.msg
    peer = skopeo('inspect', '--authfile', str(authfile), *registry.skopeo_flags('', creds=False), ref)
    assert json.loads(peer.stdout)['Digest'] == image.manifest_digest


def test_login_token_auth_asks_the_token_server_with_the_credentials(image, token_registry, tmp_path):
    authfile = tmp_path / 'auth.json'
    token_registry.token_server.clear_requests()
    first = login(token_registry, authfile)
    assert not first.failed, first.msg
    assert first.result['changed'] is True
    assert first.result['verification'] == {'auth_scheme': 'bearer', 'verified': True}
    requests = token_registry.token_server.requests
    assert [(r.attempted_user, r.user, r.status, r.scopes) for r in requests] == [(USER, USER, 200, ())]
    no_secret(first)

    ref = 'docker://' + token_registry.ref('login/tok', 'v1')
    push = run_module('image_copy', {'src': image.oci_ref, 'dest': ref, 'authfile': str(authfile), 'cert_dir': str(token_registry.cert_dir)})
    assert not push.failed, push.msg
    peer = skopeo('inspect', '--authfile', str(authfile), *token_registry.skopeo_flags('', creds=False), ref)
    assert json.loads(peer.stdout)['Digest'] == image.manifest_digest


def test_second_login_is_ok_and_rewrites_nothing(registry, tmp_path):
    authfile = tmp_path / 'auth.json'
    assert login(registry, authfile).result['changed'] is True
    before = authfile.stat()
    again = login(registry, authfile, diff=True)
    assert not again.failed, again.msg
    assert again.result['changed'] is False
    entry = {registry.host: {'username': USER, 'store': 'auth file'}}
    assert again.result['diff'] == {'before': {'registries': [registry.host], 'credentials': entry},
                                    'after': {'registries': [registry.host], 'credentials': entry}}
    after = authfile.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # Another user for the same registry replaces the entry (unverified: the registry knows only alice).
    other = login(registry, authfile, username='bob', password='b0b-secret', verify=False)
    assert other.result['changed'] is True and 'verification' not in other.result
    assert read(authfile)['auths'][registry.host] == {'auth': b64('bob', 'b0b-secret')}
    no_secret(other, 'b0b-secret', b64('bob', 'b0b-secret'))


@pytest.mark.parametrize('which', ['registry', 'token_registry'])
def test_wrong_password_is_refused_and_nothing_is_written(which, request, tmp_path):
    reg = request.getfixturevalue(which)
    where = 'the token server of %s' % reg.host if which == 'token_registry' else reg.host
    expected = '%s refused the credentials of user alice (HTTP 401): wrong username or password? Nothing was stored' % where

    fresh = tmp_path / 'new' / 'auth.json'
    refused = login(reg, fresh, password=WRONG)
    assert refused.failed
    assert refused.msg == expected
    assert refused.result['error_type'] == 'AuthenticationError'
    assert not fresh.parent.exists()
    no_secret(refused, WRONG, b64(USER, WRONG))

    existing = tmp_path / 'auth.json'
    assert not login(reg, existing).failed
    content = existing.read_bytes()
    again = login(reg, existing, password=WRONG)
    assert again.failed and again.msg == expected
    assert existing.read_bytes() == content
    # Check mode checks too.
    assert login(reg, existing, password=WRONG, check=True).msg == expected


def test_logout_removes_the_entry_and_a_second_logout_is_ok(image, registry, tmp_path):
    authfile = tmp_path / 'auth.json'
    other = {'auth': b64('carol', 'c4rol')}
    authfile.write_text(json.dumps({'auths': {'quay.io': other}}))
    assert login(registry, authfile).result['changed'] is True
    ref = 'docker://' + registry.ref('logout/app', 'v1')
    assert not run_module('image_copy', {'src': image.oci_ref, 'dest': ref, 'authfile': str(authfile), 'cert_dir': str(registry.cert_dir)}).failed

    out = logout(authfile, registry.host)
    assert not out.failed, out.msg
    assert {k: v for k, v in out.result.items() if k != 'invocation'} == {
        'changed': True, 'registry': registry.host, 'auth_key': registry.host, 'authfile': str(authfile), 'removed': [registry.host],
        'diff': {'before': {'registries': [registry.host, 'quay.io'], 'credentials': {registry.host: {'username': USER, 'store': 'auth file'}}},
                 'after': {'registries': ['quay.io'], 'credentials': {}}},
    }
    assert read(authfile) == {'auths': {'quay.io': other}}
    assert mode(authfile) == 0o600
    again = logout(authfile, registry.host)
    assert not again.failed and again.result['changed'] is False and again.result['removed'] == []

    # Logged out: skopeo and image_inspect are refused now.
    peer = skopeo('inspect', '--authfile', str(authfile), *registry.skopeo_flags('', creds=False), ref, check=False)
    assert peer.returncode != 0 and 'unauthorized' in peer.stderr.lower()
    denied = run_module('image_inspect', {'image': ref, 'authfile': str(authfile), 'cert_dir': str(registry.cert_dir)})
    assert denied.failed and 'no credentials were found for %s' % registry.host in denied.msg, denied.msg


def test_logout_without_a_file_is_ok_and_creates_nothing(tmp_path):
    authfile = tmp_path / 'missing' / 'auth.json'
    out = logout(authfile, 'registry.example.com')
    assert not out.failed, out.msg
    assert out.result['changed'] is False and out.result['removed'] == []
    assert not (tmp_path / 'missing').exists()


def test_logout_all_removes_every_registry_and_helper_entries(registry, token_registry, helper_bin, tmp_path):
    authfile = tmp_path / 'auth.json'
    authfile.write_text(json.dumps({'credHelpers': {'helped.example.com': HELPER}, 'auths': {'quay.io/team': {'auth': b64('c', 'd')}}}))
    assert not login(registry, authfile).failed
    assert not login(token_registry, authfile).failed
    helped = run_module('registry_login', {'registry': 'helped.example.com', 'username': 'hu', 'password': 'hp-123', 'verify': False,
                                           'authfile': str(authfile)}, env=helper_bin.env)
    assert helped.result['changed'] is True and helped.result['credential_helper'] == HELPER
    assert helper_bin.data() == {'helped.example.com': ['hu', 'hp-123']}

    predicted = logout(authfile, all=True, check=True, env=helper_bin.env)
    expected = sorted([registry.host, token_registry.host, 'quay.io/team', 'helped.example.com'])
    assert predicted.result['changed'] is True and predicted.result['removed'] == expected
    assert len(read(authfile)['auths']) == 3 and helper_bin.data()

    out = logout(authfile, all=True, env=helper_bin.env)
    assert not out.failed, out.msg
    assert out.result['removed'] == expected
    assert out.result['diff'] == {
        'before': {'registries': expected, 'credentials': {registry.host: {'username': USER, 'store': 'auth file'},
                                                           token_registry.host: {'username': USER, 'store': 'auth file'},
                                                           'quay.io/team': {'username': 'c', 'store': 'auth file'},
                                                           'helped.example.com': {'username': 'hu', 'store': 'credential helper ' + HELPER}}},
        'after': {'registries': [], 'credentials': {}}}
    # The helper configuration stays: it says where credentials go, it holds none.
    assert read(authfile) == {'credHelpers': {'helped.example.com': HELPER}, 'auths': {}}
    assert helper_bin.data() == {}
    again = logout(authfile, all=True, env=helper_bin.env)
    assert again.result['changed'] is False and again.result['removed'] == []


# --- file handling ------------------------------------------------------------------------------

def test_other_entries_and_unknown_keys_are_kept(registry, tmp_path):
    authfile = tmp_path / 'auth.json'
    document = {'auths': {'quay.io': {'auth': b64('q', 'r'), 'identitytoken': 'refresh-me'}, 'docker.io/team': {'auth': b64('t', 'u')}},
                'HttpHeaders': {'User-Agent': 'x'}, 'x-future': [1, {'nested': True}], 'credHelpers': {}}
    authfile.write_text(json.dumps(document))
    assert login(registry, authfile).result['changed'] is True
    expected = json.loads(json.dumps(document))
    expected['auths'][registry.host] = {'auth': b64(USER, PASSWORD)}
    assert read(authfile) == expected
    assert logout(authfile, registry.host).result['changed'] is True
    assert read(authfile) == document


def test_concurrent_logins_into_one_file_all_survive(registry, token_registry, tmp_path):
    authfile = tmp_path / 'shared' / 'auth.json'
    jobs = [dict(reg=registry, registry=registry.host), dict(reg=token_registry, registry=token_registry.host)]
    jobs += [dict(reg=registry, registry='%s/team%d' % (registry.host, i)) for i in range(2)]
    jobs += [dict(reg=registry, registry='fake%d.example.com' % i, username='user%d' % i, password='pw-%d' % i, verify=False) for i in range(4)]
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        runs = list(pool.map(lambda job: login(job.pop('reg'), authfile, **job), [dict(job) for job in jobs]))
    for run in runs:
        assert not run.failed, run.msg
        assert run.result['changed'] is True
    auths = read(authfile)['auths']
    assert sorted(auths) == sorted(job['registry'] for job in jobs)
    for job in jobs:
        assert auths[job['registry']] == {'auth': b64(job.get('username', USER), job.get('password', PASSWORD))}
    assert mode(authfile) == 0o600 and mode(authfile.parent) == 0o700
    # No temporary file is left behind.
    assert sorted(p.name for p in authfile.parent.iterdir()) == ['auth.json', 'auth.json.lock']


def test_check_mode_writes_nothing(registry, tmp_path):
    authfile = tmp_path / 'check' / 'auth.json'
    predicted = login(registry, authfile, check=True, diff=True)
    assert not predicted.failed, predicted.msg
    assert predicted.result['changed'] is True
    assert predicted.result['verification'] == {'auth_scheme': 'basic', 'verified': True}
    assert predicted.result['diff'] == {'before': {'registries': [], 'credentials': {}},
                                        'after': {'registries': [registry.host], 'credentials': {registry.host: {'username': USER, 'store': 'auth file'}}}}
    assert not (tmp_path / 'check').exists()

    assert login(registry, authfile).result['changed'] is True
    content = authfile.read_bytes()
    assert login(registry, authfile, check=True).result['changed'] is False
    assert login(registry, authfile, check=True, username='bob', password='x-y-z', verify=False).result['changed'] is True
    out = logout(authfile, registry.host, check=True)
    assert out.result['changed'] is True and out.result['removed'] == [registry.host]
    assert authfile.read_bytes() == content


def test_default_file_is_under_xdg_runtime_dir_and_the_other_modules_read_it(image, registry, tmp_path):
    runtime = tmp_path / 'run'
    runtime.mkdir(mode=0o700)
    env = {'XDG_RUNTIME_DIR': str(runtime), 'REGISTRY_AUTH_FILE': '', 'HOME': str(tmp_path / 'home')}
    first = login(registry, None, env=env)
    assert not first.failed, first.msg
    authfile = runtime / 'containers' / 'auth.json'
    assert first.result['authfile'] == str(authfile)
    assert mode(authfile) == 0o600 and mode(authfile.parent) == 0o700

    ref = 'docker://' + registry.ref('default/app', 'v1')
    push = run_module('image_copy', {'src': image.oci_ref, 'dest': ref, 'cert_dir': str(registry.cert_dir)}, env=env)
    assert not push.failed, push.msg
    seen = run_module('image_inspect', {'image': ref, 'cert_dir': str(registry.cert_dir)}, env=env)
    assert seen.result['digest'] == image.manifest_digest
    peer = skopeo_with(env, 'inspect', *registry.skopeo_flags('', creds=False), ref)
    assert peer.returncode == 0, peer.stderr

    by_env = tmp_path / 'env' / 'auth.json'
    env_file = login(registry, None, env={**env, 'REGISTRY_AUTH_FILE': str(by_env)})
    assert env_file.result['authfile'] == str(by_env) and by_env.exists()

    missing = login(registry, None, env={**env, 'XDG_RUNTIME_DIR': str(tmp_path / 'nowhere')})
    assert missing.failed
    assert missing.msg == ('%s: the directory %s set by $XDG_RUNTIME_DIR does not exist: create it, unset XDG_RUNTIME_DIR, or set authfile'
                           % (registry.host, tmp_path / 'nowhere'))


def test_a_symlinked_auth_file_stays_a_symlink(registry, tmp_path):
    real = tmp_path / 'real' / 'auth.json'
    real.parent.mkdir()
    real.write_text('{}')
    link = tmp_path / 'link.json'
    link.symlink_to(real)
    assert login(registry, link).result['changed'] is True
    assert link.is_symlink()
    assert read(real) == {'auths': {registry.host: {'auth': b64(USER, PASSWORD)}}}


def test_bad_registry_values_are_refused(tmp_path):
    authfile = tmp_path / 'auth.json'
    cases = {
        'host.example.com/app:v1': 'registry \'host.example.com/app:v1\' contains a tag (":" after host[:port]): '
                                   'give host[:port] or host[:port]/namespace[/repo]',
        'team/app': 'registry \'team/app\' does not start with a registry host (for Docker Hub, write docker.io/team/app)',
    }
    for value, message in cases.items():
        refused = run_module('registry_login', {'registry': value, 'username': 'u', 'password': 'p-w', 'authfile': str(authfile), 'verify': False})
        assert refused.failed and refused.msg == message, refused.msg
    both = run_module('registry_login', {'registry': 'r.example.com', 'username': 'u', 'password': 'p-w', 'authfile': str(authfile),
                                         'compat_auth_file': str(tmp_path / 'config.json'), 'verify': False})
    assert both.failed and both.msg == 'parameters are mutually exclusive: authfile|compat_auth_file'
    assert not authfile.exists()


# --- credential helpers -------------------------------------------------------------------------

def test_credential_helper_stores_reads_and_erases(image, registry, helper_bin, tmp_path):
    authfile = tmp_path / 'auth.json'
    authfile.write_text(json.dumps({'credHelpers': {registry.host: HELPER}}))
    content = authfile.read_bytes()
    first = login(registry, authfile, env=helper_bin.env)
    assert not first.failed, first.msg
    assert first.result['changed'] is True and first.result['credential_helper'] == HELPER
    assert first.result['diff'] == {'before': {'registries': [], 'credentials': {}},
                                    'after': {'registries': [registry.host],
                                              'credentials': {registry.host: {'username': USER, 'store': 'credential helper ' + HELPER}}}}
    assert helper_bin.data() == {registry.host: [USER, PASSWORD]}
    assert authfile.read_bytes() == content
    no_secret(first)

    again = login(registry, authfile, env=helper_bin.env)
    assert again.result['changed'] is False
    assert helper_bin.actions().count('store') == 1

    # The stored credentials are read through the helper by image_copy and by skopeo.
    ref = 'docker://' + registry.ref('helper/app', 'v1')
    push = run_module('image_copy', {'src': image.oci_ref, 'dest': ref, 'authfile': str(authfile), 'cert_dir': str(registry.cert_dir)},
                      env=helper_bin.env)
    assert not push.failed, push.msg
    peer = skopeo_with(helper_bin.env, 'inspect', '--authfile', str(authfile), *registry.skopeo_flags('', creds=False), ref)
    assert peer.returncode == 0, peer.stderr

    namespaced = login(registry, authfile, env=helper_bin.env, registry=registry.host + '/team')
    assert namespaced.failed
    assert namespaced.msg == ('%s/team is namespace-scoped, but %s names credential helper %s for %s, and helpers store credentials '
                              'per registry: log in to %s instead' % (registry.host, authfile, HELPER, registry.host, registry.host))

    out = logout(authfile, registry.host, env=helper_bin.env)
    assert out.result['changed'] is True and out.result['removed'] == [registry.host]
    assert helper_bin.data() == {}
    assert authfile.read_bytes() == content
    assert logout(authfile, registry.host, env=helper_bin.env).result['changed'] is False


# --- Docker's config.json format ----------------------------------------------------------------

def test_compat_auth_file_writes_docker_format_read_by_skopeo(image, registry, tmp_path):
    config = tmp_path / 'docker' / 'config.json'
    config.parent.mkdir()
    config.write_text(json.dumps({'auths': {}, 'psFormat': 'table {{.ID}}', 'currentContext': 'default'}))
    first = login(registry, None, compat_auth_file=str(config))
    assert not first.failed, first.msg
    assert first.result['authfile'] == str(config) and first.result['auth_key'] == registry.host
    assert read(config) == {'auths': {registry.host: {'auth': b64(USER, PASSWORD)}}, 'psFormat': 'table {{.ID}}', 'currentContext': 'default'}
    ref = 'docker://' + registry.ref('compat/app', 'v1')
    assert not run_module('image_copy', {'src': image.oci_ref, 'dest': ref, 'authfile': str(config), 'cert_dir': str(registry.cert_dir)}).failed
    peer = skopeo('inspect', '--authfile', str(config), *registry.skopeo_flags('', creds=False), ref)
    assert json.loads(peer.stdout)['Digest'] == image.manifest_digest


def test_compat_auth_file_keys_docker_hub_by_its_url_and_refuses_namespaces(tmp_path):
    config = tmp_path / 'config.json'
    hub = run_module('registry_login', {'registry': 'index.docker.io', 'username': 'me', 'password': 'hub-t0ken', 'verify': False,
                                        'compat_auth_file': str(config)})
    assert not hub.failed, hub.msg
    assert hub.result['registry'] == 'docker.io' and hub.result['auth_key'] == 'https://index.docker.io/v1/'
    assert read(config) == {'auths': {'https://index.docker.io/v1/': {'auth': b64('me', 'hub-t0ken')}}}
    assert mode(config) == 0o600

    scoped = run_module('registry_login', {'registry': 'docker.io/team', 'username': 'me', 'password': 'hub-t0ken', 'verify': False,
                                           'compat_auth_file': str(config)})
    assert scoped.failed
    assert scoped.msg == ("docker.io/team is namespace-scoped; Docker's config.json format (compat_auth_file) stores credentials per registry only, "
                          "so it cannot hold it: log in to docker.io, or write a containers auth file (authfile)")

    out = run_module('registry_login', {'registry': 'docker.io', 'state': 'absent', 'compat_auth_file': str(config)})
    assert out.result['removed'] == ['https://index.docker.io/v1/']
    assert read(config) == {'auths': {}}


def test_compat_auth_file_with_creds_store_uses_the_helper(helper_bin, tmp_path):
    config = tmp_path / 'config.json'
    config.write_text(json.dumps({'auths': {}, 'credsStore': HELPER}))
    args = {'registry': 'docker.io', 'username': 'me', 'password': 'hub-t0ken', 'verify': False, 'compat_auth_file': str(config)}
    first = run_module('registry_login', args, env=helper_bin.env)
    assert not first.failed, first.msg
    assert first.result['changed'] is True and first.result['credential_helper'] == HELPER
    # As docker login: the secret in the store, an empty entry in the file.
    assert helper_bin.data() == {'https://index.docker.io/v1/': ['me', 'hub-t0ken']}
    assert read(config) == {'auths': {'https://index.docker.io/v1/': {}}, 'credsStore': HELPER}
    no_secret(first, 'hub-t0ken')
    assert run_module('registry_login', args, env=helper_bin.env).result['changed'] is False

    out = run_module('registry_login', {'registry': 'docker.io', 'state': 'absent', 'compat_auth_file': str(config)}, env=helper_bin.env)
    assert out.result['changed'] is True and out.result['removed'] == ['https://index.docker.io/v1/']
    assert helper_bin.data() == {}
    assert read(config) == {'auths': {}, 'credsStore': HELPER}


# --- Ansible: module_defaults group, check and diff mode ---------------------------------------------

def test_playbook_module_defaults_check_and_diff(image, registry, tmp_path):
    authfile = tmp_path / 'play' / 'auth.json'
    playbook = '''
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/ocikit.images.images:
      authfile: "{{ authfile }}"
      cert_dir: "{{ cert_dir }}"
  tasks:
    - name: login
      ocikit.images.registry_login:
        registry: "{{ registry }}"
        username: "{{ user }}"
        password: "{{ password }}"
    - name: push with the stored credentials
      ocikit.images.image_copy:
        src: "{{ src }}"
        dest: "docker://{{ ref }}"
'''
    extra = {'authfile': str(authfile), 'cert_dir': str(registry.cert_dir), 'registry': registry.host, 'user': USER, 'password': PASSWORD,
             'src': image.oci_ref, 'ref': registry.ref('play/login', 'v1')}
    checked = run_playbook(playbook.split('    - name: push', maxsplit=1)[0], extra, check=True, diff=True)
    assert checked.rc == 0, (checked.output, checked.stderr)
    (name, result), = checked.tasks()
    assert result['changed'] is True
    assert result['diff'] == {'before': {'registries': [], 'credentials': {}},
                              'after': {'registries': [registry.host], 'credentials': {registry.host: {'username': USER, 'store': 'auth file'}}}}
    assert not authfile.parent.exists()

    first = run_playbook(playbook, extra, diff=True)
    assert first.rc == 0, (first.output, first.stderr)
    assert [r.get('changed') for dummy, r in first.tasks()] == [True, True]
    second = run_playbook(playbook, extra, diff=True)
    assert second.rc == 0
    assert second.stats['changed'] == 0 and second.stats['ok'] == 2
    for run in (checked, first, second):
        text = json.dumps(run.output) + run.stderr
        assert PASSWORD not in text and b64(USER, PASSWORD) not in text
    assert name == 'login'


# --- the diff names the user (issue 7, defect 14) -----------------------------------------------

def test_diff_shows_the_user_change_bob_to_alice(registry, tmp_path):
    authfile = tmp_path / 'auth.json'
    assert not login(registry, authfile, username='bob', password='b0b-secret', verify=False).failed
    changed = login(registry, authfile, diff=True)
    assert not changed.failed, changed.msg
    assert changed.result['changed'] is True
    assert changed.result['diff'] == {
        'before': {'registries': [registry.host], 'credentials': {registry.host: {'username': 'bob', 'store': 'auth file'}}},
        'after': {'registries': [registry.host], 'credentials': {registry.host: {'username': USER, 'store': 'auth file'}}}}
    no_secret(changed, 'b0b-secret', b64('bob', 'b0b-secret'))
    # A new password for the same user: a marker on both sides, neither password.
    moved = login(registry, authfile, check=True, diff=True, password='an0ther-pw', verify=False)
    assert moved.result['diff']['before']['credentials'][registry.host]['password'] == '(previous, hidden)'
    assert moved.result['diff']['after']['credentials'][registry.host]['password'] == '(new, hidden)'
    no_secret(moved, 'an0ther-pw', b64(USER, 'an0ther-pw'))


# --- messages: one line, no secret (issue 7, defects 6 and 7) -------------------------------------

SECRET = 'Pl4nted-s3cret'


def one_line(text):
    return '\n' not in text and '\r' not in text and '\x1b' not in text and len(text.splitlines()) == 1


def leaked(run, *secrets):
    """Every form of ``secrets`` the scan would find in the run (the harness scans each run; this says which)."""
    return find_secrets({'result': run.result, 'stderr': run.stderr}, secrets=secrets)


@pytest.mark.parametrize('module, args, start', [
    ('image_inspect', {'image': 'docker://bob:%s@registry.example.com/repo:t' % SECRET},
     'invalid image name "docker://bob:********@registry.example.com/repo:t": credentials cannot be part of the reference'),
    ('image_copy', {'src': 'docker://bob:%s@127.0.0.1:9/repo:t' % SECRET, 'dest': 'oci:/nonexistent/x:t'},
     'invalid image name "docker://bob:********@127.0.0.1:9/repo:t": credentials cannot be part of the reference'),
    ('image_delete', {'image': 'docker://%s@registry.example.com/repo:t' % SECRET},
     'invalid image name "docker://********@registry.example.com/repo:t": credentials cannot be part of the reference'),
    ('registry_login', {'registry': 'https://bob:%s@registry.example.com/' % SECRET, 'username': 'bob', 'password': 'x-y-z-w', 'verify': False},
     'registry "https://bob:********@registry.example.com/" contains credentials ("user:password@")'),
    ('registry_login', {'registry': 'bob:%s@registry.example.com' % SECRET, 'state': 'absent'},
     'registry "bob:********@registry.example.com" contains credentials ("user:password@")'),
])
def test_userinfo_is_refused_without_echoing_the_password(module, args, start, tmp_path):
    args = dict(args)
    if module == 'registry_login':
        args['authfile'] = str(tmp_path / 'auth.json')
    run = run_module(module, args)
    assert run.failed and run.rc == 1
    assert start in run.msg and one_line(run.msg), run.msg
    assert leaked(run, SECRET) == []
    # Not even in Ansible's echo of the options.
    assert SECRET not in json.dumps(run.result['invocation'])
    assert not (tmp_path / 'auth.json').exists()


@pytest.mark.parametrize('value, shown', [
    ('docker://registry.example.com/app:v1\nFAKE: task ok', '"registry.example.com/app:v1\\nFAKE: task ok"'),
    ('docker://registry.example.com/app:\x1b[31mred\x1b[0m', '"registry.example.com/app:\\x1b[31mred\\x1b[0m"'),
    ('dock\u2028er://x/y:1', 'unknown transport "dock\\u2028er"'),
])
def test_control_characters_in_references_are_shown_escaped(value, shown):
    run = run_module('image_inspect', {'image': value})
    assert run.failed and run.result['error_type'] in ('InvalidReferenceError', 'UnknownTransportError'), run
    assert shown in run.msg and one_line(run.msg), run.msg


def test_argument_errors_are_one_line():
    run = run_module('registry_login', {'registry': 'r.example.com', 'state': 'present\n\x1b[2Jfake', 'username': 'u', 'password': 'p-w-x'})
    assert run.failed and one_line(run.msg), run.msg
    assert run.msg == 'value of state must be one of: present, absent, got: present \\x1b[2Jfake'


class _EchoHandler(http.server.BaseHTTPRequestHandler):
    """A registry that asks for Basic or Bearer auth, then refuses every authenticated request by echoing its Authorization header.

    For Bearer it is its own token server (``/token``): each token it hands out is registered with the secrets scan.
    """

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def _send(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # pylint: disable=invalid-name
        header = self.headers.get('Authorization')
        scheme = self.server.scheme  # pylint: disable=no-member
        if self.path.startswith('/token'):
            token = 'echo-token-' + os.urandom(16).hex()
            ocikit_it.register_secret(token)
            self._send(200, json.dumps({'token': token, 'expires_in': 300}).encode())
        elif header is None or not header.lower().startswith(scheme):
            challenge = 'Basic realm="echo"' if scheme == 'basic' else 'Bearer realm="http://%s/token",service="echo"' % self.headers['Host']
            self._send(401, b'{"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}', [('WWW-Authenticate', challenge)])
        else:
            encoded = header.split(' ', 1)[-1]
            self._send(403, json.dumps({'errors': [{'code': 'DENIED', 'message': 'you sent Authorization: %s, i.e. %s' % (header, encoded),
                                                    'detail': encoded}]}).encode())


@pytest.fixture(params=['basic', 'bearer'])
def echo_registry(request):
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _EchoHandler)
    server.scheme = request.param
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield '127.0.0.1:%d' % server.server_address[1], request.param
    finally:
        server.shutdown()
        server.server_close()


def test_registry_echoing_the_authorization_header_gets_into_no_message(echo_registry, tmp_path):
    echo_registry, scheme = echo_registry
    before = set(ocikit_it._SECRETS)  # pylint: disable=protected-access
    inspect = run_module('image_inspect', {'image': 'docker://%s/app:1' % echo_registry, 'username': 'bob', 'password': SECRET,
                                           'tls_verify': False, 'retry_times': 0})
    assert inspect.failed and inspect.result['error_type'] == 'AccessDeniedError', inspect
    assert 'DENIED: you sent Authorization: ********' in inspect.msg and one_line(inspect.msg), inspect.msg
    refused = run_module('registry_login', {'registry': echo_registry, 'username': 'bob', 'password': SECRET, 'tls_verify': False,
                                            'authfile': str(tmp_path / 'auth.json')})
    assert refused.failed and 'DENIED' in refused.msg, refused
    tokens = set(ocikit_it._SECRETS) - before - {SECRET}  # pylint: disable=protected-access
    # Bearer: the tokens the registry handed out were echoed back, and are scanned for (the harness scanned both runs already).
    assert len(tokens) == (2 if scheme == 'bearer' else 0)
    for run in (inspect, refused):
        assert leaked(run, SECRET, *tokens) == [] and b64('bob', SECRET) not in run.msg
    assert not (tmp_path / 'auth.json').exists()


# --- the secrets scan can fail -------------------------------------------------------------------

def test_secrets_scan_finds_planted_secrets_and_their_base64_forms():
    planted = 'Pl4nted-scan-s3cret'
    ocikit_it.register_secret(planted)
    clean = {'msg': 'ok', 'diff': {'before': {}, 'after': {'registries': ['a.io']}}, 'warnings': ['fine']}
    assert find_secrets(clean) == []
    # The secret, base64 of "user:secret" for users of each length mod 3 (the three alignments), URL-safe base64, deep in a result.
    for text in (planted, b64('al', planted), b64('bob', planted), b64('alic', planted), b64('', planted),
                 base64.urlsafe_b64encode(('\xff\xfe?' + planted).encode()).decode(), 'Basic ' + b64(USER, PASSWORD)):
        hits = find_secrets({'result': {'diff': {'after': [{'note': 'x %s y' % text}]}}})
        assert hits and hits[0].startswith("result.result.diff.after[0].note: secret #"), text
        assert all(planted not in hit and PASSWORD not in hit for hit in hits)
    counts = dict(ocikit_it._SCAN)  # pylint: disable=protected-access
    with pytest.raises(pytest.fail.Exception, match=r'secrets scan: \d+ hit\(s\): planted.msg: secret #\d+'):
        scan_for_secrets({'msg': 'the password is %s' % PASSWORD}, 'planted')
    # A planted hit is not one of the suite's: the summary counts only real results.
    ocikit_it._SCAN.update(counts)  # pylint: disable=protected-access


def test_secrets_scan_knows_the_tokens_the_token_server_issued(token_registry, tmp_path):
    before = len(issued_tokens())
    assert not login(token_registry, tmp_path / 'auth.json').failed
    tokens = issued_tokens()[before:]
    assert tokens, 'the token server issued no token for a Bearer login'
    hits = find_secrets({'msg': 'echoed Bearer %s' % tokens[-1]})
    assert hits and all(tokens[-1] not in hit for hit in hits) and ': token #' in hits[0]
    assert find_secrets({'msg': 'x' + base64.b64encode(tokens[-1].encode()).decode()})
