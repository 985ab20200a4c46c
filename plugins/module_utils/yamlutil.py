# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Safe YAML loading shared by the readers of containers configuration (registries.d, skopeo sync files).

containers/image and skopeo decode YAML with ``gopkg.in/yaml.v3``; PyYAML differs from it in two
ways that matter here, and :func:`load_yaml` closes both:

* yaml.v3 refuses a key repeated in one mapping; PyYAML keeps the last silently. The loader
  refuses it and names the line of the first occurrence.
* yaml.v3 decodes a scalar into a Go ``string`` field as the text written (``1.10`` stays
  ``"1.10"``, ``010`` stays ``"010"``), while PyYAML resolves YAML 1.1 numbers, booleans and dates
  first (``1.10`` becomes the float 1.1). With ``scalars_as_text`` every scalar except null is
  returned as its text, so a caller can convert the few typed fields itself (see
  :func:`yaml_bool`) and a tag list keeps its tags exactly.

Only the safe constructors are used (no Python object tags). PyYAML comes with ansible-core on the
controller but may be absent on a managed node: it is imported when a document is actually
read, and its absence raises ImportError naming the package.
"""

from __future__ import annotations

import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import OcikitError, quote

#: yaml.v3 decodes these into a Go bool: the YAML 1.2 core values, and (only into a typed bool) the YAML 1.1 words.
_TRUE = frozenset(('true', 'True', 'TRUE', 'y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON'))
_FALSE = frozenset(('false', 'False', 'FALSE', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF'))

_NULL_TAG = 'tag:yaml.org,2002:null'
_MERGE_TAG = 'tag:yaml.org,2002:merge'

_LOADERS: dict[bool, tuple[t.Any, t.Any]] = {}


def _yaml_loader(what: str, scalars_as_text: bool) -> tuple[t.Any, t.Any]:
    """``(yaml module, loader class)``: a SafeLoader that refuses repeated keys (and resolves only null, with ``scalars_as_text``)."""
    if scalars_as_text in _LOADERS:
        return _LOADERS[scalars_as_text]
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - exercised only without PyYAML
        raise ImportError('the Python library PyYAML is required to read %s; install it with "pip install PyYAML"' % what, name='yaml') from exc

    base = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)

    class UniqueKeyLoader(base):  # type: ignore[misc,valid-type]
        """SafeLoader with duplicate-key detection."""

        def construct_mapping(self, node: t.Any, deep: bool = False) -> t.Any:
            seen: dict[t.Any, t.Any] = {}
            for key_node, dummy in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue  # "<<: *anchor" (yaml.v3 merges too); an explicit key may override what it brings
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:
                    continue  # an unhashable key: the base class reports it
                if first is not key_node:
                    raise yaml.constructor.ConstructorError(
                        None, None, 'mapping key %s is repeated (first at line %d)' % (quote(str(key)), first.start_mark.line + 1),
                        key_node.start_mark)
            return super().construct_mapping(node, deep=deep)

    if scalars_as_text:
        # Implicit resolution is done in Python (Resolver) even under CSafeLoader: keeping only null and
        # merge ("<<") leaves every other plain scalar tagged !!str, constructed as the text written.
        UniqueKeyLoader.yaml_implicit_resolvers = {
            first: [(tag, regexp) for tag, regexp in resolvers if tag in (_NULL_TAG, _MERGE_TAG)]
            for first, resolvers in base.yaml_implicit_resolvers.items()
        }
    _LOADERS[scalars_as_text] = (yaml, UniqueKeyLoader)
    return yaml, UniqueKeyLoader


def load_yaml(raw: bytes | str, what: str, error: type[OcikitError], scalars_as_text: bool = False) -> t.Any:
    """Parse one YAML document safely; problems are ``error`` naming ``what`` (``registries.d file "/x"``) and the position.

    The message carries the problem and its line and column only: the snippet PyYAML quotes may
    hold a password. A key repeated in one mapping is refused (yaml.v3 does the same).
    """
    yaml, loader = _yaml_loader(what, scalars_as_text)
    try:
        return yaml.load(raw, Loader=loader)  # nosec B506 - a SafeLoader subclass
    except RecursionError:
        raise error('%s is nested too deeply' % what) from None
    except yaml.reader.ReaderError as exc:
        # Bytes that are not UTF-8, or a character YAML does not allow (a control): its offset, never the text.
        # PyYAML says "special characters are not allowed", libyaml "control characters are not allowed".
        code = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or '\0')
        if 'characters are not allowed' in str(exc.reason):
            detail = 'the character U+%04X at offset %d is not allowed' % (code, exc.position)
        elif code < 0:
            detail = 'it is not UTF-8 text (it ends inside a character, at offset %d)' % exc.position
        else:
            detail = 'it is not UTF-8 text (byte 0x%02x at offset %d)' % (code, exc.position)
        raise error('%s is not valid YAML: %s' % (what, detail)) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, 'problem', None) or getattr(exc, 'context', None) or type(exc).__name__
        mark = getattr(exc, 'problem_mark', None) or getattr(exc, 'context_mark', None)
        where = ' at line %d column %d' % (mark.line + 1, mark.column + 1) if mark is not None else ''
        raise error('%s is not valid YAML: %s%s' % (what, problem, where)) from None


def yaml_bool(value: t.Any) -> bool | None:
    """The bool yaml.v3 decodes ``value`` (a text scalar from ``scalars_as_text``) into, or None when it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    return None


def kind_of(value: t.Any) -> str:
    """What a YAML value is, for a message (``a string``, ``a mapping``, ``a list``, ``null``...)."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, (int, float)):
        return 'a number'
    if isinstance(value, str):
        return 'a string'
    if isinstance(value, dict):
        return 'a mapping'
    if isinstance(value, (list, tuple)):
        return 'a list'
    return 'a %s' % type(value).__name__
