# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The trust policy options of the modules that copy or verify images (doc fragment ``policy``).

Apart from module.py, which every module imports: Ansible's packer puts every module_util a file
can import into the module's AnsiballZ payload, and through ``load_policy`` this one reaches the
policy parser, simple signing and the manifest readers, which registry_login never runs.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible.module_utils.basic import AnsibleModule


def policy_argument_spec() -> dict[str, dict[str, t.Any]]:
    """The trust policy options (doc fragment ``policy``): ``policy``, ``policy_data``, ``insecure_policy``, ``registries_d``."""
    return dict(
        policy=dict(type='path'),
        policy_data=dict(type='dict'),
        insecure_policy=dict(type='bool', default=False),
        registries_d=dict(type='path'),
    )


#: Options of :func:`policy_argument_spec` that exclude each other.
POLICY_MUTUALLY_EXCLUSIVE = [['policy', 'policy_data', 'insecure_policy']]


def module_policy(module: AnsibleModule, params: t.Mapping[str, t.Any]) -> t.Any:
    """The trust policy the options name (signature/policy.py ``load_policy``), its no-policy-found warning given to Ansible."""
    # Imported here: a task refused for its options never loads the parser.
    from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import load_policy  # pylint: disable=import-outside-toplevel

    policy = load_policy(path=params.get('policy'), data=params.get('policy_data'), insecure=bool(params.get('insecure_policy')))
    if policy.warning:
        module.warn(policy.warning)
    return policy
