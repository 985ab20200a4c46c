# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shared safe YAML loader: repeated keys refused, scalars kept as written on request, yaml.v3 booleans."""

from __future__ import annotations

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError
from ansible_collections.ocikit.images.plugins.module_utils.yamlutil import load_yaml, yaml_bool


def test_default_mode_resolves_yaml_1_1_types():
    assert load_yaml('a: 1.10\nb: yes\nc: ~\n', 'x', ConfigError) == {'a': 1.1, 'b': True, 'c': None}


def test_text_mode_keeps_scalars_as_written_but_null():
    document = load_yaml('a: 1.10\nb: yes\nc: ~\nd:\ne: 010\nf: [2024-01-01, "1.0", null]\n', 'x', ConfigError, scalars_as_text=True)
    assert document == {'a': '1.10', 'b': 'yes', 'c': None, 'd': None, 'e': '010', 'f': ['2024-01-01', '1.0', None]}


@pytest.mark.parametrize('scalars_as_text, expected', [(False, {'x': 1, 'y': 2, 'z': 3}), (True, {'x': '1', 'y': '2', 'z': '3'})])
def test_merge_keys_as_yaml_v3(scalars_as_text, expected):
    document = load_yaml('base: &b {x: 1, y: 1}\nitem:\n  <<: *b\n  y: 2\n  z: 3\n', 'x', ConfigError, scalars_as_text=scalars_as_text)
    assert document['item'] == expected


@pytest.mark.parametrize('scalars_as_text', [False, True])
def test_repeated_keys_and_python_tags_are_refused(scalars_as_text):
    with pytest.raises(ConfigError) as caught:
        load_yaml('a: 1\nb:\n  c: 1\n  c: 2\n', 'the file "f"', ConfigError, scalars_as_text=scalars_as_text)
    assert caught.value.message == 'the file "f" is not valid YAML: mapping key "c" is repeated (first at line 3) at line 4 column 3'
    with pytest.raises(ConfigError, match='could not determine a constructor'):
        load_yaml('!!python/name:os.system x\n', 'f', ConfigError, scalars_as_text=scalars_as_text)


@pytest.mark.parametrize('value, expected', [
    (True, True), (False, False), ('true', True), ('True', True), ('TRUE', True), ('yes', True), ('on', True), ('y', True),
    ('false', False), ('No', False), ('OFF', False), ('n', False), ('tRue', None), ('1', None), (1, None), (None, None), ('', None),
])
def test_yaml_bool_as_yaml_v3_decodes_into_a_bool(value, expected):
    assert yaml_bool(value) is expected


@pytest.mark.parametrize('raw, expected', [
    (b'a: "\xff"', 'f is not valid YAML: it is not UTF-8 text (byte 0xff at offset 4)'),
    (b'a: b\n\xc3', 'f is not valid YAML: it is not UTF-8 text (it ends inside a character, at offset 5)'),
    ('a: "\x07"', 'f is not valid YAML: the character U+0007 at offset 4 is not allowed'),
    (b'a: "\x1b[31m"', 'f is not valid YAML: the character U+001B at offset 4 is not allowed'),
])
def test_bytes_that_are_not_yaml_text_are_named_by_offset(raw, expected):
    # Not PyYAML's bare "ReaderError", and never the text around it (it may hold a secret).
    with pytest.raises(ConfigError) as info:
        load_yaml(raw, 'f', ConfigError)
    assert info.value.message == expected
