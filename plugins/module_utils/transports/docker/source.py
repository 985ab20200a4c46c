# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading an image from a registry: manifests (bounded, digest-verified), blobs (streamed), tags, and signatures.

Simple (GPG) signatures of a registry image are not in the registry: they live in the lookaside
store that registries.d names for the repository (containers/image ``docker/docker_image_src.go``
``appendSignaturesFromLookaside``), read here with :mod:`...signature.lookaside`.

Sigstore signatures are read, when registries.d sets ``use-sigstore-attachments: true`` for the
repository, from the OCI manifest tagged ``sha256-<hex>.sig`` in the same repository, as
containers/image ``appendSignaturesFromSigstoreAttachments`` does: a missing tag (404,
MANIFEST_UNKNOWN) means none; any Content-Type but the OCI image manifest's is an error; each
layer is fetched (at most 4 MiB, digest-verified) and carried as a sigstore signature blob, whatever
its media type (attestations too: verification considers only the simplesigning media type).
:func:`read_attachment` and :func:`read_descriptor` are shared with the destination, which appends
to that manifest.
"""

from __future__ import annotations

import contextlib
import re
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.config.registries_d import LookasideBase, RegistriesConfig, load_registries_config
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    BlobNotFoundError,
    ImageNotFoundError,
    ManifestError,
    ManifestTooLargeError,
    OcikitError,
    RegistryError,
    SignatureError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest.media_types import ACCEPTED_MANIFEST_TYPES, MAX_MANIFEST_SIZE
from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import manifest_digest
from ansible_collections.ocikit.images.plugins.module_utils.signature.lookaside import read_signatures, sigstore_attachment_tag
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ConnectionOptions, ImageSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.auth import Scope
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import RegistryClient
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.tls import ssl_context

# None without httpx: RegistryClient reports the missing package by name.
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.httpx_import import httpx

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.reference import DockerReference
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerImageReference

#: Largest page of a tag list read (a page of 100 000 long tags fits).
MAX_TAGS_PAGE = 16 * 1024 * 1024
#: Pages followed at most; a registry that loops its ``Link`` headers is stopped here.
MAX_TAGS_PAGES = 10000
ACCEPT_MANIFESTS = ', '.join(ACCEPTED_MANIFEST_TYPES)

_LINK_RE = re.compile(r'<([^>]*)>((?:\s*;\s*[^;,<]*)*)')


def media_type_of(content_type: str | None) -> str | None:
    """The base type of a ``Content-Type`` header (parameters dropped, lowercase); None when empty."""
    if not content_type:
        return None
    base = content_type.split(';', 1)[0].strip().lower()
    return base or None


def next_link(values: t.Iterable[str]) -> str | None:
    """The target of the ``rel="next"`` entry of ``Link`` header values, if any."""
    for value in values:
        for match in _LINK_RE.finditer(value):
            for param in match.group(2).split(';'):
                name, dummy, rel = param.partition('=')
                if name.strip().lower() == 'rel' and 'next' in rel.strip().strip('"').lower().split():
                    return match.group(1).strip()
    return None


def read_descriptor(client: RegistryClient, ref: 'DockerReference', scopes: t.Sequence[Scope], digest: Digest, limit: int,
                    limit_error: type[OcikitError], what: str) -> bytes:
    """The blob ``digest`` of ``ref``'s repository, read whole: at most ``limit`` bytes (else ``limit_error``) and digest-verified.

    containers/image ``getOCIDescriptorContents``, for the small blobs of an attachment (its
    layers, its config); redirects are followed as for any blob.
    """
    response = client.request('GET', '/v2/%s/blobs/%s' % (ref.repository, digest), scopes, 'reading %s from %s' % (what, ref.name),
                              not_found=BlobNotFoundError, limit=limit, limit_error=limit_error, follow_redirects=True)
    digest.verify_bytes(response.body, '%s in %s' % (what, ref.name))
    return response.body


def read_attachment(client: RegistryClient, ref: 'DockerReference', scopes: t.Sequence[Scope], digest: Digest) -> bytes | None:
    """The sigstore attachment manifest of the manifest ``digest`` (the ``sha256-<hex>.sig`` tag), or None when there is none.

    As containers/image ``getSigstoreAttachmentManifest``: a 404 or a MANIFEST_UNKNOWN / NAME_UNKNOWN
    answer means no attachment; any Content-Type but ``application/vnd.oci.image.manifest.v1+json``
    is an error, and so is a manifest that is not one (checked by ``sigstore.attachment_layers``).
    """
    # Imported here: only a repository with sigstore attachments needs it (and it is the costliest import of this module).
    from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore  # pylint: disable=import-outside-toplevel

    tag = sigstore_attachment_tag(digest)
    name = '%s:%s' % (ref.name, tag)
    try:
        response = client.request('GET', '/v2/%s/manifests/%s' % (ref.repository, tag), scopes,
                                  'reading the sigstore attachment manifest %s' % name, headers={'Accept': ACCEPT_MANIFESTS},
                                  not_found=ImageNotFoundError, limit=MAX_MANIFEST_SIZE, limit_error=ManifestTooLargeError)
    except ImageNotFoundError:
        return None
    try:
        # A missing Content-Type is not the OCI one either: pass '' so that the check is made.
        sigstore.attachment_layers(response.body, media_type_of(response.headers.get('content-type')) or '')
    except ManifestError as exc:
        raise ManifestError('%s: %s' % (name, exc.message)) from None
    return response.body


def read_attachment_signatures(client: RegistryClient, ref: 'DockerReference', scopes: t.Sequence[Scope], digest: Digest) -> list[bytes]:
    """Every layer of the sigstore attachment of ``digest`` as a sigstore signature blob (``\\x00sigstore-json\\n...``), in order.

    Each layer is read at most once (at most 4 MiB, digest- and size-checked), as containers/image
    ``appendSignaturesFromSigstoreAttachments`` reads them; [] when there is no attachment.
    """
    # Imported here: only a repository with sigstore attachments needs it (and it is the costliest import of this module).
    from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore  # pylint: disable=import-outside-toplevel

    manifest = read_attachment(client, ref, scopes, digest)
    if manifest is None:
        return []
    blobs: dict[str, bytes] = {}
    for layer_digest, dummy_size, dummy_type, dummy_annotations in sigstore.attachment_layers(manifest):
        key = str(layer_digest)
        if key not in blobs:
            blobs[key] = read_descriptor(client, ref, scopes, layer_digest, sigstore.MAX_SIGNATURE_SIZE, SignatureError,
                                         'sigstore attachment layer %s' % key)
    try:
        signatures = sigstore.parse_attachment(manifest, blobs)
    except ManifestError as exc:
        raise SignatureError('%s:%s: %s' % (ref.name, sigstore_attachment_tag(digest), exc.message)) from None
    return [signature.to_blob() for signature in signatures]


def list_repository_tags(client: RegistryClient, ref: 'DockerReference', scopes: t.Sequence[Scope],
                         not_found: type[OcikitError] = ImageNotFoundError, page_size: int | None = None) -> list[str]:
    """Every tag of ``ref``'s repository in the registry's order, following ``Link`` pagination, asked with ``scopes``.

    Shared by the source (``pull``) and the destination, which lists with its own ``pull,push`` scope
    so that no other token is fetched for it. A 404 without a registry error code raises ``not_found``
    (``NAME_UNKNOWN`` is always ImageNotFoundError). ``page_size`` asks for pages of at most that many
    tags (the distribution spec's ``n``, on the first request; the registry's ``Link`` carries it on);
    None lets the registry choose, as containers/image does.
    """
    what = 'listing tags of %s' % ref.name
    url: t.Any = '/v2/%s/tags/list' % ref.repository
    if page_size is not None:
        url += '?n=%d' % page_size
    seen_urls: set[str] = set()
    tags: list[str] = []
    known: set[str] = set()
    for dummy in range(MAX_TAGS_PAGES):
        response = client.request('GET', url, scopes, what, not_found=not_found, limit=MAX_TAGS_PAGE, limit_error=RegistryError)
        seen_urls.add(str(response.url))
        data = jsonutil.loads(response.body, '%s: the tag list' % what, RegistryError)
        page = data.get('tags') if isinstance(data, dict) else None
        if page is None and isinstance(data, dict):
            page = []  # "tags": null is how some registries say "no tags"
        if not isinstance(page, list) or not all(isinstance(tag, str) for tag in page):
            raise RegistryError('%s: the tag list is not a list of strings' % what)
        for tag in page:
            if tag not in known:
                known.add(tag)
                tags.append(tag)
        link = next_link(response.headers.get_list('link'))
        if not link:
            return tags
        url = response.url.join(link)
        if not client.same_origin(url):
            raise RegistryError('%s: the next page is on another host (%s); not following it' % (what, url.host))
        if str(url) in seen_urls:
            return tags
    raise RegistryError('%s: more than %d pages' % (what, MAX_TAGS_PAGES))


class DockerImageSource(ImageSource):
    """Reads one image of a registry repository with ``pull`` access."""

    def __init__(self, reference: 'DockerImageReference', options: ConnectionOptions, client: RegistryClient | None = None) -> None:
        self.reference = reference
        self.ref = reference.docker_reference()
        self._owns_client = client is None
        self.client = client if client is not None else RegistryClient(self.ref.domain, options)
        self.scopes = (Scope(self.ref.repository, 'pull'),)
        self.options = options
        # The manifest the name pointed at when it was read (and its digest, when known): its signatures are looked up by its digest.
        self._top_manifest: bytes | None = None
        self._top_digest: Digest | None = None
        self._signatures: dict[str, list[bytes]] = {}
        #: registries.d and the repository's read lookaside, read once per source, not once per digest.
        self._registries: RegistriesConfig | None = None
        self._read_base: LookasideBase | None = None

    def close(self) -> None:
        """Close the client unless it was shared with this source."""
        if self._owns_client:
            self.client.close()

    def _path(self, kind: str, target: str) -> str:
        return '/v2/%s/%s/%s' % (self.ref.repository, kind, target)

    def get_manifest(self, instance_digest: Digest | None = None) -> tuple[bytes, str | None]:
        """GET the manifest (by ``instance_digest``, else the reference's digest, else its tag).

        The body is bounded at 4 MiB and, when asked for by digest, verified against it.
        """
        expected = instance_digest if instance_digest is not None else self.ref.digest
        target = str(expected) if expected is not None else t.cast(str, self.ref.tag)
        name = '%s%s%s' % (self.ref.name, '@' if expected is not None else ':', target)
        response = self.client.request(
            'GET', self._path('manifests', target), self.scopes, 'reading manifest %s' % name,
            headers={'Accept': ACCEPT_MANIFESTS}, not_found=ImageNotFoundError,
            limit=MAX_MANIFEST_SIZE, limit_error=ManifestTooLargeError)
        if expected is not None:
            expected.verify_bytes(response.body, 'manifest %s' % name)
        if instance_digest is None:
            # A tag may move between two reads: the signatures must be those of these bytes.
            self._top_manifest, self._top_digest = response.body, expected
        return response.body, media_type_of(response.headers.get('content-type'))

    def head_manifest(self) -> tuple[Digest, str] | None:
        """What a ``HEAD`` of the manifest the reference names says: ``(digest, media type)``; None when it does not say both.

        The digest is the registry's ``Docker-Content-Digest`` (as a destination's current digest is
        read), the media type its ``Content-Type``; a reference with a digest must get that digest
        back. No bytes come, so nothing is verified: a caller that needs the manifest reads it with
        :meth:`get_manifest`, which also gives the errors their usual wording. None too when the
        registry answers 404 (the GET then says why) or 405 (HEAD refused). The request is
        containers/image's ``docker.GetDigest`` (``docker/docker_image.go``); its image source
        itself always GETs.
        """
        expected = self.ref.digest
        target = str(expected) if expected is not None else t.cast(str, self.ref.tag)
        name = '%s%s%s' % (self.ref.name, '@' if expected is not None else ':', target)
        response = self.client.request('HEAD', self._path('manifests', target), self.scopes, 'reading manifest %s' % name,
                                       headers={'Accept': ACCEPT_MANIFESTS}, ok=(200, 404, 405))
        header = (response.headers.get('docker-content-digest') or '').strip()
        media_type = media_type_of(response.headers.get('content-type'))
        if response.status != 200 or media_type is None or not Digest.is_valid(header):
            return None
        digest = Digest(header)
        if expected is not None and digest != expected:
            return None
        return digest, media_type

    def get_signatures(self, instance_digest: Digest | None = None) -> list[bytes]:
        """The signatures of the image (or of ``instance_digest``): the lookaside's, then its sigstore attachment's.

        As containers/image: the lookaside for the repository (``lookaside`` of the most specific
        registries.d scope, else the built-in default directory), ``<base>/<path>@<algo>=<hex>/signature-N``
        read until one is missing. An http(s) lookaside is read with the registry's TLS settings and
        without its credentials (they are for the registry, not for a signature server). Then, when
        registries.d sets ``use-sigstore-attachments`` for the repository, every layer of the
        ``sha256-<hex>.sig`` attachment, as a sigstore blob (:func:`read_attachment_signatures`),
        read with this source's client and scope. Read once per digest.
        """
        digest = instance_digest
        if digest is None:
            if self._top_manifest is None:
                self.get_manifest()
            if self._top_digest is None:
                # containers/image's manifest.Digest: a signed schema1 manifest counts without its JWS signatures.
                self._top_digest = manifest_digest(t.cast(bytes, self._top_manifest))
            digest = self._top_digest
        key = str(digest)
        if key not in self._signatures:
            if self._registries is None:
                self._registries = load_registries_config(self.options.registries_d)
                self._read_base = self._registries.lookaside_base(self.ref)
            base = t.cast(LookasideBase, self._read_base)
            if base.scheme in ('http', 'https') and httpx is not None:
                with httpx.Client(verify=ssl_context(self.ref.domain, self.options), trust_env=True,
                                  timeout=httpx.Timeout(float(self.options.timeout)),
                                  headers={'User-Agent': self.options.user_agent}) as http:
                    signatures = read_signatures(base, self.ref, digest, client=http)
            else:
                signatures = read_signatures(base, self.ref, digest)
            if self._registries.use_sigstore_attachments(self.ref):
                signatures.extend(read_attachment_signatures(self.client, self.ref, self.scopes, digest))
            self._signatures[key] = signatures
        return list(self._signatures[key])

    @contextlib.contextmanager
    def get_blob(self, info: BlobInfo) -> t.Iterator[tuple[t.Iterator[bytes], int]]:
        """Stream the blob: ``(chunks, size)``, size from Content-Length or -1.

        Redirects (to a CDN or object store) are followed, without the registry's credentials
        when they leave its host.
        """
        what = 'reading blob %s from %s' % (info.digest, self.ref.name)
        with self.client.stream('GET', self._path('blobs', str(info.digest)), self.scopes, what,
                                not_found=BlobNotFoundError, follow_redirects=True) as response:
            size = -1
            length = response.headers.get('content-length', '')
            if length.isdigit() and response.headers.get('content-encoding', 'identity').lower() == 'identity':
                size = int(length)
            yield self.client.iter_body(response), size

    def list_tags(self) -> list[str]:
        """Every tag of the repository in the registry's order, following ``Link`` pagination (:func:`list_repository_tags`)."""
        return list_repository_tags(self.client, self.ref, self.scopes)
