# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""image_sync's engine offline: dir sources into one OCI layout and one OCI archive, real transports, files checked on disk."""

from __future__ import annotations

import json
import tarfile

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.sync import engine
from ansible_collections.ocikit.images.plugins.module_utils.sync.spec import Credentials, RegistryOptions, SyncEntry, parse_dir_source
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.copy.test_signing import snapshot, write_dir_image

OPTIONS = ConnectionOptions()


@pytest.fixture
def tree(tmp_path):
    """Two dir: images, as a sync to dir writes them (tree/team/app, tree/team/tool)."""
    write_dir_image(tmp_path / 'tree' / 'team' / 'app', layer=b'app layer')
    write_dir_image(tmp_path / 'tree' / 'team' / 'tool', layer=b'tool layer')
    return tmp_path / 'tree'


def names_in(layout):
    index = json.loads((layout / 'index.json').read_text())
    return sorted(m['annotations']['org.opencontainers.image.ref.name'] for m in index['manifests'])


def test_dir_tree_into_one_layout_then_nothing_to_do(tmp_path, tree):
    spec = parse_dir_source(str(tree))
    options = engine.SyncOptions(dest=str(tmp_path / 'layout'), dest_type='oci', scoped=True, progress_file=str(tmp_path / 'progress'))
    first = engine.run_sync(spec, options, OPTIONS, OPTIONS)
    assert first.changed and first.summary()['copied'] == 2 and not first.failed
    assert names_in(tmp_path / 'layout') == ['team/app', 'team/tool']
    assert len((tmp_path / 'progress').read_text().splitlines()) == 2
    assert engine.write_digestfile(str(tmp_path / 'digests'), first.images)
    assert not engine.write_digestfile(str(tmp_path / 'digests'), first.images)
    assert sorted(line.split(' ', 1)[1] for line in (tmp_path / 'digests').read_text().splitlines()) == [
        'oci:%s:team/app' % (tmp_path / 'layout'), 'oci:%s:team/tool' % (tmp_path / 'layout')]
    before = snapshot(tmp_path / 'layout')
    second = engine.run_sync(spec, options, OPTIONS, OPTIONS)
    assert not second.changed and second.summary()['skipped'] == 2
    assert snapshot(tmp_path / 'layout') == before
    predicted = engine.run_sync(parse_dir_source(str(tree)), engine.SyncOptions(dest=str(tmp_path / 'other'), dest_type='oci'),
                                OPTIONS, OPTIONS, check_mode=True)
    assert predicted.changed and predicted.summary()['copied'] == 2 and not (tmp_path / 'other').exists()


def test_one_archive_replaced_only_when_something_changed_and_nothing_failed(tmp_path, tree):
    archive = tmp_path / 'bundle.tar'
    options = engine.SyncOptions(dest=str(archive), dest_type='oci-archive')
    assert engine.run_sync(parse_dir_source(str(tree)), options, OPTIONS, OPTIONS).summary()['copied'] == 2
    with tarfile.open(archive) as opened:
        assert 'index.json' in opened.getnames()
    stamp = archive.stat()
    again = engine.run_sync(parse_dir_source(str(tree)), options, OPTIONS, OPTIONS)
    assert not again.changed and (archive.stat().st_ino, archive.stat().st_mtime_ns) == (stamp.st_ino, stamp.st_mtime_ns)
    # A new image and a broken one: with keep_going the good one is copied into the staging layout, but the archive stays as it was.
    write_dir_image(tree / 'team' / 'new', layer=b'new layer')
    write_dir_image(tree / 'team' / 'broken', layer=b'broken layer')
    for blob in (tree / 'team' / 'broken').iterdir():
        if len(blob.name) == 64 and blob.read_bytes() == b'broken layer':
            blob.unlink()
    content = archive.read_bytes()
    failed = engine.run_sync(parse_dir_source(str(tree)), engine.SyncOptions(dest=str(archive), dest_type='oci-archive', keep_going=True),
                             OPTIONS, OPTIONS)
    assert [item['action'] for item in failed.images if item['action'] != 'skipped'] == ['failed', 'copied']
    assert archive.read_bytes() == content
    assert any(warning.startswith('the oci-archive %s was not replaced: 1 image(s) failed' % archive) for warning in failed.warnings)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(engine.STAGING_PREFIX)]


def test_without_keep_going_the_first_failure_stops_the_rest(tmp_path, tree):
    (tree / 'team' / 'app' / 'manifest.json').write_text('{"schemaVersion": 2')
    result = engine.run_sync(parse_dir_source(str(tree)), engine.SyncOptions(dest=str(tmp_path / 'layout'), dest_type='oci', concurrency=1),
                             OPTIONS, OPTIONS)
    assert [item['action'] for item in result.images] == ['failed']
    assert result.failed[0]['src'] == 'dir:%s' % (tree / 'team' / 'app')


def test_refusals(tmp_path, tree):
    spec = parse_dir_source(str(tree))
    with pytest.raises(InvalidInputError, match='^prune is supported for registry, oci and oci-archive destinations, not dir$'):
        engine.run_sync(spec, engine.SyncOptions(dest=str(tmp_path / 'a'), dest_type='dir', prune=True), OPTIONS, OPTIONS)
    with pytest.raises(InvalidInputError, match='^concurrency must be at least 1$'):
        engine.run_sync(spec, engine.SyncOptions(dest=str(tmp_path / 'l'), dest_type='oci', concurrency=0), OPTIONS, OPTIONS)


def test_yaml_credentials_and_tls_override_the_module_options():
    base = ConnectionOptions(username='module', password='module-pass', tls_verify=True)
    entry = SyncEntry(origin='x', registry=RegistryOptions(credentials=Credentials('john', 'secret'), tls_verify=False, cert_dir='/certs'))
    options = engine.entry_options(entry, base)
    assert (options.username, options.password, options.tls_verify, options.cert_dir) == ('john', 'secret', False, '/certs')
    assert engine.entry_options(SyncEntry(origin='y'), base) is base
    token = engine.entry_options(SyncEntry(origin='z', registry=RegistryOptions(credentials=Credentials(identity_token='refresh'))), base)
    assert (token.username, token.password) == ('<token>', 'refresh')
