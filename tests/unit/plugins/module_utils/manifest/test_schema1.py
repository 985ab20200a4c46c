# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for manifest/schema1.py: parsing, the signature-stripped digest, configs, building and signing."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    DigestMismatchError,
    InvalidDigestError,
    ManifestError,
    ManifestTooLargeError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest import schema1 as s1
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import Descriptor, parse_manifest

KEY = ec.derive_private_key(123456789, ec.SECP256R1())
NOW = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)


def sha(text):
    return 'sha256:' + hashlib.sha256(text.encode()).hexdigest()


def v1id(text):
    return hashlib.sha256(text.encode()).hexdigest()


def history_chain(entries):
    """v1Compatibility strings, top first, for ``entries`` given base first as dicts (id/parent filled in)."""
    out = []
    parent = ''
    for index, entry in enumerate(entries):
        item = {'id': entry.pop('id', v1id('layer%d' % index))}
        if parent:
            item['parent'] = parent
        item.update(entry)
        parent = item['id']
        out.append(json.dumps(item))
    return list(reversed(out))


def manifest_doc(layers, history, **extra):
    doc = {'schemaVersion': 1, 'name': 'library/test', 'tag': 'latest', 'architecture': 'amd64',
           'fsLayers': [{'blobSum': layer} for layer in layers], 'history': [{'v1Compatibility': h} for h in history]}
    doc.update(extra)
    return doc


BASE = {'created': '2020-01-01T00:00:00Z', 'container_config': {'Cmd': ['/bin/sh', '-c', '#(nop) ADD file in /']}}
MIDDLE = {'created': '2020-01-02T00:00:00.5Z', 'container_config': {'Cmd': ['/bin/sh', '-c', '#(nop) ENV A=b']}, 'throwaway': True,
          'author': 'me', 'comment': 'c'}
TOP = {'created': '2020-01-03T00:00:00+01:00', 'architecture': 'amd64', 'os': 'linux', 'docker_version': '18.09',
       'config': {'Env': ['A=b'], 'Cmd': ['sh'], 'Labels': {'z': '<1>', 'a': 'é'}},
       'container_config': {'Cmd': ['/bin/sh', '-c', '#(nop) CMD ["sh"]']}, 'Size': 0, 'parent_id': 'x', 'layer_id': 'y'}

LAYERS_TOP_FIRST = [sha('top'), str(s1.GZIPPED_EMPTY_LAYER_DIGEST), sha('base')]


def sample(signed=True, **extra):
    history = history_chain([dict(BASE), dict(MIDDLE), dict(TOP)])
    payload = json.dumps(manifest_doc(LAYERS_TOP_FIRST, history, **extra), indent=3).encode()
    return payload, (s1.sign_schema1(json.dumps(json.loads(payload), separators=(',', ':')).encode(), KEY, NOW) if signed else payload)


def test_parse_signed_manifest():
    payload, raw = sample()
    manifest = s1.parse_schema1(raw)
    compact = json.dumps(json.loads(payload), separators=(',', ':')).encode()
    assert manifest.media_type == mt.DOCKER_V2S1_SIGNED and manifest.signed
    assert manifest.digest == Digest.from_bytes(compact) and manifest.payload == compact
    assert (manifest.name, manifest.tag, manifest.architecture) == ('library/test', 'latest', 'amd64')
    assert manifest.fs_layers == tuple(Digest(d) for d in LAYERS_TOP_FIRST)
    assert manifest.throwaway == (False, True, False)
    assert [layer.digest for layer in manifest.all_layers] == list(reversed(LAYERS_TOP_FIRST))
    assert [layer.digest for layer in manifest.layers] == [sha('base'), sha('top')]
    assert all(layer.size == -1 and layer.media_type == mt.DOCKER_LAYER_GZIP for layer in manifest.layers)
    assert manifest.blobs() == list(manifest.all_layers)
    assert manifest.config is None and not manifest.is_index


def test_parse_unsigned_manifest():
    payload, raw = sample(signed=False)
    manifest = s1.parse_schema1(raw)
    assert manifest.media_type == mt.DOCKER_V2S1 and not manifest.signed
    assert manifest.digest == Digest.from_bytes(payload) and manifest.payload == payload


@pytest.mark.parametrize('content_type, expected', [
    (None, mt.DOCKER_V2S1_SIGNED),
    ('application/json', mt.DOCKER_V2S1_SIGNED),
    ('text/plain; charset=utf-8', mt.DOCKER_V2S1_SIGNED),
    (mt.DOCKER_V2S1, mt.DOCKER_V2S1),
    (mt.DOCKER_V2S1_SIGNED + '; charset=utf-8', mt.DOCKER_V2S1_SIGNED),
])
def test_content_type(content_type, expected):
    assert s1.parse_schema1(sample()[1], content_type).media_type == expected


def test_content_type_of_another_format_is_refused():
    with pytest.raises(UnsupportedMediaTypeError):
        s1.parse_schema1(sample()[1], mt.DOCKER_V2S2)


def test_expected_digest_is_the_payload_digest():
    raw = sample()[1]
    manifest = s1.parse_schema1(raw, expected_digest=s1.manifest_digest(raw))
    assert manifest.digest != Digest.from_bytes(raw)
    with pytest.raises(DigestMismatchError):
        s1.parse_schema1(raw, expected_digest=Digest.from_bytes(raw))


def test_too_large():
    with pytest.raises(ManifestTooLargeError):
        s1.parse_schema1(b' ' * (mt.MAX_MANIFEST_SIZE + 1))


@pytest.mark.parametrize('change, message', [
    (lambda doc: doc.update(schemaVersion=2), 'schemaVersion'),
    (lambda doc: doc.update(layers=[]), 'ambiguous'),
    (lambda doc: doc.update(Config={}), 'ambiguous'),
    (lambda doc: doc.update(manifests=[{}]), 'ambiguous'),
    (lambda doc: doc['history'].pop(), 'length of history'),
    (lambda doc: doc.update(fsLayers=[], history=[]), 'no FSLayers'),
    (lambda doc: doc.update(fsLayers=None, history=None), 'no FSLayers'),
    (lambda doc: doc['history'][0].update(v1Compatibility='{"id":"short"}'), 'invalid'),
    (lambda doc: doc['history'][0].update(v1Compatibility='not json'), 'not valid JSON'),
    (lambda doc: doc['history'][0].update(v1Compatibility='{"id":"%s","created":"bad"}' % v1id('x')), 'RFC 3339'),
    (lambda doc: doc['history'][2].update(v1Compatibility='{"id":"%s","parent":"%s"}' % (v1id('b'), v1id('p'))), 'base layer'),
    (lambda doc: doc['history'][0].update(v1Compatibility='{"id":"%s","parent":"%s"}' % (v1id('t'), v1id('p'))), 'parent ID'),
    (lambda doc: doc.update(name=5), 'cannot use'),
])
def test_malformed_manifests(change, message):
    doc = json.loads(sample(signed=False)[0])
    change(doc)
    with pytest.raises(ManifestError, match=message):
        s1.parse_schema1(json.dumps(doc).encode())


def test_invalid_blob_sum():
    doc = json.loads(sample(signed=False)[0])
    doc['fsLayers'][0]['blobSum'] = 'sha256:../../etc/passwd'
    with pytest.raises(InvalidDigestError):
        s1.parse_schema1(json.dumps(doc).encode())


def test_consecutive_duplicate_ids_are_merged():
    base = json.dumps({'id': v1id('b')})
    dup_new = json.dumps({'id': v1id('t'), 'parent': v1id('b'), 'created': '2020-01-02T00:00:00Z'})
    dup_old = json.dumps({'id': v1id('t'), 'parent': v1id('b'), 'created': '2020-01-01T00:00:00Z'})
    raw = json.dumps(manifest_doc([sha('x'), sha('y'), sha('z')], [dup_new, dup_old, base])).encode()
    manifest = s1.parse_schema1(raw)
    assert manifest.fs_layers == (Digest(sha('y')), Digest(sha('z')))
    assert manifest.history == (dup_old, base)
    # The digest is still that of the bytes received.
    assert manifest.digest == Digest.from_bytes(raw)


def test_non_consecutive_duplicate_ids_are_refused():
    a, b = json.dumps({'id': v1id('a'), 'parent': v1id('b')}), json.dumps({'id': v1id('b'), 'parent': v1id('a')})
    raw = json.dumps(manifest_doc([sha('x'), sha('y'), sha('z')], [a, b, json.dumps({'id': v1id('a')})])).encode()
    with pytest.raises(ManifestError, match='multiple times'):
        s1.parse_schema1(raw)


# --- the digest: libtrust's formatLength/formatTail ------------------------------------------------

def protected(length, tail=b'}', **extra):
    header = {'formatLength': length, 'formatTail': s1.jose_base64_encode(tail), 'time': '2020-01-01T00:00:00Z'}
    header.update(extra)
    return s1.jose_base64_encode(json.dumps(header).encode())


def with_signatures(payload, signatures):
    return payload[:-1] + b',"signatures":' + json.dumps(signatures).encode() + b'}'


def test_payload_recovered_from_pretty_signature():
    payload = b'{\n   "schemaVersion": 1,\n   "name": "x"\n}'
    body = payload.rstrip(b'}').rstrip()
    raw = body + b',\n   "signatures": [ {"header": {"alg": "ES256"}, "signature": "x", "protected": "%s"} ]\n}' % (
        protected(len(body), payload[len(body):]).encode())
    assert s1.signed_payload(raw) == payload
    assert s1.manifest_digest(raw) == Digest.from_bytes(payload)


@pytest.mark.parametrize('signatures, message', [
    ([{'protected': protected(10)}, {'protected': protected(11)}], 'conflicting format length'),
    ([{'protected': protected(10)}, {'protected': protected(10, b'\n}')}], 'conflicting format tail'),
    ([{'protected': protected(10 ** 6)}], 'invalid format length'),
    ([{'protected': protected(-1)}], 'invalid format length'),
    ([{'protected': s1.jose_base64_encode(b'{"formatTail":"fQ"}')}], 'missing formatted length'),
    ([{'protected': s1.jose_base64_encode(b'{"formatLength":"5","formatTail":"fQ"}')}], 'missing formatted length'),
    ([{'protected': s1.jose_base64_encode(b'{"formatLength":5}')}], 'missing formatted tail'),
    ([{'protected': s1.jose_base64_encode(b'[1]')}], 'not a JSON object'),
    ([{'protected': 'a+b/'}], 'base64'),
    ([{'protected': 'abcde'}], 'base64'),
    ([{'protected': protected(5, tail=b'}')[:-1] + '!'}], 'base64'),
    ([{'protected': 5}], 'cannot use'),
    ([{'protected': s1.jose_base64_encode(b'{"formatLength":5,"formatTail":"*"}')}], 'decode error on tail'),
    ([{'protected': s1.jose_base64_encode(b'{"formatLength":1e400,"formatTail":"fQ"}')}], 'invalid format length'),
    ('text', 'not a list'),
])
def test_bad_signature_blocks(signatures, message):
    raw = with_signatures(sample(signed=False)[0], signatures)
    with pytest.raises(ManifestError, match=message):
        s1.signed_payload(raw)
    with pytest.raises(ManifestError):
        s1.manifest_digest(raw)


def test_signature_details_follow_libtrust():
    payload = json.dumps(json.loads(sample(signed=False)[0]), separators=(',', ':')).encode()
    # Float lengths are truncated, as Go's int(float64) does; the tail may be any bytes.
    raw = with_signatures(payload, [{'protected': protected(len(payload) - 1 + 0.9)}])
    assert s1.signed_payload(raw) == payload
    # An empty list of signatures yields an empty payload, as libtrust computes it.
    assert s1.signed_payload(with_signatures(payload, [])) == b''
    # "signatures": null means unsigned.
    unsigned = with_signatures(payload, None)
    assert s1.guess_media_type(unsigned) == mt.DOCKER_V2S1
    assert s1.manifest_digest(unsigned) == Digest.from_bytes(unsigned)


def test_missing_signature_key_when_only_a_case_variant_exists():
    raw = json.dumps({'schemaVersion': 1, 'Signatures': []}).encode()
    assert s1.guess_media_type(raw) == mt.DOCKER_V2S1_SIGNED
    with pytest.raises(ManifestError, match='missing signature key'):
        s1.manifest_digest(raw)


@pytest.mark.parametrize('doc, expected', [
    ({'schemaVersion': 1}, mt.DOCKER_V2S1),
    ({'schemaVersion': 1, 'signatures': []}, mt.DOCKER_V2S1_SIGNED),
    ({'schemaVersion': 1, 'signatures': None}, mt.DOCKER_V2S1),
    ({'schemaVersion': 1, 'mediaType': mt.OCI_MANIFEST, 'signatures': []}, mt.OCI_MANIFEST),
    ({'schemaVersion': 2, 'mediaType': mt.DOCKER_LIST}, mt.DOCKER_LIST),
    ({'schemaVersion': 2, 'config': {'mediaType': mt.OCI_CONFIG}}, mt.OCI_MANIFEST),
    ({'schemaVersion': 2, 'config': {'mediaType': mt.DOCKER_CONFIG}}, mt.DOCKER_V2S2),
    ({'schemaVersion': 2, 'manifests': [{}]}, mt.OCI_INDEX),
    ({'schemaVersion': 2, 'layers': []}, mt.OCI_MANIFEST),
    ({'schemaVersion': 3}, ''),
    ({'schemaVersion': 2, 'config': 'x'}, ''),
    ({'schemaVersion': '1'}, ''),
    ({'schemaVersion': 1.0}, ''),
    ([], ''),
])
def test_guess_media_type(doc, expected):
    assert s1.guess_media_type(json.dumps(doc).encode()) == expected


def test_manifest_digest_of_other_formats_is_plain():
    raw = b'{"schemaVersion":2,"mediaType":"%s","signatures":[]}' % mt.OCI_MANIFEST.encode()
    assert s1.manifest_digest(raw) == Digest.from_bytes(raw)


# --- signing ------------------------------------------------------------------------------------

def test_sign_is_a_valid_libtrust_jws():
    payload = b'{"schemaVersion":1,"name":"a\\u003cb"}'
    raw = s1.sign_schema1(payload, KEY, NOW)
    assert raw.startswith(payload[:-1] + b',"signatures":[{"header":{"jwk":{"crv":"P-256","kid":"')
    assert s1.signed_payload(raw) == payload
    assert s1.verify_schema1_signatures(raw) == 1
    signature = json.loads(raw)['signatures'][0]
    header = json.loads(base64.urlsafe_b64decode(signature['protected'] + '=='))
    assert header == {'formatLength': len(payload) - 1, 'formatTail': 'fQ', 'time': '2024-05-06T07:08:09Z'}
    assert list(header) == ['formatLength', 'formatTail', 'time']
    kid = signature['header']['jwk']['kid']
    assert len(kid.split(':')) == 12 and all(len(part) == 4 for part in kid.split(':'))
    # ECDSA signatures are randomised; the key and header are not.
    again = json.loads(s1.sign_schema1(payload, KEY, NOW))['signatures'][0]
    assert again['header'] == signature['header'] and again['protected'] == signature['protected']


def test_sign_with_a_fresh_key_each_time():
    payload = b'{"schemaVersion":1}'
    first, second = s1.sign_schema1(payload), s1.sign_schema1(payload)
    assert first != second
    assert s1.manifest_digest(first) == s1.manifest_digest(second) == Digest.from_bytes(payload)
    assert s1.verify_schema1_signatures(first) == 1


def test_tampered_signature_fails_verification():
    raw = s1.sign_schema1(b'{"schemaVersion":1,"name":"a"}', KEY, NOW)
    doc = json.loads(raw)
    doc['signatures'][0]['signature'] = s1.jose_base64_encode(b'\1' * 64)
    tampered = raw[:raw.index(b',"signatures"')] + b',"signatures":' + json.dumps(doc['signatures']).encode() + b'}'
    with pytest.raises(ManifestError, match='does not verify'):
        s1.verify_schema1_signatures(tampered)


def test_verification_supports_only_libtrust_keys():
    raw = s1.sign_schema1(b'{"schemaVersion":1}', KEY, NOW)
    doc = json.loads(raw)
    body = raw[:raw.index(b',"signatures"')]
    short = dict(doc['signatures'][0], signature=s1.jose_base64_encode(b'\1' * 10))
    with pytest.raises(ManifestError, match='does not verify'):
        s1.verify_schema1_signatures(body + b',"signatures":' + json.dumps([short]).encode() + b'}')
    rsa = dict(doc['signatures'][0], header={'alg': 'RS256', 'jwk': {'kty': 'RSA'}})
    with pytest.raises(ManifestError, match='only ES256'):
        s1.verify_schema1_signatures(body + b',"signatures":' + json.dumps([rsa]).encode() + b'}')


@pytest.mark.parametrize('payload', [b'{\n "a": 1\n}', b'[1]', b'{"a":1,}'])
def test_sign_refuses_what_libtrust_cannot_format(payload):
    with pytest.raises(ManifestError):
        s1.sign_schema1(payload, KEY, NOW)


# --- configs rebuilt from schema1 -----------------------------------------------------------------

DIFF_BASE, DIFF_TOP = sha('diff-base'), sha('diff-top')


def test_to_docker_config():
    manifest = s1.parse_schema1(sample()[1])
    config = manifest.to_docker_config([DIFF_BASE, DIFF_TOP])
    assert config == manifest.to_docker_config([DIFF_BASE, sha('ignored-empty'), DIFF_TOP])
    doc = json.loads(config)
    assert list(doc) == sorted(doc)
    for dropped in ('id', 'parent', 'parent_id', 'layer_id', 'Size', 'throwaway'):
        assert dropped not in doc
    assert doc['rootfs'] == {'type': 'layers', 'diff_ids': [DIFF_BASE, DIFF_TOP]}
    assert doc['history'] == [
        {'created': '2020-01-01T00:00:00Z', 'created_by': '/bin/sh -c #(nop) ADD file in /'},
        {'created': '2020-01-02T00:00:00.5Z', 'author': 'me', 'created_by': '/bin/sh -c #(nop) ENV A=b', 'comment': 'c', 'empty_layer': True},
        {'created': '2020-01-03T00:00:00+01:00', 'created_by': '/bin/sh -c #(nop) CMD ["sh"]'},
    ]
    # Values are kept as written, compacted and HTML-escaped like Go's RawMessage.
    assert b'"Labels":{"z":"\\u003c1\\u003e","a":"\\u00e9"}' in config
    assert b'"created":"2020-01-03T00:00:00+01:00"' in config


def test_to_oci_config():
    manifest = s1.parse_schema1(sample()[1])
    config = manifest.to_oci_config([DIFF_BASE, DIFF_TOP])
    assert config.startswith(b'{"created":"2020-01-03T00:00:00+01:00","architecture":"amd64","os":"linux","config":{"Env":["A=b"],"Cmd":["sh"],'
                             b'"Labels":{"a":"\xc3\xa9","z":"\\u003c1\\u003e"}},"rootfs":{"type":"layers","diff_ids":[')
    assert b'"history":[{"created":"2020-01-01T00:00:00Z","created_by":"/bin/sh -c #(nop) ADD file in /"},' in config


def test_wrong_number_of_diff_ids():
    manifest = s1.parse_schema1(sample()[1])
    with pytest.raises(ManifestError, match='diff_ids'):
        manifest.to_docker_config([DIFF_BASE])


def test_old_docker_configs_are_re_encoded():
    top = {'id': v1id('old'), 'created': '2015-01-01T00:00:00Z', 'docker_version': '1.6.2', 'custom': 'dropped',
           'container_config': {'Cmd': ['sh', '-c', 'true'], 'Hostname': 'h'}, 'config': {'Cmd': 'sh'}, 'Size': 5}
    raw = json.dumps(manifest_doc([sha('l')], [json.dumps(top)])).encode()
    config = json.loads(s1.parse_schema1(raw).to_docker_config([DIFF_BASE]))
    # Cmd is a docker strslice there: a string becomes a list.
    assert 'custom' not in config and config['container_config']['Cmd'] == ['sh', '-c', 'true'] and config['config']['Cmd'] == ['sh']
    assert config['container_config']['AttachStdin'] is False and config['container_config']['Env'] is None
    assert 'Size' not in config and 'id' not in config


@pytest.mark.parametrize('version, other, expected', [
    ('1.6.2', '1.8.3', True), ('1.8.3', '1.8.3', False), ('1.10.0', '1.8.3', False), ('1.8', '1.8.3', True),
    ('1.8.3-rc1', '1.8.3', True), ('abc', '1.8.3', True), ('2', '1.8.3', False), ('1.8.3.0', '1.8.3', False),
])
def test_docker_version_less_than(version, other, expected):
    assert s1.docker_version_less_than(version, other) is expected


# --- building schema1 from schema2 -----------------------------------------------------------------

def docker_config(history, architecture='arm64'):
    return json.dumps({'architecture': architecture, 'os': 'linux', 'config': {'Cmd': ['sh']}, 'rootfs': {'type': 'layers'},
                       'history': history}, indent=2).encode()


LAYER_A = Descriptor(mt.DOCKER_LAYER_GZIP, Digest(sha('a')), 10)
LAYER_B = Descriptor(mt.DOCKER_LAYER_GZIP, Digest(sha('b')), 20)


def test_build_schema1_structure():
    config = docker_config([{'created': '2020-01-01T00:00:00Z', 'created_by': 'ADD a'},
                            {'created': '2020-01-02T00:00:00Z', 'created_by': 'ENV x', 'empty_layer': True, 'author': 'me'},
                            {'created': '2020-01-03T00:00:00Z', 'created_by': 'ADD b', 'comment': 'c'}])
    build = s1.build_schema1('library/x', 'v1', [LAYER_A, LAYER_B], config, private_key=KEY, now=NOW)
    manifest = s1.parse_schema1(build.raw)
    assert build.media_type == mt.DOCKER_V2S1_SIGNED and manifest.digest == build.digest
    assert (manifest.name, manifest.tag, manifest.architecture) == ('library/x', 'v1', 'arm64')
    assert [layer.digest for layer in build.layers] == [LAYER_A.digest, s1.GZIPPED_EMPTY_LAYER_DIGEST, LAYER_B.digest]
    assert build.extra_blobs == ((build.layers[1], s1.GZIPPED_EMPTY_LAYER),)
    assert hashlib.sha256(s1.GZIPPED_EMPTY_LAYER).hexdigest() == s1.GZIPPED_EMPTY_LAYER_DIGEST.hex
    entries = [json.loads(h) for h in manifest.history]
    base_id = hashlib.sha256(LAYER_A.digest.hex.encode() + b' ').hexdigest()
    empty_id = hashlib.sha256(('%s %s' % (s1.GZIPPED_EMPTY_LAYER_DIGEST.hex, base_id)).encode()).hexdigest()
    assert entries[2] == {'id': base_id, 'created': '2020-01-01T00:00:00Z', 'container_config': {'Cmd': ['ADD a']}}
    assert entries[1] == {'id': empty_id, 'parent': base_id, 'created': '2020-01-02T00:00:00Z', 'container_config': {'Cmd': ['ENV x']},
                          'author': 'me', 'throwaway': True}
    top_id = hashlib.sha256(('%s %s ' % (LAYER_B.digest.hex, empty_id)).encode() + config).hexdigest()
    assert entries[0]['id'] == top_id and entries[0]['parent'] == empty_id
    assert 'rootfs' not in entries[0] and 'history' not in entries[0] and entries[0]['config'] == {'Cmd': ['sh']}
    assert manifest.throwaway == (False, True, False)


def test_build_schema1_top_empty_layer_and_written_layers():
    config = docker_config([{'created_by': 'ADD a'}, {'created_by': 'CMD x', 'empty_layer': True}])
    written = Descriptor(mt.DOCKER_LAYER, Digest(sha('a-plain')), 99)
    build = s1.build_schema1('', '', [LAYER_A], config, written_layers=[written], sign=False)
    assert build.raw == build.payload and build.media_type == mt.DOCKER_V2S1
    doc = json.loads(build.raw)
    assert [layer['blobSum'] for layer in doc['fsLayers']] == [str(s1.GZIPPED_EMPTY_LAYER_DIGEST), sha('a-plain')]
    top = json.loads(doc['history'][0]['v1Compatibility'])
    assert top['throwaway'] is True
    # The v1 IDs still derive from the source layer, as in containers/image.
    assert json.loads(doc['history'][1]['v1Compatibility'])['id'] == hashlib.sha256(LAYER_A.digest.hex.encode() + b' ').hexdigest()
    assert doc['name'] == '' and doc['tag'] == '' and doc['history'][1]['v1Compatibility'].find('0001-01-01T00:00:00Z') > 0


@pytest.mark.parametrize('history, layers, message', [
    ([], [LAYER_A], '0 history entries'),
    ([{'created_by': 'a'}, {'created_by': 'b'}], [LAYER_A], 'needs more than'),
    ([{'created_by': 'a'}], [LAYER_A, LAYER_B], 'accounts for 1 of the 2'),
])
def test_build_schema1_history_must_match_layers(history, layers, message):
    with pytest.raises(ManifestError, match=message):
        s1.build_schema1('', '', layers, docker_config(history))


def test_build_schema1_refuses_zstd_and_bad_edits():
    config = docker_config([{'created_by': 'a'}])
    with pytest.raises(UnsupportedMediaTypeError, match='zstd'):
        s1.build_schema1('', '', [LAYER_A], config, written_layers=[Descriptor(mt.OCI_LAYER_ZSTD, Digest(sha('z')), 1)])
    with pytest.raises(ManifestError, match='layer edits'):
        s1.build_schema1('', '', [LAYER_A], config, written_layers=[])


def test_serialize_needs_matching_lists():
    with pytest.raises(ManifestError):
        s1.serialize_schema1('', '', 'amd64', [sha('a')], [])


# --- interop with skopeo --------------------------------------------------------------------------

def docker_image(store, history, layer_count, config_extra=None):
    """A dir: image in Docker schema2 with ``layer_count`` layers and ``history``; returns (source, diff_ids)."""
    layers, diffs = [], []
    for index in range(layer_count):
        plain, blob = store.layer({'f%d' % index: b'content %d' % index})
        layers.append({'mediaType': mt.DOCKER_LAYER_GZIP, 'size': len(blob), 'digest': store.add(blob)})
        diffs.append('sha256:' + hashlib.sha256(plain).hexdigest())
    config = {'architecture': 'amd64', 'os': 'linux', 'config': {'Env': ['PATH=/bin'], 'Cmd': ['sh'], 'Labels': {'b': '<&>', 'a': '\u2028'}},
              'container_config': {'Hostname': 'builder'}, 'docker_version': '24.0.5', 'created': '2024-01-01T10:00:00.123456Z',
              'rootfs': {'type': 'layers', 'diff_ids': diffs}, 'history': history}
    config.update(config_extra or {})
    config_raw = json.dumps(config, indent=4, ensure_ascii=False).encode()
    manifest = {'schemaVersion': 2, 'mediaType': mt.DOCKER_V2S2,
                'config': {'mediaType': mt.DOCKER_CONFIG, 'size': len(config_raw), 'digest': store.add(config_raw)}, 'layers': layers}
    raw = json.dumps(manifest).encode()
    return store.write_dir('docker-src', raw), raw, config_raw, diffs


HISTORIES = {
    'plain': ([{'created': '2024-01-01T00:00:00Z', 'created_by': 'ADD a'}, {'created': '2024-01-01T00:00:01Z', 'created_by': 'ADD b'}], 2),
    'empty-middle': ([{'created': '2024-01-01T00:00:00Z', 'created_by': 'ADD a'},
                      {'created': '2024-01-01T00:00:01+05:30', 'created_by': 'ENV x=<y>', 'empty_layer': True, 'author': 'Ann'},
                      {'created': '2024-01-01T00:00:02.000000001Z', 'created_by': 'ADD b', 'comment': 'é'}], 2),
    'empty-top': ([{'created': '2024-01-01T00:00:00Z', 'created_by': 'ADD a'},
                   {'created': '2024-01-01T00:00:01Z', 'created_by': 'CMD ["sh"]', 'empty_layer': True}], 1),
    'no-dates': ([{'created_by': 'ADD a'}, {'empty_layer': True}], 1),
}


@pytest.mark.parametrize('case', sorted(HISTORIES))
def test_build_matches_skopeo_v2s1_conversion(store, skopeo, case):
    history, count = HISTORIES[case]
    source, raw, config_raw, diffs = docker_image(store, history, count)
    theirs = skopeo.copy(source, '--format', 'v2s1')
    their_manifest = s1.parse_schema1(theirs.manifest)
    build = s1.build_schema1('', '', parse_manifest(raw).layers, config_raw)
    assert build.payload == their_manifest.payload
    assert build.digest == their_manifest.digest == Digest(skopeo.inspect_digest('dir:' + theirs.path))
    # And back: the config skopeo rebuilds from its schema1 is the one we rebuild.
    back = skopeo.copy('dir:' + theirs.path, '--format', 'v2s2')
    back_config_digest = json.loads(back.manifest)['config']['digest']
    assert their_manifest.to_docker_config(diffs) == back.blob(back_config_digest)
    back_oci = skopeo.copy('dir:' + theirs.path, '--format', 'oci')
    assert their_manifest.to_oci_config(diffs) == back_oci.blob(json.loads(back_oci.manifest)['config']['digest'])


def test_skopeo_reads_our_signed_schema1(store, skopeo):
    history, count = HISTORIES['empty-middle']
    dummy, raw, config_raw, diffs = docker_image(store, history, count)
    build = s1.build_schema1('library/ours', 'v9', parse_manifest(raw).layers, config_raw)
    for descriptor, data in build.extra_blobs:
        assert store.add(data) == str(descriptor.digest)
    ours = store.write_dir('ours', build.raw)
    assert Digest(skopeo.inspect_digest(ours)) == build.digest
    copied = skopeo.copy(ours)
    assert s1.parse_schema1(copied.manifest).digest == build.digest
    converted = skopeo.copy(ours, '--format', 'v2s2')
    config_digest = json.loads(converted.manifest)['config']['digest']
    assert s1.parse_schema1(build.raw).to_docker_config(diffs) == converted.blob(config_digest)


def test_old_docker_schema1_config_matches_skopeo(store, skopeo):
    layer_plain, layer_blob = store.layer({'old': b'1'})
    store.add(s1.GZIPPED_EMPTY_LAYER)
    base = {'id': v1id('old-base'), 'created': '2015-06-01T00:00:00.000000001Z', 'docker_version': '1.6.2',
            'container_config': {'Cmd': ['/bin/sh', '-c', '#(nop) ADD x'], 'Hostname': 'h', 'Healthcheck': {'Test': ['NONE'], 'Interval': 5}},
            'config': {'Cmd': 'sh', 'Env': None, 'Labels': {'x': 'y'}, 'StopTimeout': 3, 'ExposedPorts': {'80/tcp': {}}},
            'architecture': 'amd64', 'os': 'linux', 'Size': 77, 'unknown': [1, 2]}
    top = {'id': v1id('old-top'), 'parent': v1id('old-base'), 'created': '2015-06-02T00:00:00Z', 'throwaway': True,
           'container_config': {'Cmd': ['/bin/sh', '-c', '#(nop) CMD ["sh"]']}, 'docker_version': '1.6.2', 'architecture': 'amd64',
           'os': 'linux', 'comment': 'hi', 'author': 'old <me>'}
    raw = json.dumps(manifest_doc([str(s1.GZIPPED_EMPTY_LAYER_DIGEST), store.add(layer_blob)], [json.dumps(top), json.dumps(base)])).encode()
    source = store.write_dir('old', raw)
    manifest = s1.parse_schema1(raw)
    diffs = ['sha256:' + hashlib.sha256(layer_plain).hexdigest()]
    converted = skopeo.copy(source, '--format', 'v2s2')
    assert manifest.to_docker_config(diffs) == converted.blob(json.loads(converted.manifest)['config']['digest'])
    converted = skopeo.copy(source, '--format', 'oci')
    assert manifest.to_oci_config(diffs) == converted.blob(json.loads(converted.manifest)['config']['digest'])
