# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The src_/dest_ connection options of the modules that read from one place and write to another (image_copy, image_sync),
    and what those two need on the managed node: they copy, so they need whatever a copy may meet."""

    DOCUMENTATION = r'''
options:
  src_username:
    description: Username for the source registry; overrides O(username).
    type: str
  src_password:
    description: Password for O(src_username); overrides O(password).
    type: str
  src_registry_token:
    description: Bearer token for the source registry; overrides O(registry_token).
    type: str
  src_authfile:
    description: Auth file for the source; overrides O(authfile).
    type: path
  src_tls_verify:
    description: Verify the source registry's TLS certificate; overrides O(tls_verify).
    type: bool
  src_cert_dir:
    description: Certificates directory for the source registry; overrides O(cert_dir).
    type: path
  src_no_creds:
    description: Access the source anonymously; overrides O(no_creds).
    type: bool
  src_daemon_host:
    description: >-
      The Docker Engine API of a V(docker-daemon:) source, or the Podman service of a V(containers-storage:) source;
      overrides O(daemon_host).
    type: str
  dest_username:
    description: Username for the destination registry; overrides O(username).
    type: str
  dest_password:
    description: Password for O(dest_username); overrides O(password).
    type: str
  dest_registry_token:
    description: Bearer token for the destination registry; overrides O(registry_token).
    type: str
  dest_authfile:
    description: Auth file for the destination; overrides O(authfile).
    type: path
  dest_tls_verify:
    description: Verify the destination registry's TLS certificate; overrides O(tls_verify).
    type: bool
  dest_cert_dir:
    description: Certificates directory for the destination registry; overrides O(cert_dir).
    type: path
  dest_no_creds:
    description: Access the destination anonymously; overrides O(no_creds).
    type: bool
  dest_daemon_host:
    description: >-
      The Docker Engine API of a V(docker-daemon:) destination, or the Podman service of a V(containers-storage:) destination;
      overrides O(daemon_host).
    type: str
requirements:
  - httpx (Python library), always (checked before anything else); it talks to registries, lookasides over HTTP(S) and the daemon services
  - zstandard (Python library) to read or write zstd-compressed layers (O(dest_compress_format=zstd)) or zstd-compressed archive files
  - cryptography (Python library) for sigstore signatures (signing, verifying, C(sigstoreSigned) policies) and for writing Docker schema1
    manifests (O(format=v2s1))
  - python-gnupg (Python library) and the C(gpg) program (GnuPG 2.1 or later) for GPG (simple signing) signatures (O(sign_by), C(signedBy)
    policies with GPG keys)
  - PyNaCl (Python library) to read encrypted sigstore (cosign) private keys (O(sign_by_sigstore_private_key))
  - PyYAML (Python library) when a registries.d directory (O(registries_d), or the default C(/etc/containers/registries.d)) has files, and
    for image_sync's YAML sources (C(src_type=yaml))
  - a Docker daemon or Podman API service at O(src_daemon_host) / O(dest_daemon_host) for the V(docker-daemon:) and V(containers-storage:) transports
  - isal (Python library, optional) inflates gzip layers about 1.5-2x faster where a copy decompresses them (recompression, conversion,
    layer digests to check); without it zlib does; compressing always uses zlib, so layer digests never depend on it
notes:
  - Credentials given as O(src_username)/O(src_password) (or a token) replace, not merge with, the unprefixed ones for that side.
'''
