# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for manifest/platform.py: which image of an index is chosen, as containers/image chooses it.

The expected orders are those of containers/image's WantedPlatforms (internal/pkg/platform): with a
variant, the compatible variants from it downwards and then no variant; without one, no variant and
then every known variant of the architecture.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import NoMatchingPlatformError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest import platform as platform_mod
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import Platform, parse_manifest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.platform import (
    choose_instance,
    host_platform,
    matches,
    normalize,
    parse_platform,
    platform_list,
    wanted_platforms,
)


@pytest.fixture(name='host')
def host_fixture(monkeypatch):
    """Pretend to run on a given (os, arch, variant), whatever machine runs the tests."""
    def set_host(os_name='linux', arch='amd64', variant=None):
        monkeypatch.setattr(platform_mod, 'host_platform', lambda: (os_name, arch, variant))
    set_host()
    return set_host


@pytest.mark.parametrize('machine, expected', [
    ('x86_64', ('linux', 'amd64', None)),
    ('AMD64', ('linux', 'amd64', None)),
    ('aarch64', ('linux', 'arm64', 'v8')),
    ('arm64', ('linux', 'arm64', 'v8')),
    ('armv7l', ('linux', 'arm', 'v7')),
    ('armv6l', ('linux', 'arm', 'v6')),
    ('i686', ('linux', '386', None)),
    ('ppc64le', ('linux', 'ppc64le', None)),
    ('s390x', ('linux', 's390x', None)),
    ('loongarch64', ('linux', 'loong64', None)),
    ('sparc64', ('linux', 'sparc64', None)),
])
def test_host_platform(monkeypatch, machine, expected):
    monkeypatch.setattr(platform_mod._platform, 'machine', lambda: machine)  # pylint: disable=protected-access
    monkeypatch.setattr(platform_mod.sys, 'platform', 'linux')
    assert host_platform() == expected


def test_host_platform_darwin(monkeypatch):
    monkeypatch.setattr(platform_mod._platform, 'machine', lambda: 'arm64')  # pylint: disable=protected-access
    monkeypatch.setattr(platform_mod.sys, 'platform', 'darwin')
    assert host_platform() == ('darwin', 'arm64', 'v8')


def _variants(platforms):
    return [(p.os, p.architecture, p.variant) for p in platforms]


@pytest.mark.parametrize('host_args, overrides, expected', [
    # amd64 host: no variant, and amd64 has no known variants.
    (('linux', 'amd64', None), {}, [('linux', 'amd64', None)]),
    # arm64 host: the detected variant, then no variant.
    (('linux', 'arm64', 'v8'), {}, [('linux', 'arm64', 'v8'), ('linux', 'arm64', None)]),
    # arm v7 host: v7 and what it runs, most capable first, then no variant.
    (('linux', 'arm', 'v7'), {}, [('linux', 'arm', 'v7'), ('linux', 'arm', 'v6'), ('linux', 'arm', 'v5'), ('linux', 'arm', None)]),
    (('linux', 'arm', 'v5'), {}, [('linux', 'arm', 'v5'), ('linux', 'arm', None)]),
    # Overriding the architecture drops the host's variant: no variant first, then the known ones.
    (('linux', 'amd64', None), {'override_arch': 'arm64'}, [('linux', 'arm64', None), ('linux', 'arm64', 'v8')]),
    (('linux', 'arm64', 'v8'), {'override_arch': 'arm64'}, [('linux', 'arm64', None), ('linux', 'arm64', 'v8')]),
    (('linux', 'arm64', 'v8'), {'override_arch': 'amd64'}, [('linux', 'amd64', None)]),
    (('linux', 'amd64', None), {'override_arch': 'arm'},
     [('linux', 'arm', None), ('linux', 'arm', 'v8'), ('linux', 'arm', 'v7'), ('linux', 'arm', 'v6'), ('linux', 'arm', 'v5')]),
    (('linux', 'amd64', None), {'override_arch': 'arm', 'override_variant': 'v7'},
     [('linux', 'arm', 'v7'), ('linux', 'arm', 'v6'), ('linux', 'arm', 'v5'), ('linux', 'arm', None)]),
    (('linux', 'amd64', None), {'override_arch': 'arm64', 'override_variant': 'v8'}, [('linux', 'arm64', 'v8'), ('linux', 'arm64', None)]),
    # A variant nobody knows: just it, then no variant.
    (('linux', 'amd64', None), {'override_arch': 'arm64', 'override_variant': 'v9'}, [('linux', 'arm64', 'v9'), ('linux', 'arm64', None)]),
    (('linux', 'amd64', None), {'override_variant': 'v3'}, [('linux', 'amd64', 'v3'), ('linux', 'amd64', None)]),
    # A variant override alone keeps the host architecture.
    (('linux', 'arm', 'v7'), {'override_variant': 'v6'}, [('linux', 'arm', 'v6'), ('linux', 'arm', 'v5'), ('linux', 'arm', None)]),
    (('linux', 'amd64', None), {'override_os': 'windows'}, [('windows', 'amd64', None)]),
    (('darwin', 'arm64', 'v8'), {'override_os': 'linux'}, [('linux', 'arm64', 'v8'), ('linux', 'arm64', None)]),
    # Overrides are normalised as image platforms are.
    (('linux', 'amd64', None), {'override_arch': 'aarch64'}, [('linux', 'arm64', None), ('linux', 'arm64', 'v8')]),
    (('linux', 'amd64', None), {'override_arch': 'x86_64'}, [('linux', 'amd64', None)]),
    (('linux', 'amd64', None), {'override_arch': 'arm64', 'override_variant': '8'}, [('linux', 'arm64', 'v8'), ('linux', 'arm64', None)]),
])
def test_wanted_platforms(host, host_args, overrides, expected):
    host(*host_args)
    assert _variants(wanted_platforms(**overrides)) == expected


@pytest.mark.parametrize('plat, expected', [
    (Platform('linux', 'x86_64'), Platform('linux', 'amd64')),
    (Platform('linux', 'x86-64'), Platform('linux', 'amd64')),
    (Platform('Linux', 'AMD64'), Platform('linux', 'amd64')),
    (Platform('linux', 'aarch64'), Platform('linux', 'arm64')),
    (Platform('linux', 'aarch64', '8'), Platform('linux', 'arm64', 'v8')),
    (Platform('linux', 'arm64', 'v8'), Platform('linux', 'arm64', 'v8')),
    (Platform('linux', 'arm', '7'), Platform('linux', 'arm', 'v7')),
    (Platform('linux', 'i386'), Platform('linux', '386')),
    (Platform('windows', 'amd64', os_version='10.0', os_features=('win32k',)), Platform('windows', 'amd64', os_version='10.0', os_features=('win32k',))),
])
def test_normalize(plat, expected):
    assert normalize(plat) == expected


@pytest.mark.parametrize('image, wanted, expected', [
    (Platform('linux', 'amd64'), Platform('linux', 'amd64'), True),
    (Platform('linux', 'x86_64'), Platform('linux', 'amd64'), True),
    (Platform('linux', 'aarch64', '8'), Platform('linux', 'arm64', 'v8'), True),
    (Platform('linux', 'arm64', 'v8'), Platform('linux', 'arm64'), False),
    (Platform('linux', 'arm64'), Platform('linux', 'arm64', 'v8'), False),
    (Platform('linux', 'arm', 'v7'), Platform('linux', 'arm', 'v6'), False),
    (Platform('windows', 'amd64'), Platform('linux', 'amd64'), False),
    (Platform('linux', 'arm64'), Platform('linux', 'amd64'), False),
])
def test_matches(image, wanted, expected):
    assert matches(image, wanted) is expected


def sha(text):
    return 'sha256:' + hashlib.sha256(text.encode()).hexdigest()


def make_index(*platforms):
    """An OCI index with one descriptor per platform (a dict, or None for no platform); digests named by position."""
    manifests = []
    for position, plat in enumerate(platforms):
        desc = {'mediaType': mt.OCI_MANIFEST, 'digest': sha(str(position)), 'size': 100 + position}
        if plat is not None:
            desc['platform'] = plat
        manifests.append(desc)
    return parse_manifest(json.dumps({'schemaVersion': 2, 'mediaType': mt.OCI_INDEX, 'manifests': manifests}).encode())


def spec(os_name, arch, variant=None):
    plat = {'os': os_name, 'architecture': arch}
    if variant is not None:
        plat['variant'] = variant
    return plat


def _chosen(index, **kwargs):
    desc = choose_instance(index, **kwargs)
    return [str(d.digest) for d in index.manifests].index(str(desc.digest))


@pytest.mark.parametrize('host_args, platforms, overrides, expected', [
    # The host's platform wins over anything listed before it.
    (('linux', 'amd64', None), [spec('linux', 'arm64', 'v8'), spec('linux', 'amd64'), spec('linux', 's390x')], {}, 1),
    # The first matching descriptor in index order wins among equals.
    (('linux', 'amd64', None), [spec('linux', 'amd64'), spec('linux', 'amd64')], {}, 0),
    (('linux', 'amd64', None), [None, spec('windows', 'amd64'), spec('linux', 'amd64'), spec('linux', 'amd64')], {}, 2),
    # arm64 host: v8 is preferred over no variant, whatever the index order.
    (('linux', 'arm64', 'v8'), [spec('linux', 'arm64'), spec('linux', 'arm64', 'v8')], {}, 1),
    (('linux', 'arm64', 'v8'), [spec('linux', 'amd64'), spec('linux', 'arm64')], {}, 1),
    # Wanted platforms are walked in order: v7 before v6 before no variant.
    (('linux', 'arm', 'v7'), [spec('linux', 'arm'), spec('linux', 'arm', 'v6'), spec('linux', 'arm', 'v7')], {}, 2),
    (('linux', 'arm', 'v7'), [spec('linux', 'arm'), spec('linux', 'arm', 'v6')], {}, 1),
    (('linux', 'arm', 'v7'), [spec('linux', 'arm', 'v8'), spec('linux', 'arm')], {}, 1),
    # Overrides.
    (('linux', 'amd64', None), [spec('linux', 'amd64'), spec('linux', 'arm64', 'v8')], {'override_arch': 'arm64'}, 1),
    (('linux', 'amd64', None), [spec('linux', 'arm64', 'v8'), spec('linux', 'arm64')], {'override_arch': 'arm64'}, 1),
    (('linux', 'amd64', None), [spec('linux', 'arm', 'v6'), spec('linux', 'arm', 'v7')], {'override_arch': 'arm', 'override_variant': 'v7'}, 1),
    (('linux', 'amd64', None), [spec('linux', 'amd64'), spec('windows', 'amd64')], {'override_os': 'windows'}, 1),
    # Image platforms are normalised: 'aarch64', 'x86_64', variant '8'.
    (('linux', 'arm64', 'v8'), [spec('linux', 'amd64'), spec('linux', 'aarch64', '8')], {}, 1),
    (('linux', 'amd64', None), [spec('linux', 'arm64'), spec('linux', 'x86_64')], {}, 1),
    (('linux', 'amd64', None), [spec('linux', 'amd64'), spec('linux', 'aarch64')], {'override_arch': 'arm64'}, 1),
    (('linux', 'amd64', None), [spec('linux', 'amd64'), spec('linux', 'arm64', '8')], {'override_arch': 'arm64', 'override_variant': '8'}, 1),
    (('linux', 'amd64', None), [spec('linux', 'amd64'), spec('linux', 'arm64', 'v8')], {'override_arch': 'aarch64'}, 1),
])
def test_choose_instance(host, host_args, platforms, overrides, expected):
    host(*host_args)
    assert _chosen(make_index(*platforms), **overrides) == expected


def test_choose_instance_returns_the_descriptor(host):
    host('linux', 'arm64', 'v8')
    index = make_index(spec('linux', 'amd64'), spec('linux', 'arm64', 'v8'))
    assert choose_instance(index) is index.manifests[1]


@pytest.mark.parametrize('host_args, platforms, overrides, message', [
    (('linux', 'amd64', None), [spec('linux', 'arm64', 'v8'), spec('linux', 's390x'), spec('linux', 'arm', 'v7')], {},
     'no image for platform linux/amd64 in the index (available: linux/arm/v7, linux/arm64/v8, linux/s390x)'),
    (('linux', 'arm', 'v6'), [spec('linux', 'arm', 'v7'), spec('linux', 'arm64')], {},
     'no image for platform linux/arm/v6 in the index (available: linux/arm/v7, linux/arm64)'),
    (('linux', 'amd64', None), [spec('linux', 'amd64')], {'override_os': 'windows'},
     'no image for platform windows/amd64 in the index (available: linux/amd64)'),
    (('linux', 'amd64', None), [None], {}, 'no image for platform linux/amd64 in the index (available: none)'),
    (('linux', 'amd64', None), [], {}, 'no image for platform linux/amd64 in the index (available: none)'),
])
def test_no_matching_platform(host, host_args, platforms, overrides, message):
    host(*host_args)
    with pytest.raises(NoMatchingPlatformError) as excinfo:
        choose_instance(make_index(*platforms), **overrides)
    assert str(excinfo.value) == message


@pytest.mark.parametrize('value, expected', [
    ('linux/amd64', Platform('linux', 'amd64')),
    ('linux/arm64/v8', Platform('linux', 'arm64', 'v8')),
    ('linux/arm/7', Platform('linux', 'arm', 'v7')),
    ('linux/aarch64', Platform('linux', 'arm64')),
    (' linux/x86_64 ', Platform('linux', 'amd64')),
    ('windows/amd64', Platform('windows', 'amd64')),
])
def test_parse_platform(value, expected):
    assert parse_platform(value) == expected


@pytest.mark.parametrize('value', ['', 'linux', 'linux/', '/amd64', 'linux//v8', 'linux/arm/v7/extra', 'linux/arm/', '///'])
def test_parse_platform_invalid(value):
    with pytest.raises(NoMatchingPlatformError) as excinfo:
        parse_platform(value)
    assert str(excinfo.value) == 'invalid platform %r: expected os/arch or os/arch/variant' % value


def test_platform_list_is_sorted():
    index = make_index(spec('linux', 's390x'), None, spec('linux', 'arm', 'v7'), spec('linux', 'amd64'))
    assert platform_list(index) == ['linux/amd64', 'linux/arm/v7', 'linux/s390x']
