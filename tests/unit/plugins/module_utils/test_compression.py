# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for compression.py: detection, streaming (de)compression, digesting, layer media types."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import shutil
import subprocess
import tarfile

import pytest
import zstandard

from ansible_collections.ocikit.images.plugins.module_utils import compression as c
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, UnsupportedMediaTypeError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt

DATA = os.urandom(200000) + b'\0' * 3000000 + b'layer content ' * 50000


@pytest.fixture(autouse=True, params=['zlib', 'isal'])
def inflate(request, monkeypatch):
    """Every test reads gzip with zlib and with python-isal (the faster inflater used when installed)."""
    if request.param == 'isal':
        module = pytest.importorskip('isal.isal_zlib')
    else:
        import zlib as module  # pylint: disable=import-outside-toplevel
    monkeypatch.setattr(c, 'GZIP_INFLATE', module)
    return module


def test_isal_is_used_for_reading_gzip_when_installed_and_zlib_otherwise(monkeypatch):
    import sys  # pylint: disable=import-outside-toplevel
    import zlib  # pylint: disable=import-outside-toplevel
    monkeypatch.setattr(c, 'GZIP_INFLATE', None)
    try:
        from isal import isal_zlib  # pylint: disable=import-outside-toplevel
    except ImportError:
        isal_zlib = None
    assert c.gzip_inflate_module() is (isal_zlib or zlib)
    monkeypatch.setattr(c, 'GZIP_INFLATE', None)
    monkeypatch.setitem(sys.modules, 'isal', None)  # an import of isal now fails
    assert c.gzip_inflate_module() is zlib


def split(data, size=7919):
    return [data[i:i + size] for i in range(0, len(data), size)]


def joined(chunks):
    return b''.join(chunks)


def zstd_frame(data, **options):
    return zstandard.ZstdCompressor(**options).compress(data)


COMPRESSED = {
    'gzip': lambda data: gzip.compress(data, mtime=0),
    'zstd': zstd_frame,
    'bzip2': bz2.compress,
    'xz': lzma.compress,
}


@pytest.mark.parametrize('prefix, expected', [
    (b'\x1f\x8b\x08\x00rest', 'gzip'),
    (b'\x28\xb5\x2f\xfd\x00', 'zstd'),
    (b'BZh91AY', 'bzip2'),
    (b'\xfd7zXZ\x00\x00', 'xz'),
    (b'\x1f\x8b\x07', None),          # gzip magic but not deflate: containers/image does not call it gzip
    (b'\x1f\x8b', None),
    (b'ustar\x00', None),
    (b'', None),
    (b'{"schemaVersion"', None),
])
def test_detect(prefix, expected):
    assert c.detect(prefix) == expected


def test_peek_does_not_consume():
    chunks = [b'ab', b'', b'cdef', b'gh']
    prefix, stream = c.peek(iter(chunks), 5)
    assert prefix == b'abcde'
    assert joined(stream) == b'abcdefgh'


def test_peek_short_stream():
    prefix, stream = c.peek([b'xy'], 8)
    assert prefix == b'xy'
    assert joined(stream) == b'xy'
    prefix, stream = c.peek([], 8)
    assert prefix == b'' and joined(stream) == b''


def test_peek_reads_only_what_it_needs():
    consumed = []

    def source():
        for index in range(5):
            consumed.append(index)
            yield b'1234'
    prefix, stream = c.peek(source(), 6)
    assert prefix == b'123412' and consumed == [0, 1]
    assert joined(stream) == b'1234' * 5


@pytest.mark.parametrize('algorithm', sorted(COMPRESSED))
def test_decompress_every_algorithm(algorithm):
    blob = COMPRESSED[algorithm](DATA)
    assert c.detect(blob[:8]) == algorithm
    out = list(c.decompress_stream(split(blob), algorithm))
    assert joined(out) == DATA
    assert max(len(chunk) for chunk in out) <= c.OUTPUT_CHUNK


@pytest.mark.parametrize('algorithm', sorted(COMPRESSED))
def test_decompress_concatenated_streams(algorithm):
    blob = COMPRESSED[algorithm](DATA[:1000]) + COMPRESSED[algorithm](DATA[1000:])
    assert joined(c.decompress_stream(split(blob, 1000), algorithm)) == DATA


@pytest.mark.parametrize('algorithm', sorted(COMPRESSED))
@pytest.mark.parametrize('damage', ['truncated', 'half', 'trailing', 'empty', 'garbage'])
def test_decompress_rejects_damaged_streams(algorithm, damage):
    blob = COMPRESSED[algorithm](DATA)
    damaged = {'truncated': blob[:-3], 'half': blob[:len(blob) // 2], 'trailing': blob + b'\x01junk',
               'empty': b'', 'garbage': b'\x00' * 64}[damage]
    with pytest.raises(c.CompressionError):
        joined(c.decompress_stream(split(damaged), algorithm))


def test_decompress_is_streaming():
    """The first output arrives before the input is read to its end, and no chunk is huge (bombs)."""
    bomb = gzip.compress(b'\0' * (64 * 1024 * 1024), mtime=0)
    consumed = []

    def source():
        for chunk in split(bomb, 4096):
            consumed.append(len(chunk))
            yield chunk
    stream = c.decompress_stream(source(), 'gzip')
    first = next(stream)
    assert len(first) <= c.OUTPUT_CHUNK and sum(consumed) < len(bomb)
    sizes = [len(chunk) for chunk in stream]
    assert max(sizes) <= c.OUTPUT_CHUNK and sum(sizes) + len(first) == 64 * 1024 * 1024


def test_zstd_bomb_is_bounded():
    bomb = zstd_frame(b'\0' * (64 * 1024 * 1024))
    sizes = [len(chunk) for chunk in c.decompress_stream([bomb], 'zstd')]
    assert max(sizes) <= c.OUTPUT_CHUNK and sum(sizes) == 64 * 1024 * 1024


@pytest.mark.parametrize('options', [
    {}, {'write_content_size': False}, {'write_checksum': True}, {'write_dict_id': False, 'level': 19},
])
def test_zstd_frame_variants(options):
    blob = zstd_frame(DATA[:100000], **options)
    assert joined(c.decompress_stream(split(blob, 3), 'zstd')) == DATA[:100000]


def test_zstd_frames_without_content_size_and_skippable_frames():
    streamed = joined(c.compress_stream(split(DATA), 'zstd'))
    assert zstandard.get_frame_parameters(streamed).content_size == zstandard.CONTENTSIZE_UNKNOWN
    skippable = (0x184D2A53).to_bytes(4, 'little') + (5).to_bytes(4, 'little') + b'12345'
    blob = skippable + streamed + zstd_frame(b'tail') + skippable
    assert joined(c.decompress_stream(split(blob, 7), 'zstd')) == DATA + b'tail'


def test_zstd_truncated_inside_skippable_frame_or_checksum():
    streamed = joined(c.compress_stream([b'abc' * 1000], 'zstd'))
    for blob in (streamed[:-2], streamed + (0x184D2A50).to_bytes(4, 'little') + (9).to_bytes(4, 'little') + b'1'):
        with pytest.raises(c.CompressionError, match='truncated'):
            joined(c.decompress_stream([blob], 'zstd'))


def test_zstd_corrupt_block_content():
    blob = bytearray(zstd_frame(DATA[:200000], write_checksum=True))
    blob[len(blob) // 2] ^= 0xFF
    with pytest.raises(c.CompressionError, match='corrupt zstd'):
        joined(c.decompress_stream([bytes(blob)], 'zstd'))


def test_frame_checker_rejects_reserved_bits():
    checker = c.ZstdFrameChecker()
    with pytest.raises(c.CompressionError):
        checker.feed(b'\x28\xb5\x2f\xfd\x08')
    checker = c.ZstdFrameChecker()
    with pytest.raises(c.CompressionError):
        checker.feed(b'\x28\xb5\x2f\xfd\x20\x00\x07\x00\x00')


@pytest.mark.parametrize('algorithm', ['gzip', 'zstd'])
@pytest.mark.parametrize('level', [None, 1, 9])
def test_compress_round_trip(algorithm, level):
    chunks = [b''] + split(DATA, 100003) + [b'']
    blob = joined(c.compress_stream(chunks, algorithm, level))
    assert c.detect(blob[:8]) == algorithm
    reference = gzip.decompress(blob) if algorithm == 'gzip' else zstandard.ZstdDecompressor().decompressobj().decompress(blob)
    assert reference == DATA


def test_gzip_output_is_reproducible():
    first = joined(c.compress_stream([DATA], 'gzip'))
    assert first == joined(c.compress_stream(split(DATA, 1000), 'gzip'))
    assert first[4:8] == b'\0\0\0\0'  # mtime 0


def test_compress_empty_stream():
    for algorithm in ('gzip', 'zstd'):
        blob = joined(c.compress_stream([], algorithm))
        assert joined(c.decompress_stream([blob], algorithm)) == b''


@pytest.mark.parametrize('algorithm, level', [('gzip', 0), ('gzip', 10), ('zstd', 0), ('zstd', 23), ('zstd', True), ('gzip', '6'),
                                              ('bzip2', None), ('lz4', None)])
def test_compress_rejects_bad_levels_and_algorithms(algorithm, level):
    with pytest.raises(InvalidInputError):
        c.compress_stream([b'x'], algorithm, level)


def test_decompress_rejects_unknown_algorithm():
    with pytest.raises(c.CompressionError):
        c.decompress_stream([b'x'], 'lz4')


def test_missing_zstandard_is_named(monkeypatch):
    monkeypatch.setattr(c, 'ZSTANDARD_IMPORT_ERROR', ImportError('No module named zstandard'))
    with pytest.raises(ImportError, match='zstandard') as info:
        c.decompress_stream([b'x'], 'zstd')
    assert info.value.name == 'zstandard'
    with pytest.raises(ImportError, match='pip install zstandard'):
        c.compress_stream([b'x'], 'zstd')
    # gzip needs nothing extra.
    assert joined(c.decompress_stream(c.compress_stream([b'x'], 'gzip'), 'gzip')) == b'x'


def test_auto_decompress():
    assert c.auto_decompress(split(gzip.compress(DATA)))[0] == 'gzip'
    algorithm, stream = c.auto_decompress(split(zstd_frame(DATA)))
    assert algorithm == 'zstd' and joined(stream) == DATA
    algorithm, stream = c.auto_decompress(split(DATA))
    assert algorithm is None and joined(stream) == DATA


def test_digesting_tee():
    tee = c.DigestingTee(split(DATA))
    with pytest.raises(RuntimeError):
        tee.digest  # pylint: disable=pointless-statement
    assert joined(tee) == DATA
    assert tee.digest == 'sha256:' + hashlib.sha256(DATA).hexdigest()
    assert tee.size == len(DATA)


def test_digesting_tee_sha512():
    tee = c.DigestingTee([b'a', b'b'], 'sha512')
    joined(tee)
    assert tee.digest == 'sha512:' + hashlib.sha512(b'ab').hexdigest()


@pytest.mark.parametrize('source', [None, 'gzip', 'zstd', 'bzip2'])
@pytest.mark.parametrize('target', [None, 'gzip', 'zstd'])
def test_transcode(source, target):
    blob = COMPRESSED[source](DATA) if source else DATA
    job = c.transcode(split(blob), target)
    with pytest.raises(RuntimeError):
        job.size  # pylint: disable=pointless-statement
    out = joined(job.chunks)
    assert job.source_compression == source
    assert job.diff_id == 'sha256:' + hashlib.sha256(DATA).hexdigest()
    assert job.digest == 'sha256:' + hashlib.sha256(out).hexdigest() and job.size == len(out)
    assert joined(c.auto_decompress([out])[1]) == DATA
    assert c.detect(out[:8]) == target


@pytest.mark.parametrize('target', [None, 'zstd'])
def test_transcode_leaves_the_output_unhashed_for_a_consumer_that_hashes_it(target, monkeypatch):
    hashed = []

    class CountingTee(c.DigestingTee):
        def __iter__(self):
            for chunk in super().__iter__():
                hashed.append(len(chunk))
                yield chunk

    monkeypatch.setattr(c, 'DigestingTee', CountingTee)
    job = c.transcode(split(COMPRESSED['gzip'](DATA)), target, digest_output=False)
    out = joined(job.chunks)
    assert job.output is None and job.diff_id == 'sha256:' + hashlib.sha256(DATA).hexdigest()
    assert sum(hashed) == len(DATA)  # the uncompressed content once (the diff_id), the output never
    assert joined(c.auto_decompress([out])[1]) == DATA
    with pytest.raises(RuntimeError, match='digest_output=False'):
        job.digest  # pylint: disable=pointless-statement


def test_recompression_into_a_destination_hashes_each_stream_once(monkeypatch):
    """transformed_stream (recompression streamed into put_blob_unknown): source, uncompressed content, and the
    destination's own hash of the output -- not the output a second time in the transcode (it was, before)."""
    from ansible_collections.ocikit.images.plugins.module_utils.copy import layers
    from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
    from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import Descriptor

    tees = []
    real_tee = c.DigestingTee
    monkeypatch.setattr(c, 'DigestingTee', lambda chunks, *args: tees.append(real_tee(chunks, *args)) or tees[-1])
    blob = COMPRESSED['gzip'](DATA)
    source = Descriptor(mt.OCI_LAYER_GZIP, Digest('sha256:' + hashlib.sha256(blob).hexdigest()), len(blob))
    step = layers.plan_layer(source, 'oci', layers.WANT_COMPRESSED, 'zstd', False)
    assert step.compression == 'zstd' and step.changes_bytes
    stream, work = layers.transformed_stream(split(blob), step, None, Digest('sha256:' + hashlib.sha256(DATA).hexdigest()))
    out = joined(stream)
    assert len(tees) == 1 and tees[0].size == len(DATA) and work.output is None
    assert c.detect(out[:8]) == 'zstd' and joined(c.auto_decompress([out])[1]) == DATA


def test_transcode_rejects_unknown_target():
    with pytest.raises(InvalidInputError):
        c.transcode([b''], 'xz')


@pytest.mark.parametrize('family, compression, nondistributable, expected', [
    ('oci', None, False, mt.OCI_LAYER),
    ('oci', 'gzip', False, mt.OCI_LAYER_GZIP),
    ('oci', 'zstd', False, mt.OCI_LAYER_ZSTD),
    ('oci', None, True, mt.OCI_LAYER_NONDISTRIBUTABLE),
    ('oci', 'gzip', True, mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP),
    ('oci', 'zstd', True, mt.OCI_LAYER_NONDISTRIBUTABLE_ZSTD),
    ('docker', None, False, mt.DOCKER_LAYER),
    ('docker', 'gzip', False, mt.DOCKER_LAYER_GZIP),
    ('docker', None, True, c.DOCKER_LAYER_FOREIGN),
    ('docker', 'gzip', True, mt.DOCKER_LAYER_FOREIGN_GZIP),
])
def test_layer_media_types(family, compression, nondistributable, expected):
    assert c.layer_media_type(family, compression, nondistributable) == expected
    kind = c.LayerType.of(expected)
    assert (kind.family, kind.compression, kind.nondistributable) == (family, compression, nondistributable)
    assert kind.media_type == expected
    assert c.compression_of_media_type(expected) == compression
    assert c.is_layer_media_type(expected)


@pytest.mark.parametrize('nondistributable', [False, True])
def test_docker_has_no_zstd(nondistributable):
    with pytest.raises(UnsupportedMediaTypeError, match='Docker schema2 has no zstd'):
        c.layer_media_type('docker', 'zstd', nondistributable)


def test_layer_media_type_rejects_unknown_family_and_compression():
    with pytest.raises(InvalidInputError):
        c.layer_media_type('appc', 'gzip')
    with pytest.raises(UnsupportedMediaTypeError):
        c.layer_media_type('oci', 'bzip2')


@pytest.mark.parametrize('media_type', [mt.OCI_CONFIG, 'application/vnd.oci.image.layer.v1.tar+gzip+encrypted', '', 'application/x-tar'])
def test_compression_of_unknown_media_type(media_type):
    assert not c.is_layer_media_type(media_type)
    with pytest.raises(UnsupportedMediaTypeError):
        c.compression_of_media_type(media_type)


# --- interop with skopeo: its Go readers take our streams, we take its streams ------------------

SKOPEO = shutil.which('skopeo')
needs_skopeo = pytest.mark.skipif(SKOPEO is None, reason='skopeo is not installed: the interop tests exchange layers with skopeo')


def tar_of(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w', format=tarfile.PAX_FORMAT) as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def oci_layout(path, layer_blob, layer_type, diff_id):
    blobs = os.path.join(path, 'blobs', 'sha256')
    os.makedirs(blobs)

    def put(data):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), 'wb') as handle:
            handle.write(data)
        return {'digest': 'sha256:' + digest, 'size': len(data)}
    config = json.dumps({'architecture': 'amd64', 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': [diff_id]}}).encode()
    manifest = json.dumps({'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST, 'config': dict(put(config), mediaType=mt.OCI_CONFIG),
                           'layers': [dict(put(layer_blob), mediaType=layer_type)]}).encode()
    index = {'schemaVersion': 2, 'manifests': [dict(put(manifest), mediaType=mt.OCI_MANIFEST,
                                                    annotations={'org.opencontainers.image.ref.name': 't'})]}
    with open(os.path.join(path, 'index.json'), 'w', encoding='utf-8') as handle:
        json.dump(index, handle)
    with open(os.path.join(path, 'oci-layout'), 'w', encoding='utf-8') as handle:
        handle.write('{"imageLayoutVersion":"1.0.0"}')


def skopeo_copy(tmp_path, source, dest, *options):
    result = subprocess.run([SKOPEO, '--insecure-policy', 'copy', '-q'] + list(options) + [source, dest], capture_output=True,
                            text=True, check=False, env=dict(os.environ, TMPDIR=str(tmp_path)), timeout=120)
    assert result.returncode == 0, result.stderr


def only_layer(path):
    with open(os.path.join(path, 'manifest.json'), encoding='utf-8') as handle:
        layer = json.load(handle)['layers'][0]
    with open(os.path.join(path, layer['digest'][7:]), 'rb') as handle:
        return layer, handle.read()


@needs_skopeo
@pytest.mark.parametrize('algorithm', ['gzip', 'zstd'])
def test_skopeo_reads_our_streams(tmp_path, algorithm):
    plain = tar_of({'file': DATA[:500000], 'other': b'hello'})
    blob = joined(c.compress_stream(split(plain), algorithm))
    oci_layout(str(tmp_path / 'src'), blob, c.layer_media_type('oci', algorithm), 'sha256:' + hashlib.sha256(plain).hexdigest())
    skopeo_copy(tmp_path, 'oci:%s:t' % (tmp_path / 'src'), 'dir:%s' % (tmp_path / 'out'), '--dest-decompress')
    layer, data = only_layer(str(tmp_path / 'out'))
    assert data == plain and layer['mediaType'] == mt.OCI_LAYER


@needs_skopeo
@pytest.mark.parametrize('algorithm', ['gzip', 'zstd'])
def test_we_read_skopeo_streams(tmp_path, algorithm):
    plain = tar_of({'file': DATA[:500000]})
    oci_layout(str(tmp_path / 'src'), plain, mt.OCI_LAYER, 'sha256:' + hashlib.sha256(plain).hexdigest())
    skopeo_copy(tmp_path, 'oci:%s:t' % (tmp_path / 'src'), 'dir:%s' % (tmp_path / 'out'), '--dest-compress', '--dest-compress-format', algorithm)
    layer, data = only_layer(str(tmp_path / 'out'))
    assert c.compression_of_media_type(layer['mediaType']) == algorithm
    detected, stream = c.auto_decompress(split(data, 3333))
    assert detected == algorithm and joined(stream) == plain
