# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Property-based tests (hypothesis) for the sigstore parsers that meet untrusted bytes.

Whatever the input, the payload, blob, Rekor SET and attachment parsers return a result or raise
their own typed error (SignatureError; ManifestError or InvalidDigestError for attachment
manifests), never anything else; what is made parses back to itself.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile

import pytest

hypothesis = pytest.importorskip('hypothesis')

# pylint: disable=wrong-import-position
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402

# Hypothesis caches what it learns in ./.hypothesis; tests write nothing outside temporary directories.
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), 'ocikit-hypothesis'))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidDigestError, ManifestError, SignatureError  # noqa: E402
from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore  # noqa: E402

FAST = settings(max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
DIGEST = 'sha256:' + 'ab' * 32

JSON = st.recursive(st.none() | st.booleans() | st.integers(-(1 << 53), 1 << 53) | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
CANONICAL_JSON = st.recursive(st.none() | st.booleans() | st.integers(-(1 << 53) + 1, (1 << 53) - 1) | st.text(max_size=20),
                              lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                              max_leaves=12)


@FAST
@given(st.binary(max_size=300))
def test_any_bytes_are_a_payload_or_a_signature_error(raw):
    try:
        sigstore.parse_payload(raw)
    except SignatureError:
        pass


@FAST
@given(JSON, JSON, JSON, JSON)
def test_payload_shaped_documents_with_any_field_values(optional, kind, digest, reference):
    document = {'critical': {'type': kind, 'image': {'docker-manifest-digest': digest}, 'identity': {'docker-reference': reference}},
                'optional': optional}
    try:
        payload = sigstore.parse_payload(json.dumps(document).encode())
    except SignatureError:
        return
    assert payload.docker_reference == reference and str(payload.manifest_digest) == digest


@FAST
@given(st.text(max_size=40), st.integers(-(1 << 63), (1 << 63) - 1))
def test_made_payloads_parse_back(creator, timestamp):
    payload = sigstore.parse_payload(sigstore.make_payload(DIGEST, 'example.com/a:b', creator, timestamp))
    assert (payload.creator, payload.timestamp, payload.docker_reference, str(payload.manifest_digest)) == (
        creator, timestamp, 'example.com/a:b', DIGEST)


@FAST
@given(st.binary(max_size=300))
def test_any_bytes_after_the_marker_are_a_blob_or_a_signature_error(raw):
    try:
        sigstore.parse_blob(sigstore.BLOB_PREFIX + raw)
    except SignatureError:
        pass


@FAST
@given(st.text(max_size=30), st.binary(max_size=100), st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=4))
def test_blobs_round_trip(mime_type, payload, annotations):
    signature = sigstore.SigstoreSignature(mime_type, payload, annotations)
    assert sigstore.parse_blob(signature.to_blob()) == signature


@FAST
@given(st.binary(max_size=300) | JSON.map(lambda value: json.dumps({'SignedEntryTimestamp': 'AA==', 'Payload': value}).encode()))
def test_any_rekor_set_is_verified_or_a_signature_error(raw):
    try:
        sigstore.verify_rekor_set([], raw, b'', base64.b64encode(b'x').decode(), b'payload')
    except SignatureError:
        pass
    else:  # pragma: no cover - no key, so nothing can verify
        pytest.fail('a SET verified without any Rekor key')


@FAST
@given(CANONICAL_JSON)
def test_canonical_json_is_json_of_the_same_value_and_stable(value):
    text = sigstore._canonical_json(value)  # pylint: disable=protected-access
    assert json.loads(text) == value
    assert sigstore._canonical_json(json.loads(text)) == text  # pylint: disable=protected-access


@FAST
@given(st.binary(max_size=300) | JSON.map(lambda value: json.dumps({'schemaVersion': 2, 'layers': value}).encode()))
def test_any_attachment_manifest_is_layers_or_a_typed_error(raw):
    try:
        sigstore.attachment_layers(raw)
    except (ManifestError, InvalidDigestError):
        pass
