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

Signatures go where containers/image (``docker_image_dest.go PutSignaturesWithFormat``) puts them,
at commit, after the manifest PUT succeeded:

* simple (GPG) ones to the registries.d *write* lookaside of the repository (``lookaside-staging`` >
  ``sigstore-staging`` > ``lookaside`` > ``sigstore``, else the built-in default directory), with
  :func:`...signature.lookaside.write_signatures`; only a ``file://`` write base can be written;
* sigstore ones, when registries.d sets ``use-sigstore-attachments: true`` for the repository, to
  the OCI manifest tagged ``sha256-<hex>.sig`` in the same repository, as
  ``putSignaturesToSigstoreAttachments`` does: the existing attachment (manifest and config) is
  read, a layer is appended for each signature that no identical layer (media type, size, digest,
  annotations) already holds, the new layer blobs and the config are uploaded and the manifest is
  PUT to the tag (:func:`...signature.sigstore.build_attachment` makes the documents byte for byte
  as containers/image does). Nothing is ever removed from an attachment: containers/image has no
  code that deletes attachment layers, so neither ``remove_signatures`` nor a shorter list takes
  any away (only the lookaside is replaced). When no layer is added, the attachment is left as it is.

A signature that cannot be stored (an ``http(s)`` write lookaside, sigstore signatures without
``use-sigstore-attachments``, an unknown format) is reported by :meth:`DockerImageDestination.unstorable_signatures`
before the copy writes anything.
"""

from __future__ import annotations

import contextlib
import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.config.registries_d import LookasideBase, RegistriesConfig, load_registries_config
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest, verified_stream
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    ImageNotFoundError,
    InvalidDigestError,
    ManifestTooLargeError,
    OcikitError,
    RegistryError,
    SignatureError,
    UnsupportedOperationError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import gojson
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.signature.lookaside import (
    delete_signatures,
    read_signatures,
    sigstore_attachment_tag,
    write_signatures,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import (
    BlobInfo,
    ConnectionOptions,
    ImageDestination,
    ImageReference,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.auth import Scope
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.blobcache import blob_locations
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import RegistryClient, RegistryResponse, join_url
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.source import (
    ACCEPT_MANIFESTS,
    list_repository_tags,
    read_attachment,
    read_attachment_signatures,
    read_descriptor,
)

if t.TYPE_CHECKING:  # pragma: no cover
    import httpx

    from ansible_collections.ocikit.images.plugins.module_utils.signature.sigstore import SigstoreSignature
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerImageReference

#: Blobs of known size up to this are uploaded in one PUT (two requests instead of three).
MONOLITHIC_UPLOAD_MAX = 32 * 1024 * 1024
#: Blobs up to this size are uploaded without a HEAD into a repository the registry did not know (RegistryClient.remember_new_repository).
UNASKED_BLOB_MAX = 256 * 1024
#: Outcomes of :meth:`DockerImageDestination.delete_manifest_outcome`.
DELETE_DONE, DELETE_ABSENT, DELETE_ANSWER_LOST = 'deleted', 'absent', 'deleted, answer lost'
_OCTET_STREAM = 'application/octet-stream'


class _LinkLocks:
    """One lock per (registry, repository, digest), for the writers of this process (threads of one sync or copy).

    The CNCF distribution registry links a blob (or a manifest revision) into a repository by
    rewriting a small file; two requests linking the same one into the same repository at once
    make a third read it half-written: a HEAD answered 500, a manifest PUT refused with
    MANIFEST_BLOB_UNKNOWN. Concurrent copies of images sharing blobs into one repository (tags of
    one image, layers of a base image) are exactly that, so they take turns per blob: the second
    finds the blob present and writes nothing. Locks are dropped when no one holds or waits for them.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str, str], list[t.Any]] = {}

    @contextlib.contextmanager
    def hold(self, registry: str, repository: str, digest: str) -> t.Iterator[None]:
        key = (registry, repository, digest)
        with self._guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if not entry[1]:
                    del self._locks[key]


_LINK_LOCKS = _LinkLocks()


def _sigstore() -> t.Any:
    """signature/sigstore.py, imported on first use: only sigstore signatures need it, and it is this module's costliest import."""
    from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore  # pylint: disable=import-outside-toplevel

    return sigstore


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
    # A child manifest PUT by digest touches no state of this object (only the final put by name does).
    parallel_instance_manifests = True

    def __init__(self, reference: 'DockerImageReference', options: ConnectionOptions, client: RegistryClient | None = None,
                 actions: str = 'pull,push') -> None:
        self.reference = reference
        self.ref = reference.docker_reference()
        self._owns_client = client is None
        self.client = client if client is not None else RegistryClient(self.ref.domain, options)
        self.scopes = (Scope(self.ref.repository, actions),)
        self.options = options
        self._registries: RegistriesConfig | None = None
        self._write_base: LookasideBase | None = None
        # Set by put_manifest (top manifest) and put_signatures; written at commit.
        self._put_digest: Digest | None = None
        self._signatures: list[bytes] | None = None
        # What get_manifest_digest() found (a 1-tuple: its digest or None), until this destination writes or deletes a manifest.
        self._current: tuple[Digest | None] | None = None

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

        Without a valid Docker-Content-Digest the manifest is fetched and hashed. Asked once per
        destination until it writes or deletes a manifest: the plan, the signatures of the image
        the name holds and their comparison all mean the same moment (one HEAD, not three).
        """
        if self._current is None:
            self._current = (self._read_manifest_digest(),)
        return self._current[0]

    def _read_manifest_digest(self) -> Digest | None:
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

    def list_tags(self) -> list[str]:
        """The repository's tags (:func:`...source.list_repository_tags`), asked with this destination's scope (no other token).

        A repository the registry says it does not know (``NAME_UNKNOWN``) raises ImageNotFoundError,
        and its client remembers it new (RegistryClient.remember_new_repository: its blobs are then
        not asked for, see :meth:`try_reuse_blob`); a 404 without that code (a registry without the
        tag list API) raises RegistryError.
        """
        try:
            return list_repository_tags(self.client, self.ref, self.scopes, not_found=RegistryError)
        except ImageNotFoundError:
            self.client.remember_new_repository(self.ref.repository)
            raise

    def has_blob(self, info: BlobInfo) -> bool:
        """HEAD the blob: 200 is present, 404 absent."""
        response = self.client.request('HEAD', self._path('blobs', str(info.digest)), self.scopes,
                                       'checking blob %s in %s' % (info.digest, self.ref.name), ok=(200, 404), follow_redirects=True)
        return response.status == 200

    def blob_lock(self, info: BlobInfo) -> t.ContextManager[None]:
        """This process's writers of ``info`` into this repository take turns (see :class:`_LinkLocks`)."""
        return _LINK_LOCKS.hold(self.ref.domain, self.ref.repository, str(info.digest))

    def try_reuse_blob(self, info: BlobInfo, candidates: t.Sequence[ImageReference] = ()) -> str | None:
        """``'present'``, ``'mounted'`` (cross-repository mount from a candidate) or None.

        A candidate is used when it is in another repository of the same registry. A mount that the
        registry declines (202) opened an upload session instead; it is cancelled and the next
        candidate tried. Errors of a mount attempt are not fatal: the blob is uploaded instead.

        Not asked (no HEAD): a blob this client made present or found there before, and a blob of at
        most :data:`UNASKED_BLOB_MAX` bytes in a repository the registry said it did not know (the
        sync's tag list): such a repository holds no tag, so at most the blobs of an interrupted push,
        and sending a small one again costs about what asking does.
        """
        digest = str(info.digest)
        if self.client.blob_known(self.ref.repository, digest):
            return 'present'
        # A repository that held no tag when the sync listed it holds what this client put there (remembered above) and at most
        # what a push interrupted before its first tag left: a small blob is sent without asking (about the cost of asking).
        unasked = 0 <= info.size <= UNASKED_BLOB_MAX and self.client.repository_is_new(self.ref.repository)
        if not unasked and self.has_blob(info):
            self._seen(digest)
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
                self._seen(digest)
                return 'mounted'
        # Repositories of this registry where this host wrote or found the blob before (another task, an earlier run).
        locations = blob_locations(self.options.blob_info_cache)
        if locations is not None:
            for repository in locations.candidates(self.ref.domain, digest, exclude=self.ref.repository):
                if repository in tried:
                    continue
                tried.add(repository)
                if self._mount(info, repository, hint=True):
                    self._seen(digest)
                    return 'mounted'
                locations.forget(self.ref.domain, repository, digest)
        return None

    def _seen(self, digest: str) -> None:
        """Record that ``digest`` is (verified) in this repository: later copies skip it (this client) or mount from here (blobcache)."""
        self.client.remember_blob(self.ref.repository, digest)
        locations = blob_locations(self.options.blob_info_cache)
        if locations is not None:
            locations.record(self.ref.domain, self.ref.repository, digest)

    def _mount(self, info: BlobInfo, source_repository: str, hint: bool = False) -> bool:
        """Mount ``info`` from ``source_repository``; False when the registry declines (the blob is then uploaded).

        ``hint``: the repository comes from the record of blob locations, not from this copy: whatever goes
        wrong with it (credentials that cannot read it any more, a token server refusing the scope) is a
        declined mount, never the copy's failure.
        """
        what = 'mounting blob %s from %s into %s' % (info.digest, source_repository, self.ref.name)
        scopes = self.scopes + (Scope(source_repository, 'pull'),)
        declined: tuple[type[BaseException], ...] = (OcikitError,) if hint else (RegistryError, ImageNotFoundError, BlobNotFoundError)
        try:
            response = self.client.request('POST', self._path('blobs', 'uploads/'), scopes, what, ok=(201, 202),
                                           params={'mount': str(info.digest), 'from': source_repository})
        except declined:
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
        self._seen(str(info.digest))
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
        self._seen(str(digest))
        return BlobInfo(digest=digest, size=body.count, media_type=media_type)

    # -- signatures ----------------------------------------------------------------------------

    def _registries_config(self) -> RegistriesConfig:
        """registries.d, read once (a broken one is a PolicyError)."""
        if self._registries is None:
            self._registries = load_registries_config(self.options.registries_d)
        return self._registries

    def _lookaside(self) -> LookasideBase:
        """The registries.d write lookaside of the repository (read once; a broken registries.d is a PolicyError)."""
        if self._write_base is None:
            self._write_base = self._registries_config().lookaside_base(self.ref, write=True)
        return self._write_base

    def _use_attachments(self) -> bool:
        """Whether registries.d sets ``use-sigstore-attachments: true`` for the repository."""
        return self._registries_config().use_sigstore_attachments(self.ref)

    @property
    def supports_signatures(self) -> bool:  # type: ignore[override]
        """True when the write lookaside is a local (``file://``) directory or sigstore attachments are enabled.

        Which signatures can actually be stored is :meth:`unstorable_signatures`'s answer.
        """
        return self._lookaside().scheme == 'file' or self._use_attachments()

    def unstorable_signatures(self, signatures: t.Sequence[bytes]) -> str | None:
        """Why ``signatures`` cannot be stored here, or None; asked before anything is written.

        Simple signing ones need a ``file://`` write lookaside; sigstore ones need
        ``use-sigstore-attachments`` (containers/image fails only when it gets to writing them,
        with "writing sigstore attachments is disabled by configuration"); others cannot be stored.
        """
        formats = {_format(blob) for blob in signatures}
        # Imported here: policy.py is needed only when there are signatures to store.
        from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import FORMAT_SIGSTORE, FORMAT_SIMPLE_SIGNING

        other = sorted(formats - {FORMAT_SIMPLE_SIGNING, FORMAT_SIGSTORE})
        if other:
            return ('the registry destination %s can store only simple signing signatures (in the lookaside) and sigstore ones '
                    '(in attachments), not %s ones' % (self.ref.name, ', '.join(other)))
        if FORMAT_SIGSTORE in formats:
            if not self._use_attachments():
                return ('the registry destination %s cannot store sigstore signatures: writing sigstore attachments is disabled by configuration '
                        '(set use-sigstore-attachments: true for it in registries.d)' % self.ref.name)
            for number, blob in enumerate(signatures, start=1):
                if _format(blob) == FORMAT_SIGSTORE:
                    try:
                        _sigstore().parse_blob(blob, 'signature %d' % number)
                    except SignatureError as exc:
                        return 'its %s' % exc.message
        if FORMAT_SIMPLE_SIGNING in formats and self._lookaside().scheme != 'file':
            base = self._lookaside()
            return ('the registry destination %s cannot store simple signing signatures in the %s lookaside %s (%s); '
                    'configure a lookaside-staging (a file:// directory) in registries.d' % (self.ref.name, base.scheme, base.url, base.origin))
        return None

    def get_signatures(self) -> list[bytes]:
        """The signatures of the manifest the reference names now: the write lookaside's, then its sigstore attachment's.

        [] when it names none. The attachment is read only with ``use-sigstore-attachments``, as the
        source reads it, so that a copy compares like with like.
        """
        digest = self.get_manifest_digest()
        if digest is None:
            return []
        signatures: list[bytes] = []
        base = self._lookaside()
        if base.scheme == 'file':
            signatures = read_signatures(base, self.ref, digest)
        if self._use_attachments():
            signatures.extend(read_attachment_signatures(self.client, self.ref, self.scopes, digest))
        return signatures

    def signatures_up_to_date(self, signatures: t.Sequence[bytes]) -> bool:
        """Whether storing ``signatures`` would change nothing: the lookaside holds exactly the simple ones, the attachment each sigstore one.

        An attachment only grows (nothing is removed from it), so one holding more layers than
        ``signatures`` has sigstore ones is up to date; so is any attachment for an empty list
        (``remove_signatures`` leaves attachments alone). Layers are compared as containers/image
        does before appending (media type, size, digest, annotations), without reading their blobs.
        """
        digest = self.get_manifest_digest()
        if digest is None:
            return not signatures
        from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import FORMAT_SIGSTORE

        simple = [bytes(blob) for blob in signatures if _format(blob) != FORMAT_SIGSTORE]
        wanted = [_sigstore().parse_blob(blob) for blob in signatures if _format(blob) == FORMAT_SIGSTORE]
        base = self._lookaside()
        if base.scheme == 'file' and read_signatures(base, self.ref, digest) != simple:
            return False
        if not wanted:
            return True
        manifest = read_attachment(self.client, self.ref, self.scopes, digest)
        if manifest is None:
            return False
        layers = [{'mediaType': media_type, 'size': size, 'digest': str(layer_digest), 'annotations': annotations}
                  for layer_digest, size, media_type, annotations in _sigstore().attachment_layers(manifest)]
        return all(any(_sigstore().layer_matches(layer, signature) for layer in layers) for signature in wanted)

    def put_signatures(self, signatures: t.Sequence[bytes]) -> None:
        """Record ``signatures`` for the manifest put last; written at commit (the lookaside replaced, the attachment appended to)."""
        if signatures:
            reason = self.unstorable_signatures(signatures)
            if reason is not None:
                raise UnsupportedOperationError(reason)
        self._signatures = [bytes(blob) for blob in signatures]

    def _put_attachment(self, digest: Digest, signatures: t.Sequence['SigstoreSignature']) -> int:
        """Append ``signatures`` to the sigstore attachment of ``digest`` as containers/image does; return how many layers were added.

        The existing manifest and config are read (the config at most 4 MiB, digest-verified);
        the new layer blobs, then the config, are uploaded (skipped when the registry has them), and
        the manifest is PUT to the ``sha256-<hex>.sig`` tag last, so that it never names a missing blob.
        """
        existing = read_attachment(self.client, self.ref, self.scopes, digest)
        config = None
        if existing is not None:
            descriptor = gojson.unmarshal(gojson.OCI_MANIFEST, existing, 'sigstore attachment manifest')['config']
            try:
                config_digest = Digest.parse(descriptor['digest'])
            except OcikitError:
                raise SignatureError('the sigstore attachment %s:%s has an invalid config digest'
                                     % (self.ref.name, sigstore_attachment_tag(digest))) from None
            config = read_descriptor(self.client, self.ref, self.scopes, config_digest, mt.MAX_CONFIG_SIZE, ManifestTooLargeError,
                                     'sigstore attachment config %s' % config_digest)
        attachment = _sigstore().build_attachment(signatures, existing, config)
        if not attachment.added:
            return 0
        blobs = [(Digest(key), data, None) for key, data in attachment.layers.items()]
        blobs.append((attachment.config_digest, attachment.config, mt.OCI_CONFIG))
        for blob_digest, data, media_type in blobs:
            info = BlobInfo(digest=blob_digest, size=len(data), media_type=media_type)
            if not self.has_blob(info):
                self.put_blob([data], info)
        tag = sigstore_attachment_tag(digest)
        self.client.request('PUT', self._path('manifests', tag), self.scopes, 'writing the sigstore attachment %s:%s' % (self.ref.name, tag),
                            ok=range(200, 300), headers={'Content-Type': mt.OCI_MANIFEST}, content=attachment.manifest)
        return attachment.added

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
        # The same manifest put at once by two copies (two tags of one image) is linked into the repository twice: turns.
        with _LINK_LOCKS.hold(self.ref.domain, self.ref.repository, str(Digest.from_bytes(raw))):
            try:
                response = self.client.request('PUT', self._path('manifests', target), self.scopes, what, ok=range(200, 300),
                                               headers={'Content-Type': media_type}, content=raw)
            except BlobNotFoundError:
                # A blob remembered present is gone (deleted meanwhile): the next attempt asks the registry again.
                self.client.forget_blobs(self.ref.repository)
                raise
        header = response.headers.get('docker-content-digest')
        if header:
            try:
                algorithm = Digest(header.strip()).algorithm
            except InvalidDigestError as exc:
                raise RegistryError('%s: the registry answered an invalid Docker-Content-Digest' % what, status=response.status) from exc
            self._check_digest_header(response, _manifest_digest(raw, media_type, algorithm), what)
        if instance_digest is None:
            self._current = None
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
        self._current = None
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
        image without them, never signatures without the image). Sigstore ones are appended to the
        attachment first, then the simple ones replace the digest's in the lookaside, as
        containers/image orders them. The lookaside ends up holding exactly the simple ones: an
        empty list (``remove_signatures``) or a list of sigstore ones only removes the digest's
        lookaside signatures, without creating any directory. Attachments are never shrunk.
        """
        if self._signatures is None or self._put_digest is None:
            return
        from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import FORMAT_SIGSTORE

        wanted = [_sigstore().parse_blob(blob) for blob in self._signatures if _format(blob) == FORMAT_SIGSTORE]
        simple = [blob for blob in self._signatures if _format(blob) != FORMAT_SIGSTORE]
        if wanted:
            self._put_attachment(self._put_digest, wanted)
        if simple:
            write_signatures(self._lookaside(), self.ref, self._put_digest, simple)
        elif self._lookaside().scheme == 'file':
            delete_signatures(self._lookaside(), self.ref, self._put_digest)


def _format(blob: bytes) -> str:
    """The stored format of a signature blob (policy.signature_format), ``unknown`` when it has none."""
    from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import signature_format

    return signature_format(blob) or 'unknown'


def _manifest_digest(raw: bytes, media_type: str, algorithm: str) -> Digest:
    """A manifest's digest as registries compute it: of the bytes, except signed schema1 (of the payload without signatures)."""
    from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import guess_media_type, manifest_digest

    base = (media_type or '').split(';', 1)[0].strip().lower()
    if algorithm == 'sha256' and (base in mt.SCHEMA1_TYPES or (not base.startswith('application/vnd.') and guess_media_type(raw) in mt.SCHEMA1_TYPES)):
        return manifest_digest(raw)
    return Digest.from_bytes(raw, algorithm)
