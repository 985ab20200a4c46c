# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The small interfaces every transport implements.

An ImageReference is immutable and made only by its transport's ``parse_reference``. It opens an
ImageSource to read and an ImageDestination to write. A destination is driven in a fixed order,
which is a contract (as in containers/image's types.go):

    get_manifest_digest()          (optional, for idempotence: what the name holds now)
    has_blob()/try_reuse_blob()    for each blob, any order, maybe in parallel
    put_blob()                     for each blob not present, maybe in parallel
    put_manifest(instance_digest)  child manifests of an index first
    put_manifest()                 the manifest the name will point at
    commit()                       the name moves here, atomically; nothing before this is visible
    close()                        always, in ``finally``

A destination that is closed without commit leaves the name where it was.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest, read_bounded
from ansible_collections.ocikit.images.plugins.module_utils.errors import UnsupportedOperationError

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.reference import DockerReference
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.pool import ClientPool


@dataclasses.dataclass
class ConnectionOptions:
    """How to reach and authenticate to one side of an operation (skopeo's SystemContext)."""

    username: str | None = None
    password: str | None = None
    registry_token: str | None = None
    authfile: str | None = None
    tls_verify: bool = True
    cert_dir: str | None = None
    no_creds: bool = False
    timeout: float = 60.0
    retry_times: int = 3
    retry_delay: float | None = None
    user_agent: str = 'ocikit.images'
    # Blob requests in flight at once against one registry.
    max_parallel: int = 6
    # OCI layouts: keep blobs in this directory (ALGORITHM/HEX) instead of the layout's blobs/, as
    # skopeo's --src-shared-blob-dir / --dest-shared-blob-dir.
    shared_blob_dir: str | None = None
    # Registries: the registries.d directory that says where signatures are kept (skopeo's --registries.d);
    # None looks where containers/image looks ($HOME/.config/containers/registries.d, then /etc/containers/registries.d).
    registries_d: str | None = None
    # Registries: the longest wait, in seconds, for a server's Retry-After or for a used-up rate limit
    # (RateLimit-Remaining: 0) to reset; a longer one fails at once with TooManyRequestsError.
    max_retry_after: float = 60.0
    # docker-daemon: the Docker Engine API address (unix:///PATH, tcp://HOST:PORT, http://HOST:PORT; skopeo's
    # --src-daemon-host / --dest-daemon-host); None is unix:///var/run/docker.sock.
    daemon_host: str | None = None
    # Registries written to: the file recording where blobs were seen (transports.docker.blobcache), so a later copy
    # can mount a blob from another repository of the registry instead of uploading it; None keeps no record.
    blob_info_cache: str | None = None
    # Registries: a shared transports.docker.pool.ClientPool. When set, docker:// sources and destinations
    # take their RegistryClient from it (one per registry and credentials: one token cache, one connection
    # pool, one request count) and leave it open. Not an option of a side: left out of repr and equality,
    # and a pool is never copied (dataclasses.asdict and copy.deepcopy give the same pool back).
    clients: 'ClientPool | None' = dataclasses.field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        # Secrets must never reach logs or results, even through a debugging repr. Not dataclasses.asdict:
        # it deep-copies every value, and the fields that are not options (clients) have no place here.
        values = {field.name: getattr(self, field.name) for field in dataclasses.fields(self) if field.repr}
        for key in ('password', 'registry_token'):
            if values.get(key):
                values[key] = '********'
        return 'ConnectionOptions(%s)' % ', '.join('%s=%r' % kv for kv in sorted(values.items()))


@dataclasses.dataclass(frozen=True)
class BlobInfo:
    """What is known about a blob: its digest, its size (-1 when unknown) and media type."""

    digest: Digest
    size: int = -1
    media_type: str | None = None


class ImageTransport(abc.ABC):
    """A named transport (``docker``, ``oci``, ...)."""

    name: str = ''

    @abc.abstractmethod
    def parse_reference(self, details: str) -> 'ImageReference':
        """Parse the part after ``name:``; raise InvalidReferenceError naming the bad part."""


class ImageReference(abc.ABC):
    """An immutable, parsed image location."""

    transport: ImageTransport

    @abc.abstractmethod
    def string_within_transport(self) -> str:
        """The details part, such that ``transport.parse_reference`` gives this reference back."""

    def docker_reference(self) -> 'DockerReference | None':
        """The docker reference this image is known by, if any (tag/digest included)."""
        return None

    @abc.abstractmethod
    def new_source(self, options: ConnectionOptions) -> 'ImageSource':
        """Open the image for reading."""

    @abc.abstractmethod
    def new_destination(self, options: ConnectionOptions) -> 'ImageDestination':
        """Open the location for writing."""

    def __str__(self) -> str:
        return '%s:%s' % (self.transport.name, self.string_within_transport())


class ImageSource(abc.ABC):
    """Reads manifests and blobs of one image."""

    reference: ImageReference

    @abc.abstractmethod
    def get_manifest(self, instance_digest: Digest | None = None) -> tuple[bytes, str | None]:
        """Return the raw manifest and its media type (None when the transport does not know it).

        Without ``instance_digest``: the manifest the reference names (it may be an index). With
        it: that child of an index. Transports verify the bytes against any digest they were
        asked for and bound the size at 4 MiB.
        """

    @abc.abstractmethod
    def get_blob(self, info: BlobInfo) -> t.ContextManager[tuple[t.Iterator[bytes], int]]:
        """A context manager yielding ``(chunks, size)``; size is -1 when unknown.

        The chunks are the bytes as stored; the caller verifies them against ``info`` (see
        digest.verified_stream). Memory use must not grow with the blob's size.
        """

    def get_blob_bytes(self, info: BlobInfo, limit: int, what: str = 'blob') -> bytes:
        """A small blob (a config) read whole, bounded by ``limit`` and verified."""
        from ansible_collections.ocikit.images.plugins.module_utils.digest import verified_stream

        with self.get_blob(info) as (chunks, dummy):
            return read_bounded(verified_stream(chunks, info.digest, info.size, what), limit, what)

    def get_signatures(self, instance_digest: Digest | None = None) -> list[bytes]:
        """The image's signatures as stored (simple signing blobs), oldest first; [] where the transport keeps none."""
        return []

    def list_tags(self) -> list[str]:
        """Tags of the repository, in the order the store gives them."""
        raise UnsupportedOperationError('%s does not list tags' % self.reference)

    def close(self) -> None:
        """Release connections and locks."""

    def __enter__(self) -> 'ImageSource':
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()


class ImageDestination(abc.ABC):
    """Writes blobs and manifests of one image; see the module docstring for the call order."""

    reference: ImageReference

    #: Manifest media types this destination can store, preferred first.
    supported_manifest_types: tuple[str, ...] = ()
    #: Whether the destination can hold an index / manifest list.
    supports_index: bool = True
    #: What the destination wants done with layers, as containers/image's DesiredLayerCompression:
    #: 'compress' (uncompressed layers are compressed on the way), 'decompress', or 'preserve'.
    desired_layer_compression: str = 'preserve'
    #: Whether the destination can store signatures next to the image (containers/image's SupportsSignatures).
    supports_signatures: bool = False
    #: Whether the destination knows images by ID, the config digest (a Docker daemon, containers-storage), and keeps no
    #: manifest: a name is then up to date when it holds the image ID the copy would write (get_image_id, copy/plan.py).
    by_image_id: bool = False
    #: Whether an index's child manifests (``put_manifest`` with an ``instance_digest``) may be written from several
    #: threads at once (copy/execute.py then writes them in parallel: one round trip to a registry instead of one each).
    parallel_instance_manifests: bool = False

    @abc.abstractmethod
    def get_manifest_digest(self) -> Digest | None:
        """Digest of the manifest the destination name holds now, or None when it holds none."""

    def get_image_id(self) -> Digest | None:
        """For a destination that knows images ``by_image_id``: the ID its name holds now, or None when it holds none."""
        raise NotImplementedError('%s does not know images by ID' % type(self).__name__)

    def loaded_manifest_digest(self, image_id: Digest) -> Digest | None:
        """For a destination that knows images ``by_image_id``: the manifest digest a copy recorded when it loaded ``image_id``."""
        return None

    @abc.abstractmethod
    def has_blob(self, info: BlobInfo) -> bool:
        """True when the blob is already stored (no transfer needed)."""

    def try_reuse_blob(self, info: BlobInfo, candidates: t.Sequence[ImageReference] = ()) -> str | None:
        """Make the blob available without transferring it.

        Returns ``'present'`` when it already is, ``'mounted'`` when it was linked from one of
        ``candidates`` (e.g. a cross-repository mount), or None when it must be uploaded.
        """
        return 'present' if self.has_blob(info) else None

    def blob_lock(self, info: BlobInfo) -> t.ContextManager[None]:
        """Held around making one blob available (try_reuse_blob, then put_blob if needed); by default no lock.

        A destination whose store cannot take two writers of one blob at once (a registry linking it
        into a repository) makes the second writer wait for the first, which then finds it present.
        """
        return contextlib.nullcontext()

    @abc.abstractmethod
    def put_blob(self, chunks: t.Iterable[bytes], info: BlobInfo) -> BlobInfo:
        """Store a blob from ``chunks``; verify it hashes to ``info.digest`` before it is visible."""

    def get_signatures(self) -> list[bytes]:
        """The signatures the destination name holds now ([] where none can be stored)."""
        return []

    def signatures_up_to_date(self, signatures: t.Sequence[bytes]) -> bool:
        """Whether storing ``signatures`` for the manifest the name holds now would change nothing (the copy's up-to-date check).

        By default the stored list must equal ``signatures``; a registry's sigstore attachments only
        grow, so it accepts one that holds more (transports/docker/destination.py).
        """
        return self.get_signatures() == list(signatures)

    def unstorable_signatures(self, signatures: t.Sequence[bytes]) -> str | None:
        """Why ``signatures`` cannot be stored here although ``supports_signatures`` (asked before anything is written), or None."""
        return None

    def put_signatures(self, signatures: t.Sequence[bytes]) -> None:
        """Store ``signatures`` for the manifest put last (replacing any the name had); after put_manifest, before commit."""
        if signatures:
            raise UnsupportedOperationError('%s cannot store signatures' % self.reference)

    def put_blob_unknown(self, chunks: t.Iterable[bytes], media_type: str | None = None) -> BlobInfo:
        """Store a blob whose digest is only known once it has streamed (a layer being recompressed).

        Destinations that can hash while they write (registries, OCI layouts) stream it; this
        default spools it to a temporary file first and then stores it with put_blob.
        """
        import hashlib
        import os
        import tempfile

        from ansible_collections.ocikit.images.plugins.module_utils.fsutil import open_writer

        hasher = hashlib.sha256()
        size = 0
        fd, path = tempfile.mkstemp(prefix='ocikit-blob-')
        try:
            with open_writer(fd) as handle:
                for chunk in chunks:
                    hasher.update(chunk)
                    size += len(chunk)
                    handle.write(chunk)
            info = BlobInfo(Digest('sha256:' + hasher.hexdigest()), size, media_type)
            if self.has_blob(info):
                return info
            with iterate_file(path) as (file_chunks, dummy):
                return self.put_blob(file_chunks, info)
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass

    @abc.abstractmethod
    def put_manifest(self, raw: bytes, media_type: str, instance_digest: Digest | None = None) -> None:
        """Store a manifest. With ``instance_digest``, a child of an index, stored by digest only."""

    @abc.abstractmethod
    def commit(self) -> None:
        """Make the name point at the last manifest put without ``instance_digest``."""

    def close(self) -> None:
        """Release resources; a destination closed without commit leaves the name unchanged."""

    def __enter__(self) -> 'ImageDestination':
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()


@contextlib.contextmanager
def iterate_file(path: str, chunk_size: int = 1024 * 1024) -> t.Iterator[tuple[t.Iterator[bytes], int]]:
    """A get_blob-style context for a local file."""
    import os

    with open(path, 'rb') as handle:
        size = os.fstat(handle.fileno()).st_size

        def chunks() -> t.Iterator[bytes]:
            while True:
                block = handle.read(chunk_size)
                if not block:
                    return
                yield block

        yield chunks(), size
