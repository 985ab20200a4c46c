# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""DockerImageDestination signatures: simple signatures go to the registries.d write lookaside at commit."""

from __future__ import annotations

import dataclasses
import types
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import _signatures_for
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, UnsupportedOperationError
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.destination import DockerImageDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerTransport
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import FakeRegistry, make_client

httpx = pytest.importorskip('httpx')

OCI = 'application/vnd.oci.image.manifest.v1+json'
RAW = b'{"schemaVersion": 2, "mediaType": "%s", "layers": []}' % OCI.encode()
DIGEST = Digest.from_bytes(RAW)
SIMPLE = [b'\x89first', b'\xa3second']
SIGSTORE = b'\x00sigstore-json\n{}'


def registries_d(tmp_path: t.Any, entries: str) -> str:
    directory = tmp_path / 'registries.d'
    directory.mkdir()
    (directory / 'test.yaml').write_text('docker:\n  registry.test/team:\n%s' % entries)
    return str(directory)


def open_dest(fake: t.Any, registries: str, name: str = 'registry.test/team/app:latest') -> DockerImageDestination:
    reference = DockerTransport().parse_reference('//' + name)
    client = make_client(fake)
    client.options.registries_d = registries
    return t.cast(DockerImageDestination, reference.new_destination(client.options, client=client))


def sig_dir(store: t.Any, digest: Digest = DIGEST) -> t.Any:
    return store / ('team/app@sha256=%s' % digest.hex)


def test_signatures_written_at_commit_after_the_manifest(fake: FakeRegistry, tmp_path: t.Any) -> None:
    store = tmp_path / 'sigstore'
    dest = open_dest(fake, registries_d(tmp_path, '    lookaside: file://%s\n' % store))
    try:
        assert dest.supports_signatures
        assert dest.get_signatures() == []  # the tag names nothing yet
        dest.put_manifest(RAW, OCI)
        dest.put_signatures(SIMPLE)
        # Recorded only: nothing is in the lookaside before commit.
        assert not store.exists()
        dest.commit()
        assert (sig_dir(store) / 'signature-1').read_bytes() == SIMPLE[0]
        assert (sig_dir(store) / 'signature-2').read_bytes() == SIMPLE[1]
        assert not (sig_dir(store) / 'signature-3').exists()
        # Read back by the digest the tag names now: what the copy engine compares for idempotence.
        assert dest.get_signatures() == SIMPLE
    finally:
        dest.close()
        dest.client.close()


def test_staging_is_the_write_base_and_http_lookaside_alone_cannot_be_written(fake: FakeRegistry, tmp_path: t.Any) -> None:
    staging = tmp_path / 'staging'
    dest = open_dest(fake, registries_d(tmp_path, '    lookaside: http://127.0.0.1:9/sigs\n    lookaside-staging: file://%s\n' % staging))
    try:
        assert dest.supports_signatures
        dest.put_manifest(RAW, OCI)
        dest.put_signatures(SIMPLE[:1])
        dest.commit()
        assert (sig_dir(staging) / 'signature-1').read_bytes() == SIMPLE[0]
    finally:
        dest.close()
        dest.client.close()
    other = tmp_path / 'other'
    other.mkdir()
    dest = open_dest(fake, registries_d(other, '    lookaside: http://127.0.0.1:9/sigs\n'))
    try:
        assert not dest.supports_signatures
        assert dest.get_signatures() == []
        with pytest.raises(UnsupportedOperationError, match=r'registry\.test/team/app cannot store simple signing signatures in the http lookaside http://127'):
            dest.put_signatures(SIMPLE)
    finally:
        dest.close()
        dest.client.close()


def test_sigstore_signatures_refused(fake: FakeRegistry, tmp_path: t.Any) -> None:
    store = tmp_path / 'sigstore'
    dest = open_dest(fake, registries_d(tmp_path, '    lookaside: file://%s\n' % store))
    try:
        assert dest.unstorable_signatures(SIMPLE) is None
        message = ('the registry destination registry.test/team/app cannot store sigstore signatures: writing sigstore attachments is '
                   'disabled by configuration (set use-sigstore-attachments: true for it in registries.d)')
        assert dest.unstorable_signatures([SIMPLE[0], SIGSTORE]) == message
        with pytest.raises(UnsupportedOperationError, match='writing sigstore attachments is disabled by configuration'):
            dest.put_signatures([SIGSTORE])
        dest.put_manifest(RAW, OCI)
        dest.commit()
        assert not store.exists()
    finally:
        dest.close()
        dest.client.close()


def test_empty_list_removes_the_digests_signatures_without_creating_directories(fake: FakeRegistry, tmp_path: t.Any) -> None:
    store = tmp_path / 'sigstore'
    dest = open_dest(fake, registries_d(tmp_path, '    lookaside: file://%s\n' % store))
    try:
        dest.put_manifest(RAW, OCI)
        dest.put_signatures([])
        dest.commit()
        assert not store.exists()
        dest.put_manifest(RAW, OCI)
        dest.put_signatures(SIMPLE)
        dest.commit()
        dest.put_manifest(RAW, OCI)
        dest.put_signatures([])
        dest.commit()
        assert sorted(p.name for p in sig_dir(store).iterdir()) == []
        assert dest.get_signatures() == []
    finally:
        dest.close()
        dest.client.close()


@dataclasses.dataclass
class _Plan:
    """The fields of CopyPlan that _signatures_for reads."""

    up_to_date: bool
    reason: str = ''
    manifest: t.Any = dataclasses.field(default_factory=lambda: types.SimpleNamespace(digest=DIGEST))
    source_digest: Digest = DIGEST
    # A single image or an index copied whole: not one image chosen out of an index (whose own signatures travel).
    platform: str | None = None
    index_type: str | None = None
    images: tuple[t.Any, ...] = ()


def _plan(up_to_date: bool) -> t.Any:
    return _Plan(up_to_date)


class _Source:
    def __init__(self, signatures: list[bytes]) -> None:
        self.signatures = signatures

    def get_signatures(self) -> list[bytes]:
        return list(self.signatures)


def test_engine_refuses_sigstore_and_http_before_writing_and_is_idempotent(fake: FakeRegistry, tmp_path: t.Any) -> None:
    store = tmp_path / 'sigstore'
    dest = open_dest(fake, registries_d(tmp_path, '    lookaside: file://%s\n' % store))
    try:
        with pytest.raises(InvalidInputError) as caught:
            _signatures_for(t.cast(t.Any, _Source([SIGSTORE])), dest, _plan(False), CopyOptions())
        assert str(caught.value) == ('the source has 1 signature and the registry destination registry.test/team/app cannot store sigstore '
                                     'signatures: writing sigstore attachments is disabled by configuration (set use-sigstore-attachments: '
                                     'true for it in registries.d); set remove_signatures: true to copy without them')
        # The destination holds the image but not its signatures: not up to date; once written, up to date.
        fake.add_manifest('team/app', RAW, OCI, tag='latest')
        outcome = _signatures_for(t.cast(t.Any, _Source(SIMPLE)), dest, _plan(True), CopyOptions())
        assert outcome.signatures == SIMPLE and not outcome.plan.up_to_date
        dest.put_manifest(RAW, OCI)
        dest.put_signatures(SIMPLE)
        dest.commit()
        outcome = _signatures_for(t.cast(t.Any, _Source(SIMPLE)), dest, _plan(True), CopyOptions())
        assert outcome.signatures == SIMPLE and outcome.plan.up_to_date
    finally:
        dest.close()
        dest.client.close()
    other = tmp_path / 'other'
    other.mkdir()
    dest = open_dest(fake, registries_d(other, '    lookaside: https://127.0.0.1:9/sigs\n'))
    try:
        with pytest.raises(InvalidInputError, match='^the source has 2 signatures and the destination cannot store signatures; '):
            _signatures_for(t.cast(t.Any, _Source(SIMPLE)), dest, _plan(False), CopyOptions())
    finally:
        dest.close()
        dest.client.close()


def test_the_digest_the_name_holds_is_asked_once_until_a_manifest_is_written(fake: FakeRegistry, tmp_path: t.Any) -> None:
    """An up-to-date signed copy asks what the name holds for its plan, its signatures and their comparison: one HEAD, not three."""
    dest = open_dest(fake, registries_d(tmp_path, '    lookaside: file://%s\n' % (tmp_path / 'sigstore')))
    try:
        fake.add_manifest('team/app', RAW, OCI, tag='latest')

        def heads() -> int:
            return sum(1 for request in fake.requests if request.method == 'HEAD' and '/manifests/' in request.url.path)

        assert dest.get_manifest_digest() == DIGEST
        dest.get_signatures()
        dest.signatures_up_to_date(SIMPLE)
        assert heads() == 1
        dest.put_manifest(RAW, OCI)
        assert dest.get_manifest_digest() == DIGEST and heads() == 2
    finally:
        dest.close()
        dest.client.close()
