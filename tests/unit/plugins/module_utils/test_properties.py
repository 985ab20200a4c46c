# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Property-based tests (hypothesis) for the parsers that meet outside input first.

- references: any text parses or raises InvalidReferenceError, nothing else; references built from
  the grammar parse, print canonically and parse back to themselves; normalising is idempotent;
- digests: any text is a Digest or an InvalidDigestError; valid ones round-trip; streams verify
  whatever their chunking, and any change of content or size is a DigestMismatchError;
- manifests: any bytes, any JSON value, and manifest-shaped documents with arbitrary JSON in every
  field parse or raise a ManifestError (or an InvalidDigestError for a malformed digest field),
  never anything else, whichever parser (OCI/schema2, schema1) the content selects.

Examples are kept few (``max_examples``) and deadlines off so the unit run stays quick.
"""

from __future__ import annotations

import json
import os
import string
import tempfile
import typing as t

import pytest

hypothesis = pytest.importorskip('hypothesis')

# pylint: disable=wrong-import-position
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402

# Hypothesis caches what it learns in ./.hypothesis; tests write nothing outside temporary directories.
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), 'ocikit-hypothesis'))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil  # noqa: E402
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest, verified_stream  # noqa: E402
from ansible_collections.ocikit.images.plugins.module_utils.errors import (  # noqa: E402
    DigestMismatchError,
    InvalidDigestError,
    InvalidReferenceError,
    ManifestError,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt  # noqa: E402
from ansible_collections.ocikit.images.plugins.module_utils.manifest.parse import parse_any  # noqa: E402
from ansible_collections.ocikit.images.plugins.module_utils.reference import (  # noqa: E402
    DockerReference,
    parse_named,
    parse_normalized_named,
)

# No example database either: a failure prints its example, and runs stay independent.
FAST = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
#: What a manifest parser may raise on bad input: its own family, or a malformed digest field.
MANIFEST_ERRORS = (ManifestError, InvalidDigestError)


# --- strategies -------------------------------------------------------------------------------

LOWER_ALNUM = string.ascii_lowercase + string.digits
alnum = st.text(LOWER_ALNUM, min_size=1, max_size=8)
separator = st.sampled_from(['.', '_', '__', '-', '--'])


@st.composite
def path_component(draw: t.Any) -> str:
    parts = [draw(alnum)]
    for dummy in range(draw(st.integers(0, 2))):
        parts += [draw(separator), draw(alnum)]
    return ''.join(parts)


@st.composite
def domain(draw: t.Any) -> str:
    labels = draw(st.lists(st.text(LOWER_ALNUM, min_size=1, max_size=6), min_size=2, max_size=3))
    host = '.'.join(labels)
    if draw(st.booleans()):
        host += ':%d' % draw(st.integers(1, 65535))
    return host


tag = st.builds(lambda first, rest: first + rest, st.sampled_from(string.ascii_letters + string.digits + '_'),
                st.text(string.ascii_letters + string.digits + '_.-', max_size=20))
sha256_digest = st.text('0123456789abcdef', min_size=64, max_size=64).map(lambda hexpart: 'sha256:' + hexpart)
sha512_digest = st.text('0123456789abcdef', min_size=128, max_size=128).map(lambda hexpart: 'sha512:' + hexpart)
digest_text = st.one_of(sha256_digest, sha512_digest)


@st.composite
def canonical_reference(draw: t.Any) -> str:
    name = '%s/%s' % (draw(domain()), '/'.join(draw(st.lists(path_component(), min_size=1, max_size=3))))
    if draw(st.booleans()):
        name += ':' + draw(tag)
    if draw(st.booleans()):
        name += '@' + draw(digest_text)
    return name


# Text near the grammar finds more edge cases than uniformly random text.
reference_alphabet = st.sampled_from(list(LOWER_ALNUM + 'AZ' + '._-:/@[]' + ' \t\n\x00\u00e4\u212a'))
near_reference = st.one_of(st.text(reference_alphabet, max_size=60), st.text(max_size=60),
                           canonical_reference().map(lambda text: text[:-1]), canonical_reference().map(lambda text: text.upper()))

json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=False, allow_infinity=False),
                        st.text(max_size=20))
json_value = st.recursive(json_scalar, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                          max_leaves=20)
media_type = st.sampled_from([None, mt.OCI_MANIFEST, mt.OCI_INDEX, mt.DOCKER_V2S2, mt.DOCKER_LIST, 'text/plain', '', 5] +
                             list(mt.SCHEMA1_TYPES))


@st.composite
def descriptor(draw: t.Any) -> t.Any:
    if draw(st.integers(0, 3)) == 0:
        return draw(json_value)
    out: dict[str, t.Any] = {'mediaType': draw(st.one_of(media_type, json_scalar)),
                             'digest': draw(st.one_of(sha256_digest, json_scalar)), 'size': draw(st.one_of(st.integers(-5, 10 ** 12), json_scalar))}
    if draw(st.booleans()):
        platform = st.fixed_dictionaries({'os': st.sampled_from(['linux', 'windows', 1]), 'architecture': st.sampled_from(['amd64', 'arm64', None])})
        out['platform'] = draw(st.one_of(json_value, platform))
    if draw(st.booleans()):
        out['annotations'] = draw(json_value)
    return out


@st.composite
def manifest_shaped(draw: t.Any) -> dict[str, t.Any]:
    doc: dict[str, t.Any] = {'schemaVersion': draw(st.one_of(st.sampled_from([1, 2, 2, 2, 3]), json_scalar))}
    kind = draw(media_type)
    if kind is not None or draw(st.booleans()):
        doc['mediaType'] = kind
    for key, value in (('config', descriptor()), ('layers', st.lists(descriptor(), max_size=3)), ('manifests', st.lists(descriptor(), max_size=3)),
                       ('annotations', json_value), ('fsLayers', json_value), ('history', json_value), ('signatures', json_value),
                       ('name', json_scalar), ('tag', json_scalar), ('architecture', json_scalar), ('subject', descriptor())):
        if draw(st.integers(0, 2)) == 0:
            doc[key] = draw(value)
    return doc


# --- references -------------------------------------------------------------------------------

@FAST
@given(near_reference)
def test_any_text_parses_or_is_an_invalid_reference(text: str) -> None:
    try:
        ref = parse_normalized_named(text)
    except InvalidReferenceError as exc:
        assert '\n' not in str(exc) or '\n' in text
        return
    assert isinstance(ref, DockerReference)
    # Whatever parsed prints canonically, and the canonical form is a fixed point.
    assert parse_named(str(ref)) == ref
    assert parse_normalized_named(str(ref)) == ref


@FAST
@given(canonical_reference())
def test_canonical_references_round_trip(text: str) -> None:
    ref = parse_named(text)
    assert str(ref) == text
    assert ref.name == text.split('@')[0].rsplit(':', 1)[0] if ref.tag else ref.name == text.split('@')[0]
    familiar = ref.familiar_string()
    assert parse_normalized_named(familiar) == ref


@FAST
@given(path_component(), st.one_of(st.none(), tag))
def test_docker_hub_names_normalise(component: str, maybe_tag: str | None) -> None:
    text = component + (':' + maybe_tag if maybe_tag else '')
    if len(component) == 64 and all(c in '0123456789abcdef' for c in component) and not maybe_tag:
        return  # an image ID, refused by design
    ref = parse_normalized_named(text)
    assert ref.domain == 'docker.io' and ref.path == 'library/' + component and ref.tag == maybe_tag
    assert ref.familiar_string() == text


# --- digests ----------------------------------------------------------------------------------

@FAST
@given(st.one_of(st.text(max_size=140), digest_text, digest_text.map(lambda d: d + '\n'), digest_text.map(lambda d: d.upper())))
def test_any_text_is_a_digest_or_an_invalid_digest(text: str) -> None:
    try:
        digest = Digest(text)
    except InvalidDigestError:
        return
    assert str(digest) == text and Digest(str(digest)) == digest and hash(digest) == hash(text)
    assert digest.algorithm in ('sha256', 'sha512')


@FAST
@given(st.binary(max_size=2000), st.lists(st.integers(1, 300), min_size=1, max_size=20))
def test_streams_verify_whatever_their_chunking(data: bytes, cuts: list[int]) -> None:
    digest = Digest.from_bytes(data)
    chunks, position = [], 0
    for cut in cuts:
        chunks.append(data[position:position + cut])
        position += cut
    chunks.append(data[position:])
    assert b''.join(verified_stream(iter(chunks), digest, len(data), 'blob')) == data
    digest.verify_bytes(data)


@FAST
@given(st.binary(min_size=1, max_size=500), st.integers(0, 499), st.integers(1, 255))
def test_any_change_is_a_mismatch(data: bytes, position: int, flip: int) -> None:
    digest = Digest.from_bytes(data)
    changed = bytearray(data)
    changed[position % len(data)] ^= flip
    with pytest.raises(DigestMismatchError):
        b''.join(verified_stream(iter([bytes(changed)]), digest, len(data), 'blob'))
    with pytest.raises(DigestMismatchError):
        b''.join(verified_stream(iter([data + b'x']), digest, len(data), 'blob'))
    with pytest.raises(DigestMismatchError):
        b''.join(verified_stream(iter([data[:-1]]), digest, len(data), 'blob'))


# --- manifests --------------------------------------------------------------------------------

def parse_quietly(raw: bytes, content_type: str | None) -> None:
    try:
        parse_any(raw, content_type)
    except MANIFEST_ERRORS:
        pass


@FAST
@given(st.binary(max_size=300), st.one_of(st.none(), media_type.filter(lambda v: isinstance(v, str))))
def test_any_bytes_parse_or_fail_typed(raw: bytes, content_type: str | None) -> None:
    parse_quietly(raw, content_type)


@FAST
@given(json_value, st.one_of(st.none(), st.sampled_from([mt.OCI_MANIFEST, mt.OCI_INDEX, mt.DOCKER_V2S2] + list(mt.SCHEMA1_TYPES))))
def test_any_json_parses_or_fails_typed(value: t.Any, content_type: str | None) -> None:
    parse_quietly(json.dumps(value).encode(), content_type)


@FAST
@given(manifest_shaped(), st.one_of(st.none(), st.sampled_from([mt.OCI_MANIFEST, mt.OCI_INDEX, mt.DOCKER_V2S2, mt.DOCKER_LIST] + list(mt.SCHEMA1_TYPES))))
def test_manifest_shaped_documents_parse_or_fail_typed(doc: dict[str, t.Any], content_type: str | None) -> None:
    parse_quietly(json.dumps(doc).encode(), content_type)


@FAST
@given(st.integers(1, 3000), st.sampled_from(['[', '{"a":']))
def test_nesting_at_any_depth_parses_or_fails_typed(depth: int, opener: str) -> None:
    closer = ']' if opener == '[' else '}'
    text = opener * depth + ('1' if opener != '[' else '') + closer * depth
    parse_quietly(text.encode(), None)
    if depth > jsonutil.MAX_DEPTH:
        with pytest.raises(ManifestError, match='nested deeper than 64 levels'):
            jsonutil.loads(text, 'doc')
