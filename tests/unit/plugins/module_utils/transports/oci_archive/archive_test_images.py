# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Small real images, archive builders and tool runners shared by the oci-archive and docker-archive tests."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ImageDestination

SKOPEO = shutil.which('skopeo')
PODMAN = shutil.which('podman')


@dataclasses.dataclass
class Image:
    """A config, layer blobs (as stored) and the manifest naming them; ``diff_ids`` of the layers."""

    config: bytes
    layers: list[bytes]
    manifest: bytes
    media_type: str
    layer_media_type: str
    diff_ids: list[str]

    @property
    def digest(self) -> Digest:
        return Digest.from_bytes(self.manifest)

    @property
    def config_digest(self) -> Digest:
        return Digest.from_bytes(self.config)

    def blobs(self) -> list[tuple[bytes, str]]:
        seen: list[bytes] = []
        for layer in self.layers:
            if layer not in seen:
                seen.append(layer)
        config_type = mt.OCI_CONFIG if self.media_type == mt.OCI_MANIFEST else mt.DOCKER_CONFIG
        return [(self.config, config_type)] + [(layer, self.layer_media_type) for layer in seen]


def layer_tar(content: bytes, name: str = 'hello.txt') -> bytes:
    """An uncompressed layer holding one file (deterministic bytes)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode='w', format=tarfile.PAX_FORMAT) as archive:
        member = tarfile.TarInfo(name)
        member.size = len(content)
        member.mtime = 0
        archive.addfile(member, io.BytesIO(content))
    return raw.getvalue()


def make_image(contents: t.Sequence[bytes] = (b'hello\n',), docker: bool = False, compress: bool = True, user: str = '') -> Image:
    """A real (tiny) image that skopeo and podman accept: OCI or Docker schema2, gzip or plain layers."""
    tars = [layer_tar(content, 'file%d.txt' % position) for position, content in enumerate(contents)]
    layers = [gzip.compress(data, mtime=0) for data in tars] if compress else list(tars)
    diff_ids = [str(Digest.from_bytes(data)) for data in tars]
    config = json.dumps({
        'architecture': 'amd64', 'os': 'linux',
        'config': {'User': user, 'Env': ['A=<b>&c']} if user else {},
        'rootfs': {'type': 'layers', 'diff_ids': diff_ids},
        'created': '2026-01-01T00:00:00Z',
        'history': [{'created': '2026-01-01T00:00:00Z', 'created_by': 'ocikit unit test'} for dummy in tars],
    }, sort_keys=True).encode()
    if docker:
        media_type, config_type = mt.DOCKER_V2S2, mt.DOCKER_CONFIG
        layer_type = mt.DOCKER_LAYER_GZIP if compress else mt.DOCKER_LAYER
    else:
        media_type, config_type = mt.OCI_MANIFEST, mt.OCI_CONFIG
        layer_type = mt.OCI_LAYER_GZIP if compress else mt.OCI_LAYER
    manifest = json.dumps({
        'schemaVersion': 2,
        'mediaType': media_type,
        'config': {'mediaType': config_type, 'size': len(config), 'digest': str(Digest.from_bytes(config))},
        'layers': [{'mediaType': layer_type, 'size': len(layer), 'digest': str(Digest.from_bytes(layer))} for layer in layers],
    }, separators=(',', ':')).encode()
    return Image(config=config, layers=layers, manifest=manifest, media_type=media_type, layer_media_type=layer_type,
                 diff_ids=diff_ids)


def make_index(*images: Image) -> bytes:
    """An OCI index of ``images`` (amd64, arm64, ...)."""
    return json.dumps({
        'schemaVersion': 2,
        'mediaType': mt.OCI_INDEX,
        'manifests': [{'mediaType': image.media_type, 'digest': str(image.digest), 'size': len(image.manifest),
                       'platform': {'architecture': arch, 'os': 'linux'}}
                      for image, arch in zip(images, ('amd64', 'arm64', 's390x'))],
    }).encode()


def put_image(dest: ImageDestination, image: Image, commit: bool = True, close: bool = True) -> None:
    """Drive ``dest`` in the contract's order for ``image``."""
    try:
        for blob, media_type in image.blobs():
            info = BlobInfo(Digest.from_bytes(blob), len(blob), media_type)
            if not dest.has_blob(info):
                assert dest.put_blob(iter([blob[:7], blob[7:]]), info) == info
        dest.put_manifest(image.manifest, image.media_type)
        if commit:
            dest.commit()
    finally:
        if close:
            dest.close()


def read_blob(source: t.Any, data: bytes) -> bytes:
    """Read a blob through ``source.get_blob`` (checking the size it reports)."""
    info = BlobInfo(Digest.from_bytes(data), len(data))
    with source.get_blob(info) as (chunks, size):
        got = b''.join(chunks)
    assert size == len(got)
    return got


def snapshot(path: t.Any) -> dict[str, str]:
    """Every file and directory under ``path`` with a hash of its content, to prove nothing changed."""
    result = {}
    root = str(path)
    for directory, dirs, files in os.walk(root):
        for name in dirs:
            result[os.path.relpath(os.path.join(directory, name), root) + '/'] = 'dir'
        for name in files:
            full = os.path.join(directory, name)
            if os.path.islink(full):
                result[os.path.relpath(full, root)] = 'link:' + os.readlink(full)
            else:
                with open(full, 'rb') as handle:
                    result[os.path.relpath(full, root)] = hashlib.sha256(handle.read()).hexdigest()
    return result


@dataclasses.dataclass
class Entry:
    """One entry of a hand-built (maybe hostile) tar."""

    name: str
    data: bytes = b''
    kind: bytes = tarfile.REGTYPE
    linkname: str = ''
    size: int | None = None
    pax: dict[str, str] | None = None


def build_tar(path: t.Any, entries: t.Sequence[Entry], truncate: int = 0) -> bytes:
    """Write a tar of ``entries`` exactly as given (names unchecked), minus ``truncate`` bytes; return its bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode='w', format=tarfile.PAX_FORMAT) as archive:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = entry.kind
            info.linkname = entry.linkname
            info.mtime = 0
            if entry.pax:
                info.pax_headers = dict(entry.pax)
            if entry.kind in (tarfile.REGTYPE, tarfile.AREGTYPE):
                info.size = len(entry.data)
                archive.addfile(info, io.BytesIO(entry.data))
            else:
                archive.addfile(info)
    data = raw.getvalue()
    if truncate:
        data = data[:-truncate]
    with open(str(path), 'wb') as handle:
        handle.write(data)
    return data


def layout_entries(image: Image, ref_name: str | None = 't', extra: t.Sequence[Entry] = ()) -> list[Entry]:
    """The entries of an OCI archive holding ``image``."""
    entry: dict[str, t.Any] = {'mediaType': image.media_type, 'digest': str(image.digest), 'size': len(image.manifest)}
    if ref_name:
        entry['annotations'] = {'org.opencontainers.image.ref.name': ref_name}
    index = json.dumps({'schemaVersion': 2, 'manifests': [entry]}).encode()
    entries = [Entry('oci-layout', b'{"imageLayoutVersion":"1.0.0"}'), Entry('index.json', index)]
    for blob in [image.config, image.manifest] + image.layers:
        digest = Digest.from_bytes(blob)
        name = 'blobs/sha256/%s' % digest.hex
        if all(existing.name != name for existing in entries):
            entries.append(Entry(name, blob))
    return entries + list(extra)


def docker_save_entries(images: t.Sequence[tuple[Image, t.Sequence[str]]], style: str = 'flat',
                        layer_files: t.Sequence[bytes] | None = None) -> list[Entry]:
    """The entries of a docker archive holding ``(image, RepoTags)`` pairs.

    ``style``: ``flat`` (``<hex>.tar`` as containers/image), ``legacy`` (``<id>/layer.tar`` regular
    files, as docker save before 25), ``oci`` (``blobs/sha256/<hex>``, as docker save 25+).
    ``layer_files`` replaces the stored layer bytes (to store compressed ones).
    """
    entries: list[Entry] = []
    items = []
    for image, tags in images:
        config_name = 'blobs/sha256/%s' % image.config_digest.hex if style == 'oci' else '%s.json' % image.config_digest.hex
        if all(entry.name != config_name for entry in entries):
            entries.append(Entry(config_name, image.config))
        layers = []
        stored = layer_files if layer_files is not None else [layer_tar_of(image, position) for position in range(len(image.layers))]
        for position, data in enumerate(stored):
            digest = Digest.from_bytes(data)
            if style == 'oci':
                name = 'blobs/sha256/%s' % digest.hex
            elif style == 'legacy':
                name = '%s/layer.tar' % hashlib.sha256(b'legacy' + digest.hex.encode() + bytes([position])).hexdigest()
            else:
                name = '%s.tar' % digest.hex
            if all(entry.name != name for entry in entries):
                entries.append(Entry(name, data))
            layers.append(name)
        items.append({'Config': config_name, 'RepoTags': list(tags), 'Layers': layers})
    entries.append(Entry('manifest.json', json.dumps(items).encode()))
    return entries


def layer_tar_of(image: Image, position: int) -> bytes:
    """The uncompressed tar of layer ``position`` of ``image``."""
    data = image.layers[position]
    return gzip.decompress(data) if data[:2] == b'\x1f\x8b' else data


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a tool; with ``check``, fail the test with its stderr when it fails."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    if check:
        assert result.returncode == 0, '%s failed: %s' % (' '.join(argv), result.stderr)
    return result


class Podman:
    """podman with throwaway vfs storage (offline: ``load`` needs no network); a context manager.

    The storage lives under ``tmp_path``; the run root in a short directory of /tmp, since podman
    refuses a run root longer than 50 characters.
    """

    def __init__(self, tmp_path: t.Any) -> None:
        self.root = str(tmp_path / 'podman-root')
        self.runroot = tempfile.mkdtemp(prefix='ocikit-run-', dir='/tmp')

    def __call__(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(str(PODMAN), '--storage-driver', 'vfs', '--root', self.root, '--runroot', self.runroot, *argv, check=check)

    def load(self, archive: t.Any) -> None:
        """``podman load -i archive``; skip the test when podman cannot work in this environment."""
        result = self('load', '-i', str(archive), check=False)
        if result.returncode != 0 and re.search(r'storage|namespace|permission|runroot|cgroup', result.stderr, re.I):
            pytest.skip('podman cannot run here: %s' % result.stderr.strip()[:200])
        assert result.returncode == 0, result.stderr

    def __enter__(self) -> 'Podman':
        return self

    def __exit__(self, *exc: t.Any) -> None:
        # Not "podman system reset": as root it also clears host-wide network configuration.
        shutil.rmtree(self.runroot, ignore_errors=True)
