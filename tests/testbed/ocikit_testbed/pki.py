"""A throwaway certificate authority for the test bed.

One CA per test bed directory issues the registry's (and token server's) TLS certificate,
optional client certificates for mutual TLS, and the certificate whose key signs registry
tokens. Everything uses ECDSA P-256: key generation is instant, and Go, OpenSSL and
containers/image all accept it.

Files are laid out the way the consumers expect them:

* ``ca.crt`` — the CA certificate (PEM), what ``--cert-dir`` / ``certs.d`` clients trust;
* ``<name>.crt`` / ``<name>.key`` — issued certificate and PKCS#8 key (PEM);
* ``write_cert_dir()`` builds a containers ``certs.d``-style directory: ``ca.crt`` plus,
  for mutual TLS, ``client.cert`` / ``client.key`` (containers/image pairs ``*.cert`` with
  ``*.key`` of the same stem).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["PKI", "CertPair"]

# Certificates start a day in the past so that small clock differences between the test
# process and the Go registry never make a fresh certificate "not yet valid".
_BACKDATE = datetime.timedelta(days=1)
_LIFETIME = datetime.timedelta(days=30)


@dataclass(frozen=True)
class CertPair:
    """An issued certificate and its private key, both PEM files on disk."""

    cert_file: Path
    key_file: Path

    def cert_pem(self) -> bytes:
        """Return the certificate as PEM bytes."""
        return self.cert_file.read_bytes()

    def key_pem(self) -> bytes:
        """Return the private key as PEM (PKCS#8, unencrypted) bytes."""
        return self.key_file.read_bytes()

    def cert_der(self) -> bytes:
        """Return the certificate as DER bytes (what a JWT ``x5c`` header carries)."""
        cert = x509.load_pem_x509_certificate(self.cert_pem())
        return cert.public_bytes(serialization.Encoding.DER)


class PKI:
    """A self-signed CA that writes its certificate to ``directory/ca.crt``.

    The CA key stays in memory only; certificates issued later are written next to
    ``ca.crt``. Creating a second ``PKI`` on the same directory makes a new, unrelated CA.
    """

    def __init__(self, directory: Path, *, common_name: str = "ocikit testbed CA") -> None:
        """Create the CA and write ``ca.crt`` into ``directory`` (created if missing)."""
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = _now()
        public_key = self._key.public_key()
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.ca_file = self.directory / "ca.crt"
        self.ca_file.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def issue_server_cert(
        self, name: str = "server", hosts: Iterable[str] = ("127.0.0.1", "localhost")
    ) -> CertPair:
        """Issue a TLS server certificate valid for ``hosts`` (IP addresses or DNS names)."""
        hosts = list(hosts)
        sans: list[x509.GeneralName] = []
        for host in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        return self._issue(
            name,
            common_name=hosts[0] if hosts else name,
            sans=sans,
            usages=[ExtendedKeyUsageOID.SERVER_AUTH],
        )

    def issue_client_cert(self, name: str = "client", common_name: str = "alice") -> CertPair:
        """Issue a TLS client certificate (for registries that require mutual TLS)."""
        return self._issue(
            name, common_name=common_name, sans=[], usages=[ExtendedKeyUsageOID.CLIENT_AUTH]
        )

    def issue_signing_cert(self, name: str = "token-signer") -> CertPair:
        """Issue a certificate for a key that signs registry bearer tokens (JWTs).

        The registry trusts it because its ``auth.token.rootcertbundle`` holds this CA and
        the token carries the leaf certificate in its ``x5c`` header.
        """
        return self._issue(name, common_name=name, sans=[], usages=[])

    def write_cert_dir(self, directory: Path, *, client: CertPair | None = None) -> Path:
        """Write a containers ``certs.d``-style directory and return its path.

        It holds ``ca.crt`` and, when ``client`` is given, ``client.cert``/``client.key``.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.ca_file, directory / "ca.crt")
        if client is not None:
            shutil.copyfile(client.cert_file, directory / "client.cert")
            _write_private(directory / "client.key", client.key_pem())
        return directory

    def _issue(
        self,
        name: str,
        *,
        common_name: str,
        sans: list[x509.GeneralName],
        usages: list[x509.ObjectIdentifier],
    ) -> CertPair:
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())

        pair = CertPair(self.directory / f"{name}.crt", self.directory / f"{name}.key")
        pair.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_private(
            pair.key_file,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        return pair


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _write_private(path: Path, data: bytes) -> None:
    # Keys are 0600 like real ones: some clients warn about, or refuse, readable keys.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
