# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An index in a local destination is never sparse (issue 7, defect 12): index-only is refused there, and a sparse one is completed."""

from __future__ import annotations

import os

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.dir.test_dir_image import (
    make_image,
    make_index,
    write_index,
)

OPTIONS = ConnectionOptions()


@pytest.fixture(name='source')
def source_fixture(tmp_path):
    """A dir: image holding a two-platform OCI index; returns (reference, index bytes, images)."""
    images = (make_image(b'amd64\n'), make_image(b'arm64\n'))
    index = make_index(*images)
    write_index(tmp_path / 'src', index, *images)
    return parse_image_name('dir:%s' % (tmp_path / 'src')), index, images


def _dest(tmp_path, transport):
    return parse_image_name({'oci': 'oci:%s:multi', 'dir': 'dir:%s', 'oci-archive': 'oci-archive:%s.tar:multi'}[transport]
                            % (tmp_path / 'dest'))


@pytest.mark.parametrize('transport', ['oci', 'dir', 'oci-archive'])
def test_index_only_into_a_local_destination_is_refused(tmp_path, source, transport) -> None:
    src_ref, dummy, dummy = source
    for check_mode in (True, False):
        with pytest.raises(InvalidInputError) as info:
            copy_image(src_ref, _dest(tmp_path, transport), OPTIONS, OPTIONS, CopyOptions(multi_arch='index-only'), check_mode=check_mode)
        assert str(info.value) == ('multi_arch: index-only cannot write to a %s: destination: only a registry can hold an index without '
                                   'its images, anywhere else the index alone is a broken image; use multi_arch: all (or platforms '
                                   'to choose some)' % transport)
    assert sorted(os.listdir(tmp_path)) == ['src']


def _write_sparse(dest_ref, index: bytes) -> None:
    """What skopeo's --multi-arch index-only leaves: the index under the name, none of its images."""
    dest = dest_ref.new_destination(OPTIONS)
    try:
        dest.put_manifest(index, mt.OCI_INDEX)
        dest.commit()
    finally:
        dest.close()


@pytest.mark.parametrize('transport', ['oci', 'dir', 'oci-archive'])
def test_all_completes_a_sparse_index_then_is_idempotent(tmp_path, source, transport) -> None:
    src_ref, index, images = source
    dest_ref = _dest(tmp_path, transport)
    _write_sparse(dest_ref, index)
    with dest_ref.new_destination(OPTIONS) as dest:
        assert dest.get_manifest_digest() == Digest.from_bytes(index)
    first = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions(multi_arch='all'))
    assert first.changed
    assert first.as_result()['reason'] == ('the destination holds the index %s but not all its images (the image %s is missing)'
                                           % (Digest.from_bytes(index), images[0].digest))
    assert first.as_result()['sparse'] is False
    assert first.after == Digest.from_bytes(index)
    # Every image of the index is there now, byte for byte.
    with dest_ref.new_source(OPTIONS) as check:
        for image in images:
            assert check.get_manifest(image.digest)[0] == image.manifest
            for blob, dummy in image.blobs():
                with check.get_blob(BlobInfo(Digest.from_bytes(blob), len(blob))) as (chunks, dummy):
                    assert b''.join(chunks) == blob
    second = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions(multi_arch='all'))
    assert not second.changed
    assert second.as_result()['reason'] == 'destination already holds %s' % Digest.from_bytes(index)


def test_a_missing_blob_also_makes_the_index_incomplete(tmp_path, source) -> None:
    src_ref, index, images = source
    dest_ref = _dest(tmp_path, 'oci')
    assert copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions(multi_arch='all')).changed
    layer = Digest.from_bytes(images[1].layer)
    os.unlink(str(tmp_path / 'dest' / 'blobs' / 'sha256' / layer.hex))
    again = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions(multi_arch='all'))
    assert again.changed and again.stats.copied == 1
    assert again.as_result()['reason'] == ('the destination holds the index %s but not all its images (blob %s of the image %s is missing)'
                                           % (Digest.from_bytes(index), layer, images[1].digest))
    assert (tmp_path / 'dest' / 'blobs' / 'sha256' / layer.hex).read_bytes() == images[1].layer
