# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""AnsibleModule glue: shared argument specs, dependency checks, and the one place errors become failures."""

from __future__ import annotations

import traceback
import typing as t

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.ocikit.images.plugins.module_utils.errors import OcikitError, describe
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions

try:
    import httpx  # noqa: F401  pylint: disable=unused-import
    HTTPX_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - depends on the managed node
    HTTPX_IMPORT_ERROR = traceback.format_exc()

CONNECTION_KEYS = ('username', 'password', 'registry_token', 'authfile', 'tls_verify', 'cert_dir', 'no_creds', 'timeout')

_SECRET_KEYS = ('password', 'registry_token')


def connection_argument_spec() -> dict[str, dict[str, t.Any]]:
    """The unprefixed connection options every module accepts."""
    return dict(
        username=dict(type='str'),
        password=dict(type='str', no_log=True),
        registry_token=dict(type='str', no_log=True),
        authfile=dict(type='path'),
        tls_verify=dict(type='bool', default=True),
        cert_dir=dict(type='path'),
        no_creds=dict(type='bool', default=False),
        timeout=dict(type='float', default=60.0),
    )


def prefixed_connection_argument_spec(prefix: str) -> dict[str, dict[str, t.Any]]:
    """``src_``/``dest_`` options overriding the unprefixed ones for one side (no defaults, so unset means inherit)."""
    spec = {}
    for key, value in connection_argument_spec().items():
        if key == 'timeout':
            continue
        entry = {k: v for k, v in value.items() if k != 'default'}
        spec[prefix + key] = entry
    return spec


def retry_argument_spec() -> dict[str, dict[str, t.Any]]:
    """skopeo's --retry-times/--retry-delay, for the modules that talk to registries."""
    return dict(
        retry_times=dict(type='int', default=3),
        retry_delay=dict(type='float'),
    )


def connection_options(params: t.Mapping[str, t.Any], prefix: str = '') -> ConnectionOptions:
    """Build one side's ConnectionOptions: prefixed values win over unprefixed ones."""
    values: dict[str, t.Any] = {}
    for key in CONNECTION_KEYS:
        value = params.get(prefix + key) if prefix else None
        values[key] = value if value is not None else params.get(key)
    # A side given its own username/password/token should not inherit the other credentials.
    if prefix and any(params.get(prefix + k) is not None for k in ('username', 'password', 'registry_token')):
        for key in ('username', 'password', 'registry_token'):
            values[key] = params.get(prefix + key)
    return ConnectionOptions(
        username=values['username'], password=values['password'], registry_token=values['registry_token'],
        authfile=values['authfile'], tls_verify=bool(values['tls_verify']) if values['tls_verify'] is not None else True,
        cert_dir=values['cert_dir'], no_creds=bool(values['no_creds']),
        timeout=float(values['timeout']) if values['timeout'] is not None else 60.0,
        retry_times=max(0, int(params['retry_times'])) if params.get('retry_times') is not None else 3,
        retry_delay=float(params['retry_delay']) if params.get('retry_delay') is not None else None,
    )


def connection_required_together(prefix: str = '') -> list[list[str]]:
    return [[prefix + 'username', prefix + 'password']]


def connection_mutually_exclusive(prefix: str = '') -> list[list[str]]:
    return [[prefix + 'username', prefix + 'registry_token'], [prefix + 'no_creds', prefix + 'username'],
            [prefix + 'no_creds', prefix + 'registry_token']]


def check_dependencies(module: AnsibleModule, network: bool = True) -> None:
    """Fail with missing_required_lib when a needed Python package is absent on the managed node."""
    if network and HTTPX_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib('httpx'), exception=HTTPX_IMPORT_ERROR)


def redact(text: str, params: t.Mapping[str, t.Any]) -> str:
    """Remove any secret option value from ``text`` (defence in depth; messages should carry none)."""
    for key, value in params.items():
        if isinstance(value, str) and len(value) >= 3 and key.endswith(_SECRET_KEYS):
            text = text.replace(value, '********')
    return text


def run(module: AnsibleModule, work: t.Callable[[], dict[str, t.Any]], subject: str | None = None) -> None:
    """Run ``work`` and exit: its dict as the result, or a one-line failure naming ``subject``.

    Engine errors become ``msg`` without a traceback; anything unexpected is a bug, reported with
    its traceback in ``exception`` (shown by Ansible at -vvv) but still a one-line ``msg``.
    """
    try:
        result = work()
    except OcikitError as exc:
        message = describe(exc)
        if subject and subject not in message:
            message = '%s: %s' % (subject, message)
        module.fail_json(msg=redact(message, module.params), error_type=type(exc).__name__)
    except Exception as exc:  # pylint: disable=broad-except
        message = 'unexpected error: %s' % describe(exc)
        if subject:
            message = '%s: %s' % (subject, message)
        module.fail_json(msg=redact(message, module.params), error_type=type(exc).__name__,
                         exception=redact(traceback.format_exc(), module.params))
    module.exit_json(**result)
