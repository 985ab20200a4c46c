# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Deleting a registry image deletes its lookaside signatures, as containers/image deleteImage does; attachments stay."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import PolicyError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.test_delete import (
    MANIFEST_B,
    Deletes,
    deletes,
    run_delete,
    setup_repo,
    tags_of,
)
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import FakeRegistry, sha256

httpx = pytest.importorskip('httpx')


@pytest.fixture(name='fake')
def fake_fixture() -> FakeRegistry:
    """An anonymous fake registry."""
    return FakeRegistry()


def registries_d(tmp_path: t.Any, entries: str) -> str:
    directory = tmp_path / 'registries.d'
    directory.mkdir()
    (directory / 'test.yaml').write_text('docker:\n  registry.test/app:\n%s' % entries)
    return str(directory)


def signed(store: t.Any, digest: str, count: int) -> t.Any:
    """``count`` signatures of ``digest`` of registry.test/app in the file lookaside ``store``; its directory."""
    directory = store / ('app@sha256=%s' % digest.split(':', 1)[1])
    directory.mkdir(parents=True)
    for number in range(1, count + 1):
        (directory / ('signature-%d' % number)).write_bytes(b'\xa3sig-%d' % number)
    return directory


def names(directory: t.Any) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_digest_delete_removes_its_lookaside_signatures_only(fake: FakeRegistry, tmp_path: t.Any) -> None:
    digest = setup_repo(fake, shared=('v1',))
    Deletes(fake, 'oci11')
    store = tmp_path / 'sigs'
    mine = signed(store, digest, 2)
    (mine / 'signature-4').write_bytes(b'\xa3after a gap')  # c/image stops at the first missing one
    theirs = signed(store, sha256(MANIFEST_B), 1)
    result = run_delete(fake, 'app:v1', registries_d=registries_d(tmp_path, '    lookaside: file://%s\n' % store))
    assert result['changed'] and result['deleted_tags'] == ['v1'] and result['deleted_signatures'] == 2
    assert 'warnings' not in result
    assert deletes(fake) == ['DELETE /v2/app/manifests/%s' % digest]
    assert names(mine) == ['signature-4']
    assert names(theirs) == ['signature-1']


def test_check_mode_counts_and_keeps_them(fake: FakeRegistry, tmp_path: t.Any) -> None:
    digest = setup_repo(fake, shared=('v1',))
    store = tmp_path / 'sigs'
    mine = signed(store, digest, 3)
    result = run_delete(fake, 'app:v1', check_mode=True, registries_d=registries_d(tmp_path, '    lookaside: file://%s\n' % store))
    assert result['changed'] and result['deleted_signatures'] == 3
    assert deletes(fake) == []
    assert names(mine) == ['signature-1', 'signature-2', 'signature-3']


def test_staging_is_where_they_are_deleted_from(fake: FakeRegistry, tmp_path: t.Any) -> None:
    digest = setup_repo(fake, shared=('v1',))
    Deletes(fake, 'oci11')
    staging, published = tmp_path / 'staging', tmp_path / 'published'
    staged = signed(staging, digest, 1)
    kept = signed(published, digest, 1)
    entries = '    lookaside: file://%s\n    lookaside-staging: file://%s\n' % (published, staging)
    result = run_delete(fake, 'app:v1', registries_d=registries_d(tmp_path, entries))
    assert result['deleted_signatures'] == 1
    assert names(staged) == [] and names(kept) == ['signature-1']


def test_a_tag_deleted_alone_keeps_the_signatures(fake: FakeRegistry, tmp_path: t.Any) -> None:
    digest = setup_repo(fake)
    Deletes(fake, 'oci11')
    store = tmp_path / 'sigs'
    mine = signed(store, digest, 1)
    result = run_delete(fake, 'app:v1', registries_d=registries_d(tmp_path, '    lookaside: file://%s\n' % store))
    assert result['deleted_tags'] == ['v1'] and result['deleted_signatures'] == 0
    assert names(mine) == ['signature-1']


def test_a_registry_that_deletes_the_manifest_for_a_tag_takes_the_signatures(fake: FakeRegistry, tmp_path: t.Any) -> None:
    digest = setup_repo(fake)
    Deletes(fake, 'greedy')
    store = tmp_path / 'sigs'
    mine = signed(store, digest, 2)
    result = run_delete(fake, 'app:v1', registries_d=registries_d(tmp_path, '    lookaside: file://%s\n' % store))
    assert result['deleted_tags'] == ['latest', 'stable', 'v1'] and result['deleted_signatures'] == 2
    assert names(mine) == []


def test_http_lookaside_is_left_with_a_warning(fake: FakeRegistry, tmp_path: t.Any) -> None:
    digest = setup_repo(fake, shared=('v1',))
    Deletes(fake, 'oci11')
    result = run_delete(fake, 'app:v1', registries_d=registries_d(tmp_path, '    lookaside: https://127.0.0.1:9/sigs\n'))
    assert result['changed'] and result['deleted_signatures'] == 0
    assert result['warnings'] == ['the signatures of %s in the https lookaside https://127.0.0.1:9/sigs (lookaside of docker scope '
                                  '"registry.test/app" in "%s/registries.d/test.yaml") were not deleted; only a file:// lookaside '
                                  '(lookaside-staging) can be changed' % (digest, tmp_path)]
    assert tags_of(fake) == ['other']


def test_a_broken_registries_d_fails_before_deleting(fake: FakeRegistry, tmp_path: t.Any) -> None:
    setup_repo(fake, shared=('v1',))
    Deletes(fake, 'oci11')
    with pytest.raises(PolicyError, match='not a valid URL|has no scheme'):
        run_delete(fake, 'app:v1', registries_d=registries_d(tmp_path, '    lookaside: no-scheme-here\n'))
    assert deletes(fake) == []
    assert tags_of(fake) == ['other', 'v1']


def test_absent_image_has_no_signature_count(fake: FakeRegistry, tmp_path: t.Any) -> None:
    fake.add_manifest('app', MANIFEST_B, mt.OCI_MANIFEST, tag='other')
    result = run_delete(fake, 'app:v1', registries_d=registries_d(tmp_path, '    lookaside: file://%s\n' % (tmp_path / 'sigs')))
    assert not result['changed'] and 'deleted_signatures' not in result
    assert not (tmp_path / 'sigs').exists()
