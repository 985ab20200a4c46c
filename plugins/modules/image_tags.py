#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: image_tags
short_description: List the tags of a repository (or the names of an OCI layout), as skopeo list-tags does
version_added: 0.2.0
description:
  - Lists every tag of a registry repository, as C(skopeo list-tags docker://REPOSITORY) does, following the registry's
    pagination (C(Link) headers) to the last page. The tags keep the registry's order unless O(sort) says otherwise.
  - Beyond skopeo, lists the image names (C(org.opencontainers.image.ref.name)) of an OCI layout or an OCI archive.
  - Tags can be filtered as M(ocikit.images.image_sync) filters them (O(tag_regex), O(exclude_regex), O(semver)), with the
    same regular expression and semver engines.
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
    details: Reads only; the same repository gives the same list.
requirements:
  - httpx (Python library) for V(docker://) repositories (not needed for OCI layouts and archives)
  - zstandard (Python library) for a zstd-compressed OCI archive file
options:
  image:
    description:
      - The repository, without tag or digest (a tag or digest is refused, as by skopeo list-tags).
      - V(docker://REGISTRY/REPOSITORY) (short names are normalised as skopeo does, V(docker://busybox) is
        V(docker.io/library/busybox)), V(oci:PATH) (an OCI layout directory) or V(oci-archive:PATH).
    type: str
    required: true
  tag_regex:
    description:
      - Keep only the tags in which this regular expression is found (Go RE2 syntax, as
        M(ocikit.images.image_sync)'s O(ocikit.images.image_sync#module:tag_regex)).
      - For an OCI layout, it is matched against the tag part of each name (V(1.4) of V(team/app:1.4)).
    type: str
  exclude_regex:
    description:
      - Leave out the tags in which this regular expression is found (Go RE2 syntax).
    type: str
  semver:
    description:
      - Keep only the tags that are semantic versions satisfying this constraint (Masterminds/semver v3 syntax, as
        M(ocikit.images.image_sync)'s O(ocikit.images.image_sync#module:semver)), for example V(>=1.2 <2) or V(~1.4).
      - Tags that are no version are left out.
    type: str
  sort:
    description:
      - V(none) keeps the registry's order (or the layout's index order), as skopeo prints it.
      - V(lexical) sorts by character code.
      - V(semver) sorts versions ascending by semantic version precedence; tags that are no version follow, sorted by character code.
    type: str
    choices: [none, lexical, semver]
    default: none
  page_size:
    description:
      - Ask the registry for pages of at most this many tags (the C(n) parameter of the distribution API); every page is read.
      - When unset, the registry chooses the page size (skopeo never sends C(n)). Ignored for OCI layouts and archives.
    type: int
seealso:
  - module: ocikit.images.image_inspect
  - module: ocikit.images.image_sync
  - plugin: ocikit.images.image_digest
    plugin_type: lookup
  - name: skopeo list-tags
    description: The command this module mirrors.
    link: https://github.com/containers/skopeo/blob/main/docs/skopeo-list-tags.1.md
'''

EXAMPLES = r'''
- name: List every tag of a repository
  ocikit.images.image_tags:
    image: docker://registry.example.com/team/app
    username: robot
    password: "{{ registry_password }}"
  register: app_tags

- name: The 1.x releases, oldest first
  ocikit.images.image_tags:
    image: docker://registry.example.com/team/app
    semver: ">=1.0.0 <2.0.0"
    exclude_regex: "-rc"
    sort: semver
  register: releases

- name: The newest 1.x release
  ansible.builtin.debug:
    msg: "{{ releases.tags | last }}"
  when: releases.count > 0

- name: The names held by an OCI layout
  ocikit.images.image_tags:
    image: oci:/srv/bundle
  register: bundle
'''

RETURN = r'''
repository:
  description:
    - For a registry, the repository's normalised name (C(Repository) of skopeo's output).
    - For an OCI layout or archive, its absolute path.
  returned: always
  type: str
  sample: registry.example.com/team/app
tags:
  description:
    - The tags (for a layout, the names) selected, in the order O(sort) asks for; each once.
  returned: always
  type: list
  elements: str
  sample: ["1.3.0", "1.4.0", "latest"]
count:
  description: The number of entries of RV(tags).
  returned: always
  type: int
  sample: 3
'''

from ansible_collections.ocikit.images.plugins.module_utils import bytecode  # noqa: F401 pylint: disable=unused-import
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
from ansible_collections.ocikit.images.plugins.module_utils.tags import SORT_CHOICES, list_image_tags


def main() -> None:
    argument_spec = dict(
        image=dict(type='str', required=True),
        tag_regex=dict(type='str'),
        exclude_regex=dict(type='str'),
        semver=dict(type='str'),
        sort=dict(type='str', choices=list(SORT_CHOICES), default='none'),
        page_size=dict(type='int'),
        **connection_argument_spec()
    )
    argument_spec.update(retry_argument_spec())
    module = OcikitModule(argument_spec=argument_spec, supports_check_mode=True,
                          required_together=connection_required_together(),
                          mutually_exclusive=connection_mutually_exclusive())
    params = module.params
    check_dependencies(module, network=str(params['image']).startswith('docker:'))

    def work() -> dict:
        return list_image_tags(params['image'], connection_options(params), tag_regex=params['tag_regex'],
                               exclude_regex=params['exclude_regex'], semver=params['semver'], sort=params['sort'],
                               page_size=params['page_size'])

    run(module, work, subject=params['image'])


if __name__ == '__main__':
    main()
