# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""AnsibleModule glue: shared argument specs, dependency checks, and the one place errors become failures."""

from __future__ import annotations

import importlib.util
import re
import sys
import traceback
import typing as t

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.ocikit.images.plugins.module_utils import process
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    QUOTE_LIMIT,
    OcikitError,
    describe,
    escape_controls,
    one_line_message,
    redact_userinfo,
)
from ansible_collections.ocikit.images.plugins.module_utils.errors import USERINFO_HOST
from ansible_collections.ocikit.images.plugins.module_utils.errors import redact as redact_secrets
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions

CONNECTION_KEYS = ('username', 'password', 'registry_token', 'authfile', 'tls_verify', 'cert_dir', 'no_creds', 'timeout', 'daemon_host')

_SECRET_KEYS = ('password', 'registry_token')

# A host (not a digest: "repo@sha256:...") after the "@" of userinfo, then the path or the end.
_HOST_AFTER_AT = USERINFO_HOST + r'(?:/|$)'
# The password of a "scheme://user:password@host" (or the token of "scheme://token@host"), and of a
# "user:password@host/..." in any option value ("oci:/path@x/y" is a path: a password starting with "/" is not seen).
_URL_PASSWORD_RE = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*://(?:[^/\s"\'@:]*:)?([^/\s"\']+)@' + _HOST_AFTER_AT)
_BARE_PASSWORD_RE = re.compile(r'(?:^|[\s"\'])[^\s/"\'@:]+:(?!/)([^\s"\']+)@' + _HOST_AFTER_AT)


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
        daemon_host=dict(type='str'),
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
        daemon_host=values['daemon_host'],
        retry_times=max(0, int(params['retry_times'])) if params.get('retry_times') is not None else 3,
        retry_delay=float(params['retry_delay']) if params.get('retry_delay') is not None else None,
    )


def blob_cache_argument_spec() -> dict[str, dict[str, t.Any]]:
    """``blob_info_cache`` and ``blob_info_cache_path`` (doc fragment ``blob_cache``) of the modules that write to registries."""
    return dict(blob_info_cache=dict(type='bool', default=True), blob_info_cache_path=dict(type='path'))


def blob_cache_path(params: t.Mapping[str, t.Any]) -> str | None:
    """The blob-location record's file the module's parameters ask for; None when no record is to be kept."""
    if not params.get('blob_info_cache', True):
        return None
    # Imported here: only modules that write to registries need it, and only after the arguments were read.
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.blobcache import default_path  # pylint: disable=import-outside-toplevel
    return params.get('blob_info_cache_path') or default_path()


def connection_required_together(prefix: str = '') -> list[list[str]]:
    return [[prefix + 'username', prefix + 'password']]


def connection_mutually_exclusive(prefix: str = '') -> list[list[str]]:
    return [[prefix + 'username', prefix + 'registry_token'], [prefix + 'no_creds', prefix + 'username'],
            [prefix + 'no_creds', prefix + 'registry_token']]


def two_sided_argument_spec() -> dict[str, dict[str, t.Any]]:
    """The connection options of a module that reads from one place and writes to another: unprefixed, ``src_``, ``dest_``, retries."""
    spec = connection_argument_spec()
    spec.update(retry_argument_spec())
    spec.update(prefixed_connection_argument_spec('src_'))
    spec.update(prefixed_connection_argument_spec('dest_'))
    return spec


def two_sided_rules() -> dict[str, list[list[str]]]:
    """``required_together`` and ``mutually_exclusive`` for :func:`two_sided_argument_spec`, as OcikitModule keyword arguments."""
    sides = ('', 'src_', 'dest_')
    return {'required_together': [rule for side in sides for rule in connection_required_together(side)],
            'mutually_exclusive': [rule for side in sides for rule in connection_mutually_exclusive(side)]}


def check_dependencies(module: AnsibleModule, network: bool = True) -> None:
    """Fail with missing_required_lib when a needed Python package is absent on the managed node.

    Asks the import system whether httpx is installed without importing it: the import costs every
    task ~50 ms, and only the code that talks to a registry needs it (transports/docker/client.py
    imports it then, and reports an installed but broken httpx by name).
    """
    if network and importlib.util.find_spec('httpx') is None:
        module.fail_json(msg=missing_required_lib('httpx'))


def secrets_of(params: t.Mapping[str, t.Any] | None) -> list[str]:
    """Every secret the options hold: password and token values, and passwords in userinfo of any value.

    A reference such as ``docker://user:PASS@host/repo`` is refused, but its password must not be
    echoed by the refusal, nor by any message that quotes the option.
    """
    found: list[str] = []
    for key, value in (params or {}).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if not isinstance(item, str):
                continue
            if key.endswith(_SECRET_KEYS):
                found.append(item)
            found.extend(m.group(1) for pattern in (_URL_PASSWORD_RE, _BARE_PASSWORD_RE) for m in pattern.finditer(item))
    return found


def redact(text: str, params: t.Mapping[str, t.Any]) -> str:
    """Remove any secret from ``text``: option values (and their base64 forms), userinfo, echoed credentials.

    Defence in depth; messages should carry none (see errors.redact for what is recognised).
    """
    return redact_secrets(text, secrets_of(params))


def _redact_values(value: t.Any, secrets: list[str]) -> t.Any:
    """``value`` with every string in it redacted (errors.redact), dicts and lists walked."""
    if isinstance(value, str):
        return redact_secrets(value, secrets)
    if isinstance(value, dict):
        return {key: _redact_values(item, secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_values(item, secrets) for item in value]
    return value


# fail_json's own default for ``exception``: take the exception being handled, if any.
_UNSET = object()


def _safe_exception(exception: t.Any, secrets: list[str]) -> t.Any:
    """A redacted traceback string for fail_json's ``exception`` (Ansible would otherwise format the raw one)."""
    if isinstance(exception, BaseException):
        exception = ''.join(traceback.format_exception(type(exception), exception, exception.__traceback__))
    elif exception is _UNSET and sys.exc_info()[1] is not None:
        exception = traceback.format_exc()
    return redact_secrets(exception, secrets) if isinstance(exception, str) else exception


class OcikitModule(AnsibleModule):
    """AnsibleModule whose failures and warnings are one line and carry no secret.

    Ansible's own messages (argument validation: "value of state must be one of ..., got: X")
    quote user input too; every message leaves through here, escaped and redacted.

    In a module's own process it also turns garbage collection back on once the arguments are
    parsed, and spares the exit its last collection (process.py).
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        process.resume()

    def _secrets(self) -> list[str]:
        return secrets_of(getattr(self, 'params', None))

    def _invocation(self, secrets: list[str]) -> dict[str, t.Any]:
        """The ``invocation`` Ansible would return, with userinfo passwords out of the option values (no_log ones Ansible masks)."""
        return {'module_args': _redact_values(getattr(self, 'params', None) or {}, secrets)}

    def exit_json(self, **kwargs: t.Any) -> t.NoReturn:
        kwargs.setdefault('invocation', self._invocation(self._secrets()))
        process.before_exit()
        super().exit_json(**kwargs)

    def fail_json(self, msg: str, *, exception: t.Any = _UNSET, **kwargs: t.Any) -> t.NoReturn:  # type: ignore[override]
        secrets = self._secrets()
        kwargs['msg'] = one_line_message(str(msg), secrets)
        kwargs.setdefault('invocation', self._invocation(secrets))
        exception = _safe_exception(exception, secrets)
        if exception is not _UNSET:
            kwargs['exception'] = exception
        process.before_exit()
        super().fail_json(**kwargs)

    def warn(self, warning: str, *, help_text: str | None = None) -> None:  # type: ignore[override]
        message = one_line_message(str(warning), self._secrets())
        # help_text exists from ansible-core 2.19 on; older versions take the warning alone.
        if help_text is None:
            super().warn(message)
        else:
            super().warn(message, help_text=help_text)  # pylint: disable=unexpected-keyword-arg


def _clip_subject(subject: str) -> str:
    return subject if len(subject) <= 2 * QUOTE_LIMIT else subject[:2 * QUOTE_LIMIT] + '...'


def run(module: AnsibleModule, work: t.Callable[[], dict[str, t.Any]], subject: str | None = None) -> None:
    """Run ``work`` and exit: its dict as the result, or a one-line failure naming ``subject``.

    Engine errors become ``msg`` without a traceback; anything unexpected is a bug, reported with
    its traceback in ``exception`` (shown by Ansible at -vvv) but still a one-line ``msg``. Every
    message is escaped and redacted here (errors.describe), whatever module class ``module`` is.
    """
    secrets = secrets_of(module.params)
    # The subject is user input (a reference, a registry): shown with its controls escaped, without
    # userinfo, and clipped (a megabyte of reference must not make a megabyte of message).
    shown = escape_controls(redact_userinfo(_clip_subject(subject))) if subject else None
    failure: tuple[str, str] | None = None
    try:
        result = work()
    except OcikitError as exc:
        message = describe(exc, secrets)
        if shown and shown not in message:
            message = '%s: %s' % (shown, message)
        failure = (message, type(exc).__name__)
    except ImportError as exc:
        # An optional library a feature needs (zstandard, PyNaCl, python-gnupg, PyYAML) is missing
        # on this host: the engine's message names it and says how to install it. Not a bug, so
        # no "unexpected error"; the traceback still goes to ``exception`` for -vvv.
        message = str(exc) if str(exc) else 'a required Python library is missing: %s' % (exc.name or 'unknown')
        if shown:
            message = '%s: %s' % (shown, message)
        module.fail_json(msg=one_line_message(message, secrets), error_type='MissingLibraryError',
                         exception=redact_secrets(traceback.format_exc(), secrets))
    except Exception as exc:  # pylint: disable=broad-except
        message = 'unexpected error: %s' % describe(exc, secrets)
        if shown:
            message = '%s: %s' % (shown, message)
        module.fail_json(msg=one_line_message(message, secrets), error_type=type(exc).__name__,
                         exception=redact_secrets(traceback.format_exc(), secrets))
    if failure is not None:
        # Outside the except block: no traceback for an engine error (the message says it all, and
        # Ansible would otherwise attach the raw exception, unredacted on a plain AnsibleModule).
        module.fail_json(msg=one_line_message(failure[0], secrets), error_type=failure[1])
    if result.get('failed'):
        # A partial failure (image_sync with keep_going: some images failed, the others were copied):
        # the whole result, and the exit status of a failed module, as Ansible's fail_json gives it.
        rest = {key: value for key, value in result.items() if key not in ('failed', 'msg')}
        module.fail_json(msg=str(result.get('msg') or 'failed'), **rest)
    module.exit_json(**result)
