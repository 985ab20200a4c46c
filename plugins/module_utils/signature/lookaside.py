# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Signature storage beside registries: the lookaside ("sigstore" directory) and the sigstore attachment tag name.

Where each kind of signature lives, as containers/image (skopeo, podman) keeps them, so that
signatures written by either tool are found by the other:

* **Registry images, simple signing (GPG)**: a *lookaside* store named by registries.d
  (:mod:`...config.registries_d`), a ``file://`` directory or an ``http(s)://`` server. Signature
  ``N`` (from 1) of the manifest with digest ``algo:hex`` of repository ``host/path`` is at
  ``<base>/<path>@<algo>=<hex>/signature-<N>``: the registry host is *not* part of it
  (``reference.Path``), the digest separator is ``=``, and the key is always the manifest digest,
  never a tag (containers/image ``docker/registries_d.go lookasideStorageURL`` and
  ``docs/signature-protocols.md``). The content is the signature blob as is (binary OpenPGP).
  Reading (:func:`read_signatures`) walks ``N = 1, 2, ...`` until one is missing (ENOENT, or
  HTTP 404); 128 signatures without an end is taken for a server error, as in containers/image;
  each is at most 4 MiB. A ``text/html`` Content-Type only warns (the blob check catches HTML).
  Writing (:func:`write_signatures`) is for ``file://`` only — an ``http(s)`` lookaside is
  written through a ``lookaside-staging`` directory that something else publishes — and writes
  ``signature-1..k``, then deletes ``signature-(k+1)...`` until one is missing, so a shorter list
  replaces a longer one. Each file is written to a temporary name, fsynced and renamed: a reader
  never sees half a signature. :func:`delete_signatures` removes them all (``skopeo delete``).
  Since containers/image 5.36 only non-sigstore signatures go to the lookaside; choosing them is
  the caller's work (the blobs handed in are written as they are).
* **Registry images, sigstore (cosign)**: when registries.d sets ``use-sigstore-attachments``, an
  OCI manifest in the same repository under the tag :func:`sigstore_attachment_tag`
  (``sha256-<hex>.sig``), one layer per signature. Only the tag name is here; reading and writing
  that manifest belongs to the attachment code.
* **``dir:`` images**: both kinds as ``signature-N`` files beside ``manifest.json`` (and
  ``<hex>.signature-N`` for manifest-list members), handled by ``transports/dir``; sigstore ones in
  the ``"\\x00sigstore-json\\n"`` envelope.

HTTP goes through the client the caller gives (an ``httpx.Client`` or anything with the same
``stream(method, url, follow_redirects=...)``), configured with the registry's TLS settings, as
containers/image uses the registry's HTTP client; no registry credentials are sent. Tests use
``httpx.MockTransport``.
"""

from __future__ import annotations

import functools
import os
import typing as t
import urllib.parse

from ansible_collections.ocikit.images.plugins.module_utils.config.registries_d import LookasideBase
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    LayoutError,
    PolicyError,
    SignatureError,
    quote,
)
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import (
    create_temp_file,
    fsync_dir,
    read_document,
    sweep_stale_temps,
    unlink_quietly,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.errors_map import error_from_response, transport_error

# None without httpx: only an http(s) lookaside needs it.
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.httpx_import import httpx

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.reference import DockerReference

#: A lookaside that has not ended after this many signatures is broken (containers/image ``maxLookasideSignatures``).
MAX_SIGNATURES = 128
#: Bytes of one signature (containers/image ``iolimits.MaxSignatureBodySize``).
MAX_SIGNATURE_SIZE = 4 * 1024 * 1024
#: Bytes of an HTTP error answer kept for the message.
MAX_ERROR_BODY = 64 * 1024
#: Prefix of the temporary files :func:`write_signatures` renames into place.
TEMP_PREFIX = '.tmp-signature-'

Warn = t.Callable[[str], None]


def sigstore_attachment_tag(digest: 'Digest | str') -> str:
    """The tag holding the sigstore attachments of the manifest ``digest``: ``sha256-<hex>.sig``.

    containers/image ``sigstoreAttachmentTag``: the digest with its first ``:`` replaced by ``-``,
    plus ``.sig`` (cosign's convention), in the image's own repository.
    """
    parsed = Digest.parse(digest)
    return '%s-%s.sig' % (parsed.algorithm, parsed.hex)


def _digest_dir_name(ref: 'DockerReference', digest: 'Digest | str') -> str:
    """``<path>@<algo>=<hex>``, the part of a signature's location after the base."""
    parsed = Digest.parse(digest)
    # DockerReference validated the path (lowercase components separated by "/", no "." or ".."),
    # so it cannot climb out of the base.
    return '%s@%s=%s' % (ref.path, parsed.algorithm, parsed.hex)


def signature_url(base: LookasideBase, ref: 'DockerReference', digest: 'Digest | str', number: int) -> str:
    """The URL of signature ``number`` (from 1) of ``digest`` in repository ``ref`` under ``base``.

    The query of the base, if any, is kept, as Go's ``url.URL`` does when only the path changes.
    """
    parts = urllib.parse.urlsplit(base.url)
    # Go appends "/" + path without looking: a base ending in "/" gives "//", and the same URL must be asked for.
    path = '%s/%s/signature-%d' % (parts.path, _digest_dir_name(ref, digest), number)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def signature_dir(base: LookasideBase, ref: 'DockerReference', digest: 'Digest | str') -> str:
    """The local directory holding the signatures of ``digest`` under a ``file://`` ``base``."""
    _require_file(base, 'reading')
    return os.path.join(base.path, *_digest_dir_name(ref, digest).split('/'))


def signature_file(base: LookasideBase, ref: 'DockerReference', digest: 'Digest | str', number: int) -> str:
    """The local path of signature ``number`` (from 1) under a ``file://`` ``base``."""
    return os.path.join(signature_dir(base, ref, digest), 'signature-%d' % number)


def _require_file(base: LookasideBase, action: str) -> None:
    """PolicyError unless ``base`` is a local (``file://``) lookaside; ``action`` is "writing", "deleting"..."""
    scheme = base.scheme
    if scheme in ('http', 'https'):
        raise PolicyError('%s signatures directly in the %s lookaside %s (%s) is not supported; configure a lookaside-staging '
                          '(a file:// directory that is published to that server) in registries.d'
                          % (action, scheme, quote(base.url), base.origin))
    if scheme != 'file':
        raise PolicyError('the lookaside %s (%s) has the unsupported scheme %s; use file://, http:// or https://'
                          % (quote(base.url), base.origin, quote(scheme)))


# -- reading ---------------------------------------------------------------------------------------

def read_signatures(base: LookasideBase, ref: 'DockerReference', digest: 'Digest | str', client: t.Any = None,
                    warn: Warn | None = None) -> list[bytes]:
    """The signatures of ``digest`` in the lookaside ``base``, in order (``[]`` when there are none).

    ``client`` (an ``httpx.Client``) is needed for an ``http(s)`` base only; ``warn`` receives
    warnings (a ``text/html`` answer). Errors: SignatureError for a signature over 4 MiB or a store
    that does not end; LayoutError for a local file that cannot be read; for HTTP, the typed
    registry errors (ServerError, AccessDeniedError, ...) and ConnectionFailedError/TLSError.
    """
    scheme = base.scheme
    fetch: t.Callable[[int], 'bytes | None']
    if scheme == 'file':
        fetch = functools.partial(_read_file, base, ref, digest)
    elif scheme in ('http', 'https'):
        if client is None or httpx is None:
            raise PolicyError('the lookaside %s (%s) needs an HTTP client (httpx) to be read' % (quote(base.url), base.origin))
        fetch = functools.partial(_read_http, client, base, ref, digest, warn)
    else:
        raise PolicyError('the lookaside %s (%s) has the unsupported scheme %s; use file://, http:// or https://'
                          % (quote(base.url), base.origin, quote(scheme)))
    signatures: list[bytes] = []
    for number in range(1, MAX_SIGNATURES + 1):
        data = fetch(number)
        if data is None:
            return signatures
        signatures.append(data)
    raise SignatureError('the lookaside %s provided %d signatures for %s@%s without an end; assuming a broken server or store'
                         % (quote(base.url), MAX_SIGNATURES, ref.name, Digest.parse(digest)))


def _read_file(base: LookasideBase, ref: 'DockerReference', digest: 'Digest | str', number: int) -> bytes | None:
    path = signature_file(base, ref, digest, number)
    try:
        return read_document(path, MAX_SIGNATURE_SIZE, LayoutError, 'signature file %s' % quote(path), too_large=SignatureError)
    except FileNotFoundError:
        return None


def _read_http(client: t.Any, base: LookasideBase, ref: 'DockerReference', digest: 'Digest | str', warn: Warn | None,
               number: int) -> bytes | None:
    """Signature ``number`` from an http(s) lookaside; None on 404 (the end of the list)."""
    url = signature_url(base, ref, digest, number)
    what = 'signature %s' % quote(url)
    host = urllib.parse.urlsplit(url).netloc.rpartition('@')[2]
    try:
        with client.stream('GET', url, follow_redirects=True) as response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                body = _read_limited(response, MAX_ERROR_BODY, what, truncate=True)
                raise error_from_response(response.status_code, response.reason_phrase, body, 'reading %s' % what)
            content_type = response.headers.get('content-type', '')
            if warn is not None and content_type.split(';', 1)[0].strip().lower() == 'text/html':
                warn('%s has Content-Type %s, unexpected for a signature' % (what, quote(content_type)))
            return _read_limited(response, MAX_SIGNATURE_SIZE, what)
    except httpx.TransportError as exc:
        raise transport_error(exc, host) from None


def _read_limited(response: t.Any, limit: int, what: str, truncate: bool = False) -> bytes:
    """At most ``limit`` bytes of ``response``'s body; beyond, SignatureError (or the first ``limit`` bytes with ``truncate``)."""
    length = response.headers.get('content-length', '')
    if not truncate and length.isdigit() and int(length) > limit:
        raise SignatureError('%s is %s bytes, more than the %d byte limit' % (what, length, limit))
    parts = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > limit:
            if truncate:
                parts.append(chunk[:len(chunk) - (total - limit)])
                break
            raise SignatureError('%s exceeds the %d byte limit' % (what, limit))
        parts.append(chunk)
    return b''.join(parts)


# -- writing and deleting --------------------------------------------------------------------------

def write_signatures(base: LookasideBase, ref: 'DockerReference', digest: 'Digest | str', signatures: t.Sequence[bytes]) -> None:
    """Make ``signatures`` the signatures of ``digest`` in the ``file://`` lookaside ``base`` (usually the write base).

    Creates the directories as needed (``mkdir -p``), writes ``signature-1..k`` atomically (temp
    file, fsync, rename), then deletes ``signature-(k+1)...`` until one is missing. An ``http(s)``
    base is a PolicyError asking for a ``lookaside-staging``; local failures are LayoutError.
    """
    _require_file(base, 'writing')
    if len(signatures) >= MAX_SIGNATURES:
        # containers/image could not read them back.
        raise SignatureError('%d signatures for one image are more than a lookaside can hold (at most %d)'
                             % (len(signatures), MAX_SIGNATURES - 1))
    directory = signature_dir(base, ref, digest)
    try:
        os.makedirs(directory, 0o755, exist_ok=True)
    except OSError as exc:
        raise LayoutError('cannot create the lookaside directory %s: %s' % (quote(directory), exc.strerror or type(exc).__name__)) from None
    # Temporary files of a writer that was killed (none held by a live one; see fsutil.sweep_stale_temps).
    sweep_stale_temps(directory, lambda name: name.startswith(TEMP_PREFIX))
    for number, data in enumerate(signatures, start=1):
        _write_atomically(directory, 'signature-%d' % number, bytes(data))
    _delete_from(directory, len(signatures) + 1)
    fsync_dir(directory)


def _write_atomically(directory: str, name: str, data: bytes) -> None:
    temp_path, handle = create_temp_file(directory, TEMP_PREFIX, 'signature')
    target = os.path.join(directory, name)
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_path, target)
    except OSError as exc:
        unlink_quietly(temp_path)
        raise LayoutError('cannot write the signature %s: %s' % (quote(target), exc.strerror or type(exc).__name__)) from None
    except BaseException:
        unlink_quietly(temp_path)
        raise


def _delete_from(directory: str, first: int) -> int:
    """Delete ``signature-<first>``, ``signature-<first+1>``... until one is missing; return how many went."""
    deleted = 0
    number = first
    while True:
        path = os.path.join(directory, 'signature-%d' % number)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return deleted
        except OSError as exc:
            raise LayoutError('cannot delete the signature %s: %s' % (quote(path), exc.strerror or type(exc).__name__)) from None
        deleted += 1
        number += 1


def count_signatures(base: LookasideBase, ref: 'DockerReference', digest: 'Digest | str') -> int:
    """How many signatures of ``digest`` the ``file://`` lookaside ``base`` holds (``signature-1``... until one is missing).

    What :func:`delete_signatures` would delete, for check mode; nothing is read but the names.
    """
    _require_file(base, 'deleting')
    directory = signature_dir(base, ref, digest)
    number = 1
    while os.path.lexists(os.path.join(directory, 'signature-%d' % number)):
        number += 1
    return number - 1


def delete_signatures(base: LookasideBase, ref: 'DockerReference', digest: 'Digest | str') -> int:
    """Delete every signature of ``digest`` from the ``file://`` lookaside ``base``; return how many there were.

    As ``skopeo delete``: ``signature-1``, ``signature-2``... until one is missing, in the *write*
    base (``RegistriesConfig.lookaside_base(ref, write=True)``, the staging directory when one is
    configured). An ``http(s)`` base is a PolicyError (nothing can be deleted there); a missing
    directory means none.
    """
    _require_file(base, 'deleting')
    directory = signature_dir(base, ref, digest)
    if not os.path.isdir(directory):
        return 0
    deleted = _delete_from(directory, 1)
    fsync_dir(directory)
    return deleted
