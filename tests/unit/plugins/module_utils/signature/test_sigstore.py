# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sigstore signatures against containers/image's fixtures and their verdicts (fixtures README §6-§7).

The policy's ``signedIdentity`` matching belongs to the policy engine; here two small stand-ins
(matchRepository, matchExact) are passed as ``validate_identity`` so that the README's verdicts can
be asserted end to end.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    DigestMismatchError,
    InvalidInputError,
    ManifestError,
    SignatureError,
)
from ansible_collections.ocikit.images.plugins.module_utils.reference import parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore
from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_certs as certs
from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_keys as keys

COSIGN_DIGEST = 'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00'
SINGLE_SAMPLE = '192.168.64.2:5000/cosign-signed-single-sample'
OCI = 'application/vnd.oci.image.manifest.v1+json'


# --- helpers ----------------------------------------------------------------------------------

def match_repository(intended: str):
    """matchRepository: the signed and intended references name the same repository."""
    def check(signed: str) -> None:
        if parse_normalized_named(signed).name != parse_normalized_named(intended).name:
            raise SignatureError('Signature for identity %s is not accepted' % json.dumps(signed))
    return check


def match_exact(intended: str):
    """matchExact: both have a tag or digest and are the same reference."""
    def check(signed: str) -> None:
        ref = parse_normalized_named(signed)
        if ref.is_name_only() or str(ref) != str(parse_normalized_named(intended)):
            raise SignatureError('Signature for identity %s is not accepted' % json.dumps(signed))
    return check


def signatures_of(directory) -> list[sigstore.SigstoreSignature]:
    """signature-1, signature-2, ... until the first missing one."""
    found, index = [], 1
    while (directory / ('signature-%d' % index)).exists():
        found.append(sigstore.parse_blob((directory / ('signature-%d' % index)).read_bytes()))
        index += 1
    return found


def manifest_of(directory) -> bytes:
    path = directory / 'manifest.json'
    return path.read_bytes() if path.exists() else b''


def public(fixtures, *names):
    return [keys.load_public_key((fixtures / name).read_bytes(), name) for name in names]


def without(signature: sigstore.SigstoreSignature, *names: str, extra: dict[str, str] | None = None) -> sigstore.SigstoreSignature:
    """``signature`` with the annotations ``names`` removed and those of ``extra`` set."""
    annotations = {k: v for k, v in signature.annotations.items() if k not in names}
    annotations.update(extra or {})
    return dataclasses.replace(signature, annotations=annotations)


@pytest.fixture(scope='module')
def rekor(cimage_fixtures):
    return keys.load_rekor_public_key((cimage_fixtures / 'rekor.pub').read_bytes())


@pytest.fixture(scope='module')
def fulcio_root(cimage_fixtures):
    return certs.FulcioTrustRoot(tuple(certs.load_certificates((cimage_fixtures / 'fulcio_v1.crt.pem').read_bytes())),
                                 'https://github.com/login/oauth', 'mitr@redhat.com')


@pytest.fixture(scope='module')
def pki_root(cimage_fixtures):
    return certs.PKITrustRoot(tuple(certs.load_certificates((cimage_fixtures / 'pki_root_crts.pem').read_bytes())),
                              tuple(certs.load_certificates((cimage_fixtures / 'pki_intermediate_crts.pem').read_bytes())),
                              'qiwan@redhat.com', 'myhost.example.com')


# --- payload ----------------------------------------------------------------------------------

def test_cosign_payload_with_null_optional_parses(cimage_fixtures):
    payload = sigstore.parse_payload(signatures_of(cimage_fixtures / 'dir-img-cosign-valid')[0].payload)
    assert payload == sigstore.SigstorePayload(sigstore.Digest(COSIGN_DIGEST), SINGLE_SAMPLE, None, None)


def test_containers_image_payload_is_reproduced_byte_for_byte(cimage_fixtures):
    raw = signatures_of(cimage_fixtures / 'dir-img-cosign-valid-with-tag')[0].payload
    parsed = sigstore.parse_payload(raw)
    assert (parsed.docker_reference, parsed.creator, parsed.timestamp) == (
        '192.168.64.2:5000/skopeo-signed:tag', 'containers/image 5.21.2-dev', 1657296609)
    assert sigstore.make_payload(parsed.manifest_digest, parsed.docker_reference, parsed.creator, parsed.timestamp) == raw


def test_make_payload_normalises_the_reference_and_escapes_as_go():
    raw = sigstore.make_payload(COSIGN_DIGEST, 'busybox:1', creator='a<b>&c', timestamp=7)
    assert raw == (b'{"critical":{"identity":{"docker-reference":"docker.io/library/busybox:1"},'
                   b'"image":{"docker-manifest-digest":"' + COSIGN_DIGEST.encode() + b'"},'
                   b'"type":"cosign container image signature"},'
                   b'"optional":{"creator":"a\\u003cb\\u003e\\u0026c","timestamp":7}}')
    assert sigstore.parse_payload(raw).creator == 'a<b>&c'


def test_make_payload_without_creator_and_with_the_current_time():
    document = json.loads(sigstore.make_payload(COSIGN_DIGEST, 'example.com/a/b@' + COSIGN_DIGEST, creator=None))
    assert list(document['optional']) == ['timestamp'] and isinstance(document['optional']['timestamp'], int)
    assert document['critical']['identity']['docker-reference'] == 'example.com/a/b@' + COSIGN_DIGEST


@pytest.mark.parametrize('reference, message', [
    ('example.com/repo', 'reference "example.com/repo" cannot be signed, it has neither a tag nor a digest'),
    ('UPPERCASE', 'invalid reference'),
])
def test_make_payload_refuses_unsignable_references(reference, message):
    with pytest.raises(InvalidInputError) as info:
        sigstore.make_payload(COSIGN_DIGEST, reference)
    assert message in str(info.value)


GOOD_PAYLOAD = ('{"critical":{"identity":{"docker-reference":"r:t"},"image":{"docker-manifest-digest":"%s"},'
                '"type":"cosign container image signature"},"optional":%%s}' % COSIGN_DIGEST)


@pytest.mark.parametrize('optional, creator, timestamp', [
    ('null', None, None),
    ('{}', None, None),
    ('{"creator":"c","timestamp":1,"other":{"x":[1]}}', 'c', 1),
    ('{"timestamp":1.0}', None, 1),
    ('{"timestamp":1e3}', None, 1000),
])
def test_payload_optional_forms_accepted(optional, creator, timestamp):
    payload = sigstore.parse_payload((GOOD_PAYLOAD % optional).encode())
    assert (payload.creator, payload.timestamp, payload.docker_reference) == (creator, timestamp, 'r:t')


P = 'sigstore signature payload'


@pytest.mark.parametrize('raw, message', [
    ('not json', P + ' is not valid JSON: Expecting value at line 1 column 1'),
    (GOOD_PAYLOAD % 'null' + ' {}', P + ' is not valid JSON: Extra data at line 1 column 221'),
    ('[]', P + ': JSON object expected'),
    ('{"critical":{},"optional":null,"critical":{}}', P + ' is not valid JSON: duplicate key "critical"'),
    ('{"critical":{},"optional":null,"extra":1}', P + ': unknown key "extra"'),
    ('{"critical":{}}', P + ': key "optional" missing in a JSON object'),
    (GOOD_PAYLOAD % '[]', P + ': "optional" is not a JSON object'),
    (GOOD_PAYLOAD % '{"creator":1}', P + ': "optional.creator" is not a string'),
    (GOOD_PAYLOAD % '{"timestamp":1.5}', P + ': "optional.timestamp" is not an integer'),
    (GOOD_PAYLOAD % '{"timestamp":"1"}', P + ': "optional.timestamp" is not a number'),
    (GOOD_PAYLOAD % '{"timestamp":1e300}', P + ': "optional.timestamp" is not an integer'),
    (GOOD_PAYLOAD % '{"timestamp":9223372036854775808}', P + ': "optional.timestamp" is not an integer'),
    (GOOD_PAYLOAD % '{"timestamp":NaN}', P + ' is not valid JSON: NaN is not valid JSON'),
    (GOOD_PAYLOAD % '{"creator":"a","creator":"b"}', P + ' is not valid JSON: duplicate key "creator"'),
    (GOOD_PAYLOAD.replace('cosign container image signature', 'atomic container signature') % 'null',
     P + ': unrecognized signature type "atomic container signature"'),
    (GOOD_PAYLOAD.replace('"type"', '"typo"') % 'null', P + ': "critical": unknown key "typo"'),
    (GOOD_PAYLOAD.replace('"type"', '"%s"' % ('t' * 5000)) % 'null', P + ': "critical": unknown key "%s..."' % ('t' * 100)),
    (GOOD_PAYLOAD.replace('"image":{', '"image":{"x":1,') % 'null', P + ': "critical.image": unknown key "x"'),
    (GOOD_PAYLOAD.replace(COSIGN_DIGEST, 'sha256:abc') % 'null', P + ': invalid docker-manifest-digest value "sha256:abc"'),
    (GOOD_PAYLOAD.replace('"r:t"', 'null') % 'null', P + ': "critical.identity.docker-reference" is not a string'),
    (GOOD_PAYLOAD.replace('"identity":{"docker-reference":"r:t"}', '"identity":{}') % 'null',
     P + ': "critical.identity": key "docker-reference" missing in a JSON object'),
])
def test_payload_strictness(raw, message):
    with pytest.raises(SignatureError) as info:
        sigstore.parse_payload(raw.encode())
    assert str(info.value).startswith(message)


# --- local blob form --------------------------------------------------------------------------

def test_every_fixture_signature_round_trips_byte_for_byte(cimage_fixtures):
    blobs = sorted(cimage_fixtures.glob('dir-img-cosign-*/signature-*')) + [cimage_fixtures / 'unknown-cosign-key.signature']
    assert len(blobs) == 14
    for path in blobs:
        raw = path.read_bytes()
        # Three were saved by hand with a final newline, which Go's JSON decoder skips.
        assert sigstore.parse_blob(raw).to_blob() == raw.rstrip(b'\n'), path.name


@pytest.mark.parametrize('blob, message', [
    (b'\x89PNG', 'sig does not start with the sigstore-json format marker'),
    (sigstore.BLOB_PREFIX + b'{', 'sig is not valid JSON: '),
    (sigstore.BLOB_PREFIX + b'[]', 'sig: JSON object expected'),
    (sigstore.BLOB_PREFIX + b'{"payload":"!!"}', 'sig: "payload" is not valid base64'),
    (sigstore.BLOB_PREFIX + b'{"mimeType":1}', 'sig: "mimeType" is not a string'),
    (sigstore.BLOB_PREFIX + b'{"annotations":{"a":1}}', 'sig: "annotations" is not an object of strings'),
    (sigstore.BLOB_PREFIX + b'{"payload":"","payload":""}', 'sig is not valid JSON: duplicate key "payload"'),
    (sigstore.BLOB_PREFIX + b' ' * sigstore.MAX_SIGNATURE_SIZE, 'sig exceeds the 4194304 byte limit'),
])
def test_malformed_blobs_are_refused(blob, message):
    with pytest.raises(SignatureError) as info:
        sigstore.parse_blob(blob, 'sig')
    assert str(info.value).startswith(message)


def test_a_simple_signing_blob_is_not_a_sigstore_one(cimage_fixtures):
    with pytest.raises(SignatureError, match='does not start with the sigstore-json format marker'):
        sigstore.parse_blob((cimage_fixtures / 'dir-img-valid' / 'signature-1').read_bytes())


def test_blob_fields_may_be_null():
    signature = sigstore.parse_blob(sigstore.BLOB_PREFIX + b'{"mimeType":null,"payload":null,"annotations":null,"other":1}')
    assert signature == sigstore.SigstoreSignature('', b'', {})


# --- verification against the fixture directories (README §7) ---------------------------------

ACCEPTED = [
    ('dir-img-cosign-valid', match_repository(SINGLE_SAMPLE), SINGLE_SAMPLE),
    ('dir-img-cosign-valid-2', match_repository(SINGLE_SAMPLE), SINGLE_SAMPLE),
    ('dir-img-cosign-mixed', match_repository(SINGLE_SAMPLE), SINGLE_SAMPLE),
    ('dir-img-cosign-valid-with-tag', match_exact('192.168.64.2:5000/skopeo-signed:tag'), '192.168.64.2:5000/skopeo-signed:tag'),
]


@pytest.mark.parametrize('directory, identity_check, identity', ACCEPTED, ids=[case[0] for case in ACCEPTED])
def test_cosign_pub_accepts(cimage_fixtures, directory, identity_check, identity):
    verified = sigstore.verify_any(signatures_of(cimage_fixtures / directory), manifest_of(cimage_fixtures / directory),
                                   public(cimage_fixtures, 'cosign.pub'), validate_identity=identity_check)
    assert verified.identity == identity and verified.key_index == 0 and verified.integrated_time is None
    assert keys.public_key_pem(verified.public_key) == (cimage_fixtures / 'cosign.pub').read_bytes()


NOT_ACCEPTED = 'Signature for identity "%s" is not accepted'
REJECTED = [
    ('dir-img-cosign-valid', match_exact(SINGLE_SAMPLE + ':latest'), NOT_ACCEPTED % SINGLE_SAMPLE),
    ('dir-img-cosign-valid', match_repository('testing/manifest:notlatest'), NOT_ACCEPTED % SINGLE_SAMPLE),
    ('dir-img-cosign-valid-2', match_repository('this/does-not:match'),
     'None of the signatures were accepted, reasons: %s; %s' % (NOT_ACCEPTED % SINGLE_SAMPLE, NOT_ACCEPTED % SINGLE_SAMPLE)),
    ('dir-img-cosign-valid-with-tag', match_exact('192.168.64.2:5000/skopeo-signed:othertag'),
     NOT_ACCEPTED % '192.168.64.2:5000/skopeo-signed:tag'),
    ('dir-img-cosign-modified-manifest', None, 'Signature for digest %s does not match' % COSIGN_DIGEST),
    ('dir-img-cosign-no-manifest', None, 'Signature for digest %s does not match' % COSIGN_DIGEST),
    ('dir-img-cosign-manifest-digest-error', None, 'cannot compute the digest of the manifest: schema1 manifest: '),
    ('dir-img-cosign-other-attachment', None,
     'A signature was required, but no signature exists (0 non-sigstore signatures, 1 sigstore non-signature attachments)'),
    ('dir-img-unsigned', None, 'A signature was required, but no signature exists'),
]


@pytest.mark.parametrize('directory, identity_check, message', REJECTED, ids=['%s-%d' % (c[0], i) for i, c in enumerate(REJECTED)])
def test_cosign_pub_rejects(cimage_fixtures, directory, identity_check, message):
    with pytest.raises(SignatureError) as info:
        sigstore.verify_any(signatures_of(cimage_fixtures / directory), manifest_of(cimage_fixtures / directory),
                            public(cimage_fixtures, 'cosign.pub'), validate_identity=identity_check)
    assert str(info.value).startswith(message)


def test_cryptography_alone_does_not_compare_digest_or_identity(cimage_fixtures):
    directory = cimage_fixtures / 'dir-img-cosign-modified-manifest'
    verified = sigstore.verify_cryptography(signatures_of(directory)[0], public(cimage_fixtures, 'cosign.pub'))
    assert verified.payload.manifest_digest == sigstore.Digest(COSIGN_DIGEST) and verified.identity == SINGLE_SAMPLE
    der = base64.b64decode(b''.join((cimage_fixtures / 'cosign.pub').read_bytes().splitlines()[1:-1]))
    assert verified.key_fingerprint == 'sha256:' + hashlib.sha256(der).hexdigest()
    with pytest.raises(SignatureError, match='^cryptographic signature verification failed$'):
        sigstore.verify_cryptography(signatures_of(directory)[0], public(cimage_fixtures, 'cosign2.pub'))


def test_unknown_cosign_key_signature_is_rejected(cimage_fixtures):
    signature = sigstore.parse_blob((cimage_fixtures / 'unknown-cosign-key.signature').read_bytes())
    manifest = manifest_of(cimage_fixtures / 'dir-img-cosign-valid')
    with pytest.raises(SignatureError, match='^cryptographic signature verification failed$'):
        sigstore.verify_signature(signature, manifest, public(cimage_fixtures, 'cosign.pub'))


def test_any_of_several_keys_verifies_and_the_matching_one_is_named(cimage_fixtures):
    directory = cimage_fixtures / 'dir-img-cosign-valid'
    verified = sigstore.verify_any(signatures_of(directory), manifest_of(directory), public(cimage_fixtures, 'cosign2.pub', 'cosign.pub'))
    assert verified.key_index == 1 and verified.identity == SINGLE_SAMPLE
    with pytest.raises(SignatureError, match='^cryptographic signature verification failed$'):
        sigstore.verify_any(signatures_of(directory), manifest_of(directory), public(cimage_fixtures, 'cosign2.pub'))


def test_the_no_signature_message_counts_foreign_signatures(cimage_fixtures):
    with pytest.raises(SignatureError) as info:
        sigstore.verify_any([], b'{}', public(cimage_fixtures, 'cosign.pub'), non_sigstore=2)
    assert str(info.value) == 'A signature was required, but no signature exists (2 non-sigstore signatures, 0 sigstore non-signature attachments)'


def test_the_identity_check_runs_last_and_receives_the_signed_reference(cimage_fixtures):
    seen = []
    directory = cimage_fixtures / 'dir-img-cosign-modified-manifest'
    with pytest.raises(SignatureError, match='does not match'):
        sigstore.verify_any(signatures_of(directory), manifest_of(directory), public(cimage_fixtures, 'cosign.pub'),
                            validate_identity=seen.append)
    assert not seen
    directory = cimage_fixtures / 'dir-img-cosign-valid'
    sigstore.verify_any(signatures_of(directory), manifest_of(directory), public(cimage_fixtures, 'cosign.pub'), validate_identity=seen.append)
    assert seen == [SINGLE_SAMPLE]


@pytest.mark.parametrize('change, message', [
    (lambda s: without(s, sigstore.SIGNATURE_ANNOTATION), 'missing dev.cosignproject.cosign/signature annotation'),
    (lambda s: dataclasses.replace(s, mime_type='text/plain'), 'sigstore attachment of type "text/plain" is not a signature'),
    (lambda s: without(s, extra={sigstore.SIGNATURE_ANNOTATION: '%%%'}), 'signature annotation is not valid base64'),
    (lambda s: dataclasses.replace(s, payload=s.payload + b' '), 'cryptographic signature verification failed'),
])
def test_tampered_signatures_are_rejected(cimage_fixtures, change, message):
    directory = cimage_fixtures / 'dir-img-cosign-valid'
    signature = change(signatures_of(directory)[0])
    with pytest.raises(SignatureError) as info:
        sigstore.verify_signature(signature, manifest_of(directory), public(cimage_fixtures, 'cosign.pub'))
    assert str(info.value) == message


@pytest.mark.parametrize('kwargs, message', [
    ({'public_keys': []}, 'no public key to verify sigstore signatures with'),
    ({}, 'exactly one of public keys, Fulcio or PKI must be given to verify sigstore signatures'),
])
def test_trust_source_misuse_is_invalid_input(cimage_fixtures, kwargs, message):
    directory = cimage_fixtures / 'dir-img-cosign-valid'
    with pytest.raises(InvalidInputError) as info:
        sigstore.verify_signature(signatures_of(directory)[0], manifest_of(directory), **kwargs)
    assert str(info.value) == message


# --- keys + Rekor -----------------------------------------------------------------------------

KEY_REKOR = 'dir-img-cosign-key-rekor-valid'
KEY_1 = '192.168.64.2:5000/cosign-signed/key-1'


def test_key_and_rekor_accepts_and_reports_the_set_time(cimage_fixtures, rekor):
    directory = cimage_fixtures / KEY_REKOR
    verified = sigstore.verify_any(signatures_of(directory), manifest_of(directory), public(cimage_fixtures, 'cosign.pub', 'cosign2.pub'),
                                   [rekor], match_repository(KEY_1))
    assert (verified.identity, verified.key_index, verified.integrated_time) == (KEY_1, 1, 1674251859)


def test_key_without_rekor_requirement_accepts_the_same_signature(cimage_fixtures):
    directory = cimage_fixtures / KEY_REKOR
    verified = sigstore.verify_any(signatures_of(directory), manifest_of(directory), public(cimage_fixtures, 'cosign2.pub'))
    assert verified.integrated_time is None and verified.identity == KEY_1


def test_key_and_rekor_rejections(cimage_fixtures, rekor):
    directory = cimage_fixtures / KEY_REKOR
    signature, manifest = signatures_of(directory)[0], manifest_of(directory)
    cosign, cosign2 = public(cimage_fixtures, 'cosign.pub', 'cosign2.pub')
    cases = [
        # The wrong Rekor key.
        (signature, [cosign2], [cosign], 'No public key verified against the RekorSET: cryptographic signature verification of Rekor SET failed'),
        # The SET removed.
        (without(signature, sigstore.SET_ANNOTATION), [cosign2], [rekor], 'missing dev.sigstore.cosign/bundle annotation'),
        # The SET garbled.
        (without(signature, extra={sigstore.SET_ANNOTATION: signature.annotations[sigstore.SET_ANNOTATION].replace('MEYCIQCt', 'MEYCIQCu')}),
         [cosign2], [rekor], 'No public key verified against the RekorSET: cryptographic signature verification of Rekor SET failed'),
        (without(signature, extra={sigstore.SET_ANNOTATION: '{}'}), [cosign2], [rekor],
         'No public key verified against the RekorSET: Rekor SET: key "SignedEntryTimestamp" missing in a JSON object'),
        # Only keys the SET does not record.
        (signature, [cosign], [rekor], 'No public key verified against the RekorSET: publicKey in Rekor SET does not match'),
    ]
    for candidate, public_keys, rekor_keys, message in cases:
        with pytest.raises(SignatureError) as info:
            sigstore.verify_signature(candidate, manifest, public_keys, rekor_keys)
        assert str(info.value) == message


def test_a_set_moved_onto_another_signature_is_rejected(cimage_fixtures, rekor):
    moved_set = signatures_of(cimage_fixtures / KEY_REKOR)[0].annotations[sigstore.SET_ANNOTATION]
    directory = cimage_fixtures / 'dir-img-cosign-valid'
    signature = without(signatures_of(directory)[0], extra={sigstore.SET_ANNOTATION: moved_set})
    with pytest.raises(SignatureError, match='^No public key verified against the RekorSET: publicKey in Rekor SET does not match$'):
        sigstore.verify_signature(signature, manifest_of(directory), public(cimage_fixtures, 'cosign.pub'), [rekor])


def test_standalone_rekor_set_fixture_verifies(cimage_fixtures, rekor):
    integrated = sigstore.verify_rekor_set([rekor], (cimage_fixtures / 'rekor-set').read_bytes(), (cimage_fixtures / 'fulcio-cert').read_bytes(),
                                           (cimage_fixtures / 'rekor-sig').read_text().strip(), (cimage_fixtures / 'rekor-payload').read_bytes())
    assert integrated == 1670870899


class SETMaker:
    """Builds Rekor SETs signed by a throwaway log key, to exercise each check of verify_rekor_set."""

    def __init__(self) -> None:
        self.log_key = ec.generate_private_key(ec.SECP256R1())
        self.signer = ec.generate_private_key(ec.SECP256R1())
        self.signer_pem = keys.public_key_pem(self.signer.public_key())
        self.payload = b'{"some":"payload"}'
        self.signature = keys.sign_raw(self.signer, self.payload)

    def body(self, **changes) -> dict:
        body = {'apiVersion': '0.0.1', 'kind': 'hashedrekord', 'spec': {
            'data': {'hash': {'algorithm': 'sha256', 'value': hashlib.sha256(self.payload).hexdigest()}},
            'signature': {'content': base64.b64encode(self.signature).decode(),
                          'publicKey': {'content': base64.b64encode(self.signer_pem).decode()}}}}
        for path, value in changes.items():
            target = body
            *parents, last = path.split('__')
            for name in parents:
                target = target[name]
            if value is None:
                del target[last]
            else:
                target[last] = value
        return body

    def make(self, body: dict | None = None, payload_text: str | None = None, integrated_time: int = 1700000000) -> bytes:
        if payload_text is None:
            payload = {'body': base64.b64encode(json.dumps(body or self.body()).encode()).decode(),
                       'integratedTime': integrated_time, 'logIndex': 5, 'logID': 'ab'}
            payload_text = json.dumps(payload, indent=2)
        # What Rekor signs: SHA-256 of the RFC 8785 form, whatever layout the SET carries.
        canonical = sigstore._canonical_json(json.loads(payload_text)).encode()  # pylint: disable=protected-access
        signature = self.log_key.sign(canonical, ec.ECDSA(hashes.SHA256()))
        return ('{"SignedEntryTimestamp":"%s","Payload":%s}' % (base64.b64encode(signature).decode(), payload_text)).encode()

    def verify(self, set_json: bytes) -> int:
        return sigstore.verify_rekor_set([self.log_key.public_key()], set_json, self.signer_pem,
                                         base64.b64encode(self.signature).decode(), self.payload)


def test_rekor_set_of_a_pretty_printed_payload_verifies_through_canonical_json():
    maker = SETMaker()
    assert maker.verify(maker.make(integrated_time=1234)) == 1234
    # Key order and escapes as RFC 8785 wants them: sorted by UTF-16 units, non-ASCII kept, controls escaped.
    assert sigstore._canonical_json({'b': 'é\n', 'a': [1, None, True], '\U0001f600': 0, '\uffff': 1}) == (  # pylint: disable=protected-access
        '{"a":[1,null,true],"b":"é\\n","\U0001f600":0,"\uffff":1}')


@pytest.mark.parametrize('changes, message', [
    ({'kind': 'rekord'}, 'body of a Rekor SET payload is not a hashedrekord entry'),
    ({'apiVersion': None}, 'missing Rekor SET Payload API version'),
    ({'apiVersion': '0.0.2'}, 'unsupported Rekor SET Payload hashedrekord version "0.0.2"'),
    ({'spec__signature': None}, 'missing "signature" field in hashedrekord'),
    ({'spec__signature__publicKey': None}, 'missing "signature.publicKey" field in hashedrekord'),
    ({'spec__signature__publicKey__content': base64.b64encode(b'not pem').decode()}, 'publicKey in Rekor SET is not in PEM format'),
    ({'spec__signature__content': base64.b64encode(b'other').decode()}, 'signature in Rekor SET does not match'),
    ({'spec__data__hash__algorithm': 'sha512'}, 'unexpected "data.hash.algorithm" value "sha512"'),
    ({'spec__data__hash__value': 'zz'}, 'invalid "data.hash.value" field in hashedrekord'),
    ({'spec__data__hash__value': '00' * 32}, 'payload in Rekor SET does not match'),
    ({'spec__data': None}, 'missing "data" field in hashedrekord'),
    ({'apiVersion': ['x' * 500]}, 'unsupported Rekor SET Payload hashedrekord version ["' + 'x' * 98 + '...'),
    ({'spec__signature__publicKey__content': None}, 'missing "signature.publicKey.content" field in hashedrekord'),
])
def test_rekor_set_body_checks(changes, message):
    maker = SETMaker()
    with pytest.raises(SignatureError) as info:
        maker.verify(maker.make(maker.body(**changes)))
    assert str(info.value) == message


@pytest.mark.parametrize('suffix, message', [
    (b'\n', 'publicKey in Rekor SET has trailing data'),
    (b'junk', 'publicKey in Rekor SET has trailing data'),
])
def test_rekor_set_public_key_must_be_one_pem_block(suffix, message):
    maker = SETMaker()
    content = base64.b64encode(maker.signer_pem + suffix).decode()
    with pytest.raises(SignatureError) as info:
        maker.verify(maker.make(maker.body(spec__signature__publicKey__content=content)))
    assert str(info.value) == message
    with pytest.raises(SignatureError, match='^public key or cert to be matched against publicKey in Rekor SET has trailing data$'):
        sigstore.verify_rekor_set([maker.log_key.public_key()], maker.make(), maker.signer_pem + suffix,
                                  base64.b64encode(maker.signature).decode(), maker.payload)


@pytest.mark.parametrize('payload_text, message', [
    ('{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"x","extra":1}', 'Rekor SET payload: unknown key "extra"'),
    ('{"body":"e30=","integratedTime":1.5,"logIndex":1,"logID":"x"}', 'Rekor SET payload holds a number that cannot be canonicalized'),
    ('{"body":"e30=","integratedTime":"1","logIndex":1,"logID":"x"}', 'Rekor SET payload "integratedTime" is not an integer'),
    ('{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"x","logID":"y"}', 'Rekor SET is not valid JSON: duplicate key "logID"'),
])
def test_rekor_set_payload_strictness(payload_text, message):
    maker = SETMaker()
    try:
        set_json = maker.make(payload_text=payload_text)
    except SignatureError:
        set_json = b'{"SignedEntryTimestamp":"AA==","Payload":%s}' % payload_text.encode()
    with pytest.raises(SignatureError) as info:
        maker.verify(set_json)
    assert str(info.value).startswith(message)


# --- Fulcio -----------------------------------------------------------------------------------

FULCIO = 'dir-img-cosign-fulcio-rekor-valid'
FULCIO_REF = '192.168.64.2:5000/cosign-signed/fulcio-rekor-1'


def test_fulcio_with_rekor_accepts(cimage_fixtures, rekor, fulcio_root):
    directory = cimage_fixtures / FULCIO
    verified = sigstore.verify_signature(signatures_of(directory)[0], manifest_of(directory), rekor_keys=[rekor], fulcio=fulcio_root,
                                         validate_identity=match_repository(FULCIO_REF))
    assert verified.identity == FULCIO_REF and verified.integrated_time == 1674247893
    assert isinstance(verified.public_key, ec.EllipticCurvePublicKey)


def test_fulcio_accepts_without_chain_when_the_ca_is_the_chain(cimage_fixtures, rekor, fulcio_root):
    directory = cimage_fixtures / FULCIO
    chain_as_ca = dataclasses.replace(fulcio_root, ca_certificates=tuple(certs.load_certificates((cimage_fixtures / 'fulcio-chain').read_bytes())))
    signature = without(signatures_of(directory)[0], sigstore.CHAIN_ANNOTATION)
    assert sigstore.verify_signature(signature, manifest_of(directory), rekor_keys=[rekor], fulcio=chain_as_ca).identity == FULCIO_REF


def test_fulcio_rejections(cimage_fixtures, rekor, fulcio_root):
    directory = cimage_fixtures / FULCIO
    signature, manifest = signatures_of(directory)[0], manifest_of(directory)
    cases = [
        (signature, dataclasses.replace(fulcio_root, subject_email='x@example.com'),
         'Required email "x@example.com" not found (got ["mitr@redhat.com"])'),
        (signature, dataclasses.replace(fulcio_root, oidc_issuer='https://accounts.google.com'),
         'Unexpected Fulcio OIDC issuer "https://github.com/login/oauth"'),
        (without(signature, sigstore.SET_ANNOTATION), fulcio_root, 'missing dev.sigstore.cosign/bundle annotation'),
        (without(signature, sigstore.CERTIFICATE_ANNOTATION), fulcio_root, 'missing dev.sigstore.cosign/certificate annotation'),
        (without(signature, sigstore.CHAIN_ANNOTATION), fulcio_root, 'veryfing leaf certificate failed: certificate signed by unknown authority'),
        (without(signature, extra={sigstore.CERTIFICATE_ANNOTATION: (cimage_fixtures / 'fulcio-cert').read_text()}), fulcio_root,
         'publicKey in Rekor SET does not match'),
    ]
    for candidate, trust, message in cases:
        with pytest.raises(SignatureError) as info:
            sigstore.verify_signature(candidate, manifest, rekor_keys=[rekor], fulcio=trust)
        assert str(info.value) == message
    with pytest.raises(InvalidInputError, match='^Fulcio verification needs a Rekor public key$'):
        sigstore.verify_signature(without(signature, sigstore.SET_ANNOTATION), manifest, fulcio=fulcio_root)


def test_fulcio_certificate_is_checked_at_the_rekor_time_not_now(cimage_fixtures, fulcio_root):
    signature = signatures_of(cimage_fixtures / FULCIO)[0]
    cert = signature.annotations[sigstore.CERTIFICATE_ANNOTATION].encode()
    chain = signature.annotations[sigstore.CHAIN_ANNOTATION].encode()
    assert isinstance(certs.verify_fulcio_certificate(fulcio_root, 1674247893, cert, chain), ec.EllipticCurvePublicKey)
    with pytest.raises(SignatureError, match=r'^veryfing leaf certificate failed: certificate .* is not valid at 2023-01-20T21:01:33\+00:00$'):
        certs.verify_fulcio_certificate(fulcio_root, 1674247893 + 600, cert, chain)


# --- BYO PKI ----------------------------------------------------------------------------------

PKI = 'dir-img-cosign-pki-valid'


@pytest.mark.parametrize('change, drop_chain', [
    ({}, False),
    ({}, True),
    ({'subject_hostname': ''}, False),
    ({'subject_email': ''}, False),
    ({'subject_hostname': 'MYHOST.example.com.'}, False),
], ids=['both', 'no-chain-annotation', 'email-only', 'hostname-only', 'hostname-case'])
def test_pki_accepts(cimage_fixtures, pki_root, change, drop_chain):
    directory = cimage_fixtures / PKI
    signature = signatures_of(directory)[0]
    if drop_chain:
        signature = without(signature, sigstore.CHAIN_ANNOTATION)
    verified = sigstore.verify_signature(signature, manifest_of(directory), pki=dataclasses.replace(pki_root, **change))
    assert verified.identity == 'localhost:5000/test' and isinstance(verified.public_key, rsa.RSAPublicKey)


@pytest.mark.parametrize('change, drop_chain, message', [
    ({'intermediates': ()}, True, 'veryfing leaf certificate failed: certificate signed by unknown authority'),
    ({'subject_email': 'x@example.com'}, False, 'Required email "x@example.com" not found (got ["qiwan@redhat.com"])'),
    ({'subject_hostname': 'other.example.com'}, False, 'Unexpected subject hostname: certificate is not valid for "other.example.com"'),
])
def test_pki_rejects(cimage_fixtures, pki_root, change, drop_chain, message):
    directory = cimage_fixtures / PKI
    signature = signatures_of(directory)[0]
    if drop_chain:
        signature = without(signature, sigstore.CHAIN_ANNOTATION)
    with pytest.raises(SignatureError) as info:
        sigstore.verify_signature(signature, manifest_of(directory), pki=dataclasses.replace(pki_root, **change))
    assert str(info.value) == message


def test_pki_with_rekor_or_without_subject_is_invalid_input(cimage_fixtures, pki_root, rekor):
    directory = cimage_fixtures / PKI
    signature = signatures_of(directory)[0]
    with pytest.raises(InvalidInputError, match='^PKI verification cannot be combined with a Rekor public key$'):
        sigstore.verify_signature(signature, manifest_of(directory), rekor_keys=[rekor], pki=pki_root)
    with pytest.raises(InvalidInputError, match='^PKI verification needs a subject email or a subject hostname$'):
        sigstore.verify_signature(signature, manifest_of(directory), pki=dataclasses.replace(pki_root, subject_email='', subject_hostname=''))


def test_pki_leaf_must_be_a_single_certificate(cimage_fixtures, pki_root):
    directory = cimage_fixtures / PKI
    signature = signatures_of(directory)[0]
    doubled = signature.annotations[sigstore.CERTIFICATE_ANNOTATION] * 2
    with pytest.raises(SignatureError, match='^unexpected multiple certificates present in signature certificate data$'):
        sigstore.verify_signature(without(signature, extra={sigstore.CERTIFICATE_ANNOTATION: doubled}), manifest_of(directory), pki=pki_root)


# --- signing ----------------------------------------------------------------------------------

@pytest.mark.parametrize('make', [
    lambda: ec.generate_private_key(ec.SECP256R1()),
    lambda: rsa.generate_private_key(65537, 2048),
    ed25519.Ed25519PrivateKey.generate,
], ids=['ecdsa-p256', 'rsa', 'ed25519'])
def test_sign_then_verify_round_trip_through_the_blob_form(cimage_fixtures, make):
    key = make()
    manifest = manifest_of(cimage_fixtures / 'dir-img-cosign-valid')
    signature = sigstore.sign(key, manifest, 'example.com/ns/app:v1', timestamp=1700000000)
    assert signature.mime_type == sigstore.SIGSTORE_SIGNATURE_MIME_TYPE and list(signature.annotations) == [sigstore.SIGNATURE_ANNOTATION]
    assert keys.verify_raw(key.public_key(), base64.b64decode(signature.base64_signature), signature.payload)
    restored = sigstore.parse_blob(signature.to_blob())
    assert restored == signature
    verified = sigstore.verify_signature(restored, manifest, [key.public_key()], validate_identity=match_exact('example.com/ns/app:v1'))
    assert verified.payload == sigstore.SigstorePayload(sigstore.Digest(COSIGN_DIGEST), 'example.com/ns/app:v1', 'ocikit.images', 1700000000)
    with pytest.raises(SignatureError, match='^Signature for digest sha256:634a8f35.* does not match$'):
        sigstore.verify_signature(restored, manifest + b'\n', [key.public_key()])


def test_sign_with_the_decrypted_cosign_vector_key(cimage_fixtures, cosign_key_fixtures):
    key = keys.load_private_key((cosign_key_fixtures / 'encrypted-sigstore-ec.key').read_bytes(), 'hello')
    manifest = manifest_of(cimage_fixtures / 'dir-img-cosign-valid')
    signature = sigstore.sign(key, manifest, 'busybox:latest')
    assert sigstore.verify_signature(signature, manifest, [key.public_key()]).identity == 'docker.io/library/busybox:latest'
    with pytest.raises(SignatureError, match='^cryptographic signature verification failed$'):
        sigstore.verify_signature(signature, manifest, public(cimage_fixtures, 'cosign.pub'))


def test_sign_refuses_an_unusable_manifest(cimage_fixtures):
    manifest = (cimage_fixtures / 'v2s1-invalid-signatures.manifest.json').read_bytes()
    with pytest.raises(InvalidInputError, match='^cannot sign the manifest: schema1 manifest: '):
        sigstore.sign(ec.generate_private_key(ec.SECP256R1()), manifest, 'busybox:latest')


# --- attachments ------------------------------------------------------------------------------

def test_new_attachment_is_containers_image_bytes(cimage_fixtures):
    signature = signatures_of(cimage_fixtures / 'dir-img-cosign-valid')[0]
    layer_digest = 'sha256:' + hashlib.sha256(signature.payload).hexdigest()
    attachment = sigstore.build_attachment([signature])
    config = b'{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":["%s"]}}' % layer_digest.encode()
    assert attachment.config == config
    assert attachment.config_digest == sigstore.Digest('sha256:' + hashlib.sha256(config).hexdigest())
    assert attachment.manifest == (
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        b'"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},'
        b'"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"%s","size":%d,'
        b'"annotations":{"dev.cosignproject.cosign/signature":"%s"}}]}'
        % (str(attachment.config_digest).encode(), len(config), layer_digest.encode(), len(signature.payload),
           signature.base64_signature.encode()))
    assert attachment.layers == {layer_digest: signature.payload} and attachment.added == 1


def test_appending_skips_identical_layers_and_adds_new_ones(cimage_fixtures):
    first, = signatures_of(cimage_fixtures / 'dir-img-cosign-valid')
    second, = signatures_of(cimage_fixtures / 'dir-img-cosign-valid-with-tag')
    existing = sigstore.build_attachment([first])
    same = sigstore.build_attachment([first], existing.manifest, existing.config)
    assert (same.manifest, same.config, same.added, same.layers) == (existing.manifest, existing.config, 0, {})
    grown = sigstore.build_attachment([first, second, first], existing.manifest, existing.config)
    assert grown.added == 1 and list(grown.layers) == ['sha256:' + hashlib.sha256(second.payload).hexdigest()]
    assert json.loads(grown.config)['rootfs']['diff_ids'] == [json.loads(existing.config)['rootfs']['diff_ids'][0], list(grown.layers)[0]]
    # A layer with the same payload but other annotations is another signature.
    relabelled = without(first, extra={'extra': 'x'})
    assert sigstore.build_attachment([relabelled], existing.manifest, existing.config).added == 1
    blobs = dict(existing.layers, **grown.layers)
    assert sigstore.parse_attachment(grown.manifest, blobs, OCI) == [first, second]


def test_appending_to_a_cosign_made_config_re_encodes_it_as_go_does():
    payload = b'{"x":1}'
    digest = 'sha256:' + hashlib.sha256(payload).hexdigest()
    cosign_config = ('{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],'
                     '"os":"","rootfs":{"type":"layers","diff_ids":["%s"]},"config":{}}' % digest).encode()
    manifest = ('{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":1,'
                '"digest":"sha256:%s"},"layers":[{"mediaType":"%s","size":%d,"digest":"%s","annotations":{"%s":"c2ln"}}],"unknown":1}'
                % (OCI, '0' * 64, sigstore.SIGSTORE_SIGNATURE_MIME_TYPE, len(payload), digest, sigstore.SIGNATURE_ANNOTATION)).encode()
    new = sigstore.SigstoreSignature(sigstore.SIGSTORE_SIGNATURE_MIME_TYPE, b'{"y":2}', {sigstore.SIGNATURE_ANNOTATION: 'c2ln'})
    result = sigstore.build_attachment([new], manifest, cosign_config)
    new_digest = 'sha256:' + hashlib.sha256(b'{"y":2}').hexdigest()
    assert result.config == ('{"created":"0001-01-01T00:00:00Z","architecture":"","os":"","config":{},'
                             '"rootfs":{"type":"layers","diff_ids":["%s","%s"]},"history":[{"created":"0001-01-01T00:00:00Z"}]}'
                             % (digest, new_digest)).encode()
    document = json.loads(result.manifest)
    assert 'unknown' not in document and [layer['digest'] for layer in document['layers']] == [digest, new_digest]
    assert list(document['layers'][0]) == ['mediaType', 'digest', 'size', 'annotations']


def test_parse_attachment_checks_type_digests_and_sizes(cimage_fixtures):
    signature, = signatures_of(cimage_fixtures / 'dir-img-cosign-valid')
    attachment = sigstore.build_attachment([signature])
    digest = list(attachment.layers)[0]
    with pytest.raises(ManifestError, match=r'^unexpected MIME type for sigstore attachment manifest: "application/vnd.docker'):
        sigstore.parse_attachment(attachment.manifest, attachment.layers, 'application/vnd.docker.distribution.manifest.v2+json')
    with pytest.raises(ManifestError, match='^sigstore attachment layer %s is missing$' % digest):
        sigstore.parse_attachment(attachment.manifest, {})
    with pytest.raises(ManifestError, match=r'is 1 bytes, not 261$'):
        sigstore.parse_attachment(attachment.manifest, {digest: b'x'})
    with pytest.raises(DigestMismatchError):
        sigstore.parse_attachment(attachment.manifest, {digest: signature.payload.replace(b'null', b'NULL')})
    huge = attachment.manifest.replace(b'"size":261', b'"size":99999999')
    with pytest.raises(ManifestError, match='over the 4194304 byte limit$'):
        sigstore.attachment_layers(huge)
    assert sigstore.attachment_layers(b'{"schemaVersion":2,"mediaType":"%s","config":{},"layers":null}' % OCI.encode()) == []
