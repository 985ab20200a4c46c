# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""policy.py's evaluation driven by the real sigstore verifier over containers/image's cosign fixtures (README §7 verdicts)."""

from __future__ import annotations

import base64
import datetime
import json

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import PolicyError, SignatureError
from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_verifier
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import evaluate, parse_policy
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name

SINGLE_SAMPLE = '192.168.64.2:5000/cosign-signed-single-sample'


class Verifier:
    """The verifier protocol with the real sigstore half (simple signing is not what these tests are about)."""

    def verify_simple(self, blob, keyrings):  # pragma: no cover - no signedBy requirement here
        raise SignatureError('not under test')

    def verify_sigstore(self, blob, requirement):
        return sigstore_verifier.verify_sigstore(blob, requirement)


def blobs(directory) -> list[bytes]:
    found, index = [], 1
    while (directory / ('signature-%d' % index)).exists():
        found.append((directory / ('signature-%d' % index)).read_bytes())
        index += 1
    return found


def run(fixtures, directory, image, requirement, signed_identity='matchRepository', mutate=None):
    requirement = dict(requirement, type='sigstoreSigned', signedIdentity={'type': signed_identity})
    policy = parse_policy(json.dumps({'default': [requirement]}))
    folder = fixtures / directory
    manifest = (folder / 'manifest.json').read_bytes() if (folder / 'manifest.json').exists() else b''
    signatures = blobs(folder)
    if mutate:
        signatures = [mutate(blob) for blob in signatures]
    return evaluate(policy, parse_image_name('docker://' + image), manifest, signatures, Verifier())


def annotations_changed(change):
    """A blob mutator that edits the annotations of a sigstore blob."""
    def mutate(blob: bytes) -> bytes:
        prefix, document = blob[:15], json.loads(blob[15:])
        change(document['annotations'])
        return prefix + json.dumps(document).encode()
    return mutate


def key(fixtures, *names):
    if len(names) == 1:
        return {'keyPath': str(fixtures / names[0])}
    return {'keyPaths': [str(fixtures / name) for name in names]}


CASES = [
    # directory, image, requirement builder, signedIdentity, accepted, reason fragment
    ('dir-img-cosign-valid', SINGLE_SAMPLE, lambda f: key(f, 'cosign.pub'), 'matchRepository', True, None),
    ('dir-img-cosign-valid', SINGLE_SAMPLE, lambda f: key(f, 'cosign.pub'), 'matchExact', False, 'is not accepted by matchExact'),
    ('dir-img-cosign-valid', 'testing/manifest:notlatest', lambda f: key(f, 'cosign.pub'), 'matchRepository', False, 'is not accepted'),
    ('dir-img-cosign-valid-2', SINGLE_SAMPLE, lambda f: key(f, 'cosign.pub'), 'matchRepository', True, None),
    ('dir-img-cosign-valid-2', 'this/does-not:match', lambda f: key(f, 'cosign.pub'), 'matchRepository', False, 'none of the 2 signatures'),
    ('dir-img-cosign-mixed', SINGLE_SAMPLE, lambda f: key(f, 'cosign.pub'), 'matchRepository', True, None),
    ('dir-img-cosign-modified-manifest', SINGLE_SAMPLE, lambda f: key(f, 'cosign.pub'), 'matchRepository', False,
     "which does not match the image's manifest"),
    ('dir-img-cosign-other-attachment', SINGLE_SAMPLE, lambda f: key(f, 'cosign.pub'), 'matchRepository', False,
     'sigstore attachment of type "text/plain" is not a signature'),
    ('dir-img-unsigned', SINGLE_SAMPLE, lambda f: key(f, 'cosign.pub'), 'matchRepository', False, 'no signature exists'),
    ('dir-img-valid', 'testing/manifest:latest', lambda f: key(f, 'cosign.pub'), 'matchRepository', False,
     'not a sigstore-json signature'),
    ('dir-img-cosign-valid-with-tag', '192.168.64.2:5000/skopeo-signed:tag', lambda f: key(f, 'cosign.pub'), 'matchExact', True, None),
    ('dir-img-cosign-valid-with-tag', '192.168.64.2:5000/skopeo-signed:othertag', lambda f: key(f, 'cosign.pub'), 'matchExact', False,
     'is not accepted by matchExact'),
    ('dir-img-cosign-key-rekor-valid', '192.168.64.2:5000/cosign-signed/key-1',
     lambda f: dict(key(f, 'cosign.pub', 'cosign2.pub'), rekorPublicKeyPath=str(f / 'rekor.pub')), 'matchRepository', True, None),
    ('dir-img-cosign-key-rekor-valid', '192.168.64.2:5000/cosign-signed/key-1',
     lambda f: dict(key(f, 'cosign2.pub'), rekorPublicKeyPath=str(f / 'cosign.pub')), 'matchRepository', False,
     'cryptographic signature verification of Rekor SET failed'),
    ('dir-img-cosign-fulcio-rekor-valid', '192.168.64.2:5000/cosign-signed/fulcio-rekor-1',
     lambda f: {'fulcio': {'caPath': str(f / 'fulcio_v1.crt.pem'), 'oidcIssuer': 'https://github.com/login/oauth',
                           'subjectEmail': 'mitr@redhat.com'}, 'rekorPublicKeyPath': str(f / 'rekor.pub')}, 'matchRepository', True, None),
    ('dir-img-cosign-fulcio-rekor-valid', '192.168.64.2:5000/cosign-signed/fulcio-rekor-1',
     lambda f: {'fulcio': {'caPath': str(f / 'fulcio_v1.crt.pem'), 'oidcIssuer': 'https://github.com/login/oauth',
                           'subjectEmail': 'x@example.com'}, 'rekorPublicKeyPath': str(f / 'rekor.pub')}, 'matchRepository', False,
     'Required email "x@example.com" not found'),
    ('dir-img-cosign-pki-valid', 'localhost:5000/test',
     lambda f: {'pki': {'caRootsPath': str(f / 'pki_root_crts.pem'), 'caIntermediatesPath': str(f / 'pki_intermediate_crts.pem'),
                        'subjectEmail': 'qiwan@redhat.com', 'subjectHostname': 'myhost.example.com'}}, 'matchRepository', True, None),
]


@pytest.mark.parametrize('directory, image, requirement, identity, accepted, reason', CASES,
                         ids=['%s-%s' % (case[0][8:], i) for i, case in enumerate(CASES)])
def test_policy_verdicts_with_the_sigstore_verifier(cimage_fixtures, directory, image, requirement, identity, accepted, reason):
    result = run(cimage_fixtures, directory, image, requirement(cimage_fixtures), identity)
    assert result.accepted is accepted, result.message
    if accepted:
        assert result.verified and result.results[0].identity
    else:
        assert reason in result.message


def test_accepted_key_is_named_by_file_and_fingerprint(cimage_fixtures):
    result = run(cimage_fixtures, 'dir-img-cosign-key-rekor-valid', '192.168.64.2:5000/cosign-signed/key-1',
                 dict(key(cimage_fixtures, 'cosign.pub', 'cosign2.pub'), rekorPublicKeyPath=str(cimage_fixtures / 'rekor.pub')))
    accepted = result.results[0]
    assert accepted.key.startswith('public key "%s" (sha256:' % (cimage_fixtures / 'cosign2.pub'))
    assert (accepted.signature, accepted.identity) == (1, '192.168.64.2:5000/cosign-signed/key-1')


def test_inline_key_data_is_named_by_position(cimage_fixtures):
    datas = [base64.b64encode((cimage_fixtures / name).read_bytes()).decode() for name in ('cosign2.pub', 'cosign.pub')]
    result = run(cimage_fixtures, 'dir-img-cosign-valid', SINGLE_SAMPLE, {'keyDatas': datas})
    assert result.accepted and result.results[0].key.startswith('public key keyDatas 2 (sha256:')


def test_the_set_removed_or_moved_is_rejected(cimage_fixtures):
    rekor = dict(key(cimage_fixtures, 'cosign2.pub'), rekorPublicKeyPath=str(cimage_fixtures / 'rekor.pub'))
    removed = run(cimage_fixtures, 'dir-img-cosign-key-rekor-valid', '192.168.64.2:5000/cosign-signed/key-1', rekor,
                  mutate=annotations_changed(lambda a: a.pop('dev.sigstore.cosign/bundle')))
    assert not removed.accepted and 'missing dev.sigstore.cosign/bundle annotation' in removed.message


def test_unusable_trust_material_is_said_once(cimage_fixtures, tmp_path):
    missing = run(cimage_fixtures, 'dir-img-cosign-valid-2', SINGLE_SAMPLE, {'keyPath': str(tmp_path / 'absent.pub')})
    assert not missing.accepted and missing.message.endswith('public key file %s does not exist' % (tmp_path / 'absent.pub'))
    rsa_rekor = run(cimage_fixtures, 'dir-img-cosign-valid', SINGLE_SAMPLE,
                    dict(key(cimage_fixtures, 'cosign.pub'), rekorPublicKeyPath=str(cimage_fixtures / 'some-rsa-key.pub')))
    assert not rsa_rekor.accepted and rsa_rekor.message.endswith('Rekor public key "%s" is not using ECDSA' % (cimage_fixtures / 'some-rsa-key.pub'))


def test_pki_is_checked_at_the_given_time(cimage_fixtures):
    requirement = parse_policy(json.dumps({'default': [{
        'type': 'sigstoreSigned', 'pki': {'caRootsPath': str(cimage_fixtures / 'pki_root_crts.pem'), 'subjectEmail': 'qiwan@redhat.com'}}]})).default[0]
    blob = (cimage_fixtures / 'dir-img-cosign-pki-valid' / 'signature-1').read_bytes()
    assert sigstore_verifier.verify_sigstore(blob, requirement).docker_reference == 'localhost:5000/test'
    with pytest.raises(SignatureError, match='is not valid at 1999-01-01'):
        sigstore_verifier.verify_sigstore(blob, requirement, now=datetime.datetime(1999, 1, 1, tzinfo=datetime.timezone.utc))


def test_a_requirement_without_trust_material_is_a_policy_error():
    requirement = parse_policy(json.dumps({'default': [{'type': 'insecureAcceptAnything'}]})).default[0]
    with pytest.raises(PolicyError, match='^sigstoreSigned has no key, fulcio or pki$'):
        sigstore_verifier.verify_sigstore(b'\x00sigstore-json\n{}', requirement)
