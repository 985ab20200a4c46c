# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters ``parse_reference`` and ``normalize_reference``: the modules' own reference parser, in templates.

A bare reference is parsed as containers/image's ``reference.ParseNormalizedNamed`` parses what
skopeo is given after ``docker://`` (module_utils.reference: ``nginx`` is
``docker.io/library/nginx``, ``user/app`` is ``docker.io/user/app``, ``index.docker.io`` is spelled
``docker.io``), and normalised with ``:latest`` when it has neither a tag nor a digest, as
``docker://`` names are (``reference.TagNameOnly``). A name starting with a transport
(``docker://``, ``oci:``, ``dir:``, ...) is parsed by that transport, exactly as the modules parse
their ``image``, ``src`` and ``dest`` options. Their documentation is in parse_reference.yml and
normalize_reference.yml beside this file.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.ocikit.images.plugins.module_utils.errors import OcikitError, describe
from ansible_collections.ocikit.images.plugins.module_utils.reference import DockerReference, parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import has_transport, parse_image_name
from ansible_collections.ocikit.images.plugins.module_utils.yamlutil import kind_of


def _fields(named: DockerReference | None) -> dict[str, t.Any]:
    """The docker reference's parts; every key None when the name carries no docker reference (``oci:``, ``dir:``)."""
    if named is None:
        return dict.fromkeys(('registry', 'domain', 'repository', 'name', 'familiar_name', 'tag', 'digest', 'familiar', 'normalized'))
    normalized = named.with_default_tag()
    return {'registry': named.domain, 'domain': named.domain, 'repository': named.repository, 'name': named.name,
            'familiar_name': named.familiar_name, 'tag': named.tag, 'digest': str(named.digest) if named.digest is not None else None,
            'familiar': normalized.familiar_string(), 'normalized': str(normalized)}


def _parse(value: t.Any, filter_name: str) -> dict[str, t.Any]:
    if not isinstance(value, str):
        raise AnsibleFilterError('%s: expected an image reference string, got %s' % (filter_name, kind_of(value)))
    try:
        if not has_transport(value):
            result = _fields(parse_normalized_named(value))
            result.update(transport=None, image='docker://%s' % result['normalized'])
            return result
        ref = parse_image_name(value)
        # The docker transport adds ":latest" to a name alone; "tag" reports what was written, as for a bare reference.
        named = parse_normalized_named(value[len('docker://'):]) if ref.transport.name == 'docker' else ref.docker_reference()
        result = _fields(named)
        image = 'docker://%s' % result['normalized'] if ref.transport.name == 'docker' else str(ref)
        result.update(transport=ref.transport.name, image=image)
        return result
    except OcikitError as exc:
        message = describe(exc)
    # Outside the except block: the error is the message, with no chained exception behind it.
    raise AnsibleFilterError('%s: %s' % (filter_name, message))


def parse_reference(value: t.Any) -> dict[str, t.Any]:
    """The parts of an image reference as a dict (parse_reference.yml)."""
    return _parse(value, 'parse_reference')


def normalize_reference(value: t.Any) -> str:
    """The normalised reference (``nginx`` -> ``docker.io/library/nginx:latest``), a transport kept (normalize_reference.yml)."""
    result = _parse(value, 'normalize_reference')
    return result['normalized'] if result['transport'] is None else result['image']


class FilterModule:
    """ocikit.images reference filters."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {'parse_reference': parse_reference, 'normalize_reference': normalize_reference}
