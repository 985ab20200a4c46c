# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Signing as a copy writes: skopeo's ``--sign-by``, ``--sign-by-sigstore-private-key``, ``--sign-identity``.

As containers/image's ``copy/sign.go``: the manifest the destination name will point at (the
index, for an index) is signed for the destination's docker reference (or ``identity``, expanded
as ``busybox:1`` → ``docker.io/library/busybox:1``), and the new signatures are added after the
source's. What differs is idempotence: a signature by the same key, for the same manifest digest
and identity, that the destination (or the source) already holds is reused, not made again, so a
repeated task writes nothing. Everything that can fail without writing fails first: the identity,
the sigstore key and its passphrase (decrypted when the signer is made), the GPG key's presence
in the keyring (its public part is exported to recognise its own signatures), and whether the
destination can store signatures of that kind. A GPG passphrase is only tried by signing; where
the manifest is known before the copy (every copy that does not recompress layers) that happens
before anything is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import fsutil
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, OcikitError, remember_secret
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import FORMAT_SIGSTORE, FORMAT_SIMPLE_SIGNING, signature_format

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ImageReference


def _simple() -> t.Any:
    """signature/simple.py (gpg plumbing, python-gnupg), imported when a GPG key is used: a copy that signs nothing never needs it."""
    from ansible_collections.ocikit.images.plugins.module_utils.signature import simple  # pylint: disable=import-outside-toplevel

    return simple


#: Sigstore private keys decrypted in this process, by (sha256 of the key file, sha256 of the passphrase, no passphrase).
_DECRYPTED: dict[tuple[str, str, bool], t.Any] = {}
_DECRYPTED_LOCK = threading.Lock()

#: Largest private key or passphrase file read.
MAX_KEY_FILE_SIZE = 64 * 1024

#: Names of the two kinds of signature in results.
KIND_GPG = 'gpg'
KIND_SIGSTORE = 'sigstore'
_FORMATS = {KIND_GPG: FORMAT_SIMPLE_SIGNING, KIND_SIGSTORE: FORMAT_SIGSTORE}
# What each kind looks like to a destination asked whether it can store it (only the format prefix counts).
_PROBES = {KIND_GPG: b'\xa3', KIND_SIGSTORE: b'\x00' + FORMAT_SIGSTORE.encode('ascii') + b'\n{}'}


@dataclasses.dataclass(frozen=True)
class SignOptions:
    """What to sign with (skopeo's copy signing flags). ``passphrase`` serves whichever key needs one."""

    gpg_key: str | None = None
    sigstore_private_key: str | None = None
    identity: str | None = None
    passphrase: str | None = dataclasses.field(default=None, repr=False)
    gnupghome: str | None = None

    @property
    def wanted(self) -> bool:
        return bool(self.gpg_key or self.sigstore_private_key)


def read_passphrase_file(path: str) -> str:
    """The passphrase in ``path``: its first line without the line ending, as skopeo's ``--sign-passphrase-file`` reads it."""
    try:
        raw = fsutil.read_document(path, MAX_KEY_FILE_SIZE, InvalidInputError, 'passphrase file %s' % path)
    except FileNotFoundError:
        raise InvalidInputError('passphrase file %s does not exist' % path) from None
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        raise InvalidInputError('passphrase file %s is not UTF-8 text' % path) from None
    return text.split('\n', 1)[0].rstrip('\r')


@dataclasses.dataclass
class SignatureMade:
    """One signature a copy adds (or found already there), for the result."""

    kind: str
    key: str
    identity: str
    blob: bytes | None
    created: bool

    def as_result(self) -> dict[str, t.Any]:
        return {'type': self.kind, 'key': self.key, 'identity': self.identity, 'created': self.created}


class Signer:
    """Makes, and recognises, the signatures one copy adds to the manifest it writes."""

    def __init__(self, options: SignOptions, dest_ref: 'ImageReference') -> None:
        self.options = options
        self.identity = self._identity(options, dest_ref)
        self.kinds: list[str] = []
        self._gpg_fingerprint: str | None = None
        self._gpg_public: bytes | None = None
        self._sigstore_key: t.Any = None
        self._sigstore_public: t.Any = None
        if options.gpg_key:
            self._gpg_fingerprint = _simple().normalize_fingerprint(options.gpg_key)
            _simple().require_gnupg()
            # Its public part recognises the signatures it made before; a key that is not there fails now, not mid-copy.
            self._gpg_public = _simple().export_public_keys([self._gpg_fingerprint], options.gnupghome)
            self.kinds.append(KIND_GPG)
        if options.sigstore_private_key:
            self._load_sigstore_key(options.sigstore_private_key, options.passphrase)
            self.kinds.append(KIND_SIGSTORE)
        if not self.kinds:
            raise InvalidInputError('nothing to sign with: set sign_by or sign_by_sigstore_private_key')

    @staticmethod
    def _identity(options: SignOptions, dest_ref: 'ImageReference') -> str:
        if options.identity:
            return _simple().signing_identity(options.identity)
        ref = dest_ref.docker_reference()
        if ref is None:
            raise InvalidInputError('%s has no docker reference to sign for: set sign_identity (for example registry.example.com/app:1.0)'
                                    % dest_ref)
        return str(ref)

    def _load_sigstore_key(self, path: str, passphrase: str | None) -> None:
        # Imported here: cryptography is needed only by sigstore signing.
        from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_keys  # pylint: disable=import-outside-toplevel

        try:
            data = fsutil.read_document(path, MAX_KEY_FILE_SIZE, InvalidInputError, 'sigstore private key %s' % path)
        except FileNotFoundError:
            raise InvalidInputError('sigstore private key %s does not exist' % path) from None
        # Decrypting costs a deliberately slow scrypt (~0.1 s); a sync signing many images decrypts the same key once.
        # Keyed by the file's bytes and the passphrase's hash, in this process only (a module run).
        key = (hashlib.sha256(data).hexdigest(), hashlib.sha256((passphrase or '').encode('utf-8')).hexdigest(), passphrase is None)
        with _DECRYPTED_LOCK:
            cached = _DECRYPTED.get(key)
        if cached is None:
            cached = sigstore_keys.load_private_key(data, passphrase, what=path)
            with _DECRYPTED_LOCK:
                _DECRYPTED[key] = cached
        self._sigstore_key = cached
        self._sigstore_public = self._sigstore_key.public_key()

    # -- what a destination is asked --------------------------------------------------------

    def probe_blobs(self) -> list[bytes]:
        """One stand-in blob per kind: a destination's ``unstorable_signatures`` looks only at their format."""
        return [_PROBES[kind] for kind in self.kinds]

    def key_name(self, kind: str) -> str:
        if kind == KIND_GPG:
            return t.cast(str, self._gpg_fingerprint)
        from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_keys  # pylint: disable=import-outside-toplevel

        return sigstore_keys.key_fingerprint(self._sigstore_public)

    # -- recognising and making -------------------------------------------------------------

    def _is_own(self, kind: str, blob: bytes, manifest: bytes) -> bool:
        """Whether ``blob`` is a valid signature of ``manifest`` by this signer's ``kind`` key, for this identity."""
        try:
            if kind == KIND_GPG:
                verified = _simple().verify_signature(blob, [t.cast(bytes, self._gpg_public)])
                return verified.docker_reference == self.identity and _simple().manifest_digest(manifest) == verified.manifest_digest
            from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore  # pylint: disable=import-outside-toplevel

            found = sigstore.verify_signature(sigstore.parse_blob(blob), manifest, public_keys=[self._sigstore_public])
            return found.identity == self.identity
        except OcikitError:
            # Another key's signature, a broken one, or one for another image: not ours, and not this signer's business.
            return False

    def existing(self, manifest: bytes, signatures: t.Sequence[bytes]) -> dict[str, bytes]:
        """Per kind, the first of ``signatures`` this signer made for ``manifest`` and its identity."""
        found: dict[str, bytes] = {}
        for blob in signatures:
            fmt = signature_format(blob)
            for kind in self.kinds:
                if kind not in found and _FORMATS[kind] == fmt and self._is_own(kind, blob, manifest):
                    found[kind] = bytes(blob)
        return found

    def make(self, kind: str, manifest: bytes) -> bytes:
        """A new signature of ``manifest`` by the ``kind`` key."""
        if kind == KIND_GPG:
            return _simple().standalone_sign(manifest, self.identity, t.cast(str, self._gpg_fingerprint),
                                             passphrase=self.options.passphrase, gnupghome=self.options.gnupghome)
        from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore  # pylint: disable=import-outside-toplevel

        return sigstore.sign(self._sigstore_key, manifest, self.identity).to_blob()

    def signatures_for(self, manifest: bytes, base: t.Sequence[bytes], present: t.Sequence[bytes], create: bool = True,
                       ) -> tuple[list[bytes], list[SignatureMade]]:
        """The signatures to store with ``manifest``: ``base`` plus one of this signer's per kind.

        A valid one already among ``base`` or ``present`` (what the destination holds) is reused;
        otherwise one is made (with ``create``; in check mode it is only reported as to be created).
        """
        reused = self.existing(manifest, list(base) + [blob for blob in present if blob not in base])
        result = list(base)
        made = []
        for kind in self.kinds:
            blob = reused.get(kind)
            created = blob is None
            if created and create:
                blob = self.make(kind, manifest)
            if blob is not None and blob not in result:
                result.append(blob)
            made.append(SignatureMade(kind, self.key_name(kind), self.identity, blob, created))
        return result, made


def check_destination(signer: Signer, dest: t.Any) -> None:
    """Fail before anything is written when ``dest`` cannot store what ``signer`` makes."""
    if not dest.supports_signatures:
        raise InvalidInputError('cannot sign: %s cannot store signatures' % dest.reference)
    reason = dest.unstorable_signatures(signer.probe_blobs())
    if reason is not None:
        raise InvalidInputError('cannot sign: %s' % reason)


def sign_argument_spec() -> dict[str, dict[str, t.Any]]:
    """The signing options of image_copy and image_sign (doc fragment ``signing``), as skopeo copy's signing flags."""
    return dict(
        sign_by=dict(type='str'),
        sign_by_sigstore_private_key=dict(type='path'),
        sign_identity=dict(type='str'),
        sign_passphrase=dict(type='str', no_log=True),
        sign_passphrase_file=dict(type='path', no_log=False),
        sign_gnupghome=dict(type='path'),
    )


#: Options of :func:`sign_argument_spec` that exclude each other.
SIGN_MUTUALLY_EXCLUSIVE = [['sign_passphrase', 'sign_passphrase_file']]


def sign_options(params: t.Mapping[str, t.Any]) -> SignOptions | None:
    """The SignOptions of a module's parameters; None when it signs nothing (then the other signing options must be unset)."""
    if not params.get('sign_by') and not params.get('sign_by_sigstore_private_key'):
        # sign_gnupghome and sign_passphrase_file say where things are, and module_defaults may set them for tasks that do not
        # sign: they are ignored then. An identity or a passphrase given to a task that signs nothing is a mistake.
        extra = [name for name in ('sign_identity', 'sign_passphrase') if params.get(name)]
        if extra:
            raise InvalidInputError('%s needs sign_by or sign_by_sigstore_private_key' % ', '.join(extra))
        return None
    passphrase = params.get('sign_passphrase')
    if params.get('sign_passphrase_file'):
        passphrase = read_passphrase_file(params['sign_passphrase_file'])
    if passphrase:
        # Kept out of every message this run may produce (errors.redact).
        remember_secret(passphrase)
    return SignOptions(gpg_key=params.get('sign_by') or None, sigstore_private_key=params.get('sign_by_sigstore_private_key') or None,
                       identity=params.get('sign_identity') or None, passphrase=passphrase, gnupghome=params.get('sign_gnupghome') or None)
