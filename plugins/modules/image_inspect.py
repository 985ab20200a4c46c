#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: image_inspect
short_description: Inspect a container image without pulling it, as skopeo inspect does
version_added: 0.1.0
description:
  - Reads an image's manifest and config from a registry or an OCI layout and returns what
    C(skopeo inspect) prints, with the same keys and values.
  - For an index (manifest list), the digest is the index's and the platform is chosen as skopeo
    chooses it (this host's, or O(override_os)/O(override_arch)/O(override_variant)).
  - Read-only. C(changed) is always V(false).
author:
  - ocikit.images contributors (@ocikit)
extends_documentation_fragment:
  - ocikit.images.attributes
  - ocikit.images.connection
  - ocikit.images.retry
attributes:
  check_mode:
    support: full
    description: Reads only; runs normally in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
  idempotent:
    support: full
    details: "Reads only: always C(ok)."
requirements:
  - httpx (Python library), always (checked before anything else); it talks to registries and the daemon services
  - zstandard (Python library) for a zstd-compressed archive file (V(oci-archive:), V(docker-archive:))
  - a Docker daemon or Podman API service at O(daemon_host) for the V(docker-daemon:) and V(containers-storage:) transports
options:
  image:
    description:
      - The image, as C(transport:details).
      - V(docker://REGISTRY/REPOSITORY[:TAG|@DIGEST]) (short names are normalised as skopeo does,
        V(docker://busybox) is V(docker.io/library/busybox:latest)), V(oci:PATH[:REF]), V(dir:PATH), V(oci-archive:PATH[:REF]),
        V(docker-archive:PATH[:REF]) (V(docker-archive:PATH:@N) for the N-th image of an archive)
        or V(docker-daemon:NAME:TAG) (also V(docker-daemon:NAME@DIGEST) and V(docker-daemon:sha256:IMAGE_ID); the daemon is
        O(daemon_host); the image is exported from it to a temporary file to be read)
        or V(containers-storage:[STORE]NAME[:TAG]) (also V(containers-storage:NAME@DIGEST) and V(containers-storage:@IMAGE_ID);
        read through the Podman API service at O(daemon_host), exported to a temporary file as for V(docker-daemon:)).
    type: str
    required: true
  raw:
    description:
      - Return the manifest as stored (for an index, the index itself) in RV(manifest), as C(skopeo inspect --raw).
      - With O(config), return the config as stored instead of in OCI form.
    type: bool
    default: false
  config:
    description:
      - Return the image config in RV(config), in OCI form, as C(skopeo inspect --config).
    type: bool
    default: false
  no_tags:
    description:
      - Do not list the repository's tags (C(inspect.RepoTags) is empty); saves a request on large repositories.
    type: bool
    default: false
  override_os:
    description: Choose the image for this OS from an index instead of the host's.
    type: str
  override_arch:
    description: Choose the image for this architecture from an index instead of the host's.
    type: str
  override_variant:
    description: Choose the image for this architecture variant from an index.
    type: str
seealso:
  - module: ocikit.images.image_copy
  - module: ocikit.images.image_sign
  - name: Copying and inspecting images
    description: Transports and what the results mean.
    link: https://github.com/ocikit/images/blob/main/docs/copy-and-inspect.md
  - name: skopeo-inspect(1)
    description: The command this module does natively.
    link: https://github.com/containers/skopeo/blob/main/docs/skopeo-inspect.1.md
'''

EXAMPLES = r'''
- name: Inspect an image in a registry
  ocikit.images.image_inspect:
    image: docker://registry.example.com/team/app:1.4
    username: robot
    password: "{{ registry_password }}"
  register: app

- name: Show its digest and labels
  ansible.builtin.debug:
    msg: "{{ app.digest }} {{ app.inspect.Labels }}"

- name: The arm64 image of a multi-platform tag
  ocikit.images.image_inspect:
    image: docker://registry.example.com/team/app:1.4
    override_arch: arm64
    no_tags: true
  register: arm

- name: The raw manifest and config of an image in an OCI layout
  ocikit.images.image_inspect:
    image: oci:/srv/images/app:1.4
    raw: true
  register: raw_manifest

- name: Inspect an image of the local Docker daemon
  ocikit.images.image_inspect:
    image: docker-daemon:busybox:1.36
    daemon_host: unix:///var/run/docker.sock
'''

RETURN = r'''
digest:
  description: Digest of the manifest the name points at (for an index, the index's digest, as skopeo reports).
  returned: always
  type: str
  sample: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
media_type:
  description: Media type of that manifest.
  returned: always
  type: str
  sample: application/vnd.oci.image.manifest.v1+json
inspect:
  description:
    - What C(skopeo inspect) prints, key for key. V(Name) and V(Tag) only for registry images.
    - C(RepoTags) is in the registry's order; empty for OCI layouts and with O(no_tags).
  returned: unless O(raw) or O(config)
  type: dict
  sample:
    Name: registry.example.com/team/app
    Tag: "1.4"
    Digest: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
    RepoTags: ["1.3", "1.4"]
    Created: "2026-01-01T00:00:00Z"
    DockerVersion: ""
    Labels: {org.opencontainers.image.title: app}
    Architecture: amd64
    Os: linux
    Layers: [sha256:0ba5d5d1d8ad47dcb2f4b6b1b4ba46ef1f2d3e76ea2e5a6d1a4b5b4e0a5d1c2e]
    LayersData:
      - MIMEType: application/vnd.oci.image.layer.v1.tar+gzip
        Digest: sha256:0ba5d5d1d8ad47dcb2f4b6b1b4ba46ef1f2d3e76ea2e5a6d1a4b5b4e0a5d1c2e
        Size: 2814
        Annotations: null
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
platform_digest:
  description: For an index, the digest of the platform's image that was inspected.
  returned: when the image is an index and O(raw) is not set
  type: str
  sample: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
platforms:
  description: For an index, its platforms as C(os/arch[/variant]), sorted.
  returned: when the image is an index and O(raw) is not set
  type: list
  elements: str
  sample: [linux/amd64, linux/arm64/v8]
manifest:
  description: The manifest as stored, parsed from JSON.
  returned: when O(raw) is set and O(config) is not
  type: dict
  sample:
    schemaVersion: 2
    mediaType: application/vnd.oci.image.manifest.v1+json
    config:
      mediaType: application/vnd.oci.image.config.v1+json
      digest: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
      size: 1470
    layers:
    - mediaType: application/vnd.oci.image.layer.v1.tar+gzip
      digest: sha256:0ba5d5d1d8ad47dcb2f4b6b1b4ba46ef1f2d3e76ea2e5a6d1a4b5b4e0a5d1c2e
      size: 2814
config:
  description: The image config, in OCI form (or as stored with O(raw)).
  returned: when O(config) is set
  type: dict
  sample:
    architecture: amd64
    os: linux
    config:
      Env:
      - PATH=/usr/bin:/bin
    rootfs:
      type: layers
      diff_ids:
      - sha256:0ba5d5d1d8ad47dcb2f4b6b1b4ba46ef1f2d3e76ea2e5a6d1a4b5b4e0a5d1c2e
'''

from ansible_collections.ocikit.images.plugins.module_utils import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.ocikit.images.plugins.module_utils.inspect import inspect_image
from ansible_collections.ocikit.images.plugins.module_utils.module import (
    OcikitModule,
    check_dependencies,
    connection_argument_spec,
    connection_mutually_exclusive,
    connection_options,
    connection_required_together,
    retry_argument_spec,
    run,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name


def main() -> None:
    argument_spec = dict(
        image=dict(type='str', required=True),
        raw=dict(type='bool', default=False),
        config=dict(type='bool', default=False),
        no_tags=dict(type='bool', default=False),
        override_os=dict(type='str'),
        override_arch=dict(type='str'),
        override_variant=dict(type='str'),
        **connection_argument_spec()
    )
    argument_spec.update(retry_argument_spec())
    module = OcikitModule(argument_spec=argument_spec, supports_check_mode=True,
                          required_together=connection_required_together(),
                          mutually_exclusive=connection_mutually_exclusive())
    check_dependencies(module)
    params = module.params

    def work() -> dict:
        ref = parse_image_name(params['image'])
        return inspect_image(ref, connection_options(params), raw=params['raw'], config=params['config'],
                             no_tags=params['no_tags'], override_os=params['override_os'],
                             override_arch=params['override_arch'], override_variant=params['override_variant'])

    run(module, work, subject=params['image'])


if __name__ == '__main__':
    main()
