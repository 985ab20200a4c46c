# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for copy/layers.py: each layer's fate (kept, compressed, decompressed, recompressed) and the spooled transformation."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.compression import DOCKER_LAYER_FOREIGN
from ansible_collections.ocikit.images.plugins.module_utils.copy.layers import (
    COMPRESS,
    DECOMPRESS,
    KEEP,
    RECOMPRESS,
    WANT_COMPRESSED,
    WANT_DECOMPRESSED,
    WANT_PRESERVED,
    LayerStep,
    plan_layer,
    spool_transformed,
)
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import DigestMismatchError, InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import Descriptor

zstandard = pytest.importorskip('zstandard')

COSIGN = 'application/vnd.dev.cosign.simplesigning.v1+json'


def desc(media_type, name='layer', size=100):
    return Descriptor(media_type=media_type, digest=Digest('sha256:' + hashlib.sha256(name.encode()).hexdigest()), size=size)


def tar_bytes(files):
    """A reproducible tar of ``{name: bytes}``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w', format=tarfile.PAX_FORMAT) as archive:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# plan_layer

# (source media type, target family, destination wants, dest_compress_format) -> (action, compression, media type written)
PLAN_TABLE = [
    # Registries and OCI layouts want compressed layers: uncompressed ones are compressed (gzip unless told).
    (mt.OCI_LAYER, 'oci', WANT_COMPRESSED, None, COMPRESS, 'gzip', mt.OCI_LAYER_GZIP),
    (mt.DOCKER_LAYER, 'docker', WANT_COMPRESSED, None, COMPRESS, 'gzip', mt.DOCKER_LAYER_GZIP),
    (mt.OCI_LAYER, 'oci', WANT_COMPRESSED, 'zstd', COMPRESS, 'zstd', mt.OCI_LAYER_ZSTD),
    (mt.DOCKER_LAYER, 'oci', WANT_COMPRESSED, 'gzip', COMPRESS, 'gzip', mt.OCI_LAYER_GZIP),
    # ... compressed ones are kept, unless another algorithm is asked for.
    (mt.OCI_LAYER_GZIP, 'oci', WANT_COMPRESSED, None, KEEP, 'gzip', mt.OCI_LAYER_GZIP),
    (mt.OCI_LAYER_ZSTD, 'oci', WANT_COMPRESSED, None, KEEP, 'zstd', mt.OCI_LAYER_ZSTD),
    (mt.OCI_LAYER_GZIP, 'oci', WANT_COMPRESSED, 'gzip', KEEP, 'gzip', mt.OCI_LAYER_GZIP),
    (mt.OCI_LAYER_GZIP, 'oci', WANT_COMPRESSED, 'zstd', RECOMPRESS, 'zstd', mt.OCI_LAYER_ZSTD),
    (mt.OCI_LAYER_ZSTD, 'oci', WANT_COMPRESSED, 'gzip', RECOMPRESS, 'gzip', mt.OCI_LAYER_GZIP),
    (mt.DOCKER_LAYER_GZIP, 'oci', WANT_COMPRESSED, 'zstd', RECOMPRESS, 'zstd', mt.OCI_LAYER_ZSTD),
    (mt.DOCKER_LAYER_GZIP, 'oci', WANT_COMPRESSED, None, KEEP, 'gzip', mt.OCI_LAYER_GZIP),
    # dir keeps layers as they are, whatever dest_compress_format says.
    (mt.OCI_LAYER, 'oci', WANT_PRESERVED, None, KEEP, None, mt.OCI_LAYER),
    (mt.OCI_LAYER_GZIP, 'oci', WANT_PRESERVED, 'zstd', KEEP, 'gzip', mt.OCI_LAYER_GZIP),
    (mt.OCI_LAYER, 'oci', WANT_PRESERVED, 'gzip', KEEP, None, mt.OCI_LAYER),
    # docker-archive wants them decompressed.
    (mt.DOCKER_LAYER_GZIP, 'docker', WANT_DECOMPRESSED, None, DECOMPRESS, None, mt.DOCKER_LAYER),
    (mt.OCI_LAYER_ZSTD, 'docker', WANT_DECOMPRESSED, None, DECOMPRESS, None, mt.DOCKER_LAYER),
    (mt.OCI_LAYER_GZIP, 'docker', WANT_DECOMPRESSED, 'zstd', DECOMPRESS, None, mt.DOCKER_LAYER),
    (mt.DOCKER_LAYER, 'docker', WANT_DECOMPRESSED, None, KEEP, None, mt.DOCKER_LAYER),
    # A Docker image has no zstd layer type: zstd becomes gzip, and a gzip layer is not rewritten for nothing.
    (mt.OCI_LAYER_ZSTD, 'docker', WANT_COMPRESSED, None, RECOMPRESS, 'gzip', mt.DOCKER_LAYER_GZIP),
    (mt.OCI_LAYER_ZSTD, 'docker', WANT_PRESERVED, None, RECOMPRESS, 'gzip', mt.DOCKER_LAYER_GZIP),
    (mt.OCI_LAYER, 'docker', WANT_COMPRESSED, 'zstd', COMPRESS, 'gzip', mt.DOCKER_LAYER_GZIP),
    (mt.DOCKER_LAYER_GZIP, 'docker', WANT_COMPRESSED, 'zstd', KEEP, 'gzip', mt.DOCKER_LAYER_GZIP),
    (mt.OCI_LAYER_NONDISTRIBUTABLE_ZSTD, 'docker', WANT_COMPRESSED, None, RECOMPRESS, 'gzip', mt.DOCKER_LAYER_FOREIGN_GZIP),
    # Non-distributable layers stay non-distributable, in either family.
    (mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP, 'oci', WANT_COMPRESSED, None, KEEP, 'gzip', mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP),
    (mt.DOCKER_LAYER_FOREIGN_GZIP, 'oci', WANT_COMPRESSED, None, KEEP, 'gzip', mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP),
    (mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP, 'docker', WANT_COMPRESSED, None, KEEP, 'gzip', mt.DOCKER_LAYER_FOREIGN_GZIP),
    (mt.OCI_LAYER_NONDISTRIBUTABLE, 'oci', WANT_COMPRESSED, None, COMPRESS, 'gzip', mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP),
    (mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP, 'oci', WANT_COMPRESSED, 'zstd', RECOMPRESS, 'zstd', mt.OCI_LAYER_NONDISTRIBUTABLE_ZSTD),
    (mt.DOCKER_LAYER_FOREIGN_GZIP, 'docker', WANT_DECOMPRESSED, None, DECOMPRESS, None, DOCKER_LAYER_FOREIGN),
    # Artifact layers are not tar streams: copied as they are, whatever is asked.
    (COSIGN, 'oci', WANT_COMPRESSED, 'zstd', KEEP, None, COSIGN),
    (COSIGN, 'docker', WANT_DECOMPRESSED, None, KEEP, None, COSIGN),
]


@pytest.mark.parametrize('media_type, family, wanted, compress_format, action, compression, written', PLAN_TABLE)
def test_plan_layer(media_type, family, wanted, compress_format, action, compression, written):
    source = desc(media_type)
    step = plan_layer(source, family, wanted, compress_format, preserve_digests=False)
    assert step == LayerStep(source=source, action=action, compression=compression, media_type=written)
    assert step.changes_bytes is (action != KEEP)


@pytest.mark.parametrize('media_type, family, wanted, compress_format, written', [
    # preserve_digests keeps every layer as it is, in the family's name for its compression.
    (mt.OCI_LAYER, 'oci', WANT_COMPRESSED, None, mt.OCI_LAYER),
    (mt.DOCKER_LAYER, 'oci', WANT_COMPRESSED, None, mt.OCI_LAYER),
    (mt.OCI_LAYER_GZIP, 'docker', WANT_DECOMPRESSED, None, mt.DOCKER_LAYER_GZIP),
    (mt.OCI_LAYER_ZSTD, 'oci', WANT_DECOMPRESSED, None, mt.OCI_LAYER_ZSTD),
    # A compress_format that changes nothing is no reason to refuse.
    (mt.OCI_LAYER_GZIP, 'oci', WANT_COMPRESSED, 'gzip', mt.OCI_LAYER_GZIP),
    (mt.OCI_LAYER_ZSTD, 'oci', WANT_COMPRESSED, 'zstd', mt.OCI_LAYER_ZSTD),
    (mt.OCI_LAYER_GZIP, 'oci', WANT_PRESERVED, 'zstd', mt.OCI_LAYER_GZIP),
    (mt.OCI_LAYER_NONDISTRIBUTABLE, 'oci', WANT_COMPRESSED, None, mt.OCI_LAYER_NONDISTRIBUTABLE),
])
def test_plan_layer_preserve_digests_keeps(media_type, family, wanted, compress_format, written):
    source = desc(media_type)
    step = plan_layer(source, family, wanted, compress_format, preserve_digests=True)
    assert step.action == KEEP and not step.changes_bytes
    assert step.media_type == written
    assert step.source is source


@pytest.mark.parametrize('media_type, family, compress_format, message', [
    (mt.OCI_LAYER_GZIP, 'oci', 'zstd', 'preserve_digests: layer %s would be recompressed to zstd, which changes its digest'),
    (mt.OCI_LAYER_ZSTD, 'oci', 'gzip', 'preserve_digests: layer %s would be recompressed to gzip, which changes its digest'),
    (mt.OCI_LAYER, 'oci', 'gzip', 'preserve_digests: layer %s would be recompressed to gzip, which changes its digest'),
    (mt.OCI_LAYER_ZSTD, 'docker', None, 'preserve_digests: layer %s is zstd-compressed, which a Docker image cannot hold'),
])
def test_plan_layer_preserve_digests_refuses(media_type, family, compress_format, message):
    source = desc(media_type)
    with pytest.raises(InvalidInputError) as excinfo:
        plan_layer(source, family, WANT_COMPRESSED, compress_format, preserve_digests=True)
    assert str(excinfo.value) == message % source.digest


# ---------------------------------------------------------------------------------------------
# spool_transformed

PLAIN = tar_bytes({'etc/motd': b'hello from a layer\n' * 50, 'bin/tool': bytes(range(256)) * 20})
GZIPPED = gzip.compress(PLAIN, mtime=0)
DIFF_ID = Digest.from_bytes(PLAIN)


def chunked(data, size=1000):
    return iter([data[i:i + size] for i in range(0, len(data), size)])


def blob_desc(data, media_type):
    return Descriptor(media_type=media_type, digest=Digest.from_bytes(data), size=len(data))


def step_for(data, media_type, action, compression, written):
    return LayerStep(source=blob_desc(data, media_type), action=action, compression=compression, media_type=written)


def read_spool(spooled):
    with open(spooled.path, 'rb') as handle:
        return handle.read()


def test_spool_gzip_to_zstd(tmp_path):
    step = step_for(GZIPPED, mt.OCI_LAYER_GZIP, RECOMPRESS, 'zstd', mt.OCI_LAYER_ZSTD)
    spooled = spool_transformed(chunked(GZIPPED), step, None, DIFF_ID, str(tmp_path))
    data = read_spool(spooled)
    assert data[:4] == b'\x28\xb5\x2f\xfd'
    assert zstandard.ZstdDecompressor().decompressobj().decompress(data) == PLAIN
    assert spooled.digest == Digest.from_bytes(data) != step.source.digest
    assert spooled.size == len(data)
    assert spooled.diff_id == DIFF_ID
    assert spooled.media_type == mt.OCI_LAYER_ZSTD
    assert b''.join(spooled.chunks(chunk_size=7)) == data
    assert os.path.dirname(spooled.path) == str(tmp_path)
    spooled.remove()
    spooled.remove()
    assert not os.listdir(str(tmp_path))


@pytest.mark.parametrize('source, media_type, action, compression', [
    (GZIPPED, mt.DOCKER_LAYER_GZIP, DECOMPRESS, None),
    (PLAIN, mt.OCI_LAYER, COMPRESS, 'gzip'),
])
def test_spool_decompress_and_compress(tmp_path, source, media_type, action, compression):
    step = step_for(source, media_type, action, compression, mt.DOCKER_LAYER)
    spooled = spool_transformed(chunked(source), step, 9, DIFF_ID, str(tmp_path))
    data = read_spool(spooled)
    assert (gzip.decompress(data) if compression == 'gzip' else data) == PLAIN
    assert spooled.diff_id == DIFF_ID
    assert (spooled.digest, spooled.size) == (Digest.from_bytes(data), len(data))


def test_spool_without_expected_diff_id_does_not_check(tmp_path):
    step = step_for(GZIPPED, mt.OCI_LAYER_GZIP, DECOMPRESS, None, mt.OCI_LAYER)
    spooled = spool_transformed(chunked(GZIPPED), step, None, None, str(tmp_path))
    assert read_spool(spooled) == PLAIN


def test_spool_diff_id_mismatch_fails_and_leaves_no_file(tmp_path):
    step = step_for(GZIPPED, mt.OCI_LAYER_GZIP, RECOMPRESS, 'zstd', mt.OCI_LAYER_ZSTD)
    wrong = Digest.from_bytes(b'another layer')
    with pytest.raises(DigestMismatchError) as excinfo:
        spool_transformed(chunked(GZIPPED), step, None, wrong, str(tmp_path))
    assert str(excinfo.value) == ('layer %s: its uncompressed content is %s, but the config says diff_id %s'
                                  % (step.source.digest, DIFF_ID, wrong))
    assert not os.listdir(str(tmp_path))


def test_spool_corrupted_source_fails_and_leaves_no_file(tmp_path):
    step = step_for(GZIPPED, mt.OCI_LAYER_GZIP, RECOMPRESS, 'zstd', mt.OCI_LAYER_ZSTD)
    corrupted = GZIPPED[:-8] + bytes(8)
    assert len(corrupted) > 4 * 64
    with pytest.raises(DigestMismatchError) as excinfo:
        # Small chunks: the failure comes while the spool file is being written, not when the stream is first peeked at.
        spool_transformed(chunked(corrupted, 64), step, None, DIFF_ID, str(tmp_path))
    assert str(excinfo.value).startswith('layer digest mismatch: expected %s, got ' % step.source.digest)
    assert not os.listdir(str(tmp_path))


def test_spool_source_digest_checked(tmp_path):
    other = gzip.compress(PLAIN, compresslevel=1, mtime=0)
    assert other != GZIPPED
    # Same content once decompressed, but not the blob the descriptor names.
    step = LayerStep(source=Descriptor(mt.OCI_LAYER_GZIP, Digest.from_bytes(GZIPPED), len(other)), action=RECOMPRESS, compression='zstd',
                     media_type=mt.OCI_LAYER_ZSTD)
    with pytest.raises(DigestMismatchError) as excinfo:
        spool_transformed(chunked(other, 64), step, None, DIFF_ID, str(tmp_path))
    assert str(excinfo.value).startswith('layer digest mismatch: expected %s' % step.source.digest)
    assert not os.listdir(str(tmp_path))
