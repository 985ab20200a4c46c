# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing images to an OCI layout and reading them back; interop with skopeo and umoci."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import tarfile
import threading
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest, verified_stream
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    ImageNotFoundError,
    InvalidReferenceError,
    LayoutError,
    ManifestTooLargeError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.destination import OCILayoutDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import LOCK_FILE, TEMP_PREFIX, Layout
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.source import OCILayoutSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import OCILayoutTransport

REF_NAME = 'org.opencontainers.image.ref.name'
OPTIONS = ConnectionOptions()


# -- a small made-up image -------------------------------------------------------------------------

@dataclasses.dataclass
class Image:
    """Config, one gzip layer and the manifest naming them, with digests computed here."""

    config: bytes
    layer: bytes
    manifest: bytes

    @property
    def digest(self) -> Digest:
        return Digest.from_bytes(self.manifest)

    def blobs(self) -> list[tuple[bytes, str]]:
        return [(self.config, mt.OCI_CONFIG), (self.layer, mt.OCI_LAYER_GZIP)]


def make_image(content: bytes = b'hello\n', user: str = '') -> Image:
    """A real (tiny) image: skopeo and umoci must accept it."""
    raw_tar = io.BytesIO()
    with tarfile.open(fileobj=raw_tar, mode='w', format=tarfile.PAX_FORMAT) as archive:
        member = tarfile.TarInfo('hello.txt')
        member.size = len(content)
        member.mtime = 0
        archive.addfile(member, io.BytesIO(content))
    tar_bytes = raw_tar.getvalue()
    layer = gzip.compress(tar_bytes, mtime=0)
    config = json.dumps({
        'architecture': 'amd64', 'os': 'linux',
        'config': {'User': user} if user else {},
        'rootfs': {'type': 'layers', 'diff_ids': [str(Digest.from_bytes(tar_bytes))]},
        # umoci stat dereferences "created" of each history entry: it must be there.
        'created': '2026-01-01T00:00:00Z',
        'history': [{'created': '2026-01-01T00:00:00Z', 'created_by': 'ocikit unit test'}],
    }, sort_keys=True).encode()
    manifest = json.dumps({
        'schemaVersion': 2,
        'mediaType': mt.OCI_MANIFEST,
        'config': {'mediaType': mt.OCI_CONFIG, 'digest': str(Digest.from_bytes(config)), 'size': len(config)},
        'layers': [{'mediaType': mt.OCI_LAYER_GZIP, 'digest': str(Digest.from_bytes(layer)), 'size': len(layer)}],
    }).encode()
    return Image(config=config, layer=layer, manifest=manifest)


def make_index(*images: Image) -> bytes:
    return json.dumps({
        'schemaVersion': 2,
        'mediaType': mt.OCI_INDEX,
        'manifests': [{'mediaType': mt.OCI_MANIFEST, 'digest': str(image.digest), 'size': len(image.manifest),
                       'platform': {'architecture': arch, 'os': 'linux'}}
                      for image, arch in zip(images, ('amd64', 'arm64', 's390x'))],
    }).encode()


def write_image(details: str, image: Image, commit: bool = True) -> OCILayoutDestination:
    """Write ``image`` through the destination in the contract's order; return the (closed) destination."""
    dest = OCILayoutTransport().parse_reference(details).new_destination(OPTIONS)
    assert isinstance(dest, OCILayoutDestination)
    try:
        for blob, media_type in image.blobs():
            info = BlobInfo(Digest.from_bytes(blob), len(blob), media_type)
            if not dest.has_blob(info):
                stored = dest.put_blob(iter([blob[:7], blob[7:]]), info)
                assert stored == info
        dest.put_manifest(image.manifest, mt.OCI_MANIFEST)
        if commit:
            dest.commit()
    finally:
        dest.close()
    return dest


def open_source(details: str) -> OCILayoutSource:
    source = OCILayoutTransport().parse_reference(details).new_source(OPTIONS)
    assert isinstance(source, OCILayoutSource)
    return source


def read_index(layout: t.Any) -> dict[str, t.Any]:
    with open(os.path.join(str(layout), 'index.json'), 'rb') as handle:
        return json.load(handle)


def blob_file(layout: t.Any, data: bytes) -> str:
    digest = Digest.from_bytes(data)
    return os.path.join(str(layout), 'blobs', digest.algorithm, digest.hex)


def temp_files(layout: t.Any) -> list[str]:
    found = []
    for root, dummy, files in os.walk(str(layout)):
        found.extend(os.path.join(root, name) for name in files if name.startswith(TEMP_PREFIX))
    return found


def read_blob(source: OCILayoutSource, data: bytes, media_type: str) -> bytes:
    info = BlobInfo(Digest.from_bytes(data), len(data), media_type)
    with source.get_blob(info) as (chunks, size):
        assert size == len(data)
        return b''.join(verified_stream(chunks, info.digest, info.size))


# -- write, then read back -------------------------------------------------------------------------

def test_write_then_read_back(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image()
    write_image('%s:v1' % layout, image)

    assert json.loads((layout / 'oci-layout').read_bytes()) == {'imageLayoutVersion': '1.0.0'}
    # The shape skopeo 1.9.3 writes: compact, no index mediaType, no platform in the entry.
    assert (layout / 'index.json').read_bytes() == json.dumps({
        'schemaVersion': 2,
        'manifests': [{'mediaType': mt.OCI_MANIFEST, 'digest': str(image.digest), 'size': len(image.manifest),
                       'annotations': {REF_NAME: 'v1'}}],
    }, separators=(',', ':')).encode()
    assert not temp_files(layout)
    for blob in (image.config, image.layer, image.manifest):
        with open(blob_file(layout, blob), 'rb') as handle:
            assert handle.read() == blob

    with open_source('%s:v1' % layout) as source:
        raw, media_type = source.get_manifest()
        assert raw == image.manifest
        assert media_type == mt.OCI_MANIFEST
        assert read_blob(source, image.config, mt.OCI_CONFIG) == image.config
        assert read_blob(source, image.layer, mt.OCI_LAYER_GZIP) == image.layer
        assert source.get_blob_bytes(BlobInfo(Digest.from_bytes(image.config), len(image.config)), 1024) == image.config
        assert source.list_tags() == ['v1']
    # Without REF: the only image; by digest: the entry with that digest.
    with open_source(str(layout)) as source:
        assert source.get_manifest()[0] == image.manifest
    with open_source('%s@%s' % (layout, image.digest)) as source:
        assert source.get_manifest() == (image.manifest, mt.OCI_MANIFEST)


def test_index_with_children(tmp_path) -> None:
    layout = tmp_path / 'layout'
    amd, arm = make_image(b'amd'), make_image(b'arm')
    index = make_index(amd, arm)
    dest = OCILayoutTransport().parse_reference('%s:multi' % layout).new_destination(OPTIONS)
    try:
        for image in (amd, arm):
            for blob, media_type in image.blobs():
                dest.put_blob([blob], BlobInfo(Digest.from_bytes(blob), len(blob), media_type))
            dest.put_manifest(image.manifest, mt.OCI_MANIFEST, instance_digest=image.digest)
        dest.put_manifest(index, mt.OCI_INDEX)
        dest.commit()
    finally:
        dest.close()
    entries = read_index(layout)['manifests']
    assert entries == [{'mediaType': mt.OCI_INDEX, 'digest': str(Digest.from_bytes(index)), 'size': len(index),
                        'annotations': {REF_NAME: 'multi'}}]
    with open_source('%s:multi' % layout) as source:
        assert source.get_manifest() == (index, mt.OCI_INDEX)
        assert source.get_manifest(arm.digest) == (arm.manifest, None)
        with pytest.raises(BlobNotFoundError, match='not found in OCI layout'):
            source.get_manifest(Digest('sha256:' + 'c' * 64))


def test_get_blob_streams_in_chunks(tmp_path) -> None:
    layout = tmp_path / 'layout'
    big = os.urandom(256 * 1024) * 20  # 5 MiB
    info = BlobInfo(Digest.from_bytes(big), len(big))
    dest = OCILayoutTransport().parse_reference('%s:big' % layout).new_destination(OPTIONS)
    with dest:
        dest.put_blob((big[i:i + 65536] for i in range(0, len(big), 65536)), info)
    with open_source(str(layout)) as source:
        with source.get_blob(info) as (chunks, size):
            assert size == len(big)
            sizes = [len(chunk) for chunk in verified_stream(chunks, info.digest, size)]
    assert sum(sizes) == len(big)
    assert max(sizes) <= 1024 * 1024 and len(sizes) >= 5


# -- writes that must not land ---------------------------------------------------------------------

@pytest.mark.parametrize('declared_size, payload, message', [
    (-1, b'not the promised bytes', 'digest mismatch'),
    (5, b'promised', 'larger than its declared size'),
    (50, b'promised', 'declared size is 50'),
])
def test_put_blob_mismatch_leaves_nothing(tmp_path, declared_size, payload, message) -> None:
    layout = tmp_path / 'layout'
    promised = b'promised'
    info = BlobInfo(Digest.from_bytes(promised), declared_size)
    dest = OCILayoutTransport().parse_reference('%s:x' % layout).new_destination(OPTIONS)
    with dest:
        with pytest.raises(DigestMismatchError, match=message):
            dest.put_blob(iter([payload[:3], payload[3:]]), info)
        assert not os.path.exists(blob_file(layout, promised))
        assert not dest.has_blob(info)
        assert not temp_files(layout)


def test_put_blob_source_failure_leaves_nothing(tmp_path) -> None:
    layout = tmp_path / 'layout'
    data = b'x' * 100

    def failing() -> t.Iterator[bytes]:
        yield data[:50]
        raise ConnectionResetError('source went away')

    dest = OCILayoutTransport().parse_reference('%s:x' % layout).new_destination(OPTIONS)
    with dest:
        with pytest.raises(ConnectionResetError):
            dest.put_blob(failing(), BlobInfo(Digest.from_bytes(data), len(data)))
    assert not os.path.exists(blob_file(layout, data))
    assert not temp_files(layout)


def test_close_removes_temp_files_of_an_interrupted_put(tmp_path) -> None:
    layout = tmp_path / 'layout'
    data = b'y' * 100
    started, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow() -> t.Iterator[bytes]:
        yield data[:10]
        started.set()
        release.wait(10)
        yield data[10:]

    dest = OCILayoutTransport().parse_reference('%s:x' % layout).new_destination(OPTIONS)

    def put() -> None:
        try:
            dest.put_blob(slow(), BlobInfo(Digest.from_bytes(data), len(data)))
        except BaseException as exc:  # pylint: disable=broad-exception-caught
            errors.append(exc)

    worker = threading.Thread(target=put)
    worker.start()
    assert started.wait(10)
    assert len(temp_files(layout)) == 1
    dest.close()
    assert not temp_files(layout)
    release.set()
    worker.join(10)
    assert errors and isinstance(errors[0], LayoutError)


def test_close_without_commit_leaves_index_untouched(tmp_path) -> None:
    layout = tmp_path / 'layout'
    write_image('%s:v1' % layout, make_image(b'one'))
    before = (layout / 'index.json').read_bytes()
    other = make_image(b'two')
    dest = write_image('%s:v1' % layout, other, commit=False)
    assert (layout / 'index.json').read_bytes() == before
    assert dest.get_manifest_digest() == make_image(b'one').digest
    assert not temp_files(layout)
    # A fresh layout left uncommitted holds an empty index, not a half-written name.
    write_image('%s:v1' % (tmp_path / 'fresh'), other, commit=False)
    assert read_index(tmp_path / 'fresh') == {'schemaVersion': 2, 'manifests': []}


def test_put_manifest_checks(tmp_path) -> None:
    image = make_image()
    dest = OCILayoutTransport().parse_reference('%s:x' % (tmp_path / 'layout')).new_destination(OPTIONS)
    with dest:
        with pytest.raises(UnsupportedMediaTypeError, match=re.escape('cannot store manifests of type ' + mt.DOCKER_V2S2)):
            dest.put_manifest(image.manifest, mt.DOCKER_V2S2)
        with pytest.raises(DigestMismatchError):
            dest.put_manifest(image.manifest, mt.OCI_MANIFEST, instance_digest=Digest('sha256:' + 'd' * 64))
        with pytest.raises(UnsupportedMediaTypeError, match='declares mediaType'):
            dest.put_manifest(image.manifest, mt.OCI_INDEX)
        with pytest.raises(LayoutError, match='nothing to commit'):
            dest.commit()
    assert dest.supported_manifest_types == (mt.OCI_MANIFEST, mt.OCI_INDEX)
    assert dest.supports_index


# -- tampering is caught on read -------------------------------------------------------------------

def test_tampered_manifest_is_caught(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image()
    write_image('%s:v1' % layout, image)
    path = blob_file(layout, image.manifest)
    os.chmod(path, 0o644)
    with open(path, 'wb') as handle:
        handle.write(image.manifest.replace(b'"schemaVersion": 2', b'"schemaVersion":  2'))
    with open_source('%s:v1' % layout) as source:
        with pytest.raises(DigestMismatchError, match='descriptor says %d' % len(image.manifest)):
            source.get_manifest()
    with open(path, 'wb') as handle:
        handle.write(image.manifest.replace(b'"schemaVersion": 2', b'"schemaVersion": 3'))
    with open_source('%s:v1' % layout) as source:
        with pytest.raises(DigestMismatchError, match='manifest in OCI layout .* digest mismatch'):
            source.get_manifest()


def test_tampered_layer_is_caught(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image()
    write_image('%s:v1' % layout, image)
    path = blob_file(layout, image.layer)
    with open(path, 'r+b') as handle:
        handle.seek(len(image.layer) - 1)
        handle.write(bytes([image.layer[-1] ^ 1]))
    with open_source('%s:v1' % layout) as source:
        with pytest.raises(DigestMismatchError, match='digest mismatch'):
            read_blob(source, image.layer, mt.OCI_LAYER_GZIP)
        with pytest.raises(DigestMismatchError):
            source.get_blob_bytes(BlobInfo(Digest.from_bytes(image.layer), len(image.layer)), 1 << 20)
    # A destination does not trust a same-size tampered file for has_blob... by size only, as skopeo.
    dest = OCILayoutTransport().parse_reference('%s:v1' % layout).new_destination(OPTIONS)
    with dest:
        assert dest.has_blob(BlobInfo(Digest.from_bytes(image.layer), len(image.layer)))
        assert not dest.has_blob(BlobInfo(Digest.from_bytes(image.layer), len(image.layer) + 1))


def test_truncated_blob_is_rewritten(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image()
    write_image('%s:v1' % layout, image)
    path = blob_file(layout, image.layer)
    with open(path, 'r+b') as handle:
        handle.truncate(3)
    write_image('%s:v1' % layout, image)
    with open(path, 'rb') as handle:
        assert handle.read() == image.layer


# -- index.json updates ----------------------------------------------------------------------------

def test_retag_replaces_the_old_entry(tmp_path) -> None:
    layout = tmp_path / 'layout'
    first, second = make_image(b'one'), make_image(b'two')
    write_image('%s:keep' % layout, first)
    write_image('%s:moving' % layout, first)
    write_image('%s:moving' % layout, second)
    entries = read_index(layout)['manifests']
    assert [(e['annotations'][REF_NAME], e['digest']) for e in entries] == [('keep', str(first.digest)), ('moving', str(second.digest))]
    # Writing the same image again changes nothing, not even the file.
    stat_before = os.stat(layout / 'index.json')
    write_image('%s:moving' % layout, second)
    assert os.stat(layout / 'index.json').st_ino == stat_before.st_ino
    with open_source('%s:moving' % layout) as source:
        assert source.get_manifest()[0] == second.manifest


def test_unnamed_entries(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image()
    write_image(str(layout), image)
    write_image(str(layout), image)
    entries = read_index(layout)['manifests']
    assert entries == [{'mediaType': mt.OCI_MANIFEST, 'digest': str(image.digest), 'size': len(image.manifest)}]
    # A name given later to the same digest takes the unnamed entry over, as skopeo does.
    write_image('%s:named' % layout, image)
    entries = read_index(layout)['manifests']
    assert len(entries) == 1 and entries[0]['annotations'] == {REF_NAME: 'named'}


def test_commit_preserves_other_entries_and_fields(tmp_path) -> None:
    layout = tmp_path / 'layout'
    write_image('%s:a' % layout, make_image(b'a'))
    index = read_index(layout)
    index['annotations'] = {'com.example.top': 'kept'}
    index['manifests'][0]['platform'] = {'architecture': 'arm64', 'os': 'linux'}
    index['manifests'][0]['annotations']['com.example.extra'] = 'kept'
    index['manifests'].append({'mediaType': 'application/vnd.example.artifact', 'digest': 'blake3:' + 'e' * 64, 'size': 1})
    (layout / 'index.json').write_text(json.dumps(index))
    os.chmod(layout / 'index.json', 0o600)
    write_image('%s:b' % layout, make_image(b'b'))
    after = read_index(layout)
    assert after['annotations'] == {'com.example.top': 'kept'}
    assert after['manifests'][:2] == index['manifests']
    assert after['manifests'][2]['annotations'] == {REF_NAME: 'b'}
    assert os.stat(layout / 'index.json').st_mode & 0o777 == 0o600


def _concurrent_writer(details: str, content: bytes, barrier: t.Any) -> None:
    image = make_image(content)
    dest = OCILayoutTransport().parse_reference(details).new_destination(OPTIONS)
    try:
        for blob, media_type in image.blobs():
            dest.put_blob([blob], BlobInfo(Digest.from_bytes(blob), len(blob), media_type))
        dest.put_manifest(image.manifest, mt.OCI_MANIFEST)
        barrier.wait(30)
        dest.commit()
    finally:
        dest.close()


@pytest.mark.parametrize('kind', ['threads', 'processes'])
def test_concurrent_writers_all_survive(tmp_path, kind) -> None:
    layout = tmp_path / 'layout'
    write_image('%s:existing' % layout, make_image(b'existing'))
    count = 8
    if kind == 'threads':
        barrier: t.Any = threading.Barrier(count)
        workers: list[t.Any] = [threading.Thread(target=_concurrent_writer, args=('%s:t%d' % (layout, n), b'%d' % n, barrier))
                                for n in range(count)]
    else:
        context = multiprocessing.get_context('fork')
        barrier = context.Barrier(count)
        workers = [context.Process(target=_concurrent_writer, args=('%s:t%d' % (layout, n), b'%d' % n, barrier)) for n in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    if kind == 'processes':
        assert [worker.exitcode for worker in workers] == [0] * count
    names = {entry['annotations'][REF_NAME]: entry['digest'] for entry in read_index(layout)['manifests']}
    assert names == dict([('existing', str(make_image(b'existing').digest))]
                         + [('t%d' % n, str(make_image(b'%d' % n).digest)) for n in range(count)])
    assert not temp_files(layout)


def test_lock_times_out(tmp_path) -> None:
    layout = Layout(str(tmp_path))
    with layout.lock():
        with pytest.raises(LayoutError, match='locked by another writer'):
            with Layout(str(tmp_path)).lock(timeout=0.2):
                pass
    with Layout(str(tmp_path)).lock(timeout=0.2):
        pass
    assert os.path.exists(tmp_path / LOCK_FILE)


def test_get_manifest_digest(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image()
    dest = OCILayoutTransport().parse_reference('%s:v1' % layout).new_destination(OPTIONS)
    with dest:
        assert dest.get_manifest_digest() is None
    write_image('%s:v1' % layout, image)
    for details in ('%s:v1' % layout, str(layout)):
        with OCILayoutTransport().parse_reference(details).new_destination(OPTIONS) as dest:
            assert dest.get_manifest_digest() == image.digest
    with OCILayoutTransport().parse_reference('%s:other' % layout).new_destination(OPTIONS) as dest:
        assert dest.get_manifest_digest() is None


# -- layout creation and errors ---------------------------------------------------------------------

def test_destination_refuses_a_foreign_directory(tmp_path) -> None:
    (tmp_path / 'notes.txt').write_text('mine')
    with pytest.raises(LayoutError, match='refusing to write to .*not an OCI layout.*notes.txt'):
        OCILayoutTransport().parse_reference('%s:x' % tmp_path).new_destination(OPTIONS)
    assert sorted(os.listdir(tmp_path)) == ['notes.txt']


def test_destination_accepts_a_directory_with_only_blobs(tmp_path) -> None:
    (tmp_path / 'blobs').mkdir()
    write_image('%s:x' % tmp_path, make_image())
    assert read_index(tmp_path)['manifests'][0]['annotations'] == {REF_NAME: 'x'}


def test_destination_refuses_a_file(tmp_path) -> None:
    (tmp_path / 'file').write_text('x')
    with pytest.raises(LayoutError, match='not a directory'):
        OCILayoutTransport().parse_reference('%s:x' % (tmp_path / 'file')).new_destination(OPTIONS)


@pytest.mark.parametrize('content, message', [
    (b'{"imageLayoutVersion": "2.0.0"}', 'unsupported imageLayoutVersion'),
    (b'{}', 'imageLayoutVersion is missing'),
    (b'nope', 'not valid JSON'),
])
def test_bad_oci_layout_file(tmp_path, content, message) -> None:
    write_image('%s:x' % tmp_path, make_image())
    (tmp_path / 'oci-layout').write_bytes(content)
    with pytest.raises(LayoutError, match=message):
        open_source('%s:x' % tmp_path)
    with pytest.raises(LayoutError, match=message):
        OCILayoutTransport().parse_reference('%s:x' % tmp_path).new_destination(OPTIONS)


@pytest.mark.parametrize('content, message', [
    (b'[]', 'is not a JSON object'),
    (b'{"schemaVersion": 1, "manifests": []}', 'schemaVersion 1, expected 2'),
    (b'{"schemaVersion": 2, "manifests": {}}', 'manifests must be a list'),
    (b'{"schemaVersion": 2, ', 'not valid JSON'),
    (b'{"schemaVersion": 2, "manifests": [], "pad": "' + b'x' * (4 * 1024 * 1024) + b'"}', 'exceeds the 4194304 byte limit'),
])
def test_bad_index_json(tmp_path, content, message) -> None:
    write_image('%s:x' % tmp_path, make_image())
    (tmp_path / 'index.json').write_bytes(content)
    with open_source('%s:x' % tmp_path) as source:
        with pytest.raises(LayoutError, match=message):
            source.get_manifest()


def test_null_manifests_reads_as_empty(tmp_path) -> None:
    write_image('%s:x' % tmp_path, make_image())
    (tmp_path / 'index.json').write_bytes(b'{"schemaVersion":2,"manifests":null}')
    with open_source(str(tmp_path)) as source:
        with pytest.raises(ImageNotFoundError, match='holds no image'):
            source.get_manifest()


def test_source_missing_layout_and_index(tmp_path) -> None:
    with pytest.raises(ImageNotFoundError, match='OCI layout %s does not exist' % (tmp_path / 'missing')):
        open_source('%s:x' % (tmp_path / 'missing'))
    with pytest.raises(LayoutError, match='%s is not an OCI layout: index.json is missing' % tmp_path):
        open_source('%s:x' % tmp_path)


def test_source_lookup_errors(tmp_path) -> None:
    layout = tmp_path / 'layout'
    one, two = make_image(b'one'), make_image(b'two')
    write_image('%s:a' % layout, one)
    with open_source('%s:nope' % layout) as source:
        with pytest.raises(ImageNotFoundError, match=r'no image named "nope" in OCI layout %s \(names in index.json: a\)' % layout):
            source.get_manifest()
    with open_source('%s@%s' % (layout, two.digest)) as source:
        with pytest.raises(ImageNotFoundError, match='manifest %s is not listed in index.json of OCI layout' % two.digest):
            source.get_manifest()
    write_image('%s:b' % layout, two)
    with open_source(str(layout)) as source:
        with pytest.raises(InvalidReferenceError, match=r'holds 2 images; choose one with oci:%s:NAME \(names in index.json: a, b\)' % layout):
            source.get_manifest()
    with open_source('%s:a' % layout) as source:
        with pytest.raises(BlobNotFoundError, match='blob sha256:0+ not found in OCI layout'):
            with source.get_blob(BlobInfo(Digest('sha256:' + '0' * 64))):
                pass


def test_source_ambiguous_and_unsupported_names(tmp_path) -> None:
    layout = tmp_path / 'layout'
    one, two = make_image(b'one'), make_image(b'two')
    write_image('%s:a' % layout, one)
    write_image('%s:b' % layout, two)
    index = read_index(layout)
    # Two entries named "a" with different digests (another tool wrote them): refuse to guess.
    index['manifests'][1]['annotations'][REF_NAME] = 'a'
    # Same name, same digest twice is harmless.
    index['manifests'].append(dict(index['manifests'][0]))
    index['manifests'].append({'mediaType': 'application/vnd.example.thing', 'digest': str(one.digest), 'size': 1,
                               'annotations': {REF_NAME: 'artifact'}})
    (layout / 'index.json').write_text(json.dumps(index))
    with open_source('%s:a' % layout) as source:
        with pytest.raises(LayoutError, match='"a" is ambiguous in OCI layout .*: 3 entries'):
            source.get_manifest()
    with open_source('%s:artifact' % layout) as source:
        with pytest.raises(UnsupportedMediaTypeError, match='application/vnd.example.thing'):
            source.get_manifest()
    # A destination treats the ambiguous name as "must write", and its commit cleans it up.
    write_image('%s:a' % layout, two)
    names = [entry['annotations'][REF_NAME] for entry in read_index(layout)['manifests']]
    assert names == ['a', 'artifact']


def test_source_descriptor_checks(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image()
    write_image('%s:a' % layout, image)
    index = read_index(layout)
    index['manifests'][0]['size'] = 5 * 1024 * 1024
    (layout / 'index.json').write_text(json.dumps(index))
    with open_source('%s:a' % layout) as source:
        with pytest.raises(ManifestTooLargeError):
            source.get_manifest()
    index['manifests'][0]['size'] = len(image.manifest)
    index['manifests'][0]['digest'] = 'sha256:../../etc'
    (layout / 'index.json').write_text(json.dumps(index))
    with open_source('%s:a' % layout) as source:
        with pytest.raises(LayoutError, match=r'manifests\[0\] in index.json of OCI layout .*invalid digest'):
            source.get_manifest()


# -- interop with skopeo and umoci -----------------------------------------------------------------

SKOPEO = shutil.which('skopeo')
UMOCI = shutil.which('umoci')
needs_tools = pytest.mark.skipif(not (SKOPEO and UMOCI), reason='skopeo and umoci are needed for interop tests')


def _run(*argv: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, '%s failed: %s' % (' '.join(argv), result.stderr)
    return result.stdout


@needs_tools
def test_skopeo_and_umoci_read_our_layout(tmp_path) -> None:
    layout = tmp_path / 'ours'
    image = make_image()
    write_image('%s:tag' % layout, image)
    write_image('%s:other' % layout, make_image(b'other', user='1000'))
    inspected = json.loads(_run(str(SKOPEO), 'inspect', 'oci:%s:tag' % layout))
    assert inspected['Digest'] == str(image.digest)
    assert _run(str(SKOPEO), 'inspect', '--raw', 'oci:%s:tag' % layout).encode() == image.manifest
    _run(str(UMOCI), 'stat', '--image', '%s:tag' % layout)
    assert sorted(_run(str(UMOCI), 'ls', '--layout', str(layout)).split()) == ['other', 'tag']
    # The lock file and the layout pass umoci's garbage collector, which rejects stray blob names.
    _run(str(UMOCI), 'gc', '--layout', str(layout))
    _run(str(UMOCI), 'stat', '--image', '%s:other' % layout)


@needs_tools
def test_we_read_what_skopeo_writes(tmp_path) -> None:
    ours, theirs = tmp_path / 'ours', tmp_path / 'theirs'
    image = make_image()
    write_image('%s:tag' % ours, image)
    _run(str(SKOPEO), 'copy', '--quiet', 'oci:%s:tag' % ours, 'oci:%s:t2' % theirs)
    with open_source('%s:t2' % theirs) as source:
        raw, media_type = source.get_manifest()
        assert Digest.from_bytes(raw) == image.digest
        assert media_type == mt.OCI_MANIFEST
        assert read_blob(source, image.layer, mt.OCI_LAYER_GZIP) == image.layer
    # skopeo's entry has the shape ours has.
    theirs_entry, ours_entry = read_index(theirs)['manifests'][0], read_index(ours)['manifests'][0]
    assert list(theirs_entry) == list(ours_entry)
    assert dict(theirs_entry, annotations=None) == dict(ours_entry, annotations=None)
    # We add a name to skopeo's layout; skopeo and umoci still read both.
    write_image('%s:ours' % theirs, make_image(b'second'))
    assert json.loads(_run(str(SKOPEO), 'inspect', 'oci:%s:t2' % theirs))['Digest'] == str(image.digest)
    assert json.loads(_run(str(SKOPEO), 'inspect', 'oci:%s:ours' % theirs))['Digest'] == str(make_image(b'second').digest)
    _run(str(UMOCI), 'stat', '--image', '%s:ours' % theirs)


@needs_tools
def test_we_write_into_a_umoci_layout(tmp_path) -> None:
    layout = tmp_path / 'umoci'
    _run(str(UMOCI), 'init', '--layout', str(layout))
    _run(str(UMOCI), 'new', '--image', '%s:base' % layout)
    mode = os.stat(layout / 'index.json').st_mode & 0o777
    image = make_image()
    write_image('%s:ours' % layout, image)
    assert os.stat(layout / 'index.json').st_mode & 0o777 == mode
    assert sorted(_run(str(UMOCI), 'ls', '--layout', str(layout)).split()) == ['base', 'ours']
    with open_source('%s:base' % layout) as source:
        raw, dummy = source.get_manifest()
        assert json.loads(raw)['schemaVersion'] == 2


# -- a copy racing a delete (issue 7, defect 1) --------------------------------------------------------

def _delete(details: str) -> t.Any:
    from ansible_collections.ocikit.images.plugins.module_utils.delete import delete_image
    from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name

    return delete_image(parse_image_name('oci:' + details), OPTIONS)


def _write_racing_delete(layout: t.Any, new: Image, old_name: str, use_has_blob: bool) -> OCILayoutDestination:
    """Write ``new`` as v2; after its blobs are reused or written, and before its commit, delete ``old_name`` (its blob GC runs)."""
    dest = OCILayoutTransport().parse_reference('%s:v2' % layout).new_destination(OPTIONS)
    assert isinstance(dest, OCILayoutDestination)
    try:
        for blob, media_type in new.blobs():
            info = BlobInfo(Digest.from_bytes(blob), len(blob), media_type)
            if not (use_has_blob and dest.has_blob(info)):
                dest.put_blob(iter([blob]), info)
        dest.put_manifest(new.manifest, mt.OCI_MANIFEST)
        deleted = _delete('%s:%s' % (layout, old_name))
        # The race is real: the old tag's GC removed the layer the new image reuses.
        assert str(Digest.from_bytes(new.layer)) in [str(d) for d in deleted.deleted_blobs]
        assert not os.path.exists(blob_file(layout, new.layer))
        dest.commit()
    finally:
        dest.close()
    return dest


@pytest.mark.parametrize('use_has_blob', [True, False], ids=['has_blob', 'put_blob'])
def test_copy_racing_delete_keeps_reused_blobs(tmp_path, use_has_blob) -> None:
    layout = tmp_path / 'layout'
    old = make_image(b'shared layer\n')
    new = make_image(b'shared layer\n', user='other')
    assert old.layer == new.layer and old.config != new.config
    write_image('%s:v1' % layout, old)
    _write_racing_delete(layout, new, 'v1', use_has_blob)
    # v2 is complete: every blob is back, byte for byte, and nothing of ours is left behind.
    assert [entry['annotations'][REF_NAME] for entry in read_index(layout)['manifests']] == ['v2']
    for blob in (new.layer, new.config, new.manifest):
        with open(blob_file(layout, blob), 'rb') as handle:
            assert handle.read() == blob
    with open_source('%s:v2' % layout) as source:
        raw, dummy = source.get_manifest()
        assert raw == new.manifest
    assert not [name for name in os.listdir(str(layout)) if name.startswith(TEMP_PREFIX)]


def test_copy_racing_delete_without_pins_fails_cleanly(tmp_path, monkeypatch) -> None:
    """Where a blob cannot be pinned (no hard links), a vanished blob fails the commit; index.json keeps the old state."""
    layout = tmp_path / 'layout'
    old = make_image(b'shared layer\n')
    new = make_image(b'shared layer\n', user='other')
    write_image('%s:v1' % layout, old)
    monkeypatch.setattr(Layout, 'pin_blob', lambda self, digest, pin_dir: None)
    with pytest.raises(LayoutError) as info:
        _write_racing_delete(layout, new, 'v1', use_has_blob=True)
    assert str(info.value) == ('cannot commit to oci:%s:v2: 1 blob of the new image vanished from the layout before the commit '
                               '(removed by a concurrent image_delete?): %s; index.json is unchanged, run the copy again'
                               % (layout, Digest.from_bytes(new.layer)))
    assert read_index(layout)['manifests'] == []
    assert not [name for name in os.listdir(str(layout)) if name.startswith(TEMP_PREFIX)]


@pytest.mark.parametrize('kind', ['symlink', 'fifo'])
def test_layout_lock_refuses_symlink_and_fifo(tmp_path, kind) -> None:
    """The index lock never follows a symlink: a root run would otherwise create or truncate the file it points at."""
    layout = tmp_path / 'layout'
    write_image('%s:v1' % layout, make_image())
    os.unlink(str(layout / LOCK_FILE))
    victim = tmp_path / 'victim'
    if kind == 'symlink':
        os.symlink(str(victim), str(layout / LOCK_FILE))
    else:
        os.mkfifo(str(layout / LOCK_FILE))
    with pytest.raises(LayoutError) as info:
        write_image('%s:v2' % layout, make_image(b'two'))
    reason = 'it is a symbolic link' if kind == 'symlink' else 'it is not a regular file'
    assert str(info.value) == 'refusing lock file %s: %s' % (layout / LOCK_FILE, reason)
    assert not victim.exists()
    assert [entry['annotations'][REF_NAME] for entry in read_index(layout)['manifests']] == ['v1']
