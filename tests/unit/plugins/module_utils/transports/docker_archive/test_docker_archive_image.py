# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading ``docker save`` archives, writing them, and interop with skopeo and podman."""

from __future__ import annotations

import bz2
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
    ManifestError,
    ManifestTooLargeError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.reference import parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.archive import synthesize_manifest
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.destination import (
    DockerArchiveDestination,
    go_json,
    legacy_layers,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.source import DockerArchiveSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.transport import DockerArchiveTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import OCILayoutTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.tar_safety import SafeTarReader
from ansible_collections.ocikit.images.plugins.module_utils.transports.tar_writer import AtomicTarWriter
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.oci_archive.archive_test_images import (
    PODMAN,
    SKOPEO,
    Entry,
    Image,
    Podman,
    build_tar,
    docker_save_entries,
    layer_tar_of,
    make_image,
    put_image,
    read_blob,
    run,
    snapshot,
)

OPTIONS = ConnectionOptions()
needs_skopeo = pytest.mark.skipif(not SKOPEO, reason='skopeo is needed for interop tests')


def source(details: str) -> DockerArchiveSource:
    src = DockerArchiveTransport().parse_reference(details).new_source(OPTIONS)
    assert isinstance(src, DockerArchiveSource)
    return src


def destination(details: str, additional_tags: t.Sequence[str] = ()) -> DockerArchiveDestination:
    ref = DockerArchiveTransport().parse_reference(details)
    return ref.new_destination(OPTIONS, additional_tags=[parse_normalized_named(tag) for tag in additional_tags])


def expected_manifest(image: Image, layer_files: t.Sequence[bytes] | None = None) -> bytes:
    """The manifest a docker-archive source must synthesize for ``image`` stored with ``layer_files``."""
    layers = []
    for position, diff_id in enumerate(image.diff_ids):
        stored = layer_files[position] if layer_files is not None else layer_tar_of(image, position)
        if stored[:2] == b'\x1f\x8b':
            layers.append((mt.DOCKER_LAYER_GZIP, len(stored), Digest.from_bytes(stored)))
        else:
            layers.append((mt.DOCKER_LAYER, len(stored), Digest(diff_id)))
    return synthesize_manifest(image.config, layers)


def members(path: t.Any) -> list[tuple[str, str]]:
    with tarfile.open(str(path)) as archive:
        return [(info.name, info.linkname) for info in archive.getmembers()]


def read_member(path: t.Any, name: str) -> bytes:
    with tarfile.open(str(path)) as archive:
        handle = archive.extractfile(name)
        assert handle is not None
        return handle.read()


# -- reading archives ------------------------------------------------------------------------------

@pytest.mark.parametrize('style', ['flat', 'legacy', 'oci'])
def test_reads_docker_save_layouts(tmp_path, style) -> None:
    archive = tmp_path / 'saved.tar'
    image = make_image([b'one', b'two'], docker=True, compress=False)
    build_tar(archive, docker_save_entries([(image, ['busybox:latest'])], style=style))
    for details in (str(archive), '%s:busybox' % archive, '%s:docker.io/library/busybox:latest' % archive, '%s:@0' % archive):
        with source(details) as src:
            raw, media_type = src.get_manifest()
            assert (raw, media_type) == (expected_manifest(image), mt.DOCKER_V2S2)
            # Uncompressed layers: the synthesized manifest is the one we started from, byte for byte.
            assert raw == image.manifest
            assert src.get_manifest(Digest.from_bytes(raw)) == (raw, mt.DOCKER_V2S2)
            assert read_blob(src, image.config) == image.config
            for layer in image.layers:
                assert read_blob(src, layer) == layer
            with pytest.raises(BlobNotFoundError, match='blob sha256:0+ is not part of the image in docker archive'):
                with src.get_blob(BlobInfo(Digest('sha256:' + '0' * 64))):
                    pass
            with pytest.raises(ImageNotFoundError, match='a docker archive holds no manifest lists'):
                src.get_manifest(Digest('sha256:' + '1' * 64))


def test_compressed_layer_files_are_described_as_they_are(tmp_path, monkeypatch) -> None:
    archive = tmp_path / 'gz.tar'
    image = make_image([b'one', b'two'], docker=True, compress=True)
    build_tar(archive, docker_save_entries([(image, [])], layer_files=image.layers))
    reads: list[str] = []
    original = SafeTarReader.iter_member

    def counting(self: SafeTarReader, member: t.Any, chunk_size: int = 1 << 20) -> t.Iterator[bytes]:
        reads.append(member.name)
        return original(self, member, chunk_size)

    monkeypatch.setattr(SafeTarReader, 'iter_member', counting)
    with source(str(archive)) as src:
        raw, dummy = src.get_manifest()
        # gzip layers keep their gzip media type and the digest of the file as stored.
        assert raw == image.manifest == expected_manifest(image, image.layers)
        assert len(reads) == 2
        assert src.archive.image(0).manifest == raw
        assert len(reads) == 2  # hashed once per file, then cached
        assert read_blob(src, image.layers[1]) == image.layers[1]


@pytest.mark.parametrize('compress, name', [(bz2.compress, 'bzip2')])
def test_other_layer_compressions_are_refused(tmp_path, compress, name) -> None:
    archive = tmp_path / 'bz.tar'
    image = make_image([b'one'], docker=True, compress=False)
    stored = [compress(image.layers[0])]
    build_tar(archive, docker_save_entries([(image, [])], layer_files=stored))
    with source(str(archive)) as src:
        with pytest.raises(UnsupportedMediaTypeError, match='layer ".*" is %s-compressed; a Docker schema2 manifest can describe only' % name):
            src.get_manifest()


def test_gzip_compressed_archive(tmp_path) -> None:
    image = make_image([b'one'], docker=True, compress=False)
    plain = build_tar(tmp_path / 'plain.tar', docker_save_entries([(image, ['busybox:1'])], style='legacy'))
    (tmp_path / 'saved.tar.gz').write_bytes(gzip.compress(plain))
    with source('%s:busybox:1' % (tmp_path / 'saved.tar.gz')) as src:
        assert src.archive.tar.compression == 'gzip'
        assert src.get_manifest()[0] == image.manifest
        assert read_blob(src, image.layers[0]) == image.layers[0]
    assert sorted(os.listdir(tmp_path)) == ['plain.tar', 'saved.tar.gz']


def test_choosing_among_several_images(tmp_path) -> None:
    archive = tmp_path / 'multi.tar'
    first, second = make_image([b'one'], docker=True, compress=False), make_image([b'two'], docker=True, compress=False)
    build_tar(archive, docker_save_entries([(first, ['busybox:latest', 'quay.io/x/y:1']), (second, ['docker.io/library/app:2'])]))
    for details, image in (('%s:busybox' % archive, first), ('%s:quay.io/x/y:1' % archive, first), ('%s:app:2' % archive, second),
                           ('%s:@1' % archive, second), ('%s:@0' % archive, first)):
        with source(details) as src:
            assert src.get_manifest()[0] == image.manifest
    with source(str(archive)) as src:
        with pytest.raises(InvalidReferenceError, match=re.escape('docker archive %s holds 2 images; choose one with docker-archive:%s:REF or '
                                                                  'docker-archive:%s:@N (tags: busybox:latest, quay.io/x/y:1, '
                                                                  'docker.io/library/app:2)' % (archive, archive, archive))):
            src.get_manifest()
    with source('%s:app:3' % archive) as src:
        with pytest.raises(ImageNotFoundError, match='no image tagged docker.io/library/app:3 in docker archive %s' % archive):
            src.get_manifest()
    with source('%s:@2' % archive) as src:
        with pytest.raises(ImageNotFoundError, match=r'has no image @2: it holds 2 \(@0 to @1\)'):
            src.get_manifest()


def test_empty_manifest_json(tmp_path) -> None:
    build_tar(tmp_path / 'empty.tar', [Entry('manifest.json', b'[]')])
    with source(str(tmp_path / 'empty.tar')) as src:
        with pytest.raises(ImageNotFoundError, match='holds no image'):
            src.get_manifest()
    with source('%s:@0' % (tmp_path / 'empty.tar')) as src:
        with pytest.raises(ImageNotFoundError, match='has no image @0: it holds no image'):
            src.get_manifest()


def test_the_same_layer_twice(tmp_path) -> None:
    archive = tmp_path / 'twice.tar'
    image = make_image([b'same', b'same'], docker=True, compress=False)
    assert image.layers[0] != image.layers[1]  # different file names inside the layers
    image = make_image([b'same'], docker=True, compress=False)
    config = json.loads(image.config)
    config['rootfs']['diff_ids'] *= 2
    config_raw = json.dumps(config).encode()
    entries = [Entry('c.json', config_raw), Entry('l.tar', image.layers[0]), Entry('alias/layer.tar', kind=tarfile.SYMTYPE, linkname='../l.tar'),
               Entry('manifest.json', json.dumps([{'Config': 'c.json', 'RepoTags': None, 'Layers': ['l.tar', 'alias/layer.tar']}]).encode())]
    build_tar(archive, entries)
    with source(str(archive)) as src:
        manifest = json.loads(src.get_manifest()[0])
        assert [layer['digest'] for layer in manifest['layers']] == [image.diff_ids[0]] * 2
        assert read_blob(src, image.layers[0]) == image.layers[0]


def broken(image: Image, change: str) -> list[Entry]:
    entries = docker_save_entries([(image, ['busybox:latest'])])
    manifest_json = json.loads(entries[-1].data)
    config = json.loads(image.config)
    if change == 'count':
        manifest_json[0]['Layers'] = manifest_json[0]['Layers'][:1]
    elif change == 'missing-layer':
        manifest_json[0]['Layers'][1] = 'nope.tar'
    elif change == 'same-file':
        manifest_json[0]['Layers'][1] = manifest_json[0]['Layers'][0]
    elif change == 'missing-config':
        manifest_json[0]['Config'] = 'nope.json'
    elif change == 'no-rootfs':
        del config['rootfs']
    elif change == 'bad-diff-id':
        config['rootfs']['diff_ids'][0] = 'sha256:abc'
    elif change == 'unsafe-path':
        manifest_json[0]['Layers'][0] = '../../etc/passwd'
    elif change == 'bad-tag':
        manifest_json[0]['RepoTags'] = ['Not A Tag']
    elif change == 'types':
        manifest_json[0]['Layers'] = 'x.tar'
    elif change == 'not-a-list':
        manifest_json = {'Config': 'x'}
    elif change == 'no-manifest':
        return entries[:-1]
    if change in ('no-rootfs', 'bad-diff-id'):
        raw = json.dumps(config).encode()
        entries[0] = Entry(entries[0].name, raw)
    entries[-1] = Entry('manifest.json', json.dumps(manifest_json).encode())
    return entries


@pytest.mark.parametrize('change, details, error, message', [
    ('count', '', ManifestError, r'item @0: inconsistent layer count: 1 in manifest.json, 2 in the config\'s rootfs.diff_ids'),
    ('missing-layer', '', LayoutError, r'item @0: layer "nope.tar" is not in the archive'),
    ('same-file', '', ManifestError, r'layer file ".*" is listed for two different diff_ids'),
    ('missing-config', '', LayoutError, r'item @0: config "nope.json" is not in the archive'),
    ('no-rootfs', '', ManifestError, r'the config has no rootfs.diff_ids list'),
    ('bad-diff-id', '', ManifestError, r'rootfs.diff_ids\[0\] of the config: invalid digest'),
    ('unsafe-path', '', LayoutError, r'refusing docker archive .*: manifest.json, item @0 names the unsafe path "../../etc/passwd"'),
    ('bad-tag', ':busybox', LayoutError, r'manifest.json in docker archive .*, item @0: invalid tag "Not A Tag"'),
    ('types', '', LayoutError, r'item @0: Layers must be a list of strings'),
    ('not-a-list', '', LayoutError, r'manifest.json in docker archive .* is not a JSON list'),
    ('no-manifest', '', LayoutError, r'has no manifest.json \(an archive of docker 1.9 or older, or not a docker archive\)'),
])
def test_broken_archives(tmp_path, change, details, error, message) -> None:
    archive = tmp_path / 'broken.tar'
    build_tar(archive, broken(make_image([b'one', b'two'], docker=True, compress=False), change))
    with pytest.raises(error, match=message):
        with source(str(archive) + details) as src:
            src.get_manifest()


def test_oversized_documents(tmp_path) -> None:
    build_tar(tmp_path / 'big.tar', [Entry('manifest.json', b' ' * (1024 * 1024 + 1))])
    with pytest.raises(LayoutError) as excinfo:
        source(str(tmp_path / 'big.tar'))
    # The member is named once: not "manifest.json (manifest.json in docker archive ...)".
    assert str(excinfo.value) == 'manifest.json in docker archive %s is 1048577 bytes, over the 1048576 byte limit' % (tmp_path / 'big.tar')
    image = make_image(docker=True, compress=False)
    entries = docker_save_entries([(image, [])])
    entries[0] = Entry(entries[0].name, b' ' * (4 * 1024 * 1024 + 1))
    build_tar(tmp_path / 'config.tar', entries)
    with source(str(tmp_path / 'config.tar')) as src:
        with pytest.raises(ManifestTooLargeError, match='over the 4194304 byte limit'):
            src.get_manifest()


# -- writing archives ------------------------------------------------------------------------------

def test_write_then_read_back(tmp_path) -> None:
    archive = tmp_path / 'out.tar'
    image = make_image([b'one', b'two'], docker=True, compress=False, user='1000')
    put_image(destination('%s:foo:bar' % archive), image)
    assert os.listdir(tmp_path) == ['out.tar']
    legacy = legacy_layers([Digest(d) for d in image.diff_ids], json.loads(image.config))
    layer_names = ['%s.tar' % Digest(d).hex for d in image.diff_ids]
    expected_members = [(name, '') for name in layer_names] + [('%s.json' % image.config_digest.hex, '')]
    for (layer_id, dummy, digest) in legacy:
        expected_members += [('%s/layer.tar' % layer_id, '../%s.tar' % digest.hex), ('%s/VERSION' % layer_id, ''), ('%s/json' % layer_id, '')]
    assert members(archive) == expected_members + [('manifest.json', ''), ('repositories', '')]
    assert read_member(archive, 'manifest.json') == json.dumps([{
        'Config': '%s.json' % image.config_digest.hex, 'RepoTags': ['docker.io/library/foo:bar'], 'Layers': layer_names,
    }], separators=(',', ':')).encode()
    assert json.loads(read_member(archive, 'repositories')) == {'docker.io/library/foo': {'bar': legacy[-1][0]}}
    assert read_member(archive, '%s/VERSION' % legacy[0][0]) == b'1.0'
    bottom, top = json.loads(read_member(archive, '%s/json' % legacy[0][0])), read_member(archive, '%s/json' % legacy[1][0])
    assert bottom == {'id': legacy[0][0]}
    # Go's encoding: sorted keys, compact, HTML characters escaped, absent fields null.
    assert top.startswith(b'{"architecture":"amd64","config":{"Env":["A=\\u003cb\\u003e\\u0026c"],"User":"1000"},"container":null,')
    assert json.loads(top)['parent'] == legacy[0][0]
    with tarfile.open(str(archive)) as handle:
        for info in handle.getmembers():
            assert (info.mode, info.mtime, info.uid, info.gid) == ((0 if info.issym() else 0o444), 0, 0, 0)
    # Read back: the same manifest, config and layers.
    with source('%s:foo:bar' % archive) as src:
        assert src.get_manifest()[0] == image.manifest
        assert read_blob(src, image.config) == image.config
        for layer in image.layers:
            assert read_blob(src, layer) == layer


def test_additional_tags_and_untagged(tmp_path) -> None:
    image = make_image(docker=True, compress=False)
    dest = destination('%s:foo:bar' % (tmp_path / 'tags.tar'), ['quay.io/x/y:1', 'foo:bar', 'busybox'])
    assert [str(tag) for tag in dest.repo_tags] == ['docker.io/library/foo:bar', 'quay.io/x/y:1', 'docker.io/library/busybox:latest']
    put_image(dest, image)
    item = json.loads(read_member(tmp_path / 'tags.tar', 'manifest.json'))[0]
    assert item['RepoTags'] == ['docker.io/library/foo:bar', 'quay.io/x/y:1', 'docker.io/library/busybox:latest']
    assert sorted(json.loads(read_member(tmp_path / 'tags.tar', 'repositories'))) == [
        'docker.io/library/busybox', 'docker.io/library/foo', 'quay.io/x/y']
    for tag in ('foo:bar', 'quay.io/x/y:1', 'busybox'):
        with source('%s:%s' % (tmp_path / 'tags.tar', tag)) as src:
            assert src.get_manifest()[0] == image.manifest
    put_image(destination(str(tmp_path / 'untagged.tar')), image)
    assert json.loads(read_member(tmp_path / 'untagged.tar', 'manifest.json'))[0]['RepoTags'] == []
    assert read_member(tmp_path / 'untagged.tar', 'repositories') == b'{}'
    with pytest.raises(InvalidReferenceError, match='tags images by tag, not by digest'):
        DockerArchiveTransport().parse_reference(str(tmp_path / 'x.tar')).new_destination(
            OPTIONS, additional_tags=[parse_normalized_named('busybox@sha256:' + 'a' * 64)])


def test_destination_properties_and_manifest_checks(tmp_path) -> None:
    oci = make_image()
    dest = destination('%s:x' % (tmp_path / 'out.tar'))
    assert dest.supported_manifest_types == (mt.DOCKER_V2S2,)
    assert dest.supports_index is False
    assert dest.requires_uncompressed_layers is True
    with dest:
        with pytest.raises(UnsupportedMediaTypeError, match=re.escape('cannot store manifests of type %s' % mt.OCI_MANIFEST)):
            dest.put_manifest(oci.manifest, mt.OCI_MANIFEST)
        with pytest.raises(UnsupportedMediaTypeError, match='cannot store manifest lists'):
            dest.put_manifest(oci.manifest, mt.DOCKER_V2S2, instance_digest=oci.digest)
        with pytest.raises(LayoutError, match='nothing to commit'):
            dest.commit()
    with pytest.raises(LayoutError, match='destination is closed'):
        dest.put_blob([b'x'], BlobInfo(Digest.from_bytes(b'x'), 1))
    assert os.listdir(tmp_path) == []


def failing_add_file(self: AtomicTarWriter, name: str, source_path: str, mode: int = 0o644) -> int:
    raise LayoutError('cannot write %s to %s %s: No space left on device' % (name, self.what, self.path))


@pytest.mark.parametrize('failure', ['digest', 'missing-blob', 'no-commit', 'tar-write'])
def test_failed_write_leaves_the_archive_byte_identical(tmp_path, monkeypatch, failure) -> None:
    archive = tmp_path / 'out.tar'
    put_image(destination('%s:foo:bar' % archive), make_image([b'one'], docker=True, compress=False))
    before = snapshot(tmp_path)
    other = make_image([b'two'], docker=True, compress=False)
    dest = destination('%s:foo:bar' % archive)
    try:
        if failure == 'digest':
            with pytest.raises(DigestMismatchError):
                dest.put_blob([b'not the layer'], BlobInfo(Digest.from_bytes(other.layers[0]), len(other.layers[0])))
        elif failure == 'missing-blob':
            dest.put_blob([other.config], BlobInfo(other.config_digest, len(other.config)))
            dest.put_manifest(other.manifest, mt.DOCKER_V2S2)
            with pytest.raises(BlobNotFoundError, match='blob %s of the manifest was not written' % Digest.from_bytes(other.layers[0])):
                dest.commit()
        elif failure == 'no-commit':
            put_image(dest, other, commit=False, close=False)
        else:
            monkeypatch.setattr(AtomicTarWriter, 'add_file', failing_add_file)
            with pytest.raises(LayoutError, match='No space left on device'):
                put_image(dest, other, close=False)
        assert snapshot(tmp_path)['out.tar'] == before['out.tar']
    finally:
        dest.close()
    assert snapshot(tmp_path) == before


def test_get_manifest_digest(tmp_path) -> None:
    archive = tmp_path / 'out.tar'
    image = make_image([b'one'], docker=True, compress=False)
    with destination('%s:foo:bar' % archive) as dest:
        assert dest.get_manifest_digest() is None
    put_image(destination('%s:foo:bar' % archive, ['quay.io/x/y:1']), image)
    names = sorted(os.listdir(tmp_path))
    # Same tags in the same order: the digest of the manifest the archive synthesizes.
    with destination('%s:foo:bar' % archive, ['quay.io/x/y:1']) as dest:
        assert dest.get_manifest_digest() == image.digest
    # Other tags (or fewer, or in another order, or none) would rewrite the archive.
    for details, extra in (('%s:foo:bar' % archive, ()), ('%s:quay.io/x/y:1' % archive, ['foo:bar']), (str(archive), ())):
        with destination(details, extra) as dest:
            assert dest.get_manifest_digest() is None
    # Two images: a rewrite would drop one.
    build_tar(tmp_path / 'two.tar', docker_save_entries([(image, ['foo:bar']), (make_image([b'x'], docker=True, compress=False), [])]))
    with destination('%s:foo:bar' % (tmp_path / 'two.tar')) as dest:
        assert dest.get_manifest_digest() is None
    # Unreadable: commit would replace it.
    (tmp_path / 'bad.tar').write_bytes(b'\x1f\x8b not really gzip')
    with destination('%s:foo:bar' % (tmp_path / 'bad.tar')) as dest:
        assert dest.get_manifest_digest() is None
    assert sorted(os.listdir(tmp_path)) == sorted(names + ['two.tar', 'bad.tar'])


def test_copy_between_archives_is_idempotent(tmp_path) -> None:
    image = make_image([b'one', b'two'], docker=True, compress=False)
    build_tar(tmp_path / 'saved.tar', docker_save_entries([(image, ['busybox:latest'])], style='legacy'))
    src_ref = DockerArchiveTransport().parse_reference('%s:busybox' % (tmp_path / 'saved.tar'))
    dest_ref = DockerArchiveTransport().parse_reference('%s:foo:bar' % (tmp_path / 'out.tar'))
    assert copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions(), check_mode=True).changed
    assert sorted(os.listdir(tmp_path)) == ['saved.tar']
    first = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions())
    assert first.changed and first.plan.after == image.digest and first.stats.copied == 3
    before = snapshot(tmp_path)
    second = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions())
    assert not second.changed and snapshot(tmp_path) == before
    # A new tag changes the archive.
    retag = DockerArchiveTransport().parse_reference('%s:foo:baz' % (tmp_path / 'out.tar'))
    assert copy_image(src_ref, retag, OPTIONS, OPTIONS, CopyOptions()).changed
    assert json.loads(read_member(tmp_path / 'out.tar', 'manifest.json'))[0]['RepoTags'] == ['docker.io/library/foo:baz']


def test_compressed_blobs_are_stored_as_they_come(tmp_path) -> None:
    # The engine should decompress first (requires_uncompressed_layers); if it does not, the
    # archive still loads, and reads back as a gzip layer.
    image = make_image([b'one'], docker=True, compress=True)
    put_image(destination('%s:foo:bar' % (tmp_path / 'gz.tar')), image)
    with source(str(tmp_path / 'gz.tar')) as src:
        assert src.get_manifest()[0] == image.manifest
        assert read_blob(src, image.layers[0]) == image.layers[0]


def test_legacy_ids_and_go_json() -> None:
    one, two = Digest('sha256:' + '1' * 64), Digest('sha256:' + '2' * 64)
    layers = legacy_layers([one, two], {'os': 'linux', 'created': 'x'})
    chain = Digest.from_bytes(('%s %s' % (one, two)).encode())
    bottom_config = {'layer_id': str(one)}
    assert layers[0][0] == Digest.from_bytes(json.dumps(bottom_config, separators=(',', ':')).encode()).hex
    top_config = json.loads(layers[1][1])
    assert top_config['parent'] == layers[0][0] and top_config['os'] == 'linux' and top_config['docker_version'] is None
    del top_config['id']
    top_config['layer_id'] = str(chain)
    assert layers[1][0] == Digest.from_bytes(go_json(top_config, sort_keys=True)).hex
    assert not legacy_layers([], {})
    assert go_json({'b': '<&>\u2028', 'a': 1}, sort_keys=True) == b'{"a":1,"b":"\\u003c\\u0026\\u003e\\u2028"}'


# -- interop with skopeo and podman ----------------------------------------------------------------

@needs_skopeo
def test_skopeo_reads_our_archive(tmp_path) -> None:
    archive = tmp_path / 'ours.tar'
    image = make_image([b'a', b'b'], docker=True, compress=False)
    put_image(destination('%s:foo:bar' % archive), image)
    inspected = json.loads(run(str(SKOPEO), 'inspect', 'docker-archive:%s' % archive).stdout)
    assert inspected['Layers'] == image.diff_ids
    assert run(str(SKOPEO), 'inspect', '--config', '--raw', 'docker-archive:%s:foo:bar' % archive).stdout.encode() == image.config
    theirs = json.loads(run(str(SKOPEO), 'inspect', '--raw', 'docker-archive:%s' % archive).stdout)
    assert theirs['config']['digest'] == str(image.config_digest)
    assert [layer['digest'] for layer in theirs['layers']] == image.diff_ids
    # skopeo 1.9.3 labels uncompressed layers ".tar.gzip"; we say what they are, so only that differs.
    assert {layer['mediaType'] for layer in theirs['layers']} == {mt.DOCKER_LAYER_GZIP}
    ours = json.loads(image.manifest)
    for layer in theirs['layers']:
        layer['mediaType'] = mt.DOCKER_LAYER
    assert theirs == ours
    # skopeo rewriting our archive produces the same manifest.json, repositories and legacy files.
    run(str(SKOPEO), 'copy', '--quiet', 'docker-archive:%s' % archive, 'docker-archive:%s:foo:bar' % (tmp_path / 'theirs.tar'))
    assert members(tmp_path / 'theirs.tar') == members(archive)
    for name, dummy in members(archive):
        if not name.endswith('layer.tar'):
            assert read_member(tmp_path / 'theirs.tar', name) == read_member(archive, name), name


@needs_skopeo
def test_we_read_what_skopeo_writes(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image([b'a', b'b'])  # OCI, gzip layers: skopeo converts and decompresses
    put_image(OCILayoutTransport().parse_reference('%s:t' % layout).new_destination(OPTIONS), image)
    archive = tmp_path / 'theirs.tar'
    run(str(SKOPEO), 'copy', '--quiet', 'oci:%s:t' % layout, 'docker-archive:%s:foo:bar' % archive)
    for details in (str(archive), '%s:foo:bar' % archive, '%s:docker.io/library/foo:bar' % archive, '%s:@0' % archive):
        with source(details) as src:
            manifest = json.loads(src.get_manifest()[0])
            assert manifest['config']['digest'] == str(image.config_digest)
            assert [layer['digest'] for layer in manifest['layers']] == image.diff_ids
            assert {layer['mediaType'] for layer in manifest['layers']} == {mt.DOCKER_LAYER}
            assert read_blob(src, image.config) == image.config
            for position in range(len(image.layers)):
                assert read_blob(src, layer_tar_of(image, position)) == layer_tar_of(image, position)
    with source('%s:foo:bar' % archive) as src:
        assert str(src.reference.docker_reference()) == 'docker.io/library/foo:bar'
    # And on through our destination: the result equals skopeo's archive file for file.
    src_ref = DockerArchiveTransport().parse_reference(str(archive))
    assert copy_image(src_ref, DockerArchiveTransport().parse_reference('%s:foo:bar' % (tmp_path / 'ours.tar')),
                      OPTIONS, OPTIONS, CopyOptions()).changed
    assert members(tmp_path / 'ours.tar') == members(archive)


@pytest.mark.skipif(not PODMAN, reason='podman is needed')
@pytest.mark.parametrize('compress', [False, True])
def test_podman_loads_our_archive(tmp_path, compress) -> None:
    archive = tmp_path / 'ours.tar'
    image = make_image([b'podman', b'load'], docker=True, compress=compress)
    put_image(destination('%s:foo:bar' % archive, ['quay.io/x/y:1']), image)
    with Podman(tmp_path) as podman:
        podman.load(archive)
        inspected = json.loads(podman('image', 'inspect', 'docker.io/library/foo:bar').stdout)[0]
    assert inspected['Id'] == image.config_digest.hex
    assert inspected['RootFS']['Layers'] == image.diff_ids
    assert sorted(inspected['RepoTags']) == ['docker.io/library/foo:bar', 'quay.io/x/y:1']
