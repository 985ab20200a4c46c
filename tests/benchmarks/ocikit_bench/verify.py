# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Checks that a run really produced the source image at its destination, and what it sent.

A timed run only counts when its destination holds the source's manifest digest and every blob
that manifest references. The registry's access log then says what the run did on the wire:
uploads, cross-repository mounts, manifest writes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import typing as t
from pathlib import Path

try:
    import zstandard
except ImportError:  # only the recompress scenario needs it, and says so
    zstandard = None

MANIFEST_ACCEPT = ', '.join([
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
])
REF_NAME = 'org.opencontainers.image.ref.name'
OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd'
CHUNK = 1024 * 1024
WRITE_METHODS = ('POST', 'PUT', 'PATCH', 'DELETE')


def sha256_file(path: Path) -> str:
    """``sha256:HEX`` of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b''):
            digest.update(chunk)
    return 'sha256:' + digest.hexdigest()


def referenced_blobs(manifest: dict[str, t.Any]) -> list[tuple[str, int]]:
    """``(digest, size)`` of the config and the layers of an image manifest."""
    descriptors = [manifest['config']] + list(manifest.get('layers', []))
    return [(d['digest'], int(d['size'])) for d in descriptors]


def check_registry_image(registry: t.Any, repository: str, tag: str, expected: str) -> list[str]:
    """Problems with ``repository:tag`` on ``registry`` (empty when it is exactly ``expected``).

    The manifest's bytes are hashed here rather than trusting Docker-Content-Digest, and every
    referenced blob must answer HEAD with its size in this repository; for an index, every child
    manifest likewise.
    """
    with registry.http_client(auth=registry.credentials, timeout=60) as client:
        return _check_manifest(client, repository, tag, expected)


def _check_manifest(client: t.Any, repository: str, reference: str, expected: str) -> list[str]:
    """One manifest of :func:`check_registry_image`; an index's every child manifest is checked the same way, by digest."""
    problems: list[str] = []
    response = client.get('/v2/%s/manifests/%s' % (repository, reference), headers={'Accept': MANIFEST_ACCEPT})
    if response.status_code != 200:
        return ['GET manifest %s:%s answered %d' % (repository, reference, response.status_code)]
    actual = 'sha256:' + hashlib.sha256(response.content).hexdigest()
    if actual != expected:
        problems.append('manifest %s:%s is %s, the source is %s' % (repository, reference, actual, expected))
    document = response.json()
    if 'manifests' in document:
        for child in document['manifests']:
            problems += _check_manifest(client, repository, child['digest'], child['digest'])
        return problems
    for digest, size in referenced_blobs(document):
        head = client.head('/v2/%s/blobs/%s' % (repository, digest))
        if head.status_code != 200:
            problems.append('blob %s: HEAD answered %d' % (digest, head.status_code))
        elif int(head.headers.get('content-length', -1)) != size:
            problems.append('blob %s: %s bytes, the manifest says %d' % (digest, head.headers.get('content-length'), size))
    return problems


@dataclasses.dataclass
class Recompressed:
    """What :func:`check_recompressed_image` found at the destination."""

    digest: str | None = None
    """sha256 of the manifest bytes the registry serves for the tag."""
    layer_bytes: int = 0
    """Sum of the layer blob sizes the manifest lists (the recompressed size)."""
    problems: list[str] = dataclasses.field(default_factory=list)


def check_recompressed_image(registry: t.Any, repository: str, tag: str, config_digest: str, diff_ids: t.Sequence[str],
                             layer_media_type: str = OCI_LAYER_ZSTD) -> Recompressed:
    """Check ``repository:tag`` as the result of recompressing the source's layers.

    The manifest must keep the source's config digest and list one layer per source diff_id, each
    of ``layer_media_type``; every layer is downloaded, its bytes must hash to its digest and size,
    and (for zstd) decompress to the source's diff_id, so a wrong or truncated recompression cannot
    pass. The manifest digest is hashed from the bytes served, for comparison with what the tool
    reported.
    """
    found = Recompressed()
    problems = found.problems
    with registry.http_client(auth=registry.credentials, timeout=120) as client:
        response = client.get('/v2/%s/manifests/%s' % (repository, tag), headers={'Accept': MANIFEST_ACCEPT})
        if response.status_code != 200:
            problems.append('GET manifest %s:%s answered %d' % (repository, tag, response.status_code))
            return found
        found.digest = 'sha256:' + hashlib.sha256(response.content).hexdigest()
        manifest = response.json()
        if manifest.get('config', {}).get('digest') != config_digest:
            problems.append('config is %s, the source\'s is %s' % (manifest.get('config', {}).get('digest'), config_digest))
        layers = list(manifest.get('layers', []))
        found.layer_bytes = sum(int(layer.get('size', 0)) for layer in layers)
        if len(layers) != len(diff_ids):
            problems.append('%d layers, the source has %d' % (len(layers), len(diff_ids)))
        wrong = sorted({layer.get('mediaType') for layer in layers} - {layer_media_type})
        if wrong:
            problems.append('layer media types %s, expected only %s' % (', '.join(map(str, wrong)), layer_media_type))
        head = client.head('/v2/%s/blobs/%s' % (repository, config_digest))
        if head.status_code != 200:
            problems.append('config blob %s: HEAD answered %d' % (config_digest, head.status_code))
        for layer, diff_id in zip(layers, diff_ids):
            problems += check_layer_blob(client, repository, layer, diff_id if layer.get('mediaType') == OCI_LAYER_ZSTD else None)
    return found


def check_layer_blob(client: t.Any, repository: str, layer: t.Mapping[str, t.Any], diff_id: str | None) -> list[str]:
    """Download one layer: digest and size must match its descriptor, its zstd content ``diff_id``."""
    digest, size = layer['digest'], int(layer['size'])
    compressed = hashlib.sha256()
    uncompressed = hashlib.sha256()
    received = 0
    decompressor = None
    corrupt = ''
    if diff_id is not None:
        if zstandard is None:
            return ['zstandard is not installed here: cannot check the diff_id of %s' % digest]
        decompressor = zstandard.ZstdDecompressor().decompressobj(read_across_frames=True)
    with client.stream('GET', '/v2/%s/blobs/%s' % (repository, digest), follow_redirects=True) as response:
        if response.status_code != 200:
            return ['blob %s: GET answered %d' % (digest, response.status_code)]
        for chunk in response.iter_bytes(CHUNK):
            received += len(chunk)
            compressed.update(chunk)
            if decompressor is not None:
                try:
                    uncompressed.update(decompressor.decompress(chunk))
                except zstandard.ZstdError as exc:
                    decompressor = None
                    corrupt = 'layer %s is not a valid zstd stream: %s' % (digest, exc)
    problems = [corrupt] if corrupt else []
    if received != size or 'sha256:' + compressed.hexdigest() != digest:
        problems.append('blob %s: %d bytes hashing to sha256:%s, the manifest says %d' % (digest, received, compressed.hexdigest(), size))
    elif decompressor is not None and not corrupt and 'sha256:' + uncompressed.hexdigest() != diff_id:
        problems.append('layer %s decompresses to sha256:%s, the source\'s diff_id is %s' % (digest, uncompressed.hexdigest(), diff_id))
    return problems


def check_layout_image(layout: Path, tag: str, expected: str) -> list[str]:
    """Problems with ``tag`` in the OCI layout ``layout``; every blob is re-hashed."""
    try:
        index = json.loads((layout / 'index.json').read_text(encoding='utf-8'))
    except (OSError, ValueError) as exc:
        return ['no readable index.json in %s: %s' % (layout, exc)]
    entries = [m for m in index.get('manifests', []) if m.get('annotations', {}).get(REF_NAME) == tag]
    if len(entries) != 1:
        return ['index.json of %s has %d entries tagged %s' % (layout, len(entries), tag)]
    problems: list[str] = []
    if entries[0]['digest'] != expected:
        problems.append('index.json tags %s as %s, the source is %s' % (tag, entries[0]['digest'], expected))
    manifest_path = layout / 'blobs' / 'sha256' / expected.partition(':')[2]
    if not manifest_path.is_file() or sha256_file(manifest_path) != expected:
        return problems + ['manifest blob %s missing or corrupt' % expected]
    for digest, size in referenced_blobs(json.loads(manifest_path.read_bytes())):
        path = layout / 'blobs' / 'sha256' / digest.partition(':')[2]
        if not path.is_file():
            problems.append('blob %s missing' % digest)
        elif path.stat().st_size != size:
            problems.append('blob %s: %d bytes, the manifest says %d' % (digest, path.stat().st_size, size))
        elif sha256_file(path) != digest:
            problems.append('blob %s: content does not match its digest' % digest)
    return problems


def settled_requests(registry: t.Any, quiet: float = 0.3, limit: float = 5.0) -> list[dict[str, t.Any]]:
    """The registry's requests since the last clear, once its access log has stopped growing.

    The registry logs a request after answering it, so the last lines of a run can land a moment
    after the client has exited.
    """
    deadline = time.monotonic() + limit
    seen = registry.requests()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = registry.requests()
        if len(now) == len(seen):
            return list(now)
        seen = now
    return list(seen)


def wire_activity(requests: t.Sequence[t.Mapping[str, t.Any]]) -> dict[str, int]:
    """What a run did to one registry, counted from its access log."""
    counts = {'requests': len(requests), 'requests_besides_auth': 0, 'writes': 0, 'blob_uploads': 0, 'blob_mounts': 0,
              'manifest_puts': 0, 'blob_gets': 0, 'bytes_served': 0}
    for request in requests:
        method, path, status = request['method'], request['path'], request['status']
        # Auth is the /v2/ ping and every 401 challenge (answered again with credentials); the rest is the work.
        if path != '/v2/' and status != 401:
            counts['requests_besides_auth'] += 1
        if method in WRITE_METHODS:
            counts['writes'] += 1
        # An upload completes with PUT .../blobs/uploads/UUID?digest=, or in one POST ...?digest= (monolithic).
        if status == 201 and '/blobs/uploads/' in path and 'digest=' in request['query'] and method in ('PUT', 'POST'):
            counts['blob_uploads'] += 1
        if method == 'POST' and path.endswith('/blobs/uploads/') and 'mount=' in request['query'] and status == 201:
            counts['blob_mounts'] += 1
        if method == 'PUT' and '/manifests/' in path and status == 201:
            counts['manifest_puts'] += 1
        if method == 'GET' and '/blobs/' in path and status == 200:
            counts['blob_gets'] += 1
            counts['bytes_served'] += int(request['size'])
    return counts
