"""Simple signing (GPG) against skopeo: what the engine signs passes `skopeo standalone-verify`, and what
`skopeo standalone-sign` makes verifies with the engine, byte-compatible payloads included.

Keys are generated once per session (ed25519, fast) in a GNUPGHOME under pytest's temp dir; skopeo
reads the default GNUPGHOME, so it runs with GNUPGHOME set to that home (signing) or to a home that
holds only the public keys (verifying). No registry and no network are needed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, SignatureError
from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import serialize_schema1, sign_schema1
from ansible_collections.ocikit.images.plugins.module_utils.signature import simple
from ocikit_testbed.gpgkeys import GpgHome, gpg_available

pytestmark = pytest.mark.skipif(shutil.which('skopeo') is None or not gpg_available() or simple.gnupg is None,
                                reason='needs skopeo, gpg and python-gnupg')

PASSPHRASE = 'correct horse battery staple'

MANIFEST = json.dumps({
    'schemaVersion': 2,
    'mediaType': 'application/vnd.oci.image.manifest.v1+json',
    'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'size': 2,
               'digest': 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'},
    'layers': [],
}, indent=3).encode()


@dataclasses.dataclass
class Keys:
    secret_home: str
    public_home: str
    public_keyring: Path
    plain: str
    protected: str


@pytest.fixture(scope='session')
def keys(tmp_path_factory):
    base = tmp_path_factory.mktemp('gpg')
    # No passphrase cache: a wrong passphrase must fail even after the right one was used.
    with GpgHome(base / 'secret') as secret_home, GpgHome(base / 'public') as public_home:
        plain = secret_home.generate_key('ocikit plain <plain@example.com>')
        protected = secret_home.generate_key('ocikit protected <protected@example.com>', PASSPHRASE)
        keyring = secret_home.export_to(base / 'public.gpg', plain, protected)
        public_home.import_keys(keyring)
        yield Keys(str(secret_home), str(public_home), keyring, plain, protected)


def skopeo(home: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GNUPGHOME=home)
    return subprocess.run(['skopeo', *args], capture_output=True, text=True, env=env, check=False, timeout=120)


def skopeo_sign(keys: Keys, tmp_path: Path, manifest: bytes, reference: str, fingerprint: str, passphrase: str | None = None) -> bytes:
    (tmp_path / 'manifest.json').write_bytes(manifest)
    extra = []
    if passphrase is not None:
        (tmp_path / 'passphrase').write_text(passphrase)
        extra = ['--passphrase-file', str(tmp_path / 'passphrase')]
    done = skopeo(keys.secret_home, 'standalone-sign', *extra, '-o', str(tmp_path / 'skopeo.sig'), str(tmp_path / 'manifest.json'),
                  reference, fingerprint)
    assert done.returncode == 0, done.stderr
    return (tmp_path / 'skopeo.sig').read_bytes()


def skopeo_verify(keys: Keys, tmp_path: Path, manifest: bytes, reference: str, fingerprint: str, blob: bytes) -> subprocess.CompletedProcess:
    (tmp_path / 'manifest.json').write_bytes(manifest)
    (tmp_path / 'ours.sig').write_bytes(blob)
    return skopeo(keys.public_home, 'standalone-verify', str(tmp_path / 'manifest.json'), reference, fingerprint, str(tmp_path / 'ours.sig'))


@pytest.mark.parametrize('reference, expected', [
    ('example.com/ns/app:1', 'example.com/ns/app:1'),
    ('busybox:latest', 'docker.io/library/busybox:latest'),
    ('localhost:5000/app@sha256:' + '0' * 64, 'localhost:5000/app@sha256:' + '0' * 64),
])
def test_skopeo_verifies_what_we_sign(keys, tmp_path, reference, expected):
    blob = simple.standalone_sign(MANIFEST, reference, keys.plain, gnupghome=keys.secret_home)
    digest = Digest.from_bytes(MANIFEST)
    done = skopeo_verify(keys, tmp_path, MANIFEST, expected, keys.plain, blob)
    assert done.returncode == 0, done.stderr
    # skopeo 1.9 prints "Signature verified, digest D"; newer ones name the fingerprint too.
    assert done.stdout.startswith('Signature verified')
    assert done.stdout.strip().endswith('digest %s' % digest)
    # skopeo is not accepting anything: another identity or another manifest is refused.
    assert skopeo_verify(keys, tmp_path, MANIFEST, 'example.com/other:1', keys.plain, blob).returncode != 0
    assert skopeo_verify(keys, tmp_path, MANIFEST + b'\n', expected, keys.plain, blob).returncode != 0


def test_skopeo_verifies_what_we_sign_with_a_passphrase(keys, tmp_path):
    blob = simple.standalone_sign(MANIFEST, 'example.com/ns/app:2', keys.protected, passphrase=PASSPHRASE, gnupghome=keys.secret_home)
    done = skopeo_verify(keys, tmp_path, MANIFEST, 'example.com/ns/app:2', keys.protected, blob)
    assert done.returncode == 0, done.stderr
    with pytest.raises(InvalidInputError) as info:
        simple.standalone_sign(MANIFEST, 'example.com/ns/app:2', keys.protected, passphrase='wrong', gnupghome=keys.secret_home)
    assert str(info.value) == 'wrong passphrase for signing key %s' % keys.protected


@pytest.mark.parametrize('reference', ['example.com/ns/app:1', 'busybox'])
def test_we_verify_what_skopeo_signs(keys, tmp_path, reference):
    blob = skopeo_sign(keys, tmp_path, MANIFEST, reference, keys.plain)
    digest = simple.standalone_verify(MANIFEST, reference, keys.plain, blob, keys.public_keyring)
    assert digest == Digest.from_bytes(MANIFEST)
    # skopeo's way: the accepted keys taken from a GNUPGHOME.
    assert simple.standalone_verify(MANIFEST, reference, keys.plain, blob, gnupghome=keys.public_home) == digest
    verified = simple.verify_signature(blob, [keys.public_keyring])
    assert verified.docker_reference == reference  # signed verbatim, as ours does
    assert verified.creator.startswith('atomic ')
    with pytest.raises(SignatureError) as info:
        simple.standalone_verify(MANIFEST, 'example.com/other:1', keys.plain, blob, keys.public_keyring)
    assert info.value.message == 'docker reference "%s" does not match "example.com/other:1"' % reference
    with pytest.raises(SignatureError) as info:
        simple.standalone_verify(MANIFEST, reference, keys.protected, blob, keys.public_keyring)
    assert info.value.message == 'signature by key %s, which is not among the accepted keys (%s)' % (keys.plain, keys.protected)


def test_skopeo_payload_is_byte_identical_to_ours(keys, tmp_path):
    blob = skopeo_sign(keys, tmp_path, MANIFEST, 'docker.io/library/busybox:latest', keys.plain)
    payload, primary, _signing = simple.verify_blob(blob, [keys.public_keyring])
    parsed = simple.parse_payload(payload)
    assert primary == keys.plain
    assert simple.new_payload(parsed.manifest_digest, parsed.docker_reference, parsed.creator, parsed.timestamp) == payload


def test_we_verify_what_skopeo_signs_with_a_passphrase(keys, tmp_path):
    blob = skopeo_sign(keys, tmp_path, MANIFEST, 'example.com/ns/app:3', keys.protected, passphrase=PASSPHRASE)
    assert simple.standalone_verify(MANIFEST, 'example.com/ns/app:3', [keys.protected], blob, [keys.public_keyring]) == Digest.from_bytes(MANIFEST)


def test_schema1_digest_is_the_signed_payload_digest_for_both(keys, tmp_path):
    layer = 'sha256:' + 'a' * 64
    unsigned = serialize_schema1('ns/app', '1', 'amd64', [layer], ['{"id":"%s"}' % ('b' * 64)])
    manifest = sign_schema1(unsigned)
    expected = Digest.from_bytes(unsigned)
    assert expected != Digest.from_bytes(manifest)
    blob = skopeo_sign(keys, tmp_path, manifest, 'example.com/ns/app:1', keys.plain)
    assert simple.standalone_verify(manifest, 'example.com/ns/app:1', keys.plain, blob, keys.public_keyring) == expected
    ours = simple.standalone_sign(manifest, 'example.com/ns/app:1', keys.plain, gnupghome=keys.secret_home)
    done = skopeo_verify(keys, tmp_path, manifest, 'example.com/ns/app:1', keys.plain, ours)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith('digest %s' % expected)
