# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Signatures in an OCI archive: the layout convention (.ocikit/signatures/<algo>=<hex>/signature-N) inside the tar.

Written with the image, read back in place, compared for idempotence, refused when hostile, and
invisible to skopeo.
"""

from __future__ import annotations

import json
import os
import tarfile
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, LayoutError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_archive.transport import DockerArchiveTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.dir.transport import DirTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.destination import OCIArchiveDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.source import OCIArchiveSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.transport import OCIArchiveTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import OCILayoutTransport
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.oci_archive.archive_test_images import (
    PODMAN,
    SKOPEO,
    Entry,
    Podman,
    Image,
    build_tar,
    layout_entries,
    make_image,
    put_image,
    run,
    snapshot,
)

OPTIONS = ConnectionOptions()
GPG_SIG = b'\xa3\x01gpg signature one'
GPG_SIG_2 = b'\xa3\x01gpg signature two'


def archive_destination(details: str) -> OCIArchiveDestination:
    dest = OCIArchiveTransport().parse_reference(details).new_destination(OPTIONS)
    assert isinstance(dest, OCIArchiveDestination)
    return dest


def archive_source(details: str) -> OCIArchiveSource:
    src = OCIArchiveTransport().parse_reference(details).new_source(OPTIONS)
    assert isinstance(src, OCIArchiveSource)
    return src


def write_signed(details: str, image: Image, signatures: t.Sequence[bytes] | None) -> None:
    dest = archive_destination(details)
    try:
        put_image(dest, image, commit=False, close=False)
        if signatures is not None:
            dest.put_signatures(signatures)
        dest.commit()
    finally:
        dest.close()


def member_names(path: t.Any) -> list[str]:
    with tarfile.open(str(path)) as archive:
        return archive.getnames()


def signature_member(image: Image, number: int) -> str:
    return '.ocikit/signatures/sha256=%s/signature-%d' % (image.digest.hex, number)


def test_archive_round_trip(tmp_path) -> None:
    archive = tmp_path / 'image.tar'
    image = make_image([b'signed'])
    write_signed('%s:v1' % archive, image, [GPG_SIG, GPG_SIG_2])
    names = member_names(archive)
    # The layout's own entries first, as before; ocikit's after them.
    assert names[-5:] == ['.ocikit', '.ocikit/signatures', '.ocikit/signatures/sha256=%s' % image.digest.hex,
                          signature_member(image, 1), signature_member(image, 2)]
    assert names[:-5][-2:] == ['index.json', 'oci-layout']
    with tarfile.open(str(archive)) as tar:
        assert tar.extractfile(signature_member(image, 2)).read() == GPG_SIG_2
    with archive_source('%s:v1' % archive) as src:
        assert src.get_signatures() == [GPG_SIG, GPG_SIG_2]
        assert src.get_signatures(make_image([b'other']).digest) == []
    assert archive_destination('%s:v1' % archive).get_signatures() == [GPG_SIG, GPG_SIG_2]
    # Another name would make a new archive: what the old one holds does not count.
    assert archive_destination('%s:v2' % archive).get_signatures() == []
    # An archive without signatures has no .ocikit entries at all.
    write_signed('%s:v1' % (tmp_path / 'plain.tar'), image, [])
    assert not [name for name in member_names(tmp_path / 'plain.tar') if name.startswith('.ocikit')]
    with archive_source('%s:v1' % (tmp_path / 'plain.tar')) as src:
        assert src.get_signatures() == []


def test_killed_before_commit_leaves_the_old_archive(tmp_path) -> None:
    archive = tmp_path / 'image.tar'
    old, new = make_image([b'old']), make_image([b'new'])
    write_signed('%s:v1' % archive, old, [GPG_SIG])
    before = snapshot(tmp_path)
    dest = archive_destination('%s:v1' % archive)
    put_image(dest, new, commit=False, close=False)
    dest.put_signatures([GPG_SIG_2])
    dest.close()
    assert snapshot(tmp_path) == before


def _signed_dir(tmp_path: t.Any, image: Image, signatures: t.Sequence[bytes]) -> t.Any:
    signed = tmp_path / 'signed'
    put_image(DirTransport().parse_reference(str(signed)).new_destination(OPTIONS), image)
    for number, data in enumerate(signatures, start=1):
        (signed / ('signature-%d' % number)).write_bytes(data)
    return signed


def test_copy_engine_through_an_archive_keeps_signatures(tmp_path) -> None:
    image = make_image([b'engine'])
    src_ref = DirTransport().parse_reference(str(_signed_dir(tmp_path, image, [GPG_SIG])))
    archive_ref = OCIArchiveTransport().parse_reference('%s:v1' % (tmp_path / 'bundle.tar'))
    assert copy_image(src_ref, archive_ref, OPTIONS, OPTIONS, CopyOptions()).changed
    before = snapshot(tmp_path)
    assert not copy_image(src_ref, archive_ref, OPTIONS, OPTIONS, CopyOptions()).changed
    assert snapshot(tmp_path) == before
    # Out of the archive into a layout, then into dir:, the signature is the same bytes.
    layout_ref = OCILayoutTransport().parse_reference('%s:v1' % (tmp_path / 'layout'))
    assert copy_image(archive_ref, layout_ref, OPTIONS, OPTIONS, CopyOptions()).changed
    assert not copy_image(archive_ref, layout_ref, OPTIONS, OPTIONS, CopyOptions()).changed
    copy_image(layout_ref, DirTransport().parse_reference(str(tmp_path / 'back')), OPTIONS, OPTIONS, CopyOptions())
    assert (tmp_path / 'back' / 'signature-1').read_bytes() == GPG_SIG
    # remove_signatures writes a new archive without them.
    removed = copy_image(src_ref, archive_ref, OPTIONS, OPTIONS, CopyOptions(remove_signatures=True))
    assert removed.changed
    assert not [name for name in member_names(tmp_path / 'bundle.tar') if name.startswith('.ocikit')]


def test_docker_archive_still_cannot_store_signatures(tmp_path) -> None:
    image = make_image([b'engine'])
    src_ref = DirTransport().parse_reference(str(_signed_dir(tmp_path, image, [GPG_SIG])))
    dest_ref = DockerArchiveTransport().parse_reference('%s:example.com/app:v1' % (tmp_path / 'docker.tar'))
    # docker-archive: (as in containers/image) keeps no signatures, and it rewrites the manifest anyway.
    with pytest.raises(InvalidInputError, match=r'^the source has 1 signature, which this copy would invalidate by changing the manifest '
                                                r'\(destination holds no image\); set remove_signatures: true to copy without them$'):
        copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions())
    assert not (tmp_path / 'docker.tar').exists()


@pytest.mark.parametrize('extra, message', [
    ([Entry('.ocikit/signatures/sha256=HEX/signature-1', kind=tarfile.DIRTYPE)],
     r'^signature \.ocikit/signatures/sha256=[0-9a-f]{64}/signature-1 in OCI archive .* is not a regular file \(a directory\)$'),
    ([Entry('.ocikit/signatures/sha256=HEX/signature-1', b'\xa3' * (4 * 1024 * 1024 + 1))],
     r'^signature \.ocikit/signatures/sha256=[0-9a-f]{64}/signature-1 in OCI archive .* exceeds the 4194304 byte limit$'),
    ([Entry('.ocikit/signatures/sha256=HEX/signature-1', kind=tarfile.SYMTYPE, linkname='../../../index.json')],
     r'is a symbolic link'),
])
def test_hostile_signature_members_are_refused(tmp_path, extra, message) -> None:
    image = make_image([b'hostile'])
    entries = [Entry(entry.name.replace('HEX', image.digest.hex), entry.data, entry.kind, entry.linkname) for entry in extra]
    archive = tmp_path / 'hostile.tar'
    build_tar(archive, layout_entries(image, 't', entries))
    with pytest.raises(LayoutError, match=message):
        with archive_source('%s:t' % archive) as src:
            src.get_signatures()


def test_signatures_stop_at_the_first_gap(tmp_path) -> None:
    image = make_image([b'gap'])
    entries = [Entry(signature_member(image, 1), GPG_SIG), Entry(signature_member(image, 3), GPG_SIG_2)]
    archive = tmp_path / 'gap.tar'
    build_tar(archive, layout_entries(image, 't', entries))
    with archive_source('%s:t' % archive) as src:
        assert src.get_signatures() == [GPG_SIG]


@pytest.mark.skipif(not SKOPEO, reason='skopeo is needed')
def test_skopeo_reads_a_signed_archive(tmp_path) -> None:
    archive = tmp_path / 'image.tar'
    image = make_image([b'interop'])
    write_signed('%s:v1' % archive, image, [GPG_SIG])
    inspected = json.loads(run('skopeo', 'inspect', 'oci-archive:%s:v1' % archive).stdout)
    assert inspected['Digest'] == str(image.digest)
    run('skopeo', 'copy', '--quiet', 'oci-archive:%s' % archive, 'dir:%s' % (tmp_path / 'peer'))
    assert sorted(os.listdir(tmp_path / 'peer'))[-1] == 'version'
    assert not (tmp_path / 'peer' / 'signature-1').exists()


@pytest.mark.skipif(not PODMAN, reason='podman is needed')
def test_podman_loads_a_signed_archive(tmp_path) -> None:
    archive = tmp_path / 'image.tar'
    image = make_image([b'podman'])
    write_signed('%s:t' % archive, image, [GPG_SIG])
    with Podman(tmp_path) as podman:
        podman.load(archive)
        inspected = json.loads(podman('image', 'inspect', image.config_digest.hex).stdout)
    assert inspected[0]['RootFS']['Layers'] == image.diff_ids
