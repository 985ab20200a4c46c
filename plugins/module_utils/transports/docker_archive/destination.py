# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing an image to a docker archive (containers/image's ``docker/internal/tarfile/dest.go`` and ``writer.go``).

Blobs are staged, verified, in a temporary directory beside PATH (so they can arrive in parallel
and a bad one never reaches the archive); ``commit()`` writes the archive in one pass into a
temporary file beside PATH and renames it over PATH. Both are held under a shared flock while they
exist, so the next write beside PATH can sweep what a killed run left (``fsutil.sweep_stale_temps``).
The archive has the files and order containers/image writes, which ``docker load``, ``podman load``
and skopeo read:

    <layer hex>.tar                        each distinct layer blob, in manifest order
    <config hex>.json                      the config, byte for byte (after the layers, as skopeo's copy order puts it)
    <legacy id>/layer.tar -> ../<hex>.tar  per layer, for pre-1.10 readers: a symlink,
    <legacy id>/VERSION                    "1.0",
    <legacy id>/json                       the legacy v1 layer config
    manifest.json                          [{"Config": ..., "RepoTags": [...], "Layers": [...]}]
    repositories                           {"name": {"tag": <top legacy id>}}

Files are mode 0444 with mtime 0, as containers/image writes them. Legacy IDs are computed as
containers/image computes them (a chain of layer digests, hashed with a subset of the config);
they match its IDs for configs written by Go tools, and need only be unique.

Differences from skopeo: skopeo refuses a non-empty existing archive ("docker-archive doesn't
support modifying existing images"); this destination replaces it atomically, as the oci-archive
destination does, and reports it unchanged when it already holds what would be written (see
``get_manifest_digest``). skopeo writes straight into PATH; here PATH changes only on commit.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import hold_dir, release_temp_dir, sweep_stale_temps
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    BlobNotFoundError,
    InvalidReferenceError,
    LayoutError,
    ManifestError,
    OcikitError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import ImageManifest, parse_manifest
from ansible_collections.ocikit.images.plugins.module_utils.reference import DockerReference
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ImageDestination, ImageReference
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.archive import (
    MANIFEST_FILE,
    REPOSITORIES_FILE,
    WHAT,
    DockerArchive,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import TEMP_PREFIX, Layout, TempFiles
from ansible_collections.ocikit.images.plugins.module_utils.transports.tar_writer import AtomicTarWriter, check_archive_path

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.transport import DockerArchiveReference
    from ansible_collections.ocikit.images.plugins.module_utils.transports.tar_writer import TarStream

#: The config fields containers/image copies into the top layer's legacy ``json``.
LEGACY_CONFIG_FIELDS = ('architecture', 'config', 'container', 'container_config', 'created', 'docker_version', 'os')
LEGACY_VERSION = b'1.0'
FILE_MODE = 0o444


class StagedArchiveDestination(ImageDestination):
    """Blobs staged, verified, in a temporary directory, and written out as one docker archive at commit.

    The part of a docker-archive destination that does not depend on where the archive goes: a
    file (DockerArchiveDestination) or a Docker Engine's ``POST /images/load`` (the docker-daemon
    transport). Subclasses give the staging directory's parent and implement commit() with
    :meth:`write_entries`. Nothing is written before the first blob, so planning and check mode
    leave no trace.
    """

    # A docker archive describes one Docker schema2 image; the copy converts anything else.
    supported_manifest_types: tuple[str, ...] = (mt.DOCKER_V2S2,)
    # As containers/image: registries and OCI layouts get compressed layers, docker-archive uncompressed ones.
    desired_layer_compression = 'decompress'
    supports_index = False
    #: Tells the copy engine to decompress layers before ``put_blob`` (containers/image's
    #: DesiredLayerCompression = Decompress): ``docker save`` archives hold uncompressed layers and
    #: older loaders expect them. The manifest given to ``put_manifest`` must then describe the
    #: uncompressed blobs. A compressed layer that arrives anyway is stored as it is: ``docker
    #: load``, ``podman load`` and skopeo detect the compression by its magic bytes and still
    #: load it, and the source side of this transport describes it as a gzip layer.
    requires_uncompressed_layers = True

    def __init__(self, reference: ImageReference, repo_tags: t.Sequence[DockerReference], where: str) -> None:
        self.reference = reference
        #: Tags the image gets, in RepoTags order.
        self.repo_tags = list(repo_tags)
        #: What messages call the destination (``docker archive /path``).
        self.where = where
        self._staging: Layout | None = None
        #: Holds the staging directory under a shared flock while it exists (see fsutil.sweep_stale_temps).
        self._staging_fd: int | None = None
        self._temp_files = TempFiles()
        self._pending: ImageManifest | None = None
        self._lock = threading.Lock()
        self._closed = False

    def staging_parent(self) -> str:
        """The directory the staging directory is made in (leftovers of killed runs there are swept first)."""
        raise NotImplementedError

    def staging(self) -> Layout:
        """The temporary directory (used as a blob store), created on first use."""
        with self._lock:
            if self._closed:
                raise LayoutError('cannot write to %s: the destination is closed' % self.reference)
            if self._staging is None:
                parent = self.staging_parent()
                sweep_stale_temps(parent, lambda name: name.startswith(TEMP_PREFIX))
                try:
                    path = tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=parent)
                except OSError as exc:
                    raise LayoutError('cannot create a temporary directory in %s for %s: %s'
                                      % (parent, self.where, exc.strerror or exc)) from None
                self._staging_fd = hold_dir(path)
                self._staging = Layout(path)
            return self._staging

    def has_blob(self, info: BlobInfo) -> bool:
        """True when this destination already staged the blob (what the archive or daemon holds does not count)."""
        with self._lock:
            staging = self._staging
        if staging is None:
            return False
        size = staging.blob_size(info.digest)
        return size is not None and (info.size < 0 or size == info.size)

    def put_blob(self, chunks: t.Iterable[bytes], info: BlobInfo) -> BlobInfo:
        """Stage a blob, verified against ``info`` before it gets its name; safe from several threads."""
        staging = self.staging()
        present = staging.blob_size(info.digest)
        if present is not None and (info.size < 0 or present == info.size):
            return BlobInfo(info.digest, present, info.media_type)
        size = staging.write_blob(chunks, info.digest, info.size, 'blob', self._temp_files)
        return BlobInfo(info.digest, size, info.media_type)

    def put_manifest(self, raw: bytes, media_type: str, instance_digest: Digest | None = None) -> None:
        """Accept the image's Docker schema2 manifest; it names the config and layers commit() writes."""
        if instance_digest is not None:
            raise UnsupportedMediaTypeError('%s cannot store manifest lists (asked to store manifest %s of one)'
                                            % (self.where, instance_digest))
        if media_type not in self.supported_manifest_types:
            raise UnsupportedMediaTypeError('%s cannot store manifests of type %s (supported: %s)'
                                            % (self.where, media_type, ', '.join(self.supported_manifest_types)))
        parsed = parse_manifest(raw, media_type)
        if not isinstance(parsed, ImageManifest):
            raise UnsupportedMediaTypeError('%s cannot store manifest lists' % self.where)
        self._pending = parsed

    def write_entries(self, writer: AtomicTarWriter | TarStream) -> None:
        """Add the archive's entries (layers, config, legacy metadata, manifest.json, repositories) to ``writer``.

        Checks first that the manifest was put and every blob it names was staged.
        """
        manifest = self._pending
        with self._lock:
            staging = self._staging
        if manifest is None or staging is None:
            raise LayoutError('nothing to commit to %s: no manifest was written' % self.reference)
        for desc in manifest.blobs():
            if staging.blob_size(desc.digest) is None:
                raise BlobNotFoundError('cannot commit %s: blob %s of the manifest was not written' % (self.reference, desc.digest))
        config_raw = staging.read_blob(manifest.config.digest, mt.MAX_CONFIG_SIZE, 'config')
        config = jsonutil.loads(config_raw, 'config %s' % manifest.config.digest, ManifestError)
        if not isinstance(config, dict):
            raise ManifestError('config %s is not a JSON object' % manifest.config.digest)
        layer_digests = [desc.digest for desc in manifest.layers]
        legacy = legacy_layers(layer_digests, config)
        written: set[Digest] = set()
        for digest in layer_digests:
            if digest not in written:
                writer.add_file(layer_file_name(digest), staging.blob_path(digest), FILE_MODE)
                written.add(digest)
        writer.add_bytes(config_file_name(manifest.config.digest), config_raw, FILE_MODE)
        seen_ids: set[str] = set()
        for layer_id, layer_json, digest in legacy:
            if layer_id in seen_ids:
                continue
            seen_ids.add(layer_id)
            writer.add_symlink('%s/layer.tar' % layer_id, '../%s' % layer_file_name(digest))
            writer.add_bytes('%s/VERSION' % layer_id, LEGACY_VERSION, FILE_MODE)
            writer.add_bytes('%s/json' % layer_id, layer_json, FILE_MODE)
        writer.add_bytes(MANIFEST_FILE, manifest_json(manifest.config.digest, layer_digests, self.repo_tags), FILE_MODE)
        writer.add_bytes(REPOSITORIES_FILE, repositories_json(self.repo_tags, legacy[-1][0] if legacy else None), FILE_MODE)

    def close(self) -> None:
        """Remove the staging directory; nothing outside it is touched unless commit() ran."""
        with self._lock:
            self._closed = True
            staging, self._staging = self._staging, None
            staging_fd, self._staging_fd = self._staging_fd, None
        self._temp_files.remove_all()
        if staging is not None:
            shutil.rmtree(staging.path, ignore_errors=True)
        release_temp_dir(staging_fd)


class DockerArchiveDestination(StagedArchiveDestination):
    """A docker archive path opened for writing one image, tagged with the reference's tag and ``additional_tags``.

    Opening only checks the path and the tags; nothing is written before the first blob, so
    planning and check mode leave no trace.
    """

    reference: 'DockerArchiveReference'

    def __init__(self, reference: 'DockerArchiveReference', additional_tags: t.Sequence[DockerReference] = ()) -> None:
        if reference.source_index is not None:
            raise InvalidReferenceError('cannot write to %s: a source index selects an image to read; name the destination '
                                        'docker-archive:PATH or docker-archive:PATH:REF' % reference)
        repo_tags = tags_of([reference.ref] if reference.ref is not None else [], additional_tags, reference)
        super().__init__(reference, repo_tags, '%s %s' % (WHAT, reference.path))
        #: The file commit() replaces (PATH with symlinks resolved).
        self.target = check_archive_path(reference.path, WHAT)

    def staging_parent(self) -> str:
        """Beside PATH, so that a killed run's leftovers are found and swept by the next write there."""
        return os.path.dirname(self.target)

    def get_manifest_digest(self) -> Digest | None:
        """Digest of the manifest the archive's image synthesizes, when a commit would write the same image and tags.

        The archive must hold exactly one image whose RepoTags, normalised, are this destination's
        tags in the same order (none, for ``docker-archive:PATH``): commit() replaces the whole
        archive, so an archive with other images or other tags would change even for the same
        image. The digest is that of the manifest a docker-archive source synthesizes for it
        (``archive.py`` says exactly how: compact schema2, config sha256, layers by diff_id or,
        when gzip-compressed, by the sha256 of the file). A copy is then reported unchanged when
        the manifest it would write is byte-identical to that, as it is for a copy from another
        docker archive or from a registry manifest containers/image wrote. Reading writes
        nothing. None when the archive is missing or unreadable: commit() will replace it.
        """
        try:
            with DockerArchive(self.target) as archive:
                if len(archive.items) != 1:
                    return None
                if [str(tag) for tag in archive.normalized_tags(0)] != [str(tag) for tag in self.repo_tags]:
                    return None
                return archive.image(0).digest
        except OcikitError:
            return None

    def commit(self) -> None:
        """Write the archive (config, layers, legacy metadata, manifest.json, repositories) and rename it over PATH."""
        with AtomicTarWriter(self.target, WHAT) as writer:
            self.write_entries(writer)
            writer.commit()


def tags_of(own: t.Sequence[DockerReference], additional: t.Sequence[DockerReference], reference: t.Any) -> list[DockerReference]:
    """Tagged references, ``:latest`` added to bare names, duplicates dropped, order kept; digests are refused."""
    result: list[DockerReference] = []
    for tag in list(own) + list(additional):
        if not isinstance(tag, DockerReference):
            raise InvalidReferenceError('cannot write to %s: additional tag %r is not a docker reference' % (reference, tag))
        if tag.digest is not None:
            raise InvalidReferenceError('cannot write to %s: a docker archive tags images by tag, not by digest (%s)' % (reference, tag))
        tag = tag.with_default_tag()
        if str(tag) not in [str(known) for known in result]:
            result.append(tag)
    return result


def config_file_name(digest: Digest) -> str:
    """``<hex>.json``, where containers/image puts the config."""
    return '%s.json' % digest.hex


def layer_file_name(digest: Digest) -> str:
    """``<hex>.tar``, where containers/image puts a layer."""
    return '%s.tar' % digest.hex


def go_json(value: t.Any, sort_keys: bool = False) -> bytes:
    """``value`` encoded as Go's json.Marshal encodes it: compact, ``<``, ``>``, ``&``, U+2028/9 escaped.

    Go sorts map keys; Python keeps dict order, so ``sort_keys`` is for values that are maps in Go.
    """
    text = json.dumps(value, separators=(',', ':'), ensure_ascii=False, sort_keys=sort_keys)
    for char, escaped in (('<', '\\u003c'), ('>', '\\u003e'), ('&', '\\u0026'), ('\u2028', '\\u2028'), ('\u2029', '\\u2029')):
        text = text.replace(char, escaped)
    return text.encode('utf-8')


def legacy_layers(layer_digests: t.Sequence[Digest], config: t.Mapping[str, t.Any]) -> list[tuple[str, bytes, Digest]]:
    """``(legacy id, json file bytes, layer digest)`` per layer, bottom first, as containers/image computes them.

    Each layer's legacy config names its parent; the top one also carries LEGACY_CONFIG_FIELDS of
    the image config (null when absent). The ID is the sha256 of that config with ``layer_id``
    set to the layer's chain ID (the first layer's digest, then sha256 of ``"<chain> <digest>"``);
    the file holds the config with ``id`` instead.
    """
    result: list[tuple[str, bytes, Digest]] = []
    parent = ''
    chain: Digest | None = None
    for position, digest in enumerate(layer_digests):
        layer_config: dict[str, t.Any] = {}
        if parent:
            layer_config['parent'] = parent
        if position == len(layer_digests) - 1:
            for field in LEGACY_CONFIG_FIELDS:
                layer_config[field] = config.get(field)
        chain = digest if chain is None else Digest.from_bytes(('%s %s' % (chain, digest)).encode('utf-8'))
        layer_config['layer_id'] = str(chain)
        # containers/image holds these as map[string]*json.RawMessage: Go sorts the top-level keys only,
        # nested objects keep the source config's key order.
        layer_id = Digest.from_bytes(go_json(dict(sorted(layer_config.items())))).hex
        del layer_config['layer_id']
        layer_config['id'] = layer_id
        result.append((layer_id, go_json(dict(sorted(layer_config.items()))), digest))
        parent = layer_id
    return result


def manifest_json(config_digest: Digest, layer_digests: t.Sequence[Digest], repo_tags: t.Sequence[DockerReference]) -> bytes:
    """manifest.json for one image, as containers/image writes it (tags as ``domain/path:tag``)."""
    item = {
        'Config': config_file_name(config_digest),
        'RepoTags': ['%s:%s' % (tag.name, tag.tag) for tag in repo_tags],
        'Layers': [layer_file_name(digest) for digest in layer_digests],
    }
    return go_json([item])


def repositories_json(repo_tags: t.Sequence[DockerReference], top_layer_id: str | None) -> bytes:
    """The legacy ``repositories`` file: each tag maps to the top layer's legacy ID (``{}`` without layers or tags)."""
    repositories: dict[str, dict[str, str]] = {}
    if top_layer_id:
        for tag in repo_tags:
            repositories.setdefault(tag.name, {})[str(tag.tag)] = top_layer_id
    return go_json(repositories, sort_keys=True)
