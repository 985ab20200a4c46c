# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An OCI image layout read in place from a tar archive.

containers/image extracts the whole archive into a temporary directory before reading it; this
reads ``oci-layout``, ``index.json`` and each blob by offset instead (see ``tar_safety``), so a
copy from an archive costs no extra disk space and the archive's names never reach a filesystem.
The rules are those of an OCI layout directory (``oci_layout/layout.py``): bounded documents,
``imageLayoutVersion`` 1.x, ``manifests: null`` read as empty, entries selected by ref name.
Signatures are read from ``.ocikit/signatures/<algorithm>=<hex>/signature-N`` members, ocikit's
convention for layouts (``oci_layout/signatures.py``), with the same bounds.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    ImageNotFoundError,
    InvalidReferenceError,
    LayoutError,
    ManifestError,
    ManifestTooLargeError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import Descriptor
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import (
    BLOBS_DIR,
    INDEX_FILE,
    MAX_INDEX_SIZE,
    OCI_LAYOUT_FILE,
    READABLE_MANIFEST_TYPES,
    digest_of,
    ref_name_of,
    ref_names,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.signatures import (
    MAX_SIGNATURE_SIZE,
    MAX_SIGNATURES,
    member_name,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.tar_safety import ArchiveMember, SafeTarReader

WHAT = 'OCI archive'


class OCIArchive:
    """The layout inside the tar file ``path``; index.json is read (and checked) on opening.

    Missing file: ImageNotFoundError. Not a tar, hostile entries, no index.json, a bad
    ``oci-layout`` or index.json: LayoutError. Close it (or use it as a context manager).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.tar = SafeTarReader(path, WHAT, allow_links=False)
        try:
            self.check_layout_version()
            self.index = self.read_index()
        except BaseException:
            self.tar.close()
            raise

    def _load_json(self, name: str) -> t.Any:
        member = self.tar.find(name)
        if member is None:
            raise LayoutError('%s %s is not an OCI archive: it has no %s' % (WHAT, self.path, name))
        try:
            raw = self.tar.read_member(member, MAX_INDEX_SIZE, name)
        except ManifestTooLargeError as exc:
            raise LayoutError(exc.message) from None
        return jsonutil.loads(raw, '%s in %s %s' % (name, WHAT, self.path), LayoutError)

    def check_layout_version(self) -> None:
        """``oci-layout``, when present, must say ``imageLayoutVersion`` 1.x (skopeo writes it; some tools omit it)."""
        if self.tar.find(OCI_LAYOUT_FILE) is None:
            return
        data = self._load_json(OCI_LAYOUT_FILE)
        version = data.get('imageLayoutVersion') if isinstance(data, dict) else None
        if not isinstance(version, str):
            raise LayoutError('%s in %s %s: imageLayoutVersion is missing or not a string' % (OCI_LAYOUT_FILE, WHAT, self.path))
        if version.split('.', 1)[0] != '1':
            raise LayoutError('%s in %s %s: unsupported imageLayoutVersion %r (this version reads 1.x)'
                              % (OCI_LAYOUT_FILE, WHAT, self.path, version))

    def read_index(self) -> dict[str, t.Any]:
        """index.json as a dict whose ``manifests`` is a list of objects (as ``Layout.read_index``)."""
        data = self._load_json(INDEX_FILE)
        where = '%s in %s %s' % (INDEX_FILE, WHAT, self.path)
        if not isinstance(data, dict):
            raise LayoutError('%s is not a JSON object' % where)
        if data.get('schemaVersion') != 2:
            raise LayoutError('%s has schemaVersion %r, expected 2' % (where, data.get('schemaVersion')))
        if data.get('manifests') is None:
            # Go writes an empty slice as null; read it as empty, as Go readers do.
            data['manifests'] = []
        if not isinstance(data['manifests'], list) or not all(isinstance(entry, dict) for entry in data['manifests']):
            raise LayoutError('%s: manifests must be a list of objects' % where)
        return data

    def select(self, ref_name: str | None) -> Descriptor:
        """The index entry a reference means, with the rules of ``layout.find_descriptor``.

        A ref name selects the entry carrying it (entries of unreadable media types are passed
        over; several entries with different digests are ambiguous). Without one, the archive
        must hold exactly one entry.
        """
        entries: list[dict[str, t.Any]] = self.index['manifests']
        if ref_name is None:
            if len(entries) == 1:
                return self._descriptor(entries[0], 0)
            if not entries:
                raise ImageNotFoundError('%s %s holds no image' % (WHAT, self.path))
            raise InvalidReferenceError('%s %s holds %d images; choose one with oci-archive:%s:NAME%s'
                                        % (WHAT, self.path, len(entries), self.path, self.names_hint()))
        matches = [(position, entry) for position, entry in enumerate(entries) if ref_name_of(entry) == ref_name]
        if not matches:
            raise ImageNotFoundError('no image named "%s" in %s %s%s' % (ref_name, WHAT, self.path, self.names_hint()))
        readable = [(position, entry) for position, entry in matches if entry.get('mediaType') in READABLE_MANIFEST_TYPES + ('', None)]
        if not readable:
            types = sorted({str(entry.get('mediaType')) for dummy, entry in matches})
            raise UnsupportedMediaTypeError('"%s" in %s %s names only unsupported manifest media types: %s'
                                            % (ref_name, WHAT, self.path, ', '.join(types)))
        digests = sorted({str(digest_of(entry)) for dummy, entry in readable})
        if len(digests) > 1:
            raise LayoutError('"%s" is ambiguous in %s %s: %d entries of index.json carry it (%s)'
                              % (ref_name, WHAT, self.path, len(readable), ', '.join(digests)))
        position, entry = readable[0]
        return self._descriptor(entry, position)

    def names_hint(self) -> str:
        """`` (names in index.json: a, b)``, or nothing when no entry is named."""
        names = ref_names(self.index)
        if not names:
            return ''
        return ' (names in index.json: %s)' % (', '.join(names[:10]) + (', ...' if len(names) > 10 else ''))

    def _descriptor(self, entry: dict[str, t.Any], position: int) -> Descriptor:
        what = 'descriptor manifests[%d] in index.json of %s %s' % (position, WHAT, self.path)
        try:
            return Descriptor.from_json(dict(entry), what)
        except InvalidReferenceError as exc:  # an invalid digest string
            raise LayoutError('%s: %s' % (what, exc.message)) from None
        except ManifestError as exc:
            raise LayoutError(exc.message) from None

    def blob_member(self, digest: Digest) -> ArchiveMember:
        """The entry ``blobs/<algorithm>/<hex>``; BlobNotFoundError when the archive lacks it."""
        member = self.tar.find('%s/%s/%s' % (BLOBS_DIR, digest.algorithm, digest.hex))
        if member is None:
            raise BlobNotFoundError('blob %s not found in %s %s' % (digest, WHAT, self.path))
        return member

    def read_blob(self, digest: Digest, limit: int, what: str, size: int = -1) -> bytes:
        """A small blob (a manifest) read whole, bounded by ``limit`` and verified."""
        if size > limit:
            raise ManifestTooLargeError('%s %s is %d bytes, over the %d byte limit' % (what, digest, size, limit))
        raw = self.tar.read_member(self.blob_member(digest), limit, '%s %s' % (what, digest))
        if size >= 0 and len(raw) != size:
            raise DigestMismatchError('%s %s is %d bytes in %s %s, its descriptor says %d' % (what, digest, len(raw), WHAT, self.path, size))
        digest.verify_bytes(raw, '%s in %s %s' % (what, WHAT, self.path))
        return raw

    def read_signatures(self, digest: Digest) -> list[bytes]:
        """The signatures stored for ``digest``, ``signature-1`` first, until the first gap; [] when it has none.

        Each must be a regular file member of at most 4 MiB (links are refused when the archive is
        indexed); at most 128 are read, as from a layout directory.
        """
        signatures: list[bytes] = []
        for number in range(1, MAX_SIGNATURES + 2):
            name = member_name(digest, number)
            member = self.tar.members.get(name)
            if member is None:
                return signatures
            where = '%s in %s %s' % (name, WHAT, self.path)
            if member.kind != 'file':
                raise LayoutError('signature %s is not a regular file (a %s)' % (where, member.kind))
            if number > MAX_SIGNATURES:
                raise LayoutError('%s %s holds more than %d signatures of %s' % (WHAT, self.path, MAX_SIGNATURES, digest))
            if member.size > MAX_SIGNATURE_SIZE:
                raise LayoutError('signature %s exceeds the %d byte limit' % (where, MAX_SIGNATURE_SIZE))
            signatures.append(self.tar.read_member(member, MAX_SIGNATURE_SIZE, name))
        return signatures  # pragma: no cover - the loop returns or raises

    def close(self) -> None:
        """Close the archive file."""
        self.tar.close()

    def __enter__(self) -> 'OCIArchive':
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()
