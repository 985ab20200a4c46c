# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing images to a ``dir:`` directory and reading them back; safety of replacement; skopeo interop."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest, verified_stream
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    ImageNotFoundError,
    LayoutError,
    ManifestError,
    ManifestTooLargeError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.dir import destination as dir_destination
from ansible_collections.ocikit.images.plugins.module_utils.transports.dir.destination import DirDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.dir.source import VERSION_TEXT, DirSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.dir.transport import DirTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import OCILayoutTransport

OPTIONS = ConnectionOptions()


# -- a small made-up image -------------------------------------------------------------------------

@dataclasses.dataclass
class Image:
    """Config, one gzip layer and the manifest naming them, with digests computed here."""

    config: bytes
    layer: bytes
    manifest: bytes
    media_type: str

    @property
    def digest(self) -> Digest:
        return Digest.from_bytes(self.manifest)

    def blobs(self) -> list[tuple[bytes, str]]:
        return [(self.config, mt.OCI_CONFIG), (self.layer, mt.OCI_LAYER_GZIP)]


def make_image(content: bytes = b'hello\n', docker: bool = False) -> Image:
    """A real (tiny) image that skopeo accepts; OCI by default, Docker schema2 when ``docker``."""
    raw_tar = io.BytesIO()
    with tarfile.open(fileobj=raw_tar, mode='w', format=tarfile.PAX_FORMAT) as archive:
        member = tarfile.TarInfo('hello.txt')
        member.size = len(content)
        member.mtime = 0
        archive.addfile(member, io.BytesIO(content))
    tar_bytes = raw_tar.getvalue()
    layer = gzip.compress(tar_bytes, mtime=0)
    config = json.dumps({
        'architecture': 'amd64', 'os': 'linux', 'config': {},
        'rootfs': {'type': 'layers', 'diff_ids': [str(Digest.from_bytes(tar_bytes))]},
        'created': '2026-01-01T00:00:00Z',
        'history': [{'created': '2026-01-01T00:00:00Z', 'created_by': 'ocikit unit test'}],
    }, sort_keys=True).encode()
    return build_image(config, layer, docker)


def build_image(config: bytes, layer: bytes, docker: bool = False) -> Image:
    """The manifest naming ``config`` and ``layer``."""
    media_type = mt.DOCKER_V2S2 if docker else mt.OCI_MANIFEST
    manifest = json.dumps({
        'schemaVersion': 2,
        'mediaType': media_type,
        'config': {'mediaType': mt.DOCKER_CONFIG if docker else mt.OCI_CONFIG,
                   'digest': str(Digest.from_bytes(config)), 'size': len(config)},
        'layers': [{'mediaType': mt.DOCKER_LAYER_GZIP if docker else mt.OCI_LAYER_GZIP,
                    'digest': str(Digest.from_bytes(layer)), 'size': len(layer)}],
    }, indent=3).encode()
    return Image(config=config, layer=layer, manifest=manifest, media_type=media_type)


def make_index(*images: Image) -> bytes:
    return json.dumps({
        'schemaVersion': 2,
        'mediaType': mt.OCI_INDEX,
        'manifests': [{'mediaType': image.media_type, 'digest': str(image.digest), 'size': len(image.manifest),
                       'platform': {'architecture': arch, 'os': 'linux'}}
                      for image, arch in zip(images, ('amd64', 'arm64', 's390x'))],
    }).encode()


def open_destination(path: t.Any) -> DirDestination:
    dest = DirTransport().parse_reference(str(path)).new_destination(OPTIONS)
    assert isinstance(dest, DirDestination)
    return dest


def open_source(path: t.Any) -> DirSource:
    source = DirTransport().parse_reference(str(path)).new_source(OPTIONS)
    assert isinstance(source, DirSource)
    return source


def put_image(dest: DirDestination, image: Image, instance: bool = False) -> None:
    for blob, media_type in image.blobs():
        info = BlobInfo(Digest.from_bytes(blob), len(blob), media_type)
        if not dest.has_blob(info):
            assert dest.put_blob(iter([blob[:7], blob[7:]]), info) == info
    dest.put_manifest(image.manifest, image.media_type, image.digest if instance else None)


def write_image(path: t.Any, image: Image, commit: bool = True) -> DirDestination:
    """Write ``image`` through the destination in the contract's order; return the (closed) destination."""
    dest = open_destination(path)
    try:
        dest.get_manifest_digest()
        put_image(dest, image)
        if commit:
            dest.commit()
    finally:
        dest.close()
    return dest


def write_index(path: t.Any, index: bytes, *images: Image) -> None:
    with open_destination(path) as dest:
        for image in images:
            put_image(dest, image, instance=True)
        dest.put_manifest(index, mt.OCI_INDEX)
        dest.commit()


def read_blob(source: DirSource, data: bytes) -> bytes:
    info = BlobInfo(Digest.from_bytes(data), len(data))
    with source.get_blob(info) as (chunks, size):
        assert size == len(data)
        return b''.join(verified_stream(chunks, info.digest, info.size))


def snapshot(path: t.Any) -> dict[str, t.Any]:
    """Every entry under ``path`` with its type, bytes, inode and mtime: equal snapshots mean nothing was touched."""
    result: dict[str, t.Any] = {}
    for root, dirs, files in os.walk(str(path)):
        for name in dirs + files:
            full = os.path.join(root, name)
            info = os.lstat(full)
            content = None
            if os.path.isfile(full) and not os.path.islink(full):
                with open(full, 'rb') as handle:
                    content = handle.read()
            result[os.path.relpath(full, str(path))] = (info.st_mode, info.st_ino, info.st_mtime_ns, content)
    return result


def hexname(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- write, then read back -------------------------------------------------------------------------

def test_write_then_read_back(tmp_path) -> None:
    path = tmp_path / 'image'
    image = make_image()
    write_image(path, image)
    assert sorted(os.listdir(path)) == sorted(['version', 'manifest.json', hexname(image.config), hexname(image.layer)])
    assert (path / 'version').read_bytes() == VERSION_TEXT.encode() == b'Directory Transport Version: 1.1\n'
    assert (path / 'manifest.json').read_bytes() == image.manifest
    assert (path / hexname(image.layer)).read_bytes() == image.layer
    # Only PATH is left in its parent: the work directory moved into place.
    assert os.listdir(tmp_path) == ['image']
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o755 & ~umask
    assert os.stat(path / 'manifest.json').st_mode & 0o777 == 0o644 & ~umask

    with open_source(path) as source:
        assert source.get_manifest() == (image.manifest, None)
        assert read_blob(source, image.config) == image.config
        assert read_blob(source, image.layer) == image.layer
        assert source.get_blob_bytes(BlobInfo(Digest.from_bytes(image.config), len(image.config)), 1024) == image.config
    with open_destination(path) as dest:
        assert dest.get_manifest_digest() == image.digest


def test_index_with_children(tmp_path) -> None:
    path = tmp_path / 'image'
    amd, arm = make_image(b'amd'), make_image(b'arm', docker=True)
    index = make_index(amd, arm)
    write_index(path, index, amd, arm)
    assert (path / 'manifest.json').read_bytes() == index
    assert (path / ('%s.manifest.json' % amd.digest.hex)).read_bytes() == amd.manifest
    with open_source(path) as source:
        assert source.get_manifest() == (index, None)
        assert source.get_manifest(arm.digest) == (arm.manifest, None)
        missing = Digest('sha256:' + 'c' * 64)
        with pytest.raises(ImageNotFoundError, match='manifest %s not found in directory image .*no c+.manifest.json' % missing):
            source.get_manifest(missing)
    # A child whose bytes changed no longer matches the digest it is named by.
    (path / ('%s.manifest.json' % arm.digest.hex)).write_bytes(arm.manifest + b' ')
    with open_source(path) as source:
        with pytest.raises(DigestMismatchError, match='manifest %s in directory image' % arm.digest):
            source.get_manifest(arm.digest)
    with open_destination(path) as dest:
        assert dest.get_manifest_digest() == Digest.from_bytes(index)


def test_every_manifest_type_is_stored_as_is(tmp_path) -> None:
    docker = make_image(docker=True)
    schema1 = json.dumps({'schemaVersion': 1, 'name': 'library/x', 'tag': 'latest', 'architecture': 'amd64',
                          'fsLayers': [], 'history': []}).encode()
    docker_list = json.dumps({'schemaVersion': 2, 'mediaType': mt.DOCKER_LIST, 'manifests': []}).encode()
    for name, raw, media_type in (('docker', docker.manifest, mt.DOCKER_V2S2), ('schema1', schema1, mt.DOCKER_V2S1_SIGNED),
                                  ('schema1u', schema1, mt.DOCKER_V2S1), ('list', docker_list, mt.DOCKER_LIST)):
        with open_destination(tmp_path / name) as dest:
            dest.put_manifest(raw, media_type)
            dest.commit()
        assert (tmp_path / name / 'manifest.json').read_bytes() == raw
    dest = open_destination(tmp_path / 'x')
    assert set(dest.supported_manifest_types) == set(mt.SINGLE_IMAGE_TYPES + mt.INDEX_TYPES + mt.SCHEMA1_TYPES)
    assert dest.supports_index


def test_put_manifest_checks(tmp_path) -> None:
    image = make_image()
    with open_destination(tmp_path / 'image') as dest:
        with pytest.raises(UnsupportedMediaTypeError, match='cannot store manifests of type application/vnd.example'):
            dest.put_manifest(image.manifest, 'application/vnd.example')
        with pytest.raises(UnsupportedMediaTypeError, match='declares mediaType'):
            dest.put_manifest(image.manifest, mt.DOCKER_V2S2)
        with pytest.raises(DigestMismatchError):
            dest.put_manifest(image.manifest, mt.OCI_MANIFEST, instance_digest=Digest('sha256:' + 'd' * 64))
        with pytest.raises(ManifestError, match='not a schemaVersion 1 object'):
            dest.put_manifest(image.manifest, mt.DOCKER_V2S1)
        with pytest.raises(ManifestError, match='not valid JSON'):
            dest.put_manifest(b'{', mt.DOCKER_V2S1)
        with pytest.raises(LayoutError, match='nothing to commit'):
            dest.commit()
    assert not (tmp_path / 'image').exists()
    assert os.listdir(tmp_path) == []


def test_sha512_blob_is_named_by_its_hex(tmp_path) -> None:
    data = b'a blob hashed with sha512'
    info = BlobInfo(Digest.from_bytes(data, 'sha512'), len(data))
    image = make_image()
    with open_destination(tmp_path / 'image') as dest:
        dest.put_blob([data], info)
        put_image(dest, image)
        dest.commit()
    assert (tmp_path / 'image' / hashlib.sha512(data).hexdigest()).read_bytes() == data
    with open_source(tmp_path / 'image') as source:
        with source.get_blob(info) as (chunks, dummy):
            assert b''.join(verified_stream(chunks, info.digest, info.size)) == data


def test_get_blob_streams_in_chunks(tmp_path) -> None:
    big = os.urandom(256 * 1024) * 20  # 5 MiB
    info = BlobInfo(Digest.from_bytes(big), len(big))
    image = make_image()
    with open_destination(tmp_path / 'image') as dest:
        dest.put_blob((big[i:i + 65536] for i in range(0, len(big), 65536)), info)
        put_image(dest, image)
        dest.commit()
    with open_source(tmp_path / 'image') as source:
        with source.get_blob(info) as (chunks, size):
            assert size == len(big)
            sizes = [len(chunk) for chunk in verified_stream(chunks, info.digest, size)]
    assert sum(sizes) == len(big)
    assert max(sizes) <= 1024 * 1024 and len(sizes) >= 5


def test_parallel_put_blob(tmp_path) -> None:
    blobs = [os.urandom(1000 + n) for n in range(16)]
    image = make_image()
    errors: list[BaseException] = []
    with open_destination(tmp_path / 'image') as dest:
        def put(data: bytes) -> None:
            try:
                dest.put_blob([data], BlobInfo(Digest.from_bytes(data), len(data)))
            except BaseException as exc:  # pylint: disable=broad-exception-caught
                errors.append(exc)

        workers = [threading.Thread(target=put, args=(data,)) for data in blobs + blobs]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        put_image(dest, image)
        dest.commit()
    assert not errors
    names = set(os.listdir(tmp_path / 'image'))
    assert {hexname(data) for data in blobs} <= names
    assert not [name for name in names if name.startswith('.')]


# -- writes that must not land ---------------------------------------------------------------------

@pytest.mark.parametrize('declared_size, payload, message', [
    (-1, b'not the promised bytes', 'digest mismatch'),
    (5, b'promised', 'larger than its declared size'),
    (50, b'promised', 'declared size is 50'),
])
def test_put_blob_mismatch_leaves_nothing(tmp_path, declared_size, payload, message) -> None:
    promised = b'promised'
    info = BlobInfo(Digest.from_bytes(promised), declared_size)
    with open_destination(tmp_path / 'image') as dest:
        with pytest.raises(DigestMismatchError, match=message):
            dest.put_blob(iter([payload[:3], payload[3:]]), info)
        assert not dest.has_blob(info)
        work = [name for name in os.listdir(tmp_path) if name.startswith('.image.ocikit-tmp-')]
        assert len(work) == 1
        assert sorted(os.listdir(tmp_path / work[0])) == ['version']
    assert os.listdir(tmp_path) == []


def test_put_blob_source_failure_leaves_nothing(tmp_path) -> None:
    data = b'x' * 100

    def failing() -> t.Iterator[bytes]:
        yield data[:50]
        raise ConnectionResetError('source went away')

    with open_destination(tmp_path / 'image') as dest:
        with pytest.raises(ConnectionResetError):
            dest.put_blob(failing(), BlobInfo(Digest.from_bytes(data), len(data)))
    assert os.listdir(tmp_path) == []


def test_close_without_commit_leaves_an_existing_image_byte_identical(tmp_path) -> None:
    path = tmp_path / 'image'
    old = make_image(b'old')
    write_image(path, old)
    (path / 'signature-1').write_bytes(b'old signature')
    before = snapshot(tmp_path)
    new = make_image(b'new')
    dest = write_image(path, new, commit=False)
    assert snapshot(tmp_path) == before
    assert dest.get_manifest_digest() == old.digest
    # A failure half-way (a bad blob after a good one) leaves it the same.
    with open_destination(path) as dest:
        dest.put_blob([new.config], BlobInfo(Digest.from_bytes(new.config), len(new.config)))
        with pytest.raises(DigestMismatchError):
            dest.put_blob([b'junk'], BlobInfo(Digest.from_bytes(new.layer), len(new.layer)))
    assert snapshot(tmp_path) == before


def test_close_without_commit_on_a_new_path_leaves_nothing(tmp_path) -> None:
    write_image(tmp_path / 'deep' / 'image', make_image(), commit=False)
    # The parent directories were created for the work directory; the image was not.
    assert os.listdir(tmp_path / 'deep') == []


def test_missing_path_open_and_digest_create_nothing(tmp_path) -> None:
    before = snapshot(tmp_path)
    for path in (tmp_path / 'image', tmp_path / 'no' / 'such' / 'parent'):
        dest = open_destination(path)
        assert dest.get_manifest_digest() is None
        dest.close()
    assert snapshot(tmp_path) == before
    assert os.listdir(tmp_path) == []


def test_existing_image_open_and_digest_write_nothing(tmp_path) -> None:
    path = tmp_path / 'image'
    image = make_image()
    write_image(path, image)
    before = snapshot(tmp_path)
    with open_destination(path) as dest:
        assert dest.get_manifest_digest() == image.digest
    assert snapshot(tmp_path) == before


def test_foreign_directory_is_refused_before_any_write(tmp_path) -> None:
    path = tmp_path / 'important'
    path.mkdir()
    (path / 'notes.txt').write_text('mine')
    (path / 'manifest.json').write_text('{}')
    before = snapshot(tmp_path)
    with pytest.raises(LayoutError, match=r'refusing to write to .*important: it is not empty and not a dir image '
                                          r'\(no version file; it holds manifest.json, notes.txt\)'):
        open_destination(path)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize('content, message', [
    (b'Directory Transport Version: 2.0\n', r"is not a dir image this version can use: .*holds 'Directory Transport Version: 2.0\\n'"),
    (b'1.0.0', 'is not a dir image this version can use'),
    (b'\xff\xfe', r"holds b'\\xff\\xfe'"),
    (b'x' * 5000, 'is not a dir transport version'),
])
def test_wrong_version_file_is_refused(tmp_path, content, message) -> None:
    path = tmp_path / 'image'
    path.mkdir()
    (path / 'version').write_bytes(content)
    before = snapshot(tmp_path)
    with pytest.raises(LayoutError, match=message):
        open_destination(path)
    with pytest.raises(LayoutError, match=message):
        open_source(path)
    assert snapshot(tmp_path) == before


def test_file_root_and_mount_point_are_refused(tmp_path, monkeypatch) -> None:
    (tmp_path / 'file').write_text('x')
    with pytest.raises(LayoutError, match='exists and is not a directory'):
        open_destination(tmp_path / 'file')
    with pytest.raises(LayoutError, match='cannot be the root directory'):
        open_destination('/')
    (tmp_path / 'mnt').mkdir()
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, 'ismount', lambda p: str(p) == str(tmp_path / 'mnt') or real_ismount(p))
    with pytest.raises(LayoutError, match='is a mount point.*write to a directory inside it'):
        open_destination(tmp_path / 'mnt')


def test_empty_directory_is_accepted(tmp_path) -> None:
    path = tmp_path / 'empty'
    path.mkdir(mode=0o700)
    image = make_image()
    write_image(path, image)
    assert (path / 'manifest.json').read_bytes() == image.manifest
    # The new directory keeps the permissions of the one it replaced.
    assert os.stat(path).st_mode & 0o777 == 0o700


def test_commit_checks_the_path_again(tmp_path) -> None:
    path = tmp_path / 'image'
    with open_destination(path) as dest:
        put_image(dest, make_image())
        path.mkdir()
        (path / 'appeared.txt').write_text('someone else')
        with pytest.raises(LayoutError, match='not a dir image'):
            dest.commit()
    assert os.listdir(path) == ['appeared.txt']
    assert sorted(os.listdir(tmp_path)) == ['image']


def test_destination_is_single_use(tmp_path) -> None:
    image = make_image()
    dest = write_image(tmp_path / 'image', image)
    with pytest.raises(LayoutError, match='already committed'):
        dest.put_manifest(image.manifest, mt.OCI_MANIFEST)
    with pytest.raises(LayoutError, match='already committed'):
        dest.commit()
    closed = open_destination(tmp_path / 'other')
    closed.close()
    with pytest.raises(LayoutError, match='already closed'):
        closed.put_blob([image.config], BlobInfo(Digest.from_bytes(image.config)))
    assert sorted(os.listdir(tmp_path)) == ['image']


# -- replacing an image ----------------------------------------------------------------------------

def test_replace_reuses_old_blobs_by_hard_link(tmp_path) -> None:
    path = tmp_path / 'image'
    old = make_image(b'old')
    write_image(path, old)
    config_inode = os.stat(path / hexname(old.config)).st_ino
    dir_inode = os.stat(path).st_ino
    new = build_image(old.config, make_image(b'new').layer)  # the same config, another layer
    with open_destination(path) as dest:
        assert dest.has_blob(BlobInfo(Digest.from_bytes(old.config), len(old.config)))
        assert not dest.has_blob(BlobInfo(Digest.from_bytes(old.config), len(old.config) + 1))
        assert not dest.has_blob(BlobInfo(Digest.from_bytes(new.layer), len(new.layer)))
        put_image(dest, new)
        # Nothing is visible before commit.
        assert (path / 'manifest.json').read_bytes() == old.manifest
        dest.commit()
    assert os.stat(path).st_ino != dir_inode
    assert os.stat(path / hexname(old.config)).st_ino == config_inode
    assert sorted(os.listdir(path)) == sorted(['version', 'manifest.json', hexname(old.config), hexname(new.layer)])
    assert os.listdir(tmp_path) == ['image']
    with open_source(path) as source:
        assert source.get_manifest()[0] == new.manifest
        assert read_blob(source, new.layer) == new.layer


def test_reuse_copies_and_verifies_when_links_are_refused(tmp_path, monkeypatch) -> None:
    path = tmp_path / 'image'
    image = make_image()
    write_image(path, image)
    # A damaged old layer must not be reused.
    layer_path = path / hexname(image.layer)
    damaged = bytearray(image.layer)
    damaged[-1] ^= 1
    layer_path.write_bytes(bytes(damaged))

    def no_link(*args: t.Any, **kwargs: t.Any) -> None:
        raise PermissionError(1, 'Operation not permitted')

    monkeypatch.setattr(os, 'link', no_link)
    with open_destination(path) as dest:
        assert dest.has_blob(BlobInfo(Digest.from_bytes(image.config), len(image.config)))
        assert not dest.has_blob(BlobInfo(Digest.from_bytes(image.layer), len(image.layer)))
        put_image(dest, image)
        dest.commit()
    assert layer_path.read_bytes() == image.layer
    with open_source(path) as source:
        assert read_blob(source, image.config) == image.config


def test_swap_without_exchange_uses_two_renames(tmp_path, monkeypatch) -> None:
    path = tmp_path / 'image'
    write_image(path, make_image(b'old'))
    monkeypatch.setattr(dir_destination, 'exchange_paths', lambda first, second: False)
    new = make_image(b'new')
    write_image(path, new)
    assert (path / 'manifest.json').read_bytes() == new.manifest
    assert os.listdir(tmp_path) == ['image']


def test_failed_swap_restores_the_old_image(tmp_path, monkeypatch) -> None:
    path = tmp_path / 'image'
    old = make_image(b'old')
    write_image(path, old)
    before = snapshot(path)
    monkeypatch.setattr(dir_destination, 'exchange_paths', lambda first, second: False)
    real_rename = os.rename

    def rename(source: t.Any, target: t.Any) -> None:
        if os.path.basename(str(source)).startswith('.image.ocikit-tmp-'):
            raise OSError(28, 'No space left on device')
        real_rename(source, target)

    monkeypatch.setattr(os, 'rename', rename)
    with open_destination(path) as dest:
        put_image(dest, make_image(b'new'))
        with pytest.raises(LayoutError, match='cannot move the new image into place at .*: No space left on device'):
            dest.commit()
    monkeypatch.setattr(os, 'rename', real_rename)
    assert snapshot(path) == before
    assert os.listdir(tmp_path) == ['image']


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='renameat2 is Linux only')
def test_exchange_paths(tmp_path) -> None:
    first, second = tmp_path / 'first', tmp_path / 'second'
    first.mkdir()
    second.mkdir()
    (first / 'a').write_text('a')
    assert dir_destination.exchange_paths(str(first), str(second))
    assert os.listdir(first) == [] and os.listdir(second) == ['a']
    # A missing path cannot be exchanged: the caller falls back to plain renames.
    assert not dir_destination.exchange_paths(str(first), str(tmp_path / 'missing'))
    assert sorted(os.listdir(tmp_path)) == ['first', 'second']


def test_symlinked_path_stays_a_symlink(tmp_path) -> None:
    real = tmp_path / 'store' / 'image'
    real.parent.mkdir()
    link = tmp_path / 'link'
    link.symlink_to(real)
    image = make_image()
    write_image(link, image)
    assert os.path.islink(link)
    assert (real / 'manifest.json').read_bytes() == image.manifest
    write_image(link, make_image(b'again'))
    assert os.path.islink(link)
    assert sorted(os.listdir(tmp_path / 'store')) == ['image']


def test_signatures_are_kept_when_they_still_apply(tmp_path) -> None:
    path = tmp_path / 'image'
    amd, arm = make_image(b'amd'), make_image(b'arm')
    index = make_index(amd, arm)
    write_index(path, index, amd, arm)
    (path / 'signature-1').write_bytes(b'sig of index')
    (path / ('%s.signature-1' % amd.digest.hex)).write_bytes(b'sig of amd')
    # The same index again (a forced copy): every signature still applies.
    with open_destination(path) as dest:
        for image in (amd, arm):
            put_image(dest, image, instance=True)
        dest.put_manifest(index, mt.OCI_INDEX)
        dest.commit()
    assert dest.dropped_signatures == []
    assert (path / 'signature-1').read_bytes() == b'sig of index'
    assert (path / ('%s.signature-1' % amd.digest.hex)).read_bytes() == b'sig of amd'
    # Only the amd64 image now: the index signature no longer applies, the amd one still does.
    with open_destination(path) as dest:
        put_image(dest, amd, instance=True)
        dest.put_manifest(make_index(amd), mt.OCI_INDEX)
        dest.commit()
    assert dest.dropped_signatures == ['signature-1']
    assert sorted(name for name in os.listdir(path) if 'signature' in name) == ['%s.signature-1' % amd.digest.hex]


def test_signatures_of_another_image_are_reported_dropped(tmp_path) -> None:
    path = tmp_path / 'image'
    write_image(path, make_image(b'old'))
    (path / 'signature-1').write_bytes(b'one')
    (path / 'signature-2').write_bytes(b'two')
    dest = write_image(path, make_image(b'new'))
    assert dest.dropped_signatures == ['signature-1', 'signature-2']
    assert not (path / 'signature-1').exists()


# -- reading ---------------------------------------------------------------------------------------

def test_tampered_blob_is_caught_on_read(tmp_path) -> None:
    path = tmp_path / 'image'
    image = make_image()
    write_image(path, image)
    layer_path = path / hexname(image.layer)
    damaged = bytearray(image.layer)
    damaged[-1] ^= 1
    layer_path.write_bytes(bytes(damaged))
    with open_source(path) as source:
        with pytest.raises(DigestMismatchError, match='digest mismatch'):
            read_blob(source, image.layer)
        with pytest.raises(DigestMismatchError):
            source.get_blob_bytes(BlobInfo(Digest.from_bytes(image.layer), len(image.layer)), 1 << 20)
    layer_path.write_bytes(image.layer[:-3])
    with open_source(path) as source:
        with pytest.raises(DigestMismatchError, match='declared size'):
            with source.get_blob(BlobInfo(Digest.from_bytes(image.layer), len(image.layer))) as (chunks, dummy):
                b''.join(verified_stream(chunks, Digest.from_bytes(image.layer), len(image.layer)))


def test_source_errors(tmp_path) -> None:
    with pytest.raises(ImageNotFoundError, match='directory image %s does not exist' % (tmp_path / 'missing')):
        open_source(tmp_path / 'missing')
    (tmp_path / 'file').write_text('x')
    with pytest.raises(LayoutError, match='is not a directory'):
        open_source(tmp_path / 'file')
    # No version file is fine for reading (containers/image does not require one); no manifest is not.
    (tmp_path / 'empty').mkdir()
    with open_source(tmp_path / 'empty') as source:
        with pytest.raises(ImageNotFoundError, match='holds no image: manifest.json is missing'):
            source.get_manifest()
        with pytest.raises(BlobNotFoundError, match='blob sha256:0+ not found in directory image'):
            with source.get_blob(BlobInfo(Digest('sha256:' + '0' * 64))):
                pass
    (tmp_path / 'empty' / 'manifest.json').write_bytes(b' ' * (4 * 1024 * 1024 + 1))
    with open_source(tmp_path / 'empty') as source:
        with pytest.raises(ManifestTooLargeError, match='exceeds the 4194304 byte limit'):
            source.get_manifest()
    (tmp_path / 'empty' / ('0' * 64)).mkdir()
    with open_source(tmp_path / 'empty') as source:
        with pytest.raises(LayoutError, match=r'is not a regular file \(a directory\)'):
            with source.get_blob(BlobInfo(Digest('sha256:' + '0' * 64))):
                pass


# -- through the copy engine -----------------------------------------------------------------------

def test_engine_copy_is_idempotent_and_check_mode_writes_nothing(tmp_path) -> None:
    source_dir, target = tmp_path / 'src', tmp_path / 'dst'
    image = make_image()
    write_image(source_dir, image)
    src_ref = DirTransport().parse_reference(str(source_dir))
    dest_ref = DirTransport().parse_reference(str(target))
    result = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions(), check_mode=True)
    assert result.changed and not target.exists()
    assert os.listdir(tmp_path) == ['src']
    result = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions())
    assert result.changed and result.stats.copied == 2
    before = snapshot(tmp_path)
    result = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions())
    assert not result.changed
    assert snapshot(tmp_path) == before
    result = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions(force=True))
    assert result.changed and result.stats.skipped == 2 and result.stats.copied == 0
    assert (target / 'manifest.json').read_bytes() == image.manifest


# -- interop with skopeo ---------------------------------------------------------------------------

SKOPEO = shutil.which('skopeo')
needs_skopeo = pytest.mark.skipif(not SKOPEO, reason='skopeo is needed for interop tests')


def _run(*argv: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, '%s failed: %s' % (' '.join(argv), result.stderr)
    return result.stdout


def hand_layout(path: t.Any, tag: str, top: bytes, top_type: str, blobs: t.Iterable[bytes]) -> None:
    """An OCI layout written file by file, without any of our code."""
    os.makedirs(os.path.join(str(path), 'blobs', 'sha256'))
    with open(os.path.join(str(path), 'oci-layout'), 'w', encoding='utf-8') as handle:
        handle.write('{"imageLayoutVersion": "1.0.0"}')
    for blob in list(blobs) + [top]:
        with open(os.path.join(str(path), 'blobs', 'sha256', hexname(blob)), 'wb') as handle:
            handle.write(blob)
    index = {'schemaVersion': 2, 'manifests': [{'mediaType': top_type, 'digest': 'sha256:' + hexname(top), 'size': len(top),
                                                'annotations': {'org.opencontainers.image.ref.name': tag}}]}
    with open(os.path.join(str(path), 'index.json'), 'w', encoding='utf-8') as handle:
        json.dump(index, handle)


@needs_skopeo
def test_we_read_what_skopeo_writes(tmp_path) -> None:
    image = make_image()
    hand_layout(tmp_path / 'layout', 't', image.manifest, mt.OCI_MANIFEST, [image.config, image.layer])
    _run(str(SKOPEO), 'copy', '--quiet', 'oci:%s:t' % (tmp_path / 'layout'), 'dir:%s' % (tmp_path / 'theirs'))
    with open_source(tmp_path / 'theirs') as source:
        raw, media_type = source.get_manifest()
        assert raw == image.manifest and Digest.from_bytes(raw) == image.digest
        assert media_type is None
        assert read_blob(source, image.config) == image.config
        assert read_blob(source, image.layer) == image.layer
    # We replace skopeo's image (its version file is ours), and skopeo replaces ours.
    other = make_image(b'other')
    write_image(tmp_path / 'theirs', other)
    assert json.loads(_run(str(SKOPEO), 'inspect', 'dir:%s' % (tmp_path / 'theirs')))['Digest'] == str(other.digest)
    _run(str(SKOPEO), 'copy', '--quiet', 'oci:%s:t' % (tmp_path / 'layout'), 'dir:%s' % (tmp_path / 'theirs'))
    with open_destination(tmp_path / 'theirs') as dest:
        assert dest.get_manifest_digest() == image.digest


@needs_skopeo
def test_we_read_an_index_skopeo_writes(tmp_path) -> None:
    amd, arm = make_image(b'amd'), make_image(b'arm')
    index = make_index(amd, arm)
    hand_layout(tmp_path / 'layout', 'multi', index, mt.OCI_INDEX, [amd.manifest, arm.manifest] + [b for i in (amd, arm) for b, dummy in i.blobs()])
    _run(str(SKOPEO), 'copy', '--quiet', '--all', 'oci:%s:multi' % (tmp_path / 'layout'), 'dir:%s' % (tmp_path / 'theirs'))
    with open_source(tmp_path / 'theirs') as source:
        assert source.get_manifest() == (index, None)
        assert source.get_manifest(arm.digest) == (arm.manifest, None)
        assert read_blob(source, arm.layer) == arm.layer


@needs_skopeo
def test_skopeo_reads_what_we_write(tmp_path) -> None:
    for name, image in (('oci', make_image()), ('docker', make_image(b'd', docker=True))):
        ours = tmp_path / name
        write_image(ours, image)
        inspected = json.loads(_run(str(SKOPEO), 'inspect', 'dir:%s' % ours))
        assert inspected['Digest'] == str(image.digest)
        assert _run(str(SKOPEO), 'inspect', '--raw', 'dir:%s' % ours).encode() == image.manifest
    layout = tmp_path / 'layout'
    image = make_image()
    _run(str(SKOPEO), 'copy', '--quiet', 'dir:%s' % (tmp_path / 'oci'), 'oci:%s:t' % layout)
    reference = OCILayoutTransport().parse_reference('%s:t' % layout)
    with reference.new_source(OPTIONS) as source:
        raw, dummy = source.get_manifest()
        assert raw == image.manifest
        with source.get_blob(BlobInfo(Digest.from_bytes(image.layer), len(image.layer))) as (chunks, dummy_size):
            assert b''.join(verified_stream(chunks, Digest.from_bytes(image.layer), len(image.layer))) == image.layer


@needs_skopeo
def test_skopeo_reads_an_index_we_write(tmp_path) -> None:
    amd, arm = make_image(b'amd'), make_image(b'arm')
    index = make_index(amd, arm)
    write_index(tmp_path / 'ours', index, amd, arm)
    assert _run(str(SKOPEO), 'inspect', '--raw', 'dir:%s' % (tmp_path / 'ours')).encode() == index
    _run(str(SKOPEO), 'copy', '--quiet', '--all', 'dir:%s' % (tmp_path / 'ours'), 'oci:%s:multi' % (tmp_path / 'layout'))
    reference = OCILayoutTransport().parse_reference('%s:multi' % (tmp_path / 'layout'))
    with reference.new_source(OPTIONS) as source:
        assert source.get_manifest()[0] == index
        assert source.get_manifest(amd.digest)[0] == amd.manifest


# -- reuse of the old image's blobs is verified (issue 7, defects 3 and 11) -----------------------------

@pytest.mark.parametrize('kind', ['corrupt', 'symlink-outside', 'symlink-corrupt'])
def test_reuse_never_takes_a_corrupt_blob_or_a_symlink(tmp_path, kind) -> None:
    """A same-size corrupt blob, or a symlink (even to the right bytes), is not reused: the copy writes the blob itself."""
    source_dir, target = tmp_path / 'src', tmp_path / 'dst'
    image = make_image(b'the layer\n' * 50)
    write_image(source_dir, image)
    write_image(target, image)
    layer_path = target / hexname(image.layer)
    damaged = bytearray(image.layer)
    damaged[len(damaged) // 2] ^= 0xff
    outside = tmp_path / 'outside'
    outside.write_bytes(image.layer if kind == 'symlink-outside' else bytes(damaged))
    layer_path.unlink()
    if kind == 'corrupt':
        layer_path.write_bytes(bytes(damaged))
    else:
        os.symlink(str(outside), str(layer_path))
    src_ref = DirTransport().parse_reference(str(source_dir))
    dest_ref = DirTransport().parse_reference(str(target))
    result = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions(force=True))
    assert result.changed
    assert result.stats.copied == 1 and result.stats.skipped == 1  # the layer came from the source, the config was reused
    assert not os.path.islink(str(layer_path))
    assert layer_path.read_bytes() == image.layer
    assert os.stat(str(layer_path)).st_ino != os.stat(str(outside)).st_ino
    with open_source(target) as source:
        assert read_blob(source, image.layer) == image.layer
    assert sorted(os.listdir(tmp_path)) == ['dst', 'outside', 'src']


def test_v2s1_into_dir_is_idempotent(tmp_path) -> None:
    """The destination's digest of a signed schema1 manifest is its payload's (skopeo's), so a second run writes nothing."""
    source_dir, target = tmp_path / 'src', tmp_path / 'dst'
    write_image(source_dir, make_image(docker=True))
    src_ref = DirTransport().parse_reference(str(source_dir))
    dest_ref = DirTransport().parse_reference(str(target))
    first = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions(format='v2s1'))
    assert first.changed and first.written is not None and first.written.media_type == mt.DOCKER_V2S1_SIGNED
    with open_destination(target) as dest:
        assert dest.get_manifest_digest() == first.after
        assert dest.get_manifest_digest() != Digest.from_bytes((target / 'manifest.json').read_bytes())
    if SKOPEO:
        # The digest is the one skopeo reports for the image.
        assert json.loads(_run(SKOPEO, 'inspect', 'dir:%s' % target))['Digest'] == str(first.after)
    before = snapshot(tmp_path)
    second = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions(format='v2s1'))
    assert not second.changed and second.after == first.after
    assert snapshot(tmp_path) == before
