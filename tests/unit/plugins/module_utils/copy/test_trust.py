# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The trust policy in copy_image: evaluated on every image taken, before any blob and before the destination is opened.

A fake verifier stands in for gpg (signature/test_verifier.py and the image_copy_policy target use
the real one): a "signature" is an OpenPGP-looking byte and a JSON payload naming the key, the
signed reference and the signed digest; it verifies when that key is among the requirement's keyrings.
"""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.copy.trust import policy_source
from ansible_collections.ocikit.images.plugins.module_utils.errors import PolicyRejectedError, SignatureError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import platform as platform_mod
from ansible_collections.ocikit.images.plugins.module_utils.reference import parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import VerifiedPayload, load_policy, parse_policy
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.copy.test_execute import (
    AMD64_PLATFORM,
    ARM64_PLATFORM,
    WRITES,
    FakeDestination,
    FakeReference,
    FakeSource,
    FakeTransport,
    Store,
    _names,
)

SRC = 'src.example/img:1'
SCOPE = 'transports.docker["src.example/img"]'


def signature(digest, key='KEY-A', reference=SRC):
    """A fake simple signature (first byte 0x89: an OpenPGP signature packet, as the policy classifies blobs)."""
    return b'\x89' + json.dumps({'key': key, 'ref': reference, 'digest': digest}).encode()


class FakeVerifier:
    """verify_simple accepts a fake signature whose key is one of the keyrings; records each call."""

    def __init__(self):
        self.calls = []

    def verify_simple(self, blob, keyrings):
        self.calls.append(blob)
        try:
            doc = json.loads(blob[1:])
        except ValueError:
            raise SignatureError('the signature blob is not a valid OpenPGP signed message') from None
        if doc['key'].encode() not in keyrings:
            raise SignatureError('signature by key %s, which is not among the accepted keys' % doc['key'])
        return VerifiedPayload(docker_reference=doc['ref'], docker_manifest_digest=doc['digest'], key=doc['key'])

    def verify_sigstore(self, blob, requirement):
        raise SignatureError('sigstore signatures are not verified by this version')


class SignedSource(FakeSource):
    """A FakeSource whose signatures are kept by manifest digest (None: the top manifest's)."""

    def __init__(self, store, top, log, signatures):
        super().__init__(store, top, log)
        self.signatures = signatures

    def get_signatures(self, instance_digest=None):
        self.log.append(('src.get_signatures', None if instance_digest is None else str(instance_digest)))
        return list(self.signatures.get(None if instance_digest is None else str(instance_digest), ()))


class SignedDestination(FakeDestination):
    """A FakeDestination that stores signatures, as dir: does."""

    supports_signatures = True

    def __init__(self, log, held=None):
        super().__init__(log, held=held)
        self.signatures = []

    def get_signatures(self):
        return list(self.signatures)

    def put_signatures(self, signatures):
        self.log.append(('dest.put_signatures', len(signatures)))
        self.signatures = list(signatures)


class DockerRef(FakeReference):
    """A docker source reference (the policy needs its docker reference for scopes and identities)."""

    def docker_reference(self):
        return parse_normalized_named(SRC)


def signed_by(key=b'KEY-A', identity=None, scope='src.example/img'):
    requirement = {'type': 'signedBy', 'keyType': 'GPGKeys', 'keyData': base64.b64encode(key).decode()}
    if identity is not None:
        requirement['signedIdentity'] = identity
    return parse_policy({'default': [{'type': 'reject'}], 'transports': {'docker': {scope: [requirement]}}})


class World:
    """One signed-or-not single image and a two-platform index, copied into a FakeDestination."""

    def __init__(self):
        self.store = Store()
        self.log = []
        self.amd64 = self.store.add_image('amd64', b'base layer', b'amd64 app')
        self.arm64 = self.store.add_image('arm64', b'base layer', b'arm64 app')
        self.index = self.store.add_index((self.amd64, AMD64_PLATFORM), (self.arm64, ARM64_PLATFORM))
        self.verifier = FakeVerifier()

    def copy(self, top, policy, signatures=None, options=None, held=None, check_mode=False, dest_transport='oci'):
        dest = SignedDestination(self.log, held=held)
        source = SignedSource(self.store, top['digest'], self.log, signatures or {})
        src_ref = DockerRef(FakeTransport('docker'), '//' + SRC, source=source)
        dest_ref = FakeReference(FakeTransport(dest_transport), '/tmp/layout:img', destination=dest)
        result = copy_image(src_ref, dest_ref, ConnectionOptions(), ConnectionOptions(), options or CopyOptions(),
                            check_mode=check_mode, policy=policy, verifier=self.verifier)
        return result, dest

    def reject(self, top, policy, signatures=None, options=None, check_mode=False, dest_transport='oci'):
        """Copy expecting a rejection: the message, after checking that no blob was read and the destination never opened."""
        with pytest.raises(PolicyRejectedError) as excinfo:
            self.copy(top, policy, signatures, options, check_mode=check_mode, dest_transport=dest_transport)
        assert not _names(self.log, 'src.get_blob', *WRITES)
        assert not [entry for entry in self.log if entry[0].startswith('dest.')]
        return str(excinfo.value)


@pytest.fixture(name='world')
def world_fixture(monkeypatch):
    monkeypatch.setattr(platform_mod, 'host_platform', lambda: ('linux', 'amd64', None))
    return World()


def rejects(requirement_text, reason, scope=SCOPE):
    return 'the policy rejects "docker://%s" (scope %s, requirement 1 %s): %s' % (SRC, scope, requirement_text, reason)


SIGNED_BY_TEXT = 'signedBy (GPGKeys, keyData)'


def test_accepted_signature_is_named_in_the_result(world):
    digest = world.amd64['digest']
    result, dest = world.copy(world.amd64, signed_by(), {None: [signature(digest)]})
    assert str(dest.name_points_at) == digest
    assert result.as_result()['policy'] == {'source': 'inline', 'scope': SCOPE, 'requirement': 'signedBy', 'key': 'KEY-A', 'identity': SRC}
    assert dest.signatures == [signature(digest)]
    # The policy decided before any blob was read and before the destination was opened.
    first_dest = next(i for i, entry in enumerate(world.log) if entry[0].startswith('dest.'))
    assert world.log.index(('src.get_signatures', None)) < first_dest
    assert not _names(world.log[:first_dest], 'src.get_blob')


@pytest.mark.parametrize('signatures_of, reason', [
    (lambda d: [], 'a signature was required, but no signature exists'),
    (lambda d: [signature(d, key='KEY-B')], 'signature 1: signature by key KEY-B, which is not among the accepted keys'),
    (lambda d: [b'\x89tampered'], 'signature 1: the signature blob is not a valid OpenPGP signed message'),
    (lambda d: [signature('sha256:' + '0' * 64)],
     'signature 1: it is for manifest digest "sha256:%s", which does not match the image\'s manifest' % ('0' * 64)),
    (lambda d: [b'-----BEGIN PGP SIGNATURE-----'], 'signature 1 is of an unknown format, not a simple-signing signature'),
    (lambda d: [signature(d, key='KEY-B'), signature(d, reference='src.example/other:1')],
     'none of the 2 signatures was accepted: signature 1: signature by key KEY-B, which is not among the accepted keys; '
     'signature 2: its identity "src.example/other:1" is not accepted by matchRepoDigestOrExact for "src.example/img:1"'),
], ids=['unsigned', 'wrong-key', 'tampered-signature', 'tampered-manifest', 'not-a-signature', 'two-bad'])
def test_rejected_signatures_write_nothing(world, signatures_of, reason):
    message = world.reject(world.amd64, signed_by(), {None: signatures_of(world.amd64['digest'])})
    assert message == rejects(SIGNED_BY_TEXT, reason)


@pytest.mark.parametrize('identity, signed, accepted', [
    ({'type': 'matchExact'}, SRC, True),
    ({'type': 'matchExact'}, 'src.example/img:2', False),
    ({'type': 'matchRepository'}, 'src.example/img:other', True),
    ({'type': 'matchRepository'}, 'src.example/elsewhere:1', False),
    ({'type': 'exactReference', 'dockerReference': 'mirror.example/img:1'}, 'mirror.example/img:1', True),
    ({'type': 'exactReference', 'dockerReference': 'mirror.example/img:1'}, SRC, False),
    ({'type': 'exactRepository', 'dockerRepository': 'mirror.example/img'}, 'mirror.example/img:9', True),
    ({'type': 'exactRepository', 'dockerRepository': 'mirror.example/img'}, 'mirror.example/other:9', False),
    ({'type': 'remapIdentity', 'prefix': 'src.example', 'signedPrefix': 'origin.example'}, 'origin.example/img:1', True),
    ({'type': 'remapIdentity', 'prefix': 'src.example', 'signedPrefix': 'origin.example'}, SRC, False),
])
def test_identity_matchers(world, identity, signed, accepted):
    policy = signed_by(identity=identity)
    sigs = {None: [signature(world.amd64['digest'], reference=signed)]}
    if accepted:
        result, dummy = world.copy(world.amd64, policy, sigs)
        assert result.policy['identity'] == signed
    else:
        message = world.reject(world.amd64, policy, sigs)
        assert message.startswith(rejects(SIGNED_BY_TEXT, 'signature 1: its identity "%s" is not accepted by ' % signed))


def test_reject_scope_and_default(world):
    policy = parse_policy({'default': [{'type': 'insecureAcceptAnything'}], 'transports': {'docker': {'src.example': [{'type': 'reject'}]}}})
    assert world.reject(world.amd64, policy) == rejects('reject', 'the policy rejects this image ("type": "reject")',
                                                        'transports.docker["src.example"]')
    # No signature is read for a scope that verifies none.
    assert not _names(world.log, 'src.get_signatures')


def test_insecure_accept_anything_reads_no_signature(world):
    policy = parse_policy({'default': [{'type': 'insecureAcceptAnything'}]})
    result, dummy = world.copy(world.amd64, policy)
    assert result.as_result()['policy'] == {'source': 'inline', 'scope': 'default', 'requirement': 'insecureAcceptAnything'}
    first_dest = next(i for i, entry in enumerate(world.log) if entry[0].startswith('dest.'))
    assert not _names(world.log[:first_dest], 'src.get_signatures')
    assert not world.verifier.calls


def test_check_mode_evaluates(world):
    digest = world.amd64['digest']
    result, dummy = world.copy(world.amd64, signed_by(), {None: [signature(digest)]}, check_mode=True)
    assert result.changed and result.policy['key'] == 'KEY-A'
    assert not _names(world.log, *WRITES)
    world.log.clear()
    expected = rejects(SIGNED_BY_TEXT, 'a signature was required, but no signature exists')
    assert world.reject(world.amd64, signed_by(), {}, check_mode=True) == expected


def test_rejected_copy_keeps_the_existing_destination(world):
    old = world.arm64['digest']
    with pytest.raises(PolicyRejectedError):
        world.copy(world.amd64, signed_by(), {}, held=old)
    # FakeDestination is only created by the reference when opened: it never was, so nothing could move.
    assert not [entry for entry in world.log if entry[0].startswith('dest.')]


def test_missing_key_file_rejects(world, tmp_path):
    missing = str(tmp_path / 'missing.gpg')
    policy = parse_policy({'default': [{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': missing}]})
    message = world.reject(world.amd64, policy, {None: [signature(world.amd64['digest'])]})
    assert message == 'the policy rejects "docker://%s" (scope default, requirement 1 signedBy (GPGKeys, keyPath "%s")): GPG keyring %s does not exist' % (
        SRC, missing, missing)


def test_index_all_evaluates_every_instance_with_its_own_signatures(world):
    amd64, arm64 = world.amd64['digest'], world.arm64['digest']
    sigs = {amd64: [signature(amd64)], arm64: [signature(arm64)]}
    result, dest = world.copy(world.index, signed_by(), sigs, CopyOptions(multi_arch='all'))
    assert str(dest.name_points_at) == world.index['digest']
    first_dest = next(i for i, entry in enumerate(world.log) if entry[0].startswith('dest.'))
    assert _names(world.log[:first_dest], 'src.get_signatures') == [('src.get_signatures', amd64), ('src.get_signatures', arm64)]
    entry = {'scope': SCOPE, 'requirement': 'signedBy', 'key': 'KEY-A', 'identity': SRC}
    assert result.policy == dict(entry, source='inline', images=[dict(entry, digest=amd64), dict(entry, digest=arm64)])


def test_index_all_one_unsigned_instance_rejects_all(world):
    amd64, arm64 = world.amd64['digest'], world.arm64['digest']
    message = world.reject(world.index, signed_by(), {amd64: [signature(amd64)], arm64: [signature(amd64)]}, CopyOptions(multi_arch='all'))
    assert message == 'image %s of the index: %s' % (arm64, rejects(
        SIGNED_BY_TEXT, 'signature 1: it is for manifest digest "%s", which does not match the image\'s manifest' % amd64))


def test_index_system_evaluates_the_chosen_instance(world):
    amd64 = world.amd64['digest']
    result, dest = world.copy(world.index, signed_by(), {amd64: [signature(amd64)]})
    assert str(dest.name_points_at) == amd64
    first_dest = next(i for i, entry in enumerate(world.log) if entry[0].startswith('dest.'))
    assert _names(world.log[:first_dest], 'src.get_signatures') == [('src.get_signatures', amd64)]
    assert 'images' not in result.policy
    # The index's own signatures do not stand in for the instance's.
    world.log.clear()
    assert world.reject(world.index, signed_by(), {None: [signature(world.index['digest'])]}).startswith('image %s of the index: ' % amd64)


def test_index_only_evaluates_the_index(world):
    top = world.index['digest']
    amd64 = world.amd64['digest']
    assert world.reject(world.index, signed_by(), {amd64: [signature(amd64)]}, CopyOptions(multi_arch='index-only'),
                        dest_transport='docker') == rejects(SIGNED_BY_TEXT, 'a signature was required, but no signature exists')
    world.log.clear()
    result, dummy = world.copy(world.index, signed_by(), {None: [signature(top)]}, CopyOptions(multi_arch='index-only'), dest_transport='docker')
    assert result.policy['key'] == 'KEY-A'


def test_no_policy_no_result_key(world):
    result, dummy = world.copy(world.amd64, None)
    assert 'policy' not in result.as_result()
    assert not world.verifier.calls


@pytest.mark.parametrize('kwargs, expected', [
    ({'insecure': True}, 'insecure_policy'),
    ({'data': {'default': [{'type': 'insecureAcceptAnything'}]}}, 'inline'),
])
def test_policy_source_names(kwargs, expected):
    assert policy_source(load_policy(**kwargs)) == expected


def test_policy_source_file_and_none(tmp_path, monkeypatch):
    path = tmp_path / 'policy.json'
    path.write_text('{"default": [{"type": "insecureAcceptAnything"}]}')
    assert policy_source(load_policy(path=str(path))) == str(path)
    monkeypatch.setattr('ansible_collections.ocikit.images.plugins.module_utils.signature.policy_config.SYSTEM_POLICY_PATH',
                        str(tmp_path / 'etc-policy.json'))
    policy = load_policy(home=str(tmp_path / 'home'))
    assert policy_source(policy) == 'none found'
    assert policy.warning == ('no containers-policy.json found (looked for %s and %s): accepting any image without verifying signatures'
                              % (tmp_path / 'home/.config/containers/policy.json', tmp_path / 'etc-policy.json'))
