# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""image_sync offline with OCI layouts and archives as sources: names, filters, prune in a layout and an archive, check-mode bytes."""

from __future__ import annotations

import json
import tarfile

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.delete import delete_image
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.sync import engine, sources
from ansible_collections.ocikit.images.plugins.module_utils.sync.spec import parse_dir_source, parse_layout_source, split_ref_name
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.copy.test_signing import snapshot, write_dir_image

OPTIONS = ConnectionOptions()
NAMES = ('team/app:1.0', 'team/app:2.0', 'team/tool:1', 'latest')


def put(src, ref: str) -> None:
    copy_image(parse_image_name(src), parse_image_name(ref), OPTIONS, OPTIONS, CopyOptions())


def names_in(layout) -> list[str]:
    index = json.loads((layout / 'index.json').read_text())
    return sorted(m.get('annotations', {}).get('org.opencontainers.image.ref.name', '-') for m in index['manifests'])


@pytest.fixture
def bundle(tmp_path):
    """A layout as a mapping sync fills it (team/app:1.0, team/app:2.0, team/tool:1), a tag alone (latest) and an unnamed entry."""
    layout = tmp_path / 'bundle'
    for number, name in enumerate(NAMES):
        write_dir_image(tmp_path / 'src' / str(number), layer=b'layer %d' % number)
        put('dir:%s' % (tmp_path / 'src' / str(number)), 'oci:%s:%s' % (layout, name))
    write_dir_image(tmp_path / 'src' / 'unnamed', layer=b'unnamed layer')
    put('dir:%s' % (tmp_path / 'src' / 'unnamed'), 'oci:%s' % (tmp_path / 'single'))
    index = json.loads((layout / 'index.json').read_text())
    index['manifests'].append(json.loads((tmp_path / 'single' / 'index.json').read_text())['manifests'][0])
    for blob in (tmp_path / 'single' / 'blobs' / 'sha256').iterdir():
        (layout / 'blobs' / 'sha256' / blob.name).write_bytes(blob.read_bytes())
    (layout / 'index.json').write_text(json.dumps(index))
    return layout


@pytest.mark.parametrize('name, expected', [
    ('team/app:1.0', ('team/app', '1.0')),
    ('127.0.0.1:5000/team/app:1.0', ('127.0.0.1:5000/team/app', '1.0')),
    ('app@sha256:' + 'a' * 64, ('app', 'sha256:' + 'a' * 64)),
    ('latest', (None, 'latest')),
])
def test_split_ref_name(name, expected):
    assert split_ref_name(name) == expected


@pytest.mark.parametrize('name, message', [
    ('team/app', 'it names a repository without a tag'),
    ('app:1.0@sha256:' + 'a' * 64, 'it has both a tag and a digest'),
    ('team/:1.0', 'its repository name is empty'),
    ('app:1.0:2', 'invalid tag'),
    ('app@sha256:abc', 'invalid'),
])
def test_split_ref_name_refuses(name, message):
    with pytest.raises(InvalidInputError) as caught:
        split_ref_name(name)
    assert message in caught.value.message.lower()


def test_layout_source_entries_names_and_warnings(bundle):
    spec = parse_layout_source(str(bundle), 'oci')
    assert [(entry.layout_repository, entry.layout_names) for entry in spec.entries] == [
        ('team/app', (('1.0', 'team/app:1.0'), ('2.0', 'team/app:2.0'))), ('team/tool', (('1', 'team/tool:1'),)), ('bundle', (('latest', 'latest'),))]
    (warning,) = spec.warnings
    assert warning.startswith('src: 1 image(s) of OCI layout "%s" have no ref name (org.opencontainers.image.ref.name) and are skipped: sha256:'
                              % bundle)
    app = spec.entries[0]
    assert engine.source_for(app, '2.0') == 'oci:%s:team/app:2.0' % bundle
    assert engine.destination_for(app, '2.0', 'far.example/mirror', 'docker') == 'docker://far.example/mirror/app:2.0'
    assert engine.destination_for(app, '2.0', 'far.example/mirror', 'docker', scoped=True) == 'docker://far.example/mirror/team/app:2.0'
    assert engine.destination_for(app, '2.0', 'far.example/m', 'docker', True, '-air') == 'docker://far.example/m/team/app:2.0-air'
    assert engine.destination_for(spec.entries[2], 'latest', '/l', 'oci', scoped=True) == 'oci:/l:bundle:latest'
    filtered = parse_layout_source(str(bundle), 'oci', tag_regex=r'^2\.', platforms=['linux/amd64'])
    assert [engine.select_layout_references(entry) for entry in filtered.entries] == [['2.0'], [], []]
    assert filtered.entries[0].platforms == ('linux/amd64',)


@pytest.mark.parametrize('src, src_type, message', [
    ('/nonexistent/bundle', 'oci', 'src: OCI layout "/nonexistent/bundle" does not exist'),
    ('/tmp/a:b', 'oci-archive', 'src: the oci-archive path "/tmp/a:b" contains ":", which would end the path'),
    ('/tmp', 'docker', 'invalid src_type "docker" for a layout source: expected oci or oci-archive'),
])
def test_layout_source_refusals(src, src_type, message):
    with pytest.raises(InvalidInputError) as caught:
        parse_layout_source(src, src_type)
    assert caught.value.message == message


def test_layout_without_named_images_is_refused(tmp_path):
    write_dir_image(tmp_path / 'src', layer=b'x')
    put('dir:%s' % (tmp_path / 'src'), 'oci:%s' % (tmp_path / 'layout'))
    with pytest.raises(InvalidInputError) as caught:
        parse_layout_source(str(tmp_path / 'layout'), 'oci')
    assert caught.value.message == 'src: no named images to sync in OCI layout "%s"' % (tmp_path / 'layout')


def test_layout_to_archive_to_layout_round_trips_names(tmp_path, bundle):
    archive = tmp_path / 'air.tar'
    out = engine.run_sync(parse_layout_source(str(bundle), 'oci'), engine.SyncOptions(dest=str(archive), dest_type='oci-archive', scoped=True),
                          OPTIONS, OPTIONS)
    assert not out.failed and out.summary()['copied'] == 4
    far = tmp_path / 'far'
    spec = parse_layout_source(str(archive), 'oci-archive')
    back = engine.run_sync(spec, engine.SyncOptions(dest=str(far), dest_type='oci', scoped=True), OPTIONS, OPTIONS)
    assert not back.failed and back.summary()['copied'] == 4
    # Named as in the bundle; the tag alone belongs to the first bundle's base name from the first hop on.
    assert names_in(far) == ['bundle:latest', 'team/app:1.0', 'team/app:2.0', 'team/tool:1']
    assert 'oci-archive:%s:team/app:1.0' % archive in [item['src'] for item in back.images]
    for name in ('team/app:1.0', 'team/tool:1'):
        digest = json.loads((bundle / 'index.json').read_text())
        wanted = [m['digest'] for m in digest['manifests'] if m.get('annotations', {}).get('org.opencontainers.image.ref.name') == name]
        assert [item['digest'] for item in back.images if item['dest'].endswith(':' + name)] == wanted
    again = engine.run_sync(spec, engine.SyncOptions(dest=str(far), dest_type='oci', scoped=True), OPTIONS, OPTIONS)
    assert not again.changed and again.summary()['skipped'] == 4


def test_check_mode_bytes_are_what_the_run_copies(tmp_path, bundle):
    spec = parse_layout_source(str(bundle), 'oci')
    options = engine.SyncOptions(dest=str(tmp_path / 'mirror'), dest_type='oci', concurrency=1)
    predicted = engine.run_sync(spec, options, OPTIONS, OPTIONS, check_mode=True)
    assert not (tmp_path / 'mirror').exists()
    done = engine.run_sync(spec, options, OPTIONS, OPTIONS)
    assert predicted.summary()['bytes_copied'] == done.summary()['bytes_copied'] > 0
    assert [item['bytes'] for item in predicted.images] == [item['bytes'] for item in done.images]
    # One more image in the bundle sharing everything but one blob with team/app:1.0 (its config): only that blob counts.
    put('oci:%s:team/app:1.0' % bundle, 'oci:%s:team/app:1.0' % (tmp_path / 'scratch'))
    assert engine.run_sync(spec, options, OPTIONS, OPTIONS, check_mode=True).summary()['bytes_copied'] == 0
    write_dir_image(tmp_path / 'src' / 'new', layer=b'layer 0')
    put('dir:%s' % (tmp_path / 'src' / 'new'), 'oci:%s:team/app:3.0' % bundle)
    spec = parse_layout_source(str(bundle), 'oci')
    predicted = engine.run_sync(spec, options, OPTIONS, OPTIONS, check_mode=True)
    done = engine.run_sync(spec, options, OPTIONS, OPTIONS)
    assert [(item['dest'], item['bytes']) for item in predicted.images if item['action'] == 'copied'] == [
        (item['dest'], item['bytes']) for item in done.images if item['action'] == 'copied']
    assert predicted.summary()['bytes_copied'] == done.summary()['bytes_copied']


def test_prune_in_a_layout_with_check_mode_first(tmp_path, bundle):
    mirror = tmp_path / 'mirror'
    options = engine.SyncOptions(dest=str(mirror), dest_type='oci', prune=True)
    assert not engine.run_sync(parse_layout_source(str(bundle), 'oci', tag_regex=r'^\d'), options, OPTIONS, OPTIONS).failed
    # A name outside the filter (keep-me) and one of another repository (other:2.0) are never touched.
    put('oci:%s:app:1.0' % mirror, 'oci:%s:app:keep-me' % mirror)
    put('oci:%s:app:1.0' % mirror, 'oci:%s:other:2.0' % mirror)
    delete_image(parse_image_name('oci:%s:team/app:2.0' % bundle), OPTIONS)
    spec = parse_layout_source(str(bundle), 'oci', tag_regex=r'^\d')
    before = snapshot(mirror)
    predicted = engine.run_sync(spec, options, OPTIONS, OPTIONS, check_mode=True)
    assert [(item['dest'], item['action']) for item in predicted.images if item['action'] != 'skipped'] == [
        ('oci:%s:app:2.0' % mirror, 'pruned')]
    assert predicted.changed and snapshot(mirror) == before
    done = engine.run_sync(spec, options, OPTIONS, OPTIONS)
    assert [item['dest'] for item in done.images if item['action'] == 'pruned'] == ['oci:%s:app:2.0' % mirror]
    assert names_in(mirror) == ['app:1.0', 'app:keep-me', 'other:2.0', 'tool:1']
    # Its blobs went with it (nothing else reached them).
    assert len(list((mirror / 'blobs' / 'sha256').iterdir())) < len(before) - 3
    assert not engine.run_sync(spec, options, OPTIONS, OPTIONS).changed


def test_prune_in_an_archive_before_it_is_rewritten(tmp_path, bundle):
    archive = tmp_path / 'air.tar'
    options = engine.SyncOptions(dest=str(archive), dest_type='oci-archive', prune=True)
    assert engine.run_sync(parse_layout_source(str(bundle), 'oci'), options, OPTIONS, OPTIONS).summary()['copied'] == 4
    delete_image(parse_image_name('oci:%s:team/app:1.0' % bundle), OPTIONS)
    # A repository the bundle no longer names at all is no synced repository: its names stay.
    delete_image(parse_image_name('oci:%s:team/tool:1' % bundle), OPTIONS)
    content = archive.read_bytes()
    predicted = engine.run_sync(parse_layout_source(str(bundle), 'oci'), options, OPTIONS, OPTIONS, check_mode=True)
    assert [(item['dest'], item['action']) for item in predicted.images if item['action'] != 'skipped'] == [
        ('oci-archive:%s:app:1.0' % archive, 'pruned')]
    assert archive.read_bytes() == content
    done = engine.run_sync(parse_layout_source(str(bundle), 'oci'), options, OPTIONS, OPTIONS)
    assert done.changed and [item['dest'] for item in done.images if item['action'] == 'pruned'] == ['oci-archive:%s:app:1.0' % archive]
    with tarfile.open(archive) as opened:
        index = json.loads(opened.extractfile('index.json').read())
    assert sorted(m['annotations']['org.opencontainers.image.ref.name'] for m in index['manifests']) == ['app:2.0', 'bundle:latest', 'tool:1']


def test_prune_refused_for_dir_destinations(tmp_path, bundle):
    with pytest.raises(InvalidInputError) as caught:
        engine.run_sync(parse_layout_source(str(bundle), 'oci'), engine.SyncOptions(dest=str(tmp_path / 'd'), dest_type='dir', prune=True),
                        OPTIONS, OPTIONS)
    assert caught.value.message == 'prune is supported for registry, oci and oci-archive destinations, not dir'


def test_an_archive_source_is_opened_once_for_all_its_images(tmp_path, bundle, monkeypatch):
    archive = tmp_path / 'air.tar'
    assert not engine.run_sync(parse_layout_source(str(bundle), 'oci'), engine.SyncOptions(dest=str(archive), dest_type='oci-archive'),
                               OPTIONS, OPTIONS).failed
    opened = []

    class Counting(sources.OCIArchive):
        def __init__(self, path):
            opened.append(path)
            super().__init__(path)

    monkeypatch.setattr(sources, 'OCIArchive', Counting)
    # As the module does: the names are listed and every image copied through one opening.
    with sources.SourceBundles() as archives:
        spec = parse_layout_source(str(archive), 'oci-archive', read_index=archives.index)
        out = engine.run_sync(spec, engine.SyncOptions(dest=str(tmp_path / 'far'), dest_type='oci'), OPTIONS, OPTIONS, sources=archives)
    assert not out.failed and out.summary()['copied'] == 4
    assert opened == [str(archive)]
    # Into another archive: the existing one carried into the staging layout is opened once too.
    again = engine.run_sync(parse_layout_source(str(archive), 'oci-archive'), engine.SyncOptions(dest=str(archive), dest_type='oci-archive'),
                            OPTIONS, OPTIONS)
    assert not again.failed and not again.changed and again.summary()['skipped'] == 4
    assert opened == [str(archive)] * 2


def test_check_mode_counts_a_recompressed_layer_at_its_source_size(tmp_path):
    # A dir image with an uncompressed layer: a layout wants it compressed, so its size there is known only after the run.
    layer = b'uncompressed layer ' * 500
    write_dir_image(tmp_path / 'tree' / 'app', layer=layer)
    config = [p for p in (tmp_path / 'tree' / 'app').iterdir() if len(p.name) == 64 and p.read_bytes() != layer]
    spec = parse_dir_source(str(tmp_path / 'tree'))
    options = engine.SyncOptions(dest=str(tmp_path / 'layout'), dest_type='oci')
    predicted = engine.run_sync(spec, options, OPTIONS, OPTIONS, check_mode=True)
    assert [item['bytes'] for item in predicted.images] == [len(layer) + config[0].stat().st_size]
    done = engine.run_sync(spec, options, OPTIONS, OPTIONS)
    assert done.summary()['copied'] == 1 and 0 < done.summary()['bytes_copied'] < predicted.summary()['bytes_copied']
