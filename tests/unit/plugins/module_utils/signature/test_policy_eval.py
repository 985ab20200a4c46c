# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Scope selection and fail-closed evaluation of containers-policy.json.

Signature cryptography is faked (the verifier protocol is the seam), except in the last section,
where a few lines around ``gpgv`` check containers/image's real dir-img fixtures end to end.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import tempfile

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import PolicyError, PolicyRejectedError, SignatureError
from ansible_collections.ocikit.images.plugins.module_utils.reference import parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.signature import policy_config as policy_module
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import (
    Policy,
    VerifiedPayload,
    check,
    docker_identity,
    docker_namespaces,
    evaluate,
    load_policy,
    parse_policy,
    policy_identity,
    select_requirements,
    signature_format,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name

MANIFEST = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'
MANIFEST_DIGEST = 'sha256:' + hashlib.sha256(MANIFEST).hexdigest()
FPR = '08CD26E446E2E95249B7A405E932F44B23E8DD43'
SIMPLE_1 = b'\xa3simple signature 1'
SIMPLE_2 = b'\x89simple signature 2'
SIGSTORE_1 = b'\x00sigstore-json\n{"mimeType": "application/vnd.dev.cosign.simplesigning.v1+json"}'


class FakeVerifier:
    """Answers per blob: a VerifiedPayload, or an exception to raise. Records every call."""

    def __init__(self, answers=None):
        self.answers = answers or {}
        self.calls = []

    def _answer(self, blob):
        answer = self.answers[blob]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def verify_simple(self, blob, keyrings):
        self.calls.append(('simple', blob, tuple(keyrings)))
        return self._answer(blob)

    def verify_sigstore(self, blob, requirement):
        self.calls.append(('sigstore', blob, requirement))
        return self._answer(blob)


def payload(reference, digest=MANIFEST_DIGEST, key=FPR):
    return VerifiedPayload(docker_reference=reference, docker_manifest_digest=digest, key=key)


def one_scope(requirements, scope='example.com/app', transport='docker', source='/p'):
    document = {'default': [{'type': 'reject'}], 'transports': {transport: {scope: requirements}}}
    return parse_policy(json.dumps(document), source=source)


@pytest.fixture
def keyring(tmp_path):
    path = tmp_path / 'keyring.gpg'
    path.write_bytes(b'keyring bytes')
    return path


def signed_by(keyring, **extra):
    return dict({'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': str(keyring)}, **extra)


# -- scope selection ---------------------------------------------------------------------------------


@pytest.mark.parametrize('reference, namespaces', [
    ('busybox:latest', ['docker.io/library/busybox', 'docker.io/library', 'docker.io', '*.io']),
    ('example.com:5000/ns/repo:1', ['example.com:5000/ns/repo', 'example.com:5000/ns', 'example.com:5000', '*.com']),
    ('a.b.example.com/x@sha256:' + 'a' * 64, ['a.b.example.com/x', 'a.b.example.com', '*.b.example.com', '*.example.com', '*.com']),
    ('localhost:5000/x:1', ['localhost:5000/x', 'localhost:5000']),
    ('[::1]:5000/x:1', ['[::1]:5000/x', '[::1]:5000']),
])
def test_docker_namespaces(reference, namespaces):
    assert docker_namespaces(parse_normalized_named(reference)) == namespaces


@pytest.mark.parametrize('reference, identity', [
    ('busybox', 'docker.io/library/busybox:latest'),
    ('busybox:1', 'docker.io/library/busybox:1'),
    ('busybox@sha256:' + 'a' * 64, 'docker.io/library/busybox@sha256:' + 'a' * 64),
    # containers/image refuses tag and digest together; the digest identifies the image.
    ('busybox:1@sha256:' + 'a' * 64, 'docker.io/library/busybox@sha256:' + 'a' * 64),
])
def test_docker_identity(reference, identity):
    assert docker_identity(parse_normalized_named(reference)) == identity


@pytest.mark.parametrize('image, scope, kind', [
    # The requirementsForImageRef table of containers/image's policy_eval_test.go, on the fixture policy.
    ('docker://example.com/playground:tag', 'example.com/playground', 'namespace'),
    ('docker://example.com/playground/sub:tag', 'example.com/playground', 'namespace'),
    ('docker://example.com/hardened:latest', 'example.com/hardened', 'namespace'),
    ('docker://example.com/hardened-x509:1', 'example.com/hardened-x509', 'namespace'),
    ('docker://registry.access.redhat.com/rhel7/rhel:7', 'registry.access.redhat.com', 'namespace'),
    ('docker://private-mirror:5000/vendor-mirror/app:1', 'private-mirror:5000/vendor-mirror', 'namespace'),
    ('docker://sub.access.redhat.com/x:1', '*.access.redhat.com', 'namespace'),
    ('docker://a.b.access.redhat.com/x:1', '*.access.redhat.com', 'namespace'),
    ('docker://registry.redhat.com/x:1', '*.redhat.com', 'namespace'),
    ('docker://registry.redhat.io/beta/x:1', 'registry.redhat.io/beta', 'namespace'),
    ('docker://example.com/other:1', '*.com', 'namespace'),
    ('docker://example.com:5000/other:1', '*.com', 'namespace'),
    ('docker://quay.io/x:1', None, 'default'),
    ('docker://busybox', None, 'default'),
    ('dir:/any/where', '', 'transport default'),
    ('oci:/any/where:tag', None, 'default'),
])
def test_scope_selection_on_the_fixture_policy(cimage_fixtures, image, scope, kind):
    fixture = load_policy(str(cimage_fixtures / 'policy.json'))
    selection = select_requirements(fixture, parse_image_name(image))
    assert (selection.scope, selection.kind) == (scope, kind)
    expected = fixture.default if scope is None else fixture.transports[image.split(':')[0]][scope]
    assert selection.requirements is expected


def test_the_most_specific_scope_wins_and_nothing_is_merged():
    accept, reject = [{'type': 'insecureAcceptAnything'}], [{'type': 'reject'}]
    document = {'default': reject, 'transports': {'docker': {
        '': reject, '*.com': reject, 'example.com': reject, 'example.com/ns': accept, 'example.com/ns/app': reject,
        'example.com/ns/app:1': accept, 'example.com/ns/app@sha256:' + 'b' * 64: accept}}}
    policy = parse_policy(json.dumps(document))
    for image, scope in [('example.com/ns/app:1', 'example.com/ns/app:1'), ('example.com/ns/app:2', 'example.com/ns/app'),
                         ('example.com/ns/app@sha256:' + 'b' * 64, 'example.com/ns/app@sha256:' + 'b' * 64),
                         ('example.com/ns/other:1', 'example.com/ns'), ('example.com/x:1', 'example.com'), ('other.com/x:1', '*.com'),
                         ('other.org/x:1', '')]:
        assert select_requirements(policy, parse_image_name('docker://' + image)).scope == scope


def test_path_scopes_use_the_resolved_path_then_its_parents(tmp_path):
    real = tmp_path / 'real' / 'images'
    (real / 'app').mkdir(parents=True)
    os.symlink(real, tmp_path / 'link')
    document = {'default': [{'type': 'reject'}], 'transports': {
        'dir': {str(real / 'app'): [{'type': 'insecureAcceptAnything'}], str(tmp_path / 'real'): [{'type': 'reject'}]},
        'oci': {str(real): [{'type': 'insecureAcceptAnything'}]},
        'oci-archive': {str(real / 'a.tar'): [{'type': 'insecureAcceptAnything'}]},
        'docker-archive': {'': [{'type': 'insecureAcceptAnything'}]}}}
    policy = parse_policy(json.dumps(document))

    def scope(image):
        selection = select_requirements(policy, parse_image_name(image))
        return selection.scope, selection.kind

    assert scope('dir:%s/link/app' % tmp_path) == (str(real / 'app'), 'identity')
    assert scope('dir:%s/link/other' % tmp_path) == (str(tmp_path / 'real'), 'namespace')
    assert scope('oci:%s/link/app:v1' % tmp_path) == (str(real), 'namespace')
    assert scope('oci-archive:%s/link/a.tar:v1' % tmp_path) == (str(real / 'a.tar'), 'identity')
    assert scope('docker-archive:%s/x.tar' % tmp_path) == ('', 'transport default')
    assert scope('dir:/elsewhere') == (None, 'default')
    identity, namespaces = policy_identity(parse_image_name('dir:%s/link/app' % tmp_path))
    assert identity == str(real / 'app')
    assert namespaces[:3] == [str(real), str(tmp_path / 'real'), str(tmp_path)] and '/' not in namespaces


def test_daemon_and_storage_scopes_as_containers_image():
    accept, reject = [{'type': 'insecureAcceptAnything'}], [{'type': 'reject'}]
    document = {'default': reject, 'transports': {
        'docker-daemon': {'': accept, 'docker.io/library/evil': reject},
        'containers-storage': {'': accept, '[vfs@/srv/store]docker.io/library/evil': reject, '[overlay@/srv/store]': reject,
                               '[/other/root]': reject, '[vfs@/srv/store]@' + 'c' * 64: reject}}}
    policy = parse_policy(json.dumps(document))

    def scope(image):
        selection = select_requirements(policy, image if not isinstance(image, str) else parse_image_name(image))
        return selection.scope, selection.kind

    # docker-daemon: a name is scoped as docker's; an image ID only by "" (containers/image: IDs cannot be namespaced).
    assert scope('docker-daemon:evil:1') == ('docker.io/library/evil', 'namespace')
    assert scope('docker-daemon:good:1') == ('', 'transport default')
    assert scope('docker-daemon:sha256:' + 'c' * 64) == ('', 'transport default')
    # containers-storage: [DRIVER@GRAPHROOT]NAME, its parents, the store, [GRAPHROOT].
    assert scope('containers-storage:[vfs@/srv/store]evil:2') == ('[vfs@/srv/store]docker.io/library/evil', 'namespace')
    assert scope('containers-storage:[vfs@/srv/store+/run/x]good') == ('', 'transport default')
    assert scope('containers-storage:[overlay@/srv/store]good') == ('[overlay@/srv/store]', 'namespace')
    assert scope('containers-storage:[vfs@/other/root]good') == ('[/other/root]', 'namespace')
    assert scope('containers-storage:[vfs@/srv/store]@' + 'c' * 64) == ('[vfs@/srv/store]@' + 'c' * 64, 'identity')
    identity, namespaces = policy_identity(parse_image_name('containers-storage:[vfs@/srv/store]quay.io/ns/app:1'))
    assert identity == '[vfs@/srv/store]quay.io/ns/app:1'
    assert namespaces == ['[vfs@/srv/store]quay.io/ns/app', '[vfs@/srv/store]quay.io/ns', '[vfs@/srv/store]quay.io', '[vfs@/srv/store]',
                          '[/srv/store]']
    # The store decides the scope: without it (no bracket, and no source that asked the service) nothing is guessed...
    with pytest.raises(PolicyError) as info:
        select_requirements(policy, parse_image_name('containers-storage:evil'))
    assert info.value.message == ('the trust policy has scopes for containers-storage, and the store of "containers-storage:docker.io/library/evil:latest" '
                                  'is not known: its graph driver and root decide which scope applies')
    # ...unless the transport has no scope but "" (then the store does not matter).
    only_default = parse_policy(json.dumps({'default': reject, 'transports': {'containers-storage': {'': accept}}}))
    assert select_requirements(only_default, parse_image_name('containers-storage:evil')).kind == 'transport default'


# -- evaluation -------------------------------------------------------------------------------------

APP = parse_image_name('docker://example.com/app:1')


def test_insecure_accept_anything_accepts_but_verifies_nothing():
    result = evaluate(one_scope([{'type': 'insecureAcceptAnything'}]), APP, MANIFEST, [])
    assert (result.accepted, result.verified) == (True, False)
    assert result.message == 'policy /p accepts "docker://example.com/app:1" (scope transports.docker["example.com/app"])'


def test_reject():
    result = evaluate(one_scope([{'type': 'reject'}], scope='*.com'), APP, MANIFEST, [SIMPLE_1], FakeVerifier())
    assert result.accepted is False
    assert result.message == ('policy /p rejects "docker://example.com/app:1" (scope transports.docker["*.com"], requirement 1 reject): '
                              'the policy rejects this image ("type": "reject")')


def test_the_default_scope_is_named():
    result = evaluate(parse_policy('{"default": [{"type": "reject"}]}'), APP, MANIFEST, [])
    assert result.message == ('the policy rejects "docker://example.com/app:1" (scope default, requirement 1 reject): '
                              'the policy rejects this image ("type": "reject")')


def test_signed_by_without_signatures(keyring):
    verifier = FakeVerifier()
    result = evaluate(one_scope([signed_by(keyring)]), APP, MANIFEST, [], verifier)
    assert result.accepted is False and verifier.calls == []
    assert result.message == ('policy /p rejects "docker://example.com/app:1" (scope transports.docker["example.com/app"], requirement 1 '
                              'signedBy (GPGKeys, keyPath "%s")): a signature was required, but no signature exists' % keyring)


def test_signed_by_accepts_a_valid_signature_and_says_by_which_key(keyring):
    verifier = FakeVerifier({SIMPLE_1: payload('example.com/app:1')})
    result = evaluate(one_scope([signed_by(keyring)]), APP, MANIFEST, [SIMPLE_1], verifier)
    assert (result.accepted, result.verified) == (True, True)
    assert verifier.calls == [('simple', SIMPLE_1, (b'keyring bytes',))]
    (decision,) = result.results
    assert (decision.accepted, decision.signature, decision.key, decision.identity) == (True, 1, FPR, 'example.com/app:1')


def test_key_paths_and_key_data_reach_the_verifier(tmp_path):
    paths = []
    for name in ('a', 'b'):
        (tmp_path / name).write_bytes(name.encode())
        paths.append(str(tmp_path / name))
    verifier = FakeVerifier({SIMPLE_1: payload('example.com/app:1')})
    assert evaluate(one_scope([{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPaths': paths}]), APP, MANIFEST, [SIMPLE_1], verifier).accepted
    assert evaluate(one_scope([{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyData': 'eHl6'}]), APP, MANIFEST, [SIMPLE_1], verifier).accepted
    assert [call[2] for call in verifier.calls] == [(b'a', b'b'), (b'xyz',)]


@pytest.mark.parametrize('identity, signed, accepted', [
    (None, 'example.com/app:1', True),
    (None, 'example.com/app:2', False),
    (None, 'example.com/app', False),
    ({'type': 'matchRepository'}, 'example.com/app', True),
    ({'type': 'matchExact'}, 'example.com/app', False),
    ({'type': 'exactReference', 'dockerReference': 'other.example/app:9'}, 'other.example/app:9', True),
    ({'type': 'exactRepository', 'dockerRepository': 'other.example/app'}, 'other.example/app:anything', True),
    ({'type': 'remapIdentity', 'prefix': 'example.com', 'signedPrefix': 'vendor.example'}, 'vendor.example/app:1', True),
    ({'type': 'remapIdentity', 'prefix': 'example.com', 'signedPrefix': 'vendor.example'}, 'example.com/app:1', False),
])
def test_signed_identity_decides(keyring, identity, signed, accepted):
    requirement = signed_by(keyring, signedIdentity=identity) if identity else signed_by(keyring)
    verifier = FakeVerifier({SIMPLE_1: payload(signed)})
    assert evaluate(one_scope([requirement]), APP, MANIFEST, [SIMPLE_1], verifier).accepted is accepted


def test_an_identity_mismatch_is_explained(keyring):
    verifier = FakeVerifier({SIMPLE_1: payload('example.com/app:2')})
    result = evaluate(one_scope([signed_by(keyring, signedIdentity={'type': 'matchExact'})]), APP, MANIFEST, [SIMPLE_1], verifier)
    assert result.results[0].reason == ('signature 1: its identity "example.com/app:2" is not accepted by matchExact '
                                        'for "example.com/app:1"')


def test_a_signature_for_another_manifest_is_rejected(keyring):
    other = 'sha256:' + 'c' * 64
    verifier = FakeVerifier({SIMPLE_1: payload('example.com/app:1', digest=other)})
    result = evaluate(one_scope([signed_by(keyring)]), APP, MANIFEST, [SIMPLE_1], verifier)
    assert result.accepted is False
    assert result.results[0].reason == 'signature 1: it is for manifest digest "%s", which does not match the image\'s manifest' % other


def test_one_good_signature_among_bad_ones_is_enough(keyring):
    verifier = FakeVerifier({SIMPLE_1: SignatureError('the signature is not valid: BAD signature'), SIMPLE_2: payload('example.com/app:1')})
    result = evaluate(one_scope([signed_by(keyring)]), APP, MANIFEST, [SIGSTORE_1, SIMPLE_1, SIMPLE_2], verifier)
    assert result.accepted is True and result.results[0].signature == 3


def test_every_reason_is_listed_when_none_is_accepted(keyring):
    verifier = FakeVerifier({SIMPLE_1: SignatureError('the signature is not valid: BAD signature'), SIMPLE_2: payload('example.com/app:0')})
    result = evaluate(one_scope([signed_by(keyring)]), APP, MANIFEST, [SIGSTORE_1, SIMPLE_1, SIMPLE_2, b'-----BEGIN PGP'], verifier)
    assert result.results[0].reason == (
        'none of the 4 signatures was accepted: signature 1 is a "sigstore-json" signature, not a simple-signing signature; '
        'signature 2: the signature is not valid: BAD signature; signature 3: its identity "example.com/app:0" is not accepted by '
        'matchRepoDigestOrExact for "example.com/app:1"; signature 4 is of an unknown format, not a simple-signing signature')


def test_an_unreadable_key_file_rejects_without_verifying(tmp_path):
    verifier = FakeVerifier({SIMPLE_1: payload('example.com/app:1')})
    result = evaluate(one_scope([signed_by(tmp_path / 'missing.gpg')]), APP, MANIFEST, [SIMPLE_1, SIMPLE_2], verifier)
    assert result.accepted is False and verifier.calls == []
    assert result.results[0].reason == 'GPG keyring %s/missing.gpg does not exist' % tmp_path


@pytest.mark.parametrize('key_type', ['signedByGPGKeys', 'X509Certificates', 'signedByX509CAs'])
def test_unimplemented_key_types_reject(keyring, key_type):
    verifier = FakeVerifier({SIMPLE_1: payload('example.com/app:1')})
    result = evaluate(one_scope([signed_by(keyring, keyType=key_type)]), APP, MANIFEST, [SIMPLE_1], verifier)
    assert result.accepted is False and verifier.calls == []
    assert result.results[0].reason == 'keyType "%s" is not implemented, so it rejects (as in containers/image)' % key_type


def test_signed_base_layer_rejects():
    requirement = {'type': 'signedBaseLayer', 'baseLayerIdentity': {'type': 'exactRepository', 'dockerRepository': 'example.com/base'}}
    result = evaluate(one_scope([requirement]), APP, MANIFEST, [SIMPLE_1], FakeVerifier())
    assert result.results[0].reason == 'signedBaseLayer is not implemented, so it rejects (as in containers/image)'


def test_every_requirement_must_accept(keyring):
    verifier = FakeVerifier({SIMPLE_1: payload('example.com/app:1')})
    policy = one_scope([{'type': 'insecureAcceptAnything'}, signed_by(keyring), {'type': 'reject'}])
    result = evaluate(policy, APP, MANIFEST, [SIMPLE_1], verifier)
    assert [decision.accepted for decision in result.results] == [True, True, False]
    assert result.accepted is False and result.verified is False
    assert 'requirement 3 reject' in result.message


def test_sigstore_signed_hands_the_requirement_to_the_verifier():
    verifier = FakeVerifier({SIGSTORE_1: payload('example.com/app', key='cosign.pub')})
    policy = one_scope([{'type': 'sigstoreSigned', 'keyPath': '/keys/cosign.pub', 'signedIdentity': {'type': 'matchRepository'}}])
    result = evaluate(policy, APP, MANIFEST, [SIMPLE_1, SIGSTORE_1], verifier)
    assert (result.accepted, result.verified, result.results[0].signature, result.results[0].key) == (True, True, 2, 'cosign.pub')
    ((kind, blob, requirement),) = verifier.calls
    assert (kind, blob, requirement) == ('sigstore', SIGSTORE_1, policy.transports['docker']['example.com/app'][0])


def test_without_a_verifier_signatures_cannot_be_accepted(keyring):
    result = evaluate(one_scope([signed_by(keyring)]), APP, MANIFEST, [SIMPLE_1], None)
    assert result.results[0].reason == 'signature 1 cannot be verified: no simple-signing verifier is available'


def test_require_signed_refuses_an_unverified_acceptance():
    result = evaluate(one_scope([{'type': 'insecureAcceptAnything'}]), APP, MANIFEST, [], require_signed=True)
    assert result.accepted is False
    assert result.message == ('policy /p rejects "docker://example.com/app:1" (scope transports.docker["example.com/app"]): a verified '
                              'signature is required, but no requirement of the scope verified one')


def test_require_signed_names_a_rejecting_requirement_first():
    # The reason a requirement rejects says more than "a verified signature is required".
    result = evaluate(one_scope([{'type': 'reject'}]), APP, MANIFEST, [], require_signed=True)
    assert result.accepted is False
    assert result.message == ('policy /p rejects "docker://example.com/app:1" (scope transports.docker["example.com/app"], requirement 1 '
                              'reject): %s' % result.results[0].reason)


def test_an_empty_requirement_list_rejects():
    # The parser refuses one; a policy built in code must still fail closed.
    policy = Policy(default=())
    result = evaluate(policy, APP, MANIFEST, [])
    assert result.accepted is False and result.message.endswith('(scope default): the scope has no requirements, so it rejects')


def test_a_manifest_that_does_not_match_the_referenced_digest_is_rejected():
    image = parse_image_name('docker://example.com/app@sha256:' + 'd' * 64)
    result = evaluate(one_scope([{'type': 'insecureAcceptAnything'}]), image, MANIFEST, [])
    assert result.accepted is False and result.message.endswith('the manifest does not match the digest in the reference')
    image = parse_image_name('docker://example.com/app@' + MANIFEST_DIGEST)
    assert evaluate(one_scope([{'type': 'insecureAcceptAnything'}]), image, MANIFEST, []).accepted is True


def test_images_without_a_docker_reference_match_only_fixed_identities(tmp_path, keyring):
    image = parse_image_name('dir:%s/img' % tmp_path)
    verifier = FakeVerifier({SIMPLE_1: payload('example.com/app:1')})
    default_identity = parse_policy(json.dumps({'default': [signed_by(keyring)]}))
    result = evaluate(default_identity, image, MANIFEST, [SIMPLE_1], verifier)
    assert result.results[0].reason == ('signature 1: its identity "example.com/app:1" is not accepted by matchRepoDigestOrExact '
                                        'for an image without a docker reference')
    exact = {'type': 'exactReference', 'dockerReference': 'example.com/app:1'}
    fixed = parse_policy(json.dumps({'default': [signed_by(keyring, signedIdentity=exact)]}))
    assert evaluate(fixed, image, MANIFEST, [SIMPLE_1], verifier).accepted is True


def test_check_raises_with_the_message(keyring):
    with pytest.raises(PolicyRejectedError) as caught:
        check(one_scope([signed_by(keyring)]), APP, MANIFEST, [])
    assert str(caught.value).endswith('a signature was required, but no signature exists')
    assert check(one_scope([{'type': 'insecureAcceptAnything'}]), APP, MANIFEST, []).accepted is True


def test_the_no_policy_warning_travels_with_the_result(tmp_path, monkeypatch):
    monkeypatch.setattr(policy_module, 'SYSTEM_POLICY_PATH', str(tmp_path / 'absent.json'))
    result = evaluate(load_policy(home=str(tmp_path)), APP, MANIFEST, [])
    assert result.accepted is True and result.warning.startswith('no containers-policy.json found')


@pytest.mark.parametrize('blob, kind', [
    (b'', None), (b'\xa3...', 'simple-signing'), (b'\x90', 'simple-signing'), (b'\xc2', 'simple-signing'),
    (b'-----BEGIN PGP MESSAGE-----', None), (b'\x00sigstore-json\n{}', 'sigstore-json'), (b'\x00simple-signing\n\xa3', 'simple-signing'),
    (b'\x00no newline', None), (b'{"json": 1}', None),
])
def test_signature_format(blob, kind):
    assert signature_format(blob) == kind


# -- end to end with containers/image's GPG fixtures -------------------------------------------------

def dearmor(keyring):
    """Binary OpenPGP from an ASCII-armored block (gpgv reads binary keyrings only)."""
    if not keyring.startswith(b'-----BEGIN'):
        return keyring
    lines = keyring.decode().splitlines()
    body = lines[lines.index('') + 1:]
    return base64.b64decode(''.join(line for line in body if not line.startswith(('=', '-----'))))


class GPGVerifier:
    """A minimal gpgv-backed verifier, enough to drive the policy with real signatures (the engine's own is signature/simple.py).

    gpgv needs no home directory and starts no agent, so nothing outlives the test.
    """

    def __init__(self, base):
        self.base = base

    def verify_simple(self, blob, keyrings):
        with tempfile.NamedTemporaryFile(dir=self.base, suffix='.gpg') as keyring:
            keyring.write(b''.join(dearmor(item) for item in keyrings))
            keyring.flush()
            done = subprocess.run(['gpgv', '--keyring', keyring.name, '--status-fd', '2', '--output', '-'], input=blob, capture_output=True,
                                  check=False)
        valid = [line.split() for line in done.stderr.decode().splitlines() if line.startswith('[GNUPG:] VALIDSIG ')]
        if done.returncode != 0 or len(valid) != 1:
            raise SignatureError('the signature is not valid')
        try:
            critical = json.loads(done.stdout)['critical']
        except (ValueError, KeyError, TypeError):
            raise SignatureError('the signed payload is not an image signature') from None
        return VerifiedPayload(critical['identity']['docker-reference'], critical['image']['docker-manifest-digest'], valid[0][-1])

    def verify_sigstore(self, blob, requirement):
        raise SignatureError('not a sigstore verifier')


@pytest.fixture(scope='module')
def gpg_verifier(tmp_path_factory):
    return GPGVerifier(str(tmp_path_factory.mktemp('gpg')))


@pytest.mark.parametrize('directory, image, accepted, reason', [
    ('dir-img-valid', 'testing/manifest:latest', True, None),
    ('dir-img-valid', 'docker.io/testing/manifest:latest', True, None),
    ('dir-img-valid', 'testing/manifest:notlatest', False,
     'signature 1: its identity "testing/manifest:latest" is not accepted by matchExact for "docker.io/testing/manifest:notlatest"'),
    ('dir-img-valid-2', 'testing/manifest:latest', True, None),
    ('dir-img-mixed', 'testing/manifest:latest', True, None),
    ('dir-img-modified-manifest', 'testing/manifest:latest', False,
     'signature 1: it is for manifest digest "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55", '
     'which does not match the image\'s manifest'),
    ('dir-img-manifest-digest-error', 'testing/manifest:latest', False, None),
    ('dir-img-unsigned', 'testing/manifest:latest', False, 'a signature was required, but no signature exists'),
])
def test_containers_image_dir_fixtures(cimage_fixtures, gpg_verifier, directory, image, accepted, reason):
    policy = parse_policy(json.dumps({'default': [{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': str(cimage_fixtures / 'public-key.gpg'),
                                                   'signedIdentity': {'type': 'matchExact'}}]}))
    folder = cimage_fixtures / directory
    signatures = [(folder / name).read_bytes() for name in sorted(os.listdir(folder)) if name.startswith('signature-')]
    result = evaluate(policy, parse_image_name('docker://' + image), (folder / 'manifest.json').read_bytes(), signatures, gpg_verifier)
    assert result.accepted is accepted
    if accepted:
        assert result.results[0].key == FPR and result.results[0].identity == 'testing/manifest:latest'
    elif reason is not None:
        assert result.results[0].reason == reason
    else:
        # A schema1 manifest whose JWS signatures are broken cannot be digested: rejected, with the manifest's own error.
        assert result.results[0].reason.startswith('signature 1: schema1 manifest')
