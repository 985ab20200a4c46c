# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """Connection options shared by every module (one module_defaults group entry serves all)."""

    DOCUMENTATION = r'''
options:
  username:
    description:
      - Username for the registry. Needs O(password).
      - Without O(username), O(registry_token) and O(no_creds), credentials are looked up in auth files
        as skopeo does (see O(authfile)).
    type: str
  password:
    description:
      - Password for O(username).
    type: str
  registry_token:
    description:
      - A bearer token to send to the registry as is (skopeo's C(--registry-token)).
    type: str
  authfile:
    description:
      - Path of the auth file to read credentials from.
      - When unset, C(REGISTRY_AUTH_FILE), then C(${XDG_RUNTIME_DIR}/containers/auth.json)
        (or C(/run/containers/$UID/auth.json)), C(~/.config/containers/auth.json),
        C($DOCKER_CONFIG/config.json) or C(~/.docker/config.json), and C(~/.dockercfg) are searched,
        the most specific matching key first, credential helpers included.
    type: path
  tls_verify:
    description:
      - Verify the registry's TLS certificate (and its token server's), and never fall back to plain HTTP.
      - When V(false), certificates are not verified and plain HTTP is tried if HTTPS fails.
    type: bool
    default: true
  cert_dir:
    description:
      - Directory with C(*.crt) CA certificates and C(*.cert)/C(*.key) client certificate pairs.
      - Defaults to C(/etc/containers/certs.d/HOST:PORT) and C(/etc/docker/certs.d/HOST:PORT) when they exist.
    type: path
  no_creds:
    description:
      - Access the registry anonymously, ignoring auth files.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for each network operation (connect, each read) before giving up.
    type: float
    default: 60
  daemon_host:
    description:
      - For V(docker-daemon:) images, the Docker Engine API to use (skopeo's C(--daemon-host)), one of
        V(unix:///PATH) (a socket; Podman's Docker-compatible service works too), V(tcp://HOST:PORT) (HTTPS;
        O(cert_dir) holds C(ca.pem), trusted besides the system's CAs, and C(cert.pem)/C(key.pem), the client
        certificate; O(tls_verify=false) skips verification) or V(http://HOST:PORT) (plain HTTP).
      - When unset, V(unix:///var/run/docker.sock). C(DOCKER_HOST) is not read, as skopeo does not read it.
      - For V(containers-storage:) images, the Podman API service whose store holds them, in the same forms; when unset,
        V(unix:///run/podman/podman.sock) for root and V(unix://$XDG_RUNTIME_DIR/podman/podman.sock) for other users.
      - Ignored by other transports.
    type: str
notes:
  - Connection options are the same on every module of this collection, so that
    C(module_defaults) with C(group/ocikit.images.images) can set them once.
  - C(HTTPS_PROXY), C(HTTP_PROXY) and C(NO_PROXY) in the module's environment are honoured.
'''
