# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Attachment tags (``sha256-<hex>.sig``, ``.att``, ``.sbom``, the referrers tag schema) in a sync's tag lists: left out by default,
counted, said when their content does not travel, copied as tags on request, never pruned."""

from __future__ import annotations

import json

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.sync import engine
from ansible_collections.ocikit.images.plugins.module_utils.sync.spec import (
    attachment_kind,
    parse_docker_source,
    parse_layout_source,
    parse_mapping,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.copy.test_signing import write_dir_image

OPTIONS = ConnectionOptions()
HEX = 'ab' * 32
SIG, ATT, SBOM, REFERRERS = 'sha256-%s.sig' % HEX, 'sha256-%s.att' % HEX, 'sha256-%s.sbom' % HEX, 'sha256-%s' % HEX
REPOSITORY = 'registry.example.com/team/app'


@pytest.mark.parametrize('tag, kind', [
    (SIG, 'sig'), (ATT, 'att'), (SBOM, 'sbom'), (REFERRERS, 'referrers'),
    ('sha384-%s.sig' % ('c' * 96), 'sig'),
    # The referrers tag schema truncates the hex to 64 characters whatever the algorithm.
    ('sha512-%s' % ('d' * 64), 'referrers'),
    ('latest', None), ('1.0', None), ('sha256-%s.sig' % HEX[:-1], None), ('sha256-%s.SIG' % HEX, None), ('sha256-%s.pem' % HEX, None),
    ('sha256-%s.sig' % HEX.upper(), None), ('md5-%s.sig' % HEX, None), ('sha-%s' % HEX[:7], None), ('sha384-%s.sig' % HEX, None),
])
def test_attachment_kind(tag, kind):
    assert attachment_kind(tag) == kind


def plan(monkeypatch, tags, spec=None, registries_d=None, **options):
    """plan_jobs over a source repository whose tag list is ``tags`` (no registry asked)."""
    monkeypatch.setattr(engine, '_list_source_tags', lambda entry, connection: list(tags))
    result = engine.SyncResult()
    sync_options = engine.SyncOptions(dest='mirror.example.com/m', dest_type='docker', **options)
    src_options = ConnectionOptions(registries_d=str(registries_d)) if registries_d else OPTIONS
    jobs, listed = engine.plan_jobs(spec or parse_docker_source(REPOSITORY), sync_options, src_options, OPTIONS, result)
    return [job.tag for job in jobs], listed, result


@pytest.fixture
def registries_d(tmp_path):
    """A registries.d that reads sigstore attachments of registry.example.com (and lookaside in a temporary directory)."""
    directory = tmp_path / 'registries.d'
    directory.mkdir()
    (directory / 'example.yaml').write_text('docker:\n  registry.example.com:\n    lookaside: file://%s\n    use-sigstore-attachments: true\n'
                                            % (tmp_path / 'lookaside'))
    return directory


def test_left_out_by_default_and_counted(monkeypatch, registries_d):
    tags, listed, result = plan(monkeypatch, ['1.0', SIG, '2.0', ATT, SBOM, REFERRERS], registries_d=registries_d)
    assert tags == ['1.0', '2.0'] and listed == {0: ['1.0', '2.0']}
    assert result.attachment_tags_skipped == 4 and result.summary()['attachment_tags_skipped'] == 4
    # The .sig signatures travel with their images (attachments are read there); the rest does not, and is said.
    assert result.warnings == ['docker://%s: 3 attachment tag(s) left out (attachment_tags: skip) whose content does not travel with the '
                               'images (1 .att, 1 .sbom, 1 referrers index); attachment_tags: copy copies them as tags' % REPOSITORY]


def test_a_sig_tag_whose_signatures_are_not_read_is_said(monkeypatch, tmp_path):
    empty = tmp_path / 'registries.d'
    empty.mkdir()
    tags, dummy, result = plan(monkeypatch, ['1.0', SIG], registries_d=empty)
    assert tags == ['1.0'] and result.attachment_tags_skipped == 1
    assert result.warnings == ['docker://%s: 1 attachment tag(s) left out (attachment_tags: skip) whose content does not travel with the '
                               'images (1 .sig); registries.d does not set use-sigstore-attachments for %s, so .sig signatures are not read; '
                               'attachment_tags: copy copies them as tags' % (REPOSITORY, REPOSITORY)]
    # Signatures removed on purpose: nothing to say.
    dummy, dummy, removing = plan(monkeypatch, ['1.0', SIG], registries_d=empty, copy=CopyOptions(remove_signatures=True))
    assert removing.attachment_tags_skipped == 1 and removing.warnings == []


def test_filters_first_then_attachments(monkeypatch, registries_d):
    # A semver filter never selects an attachment tag: nothing is counted as left out by this rule.
    tags, dummy, result = plan(monkeypatch, ['1.0.0', SIG, 'latest'], spec=parse_docker_source(REPOSITORY, semver='>= 1'),
                               registries_d=registries_d)
    assert tags == ['1.0.0'] and result.attachment_tags_skipped == 0
    # A regex that selects them: left out all the same, and counted.
    tags, dummy, result = plan(monkeypatch, ['1.0.0', SIG], spec=parse_docker_source(REPOSITORY, tag_regex=r'\.sig$'), registries_d=registries_d)
    assert tags == [] and result.attachment_tags_skipped == 1


def test_copy_syncs_them_as_tags_as_skopeo_does(monkeypatch):
    tags, listed, result = plan(monkeypatch, ['1.0', SIG, ATT], attachment_tags='copy')
    assert tags == ['1.0', SIG, ATT] and listed == {0: ['1.0', SIG, ATT]}
    assert result.attachment_tags_skipped == 0 and result.warnings == []


def test_a_tag_given_exactly_is_always_synced(monkeypatch):
    for spec in (parse_docker_source('%s:%s' % (REPOSITORY, SIG)), parse_mapping([{'src': REPOSITORY, 'tags': ['1.0', SIG]}])):
        tags, listed, result = plan(monkeypatch, [], spec=spec)
        assert SIG in tags and listed == {} and result.attachment_tags_skipped == 0


def test_an_unknown_choice_is_refused():
    with pytest.raises(InvalidInputError, match='^attachment_tags must be one of skip, copy, not "keep"$'):
        engine.run_sync(parse_docker_source(REPOSITORY), engine.SyncOptions(dest='m.example.com/m', dest_type='docker', attachment_tags='keep'),
                        OPTIONS, OPTIONS)


def names_in(layout) -> list[str]:
    index = json.loads((layout / 'index.json').read_text())
    return sorted(m['annotations']['org.opencontainers.image.ref.name'] for m in index['manifests'])


def test_layout_source_and_prune_never_delete_an_attachment_tag(tmp_path):
    bundle, mirror = tmp_path / 'bundle', tmp_path / 'mirror'
    write_dir_image(tmp_path / 'src', layer=b'app layer')
    for name in ('app:1.0', 'app:' + SIG):
        copy_image(parse_image_name('dir:%s' % (tmp_path / 'src')), parse_image_name('oci:%s:%s' % (bundle, name)), OPTIONS, OPTIONS, CopyOptions())
    out = engine.run_sync(parse_layout_source(str(bundle), 'oci'), engine.SyncOptions(dest=str(mirror), dest_type='oci', prune=True),
                          OPTIONS, OPTIONS)
    assert [item['dest'] for item in out.images] == ['oci:%s:app:1.0' % mirror] and out.summary()['attachment_tags_skipped'] == 1
    assert out.warnings == ['src "%s": "app": 1 attachment tag(s) left out (attachment_tags: skip) whose content does not travel with the images '
                            '(1 .sig); attachment_tags: copy copies them as tags' % bundle]
    assert names_in(mirror) == ['app:1.0']
    copied = engine.run_sync(parse_layout_source(str(bundle), 'oci'),
                             engine.SyncOptions(dest=str(mirror), dest_type='oci', prune=True, attachment_tags='copy'), OPTIONS, OPTIONS)
    assert [item['action'] for item in copied.images] == ['skipped', 'copied'] and names_in(mirror) == ['app:1.0', 'app:' + SIG]
    # The source loses its attachment tag (and more): prune deletes app:2.0 but never the attachment tag, in either mode.
    copy_image(parse_image_name('oci:%s:app:1.0' % mirror), parse_image_name('oci:%s:app:2.0' % mirror), OPTIONS, OPTIONS, CopyOptions())
    for mode in ('copy', 'skip'):
        bundle_only = tmp_path / ('bundle-' + mode)
        copy_image(parse_image_name('oci:%s:app:1.0' % bundle), parse_image_name('oci:%s:app:1.0' % bundle_only), OPTIONS, OPTIONS, CopyOptions())
        pruned = engine.run_sync(parse_layout_source(str(bundle_only), 'oci'),
                                 engine.SyncOptions(dest=str(mirror), dest_type='oci', prune=True, attachment_tags=mode), OPTIONS, OPTIONS)
        assert not pruned.failed and names_in(mirror) == ['app:1.0', 'app:' + SIG]
    assert [item['dest'] for item in pruned.images if item['action'] == 'pruned'] == []
