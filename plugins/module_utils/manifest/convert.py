# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Manifest format conversions, as pure functions of a manifest, its config and the layers written.

Each conversion reproduces what containers/image (skopeo 1.9) does, so that where its result is
deterministic ours has the same bytes and digest:

- Docker schema2 to OCI: the config is decoded into the OCI image struct and encoded again (a
  new config blob and digest; Docker-only fields are dropped); layer types map gzip to gzip, tar to
  tar, foreign to non-distributable; URLs are kept.
- OCI to Docker schema2: the config blob is kept as it is (only its descriptor's media type
  changes); annotations are dropped; zstd layers are refused (Docker has no zstd type).
- schema1 to schema2 or OCI: the config is rebuilt from the history (see schema1.py), which needs
  the diff_ids of the layers; empty layers are dropped.
- schema2 or OCI to schema1: see :func:`schema1.build_schema1` (signed with a throwaway key, so
  the bytes differ on every run but the digest does not).
- Indexes and lists: :func:`convert_index`.

When the copy rewrote layers (recompression), ``layer_overrides`` gives, per source layer, the
blob as written (``LayerOverride`` or a ``Descriptor``), None for a layer written unchanged. A
rewritten layer gets a fresh descriptor: new media type, digest and size, no URLs or annotations
(they described the old blob), as containers/image does.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.compression import (
    LayerType,
    compression_of_media_type,
    layer_media_type,
)
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    InvalidInputError,
    ManifestError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import gojson
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import (
    Descriptor,
    ImageIndex,
    ImageManifest,
    check_descriptor_content,
    parse_manifest,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest.platform import host_platform
from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import (
    Schema1Manifest,
    build_schema1,
    oci_config_from_docker,
    parse_schema1,
    serialize_schema1,
    sign_schema1,
)

FAMILIES = ('oci', 'docker')

#: The manifest family of each manifest and index media type.
FAMILY_OF = {
    mt.OCI_MANIFEST: 'oci',
    mt.OCI_INDEX: 'oci',
    mt.DOCKER_V2S2: 'docker',
    mt.DOCKER_LIST: 'docker',
    mt.DOCKER_V2S1: 'docker',
    mt.DOCKER_V2S1_SIGNED: 'docker',
}

AnyImageManifest = t.Union[ImageManifest, Schema1Manifest]


@dataclasses.dataclass(frozen=True)
class LayerOverride:
    """A layer as the copy wrote it, when that differs from the source: digest, size, compression."""

    digest: Digest
    size: int
    compression: str | None


LayerEdit = t.Union[LayerOverride, Descriptor, None]


@dataclasses.dataclass(frozen=True)
class ConvertResult:
    """A manifest to write: its bytes, media type and digest, and the blobs it refers to.

    ``config_raw`` is set when the config blob is new (it must be written; the source's does not
    fit); ``extra_blobs`` are other blobs the source lacks (schema1's empty layer). ``changed``
    is False when ``raw`` is the source manifest itself.
    """

    raw: bytes
    media_type: str
    digest: Digest
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    config_raw: bytes | None = None
    extra_blobs: tuple[tuple[Descriptor, bytes], ...] = ()
    changed: bool = True

    @property
    def config_digest(self) -> Digest | None:
        return self.config.digest if self.config is not None else None

    def blobs(self) -> list[Descriptor]:
        """Config first, then layers, then extra blobs, each once: what the destination must hold.

        Blobs in ``extra_blobs`` (and ``config_raw``) come from the conversion, not the source.
        """
        config = [self.config] if self.config is not None else []
        seen: dict[Digest, Descriptor] = {}
        for descriptor in config + list(self.layers) + [descriptor for descriptor, data in self.extra_blobs]:
            seen.setdefault(descriptor.digest, descriptor)
        return list(seen.values())

    def parse(self) -> AnyImageManifest:
        """The result parsed like a manifest read from a source."""
        if self.media_type in mt.SCHEMA1_TYPES:
            return parse_schema1(self.raw, self.media_type)
        return _parse_image(self.raw, self.media_type)


@dataclasses.dataclass(frozen=True)
class IndexConvertResult:
    """An index or list to write, with its children's descriptors (see :func:`convert_index`)."""

    raw: bytes
    media_type: str
    digest: Digest
    index: ImageIndex
    changed: bool = True


def family_of(media_type: str) -> str:
    """'oci' or 'docker' for a manifest or index media type."""
    try:
        return FAMILY_OF[media_type]
    except KeyError:
        raise UnsupportedMediaTypeError('unsupported manifest media type %s' % (media_type or '(none)')) from None


def needs_diff_ids(source_media_type: str, target_media_type: str) -> bool:
    """Whether converting needs the diff_ids of the layers (schema1 to schema2 or OCI)."""
    return source_media_type in mt.SCHEMA1_TYPES and target_media_type in mt.SINGLE_IMAGE_TYPES


def _edits(layers: t.Sequence[Descriptor], layer_overrides: t.Sequence[LayerEdit] | None) -> list[LayerOverride | None]:
    """Normalise ``layer_overrides`` to one LayerOverride or None per layer (None: written as it was)."""
    if layer_overrides is None:
        return [None] * len(layers)
    if len(layer_overrides) != len(layers):
        raise InvalidInputError('layer_overrides has %d entries for %d layers' % (len(layer_overrides), len(layers)))
    out: list[LayerOverride | None] = []
    for layer, edit in zip(layers, layer_overrides):
        if isinstance(edit, Descriptor):
            edit = LayerOverride(digest=edit.digest, size=edit.size, compression=compression_of_media_type(edit.media_type))
        elif edit is not None and not isinstance(edit, LayerOverride):
            raise InvalidInputError('layer_overrides entries must be LayerOverride, Descriptor or None, not %s' % type(edit).__name__)
        if edit is not None and edit.digest == layer.digest and edit.size == layer.size:
            edit = None
        out.append(edit)
    return out


def _layer_type(layer: Descriptor) -> LayerType:
    try:
        return LayerType.of(layer.media_type)
    except UnsupportedMediaTypeError:
        raise UnsupportedMediaTypeError('cannot convert layer %s: unknown media type %s' % (layer.digest, layer.media_type or '(none)')) from None


def _converted_layers(layers: t.Sequence[Descriptor], edits: t.Sequence[LayerOverride | None], family: str) -> list[dict[str, t.Any]]:
    """The layer descriptors (as JSON dicts) of ``layers`` in ``family`` after ``edits``."""
    out = []
    for layer, edit in zip(layers, edits):
        kind = _layer_type(layer)
        if edit is None:
            out.append({'mediaType': layer_media_type(family, kind.compression, kind.nondistributable), 'digest': str(layer.digest),
                        'size': layer.size, 'urls': list(layer.urls) or None})
        else:
            out.append(_fresh_layer(layer, edit, family))
    return out


def _fresh_layer(layer: Descriptor, edit: LayerOverride, family: str) -> dict[str, t.Any]:
    kind = _layer_type(layer)
    if edit.size < 0:
        raise InvalidInputError('layer %s was written with an unknown size' % edit.digest)
    return {'mediaType': layer_media_type(family, edit.compression, kind.nondistributable), 'digest': str(edit.digest),
            'size': edit.size, 'urls': None}


def _verified_config(manifest: ImageManifest, config_raw: bytes | None) -> bytes:
    if config_raw is None:
        raise InvalidInputError('converting %s needs its config blob %s' % (manifest.digest, manifest.config.digest))
    check_descriptor_content(manifest.config, config_raw, 'config')
    return config_raw


def _parse_image(raw: bytes, media_type: str) -> ImageManifest:
    parsed = parse_manifest(raw, media_type)
    if not isinstance(parsed, ImageManifest):  # pragma: no cover - conversions never produce an index
        raise ManifestError('internal error: a manifest conversion produced an index')
    return parsed


def _result(raw: bytes, media_type: str, config_raw: bytes | None, source_config: Digest | None) -> ConvertResult:
    parsed = _parse_image(raw, media_type)
    new_config = config_raw if config_raw is not None and parsed.config.digest != source_config else None
    return ConvertResult(raw=raw, media_type=media_type, digest=parsed.digest, config=parsed.config, layers=parsed.layers,
                         config_raw=new_config)


def _unchanged(manifest: ImageManifest) -> ConvertResult:
    return ConvertResult(raw=manifest.raw, media_type=manifest.media_type, digest=manifest.digest, config=manifest.config,
                         layers=manifest.layers, changed=False)


def _schema1_layers(manifest: Schema1Manifest, layer_overrides: t.Sequence[LayerEdit] | None) -> list[Descriptor]:
    """The non-empty layers of a schema1 image as written (schema1 has no sizes: overrides give them)."""
    edits = _edits(manifest.all_layers, layer_overrides)
    out = []
    for layer, edit, empty in zip(manifest.all_layers, edits, manifest.throwaway):
        if empty:
            continue
        if edit is None:
            raise InvalidInputError('schema1 layer %s has no known size; pass it in layer_overrides' % layer.digest)
        if edit.size < 0:
            raise InvalidInputError('layer %s was written with an unknown size' % edit.digest)
        out.append(Descriptor(media_type=layer_media_type('docker', edit.compression), digest=edit.digest, size=edit.size))
    return out


def _docker_manifest(config: dict[str, t.Any], layers: t.Sequence[dict[str, t.Any]]) -> bytes:
    return gojson.marshal(gojson.S2_MANIFEST, {'schemaVersion': 2, 'mediaType': mt.DOCKER_V2S2, 'config': config, 'layers': list(layers)})


def _oci_manifest(config: dict[str, t.Any], layers: t.Sequence[dict[str, t.Any]]) -> bytes:
    return gojson.marshal(gojson.OCI_MANIFEST, {'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST, 'config': config, 'layers': list(layers)})


def _schema1_to_docker(manifest: Schema1Manifest, layer_overrides: t.Sequence[LayerEdit] | None,
                       diff_ids: t.Sequence[Digest | str] | None) -> tuple[bytes, list[Descriptor]]:
    if diff_ids is None:
        raise InvalidInputError('converting schema1 image %s needs the diff_ids of its layers' % manifest.digest)
    return manifest.to_docker_config(diff_ids), _schema1_layers(manifest, layer_overrides)


def to_oci(manifest: AnyImageManifest, config_raw: bytes | None = None, layer_overrides: t.Sequence[LayerEdit] | None = None,
           diff_ids: t.Sequence[Digest | str] | None = None) -> ConvertResult:
    """Convert to an OCI image manifest (or, from OCI, apply ``layer_overrides``).

    ``config_raw`` is the source config blob (verified against the manifest); schema1 sources have
    none and need ``diff_ids`` (of all layers or of the non-empty ones) and ``layer_overrides``
    for every non-empty layer (schema1 does not record sizes).
    """
    if isinstance(manifest, Schema1Manifest):
        docker_config, layers = _schema1_to_docker(manifest, layer_overrides, diff_ids)
        return _docker_to_oci(docker_config, layers, [None] * len(layers), None)
    if manifest.media_type == mt.OCI_MANIFEST:
        if config_raw is not None:
            check_descriptor_content(manifest.config, config_raw, 'config')
        edits = _edits(manifest.layers, layer_overrides)
        if not any(edits):
            return _unchanged(manifest)
        document = gojson.unmarshal(gojson.OCI_MANIFEST, manifest.raw, 'manifest %s' % manifest.digest)
        document['layers'] = [_fresh_layer(layer, edit, 'oci') if edit is not None else original
                              for layer, edit, original in zip(manifest.layers, edits, document['layers'] or [])]
        return _result(gojson.marshal(gojson.OCI_MANIFEST, document), mt.OCI_MANIFEST, None, manifest.config.digest)
    if manifest.media_type == mt.DOCKER_V2S2:
        return _docker_to_oci(_verified_config(manifest, config_raw), manifest.layers, _edits(manifest.layers, layer_overrides),
                              manifest.config.digest)
    raise UnsupportedMediaTypeError('cannot convert %s manifests' % manifest.media_type)


def _docker_to_oci(docker_config: bytes, layers: t.Sequence[Descriptor], edits: t.Sequence[LayerOverride | None],
                   source_config: Digest | None) -> ConvertResult:
    config_raw = oci_config_from_docker(docker_config)
    config = {'mediaType': mt.OCI_CONFIG, 'digest': str(Digest.from_bytes(config_raw)), 'size': len(config_raw)}
    raw = _oci_manifest(config, _converted_layers(layers, edits, 'oci'))
    return _result(raw, mt.OCI_MANIFEST, config_raw, source_config)


def to_docker_v2s2(manifest: AnyImageManifest, config_raw: bytes | None = None, layer_overrides: t.Sequence[LayerEdit] | None = None,
                   diff_ids: t.Sequence[Digest | str] | None = None) -> ConvertResult:
    """Convert to a Docker schema2 manifest (or, from schema2, apply ``layer_overrides``).

    From OCI the config blob stays as it is; zstd layers are refused (unless rewritten with gzip or
    none), as are OCI artifacts (a config that is not an image config). See :func:`to_oci` for
    schema1 sources.
    """
    if isinstance(manifest, Schema1Manifest):
        docker_config, layers = _schema1_to_docker(manifest, layer_overrides, diff_ids)
        config = {'mediaType': mt.DOCKER_CONFIG, 'size': len(docker_config), 'digest': str(Digest.from_bytes(docker_config))}
        raw = _docker_manifest(config, _converted_layers(layers, [None] * len(layers), 'docker'))
        return _result(raw, mt.DOCKER_V2S2, docker_config, None)
    if config_raw is not None:
        check_descriptor_content(manifest.config, config_raw, 'config')
    edits = _edits(manifest.layers, layer_overrides)
    if manifest.media_type == mt.DOCKER_V2S2:
        if not any(edits):
            return _unchanged(manifest)
        document = gojson.unmarshal(gojson.S2_MANIFEST, manifest.raw, 'manifest %s' % manifest.digest)
        document['layers'] = [_fresh_layer(layer, edit, 'docker') if edit is not None else original
                              for layer, edit, original in zip(manifest.layers, edits, document['layers'] or [])]
        return _result(gojson.marshal(gojson.S2_MANIFEST, document), mt.DOCKER_V2S2, None, manifest.config.digest)
    if manifest.media_type == mt.OCI_MANIFEST:
        _check_image_config(manifest)
        config = {'mediaType': mt.DOCKER_CONFIG, 'size': manifest.config.size, 'digest': str(manifest.config.digest),
                  'urls': list(manifest.config.urls) or None}
        raw = _docker_manifest(config, _converted_layers(manifest.layers, edits, 'docker'))
        return _result(raw, mt.DOCKER_V2S2, None, manifest.config.digest)
    raise UnsupportedMediaTypeError('cannot convert %s manifests' % manifest.media_type)


def _check_image_config(manifest: ImageManifest) -> None:
    if manifest.config.media_type != mt.OCI_CONFIG:
        raise UnsupportedMediaTypeError('%s is not a container image (its config is %s), so it has no Docker form'
                                        % (manifest.digest, manifest.config.media_type or '(none)'))


def to_schema1(manifest: AnyImageManifest, config_raw: bytes | None = None, name: str | None = None, tag: str | None = None,
               layer_overrides: t.Sequence[LayerEdit] | None = None, private_key: t.Any = None,
               now: datetime.datetime | None = None) -> ConvertResult:
    """Convert to a signed Docker schema1 manifest, or update a schema1 one.

    ``name`` is the destination repository path without the registry (``library/busybox``) and
    ``tag`` its tag; containers/image leaves both empty for destinations that are not registries.
    For a schema1 source, None keeps the source's values and nothing changes unless a name, tag
    or layer differs. ``private_key`` and ``now`` make the signature reproducible (tests).
    """
    if isinstance(manifest, Schema1Manifest):
        edits = _edits(manifest.all_layers, layer_overrides)
        new_name = manifest.name if name is None else name
        new_tag = manifest.tag if tag is None else tag
        if not any(edits) and (new_name, new_tag) == (manifest.name, manifest.tag):
            return ConvertResult(raw=manifest.raw, media_type=manifest.media_type, digest=manifest.digest, config=None,
                                 layers=manifest.all_layers, changed=False)
        written = []
        for layer, edit in zip(manifest.all_layers, edits):
            if edit is not None:
                layer = Descriptor(media_type=layer_media_type('docker', edit.compression), digest=edit.digest, size=edit.size)
            written.append(layer)
        payload = serialize_schema1(new_name, new_tag, manifest.architecture, [layer.digest for layer in reversed(written)], manifest.history)
        raw = sign_schema1(payload, private_key, now)
        return ConvertResult(raw=raw, media_type=mt.DOCKER_V2S1_SIGNED, digest=Digest.from_bytes(payload), config=None,
                             layers=tuple(written))
    config = _verified_config(manifest, config_raw)
    if manifest.media_type == mt.OCI_MANIFEST:
        _check_image_config(manifest)
    elif manifest.media_type != mt.DOCKER_V2S2:
        raise UnsupportedMediaTypeError('cannot convert %s manifests' % manifest.media_type)
    edits = _edits(manifest.layers, layer_overrides)
    # As in containers/image, via schema2: the layers must have Docker forms.
    docker_layers = [Descriptor(media_type=item['mediaType'], digest=Digest(item['digest']), size=item['size'])
                     for item in _converted_layers(manifest.layers, edits, 'docker')]
    build = build_schema1(name or '', tag or '', manifest.layers, config, written_layers=docker_layers, private_key=private_key, now=now)
    return ConvertResult(raw=build.raw, media_type=build.media_type, digest=build.digest, config=None, layers=build.layers,
                         extra_blobs=build.extra_blobs)


def convert_manifest(manifest: AnyImageManifest, media_type: str, config_raw: bytes | None = None,
                     layer_overrides: t.Sequence[LayerEdit] | None = None, diff_ids: t.Sequence[Digest | str] | None = None,
                     name: str | None = None, tag: str | None = None) -> ConvertResult:
    """Convert ``manifest`` to ``media_type`` (a single-image type), dispatching to the functions above."""
    if media_type == mt.OCI_MANIFEST:
        return to_oci(manifest, config_raw, layer_overrides, diff_ids)
    if media_type == mt.DOCKER_V2S2:
        return to_docker_v2s2(manifest, config_raw, layer_overrides, diff_ids)
    if media_type in mt.SCHEMA1_TYPES:
        # Both schema1 types are written signed: registries reject unsigned schema1 whatever its type says.
        return to_schema1(manifest, config_raw, name, tag, layer_overrides)
    raise UnsupportedMediaTypeError('cannot convert a manifest to %s' % (media_type or '(none)'))


def _update_of(item: t.Any) -> tuple[str, int, str]:
    """(digest, size, media type) of a converted child: a Descriptor, a ConvertResult or anything with raw bytes."""
    if isinstance(item, Descriptor):
        return str(item.digest), item.size, item.media_type
    raw = getattr(item, 'raw', None)
    if isinstance(raw, bytes) and getattr(item, 'digest', None) is not None and getattr(item, 'media_type', None):
        return str(item.digest), len(raw), item.media_type
    raise InvalidInputError('index instance updates must be Descriptors or converted manifests, not %s' % type(item).__name__)


def _clone_oci_descriptor(desc: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    platform = desc['platform']
    if platform is not None:
        platform = {key: platform[key] for key in ('architecture', 'os', 'os.version', 'os.features', 'variant')}
    return {'mediaType': desc['mediaType'], 'digest': desc['digest'], 'size': desc['size'], 'urls': desc['urls'],
            'annotations': desc['annotations'], 'platform': platform}


def _clone_docker_descriptor(desc: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {'mediaType': desc['mediaType'], 'size': desc['size'], 'digest': desc['digest'], 'urls': desc['urls'],
            'platform': dict(desc['platform'])}


def convert_index(index: ImageIndex, family: str, instances: t.Sequence[t.Any] | None = None,
                  default_platform: tuple[str, str] | None = None) -> IndexConvertResult:
    """An index or list of ``family`` ('oci' or 'docker') for ``index`` whose children became ``instances``.

    ``instances`` has one entry per child of ``index``: None for a child copied unchanged, else
    its new descriptor (or the ConvertResult of its conversion). As in containers/image, the
    index is rebuilt (unknown fields dropped) and converted; when the result serialises the same
    as the source did, the source bytes are kept so the digest does not change. An OCI child
    without a platform gets ``default_platform`` (os, architecture) in a Docker list, this host's
    by default as in containers/image.
    """
    if family not in FAMILIES:
        raise InvalidInputError('unknown manifest family %r: expected oci or docker' % (family,))
    if instances is not None and len(instances) != len(index.manifests):
        raise InvalidInputError('%d instance updates for an index of %d manifests' % (len(instances), len(index.manifests)))
    what = 'index %s' % index.digest
    if index.media_type == mt.OCI_INDEX:
        spec = gojson.OCI_INDEX
        original = gojson.decode_struct(spec, gojson.loads(index.raw, what), what,
                                        into=dict(gojson.new_struct(spec), schemaVersion=2, manifests=[], annotations={}))
        updated: dict[str, t.Any] = {'schemaVersion': 2, 'mediaType': mt.OCI_INDEX, 'annotations': original['annotations'],
                                     'manifests': [_clone_oci_descriptor(desc) for desc in original['manifests'] or []]}
    elif index.media_type == mt.DOCKER_LIST:
        spec = gojson.S2_LIST
        original = gojson.decode_struct(spec, gojson.loads(index.raw, what), what, into=dict(gojson.new_struct(spec), manifests=[]))
        updated = {'schemaVersion': 2, 'mediaType': mt.DOCKER_LIST,
                   'manifests': [_clone_docker_descriptor(desc) for desc in original['manifests'] or []]}
    else:
        raise UnsupportedMediaTypeError('cannot convert %s indexes' % index.media_type)
    if len(updated['manifests']) != len(index.manifests):
        raise ManifestError('%s: its manifests could not be read consistently' % what)
    for desc, item in zip(updated['manifests'], instances or [None] * len(index.manifests)):
        if item is not None:
            desc['digest'], desc['size'], desc['mediaType'] = _update_of(item)
    if family == 'docker' and spec is gojson.OCI_INDEX:
        host_os, host_arch = default_platform or host_platform()[:2]
        children = []
        for desc in updated['manifests']:
            platform = desc['platform'] or {'architecture': host_arch, 'os': host_os, 'os.version': '', 'os.features': None, 'variant': ''}
            children.append({'mediaType': desc['mediaType'], 'size': desc['size'], 'digest': desc['digest'], 'urls': desc['urls'],
                             'platform': dict(platform, features=None)})
        updated, spec = {'schemaVersion': 2, 'mediaType': mt.DOCKER_LIST, 'manifests': children}, gojson.S2_LIST
    elif family == 'oci' and spec is gojson.S2_LIST:
        children = []
        for desc in updated['manifests']:
            platform = {key: desc['platform'][key] for key in ('architecture', 'os', 'os.version', 'os.features', 'variant')}
            children.append({'mediaType': desc['mediaType'], 'digest': desc['digest'], 'size': desc['size'], 'urls': desc['urls'],
                             'annotations': None, 'platform': platform})
        updated, spec = {'schemaVersion': 2, 'mediaType': mt.OCI_INDEX, 'manifests': children, 'annotations': None}, gojson.OCI_INDEX
    raw = gojson.marshal(spec, updated)
    source_spec = gojson.OCI_INDEX if index.media_type == mt.OCI_INDEX else gojson.S2_LIST
    if spec is source_spec and raw == gojson.marshal(source_spec, original):
        return IndexConvertResult(raw=index.raw, media_type=index.media_type, digest=index.digest, index=index, changed=False)
    media_type = updated['mediaType']
    parsed = parse_manifest(raw, media_type)
    if not isinstance(parsed, ImageIndex):  # pragma: no cover - an index stays an index
        raise ManifestError('internal error: an index conversion produced a manifest')
    return IndexConvertResult(raw=raw, media_type=media_type, digest=parsed.digest, index=parsed)


def same_content(left: t.Any, right: t.Any) -> bool:
    """Whether two manifests (or conversion results) describe the same image content.

    Same config digest and the same layers in the same order (digests and media types); whatever
    else differs (annotations, URLs, formatting, signatures) does not count. A way to decide that
    a destination already holds what a conversion would write.
    """
    def key(manifest: t.Any) -> tuple[t.Any, ...]:
        config = getattr(manifest, 'config', None)
        layers = manifest.all_layers if isinstance(manifest, Schema1Manifest) else manifest.layers
        return (config.digest if config is not None else None,
                tuple((layer.digest, layer.media_type) for layer in layers))
    return key(left) == key(right)
