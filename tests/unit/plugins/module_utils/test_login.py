# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The login engine: checking credentials by the registry's auth flow, idempotent store and removal, check mode, diff."""

from __future__ import annotations

import base64
import json
import os
import sys
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.config.auth_write import FORMAT_DOCKER, AuthTarget
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    AuthenticationError,
    ConfigError,
    InvalidInputError,
    ServerError,
)
from ansible_collections.ocikit.images.plugins.module_utils.login import Verification, login, logout, logout_all, verify_credentials
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions

httpx = pytest.importorskip('httpx')

USER, PASSWORD = 'alice', 'pa55-w0rd'
REGISTRY = 'registry.test'
REALM = 'https://auth.test/token'


def b64(user: str, password: str) -> str:
    return base64.b64encode(('%s:%s' % (user, password)).encode()).decode()


def basic(user: str, password: str) -> str:
    return 'Basic ' + b64(user, password)


class FakeRegistry:
    """``/v2/`` of a registry with Basic, Bearer or no auth, and its token server."""

    def __init__(self, auth: str | None, ping_status: int = 401, refuse_tokens: str | None = None) -> None:
        self.auth = auth
        self.ping_status = ping_status
        #: When set, the registry refuses every token its token server issues, with this challenge error ('' for none).
        self.refuse_tokens = refuse_tokens
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        authorization = request.headers.get('authorization')
        if request.url.host == 'auth.test':
            if authorization != basic(USER, PASSWORD):
                return httpx.Response(401, json={'details': 'invalid credentials'})
            return httpx.Response(200, json={'token': 'tok-1', 'expires_in': 300})
        if self.ping_status >= 500:
            return httpx.Response(self.ping_status)
        if self.auth is None:
            return httpx.Response(200, json={})
        if self.auth == 'basic':
            if authorization == basic(USER, PASSWORD):
                return httpx.Response(200, json={})
            return httpx.Response(401, headers={'WWW-Authenticate': 'Basic realm="fake"'},
                                  json={'errors': [{'code': 'UNAUTHORIZED', 'message': 'authentication required'}]})
        if authorization == 'Bearer tok-1' and self.refuse_tokens is None:
            return httpx.Response(200, json={})
        challenge = 'Bearer realm="%s",service="%s"' % (REALM, REGISTRY)
        if authorization and self.refuse_tokens:
            challenge += ',error="%s"' % self.refuse_tokens
        return httpx.Response(401, headers={'WWW-Authenticate': challenge},
                              json={'errors': [{'code': 'UNAUTHORIZED', 'message': 'authentication required'}]})


def check(fake: FakeRegistry, password: str = PASSWORD) -> Verification:
    return verify_credentials(REGISTRY, USER, password, ConnectionOptions(retry_delay=0.001), transport=httpx.MockTransport(fake))


# --- verify ----------------------------------------------------------------------------------

def test_verify_basic() -> None:
    fake = FakeRegistry('basic')
    assert check(fake) == Verification(auth_scheme='basic', verified=True)
    # The ping goes without credentials; the check with them.
    assert [r.headers.get('authorization') for r in fake.requests] == [None, basic(USER, PASSWORD)]


def test_verify_bearer_asks_for_a_token_without_scope() -> None:
    fake = FakeRegistry('bearer')
    assert check(fake) == Verification(auth_scheme='bearer', verified=True)
    token_request = fake.requests[1]
    assert token_request.url.host == 'auth.test'
    assert token_request.headers['authorization'] == basic(USER, PASSWORD)
    assert dict(token_request.url.params) == {'account': USER, 'service': REGISTRY}
    assert fake.requests[2].headers['authorization'] == 'Bearer tok-1'


def test_verify_without_auth_stores_unverified() -> None:
    assert check(FakeRegistry(None, ping_status=200)) == Verification(auth_scheme='none', verified=False)


@pytest.mark.parametrize('auth, where', [('basic', REGISTRY), ('bearer', 'the token server of %s' % REGISTRY)])
def test_verify_refused(auth: str, where: str) -> None:
    with pytest.raises(AuthenticationError) as info:
        check(FakeRegistry(auth), password='wrong-one')
    assert str(info.value) == '%s refused the credentials of user alice (HTTP 401): wrong username or password? Nothing was stored' % where
    assert info.value.status == 401


@pytest.mark.parametrize('error, why', [
    ('', 'revoked, or the registry and the token server disagree on the signing key?'),
    ('invalid_token', 'revoked, or the registry and the token server disagree on the signing key?'),
    ('insufficient_scope', 'the registry says it grants too little'),
])
def test_verify_token_refused_by_the_registry_says_the_credentials_were_accepted(error: str, why: str) -> None:
    fake = FakeRegistry('bearer', refuse_tokens=error)
    with pytest.raises(AuthenticationError) as info:
        check(fake)
    assert str(info.value) == ('%s refused the token that its token server issued for the credentials of user alice (HTTP 401): '
                               'the credentials were accepted, the token was not (%s). Nothing was stored' % (REGISTRY, why))
    assert info.value.status == 401 and info.value.code == 'UNAUTHORIZED'
    # The ping, the token (granted), the check with it; no second token, which would be refused alike.
    assert [(r.url.host, r.headers.get('authorization')) for r in fake.requests] == [
        (REGISTRY, None), ('auth.test', basic(USER, PASSWORD)), (REGISTRY, 'Bearer tok-1')]


def test_verify_refused_shows_control_characters_of_the_user_escaped() -> None:
    with pytest.raises(AuthenticationError) as info:
        verify_credentials(REGISTRY, 'mal\x1b[31mlory\n', 'wrong-one', ConnectionOptions(retry_delay=0.001),
                           transport=httpx.MockTransport(FakeRegistry('basic')))
    assert str(info.value) == ('%s refused the credentials of user mal\\x1b[31mlory\\n (HTTP 401): wrong username or password? Nothing was stored'
                               % REGISTRY)


def test_verify_passes_other_errors_through() -> None:
    with pytest.raises(ServerError, match='pinging registry registry.test'):
        verify_credentials(REGISTRY, USER, PASSWORD, ConnectionOptions(retry_times=0), transport=httpx.MockTransport(FakeRegistry('basic', 500)))


def test_verify_sends_only_the_given_credentials(tmp_path: t.Any) -> None:
    # An auth file with other credentials is not consulted.
    authfile = tmp_path / 'auth.json'
    authfile.write_text(json.dumps({'auths': {REGISTRY: {'auth': b64('mallory', 'x')}}}))
    fake = FakeRegistry('basic')
    verify_credentials(REGISTRY, USER, PASSWORD, ConnectionOptions(authfile=str(authfile), registry_token='t'), transport=httpx.MockTransport(fake))
    assert fake.requests[-1].headers['authorization'] == basic(USER, PASSWORD)


# --- login -----------------------------------------------------------------------------------

class Verifier:
    """Records calls; refuses when told to."""

    def __init__(self, refuse: bool = False) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.refuse = refuse

    def __call__(self, registry: str, username: str, password: str, options: ConnectionOptions) -> Verification:
        self.calls.append((registry, username, password))
        if self.refuse:
            raise AuthenticationError('%s refused the credentials of user %s (HTTP 401): wrong username or password? Nothing was stored'
                                      % (registry, username), status=401)
        return Verification('basic', True)


def do_login(target: AuthTarget, registry: str = REGISTRY, username: str = USER, password: str = PASSWORD, check_mode: bool = False,
             verifier: Verifier | None = None, verify: bool = True) -> dict[str, t.Any]:
    return login(registry, username, password, target, ConnectionOptions(), verify=verify, check_mode=check_mode,
                 verifier=verifier or Verifier())


def read(path: t.Any) -> t.Any:
    with open(path, encoding='utf-8') as handle:
        return json.load(handle)


def assert_no_secret(result: dict[str, t.Any], password: str = PASSWORD) -> None:
    text = json.dumps(result)
    assert password not in text and b64(USER, password) not in text


def test_login_stores_then_is_idempotent(tmp_path: t.Any) -> None:
    target = AuthTarget(str(tmp_path / 'dir' / 'auth.json'))
    verifier = Verifier()
    first = do_login(target, verifier=verifier)
    assert first == {'changed': True, 'registry': REGISTRY, 'auth_key': REGISTRY, 'username': USER, 'authfile': target.path,
                     'verification': {'auth_scheme': 'basic', 'verified': True},
                     'diff': {'before': {'registries': [], 'credentials': {}},
                              'after': {'registries': [REGISTRY], 'credentials': {REGISTRY: {'username': USER, 'store': 'auth file'}}}}}
    assert read(target.path) == {'auths': {REGISTRY: {'auth': b64(USER, PASSWORD)}}}
    assert_no_secret(first)
    mtime = os.stat(target.path).st_mtime_ns
    second = do_login(target, verifier=verifier)
    assert second['changed'] is False
    assert os.stat(target.path).st_mtime_ns == mtime
    # Verified each time: stored credentials may have been revoked since.
    assert verifier.calls == [(REGISTRY, USER, PASSWORD)] * 2


def test_login_compares_decoded_entries_not_bytes(tmp_path: t.Any) -> None:
    path = tmp_path / 'auth.json'
    # The same credentials, with a padding NUL, an extra field, and another formatting: still the same login.
    path.write_text(json.dumps({'auths': {REGISTRY: {'auth': b64(USER, PASSWORD + '\x00'), 'email': 'a@b'}}}, indent=1))
    content = path.read_bytes()
    assert do_login(AuthTarget(str(path)))['changed'] is False
    assert path.read_bytes() == content


def test_refused_credentials_write_nothing(tmp_path: t.Any) -> None:
    target = AuthTarget(str(tmp_path / 'new' / 'auth.json'))
    with pytest.raises(AuthenticationError):
        do_login(target, verifier=Verifier(refuse=True))
    assert not (tmp_path / 'new').exists()


def test_without_verify_nothing_is_asked(tmp_path: t.Any) -> None:
    verifier = Verifier()
    result = do_login(AuthTarget(str(tmp_path / 'auth.json')), verifier=verifier, verify=False)
    assert verifier.calls == [] and 'verification' not in result and result['changed'] is True


def test_check_mode_predicts_and_creates_nothing(tmp_path: t.Any) -> None:
    target = AuthTarget(str(tmp_path / 'new' / 'auth.json'))
    verifier = Verifier()
    predicted = do_login(target, check_mode=True, verifier=verifier)
    assert predicted['changed'] is True
    assert predicted['diff']['after'] == {'registries': [REGISTRY], 'credentials': {REGISTRY: {'username': USER, 'store': 'auth file'}}}
    assert verifier.calls and not (tmp_path / 'new').exists()
    do_login(target)
    assert do_login(target, check_mode=True)['changed'] is False
    assert do_login(target, check_mode=True, password='other-pw')['changed'] is True
    assert read(target.path)['auths'][REGISTRY] == {'auth': b64(USER, PASSWORD)}


@pytest.mark.parametrize('username, password, message', [
    ('', PASSWORD, 'logging in needs username and password, both non-empty'),
    (USER, '', 'logging in needs username and password, both non-empty'),
    ('a:b', PASSWORD, 'username "a:b" contains ":", which the auth file format cannot store (it keeps "user:password")'),
])
def test_login_refuses_bad_credentials_input(tmp_path: t.Any, username: str, password: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        do_login(AuthTarget(str(tmp_path / 'auth.json')), username=username, password=password)
    assert str(info.value) == message
    assert PASSWORD not in str(info.value)


def test_login_refuses_a_broken_file_before_asking_the_registry(tmp_path: t.Any) -> None:
    path = tmp_path / 'auth.json'
    path.write_text('{"auths": ')
    verifier = Verifier()
    with pytest.raises(ConfigError, match='is not valid JSON'):
        do_login(AuthTarget(str(path)), verifier=verifier)
    assert verifier.calls == [] and path.read_text() == '{"auths": '


def test_namespaced_login_beside_registry_login(tmp_path: t.Any) -> None:
    target = AuthTarget(str(tmp_path / 'auth.json'))
    do_login(target)
    scoped = do_login(target, registry=REGISTRY + '/team', password='team-pw')
    assert scoped['registry'] == REGISTRY + '/team' and scoped['changed'] is True
    assert scoped['diff'] == {'before': {'registries': [REGISTRY], 'credentials': {}},
                              'after': {'registries': [REGISTRY, REGISTRY + '/team'],
                                        'credentials': {REGISTRY + '/team': {'username': USER, 'store': 'auth file'}}}}
    assert sorted(read(target.path)['auths']) == [REGISTRY, REGISTRY + '/team']


# --- credential helpers ----------------------------------------------------------------------

class Helper:
    """A docker-credential-fake on PATH keeping credentials in a JSON file and logging each call."""

    def __init__(self, tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
        bindir = tmp_path / 'bin'
        bindir.mkdir()
        self.store, self.log = tmp_path / 'store.json', tmp_path / 'helper.log'
        script = bindir / 'docker-credential-fake'
        script.write_text('''#!%s
import json, os, sys
store, log = %r, %r
action, stdin = sys.argv[1], sys.stdin.read()
with open(log, "a") as handle:
    handle.write(json.dumps([action, stdin]) + "\\n")
data = json.load(open(store)) if os.path.exists(store) else {}
if action == "store":
    req = json.loads(stdin)
    data[req["ServerURL"]] = [req["Username"], req["Secret"]]
elif stdin not in data:
    print("credentials not found in native keychain")
    sys.exit(1)
elif action == "get":
    print(json.dumps({"ServerURL": stdin, "Username": data[stdin][0], "Secret": data[stdin][1]}))
elif action == "erase":
    del data[stdin]
json.dump(data, open(store, "w"))
''' % (sys.executable, str(self.store), str(self.log)))
        script.chmod(0o755)
        monkeypatch.setenv('PATH', '%s%s%s' % (bindir, os.pathsep, os.environ.get('PATH', '')))

    def data(self) -> dict[str, t.Any]:
        return json.loads(self.store.read_text()) if self.store.exists() else {}

    def calls(self) -> list[t.Any]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []


@pytest.fixture
def helper(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> Helper:
    return Helper(tmp_path, monkeypatch)


def test_login_through_cred_helpers(tmp_path: t.Any, helper: t.Any) -> None:
    path = tmp_path / 'auth.json'
    path.write_text(json.dumps({'credHelpers': {REGISTRY: 'fake'}}))
    content = path.read_bytes()
    first = do_login(AuthTarget(str(path)))
    assert first['changed'] is True and first['credential_helper'] == 'fake'
    assert first['diff'] == {'before': {'registries': [], 'credentials': {}},
                             'after': {'registries': [REGISTRY], 'credentials': {REGISTRY: {'username': USER, 'store': 'credential helper fake'}}}}
    assert helper.data() == {REGISTRY: [USER, PASSWORD]}
    assert path.read_bytes() == content
    assert do_login(AuthTarget(str(path)))['changed'] is False
    assert [call[0] for call in helper.calls()] == ['get', 'store', 'get']
    assert_no_secret(first)

    with pytest.raises(InvalidInputError, match='registry.test/team is namespace-scoped, but .* names credential helper fake for registry.test'):
        do_login(AuthTarget(str(path)), registry=REGISTRY + '/team')

    out = logout(REGISTRY, AuthTarget(str(path)))
    assert out['changed'] is True and out['removed'] == [REGISTRY] and helper.data() == {}
    assert logout(REGISTRY, AuthTarget(str(path)))['changed'] is False


def test_docker_format_with_creds_store(tmp_path: t.Any, helper: t.Any) -> None:
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'auths': {'https://index.docker.io/v1/': {'auth': b64('old', 'plain')}}, 'credsStore': 'fake'}))
    target = AuthTarget(str(path), FORMAT_DOCKER)
    first = do_login(target, registry='docker.io')
    assert first['auth_key'] == 'https://index.docker.io/v1/' and first['changed'] is True
    # The plaintext entry gives way to Docker's empty marker; the secret is in the store only.
    assert read(path) == {'auths': {'https://index.docker.io/v1/': {}}, 'credsStore': 'fake'}
    assert helper.data() == {'https://index.docker.io/v1/': [USER, PASSWORD]}
    assert do_login(target, registry='docker.io')['changed'] is False


def test_docker_format_without_helper(tmp_path: t.Any) -> None:
    path = tmp_path / 'config.json'
    target = AuthTarget(str(path), FORMAT_DOCKER)
    assert do_login(target, registry='registry-1.docker.io')['registry'] == 'docker.io'
    assert read(path) == {'auths': {'https://index.docker.io/v1/': {'auth': b64(USER, PASSWORD)}}}
    verifier = Verifier()
    with pytest.raises(InvalidInputError, match='namespace-scoped'):
        do_login(target, registry='docker.io/team', verifier=verifier)
    assert verifier.calls == []


# --- logout ----------------------------------------------------------------------------------

def test_logout_removes_the_key_and_its_url_aliases_only(tmp_path: t.Any) -> None:
    path = tmp_path / 'auth.json'
    auths = {REGISTRY: {'auth': b64('a', 'b')}, 'https://%s/v1/' % REGISTRY: {'auth': b64('c', 'd')},
             REGISTRY + '/team': {'auth': b64('e', 'f')}, 'quay.io': {'auth': b64('g', 'h')}}
    path.write_text(json.dumps({'auths': auths, 'unknown': True}))
    predicted = logout(REGISTRY, AuthTarget(str(path)), check_mode=True)
    assert predicted['removed'] == ['https://%s/v1/' % REGISTRY, REGISTRY]
    assert read(path)['auths'] == auths
    out = logout(REGISTRY, AuthTarget(str(path)))
    assert out == {'changed': True, 'registry': REGISTRY, 'auth_key': REGISTRY, 'authfile': str(path),
                   'removed': ['https://%s/v1/' % REGISTRY, REGISTRY],
                   'diff': {'before': {'registries': sorted(auths), 'credentials': {'https://%s/v1/' % REGISTRY: {'username': 'c', 'store': 'auth file'},
                                                                                    REGISTRY: {'username': 'a', 'store': 'auth file'}}},
                            'after': {'registries': ['quay.io', REGISTRY + '/team'], 'credentials': {}}}}
    assert read(path) == {'auths': {REGISTRY + '/team': auths[REGISTRY + '/team'], 'quay.io': auths['quay.io']}, 'unknown': True}
    scoped = logout(REGISTRY + '/team', AuthTarget(str(path)))
    assert scoped['removed'] == [REGISTRY + '/team']


def test_logout_when_not_logged_in_is_ok(tmp_path: t.Any) -> None:
    missing = AuthTarget(str(tmp_path / 'none' / 'auth.json'))
    assert logout(REGISTRY, missing)['changed'] is False
    assert not (tmp_path / 'none').exists()
    path = tmp_path / 'auth.json'
    path.write_text('{"auths": {"quay.io": {}}}')
    mtime = path.stat().st_mtime_ns
    result = logout(REGISTRY, AuthTarget(str(path)))
    assert result['changed'] is False and result['removed'] == []
    assert path.stat().st_mtime_ns == mtime


def test_logout_all(tmp_path: t.Any, helper: t.Any) -> None:
    path = tmp_path / 'auth.json'
    path.write_text(json.dumps({'auths': {'a.io': {'auth': b64('a', 'b')}, 'b.io/ns': {'auth': b64('c', 'd')}},
                                'credHelpers': {'h.io': 'fake', 'empty.io': 'fake'}, 'other': 1}))
    do_login(AuthTarget(str(path)), registry='h.io')
    predicted = logout_all(AuthTarget(str(path)), check_mode=True)
    assert predicted['removed'] == ['a.io', 'b.io/ns', 'h.io'] and helper.data()
    result = logout_all(AuthTarget(str(path)))
    assert result == {'changed': True, 'authfile': str(path), 'removed': ['a.io', 'b.io/ns', 'h.io'],
                      'diff': {'before': {'registries': ['a.io', 'b.io/ns', 'h.io'],
                                          'credentials': {'a.io': {'username': 'a', 'store': 'auth file'}, 'b.io/ns': {'username': 'c', 'store': 'auth file'},
                                                          'h.io': {'username': USER, 'store': 'credential helper fake'}}},
                               'after': {'registries': [], 'credentials': {}}}}
    assert read(path) == {'auths': {}, 'credHelpers': {'h.io': 'fake', 'empty.io': 'fake'}, 'other': 1}
    assert helper.data() == {}
    # empty.io was asked, and not erased: the helper held nothing for it.
    assert ['erase', 'empty.io'] not in helper.calls()
    assert logout_all(AuthTarget(str(path)))['changed'] is False


def test_logout_all_docker_format_erases_store_keys(tmp_path: t.Any, helper: t.Any) -> None:
    path = tmp_path / 'config.json'
    path.write_text(json.dumps({'auths': {}, 'credsStore': 'fake'}))
    target = AuthTarget(str(path), FORMAT_DOCKER)
    do_login(target, registry='docker.io')
    do_login(target, registry='quay.io')
    assert sorted(helper.data()) == ['https://index.docker.io/v1/', 'quay.io']
    result = logout_all(target)
    assert result['removed'] == ['https://index.docker.io/v1/', 'quay.io']
    assert helper.data() == {} and read(path) == {'auths': {}, 'credsStore': 'fake'}


# --- the diff names the user and the store (issue 7, defect 14) -------------------------------


def test_diff_shows_the_user_change_and_no_secret(tmp_path: t.Any) -> None:
    target = AuthTarget(str(tmp_path / 'auth.json'))
    do_login(target, username='bob', password='b0b-secret')
    changed = do_login(target)
    assert changed['changed'] is True
    assert changed['diff'] == {'before': {'registries': [REGISTRY], 'credentials': {REGISTRY: {'username': 'bob', 'store': 'auth file'}}},
                               'after': {'registries': [REGISTRY], 'credentials': {REGISTRY: {'username': USER, 'store': 'auth file'}}}}
    assert changed['diff']['before'] != changed['diff']['after']
    assert_no_secret(changed)
    assert_no_secret(changed, 'b0b-secret')
    same = do_login(target)
    assert same['changed'] is False and same['diff']['before'] == same['diff']['after']


def test_diff_of_a_password_change_marks_it_without_showing_it(tmp_path: t.Any) -> None:
    target = AuthTarget(str(tmp_path / 'auth.json'))
    do_login(target, password='old-pa55')
    changed = do_login(target, check_mode=True)
    assert changed['changed'] is True
    assert changed['diff']['before']['credentials'] == {REGISTRY: {'username': USER, 'store': 'auth file', 'password': '(previous, hidden)'}}
    assert changed['diff']['after']['credentials'] == {REGISTRY: {'username': USER, 'store': 'auth file', 'password': '(new, hidden)'}}
    assert_no_secret(changed)
    assert_no_secret(changed, 'old-pa55')


def test_diff_of_a_helper_user_change(tmp_path: t.Any, helper: t.Any) -> None:
    path = tmp_path / 'auth.json'
    path.write_text(json.dumps({'credHelpers': {REGISTRY: 'fake'}}))
    do_login(AuthTarget(str(path)), username='bob', password='b0b-secret')
    changed = do_login(AuthTarget(str(path)))
    assert changed['diff']['before']['credentials'] == {REGISTRY: {'username': 'bob', 'store': 'credential helper fake'}}
    assert changed['diff']['after']['credentials'] == {REGISTRY: {'username': USER, 'store': 'credential helper fake'}}
    out = logout(REGISTRY, AuthTarget(str(path)))
    assert out['diff'] == {'before': {'registries': [REGISTRY], 'credentials': {REGISTRY: {'username': USER, 'store': 'credential helper fake'}}},
                           'after': {'registries': [], 'credentials': {}}}
    assert_no_secret(changed)
    assert_no_secret(out)


@pytest.mark.parametrize('registry', ['https://%s:%s@registry.test/' % (USER, PASSWORD), '%s:%s@registry.test' % (USER, PASSWORD),
                                      'https://%s@registry.test' % PASSWORD])
def test_registry_with_credentials_is_refused_without_echoing_them(tmp_path: t.Any, registry: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        do_login(AuthTarget(str(tmp_path / 'auth.json')), registry=registry)
    assert info.value.message.endswith('contains credentials ("user:password@"): give host[:port] as registry, '
                                       'and the credentials as username and password')
    assert PASSWORD not in info.value.message and b64(USER, PASSWORD) not in info.value.message
    assert not (tmp_path / 'auth.json').exists()
