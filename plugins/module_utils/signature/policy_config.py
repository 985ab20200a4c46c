# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""containers-policy.json as data: its types, a strict parser and the lookup of the file, as containers/image has them.

Compatible with containers/image (``signature/policy_types.go``, ``policy_config.go``,
``policy_config_sigstore.go``; the format is ``docs/containers-policy.json.5.md``), so that one
policy file serves skopeo, podman and this collection alike. :mod:`policy` selects and evaluates.

Parsing is as strict as containers/image's ``ParanoidUnmarshalJSONObject``: unknown keys,
duplicate keys, wrong types and trailing data are errors, and every error names the file and the
JSON path (``policy /etc/containers/policy.json: transports.docker["x"][0]: unknown key "keyPat"``).
``default`` is mandatory; requirement lists must not be empty. Scopes are validated per transport
as the transports do (``ValidatePolicyConfigurationScope``): ``docker`` accepts any string,
``dir``/``oci``/``oci-archive`` want absolute, clean paths other than ``/``, ``docker-archive`` and
``tarball`` only ``""``, ``docker-daemon`` no ``algo:digest``, ``containers-storage`` a store
``[DRIVER@/ROOT]`` or ``[/ROOT]`` then nothing, a name, ``NAME@ID``/``NAME@DIGEST`` or
``NAME@DIGEST@ID``; transports this module does not validate (``sif``, unknown names) keep their
scopes as written. Binary
values (``keyData`` ...) are base64 strings, as Go encodes ``[]byte``. The result is frozen
dataclasses, scopes in document order.

Where this knowingly differs: ``null`` where containers/image would silently keep a field's zero
value is refused (fail closed), empty key paths and empty key data are refused at parse time
rather than failing at use, and when no policy file exists at all :func:`load_policy` returns an
accepting policy with a warning instead of failing (the collection's documented choice; a given
``path`` that is missing is an error).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidDigestError, InvalidReferenceError, PolicyError, quote
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import read_document
from ansible_collections.ocikit.images.plugins.module_utils.jsonutil import check_depth, loads
from ansible_collections.ocikit.images.plugins.module_utils.reference import DockerReference, parse_normalized_named, validate_domain
from ansible_collections.ocikit.images.plugins.module_utils.signature.identity import (
    DEFAULT_SIGNED_IDENTITY,
    EXACT_REFERENCE,
    EXACT_REPOSITORY,
    MATCH_EXACT,
    MATCH_REPO_DIGEST_OR_EXACT,
    MATCH_REPOSITORY,
    REMAP_IDENTITY,
    SignedIdentity,
    prefix_problem,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.transport import is_image_id

# The files containers/image looks for, in order, when no path is given (signature/policy_config.go).
USER_POLICY_PATH = os.path.join('.config', 'containers', 'policy.json')  # below $HOME
SYSTEM_POLICY_PATH = '/etc/containers/policy.json'

# Real policies are a few KiB; the bound keeps /dev/zero or a runaway file out of memory.
MAX_POLICY_SIZE = 4 * 1024 * 1024
# A keyring or PEM file; real ones are a few KiB, a keyring with many keys a few hundred.
MAX_KEY_FILE_SIZE = 4 * 1024 * 1024

INSECURE_ACCEPT_ANYTHING = 'insecureAcceptAnything'
REJECT = 'reject'
SIGNED_BY = 'signedBy'
SIGNED_BASE_LAYER = 'signedBaseLayer'
SIGSTORE_SIGNED = 'sigstoreSigned'

KEY_TYPES = ('GPGKeys', 'signedByGPGKeys', 'X509Certificates', 'signedByX509CAs')
# The only keyType containers/image implements; the others parse and then reject.
IMPLEMENTED_KEY_TYPE = 'GPGKeys'

PATH_TRANSPORTS = ('dir', 'oci', 'oci-archive')
_DEFAULT_ONLY_TRANSPORTS = ('docker-archive', 'tarball')
_SIMPLE_NAME_RE = re.compile(r'[A-Za-z0-9_-]+\Z')
_DIGEST_LIKE_RE = re.compile(r'[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+\Z')


# ---------------------------------------------------------------------------------------------
# The parsed policy


@dataclasses.dataclass(frozen=True)
class Fulcio:
    """``sigstoreSigned.fulcio``: certificates issued by a Fulcio CA to one OIDC identity."""

    oidc_issuer: str
    subject_email: str
    ca_path: str | None = None
    ca_data: bytes | None = None


@dataclasses.dataclass(frozen=True)
class PKI:
    """``sigstoreSigned.pki``: certificates chaining to private roots, for an email and/or a host name."""

    ca_roots_path: str | None = None
    ca_roots_data: bytes | None = None
    ca_intermediates_path: str | None = None
    ca_intermediates_data: bytes | None = None
    subject_email: str | None = None
    subject_hostname: str | None = None


@dataclasses.dataclass(frozen=True)
class Requirement:
    """One policy requirement; ``type`` is the JSON ``type`` and says which other fields are set.

    * ``insecureAcceptAnything``, ``reject``: nothing else.
    * ``signedBy``: ``key_type`` and exactly one of ``key_path``/``key_paths``/``key_data``; ``signed_identity``.
    * ``sigstoreSigned``: exactly one of ``key_path``/``key_paths``/``key_data``/``key_datas``/``fulcio``/``pki``,
      at most one ``rekor_public_key_*``; ``signed_identity``.
    * ``signedBaseLayer``: ``base_layer_identity``.
    """

    type: str
    key_type: str | None = None
    key_path: str | None = None
    key_paths: tuple[str, ...] | None = None
    key_data: bytes | None = None
    key_datas: tuple[bytes, ...] | None = None
    fulcio: Fulcio | None = None
    pki: PKI | None = None
    rekor_public_key_path: str | None = None
    rekor_public_key_paths: tuple[str, ...] | None = None
    rekor_public_key_data: bytes | None = None
    rekor_public_key_datas: tuple[bytes, ...] | None = None
    signed_identity: SignedIdentity | None = None
    base_layer_identity: SignedIdentity | None = None

    @property
    def verifies_signatures(self) -> bool:
        """Whether accepting means a signature was verified (insecureAcceptAnything does not count)."""
        return self.type in (SIGNED_BY, SIGSTORE_SIGNED)

    def describe(self) -> str:
        """The requirement for messages: ``signedBy (GPGKeys, keyPath "/k")``, ``sigstoreSigned (fulcio)``."""
        if self.type not in (SIGNED_BY, SIGSTORE_SIGNED):
            return self.type
        parts = [self.key_type] if self.key_type else []
        if self.key_path is not None:
            parts.append('keyPath %s' % quote(self.key_path))
        elif self.key_paths is not None:
            parts.append('keyPaths %s' % ', '.join(quote(path) for path in self.key_paths))
        elif self.key_data is not None or self.key_datas is not None:
            parts.append('keyData')
        elif self.fulcio is not None:
            parts.append('fulcio')
        elif self.pki is not None:
            parts.append('pki')
        return '%s (%s)' % (self.type, ', '.join(parts))


Requirements = t.Tuple[Requirement, ...]


@dataclasses.dataclass(frozen=True)
class Policy:
    """A parsed containers-policy.json.

    ``transports`` maps a transport name to its scopes (scope string to requirements). ``source``
    says where it came from (a path, ``policy data``, ``insecure``, ``none``); ``warning`` is set
    when no policy file was found and this accept-anything policy stands in for one.
    """

    default: Requirements
    transports: t.Mapping[str, t.Mapping[str, Requirements]] = dataclasses.field(default_factory=dict)
    source: str = 'policy data'
    warning: str | None = None


ACCEPT_ANYTHING: Requirements = (Requirement(INSECURE_ACCEPT_ANYTHING),)


# ---------------------------------------------------------------------------------------------
# Strict parsing


class _Pairs(list):  # type: ignore[type-arg]
    """A JSON object as its (key, value) pairs in document order, duplicates kept, for the parser to check."""


def _parse_json(raw: 'bytes | str', what: str) -> t.Any:
    """JSON with every object as :class:`_Pairs`; syntax errors and trailing data are PolicyError."""
    return loads(raw, what, PolicyError, object_pairs_hook=_Pairs)


def _from_python(value: t.Any) -> t.Any:
    """Python data (an Ansible option) in the parser's form: dicts become :class:`_Pairs`."""
    if isinstance(value, t.Mapping):
        return _Pairs((key, _from_python(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_from_python(item) for item in value]
    return value


def _json_type(value: t.Any) -> str:
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, (int, float)):
        return 'a number'
    if isinstance(value, str):
        return 'a string'
    if isinstance(value, _Pairs):
        return 'an object'
    if isinstance(value, list):
        return 'an array'
    return type(value).__name__


def key_path(parent: str, key: str) -> str:
    """``parent.key`` for plain keys, ``parent["key"]`` for scopes and anything unusual."""
    if _SIMPLE_NAME_RE.match(key):
        return '%s.%s' % (parent, key) if parent else key
    return '%s[%s]' % (parent, quote(key))


def _go_clean(path: str) -> str:
    """Go's ``filepath.Clean`` for an absolute or relative POSIX path (normpath keeps a leading ``//``; Go does not)."""
    cleaned = os.path.normpath(path) if path else '.'
    if cleaned.startswith('//'):
        cleaned = '/' + cleaned.lstrip('/')
    return cleaned


def scope_problem(transport: str, scope: str) -> str | None:
    """Why ``scope`` is not valid under ``transport`` (containers/image's ValidatePolicyConfigurationScope), or None.

    ``""`` (the transport's default) is always valid, as is any scope of a transport this module
    does not know.
    """
    if scope == '':
        return None
    if transport in PATH_TRANSPORTS:
        if not scope.startswith('/'):
            return 'it must be an absolute path'
        if scope == '/':
            return 'use the transport default scope "" instead of "/"'
        cleaned = _go_clean(scope)
        if cleaned != scope:
            return 'it is not a clean path, perhaps %s' % quote(cleaned)
        return None
    if transport in _DEFAULT_ONLY_TRANSPORTS:
        return '%s supports no scope except the default ""' % transport
    if transport == 'docker':
        return docker_scope_problem(scope)
    if transport == 'docker-daemon' and _DIGEST_LIKE_RE.match(scope):
        try:
            Digest(scope)
        except InvalidDigestError:
            return None
        return 'an image ID (algo:digest) cannot be a namespace'
    if transport == 'containers-storage':
        return storage_scope_problem(scope)
    return None


def storage_scope_problem(scope: str) -> str | None:
    """Why a ``containers-storage`` scope is not one containers/image's storage transport accepts, or None.

    As its ValidatePolicyConfigurationScope: the scope starts with the store, ``[DRIVER@ROOT]`` or
    ``[ROOT]`` with an absolute ROOT; what follows is nothing, a name (not checked further, as
    there), ``NAME@ID`` or ``NAME@DIGEST``, or ``NAME@DIGEST@ID``. An ID is 64 lowercase hex digits.
    """
    close = scope.find(']')
    if not scope.startswith('[') or close < 1:
        return 'a containers-storage scope starts with its store, as in "[overlay@/var/lib/containers/storage]"'
    store, rest = scope[1:close], scope[close + 1:]
    driver, at, root = store.partition('@')
    if (at and (not driver or not root)) or (not at and not store):
        return 'the store %s is neither [DRIVER@ROOT] nor [ROOT]' % quote(scope[:close + 1])
    if not (root if at else store).startswith('/'):
        return 'the store\'s root %s is not an absolute path' % quote(root if at else store)
    fields = rest.split('@', 2) if rest else []
    if len(fields) == 2 and not (is_image_id(fields[1]) or Digest.is_valid(fields[1])):
        return '%s is neither an image ID (64 hex digits) nor a digest' % quote(fields[1])
    if len(fields) == 3:
        if not Digest.is_valid(fields[1]):
            return '%s is not a digest' % quote(fields[1])
        if not is_image_id(fields[2]):
            return '%s is not an image ID (64 hex digits)' % quote(fields[2])
    return None


def docker_scope_problem(scope: str) -> str | None:
    """Why a ``docker`` scope is not a host, a wildcard host, or a reference (repository, namespace, tag, digest), or None.

    containers/image accepts any docker scope (its validation is a FIXME), and a scope that is not
    even a reference (a URL, upper case, a space, a misplaced ``*``) is skipped silently: the image
    then falls to a less specific, often more permissive, scope. Here that is an error naming the
    fault. Names that parse but are not canonical (``busybox``, never matched because images are
    matched by their full normalised name) are accepted as containers/image accepts them: its own
    fixture policy has one.
    """
    if scope.startswith('*.'):
        host = scope[2:]
        if '/' in host or ':' in host or '*' in host:
            return 'a wildcard scope is a host name alone, as in "*.example.com" (no port, no path, one "*")'
        try:
            validate_domain(host)
        except InvalidReferenceError as exc:
            return str(exc)
        return None
    if '*' in scope:
        return 'a wildcard is only allowed as the leading "*." of a host name scope, as in "*.example.com"'
    if '/' not in scope and '@' not in scope and ('.' in scope or ':' in scope or scope == 'localhost'):
        try:
            validate_domain(scope)
        except InvalidReferenceError as exc:
            return str(exc)
        return None
    try:
        parse_normalized_named(scope)
    except InvalidReferenceError as exc:
        return str(exc)
    return None


class _Parser:
    """The strict reader of one policy document; ``what`` names it in every message."""

    def __init__(self, what: str) -> None:
        self.what = what

    def fail(self, path: str, problem: str) -> PolicyError:
        """A PolicyError naming the document and the JSON path."""
        return PolicyError('%s: %s: %s' % (self.what, path, problem) if path else '%s: %s' % (self.what, problem))

    def object(self, value: t.Any, path: str, allowed: t.Sequence[str]) -> dict[str, t.Any]:
        """``value`` as a dict after refusing non-objects, duplicate keys and keys outside ``allowed``."""
        if not isinstance(value, _Pairs):
            raise self.fail(path, 'expected an object, got %s' % _json_type(value))
        result: dict[str, t.Any] = {}
        for key, item in value:
            if key in result:
                raise self.fail(path, 'duplicate key %s' % quote(key))
            if key not in allowed:
                raise self.fail(path, 'unknown key %s' % quote(key))
            result[key] = item
        return result

    def mapping(self, value: t.Any, path: str) -> dict[str, t.Any]:
        """An object with free keys (transports, scopes), duplicates refused."""
        if not isinstance(value, _Pairs):
            raise self.fail(path, 'expected an object, got %s' % _json_type(value))
        result: dict[str, t.Any] = {}
        for key, item in value:
            if key in result:
                raise self.fail(path, 'duplicate key %s' % quote(key))
            result[key] = item
        return result

    def string(self, obj: dict[str, t.Any], key: str, path: str, non_empty: bool = True) -> str | None:
        """``obj[key]`` when present: a string (non-empty unless told otherwise)."""
        if key not in obj:
            return None
        value = obj[key]
        if not isinstance(value, str):
            raise self.fail(key_path(path, key), 'expected a string, got %s' % _json_type(value))
        if non_empty and not value:
            raise self.fail(key_path(path, key), 'must not be empty')
        return value

    def array(self, obj: dict[str, t.Any], key: str, path: str, of: str) -> tuple[str, list[t.Any]] | None:
        """``obj[key]`` when present: (where it is, its items), a non-empty array; ``of`` names the items for the message."""
        if key not in obj:
            return None
        value = obj[key]
        where = key_path(path, key)
        if not isinstance(value, list) or isinstance(value, _Pairs):
            raise self.fail(where, 'expected an array of %s, got %s' % (of, _json_type(value)))
        if not value:
            raise self.fail(where, 'contains no entries')
        return where, value

    def strings(self, obj: dict[str, t.Any], key: str, path: str) -> tuple[str, ...] | None:
        """``obj[key]`` when present: a non-empty array of non-empty strings."""
        found = self.array(obj, key, path, 'strings')
        if found is None:
            return None
        where, value = found
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail('%s[%d]' % (where, index), 'expected a string, got %s' % _json_type(item))
            if not item:
                raise self.fail('%s[%d]' % (where, index), 'must not be empty')
        return tuple(value)

    def base64(self, value: t.Any, where: str) -> bytes:
        """A base64 string (Go's encoding of ``[]byte``) decoded; empty data is refused."""
        if not isinstance(value, str):
            raise self.fail(where, 'expected a base64 string, got %s' % _json_type(value))
        try:
            # Go's decoder skips CR and LF, and wants the padding.
            data = base64.b64decode(value.replace('\r', '').replace('\n', ''), validate=True)
        except (binascii.Error, ValueError):
            raise self.fail(where, 'is not valid base64') from None
        if not data:
            raise self.fail(where, 'must not be empty')
        return data

    def data(self, obj: dict[str, t.Any], key: str, path: str) -> bytes | None:
        """``obj[key]`` when present, base64-decoded."""
        return self.base64(obj[key], key_path(path, key)) if key in obj else None

    def datas(self, obj: dict[str, t.Any], key: str, path: str) -> tuple[bytes, ...] | None:
        """``obj[key]`` when present: a non-empty array of base64 strings, decoded."""
        found = self.array(obj, key, path, 'base64 strings')
        if found is None:
            return None
        where, value = found
        return tuple(self.base64(item, '%s[%d]' % (where, index)) for index, item in enumerate(value))

    def type_of(self, value: t.Any, path: str) -> str:
        """The ``type`` of a requirement or identity object, before its other keys are checked."""
        if not isinstance(value, _Pairs):
            raise self.fail(path, 'expected an object, got %s' % _json_type(value))
        types = [item for key, item in value if key == 'type']
        if not types:
            raise self.fail(path, '"type" is missing')
        if not isinstance(types[0], str):
            raise self.fail(key_path(path, 'type'), 'expected a string, got %s' % _json_type(types[0]))
        return types[0]

    # -- the document ----------------------------------------------------------------------------

    def policy(self, value: t.Any) -> tuple[Requirements, dict[str, dict[str, Requirements]]]:
        """The top level: ``default`` (mandatory) and ``transports``."""
        top = self.object(value, '', ('default', 'transports'))
        if 'default' not in top:
            raise self.fail('', 'the "default" policy is missing')
        default = self.requirements(top['default'], 'default')
        transports: dict[str, dict[str, Requirements]] = {}
        if 'transports' in top and top['transports'] is not None:
            for name, scopes_value in self.mapping(top['transports'], 'transports').items():
                where = key_path('transports', name)
                scopes: dict[str, Requirements] = {}
                for scope, requirements in self.mapping(scopes_value, where).items():
                    problem = scope_problem(name, scope)
                    if problem is not None:
                        raise self.fail(where, 'invalid scope %s: %s' % (quote(scope), problem))
                    scopes[scope] = self.requirements(requirements, '%s[%s]' % (where, quote(scope)))
                transports[name] = scopes
        return default, transports

    def requirements(self, value: t.Any, path: str) -> Requirements:
        """A non-empty array of requirements."""
        if not isinstance(value, list) or isinstance(value, _Pairs):
            raise self.fail(path, 'expected an array of requirements, got %s' % _json_type(value))
        if not value:
            raise self.fail(path, 'the list of requirements must not be empty (write [{"type": "reject"}] to reject)')
        return tuple(self.requirement(item, '%s[%d]' % (path, index)) for index, item in enumerate(value))

    def requirement(self, value: t.Any, path: str) -> Requirement:
        """One requirement object, by its ``type``."""
        kind = self.type_of(value, path)
        if kind in (INSECURE_ACCEPT_ANYTHING, REJECT):
            self.object(value, path, ('type',))
            return Requirement(kind)
        if kind == SIGNED_BY:
            return self.signed_by(value, path)
        if kind == SIGSTORE_SIGNED:
            return self.sigstore_signed(value, path)
        if kind == SIGNED_BASE_LAYER:
            obj = self.object(value, path, ('type', 'baseLayerIdentity'))
            if 'baseLayerIdentity' not in obj:
                raise self.fail(path, '"baseLayerIdentity" is missing')
            return Requirement(kind, base_layer_identity=self.identity(obj['baseLayerIdentity'], key_path(path, 'baseLayerIdentity')))
        raise self.fail(key_path(path, 'type'), 'unknown policy requirement type %s' % quote(kind))

    def signed_by(self, value: t.Any, path: str) -> Requirement:
        """``signedBy``: keyType, exactly one key source, optional signedIdentity."""
        obj = self.object(value, path, ('type', 'keyType', 'keyPath', 'keyPaths', 'keyData', 'signedIdentity'))
        if 'keyType' not in obj:
            raise self.fail(path, '"keyType" is missing')
        key_type = self.string(obj, 'keyType', path, non_empty=False)
        if key_type not in KEY_TYPES:
            raise self.fail(key_path(path, 'keyType'), 'unrecognized keyType value %s (expected one of %s)' % (quote(key_type), ', '.join(KEY_TYPES)))
        sources = [key for key in ('keyPath', 'keyPaths', 'keyData') if key in obj]
        if len(sources) != 1:
            raise self.fail(path, 'exactly one of keyPath, keyPaths and keyData must be specified, %s'
                            % ('none is present' if not sources else 'got %s' % ' and '.join(sources)))
        return Requirement(SIGNED_BY, key_type=key_type, key_path=self.string(obj, 'keyPath', path),
                           key_paths=self.strings(obj, 'keyPaths', path), key_data=self.data(obj, 'keyData', path),
                           signed_identity=self.optional_identity(obj, path))

    def sigstore_signed(self, value: t.Any, path: str) -> Requirement:
        """``sigstoreSigned``: exactly one key source, Rekor keys as its rules say, optional signedIdentity."""
        obj = self.object(value, path, ('type', 'keyPath', 'keyPaths', 'keyData', 'keyDatas', 'fulcio', 'pki', 'rekorPublicKeyPath',
                                        'rekorPublicKeyPaths', 'rekorPublicKeyData', 'rekorPublicKeyDatas', 'signedIdentity'))
        sources = [key for key in ('keyPath', 'keyPaths', 'keyData', 'keyDatas', 'fulcio', 'pki') if key in obj]
        if len(sources) != 1:
            raise self.fail(path, 'exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio and pki must be specified, %s'
                            % ('none is present' if not sources else 'got %s' % ' and '.join(sources)))
        rekor = [key for key in ('rekorPublicKeyPath', 'rekorPublicKeyPaths', 'rekorPublicKeyData', 'rekorPublicKeyDatas') if key in obj]
        if len(rekor) > 1:
            raise self.fail(path, 'at most one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and rekorPublicKeyDatas '
                            'can be used, got %s' % ' and '.join(rekor))
        if 'fulcio' in obj and not rekor:
            raise self.fail(path, 'fulcio needs a Rekor key: one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and '
                            'rekorPublicKeyDatas must be specified')
        if 'pki' in obj and rekor:
            raise self.fail(path, '%s is not supported with pki' % rekor[0])
        return Requirement(
            SIGSTORE_SIGNED, key_path=self.string(obj, 'keyPath', path), key_paths=self.strings(obj, 'keyPaths', path),
            key_data=self.data(obj, 'keyData', path), key_datas=self.datas(obj, 'keyDatas', path),
            fulcio=self.fulcio(obj['fulcio'], key_path(path, 'fulcio')) if 'fulcio' in obj else None,
            pki=self.pki(obj['pki'], key_path(path, 'pki')) if 'pki' in obj else None,
            rekor_public_key_path=self.string(obj, 'rekorPublicKeyPath', path),
            rekor_public_key_paths=self.strings(obj, 'rekorPublicKeyPaths', path),
            rekor_public_key_data=self.data(obj, 'rekorPublicKeyData', path),
            rekor_public_key_datas=self.datas(obj, 'rekorPublicKeyDatas', path),
            signed_identity=self.optional_identity(obj, path))

    def fulcio(self, value: t.Any, path: str) -> Fulcio:
        """``fulcio``: caPath or caData, oidcIssuer and subjectEmail, all required."""
        obj = self.object(value, path, ('caPath', 'caData', 'oidcIssuer', 'subjectEmail'))
        if 'caPath' in obj and 'caData' in obj:
            raise self.fail(path, 'caPath and caData cannot be used together')
        if 'caPath' not in obj and 'caData' not in obj:
            raise self.fail(path, 'one of caPath and caData must be specified')
        for key in ('oidcIssuer', 'subjectEmail'):
            if key not in obj:
                raise self.fail(path, '"%s" is missing' % key)
        return Fulcio(oidc_issuer=t.cast(str, self.string(obj, 'oidcIssuer', path)),
                      subject_email=t.cast(str, self.string(obj, 'subjectEmail', path)),
                      ca_path=self.string(obj, 'caPath', path), ca_data=self.data(obj, 'caData', path))

    def pki(self, value: t.Any, path: str) -> PKI:
        """``pki``: caRootsPath or caRootsData; optional intermediates; subjectEmail and/or subjectHostname."""
        obj = self.object(value, path, ('caRootsPath', 'caRootsData', 'caIntermediatesPath', 'caIntermediatesData', 'subjectEmail',
                                        'subjectHostname'))
        if 'caRootsPath' in obj and 'caRootsData' in obj:
            raise self.fail(path, 'caRootsPath and caRootsData cannot be used together')
        if 'caRootsPath' not in obj and 'caRootsData' not in obj:
            raise self.fail(path, 'one of caRootsPath and caRootsData must be specified')
        if 'caIntermediatesPath' in obj and 'caIntermediatesData' in obj:
            raise self.fail(path, 'caIntermediatesPath and caIntermediatesData cannot be used together')
        if 'subjectEmail' not in obj and 'subjectHostname' not in obj:
            raise self.fail(path, 'at least one of subjectEmail and subjectHostname must be specified')
        return PKI(ca_roots_path=self.string(obj, 'caRootsPath', path), ca_roots_data=self.data(obj, 'caRootsData', path),
                   ca_intermediates_path=self.string(obj, 'caIntermediatesPath', path),
                   ca_intermediates_data=self.data(obj, 'caIntermediatesData', path),
                   subject_email=self.string(obj, 'subjectEmail', path), subject_hostname=self.string(obj, 'subjectHostname', path))

    def optional_identity(self, obj: dict[str, t.Any], path: str) -> SignedIdentity:
        """``signedIdentity`` when present, else the default ``matchRepoDigestOrExact``."""
        if 'signedIdentity' not in obj:
            return DEFAULT_SIGNED_IDENTITY
        return self.identity(obj['signedIdentity'], key_path(path, 'signedIdentity'))

    def identity(self, value: t.Any, path: str) -> SignedIdentity:
        """A ``signedIdentity``/``baseLayerIdentity`` object, validated."""
        kind = self.type_of(value, path)
        if kind in (MATCH_EXACT, MATCH_REPO_DIGEST_OR_EXACT, MATCH_REPOSITORY):
            self.object(value, path, ('type',))
            return SignedIdentity(kind)
        if kind == EXACT_REFERENCE:
            obj = self.object(value, path, ('type', 'dockerReference'))
            text = self.string(obj, 'dockerReference', path, non_empty=False)
            if text is None:
                raise self.fail(path, '"dockerReference" is missing')
            ref = self._reference(text, key_path(path, 'dockerReference'))
            if ref.is_name_only():
                raise self.fail(key_path(path, 'dockerReference'), '%s contains neither a tag nor a digest' % quote(text))
            return SignedIdentity(kind, docker_reference=text)
        if kind == EXACT_REPOSITORY:
            obj = self.object(value, path, ('type', 'dockerRepository'))
            text = self.string(obj, 'dockerRepository', path, non_empty=False)
            if text is None:
                raise self.fail(path, '"dockerRepository" is missing')
            self._reference(text, key_path(path, 'dockerRepository'))
            return SignedIdentity(kind, docker_repository=text)
        if kind == REMAP_IDENTITY:
            obj = self.object(value, path, ('type', 'prefix', 'signedPrefix'))
            values = []
            for key in ('prefix', 'signedPrefix'):
                text = self.string(obj, key, path, non_empty=False)
                if text is None:
                    raise self.fail(path, '"%s" is missing' % key)
                problem = prefix_problem(text)
                if problem is not None:
                    raise self.fail(key_path(path, key), '%s %s' % (quote(text), problem))
                values.append(text)
            return SignedIdentity(kind, prefix=values[0], signed_prefix=values[1])
        raise self.fail(key_path(path, 'type'), 'unknown policy reference match type %s' % quote(kind))

    def _reference(self, text: str, where: str) -> DockerReference:
        try:
            return parse_normalized_named(text)
        except InvalidReferenceError as exc:
            raise self.fail(where, exc.message) from None


def parse_policy(raw: 'bytes | str | t.Mapping[str, t.Any]', source: str = 'policy data') -> Policy:
    """Parse a containers-policy.json document (bytes or text), or the same data as Python objects.

    ``source`` names it in messages (``policy <source>: <json path>: <problem>``) and in the result.
    Raises PolicyError for every defect; see the module docstring for the rules.
    """
    what = 'policy %s' % source if source != 'policy data' else source
    if isinstance(raw, t.Mapping):
        # Data from a playbook: bounded like a document, since the conversion and the parser recurse.
        check_depth(raw, what, PolicyError)
        value = _from_python(raw)
    else:
        value = _parse_json(raw, what)
    default, transports = _Parser(what).policy(value)
    return Policy(default=default, transports=transports, source=source)


def load_policy(path: str | None = None, data: 'bytes | str | t.Mapping[str, t.Any] | None' = None, insecure: bool = False,
                home: str | None = None) -> Policy:
    """The policy to apply, found as containers/image finds it.

    ``insecure`` (skopeo's ``--insecure-policy``) accepts everything without reading a file.
    ``data`` is a policy given inline; ``path`` a file (missing is PolicyError). Otherwise
    ``$HOME/.config/containers/policy.json`` (``home`` overrides ``$HOME``), then
    ``/etc/containers/policy.json``. When neither exists, the result accepts everything and
    carries a ``warning`` (skopeo would fail): the caller reports it.
    """
    if insecure:
        return Policy(default=ACCEPT_ANYTHING, source='insecure')
    if data is not None:
        return parse_policy(data)
    if path is not None:
        return parse_policy(_read_policy_file(path, missing_ok=False), source=path)
    home = home if home is not None else os.environ.get('HOME') or os.path.expanduser('~')
    candidates = [os.path.join(home, USER_POLICY_PATH)] if home else []
    candidates.append(SYSTEM_POLICY_PATH)
    for candidate in candidates:
        raw = _read_policy_file(candidate, missing_ok=True)
        if raw is not None:
            return parse_policy(raw, source=candidate)
    return Policy(default=ACCEPT_ANYTHING, source='none',
                  warning='no containers-policy.json found (looked for %s): accepting any image without verifying signatures'
                  % ' and '.join(candidates))


def _read_policy_file(path: str, missing_ok: bool) -> bytes | None:
    what = 'policy %s' % path
    try:
        return read_document(path, MAX_POLICY_SIZE, PolicyError, what)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise PolicyError('%s does not exist' % what) from None


def read_key_file(path: str, what: str = 'key file') -> bytes:
    """A key, keyring or CA file named by a requirement (bounded, regular files only); PolicyError when unusable.

    The verifiers use it for the paths in a :class:`Requirement`, so that a missing or oversized
    key file rejects the image with a message naming it.
    """
    label = '%s %s' % (what, path)
    try:
        return read_document(path, MAX_KEY_FILE_SIZE, PolicyError, label)
    except FileNotFoundError:
        raise PolicyError('%s does not exist' % label) from None
