# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing images to OCI archives and reading them back; interop with skopeo and podman."""

from __future__ import annotations

import gzip
import json
import os
import re
import tarfile
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    ImageNotFoundError,
    InvalidReferenceError,
    LayoutError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.destination import OCIArchiveDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.source import OCIArchiveSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.transport import OCIArchiveTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import OCILayoutTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.tar_writer import AtomicTarWriter
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.oci_archive.archive_test_images import (
    PODMAN,
    SKOPEO,
    Entry,
    build_tar,
    layout_entries,
    make_image,
    make_index,
    Podman,
    put_image,
    read_blob,
    run,
    snapshot,
)

REF_NAME = 'org.opencontainers.image.ref.name'
OPTIONS = ConnectionOptions()
needs_skopeo = pytest.mark.skipif(not SKOPEO, reason='skopeo is needed for interop tests')


def destination(details: str) -> OCIArchiveDestination:
    dest = OCIArchiveTransport().parse_reference(details).new_destination(OPTIONS)
    assert isinstance(dest, OCIArchiveDestination)
    return dest


def source(details: str) -> OCIArchiveSource:
    src = OCIArchiveTransport().parse_reference(details).new_source(OPTIONS)
    assert isinstance(src, OCIArchiveSource)
    return src


def members(path: t.Any) -> list[str]:
    with tarfile.open(str(path)) as archive:
        return archive.getnames()


def read_member(path: t.Any, name: str) -> bytes:
    with tarfile.open(str(path)) as archive:
        handle = archive.extractfile(name)
        assert handle is not None
        return handle.read()


# -- write, then read back -------------------------------------------------------------------------

def test_write_then_read_back(tmp_path) -> None:
    archive = tmp_path / 'img.tar'
    image = make_image()
    put_image(destination('%s:v1' % archive), image)

    # Only the archive is left: no staging directory, no temporary file.
    assert os.listdir(tmp_path) == ['img.tar']
    names = members(archive)
    blob_names = sorted('blobs/sha256/%s' % Digest.from_bytes(blob).hex for blob in (image.config, image.manifest, image.layers[0]))
    # The order skopeo's directory walk gives: blobs/, blobs/sha256/, the blobs, index.json, oci-layout.
    assert names == ['blobs', 'blobs/sha256'] + blob_names + ['index.json', 'oci-layout']
    assert json.loads(read_member(archive, 'index.json')) == {
        'schemaVersion': 2,
        'manifests': [{'mediaType': mt.OCI_MANIFEST, 'digest': str(image.digest), 'size': len(image.manifest),
                       'annotations': {REF_NAME: 'v1'}}]}
    with tarfile.open(str(archive)) as handle:
        for info in handle.getmembers():
            assert (info.uid, info.gid, info.uname, info.gname, info.mtime) == (0, 0, '', '', 0)

    with source('%s:v1' % archive) as src:
        assert src.get_manifest() == (image.manifest, mt.OCI_MANIFEST)
        assert read_blob(src, image.config) == image.config
        assert read_blob(src, image.layers[0]) == image.layers[0]
        assert src.get_blob_bytes(BlobInfo(image.config_digest, len(image.config)), 1024) == image.config
        assert src.list_tags() == ['v1']
        with pytest.raises(BlobNotFoundError, match='blob sha256:0+ not found in OCI archive %s' % archive):
            with src.get_blob(BlobInfo(Digest('sha256:' + '0' * 64))):
                pass
    with source(str(archive)) as src:
        assert src.get_manifest()[0] == image.manifest


def test_same_image_twice_gives_the_same_bytes(tmp_path) -> None:
    image = make_image()
    put_image(destination('%s:v1' % (tmp_path / 'a.tar')), image)
    put_image(destination('%s:v1' % (tmp_path / 'b.tar')), image)
    assert (tmp_path / 'a.tar').read_bytes() == (tmp_path / 'b.tar').read_bytes()


def test_index_with_children(tmp_path) -> None:
    archive = tmp_path / 'multi.tar'
    amd, arm = make_image([b'amd']), make_image([b'arm'])
    index = make_index(amd, arm)
    dest = destination('%s:multi' % archive)
    try:
        for image in (amd, arm):
            for blob, media_type in image.blobs():
                dest.put_blob([blob], BlobInfo(Digest.from_bytes(blob), len(blob), media_type))
            dest.put_manifest(image.manifest, image.media_type, instance_digest=image.digest)
        dest.put_manifest(index, mt.OCI_INDEX)
        dest.commit()
    finally:
        dest.close()
    with source('%s:multi' % archive) as src:
        assert src.get_manifest() == (index, mt.OCI_INDEX)
        assert src.get_manifest(arm.digest) == (arm.manifest, None)
        with pytest.raises(BlobNotFoundError):
            src.get_manifest(Digest('sha256:' + 'c' * 64))


def test_large_blob_streams_in_chunks(tmp_path) -> None:
    archive = tmp_path / 'big.tar'
    big = os.urandom(256 * 1024) * 12  # 3 MiB
    image = make_image()
    image.layers = [big]
    dest = destination('%s:big' % archive)
    with dest:
        dest.put_blob((big[i:i + 65536] for i in range(0, len(big), 65536)), BlobInfo(Digest.from_bytes(big), len(big)))
        assert dest.has_blob(BlobInfo(Digest.from_bytes(big), len(big)))
    # Written straight through a tar of the staged layout; read back in bounded chunks.
    put_image(destination('%s:big' % archive), image)
    with source('%s:big' % archive) as src:
        with src.get_blob(BlobInfo(Digest.from_bytes(big), len(big))) as (chunks, size):
            sizes = [len(chunk) for chunk in chunks]
    assert size == len(big) == sum(sizes)
    assert max(sizes) <= 1024 * 1024 and len(sizes) >= 3


# -- replacing an archive, and what stays when that fails ------------------------------------------

def test_writing_replaces_the_archive_as_skopeo_does(tmp_path) -> None:
    archive = tmp_path / 'img.tar'
    first, second = make_image([b'one']), make_image([b'two'])
    put_image(destination('%s:a' % archive), first)
    os.chmod(archive, 0o600)
    put_image(destination('%s:b' % archive), second)
    # The archive holds only the last image written (skopeo 1.9.3 does the same) and kept its mode.
    with source(str(archive)) as src:
        assert src.list_tags() == ['b']
        assert src.get_manifest()[0] == second.manifest
    with source('%s:a' % archive) as src:
        with pytest.raises(ImageNotFoundError, match=r'no image named "a" in OCI archive .* \(names in index.json: b\)'):
            src.get_manifest()
    assert os.stat(archive).st_mode & 0o777 == 0o600


def test_symlinked_archive_is_replaced_where_it_lives(tmp_path) -> None:
    (tmp_path / 'real').mkdir()
    real = tmp_path / 'real' / 'img.tar'
    put_image(destination('%s:a' % real), make_image([b'one']))
    (tmp_path / 'link.tar').symlink_to(real)
    put_image(destination('%s:b' % (tmp_path / 'link.tar')), make_image([b'two']))
    assert os.path.islink(tmp_path / 'link.tar')
    with source(str(real)) as src:
        assert src.list_tags() == ['b']
    assert sorted(os.listdir(tmp_path / 'real')) == ['img.tar']


def failing_add_file(self: AtomicTarWriter, name: str, source_path: str, mode: int = 0o644) -> int:
    raise LayoutError('cannot write %s to %s %s: No space left on device' % (name, self.what, self.path))


@pytest.mark.parametrize('failure', ['digest', 'missing-manifest', 'no-commit', 'tar-write'])
def test_failed_write_leaves_the_archive_byte_identical(tmp_path, monkeypatch, failure) -> None:
    archive = tmp_path / 'img.tar'
    put_image(destination('%s:a' % archive), make_image([b'one']))
    before = snapshot(tmp_path)
    other = make_image([b'two'])
    dest = destination('%s:a' % archive)
    try:
        if failure == 'digest':
            with pytest.raises(DigestMismatchError):
                dest.put_blob([b'not the config'], BlobInfo(other.config_digest, len(other.config)))
        elif failure == 'missing-manifest':
            dest.put_blob([other.config], BlobInfo(other.config_digest, len(other.config)))
            with pytest.raises(LayoutError, match='nothing to commit to oci-archive:%s:a: no manifest was written' % archive):
                dest.commit()
        elif failure == 'no-commit':
            put_image(dest, other, commit=False, close=False)
        else:
            monkeypatch.setattr(AtomicTarWriter, 'add_file', failing_add_file)
            with pytest.raises(LayoutError, match='No space left on device'):
                put_image(dest, other, close=False)
        # Until close, only the staging directory is beside the archive; the archive is untouched.
        assert snapshot(archive.parent)['img.tar'] == before['img.tar']
    finally:
        dest.close()
    assert snapshot(tmp_path) == before


def test_put_manifest_checks(tmp_path) -> None:
    image = make_image(docker=True)
    dest = destination('%s:x' % (tmp_path / 'img.tar'))
    with dest:
        with pytest.raises(UnsupportedMediaTypeError, match=re.escape('cannot store manifests of type ' + mt.DOCKER_V2S2)):
            dest.put_manifest(image.manifest, mt.DOCKER_V2S2)
        with pytest.raises(LayoutError, match='nothing to commit'):
            dest.commit()
    assert dest.supported_manifest_types == (mt.OCI_MANIFEST, mt.OCI_INDEX)
    assert dest.supports_index
    with pytest.raises(LayoutError, match='destination is closed'):
        dest.put_blob([b'x'], BlobInfo(Digest.from_bytes(b'x'), 1))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('setup, message', [
    ('directory', 'cannot write OCI archive .*: it is a directory'),
    ('fifo', 'exists and is not a regular file'),
    ('no-parent', 'directory .*missing does not exist'),
])
def test_destination_refuses_unusable_paths(tmp_path, setup, message) -> None:
    path = tmp_path / 'img.tar'
    if setup == 'directory':
        path.mkdir()
    elif setup == 'fifo':
        os.mkfifo(path)
    else:
        path = tmp_path / 'missing' / 'img.tar'
    with pytest.raises(LayoutError, match=message):
        destination('%s:x' % path)


# -- get_manifest_digest: what check mode relies on ------------------------------------------------

def test_get_manifest_digest(tmp_path) -> None:
    archive = tmp_path / 'img.tar'
    image = make_image()
    with destination('%s:v1' % archive) as dest:
        assert dest.get_manifest_digest() is None
    put_image(destination('%s:v1' % archive), image)
    before = snapshot(tmp_path)
    with destination('%s:v1' % archive) as dest:
        assert dest.get_manifest_digest() == image.digest
    # Another name, or no name, would rewrite the archive: not up to date.
    for details in ('%s:other' % archive, str(archive)):
        with destination(details) as dest:
            assert dest.get_manifest_digest() is None
    # An archive holding further images would lose them: not up to date either.
    build_tar(tmp_path / 'two.tar', layout_entries(image, 'v1')[:1] + [Entry('index.json', json.dumps({
        'schemaVersion': 2, 'manifests': [
            {'mediaType': mt.OCI_MANIFEST, 'digest': str(image.digest), 'size': len(image.manifest), 'annotations': {REF_NAME: 'v1'}},
            {'mediaType': mt.OCI_MANIFEST, 'digest': str(image.digest), 'size': len(image.manifest), 'annotations': {REF_NAME: 'v2'}},
        ]}).encode())] + layout_entries(image, 'v1')[2:])
    with destination('%s:v1' % (tmp_path / 'two.tar')) as dest:
        assert dest.get_manifest_digest() is None
    # A corrupt archive is "holds nothing": commit would replace it.
    (tmp_path / 'bad.tar').write_bytes(b'not a tar at all' * 64)
    with destination('%s:v1' % (tmp_path / 'bad.tar')) as dest:
        assert dest.get_manifest_digest() is None
    # None of this wrote a file.
    del before
    assert sorted(os.listdir(tmp_path)) == ['bad.tar', 'img.tar', 'two.tar']


def test_second_identical_copy_is_unchanged_and_check_mode_writes_nothing(tmp_path) -> None:
    layout, archive = tmp_path / 'layout', tmp_path / 'img.tar'
    image = make_image()
    put_image(OCILayoutTransport().parse_reference('%s:t' % layout).new_destination(OPTIONS), image)
    src_ref = OCILayoutTransport().parse_reference('%s:t' % layout)
    dest_ref = OCIArchiveTransport().parse_reference('%s:t' % archive)
    predicted = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions(), check_mode=True)
    assert predicted.changed and not os.path.exists(archive)
    assert sorted(os.listdir(tmp_path)) == ['layout']
    first = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions())
    assert first.changed and first.stats.copied == 2
    before = snapshot(tmp_path)
    second = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions())
    assert not second.changed and second.plan.reason == 'destination already holds %s' % image.digest
    assert snapshot(tmp_path) == before
    # And back out of the archive into a layout.
    back = copy_image(dest_ref, OCILayoutTransport().parse_reference('%s:t' % (tmp_path / 'back')), OPTIONS, OPTIONS, CopyOptions())
    assert back.changed and back.plan.after == image.digest


# -- reading archives other tools made -------------------------------------------------------------

@pytest.mark.parametrize('compression', ['gzip', 'bzip2', 'xz', 'zstd'])
def test_reads_a_compressed_archive(tmp_path, compression) -> None:
    image = make_image()
    plain = build_tar(tmp_path / 'plain.tar', layout_entries(image, 't'))
    if compression == 'gzip':
        packed = gzip.compress(plain)
    elif compression == 'bzip2':
        import bz2  # pylint: disable=import-outside-toplevel
        packed = bz2.compress(plain)
    elif compression == 'xz':
        import lzma  # pylint: disable=import-outside-toplevel
        packed = lzma.compress(plain)
    else:
        zstandard = pytest.importorskip('zstandard')
        packed = zstandard.ZstdCompressor().compress(plain)
    (tmp_path / 'packed.tar').write_bytes(packed)
    with source('%s:t' % (tmp_path / 'packed.tar')) as src:
        assert src.archive.tar.compression == compression
        assert src.get_manifest()[0] == image.manifest
        assert read_blob(src, image.layers[0]) == image.layers[0]
    # The decompressed copy was an unnamed temporary file: nothing new beside the archive.
    assert sorted(os.listdir(tmp_path)) == ['packed.tar', 'plain.tar']


def test_truncated_compressed_archive(tmp_path) -> None:
    packed = gzip.compress(build_tar(tmp_path / 'plain.tar', layout_entries(make_image(), 't')))
    (tmp_path / 'cut.tar.gz').write_bytes(packed[:len(packed) // 2])
    with pytest.raises(LayoutError, match=r'cannot decompress \(gzip\) OCI archive .*cut.tar.gz: the compressed data is truncated'):
        source(str(tmp_path / 'cut.tar.gz'))


def test_reads_a_tar_made_with_dot_prefixes(tmp_path) -> None:
    # tar -C layout -cf x.tar . writes "./", "./index.json", ...
    image = make_image()
    entries = [Entry('.', kind=tarfile.DIRTYPE), Entry('./blobs', kind=tarfile.DIRTYPE)]
    entries += [Entry('./' + entry.name, entry.data) for entry in layout_entries(image, 't')]
    build_tar(tmp_path / 'dot.tar', entries)
    with source('%s:t' % (tmp_path / 'dot.tar')) as src:
        assert src.get_manifest()[0] == image.manifest
        assert read_blob(src, image.config) == image.config


@pytest.mark.parametrize('entries_of, error, message', [
    (lambda image: [entry for entry in layout_entries(image) if entry.name != 'index.json'], LayoutError,
     'is not an OCI archive: it has no index.json'),
    (lambda image: [Entry('oci-layout', b'{"imageLayoutVersion": "2.0.0"}')] + layout_entries(image)[1:], LayoutError,
     'unsupported imageLayoutVersion'),
    (lambda image: [Entry('index.json', b'{"schemaVersion": 1}')] + layout_entries(image)[:1] + layout_entries(image)[2:], LayoutError,
     'index.json in OCI archive .* has schemaVersion 1, expected 2'),
    (lambda image: [Entry('index.json', b'[]')] + layout_entries(image)[2:], LayoutError, 'is not a JSON object'),
    (lambda image: [Entry('index.json', b'{"schemaVersion": 2, ')] + layout_entries(image)[2:], LayoutError, 'is not valid JSON'),
])
def test_bad_layouts_inside_the_archive(tmp_path, entries_of, error, message) -> None:
    build_tar(tmp_path / 'bad.tar', entries_of(make_image()))
    with pytest.raises(error, match=message):
        source('%s:t' % (tmp_path / 'bad.tar'))


def test_selection_errors(tmp_path) -> None:
    one, two = make_image([b'one']), make_image([b'two'])
    entries = layout_entries(one, 'a')
    index = json.loads(entries[1].data)
    index['manifests'].append({'mediaType': mt.OCI_MANIFEST, 'digest': str(two.digest), 'size': len(two.manifest),
                               'annotations': {REF_NAME: 'b'}})
    entries[1] = Entry('index.json', json.dumps(index).encode())
    build_tar(tmp_path / 'two.tar', entries)
    with source(str(tmp_path / 'two.tar')) as src:
        with pytest.raises(InvalidReferenceError, match=r'holds 2 images; choose one with oci-archive:%s:NAME \(names in index.json: a, b\)'
                           % (tmp_path / 'two.tar')):
            src.get_manifest()
    with source('%s:b' % (tmp_path / 'two.tar')) as src:
        # Listed, but the archive lacks the manifest blob.
        with pytest.raises(BlobNotFoundError, match='blob %s not found in OCI archive' % two.digest):
            src.get_manifest()
    with pytest.raises(ImageNotFoundError, match='OCI archive %s does not exist' % (tmp_path / 'missing.tar')):
        source(str(tmp_path / 'missing.tar'))


def test_tampered_manifest_is_caught(tmp_path) -> None:
    image = make_image()
    entries = layout_entries(image, 't')
    for position, entry in enumerate(entries):
        if entry.data == image.manifest:
            entries[position] = Entry(entry.name, image.manifest.replace(b'"schemaVersion":2', b'"schemaVersion":3'))
    build_tar(tmp_path / 'tampered.tar', entries)
    with source('%s:t' % (tmp_path / 'tampered.tar')) as src:
        with pytest.raises(DigestMismatchError, match='manifest in OCI archive .* digest mismatch'):
            src.get_manifest()


# -- interop with skopeo and podman ----------------------------------------------------------------

@needs_skopeo
def test_skopeo_reads_our_archive(tmp_path) -> None:
    archive = tmp_path / 'ours.tar'
    image = make_image([b'a', b'b'])
    put_image(destination('%s:t' % archive), image)
    inspected = json.loads(run(str(SKOPEO), 'inspect', 'oci-archive:%s:t' % archive).stdout)
    assert inspected['Digest'] == str(image.digest)
    assert inspected['Layers'] == [str(Digest.from_bytes(layer)) for layer in image.layers]
    assert run(str(SKOPEO), 'inspect', '--raw', 'oci-archive:%s:t' % archive).stdout.encode() == image.manifest
    assert run(str(SKOPEO), 'inspect', '--config', '--raw', 'oci-archive:%s:t' % archive).stdout.encode() == image.config
    config = json.loads(run(str(SKOPEO), 'inspect', '--config', 'oci-archive:%s:t' % archive).stdout)
    assert config['rootfs']['diff_ids'] == image.diff_ids
    # skopeo copies out of it too (reading every blob).
    run(str(SKOPEO), 'copy', '--quiet', 'oci-archive:%s:t' % archive, 'oci:%s:t' % (tmp_path / 'copied'))


@needs_skopeo
def test_we_read_what_skopeo_writes(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image([b'a', b'b'])
    put_image(OCILayoutTransport().parse_reference('%s:t' % layout).new_destination(OPTIONS), image)
    run(str(SKOPEO), 'copy', '--quiet', 'oci:%s:t' % layout, 'oci-archive:%s:t' % (tmp_path / 'theirs.tar'))
    with source('%s:t' % (tmp_path / 'theirs.tar')) as src:
        raw, media_type = src.get_manifest()
        assert Digest.from_bytes(raw) == image.digest and media_type == mt.OCI_MANIFEST
        assert read_blob(src, image.config) == image.config
        for layer in image.layers:
            assert read_blob(src, layer) == layer
    # A second skopeo write replaces its archive; we see only the new name.
    run(str(SKOPEO), 'copy', '--quiet', 'oci:%s:t' % layout, 'oci-archive:%s:other' % (tmp_path / 'theirs.tar'))
    with source(str(tmp_path / 'theirs.tar')) as src:
        assert src.list_tags() == ['other']
    # Our engine copies it on, and reports the copy unchanged when repeated.
    src_ref = OCIArchiveTransport().parse_reference('%s:other' % (tmp_path / 'theirs.tar'))
    dest_ref = OCIArchiveTransport().parse_reference('%s:t' % (tmp_path / 'ours.tar'))
    assert copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions()).changed
    assert not copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions()).changed


@pytest.mark.skipif(not PODMAN, reason='podman is needed')
def test_podman_loads_our_archive(tmp_path) -> None:
    archive = tmp_path / 'ours.tar'
    image = make_image([b'podman'])
    put_image(destination('%s:t' % archive), image)
    with Podman(tmp_path) as podman:
        podman.load(archive)
        inspected = json.loads(podman('image', 'inspect', image.config_digest.hex).stdout)
    assert inspected[0]['RootFS']['Layers'] == image.diff_ids
