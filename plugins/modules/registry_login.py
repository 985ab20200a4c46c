#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: registry_login
short_description: Log in to or out of a container registry, as skopeo login and logout do
version_added: 0.1.0
description:
  - Stores registry credentials in an auth file (containers-auth.json(5), what skopeo, podman and every module of this collection read),
    or removes them. With O(compat_auth_file), writes Docker's C(config.json) format instead.
  - By default the credentials are checked against the registry first (O(verify)), by its own auth flow (Basic or Bearer token);
    refused credentials fail the task and nothing is written.
  - Idempotent. Credentials already stored are compared decoded (user and password), so the same login again is C(ok);
    logging out of a registry without credentials is C(ok) too, not a failure.
  - Where the auth file names a credential helper for the registry (C(credHelpers); in Docker's format also C(credsStore)),
    credentials are read, stored and erased through C(docker-credential-NAME get|store|erase) instead of the file.
  - The file is written atomically (mode 0600, new directories 0700) under a lock, so parallel forks writing one file keep each
    other's entries; everything else in the file, unknown keys included, is kept.
author:
  - ocikit.images contributors (@ocikit)
extends_documentation_fragment:
  - ocikit.images.attributes
  - ocikit.images.connection
attributes:
  check_mode:
    support: full
    description: Reads the file (and helpers), checks the credentials if O(verify), predicts C(changed); writes, locks and creates nothing.
  diff_mode:
    support: full
    description: Returns the registries with credentials before and after, and the user and store (auth file or credential helper) of the
      entries at hand, never a secret; a changed password alone shows as a hidden marker.
  idempotent:
    support: full
    details: "Logging in with the credentials the file already holds, or out of a registry it holds none for, reports C(ok) and writes nothing."
requirements:
  - httpx (Python library) to log in with O(verify=true) (the default), which checks the credentials against the registry
options:
  registry:
    description:
      - The registry, as V(host[:port]), or V(host[:port]/namespace[/repo]) for credentials that apply to part of it only
        (the most specific entry wins when images are pulled or pushed, as in containers-auth.json(5)).
      - URLs such as V(https://registry.example.com/v1/) are reduced to their V(host[:port]); V(index.docker.io) and
        V(registry-1.docker.io) are stored as V(docker.io).
      - Required with O(state=present), and with O(state=absent) unless O(all) is set.
    type: str
  state:
    description:
      - V(present) stores the credentials (logs in), V(absent) removes them (logs out).
    type: str
    choices: [present, absent]
    default: present
  all:
    description:
      - With O(state=absent), remove the credentials of every registry from the file, and erase from credential helpers every
        registry the file names them for (as C(skopeo logout --all)). The helper configuration itself is kept.
    type: bool
    default: false
  username:
    description:
      - The user name to store. Required with O(state=present); ignored with O(state=absent).
      - It cannot contain V(:).
  password:
    description:
      - The password (or access token) to store for O(username). Required with O(state=present). Never returned or logged.
  authfile:
    description:
      - The auth file to write (and read).
      - When unset, C(REGISTRY_AUTH_FILE), else C(${XDG_RUNTIME_DIR}/containers/auth.json), or C(/run/containers/$UID/auth.json)
        when C(XDG_RUNTIME_DIR) is unset, as skopeo and podman choose it; this is the first file the other modules read.
      - An C(XDG_RUNTIME_DIR) that names a missing directory is an error.
      - Mutually exclusive with O(compat_auth_file).
  compat_auth_file:
    description:
      - Write this Docker C(config.json) instead of a containers auth file, in Docker's format, as podman's C(--compat-auth-file).
      - Docker's format keys Docker Hub as V(https://index.docker.io/v1/) and has no namespace-scoped entries, so a O(registry) with a
        namespace is refused. C(credsStore) and C(credHelpers) of the file are honoured, as C(docker login) does.
    type: path
  verify:
    description:
      - Check the credentials against the registry before storing them. The registry's C(/v2/) is pinged; for Basic auth a request
        with the credentials must be accepted, for Bearer auth the token server must grant a token for them.
      - Uses O(tls_verify), O(cert_dir) and O(timeout). Runs in check mode too.
    type: bool
    default: true
notes:
  - O(registry_token) and O(no_creds) are accepted, so that C(module_defaults) for C(group/ocikit.images.images) apply, and ignored.
    O(username) and O(password) set there are what this module stores.
  - A lock file C(FILE.lock) is created beside the auth file and left there.
  - skopeo 1.9.3 has no C(--compat-auth-file); skopeo always checks the credentials (O(verify=true)).
seealso:
  - module: ocikit.images.image_copy
  - module: ocikit.images.image_sync
  - name: Logging in to registries
    description: Auth files, credential helpers, Docker's format, logout.
    link: https://github.com/ocikit/images/blob/main/docs/registry-login.md
  - name: skopeo-login(1)
    description: The command this module does natively.
    link: https://github.com/containers/skopeo/blob/main/docs/skopeo-login.1.md
  - name: containers-auth.json(5)
    description: The auth file format.
    link: https://github.com/containers/image/blob/main/docs/containers-auth.json.5.md
'''

EXAMPLES = r'''
- name: Log in to a registry (checked, then stored in the default auth file)
  ocikit.images.registry_login:
    registry: registry.example.com
    username: robot
    password: "{{ registry_password }}"

- name: The other modules find the credentials there
  ocikit.images.image_copy:
    src: docker://registry.example.com/team/app:1.4
    dest: oci:/srv/bundle/app:1.4

- name: Credentials for one namespace of a registry, in a chosen file
  ocikit.images.registry_login:
    registry: quay.io/team
    username: team+robot
    password: "{{ quay_token }}"
    authfile: /etc/containers/auth.json

- name: Log in for Docker as well (Docker's config.json format)
  ocikit.images.registry_login:
    registry: docker.io
    username: me
    password: "{{ hub_token }}"
    compat_auth_file: ~/.docker/config.json

- name: Log out of one registry
  ocikit.images.registry_login:
    registry: registry.example.com
    state: absent

- name: Log out of every registry
  ocikit.images.registry_login:
    state: absent
    all: true
  register: logout

- name: Show which
  ansible.builtin.debug:
    var: logout.removed
'''

RETURN = r'''
registry:
  description: The registry key, normalised (V(docker.io) for Docker Hub's aliases, no URL scheme).
  returned: unless O(all)
  type: str
  sample: registry.example.com:5000
auth_key:
  description: The key of the entry in the file (differs from RV(registry) for Docker Hub in Docker's format).
  returned: unless O(all)
  type: str
  sample: https://index.docker.io/v1/
username:
  description: The user name stored.
  returned: when O(state=present)
  type: str
  sample: robot
authfile:
  description: The auth file written or read (O(compat_auth_file) when set).
  returned: always
  type: str
  sample: /run/user/1000/containers/auth.json
credential_helper:
  description: The credential helper (C(docker-credential-NAME) without the prefix) that holds the registry's credentials.
  returned: when the file names a helper for the registry
  type: str
  sample: secretservice
verification:
  description: The outcome of checking the credentials (refused ones fail the task instead).
  returned: when O(state=present) and O(verify)
  type: dict
  contains:
    auth_scheme:
      description: The registry's auth scheme, V(basic), V(bearer), or V(none) when it asks for no authentication.
      type: str
      sample: bearer
    verified:
      description: Whether the registry judged the credentials (V(false) only with scheme V(none), which accepts anything).
      type: bool
      sample: true
  sample: {auth_scheme: bearer, verified: true}
removed:
  description: The keys whose credentials were removed (or would be, in check mode), sorted.
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [quay.io, registry.example.com:5000]
diff:
  description:
    - The registries with credentials in the file before and after (auths keys, and the registry at hand when a helper holds it).
    - C(credentials) maps the keys at hand (the registry logged in to or out of; every key for O(all)) to their C(username) and
      C(store) (V(auth file) or V(credential helper NAME)). When only the password changes, both sides carry a C(password) marker,
      V((previous, hidden)) and V((new, hidden)). Passwords, tokens and C(auth) values are never returned.
  returned: always
  type: dict
  sample:
    before: {registries: [quay.io, registry.example.com], credentials: {registry.example.com: {username: bob, store: auth file}}}
    after: {registries: [quay.io, registry.example.com], credentials: {registry.example.com: {username: alice, store: auth file}}}
'''

from ansible_collections.ocikit.images.plugins.module_utils import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.ocikit.images.plugins.module_utils.config.auth_write import auth_target
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.login import login, logout, logout_all
from ansible_collections.ocikit.images.plugins.module_utils.module import (
    OcikitModule,
    check_dependencies,
    connection_argument_spec,
    connection_options,
    run,
)


def main() -> None:
    argument_spec = dict(
        registry=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        all=dict(type='bool', default=False),
        compat_auth_file=dict(type='path'),
        verify=dict(type='bool', default=True),
        **connection_argument_spec()
    )
    module = OcikitModule(argument_spec=argument_spec, supports_check_mode=True, mutually_exclusive=[['authfile', 'compat_auth_file']],
                          required_if=[['state', 'present', ['registry', 'username', 'password']]])
    params = module.params
    check_dependencies(module, network=params['state'] == 'present' and params['verify'])

    def work() -> dict:
        target = auth_target(params['authfile'], params['compat_auth_file'])
        if params['state'] == 'present':
            if params['all']:
                raise InvalidInputError('all: true logs out of every registry; it needs state: absent')
            return login(params['registry'], params['username'], params['password'], target, connection_options(params),
                         verify=params['verify'], check_mode=module.check_mode)
        if params['all']:
            if params['registry']:
                raise InvalidInputError('all: true logs out of every registry; registry must not be set with it')
            return logout_all(target, check_mode=module.check_mode)
        if not params['registry']:
            raise InvalidInputError('state: absent needs registry, or all: true to log out of every registry')
        return logout(params['registry'], target, check_mode=module.check_mode)

    run(module, work, subject=params['registry'] or None)


if __name__ == '__main__':
    main()
