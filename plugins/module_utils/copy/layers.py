# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What happens to each layer's bytes on the way: kept, compressed, decompressed or recompressed.

The decision follows containers/image (copy/compression.go): each destination says whether it wants
layers compressed (registries, OCI layouts), decompressed (docker-archive) or left alone (dir);
``dest_compress_format`` picks the algorithm; ``preserve_digests`` forbids any change. The media
type is only a claim: what a layer really is comes from its bytes, and transformations detect the
source compression from the stream.

A transformed layer is spooled to a temporary file while its new digest, size and diff_id are
computed, then offered to the destination like any other blob. Memory stays flat; the disk holds one
transformed layer per parallel worker at most.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.compression import LayerType, is_layer_media_type, transcode
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest, verified_stream
from ansible_collections.ocikit.images.plugins.module_utils.errors import DigestMismatchError, InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import open_writer
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import Descriptor

KEEP = 'keep'
COMPRESS = 'compress'
DECOMPRESS = 'decompress'
RECOMPRESS = 'recompress'
#: Bytes kept, but size and diff_id measured on the way (schema1 sources record neither).
MEASURE = 'measure'

#: What a destination wants done with layers, as containers/image's DesiredLayerCompression.
WANT_COMPRESSED = 'compress'
WANT_PRESERVED = 'preserve'
WANT_DECOMPRESSED = 'decompress'


@dataclasses.dataclass(frozen=True)
class LayerStep:
    """One layer's fate: ``action`` on ``source``, giving a blob of ``media_type``."""

    source: Descriptor
    action: str
    compression: str | None
    media_type: str

    @property
    def changes_bytes(self) -> bool:
        return self.action != KEEP


def plan_layer(desc: Descriptor, family: str, wanted: str, compress_format: str | None, preserve_digests: bool) -> LayerStep:
    """Decide what happens to one layer written into a manifest of ``family`` ('oci' or 'docker').

    ``wanted`` is the destination's preference (WANT_*), ``compress_format`` the user's choice. As
    in containers/image, ``preserve_digests`` leaves every layer as it is unless the target format
    cannot hold it (a zstd layer in a Docker image), which is then an error.
    """
    if not is_layer_media_type(desc.media_type):
        # Artifact and encrypted layers are not tar streams this code may rewrite: copied as they are, as containers/image
        # does (a conversion that would have to retype them fails in convert.py with a message naming the layer).
        return LayerStep(source=desc, action=KEEP, compression=None, media_type=desc.media_type)
    kind = LayerType.of(desc.media_type)
    current = kind.compression
    action, target = KEEP, current
    if wanted == WANT_COMPRESSED and current is None:
        action, target = COMPRESS, compress_format or 'gzip'
    elif wanted == WANT_COMPRESSED and compress_format and compress_format != current:
        action, target = RECOMPRESS, compress_format
    elif wanted == WANT_DECOMPRESSED and current is not None:
        action, target = DECOMPRESS, None
    if preserve_digests:
        if compress_format and action != KEEP:
            raise InvalidInputError('preserve_digests: layer %s would be recompressed to %s, which changes its digest'
                                    % (desc.digest, compress_format))
        action, target = KEEP, current
    if family == 'docker' and target == 'zstd':
        # Docker schema2 has no zstd layer type: a zstd layer must become gzip to be stored there.
        if preserve_digests:
            raise InvalidInputError('preserve_digests: layer %s is zstd-compressed, which a Docker image cannot hold' % desc.digest)
        # A layer that already is gzip stays as it is: rewriting it would only change its digest.
        action, target = (KEEP if current == 'gzip' else COMPRESS if current is None else RECOMPRESS), 'gzip'
    media_type = LayerType(family, target, kind.nondistributable).media_type
    return LayerStep(source=desc, action=action, compression=target, media_type=media_type)


@dataclasses.dataclass
class SpooledLayer:
    """A transformed layer waiting in a temporary file."""

    path: str
    digest: Digest
    size: int
    diff_id: Digest
    media_type: str
    #: For a measured layer, the compression found in its bytes.
    compression: str | None = None

    def chunks(self, chunk_size: int = 1024 * 1024) -> t.Iterator[bytes]:
        with open(self.path, 'rb') as handle:
            while True:
                block = handle.read(chunk_size)
                if not block:
                    return
                yield block

    def remove(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass


def spool_transformed(chunks: t.Iterable[bytes], step: LayerStep, level: int | None, expected_diff_id: Digest | None,
                      directory: str | None = None) -> SpooledLayer:
    """Verify the source layer, transform it as ``step`` says, and spool the result to a file.

    The source bytes are checked against their descriptor while they stream; the uncompressed
    content is checked against ``expected_diff_id`` (the config's rootfs.diff_ids entry) when given.
    """
    source = step.source
    verified = verified_stream(chunks, source.digest, source.size, 'layer')
    fd, path = tempfile.mkstemp(prefix='ocikit-layer-', dir=directory)
    if step.action == MEASURE:
        try:
            return _spool_measured(fd, path, verified, step)
        except BaseException:
            _remove(path)
            raise
    work = transcode(verified, step.compression, level)
    try:
        with open_writer(fd) as handle:
            for chunk in work.chunks:
                handle.write(chunk)
        if expected_diff_id is not None and work.diff_id != expected_diff_id:
            raise DigestMismatchError('layer %s: its uncompressed content is %s, but the config says diff_id %s'
                                      % (source.digest, work.diff_id, expected_diff_id))
        return SpooledLayer(path=path, digest=work.digest, size=work.size, diff_id=work.diff_id, media_type=step.media_type)
    except BaseException:
        try:
            os.unlink(path)
        except OSError:
            pass
        raise


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _spool_measured(fd: int, path: str, verified: t.Iterable[bytes], step: LayerStep) -> SpooledLayer:
    """Spool the layer's bytes unchanged, then read the file back through a decompressor for its diff_id."""
    size = 0
    with open_writer(fd) as handle:
        for chunk in verified:
            handle.write(chunk)
            size += len(chunk)
    spooled = SpooledLayer(path=path, digest=step.source.digest, size=size, diff_id=step.source.digest, media_type=step.media_type)
    work = transcode(spooled.chunks(), None)
    for dummy in work.chunks:
        pass
    spooled.diff_id = work.diff_id
    spooled.compression = work.source_compression
    return spooled


def transformed_stream(chunks: t.Iterable[bytes], step: LayerStep, level: int | None,
                       expected_diff_id: Digest | None) -> tuple[t.Iterator[bytes], t.Any]:
    """Stream a layer through decompression and compression, for a destination that hashes as it writes.

    Returns the output chunks and the Transcode (its diff_id once consumed; the output's digest and
    size are the destination's to compute, as ``put_blob_unknown`` does while it writes, so they are
    not computed twice). The source is verified against its descriptor on the way; the last output
    chunk is held back until the uncompressed content has matched ``expected_diff_id``, so a
    destination never completes a blob made from the wrong content. Nothing touches the disk and
    memory stays flat.
    """
    source = step.source
    work = transcode(verified_stream(chunks, source.digest, source.size, 'layer'), step.compression, level, digest_output=False)

    def held_back() -> t.Iterator[bytes]:
        pending = b''
        for chunk in work.chunks:
            if pending:
                yield pending
            pending = chunk
        if expected_diff_id is not None and work.diff_id != expected_diff_id:
            raise DigestMismatchError('layer %s: its uncompressed content is %s, but the config says diff_id %s'
                                      % (source.digest, work.diff_id, expected_diff_id))
        if pending:
            yield pending

    return held_back(), work
