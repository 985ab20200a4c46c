"""Connections to the real registry are kept between requests: an answer to HEAD is read to its (empty) end.

Before, every HEAD (the destination digest an up-to-date check asks for, a blob's presence) dropped its connection,
so an up-to-date sync of 100 images made 100 TLS handshakes with the destination registry.
"""

from __future__ import annotations

from ocikit_it import PASSWORD, USER, skopeo
from ocikit_testbed import LayerSpec, build_image

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
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
