# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading ``docker save`` archives (containers/image's ``docker/internal/tarfile/reader.go`` and ``src.go``).

The archive's ``manifest.json`` lists images as ``{"Config": path, "RepoTags": [...], "Layers":
[paths]}``. There is no registry manifest in it, so one is synthesized for the chosen image; this
is exactly what :meth:`DockerArchive.image` computes (and what a docker-archive destination
compares against to report an unchanged archive):

    {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
     "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":S,"digest":D},
     "layers":[{"mediaType":M,"size":S,"digest":D},...]}

compact JSON, keys in that order (Go's encoding of containers/image's ``manifest.Schema2``), no
trailing newline. The config descriptor has the config file's size and sha256. There is one layer
descriptor per entry of the config's ``rootfs.diff_ids``, in that order, taking its file from the
same position of ``Layers``:

- an uncompressed layer file: media type ``application/vnd.docker.image.rootfs.diff.tar``, size
  from its tar header, digest = its diff_id (an uncompressed layer's digest *is* its diff_id, so
  the file need not be read; the copy verifies the bytes against it while streaming, and a file
  that does not match its diff_id fails the copy, as ``docker load`` would);
- a gzip-compressed layer file (detected by its magic bytes, whatever its name): media type
  ``...rootfs.diff.tar.gzip``, size from its tar header, digest = sha256 of the file as stored,
  computed once per file and cached;
- other compressions cannot be described by a Docker schema2 manifest and are refused.

Two differences from containers/image, both deliberate: it labels every layer ``.tar.gzip``,
compressed or not (its copy code sniffs the real format later; a manifest copied as-is must not
lie), and it describes a compressed layer by its diff_id and uncompressed size, decompressing it on
every read; here a compressed layer is passed through as the blob it is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    ImageNotFoundError,
    InvalidReferenceError,
    LayoutError,
    ManifestError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.reference import DockerReference, parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.transports.tar_safety import (
    ArchiveMember,
    SafeTarReader,
    detect_compression,
    normalize_member_name,
    quote,
)

WHAT = 'docker archive'
MANIFEST_FILE = 'manifest.json'
REPOSITORIES_FILE = 'repositories'
#: containers/image's bound for manifest.json (iolimits.MaxTarFileManifestSize).
MAX_MANIFEST_JSON_SIZE = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class ManifestItem:
    """One image of manifest.json: its config path, tags as written, and layer paths."""

    config: str
    repo_tags: tuple[str, ...]
    layers: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class ArchiveImage:
    """One image of an archive, as a source serves it: the synthesized manifest, the config and layer files."""

    manifest: bytes
    config: bytes
    config_digest: Digest
    layers: t.Mapping[Digest, ArchiveMember]

    @property
    def digest(self) -> Digest:
        """Digest of the synthesized manifest."""
        return Digest.from_bytes(self.manifest)


def synthesize_manifest(config: bytes, layers: t.Sequence[tuple[str, int, Digest]]) -> bytes:
    """The Docker schema2 manifest for ``config`` and ``(media type, size, digest)`` layers (see module docstring)."""
    document = {
        'schemaVersion': 2,
        'mediaType': mt.DOCKER_V2S2,
        'config': {'mediaType': mt.DOCKER_CONFIG, 'size': len(config), 'digest': str(Digest.from_bytes(config))},
        'layers': [{'mediaType': media_type, 'size': size, 'digest': str(digest)} for media_type, size, digest in layers],
    }
    return json.dumps(document, separators=(',', ':')).encode('utf-8')


class DockerArchive:
    """A docker archive opened for reading; manifest.json is read and checked on opening.

    Missing file: ImageNotFoundError. Not a tar, hostile entries (links are allowed only inside the
    archive, see ``tar_safety``), no or bad manifest.json: LayoutError.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.tar = SafeTarReader(path, WHAT, allow_links=True)
        self._lock = threading.Lock()
        self._hashes: dict[str, Digest] = {}
        try:
            self.items = self._read_manifest_json()
        except BaseException:
            self.tar.close()
            raise

    def _read_manifest_json(self) -> list[ManifestItem]:
        member = self.tar.find(MANIFEST_FILE)
        if member is None:
            raise LayoutError('%s %s has no %s (an archive of docker 1.9 or older, or not a docker archive)'
                              % (WHAT, self.path, MANIFEST_FILE))
        if member.size > MAX_MANIFEST_JSON_SIZE:
            raise LayoutError('%s in %s %s is %d bytes, over the %d byte limit'
                              % (MANIFEST_FILE, WHAT, self.path, member.size, MAX_MANIFEST_JSON_SIZE))
        raw = self.tar.read_member(member, MAX_MANIFEST_JSON_SIZE, MANIFEST_FILE)
        where = '%s in %s %s' % (MANIFEST_FILE, WHAT, self.path)
        data = jsonutil.loads(raw, where, LayoutError)
        if not isinstance(data, list):
            raise LayoutError('%s is not a JSON list' % where)
        items = []
        for position, entry in enumerate(data):
            item_where = '%s, item @%d' % (where, position)
            if not isinstance(entry, dict):
                raise LayoutError('%s is not an object' % item_where)
            config = entry.get('Config')
            tags = entry.get('RepoTags') or []
            layers = entry.get('Layers') or []
            if not isinstance(config, str) or not config:
                raise LayoutError('%s: Config must be a non-empty string' % item_where)
            if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
                raise LayoutError('%s: RepoTags must be a list of strings' % item_where)
            if not isinstance(layers, list) or not all(isinstance(layer, str) for layer in layers):
                raise LayoutError('%s: Layers must be a list of strings' % item_where)
            for path in [config] + layers:
                if not normalize_member_name(path):
                    raise LayoutError('refusing %s %s: %s, item @%d names the unsafe path %s'
                                      % (WHAT, self.path, MANIFEST_FILE, position, quote(path)))
            items.append(ManifestItem(config=config, repo_tags=tuple(tags), layers=tuple(layers)))
        return items

    # -- choosing an image ---------------------------------------------------------------------

    def tags_hint(self) -> str:
        """`` (tags: a, b)`` listing RepoTags as written, or nothing when no image is tagged."""
        tags = [tag for item in self.items for tag in item.repo_tags]
        if not tags:
            return ''
        return ' (tags: %s)' % (', '.join(tags[:10]) + (', ...' if len(tags) > 10 else ''))

    def normalized_tags(self, position: int) -> list[DockerReference]:
        """RepoTags of item ``position``, normalised (``busybox:1`` -> ``docker.io/library/busybox:1``)."""
        result = []
        for tag in self.items[position].repo_tags:
            try:
                result.append(parse_normalized_named(tag))
            except InvalidReferenceError as exc:
                raise LayoutError('%s in %s %s, item @%d: invalid tag %s: %s' % (MANIFEST_FILE, WHAT, self.path, position, quote(tag),
                                                                                 exc.message)) from None
        return result

    def choose(self, ref: DockerReference | None = None, source_index: int | None = None) -> int:
        """The position of the image a reference selects, as containers/image's ChooseManifestItem.

        By tag (compared after normalising both sides), by position, or the only image.
        """
        if ref is not None:
            wanted = str(ref)
            for position in range(len(self.items)):
                if any(str(tag) == wanted for tag in self.normalized_tags(position)):
                    return position
            raise ImageNotFoundError('no image tagged %s in %s %s%s' % (wanted, WHAT, self.path, self.tags_hint()))
        if source_index is not None:
            if source_index >= len(self.items):
                count = len(self.items)
                held = 'it holds no image' if not count else 'it holds %d (@0 to @%d)' % (count, count - 1)
                raise ImageNotFoundError('%s %s has no image @%d: %s' % (WHAT, self.path, source_index, held))
            return source_index
        if len(self.items) == 1:
            return 0
        if not self.items:
            raise ImageNotFoundError('%s %s holds no image' % (WHAT, self.path))
        raise InvalidReferenceError('%s %s holds %d images; choose one with docker-archive:%s:REF or docker-archive:%s:@N%s'
                                    % (WHAT, self.path, len(self.items), self.path, self.path, self.tags_hint()))

    # -- one image -----------------------------------------------------------------------------

    def image(self, position: int) -> ArchiveImage:
        """Config, layers and synthesized manifest of item ``position`` (see the module docstring)."""
        item = self.items[position]
        where = '%s %s, item @%d' % (WHAT, self.path, position)
        config_member = self.tar.find(item.config)
        if config_member is None:
            raise LayoutError('%s: config %s is not in the archive' % (where, quote(item.config)))
        config = self.tar.read_member(config_member, mt.MAX_CONFIG_SIZE, 'config of %s' % where)
        diff_ids = self._diff_ids(config, where)
        if len(diff_ids) != len(item.layers):
            raise ManifestError('%s: inconsistent layer count: %d in %s, %d in the config\'s rootfs.diff_ids'
                                % (where, len(item.layers), MANIFEST_FILE, len(diff_ids)))
        known: dict[Digest, tuple[str, int, Digest]] = {}
        used: dict[str, Digest] = {}
        members: dict[Digest, ArchiveMember] = {}
        descriptors = []
        for diff_id, layer_path in zip(diff_ids, item.layers):
            if diff_id in known:
                # The same layer twice in one image: docker save links the second to the first.
                descriptors.append(known[diff_id])
                continue
            name = normalize_member_name(layer_path) or layer_path
            if used.get(name, diff_id) != diff_id:
                raise ManifestError('%s: layer file %s is listed for two different diff_ids (%s and %s)'
                                    % (where, quote(layer_path), used[name], diff_id))
            used[name] = diff_id
            member = self.tar.find(layer_path)
            if member is None:
                raise LayoutError('%s: layer %s is not in the archive' % (where, quote(layer_path)))
            compression = detect_compression(self.tar.read_head(member))
            if compression is None:
                descriptor = (mt.DOCKER_LAYER, member.size, diff_id)
            elif compression == 'gzip':
                descriptor = (mt.DOCKER_LAYER_GZIP, member.size, self.file_digest(member))
            else:
                raise UnsupportedMediaTypeError('%s: layer %s is %s-compressed; a Docker schema2 manifest can describe only '
                                                'uncompressed and gzip layers' % (where, quote(layer_path), compression))
            known[diff_id] = descriptor
            members.setdefault(descriptor[2], member)
            descriptors.append(descriptor)
        return ArchiveImage(manifest=synthesize_manifest(config, descriptors), config=config, config_digest=Digest.from_bytes(config),
                            layers=members)

    def _diff_ids(self, config: bytes, where: str) -> list[Digest]:
        data = jsonutil.loads(config, '%s: the config' % where, ManifestError)
        rootfs = data.get('rootfs') if isinstance(data, dict) else None
        diff_ids = rootfs.get('diff_ids') if isinstance(rootfs, dict) else None
        if not isinstance(diff_ids, list):
            raise ManifestError('%s: the config has no rootfs.diff_ids list' % where)
        result = []
        for position, value in enumerate(diff_ids):
            try:
                result.append(Digest(value))
            except InvalidReferenceError as exc:
                raise ManifestError('%s: rootfs.diff_ids[%d] of the config: %s' % (where, position, exc.message)) from None
        return result

    def file_digest(self, member: ArchiveMember) -> Digest:
        """sha256 of a member's bytes, computed once per archive entry."""
        with self._lock:
            cached = self._hashes.get(member.name)
        if cached is not None:
            return cached
        hasher = hashlib.sha256()
        for chunk in self.tar.iter_member(member):
            hasher.update(chunk)
        digest = Digest('sha256:' + hasher.hexdigest())
        with self._lock:
            self._hashes[member.name] = digest
        return digest

    def close(self) -> None:
        """Close the archive file."""
        self.tar.close()

    def __enter__(self) -> 'DockerArchive':
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()
