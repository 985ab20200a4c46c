# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What ``skopeo inspect`` reports about an image, computed from its manifest and config."""

from __future__ import annotations

import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.errors import ManifestError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import ImageIndex, ImageManifest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.parse import parse_any
from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import Schema1Manifest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.platform import choose_instance, platform_list
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ConnectionOptions, ImageReference

# The fields of the OCI image config's "config" object, as containers/image's OCIConfig keeps them
# when it converts a Docker config.
_OCI_RUNTIME_KEYS = ('User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal',
                     'ArgsEscaped')
_OCI_TOP_KEYS = ('created', 'author', 'architecture', 'variant', 'os', 'os.version', 'os.features', 'config', 'rootfs', 'history')


def oci_config(config: dict[str, t.Any]) -> dict[str, t.Any]:
    """The config in OCI form (skopeo inspect --config): Docker-only fields dropped."""
    out = {k: config[k] for k in _OCI_TOP_KEYS if k in config and config[k] is not None}
    if isinstance(config.get('config'), dict):
        out['config'] = {k: v for k, v in config['config'].items() if k in _OCI_RUNTIME_KEYS and v not in (None, {}, [], '', False)}
    if isinstance(out.get('history'), list):
        out['history'] = [{k: v for k, v in h.items() if k in ('created', 'created_by', 'author', 'comment', 'empty_layer')}
                          for h in out['history'] if isinstance(h, dict)]
    return out


def _load_config(raw: bytes) -> dict[str, t.Any]:
    data = jsonutil.loads(raw, 'image config', ManifestError)
    if not isinstance(data, dict):
        raise ManifestError('image config is not a JSON object')
    return data


def _repo_tags(ref: ImageReference, src: t.Any, no_tags: bool) -> list[str]:
    """The repository's tags, listed only for registry images, as skopeo inspect does.

    A local store may carry a docker reference (``docker-archive:PATH:NAME:TAG``) without being a
    repository whose tags can be listed; skopeo 1.9.3 reports ``RepoTags: []`` there, and so do we.
    """
    if no_tags or ref.transport.name != 'docker' or ref.docker_reference() is None:
        return []
    return src.list_tags()


def inspect_image(ref: ImageReference, options: ConnectionOptions, raw: bool = False, config: bool = False,
                  no_tags: bool = False, override_os: str | None = None, override_arch: str | None = None,
                  override_variant: str | None = None) -> dict[str, t.Any]:
    """Inspect ``ref`` as ``skopeo inspect`` does; returns the module's result keys."""
    with ref.new_source(options) as src:
        top_raw, media_type = src.get_manifest()
        top = parse_any(top_raw, media_type)
        result: dict[str, t.Any] = {'changed': False, 'digest': str(top.digest), 'media_type': top.media_type}
        if raw and not config:
            result['manifest'] = jsonutil.loads(top_raw, 'manifest', ManifestError)
            return result
        if isinstance(top, Schema1Manifest):
            return _inspect_schema1(ref, src, top, result, config, raw, no_tags)
        image = top
        if isinstance(top, ImageIndex):
            # Imported here: the copy engine is a third of image_inspect's start-up, and only an index needs this reader of it.
            from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import read_child  # pylint: disable=import-outside-toplevel

            chosen = choose_instance(top, override_os, override_arch, override_variant)
            image = read_child(src, chosen)
            result['platform_digest'] = str(chosen.digest)
            result['platforms'] = platform_list(top)
        if not isinstance(image, ImageManifest):  # pragma: no cover - parse_manifest returns one of two
            raise ManifestError('unexpected manifest type %s' % image.media_type)
        config_desc = image.config
        config_raw = src.get_blob_bytes(BlobInfo(config_desc.digest, config_desc.size, config_desc.media_type),
                                        mt.MAX_CONFIG_SIZE, 'image config')
        cfg = _load_config(config_raw)
        if config:
            # As skopeo: --config prints the config in OCI form, --config --raw the bytes as stored.
            result['config'] = cfg if raw else oci_config(cfg)
            return result
        runtime = cfg.get('config') if isinstance(cfg.get('config'), dict) else {}
        docker_ref = ref.docker_reference()
        inspect: dict[str, t.Any] = {}
        if docker_ref is not None:
            inspect['Name'] = docker_ref.name
            if docker_ref.tag:
                inspect['Tag'] = docker_ref.tag
        inspect['Digest'] = str(top.digest)
        inspect['RepoTags'] = _repo_tags(ref, src, no_tags)
        inspect['Created'] = cfg.get('created')
        inspect['DockerVersion'] = cfg.get('docker_version', '') or ''
        inspect['Labels'] = runtime.get('Labels') or None
        inspect['Architecture'] = cfg.get('architecture', '') or ''
        if cfg.get('variant'):
            inspect['Variant'] = cfg['variant']
        inspect['Os'] = cfg.get('os', '') or ''
        inspect['Layers'] = [str(layer.digest) for layer in image.layers]
        inspect['LayersData'] = [{'MIMEType': layer.media_type, 'Digest': str(layer.digest), 'Size': layer.size,
                                  'Annotations': dict(layer.annotations) if layer.annotations else None}
                                 for layer in image.layers]
        inspect['Env'] = runtime.get('Env') or None
        result['inspect'] = inspect
        return result


def _inspect_schema1(ref: ImageReference, src: t.Any, top: Schema1Manifest, result: dict[str, t.Any], config: bool, raw: bool,
                     no_tags: bool) -> dict[str, t.Any]:
    """What skopeo inspect prints for a Docker schema1 image: everything comes from the newest v1Compatibility entry."""
    first = _load_config(top.history[0].encode('utf-8'))
    if config:
        # skopeo builds the config from the manifest; without layer diff_ids it cannot, and neither can we.
        raise ManifestError('%s is Docker schema1: it has no config blob; inspect it without config (or copy it to convert it first)'
                            % top.digest)
    runtime = first.get('config') if isinstance(first.get('config'), dict) else {}
    docker_ref = ref.docker_reference()
    inspect: dict[str, t.Any] = {}
    if docker_ref is not None:
        inspect['Name'] = docker_ref.name
        if docker_ref.tag:
            inspect['Tag'] = docker_ref.tag
    inspect['Digest'] = str(top.digest)
    inspect['RepoTags'] = _repo_tags(ref, src, no_tags)
    inspect['Created'] = first.get('created')
    inspect['DockerVersion'] = first.get('docker_version', '') or ''
    inspect['Labels'] = runtime.get('Labels') or None
    inspect['Architecture'] = first.get('architecture', '') or top.architecture or ''
    if first.get('variant'):
        inspect['Variant'] = first['variant']
    inspect['Os'] = first.get('os', '') or ''
    layers = top.all_layers
    inspect['Layers'] = [str(layer.digest) for layer in layers]
    inspect['LayersData'] = [{'MIMEType': layer.media_type, 'Digest': str(layer.digest), 'Size': layer.size, 'Annotations': None}
                             for layer in layers]
    inspect['Env'] = runtime.get('Env') or None
    result['inspect'] = inspect
    del raw
    return result
