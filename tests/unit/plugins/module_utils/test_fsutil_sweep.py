# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sweeping what killed runs left (issue 7, defect 10): only our names, only stale, only when no live process holds them."""

from __future__ import annotations

import os
import time
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import (
    STALE_AFTER,
    create_temp_dir,
    create_temp_file,
    release_temp_dir,
    sweep_stale_temps,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import TEMP_PREFIX
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.dir.test_dir_image import make_image, write_image

OPTIONS = ConnectionOptions()


def age(path: t.Any, seconds: float = STALE_AFTER + 60) -> None:
    """Make ``path`` look as if it was last modified ``seconds`` ago (a leftover of a killed run)."""
    then = time.time() - seconds
    os.utime(str(path), (then, then), follow_symlinks=False)


def ours(name: str) -> bool:
    return name.startswith(TEMP_PREFIX)


def test_sweep_takes_only_stale_unheld_entries_of_ours(tmp_path) -> None:
    # A killed writer's file and directory: stale, nobody holds them.
    dead_file = tmp_path / (TEMP_PREFIX + 'deadfile')
    dead_file.write_bytes(b'partial')
    dead_dir = tmp_path / (TEMP_PREFIX + 'deaddir')
    (dead_dir / 'blobs').mkdir(parents=True)
    (dead_dir / 'blobs' / 'x').write_bytes(b'x')
    # A live writer's file and directory, stale by their mtime (a slow transfer) but held.
    live_path, live_handle = create_temp_file(str(tmp_path), TEMP_PREFIX)
    live_dir, live_fd = create_temp_dir(str(tmp_path), TEMP_PREFIX)
    # A fresh file of ours (its writer may not have locked it yet), somebody else's file, a symlink named like ours.
    fresh = tmp_path / (TEMP_PREFIX + 'fresh')
    fresh.write_bytes(b'')
    foreign = tmp_path / 'tmp-of-someone-else'
    foreign.write_bytes(b'')
    target = tmp_path / 'target'
    target.write_bytes(b'keep')
    link = tmp_path / (TEMP_PREFIX + 'link')
    os.symlink(str(target), str(link))
    for path in (dead_file, dead_dir, live_path, live_dir, foreign, link, target):
        age(path)
    try:
        removed = sweep_stale_temps(str(tmp_path), ours)
        assert removed == [str(dead_dir), str(dead_file)]
        kept = (live_path, live_dir, str(fresh), str(foreign), str(link), str(target))
        assert sorted(os.listdir(str(tmp_path))) == sorted(os.path.basename(p) for p in kept)
        assert target.read_bytes() == b'keep'
    finally:
        live_handle.close()
        release_temp_dir(live_fd)
    # Once their writers are gone, they go too.
    assert sorted(sweep_stale_temps(str(tmp_path), ours)) == sorted([live_path, live_dir])


def test_sweep_of_a_missing_directory_is_quiet(tmp_path) -> None:
    assert sweep_stale_temps(str(tmp_path / 'missing'), ours) == []


def _write_oci(layout: t.Any, name: str, content: bytes) -> None:
    image = make_image(content)
    dest = parse_image_name('oci:%s:%s' % (layout, name)).new_destination(OPTIONS)
    try:
        for blob, media_type in image.blobs():
            dest.put_blob(iter([blob]), BlobInfo(Digest.from_bytes(blob), len(blob), media_type))
        dest.put_manifest(image.manifest, image.media_type)
        dest.commit()
    finally:
        dest.close()


def test_next_write_to_a_layout_sweeps_a_killed_runs_leftovers(tmp_path) -> None:
    layout = tmp_path / 'layout'
    _write_oci(layout, 'v1', b'one')
    leftovers = [layout / (TEMP_PREFIX + 'a1b2c3d4'), layout / (TEMP_PREFIX + 'pins')]
    leftovers[0].write_bytes(b'half a blob')
    leftovers[1].mkdir()
    (leftovers[1] / 'sha256-00').write_bytes(b'pinned')
    for path in leftovers:
        age(path)
    _write_oci(layout, 'v2', b'two')
    assert not [name for name in os.listdir(str(layout)) if name.startswith(TEMP_PREFIX)]


@pytest.mark.parametrize('transport', ['oci-archive', 'docker-archive'])
def test_next_write_of_an_archive_sweeps_leftovers_beside_it(tmp_path, transport) -> None:
    source = tmp_path / 'src'
    image = make_image()
    write_image(source, image)
    from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
    from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions

    out = tmp_path / 'out'
    out.mkdir()
    staging = out / (TEMP_PREFIX + 'stage1')
    (staging / 'blobs').mkdir(parents=True)
    archive_temp = out / (TEMP_PREFIX + 'tar1')
    archive_temp.write_bytes(b'half an archive')
    for path in (staging, archive_temp):
        age(path)
    dest = parse_image_name('%s:%s' % (transport, out / 'image.tar'))
    assert copy_image(parse_image_name('dir:%s' % source), dest, OPTIONS, OPTIONS, CopyOptions()).changed
    assert os.listdir(str(out)) == ['image.tar']


def test_next_write_of_a_dir_image_sweeps_its_work_dirs_and_old_images(tmp_path) -> None:
    path = tmp_path / 'image'
    write_image(path, make_image(b'one'))
    work = tmp_path / '.image.ocikit-tmp-0badf00d'
    work.mkdir()
    (work / 'version').write_bytes(b'x')
    old = tmp_path / '.image.ocikit-old-0badf00d'
    old.mkdir()
    other = tmp_path / '.other.ocikit-tmp-0badf00d'
    other.mkdir()
    for leftover in (work, old, other):
        age(leftover)
    write_image(path, make_image(b'two'))
    # Only this image's leftovers: another image's work directory is its own business.
    assert sorted(os.listdir(str(tmp_path))) == ['.other.ocikit-tmp-0badf00d', 'image']


def test_a_dir_images_old_copy_stays_while_path_is_missing(tmp_path) -> None:
    """A swap killed between its renames leaves the previous image only aside: it must not be swept then."""
    path = tmp_path / 'image'
    old = tmp_path / '.image.ocikit-old-0badf00d'
    write_image(old, make_image(b'one'))
    age(old)
    write_image(path, make_image(b'two'), commit=False)
    assert sorted(os.listdir(str(tmp_path))) == ['.image.ocikit-old-0badf00d']
