# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Credential lookup: auth file order, key matching, credential helpers and option handling."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import signal
import stat
import sys
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.config import auth
from ansible_collections.ocikit.images.plugins.module_utils.config.auth import (
    AUTH_FILE_JSON,
    AUTH_FILE_LEGACY,
    Credentials,
    auth_file_candidates,
    auth_keys_for,
    load_auth_file,
    normalize_auth_key,
    resolve_credentials,
)
from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions

SECRET = 's3cr3t-value'


def b64(text: str) -> str:
    return base64.b64encode(text.encode('utf-8')).decode('ascii')


def entry(user: str, password: str, **extra: str) -> dict[str, str]:
    return {'auth': b64('%s:%s' % (user, password)), **extra}


class Env:
    """A sandboxed home and environment; every default auth file lives under tmp_path."""

    def __init__(self, tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp = tmp_path
        self.monkeypatch = monkeypatch
        self.home = tmp_path / 'home'
        self.runtime = tmp_path / 'run'
        self.bin = tmp_path / 'bin'
        for directory in (self.home, self.runtime, self.bin):
            directory.mkdir()
        monkeypatch.setenv('HOME', str(self.home))
        monkeypatch.setenv('XDG_RUNTIME_DIR', str(self.runtime))
        for name in ('XDG_CONFIG_HOME', 'DOCKER_CONFIG', 'REGISTRY_AUTH_FILE'):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv('PATH', '%s%s%s' % (self.bin, os.pathsep, os.environ.get('PATH', '')))

    @property
    def primary(self) -> str:
        return str(self.runtime / 'containers' / 'auth.json')

    @property
    def xdg_config(self) -> str:
        return str(self.home / '.config' / 'containers' / 'auth.json')

    @property
    def docker_config(self) -> str:
        return str(self.home / '.docker' / 'config.json')

    @property
    def dockercfg(self) -> str:
        return str(self.home / '.dockercfg')

    def write(self, path: str, document: t.Any) -> str:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(document if isinstance(document, str) else json.dumps(document))
        return path

    def helper(self, name: str, answers: dict[str, t.Any]) -> str:
        """Install docker-credential-<name>; answers map a registry to a JSON answer or a behaviour.

        Behaviours: 'fail' (exit 1 with a message), 'garbage' (exit 0, not JSON), 'sleep',
        'flood' (output without end), 'deep' (JSON nested 100000 levels).
        Anything absent answers "not found" as real helpers do. Each call is logged.
        """
        log = self.tmp / ('%s.log' % name)
        script = self.bin / ('docker-credential-%s' % name)
        script.write_text('''#!%s
import json, sys, time
answers = json.loads(%r)
registry = sys.stdin.read()
with open(%r, "a") as log:
    log.write(json.dumps([sys.argv[1:], registry]) + "\\n")
answer = answers.get(registry)
if answer is None:
    print("credentials not found in native keychain")
    sys.exit(1)
if answer == "fail":
    print("the keychain is locked")
    sys.exit(3)
if answer == "garbage":
    print("Username=%s")
    sys.exit(0)
if answer == "sleep":
    time.sleep(30)
if answer == "flood":
    while True:
        sys.stdout.write("A" * 65536)
if answer == "deep":
    print("[" * 100000 + "]" * 100000)
    sys.exit(0)
print(json.dumps(answer))
''' % (sys.executable, json.dumps(answers), str(log), SECRET))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return str(log)

    @staticmethod
    def calls(log: str) -> list[t.Any]:
        if not os.path.exists(log):
            return []
        with open(log, encoding='utf-8') as handle:
            return [json.loads(line) for line in handle]


@pytest.fixture
def env(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> Env:
    return Env(tmp_path, monkeypatch)


# --- key handling ---------------------------------------------------------------------------

@pytest.mark.parametrize('key, legacy, expected', [
    ('quay.io', False, 'quay.io'),
    ('docker.io', False, 'docker.io'),
    ('index.docker.io', False, 'docker.io'),
    ('registry-1.docker.io', False, 'docker.io'),
    ('https://index.docker.io/v1/', False, 'docker.io'),
    ('https://registry-1.docker.io/v2/', False, 'docker.io'),
    ('http://localhost:5000/v2/', False, 'localhost:5000'),
    ('https://quay.io', False, 'quay.io'),
    ('https://example.com:8443/v1/', False, 'example.com:8443'),
    ('quay.io/ns/repo', False, 'quay.io/ns/repo'),
    ('index.docker.io/library', False, 'index.docker.io/library'),
    ('quay.io/v1/', True, 'quay.io'),
    ('https://index.docker.io/v1/', True, 'docker.io'),
])
def test_normalize_auth_key(key: str, legacy: bool, expected: str) -> None:
    assert normalize_auth_key(key, legacy) == expected


@pytest.mark.parametrize('registry, repository, expected', [
    ('quay.io', 'ns/sub/repo', ['quay.io/ns/sub/repo', 'quay.io/ns/sub', 'quay.io/ns', 'quay.io']),
    ('docker.io', 'library/busybox', ['docker.io/library/busybox', 'docker.io/library', 'docker.io']),
    ('localhost:5000', 'app', ['localhost:5000/app', 'localhost:5000']),
    ('quay.io', None, ['quay.io']),
    ('quay.io', '', ['quay.io']),
])
def test_auth_keys_for(registry: str, repository: str | None, expected: list[str]) -> None:
    assert auth_keys_for(registry, repository) == expected


# --- which files -----------------------------------------------------------------------------

def test_candidates_default_order(env: Env) -> None:
    assert auth_file_candidates(ConnectionOptions()) == [
        (env.primary, AUTH_FILE_JSON),
        (env.xdg_config, AUTH_FILE_JSON),
        (env.docker_config, AUTH_FILE_JSON),
        (env.dockercfg, AUTH_FILE_LEGACY),
    ]


@pytest.mark.parametrize('option, variable, expected', [
    ('/opt/opt.json', None, '/opt/opt.json'),
    (None, '/opt/env.json', '/opt/env.json'),
    ('/opt/opt.json', '/opt/env.json', '/opt/opt.json'),
])
def test_candidates_explicit_file_is_the_only_one(env: Env, option: str | None, variable: str | None, expected: str) -> None:
    if variable:
        env.monkeypatch.setenv('REGISTRY_AUTH_FILE', variable)
    assert auth_file_candidates(ConnectionOptions(authfile=option)) == [(expected, AUTH_FILE_JSON)]


def test_candidates_honour_xdg_config_home_and_docker_config(env: Env) -> None:
    env.monkeypatch.setenv('XDG_CONFIG_HOME', str(env.tmp / 'cfg'))
    env.monkeypatch.setenv('DOCKER_CONFIG', str(env.tmp / 'dockercfg'))
    assert [path for path, dummy in auth_file_candidates(ConnectionOptions())] == [
        env.primary, str(env.tmp / 'cfg' / 'containers' / 'auth.json'), str(env.tmp / 'dockercfg' / 'config.json'), env.dockercfg]


def test_candidates_without_xdg_runtime_dir_use_run_containers_uid(env: Env) -> None:
    env.monkeypatch.delenv('XDG_RUNTIME_DIR')
    assert auth_file_candidates(ConnectionOptions())[0] == ('/run/containers/%d/auth.json' % os.getuid(), AUTH_FILE_JSON)


def test_candidates_skip_a_missing_xdg_runtime_dir(env: Env) -> None:
    env.monkeypatch.setenv('XDG_RUNTIME_DIR', str(env.tmp / 'nonexistent'))
    assert [path for path, dummy in auth_file_candidates(ConnectionOptions())] == [env.xdg_config, env.docker_config, env.dockercfg]


def test_candidates_off_linux_use_config_containers_once(env: Env) -> None:
    env.monkeypatch.setattr(sys, 'platform', 'darwin')
    assert [path for path, dummy in auth_file_candidates(ConnectionOptions())] == [env.xdg_config, env.docker_config, env.dockercfg]


# --- reading a file --------------------------------------------------------------------------

def test_load_missing_file_is_empty(env: Env) -> None:
    loaded = load_auth_file(str(env.tmp / 'absent.json'))
    assert (loaded.exists, loaded.auths, loaded.cred_helpers, loaded.creds_store) == (False, {}, {}, None)


def test_load_keeps_document_and_sections(env: Env) -> None:
    document = {'auths': {'quay.io': entry('u', 'p')}, 'credHelpers': {'gcr.io': 'gcloud'}, 'credsStore': 'desktop', 'other': 1}
    loaded = load_auth_file(env.write(env.primary, document))
    assert loaded.exists and not loaded.legacy
    assert (loaded.auths, loaded.cred_helpers, loaded.creds_store, loaded.document) == (
        document['auths'], {'gcr.io': 'gcloud'}, 'desktop', document)


def test_load_legacy_file_top_level_is_auths(env: Env) -> None:
    loaded = load_auth_file(env.write(env.dockercfg, {'https://quay.io/v1/': entry('u', 'p', email='x@y')}), AUTH_FILE_LEGACY)
    assert loaded.legacy and list(loaded.auths) == ['https://quay.io/v1/'] and not loaded.cred_helpers


@pytest.mark.parametrize('content, problem', [
    ('', 'is not valid JSON'),
    ('{"auths": ', 'is not valid JSON'),
    ('Json rocks! Unless it doesn\'t.', 'is not valid JSON'),
    ('[]', 'top level is not a JSON object'),
    ('{"auths": []}', '"auths" is not a JSON object'),
    ('{"auths": {"quay.io": "x"}}', "entry 'quay.io' in \"auths\" is not a JSON object"),
    ('{"auths": {"quay.io": {"auth": 5}}}', "field 'auth' of entry 'quay.io'"),
    ('{"auths": {"quay.io": {"auth": "", "identitytoken": []}}}', "field 'identitytoken' of entry 'quay.io'"),
    ('{"credHelpers": {"quay.io": 1}}', '"credHelpers" must map registries to helper names'),
    ('{"credHelpers": ["quay.io"]}', '"credHelpers" must map registries to helper names'),
    ('{"credsStore": true}', '"credsStore" is not a string'),
])
def test_load_rejects_unusable_files(env: Env, content: str, problem: str) -> None:
    path = env.write(env.primary, content)
    with pytest.raises(ConfigError) as caught:
        load_auth_file(path)
    assert path in str(caught.value) and problem in str(caught.value)


def test_load_rejects_invalid_legacy_file(env: Env) -> None:
    with pytest.raises(ConfigError, match='entry .* in the file is not a JSON object'):
        load_auth_file(env.write(env.dockercfg, {'quay.io': 'x'}), AUTH_FILE_LEGACY)


def test_load_unreadable_file(env: Env) -> None:
    os.makedirs(env.primary)  # a directory where the file should be
    with pytest.raises(ConfigError, match=r'auth file %s is not a regular file \(a directory\)' % env.primary):
        load_auth_file(env.primary)


def test_load_non_utf8_file(env: Env) -> None:
    os.makedirs(os.path.dirname(env.primary))
    with open(env.primary, 'wb') as handle:
        handle.write(b'{"auths": {"\xff": {}}}')
    with pytest.raises(ConfigError, match='not UTF-8'):
        load_auth_file(env.primary)


# --- matching entries ------------------------------------------------------------------------

REFPATH = {
    'example.org': entry('local', 'host'),
    'example.org/repo': entry('example', 'org'),
    'docker.io': entry('top', 'level'),
    'docker.io/vendor': entry('first', 'level'),
    'docker.io/library/busybox': entry('library', 'busybox'),
    'docker.io/library': entry('library', 'other'),
    'quay.io/empty': {},
    'quay.io': entry('quay', 'wide'),
}


@pytest.mark.parametrize('auths, registry, repository, expected', [
    # Most specific key first, and only exact keys for namespaces.
    (REFPATH, 'example.org', 'repo/image', ('example', 'org')),
    (REFPATH, 'example.org', 'repo', ('example', 'org')),
    (REFPATH, 'example.org', 'image', ('local', 'host')),
    (REFPATH, 'example.org', None, ('local', 'host')),
    (REFPATH, 'docker.io', 'library/busybox', ('library', 'busybox')),
    (REFPATH, 'docker.io', 'library/notbusybox', ('library', 'other')),
    (REFPATH, 'docker.io', 'vendor/product', ('first', 'level')),
    (REFPATH, 'docker.io', 'other-vendor/product', ('top', 'level')),
    (REFPATH, 'index.docker.io', 'vendor/product', ('first', 'level')),
    (REFPATH, 'registry-1.docker.io', 'x/y', ('top', 'level')),
    # The most specific entry present decides, even when it holds nothing.
    (REFPATH, 'quay.io', 'empty', None),
    (REFPATH, 'quay.io', 'empty/sub', None),
    (REFPATH, 'quay.io', 'full', ('quay', 'wide')),
    (REFPATH, 'other.example', 'x', None),
    # URL and alias forms compare by host.
    ({'https://index.docker.io/v1/': entry('docker', 'io')}, 'docker.io', 'library/busybox', ('docker', 'io')),
    ({'index.docker.io': entry('index', 'docker.io')}, 'docker.io', None, ('index', 'docker.io')),
    ({'registry-1.docker.io': entry('r1', 'docker')}, 'docker.io', 'a/b', ('r1', 'docker')),
    ({'http://localhost:5000/v2/': entry('local', 'host-5000')}, 'localhost:5000', 'app', ('local', 'host-5000')),
    ({'https://normalize.example.org/v1/': entry('normalize', 'example')}, 'normalize.example.org', None, ('normalize', 'example')),
    ({'10.10.30.45:5000': entry('10.10', '30.45-5000')}, '10.10.30.45:5000', None, ('10.10', '30.45-5000')),
    # Exact keys beat URL forms; keys without a scheme keep their path.
    ({'https://quay.io/v1/': entry('url', 'form'), 'quay.io': entry('exact', 'key')}, 'quay.io', 'a', ('exact', 'key')),
    ({'quay.io/other': entry('x', 'y')}, 'quay.io', 'ns/repo', None),
    ({'index.docker.io/library': entry('x', 'y')}, 'docker.io', 'library/busybox', None),
])
def test_auths_matching(env: Env, auths: dict[str, t.Any], registry: str, repository: str | None, expected: tuple[str, str] | None) -> None:
    env.write(env.primary, {'auths': auths})
    creds = resolve_credentials(registry, repository, ConnectionOptions())
    if expected is None:
        assert creds is None
    else:
        assert creds is not None and (creds.username, creds.password, creds.source) == expected + (env.primary,)


@pytest.mark.parametrize('value, expected', [
    (entry('user', 'pa:ss:word'), Credentials('user', 'pa:ss:word', source='P')),
    ({'auth': b64('user:pass\x00\x00')}, Credentials('user', 'pass', source='P')),
    ({'auth': b64('user:')}, Credentials('user', None, source='P')),
    ({'auth': b64('0000-00:'), 'identitytoken': 'refresh'}, Credentials('0000-00', None, 'refresh', source='P')),
    ({'auth': b64(':')}, None),
    ({'auth': b64('no-colon')}, None),
    ({'auth': ''}, None),
    ({'identitytoken': 'alone'}, None),
    ({}, None),
])
def test_auth_entry_decoding(env: Env, value: dict[str, str], expected: Credentials | None) -> None:
    env.write(env.primary, {'auths': {'quay.io': value}})
    creds = resolve_credentials('quay.io', None, ConnectionOptions())
    assert creds == (dataclasses.replace(expected, source=env.primary) if expected else None)


@pytest.mark.parametrize('value', ['not base64!', b64('ok:ok')[:-1], base64.b64encode(b'user:\xff\xfe').decode()])
def test_bad_auth_field_names_file_and_key_not_secret(env: Env, value: str) -> None:
    env.write(env.primary, {'auths': {'quay.io/ns': {'auth': value}}})
    with pytest.raises(ConfigError) as caught:
        resolve_credentials('quay.io', 'ns/repo', ConnectionOptions())
    message = str(caught.value)
    assert env.primary in message and "'quay.io/ns'" in message and value not in message


# --- order of files --------------------------------------------------------------------------

def test_first_file_with_credentials_wins(env: Env) -> None:
    env.write(env.primary, {'auths': {'quay.io': entry('primary', 'p')}})
    env.write(env.docker_config, {'auths': {'quay.io': entry('docker', 'p')}})
    assert resolve_credentials('quay.io', 'a/b', ConnectionOptions()).username == 'primary'


@pytest.mark.parametrize('where', ['xdg_config', 'docker_config'])
def test_later_files_are_searched(env: Env, where: str) -> None:
    env.write(env.primary, {'auths': {'other.io': entry('other', 'p')}})
    env.write(getattr(env, where), {'auths': {'quay.io': entry(where, 'p')}})
    creds = resolve_credentials('quay.io', 'a/b', ConnectionOptions())
    assert (creds.username, creds.source) == (where, getattr(env, where))


def test_empty_entry_falls_through_to_next_file(env: Env) -> None:
    env.write(env.docker_config, {'auths': {'https://index.docker.io/v1/': {}}})
    env.write(env.dockercfg, {'https://index.docker.io/v1/': entry('docker', 'io-legacy')})
    creds = resolve_credentials('docker.io', 'library/busybox', ConnectionOptions())
    assert (creds.username, creds.password, creds.source) == ('docker', 'io-legacy', env.dockercfg)


@pytest.mark.parametrize('key, registry', [('https://quay.io/v1/', 'quay.io'), ('http://localhost/v1/', 'localhost'), ('quay.io/ns', 'quay.io')])
def test_legacy_dockercfg_matches_by_host(env: Env, key: str, registry: str) -> None:
    env.write(env.dockercfg, {key: entry('legacy', 'p')})
    assert resolve_credentials(registry, 'ns/repo', ConnectionOptions()).username == 'legacy'


def test_broken_file_stops_the_lookup(env: Env) -> None:
    env.write(env.primary, '{broken')
    env.write(env.docker_config, {'auths': {'quay.io': entry('u', 'p')}})
    with pytest.raises(ConfigError, match='auth file %s is not valid JSON' % env.primary):
        resolve_credentials('quay.io', None, ConnectionOptions())


@pytest.mark.parametrize('use_env', [False, True])
def test_explicit_auth_file_is_the_only_one_read(env: Env, use_env: bool) -> None:
    explicit = env.write(str(env.tmp / 'explicit.json'), {'auths': {'other.io': entry('x', 'y')}})
    env.write(env.primary, {'auths': {'quay.io': entry('primary', 'p')}})
    env.write(env.dockercfg, {'quay.io': entry('legacy', 'p')})
    if use_env:
        env.monkeypatch.setenv('REGISTRY_AUTH_FILE', explicit)
    options = ConnectionOptions(authfile=None if use_env else explicit)
    assert resolve_credentials('quay.io', None, options) is None
    assert resolve_credentials('other.io', None, options) == Credentials('x', 'y', source=explicit)


def test_missing_explicit_auth_file_means_anonymous(env: Env) -> None:
    env.write(env.primary, {'auths': {'quay.io': entry('primary', 'p')}})
    assert resolve_credentials('quay.io', None, ConnectionOptions(authfile=str(env.tmp / 'absent.json'))) is None


# --- options ---------------------------------------------------------------------------------

@pytest.mark.parametrize('options, expected', [
    (ConnectionOptions(no_creds=True, username='u', password=SECRET, registry_token=SECRET), None),
    (ConnectionOptions(registry_token=SECRET), Credentials(registry_token=SECRET)),
    (ConnectionOptions(username='u', password=SECRET), Credentials('u', SECRET)),
    (ConnectionOptions(username='u', password=SECRET, registry_token='tok'), Credentials('u', SECRET, registry_token='tok')),
])
def test_options_win_over_files(env: Env, options: ConnectionOptions, expected: Credentials | None) -> None:
    env.write(env.primary, {'auths': {'quay.io': entry('file', 'p')}})
    assert resolve_credentials('quay.io', None, options) == expected


@pytest.mark.parametrize('options, message', [
    (ConnectionOptions(username='u'), 'username was given without password'),
    (ConnectionOptions(password=SECRET), 'password was given without username'),
    (ConnectionOptions(password=SECRET, registry_token=SECRET), 'password was given without username'),
])
def test_username_and_password_go_together(env: Env, options: ConnectionOptions, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        resolve_credentials('quay.io', None, options)
    assert SECRET not in str(caught.value)


def test_no_credentials_anywhere(env: Env) -> None:
    assert resolve_credentials('quay.io', 'ns/repo', ConnectionOptions()) is None


# --- credential helpers ----------------------------------------------------------------------

def test_cred_helper_answers(env: Env) -> None:
    log = env.helper('fake', {'quay.io': {'ServerURL': 'quay.io', 'Username': 'helped', 'Secret': SECRET}})
    env.write(env.primary, {'credHelpers': {'quay.io': 'fake'}, 'auths': {'quay.io': entry('file', 'p')}})
    creds = resolve_credentials('quay.io', 'ns/repo', ConnectionOptions())
    assert creds == Credentials('helped', SECRET, source='credential helper docker-credential-fake')
    assert env.calls(log) == [[['get'], 'quay.io']]


def test_cred_helper_token_user_means_identity_token(env: Env) -> None:
    env.helper('fake', {'registry-b.com': {'Username': '<token>', 'Secret': 'fizzbuzz'}})
    env.write(env.primary, {'credHelpers': {'registry-b.com': 'fake'}})
    creds = resolve_credentials('registry-b.com', None, ConnectionOptions())
    assert (creds.username, creds.password, creds.identity_token) == (None, None, 'fizzbuzz')


def test_cred_helper_not_found_is_this_files_answer(env: Env) -> None:
    log = env.helper('fake', {})
    env.write(env.primary, {'credHelpers': {'quay.io': 'fake'}, 'auths': {'quay.io': entry('same-file', 'p')}})
    env.write(env.docker_config, {'auths': {'quay.io': entry('next-file', 'p')}})
    assert resolve_credentials('quay.io', None, ConnectionOptions()).username == 'next-file'
    assert len(env.calls(log)) == 1


def test_cred_helpers_are_keyed_by_registry_only(env: Env) -> None:
    log = env.helper('fake', {'quay.io': {'Username': 'u', 'Secret': 'p'}})
    env.write(env.primary, {'credHelpers': {'quay.io/ns': 'fake'}})
    assert resolve_credentials('quay.io', 'ns/repo', ConnectionOptions()) is None
    assert env.calls(log) == []


@pytest.mark.parametrize('answer, problem', [
    ('fail', 'failed for quay.io (exit status 3): the keychain is locked'),
    ('garbage', 'answered for quay.io with something that is not JSON'),
    ('deep', 'answered for quay.io with something that is not JSON'),
    ('flood', 'answered for quay.io with more than 1048576 bytes'),
    (['list'], 'JSON that is not an object'),
    ({'Username': 1, 'Secret': SECRET}, 'non-string Username or Secret'),
])
def test_cred_helper_failures(env: Env, answer: t.Any, problem: str) -> None:
    env.helper('fake', {'quay.io': answer})
    env.write(env.primary, {'credHelpers': {'quay.io': 'fake'}})
    with pytest.raises(ConfigError) as caught:
        resolve_credentials('quay.io', None, ConnectionOptions())
    assert 'credential helper docker-credential-fake' in str(caught.value) and problem in str(caught.value)
    assert SECRET not in str(caught.value)


def test_auth_file_fifo_device_and_huge_file_are_refused(env: Env) -> None:
    # Each used to block (FIFO) or read until memory ran out (/dev/zero, a huge sparse file).
    fifo = str(env.tmp / 'fifo.json')
    os.mkfifo(fifo)
    huge = env.tmp / 'huge.json'
    with open(huge, 'wb') as handle:
        handle.truncate(1 << 40)
    for path, problem in ((fifo, 'is not a regular file (a FIFO)'), ('/dev/zero', 'is not a regular file (a character device)'),
                          (str(huge), 'exceeds the 4194304 byte limit')):
        signal.alarm(10)  # a regression fails (the alarm's exception) instead of hanging the run
        try:
            with pytest.raises(ConfigError) as caught:
                resolve_credentials('quay.io', None, ConnectionOptions(authfile=path))
        finally:
            signal.alarm(0)
        assert str(caught.value) == 'auth file %s %s' % (path, problem)


def test_symlinked_auth_file_is_read(env: Env) -> None:
    real = env.write(str(env.tmp / 'real-auth.json'), {'auths': {'quay.io': entry('linked', SECRET)}})
    os.makedirs(os.path.dirname(env.primary))
    os.symlink(real, env.primary)
    assert resolve_credentials('quay.io', None, ConnectionOptions()).username == 'linked'


def test_deeply_nested_auth_file(env: Env) -> None:
    env.write(env.primary, '{"auths": ' + '[' * 100000 + ']' * 100000 + '}')
    with pytest.raises(ConfigError, match='^auth file %s is nested deeper than 64 levels$' % env.primary):
        load_auth_file(env.primary)


def test_cred_helper_timeout(env: Env) -> None:
    env.helper('fake', {'quay.io': 'sleep'})
    env.monkeypatch.setattr(auth, 'CREDENTIAL_HELPER_TIMEOUT', 0.5)
    env.write(env.primary, {'credHelpers': {'quay.io': 'fake'}})
    with pytest.raises(ConfigError, match='docker-credential-fake did not answer for quay.io within 0.5 seconds'):
        resolve_credentials('quay.io', None, ConnectionOptions())


def test_cred_helper_not_installed(env: Env) -> None:
    env.write(env.primary, {'credHelpers': {'quay.io': 'absent-helper'}})
    with pytest.raises(ConfigError, match='credential helper docker-credential-absent-helper is not installed'):
        resolve_credentials('quay.io', None, ConnectionOptions())


@pytest.mark.parametrize('document, field', [
    ({'credHelpers': {'quay.io': '../../bin/sh'}}, "credHelpers['quay.io']"),
    ({'credHelpers': {'quay.io': ''}}, "credHelpers['quay.io']"),
    ({'credsStore': 'a/b'}, 'credsStore'),
])
def test_helper_names_cannot_be_paths(env: Env, document: dict[str, t.Any], field: str) -> None:
    env.write(env.primary, document)
    with pytest.raises(ConfigError) as caught:
        resolve_credentials('quay.io', None, ConnectionOptions())
    assert env.primary in str(caught.value) and field in str(caught.value)


def test_creds_store_is_consulted_last(env: Env) -> None:
    log = env.helper('store', {'quay.io': {'Username': 'stored', 'Secret': 'p'}, 'docker.io': {'Username': 'hub', 'Secret': 'p'}})
    env.helper('special', {'gcr.io': {'Username': 'special', 'Secret': 'p'}})
    env.write(env.primary, {
        'credsStore': 'store',
        'credHelpers': {'gcr.io': 'special'},
        'auths': {'https://index.docker.io/v1/': {}, 'example.org': entry('file', 'p')},
    })
    options = ConnectionOptions()
    assert resolve_credentials('example.org', None, options).username == 'file'
    assert env.calls(log) == []
    assert resolve_credentials('gcr.io', None, options).username == 'special'
    assert env.calls(log) == []
    assert resolve_credentials('quay.io', 'ns/repo', options) == Credentials('stored', 'p', source='credential helper docker-credential-store')
    assert resolve_credentials('docker.io', 'library/busybox', options).username == 'hub'
    assert [call[1] for call in env.calls(log)] == ['quay.io', 'docker.io']


# --- the Credentials value -------------------------------------------------------------------

def test_credentials_repr_redacts_secrets() -> None:
    creds = Credentials('user', SECRET, SECRET + '-id', SECRET + '-reg', source='/x/auth.json')
    assert SECRET not in repr(creds) and SECRET not in str(creds)
    assert "username='user'" in repr(creds) and "source='/x/auth.json'" in repr(creds)
    assert "password=None" in repr(Credentials('user'))


@pytest.mark.parametrize('creds, anonymous', [
    (Credentials(), True),
    (Credentials(username='u'), False),
    (Credentials(identity_token='t'), False),
    (Credentials(registry_token='t'), False),
])
def test_credentials_is_anonymous(creds: Credentials, anonymous: bool) -> None:
    assert creds.is_anonymous is anonymous


def test_creds_store_finds_docker_hub_under_the_legacy_index_url(env: Env) -> None:
    # `docker login` stores Docker Hub credentials in the credsStore under https://index.docker.io/v1/.
    log = env.helper('store', {'https://index.docker.io/v1/': {'Username': 'hub', 'Secret': 'p'}})
    env.write(env.primary, {'credsStore': 'store', 'auths': {'https://index.docker.io/v1/': {}}})
    creds = resolve_credentials('docker.io', 'library/busybox', ConnectionOptions())
    assert creds is not None and creds.username == 'hub'
    assert [call[1] for call in env.calls(log)] == ['docker.io', 'https://index.docker.io/v1/']
    assert resolve_credentials('quay.io', None, ConnectionOptions()) is None
    assert [call[1] for call in env.calls(log)][-1] == 'quay.io'
