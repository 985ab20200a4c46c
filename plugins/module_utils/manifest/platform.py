# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which image of an index to use: the host's platform, or the user's overrides, as skopeo picks."""

from __future__ import annotations

import platform as _platform
import sys
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import NoMatchingPlatformError
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import Descriptor, ImageIndex, Platform

# Python's machine names to Go's GOARCH (and the variant Go's runtime reports), because image
# platforms use Go's names.
_MACHINE_TO_GO = {
    'x86_64': ('amd64', None), 'amd64': ('amd64', None),
    'aarch64': ('arm64', 'v8'), 'arm64': ('arm64', 'v8'),
    'armv7l': ('arm', 'v7'), 'armv6l': ('arm', 'v6'), 'armv5tel': ('arm', 'v5'),
    'i386': ('386', None), 'i686': ('386', None),
    'ppc64le': ('ppc64le', None), 's390x': ('s390x', None), 'riscv64': ('riscv64', None),
    'mips64': ('mips64', None), 'loongarch64': ('loong64', None),
}

# From most to least specific, as containers/image's platform matcher walks them.
_VARIANT_COMPATIBILITY = {'arm': ('v8', 'v7', 'v6', 'v5'), 'arm64': ('v8',)}

_ARCH_ALIASES = {'x86_64': 'amd64', 'x86-64': 'amd64', 'aarch64': 'arm64', 'i386': '386'}


def normalize(plat: Platform) -> Platform:
    """Normalise architecture aliases and variants (arm64 '8' -> 'v8') as containerd does."""
    arch = _ARCH_ALIASES.get(plat.architecture.lower(), plat.architecture.lower())
    variant = plat.variant
    if variant and variant.isdigit():
        variant = 'v' + variant
    if arch == 'arm64' and variant == 'v8':
        variant = 'v8'
    return Platform(os=plat.os.lower(), architecture=arch, variant=variant, os_version=plat.os_version,
                    os_features=plat.os_features)


def host_platform() -> tuple[str, str, str | None]:
    """The (os, architecture, variant) of this machine in Go's names."""
    os_name = 'linux' if sys.platform.startswith('linux') else sys.platform
    if os_name == 'darwin':
        os_name = 'darwin'
    arch, variant = _MACHINE_TO_GO.get(_platform.machine().lower(), (_platform.machine().lower(), None))
    return os_name, arch, variant


def wanted_platforms(override_os: str | None = None, override_arch: str | None = None,
                     override_variant: str | None = None) -> list[Platform]:
    """The platforms to look for, best first, as containers/image's WantedPlatforms."""
    host_os, host_arch, host_variant = host_platform()
    wanted_os = override_os or host_os
    wanted_arch = override_arch or host_arch
    # The host's variant only applies when the architecture is the host's own.
    wanted_variant = override_variant or (None if override_arch else host_variant)
    # Image platforms are normalised before matching, so the wanted one must be too ('aarch64', '8').
    wanted = normalize(Platform(os=wanted_os, architecture=wanted_arch, variant=wanted_variant))
    wanted_os, wanted_arch, wanted_variant = wanted.os, wanted.architecture, wanted.variant
    order = _VARIANT_COMPATIBILITY.get(wanted_arch)
    variants: list[str | None]
    if wanted_variant:
        variants = list(order[order.index(wanted_variant):]) if order and wanted_variant in order else [wanted_variant]
        variants.append(None)
    else:
        variants = [None] + list(order or ())
    return [Platform(os=wanted_os, architecture=wanted_arch, variant=v) for v in variants]


def matches(image: Platform, wanted: Platform) -> bool:
    """True when ``image`` is the ``wanted`` platform (variant compared exactly)."""
    image = normalize(image)
    return (image.os == wanted.os and image.architecture == wanted.architecture
            and (image.variant or None) == (wanted.variant or None))


def choose_instance(index: ImageIndex, override_os: str | None = None, override_arch: str | None = None,
                    override_variant: str | None = None) -> Descriptor:
    """The descriptor of the image skopeo would pick from ``index``."""
    wanted = wanted_platforms(override_os, override_arch, override_variant)
    for plat in wanted:
        for desc in index.manifests:
            if desc.platform is not None and matches(desc.platform, plat):
                return desc
    available = ', '.join(sorted(str(d.platform) for d in index.manifests if d.platform is not None)) or 'none'
    raise NoMatchingPlatformError('no image for platform %s in the index (available: %s)' % (wanted[0], available))


def parse_platform(value: str) -> Platform:
    """Parse ``os/arch[/variant]`` as written in options."""
    parts = value.strip().split('/')
    if len(parts) not in (2, 3) or not all(parts):
        raise NoMatchingPlatformError('invalid platform %r: expected os/arch or os/arch/variant' % value)
    return normalize(Platform(os=parts[0], architecture=parts[1], variant=parts[2] if len(parts) == 3 else None))


def platform_list(index: ImageIndex) -> list[str]:
    """The platforms of ``index`` as sorted ``os/arch[/variant]`` strings."""
    return sorted(str(p) for p in index.platforms())


__all__: t.List[str] = ['choose_instance', 'host_platform', 'matches', 'normalize', 'parse_platform',
                        'platform_list', 'wanted_platforms']
