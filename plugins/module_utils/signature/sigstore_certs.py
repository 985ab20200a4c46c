# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Certificates of sigstore signatures: Fulcio (keyless) and bring-your-own PKI, as containers/image checks them.

containers/image (``signature/fulcio_cert.go``, ``signature/pki_cert.go``) verifies the leaf
certificate of the ``dev.sigstore.cosign/certificate`` annotation with Go's ``x509.Verify``:

* Fulcio: roots = the policy's CA certificates, intermediates = the ``dev.sigstore.cosign/chain``
  annotation minus its last certificate (the root), checked at the Rekor SET's integratedTime (a
  Fulcio certificate lives ten minutes); the OIDC issuer extension (v1 raw string
  1.3.6.1.4.1.57264.1.1 and/or v2 DER string 1.3.6.1.4.1.57264.1.8, equal if both) must be the
  policy's, and the policy's email must be among the SAN emails;
* PKI: roots = ``caRoots``, intermediates = ``caIntermediates`` plus the chain annotation minus its
  last certificate, checked now; the SAN emails must contain the policy's email and/or a SAN DNS
  name (or IP) must match the policy's hostname as Go's ``VerifyHostname`` does.

Both require the code-signing extended key usage along the chain. The chain check is done here
with Go's rules (cryptography's verifier enforces the Web PKI profile, which Fulcio leaves — empty
subject, critical SAN — do not follow): every certificate valid at the time, each signed by the
next (not with SHA-1 or MD5), intermediates must be CAs within their path length, the chain ends
at a given root, no unknown critical extension. Name constraints are not evaluated, so a chain that carries them is
refused (fail closed).
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import json
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, OcikitError, SignatureError
from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_keys

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID
except ImportError:  # pragma: no cover - reported by sigstore_keys.require_cryptography
    pass

#: Fulcio's OIDC issuer extensions (sigstore/fulcio pkg/certificate): v1 holds the raw string, v2 a DER string.
OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1'
OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8'

#: The longest chain searched (leaf + intermediates + root); real chains have 2 or 3 certificates.
MAX_CHAIN_LENGTH = 8


@dataclasses.dataclass(frozen=True)
class FulcioTrustRoot:
    """The ``fulcio`` part of a ``sigstoreSigned`` requirement: CA certificates, OIDC issuer, subject email."""

    ca_certificates: t.Tuple[t.Any, ...]
    oidc_issuer: str
    subject_email: str


@dataclasses.dataclass(frozen=True)
class PKITrustRoot:
    """The ``pki`` part of a ``sigstoreSigned`` requirement: roots, intermediates, and an email and/or hostname."""

    roots: t.Tuple[t.Any, ...]
    intermediates: t.Tuple[t.Any, ...] = ()
    subject_email: str = ''
    subject_hostname: str = ''


def load_certificates(data: bytes, what: str = 'certificates', error: type[OcikitError] = InvalidInputError) -> list[t.Any]:
    """Every ``CERTIFICATE`` PEM block of ``data`` (at least one), as Go's ``CertPool.AppendCertsFromPEM`` reads a CA file.

    Blocks of other types are skipped; a CERTIFICATE block that does not parse is ``error``.
    """
    sigstore_keys.require_cryptography()
    certificates = []
    for kind, der in sigstore_keys.pem_blocks(data):
        if kind != 'CERTIFICATE':
            continue
        try:
            certificates.append(x509.load_der_x509_certificate(der))
        except ValueError:
            raise error('%s holds a certificate that cannot be parsed' % what) from None
    if not certificates:
        raise error('%s holds no PEM certificate' % what)
    return certificates


def _untrusted_certificates(data: bytes, what: str) -> list[t.Any]:
    """sigstore's ``UnmarshalCertificatesFromPEM`` over annotation text: CERTIFICATE blocks only, each must parse."""
    certificates = []
    for kind, der in sigstore_keys.pem_blocks(data):
        if kind != 'CERTIFICATE':
            raise SignatureError('%s: unexpected PEM block %r' % (what, kind[:100]))
        try:
            certificates.append(x509.load_der_x509_certificate(der))
        except ValueError:
            raise SignatureError('%s: a certificate cannot be parsed' % what) from None
    return certificates


def _leaf(certificate_pem: bytes) -> t.Any:
    certificates = _untrusted_certificates(certificate_pem, 'parsing leaf certificate')
    if not certificates:
        raise SignatureError('no certificate found in signature certificate data')
    if len(certificates) > 1:
        raise SignatureError('unexpected multiple certificates present in signature certificate data')
    return certificates[0]


def _chain_intermediates(chain_pem: bytes | None) -> list[t.Any]:
    """The intermediates of a chain annotation: all its certificates but the last (the root, never trusted from there)."""
    if not chain_pem:
        return []
    chain = _untrusted_certificates(chain_pem, 'loading certificate chain')
    return chain[:-1]


def _handled_critical() -> frozenset[t.Any]:
    """Critical extensions Go's x509 understands (and that this module evaluates or that do not restrict)."""
    return frozenset((ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE, ExtensionOID.EXTENDED_KEY_USAGE,
                      ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
                      ExtensionOID.SUBJECT_KEY_IDENTIFIER, ExtensionOID.CERTIFICATE_POLICIES))


def _subject(certificate: t.Any, limit: int = 200) -> str:
    """A certificate's subject for a message (RFC 4514, clipped; ``(empty subject)`` for Fulcio leaves)."""
    text = certificate.subject.rfc4514_string()
    return (text[:limit] + ('...' if len(text) > limit else '')) if text else '(empty subject)'


def _extension(certificate: t.Any, oid: t.Any) -> t.Any:
    try:
        return certificate.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None


def _valid_at(certificate: t.Any, when: datetime.datetime) -> bool:
    # The *_utc properties are cryptography >= 42; older releases return naive UTC datetimes.
    before = getattr(certificate, 'not_valid_before_utc', None) or certificate.not_valid_before.replace(tzinfo=datetime.timezone.utc)
    after = getattr(certificate, 'not_valid_after_utc', None) or certificate.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return before <= when <= after


def _allows_code_signing(certificate: t.Any) -> bool:
    """Go's EKU rule: no EKU extension, anyExtendedKeyUsage, or codeSigning."""
    usages = _extension(certificate, ExtensionOID.EXTENDED_KEY_USAGE)
    if usages is None:
        return True
    return ExtendedKeyUsageOID.CODE_SIGNING in usages or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usages


def _issued_by(child: t.Any, parent: t.Any) -> bool:
    """``parent`` signed ``child``; SHA-1 and MD5 signatures do not count, as in Go's x509 (insecure algorithms)."""
    try:
        if isinstance(child.signature_hash_algorithm, (hashes.SHA1, hashes.MD5)):
            return False
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _check_certificate(certificate: t.Any, when: datetime.datetime) -> str | None:
    """Why ``certificate`` cannot be part of a chain at ``when``, or None."""
    if not _valid_at(certificate, when):
        return 'certificate %s is not valid at %s' % (_subject(certificate), when.isoformat())
    for extension in certificate.extensions:
        if extension.oid == ExtensionOID.NAME_CONSTRAINTS:
            return 'name constraints are not supported'
        if extension.critical and extension.oid not in _handled_critical():
            return 'unhandled critical extension %s' % extension.oid.dotted_string
    if not _allows_code_signing(certificate):
        return 'certificate %s does not allow code signing' % (_subject(certificate))
    return None


def verify_chain(leaf: t.Any, intermediates: t.Sequence[t.Any], roots: t.Sequence[t.Any], when: datetime.datetime) -> list[t.Any]:
    """The chain leaf → … → root that Go's ``x509.Verify`` (code-signing usage, ``when``) would build; SignatureError if none.

    Depth-first over the candidate issuers (intermediates and roots whose subject is the child's
    issuer and whose key verifies the child's signature), at most :data:`MAX_CHAIN_LENGTH` long.
    """
    if not hasattr(leaf, 'verify_directly_issued_by'):
        raise ImportError('the Python library cryptography 40 or later is required to verify sigstore certificates; '
                          'upgrade it with "pip install -U cryptography"', name='cryptography')
    problem = _check_certificate(leaf, when)
    if problem:
        raise SignatureError('veryfing leaf certificate failed: %s' % problem)
    failures: list[str] = []

    def extend(chain: list[t.Any]) -> list[t.Any] | None:
        child = chain[-1]
        for root in roots:
            if root.subject == child.issuer and _issued_by(child, root):
                reason = _check_certificate(root, when)
                if reason is None:
                    return chain + [root]
                failures.append(reason)
        if len(chain) + 1 >= MAX_CHAIN_LENGTH:
            return None
        for candidate in intermediates:
            if candidate in chain or candidate.subject != child.issuer or not _issued_by(child, candidate):
                continue
            reason = _check_certificate(candidate, when)
            constraints = _extension(candidate, ExtensionOID.BASIC_CONSTRAINTS)
            if reason is None and (constraints is None or not constraints.ca):
                reason = 'certificate %s is not a CA' % _subject(candidate)
            if reason is None and constraints.path_length is not None and len(chain) - 1 > constraints.path_length:
                reason = 'too many intermediates for the path length of %s' % _subject(candidate)
            if reason is not None:
                failures.append(reason)
                continue
            found = extend(chain + [candidate])
            if found is not None:
                return found
        return None

    found = extend([leaf])
    if found is None:
        detail = failures[0] if failures else 'certificate signed by unknown authority'
        raise SignatureError('veryfing leaf certificate failed: %s' % detail)
    return found


def _san(certificate: t.Any) -> t.Any:
    return _extension(certificate, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)


def _emails(certificate: t.Any) -> list[str]:
    san = _san(certificate)
    return list(san.get_values_for_type(x509.RFC822Name)) if san is not None else []


def _check_email(certificate: t.Any, email: str) -> None:
    emails = _emails(certificate)
    if email not in emails:
        shown = ' '.join(_go_quote(e) for e in emails[:10]) + (' ...' if len(emails) > 10 else '')
        raise SignatureError('Required email %s not found (got [%s])' % (_go_quote(email), shown))


def _go_quote(value: str, limit: int = 200) -> str:
    """``value`` quoted as Go's %q would (for the usual characters), controls escaped, clipped: it comes from a certificate."""
    return json.dumps(value[:limit] + ('...' if len(value) > limit else ''), ensure_ascii=False)


def _der_string(value: bytes) -> str | None:
    """The text of a DER UTF8String / PrintableString / IA5String with nothing after it, else None."""
    if len(value) < 2 or value[0] not in (0x0C, 0x13, 0x16):
        return None
    length, offset = value[1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or len(value) < 2 + count:
            return None
        length, offset = int.from_bytes(value[2:2 + count], 'big'), 2 + count
    if len(value) != offset + length:
        return None
    try:
        return value[offset:].decode('utf-8')
    except UnicodeDecodeError:
        return None


def fulcio_issuer(certificate: t.Any) -> str:
    """The OIDC issuer a Fulcio certificate records (containers/image ``fulcioIssuerInCertificate``)."""
    v1 = v2 = None
    for extension in certificate.extensions:
        oid = extension.oid.dotted_string
        if oid not in (OID_ISSUER_V1, OID_ISSUER_V2):
            continue
        raw = extension.value.value
        # cryptography refuses duplicate extensions when the certificate is parsed, so each appears once.
        if oid == OID_ISSUER_V1:
            v1 = raw.decode('utf-8', 'replace')
        else:
            v2 = _der_string(raw)
            if v2 is None:
                raise SignatureError('invalid ASN.1 in OIDC issuer v2 extension')
    if v1 is not None and v2 is not None and v1 != v2:
        raise SignatureError('inconsistent OIDC issuer extension values: v1 %s, v2 %s' % (_go_quote(v1), _go_quote(v2)))
    issuer = v1 if v1 is not None else v2
    if issuer is None:
        raise SignatureError('Fulcio certificate is missing the issuer extension')
    return issuer


def verify_fulcio_certificate(trust: FulcioTrustRoot, integrated_time: int, certificate_pem: bytes,
                              chain_pem: bytes | None) -> sigstore_keys.PublicKey:
    """The public key of a Fulcio leaf certificate accepted by ``trust`` at ``integrated_time`` (Rekor's); else SignatureError."""
    sigstore_keys.require_cryptography()
    intermediates = _chain_intermediates(chain_pem)
    leaf = _leaf(certificate_pem)
    when = datetime.datetime.fromtimestamp(integrated_time, datetime.timezone.utc)
    verify_chain(leaf, intermediates, trust.ca_certificates, when)
    issuer = fulcio_issuer(leaf)
    if issuer != trust.oidc_issuer:
        raise SignatureError('Unexpected Fulcio OIDC issuer %s' % _go_quote(issuer))
    _check_email(leaf, trust.subject_email)
    return leaf.public_key()


def _hostname_matches(certificate: t.Any, hostname: str) -> bool:
    """Go's ``Certificate.VerifyHostname``: an IP against the SAN IPs, else a DNS name against the SAN DNS names (one ``*.`` label)."""
    san = _san(certificate)
    if san is None:
        return False
    candidate = hostname[1:-1] if hostname.startswith('[') and hostname.endswith(']') else hostname
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        address = None
    if address is not None:
        return address in san.get_values_for_type(x509.IPAddress)
    wanted = hostname.lower().rstrip('.')
    for name in san.get_values_for_type(x509.DNSName):
        pattern = name.lower().rstrip('.')
        if pattern == wanted:
            return True
        if pattern.startswith('*.') and '.' in wanted and wanted.split('.', 1)[1] == pattern[2:] and wanted.split('.', 1)[0]:
            return True
    return False


def verify_pki_certificate(trust: PKITrustRoot, certificate_pem: bytes, chain_pem: bytes | None,
                           now: datetime.datetime | None = None) -> sigstore_keys.PublicKey:
    """The public key of a leaf certificate accepted by the BYO-PKI ``trust`` (checked at ``now``); else SignatureError."""
    sigstore_keys.require_cryptography()
    if not trust.subject_email and not trust.subject_hostname:
        raise InvalidInputError('PKI verification needs a subject email or a subject hostname')
    intermediates = list(trust.intermediates) + _chain_intermediates(chain_pem)
    leaf = _leaf(certificate_pem)
    verify_chain(leaf, intermediates, trust.roots, now or datetime.datetime.now(datetime.timezone.utc))
    if trust.subject_email:
        _check_email(leaf, trust.subject_email)
    if trust.subject_hostname and not _hostname_matches(leaf, trust.subject_hostname):
        raise SignatureError('Unexpected subject hostname: certificate is not valid for %s' % _go_quote(trust.subject_hostname))
    return leaf.public_key()
