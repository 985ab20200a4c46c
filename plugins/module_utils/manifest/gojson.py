# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Just enough of Go's encoding/json to write the bytes containers/image writes.

When skopeo converts a manifest it decodes JSON into Go structs and encodes them again, and the
digest of the result depends on every detail of that round trip: struct field order, ``omitempty``,
nil slices written as ``null``, sorted map keys, no spaces, ``<``, ``>``, ``&``, U+2028 and
U+2029 escaped, times re-formatted as RFC 3339 with trimmed nanoseconds, unknown fields dropped,
``json.RawMessage`` values compacted but otherwise kept byte for byte. This module reproduces
that for the struct shapes declared with :class:`Field` (see convert.py and schema1.py).

Decoding follows Go's rules too: keys match fields exactly or else case-insensitively, duplicate
keys are applied in order (maps and structs merge), ``null`` leaves scalars alone and clears
slices, maps and pointers, and a value of the wrong type is an error (Go's ``UnmarshalTypeError``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.errors import ManifestError

# Field kinds.
STRING = 'string'
BOOL = 'bool'
INT = 'int'              # any Go integer type
TIME = 'time'            # time.Time
PTIME = 'ptime'          # *time.Time
STRINGS = 'strings'      # []string (also []digest.Digest)
STRSLICE = 'strslice'    # docker's strslice.StrSlice: a string or a list of strings
STRMAP = 'strmap'        # map[string]string
SET = 'set'              # map[string]struct{}
STRUCT = 'struct'        # a nested struct value
PSTRUCT = 'pstruct'      # a pointer to a struct
STRUCTS = 'structs'      # a slice of structs
BYTES = 'bytes'          # []byte, base64 in JSON
PINT = 'pint'            # *int
ANY = 'any'              # interface{}: kept as parsed, None for null (decoded only, never written)

_NULLABLE = frozenset((PTIME, STRINGS, STRSLICE, STRMAP, SET, PSTRUCT, STRUCTS, BYTES, PINT, ANY))
_SCALAR_ZEROS = {STRING: '', BOOL: False, INT: 0}
_INT_RE = re.compile(r'-?(?:0|[1-9][0-9]*)\Z')
_INT64 = 1 << 63


class Field(t.NamedTuple):
    """One Go struct field: its JSON key, kind, ``omitempty`` and, for nested structs, their fields."""

    key: str
    kind: str
    omitempty: bool = False
    fields: 't.Tuple[Field, ...]' = ()


Spec = t.Tuple[Field, ...]


class GoNumber(str):
    """A JSON number kept as its literal text, so that integers are checked the way Go checks them."""


class GoObject(list):
    """A JSON object as the ordered list of its (key, value) members, duplicates kept."""


def loads(raw: 'bytes | str', what: str = 'document') -> t.Any:
    """Parse JSON as Go sees it: objects as GoObject, numbers as GoNumber, strict UTF-8."""
    # Go's decoder stops at 10000 levels; the shared bound is far lower, and far above real documents.
    return jsonutil.loads(raw, what, ManifestError, object_pairs_hook=GoObject, parse_int=GoNumber, parse_float=GoNumber,
                          parse_constant=jsonutil.reject_constant)


# ---------------------------------------------------------------------------------------------
# Strings and raw messages
# ---------------------------------------------------------------------------------------------

_STRING_ESCAPES = re.compile('[\\x00-\\x1f"\\\\<>&\u2028\u2029\ud800-\udfff]')
_SHORT_ESCAPES = {'"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t'}


def _escape(match: 're.Match[str]') -> str:
    char = match.group(0)
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        # A lone surrogate cannot come from valid UTF-8; Go's decoder turns \\ud800 into U+FFFD.
        return '\ufffd'
    return '\\u%04x' % code


def encode_string(value: str) -> str:
    """A JSON string as Go's json.Marshal writes it (HTML-safe; \\b and \\f as \\u0008, \\u000c, as in Go < 1.22)."""
    return '"' + _STRING_ESCAPES.sub(_escape, value) + '"'


_RAW_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[ \t\n\r]+|[^" \t\n\r]+', re.DOTALL)
_RAW_STRING_ESCAPES = re.compile('[<>&\u2028\u2029]')


def compact(text: str) -> str:
    """Go's ``json.Compact`` with HTML escaping, which is what Marshal does to a RawMessage.

    Whitespace between tokens goes; strings keep their own escapes (``\\u00e9`` stays ``\\u00e9``,
    ``é`` stays ``é``) except that ``<``, ``>``, ``&``, U+2028 and U+2029 are escaped.
    ``text`` must already be valid JSON.
    """
    out = []
    for match in _RAW_TOKENS.finditer(text):
        token = match.group(0)
        if token[0] == '"':
            out.append(_RAW_STRING_ESCAPES.sub(lambda m: '\\u%04x' % ord(m.group(0)), token))
        elif token[0] not in ' \t\n\r':
            out.append(token)
    return ''.join(out)


_WHITESPACE = re.compile(r'[ \t\n\r]*')
_DECODER = json.JSONDecoder(parse_constant=jsonutil.reject_constant)


def object_members(raw: 'bytes | str', what: str = 'document') -> dict[str, str]:
    """Decode a JSON object into ``map[string]json.RawMessage``: each key to its value's source text.

    Duplicate keys keep the last value, as a Go map does. The texts are not compacted yet.
    """
    try:
        text = raw.decode('utf-8') if isinstance(raw, (bytes, bytearray)) else raw
        pos = _WHITESPACE.match(text, 0).end()
        if text[pos:pos + 1] != '{':
            raise ValueError('not a JSON object')
        pos = _WHITESPACE.match(text, pos + 1).end()
        members: dict[str, str] = {}
        if text[pos:pos + 1] == '}':
            pos += 1
        else:
            while True:
                if text[pos:pos + 1] != '"':
                    raise ValueError('expected a string key at offset %d' % pos)
                key, pos = _DECODER.raw_decode(text, pos)
                pos = _WHITESPACE.match(text, pos).end()
                if text[pos:pos + 1] != ':':
                    raise ValueError("expected ':' at offset %d" % pos)
                start = _WHITESPACE.match(text, pos + 1).end()
                pos = _DECODER.raw_decode(text, start)[1]
                members[key] = text[start:pos]
                pos = _WHITESPACE.match(text, pos).end()
                if text[pos:pos + 1] == ',':
                    pos = _WHITESPACE.match(text, pos + 1).end()
                    continue
                if text[pos:pos + 1] != '}':
                    raise ValueError("expected ',' or '}' at offset %d" % pos)
                pos += 1
                break
        if _WHITESPACE.match(text, pos).end() != len(text):
            raise ValueError('data after the JSON object')
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError('%s is not a valid JSON object: %s' % (what, exc)) from None
    except RecursionError:
        raise ManifestError('%s is nested deeper than %d levels' % (what, jsonutil.MAX_DEPTH)) from None
    return members


def marshal_raw_map(members: t.Mapping[str, str]) -> str:
    """Encode ``map[string]*json.RawMessage``: keys sorted, values compacted."""
    return '{' + ','.join('%s:%s' % (encode_string(key), compact(members[key])) for key in sorted(members)) + '}'


# ---------------------------------------------------------------------------------------------
# time.Time
# ---------------------------------------------------------------------------------------------

def _days_in_month(year: int, month: int) -> int:
    # Go's calendar is proleptic Gregorian, year 0 included (a leap year).
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


_TIME_RE = re.compile(r'(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})\Z')


@dataclasses.dataclass(frozen=True)
class GoTime:
    """A time.Time as JSON carries it: wall clock fields and the UTC offset in seconds."""

    year: int = 1
    month: int = 1
    day: int = 1
    hour: int = 0
    minute: int = 0
    second: int = 0
    nanosecond: int = 0
    offset: int = 0

    @classmethod
    def parse(cls, text: str) -> 'GoTime':
        """Parse RFC 3339 as Go's time.Time.UnmarshalJSON does (ValueError when Go would fail)."""
        match = _TIME_RE.match(text)
        if not match:
            raise ValueError('%r is not an RFC 3339 time' % text)
        year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
        fraction, zone = match.group(7), match.group(8)
        if not 1 <= month <= 12:
            raise ValueError('%r: month out of range' % text)
        if not 1 <= day <= _days_in_month(year, month):
            raise ValueError('%r: day out of range' % text)
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError('%r: time out of range' % text)
        # Go reads at most nine fractional digits and ignores the rest.
        nanosecond = int((fraction or '0')[:9].ljust(9, '0'))
        offset = 0
        if zone != 'Z':
            zone_hours, zone_minutes = int(zone[1:3]), int(zone[4:6])
            if zone_hours > 24 or zone_minutes > 60:
                raise ValueError('%r: time zone offset out of range' % text)
            offset = (zone_hours * 3600 + zone_minutes * 60) * (-1 if zone[0] == '-' else 1)
        return cls(year, month, day, hour, minute, second, nanosecond, offset)

    def format(self) -> str:
        """RFC 3339 with nanoseconds, trailing zeros trimmed, ``Z`` for UTC (Go's time.RFC3339Nano)."""
        text = '%04d-%02d-%02dT%02d:%02d:%02d' % (self.year, self.month, self.day, self.hour, self.minute, self.second)
        if self.nanosecond:
            text += ('.%09d' % self.nanosecond).rstrip('0')
        if self.offset == 0:
            return text + 'Z'
        minutes = abs(self.offset) // 60
        return text + '%s%02d:%02d' % ('-' if self.offset < 0 else '+', minutes // 60, minutes % 60)


# ---------------------------------------------------------------------------------------------
# Structs
# ---------------------------------------------------------------------------------------------

def _zero(field: Field) -> t.Any:
    if field.kind == STRUCT:
        return new_struct(field.fields)
    if field.kind == TIME:
        return GoTime()
    return _SCALAR_ZEROS.get(field.kind)


def new_struct(spec: Spec) -> dict[str, t.Any]:
    """A struct value with every field at its zero value."""
    return {field.key: _zero(field) for field in spec}


def _fold_equal(key: str, name: str) -> bool:
    if len(key) != len(name):
        return False
    for have, want in zip(key, name):
        if have != want and have.lower() != want.lower() and not (have == '\u017f' and want in 'sS'):
            return False
    return True


def _find_field(spec: Spec, key: str) -> Field | None:
    for field in spec:
        if field.key == key:
            return field
    for field in spec:
        if _fold_equal(key, field.key):
            return field
    return None


def _type_error(value: t.Any, field: Field, what: str) -> ManifestError:
    if isinstance(value, GoObject):
        found = 'object'
    elif isinstance(value, list):
        found = 'array'
    elif isinstance(value, GoNumber):
        found = 'number %s' % value
    elif isinstance(value, bool):
        found = 'bool'
    else:
        found = 'string'
    return ManifestError('%s: cannot use a JSON %s as %s (%s)' % (what, found, field.key, field.kind))


def _decode_int(value: t.Any, field: Field, what: str) -> int:
    if not isinstance(value, GoNumber) or not _INT_RE.match(value):
        raise _type_error(value, field, what)
    number = int(value)
    if not -_INT64 <= number < _INT64:
        raise ManifestError('%s: %s is out of range for %s' % (what, value, field.key))
    return number


def _decode_strings(value: t.Any, field: Field, what: str) -> list[str]:
    if not isinstance(value, list) or isinstance(value, GoObject):
        raise _type_error(value, field, what)
    out = []
    for item in value:
        if item is None:
            out.append('')
        elif isinstance(item, str) and not isinstance(item, GoNumber):
            out.append(item)
        else:
            raise _type_error(item, field, what)
    return out


def _decode_value(field: Field, current: t.Any, value: t.Any, what: str) -> t.Any:
    """The new value of ``field`` after decoding JSON ``value`` into it (``current`` is its old value)."""
    kind = field.kind
    if value is None:
        return None if kind in _NULLABLE else current
    if kind == STRING:
        if not isinstance(value, str) or isinstance(value, GoNumber):
            raise _type_error(value, field, what)
        return value
    if kind == BOOL:
        if not isinstance(value, bool):
            raise _type_error(value, field, what)
        return value
    if kind in (INT, PINT):
        return _decode_int(value, field, what)
    if kind in (TIME, PTIME):
        if not isinstance(value, str) or isinstance(value, GoNumber):
            raise _type_error(value, field, what)
        try:
            return GoTime.parse(value)
        except ValueError as exc:
            raise ManifestError('%s: %s: %s' % (what, field.key, exc)) from None
    if kind == STRINGS:
        return _decode_strings(value, field, what)
    if kind == STRSLICE:
        if isinstance(value, str) and not isinstance(value, GoNumber):
            return [value]
        return _decode_strings(value, field, what)
    if kind in (STRMAP, SET):
        if not isinstance(value, GoObject):
            raise _type_error(value, field, what)
        mapping = dict(current) if current is not None else {}
        for key, item in value:
            if kind == STRMAP:
                if item is not None and (not isinstance(item, str) or isinstance(item, GoNumber)):
                    raise _type_error(item, field, what)
                mapping[key] = item or ''
            else:
                if item is not None and not isinstance(item, GoObject):
                    raise _type_error(item, field, what)
                mapping[key] = True
        return mapping
    if kind in (STRUCT, PSTRUCT):
        if not isinstance(value, GoObject):
            raise _type_error(value, field, what)
        return decode_struct(field.fields, value, what, into=current)
    if kind == STRUCTS:
        if not isinstance(value, list) or isinstance(value, GoObject):
            raise _type_error(value, field, what)
        existing = current or []
        out = []
        for index, item in enumerate(value):
            base = existing[index] if index < len(existing) else None
            if item is None:
                out.append(base if base is not None else new_struct(field.fields))
            elif isinstance(item, GoObject):
                out.append(decode_struct(field.fields, item, what, into=base))
            else:
                raise _type_error(item, field, what)
        return out
    if kind == BYTES:
        if not isinstance(value, str) or isinstance(value, GoNumber):
            raise _type_error(value, field, what)
        try:
            # Go's StdEncoding skips \r and \n and otherwise wants canonical padded base64.
            return base64.b64decode(value.replace('\r', '').replace('\n', ''), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ManifestError('%s: %s is not valid base64: %s' % (what, field.key, exc)) from None
    if kind == ANY:
        return value
    raise ManifestError('%s: internal error: unknown field kind %s' % (what, kind))


def decode_struct(spec: Spec, value: t.Any, what: str = 'document', into: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """Decode a parsed JSON value (from :func:`loads`) into a struct described by ``spec``.

    ``into`` is an existing struct value to decode into (Go merges a repeated key into what the
    first occurrence set). JSON ``null`` leaves the struct as it was, as in Go.
    """
    result = dict(into) if into is not None else new_struct(spec)
    if value is None:
        return result
    if not isinstance(value, GoObject):
        raise ManifestError('%s: expected a JSON object' % what)
    for key, item in value:
        field = _find_field(spec, key)
        if field is not None:
            result[field.key] = _decode_value(field, result[field.key], item, what)
    return result


def unmarshal(spec: Spec, raw: 'bytes | str', what: str = 'document') -> dict[str, t.Any]:
    """``json.Unmarshal(raw, &value)`` for a struct described by ``spec``."""
    return decode_struct(spec, loads(raw, what), what)


def _is_empty(field: Field, value: t.Any) -> bool:
    if field.kind in (STRUCT, TIME):
        return False
    return value is None or value in ('', False, 0) or (isinstance(value, (list, dict, bytes)) and not value)


def _encode_value(field: Field, value: t.Any) -> str:
    kind = field.kind
    if value is None:
        return 'null'
    if kind == STRING:
        return encode_string(value)
    if kind == BOOL:
        return 'true' if value else 'false'
    if kind in (INT, PINT):
        return str(int(value))
    if kind in (TIME, PTIME):
        if not 0 <= value.year <= 9999:
            raise ManifestError('%s: year %d cannot be written as JSON' % (field.key, value.year))
        return '"' + value.format() + '"'
    if kind in (STRINGS, STRSLICE):
        return '[' + ','.join(encode_string(item) for item in value) + ']'
    if kind == STRMAP:
        return '{' + ','.join('%s:%s' % (encode_string(key), encode_string(value[key])) for key in sorted(value)) + '}'
    if kind == SET:
        return '{' + ','.join('%s:{}' % encode_string(key) for key in sorted(value)) + '}'
    if kind in (STRUCT, PSTRUCT):
        return encode_struct(field.fields, value)
    if kind == STRUCTS:
        return '[' + ','.join(encode_struct(field.fields, item) for item in value) + ']'
    if kind == BYTES:
        return '"' + base64.b64encode(value).decode('ascii') + '"'
    raise ManifestError('internal error: cannot encode a field of kind %s' % kind)


def encode_struct(spec: Spec, value: t.Mapping[str, t.Any]) -> str:
    """``json.Marshal`` of a struct described by ``spec``: fields in order, omitempty honoured."""
    parts = []
    for field in spec:
        item = value.get(field.key, _zero(field))
        if field.omitempty and _is_empty(field, item):
            continue
        parts.append('%s:%s' % (encode_string(field.key), _encode_value(field, item)))
    return '{' + ','.join(parts) + '}'


def marshal(spec: Spec, value: t.Mapping[str, t.Any]) -> bytes:
    """:func:`encode_struct` as UTF-8 bytes."""
    return encode_struct(spec, value).encode('utf-8')


# ---------------------------------------------------------------------------------------------
# The struct shapes skopeo 1.9 uses: containers/image v5.22 and image-spec v1.1.0-rc2, as the
# bytes skopeo 1.9.3 writes show them (field order is encoding order).
# ---------------------------------------------------------------------------------------------

F = Field

OCI_PLATFORM: Spec = (F('architecture', STRING), F('os', STRING), F('os.version', STRING, True), F('os.features', STRINGS, True),
                      F('variant', STRING, True))
OCI_DESCRIPTOR: Spec = (F('mediaType', STRING, True), F('digest', STRING), F('size', INT), F('urls', STRINGS, True),
                        F('annotations', STRMAP, True), F('data', BYTES, True), F('platform', PSTRUCT, True, OCI_PLATFORM),
                        F('artifactType', STRING, True))
# No artifactType in the manifest and no subject in the index yet in that image-spec version.
OCI_MANIFEST: Spec = (F('schemaVersion', INT), F('mediaType', STRING, True), F('config', STRUCT, False, OCI_DESCRIPTOR),
                      F('layers', STRUCTS, False, OCI_DESCRIPTOR), F('subject', PSTRUCT, True, OCI_DESCRIPTOR),
                      F('annotations', STRMAP, True))
OCI_INDEX: Spec = (F('schemaVersion', INT), F('mediaType', STRING, True), F('manifests', STRUCTS, False, OCI_DESCRIPTOR),
                   F('annotations', STRMAP, True))
OCI_IMAGE_CONFIG: Spec = (F('User', STRING, True), F('ExposedPorts', SET, True), F('Env', STRINGS, True), F('Entrypoint', STRINGS, True),
                          F('Cmd', STRINGS, True), F('Volumes', SET, True), F('WorkingDir', STRING, True), F('Labels', STRMAP, True),
                          F('StopSignal', STRING, True), F('ArgsEscaped', BOOL, True))
OCI_ROOTFS: Spec = (F('type', STRING), F('diff_ids', STRINGS))
OCI_HISTORY: Spec = (F('created', PTIME, True), F('created_by', STRING, True), F('author', STRING, True), F('comment', STRING, True),
                     F('empty_layer', BOOL, True))
OCI_IMAGE: Spec = (F('created', PTIME, True), F('author', STRING, True), F('architecture', STRING), F('variant', STRING, True),
                   F('os', STRING), F('os.version', STRING, True), F('os.features', STRINGS, True),
                   F('config', STRUCT, True, OCI_IMAGE_CONFIG), F('rootfs', STRUCT, False, OCI_ROOTFS),
                   F('history', STRUCTS, True, OCI_HISTORY))

S2_DESCRIPTOR: Spec = (F('mediaType', STRING), F('size', INT), F('digest', STRING), F('urls', STRINGS, True))
S2_MANIFEST: Spec = (F('schemaVersion', INT), F('mediaType', STRING), F('config', STRUCT, False, S2_DESCRIPTOR),
                     F('layers', STRUCTS, False, S2_DESCRIPTOR))
S2_PLATFORM: Spec = (F('architecture', STRING), F('os', STRING), F('os.version', STRING, True), F('os.features', STRINGS, True),
                     F('variant', STRING, True), F('features', STRINGS, True))
S2_LIST_DESCRIPTOR: Spec = S2_DESCRIPTOR + (F('platform', STRUCT, False, S2_PLATFORM),)
S2_LIST: Spec = (F('schemaVersion', INT), F('mediaType', STRING), F('manifests', STRUCTS, False, S2_LIST_DESCRIPTOR))

S2_HEALTH: Spec = (F('Test', STRINGS, True), F('StartPeriod', INT, True), F('Interval', INT, True), F('Timeout', INT, True),
                   F('Retries', INT, True))
S2_CONFIG: Spec = (F('Hostname', STRING), F('Domainname', STRING), F('User', STRING), F('AttachStdin', BOOL), F('AttachStdout', BOOL),
                   F('AttachStderr', BOOL), F('ExposedPorts', SET, True), F('Tty', BOOL), F('OpenStdin', BOOL), F('StdinOnce', BOOL),
                   F('Env', STRINGS), F('Cmd', STRSLICE), F('Healthcheck', PSTRUCT, True, S2_HEALTH), F('ArgsEscaped', BOOL, True),
                   F('Image', STRING), F('Volumes', SET), F('WorkingDir', STRING), F('Entrypoint', STRSLICE),
                   F('NetworkDisabled', BOOL, True), F('MacAddress', STRING, True), F('OnBuild', STRINGS), F('Labels', STRMAP),
                   F('StopSignal', STRING, True), F('StopTimeout', PINT, True), F('Shell', STRSLICE, True))
_S2_V1IMAGE_HEAD: Spec = (F('id', STRING, True),)
_S2_V1IMAGE_TAIL: Spec = (F('comment', STRING, True), F('created', TIME), F('container', STRING, True),
                          F('container_config', STRUCT, True, S2_CONFIG), F('docker_version', STRING, True), F('author', STRING, True),
                          F('config', PSTRUCT, True, S2_CONFIG), F('architecture', STRING, True), F('variant', STRING, True),
                          F('os', STRING, True), F('Size', INT, True))
S2_V1IMAGE: Spec = _S2_V1IMAGE_HEAD + (F('parent', STRING, True),) + _S2_V1IMAGE_TAIL
S2_ROOTFS: Spec = (F('type', STRING), F('diff_ids', STRINGS, True))
S2_HISTORY: Spec = (F('created', TIME), F('author', STRING, True), F('created_by', STRING, True), F('comment', STRING, True),
                    F('empty_layer', BOOL, True))
# Schema2Image embeds Schema2V1Image; its own "parent" (a digest) hides the embedded one.
S2_IMAGE: Spec = _S2_V1IMAGE_HEAD + _S2_V1IMAGE_TAIL + (
    F('parent', STRING, True), F('rootfs', PSTRUCT, True, S2_ROOTFS), F('history', STRUCTS, True, S2_HISTORY),
    F('os.version', STRING, True), F('os.features', STRINGS, True))

S1_V1COMPAT: Spec = (F('id', STRING), F('parent', STRING, True), F('comment', STRING, True), F('created', TIME),
                     F('container_config', STRUCT, True, (F('Cmd', STRINGS),)), F('author', STRING, True), F('throwaway', BOOL, True))
S1_MANIFEST: Spec = (F('name', STRING), F('tag', STRING), F('architecture', STRING), F('fsLayers', STRUCTS, False, (F('blobSum', STRING),)),
                     F('history', STRUCTS, False, (F('v1Compatibility', STRING),)), F('schemaVersion', INT))
