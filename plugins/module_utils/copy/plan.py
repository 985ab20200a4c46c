# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The copy plan: a pure function of what the source holds, what the destination holds, and the options.

Check mode, diff mode and the real copy all use the same plan, so a prediction can never disagree
with what a run would do.

For each image the plan decides the manifest type to write (the source's, or ``format``, or what
the destination accepts), and each layer's fate (see layers.py). When no layer's bytes change, the
manifest to write is known before anything moves ("exact"): the destination is up to date when it
holds that digest. When layers are (re)compressed their new digests are only known after the
transfer, so the destination is up to date when it holds the same content in the requested form:
the same config digest and the same layer sequence in the requested media types (config digests
pin the uncompressed layers through rootfs.diff_ids).
"""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.copy.layers import KEEP, MEASURE, WANT_COMPRESSED, WANT_DECOMPRESSED, LayerStep, plan_layer
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.compression import check_level, compression_of_media_type
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, ManifestError, OcikitError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.convert import ConvertResult, LayerOverride, convert_manifest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import ImageIndex, ImageManifest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import Schema1Manifest
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo

MULTI_ARCH_CHOICES = ('system', 'all', 'index-only')
#: Destinations that may hold an index whose images are elsewhere (a registry resolves children by digest in the
#: repository); any other destination is one image, and an index there without its images would be a broken image.
SPARSE_TRANSPORTS = ('docker',)
FORMAT_TYPES = {'oci': mt.OCI_MANIFEST, 'v2s2': mt.DOCKER_V2S2, 'v2s1': mt.DOCKER_V2S1_SIGNED}
FORMAT_INDEX_TYPES = {'oci': mt.OCI_INDEX, 'v2s2': mt.DOCKER_LIST}
COMPRESS_FORMATS = ('gzip', 'zstd')


@dataclasses.dataclass(frozen=True)
class CopyOptions:
    """What the user asked of a copy, beyond where from and where to."""

    multi_arch: str = 'system'
    override_os: str | None = None
    override_arch: str | None = None
    override_variant: str | None = None
    platforms: tuple[str, ...] = ()
    preserve_digests: bool = False
    force: bool = False
    format: str | None = None
    compress_format: str | None = None
    compress_level: int | None = None
    dest_compress: bool = False
    dest_decompress: bool = False
    oci_accept_uncompressed_layers: bool = False
    remove_signatures: bool = False

    def __post_init__(self) -> None:
        if self.multi_arch not in MULTI_ARCH_CHOICES:
            raise InvalidInputError('invalid multi_arch %r: expected one of %s' % (self.multi_arch, ', '.join(MULTI_ARCH_CHOICES)))
        if self.format is not None and self.format not in FORMAT_TYPES:
            raise InvalidInputError('invalid format %r: expected one of %s' % (self.format, ', '.join(FORMAT_TYPES)))
        if self.compress_format is not None and self.compress_format not in COMPRESS_FORMATS:
            raise InvalidInputError('invalid dest_compress_format %r: expected gzip or zstd' % (self.compress_format,))
        # Validated whatever the plan turns out to be: a level that cannot work is an error even on a
        # run that recompresses nothing (gzip unless a format is chosen, as skopeo).
        check_level(self.compress_format or 'gzip', self.compress_level)
        if self.dest_compress and self.dest_decompress:
            raise InvalidInputError('dest_compress and dest_decompress exclude each other')


@dataclasses.dataclass(frozen=True)
class DestinationTraits:
    """What the plan needs to know about a destination."""

    supported_types: tuple[str, ...] = ()
    supports_index: bool = True
    layer_compression: str = 'preserve'
    transport: str = ''
    #: Repository path and tag of a docker destination: a schema1 manifest written there must carry them.
    docker_name: str = ''
    docker_tag: str = ''
    #: The destination knows images by ID, the config digest (docker-daemon:, containers-storage:): a name is up to date when
    #: it holds the image ID the copy would write (ImageDestination.by_image_id).
    by_image_id: bool = False


@dataclasses.dataclass(frozen=True)
class SourceImage:
    """What was read, verified and parsed from the source.

    ``top`` is the manifest the source name points at. ``instances`` are the single-image manifests
    read from an index (the chosen platform only, or those to copy), in index order; ``configs``
    their config blobs, by config digest. ``chosen`` is the instance picked for the host platform
    when a single image is copied out of an index.
    """

    top: ImageManifest | ImageIndex
    instances: tuple[ImageManifest, ...] = ()
    chosen: ImageManifest | None = None
    chosen_platform: str | None = None
    configs: t.Mapping[str, bytes] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ManifestWrite:
    """One manifest to store: raw bytes, media type, digest."""

    raw: bytes
    media_type: str
    digest: Digest


@dataclasses.dataclass(frozen=True)
class ImagePlan:
    """One single image to write: the source, the target type, the config and each layer's fate.

    ``conversion`` is the manifest as it will be written when ``exact`` (no layer bytes change);
    otherwise it is the conversion with the source layers, whose config is final but whose layer
    digests the transfer will replace.
    """

    source: ImageManifest
    target_type: str
    layers: tuple[LayerStep, ...]
    conversion: ConvertResult
    exact: bool

    @property
    def converted(self) -> bool:
        return self.conversion.changed

    @property
    def config_raw(self) -> bytes | None:
        """New config bytes to store (None: the source's config is kept)."""
        return self.conversion.config_raw

    def requested_layer_types(self) -> tuple[str, ...]:
        return tuple(step.media_type for step in self.layers)


@dataclasses.dataclass(frozen=True)
class CopyPlan:
    """Everything a copy will do, decided before anything is written.

    ``manifest`` is the manifest the destination name will point at when it is known in advance
    (always, unless layers change bytes); ``images`` the single images to write; for an index,
    ``index`` is the source index and ``index_type`` the type to write it as.
    """

    images: tuple[ImagePlan, ...]
    source_digest: Digest
    before: Digest | None
    up_to_date: bool
    reason: str
    manifest: ManifestWrite | None
    index: ImageIndex | None = None
    index_type: str | None = None
    platform: str | None = None
    rule: str = 'digest'
    #: The index is written without its images (``multi_arch: index-only`` into a registry).
    sparse: bool = False
    #: For a destination that knows images by ID (``DestinationTraits.by_image_id``): the ID (config digest) the name will hold,
    #: and the one it holds now (None: no image). ``before`` is then None: its manifest would take an export to know.
    image_id: Digest | None = None
    before_image_id: Digest | None = None

    @property
    def after(self) -> Digest | None:
        return self.manifest.digest if self.manifest is not None else None

    @property
    def exact(self) -> bool:
        return self.manifest is not None

    def blobs(self) -> tuple[BlobInfo, ...]:
        """Source blobs kept as they are (config first), each once."""
        seen: dict[str, BlobInfo] = {}
        for image in self.images:
            if image.config_raw is None and image.source.config is not None:
                desc = image.source.config
                seen.setdefault(str(desc.digest), BlobInfo(desc.digest, desc.size, desc.media_type))
            for step in image.layers:
                if not step.changes_bytes:
                    desc = step.source
                    seen.setdefault(str(desc.digest), BlobInfo(desc.digest, desc.size, desc.media_type))
        return tuple(seen.values())


def _family(media_type: str) -> str:
    return 'oci' if media_type in (mt.OCI_MANIFEST, mt.OCI_INDEX) else 'docker'


def choose_manifest_type(source_type: str, traits: DestinationTraits, fmt: str | None) -> str:
    """The single-image manifest type to write, as containers/image's determineManifestConversion."""
    supported = [m for m in traits.supported_types if m not in mt.INDEX_TYPES] or list(mt.SINGLE_IMAGE_TYPES + mt.SCHEMA1_TYPES)
    if fmt is not None:
        wanted = FORMAT_TYPES[fmt]
        candidates = [wanted] + ([mt.DOCKER_V2S1] if wanted == mt.DOCKER_V2S1_SIGNED else [])
        for candidate in candidates:
            if candidate in supported:
                return candidate
        raise InvalidInputError('the destination cannot store format %s (%s); it accepts %s' % (fmt, wanted, ', '.join(supported)))
    if source_type in supported:
        return source_type
    preference = (mt.DOCKER_V2S2, mt.OCI_MANIFEST) if _family(source_type) == 'docker' else (mt.OCI_MANIFEST, mt.DOCKER_V2S2)
    for candidate in preference + mt.SCHEMA1_TYPES:
        if candidate in supported:
            return candidate
    raise InvalidInputError('the destination cannot store %s manifests (it accepts %s)' % (source_type, ', '.join(supported)))


def choose_index_type(source_type: str, traits: DestinationTraits, fmt: str | None) -> str:
    """The index type to write: the source's unless ``format`` or the destination asks otherwise."""
    if not traits.supports_index:
        raise InvalidInputError('the destination cannot store an index; set multi_arch: system to copy one platform')
    if fmt == 'v2s1':
        raise InvalidInputError('format v2s1 cannot hold an index (schema1 is single-image); set multi_arch: system')
    wanted = FORMAT_INDEX_TYPES[fmt] if fmt else source_type
    supported = [m for m in traits.supported_types if m in mt.INDEX_TYPES] or list(mt.INDEX_TYPES)
    if wanted in supported:
        return wanted
    if fmt:
        raise InvalidInputError('the destination cannot store %s indexes' % wanted)
    return supported[0]


def wanted_layer_compression(traits: DestinationTraits, options: CopyOptions) -> str:
    """The destination's layer preference, adjusted by dest_compress / dest_decompress / accept-uncompressed."""
    if options.dest_decompress:
        return WANT_DECOMPRESSED
    if options.dest_compress:
        return WANT_COMPRESSED
    if options.oci_accept_uncompressed_layers and traits.transport in ('oci', 'oci-archive') and traits.layer_compression == WANT_COMPRESSED:
        return 'preserve'
    return traits.layer_compression


def plan_schema1(manifest: Schema1Manifest, traits: DestinationTraits, options: CopyOptions) -> ImagePlan:
    """Plan a Docker schema1 image: kept as it is where the destination stores schema1, else converted.

    Schema1 records neither layer sizes nor diff_ids, and its config is rebuilt from them
    (containers/image's ToSchema2Config): converting measures every layer on the way (bytes kept,
    gzip as they are) and builds the manifest after the transfer.
    """
    target_type = choose_manifest_type(manifest.media_type, traits, options.format)
    unique: dict[str, t.Any] = {}
    for layer in manifest.all_layers:
        unique.setdefault(str(layer.digest), layer)
    if target_type in mt.SCHEMA1_TYPES:
        # Re-signing would change the digest: the manifest is kept byte for byte, layers too.
        steps = tuple(LayerStep(source=layer, action=KEEP, compression='gzip', media_type=layer.media_type) for layer in unique.values())
        conversion = ConvertResult(raw=manifest.raw, media_type=manifest.media_type, digest=manifest.digest, config=None,
                                   layers=manifest.all_layers, changed=False)
        return ImagePlan(source=t.cast(ImageManifest, manifest), target_type=manifest.media_type, layers=steps, conversion=conversion,
                         exact=True)
    if options.preserve_digests:
        raise InvalidInputError('preserve_digests: converting Docker schema1 image %s to %s changes its digest' % (manifest.digest, target_type))
    steps = tuple(LayerStep(source=layer, action=MEASURE, compression='gzip', media_type=layer.media_type) for layer in unique.values())
    # Placeholder until the layers are measured: the real conversion happens after the transfer.
    conversion = ConvertResult(raw=b'', media_type=target_type, digest=manifest.digest, config=None, layers=(), changed=True)
    return ImagePlan(source=t.cast(ImageManifest, manifest), target_type=target_type, layers=steps, conversion=conversion, exact=False)


def plan_image(manifest: ImageManifest, config_raw: bytes | None, traits: DestinationTraits, options: CopyOptions,
               forced_type: str | None = None) -> ImagePlan:
    """Plan one single image: target type, layer steps and the conversion (pure)."""
    if isinstance(manifest, Schema1Manifest):
        return plan_schema1(manifest, traits, options)
    target_type = forced_type or choose_manifest_type(manifest.media_type, traits, options.format)
    family = _family(target_type)
    wanted = wanted_layer_compression(traits, options)
    steps = tuple(plan_layer(layer, family, wanted, options.compress_format, options.preserve_digests) for layer in manifest.layers)
    changes_bytes = any(step.changes_bytes for step in steps)
    # With layers changing bytes, their digests are only known after the transfer: this conversion
    # uses stand-ins with the target compression (so media types are what will be written, and a
    # zstd layer bound for a Docker image is not refused); its config is final.
    overrides = [LayerOverride(Digest.from_bytes(b'pending ' + str(step.source.digest).encode()), max(step.source.size, 0), step.compression)
                 if step.changes_bytes else None for step in steps] if changes_bytes else None
    conversion = convert_manifest(manifest, target_type, config_raw, layer_overrides=overrides, name=traits.docker_name or None,
                                  tag=traits.docker_tag or None)
    if options.preserve_digests and conversion.changed:
        raise InvalidInputError('preserve_digests: writing %s as %s changes its digest' % (manifest.media_type, target_type))
    return ImagePlan(source=manifest, target_type=target_type, layers=steps, conversion=conversion, exact=not changes_bytes)


def make_plan(source: SourceImage, before: Digest | None, options: CopyOptions, traits: DestinationTraits,
              current: ImageManifest | ImageIndex | None = None, current_children: t.Sequence[ImageManifest] | None = None,
              current_config: bytes | None = None, before_image_id: Digest | None = None) -> CopyPlan:
    """Decide what to write and whether the destination already holds it.

    ``before`` is the digest the destination name holds now; ``current`` its manifest (and
    ``current_children``, an index's children), which are only needed (and only read by the
    caller) when the plan is not exact.

    For a destination that knows images by ID (``traits.by_image_id``), ``before_image_id`` is the
    ID its name holds now and decides, when the plan knows the config it writes (every single image
    but a schema1 one, whose config is made from the layers): the same ID is the same config, whose
    ``diff_ids`` pin the uncompressed layers such a store keeps, so nothing needs to be read back
    (the ``image_id`` rule). The caller passes ``before`` None then; see :func:`decided_by_image_id`.
    """
    top = source.top
    configs = source.configs
    index_type = None
    platform = None
    sparse = isinstance(top, ImageIndex) and options.multi_arch == 'index-only'
    if sparse and traits.transport and traits.transport not in SPARSE_TRANSPORTS:
        raise InvalidInputError('multi_arch: index-only cannot write to a %s: destination: only a registry can hold an index without '
                                'its images, anywhere else the index alone is a broken image; use multi_arch: all (or platforms '
                                'to choose some)' % traits.transport)
    if isinstance(top, ImageIndex) and (options.multi_arch in ('all', 'index-only') or options.platforms):
        index_type = choose_index_type(top.media_type, traits, options.format)
        images = tuple(plan_image(m, configs.get(str(m.config.digest)), traits, options) for m in source.instances)
        manifest = _index_write(top, images, index_type, source, options)
    elif isinstance(top, ImageIndex):
        if source.chosen is None:
            raise InvalidInputError('no platform was chosen from the source index')
        if options.preserve_digests:
            raise InvalidInputError('preserve_digests: the source is an index (%s) and copying one platform would change the '
                                    'digest; use multi_arch: all' % top.digest)
        images = (plan_image(source.chosen, configs.get(str(source.chosen.config.digest)), traits, options),)
        manifest = _single_write(images[0])
        platform = source.chosen_platform
    else:
        config_key = str(top.config.digest) if top.config is not None else ''
        images = (plan_image(top, configs.get(config_key), traits, options),)
        manifest = _single_write(images[0])
    image_id = images[0].conversion.config_digest if decided_by_image_id(traits, images, index_type) else None
    if image_id is not None:
        up_to_date, reason, rule = _decide_image_id(image_id, before_image_id, options)
        return CopyPlan(images=images, source_digest=top.digest, before=None, up_to_date=up_to_date, reason=reason, manifest=manifest,
                        platform=platform, rule=rule, image_id=image_id, before_image_id=before_image_id)
    if isinstance(top, Schema1Manifest) and manifest is None:
        up_to_date, reason, rule = _decide_schema1(top, images[0], before, current, current_config, options)
    else:
        up_to_date, reason, rule = _decide(manifest, images, before, current, current_children, options, index_type)
    return CopyPlan(images=images, source_digest=top.digest, before=before, up_to_date=up_to_date, reason=reason, manifest=manifest,
                    index=top if index_type else None, index_type=index_type, platform=platform, rule=rule, sparse=sparse)


def _single_write(image: ImagePlan) -> ManifestWrite | None:
    if not image.exact:
        return None
    conv = image.conversion
    return ManifestWrite(conv.raw, conv.media_type, conv.digest)


def _index_write(top: ImageIndex, images: tuple[ImagePlan, ...], index_type: str, source: SourceImage,
                 options: CopyOptions) -> ManifestWrite | None:
    """The index to write when it is known in advance (every child exact), else None."""
    from ansible_collections.ocikit.images.plugins.module_utils.copy.index import build_index

    if not all(image.exact for image in images):
        return None
    written = {str(image.source.digest): image.conversion for image in images}
    result = build_index(top, index_type, written, options.platforms, options.multi_arch == 'index-only')
    if options.preserve_digests and result.digest != top.digest:
        raise InvalidInputError('preserve_digests: the index would be rewritten (%s), which changes its digest' % index_type)
    return ManifestWrite(result.raw, result.media_type, result.digest)


def _decide(manifest: ManifestWrite | None, images: tuple[ImagePlan, ...], before: Digest | None,
            current: ImageManifest | ImageIndex | None, current_children: t.Sequence[ImageManifest] | None,
            options: CopyOptions, index_type: str | None) -> tuple[bool, str, str]:
    """(up_to_date, reason, rule) for the plan."""
    if before is None:
        return False, 'destination holds no image', 'digest' if manifest is not None else 'content'
    if manifest is not None:
        if before == manifest.digest:
            if options.force:
                return False, 'force: copied although the destination holds %s' % before, 'digest'
            return True, 'destination already holds %s' % before, 'digest'
        return False, 'destination holds %s' % before, 'digest'
    # Layers change bytes: compare content in the requested form.
    if current is not None and _same_content(current, current_children, images, index_type):
        if options.force:
            return False, 'force: copied although the destination holds the same content (%s)' % before, 'content'
        return True, 'destination already holds the same config and layers in the requested form (%s)' % before, 'content'
    return False, 'destination holds %s' % before, 'content'


def decided_by_image_id(traits: DestinationTraits, images: t.Sequence[ImagePlan], index_type: str | None) -> bool:
    """Whether the plan of ``images`` for a destination with ``traits`` is decided by image ID (see :func:`make_plan`)."""
    return (traits.by_image_id and index_type is None and len(images) == 1 and not isinstance(images[0].source, Schema1Manifest)
            and images[0].conversion.config_digest is not None)


def _decide_image_id(image_id: Digest, before_image_id: Digest | None, options: CopyOptions) -> tuple[bool, str, str]:
    """(up_to_date, reason, rule) for a destination that knows images by ID."""
    if before_image_id is None:
        return False, 'destination holds no image', 'image_id'
    if before_image_id != image_id:
        return False, 'destination holds the image ID %s' % before_image_id, 'image_id'
    if options.force:
        return False, 'force: copied although the destination holds the image ID %s' % image_id, 'image_id'
    return True, 'destination already holds the image ID %s (the same config, so the same layers)' % image_id, 'image_id'


def _image_matches(current: ImageManifest, image: ImagePlan) -> bool:
    wanted_config = image.conversion.config_digest
    return (current.media_type == image.target_type and wanted_config is not None and current.config.digest == wanted_config
            and tuple(layer.media_type for layer in current.layers) == image.requested_layer_types())


def _same_content(current: t.Any, children: t.Sequence[ImageManifest] | None, images: tuple[ImagePlan, ...],
                  index_type: str | None) -> bool:
    """Whether the destination's current manifest (and an index's children, per platform) matches the plan's content."""
    if index_type is None:
        return isinstance(current, ImageManifest) and _image_matches(current, images[0])
    if not isinstance(current, ImageIndex) or current.media_type != index_type or children is None or len(children) != len(images):
        return False
    return all(isinstance(child, ImageManifest) and _image_matches(child, image) for child, image in zip(children, images))


def _decide_schema1(top: Schema1Manifest, image: ImagePlan, before: Digest | None, current: t.Any, current_config: bytes | None,
                    options: CopyOptions) -> tuple[bool, str, str]:
    """A schema1 conversion is up to date when converting with the destination's own sizes and diff_ids gives what it holds.

    The layers keep their bytes, so the destination must hold the same layer digests; its config
    then supplies the diff_ids the conversion needs, and the rebuilt manifest's digest decides.
    """
    if before is None:
        return False, 'destination holds no image', 'content'
    if not isinstance(current, ImageManifest) or current_config is None or current.media_type != image.target_type:
        return False, 'destination holds %s' % before, 'content'
    if [str(layer.digest) for layer in current.layers] != [str(layer.digest) for layer in top.layers]:
        return False, 'destination holds %s' % before, 'content'
    try:
        diff_ids = jsonutil.loads(current_config, 'config', ManifestError)['rootfs']['diff_ids']
        sizes = {str(layer.digest): layer for layer in current.layers}
        overrides = [None if empty else LayerOverride(layer.digest, sizes[str(layer.digest)].size,
                                                      compression_of_media_type(sizes[str(layer.digest)].media_type))
                     for layer, empty in zip(top.all_layers, top.throwaway)]
        expected = convert_manifest(top, image.target_type, None, layer_overrides=overrides, diff_ids=diff_ids)
    except (ValueError, KeyError, TypeError, OcikitError):
        return False, 'destination holds %s' % before, 'content'
    if expected.digest != before:
        return False, 'destination holds %s' % before, 'content'
    if options.force:
        return False, 'force: copied although the destination holds the converted image (%s)' % before, 'content'
    return True, 'destination already holds this schema1 image converted to %s (%s)' % (image.target_type, before), 'content'
