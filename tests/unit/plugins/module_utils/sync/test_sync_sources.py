# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""image_sync's source bundles: a layout source's index.json read once for the whole sync, and a layout written meanwhile."""

from __future__ import annotations

import json

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.errors import ImageNotFoundError
from ansible_collections.ocikit.images.plugins.module_utils.sync import engine
from ansible_collections.ocikit.images.plugins.module_utils.sync.sources import SourceBundles
from ansible_collections.ocikit.images.plugins.module_utils.sync.spec import parse_layout_source
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout import layout as layout_module
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.copy.test_signing import write_dir_image

OPTIONS = ConnectionOptions()
REF_NAME = 'org.opencontainers.image.ref.name'


def put(src: str, ref: str) -> None:
    copy_image(parse_image_name(src), parse_image_name(ref), OPTIONS, OPTIONS, CopyOptions())


def make_layout(tmp_path, names: int, distinct: int = 5):
    """A layout naming ``names`` images app:t000... (``distinct`` different ones, in turn), as a big air-gap bundle does."""
    layout = tmp_path / 'bundle'
    for number in range(distinct):
        write_dir_image(tmp_path / 'src' / str(number), layer=b'layer %d' % number)
        put('dir:%s' % (tmp_path / 'src' / str(number)), 'oci:%s:app:seed%d' % (layout, number))
    index = json.loads((layout / 'index.json').read_text())
    entries = index['manifests']
    index['manifests'] = [dict(entries[number % distinct], annotations={REF_NAME: 'app:t%03d' % number}) for number in range(names)]
    (layout / 'index.json').write_text(json.dumps(index))
    return layout


@pytest.fixture
def index_reads(monkeypatch):
    """The layout paths whose index.json (Layout.read_index) or oci-layout (Layout.read_layout_version) is read, in order."""
    reads = []
    for name, what in (('read_index', 'index.json'), ('read_layout_version', 'oci-layout')):
        original = getattr(layout_module.Layout, name)

        def counting(self, original=original, what=what):
            reads.append('%s/%s' % (self.path, what))
            return original(self)

        monkeypatch.setattr(layout_module.Layout, name, counting)
    return reads


def test_a_layout_of_500_images_is_read_once_per_sync(tmp_path, index_reads):
    layout = make_layout(tmp_path, 500)
    index_reads.clear()
    # As the module does: the names are listed and every image copied from one reading of index.json.
    with SourceBundles() as bundles:
        spec = parse_layout_source(str(layout), 'oci', read_index=bundles.index)
        out = engine.run_sync(spec, engine.SyncOptions(dest=str(tmp_path / 'export'), dest_type='dir'), OPTIONS, OPTIONS, sources=bundles)
    assert not out.failed and out.summary()['copied'] == 500 and not out.warnings
    # Read once in all; before, once more per image (501 times each).
    assert sorted(index_reads) == ['%s/index.json' % layout, '%s/oci-layout' % layout]
    # Each image is the one its name has in the layout.
    index = json.loads((layout / 'index.json').read_text())
    digests = {entry['annotations'][REF_NAME]: entry['digest'] for entry in index['manifests']}
    assert {item['src'].rsplit(':', 2)[-2] + ':' + item['src'].rsplit(':', 1)[-1]: item['digest'] for item in out.images} == digests
    # A sync that opens its own bundles (no module around it) reads it once too, for its copies; the spec read it once more.
    index_reads.clear()
    again = engine.run_sync(parse_layout_source(str(layout), 'oci'), engine.SyncOptions(dest=str(tmp_path / 'export'), dest_type='dir'),
                            OPTIONS, OPTIONS)
    assert not again.changed and again.summary()['skipped'] == 500
    assert index_reads.count('%s/index.json' % layout) == 2


def test_a_source_layout_written_during_the_sync_is_reported_and_not_pruned_from(tmp_path):
    layout = make_layout(tmp_path, 4, distinct=4)
    mirror = tmp_path / 'mirror'
    options = engine.SyncOptions(dest=str(mirror), dest_type='oci', prune=True)
    assert engine.run_sync(parse_layout_source(str(layout), 'oci'), options, OPTIONS, OPTIONS).summary()['copied'] == 4
    put('oci:%s:app:t000' % mirror, 'oci:%s:app:t999' % mirror)
    with SourceBundles() as bundles:
        spec = parse_layout_source(str(layout), 'oci', read_index=bundles.index)
        # Another writer names one more image after the sync read the layout (and before its copies).
        put('oci:%s:app:t001' % layout, 'oci:%s:app:t999' % layout)
        out = engine.run_sync(spec, options, OPTIONS, OPTIONS, sources=bundles)
    # The images the sync listed, copied as the layout named them then; the layout's change said, and prune left for a later run
    # (which would otherwise delete app:t999 at the destination, a name the source has again).
    assert not out.failed and [item['action'] for item in out.images] == ['skipped'] * 4
    assert out.warnings == ['the source OCI layout %s was written during the sync: its images were copied as its index.json named them when '
                            'the sync started' % layout,
                            'prune skipped: the source changed during the sync; run it again to prune from its current names']
    index = json.loads((mirror / 'index.json').read_text())
    assert sorted(entry['annotations'][REF_NAME] for entry in index['manifests']) == ['app:t000', 'app:t001', 'app:t002', 'app:t003', 'app:t999']


def test_an_image_is_read_from_the_snapshot_even_when_its_name_moved(tmp_path):
    layout = make_layout(tmp_path, 2, distinct=2)
    with SourceBundles() as bundles:
        first = bundles.reference('oci:%s:app:t000' % layout)
        before = first.new_source(OPTIONS).get_manifest()
        put('oci:%s:app:t001' % layout, 'oci:%s:app:t000' % layout)
        assert bundles.changed_layouts() == [str(layout)]
        # The sync's view: the name as it was when the layout was read, and that image's manifest.
        assert bundles.reference('oci:%s:app:t000' % layout).new_source(OPTIONS).get_manifest() == before
        with pytest.raises(ImageNotFoundError):
            bundles.reference('oci:%s:app:new' % layout).new_source(OPTIONS).get_manifest()
    # Outside a sync, a reference reads index.json as it is now.
    assert parse_image_name('oci:%s:app:t000' % layout).new_source(OPTIONS).get_manifest() != before
