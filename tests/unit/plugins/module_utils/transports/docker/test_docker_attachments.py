# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sigstore attachments (``sha256-<hex>.sig``) of registry images: read by sources, appended to by destinations (httpx.MockTransport)."""

from __future__ import annotations

import dataclasses
import json
import types
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import _signatures_for
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    DigestMismatchError,
    ManifestError,
    SignatureError,
    UnsupportedOperationError,
)
from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.destination import DockerImageDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.source import DockerImageSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerTransport
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import FakeRegistry, make_client, sha256

httpx = pytest.importorskip('httpx')

OCI = 'application/vnd.oci.image.manifest.v1+json'
OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
COSIGN = 'application/vnd.dev.cosign.simplesigning.v1+json'
REPO = 'team/app'
RAW = b'{"schemaVersion": 2, "mediaType": "%s", "layers": []}' % OCI.encode()
DIGEST = Digest.from_bytes(RAW)
TAG = 'sha256-%s.sig' % DIGEST.hex
SIMPLE = b'\xa3simple'


def signature(number: int, **annotations: str) -> sigstore.SigstoreSignature:
    payload = b'{"critical":{"identity":{"docker-reference":"registry.test/team/app:latest"},"image":{"docker-manifest-digest":"%s"},' \
              b'"type":"cosign container image signature"},"optional":{"n":%d}}' % (str(DIGEST).encode(), number)
    return sigstore.SigstoreSignature(COSIGN, payload, dict({sigstore.SIGNATURE_ANNOTATION: 'c2lnLSVk%d' % number}, **annotations))


FIRST, SECOND = signature(1), signature(2)


def registries_d(tmp_path: t.Any, attachments: bool = True) -> str:
    directory = tmp_path / 'registries.d'
    directory.mkdir(exist_ok=True)
    (directory / 'test.yaml').write_text('docker:\n  registry.test/team:\n    lookaside: file://%s\n    use-sigstore-attachments: %s\n'
                                         % (tmp_path / 'lookaside', 'true' if attachments else 'false'))
    return str(directory)


def open_source(fake: FakeRegistry, registries: str) -> DockerImageSource:
    client = make_client(fake)
    client.options.registries_d = registries
    return t.cast(DockerImageSource, DockerTransport().parse_reference('//registry.test/team/app:latest').new_source(client.options, client=client))


def open_dest(fake: FakeRegistry, registries: str) -> DockerImageDestination:
    client = make_client(fake)
    client.options.registries_d = registries
    reference = DockerTransport().parse_reference('//registry.test/team/app:latest')
    return t.cast(DockerImageDestination, reference.new_destination(client.options, client=client))


def store_attachment(fake: FakeRegistry, signatures: t.Sequence[sigstore.SigstoreSignature], media_type: str = OCI) -> sigstore.Attachment:
    attachment = sigstore.build_attachment(signatures)
    for data in attachment.layers.values():
        fake.add_blob(REPO, data)
    fake.add_blob(REPO, attachment.config)
    fake.add_manifest(REPO, attachment.manifest, media_type, tag=TAG)
    return attachment


def sig_calls(fake: FakeRegistry) -> list[str]:
    return [call for call in fake.calls() if TAG in call]


# -- reading ----------------------------------------------------------------------------------------------------

def test_source_reads_lookaside_then_every_attachment_layer(fake: FakeRegistry, tmp_path: t.Any) -> None:
    fake.add_manifest(REPO, RAW, OCI, tag='latest')
    attestation = sigstore.SigstoreSignature('application/vnd.dsse.envelope.v1+json', b'{"att":1}', {})
    store_attachment(fake, [FIRST, attestation])
    lookaside = tmp_path / 'lookaside' / ('team/app@sha256=%s' % DIGEST.hex)
    lookaside.mkdir(parents=True)
    (lookaside / 'signature-1').write_bytes(SIMPLE)
    source = open_source(fake, registries_d(tmp_path))
    try:
        # Simple ones first, then the layers in order, non-signature attachments too (as c/image carries them).
        assert source.get_signatures() == [SIMPLE, FIRST.to_blob(), attestation.to_blob()]
        assert sigstore.parse_blob(source.get_signatures()[1]) == FIRST
        assert sig_calls(fake) == ['GET /v2/team/app/manifests/%s' % TAG]  # read once per digest
    finally:
        source.close()
        source.client.close()


def test_source_without_the_setting_does_not_look(fake: FakeRegistry, tmp_path: t.Any) -> None:
    fake.add_manifest(REPO, RAW, OCI, tag='latest')
    store_attachment(fake, [FIRST])
    source = open_source(fake, registries_d(tmp_path, attachments=False))
    try:
        assert source.get_signatures() == []
        assert sig_calls(fake) == []
    finally:
        source.close()
        source.client.close()


@pytest.mark.parametrize('answer', [
    httpx.Response(404),
    httpx.Response(404, json={'errors': [{'code': 'MANIFEST_UNKNOWN', 'message': 'manifest unknown'}]}),
    httpx.Response(404, json={'errors': [{'code': 'NAME_UNKNOWN', 'message': 'repository name not known to registry'}]}),
])
def test_missing_attachment_means_none(fake: FakeRegistry, tmp_path: t.Any, answer: httpx.Response) -> None:
    fake.add_manifest(REPO, RAW, OCI, tag='latest')
    fake.hooks.append(lambda request: answer if TAG in request.url.path else None)
    source = open_source(fake, registries_d(tmp_path))
    try:
        assert source.get_signatures() == []
    finally:
        source.close()
        source.client.close()


def test_wrong_content_type_is_an_error(fake: FakeRegistry, tmp_path: t.Any) -> None:
    fake.add_manifest(REPO, RAW, OCI, tag='latest')
    store_attachment(fake, [FIRST], media_type='application/vnd.docker.distribution.manifest.v2+json')
    source = open_source(fake, registries_d(tmp_path))
    try:
        with pytest.raises(ManifestError) as caught:
            source.get_signatures()
        assert caught.value.message == ('registry.test/team/app:%s: unexpected MIME type for sigstore attachment manifest: '
                                        '"application/vnd.docker.distribution.manifest.v2+json"' % TAG)
    finally:
        source.close()
        source.client.close()


def test_declared_oversize_layer_is_refused_before_reading(fake: FakeRegistry, tmp_path: t.Any) -> None:
    fake.add_manifest(REPO, RAW, OCI, tag='latest')
    layer = {'mediaType': COSIGN, 'digest': 'sha256:' + 'a' * 64, 'size': sigstore.MAX_SIGNATURE_SIZE + 1}
    manifest = json.dumps({'schemaVersion': 2, 'mediaType': OCI, 'config': {'mediaType': OCI_CONFIG, 'digest': 'sha256:' + 'b' * 64, 'size': 2},
                           'layers': [layer]}).encode()
    fake.add_manifest(REPO, manifest, OCI, tag=TAG)
    source = open_source(fake, registries_d(tmp_path))
    try:
        with pytest.raises(ManifestError, match='layer 0 size 4194305 is over the 4194304 byte limit'):
            source.get_signatures()
        assert not [call for call in fake.calls() if '/blobs/' in call]
    finally:
        source.close()
        source.client.close()


def test_oversize_layer_body_is_cut_off(fake: FakeRegistry, tmp_path: t.Any) -> None:
    fake.add_manifest(REPO, RAW, OCI, tag='latest')
    attachment = store_attachment(fake, [FIRST])
    big = b'x' * (sigstore.MAX_SIGNATURE_SIZE + 1)
    layer_digest = next(iter(attachment.layers))
    fake.hooks.append(lambda request: httpx.Response(200, content=big) if request.url.path.endswith(layer_digest) else None)
    source = open_source(fake, registries_d(tmp_path))
    try:
        with pytest.raises(SignatureError, match='reading sigstore attachment layer %s from registry.test/team/app' % layer_digest):
            source.get_signatures()
    finally:
        source.close()
        source.client.close()


def test_layer_digest_mismatch_is_an_error(fake: FakeRegistry, tmp_path: t.Any) -> None:
    fake.add_manifest(REPO, RAW, OCI, tag='latest')
    attachment = store_attachment(fake, [FIRST])
    layer_digest = next(iter(attachment.layers))
    fake.blobs[(REPO, layer_digest)] = FIRST.payload.replace(b'"n":1', b'"n":9')
    source = open_source(fake, registries_d(tmp_path))
    try:
        with pytest.raises(DigestMismatchError) as caught:
            source.get_signatures()
        assert caught.value.message.startswith('sigstore attachment layer %s in registry.test/team/app digest mismatch: expected %s, got sha256:'
                                               % (layer_digest, layer_digest))
    finally:
        source.close()
        source.client.close()


# -- writing ----------------------------------------------------------------------------------------------------

def test_first_signature_creates_the_attachment_as_containers_image_writes_it(fake: FakeRegistry, tmp_path: t.Any) -> None:
    dest = open_dest(fake, registries_d(tmp_path))
    try:
        assert dest.unstorable_signatures([FIRST.to_blob(), SIMPLE]) is None
        dest.put_manifest(RAW, OCI)
        dest.put_signatures([SIMPLE, FIRST.to_blob()])
        assert (REPO, TAG) not in fake.manifests  # written at commit only
        dest.commit()
        raw, media_type = fake.manifests[(REPO, TAG)]
        assert media_type == OCI
        layer_digest = sha256(FIRST.payload)
        config = b'{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":["%s"]}}' % layer_digest.encode()
        assert fake.blobs[(REPO, sha256(config))] == config
        assert fake.blobs[(REPO, layer_digest)] == FIRST.payload
        assert raw == (b'{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%d},'
                       b'"layers":[{"mediaType":"%s","digest":"%s","size":%d,"annotations":{"dev.cosignproject.cosign/signature":"c2lnLSVk1"}}]}'
                       % (OCI.encode(), OCI_CONFIG.encode(), sha256(config).encode(), len(config), COSIGN.encode(), layer_digest.encode(),
                          len(FIRST.payload)))
        # The simple one went to the lookaside, not into the attachment.
        assert (tmp_path / 'lookaside' / ('team/app@sha256=%s' % DIGEST.hex) / 'signature-1').read_bytes() == SIMPLE
        assert dest.get_signatures() == [SIMPLE, FIRST.to_blob()]
    finally:
        dest.close()
        dest.client.close()


def test_append_keeps_old_layers_and_identical_ones_are_not_added_twice(fake: FakeRegistry, tmp_path: t.Any) -> None:
    attestation = sigstore.SigstoreSignature('application/vnd.dsse.envelope.v1+json', b'{"att":1}', {})
    store_attachment(fake, [attestation, FIRST])
    dest = open_dest(fake, registries_d(tmp_path))
    try:
        dest.put_manifest(RAW, OCI)
        # FIRST again with other annotations is another layer (c/image compares annotations too).
        other_first = dataclasses.replace(FIRST, annotations=dict(FIRST.annotations, extra='1'))
        dest.put_signatures([FIRST.to_blob(), SECOND.to_blob(), other_first.to_blob()])
        dest.commit()
        raw = fake.manifests[(REPO, TAG)][0]
        layers = json.loads(raw)['layers']
        assert [(layer['digest'], layer.get('annotations')) for layer in layers] == [
            (sha256(attestation.payload), None), (sha256(FIRST.payload), dict(FIRST.annotations)),
            (sha256(SECOND.payload), dict(SECOND.annotations)), (sha256(FIRST.payload), dict(other_first.annotations))]
        config = fake.blobs[(REPO, json.loads(raw)['config']['digest'])]
        assert json.loads(config)['rootfs'] == {'type': 'layers', 'diff_ids': [layer['digest'] for layer in layers]}
        assert raw == sigstore.build_attachment([attestation, FIRST, SECOND, other_first]).manifest
        # All there: nothing is uploaded and the manifest is not PUT again.
        before = len(fake.requests)
        dest.put_manifest(RAW, OCI)
        calls_after_manifest = len(fake.requests)
        dest.put_signatures([SECOND.to_blob(), FIRST.to_blob()])
        dest.commit()
        assert [call for call in fake.calls()[calls_after_manifest:] if not call.startswith(('GET ', 'HEAD '))] == []
        assert before < calls_after_manifest
    finally:
        dest.close()
        dest.client.close()


def test_remove_signatures_never_shrinks_the_attachment(fake: FakeRegistry, tmp_path: t.Any) -> None:
    fake.add_manifest(REPO, RAW, OCI, tag='latest')
    attachment = store_attachment(fake, [FIRST])
    dest = open_dest(fake, registries_d(tmp_path))
    try:
        assert dest.signatures_up_to_date([])  # nothing that remove_signatures would remove
        outcome = _signatures_for(t.cast(t.Any, _Source([])), dest, _Plan(True), CopyOptions(remove_signatures=True))
        assert outcome.signatures == [] and outcome.plan.up_to_date
        dest.put_manifest(RAW, OCI)
        dest.put_signatures([])
        dest.commit()
        assert fake.manifests[(REPO, TAG)][0] == attachment.manifest
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


class _Source:
    def __init__(self, signatures: list[bytes]) -> None:
        self.signatures = signatures

    def get_signatures(self) -> list[bytes]:
        return list(self.signatures)


def test_copy_check_is_idempotent_with_a_superset_attachment(fake: FakeRegistry, tmp_path: t.Any) -> None:
    fake.add_manifest(REPO, RAW, OCI, tag='latest')
    dest = open_dest(fake, registries_d(tmp_path))
    try:
        wanted = [SIMPLE, FIRST.to_blob()]
        outcome = _signatures_for(t.cast(t.Any, _Source(wanted)), dest, _Plan(True), CopyOptions())
        assert outcome.signatures == wanted and not outcome.plan.up_to_date
        assert outcome.plan.reason == 'the destination holds the image but not its 2 signatures'
        dest.put_manifest(RAW, OCI)
        dest.put_signatures(wanted)
        dest.commit()
        # Someone else appended SECOND: the attachment holds more, the copy is still up to date.
        store_attachment(fake, [FIRST, SECOND])
        outcome = _signatures_for(t.cast(t.Any, _Source(wanted)), dest, _Plan(True), CopyOptions())
        assert outcome.signatures == wanted and outcome.plan.up_to_date
        # In another order (a dir: may list sigstore ones first): still up to date.
        assert dest.signatures_up_to_date([FIRST.to_blob(), SIMPLE])
        # A simple signature missing from the lookaside, or a sigstore one from the attachment: not.
        assert not dest.signatures_up_to_date([FIRST.to_blob()])
        assert not dest.signatures_up_to_date([SIMPLE, signature(3).to_blob()])
    finally:
        dest.close()
        dest.client.close()


def test_sigstore_refused_before_writing_without_the_setting(fake: FakeRegistry, tmp_path: t.Any) -> None:
    dest = open_dest(fake, registries_d(tmp_path, attachments=False))
    try:
        assert dest.unstorable_signatures([SIMPLE]) is None
        with pytest.raises(UnsupportedOperationError) as caught:
            dest.put_signatures([FIRST.to_blob()])
        assert caught.value.message == ('the registry destination registry.test/team/app cannot store sigstore signatures: writing sigstore '
                                        'attachments is disabled by configuration (set use-sigstore-attachments: true for it in registries.d)')
        assert fake.calls() == []
    finally:
        dest.close()
        dest.client.close()


def test_attachments_alone_make_a_registry_with_an_http_lookaside_able_to_store_sigstore(fake: FakeRegistry, tmp_path: t.Any) -> None:
    directory = tmp_path / 'registries.d'
    directory.mkdir()
    (directory / 'test.yaml').write_text('docker:\n  registry.test/team:\n    lookaside: https://127.0.0.1:9/s\n    use-sigstore-attachments: true\n')
    dest = open_dest(fake, str(directory))
    try:
        assert dest.supports_signatures
        assert dest.unstorable_signatures([FIRST.to_blob()]) is None
        assert 'cannot store simple signing signatures in the https lookaside' in t.cast(str, dest.unstorable_signatures([SIMPLE]))
        dest.put_manifest(RAW, OCI)
        dest.put_signatures([FIRST.to_blob()])
        dest.commit()
        assert json.loads(fake.manifests[(REPO, TAG)][0])['layers'][0]['digest'] == sha256(FIRST.payload)
    finally:
        dest.close()
        dest.client.close()


def test_a_malformed_sigstore_blob_is_refused_before_writing(fake: FakeRegistry, tmp_path: t.Any) -> None:
    dest = open_dest(fake, registries_d(tmp_path))
    try:
        reason = dest.unstorable_signatures([SIMPLE, sigstore.BLOB_PREFIX + b'{"payload": "not base64!"}'])
        assert reason is not None and reason.startswith('its signature 2: "payload"')
    finally:
        dest.close()
        dest.client.close()


def test_written_attachment_reads_back_byte_identical(fake: FakeRegistry, tmp_path: t.Any) -> None:
    dest = open_dest(fake, registries_d(tmp_path))
    try:
        dest.put_manifest(RAW, OCI)
        dest.put_signatures([FIRST.to_blob(), SECOND.to_blob()])
        dest.commit()
    finally:
        dest.close()
        dest.client.close()
    source = open_source(fake, registries_d(tmp_path))
    try:
        assert source.get_signatures() == [FIRST.to_blob(), SECOND.to_blob()]
    finally:
        source.close()
        source.client.close()
