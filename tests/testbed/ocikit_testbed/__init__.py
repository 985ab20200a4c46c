"""Test bed for ocikit.images: a real registry, a token server, a throwaway PKI, an
offline image builder and a fault-injecting proxy (:class:`FaultProxy`).

Nothing here is shipped with the collection. Put ``tests/testbed`` on ``sys.path`` and
import from this package::

    from ocikit_testbed import Registry, build_image, LayerSpec

    with Registry(tmp_path / "reg", auth="htpasswd") as reg:
        image = build_image(tmp_path / "layout", "v1")
        ...
"""

from __future__ import annotations

from .faultproxy import FAULT_KINDS, Fault, FaultProxy, ProxyRecord, RecordedRequest, http_date
from .images import (
    DEFAULT_CREATED,
    MEDIA_TYPES,
    BuiltImage,
    BuiltIndex,
    BuiltLayer,
    LayerSpec,
    Platform,
    build_image,
    build_index,
)
from .pki import PKI, CertPair
from .registry import Registry, RegistryError, RequestRecord
from .tokenserver import TokenRequest, TokenServer, issued_tokens

__all__ = [
    "DEFAULT_CREATED",
    "FAULT_KINDS",
    "MEDIA_TYPES",
    "PKI",
    "ProxyRecord",
    "RecordedRequest",
    "BuiltImage",
    "BuiltIndex",
    "BuiltLayer",
    "CertPair",
    "Fault",
    "FaultProxy",
    "LayerSpec",
    "Platform",
    "Registry",
    "RegistryError",
    "RequestRecord",
    "TokenRequest",
    "TokenServer",
    "build_image",
    "build_index",
    "http_date",
    "issued_tokens",
]
