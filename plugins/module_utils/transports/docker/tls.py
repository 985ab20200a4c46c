# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""TLS settings for one registry, read from a certs.d directory as containers/image does.

A certificate directory holds:

* ``*.crt``: extra certificate authorities, trusted in addition to the system's;
* ``*.cert`` with a ``*.key`` of the same base name: a client certificate and its key (an
  SSLContext holds one, so with several pairs the last in name order is used).

The directory is ``cert_dir`` when the user gives one; otherwise every one of
``$HOME/.config/containers/certs.d/HOST[:PORT]``, ``/etc/containers/certs.d/HOST[:PORT]`` and
``/etc/docker/certs.d/HOST[:PORT]`` that exists. The same context serves the registry and its token
server, so a token is never fetched with weaker TLS than the registry gets (CVE-2019-10214).

A process builds one context per set of settings (verification on or off, and the certificate
files, by name, size and modification time), so a copy's source and destination clients on one
registry share it. The system CAs come from OpenSSL's hashed directory alone where it holds the
whole bundle (:func:`_load_system_trust`): parsing the bundle cost every registry task ~17 ms.
"""

from __future__ import annotations

import os
import re
import ssl
import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions

#: Where per-registry directories are looked up when no ``cert_dir`` is given (tests replace it).
SYSTEM_CERT_ROOTS: tuple[str, ...] = ('/etc/containers/certs.d', '/etc/docker/certs.d')

# The contexts built so far, by _settings_key; an SSLContext is shared safely by clients and threads.
_CONTEXTS: dict[t.Hashable, ssl.SSLContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def _user_cert_root() -> str | None:
    home = os.environ.get('HOME')
    return os.path.join(home, '.config', 'containers', 'certs.d') if home else None


def cert_dirs(registry_host: str, options: 'ConnectionOptions') -> list[str]:
    """The certificate directories that apply to ``registry_host`` (``host[:port]``), in load order."""
    if options.cert_dir:
        if not os.path.isdir(options.cert_dir):
            raise ConfigError('cert_dir %s is not a directory' % options.cert_dir)
        return [options.cert_dir]
    roots = [root for root in (_user_cert_root(),) + SYSTEM_CERT_ROOTS if root]
    # A registry name is validated before it gets here; refuse anything path-like all the same.
    if not registry_host or '/' in registry_host or registry_host in ('.', '..'):
        return []
    return [os.path.join(root, registry_host) for root in roots if os.path.isdir(os.path.join(root, registry_host))]


def _load_directory(context: ssl.SSLContext, directory: str, trust: bool) -> None:
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise ConfigError('cannot read certificate directory %s: %s' % (directory, exc.strerror or exc)) from exc
    for name in names:
        path = os.path.join(directory, name)
        if name.endswith('.crt') and trust:
            try:
                context.load_verify_locations(cafile=path)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError('cannot load CA certificate %s: %s' % (path, _reason(exc))) from exc
        elif name.endswith('.cert'):
            key = path[:-len('.cert')] + '.key'
            if not os.path.isfile(key):
                raise ConfigError('client certificate %s has no key %s' % (path, os.path.basename(key)))
            try:
                context.load_cert_chain(certfile=path, keyfile=key)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError('cannot load client certificate %s with key %s: %s' % (path, os.path.basename(key), _reason(exc))) from exc
        elif name.endswith('.key'):
            cert = path[:-len('.key')] + '.cert'
            if not os.path.isfile(cert):
                raise ConfigError('client key %s has no certificate %s' % (path, os.path.basename(cert)))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _load_system_trust(context: ssl.SSLContext) -> None:
    """Trust the system CAs: OpenSSL's default bundle and hashed directory (or ``SSL_CERT_FILE``/``SSL_CERT_DIR``).

    Loading the bundle parses every certificate in it before the first request (~17 ms for
    Debian's 144, on every task); the hashed directory costs nothing until a handshake looks an
    issuer up in it, one file at a time. Where every certificate of the bundle is also in the
    directory under a hashed name (what ``update-ca-certificates`` and ``c_rehash`` make), the
    directory alone trusts exactly what both do, and only it is given to OpenSSL
    (:func:`bundle_in_directory`); otherwise (a bundle extended by hand, a directory without hashed
    names as on Fedora, no directory) both are loaded as before.
    """
    paths = ssl.get_default_verify_paths()
    if paths.cafile and paths.capath and bundle_in_directory(paths.cafile, paths.capath):
        context.load_verify_locations(capath=paths.capath)
        return
    context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if context.cert_store_stats().get('x509_ca', 0):
        return
    # Minimal images (some execution environments) ship no system bundle; certifi, which httpx
    # depends on, is then the best stand-in for "the system CAs".
    try:
        import certifi  # pylint: disable=import-outside-toplevel
    except ImportError:  # pragma: no cover - httpx always brings certifi
        return
    context.load_verify_locations(cafile=certifi.where())


def bundle_in_directory(bundle: str, directory: str) -> bool:
    """Whether every certificate of the PEM file ``bundle`` is in a hashed-name file of ``directory``.

    Hashed names are OpenSSL's lookup names, ``<8 hex digits>.<n>``, read as OpenSSL reads them
    (``.0``, ``.1``, ... up to the first missing one); certificates are compared by their PEM text.
    False, so that the caller loads the bundle as well, for anything else: a bundle with no
    certificate or with other PEM blocks (``TRUSTED CERTIFICATE``, a CRL), a file that cannot be
    read. ~2.5 ms for Debian's 144 certificates (most of it opening their files), against ~17 ms for
    OpenSSL to parse the bundle.
    """
    try:
        indices: dict[str, set[int]] = {}
        with os.scandir(directory) as entries:
            for entry in entries:
                if _HASHED_NAME.fullmatch(entry.name):
                    subject_hash, index = entry.name.split('.')
                    indices.setdefault(subject_hash, set()).add(int(index))
        if not indices:
            return False
        with open(bundle, 'rb') as handle:
            wanted = _pem_certificates(handle.read())
        if not wanted:
            return False
        present: set[bytes] = set()
        for subject_hash, found in indices.items():
            # OpenSSL tries <hash>.0, <hash>.1, ... and stops at the first it cannot read.
            index = 0
            while index in found:
                try:
                    with open(os.path.join(directory, '%s.%d' % (subject_hash, index)), 'rb') as handle:
                        present.update(_pem_certificates(handle.read()) or ())
                except OSError:
                    break
                index += 1
        return wanted <= present
    except OSError:
        return False


#: OpenSSL's hashed directory names for certificates (``<subject hash>.<n>``; CRLs are ``.r<n>``).
_HASHED_NAME = re.compile(r'[0-9a-f]{8}\.[0-9]+')
_BEGIN = b'-----BEGIN '
_END_CERTIFICATE = b'-----END CERTIFICATE-----'
_WHITESPACE = b' \t\r\n'


def _pem_certificates(text: bytes) -> set[bytes] | None:
    """The base64 text (whitespace removed) of every ``CERTIFICATE`` block of ``text``; None if it holds any other block.

    Equal text is equal DER. The same DER written differently (non-canonical base64) compares
    unequal, which only makes the caller load the bundle too. Searching beats a regular expression
    and decoding five-fold (0.5 ms for Debian's bundle).
    """
    found = set()
    position = 0
    while True:
        start = text.find(_BEGIN, position)
        if start < 0:
            return found
        label_end = text.find(b'-----', start + len(_BEGIN))
        end = text.find(b'-----END ', label_end)
        if label_end < 0 or end < 0 or text[start + len(_BEGIN):label_end] != b'CERTIFICATE' or not text.startswith(_END_CERTIFICATE, end):
            return None
        found.add(text[label_end + 5:end].translate(None, _WHITESPACE))
        position = end + len(_END_CERTIFICATE)


def ssl_context(registry_host: str, options: 'ConnectionOptions') -> ssl.SSLContext:
    """Build the SSLContext for ``registry_host`` (``host[:port]``, as in the image reference).

    With ``tls_verify`` the system CAs and every ``*.crt`` of the certificate directories are
    trusted; without it nothing is verified. Client certificates (``*.cert`` + ``*.key``) are used
    either way. Raises ConfigError for an unreadable directory or an unpaired certificate or key.
    A context built earlier in this process from the same settings is returned again.
    """
    directories = cert_dirs(registry_host, options)
    key = _settings_key(bool(options.tls_verify), directories)
    with _CONTEXTS_LOCK:
        context = _CONTEXTS.get(key) if key is not None else None
        if context is None:
            context = _build_context(bool(options.tls_verify), directories)
            if key is not None:
                _CONTEXTS[key] = context
    return context


def _settings_key(tls_verify: bool, directories: list[str]) -> t.Hashable | None:
    """What a context is built from: the verification flag and each certificate file's name, size and mtime (None: unreadable, not cached)."""
    files = []
    try:
        for directory in directories:
            for name in sorted(os.listdir(directory)):
                if name.endswith(('.crt', '.cert', '.key')):
                    info = os.stat(os.path.join(directory, name))
                    files.append((directory, name, info.st_size, info.st_mtime_ns, info.st_ino))
    except OSError:
        return None
    return (tls_verify, tuple(directories), tuple(files))


def _build_context(tls_verify: bool, directories: list[str]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls_verify:
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = True
        _load_system_trust(context)
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    for directory in directories:
        _load_directory(context, directory, trust=tls_verify)
    return context
