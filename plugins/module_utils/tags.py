# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What ``skopeo list-tags`` reports (module image_tags), with image_sync's tag filters and a choice of order.

Registry repositories (``docker://REGISTRY/REPOSITORY``, no tag, no digest, as skopeo's
``parseDockerRepositoryReference`` requires) are listed as containers/image ``docker.GetRepositoryTags``
lists them: ``GET /v2/<name>/tags/list`` with ``pull`` access, every ``Link: <...>; rel="next"``
page followed on the same registry (transports.docker.source.list_repository_tags, the lister the
sync and inspect use). ``page_size`` adds the distribution spec's ``n`` to the first request, which
containers/image never sends. The tags keep the registry's order unless ``sort`` asks otherwise,
each tag once, as skopeo prints them.

OCI layouts and archives (``oci:PATH``, ``oci-archive:PATH``, beyond skopeo, whose ``list-tags``
takes ``docker`` and ``docker-archive`` only): the ``org.opencontainers.image.ref.name`` values of
index.json in index order, as written (``1.4``, ``team/app:1.4``), each once.

Filters are image_sync's (sync.spec.tag_filter, sync.spec.select_tags): ``tag_regex`` must be found
in the tag, ``exclude_regex`` must not (Go RE2 syntax, searched anywhere, as skopeo sync's
``MatchString``), ``semver`` is a Masterminds/semver v3 constraint the tag must be a version
satisfying. For a layout they apply to the tag part of each name (sync.spec.split_ref_name); names
that carry a digest instead of a tag, or that are no image name, are left out once a filter is given.

``sort``: ``none`` (the registry's or index's order), ``lexical`` (code point order, Go's
``sort.Strings``) or ``semver`` (versions ascending by semver precedence, equal versions by their
text; what is no version follows, in lexical order).
"""

from __future__ import annotations

import functools
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, InvalidReferenceError, quote
from ansible_collections.ocikit.images.plugins.module_utils.reference import DockerReference, parse_normalized_named
from ansible_collections.ocikit.images.plugins.module_utils.sync.semver import Version, try_parse_version
from ansible_collections.ocikit.images.plugins.module_utils.sync.spec import SyncEntry, select_tags, split_ref_name, tag_filter
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name

SORT_CHOICES = ('none', 'lexical', 'semver')
#: The transports whose names can be listed.
LISTABLE_TRANSPORTS = ('docker', 'oci', 'oci-archive')


def _has_filters(entry: SyncEntry) -> bool:
    return entry.include is not None or entry.exclude is not None or entry.semver is not None


def _tag_part(name: str) -> str | None:
    """The tag of a layout's ref name (``team/app:1.4`` -> ``1.4``, ``latest`` -> ``latest``); None for a digest or no image name."""
    try:
        dummy, reference = split_ref_name(name)
    except InvalidInputError:
        return None
    return None if ':' in reference else reference


def _layout_name_selected(selection: SyncEntry, name: str) -> bool:
    """True when the tag of the layout name ``name`` passes the filters (a name without a tag never does)."""
    tag = _tag_part(name)
    return tag is not None and bool(select_tags(selection, [tag]))


def _semver_order(first: tuple[Version | None, str], second: tuple[Version | None, str]) -> int:
    """Versions first, by precedence then text; then the rest, by text."""
    (version_a, text_a), (version_b, text_b) = first, second
    if version_a is not None and version_b is not None:
        order = version_a.compare(version_b)
        if order:
            return order
    elif version_a is not None or version_b is not None:
        return -1 if version_a is not None else 1
    return (text_a > text_b) - (text_a < text_b)


def sort_tags(names: t.Sequence[str], sort: str, tag_of: t.Callable[[str], str | None] = lambda name: name) -> list[str]:
    """``names`` in the order ``sort`` asks for (module docstring); ``tag_of`` gives the tag a name is ordered by (semver)."""
    if sort == 'none':
        return list(names)
    if sort == 'lexical':
        return sorted(names)
    if sort != 'semver':
        raise InvalidInputError('invalid sort %s: expected one of %s' % (quote(str(sort)), ', '.join(SORT_CHOICES)))

    def key_of(name: str) -> tuple[Version | None, str]:
        tag = tag_of(name)
        return (try_parse_version(tag) if tag is not None else None), name

    return [name for dummy, name in sorted(((key_of(name), name) for name in names),
                                           key=functools.cmp_to_key(lambda a, b: _semver_order(a[0], b[0])))]


def _docker_repository(image: str) -> DockerReference:
    """The repository of ``docker://NAME``; a tag or digest is refused, as skopeo list-tags refuses it."""
    details = image[len('docker:'):]
    if not details.startswith('//'):
        raise InvalidReferenceError('invalid image name %s: expected docker://REGISTRY/REPOSITORY' % quote(image))
    # parse_image_name first: it refuses credentials in the name without echoing them.
    parse_image_name(image)
    named = parse_normalized_named(details[2:])
    if not named.is_name_only():
        raise InvalidInputError('%s names an image; image_tags lists a repository: remove the tag or digest (as skopeo list-tags requires)'
                                % quote(image))
    return named


def list_image_tags(image: str, options: ConnectionOptions, tag_regex: str | None = None, exclude_regex: str | None = None,
                    semver: str | None = None, sort: str = 'none', page_size: int | None = None) -> dict[str, t.Any]:
    """The image_tags result for ``image`` (a repository, layout or archive): ``repository``, ``tags``, ``count``."""
    if sort not in SORT_CHOICES:
        raise InvalidInputError('invalid sort %s: expected one of %s' % (quote(str(sort)), ', '.join(SORT_CHOICES)))
    if page_size is not None and page_size < 1:
        raise InvalidInputError('page_size must be at least 1, not %d' % page_size)
    selection = tag_filter(tag_regex, exclude_regex, semver, origin='image_tags')
    transport = image.partition(':')[0]
    if transport == 'docker':
        named = _docker_repository(image)
        # Imported here: only a registry needs the HTTP client (and its import cost).
        from ansible_collections.ocikit.images.plugins.module_utils.transports.docker import source  # pylint: disable=import-outside-toplevel

        ref = parse_image_name('docker://%s' % named.with_default_tag())
        with ref.new_source(options) as src:
            listed = source.list_repository_tags(src.client, src.ref, src.scopes, page_size=page_size)
        tags = select_tags(selection, listed) if _has_filters(selection) else listed
        tags = sort_tags(tags, sort)
        return {'changed': False, 'repository': named.name, 'tags': tags, 'count': len(tags)}
    if transport not in LISTABLE_TRANSPORTS:
        parse_image_name(image)  # an unknown transport or a bad name is named by the parser
        raise InvalidInputError('%s: image_tags lists docker://, oci: and oci-archive: names, not %s: ones' % (quote(image), transport))
    ref = parse_image_name(image)
    if ref.image_ref is not None or getattr(ref, 'digest', None) is not None:
        raise InvalidInputError('%s names an image; image_tags lists every name of a layout or archive: give its path alone' % quote(image))
    with ref.new_source(options) as src:
        names = list(dict.fromkeys(src.list_tags()))
    if _has_filters(selection):
        names = [name for name in names if _layout_name_selected(selection, name)]
    names = sort_tags(names, sort, _tag_part)
    return {'changed': False, 'repository': ref.path, 'tags': names, 'count': len(names)}
