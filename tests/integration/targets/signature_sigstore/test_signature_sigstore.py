"""Sigstore signatures of registry images in attachments (the ``sha256-<hex>.sig`` tag), against the real registry.

A ``dir:`` image carries a sigstore signature made by the engine (Debian's skopeo cannot sign with sigstore) with a
key pair made as ``skopeo generate-sigstore-key`` makes it. image_copy puts it into the registry with a registries.d
that sets ``use-sigstore-attachments``; the attachment is compared byte for byte with what containers/image writes
(research note B.1/B.2), read back by image_copy and by skopeo, and verified by a ``sigstoreSigned`` policy (Debian's
skopeo rejects every sigstoreSigned requirement, "Debian-local change: sigstore disabled", so only ours verifies).
Every registries.d and lookaside lives in a temporary directory.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from ocikit_it import PASSWORD, USER, blob_writes, creds, run_module, skopeo
from ocikit_testbed import LayerSpec, build_image

try:
    from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore, sigstore_keys
    sigstore_keys.require_cryptography()
except Exception:  # pylint: disable=broad-except  # any missing piece skips the target
    sigstore = sigstore_keys = None

pytestmark = pytest.mark.skipif(sigstore is None, reason='needs cryptography to make sigstore keys')

OCI = 'application/vnd.oci.image.manifest.v1+json'
OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
COSIGN = 'application/vnd.dev.cosign.simplesigning.v1+json'


def sha256(data: bytes) -> str:
    return 'sha256:' + hashlib.sha256(data).hexdigest()


@dataclasses.dataclass
class World:
    """A sigstore-signed dir: image, the key pairs, and a registries.d that enables attachments for the registry."""

    signed_dir: Path
    unsigned_ref: str
    private: Path
    blob: bytes
    payload: bytes
    signature_b64: str
    public: Path
    other_public: Path
    registries_d: Path
    lookaside: Path
    digest: str


@pytest.fixture(scope='module')
def world(tmp_path_factory, registry):
    base = tmp_path_factory.mktemp('sigstore')
    image = build_image(base / 'layout', 'v1', layers=[LayerSpec(size=20_000)], seed=11)
    signed_dir = base / 'signed-dir'
    image.to_dir(signed_dir)
    private, public = sigstore_keys.generate_key_pair('pass')
    dummy, other_public = sigstore_keys.generate_key_pair('')
    (base / 'cosign.pub').write_bytes(public)
    (base / 'cosign.private').write_bytes(private)
    (base / 'other.pub').write_bytes(other_public)
    key = sigstore_keys.load_private_key(private, 'pass')
    # The identity is the registry image the policy tests verify (matchRepoDigestOrExact: that very tag).
    signed = sigstore.sign(key, (signed_dir / 'manifest.json').read_bytes(), registry.ref('sig/app', 'v1'))
    blob = signed.to_blob()
    (signed_dir / 'signature-1').write_bytes(blob)
    registries_d = base / 'registries.d'
    registries_d.mkdir()
    lookaside = base / 'lookaside'
    (registries_d / 'testbed.yaml').write_text('docker:\n  %s:\n    lookaside: file://%s\n    use-sigstore-attachments: true\n'
                                               % (registry.host, lookaside))
    return World(signed_dir, image.oci_ref, base / 'cosign.private', blob, signed.payload, signed.annotations[sigstore.SIGNATURE_ANNOTATION],
                 base / 'cosign.pub', base / 'other.pub', registries_d, lookaside, image.manifest_digest)


def attachment_tag(digest: str) -> str:
    return digest.replace(':', '-', 1) + '.sig'


def copy(world, src: str, dest: str, check: bool = False, **extra):
    args = dict({'src': src, 'dest': dest, 'registries_d': str(world.registries_d)}, **extra)
    return run_module('image_copy', args, check=check)


@pytest.fixture(scope='module')
def pushed(world, registry):
    """The signed dir: image copied into sig/app:v1 (no policy: the dir is the trusted origin here)."""
    registry.clear_requests()
    out = copy(world, 'dir:%s' % world.signed_dir, 'docker://' + registry.ref('sig/app', 'v1'), insecure_policy=True, **creds(registry))
    assert not out.failed, out.msg
    return out


def test_attachment_is_what_containers_image_writes(world, registry, pushed):
    assert pushed.result['changed'] and pushed.result['digest'] == world.digest
    with registry.http_client(auth=(USER, PASSWORD)) as http:
        answer = http.get('/v2/sig/app/manifests/%s' % attachment_tag(world.digest), headers={'Accept': OCI})
        assert answer.status_code == 200
        assert answer.headers['content-type'] == OCI
        layer_digest = sha256(world.payload)
        config = b'{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":["%s"]}}' % layer_digest.encode()
        expected = ('{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":%d},"layers":[{"mediaType":"%s",'
                    '"digest":"%s","size":%d,"annotations":{"dev.cosignproject.cosign/signature":"%s"}}]}'
                    % (OCI, OCI_CONFIG, sha256(config), len(config), COSIGN, layer_digest, len(world.payload), world.signature_b64))
        assert answer.content == expected.encode()
        assert http.get('/v2/sig/app/blobs/%s' % sha256(config)).content == config
        assert http.get('/v2/sig/app/blobs/%s' % layer_digest).content == world.payload
    # The signature is over the payload, with the key the policy will name.
    public = sigstore_keys.load_public_key(world.public.read_bytes())
    assert sigstore_keys.verify_raw(public, base64.b64decode(world.signature_b64), world.payload)
    # Nothing went to the lookaside: sigstore signatures live in the registry.
    assert not world.lookaside.exists()


def test_second_copy_changes_nothing(world, registry, pushed):
    registry.clear_requests()
    out = copy(world, 'dir:%s' % world.signed_dir, 'docker://' + registry.ref('sig/app', 'v1'), insecure_policy=True, **creds(registry))
    assert not out.failed, out.msg
    assert not out.result['changed']
    assert blob_writes(registry) == []


def test_registry_to_dir_carries_the_signature_back_byte_identical(world, registry, pushed, tmp_path):
    out = copy(world, 'docker://' + registry.ref('sig/app', 'v1'), 'dir:%s' % (tmp_path / 'back'), insecure_policy=True, **creds(registry))
    assert not out.failed, out.msg
    assert (tmp_path / 'back' / 'signature-1').read_bytes() == world.blob
    assert not (tmp_path / 'back' / 'signature-2').exists()
    # Without use-sigstore-attachments the attachment is not read, as containers/image does not read it.
    plain = tmp_path / 'registries.d'
    plain.mkdir()
    (plain / 'testbed.yaml').write_text('docker:\n  %s:\n    lookaside: file://%s\n' % (registry.host, world.lookaside))
    out = run_module('image_copy', {'src': 'docker://' + registry.ref('sig/app', 'v1'), 'dest': 'dir:%s' % (tmp_path / 'plain'),
                                    'registries_d': str(plain), 'insecure_policy': True, **creds(registry)})
    assert not out.failed, out.msg
    assert not (tmp_path / 'plain' / 'signature-1').exists()


def test_skopeo_reads_the_attachment(world, registry, pushed, tmp_path):
    skopeo('--insecure-policy', '--registries.d', str(world.registries_d), 'copy', *registry.skopeo_flags('src'),
           'docker://' + registry.ref('sig/app', 'v1'), 'dir:%s' % (tmp_path / 'by-skopeo'))
    assert (tmp_path / 'by-skopeo' / 'signature-1').read_bytes() == world.blob


def test_sigstore_signed_policy_accepts_with_the_key_and_rejects_with_another(world, registry, pushed, tmp_path):
    src = 'docker://' + registry.ref('sig/app', 'v1')
    out = copy(world, src, 'dir:%s' % (tmp_path / 'ok'), policy_data={'default': [{'type': 'sigstoreSigned', 'keyPath': str(world.public)}]},
               **creds(registry))
    assert not out.failed, out.msg
    assert out.result['policy']['requirement'] == 'sigstoreSigned'
    assert out.result['policy']['key'].startswith('public key "%s" (' % world.public)
    out = copy(world, src, 'dir:%s' % (tmp_path / 'never'), policy_data={'default': [{'type': 'sigstoreSigned', 'keyPath': str(world.other_public)}]},
               **creds(registry))
    assert out.failed
    assert out.result.get('error_type') == 'PolicyRejectedError', out.result
    assert out.msg.endswith('the policy rejects "%s" (scope default, requirement 1 sigstoreSigned (keyPath "%s")): '
                            'signature 1: cryptographic signature verification failed' % (src, world.other_public)), out.msg
    assert not (tmp_path / 'never').exists()


def test_copy_without_the_setting_fails_before_writing(world, registry, tmp_path):
    plain = tmp_path / 'registries.d'
    plain.mkdir()
    (plain / 'testbed.yaml').write_text('docker:\n  %s:\n    lookaside: file://%s\n' % (registry.host, tmp_path / 'lookaside'))
    registry.clear_requests()
    out = run_module('image_copy', {'src': 'dir:%s' % world.signed_dir, 'dest': 'docker://' + registry.ref('sig/refused', 'v1'),
                                    'registries_d': str(plain), 'insecure_policy': True, **creds(registry)})
    assert out.failed
    assert out.msg.endswith('the source has 1 signature and the registry destination %s cannot store sigstore signatures: writing sigstore '
                            'attachments is disabled by configuration (set use-sigstore-attachments: true for it in registries.d); '
                            'set remove_signatures: true to copy without them' % registry.ref('sig/refused', 'v1').rsplit(':', 1)[0]), out.msg
    assert blob_writes(registry) == []


def test_image_delete_removes_lookaside_signatures_and_keeps_the_attachment(world, registry, tmp_path):
    target = registry.ref('sig/delete', 'v1')
    out = copy(world, 'dir:%s' % world.signed_dir, 'docker://' + target, insecure_policy=True, **creds(registry))
    assert not out.failed, out.msg
    # A simple signature beside it in the write lookaside (deleting does not verify it).
    signatures = world.lookaside / ('sig/delete@%s' % world.digest.replace(':', '='))
    signatures.mkdir(parents=True)
    (signatures / 'signature-1').write_bytes(b'\xa3simple')
    args = {'image': 'docker://' + target, 'registries_d': str(world.registries_d), **creds(registry)}
    predicted = run_module('image_delete', args, check=True)
    assert not predicted.failed, predicted.msg
    assert predicted.result['changed'] and predicted.result['deleted_signatures'] == 1
    assert (signatures / 'signature-1').exists()
    done = run_module('image_delete', args)
    assert not done.failed, done.msg
    assert done.result['changed'] and done.result['deleted_tags'] == ['v1'] and done.result['deleted_signatures'] == 1
    assert list(signatures.iterdir()) == []
    with registry.http_client(auth=(USER, PASSWORD)) as http:
        assert http.head('/v2/sig/delete/manifests/%s' % world.digest, headers={'Accept': OCI}).status_code == 404
        # As skopeo delete: the attachment is another manifest, and stays.
        assert http.head('/v2/sig/delete/manifests/%s' % attachment_tag(world.digest), headers={'Accept': OCI}).status_code == 200
    again = run_module('image_delete', args)
    assert not again.failed and not again.result['changed'] and 'deleted_signatures' not in again.result


def test_registry_to_registry_copies_the_attachment_and_is_idempotent(world, registry, pushed):
    src, dest = 'docker://' + registry.ref('sig/app', 'v1'), 'docker://' + registry.ref('sig/copy', 'v1')
    out = copy(world, src, dest, policy_data={'default': [{'type': 'sigstoreSigned', 'keyPath': str(world.public)}]}, **creds(registry))
    assert not out.failed, out.msg
    assert out.result['changed']
    tag = attachment_tag(world.digest)
    with registry.http_client(auth=(USER, PASSWORD)) as http:
        original = http.get('/v2/sig/app/manifests/%s' % tag, headers={'Accept': OCI}).content
        copied = http.get('/v2/sig/copy/manifests/%s' % tag, headers={'Accept': OCI})
        assert copied.status_code == 200 and copied.content == original
    registry.clear_requests()
    again = copy(world, src, dest, policy_data={'default': [{'type': 'sigstoreSigned', 'keyPath': str(world.public)}]}, **creds(registry))
    assert not again.failed and not again.result['changed'], again.msg
    assert blob_writes(registry) == []


def test_signing_into_the_registry_writes_the_attachment_once(world, registry, tmp_path):
    target = registry.ref('sig/signed', 'v1')
    args = {'sign_by_sigstore_private_key': str(world.private), 'sign_passphrase': 'pass', 'insecure_policy': True, **creds(registry)}
    out = copy(world, world.unsigned_ref, 'docker://' + target, **args)
    assert not out.failed, out.msg
    assert out.result['changed']
    tag = attachment_tag(world.digest)
    with registry.http_client(auth=(USER, PASSWORD)) as http:
        manifest = http.get('/v2/sig/signed/manifests/%s' % tag, headers={'Accept': OCI})
        assert manifest.status_code == 200 and manifest.headers['content-type'] == OCI
        layers = manifest.json()['layers']
        assert [layer['mediaType'] for layer in layers] == [COSIGN]
        payload = http.get('/v2/sig/signed/blobs/%s' % layers[0]['digest']).content
    assert json.loads(payload)['critical']['identity'] == {'docker-reference': target}
    assert json.loads(payload)['critical']['image'] == {'docker-manifest-digest': world.digest}
    # Signed again with the same key: its valid signature is there, nothing is written.
    registry.clear_requests()
    again = copy(world, world.unsigned_ref, 'docker://' + target, **args)
    assert not again.failed and not again.result['changed'], again.msg
    assert blob_writes(registry) == []
    accepted = copy(world, 'docker://' + target, 'dir:%s' % (tmp_path / 'ok'),
                    policy_data={'default': [{'type': 'sigstoreSigned', 'keyPath': str(world.public)}]}, **creds(registry))
    assert not accepted.failed, accepted.msg


def test_image_sign_verifies_the_registry_image_by_its_attachment(world, registry, pushed):
    args = {'action': 'verify', 'image': 'docker://' + registry.ref('sig/app', 'v1'), 'registries_d': str(world.registries_d),
            'sigstore_keys': [str(world.public)], **creds(registry)}
    out = run_module('image_sign', args)
    assert not out.failed, out.msg
    assert out.result['verified'] and out.result['signatures'] == 1 and out.result['formats'] == ['sigstore-json']
    out = run_module('image_sign', dict(args, sigstore_keys=[str(world.other_public)], fail_on_unverified=False))
    assert not out.failed and not out.result['verified'], out.msg
