# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one place where JSON from outside (manifests, configs, index.json, auth files, registry bodies) is parsed.

Python's decoder recurses once per nesting level, so ``[[[[...`` a few thousand levels deep ends
in a RecursionError, and a document just under that limit still breaks later recursive code
(our converters, Ansible's result serialisation). :func:`loads` turns every parse failure into
the caller's error type with a one-line message, and refuses documents nested deeper than
:data:`MAX_DEPTH`, which no manifest, config or auth file comes near.
"""

from __future__ import annotations

import json
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import ManifestError, OcikitError, quote

# The deepest real documents (an image config's healthcheck, nested annotations) stay under 10.
MAX_DEPTH = 64


def check_depth(value: t.Any, what: str, error: type[OcikitError] = ManifestError, limit: int = MAX_DEPTH) -> None:
    """Raise ``error`` when ``value`` (parsed JSON) nests lists and objects deeper than ``limit``.

    Walks iteratively, so the check itself cannot overflow the stack. Tuples do not count as a
    level: gojson's objects are lists of ``(key, value)`` pairs, and the pair is not JSON nesting.
    """
    stack: list[tuple[t.Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: t.Iterable[t.Any] = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if not isinstance(item, tuple):
            depth += 1
            if depth > limit:
                raise error('%s is nested deeper than %d levels' % (what, limit))
        stack.extend((child, depth) for child in children)


def describe_error(exc: ValueError) -> str:
    """A parse failure as an expectation and a position, never the document's text (it may hold secrets)."""
    if isinstance(exc, UnicodeDecodeError):
        return 'it is not UTF-8 text'
    if isinstance(exc, json.JSONDecodeError):
        return '%s at line %d column %d' % (exc.msg, exc.lineno, exc.colno)
    return str(exc)


def loads(raw: 'bytes | str', what: str, error: type[OcikitError] = ManifestError, limit: int = MAX_DEPTH,
          **kwargs: t.Any) -> t.Any:
    """Parse ``raw`` (UTF-8 bytes or text) as JSON; any failure is ``error('<what> is not valid JSON: ...')``.

    ``what`` names the document ("manifest", "auth file /x"). Nesting deeper than ``limit`` is
    ``error('<what> is nested deeper than N levels')``. Extra keyword arguments go to
    ``json.loads`` (gojson's hooks).
    """
    try:
        # Strict UTF-8, as Go reads: json.loads would otherwise guess UTF-16 or UTF-32 for bytes.
        text = bytes(raw).decode('utf-8') if isinstance(raw, (bytes, bytearray, memoryview)) else raw
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise error('%s is nested deeper than %d levels' % (what, limit)) from None
    except ValueError as exc:
        # ValueError covers JSONDecodeError, UnicodeDecodeError and the hooks' own refusals.
        raise error('%s is not valid JSON: %s' % (what, describe_error(exc))) from None
    check_depth(value, what, error, limit)
    return value


# -- strict documents: containers/image's ParanoidUnmarshalJSONObject --------------------------------


class StrictObject(dict):  # type: ignore[type-arg]
    """A JSON object read by :func:`strict_loads`: no key appeared twice."""


def reject_constant(name: str) -> t.NoReturn:
    """``parse_constant`` hook: Python's decoder accepts NaN and Infinity, Go's encoding/json does not."""
    raise ValueError('%s is not valid JSON' % name)


def _unique_pairs(pairs: list[tuple[str, t.Any]]) -> StrictObject:
    result = StrictObject()
    for key, value in pairs:
        if key in result:
            # A ValueError: loads turns it into the caller's one-line error.
            raise ValueError('duplicate key %s' % quote(key, 100))
        result[key] = value
    return result


def strict_loads(raw: 'bytes | str', what: str, error: type[OcikitError] = ManifestError) -> t.Any:
    """:func:`loads` refusing what containers/image's paranoid readers refuse: a key twice in one object, NaN, Infinity.

    For documents whose every byte is trusted once verified (signature payloads, sigstore envelopes,
    Rekor entries): two readers must never see two different values for one key.
    """
    return loads(raw, what, error, object_pairs_hook=_unique_pairs, parse_constant=reject_constant)
