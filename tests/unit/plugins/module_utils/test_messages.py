# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Messages are one line and carry no secret: quote, escape_controls, redact, describe, and the module glue that applies them.

Regression tests for issue 7, defects 6 (secrets in messages) and 7 (newlines in user input).
"""

from __future__ import annotations

import base64
import json
import typing as t

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    REDACTED,
    AuthenticationError,
    InvalidInputError,
    InvalidReferenceError,
    base64_forms,
    describe,
    escape_controls,
    quote,
    redact,
    redact_userinfo,
)
from ansible_collections.ocikit.images.plugins.module_utils.module import OcikitModule, run, secrets_of
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.auth import basic_authorization, parse_token_response
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.errors_map import error_from_response
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name

PASSWORD = 'S3cr3t-pa55word'
USER = 'alice'
BASIC = base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()
JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ'
# Every character class that can start a new line or drive a terminal.
CONTROLS = ['\n', '\r', '\t', '\x00', '\x1b', '\x7f', '\x85', '\x9b', '\u2028', '\u2029', '\x0b', '\x0c']


def leaks(text: str, *secrets: str) -> list[str]:
    """The secrets (or any of their base64 forms) found in ``text``."""
    found = []
    for secret in secrets:
        for form in [secret] + base64_forms(secret):
            if form in text:
                found.append(form)
    return found


def one_line(text: str) -> bool:
    """No character that a terminal or a log viewer would take as a line break or a control."""
    return not any(c in text for c in CONTROLS) and len(text.splitlines()) <= 1


# -- escaping and quoting ------------------------------------------------------------------------------------------


@pytest.mark.parametrize('char, shown', [
    ('\n', '\\n'), ('\r', '\\r'), ('\t', '\\t'), ('\x00', '\\x00'), ('\x1b', '\\x1b'), ('\x7f', '\\x7f'),
    ('\x85', '\\x85'), ('\x9b', '\\x9b'), ('\u2028', '\\u2028'), ('\u2029', '\\u2029'), ('\x0b', '\\x0b'),
])
def test_escape_controls_shows_each_control_visibly(char: str, shown: str) -> None:
    assert escape_controls('a%sb' % char) == 'a%sb' % shown


def test_escape_controls_keeps_printable_text_and_non_ascii_letters() -> None:
    assert escape_controls('registry.example.com/äpp:1 — ok') == 'registry.example.com/äpp:1 — ok'


def test_quote_escapes_quotes_backslashes_and_an_ansi_sequence() -> None:
    assert quote('a"b\\c\n\x1b[31mred') == '"a\\"b\\\\c\\n\\x1b[31mred"'


def test_quote_clips_long_values_and_escapes_after_clipping() -> None:
    assert quote('x' * 300) == '"%s..."' % ('x' * 200)
    assert quote('\n' * 10, limit=3) == '"\\n\\n\\n..."'


def test_quote_names_non_strings_by_repr() -> None:
    assert quote(None) == '"None"'
    assert quote(['a\nb']) == '"[\'a\\\\nb\']"'


@pytest.mark.parametrize('text, expected', [
    ('docker://user:%s@host/repo:t' % PASSWORD, 'docker://user:%s@host/repo:t' % REDACTED),
    ('https://u:%s@registry.example.com/v2/' % PASSWORD, 'https://u:%s@registry.example.com/v2/' % REDACTED),
    ('https://only-a-token@h.io', 'https://%s@h.io' % REDACTED),
    ('https://u:p@ss@h.io/x', 'https://u:%s@h.io/x' % REDACTED),
    ('user:%s@host/repo:t' % PASSWORD, 'user:%s@host/repo:t' % REDACTED),
    ('registry "u:%s@registry.example.com" x' % PASSWORD, 'registry "u:%s@registry.example.com" x' % REDACTED),
    ('invalid reference "user:%s@host:5000/repo": x' % PASSWORD, 'invalid reference "user:%s@host:5000/repo": x' % REDACTED),
    # Not userinfo: a tag and digest, a path with "@", an IPv6 zone, an e-mail address in prose.
    ('busybox:1@sha256:abcd', 'busybox:1@sha256:abcd'),
    ('"busybox:1@sha256:%s"' % ('a' * 64), '"busybox:1@sha256:%s"' % ('a' * 64)),
    ('docker.io/library/busybox:1@sha256:abcd', 'docker.io/library/busybox:1@sha256:abcd'),
    ('oci:/tmp/a@b/c:tag', 'oci:/tmp/a@b/c:tag'),
    ('"[fe80::1%@zone]:5000/repo"', '"[fe80::1%@zone]:5000/repo"'),
    ('mail admin@example.com', 'mail admin@example.com'),
    # Not userinfo either: containers-storage's store bracket and its NAME:TAG@ID form.
    ('containers-storage:[vfs@relative]busybox', 'containers-storage:[vfs@relative]busybox'),
    ('"[overlay@/var/lib/containers/storage]busybox"', '"[overlay@/var/lib/containers/storage]busybox"'),
    ('containers-storage:busybox:1@%s' % ('a' * 64), 'containers-storage:busybox:1@%s' % ('a' * 64)),
    # Still userinfo: an IPv6 literal host, a host that begins with 64 hex digits.
    ('u:%s@[fe80::1]:5000/repo' % PASSWORD, 'u:%s@[fe80::1]:5000/repo' % REDACTED),
    ('u:%s@%s.example.com/x' % (PASSWORD, 'a' * 64), 'u:%s@%s.example.com/x' % (REDACTED, 'a' * 64)),
])
def test_redact_userinfo(text: str, expected: str) -> None:
    assert redact_userinfo(text) == expected


def test_quote_redacts_userinfo_of_a_reference() -> None:
    assert quote('docker://bob:%s@h.io/x' % PASSWORD) == '"docker://bob:%s@h.io/x"' % REDACTED


# -- base64 forms and redaction ------------------------------------------------------------------------------------


@pytest.mark.parametrize('prefix', ['', 'a', 'ab', 'abc', 'alice:', 'bob:', 'x:', ':', '{"auth":"'])
def test_base64_forms_find_the_secret_at_every_alignment(prefix: str) -> None:
    encoded = base64.b64encode((prefix + PASSWORD + '","more":1}').encode()).decode()
    assert any(form in encoded for form in base64_forms(PASSWORD))
    assert REDACTED in redact(encoded, [PASSWORD])
    # What is left decodes to no part of the password longer than a few bytes.
    assert not leaks(redact(encoded, [PASSWORD]), PASSWORD)


def test_base64_forms_include_the_url_safe_alphabet() -> None:
    secret = '\xff\xfe>>>???secret'
    urlsafe = base64.urlsafe_b64encode(secret.encode()).decode()
    assert urlsafe.rstrip('=') in base64_forms(secret) or any(form in urlsafe for form in base64_forms(secret))


def test_base64_forms_leave_out_fragments_too_short_to_be_safe() -> None:
    assert all(len(form) >= 6 for form in base64_forms('abcd'))
    assert base64_forms('ab') == []


@pytest.mark.parametrize('echo', [
    'Authorization: Basic %s' % BASIC,
    '{"header": {"Authorization": ["Basic %s"]}}' % BASIC,
    'map[Authorization:[Basic %s]]' % BASIC,
    'authorization=Bearer %s' % JWT,
    'proxy-authorization: Basic %s' % BASIC,
    'got Basic %s' % BASIC,
    'got Bearer %s' % JWT,
    'token %s' % JWT,
    '{"token": "%s", "access_token": "%s"}' % (JWT, JWT),
    'https://h.io/token?refresh_token=%s&service=x' % JWT,
    '{"password": "%s"}' % PASSWORD,
])
def test_redact_removes_echoed_credentials_without_knowing_them(echo: str) -> None:
    redacted = redact('registry said: %s (HTTP 400)' % echo)
    assert BASIC not in redacted and JWT not in redacted and PASSWORD not in redacted
    assert redacted.startswith('registry said: ') and redacted.endswith(' (HTTP 400)')


@pytest.mark.parametrize('text', [
    'requesting a token from https://auth.example.com/token: HTTP 401 Unauthorized',
    'Basic authentication required',
    'WWW-Authenticate: Bearer realm="https://auth.example.com/token",service="registry"',
    'authorization failed for user alice',
    'the token server of registry.example.com refused the credentials of user alice (HTTP 401)',
    'docker.io/library/busybox:latest@sha256:' + 'a' * 64,
    'auth file /run/user/0/containers/auth.json is not usable: entry "quay.io" is not a JSON object',
])
def test_redact_leaves_ordinary_messages_alone(text: str) -> None:
    assert redact(text, [PASSWORD]) == text


def test_redact_known_secrets_in_plain_escaped_and_base64_forms() -> None:
    secret = 'pa\nss-word'
    text = 'plain %s, escaped %s, basic %s, alone %s' % (
        secret, escape_controls(secret), base64.b64encode(('bob:' + secret).encode()).decode(), base64.b64encode(secret.encode()).decode())
    redacted = redact(text, [secret])
    assert not leaks(redacted, secret) and escape_controls(secret) not in redacted
    assert redacted.startswith('plain %s, escaped %s, basic ' % (REDACTED, REDACTED))


def test_redact_ignores_secrets_too_short_to_replace() -> None:
    assert redact('a basic message', ['a', 'ab']) == 'a basic message'


def test_tokens_and_passwords_put_on_the_wire_are_redacted_when_echoed_bare() -> None:
    token = 'opaque-token-0f1e2d3c4b5a'
    assert parse_token_response(json.dumps({'token': token}).encode(), 'requesting a token')[0] == token
    basic_authorization('bob', 'wire-pa55word')
    echoed = json.dumps({'errors': [{'code': 'DENIED', 'message': 'you are %s with %s' % (token, base64.b64encode(b'bob:wire-pa55word').decode())}]})
    exc = error_from_response(403, 'Forbidden', echoed.encode(), 'reading manifest r.example.com/app:1')
    assert token not in exc.message and not leaks(exc.message, 'wire-pa55word')
    assert exc.message.startswith('reading manifest r.example.com/app:1: DENIED: you are %s with Ym9iO' % REDACTED)


# -- describe: the one formatter -------------------------------------------------------------------------------------


def test_describe_is_one_line_without_ansi_or_secrets() -> None:
    exc = InvalidReferenceError('invalid tag "x\x1b[2J"\nfake line\r\nAuthorization: Basic %s %s' % (BASIC, PASSWORD))
    text = describe(exc, [PASSWORD])
    assert text == 'invalid tag "x\\x1b[2J" fake line Authorization: %s %s' % (REDACTED, REDACTED)
    assert one_line(text)


def test_describe_names_unexpected_exceptions_by_type_on_one_line() -> None:
    assert describe(RuntimeError('a\u2028b\x85c\x9b1m')) == 'RuntimeError: a b c\\x9b1m'
    assert describe(ValueError()) == 'ValueError'


# -- where user input enters messages ------------------------------------------------------------------------------


@pytest.mark.parametrize('value', [
    'docker://user:%s@registry.example.com/repo:t' % PASSWORD,
    'docker://user:%s@localhost:5000/repo:t' % PASSWORD,
    'docker://%s@registry.example.com/repo' % PASSWORD,
])
def test_image_name_with_credentials_is_refused_without_them(value: str) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        parse_image_name(value)
    assert info.value.message.startswith('invalid image name "docker://')
    assert info.value.message.endswith('": credentials cannot be part of the reference ("user:password@" before the registry); '
                                       'use the username and password options or an auth file')
    assert not leaks(info.value.message, PASSWORD)


@pytest.mark.parametrize('value, expected', [
    ('foo\nbar:x', 'invalid image name "foo\\nbar:x": unknown transport "foo\\nbar" '
     '(supported: containers-storage, dir, docker, docker-archive, docker-daemon, oci, oci-archive)'),
    ('\x1b[2J:x', 'invalid image name "\\x1b[2J:x": unknown transport "\\x1b[2J" '
     '(supported: containers-storage, dir, docker, docker-archive, docker-daemon, oci, oci-archive)'),
    ('busy\u2028box', 'invalid image name "busy\\u2028box": expected transport:details, e.g. "docker://busy\\u2028box"'),
])
def test_image_name_controls_are_shown_escaped(value: str, expected: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_image_name(value)
    assert info.value.message == expected


def test_reference_controls_are_shown_escaped() -> None:
    with pytest.raises(InvalidReferenceError) as info:
        parse_image_name('docker://registry.example.com/app:v1\n\x1b[31mFAKE')
    assert info.value.message.startswith('invalid reference "registry.example.com/app:v1\\n\\x1b[31mFAKE": ')
    assert one_line(info.value.message)


def test_registry_echoing_authorization_gives_a_message_without_it() -> None:
    body = json.dumps({'errors': [{'code': 'DENIED', 'message': 'no access for Authorization: Basic %s' % BASIC,
                                   'detail': 'token=%s' % JWT}]}).encode()
    exc = error_from_response(403, 'Forbidden', body, 'reading manifest registry.example.com/app:1')
    assert exc.message == ('reading manifest registry.example.com/app:1: DENIED: no access for Authorization: %s (token=%s) (HTTP 403 Forbidden)'
                           % (REDACTED, REDACTED))


# -- the module glue -------------------------------------------------------------------------------------------------


def run_module(args: dict[str, t.Any], work: t.Callable[[], dict[str, t.Any]], capsys: t.Any, subject: str | None = None) -> dict[str, t.Any]:
    spec = dict(src=dict(type='str'), state=dict(type='str', choices=['present', 'absent'], default='present'),
                password=dict(type='str', no_log=True), username=dict(type='str'))
    with patch_module_args(args), pytest.raises(SystemExit):
        module = OcikitModule(argument_spec=spec)
        module.warn('warned about %s\nsecond line' % module.params['src'])
        run(module, work, subject=subject)
    return json.loads(capsys.readouterr().out)


def test_module_failure_is_one_line_and_redacted(capsys: t.Any) -> None:
    def work() -> dict[str, t.Any]:
        raise AuthenticationError('registry said Basic %s; %s\n\x1b[31mforged line' % (BASIC, base64.b64encode(PASSWORD.encode()).decode()))

    src = 'docker://bob:hidden-too@h.example.com/x\n\x1b[1m'
    result = run_module({'src': src, 'password': PASSWORD, 'username': USER}, work, capsys, subject=src)
    assert result['msg'] == 'docker://bob:%s@h.example.com/x\\n\\x1b[1m: registry said Basic %s; %s \\x1b[31mforged line' % (
        REDACTED, REDACTED, REDACTED)
    # Ansible 2.19 returns warnings as events; older versions as strings.
    warnings = [w['event']['msg'] if isinstance(w, dict) else w for w in result['warnings']]
    assert warnings == ['warned about docker://bob:%s@h.example.com/x \\x1b[1m second line' % REDACTED]
    text = json.dumps(result)
    assert not leaks(text, PASSWORD, 'hidden-too') and BASIC not in text
    assert 'exception' not in result


def test_unexpected_error_traceback_is_redacted(capsys: t.Any) -> None:
    def work() -> dict[str, t.Any]:
        raise RuntimeError('boom with %s and %s' % (PASSWORD, BASIC))

    result = run_module({'src': 'x', 'password': PASSWORD}, work, capsys)
    # Bare base64 of "alice:<password>": the part that encodes the password goes, "alice:" (YWxpY2U6) stays.
    assert result['msg'] == 'unexpected error: RuntimeError: boom with %s and YWxpY2U6%s' % (REDACTED, REDACTED)
    assert not leaks(json.dumps(result), PASSWORD) and BASIC not in json.dumps(result)


def test_partial_failure_keeps_the_result_and_exits_as_a_failure(capsys: t.Any) -> None:
    # image_sync with keep_going: the images that were copied and the ones that failed, and a failed module's exit status.
    def work() -> dict[str, t.Any]:
        return {'changed': True, 'failed': True, 'msg': '1 of 2 images failed; first: x: denied %s\nmore' % PASSWORD,
                'images': [{'src': 'a', 'action': 'copied'}, {'src': 'b', 'action': 'failed'}]}

    with patch_module_args({'src': 'x', 'password': PASSWORD}), pytest.raises(SystemExit) as info:
        run(OcikitModule(argument_spec=dict(src=dict(type='str'), password=dict(type='str', no_log=True))), work)
    assert info.value.code == 1
    result = json.loads(capsys.readouterr().out)
    assert result['failed'] is True and result['changed'] is True
    assert result['msg'] == '1 of 2 images failed; first: x: denied %s more' % REDACTED
    assert [image['action'] for image in result['images']] == ['copied', 'failed']


def test_argument_errors_of_ansible_are_one_line(capsys: t.Any) -> None:
    with patch_module_args({'state': 'pre\nsent\x1b[2J'}), pytest.raises(SystemExit):
        OcikitModule(argument_spec=dict(state=dict(type='str', choices=['present', 'absent'])))
    result = json.loads(capsys.readouterr().out)
    assert result['failed'] is True
    # Whitespace runs become one space (as in every message), other controls are shown escaped.
    assert result['msg'] == 'value of state must be one of: present, absent, got: pre sent\\x1b[2J'


def test_secrets_of_finds_option_secrets_and_userinfo_passwords() -> None:
    params = {'password': 'p1-secret', 'dest_registry_token': 'tok-2', 'src': 'docker://u:from-src@h.io/x', 'registry': 'https://u:reg-pw@h.io/',
              'dest': 'oci:/tmp/a@b/c', 'tags': ['docker://v:in-list@h.io/y'], 'timeout': 5.0, 'username': 'alice',
              # Digests after "@" are not userinfo, with or without a port before the path.
              'image': 'docker://127.0.0.1:5000/app@sha256:' + 'a' * 64, 'other': 'quay.io:443/x:1@sha256:' + 'b' * 64,
              # Nor are containers-storage's stores and image IDs.
              'store': 'containers-storage:[vfs@relative]busybox', 'by_id': 'containers-storage:busybox:1@' + 'c' * 64}
    assert sorted(secrets_of(params)) == ['from-src', 'in-list', 'p1-secret', 'reg-pw', 'tok-2']


def test_a_missing_optional_library_is_named_not_an_unexpected_error(capsys: t.Any) -> None:
    def work() -> dict[str, t.Any]:
        raise ImportError('the Python library zstandard is required to read or write zstd-compressed layers; '
                          'install it with "pip install zstandard"', name='zstandard')

    result = run_module({'src': 'x'}, work, capsys, subject='oci:/tmp/a')
    assert result['msg'] == ('oci:/tmp/a: the Python library zstandard is required to read or write zstd-compressed layers; '
                             'install it with "pip install zstandard"')
    assert result['error_type'] == 'MissingLibraryError'
    assert 'unexpected' not in json.dumps(result)
