# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for inspect.py's oci_config: a Docker image config in the OCI form skopeo inspect --config prints."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.inspect import oci_config

DIFF_ID = 'sha256:' + 'd' * 64

# A config as the Docker daemon writes it (abridged from a real busybox image).
DOCKER_CONFIG = {
    'architecture': 'amd64',
    'author': 'someone',
    'config': {
        'Hostname': 'a1b2c3',
        'Domainname': '',
        'User': 'nobody',
        'AttachStdin': False,
        'AttachStdout': False,
        'AttachStderr': False,
        'ExposedPorts': {'80/tcp': {}},
        'Tty': False,
        'OpenStdin': False,
        'StdinOnce': False,
        'Env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        'Cmd': ['sh'],
        'Healthcheck': {'Test': ['CMD', 'true']},
        'ArgsEscaped': True,
        'Image': 'sha256:' + 'e' * 64,
        'Volumes': {'/data': {}},
        'WorkingDir': '/srv',
        'Entrypoint': None,
        'OnBuild': None,
        'Labels': {'org.opencontainers.image.version': '1.36'},
        'StopSignal': 'SIGTERM',
        'Shell': ['/bin/sh', '-c'],
    },
    'container': 'f' * 64,
    'container_config': {'Hostname': 'f' * 12, 'Cmd': ['/bin/sh', '-c', '#(nop) ', 'CMD ["sh"]']},
    'created': '2024-01-01T00:00:00.000000000Z',
    'docker_version': '20.10.23',
    'history': [
        {'created': '2024-01-01T00:00:00Z', 'created_by': '/bin/sh -c #(nop) ADD file:abc in / ', 'id': 'x', 'throwaway': True},
        {'created': '2024-01-01T00:00:01Z', 'created_by': '/bin/sh -c #(nop)  CMD ["sh"]', 'empty_layer': True, 'comment': 'c',
         'author': 'a'},
    ],
    'os': 'linux',
    'rootfs': {'type': 'layers', 'diff_ids': [DIFF_ID]},
    'variant': 'v8',
    'os.version': '10.0',
    'os.features': ['win32k'],
    'id': 'legacy-id',
    'parent': 'legacy-parent',
}


def test_docker_config_becomes_oci():
    assert oci_config(copy.deepcopy(DOCKER_CONFIG)) == {
        'created': '2024-01-01T00:00:00.000000000Z',
        'author': 'someone',
        'architecture': 'amd64',
        'variant': 'v8',
        'os': 'linux',
        'os.version': '10.0',
        'os.features': ['win32k'],
        'config': {
            'User': 'nobody',
            'ExposedPorts': {'80/tcp': {}},
            'Env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
            'Cmd': ['sh'],
            'ArgsEscaped': True,
            'Volumes': {'/data': {}},
            'WorkingDir': '/srv',
            'Labels': {'org.opencontainers.image.version': '1.36'},
            'StopSignal': 'SIGTERM',
        },
        'rootfs': {'type': 'layers', 'diff_ids': [DIFF_ID]},
        'history': [
            {'created': '2024-01-01T00:00:00Z', 'created_by': '/bin/sh -c #(nop) ADD file:abc in / '},
            {'created': '2024-01-01T00:00:01Z', 'created_by': '/bin/sh -c #(nop)  CMD ["sh"]', 'empty_layer': True, 'comment': 'c',
             'author': 'a'},
        ],
    }


@pytest.mark.parametrize('key', ['container', 'container_config', 'docker_version', 'id', 'parent'])
def test_docker_only_top_level_keys_dropped(key):
    assert key not in oci_config(copy.deepcopy(DOCKER_CONFIG))


@pytest.mark.parametrize('key', ['Hostname', 'Domainname', 'AttachStdin', 'Tty', 'OpenStdin', 'Image', 'OnBuild', 'Shell', 'Healthcheck',
                                 'Entrypoint'])
def test_docker_only_runtime_keys_dropped(key):
    assert key not in oci_config(copy.deepcopy(DOCKER_CONFIG))['config']


@pytest.mark.parametrize('runtime, expected', [
    # Empty values are omitted, as Go's omitempty does when containers/image marshals the OCI config.
    ({'Env': [], 'Cmd': None, 'Labels': {}, 'WorkingDir': '', 'User': 'root'}, {'User': 'root'}),
    ({'ArgsEscaped': False, 'Cmd': ['sh']}, {'Cmd': ['sh']}),
    ({'Entrypoint': ['/init'], 'Cmd': []}, {'Entrypoint': ['/init']}),
])
def test_empty_runtime_values_omitted(runtime, expected):
    assert oci_config({'architecture': 'amd64', 'os': 'linux', 'config': runtime})['config'] == expected


def test_oci_config_unchanged():
    config = {'architecture': 'arm64', 'os': 'linux', 'config': {'Cmd': ['/bin/app']},
              'rootfs': {'type': 'layers', 'diff_ids': [DIFF_ID]}, 'history': [{'created_by': 'x'}]}
    assert oci_config(copy.deepcopy(config)) == config


def test_missing_and_null_fields():
    assert oci_config({'architecture': 'amd64', 'os': 'linux', 'author': None, 'config': None, 'history': ['junk']}) == \
        {'architecture': 'amd64', 'os': 'linux', 'history': []}


def test_input_not_modified():
    config = copy.deepcopy(DOCKER_CONFIG)
    oci_config(config)
    assert config == DOCKER_CONFIG
