# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The import budget of a module's start-up: what importing a module file loads, in a fresh interpreter.

Ansible runs every task as a new process that compiles each imported module_util from the AnsiballZ
zip (no bytecode cache), so what a module imports before it looks at its options is paid by every
task, including one that finds its work done. Optional packages (httpx, zstandard, cryptography,
gnupg, PyYAML) and the readers/writers of the transports are imported where a run needs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

MU = 'ansible_collections.ocikit.images.plugins.module_utils.'
OPTIONAL = ('httpx', 'zstandard', 'cryptography', 'gnupg', 'yaml', 'isal')
# Every transport's reader and writer, and the registry client: loaded by new_source/new_destination.
TRANSPORT_IO = tuple(MU + 'transports.%s.%s' % (name, side) for name in ('containers_storage', 'dir', 'docker', 'docker_archive', 'docker_daemon',
                                                                         'oci_archive', 'oci_layout')
                     for side in ('source', 'destination')) + tuple(MU + 'transports.%s.client' % name
                                                                    for name in ('containers_storage', 'docker', 'docker_daemon'))

_PROBE = textwrap.dedent('''
    import importlib, json, sys
    importlib.import_module(sys.argv[1])
    for statement in sys.argv[2:]:
        exec(statement)
    print(json.dumps(sorted(sys.modules)))
''')


def loaded_after(module: str, *statements: str) -> set[str]:
    """Names in sys.modules of a fresh interpreter after importing ``module`` and running ``statements``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, '-c', _PROBE, module, *statements], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout))


@pytest.mark.parametrize('name, allowed', [
    ('image_copy', ()),
    ('image_inspect', ()),
    ('image_sign', ()),
    # The sync engine builds on the local transports' readers and writers at import time (a shared
    # archive, a layout read once, the dir writer's work-directory names); not on the registry's.
    ('image_sync', tuple(name for name in TRANSPORT_IO if '.docker.' not in name)),
    # image_tags filters with the sync's engine (sync.spec), so it loads what image_sync loads, and no more.
    ('image_tags', tuple(name for name in TRANSPORT_IO if '.docker.' not in name)),
    # The registry client (and httpx) only when a login checks credentials: a logout needs neither.
    ('registry_login', ()),
])
def test_module_start_up_imports_no_optional_package_and_no_transport_io(name, allowed):
    loaded = loaded_after('ansible_collections.ocikit.images.plugins.modules.' + name)
    assert 'ansible_collections.ocikit.images.plugins.modules.' + name in loaded
    assert sorted(loaded & set(OPTIONAL)) == []
    assert sorted(loaded & set(TRANSPORT_IO) - set(allowed)) == []


@pytest.mark.parametrize('name', ['image_delete', 'registry_login'])
def test_registry_modules_import_no_signing_or_yaml_package(name):
    loaded = loaded_after('ansible_collections.ocikit.images.plugins.modules.' + name)
    assert sorted(loaded & {'cryptography', 'gnupg', 'yaml'}) == []


def test_image_delete_loads_the_registry_client_only_to_delete_from_a_registry(tmp_path):
    # delete.py imports delete_registry.py (the client, httpx) when the image is in a registry.
    loaded = loaded_after('ansible_collections.ocikit.images.plugins.modules.image_delete')
    assert sorted(loaded & ({'httpx', MU + 'delete_registry'} | set(TRANSPORT_IO))) == []
    layout = tmp_path / 'layout'
    layout.mkdir()
    (layout / 'oci-layout').write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / 'index.json').write_text('{"schemaVersion": 2, "manifests": []}')
    (layout / 'blobs').mkdir()
    statements = ("from %sdelete import delete_image" % MU, "from %stransports.names import parse_image_name" % MU,
                  "from %stransports.base import ConnectionOptions" % MU,
                  "assert delete_image(parse_image_name('oci:%s:v1'), ConnectionOptions()).changed is False" % layout)
    loaded = loaded_after(MU + 'delete', *statements)
    assert sorted(loaded & {'httpx', MU + 'delete_registry', MU + 'transports.docker.client'}) == []
    # ...and the control: a registry delete loads them (it fails to connect, which is beside the point).
    loaded = loaded_after(MU + 'delete', *statements[:3], "from %serrors import OcikitError" % MU,
                          "try:\n    delete_image(parse_image_name('docker://127.0.0.1:9/a/b:c'), ConnectionOptions(retry_times=0, timeout=1))\n"
                          "except OcikitError:\n    pass")
    assert {'httpx', MU + 'delete_registry', MU + 'transports.docker.client'} <= loaded


def test_registry_login_loads_the_registry_client_only_to_check_credentials(tmp_path):
    authfile = tmp_path / 'auth.json'
    authfile.write_text('{"auths": {"registry.example": {"auth": "YWxpY2U6d29uZGVybGFuZA=="}}}')
    statements = ("from %slogin import logout, verify_credentials" % MU, "from %sconfig.auth_write import auth_target" % MU,
                  "assert logout('registry.example', auth_target(%r))['changed'] is True" % str(authfile))
    loaded = loaded_after(MU + 'login', *statements)
    assert sorted(loaded & {'httpx', MU + 'transports.docker.client'}) == []
    assert 'registry.example' not in authfile.read_text()
    # ...and the control: checking credentials loads them (the connection is refused, which is beside the point).
    loaded = loaded_after(MU + 'login', *statements[:2], "from %serrors import OcikitError" % MU,
                          "from %stransports.base import ConnectionOptions" % MU,
                          "try:\n    verify_credentials('127.0.0.1:9', 'alice', 'secret', ConnectionOptions(retry_times=0, timeout=1))\n"
                          "except OcikitError:\n    pass\nelse:\n    raise AssertionError('no error from a refused connection')")
    assert {'httpx', MU + 'transports.docker.client'} <= loaded


def test_image_inspect_does_not_load_the_copy_engine():
    assert MU + 'copy.execute' not in loaded_after('ansible_collections.ocikit.images.plugins.modules.image_inspect')


def test_parsing_names_loads_no_reader_or_writer():
    loaded = loaded_after(MU + 'transports.names', "from %stransports.names import parse_image_name" % MU,
                          "[parse_image_name(n) for n in ('docker://a/b:c', 'oci:/x:y', 'dir:/d', 'oci-archive:/a.tar', 'docker-archive:/b.tar', "
                          "'docker-daemon:busybox:1', 'containers-storage:[vfs@/s+/r]busybox')]")
    assert sorted(loaded & set(TRANSPORT_IO)) == []


def test_the_probe_sees_lazy_imports_when_a_run_needs_them(tmp_path):
    # The other tests can fail: opening a registry source loads the docker reader, its client and httpx,
    # and zstd streams load zstandard.
    loaded = loaded_after(MU + 'transports.names', "from %stransports.names import parse_image_name" % MU,
                          "from %stransports.base import ConnectionOptions" % MU,
                          "parse_image_name('docker://127.0.0.1:9/a/b:c').new_source(ConnectionOptions()).close()",
                          "from %scompression import compress_stream, ZSTD" % MU, "b''.join(compress_stream([b'x'], ZSTD))")
    assert {MU + 'transports.docker.source', MU + 'transports.docker.client', 'httpx', 'zstandard'} <= loaded


def test_httpx_comes_without_its_command_line_client_and_without_zstandard():
    # httpx's __init__ imports its CLI (rich, click, pygments: ~45 ms) when they are installed, and zstandard for zstd
    # Content-Encoding: the one import (transports/docker/httpx_import.py) leaves both out; zstandard still loads when a
    # zstd layer needs it, and httpx works.
    statements = ("from %stransports.docker.httpx_import import httpx" % MU,
                  "assert 'zstd' not in httpx._decoders.SUPPORTED_DECODERS",
                  "assert httpx.Client().headers['accept-encoding'].replace(' ', '').split(',')[:2] == ['gzip', 'deflate']",
                  "assert 'zstandard' not in sys.modules and 'httpx._main' not in sys.modules",
                  "from %scompression import compress_stream, ZSTD; b''.join(compress_stream([b'x'], ZSTD))" % MU,
                  "assert sys.modules['zstandard'] is not None")
    loaded = loaded_after(MU + 'transports.docker.httpx_import', *statements)
    assert 'httpx' in loaded and 'zstandard' in loaded
    assert sorted(loaded & {'rich', 'click', 'pygments', 'httpx._main'}) == []
