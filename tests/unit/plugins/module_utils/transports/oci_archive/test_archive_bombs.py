# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Compressed archives are decompressed into TMPDIR with an expansion bound (decompression bombs).

The bound's allowance is lowered here so that a few megabytes make the point; the integration
corpus (hostile_corpus, archive-*-bomb) runs real gigabyte bombs against the real bound.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import tarfile
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import LayoutError
from ansible_collections.ocikit.images.plugins.module_utils.transports import tar_safety
from ansible_collections.ocikit.images.plugins.module_utils.transports.tar_safety import SafeTarReader


def tar_of(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode='w') as archive:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def zstd(data: bytes) -> bytes:
    zstandard = pytest.importorskip('zstandard')
    return zstandard.ZstdCompressor().compress(data)


COMPRESSORS: dict[str, t.Callable[[bytes], bytes]] = {'gzip': gzip.compress, 'bzip2': bz2.compress, 'xz': lzma.compress, 'zstd': zstd}


@pytest.fixture(autouse=True)
def small_allowance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tar_safety, 'EXPANSION_ALLOWANCE', 1024 * 1024)


@pytest.mark.parametrize('algorithm', sorted(COMPRESSORS))
def test_a_bomb_is_refused_and_leaves_nothing(algorithm: str, tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = tmp_path / 'spool'
    spool.mkdir()
    monkeypatch.setenv('TMPDIR', str(spool))
    monkeypatch.setattr(tar_safety.tempfile, 'tempdir', None)
    path = tmp_path / 'bomb.tar'
    path.write_bytes(COMPRESSORS[algorithm](tar_of('zeros', b'\0' * (16 * 1024 * 1024))))
    with pytest.raises(LayoutError) as caught:
        SafeTarReader(str(path), 'docker archive', allow_links=True)
    expected = ('refusing docker archive %s: it expands more than 100 times its %s-compressed size (a decompression bomb?); '
                'if it is genuine, decompress it first and use the plain archive' % (path, algorithm))
    assert caught.value.message == expected
    assert os.listdir(spool) == []


@pytest.mark.parametrize('algorithm', sorted(COMPRESSORS))
def test_ordinary_compressed_archives_are_read(algorithm: str, tmp_path: t.Any) -> None:
    # Compressed layers inside compress no further: the ratio stays near 1 whatever the size.
    data = os.urandom(3 * 1024 * 1024)
    path = tmp_path / 'fine.tar'
    path.write_bytes(COMPRESSORS[algorithm](tar_of('layer.tar.gz', data)))
    reader = SafeTarReader(str(path), 'docker archive', allow_links=True)
    try:
        assert reader.compression == algorithm
        assert reader.read_member(reader.find('layer.tar.gz'), len(data), 'layer') == data
    finally:
        reader.close()
