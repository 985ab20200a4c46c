# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Signing as a copy writes (copy/signing.py through copy_image), with real keys and the real ``dir:`` transport.

GPG keys are made once per session (ed25519, in a throwaway GNUPGHOME); sigstore keys with
sigstore_keys.generate_key_pair. Every signature written is checked the way a consumer checks it:
simple.standalone_verify (skopeo standalone-verify's engine) and sigstore.verify_signature.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy import signing
from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.copy.sign_image import sign_in_place
from ansible_collections.ocikit.images.plugins.module_utils.copy.signing import SignOptions, read_passphrase_file, sign_options
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError, InvalidInputError, InvalidReferenceError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore, sigstore_keys, simple
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name
from ansible_collections.ocikit.images.tests.testbed.ocikit_testbed.gpgkeys import GpgHome, gpg_available

pytestmark = pytest.mark.skipif(not gpg_available() or simple.gnupg is None or sigstore_keys.serialization is None,
                                reason='needs gpg, python-gnupg and cryptography')

IDENTITY = 'registry.example.com/team/app:1.0'
PASSPHRASE = 'pass phrase'
OPTIONS = ConnectionOptions()


@pytest.fixture(scope='session')
def gpg_keys(tmp_path_factory):
    """A GNUPGHOME with an unprotected key and a passphrase-protected one; (home, plain fpr, protected fpr, public keyring)."""
    with GpgHome(tmp_path_factory.mktemp('sign-gnupg')) as home:
        plain = home.generate_key('plain <plain@example.com>')
        protected = home.generate_key('protected <protected@example.com>', PASSPHRASE)
        yield str(home), plain, protected, home.export(plain, protected)


@pytest.fixture(scope='session')
def sigstore_key(tmp_path_factory):
    """An encrypted sigstore private key file and its public key."""
    base = tmp_path_factory.mktemp('sigstore-key')
    private, public = sigstore_keys.generate_key_pair(PASSPHRASE)
    (base / 'key.private').write_bytes(private)
    (base / 'key.pub').write_bytes(public)
    return str(base / 'key.private'), sigstore_keys.load_public_key(public)


def write_dir_image(path: Path, layer: bytes = b'layer bytes', signatures: tuple[bytes, ...] = ()) -> bytes:
    """A ``dir:`` image (one uncompressed layer); its manifest bytes."""
    path.mkdir(parents=True)
    config = json.dumps({'architecture': 'amd64', 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids': [
        'sha256:' + hashlib.sha256(layer).hexdigest()]}}).encode()
    for blob in (config, layer):
        (path / hashlib.sha256(blob).hexdigest()).write_bytes(blob)
    manifest = json.dumps({
        'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST,
        'config': {'mediaType': mt.OCI_CONFIG, 'digest': 'sha256:' + hashlib.sha256(config).hexdigest(), 'size': len(config)},
        'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar', 'digest': 'sha256:' + hashlib.sha256(layer).hexdigest(),
                    'size': len(layer)}],
    }).encode()
    (path / 'manifest.json').write_bytes(manifest)
    (path / 'version').write_text('Directory Transport Version: 1.1\n')
    for number, blob in enumerate(signatures, 1):
        (path / ('signature-%d' % number)).write_bytes(blob)
    return manifest


def signatures_in(path: Path) -> list[bytes]:
    found = []
    number = 1
    while (path / ('signature-%d' % number)).exists():
        found.append((path / ('signature-%d' % number)).read_bytes())
        number += 1
    return found


def snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob('*')) if p.is_file()} if path.exists() else {}


def copy(src: Path, dest: Path, sign: SignOptions, check_mode: bool = False, **options):
    return copy_image(parse_image_name('dir:%s' % src), parse_image_name('dir:%s' % dest), OPTIONS, OPTIONS, CopyOptions(**options),
                      check_mode=check_mode, sign=sign)


def test_gpg_signature_is_made_verifies_and_is_not_made_again(tmp_path, gpg_keys):
    home, plain, dummy, public = gpg_keys
    manifest = write_dir_image(tmp_path / 'src')
    sign = SignOptions(gpg_key=plain, identity='registry.example.com/team/app:1.0', gnupghome=home)
    first = copy(tmp_path / 'src', tmp_path / 'dest', sign)
    assert first.changed and first.signed == [{'type': 'gpg', 'key': plain, 'identity': IDENTITY, 'created': True}]
    (blob,) = signatures_in(tmp_path / 'dest')
    assert simple.standalone_verify(manifest, IDENTITY, plain, blob, keyring=public) == Digest.from_bytes(manifest)
    before = snapshot(tmp_path / 'dest')
    second = copy(tmp_path / 'src', tmp_path / 'dest', sign)
    assert not second.changed and second.signed == [{'type': 'gpg', 'key': plain, 'identity': IDENTITY, 'created': False}]
    assert snapshot(tmp_path / 'dest') == before
    checked = copy(tmp_path / 'src', tmp_path / 'dest', sign, check_mode=True)
    assert not checked.changed


def test_sigstore_and_gpg_together_after_the_source_signatures(tmp_path, gpg_keys, sigstore_key):
    home, plain, dummy, public = gpg_keys
    private_path, public_key = sigstore_key
    upstream = b'\x00sigstore-json\n{"mimeType":"x","payload":"","annotations":{}}'
    manifest = write_dir_image(tmp_path / 'src', signatures=(upstream,))
    sign = SignOptions(gpg_key=plain, sigstore_private_key=private_path, passphrase=PASSPHRASE, identity='registry.example.com/team/app:1.0',
                       gnupghome=home)
    result = copy(tmp_path / 'src', tmp_path / 'dest', sign)
    assert [entry['type'] for entry in result.signed] == ['gpg', 'sigstore'] and all(entry['created'] for entry in result.signed)
    assert result.signed[1]['key'] == sigstore_keys.key_fingerprint(public_key)
    stored = signatures_in(tmp_path / 'dest')
    assert len(stored) == 3 and stored[0] == upstream
    assert simple.standalone_verify(manifest, IDENTITY, plain, stored[1], keyring=public) == Digest.from_bytes(manifest)
    verified = sigstore.verify_signature(sigstore.parse_blob(stored[2]), manifest, public_keys=[public_key])
    assert verified.identity == IDENTITY
    assert not copy(tmp_path / 'src', tmp_path / 'dest', sign).changed
    assert signatures_in(tmp_path / 'dest') == stored


def test_a_new_identity_adds_a_signature_and_keeps_the_old(tmp_path, sigstore_key):
    private_path, public_key = sigstore_key
    manifest = write_dir_image(tmp_path / 'src')
    copy(tmp_path / 'src', tmp_path / 'dest', SignOptions(sigstore_private_key=private_path, passphrase=PASSPHRASE, identity='example.com/a:1'))
    result = copy(tmp_path / 'src', tmp_path / 'dest', SignOptions(sigstore_private_key=private_path, passphrase=PASSPHRASE,
                                                                   identity='example.com/b:1'))
    assert result.changed and result.plan.reason.startswith('the destination holds the image but no signature by sha256:')
    identities = [sigstore.verify_signature(sigstore.parse_blob(blob), manifest, public_keys=[public_key]).identity
                  for blob in signatures_in(tmp_path / 'dest')]
    assert identities == ['example.com/a:1', 'example.com/b:1']


def test_remove_signatures_drops_the_source_ones_but_signs(tmp_path, sigstore_key):
    private_path, public_key = sigstore_key
    manifest = write_dir_image(tmp_path / 'src', signatures=(b'\xa3not really a signature',))
    result = copy(tmp_path / 'src', tmp_path / 'dest', SignOptions(sigstore_private_key=private_path, passphrase=PASSPHRASE, identity=IDENTITY),
                  remove_signatures=True)
    (blob,) = signatures_in(tmp_path / 'dest')
    assert result.changed and sigstore.verify_signature(sigstore.parse_blob(blob), manifest, public_keys=[public_key]).identity == IDENTITY


def test_recompressed_layers_are_signed_after_the_transfer(tmp_path, sigstore_key):
    private_path, public_key = sigstore_key
    write_dir_image(tmp_path / 'src')
    sign = SignOptions(sigstore_private_key=private_path, passphrase=PASSPHRASE, identity=IDENTITY)
    first = copy(tmp_path / 'src', tmp_path / 'dest', sign, dest_compress=True)
    written = (tmp_path / 'dest' / 'manifest.json').read_bytes()
    assert first.changed and first.plan.rule == 'content' and json.loads(written)['layers'][0]['mediaType'].endswith('+gzip')
    (blob,) = signatures_in(tmp_path / 'dest')
    assert sigstore.verify_signature(sigstore.parse_blob(blob), written, public_keys=[public_key]).identity == IDENTITY
    before = snapshot(tmp_path / 'dest')
    second = copy(tmp_path / 'src', tmp_path / 'dest', sign, dest_compress=True)
    assert not second.changed and second.signed[0]['created'] is False
    assert snapshot(tmp_path / 'dest') == before


def test_check_mode_predicts_and_writes_nothing(tmp_path, sigstore_key):
    private_path = sigstore_key[0]
    write_dir_image(tmp_path / 'src')
    sign = SignOptions(sigstore_private_key=private_path, passphrase=PASSPHRASE, identity=IDENTITY)
    copy(tmp_path / 'src', tmp_path / 'dest', SignOptions(), remove_signatures=True)
    before = snapshot(tmp_path / 'dest')
    predicted = copy(tmp_path / 'src', tmp_path / 'dest', sign, check_mode=True)
    assert predicted.changed and predicted.signed[0]['created'] is True
    assert snapshot(tmp_path / 'dest') == before


@pytest.mark.parametrize('case', ['no identity', 'wrong sigstore passphrase', 'missing gpg key', 'wrong gpg passphrase', 'bad identity',
                                  'missing key file'])
def test_refusals_write_nothing(tmp_path, gpg_keys, sigstore_key, case):
    home, plain, protected, dummy = gpg_keys
    private_path = sigstore_key[0]
    write_dir_image(tmp_path / 'src')
    dest = tmp_path / 'dest'
    write_dir_image(dest, layer=b'the old image')
    before = snapshot(dest)
    sign, error, message = {
        'no identity': (SignOptions(sigstore_private_key=private_path, passphrase=PASSPHRASE), InvalidInputError,
                        'dir:%s has no docker reference to sign for: set sign_identity (for example registry.example.com/app:1.0)' % dest),
        'wrong sigstore passphrase': (SignOptions(sigstore_private_key=private_path, passphrase='wrong', identity=IDENTITY), InvalidInputError,
                                      'cannot decrypt the private key %s: wrong passphrase?' % private_path),
        'missing gpg key': (SignOptions(gpg_key='A' * 40, identity=IDENTITY, gnupghome=home), ConfigError,
                            'no public key for %s in GNUPGHOME "%s"' % ('A' * 40, home)),
        'wrong gpg passphrase': (SignOptions(gpg_key=protected, passphrase='wrong', identity=IDENTITY, gnupghome=home), InvalidInputError,
                                 'wrong passphrase for signing key %s' % protected),
        'bad identity': (SignOptions(gpg_key=plain, identity='busybox', gnupghome=home), InvalidReferenceError,
                         'the sign identity "busybox" must be a fully specified reference (with a tag or a digest)'),
        'missing key file': (SignOptions(sigstore_private_key=str(tmp_path / 'nope'), identity=IDENTITY), InvalidInputError,
                             'sigstore private key %s does not exist' % (tmp_path / 'nope')),
    }[case]
    with pytest.raises(error) as caught:
        copy(tmp_path / 'src', dest, sign)
    assert str(caught.value) == message
    assert snapshot(dest) == before


def test_protected_gpg_key_with_its_passphrase(tmp_path, gpg_keys):
    home, dummy, protected, public = gpg_keys
    manifest = write_dir_image(tmp_path / 'src')
    copy(tmp_path / 'src', tmp_path / 'dest', SignOptions(gpg_key=protected, passphrase=PASSPHRASE, identity=IDENTITY, gnupghome=home))
    (blob,) = signatures_in(tmp_path / 'dest')
    assert simple.standalone_verify(manifest, IDENTITY, protected, blob, keyring=public) == Digest.from_bytes(manifest)


def test_a_destination_that_cannot_store_signatures_is_refused_before_writing(tmp_path, sigstore_key):
    write_dir_image(tmp_path / 'src')
    with pytest.raises(InvalidInputError) as caught:
        copy_image(parse_image_name('dir:%s' % (tmp_path / 'src')), parse_image_name('docker-archive:%s' % (tmp_path / 'a.tar')), OPTIONS,
                   OPTIONS, CopyOptions(), sign=SignOptions(sigstore_private_key=sigstore_key[0], passphrase=PASSPHRASE, identity=IDENTITY))
    assert str(caught.value) == 'cannot sign: docker-archive:%s cannot store signatures' % (tmp_path / 'a.tar')
    assert not (tmp_path / 'a.tar').exists()


def test_module_options(tmp_path):
    assert sign_options({}) is None
    # Where things are (what module_defaults may set for every task) is ignored when the task signs nothing.
    assert sign_options({'sign_gnupghome': '/g', 'sign_passphrase_file': '/p'}) is None
    with pytest.raises(InvalidInputError, match='^sign_identity, sign_passphrase needs sign_by or sign_by_sigstore_private_key$'):
        sign_options({'sign_identity': 'a/b:1', 'sign_passphrase': 'x'})
    (tmp_path / 'pass').write_bytes(b'secret line\r\nsecond line\n')
    assert read_passphrase_file(str(tmp_path / 'pass')) == 'secret line'
    options = sign_options({'sign_by': 'ab' * 20, 'sign_passphrase_file': str(tmp_path / 'pass')})
    assert options.passphrase == 'secret line' and options.gpg_key == 'ab' * 20 and 'secret' not in repr(options)
    with pytest.raises(InvalidInputError, match='^passphrase file .* does not exist$'):
        read_passphrase_file(str(tmp_path / 'missing'))


def test_sign_in_place_adds_after_the_existing_signatures_once(tmp_path, sigstore_key):
    private_path, public_key = sigstore_key
    old = b'\xa3an older signature'
    manifest = write_dir_image(tmp_path / 'img', signatures=(old,))
    ref = parse_image_name('dir:%s' % (tmp_path / 'img'))
    sign = SignOptions(sigstore_private_key=private_path, passphrase=PASSPHRASE, identity=IDENTITY)
    before = snapshot(tmp_path / 'img')
    predicted = sign_in_place(ref, OPTIONS, sign, check_mode=True)
    assert predicted['changed'] and predicted['diff'] == {'before': {'digest': str(Digest.from_bytes(manifest)), 'signatures': 1},
                                                          'after': {'digest': str(Digest.from_bytes(manifest)), 'signatures': 2}}
    assert snapshot(tmp_path / 'img') == before
    done = sign_in_place(ref, OPTIONS, sign)
    assert done['changed'] and done['signatures'] == 2 and done['signed'][0]['created']
    stored = signatures_in(tmp_path / 'img')
    assert stored[0] == old and sigstore.verify_signature(sigstore.parse_blob(stored[1]), manifest, public_keys=[public_key]).identity == IDENTITY
    assert (tmp_path / 'img' / 'manifest.json').read_bytes() == manifest
    after = snapshot(tmp_path / 'img')
    again = sign_in_place(ref, OPTIONS, sign)
    assert not again['changed'] and again['reason'] == 'the image already holds a valid signature by every key given'
    assert again['diff']['before'] == again['diff']['after'] == {'digest': str(Digest.from_bytes(manifest)), 'signatures': 2}
    assert snapshot(tmp_path / 'img') == after
    with pytest.raises(InvalidInputError, match='^action=sign needs sign_by or sign_by_sigstore_private_key$'):
        sign_in_place(ref, OPTIONS, SignOptions())


def test_a_sigstore_key_is_decrypted_once_per_process(tmp_path, sigstore_key, monkeypatch):
    private_path = sigstore_key[0]
    calls = []
    real = sigstore_keys.load_private_key
    monkeypatch.setattr(sigstore_keys, 'load_private_key', lambda *args, **kwargs: calls.append(args[1]) or real(*args, **kwargs))
    monkeypatch.setattr(signing, '_DECRYPTED', {})
    write_dir_image(tmp_path / 'src')
    for number in range(3):
        copy(tmp_path / 'src', tmp_path / ('dest%d' % number), SignOptions(sigstore_private_key=private_path, passphrase=PASSPHRASE,
                                                                           identity=IDENTITY))
    assert calls == [PASSPHRASE]
    # Another passphrase is another entry: a wrong one still fails.
    with pytest.raises(InvalidInputError, match='wrong passphrase'):
        copy(tmp_path / 'src', tmp_path / 'never', SignOptions(sigstore_private_key=private_path, passphrase='wrong', identity=IDENTITY))
    assert calls == [PASSPHRASE, 'wrong'] and not (tmp_path / 'never').exists()
