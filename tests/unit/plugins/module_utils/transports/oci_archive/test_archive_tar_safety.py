# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostile archives: every trick is refused with a message naming the archive and the entry, and nothing is written anywhere."""

from __future__ import annotations

import os
import re
import tarfile
import threading
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.errors import ImageNotFoundError, LayoutError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.transport import DockerArchiveTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.transport import OCIArchiveTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import OCILayoutTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.tar_safety import (
    MAX_HEADER_READ,
    SafeTarReader,
    detect_compression,
    normalize_member_name,
)
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.oci_archive.archive_test_images import (
    Entry,
    build_tar,
    docker_save_entries,
    layout_entries,
    make_image,
    read_blob,
    snapshot,
)

OPTIONS = ConnectionOptions()
IMAGE = make_image()
BLOB = 'blobs/sha256/' + 'e' * 64

# name, extra entries (added to a valid OCI archive), message for OCI archives (links refused), message
# for docker archives (links allowed inside); {abs} is an absolute path inside the test's directory.
HOSTILE: list[tuple[str, list[Entry], str, str]] = [
    ('symlink to /etc/passwd', [Entry(BLOB, kind=tarfile.SYMTYPE, linkname='/etc/passwd')],
     'entry "%s" is a symbolic link to "/etc/passwd"; OCI archives hold only regular files and directories' % BLOB,
     'entry "%s" is a symbolic link to "/etc/passwd", which is absolute and leads outside the archive' % BLOB),
    ('symlink climbing out', [Entry('blobs/sha256/up', kind=tarfile.SYMTYPE, linkname='../../../evil')],
     'entry "blobs/sha256/up" is a symbolic link to "../../../evil"; OCI archives hold only',
     'entry "blobs/sha256/up" is a symbolic link to "../../../evil", which leads outside the archive'),
    ('dot-dot entry', [Entry('../../evil', b'pwned')],
     'entry "../../evil" has a ".." path component', 'entry "../../evil" has a ".." path component'),
    ('dot-dot inside', [Entry('blobs/../../evil', b'pwned')],
     'entry "blobs/../../evil" has a ".." path component', 'entry "blobs/../../evil" has a ".." path component'),
    ('absolute entry', [Entry('{abs}', b'pwned')], 'entry "{abs}" has an absolute path', 'entry "{abs}" has an absolute path'),
    ('hardlink to outside', [Entry('blobs/sha256/hard', kind=tarfile.LNKTYPE, linkname='../../etc/passwd')],
     'entry "blobs/sha256/hard" is a hard link to "../../etc/passwd"; OCI archives hold only',
     'entry "blobs/sha256/hard" is a hard link to "../../etc/passwd", which leads outside the archive'),
    ('hardlink absolute', [Entry('blobs/sha256/hard', kind=tarfile.LNKTYPE, linkname='/etc/shadow')],
     'entry "blobs/sha256/hard" is a hard link to "/etc/shadow"; OCI archives hold only',
     'entry "blobs/sha256/hard" is a hard link to "/etc/shadow", which is absolute and leads outside the archive'),
    ('char device', [Entry('dev/null', kind=tarfile.CHRTYPE)],
     'entry "dev/null" is a character device; image archives hold only regular files and directories',
     'entry "dev/null" is a character device'),
    ('block device', [Entry('dev/sda', kind=tarfile.BLKTYPE)], 'entry "dev/sda" is a block device', 'entry "dev/sda" is a block device'),
    ('fifo', [Entry('pipe', kind=tarfile.FIFOTYPE)], 'entry "pipe" is a FIFO', 'entry "pipe" is a FIFO'),
    ('gnu sparse', [Entry('sparse', kind=tarfile.GNUTYPE_SPARSE)], 'entry "sparse" is a sparse file', 'entry "sparse" is a sparse file'),
    ('unknown type', [Entry('volume', kind=b'V')], 'entry "volume" has the unsupported entry type \'V\'',
     'entry "volume" has the unsupported entry type \'V\''),
    ('duplicate index.json', [Entry('index.json', b'{"schemaVersion": 2, "manifests": []}')],
     'entry "index.json" appears more than once (as "index.json")', 'entry "index.json" appears more than once'),
    ('duplicate after normalising', [Entry('./index.json', b'{"schemaVersion": 2, "manifests": []}')],
     'entry "./index.json" appears more than once (as "index.json")', 'entry "./index.json" appears more than once'),
    ('root that is a file', [Entry('./', b'x')], 'entry "./" names the archive root but is not a directory',
     'entry "./" names the archive root but is not a directory'),
]


def oci_path(tmp_path: t.Any) -> t.Any:
    archives = tmp_path / 'work' / 'archives'
    archives.mkdir(parents=True, exist_ok=True)
    return archives / 'hostile.tar'


def with_abs(entries: list[Entry], tmp_path: t.Any) -> tuple[list[Entry], str]:
    absolute = str(tmp_path / 'abs-evil')
    return [Entry(entry.name.format(abs=absolute), entry.data, entry.kind, entry.linkname) for entry in entries], absolute


@pytest.mark.parametrize('case', HOSTILE, ids=[case[0] for case in HOSTILE])
def test_hostile_oci_archive_is_refused_and_nothing_is_written(tmp_path, case) -> None:
    name, extra, oci_message, dummy = case
    archive = oci_path(tmp_path)
    extra, absolute = with_abs(extra, tmp_path)
    build_tar(archive, layout_entries(IMAGE, 't', extra))
    before = snapshot(tmp_path)
    expected = 'refusing OCI archive %s: %s' % (archive, oci_message.format(abs=absolute))
    with pytest.raises(LayoutError) as info:
        SafeTarReader(str(archive), 'OCI archive')
    assert str(info.value).startswith(expected), (name, str(info.value))
    with pytest.raises(LayoutError, match=re.escape(expected)):
        OCIArchiveTransport().parse_reference('%s:t' % archive).new_source(OPTIONS)
    # Through the engine, into a layout beside the archive: refused before anything is written.
    dest = tmp_path / 'work' / 'dest'
    with pytest.raises(LayoutError, match=re.escape(expected)):
        copy_image(OCIArchiveTransport().parse_reference('%s:t' % archive), OCILayoutTransport().parse_reference('%s:t' % dest),
                   OPTIONS, OPTIONS, CopyOptions())
    assert snapshot(tmp_path) == before
    assert not os.path.lexists(absolute) and not os.path.lexists(tmp_path / 'evil')


@pytest.mark.parametrize('case', HOSTILE, ids=[case[0] for case in HOSTILE])
def test_hostile_docker_archive_is_refused_and_nothing_is_written(tmp_path, case) -> None:
    name, extra, dummy, docker_message = case
    archive = oci_path(tmp_path)
    extra, absolute = with_abs(extra, tmp_path)
    entries = docker_save_entries([(make_image(docker=True, compress=False), ['busybox:latest'])])
    if name.startswith('duplicate'):
        # The docker flavour of a duplicate: manifest.json twice.
        extra = [Entry(extra[0].name.replace('index.json', 'manifest.json'), b'[]')]
        docker_message = docker_message.replace('index.json', 'manifest.json')
    build_tar(archive, entries + extra)
    before = snapshot(tmp_path)
    expected = 'refusing docker archive %s: %s' % (archive, docker_message.format(abs=absolute))
    with pytest.raises(LayoutError) as info:
        DockerArchiveTransport().parse_reference(str(archive)).new_source(OPTIONS)
    assert str(info.value).startswith(expected), (name, str(info.value))
    dest = tmp_path / 'work' / 'out.tar'
    with pytest.raises(LayoutError, match=re.escape(expected)):
        copy_image(DockerArchiveTransport().parse_reference(str(archive)), DockerArchiveTransport().parse_reference(str(dest)),
                   OPTIONS, OPTIONS, CopyOptions())
    assert snapshot(tmp_path) == before
    assert not os.path.lexists(absolute) and not os.path.lexists(tmp_path / 'evil')


def test_truncated_member(tmp_path) -> None:
    archive = oci_path(tmp_path)
    entries = layout_entries(IMAGE, 't')
    big = Entry('blobs/sha256/' + 'f' * 64, b'x' * 5000)
    data = build_tar(archive, entries + [big])
    # Cut into the last member's data: 1024 end-of-archive bytes, padding, and some of the data.
    cut = len(data) - (len(data) - data.rindex(b'x' * 100) - 100) - 1000
    archive.write_bytes(data[:cut])
    with pytest.raises(LayoutError, match=re.escape('OCI archive %s is truncated: entry "%s" declares 5000 bytes, but the file ends '
                                                    % (archive, big.name))):
        OCIArchiveTransport().parse_reference('%s:t' % archive).new_source(OPTIONS)


@pytest.mark.parametrize('damage, message', [
    ('garbage', 'is truncated or corrupt: unreadable data at offset'),
    ('half-header', 'is truncated or corrupt: unreadable data at offset'),
    ('padding', 'is truncated or corrupt after entry'),
    ('empty', 'is not a tar archive: empty file'),
    ('text', 'is not a tar archive'),
])
def test_damaged_archives(tmp_path, damage, message) -> None:
    archive = oci_path(tmp_path)
    data = build_tar(archive, layout_entries(IMAGE, 't'))
    end = len(data.rstrip(b'\x00'))
    end += -end % 512
    if damage == 'garbage':
        data = data[:end] + b'this is not a tar header' * 40
    elif damage == 'half-header':
        data = data[:end] + data[:200]
    elif damage == 'padding':
        data = data[:end - 100]
    elif damage == 'empty':
        data = b''
    else:
        data = b'hello world\n' * 100
    archive.write_bytes(data)
    with pytest.raises(LayoutError, match=message):
        SafeTarReader(str(archive), 'OCI archive')


def test_archive_without_end_marker_is_accepted(tmp_path) -> None:
    # Go's archive/tar accepts an archive that simply ends after its last entry; so do we.
    archive = oci_path(tmp_path)
    data = build_tar(archive, layout_entries(IMAGE, 't'))
    end = len(data.rstrip(b'\x00'))
    archive.write_bytes(data[:end + (-end % 512)])
    with OCIArchiveTransport().parse_reference('%s:t' % archive).new_source(OPTIONS) as src:
        assert src.get_manifest()[0] == IMAGE.manifest


def test_too_many_entries_and_huge_headers(tmp_path) -> None:
    archive = oci_path(tmp_path)
    build_tar(archive, layout_entries(IMAGE, 't') + [Entry('extra%d' % n, b'') for n in range(10)])
    with pytest.raises(LayoutError, match='refusing OCI archive .*: it has more than 5 entries'):
        SafeTarReader(str(archive), 'OCI archive', max_members=5)
    build_tar(archive, layout_entries(IMAGE, 't') + [Entry('padded', b'', pax={'comment': 'x' * (MAX_HEADER_READ + 1)})])
    with pytest.raises(LayoutError, match='refusing OCI archive .*: an extended tar header at offset .* claims'):
        SafeTarReader(str(archive), 'OCI archive')


def test_non_file_entries_must_not_carry_data(tmp_path) -> None:
    archive = oci_path(tmp_path)
    build_tar(archive, [Entry('blobs', kind=tarfile.DIRTYPE)] + layout_entries(IMAGE, 't'))
    with open(archive, 'r+b') as handle:
        # Give the "blobs" directory header a size of 512 and fix its checksum.
        header = bytearray(handle.read(512))
        header[124:136] = b'%011o\x00' % 512
        header[148:156] = b' ' * 8
        header[148:155] = b'%06o\x00' % sum(header)
        handle.seek(0)
        handle.write(bytes(header))
    with pytest.raises(LayoutError, match='entry "blobs" is a directory but declares 512 bytes of data'):
        SafeTarReader(str(archive), 'OCI archive')


def test_links_inside_a_docker_archive_are_aliases(tmp_path) -> None:
    archive = oci_path(tmp_path)
    image = make_image(docker=True, compress=False)
    entries = docker_save_entries([(image, [])])
    layer_name = [entry.name for entry in entries if entry.name.endswith('.tar')][0]
    entries += [Entry('alias/layer.tar', kind=tarfile.SYMTYPE, linkname='../%s' % layer_name),
                Entry('hard.tar', kind=tarfile.LNKTYPE, linkname=layer_name)]
    build_tar(archive, entries)
    with SafeTarReader(str(archive), 'docker archive', allow_links=True) as reader:
        physical = reader.find(layer_name)
        assert physical is not None
        assert reader.find('alias/layer.tar') == physical
        assert reader.find('./alias//layer.tar') == physical
        assert reader.find('hard.tar') == physical
        assert reader.find('alias') is None and reader.find('../x') is None and reader.find('') is None
        assert b''.join(reader.iter_member(physical)) == image.layers[0]


@pytest.mark.parametrize('links, message', [
    ([Entry('a', kind=tarfile.SYMTYPE, linkname='b'), Entry('b', kind=tarfile.SYMTYPE, linkname='manifest.json')],
     'entry "a" is a link to "b", which is a symlink, not a regular file'),
    ([Entry('a', kind=tarfile.SYMTYPE, linkname='nowhere')], 'entry "a" is a link to "nowhere", which is not in the archive'),
    ([Entry('d', kind=tarfile.DIRTYPE), Entry('a', kind=tarfile.SYMTYPE, linkname='d')], 'entry "a" is a link to "d", which is a directory'),
    ([Entry('a', kind=tarfile.SYMTYPE, linkname='.')], 'entry "a" is a symbolic link to ".", which names the archive root'),
    ([Entry('sub/dir/x', kind=tarfile.SYMTYPE, linkname='../../../etc/passwd')], 'which leads outside the archive'),
])
def test_bad_links_inside_a_docker_archive(tmp_path, links, message) -> None:
    archive = oci_path(tmp_path)
    build_tar(archive, docker_save_entries([(make_image(docker=True, compress=False), [])]) + links)
    with pytest.raises(LayoutError, match=re.escape(message)):
        SafeTarReader(str(archive), 'docker archive', allow_links=True)


def test_missing_and_directory_paths(tmp_path) -> None:
    with pytest.raises(ImageNotFoundError, match='OCI archive %s does not exist' % (tmp_path / 'missing.tar')):
        SafeTarReader(str(tmp_path / 'missing.tar'), 'OCI archive')
    with pytest.raises(LayoutError, match='is a directory, not a tar archive'):
        SafeTarReader(str(tmp_path), 'OCI archive')


def test_reads_from_a_pipe(tmp_path) -> None:
    archive = oci_path(tmp_path)
    data = build_tar(archive, layout_entries(IMAGE, 't'))
    fifo = tmp_path / 'work' / 'pipe.tar'
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, 'wb') as handle:
            handle.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        with OCIArchiveTransport().parse_reference('%s:t' % fifo).new_source(OPTIONS) as src:
            assert src.archive.tar.compression is None
            assert src.get_manifest()[0] == IMAGE.manifest
            assert read_blob(src, IMAGE.layers[0]) == IMAGE.layers[0]
    finally:
        writer.join(30)


def test_closed_reader_refuses_reads(tmp_path) -> None:
    archive = oci_path(tmp_path)
    build_tar(archive, layout_entries(IMAGE, 't'))
    reader = SafeTarReader(str(archive), 'OCI archive')
    member = reader.find('index.json')
    assert member is not None
    reader.close()
    reader.close()
    with pytest.raises(LayoutError, match='is already closed'):
        reader.read_member(member, 1 << 20, 'index.json')


def test_archive_changed_while_open(tmp_path) -> None:
    archive = oci_path(tmp_path)
    build_tar(archive, layout_entries(IMAGE, 't'))
    with SafeTarReader(str(archive), 'OCI archive') as reader:
        member = reader.find('blobs/sha256/%s' % IMAGE.config_digest.hex)
        assert member is not None
        with open(archive, 'r+b') as handle:
            handle.truncate(member.offset + 10)
        with pytest.raises(LayoutError, match='ended early at offset .*changed or was truncated while being read'):
            reader.read_member(member, 1 << 20, 'config')


@pytest.mark.parametrize('name, normalized', [
    ('a/b', 'a/b'), ('./a//b/', 'a/b'), ('.', ''), ('./', ''), ('a/./b', 'a/b'),
    ('/a', None), ('a/../b', None), ('..', None), ('', None), ('a\x00b', None),
])
def test_normalize_member_name(name, normalized) -> None:
    assert normalize_member_name(name) == normalized


@pytest.mark.parametrize('head, compression', [
    (b'\x1f\x8b\x08\x00', 'gzip'), (b'BZh91AY', 'bzip2'), (b'\xfd7zXZ\x00', 'xz'), (b'\x28\xb5\x2f\xfd\x00', 'zstd'),
    (b'ustar', None), (b'', None), (b'\x1f', None),
])
def test_detect_compression(head, compression) -> None:
    assert detect_compression(head) == compression
