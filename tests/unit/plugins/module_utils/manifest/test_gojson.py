# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for manifest/gojson.py: the emulation of Go's encoding/json that byte-exact conversions rest on."""

from __future__ import annotations

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import ManifestError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import gojson as g

F = g.Field


@pytest.mark.parametrize('value, expected', [
    ('plain', '"plain"'),
    ('a<b>&c', '"a\\u003cb\\u003e\\u0026c"'),
    ('quote " backslash \\', '"quote \\" backslash \\\\"'),
    ('\n\r\t', '"\\n\\r\\t"'),
    ('\x00\x08\x0c\x1f', '"\\u0000\\u0008\\u000c\\u001f"'),
    ('\u2028\u2029', '"\\u2028\\u2029"'),
    ('é ü 漢 \U0001f600 \x7f', '"é ü 漢 \U0001f600 \x7f"'),
    ('lone \ud800', '"lone \ufffd"'),
])
def test_encode_string(value, expected):
    assert g.encode_string(value) == expected


@pytest.mark.parametrize('text, expected', [
    ('{ "a" : [ 1 , 2 ] ,\n "b":{} }', '{"a":[1,2],"b":{}}'),
    ('"<x>&"', '"\\u003cx\\u003e\\u0026"'),
    ('"\\u00e9 é \\" spaced  out "', '"\\u00e9 é \\" spaced  out "'),
    ('"\u2028"', '"\\u2028"'),
    ('[ "a\\\\" , "b" ]', '["a\\\\","b"]'),
    ('1.50e+3', '1.50e+3'),
])
def test_compact_keeps_tokens_and_escapes_html(text, expected):
    assert g.compact(text) == expected


def test_object_members_keep_source_text_and_last_duplicate():
    members = g.object_members(b' { "b" : { "x" : 1 } , "a":"\\u00e9", "b": [ 1 ] } ')
    assert members == {'b': '[ 1 ]', 'a': '"\\u00e9"'}
    assert g.marshal_raw_map(members) == '{"a":"\\u00e9","b":[1]}'
    assert not g.object_members('{}')


@pytest.mark.parametrize('text', ['[1]', '{"a" 1}', '{"a":1,}', '{"a":1 "b":2}', '{"a":1} x', '{"a":NaN}', '{a:1}', '', b'\xff'])
def test_object_members_rejects_invalid_objects(text):
    with pytest.raises(ManifestError):
        g.object_members(text)


@pytest.mark.parametrize('text, formatted', [
    ('2023-01-02T03:04:05Z', '2023-01-02T03:04:05Z'),
    ('2023-01-02T03:04:05.100000000Z', '2023-01-02T03:04:05.1Z'),
    ('2023-01-02T03:04:05.000000000Z', '2023-01-02T03:04:05Z'),
    ('2023-01-02T03:04:05,5Z', '2023-01-02T03:04:05.5Z'),
    ('2023-01-02T03:04:05.1234567891234Z', '2023-01-02T03:04:05.123456789Z'),
    ('2023-01-02T03:04:05+02:00', '2023-01-02T03:04:05+02:00'),
    ('2023-01-02T03:04:05-07:30', '2023-01-02T03:04:05-07:30'),
    ('2023-01-02T03:04:05+00:00', '2023-01-02T03:04:05Z'),
    ('2023-01-02T03:04:05-00:00', '2023-01-02T03:04:05Z'),
    ('2024-02-29T00:00:00Z', '2024-02-29T00:00:00Z'),
    ('0000-02-29T00:00:00Z', '0000-02-29T00:00:00Z'),
])
def test_time_round_trip(text, formatted):
    assert g.GoTime.parse(text).format() == formatted


@pytest.mark.parametrize('text', [
    '2023-01-02 03:04:05Z', '2023-01-02T03:04:05', '2023-01-02t03:04:05Z', '2023-1-02T03:04:05Z', '2023-13-02T03:04:05Z',
    '2023-02-29T00:00:00Z', '2023-01-02T24:00:00Z', '2023-01-02T03:60:00Z', '2023-01-02T03:04:05z', '2023-01-02T03:04:05+2:00',
    '2023-01-02T03:04:05+25:00', '2023-01-02T03:04:05.Z',
])
def test_time_rejects_what_go_rejects(text):
    with pytest.raises(ValueError):
        g.GoTime.parse(text)


def test_zero_time():
    assert g.GoTime().format() == '0001-01-01T00:00:00Z'


INNER = (F('n', g.INT), F('s', g.STRING, True))
SPEC = (
    F('str', g.STRING), F('flag', g.BOOL, True), F('num', g.INT, True), F('when', g.TIME), F('maybe', g.PTIME, True),
    F('list', g.STRINGS), F('cmd', g.STRSLICE, True), F('labels', g.STRMAP, True), F('ports', g.SET, True),
    F('inner', g.STRUCT, True, INNER), F('ptr', g.PSTRUCT, True, INNER), F('items', g.STRUCTS, True, INNER),
    F('data', g.BYTES, True), F('count', g.PINT, True), F('any', g.ANY, True),
)


def test_zero_struct_encoding_honours_omitempty_and_null():
    assert g.encode_struct(SPEC, g.new_struct(SPEC)) == '{"str":"","when":"0001-01-01T00:00:00Z","list":null,"inner":{"n":0}}'


def test_decode_and_encode_every_kind():
    raw = ('{"str":"x","flag":true,"num":-5,"when":"2020-01-01T00:00:00.5+01:00","maybe":"2021-01-01T00:00:00Z",'
           '"list":["a",null],"cmd":"sh -c","labels":{"b":"2","a":null},"ports":{"80/tcp":{},"53/udp":null},'
           '"inner":{"n":1,"s":"y","extra":1},"ptr":{"n":2},"items":[{"n":3},null],"data":"aGk=","count":7,"unknown":[1]}')
    value = g.unmarshal(SPEC, raw)
    assert value['cmd'] == ['sh -c']
    assert value['labels'] == {'b': '2', 'a': ''}
    assert g.encode_struct(SPEC, value) == (
        '{"str":"x","flag":true,"num":-5,"when":"2020-01-01T00:00:00.5+01:00","maybe":"2021-01-01T00:00:00Z",'
        '"list":["a",""],"cmd":["sh -c"],"labels":{"a":"","b":"2"},"ports":{"53/udp":{},"80/tcp":{}},'
        '"inner":{"n":1,"s":"y"},"ptr":{"n":2},"items":[{"n":3},{"n":0}],"data":"aGk=","count":7}')


def test_null_leaves_scalars_and_clears_references():
    value = g.unmarshal(SPEC, '{"str":"x","list":["a"],"str":null,"list":null,"when":null,"inner":null}')
    assert value['str'] == 'x'
    assert value['list'] is None
    assert value['when'] == g.GoTime()


def test_keys_match_case_insensitively_exact_first():
    spec = (F('User', g.STRING), F('user', g.STRING))
    assert g.unmarshal(spec, '{"USER":"a"}') == {'User': 'a', 'user': ''}
    assert g.unmarshal(spec, '{"user":"b"}') == {'User': '', 'user': 'b'}
    assert g.unmarshal((F('os', g.STRING),), '{"\u017fos":"x","OS":"linux"}') == {'os': 'linux'}


def test_duplicate_keys_merge_maps_and_structs():
    value = g.unmarshal(SPEC, '{"labels":{"a":"1"},"labels":{"b":"2"},"inner":{"n":1},"inner":{"s":"z"},"items":[{"n":1}],"items":[{"s":"q"}]}')
    assert value['labels'] == {'a': '1', 'b': '2'}
    assert value['inner'] == {'n': 1, 's': 'z'}
    assert value['items'] == [{'n': 1, 's': 'q'}]


@pytest.mark.parametrize('raw', [
    '{"str":1}', '{"str":true}', '{"data":5}', '{"flag":"true"}', '{"num":1.5}', '{"num":1e3}', '{"num":"1"}', '{"num":9223372036854775808}', '{"when":5}',
    '{"when":"yesterday"}', '{"list":"a"}', '{"list":[1]}', '{"cmd":5}', '{"labels":[]}', '{"labels":{"a":1}}',
    '{"ports":{"80/tcp":"x"}}', '{"inner":[]}', '{"items":{}}', '{"items":[1]}', '{"data":"%%"}', '[]', '{"str":"x"',
    '{"str":NaN}', b'{"str":"\xff"}',
])
def test_type_errors_and_invalid_json_fail(raw):
    with pytest.raises(ManifestError):
        g.unmarshal(SPEC, raw)


def test_deep_nesting_is_an_error():
    deep = '[' * 100000 + ']' * 100000
    with pytest.raises(ManifestError, match='nested deeper than 64 levels'):
        g.loads(deep)
    with pytest.raises(ManifestError, match='nested deeper than 64 levels'):
        g.object_members('{"a":' + deep + '}')


def test_null_document_is_a_zero_struct():
    assert g.unmarshal(SPEC, 'null') == g.new_struct(SPEC)


def test_int_range_edges():
    spec = (F('n', g.INT),)
    assert g.unmarshal(spec, '{"n":-9223372036854775808}')['n'] == -(1 << 63)
    assert g.unmarshal(spec, '{"n":-0}')['n'] == 0


def test_loads_keeps_number_literals_and_duplicates():
    value = g.loads('{"a":1.0,"a":2}')
    assert isinstance(value, g.GoObject)
    assert value == [('a', '1.0'), ('a', '2')]
    assert isinstance(value[0][1], g.GoNumber)


def test_bytes_accept_newlines_like_go():
    assert g.unmarshal(SPEC, '{"data":"aG\\nk="}')['data'] == b'hi'


def test_year_out_of_range_cannot_be_written():
    value = g.new_struct(SPEC)
    value['when'] = g.GoTime(year=10000)
    with pytest.raises(ManifestError):
        g.encode_struct(SPEC, value)


def test_struct_shapes_match_skopeo_field_order():
    # The order skopeo 1.9.3 writes (see test_convert.py for the byte-for-byte interop checks).
    assert [field.key for field in g.OCI_IMAGE] == [
        'created', 'author', 'architecture', 'variant', 'os', 'os.version', 'os.features', 'config', 'rootfs', 'history']
    assert [field.key for field in g.S2_DESCRIPTOR] == ['mediaType', 'size', 'digest', 'urls']
    assert [field.key for field in g.OCI_DESCRIPTOR][:3] == ['mediaType', 'digest', 'size']
    assert 'parent' in [field.key for field in g.S2_IMAGE][-5:]
