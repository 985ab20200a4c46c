# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The src_/dest_ connection options of the modules that read from one place and write to another."""

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
notes:
  - Credentials given as O(src_username)/O(src_password) (or a token) replace, not merge with, the unprefixed ones for that side.
'''
