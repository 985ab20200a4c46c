# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: image_digest
author:
  - ocikit.images contributors (@ocikit)
version_added: 0.2.0
short_description: The manifest digest an image name points at, for pinning images by digest
description:
  - >-
    Returns the digest of the manifest each image name points at when the template is rendered, for digest pinning
    (C(image: "registry/app@{{ lookup('ocikit.images.image_digest', 'registry/app:1.2') }}")).
  - For a registry image, one C(HEAD) request, whose C(Docker-Content-Digest) header gives the digest, as
    C(skopeo inspect --format '{{.Digest}}') reports it; the manifest is read (C(GET)) only when that header is missing or invalid.
  - For an index (multi-platform image) the index's own digest is returned, as skopeo reports it;
    with O(platform), the digest of that platform's image in the index (an image that is no index is returned as it is).
  - A bare name (V(nginx), V(registry.example.com:5000/team/app:1.2), V(app@sha256:...)) is a registry image,
    normalised as skopeo does (V(nginx) is V(docker.io/library/nginx:latest)). A name with a transport
    (V(docker://...), V(oci:PATH:TAG), V(oci-archive:PATH), V(dir:PATH), V(docker-archive:PATH), V(docker-daemon:NAME:TAG),
    V(containers-storage:NAME:TAG)) is read through that transport, as M(ocikit.images.image_inspect) reads it, with the
    same digest (for the daemon and containers-storage, that of the manifest the engine makes for the stored image).
  - B(It runs on the controller), not on the managed node. Its Python requirements (httpx) must be installed for the
    Python that runs ansible-playbook, and O(authfile), O(cert_dir) and the default auth file paths are the controller's files.
options:
  _terms:
    description: One or more image names (a list among them counts as its names).
    type: list
    elements: str
    required: true
  username:
    description:
      - Username for the registry. Needs O(password).
      - Without O(username), O(registry_token) and O(no_creds), credentials are looked up in the controller's auth files as
        skopeo does (see O(authfile)).
    type: str
  password:
    description: Password for O(username).
    type: str
  registry_token:
    description: A bearer token to send to the registry as is (skopeo's C(--registry-token)).
    type: str
  authfile:
    description:
      - Path of the auth file (on the controller) to read credentials from.
      - When unset, C(REGISTRY_AUTH_FILE), then C(${XDG_RUNTIME_DIR}/containers/auth.json), C(~/.config/containers/auth.json),
        C($DOCKER_CONFIG/config.json) or C(~/.docker/config.json) of the user running ansible-playbook are searched.
    type: path
  tls_verify:
    description:
      - Verify the registry's TLS certificate (and its token server's), and never fall back to plain HTTP.
      - When V(false), certificates are not verified and plain HTTP is tried if HTTPS fails.
    type: bool
    default: true
  cert_dir:
    description:
      - Directory (on the controller) with C(*.crt) CA certificates and C(*.cert)/C(*.key) client certificate pairs.
      - Defaults to C(/etc/containers/certs.d/HOST:PORT) and C(/etc/docker/certs.d/HOST:PORT) when they exist.
    type: path
  no_creds:
    description: Access the registry anonymously, ignoring auth files.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for each network operation before giving up.
    type: float
    default: 60
  retry_times:
    description: How many times to retry a request that failed for a reason that may pass (connection errors, HTTP 429, 5xx).
    type: int
    default: 3
  daemon_host:
    description:
      - >-
        For V(docker-daemon:) names, the Docker Engine API to ask (skopeo's C(--daemon-host)): V(unix:///PATH) (a socket; Podman's
        Docker-compatible service works too), V(tcp://HOST:PORT) (HTTPS; O(cert_dir) holds C(ca.pem), C(cert.pem) and C(key.pem))
        or V(http://HOST:PORT). When unset, V(unix:///var/run/docker.sock); C(DOCKER_HOST) is not read, as skopeo does not read it.
      - >-
        For V(containers-storage:) names, the Podman API service whose store holds them, in the same forms; when unset,
        V(unix:///run/podman/podman.sock) for root and V(unix://$XDG_RUNTIME_DIR/podman/podman.sock) for other users.
      - The daemon or service is the controller's, or one the controller reaches.
    type: str
  platform:
    description:
      - For an index, return the digest of the image for this platform, as C(os/arch) or C(os/arch/variant)
        (V(linux/amd64), V(linux/arm64/v8)), chosen as skopeo chooses with C(--override-os)/C(--override-arch)/C(--override-variant).
      - When unset, the digest of the index itself.
    type: str
notes:
  - Every term is resolved with the same options; use several lookups for images that need different credentials.
  - Errors (an image that does not exist, refused credentials, an invalid name) fail the task with one line that names
    the image and the cause; passwords and tokens never appear in them.
requirements:
  - httpx (Python library, on the controller) for registry images
seealso:
  - module: ocikit.images.image_inspect
  - module: ocikit.images.image_tags
  - plugin: ocikit.images.parse_reference
    plugin_type: filter
'''

EXAMPLES = r'''
- name: Pin a deployment to the digest the tag points at now
  ansible.builtin.set_fact:
    app_image: "registry.example.com/team/app@{{ lookup('ocikit.images.image_digest', 'registry.example.com/team/app:1.2') }}"

- name: The amd64 image of a multi-platform tag, with credentials
  ansible.builtin.debug:
    msg: >-
      {{ lookup('ocikit.images.image_digest', 'registry.example.com/team/app:1.2', platform='linux/amd64',
                username='robot', password=registry_password) }}

- name: Several images at once (a list of digests, in order)
  ansible.builtin.debug:
    msg: "{{ query('ocikit.images.image_digest', 'registry.example.com/team/app:1.2', 'registry.example.com/team/app:1.0.0') }}"

- name: The digest of an image in an OCI layout on the controller
  ansible.builtin.debug:
    msg: "{{ lookup('ocikit.images.image_digest', 'oci:/srv/bundle:app-1.2') }}"
'''

RETURN = r'''
_raw:
  description: The manifest digest of each image name, in the order of the terms.
  type: list
  elements: str
  sample: ["sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741"]
'''

import typing as t

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.ocikit.images.plugins.module_utils.errors import OcikitError, describe, one_line_message, quote
from ansible_collections.ocikit.images.plugins.module_utils.module import secrets_of
from ansible_collections.ocikit.images.plugins.module_utils.resolve import manifest_digest
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import has_transport, parse_image_name

_OPTION_NAMES = ('username', 'password', 'registry_token', 'authfile', 'tls_verify', 'cert_dir', 'no_creds', 'timeout', 'retry_times',
                 'daemon_host', 'platform')


def image_name(term: str) -> str:
    """``term`` as ``transport:details``: a bare reference is a registry image (``docker://``)."""
    return term if has_transport(term) else 'docker://' + term


class LookupModule(LookupBase):
    """lookup('ocikit.images.image_digest', NAME, ...): the digest each name points at (DOCUMENTATION)."""

    def _connection_options(self, options: dict[str, t.Any]) -> ConnectionOptions:
        if options['username'] is not None and options['password'] is None:
            raise AnsibleLookupError('image_digest: username needs password')
        if options['username'] is not None and options['registry_token'] is not None:
            raise AnsibleLookupError('image_digest: username and registry_token exclude each other')
        return ConnectionOptions(username=options['username'], password=options['password'], registry_token=options['registry_token'],
                                 authfile=options['authfile'], tls_verify=bool(options['tls_verify']), cert_dir=options['cert_dir'],
                                 no_creds=bool(options['no_creds']), timeout=float(options['timeout']),
                                 retry_times=max(0, int(options['retry_times'])), daemon_host=options['daemon_host'])

    def run(self, terms: list[t.Any], variables: dict[str, t.Any] | None = None, **kwargs: t.Any) -> list[str]:
        self.set_options(var_options=variables, direct=kwargs)
        options = {name: self.get_option(name) for name in _OPTION_NAMES}
        connection = self._connection_options(options)
        digests = []
        # A list among the terms is its names (query('ocikit.images.image_digest', images) with images a list).
        for term in self._flatten(terms):
            if not isinstance(term, str):
                raise AnsibleLookupError('image_digest: an image name must be a string, not %s' % type(term).__name__)
            digests.append(self._resolve(term, connection, options))
        return digests

    @staticmethod
    def _resolve(term: str, connection: ConnectionOptions, options: dict[str, t.Any]) -> str:
        """The digest of ``term``; every failure becomes one AnsibleLookupError line naming the image, without secrets."""
        secrets = secrets_of(dict(options, term=term))
        try:
            return manifest_digest(parse_image_name(image_name(term)), connection, options['platform'])
        except OcikitError as exc:
            cause = describe(exc, secrets)
        except ImportError as exc:
            # httpx (or another library a transport needs) is missing for the controller's Python.
            cause = '%s (on the controller, for the Python that runs ansible-playbook)' % (str(exc) or 'a required Python library is missing')
        except Exception as exc:  # pylint: disable=broad-except
            cause = 'unexpected error: %s' % describe(exc, secrets)
        # Raised outside the except blocks: the message says it all, with no chained exception (or its secrets) behind it.
        shown = quote(term)
        message = cause if shown in cause or term in cause else '%s: %s' % (shown, cause)
        raise AnsibleLookupError(one_line_message('image_digest: %s' % message, secrets))
