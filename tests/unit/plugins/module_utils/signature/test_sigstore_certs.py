# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Certificate chains of sigstore signatures, on a throwaway PKI: each rule of Go's x509.Verify that sigstore_certs applies."""

from __future__ import annotations

import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, SignatureError
from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_certs as certs

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)
CODE_SIGNING = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING])
SERVER_AUTH = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]) if common_name else x509.Name([])


def make_cert(subject: str, issuer=None, ca=True, path_length=None, extensions=(), key=None, hash_algorithm=None,
              not_before=NOW - DAY, not_after=NOW + DAY):
    """(certificate, private key); ``issuer`` is a (certificate, key) pair or None for self-signed."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    issuer_name, issuer_key = (issuer[0].subject, issuer[1]) if issuer else (_name(subject), key)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after))
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hash_algorithm or hashes.SHA256()), key


def pem(*certificates) -> bytes:
    return b''.join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def leaf_extensions(*names, eku=CODE_SIGNING, issuer_v1=None, issuer_v2=None):
    extensions = [(x509.SubjectAlternativeName(list(names) or [x509.RFC822Name('me@example.com')]), True)]
    if eku is not None:
        extensions.append((eku, False))
    if issuer_v1 is not None:
        extensions.append((x509.UnrecognizedExtension(x509.ObjectIdentifier(certs.OID_ISSUER_V1), issuer_v1), False))
    if issuer_v2 is not None:
        extensions.append((x509.UnrecognizedExtension(x509.ObjectIdentifier(certs.OID_ISSUER_V2), issuer_v2), False))
    return extensions


@pytest.fixture(scope='module')
def pki():
    root = make_cert('Root')
    intermediate = make_cert('Intermediate', root, path_length=0)
    leaf = make_cert('', intermediate, ca=None, extensions=leaf_extensions())
    return root, intermediate, leaf


def test_a_good_chain_is_built_leaf_to_root(pki):
    root, intermediate, leaf = pki
    assert certs.verify_chain(leaf[0], [intermediate[0]], [root[0]], NOW) == [leaf[0], intermediate[0], root[0]]


def _rejection(leaf, intermediates, roots, when=NOW) -> str:
    with pytest.raises(SignatureError) as info:
        certs.verify_chain(leaf, intermediates, roots, when)
    return str(info.value)


def test_unknown_authority_and_missing_intermediate(pki):
    root, intermediate, leaf = pki
    other_root = make_cert('Root')[0]  # same name, other key: the signature decides
    assert _rejection(leaf[0], [intermediate[0]], [other_root]) == 'veryfing leaf certificate failed: certificate signed by unknown authority'
    assert _rejection(leaf[0], [], [root[0]]) == 'veryfing leaf certificate failed: certificate signed by unknown authority'


def test_every_certificate_must_be_valid_at_the_time(pki):
    root, intermediate, leaf = pki
    assert _rejection(leaf[0], [intermediate[0]], [root[0]], NOW + 2 * DAY) == (
        'veryfing leaf certificate failed: certificate (empty subject) is not valid at 2026-01-03T00:00:00+00:00')
    old_intermediate = make_cert('Intermediate', root, key=intermediate[1], not_after=NOW - DAY / 2)[0]
    assert _rejection(leaf[0], [old_intermediate], [root[0]]) == (
        'veryfing leaf certificate failed: certificate CN=Intermediate is not valid at 2026-01-01T00:00:00+00:00')


def test_an_intermediate_must_be_a_ca_within_its_path_length(pki):
    root = pki[0]
    not_ca = make_cert('NotCA', root, ca=False)
    leaf = make_cert('', not_ca, ca=None, extensions=leaf_extensions())[0]
    assert _rejection(leaf, [not_ca[0]], [root[0]]) == 'veryfing leaf certificate failed: certificate CN=NotCA is not a CA'
    upper = make_cert('Upper', root, path_length=0)
    lower = make_cert('Lower', upper, path_length=0)
    leaf = make_cert('', lower, ca=None, extensions=leaf_extensions())[0]
    assert _rejection(leaf, [lower[0], upper[0]], [root[0]]) == (
        'veryfing leaf certificate failed: too many intermediates for the path length of CN=Upper')
    relaxed = make_cert('Upper', root, key=upper[1], path_length=1)[0]
    assert len(certs.verify_chain(leaf, [lower[0], relaxed], [root[0]], NOW)) == 4


def test_code_signing_usage_is_required_along_the_chain(pki):
    root, intermediate = pki[0], pki[1]
    server_leaf = make_cert('', intermediate, ca=None, extensions=leaf_extensions(eku=SERVER_AUTH))[0]
    assert _rejection(server_leaf, [intermediate[0]], [root[0]]) == (
        'veryfing leaf certificate failed: certificate (empty subject) does not allow code signing')
    no_eku_leaf = make_cert('', intermediate, ca=None, extensions=leaf_extensions(eku=None))[0]
    assert len(certs.verify_chain(no_eku_leaf, [intermediate[0]], [root[0]], NOW)) == 3
    server_intermediate = make_cert('ServerCA', root, extensions=[(SERVER_AUTH, False)])
    leaf = make_cert('', server_intermediate, ca=None, extensions=leaf_extensions())[0]
    assert _rejection(leaf, [server_intermediate[0]], [root[0]]) == (
        'veryfing leaf certificate failed: certificate CN=ServerCA does not allow code signing')


def test_unknown_critical_extensions_and_name_constraints_are_refused(pki):
    root, intermediate = pki[0], pki[1]
    odd = (x509.UnrecognizedExtension(x509.ObjectIdentifier('1.2.3.4'), b'\x05\x00'), True)
    leaf = make_cert('', intermediate, ca=None, extensions=leaf_extensions() + [odd])[0]
    assert _rejection(leaf, [intermediate[0]], [root[0]]) == 'veryfing leaf certificate failed: unhandled critical extension 1.2.3.4'
    constrained = make_cert('Constrained', root, extensions=[(x509.NameConstraints([x509.DNSName('example.com')], None), True)])
    leaf = make_cert('', constrained, ca=None, extensions=leaf_extensions())[0]
    assert _rejection(leaf, [constrained[0]], [root[0]]) == 'veryfing leaf certificate failed: name constraints are not supported'


def _resigned_with_sha1(certificate: x509.Certificate, issuer_key) -> x509.Certificate:
    """``certificate`` (RSA/SHA-256) made a SHA-1 one: cryptography no longer signs certificates with SHA-1, so swap by hand.

    sha256WithRSAEncryption and sha1WithRSAEncryption OIDs have the same length, and so does an
    RSA-2048 signature, so the DER keeps its shape.
    """
    sha256_rsa, sha1_rsa = bytes.fromhex('2a864886f70d01010b'), bytes.fromhex('2a864886f70d010105')
    tbs = certificate.tbs_certificate_bytes.replace(sha256_rsa, sha1_rsa)
    der = certificate.public_bytes(serialization.Encoding.DER).replace(sha256_rsa, sha1_rsa)
    der = der.replace(certificate.tbs_certificate_bytes.replace(sha256_rsa, sha1_rsa), tbs)
    der = der.replace(certificate.signature, issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1()))
    return x509.load_der_x509_certificate(der)


def test_sha1_signatures_do_not_count():
    key = rsa.generate_private_key(65537, 2048)
    root = make_cert('Root', key=key)
    leaf = make_cert('', root, ca=None, extensions=leaf_extensions())[0]
    assert len(certs.verify_chain(leaf, [], [root[0]], NOW)) == 2
    sha1_leaf = _resigned_with_sha1(leaf, key)
    assert isinstance(sha1_leaf.signature_hash_algorithm, hashes.SHA1)
    # A valid signature: only its hash is too weak.
    key.public_key().verify(sha1_leaf.signature, sha1_leaf.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA1())
    assert _rejection(sha1_leaf, [], [root[0]]) == 'veryfing leaf certificate failed: certificate signed by unknown authority'


# --- Fulcio -----------------------------------------------------------------------------------

ISSUER = 'https://issuer.example'
V2 = b'\x0c' + bytes([len(ISSUER)]) + ISSUER.encode()


@pytest.mark.parametrize('v1, v2, expected', [
    (ISSUER.encode(), None, ISSUER),
    (None, V2, ISSUER),
    (ISSUER.encode(), V2, ISSUER),
    (b'https://other', V2, 'inconsistent OIDC issuer extension values: v1 "https://other", v2 "https://issuer.example"'),
    (None, None, 'Fulcio certificate is missing the issuer extension'),
    (None, V2 + b'\x00', 'invalid ASN.1 in OIDC issuer v2 extension'),
    (None, b'\x04\x01x', 'invalid ASN.1 in OIDC issuer v2 extension'),
])
def test_fulcio_issuer_extensions(pki, v1, v2, expected):
    intermediate = pki[1]
    leaf = make_cert('', intermediate, ca=None, extensions=leaf_extensions(issuer_v1=v1, issuer_v2=v2))[0]
    if expected == ISSUER:
        assert certs.fulcio_issuer(leaf) == ISSUER
    else:
        with pytest.raises(SignatureError) as info:
            certs.fulcio_issuer(leaf)
        assert str(info.value) == expected


def test_fulcio_certificate_end_to_end(pki):
    root, intermediate = pki[0], pki[1]
    leaf = make_cert('', intermediate, ca=None, extensions=leaf_extensions(issuer_v2=V2))
    trust = certs.FulcioTrustRoot((root[0],), ISSUER, 'me@example.com')
    timestamp = int(NOW.timestamp())
    key = certs.verify_fulcio_certificate(trust, timestamp, pem(leaf[0]), pem(intermediate[0], root[0]))
    assert key.public_numbers() == leaf[1].public_key().public_numbers()
    # The last certificate of the chain annotation is never trusted as a root.
    with pytest.raises(SignatureError, match='signed by unknown authority'):
        certs.verify_fulcio_certificate(trust, timestamp, pem(leaf[0]), pem(intermediate[0]))
    with pytest.raises(SignatureError, match=r'^loading certificate chain: unexpected PEM block .PUBLIC KEY.$'):
        certs.verify_fulcio_certificate(trust, timestamp, pem(leaf[0]), b'-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n')
    with pytest.raises(SignatureError, match='^no certificate found in signature certificate data$'):
        certs.verify_fulcio_certificate(trust, timestamp, b'', None)


# --- PKI hostnames ----------------------------------------------------------------------------

@pytest.mark.parametrize('san, hostname, accepted', [
    (x509.DNSName('*.example.com'), 'a.example.com', True),
    (x509.DNSName('*.example.com'), 'A.Example.COM', True),
    (x509.DNSName('*.example.com'), 'a.b.example.com', False),
    (x509.DNSName('*.example.com'), 'example.com', False),
    (x509.DNSName('host.example.com'), 'host.example.com.', True),
    (x509.IPAddress(ipaddress.ip_address('192.0.2.1')), '192.0.2.1', True),
    (x509.IPAddress(ipaddress.ip_address('2001:db8::1')), '[2001:db8::1]', True),
    (x509.DNSName('192.0.2.1'), '192.0.2.1', False),
    (x509.RFC822Name('me@example.com'), 'example.com', False),
])
def test_pki_hostname_matching_as_go(pki, san, hostname, accepted):
    root, intermediate = pki[0], pki[1]
    leaf = make_cert('', intermediate, ca=None, extensions=leaf_extensions(san))[0]
    trust = certs.PKITrustRoot((root[0],), (intermediate[0],), subject_hostname=hostname)
    if accepted:
        assert certs.verify_pki_certificate(trust, pem(leaf), None, NOW) is not None
    else:
        with pytest.raises(SignatureError, match='^Unexpected subject hostname: certificate is not valid for '):
            certs.verify_pki_certificate(trust, pem(leaf), None, NOW)


def test_load_certificates_reads_a_ca_file_as_go_does(pki):
    root, intermediate = pki[0], pki[1]
    data = b'# comment\n' + pem(root[0]) + b'-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n' + pem(intermediate[0])
    assert certs.load_certificates(data) == [root[0], intermediate[0]]
    with pytest.raises(InvalidInputError, match='^caPath holds no PEM certificate$'):
        certs.load_certificates(b'nothing', 'caPath')
    with pytest.raises(InvalidInputError, match='^caPath holds a certificate that cannot be parsed$'):
        certs.load_certificates(b'-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'caPath')
