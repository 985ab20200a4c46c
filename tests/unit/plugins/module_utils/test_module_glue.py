# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for module.py: connection options per side, and keeping secrets out of output."""

from __future__ import annotations

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.module import (
    CONNECTION_KEYS,
    connection_argument_spec,
    connection_options,
    prefixed_connection_argument_spec,
    redact,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions

SECRET = 'hunter2-secret'
TOKEN = 'tok-abcdef-123456'


def params(**values):
    """Module params as AnsibleModule hands them over: every option present, unset ones None, defaults applied."""
    result = {key: None for key in connection_argument_spec()}
    result.update({'tls_verify': True, 'no_creds': False, 'timeout': 60.0})
    for prefix in ('src_', 'dest_'):
        result.update({key: None for key in prefixed_connection_argument_spec(prefix)})
    result.update(values)
    return result


def test_unprefixed_defaults():
    options = connection_options(params())
    assert options == ConnectionOptions()


def test_unprefixed_values():
    options = connection_options(params(username='u', password='p', authfile='/a', tls_verify=False, cert_dir='/c', timeout=5))
    assert (options.username, options.password, options.authfile, options.tls_verify, options.cert_dir, options.timeout) == \
        ('u', 'p', '/a', False, '/c', 5.0)
    assert isinstance(options.timeout, float)


@pytest.mark.parametrize('values, prefix, field, expected', [
    # Unset prefixed options inherit.
    ({'authfile': '/auth.json'}, 'dest_', 'authfile', '/auth.json'),
    ({'cert_dir': '/certs'}, 'src_', 'cert_dir', '/certs'),
    ({'tls_verify': False}, 'dest_', 'tls_verify', False),
    # Set prefixed options win, including a false value over a true one.
    ({'authfile': '/auth.json', 'dest_authfile': '/dest.json'}, 'dest_', 'authfile', '/dest.json'),
    ({'authfile': '/auth.json', 'dest_authfile': '/dest.json'}, 'src_', 'authfile', '/auth.json'),
    ({'tls_verify': True, 'src_tls_verify': False}, 'src_', 'tls_verify', False),
    ({'tls_verify': False, 'src_tls_verify': True}, 'src_', 'tls_verify', True),
    ({'tls_verify': False, 'src_tls_verify': True}, 'dest_', 'tls_verify', False),
    ({'no_creds': False, 'src_no_creds': True}, 'src_', 'no_creds', True),
    ({'no_creds': True, 'src_no_creds': False}, 'src_', 'no_creds', False),
    ({'cert_dir': '/certs', 'dest_cert_dir': '/dest-certs'}, 'dest_', 'cert_dir', '/dest-certs'),
    # The prefix only applies when asked for.
    ({'authfile': '/auth.json', 'dest_authfile': '/dest.json'}, '', 'authfile', '/auth.json'),
    # There is no prefixed timeout: both sides share it.
    ({'timeout': 12}, 'dest_', 'timeout', 12.0),
])
def test_prefixed_options_override(values, prefix, field, expected):
    assert getattr(connection_options(params(**values), prefix), field) == expected


@pytest.mark.parametrize('values, prefix, expected', [
    # No side-specific credentials: both sides inherit the shared ones.
    ({'username': 'u', 'password': 'p'}, 'src_', ('u', 'p', None)),
    ({'username': 'u', 'password': 'p'}, 'dest_', ('u', 'p', None)),
    # Side-specific credentials replace the shared ones as a whole, never merge with them.
    ({'username': 'u', 'password': 'p', 'dest_registry_token': 't'}, 'dest_', (None, None, 't')),
    ({'username': 'u', 'password': 'p', 'dest_registry_token': 't'}, 'src_', ('u', 'p', None)),
    ({'registry_token': 't', 'src_username': 'su', 'src_password': 'sp'}, 'src_', ('su', 'sp', None)),
    ({'registry_token': 't', 'src_username': 'su', 'src_password': 'sp'}, 'dest_', (None, None, 't')),
    ({'username': 'u', 'password': 'p', 'dest_username': 'du', 'dest_password': 'dp'}, 'dest_', ('du', 'dp', None)),
    # Even a lone prefixed username does not borrow the shared password.
    ({'username': 'u', 'password': 'p', 'dest_username': 'du'}, 'dest_', ('du', None, None)),
    ({'username': 'u', 'password': 'p', 'dest_password': 'dp'}, 'dest_', (None, 'dp', None)),
])
def test_prefixed_credentials_replace(values, prefix, expected):
    options = connection_options(params(**values), prefix)
    assert (options.username, options.password, options.registry_token) == expected


def test_prefixed_argument_spec():
    spec = prefixed_connection_argument_spec('dest_')
    base = connection_argument_spec()
    assert sorted(spec) == sorted('dest_' + key for key in base if key != 'timeout')
    for key, entry in spec.items():
        # No defaults, so that "unset" can mean "inherit".
        assert 'default' not in entry
        assert entry['type'] == base[key[len('dest_'):]]['type']
    assert spec['dest_password']['no_log'] is True
    assert spec['dest_registry_token']['no_log'] is True
    assert base['tls_verify']['default'] is True
    assert set(CONNECTION_KEYS) == set(base)


@pytest.mark.parametrize('render', [repr, str, '{0!r}'.format, '{0}'.format, lambda o: '%r' % (o,)])
def test_connection_options_repr_hides_secrets(render):
    options = ConnectionOptions(username='alice', password=SECRET, registry_token=TOKEN)
    text = render(options)
    assert SECRET not in text
    assert TOKEN not in text
    assert "password='********'" in text
    assert "registry_token='********'" in text
    assert "username='alice'" in text


def test_connection_options_repr_without_secrets():
    text = repr(ConnectionOptions())
    assert 'password=None' in text
    assert 'registry_token=None' in text
    assert '********' not in text


@pytest.mark.parametrize('key', ['password', 'registry_token', 'src_password', 'dest_password', 'src_registry_token', 'dest_registry_token'])
def test_redact_removes_secret_values(key):
    text = 'failed for %s at registry: bad credentials %s' % (SECRET, SECRET)
    assert redact(text, {key: SECRET, 'username': 'alice'}) == 'failed for ******** at registry: bad credentials ********'


def test_redact_keeps_other_values():
    values = {'username': 'alice', 'authfile': '/auth.json', 'password': SECRET, 'registry_token': None, 'timeout': 5.0}
    text = 'alice /auth.json %s 5.0' % SECRET
    assert redact(text, values) == 'alice /auth.json ******** 5.0'


def test_redact_all_secrets_at_once():
    values = params(password=SECRET, dest_registry_token=TOKEN, src_password='other-secret')
    text = '%s|%s|%s' % (SECRET, TOKEN, 'other-secret')
    assert redact(text, values) == '********|********|********'


def test_redact_ignores_very_short_values():
    # Replacing 'a' or 'ab' everywhere would make messages unreadable without protecting anything.
    assert redact('a basic message', {'password': 'a'}) == 'a basic message'
    assert redact('nothing to hide', {'password': SECRET}) == 'nothing to hide'


@pytest.mark.parametrize('params, times, delay', [
    ({}, 3, None),
    ({'retry_times': 0}, 0, None),
    ({'retry_times': 7, 'retry_delay': 0.25}, 7, 0.25),
    ({'retry_times': -2}, 0, None),
])
def test_retry_options_reach_both_sides(params, times, delay):
    for prefix in ('', 'src_', 'dest_'):
        options = connection_options(params, prefix)
        assert (options.retry_times, options.retry_delay) == (times, delay)
