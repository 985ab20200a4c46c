# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing credentials: which file, keys, helpers, atomic 0600 writes in 0700 directories, the lock."""

from __future__ import annotations

import base64
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.config.auth import AuthFile, Credentials, load_auth_file
from ansible_collections.ocikit.images.plugins.module_utils.config.auth_write import (
    FORMAT_DOCKER,
    AuthTarget,
    RegistryKey,
    auth_target,
    default_auth_file,
    encode_auth,
    ensure_directory,
    entry_holds,
    erase_from_helper,
    file_key,
    helper_for,
    helper_server_url,
    keys_to_remove,
    locked,
    parse_registry_key,
    registry_keys,
    same_credentials,
    serialize,
    set_entry,
    store_in_helper,
    temp_prefix,
    write_auth_file,
)
from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError, InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import STALE_AFTER

SECRET = 's3cr3t-value'


def b64(text: str) -> str:
    return base64.b64encode(text.encode('utf-8')).decode('ascii')


def mode(path: t.Any) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


class Helper:
    """A docker-credential-NAME on PATH keeping credentials in a JSON file; ``behaviour`` changes how it fails."""

    def __init__(self, tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch, name: str = 'fake', behaviour: str = 'ok') -> None:
        self.bin = tmp_path / 'bin'
        self.bin.mkdir(exist_ok=True)
        self.store = tmp_path / ('%s-store.json' % name)
        self.log = tmp_path / ('%s.log' % name)
        script = self.bin / ('docker-credential-%s' % name)
        script.write_text('''#!%s
import json, os, sys
store, log, behaviour = %r, %r, %r
action = sys.argv[1]
stdin = sys.stdin.read()
with open(log, "a") as handle:
    handle.write(json.dumps([action, stdin]) + "\\n")
data = json.load(open(store)) if os.path.exists(store) else {}
if behaviour == "echo":
    print("cannot store %%s" %% stdin)
    sys.exit(2)
if behaviour == "locked":
    sys.stderr.write("the keychain is locked\\n")
    sys.exit(3)
if action == "store":
    req = json.loads(stdin)
    data[req["ServerURL"]] = [req["Username"], req["Secret"]]
    json.dump(data, open(store, "w"))
    sys.exit(0)
if stdin not in data:
    print("credentials not found in native keychain")
    sys.exit(1)
if action == "get":
    print(json.dumps({"ServerURL": stdin, "Username": data[stdin][0], "Secret": data[stdin][1]}))
elif action == "erase":
    del data[stdin]
    json.dump(data, open(store, "w"))
''' % (sys.executable, str(self.store), str(self.log), behaviour))
        script.chmod(0o755)
        monkeypatch.setenv('PATH', '%s%s%s' % (self.bin, os.pathsep, os.environ.get('PATH', '')))

    def data(self) -> dict[str, t.Any]:
        return json.loads(self.store.read_text()) if self.store.exists() else {}

    def calls(self) -> list[t.Any]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []


# --- which file ------------------------------------------------------------------------------

@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ('REGISTRY_AUTH_FILE', 'XDG_RUNTIME_DIR'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, 'platform', 'linux')
    return monkeypatch


def test_default_file_is_under_xdg_runtime_dir(clean_env: pytest.MonkeyPatch, tmp_path: t.Any) -> None:
    clean_env.setenv('XDG_RUNTIME_DIR', str(tmp_path))
    assert default_auth_file() == str(tmp_path / 'containers' / 'auth.json')


def test_default_file_honours_registry_auth_file(clean_env: pytest.MonkeyPatch, tmp_path: t.Any) -> None:
    clean_env.setenv('XDG_RUNTIME_DIR', str(tmp_path))
    clean_env.setenv('REGISTRY_AUTH_FILE', '/etc/ocikit/auth.json')
    assert default_auth_file() == '/etc/ocikit/auth.json'
    assert auth_target().path == '/etc/ocikit/auth.json'
    assert auth_target('/opt/auth.json').path == '/opt/auth.json'


def test_default_file_without_xdg_runtime_dir_is_per_uid(clean_env: pytest.MonkeyPatch) -> None:
    assert default_auth_file() == '/run/containers/%d/auth.json' % os.getuid()


def test_default_file_refuses_a_missing_xdg_runtime_dir(clean_env: pytest.MonkeyPatch, tmp_path: t.Any) -> None:
    clean_env.setenv('XDG_RUNTIME_DIR', str(tmp_path / 'gone'))
    with pytest.raises(ConfigError) as info:
        default_auth_file()
    assert str(info.value) == ('the directory %s set by $XDG_RUNTIME_DIR does not exist: create it, unset XDG_RUNTIME_DIR, or set authfile'
                               % (tmp_path / 'gone'))


def test_default_file_off_linux(clean_env: pytest.MonkeyPatch, tmp_path: t.Any) -> None:
    clean_env.setattr(sys, 'platform', 'darwin')
    clean_env.setenv('HOME', str(tmp_path))
    assert default_auth_file() == str(tmp_path / '.config' / 'containers' / 'auth.json')


def test_auth_target_compat_and_conflict() -> None:
    assert auth_target(None, '/home/u/.docker/config.json') == AuthTarget('/home/u/.docker/config.json', FORMAT_DOCKER)
    assert auth_target(None, '/x/config.json').docker_format
    with pytest.raises(InvalidInputError, match='authfile and compat_auth_file cannot both be set'):
        auth_target('/a.json', '/b.json')


# --- keys ----------------------------------------------------------------------------------

@pytest.mark.parametrize('value, key, registry', [
    ('quay.io', 'quay.io', 'quay.io'),
    ('localhost:5000', 'localhost:5000', 'localhost:5000'),
    ('127.0.0.1:5000/team/app', '127.0.0.1:5000/team/app', '127.0.0.1:5000'),
    ('localhost/team', 'localhost/team', 'localhost'),
    ('[::1]:5000/ns', '[::1]:5000/ns', '[::1]:5000'),
    ('https://registry.example.com/v1/', 'registry.example.com', 'registry.example.com'),
    ('http://registry.example.com:8080', 'registry.example.com:8080', 'registry.example.com:8080'),
    ('index.docker.io', 'docker.io', 'docker.io'),
    ('registry-1.docker.io', 'docker.io', 'docker.io'),
    ('https://index.docker.io/v1/', 'docker.io', 'docker.io'),
    ('docker.io/library/busybox', 'docker.io/library/busybox', 'docker.io'),
    ('index.docker.io/team', 'docker.io/team', 'docker.io'),
    ('  quay.io/ns  ', 'quay.io/ns', 'quay.io'),
    ('myregistry', 'myregistry', 'myregistry'),
])
def test_parse_registry_key(value: str, key: str, registry: str) -> None:
    parsed = parse_registry_key(value)
    assert parsed == RegistryKey(key=key, registry=registry)
    assert parsed.namespaced == (key != registry)


@pytest.mark.parametrize('value, message', [
    ('', 'registry is empty: give host[:port] or host[:port]/namespace[/repo]'),
    ('quay.io/app:v1', 'registry \'quay.io/app:v1\' contains a tag (":" after host[:port]): give host[:port] or host[:port]/namespace[/repo]'),
    ('quay.io/app@sha256:abc', 'registry \'quay.io/app@sha256:abc\' contains a digest ("@"): give host[:port] or host[:port]/namespace[/repo]'),
    ('team/app', 'registry \'team/app\' does not start with a registry host (for Docker Hub, write docker.io/team/app)'),
    ('quay.io/Team', 'registry \'quay.io/Team\': invalid repository path "Team": repository name must be lowercase'),
    ('quay.io//x', 'registry \'quay.io//x\': invalid repository path "/x": empty path component (a leading, trailing or doubled "/")'),
    ('bad_host.io', 'registry \'bad_host.io\' does not start with a registry host: invalid domain "bad_host.io": '
                    'invalid host name component "bad_host" (letters, digits and inner "-" only)'),
    ('host:port', 'registry \'host:port\' does not start with a registry host: invalid domain "host:port": the port "port" is not a number'),
])
def test_parse_registry_key_refuses(value: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_registry_key(value)
    assert str(info.value) == message


def test_file_key_per_format() -> None:
    containers, docker = AuthTarget('/a.json'), AuthTarget('/c.json', FORMAT_DOCKER)
    hub, scoped, local = parse_registry_key('docker.io'), parse_registry_key('quay.io/ns'), parse_registry_key('localhost:5000')
    assert file_key(hub, containers) == 'docker.io'
    assert file_key(hub, docker) == 'https://index.docker.io/v1/'
    assert file_key(local, docker) == 'localhost:5000'
    assert file_key(scoped, containers) == 'quay.io/ns'
    with pytest.raises(InvalidInputError) as info:
        file_key(scoped, docker)
    assert str(info.value) == ("quay.io/ns is namespace-scoped; Docker's config.json format (compat_auth_file) stores credentials per registry only, "
                               "so it cannot hold it: log in to quay.io, or write a containers auth file (authfile)")
    # Helpers get the registry (containers/image), or Docker's key in Docker's format (docker login).
    assert helper_server_url(hub, containers) == 'docker.io'
    assert helper_server_url(hub, docker) == 'https://index.docker.io/v1/'


def test_helper_for() -> None:
    both = AuthFile(path='/f', exists=True, cred_helpers={'quay.io': 'secretservice', 'index.docker.io': 'desktop'}, creds_store='osxkeychain')
    assert helper_for(both, 'quay.io', docker_format=False) == 'secretservice'
    # containers/image ignores credsStore; Docker uses it for everything without a credHelpers entry.
    assert helper_for(both, 'ghcr.io', docker_format=False) is None
    assert helper_for(both, 'ghcr.io', docker_format=True) == 'osxkeychain'
    # Docker keys Docker Hub's helper by index.docker.io; containers/image by docker.io.
    assert helper_for(both, 'docker.io', docker_format=True) == 'desktop'
    assert helper_for(both, 'docker.io', docker_format=False) is None
    bad = AuthFile(path='/f', exists=True, cred_helpers={'quay.io': '../evil'})
    with pytest.raises(ConfigError, match=r"credHelpers\['quay.io'\] names an invalid credential helper '../evil'"):
        helper_for(bad, 'quay.io', docker_format=False)


@pytest.mark.parametrize('entry, expected', [
    ({'auth': b64('alice:pw-1')}, True),
    ({'auth': b64('alice:pw-1'), 'identitytoken': 'x'}, False),
    ({'auth': b64('alice:pw-2')}, False),
    ({'auth': b64('bob:pw-1')}, False),
    ({'auth': b64('alice:pw-1\x00\x00')}, True),
    ({'auth': 'not base64!'}, False),
    ({}, False),
    (None, False),
    ('text', False),
])
def test_entry_holds_compares_decoded_credentials(entry: t.Any, expected: bool) -> None:
    assert entry_holds('/f', 'k', entry, 'alice', 'pw-1') is expected


def test_same_credentials() -> None:
    assert same_credentials(Credentials(username='a', password='b'), 'a', 'b')
    assert not same_credentials(None, 'a', 'b')
    assert not same_credentials(Credentials(identity_token='tok'), 'a', 'b')


def test_keys_to_remove_takes_aliases_of_a_registry_not_its_namespaces() -> None:
    auths = {k: {} for k in ('docker.io', 'https://index.docker.io/v1/', 'index.docker.io', 'docker.io/team', 'quay.io')}
    auth_file = AuthFile(path='/f', exists=True, auths=auths)
    assert keys_to_remove(auth_file, parse_registry_key('docker.io'), 'docker.io') == ['docker.io', 'https://index.docker.io/v1/', 'index.docker.io']
    assert keys_to_remove(auth_file, parse_registry_key('docker.io/team'), 'docker.io/team') == ['docker.io/team']
    assert keys_to_remove(auth_file, parse_registry_key('ghcr.io'), 'ghcr.io') == []


def test_document_editing_and_serialisation() -> None:
    document: dict[str, t.Any] = {'credHelpers': {'x.io': 'h'}, 'future': {'a': 1}}
    set_entry(document, 'quay.io', 'alice', 'pw:with:colons')
    set_entry(document, 'a.io', 'u', 'p')
    assert document['auths']['quay.io'] == {'auth': encode_auth('alice', 'pw:with:colons')}
    assert base64.b64decode(document['auths']['quay.io']['auth']) == b'alice:pw:with:colons'
    assert registry_keys(document) == ['a.io', 'quay.io']
    assert registry_keys({}) == []
    text = serialize({'auths': {'r': {'auth': 'eA=='}}}).decode()
    assert text == '{\n\t"auths": {\n\t\t"r": {\n\t\t\t"auth": "eA=="\n\t\t}\n\t}\n}\n'


# --- files ---------------------------------------------------------------------------------

def test_ensure_directory_creates_missing_parents_0700_whatever_the_umask(tmp_path: t.Any) -> None:
    existing = tmp_path / 'existing'
    existing.mkdir(mode=0o755)
    os.chmod(existing, 0o755)
    old = os.umask(0o000)
    try:
        ensure_directory(str(existing / 'a' / 'b'))
    finally:
        os.umask(old)
    assert mode(existing) == 0o755
    assert mode(existing / 'a') == 0o700 and mode(existing / 'a' / 'b') == 0o700
    (tmp_path / 'file').write_text('x')
    with pytest.raises(ConfigError, match='cannot create directory'):
        ensure_directory(str(tmp_path / 'file' / 'sub'))


@pytest.mark.parametrize('umask', [0o000, 0o022, 0o077])
def test_write_auth_file_is_0600_whatever_the_umask(tmp_path: t.Any, umask: int) -> None:
    path = tmp_path / 'auth.json'
    old = os.umask(umask)
    try:
        write_auth_file(str(path), {'auths': {}})
    finally:
        os.umask(old)
    assert mode(path) == 0o600
    assert json.loads(path.read_text()) == {'auths': {}}


def test_write_auth_file_replaces_atomically_and_tightens_the_mode(tmp_path: t.Any) -> None:
    path = tmp_path / 'auth.json'
    path.write_text('{"auths": {}}')
    os.chmod(path, 0o644)
    before = path.stat().st_ino
    write_auth_file(str(path), {'auths': {'r': {'auth': 'eA=='}}})
    assert path.stat().st_ino != before  # a new file renamed over the old one
    assert mode(path) == 0o600
    assert os.listdir(tmp_path) == ['auth.json']


def test_write_auth_file_keeps_a_symlink(tmp_path: t.Any) -> None:
    real = tmp_path / 'real.json'
    real.write_text('{}')
    link = tmp_path / 'link.json'
    link.symlink_to(real)
    write_auth_file(str(link), {'auths': {'r': {}}})
    assert link.is_symlink()
    assert json.loads(real.read_text()) == {'auths': {'r': {}}}


@pytest.mark.skipif(os.geteuid() == 0, reason='root writes into read-only directories')
def test_write_auth_file_failure_names_the_file_and_leaves_nothing(tmp_path: t.Any) -> None:
    directory = tmp_path / 'ro'
    directory.mkdir()
    (directory / 'auth.json').write_text('{}')
    os.chmod(directory, 0o500)
    try:
        with pytest.raises(ConfigError, match='auth file .*auth.json cannot be written: Permission denied'):
            write_auth_file(str(directory / 'auth.json'), {'auths': {}})
        assert os.listdir(directory) == ['auth.json']
    finally:
        os.chmod(directory, 0o700)


def test_write_auth_file_cleans_up_the_temporary_file_on_failure(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / 'auth.json'
    path.write_text('{"auths": {}}')

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'replace', refuse)
    with pytest.raises(ConfigError) as info:
        write_auth_file(str(path), {'auths': {'r': {}}})
    assert str(info.value) == 'auth file %s cannot be written: No space left on device' % path
    assert os.listdir(tmp_path) == ['auth.json']
    assert path.read_text() == '{"auths": {}}'


def _age(path: t.Any, seconds: float = STALE_AFTER + 60) -> None:
    """Make ``path`` look last modified ``seconds`` ago, as a killed writer's leftover that has waited long enough."""
    then = time.time() - seconds
    os.utime(str(path), (then, then), follow_symlinks=False)


def test_write_auth_file_sweeps_only_stale_temporaries_of_this_file(tmp_path: t.Any) -> None:
    path = tmp_path / 'auth.json'
    path.write_text('{"auths": {}}')
    prefix = temp_prefix('auth.json')
    assert prefix == '.ocikit-tmp-auth.json.'
    dead = tmp_path / (prefix + '0123456789abcdef')
    dead.write_text('{"auths": {"half')
    # Stale, but not ours to take: not exactly our pattern, another auth file's, other tools' (skopeo: .tmp-auth.json*).
    foreign = [prefix + '0123456789ABCDEF', prefix + '0123456789abcde', prefix + '0123456789abcdef0',
               temp_prefix('other.json') + '0123456789abcdef', '.auth.json.tmp-0123456789ab', '.tmp-auth.json123456789']
    for name in foreign:
        (tmp_path / name).write_text('x')
    # A symlink named like ours (never followed nor removed), and a fresh one of ours (its writer may not hold it yet).
    (tmp_path / 'target').write_text('keep')
    link = tmp_path / (prefix + 'aaaaaaaaaaaaaaaa')
    link.symlink_to(tmp_path / 'target')
    for name in [dead.name, link.name, 'target'] + foreign:
        _age(tmp_path / name)
    fresh = tmp_path / (prefix + 'fedcba9876543210')
    fresh.write_text('x')
    write_auth_file(str(path), {'auths': {'r': {}}})
    assert json.loads(path.read_text()) == {'auths': {'r': {}}}
    assert sorted(os.listdir(tmp_path)) == sorted(['auth.json', 'target', link.name, fresh.name] + foreign)
    assert (tmp_path / 'target').read_text() == 'keep'


def test_write_auth_file_holds_its_temporary_under_a_shared_lock_until_renamed(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    path = tmp_path / 'auth.json'
    seen: list[tuple[str, bool]] = []
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        fd = os.open(src, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = False
        except OSError:
            held = True
        finally:
            os.close(fd)
        seen.append((os.path.basename(src), held))
        real_replace(src, dst)

    monkeypatch.setattr(os, 'replace', replace)
    write_auth_file(str(path), {'auths': {}})
    assert len(seen) == 1
    name, held = seen[0]
    assert name.startswith('.ocikit-tmp-auth.json.') and len(name) == len('.ocikit-tmp-auth.json.') + 16
    assert held, 'the temporary file was not under a shared flock when it was renamed'


_KILLED_WRITER = '''
import os, signal, sys
from ansible_collections.ocikit.images.plugins.module_utils.config import auth_write
fd, temp = auth_write._create_temp(sys.argv[1], auth_write.temp_prefix('auth.json'))
os.write(fd, b'{"auths": {"half')
print(temp, flush=True)
sys.stdin.read()
os.kill(os.getpid(), signal.SIGKILL)
'''


def test_a_killed_writers_temporary_is_kept_while_it_lives_and_swept_after(tmp_path: t.Any) -> None:
    path = tmp_path / 'auth.json'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    writer = subprocess.Popen([sys.executable, '-c', _KILLED_WRITER, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        temp = writer.stdout.readline().decode().strip()
        assert os.path.dirname(temp) == str(tmp_path) and os.path.basename(temp).startswith('.ocikit-tmp-auth.json.')
        # Alive and writing, however old its file looks: kept.
        _age(temp)
        write_auth_file(str(path), {'auths': {'a': {}}})
        assert os.path.exists(temp)
    finally:
        writer.stdin.close()
        assert writer.wait(30) == -signal.SIGKILL
        writer.stdout.close()
    # Killed: its leftover is fresh for a while (the sweep waits for age), then swept by the next write.
    _age(temp)
    write_auth_file(str(path), {'auths': {'b': {}}})
    assert sorted(os.listdir(tmp_path)) == ['auth.json']
    assert json.loads(path.read_text()) == {'auths': {'b': {}}}


def test_written_file_reads_back(tmp_path: t.Any) -> None:
    path = tmp_path / 'auth.json'
    document = {'auths': {'quay.io': {'auth': encode_auth('alice', SECRET)}}, 'unknown': [1]}
    write_auth_file(str(path), document)
    loaded = load_auth_file(str(path))
    assert loaded.document == document and entry_holds(str(path), 'quay.io', loaded.auths['quay.io'], 'alice', SECRET)


def test_lock_serialises_writers_and_times_out(tmp_path: t.Any) -> None:
    path = str(tmp_path / 'auth.json')
    order: list[str] = []
    with locked(path):
        assert os.path.exists(path + '.lock') and mode(path + '.lock') == 0o600
        with pytest.raises(ConfigError) as info:
            with locked(path, timeout=0.05):
                pass  # pragma: no cover - the lock is held
        assert str(info.value) == 'auth file %s is locked by another writer (waited 0 s for %s.lock)' % (path, path)

        def second() -> None:
            with locked(path):
                order.append('second')

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.1)
        order.append('first')
    thread.join(5)
    assert order == ['first', 'second']


def test_lock_in_a_missing_directory_is_a_config_error(tmp_path: t.Any) -> None:
    with pytest.raises(ConfigError, match='cannot open lock file .*missing/auth.json.lock: No such file or directory'):
        with locked(str(tmp_path / 'missing' / 'auth.json')):
            pass  # pragma: no cover


# --- credential helpers ----------------------------------------------------------------------

def test_helper_store_and_erase_protocol(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    helper = Helper(tmp_path, monkeypatch)
    store_in_helper('fake', 'quay.io', 'alice', SECRET)
    assert helper.data() == {'quay.io': ['alice', SECRET]}
    assert helper.calls() == [['store', json.dumps({'ServerURL': 'quay.io', 'Username': 'alice', 'Secret': SECRET})]]
    assert erase_from_helper('fake', 'quay.io') is True
    assert erase_from_helper('fake', 'quay.io') is False
    assert helper.data() == {}
    assert helper.calls()[1:] == [['erase', 'quay.io'], ['erase', 'quay.io']]


def test_helper_store_failure_never_repeats_the_secret(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    Helper(tmp_path, monkeypatch, behaviour='echo')
    with pytest.raises(ConfigError) as info:
        store_in_helper('fake', 'quay.io', 'alice', SECRET)
    message = str(info.value)
    assert message.startswith('credential helper docker-credential-fake failed to store credentials for quay.io (exit status 2): cannot store')
    assert SECRET not in message and '********' in message


def test_helper_failures_are_config_errors(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    Helper(tmp_path, monkeypatch, behaviour='locked')
    with pytest.raises(ConfigError) as info:
        erase_from_helper('fake', 'quay.io')
    assert str(info.value) == 'credential helper docker-credential-fake failed to erase credentials for quay.io (exit status 3): the keychain is locked'
    with pytest.raises(ConfigError) as missing:
        store_in_helper('absent-helper-xyz', 'quay.io', 'alice', SECRET)
    assert str(missing.value) == 'credential helper docker-credential-absent-helper-xyz is not installed: no such program on PATH'


@pytest.mark.parametrize('kind', ['symlink', 'dangling', 'fifo', 'directory'])
def test_lock_refuses_what_is_not_a_regular_file(tmp_path: t.Any, kind: str) -> None:
    """The auth file's lock never follows a symlink (it would create a file where the link points) nor hangs on a FIFO."""
    path = str(tmp_path / 'auth.json')
    elsewhere = tmp_path / 'elsewhere'
    if kind == 'symlink':
        elsewhere.write_bytes(b'keep')
        os.symlink(str(elsewhere), path + '.lock')
    elif kind == 'dangling':
        os.symlink(str(elsewhere), path + '.lock')
    elif kind == 'fifo':
        os.mkfifo(path + '.lock')
    else:
        os.mkdir(path + '.lock')
    with pytest.raises(ConfigError) as info:
        with locked(path, timeout=0.05):
            pass  # pragma: no cover - refused
    expected = {'symlink': 'it is a symbolic link', 'dangling': 'it is a symbolic link', 'fifo': 'it is not a regular file',
                'directory': 'Is a directory'}[kind]
    assert str(info.value).startswith('refusing lock file %s: ' % (path + '.lock') if kind != 'directory'
                                      else 'cannot open lock file %s: ' % (path + '.lock'))
    assert str(info.value).endswith(expected)
    # Nothing was created or changed where the link points.
    if kind == 'symlink':
        assert elsewhere.read_bytes() == b'keep'
    else:
        assert not elsewhere.exists()
