# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing an image to a registry: blob checks, cross-repository mounts, uploads, manifests.

Uploads open a session (``POST .../blobs/uploads/``) and then either

* send the blob in one ``PUT ?digest=`` with its Content-Length, when its size is known and at
  most :data:`MONOLITHIC_UPLOAD_MAX`; or
* stream it in one ``PATCH`` (with Content-Length when the size is known, chunked otherwise, as
  containers/image does) and close the session with an empty ``PUT ?digest=``.

The bytes pass through ``verified_stream``, which holds back the last chunk until the digest and
size are checked: bad content never completes an upload. An upload is not retried once its body
has started (the bytes are gone); the session is cancelled and the error raised, so the caller can
restart the blob from its source.

Simple (GPG) signatures go where containers/image puts them: the registries.d *write* lookaside of
the repository (``lookaside-staging`` > ``sigstore-staging`` > ``lookaside`` > ``sigstore``, else the
built-in default directory), written with :func:`...signature.lookaside.write_signatures` at commit,
after the manifest PUT succeeded. Only a ``file://`` write base can be written: with an ``http(s)``
one, or with sigstore signatures (attachments are not written yet), the destination says so before
the copy writes anything.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.config.registries_d import LookasideBase, load_registries_config
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest, verified_stream
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    ImageNotFoundError,
    InvalidDigestError,
    ManifestTooLargeError,
    OcikitError,
    RegistryError,
    UnsupportedOperationError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.signature.lookaside import delete_signatures, read_signatures, write_signatures
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import (
    BlobInfo,
    ConnectionOptions,
    ImageDestination,
    ImageReference,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.auth import Scope
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import RegistryClient, RegistryResponse, join_url
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.source import ACCEPT_MANIFESTS

if t.TYPE_CHECKING:  # pragma: no cover
    import httpx

    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerImageReference

#: Blobs of known size up to this are uploaded in one PUT (two requests instead of three).
MONOLITHIC_UPLOAD_MAX = 32 * 1024 * 1024
#: Outcomes of :meth:`DockerImageDestination.delete_manifest_outcome`.
DELETE_DONE, DELETE_ABSENT, DELETE_ANSWER_LOST = 'deleted', 'absent', 'deleted, answer lost'
_OCTET_STREAM = 'application/octet-stream'


class _Counter:
    """Counts the bytes that pass through it."""

    def __init__(self, chunks: t.Iterable[bytes]) -> None:
        self._chunks = chunks
        self.count = 0

    def __iter__(self) -> t.Iterator[bytes]:
        for chunk in self._chunks:
            self.count += len(chunk)
            yield chunk


class DockerImageDestination(ImageDestination):
    """Writes one image to a registry repository with ``pull,push`` access."""

    # Schema1 last: registries that still accept it do so only when configured to (distribution's compatibility.schema1).
    supported_manifest_types = (mt.OCI_MANIFEST, mt.DOCKER_V2S2, mt.OCI_INDEX, mt.DOCKER_LIST, mt.DOCKER_V2S1_SIGNED, mt.DOCKER_V2S1)
    # As containers/image: registries and OCI layouts get compressed layers, docker-archive uncompressed ones.
    desired_layer_compression = 'compress'
    supports_index = True

    def __init__(self, reference: 'DockerImageReference', options: ConnectionOptions, client: RegistryClient | None = None,
                 actions: str = 'pull,push') -> None:
        self.reference = reference
        self.ref = reference.docker_reference()
        self._owns_client = client is None
        self.client = client if client is not None else RegistryClient(self.ref.domain, options)
        self.scopes = (Scope(self.ref.repository, actions),)
        self.options = options
        self._write_base: LookasideBase | None = None
        # Set by put_manifest (top manifest) and put_signatures; written at commit.
        self._put_digest: Digest | None = None
        self._signatures: list[bytes] | None = None

    def close(self) -> None:
        """Close the client unless it was shared with this destination."""
        if self._owns_client:
            self.client.close()

    def _path(self, kind: str, target: str) -> str:
        return '/v2/%s/%s/%s' % (self.ref.repository, kind, target)

    def _manifest_target(self) -> tuple[str, str]:
        """``(path target, display name)`` of the manifest the reference names (tag, else digest)."""
        if self.ref.tag is not None:
            return self.ref.tag, '%s:%s' % (self.ref.name, self.ref.tag)
        return str(self.ref.digest), '%s@%s' % (self.ref.name, self.ref.digest)

    # -- state ---------------------------------------------------------------------------------

    def get_manifest_digest(self) -> Digest | None:
        """The digest the reference holds now (HEAD, Docker-Content-Digest), or None when absent.

        Without a valid Docker-Content-Digest the manifest is fetched and hashed.
        """
        target, name = self._manifest_target()
        what = 'reading the manifest digest of %s' % name
        path = self._path('manifests', target)
        headers = {'Accept': ACCEPT_MANIFESTS}
        head = self.client.request('HEAD', path, self.scopes, what, headers=headers, ok=(200, 404))
        if head.status == 404:
            return None
        header = head.headers.get('docker-content-digest')
        if header and Digest.is_valid(header.strip()):
            return Digest(header.strip())
        try:
            response = self.client.request('GET', path, self.scopes, what, headers=headers, ok=(200,), not_found=ImageNotFoundError,
                                           limit=mt.MAX_MANIFEST_SIZE, limit_error=ManifestTooLargeError)
        except ImageNotFoundError:
            return None
        algorithm = self.ref.digest.algorithm if self.ref.digest is not None else 'sha256'
        return _manifest_digest(response.body, response.headers.get('content-type', ''), algorithm)

    def has_blob(self, info: BlobInfo) -> bool:
        """HEAD the blob: 200 is present, 404 absent."""
        response = self.client.request('HEAD', self._path('blobs', str(info.digest)), self.scopes,
                                       'checking blob %s in %s' % (info.digest, self.ref.name), ok=(200, 404), follow_redirects=True)
        return response.status == 200

    def try_reuse_blob(self, info: BlobInfo, candidates: t.Sequence[ImageReference] = ()) -> str | None:
        """``'present'``, ``'mounted'`` (cross-repository mount from a candidate) or None.

        A candidate is used when it is in another repository of the same registry. A mount that the
        registry declines (202) opened an upload session instead; it is cancelled and the next
        candidate tried. Errors of a mount attempt are not fatal: the blob is uploaded instead.
        """
        if self.has_blob(info):
            return 'present'
        tried: set[str] = set()
        for candidate in candidates:
            other = candidate.docker_reference()
            if other is None or other.domain != self.ref.domain or other.repository == self.ref.repository:
                continue
            if other.repository in tried:
                continue
            tried.add(other.repository)
            if self._mount(info, other.repository):
                return 'mounted'
        return None

    def _mount(self, info: BlobInfo, source_repository: str) -> bool:
        what = 'mounting blob %s from %s into %s' % (info.digest, source_repository, self.ref.name)
        scopes = self.scopes + (Scope(source_repository, 'pull'),)
        try:
            response = self.client.request('POST', self._path('blobs', 'uploads/'), scopes, what, ok=(201, 202),
                                           params={'mount': str(info.digest), 'from': source_repository})
        except (RegistryError, ImageNotFoundError, BlobNotFoundError):
            return False
        if response.status == 201:
            self._check_digest_header(response, info.digest, what)
            return True
        self._cancel(response)
        return False

    # -- uploads -------------------------------------------------------------------------------

    def _location(self, response: RegistryResponse, what: str) -> 'httpx.URL':
        location = response.headers.get('location')
        if not location:
            raise RegistryError('%s: the registry gave no upload Location' % what, status=response.status)
        return join_url(response.url, location, what)

    def _cancel(self, response: RegistryResponse) -> None:
        """Best-effort DELETE of an upload session; sessions also expire on their own.

        docker/distribution wants the ``delete`` action for this (containers/image notes the same),
        which a ``pull,push`` token lacks; a refusal is ignored and costs no second token request.
        """
        try:
            url = self._location(response, 'cancelling an upload')
            self.client.request('DELETE', url, self.scopes, 'cancelling an upload to %s' % self.ref.name,
                                ok=range(200, 300), not_found=RegistryError, reauthorize=False)
        except OcikitError:
            pass

    def _check_digest_header(self, response: RegistryResponse, expected: Digest, what: str) -> None:
        header = response.headers.get('docker-content-digest')
        if not header:
            return
        try:
            actual = Digest(header.strip())
        except InvalidDigestError as exc:
            raise RegistryError('%s: the registry answered an invalid Docker-Content-Digest' % what, status=response.status) from exc
        if actual != expected:
            raise DigestMismatchError('%s: the registry stored %s, expected %s' % (what, actual, expected))

    def put_blob(self, chunks: t.Iterable[bytes], info: BlobInfo) -> BlobInfo:
        """Upload ``chunks``; they must hash to ``info.digest`` (and be ``info.size`` bytes if known)."""
        what = 'uploading blob %s to %s' % (info.digest, self.ref.name)
        opened = self.client.request('POST', self._path('blobs', 'uploads/'), self.scopes, what, ok=(202,))
        session = opened
        body = _Counter(verified_stream(chunks, info.digest, info.size if info.size >= 0 else None, 'blob'))
        try:
            location = self._location(opened, what)
            if 0 <= info.size <= MONOLITHIC_UPLOAD_MAX:
                final = self.client.request(
                    'PUT', location, self.scopes, what, ok=(201,), params={'digest': str(info.digest)}, content=body,
                    headers={'Content-Type': _OCTET_STREAM, 'Content-Length': str(info.size)})
            else:
                headers = {'Content-Type': _OCTET_STREAM}
                if info.size >= 0:
                    headers['Content-Length'] = str(info.size)
                patched = self.client.request('PATCH', location, self.scopes, what, ok=(202, 204), content=body, headers=headers)
                session = patched if patched.headers.get('location') else opened
                location = self._location(session, what)
                final = self.client.request('PUT', location, self.scopes, what, ok=(201,), params={'digest': str(info.digest)},
                                            content=b'', headers={'Content-Type': _OCTET_STREAM, 'Content-Length': '0'})
            self._check_digest_header(final, info.digest, what)
        except Exception:
            self._cancel(session)
            raise
        return BlobInfo(digest=info.digest, size=body.count, media_type=info.media_type)

    def put_blob_unknown(self, chunks: t.Iterable[bytes], media_type: str | None = None) -> BlobInfo:
        """Stream a blob whose digest is computed on the way: POST, one chunked PATCH, then PUT ?digest=.

        The registry checks the digest we name against what it received, as for any upload.
        """
        import hashlib

        what = 'uploading a recompressed blob to %s' % self.ref.name
        opened = self.client.request('POST', self._path('blobs', 'uploads/'), self.scopes, what, ok=(202,))
        session = opened
        hasher = hashlib.sha256()

        def hashed() -> t.Iterator[bytes]:
            for chunk in chunks:
                if chunk:
                    hasher.update(chunk)
                    yield chunk

        body = _Counter(hashed())
        try:
            location = self._location(opened, what)
            patched = self.client.request('PATCH', location, self.scopes, what, ok=(202, 204), content=body,
                                          headers={'Content-Type': _OCTET_STREAM})
            digest = Digest('sha256:' + hasher.hexdigest())
            session = patched if patched.headers.get('location') else opened
            location = self._location(session, what)
            final = self.client.request('PUT', location, self.scopes, what, ok=(201,), params={'digest': str(digest)},
                                        content=b'', headers={'Content-Type': _OCTET_STREAM, 'Content-Length': '0'})
            self._check_digest_header(final, digest, what)
        except Exception:
            self._cancel(session)
            raise
        return BlobInfo(digest=digest, size=body.count, media_type=media_type)

    # -- signatures ----------------------------------------------------------------------------

    def _lookaside(self) -> LookasideBase:
        """The registries.d write lookaside of the repository (read once; a broken registries.d is a PolicyError)."""
        if self._write_base is None:
            self._write_base = load_registries_config(self.options.registries_d).lookaside_base(self.ref, write=True)
        return self._write_base

    @property
    def supports_signatures(self) -> bool:  # type: ignore[override]
        """True when the write lookaside is a local (``file://``) directory; an http(s) one needs a lookaside-staging."""
        return self._lookaside().scheme == 'file'

    def unstorable_signatures(self, signatures: t.Sequence[bytes]) -> str | None:
        """Why ``signatures`` cannot be stored here (sigstore ones: attachments are not written yet), or None."""
        # Imported here: policy.py is needed only when there are signatures to store.
        from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import FORMAT_SIMPLE_SIGNING, signature_format

        formats = sorted({signature_format(blob) or 'unknown' for blob in signatures} - {FORMAT_SIMPLE_SIGNING})
        if formats:
            return ('the registry destination %s can store only simple signing signatures (in the lookaside), not %s ones'
                    % (self.ref.name, ', '.join(formats)))
        return None

    def get_signatures(self) -> list[bytes]:
        """The signatures the write lookaside holds for the manifest the reference names now ([] when it names none)."""
        base = self._lookaside()
        if base.scheme != 'file':
            return []
        digest = self.get_manifest_digest()
        if digest is None:
            return []
        return read_signatures(base, self.ref, digest)

    def put_signatures(self, signatures: t.Sequence[bytes]) -> None:
        """Record ``signatures`` for the manifest put last; they replace that digest's in the lookaside at commit."""
        if signatures:
            reason = self.unstorable_signatures(signatures)
            if reason is not None or not self.supports_signatures:
                raise UnsupportedOperationError(reason or '%s cannot store signatures in the lookaside %s (%s)'
                                                % (self.ref.name, self._lookaside().url, self._lookaside().origin))
        self._signatures = [bytes(blob) for blob in signatures]

    # -- manifests -----------------------------------------------------------------------------

    def put_manifest(self, raw: bytes, media_type: str, instance_digest: Digest | None = None) -> None:
        """PUT the manifest by ``instance_digest``, else by the reference's tag, else its digest."""
        if instance_digest is not None:
            target, name = str(instance_digest), '%s@%s' % (self.ref.name, instance_digest)
            expected: Digest | None = instance_digest
        else:
            target, name = self._manifest_target()
            expected = self.ref.digest if self.ref.tag is None else None
        what = 'writing manifest %s' % name
        if expected is not None:
            expected.verify_bytes(raw, 'manifest %s' % name)
        response = self.client.request('PUT', self._path('manifests', target), self.scopes, what, ok=range(200, 300),
                                       headers={'Content-Type': media_type}, content=raw)
        header = response.headers.get('docker-content-digest')
        if header:
            try:
                algorithm = Digest(header.strip()).algorithm
            except InvalidDigestError as exc:
                raise RegistryError('%s: the registry answered an invalid Docker-Content-Digest' % what, status=response.status) from exc
            self._check_digest_header(response, _manifest_digest(raw, media_type, algorithm), what)
        if instance_digest is None:
            # Signatures are keyed by the digest of the manifest the name now holds (containers/image's manifest.Digest).
            self._put_digest = expected if expected is not None else _manifest_digest(raw, media_type, 'sha256')

    def delete_manifest(self, target: str | None = None) -> bool:
        """DELETE a manifest by digest or, where the registry allows it, a tag alone; False when it was absent (404).

        ``target`` is a digest or a tag of the reference's repository; by default the reference's
        own tag (else digest). Deleting needs the ``delete`` action: open the destination with
        ``actions='pull,delete'``. A registry with deletes disabled answers 405 UNSUPPORTED
        (UnsupportedOperationError); one that cannot delete a tag alone (OCI distribution-spec
        1.1 made it optional; distribution 2.8 lacks it) answers 400 or 405.
        """
        return self.delete_manifest_outcome(target) != DELETE_ABSENT

    def delete_manifest_outcome(self, target: str | None = None) -> str:
        """DELETE as :meth:`delete_manifest`; say ``deleted``, ``absent`` or ``deleted, answer lost``.

        When the first attempt's answer was lost (a reset, a timeout, a gateway error) and the
        retry was answered 404, the first attempt most likely did the deleting: if the target
        is still gone, the outcome is :data:`DELETE_ANSWER_LOST` (this run deleted it, as far
        as anyone can tell) rather than ``absent``.
        """
        if target is None:
            target, name = self._manifest_target()
        else:
            name = '%s%s%s' % (self.ref.name, '@' if Digest.is_valid(target) else ':', target)
        path = self._path('manifests', target)
        response = self.client.request('DELETE', path, self.scopes, 'deleting %s' % name,
                                       ok=(200, 202, 204, 404), not_found=ImageNotFoundError)
        if response.status != 404:
            return DELETE_DONE
        if not response.uncertain:
            return DELETE_ABSENT
        check = self.client.request('HEAD', path, self.scopes, 'checking that %s is gone' % name, headers={'Accept': ACCEPT_MANIFESTS},
                                    ok=(200, 404))
        return DELETE_ANSWER_LOST if check.status == 404 else DELETE_ABSENT

    def commit(self) -> None:
        """Write the signatures given with put_signatures; the registry moved the tag when the final manifest PUT succeeded.

        The copy engine puts that manifest last, after every blob and child manifest, so the tag
        never points at an incomplete image; its signatures follow it (a failure here leaves the
        image without them, never signatures without the image). An empty list removes the
        digest's signatures, without creating any directory (``remove_signatures``).
        """
        if self._signatures is None or self._put_digest is None:
            return
        if self._signatures:
            write_signatures(self._lookaside(), self.ref, self._put_digest, self._signatures)
        elif self._lookaside().scheme == 'file':
            delete_signatures(self._lookaside(), self.ref, self._put_digest)


def _manifest_digest(raw: bytes, media_type: str, algorithm: str) -> Digest:
    """A manifest's digest as registries compute it: of the bytes, except signed schema1 (of the payload without signatures)."""
    from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import guess_media_type, manifest_digest

    base = (media_type or '').split(';', 1)[0].strip().lower()
    if algorithm == 'sha256' and (base in mt.SCHEMA1_TYPES or (not base.startswith('application/vnd.') and guess_media_type(raw) in mt.SCHEMA1_TYPES)):
        return manifest_digest(raw)
    return Digest.from_bytes(raw, algorithm)
