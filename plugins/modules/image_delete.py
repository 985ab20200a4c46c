#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: image_delete
short_description: Delete a container image from a registry, an OCI layout or containers-storage, as skopeo delete does, without surprises
version_added: 0.1.0
description:
  - Deletes the image O(image) names from a registry (V(docker://)), an OCI layout (V(oci:)) or a Podman service's store
    (V(containers-storage:)). An image that is already absent is V(ok), not an error.
  - In a registry, a tag is resolved to its digest and the digest is deleted, as C(skopeo delete) does. Deleting a digest removes
    every tag that points at it, so before deleting, the repository's tags are listed and each one is resolved (one C(HEAD) request per
    tag, several at once) to find the tags on the same digest.
  - When tags other than the one named would disappear, the named tag is deleted alone where the registry can do that (OCI distribution-spec
    1.1 C(DELETE /v2/NAME/manifests/TAG)). Where it cannot (distribution 2.8 and older answer 400), the task fails with a message naming
    those tags, unless O(force) is set. For a V(@DIGEST) reference, every tag on the digest counts.
  - In an OCI layout, the entries the reference names are removed from C(index.json) under the layout's lock, then the blobs that no remaining
    entry reaches are deleted (untagged entries and every child of a remaining index are kept). Blobs in a shared blob directory are never deleted.
    The signatures of manifests no remaining entry reaches (C(.ocikit/signatures/), ocikit's convention) are deleted with them.
  - When a registry manifest is deleted (not a tag alone), its simple signatures are deleted from the registries.d write lookaside too
    (see O(registries_d)), as C(skopeo delete) does; RV(deleted_signatures) says how many. Sigstore attachments (the C(sha256-HEX.sig)
    tag) are left, as skopeo leaves them; delete that tag to remove them.
  - A registry only unlinks the manifest; its storage is reclaimed by the registry's garbage collection
    (for distribution, C(registry garbage-collect)), which its operator runs.
  - Other transports (V(dir:), V(oci-archive:), V(docker-archive:)) are refused; remove the file or directory instead.
    V(docker-daemon:) images are refused too, as skopeo refuses them; use C(docker rmi) or community.docker.docker_image_remove.
  - In V(containers-storage:), through the Podman service's libpod API (O(daemon_host); the store's files are never written),
    the image's names are its tags and its image ID its digest, so the same rules hold. A name the image shares with other names is
    removed alone (untagged); its last name removes the image; an image named by ID or digest that still has names is refused unless
    O(force), which removes them all. C(skopeo delete) removes the whole image, whatever names it has. An image a container uses is
    refused before anything changes, naming the containers (O(force) does not remove containers). RV(image_id) replaces RV(digest).
author:
  - ocikit.images contributors (@ocikit)
extends_documentation_fragment:
  - ocikit.images.attributes
  - ocikit.images.connection
  - ocikit.images.retry
attributes:
  check_mode:
    support: full
    description:
      - Resolves the name and the tags on its digest and predicts RV(deleted_tags); sends no C(DELETE) and writes nothing.
      - As check mode cannot try deleting a tag alone, it predicts what a registry that cannot do so would do (refuse without O(force)).
  diff_mode:
    support: full
    description: C(before) is the digest and every tag that disappears; C(after) is null.
  idempotent:
    support: full
    details: "Deleting an image that is already absent reports C(ok)."
requirements:
  - httpx (Python library) for V(docker://) and V(containers-storage:) images (not needed for V(oci:) layouts)
  - PyYAML (Python library) when a registries.d directory (O(registries_d), or the default C(/etc/containers/registries.d)) has files
  - a Podman API service at O(daemon_host) for V(containers-storage:) images
options:
  image:
    description:
      - The image to delete, as C(transport:details).
      - V(docker://REGISTRY/REPOSITORY:TAG) or V(docker://REGISTRY/REPOSITORY@DIGEST) (not both; a name without either means V(:latest)).
      - V(oci:PATH:REF) removes the name REF, V(oci:PATH@DIGEST) every entry with that digest, V(oci:PATH) the layout's only entry.
    type: str
    required: true
  force:
    description:
      - Delete even when tags other than the one named disappear with the digest (for a V(@DIGEST) reference, when any tag points at it).
      - Every tag that disappeared is listed in RV(deleted_tags) and in the diff.
      - Where the registry can delete the named tag alone, it still does, and O(force) changes nothing.
    type: bool
    default: false
  registries_d:
    description:
      - The registries.d directory that names the lookaside holding the simple signatures of registry images, as skopeo's C(--registries.d).
      - Defaults to C($HOME/.config/containers/registries.d) when it exists, else C(/etc/containers/registries.d). Signatures are deleted
        from the repository's C(lookaside-staging) (else C(lookaside), else containers/image's default directory); an V(http://) or
        V(https://) one cannot be changed and is left, with a warning.
    type: path
  shared_blob_dir:
    description:
      - For an V(oci:) layout whose blobs live in this shared directory (C(ALGORITHM/HEX)), as skopeo's C(--shared-blob-dir).
        Only C(index.json) and the layout's signatures are changed; no blob is deleted, since other layouts may use them.
    type: path
notes:
  - Finding the tags on a digest costs one C(HEAD) request per tag of the repository (six at a time). A repository with thousands of tags
    takes a while; the tag list itself is read page by page.
  - Between listing the tags and deleting, another client may tag the same digest; that tag then disappears too. Registries offer no way
    to delete a digest only if no other tag points at it.
  - A registry must allow deleting (for distribution, C(storage.delete.enabled=true)); one that does not answers 405 UNSUPPORTED,
    and the task fails saying so. With token authentication, the token is asked for the C(delete) action, which the account needs.
seealso:
  - module: ocikit.images.image_copy
  - module: ocikit.images.image_inspect
  - name: Deleting images safely
    description: Shared digests, tag-only deletes, OCI layout garbage collection.
    link: https://github.com/ocikit/images/blob/main/docs/image-delete.md
  - name: skopeo-delete(1)
    description: The command this module does safely.
    link: https://github.com/containers/skopeo/blob/main/docs/skopeo-delete.1.md
  - name: OCI distribution-spec, deleting tags and manifests
    description: DELETE of a tag alone is optional (400 or 405 where a registry lacks it).
    link: https://github.com/opencontainers/distribution-spec/blob/main/spec.md#deleting-tags
'''

EXAMPLES = r'''
- name: Delete a tag from a registry (fails if other tags share its digest and the registry cannot delete a tag alone)
  ocikit.images.image_delete:
    image: docker://registry.example.com/team/app:1.4
    username: robot
    password: "{{ robot_password }}"

- name: Delete a digest and every tag on it
  ocikit.images.image_delete:
    image: docker://registry.example.com/team/app@sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
    force: true
  register: gone

- name: Show what went
  ansible.builtin.debug:
    msg: "{{ gone.deleted_tags }}"

- name: Remove a name from an OCI layout and the blobs only it used
  ocikit.images.image_delete:
    image: oci:/srv/bundle:app-1.4

- name: Remove a name from the Podman service's store (the image goes with its last name)
  ocikit.images.image_delete:
    image: containers-storage:registry.example.com/team/app:1.3
    daemon_host: unix:///run/podman/podman.sock
'''

RETURN = r'''
digest:
  description: The digest the reference named (null when the image was absent, and for V(containers-storage:), see RV(image_id)).
  returned: always
  type: str
  sample: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
image_id:
  description: For V(containers-storage:), the ID (config digest) of the image the reference named (null when it was absent).
  returned: when O(image) is a V(containers-storage:) reference
  type: str
  sample: sha256:9c7a54a9a43cca047013b82af109fe963fde787f63f9e016fdc3384500c2823d
deleted_tags:
  description:
    - Every tag (for V(oci:), ref name) that disappeared (would disappear, in check mode), sorted. Empty when the image was absent.
  returned: always
  type: list
  elements: str
  sample: ["1.4", latest]
reason:
  description: What was done and why, or why nothing was.
  returned: always
  type: str
  sample: deleting the tag 1.4 alone; sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741 keeps the tag latest
deleted_blobs:
  description: For V(oci:) layouts, the blobs deleted (would be deleted, in check mode) because no remaining entry reaches them, sorted.
  returned: for oci layouts
  type: list
  elements: str
  sample: [sha256:0ba5d5d1d8ad47dcb2f4b6b1b4ba46ef1f2d3e76ea2e5a6d1a4b5b4e0a5d1c2e]
bytes_freed:
  description: For V(oci:) layouts, the bytes of RV(deleted_blobs).
  returned: for oci layouts
  type: int
  sample: 2814
deleted_signatures:
  description:
    - For registry images, how many simple signatures were deleted (would be, in check mode) from the lookaside with the manifest;
      0 when only a tag was deleted.
  returned: for registry images that were present
  type: int
  sample: 1
diff:
  description:
    - C(before) has the digest (for V(containers-storage:), C(image_id)) and every tag that disappears (null when the image was absent);
      C(after) is null.
  returned: always
  type: dict
  sample:
    before:
      digest: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
      tags: ["1.4"]
    after: null
'''

from ansible_collections.ocikit.images.plugins.module_utils import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.ocikit.images.plugins.module_utils.delete import delete_image
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
        force=dict(type='bool', default=False),
        shared_blob_dir=dict(type='path'),
        registries_d=dict(type='path'),
        **connection_argument_spec()
    )
    argument_spec.update(retry_argument_spec())
    module = OcikitModule(argument_spec=argument_spec, supports_check_mode=True,
                          required_together=connection_required_together(),
                          mutually_exclusive=connection_mutually_exclusive())
    params = module.params
    check_dependencies(module, network=params['image'].startswith(('docker:', 'containers-storage:')))

    def work() -> dict:
        ref = parse_image_name(params['image'])
        options = connection_options(params)
        options.shared_blob_dir = params['shared_blob_dir']
        options.registries_d = params['registries_d']
        return delete_image(ref, options, force=params['force'], check_mode=module.check_mode).as_result()

    run(module, work, subject=params['image'])


if __name__ == '__main__':
    main()
