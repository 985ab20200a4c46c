# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading an image from a ``dir:`` directory (containers/image's ``directory/directory_src.go``).

The files of a dir image, named as containers/image names them:

    version                  ``Directory Transport Version: 1.1`` and a newline
    manifest.json            the manifest the directory holds (an image manifest or an index)
    <hex>.manifest.json      a child manifest of that index, named by its digest
    <hex>                    a blob (config or layer), named by its digest
    signature-<n>            signatures of manifest.json, numbered from 1
    <hex>.signature-<n>      signatures of a child manifest

``<hex>`` is the hex part of the digest without the algorithm, for every algorithm (containers/
image uses ``Digest.Encoded()``): a sha512 blob is a 128-character name. The hex lengths of the
algorithms differ, so names of different algorithms never collide. Digests are validated before
they become names, so a name can never hold a path separator.

The directory records no media type: ``get_manifest`` returns None and the engine reads the
manifest's own ``mediaType`` (or tells the format by its fields). Only the top manifest has no
digest to be checked against; child manifests and blobs are verified.

This module also holds the naming rules the destination shares.
"""

from __future__ import annotations

import contextlib
import os
import re
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import CHUNK_SIZE, Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    BlobNotFoundError,
    ImageNotFoundError,
    LayoutError,
    ManifestTooLargeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import open_regular, read_document
from ansible_collections.ocikit.images.plugins.module_utils.manifest.media_types import MAX_MANIFEST_SIZE
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ImageSource

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.dir.transport import DirReference

VERSION_FILE = 'version'
VERSION_TEXT = 'Directory Transport Version: 1.1\n'
MANIFEST_FILE = 'manifest.json'
#: The version file is one short line; anything much longer is not ours.
MAX_VERSION_SIZE = 1024

# 1.x is the format this code reads and writes; a later major version may name files differently.
_VERSION_RE = re.compile(r'Directory Transport Version: 1\.[0-9]+\n?\Z')
_SIGNATURE_RE = re.compile(r'(?:([a-f0-9]{64}|[a-f0-9]{96}|[a-f0-9]{128})\.)?signature-([1-9][0-9]*)\Z')


# -- names -----------------------------------------------------------------------------------------

def blob_path(directory: str, digest: Digest) -> str:
    """``<directory>/<hex>``; safe because Digest validated the hex part."""
    return os.path.join(directory, digest.hex)


def manifest_path(directory: str, instance_digest: Digest | None = None) -> str:
    """``manifest.json``, or ``<hex>.manifest.json`` for a child manifest of an index."""
    if instance_digest is None:
        return os.path.join(directory, MANIFEST_FILE)
    return os.path.join(directory, '%s.%s' % (instance_digest.hex, MANIFEST_FILE))


def parse_signature_name(name: str) -> tuple[str | None, int] | None:
    """``(hex of the child manifest or None for manifest.json, number)`` for a signature file name, else None."""
    match = _SIGNATURE_RE.match(name)
    if not match:
        return None
    return match.group(1), int(match.group(2))


def signature_names(directory: str) -> list[str]:
    """Names of the signature files in ``directory``, sorted; [] when it cannot be listed."""
    try:
        entries = os.listdir(directory)
    except OSError:
        return []
    return sorted(name for name in entries if parse_signature_name(name) is not None)


# -- small files -----------------------------------------------------------------------------------

def read_small_file(path: str, limit: int, what: str, within: str | None = None) -> bytes:
    """Read a regular file of at most ``limit`` bytes (ManifestTooLargeError beyond).

    FileNotFoundError passes through; other failures, a FIFO or a device included, are LayoutError.
    ``within`` (the image directory) refuses symlinks that lead out of it.
    """
    return read_document(path, limit, LayoutError, '%s %s' % (what, path), too_large=ManifestTooLargeError, within=within)


def read_version(directory: str) -> str | None:
    """The content of the ``version`` file, or None when there is none.

    LayoutError when it cannot be read, is not short text, or names a version other than 1.x.
    """
    path = os.path.join(directory, VERSION_FILE)
    try:
        raw = read_small_file(path, MAX_VERSION_SIZE, 'version file', within=directory)
    except FileNotFoundError:
        return None
    except ManifestTooLargeError:
        raise LayoutError('%s is not a dir image: its %s file is not a dir transport version' % (directory, VERSION_FILE)) from None
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        text = ''
    if not _VERSION_RE.match(text):
        raise LayoutError('%s is not a dir image this version can use: %s holds %s, expected %r'
                          % (directory, path, _clip(repr(text) if text else repr(raw)), VERSION_TEXT))
    return text


# -- the source ------------------------------------------------------------------------------------

class DirSource(ImageSource):
    """An image in a ``dir:`` directory, opened for reading.

    The directory must exist (ImageNotFoundError otherwise). A ``version`` file is not required
    (containers/image does not check it when reading), but one that names another format is
    refused (LayoutError).
    """

    reference: 'DirReference'

    def __init__(self, reference: 'DirReference') -> None:
        self.reference = reference
        self.path = reference.path
        if not os.path.exists(self.path):
            raise ImageNotFoundError('directory image %s does not exist' % self.path)
        if not os.path.isdir(self.path):
            raise LayoutError('directory image %s is not a directory' % self.path)
        read_version(self.path)

    def get_manifest(self, instance_digest: Digest | None = None) -> tuple[bytes, str | None]:
        """``manifest.json``, or the child ``<hex>.manifest.json`` verified against ``instance_digest``.

        Both are bounded at 4 MiB. The media type is None: the directory does not record it.
        """
        path = manifest_path(self.path, instance_digest)
        what = 'manifest' if instance_digest is None else 'manifest %s' % instance_digest
        try:
            raw = read_small_file(path, MAX_MANIFEST_SIZE, what, within=self.path)
        except FileNotFoundError:
            if instance_digest is None:
                raise ImageNotFoundError('directory %s holds no image: %s is missing' % (self.path, MANIFEST_FILE)) from None
            raise ImageNotFoundError('manifest %s not found in directory image %s (no %s)'
                                     % (instance_digest, self.path, os.path.basename(path))) from None
        except IsADirectoryError:
            raise LayoutError('%s in directory image %s is a directory' % (os.path.basename(path), self.path)) from None
        if instance_digest is not None:
            instance_digest.verify_bytes(raw, '%s in directory image %s' % (what, self.path))
        return raw, None

    def get_signatures(self, instance_digest: Digest | None = None) -> list[bytes]:
        """``signature-1``, ``signature-2``... (``HEX.signature-N`` for a child), read until the first gap, as containers/image."""
        return read_signatures(self.path, instance_digest)

    @contextlib.contextmanager
    def get_blob(self, info: BlobInfo) -> t.Iterator[tuple[t.Iterator[bytes], int]]:
        """Stream a blob from its file; BlobNotFoundError when it is absent.

        The bytes are not verified here: the caller streams them through ``verified_stream``.
        """
        path = blob_path(self.path, info.digest)
        try:
            # A FIFO or device in place of a blob is refused at once rather than blocking or never ending.
            handle = open_regular(path, LayoutError, 'blob path %s' % path, within=self.path)
        except FileNotFoundError:
            raise BlobNotFoundError('blob %s not found in directory image %s' % (info.digest, self.path)) from None
        with handle:
            yield file_chunks(handle), os.fstat(handle.fileno()).st_size


def file_chunks(handle: t.BinaryIO) -> t.Iterator[bytes]:
    """A file's content in chunks, so memory stays flat whatever its size."""
    while True:
        block = handle.read(CHUNK_SIZE)
        if not block:
            return
        yield block


def _clip(value: str, limit: int = 80) -> str:
    value = value if value.isprintable() else value.encode('unicode_escape').decode('ascii')
    return value if len(value) <= limit else value[:limit] + '...'


MAX_SIGNATURE_SIZE = 4 * 1024 * 1024


def signature_path(directory: str, number: int, instance_digest: Digest | None = None) -> str:
    """Path of signature ``number`` (from 1) of the image or of one child manifest."""
    name = 'signature-%d' % number if instance_digest is None else '%s.signature-%d' % (instance_digest.hex, number)
    return os.path.join(directory, name)


def read_signatures(directory: str, instance_digest: Digest | None = None) -> list[bytes]:
    """The signatures stored in ``directory``, in order, each bounded at 4 MiB."""
    out = []
    number = 1
    while True:
        try:
            out.append(read_small_file(signature_path(directory, number, instance_digest), MAX_SIGNATURE_SIZE, 'signature', within=directory))
        except FileNotFoundError:
            return out
        number += 1
