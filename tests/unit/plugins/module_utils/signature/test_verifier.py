# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ImageVerifier, the SignatureVerifier copies use, on containers/image's GPG fixtures, and through evaluate()."""

from __future__ import annotations

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import SignatureError
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import VerifiedPayload, evaluate, parse_policy
from ansible_collections.ocikit.images.plugins.module_utils.signature.verifier import ImageVerifier
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name

pytest.importorskip('gnupg')

TEST_KEY = '08CD26E446E2E95249B7A405E932F44B23E8DD43'
MANIFEST_DIGEST = 'sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55'


def test_valid_signature(cimage_fixtures):
    blob = (cimage_fixtures / 'dir-img-valid' / 'signature-1').read_bytes()
    payload = ImageVerifier().verify_simple(blob, [(cimage_fixtures / 'public-key.gpg').read_bytes()])
    assert payload == VerifiedPayload(docker_reference='testing/manifest:latest', docker_manifest_digest=MANIFEST_DIGEST, key=TEST_KEY)


def test_subkey_signature_names_the_primary_key(cimage_fixtures):
    blob = (cimage_fixtures / 'subkey.signature').read_bytes()
    payload = ImageVerifier().verify_simple(blob, [(cimage_fixtures / 'public-key-with-subkey.gpg').read_bytes()])
    assert payload.key == 'B9F4CDB9FD8C475BFA340AC38D54A947EE396F36'


def test_other_key_is_refused(cimage_fixtures):
    blob = (cimage_fixtures / 'dir-img-valid' / 'signature-1').read_bytes()
    with pytest.raises(SignatureError) as excinfo:
        ImageVerifier().verify_simple(blob, [(cimage_fixtures / 'public-key-2.gpg').read_bytes()])
    assert str(excinfo.value) == 'signature by unknown key %s' % TEST_KEY


COSIGN_IDENTITY = '192.168.64.2:5000/cosign-signed-single-sample'


@pytest.mark.parametrize('image, keys, accepted, reason', [
    ('dir-img-cosign-valid', ['cosign.pub'], True, ''),
    ('dir-img-cosign-mixed', ['cosign.pub'], True, ''),
    ('dir-img-cosign-valid', ['cosign2.pub'], False, 'signature 1: '),
    ('dir-img-cosign-modified-manifest', ['cosign.pub'], False, 'signature 1: it is for manifest digest '),
])
def test_sigstore_fixtures_through_the_policy(cimage_fixtures, image, keys, accepted, reason):
    pytest.importorskip('cryptography')
    directory = cimage_fixtures / image
    policy = parse_policy({'default': [{'type': 'sigstoreSigned', 'keyPaths': [str(cimage_fixtures / key) for key in keys],
                                        'signedIdentity': {'type': 'exactRepository', 'dockerRepository': COSIGN_IDENTITY}}]})
    signatures = [path.read_bytes() for path in sorted(directory.glob('signature-*'))]
    result = evaluate(policy, parse_image_name('dir:%s' % directory), (directory / 'manifest.json').read_bytes(), signatures, ImageVerifier())
    assert result.accepted is accepted, result.message
    if accepted:
        assert result.results[0].identity == COSIGN_IDENTITY
        assert result.results[0].key.startswith('public key "%s" (' % (cimage_fixtures / 'cosign.pub'))
    else:
        assert result.results[0].reason.startswith(reason), result.results[0].reason


@pytest.mark.parametrize('image, accepted, reason', [
    ('dir-img-valid', True, ''),
    ('dir-img-unsigned', False, 'a signature was required, but no signature exists'),
    ('dir-img-modified-manifest', False,
     'signature 1: it is for manifest digest "%s", which does not match the image\'s manifest' % MANIFEST_DIGEST),
])
def test_dir_fixtures_through_the_policy(cimage_fixtures, image, accepted, reason):
    directory = cimage_fixtures / image
    policy = parse_policy({'default': [{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': str(cimage_fixtures / 'public-key.gpg'),
                                        'signedIdentity': {'type': 'exactReference', 'dockerReference': 'testing/manifest:latest'}}]})
    signatures = [path.read_bytes() for path in sorted(directory.glob('signature-*'))]
    result = evaluate(policy, parse_image_name('dir:%s' % directory), (directory / 'manifest.json').read_bytes(), signatures, ImageVerifier())
    assert result.accepted is accepted
    if accepted:
        assert (result.results[0].key, result.results[0].identity) == (TEST_KEY, 'testing/manifest:latest')
    else:
        assert result.results[0].reason == reason
