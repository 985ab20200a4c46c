"""Requests to the real registry: connections kept between requests, concurrent writers of one blob in turns.

An answer to HEAD is read to its (empty) end.

Before, every HEAD (the destination digest an up-to-date check asks for, a blob's presence) dropped its connection,
so an up-to-date sync of 100 images made 100 TLS handshakes with the destination registry.
"""

from __future__ import annotations

import concurrent.futures

from ocikit_it import PASSWORD, USER, skopeo
from ocikit_testbed import LayerSpec, build_image

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import OcikitError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.pool import ClientPool
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name


def test_head_answers_keep_the_connection(registry, tmp_path):
    image = build_image(tmp_path / 'layout', 'v1', layers=[LayerSpec(size=10_000)], seed=3)
    skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), image.oci_ref, 'docker://' + registry.ref('keepalive/app', 'v1'))
    with ClientPool() as pool:
        options = ConnectionOptions(username=USER, password=PASSWORD, cert_dir=str(registry.cert_dir), clients=pool)
        seen = []
        for dummy in range(4):
            with parse_image_name('docker://' + registry.ref('keepalive/app', 'v1')).new_destination(options) as dest:
                assert str(dest.get_manifest_digest()) == image.manifest_digest
                assert dest.has_blob(BlobInfo(Digest(image.config_digest), image.config_size))
                # httpx's connection pool (private, but the only place a kept connection shows): the same one, idle, each time.
                seen.append([(id(conn), conn.is_idle()) for conn in dest.client._http._transport._pool.connections])
        assert len(seen[0]) == 1 and seen[0][0][1] and all(conns == seen[0] for conns in seen), seen


def test_concurrent_copies_of_one_image_into_one_repository(registry, tmp_path):
    """Copies of one image (two tags, twice each) into one repository at once all succeed.

    The registry links a blob (and a manifest) into a repository by rewriting a small file, and a request reading it while
    another copy rewrites it fails (HEAD 500, manifest PUT MANIFEST_BLOB_UNKNOWN): about one round in six failed before the
    writers of one blob took turns (transports/docker/destination.py _LinkLocks).
    """
    image = build_image(tmp_path / 'layout', 'v1', layers=[LayerSpec(size=20_000), LayerSpec(size=7_000)], seed=5)
    source = registry.ref('race/src', 'v1')
    skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), image.oci_ref, 'docker://' + source)
    failures = []
    with ClientPool() as pool:
        options = ConnectionOptions(username=USER, password=PASSWORD, cert_dir=str(registry.cert_dir), clients=pool)

        def copy(target: str) -> None:
            try:
                copy_image(parse_image_name('docker://' + source), parse_image_name('docker://' + target), options, options, CopyOptions())
            except OcikitError as exc:
                failures.append(str(exc))

        for round_number in range(20):
            targets = [registry.ref('race/dest%d' % round_number, tag) for tag in ('a', 'b', 'a', 'b')]
            with concurrent.futures.ThreadPoolExecutor(4) as workers:
                list(workers.map(copy, targets))
    assert failures == []
