# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""containers-policy.json parsing: the upstream fixture, every refusal with its exact message, and the lookup order."""

from __future__ import annotations

import base64
import json
import os

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError, PolicyError
from ansible_collections.ocikit.images.plugins.module_utils.signature import policy_config as policy_module
from ansible_collections.ocikit.images.plugins.module_utils.signature.identity import DEFAULT_SIGNED_IDENTITY, SignedIdentity
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy_config import (
    ACCEPT_ANYTHING,
    PKI,
    Fulcio,
    Policy,
    Requirement,
    load_policy,
    parse_policy,
    scope_problem,
)

WHERE = '/etc/containers/policy.json'
REJECT = Requirement('reject')
ACCEPT = Requirement('insecureAcceptAnything')


def gpg(key_type, identity=DEFAULT_SIGNED_IDENTITY, **keys):
    return Requirement('signedBy', key_type=key_type, signed_identity=identity, **keys)


RH_KEYRING = gpg('signedByGPGKeys', SignedIdentity('matchRepoDigestOrExact'), key_path='/keys/RH-key-signing-key-gpg-keyring')

# policyFixtureContents of containers/image's policy_config_test.go, for fixtures/policy.json.
FIXTURE_CONTENTS = Policy(
    default=(REJECT,),
    transports={
        'dir': {'': (ACCEPT,)},
        'docker': {
            'example.com/playground': (ACCEPT,),
            'example.com/production': (gpg('GPGKeys', key_path='/keys/employee-gpg-keyring'),),
            'example.com/hardened': (
                gpg('GPGKeys', SignedIdentity('matchRepository'), key_path='/keys/employee-gpg-keyring'),
                gpg('signedByGPGKeys', SignedIdentity('matchExact'), key_path='/keys/public-key-signing-gpg-keyring'),
                Requirement('signedBaseLayer', base_layer_identity=SignedIdentity('exactRepository',
                                                                                  docker_repository='registry.access.redhat.com/rhel7/rhel')),
            ),
            'example.com/hardened-x509': (
                gpg('X509Certificates', SignedIdentity('matchRepository'), key_path='/keys/employee-cert-file'),
                gpg('signedByX509CAs', key_path='/keys/public-key-signing-ca-file'),
            ),
            'registry.access.redhat.com': (RH_KEYRING,),
            'registry.redhat.io/beta': (gpg('GPGKeys', key_paths=('/keys/RH-production-signing-key-gpg-keyring', '/keys/RH-beta-signing-key-gpg-keyring')),),
            'private-mirror:5000/vendor-mirror': (gpg('GPGKeys', SignedIdentity('remapIdentity', prefix='private-mirror:5000/vendor-mirror',
                                                                                signed_prefix='vendor.example.com'),
                                                      key_path='/keys/vendor-gpg-keyring'),),
            '*.access.redhat.com': (RH_KEYRING,),
            '*.redhat.com': (RH_KEYRING,),
            '*.com': (RH_KEYRING,),
            'bogus/key-data-example': (gpg('signedByGPGKeys', key_data=b'nonsense'),),
            'bogus/signed-identity-example': (
                Requirement('signedBaseLayer', base_layer_identity=SignedIdentity('exactReference',
                                                                                  docker_reference='registry.access.redhat.com/rhel7/rhel:latest')),
            ),
            'example.com/sigstore/key-data-example': (Requirement('sigstoreSigned', key_data=b'nonsense', signed_identity=DEFAULT_SIGNED_IDENTITY),),
            'example.com/sigstore/key-path-example': (Requirement('sigstoreSigned', key_path='/keys/public-key',
                                                                  signed_identity=SignedIdentity('matchRepository')),),
        },
    },
)


def test_the_upstream_fixture_parses_into_policy_fixture_contents(cimage_fixtures):
    path = str(cimage_fixtures / 'policy.json')
    parsed = load_policy(path)
    assert parsed.source == path and parsed.warning is None
    assert parsed.default == FIXTURE_CONTENTS.default
    assert dict(parsed.transports) == dict(FIXTURE_CONTENTS.transports)
    # Document order of the scopes is kept (messages list them as written).
    assert list(parsed.transports['docker'])[:3] == ['example.com/playground', 'example.com/production', 'example.com/hardened']


def test_the_fixture_parses_the_same_from_python_data(cimage_fixtures):
    data = json.loads((cimage_fixtures / 'policy.json').read_text())
    parsed = load_policy(data=data)
    assert parsed.source == 'policy data'
    assert dict(parsed.transports) == dict(FIXTURE_CONTENTS.transports)


def req(**fields):
    """A policy with one docker scope "x" holding the requirement ``fields``."""
    return json.dumps({'default': [{'type': 'reject'}], 'transports': {'docker': {'x': [fields]}}})


def ident(**fields):
    return req(type='signedBy', keyType='GPGKeys', keyPath='/k', signedIdentity=fields)


B64 = base64.b64encode(b'key').decode()
R0 = 'transports.docker["x"][0]'
FULCIO = {'caPath': '/ca', 'oidcIssuer': 'https://issuer', 'subjectEmail': 'a@example.com'}

REFUSALS = [
    # The document.
    ('', 'is not valid JSON: Expecting value at line 1 column 1'),
    ('{"default": [{"type": "reject"}]} {}', 'is not valid JSON: Extra data at line 1 column 35'),
    ('[]', 'expected an object, got an array'),
    ('{}', 'the "default" policy is missing'),
    ('{"default": []}', 'default: the list of requirements must not be empty (write [{"type": "reject"}] to reject)'),
    ('{"default": {"type": "reject"}}', 'default: expected an array of requirements, got an object'),
    ('{"default": [{"type": "reject"}], "default": [{"type": "reject"}]}', 'duplicate key "default"'),
    ('{"default": [{"type": "reject"}], "transport": {}}', 'unknown key "transport"'),
    ('{"default": [{"type": "reject"}], "transports": []}', 'transports: expected an object, got an array'),
    ('{"default": [{"type": "reject"}], "transports": {"docker": {"a": [{"type": "reject"}], "a": [{"type": "reject"}]}}}',
     'transports.docker: duplicate key "a"'),
    ('{"default": [{"type": "reject"}], "transports": {"docker": [], "docker": {}}}', 'transports: duplicate key "docker"'),
    ('{"default": [{"type": "reject"}], "transports": {"docker": {"x": []}}}',
     'transports.docker["x"]: the list of requirements must not be empty (write [{"type": "reject"}] to reject)'),
    # Requirements.
    ('{"default": [{}]}', 'default[0]: "type" is missing'),
    ('{"default": [{"type": 1}]}', 'default[0].type: expected a string, got a number'),
    ('{"default": [{"type": "rejected"}]}', 'default[0].type: unknown policy requirement type "rejected"'),
    ('{"default": [{"type": "reject", "type": "reject"}]}', 'default[0]: duplicate key "type"'),
    ('{"default": [{"type": "reject", "keyPath": "/k"}]}', 'default[0]: unknown key "keyPath"'),
    ('{"default": [{"type": "insecureAcceptAnything", "x": null}]}', 'default[0]: unknown key "x"'),
    (req(type='signedBy', keyType='GPGKeys', keyPat='/k'), R0 + ': unknown key "keyPat"'),
    (req(type='signedBy', keyPath='/k'), R0 + ': "keyType" is missing'),
    (req(type='signedBy', keyType='gpgkeys', keyPath='/k'),
     R0 + '.keyType: unrecognized keyType value "gpgkeys" (expected one of GPGKeys, signedByGPGKeys, X509Certificates, signedByX509CAs)'),
    (req(type='signedBy', keyType='GPGKeys'), R0 + ': exactly one of keyPath, keyPaths and keyData must be specified, none is present'),
    (req(type='signedBy', keyType='GPGKeys', keyPath='/k', keyData=B64),
     R0 + ': exactly one of keyPath, keyPaths and keyData must be specified, got keyPath and keyData'),
    (req(type='signedBy', keyType='GPGKeys', keyPath=''), R0 + '.keyPath: must not be empty'),
    (req(type='signedBy', keyType='GPGKeys', keyPath=['/k']), R0 + '.keyPath: expected a string, got an array'),
    (req(type='signedBy', keyType='GPGKeys', keyPaths=[]), R0 + '.keyPaths: contains no entries'),
    (req(type='signedBy', keyType='GPGKeys', keyPaths='/k'), R0 + '.keyPaths: expected an array of strings, got a string'),
    (req(type='signedBy', keyType='GPGKeys', keyPaths=['/k', 2]), R0 + '.keyPaths[1]: expected a string, got a number'),
    (req(type='signedBy', keyType='GPGKeys', keyData='not base64!'), R0 + '.keyData: is not valid base64'),
    (req(type='signedBy', keyType='GPGKeys', keyData='a2V5'[:3]), R0 + '.keyData: is not valid base64'),
    (req(type='signedBy', keyType='GPGKeys', keyData=''), R0 + '.keyData: must not be empty'),
    (req(type='signedBaseLayer'), R0 + ': "baseLayerIdentity" is missing'),
    (req(type='signedBaseLayer', baseLayerIdentity={'type': 'matchExact'}, signedIdentity={'type': 'matchExact'}),
     R0 + ': unknown key "signedIdentity"'),
    # Identities.
    (ident(), R0 + '.signedIdentity: "type" is missing'),
    (ident(type='matchExactly'), R0 + '.signedIdentity.type: unknown policy reference match type "matchExactly"'),
    (ident(type='matchExact', dockerReference='a:b'), R0 + '.signedIdentity: unknown key "dockerReference"'),
    (ident(type='exactReference'), R0 + '.signedIdentity: "dockerReference" is missing'),
    (ident(type='exactReference', dockerReference='busybox'),
     R0 + '.signedIdentity.dockerReference: "busybox" contains neither a tag nor a digest'),
    (ident(type='exactReference', dockerReference='UPPER/Case:1'),
     R0 + '.signedIdentity.dockerReference: invalid reference "UPPER/Case:1": repository name must be lowercase'),
    (ident(type='exactRepository', dockerRepository='Bad'),
     R0 + '.signedIdentity.dockerRepository: invalid reference "Bad": repository name must be lowercase'),
    (ident(type='exactRepository'), R0 + '.signedIdentity: "dockerRepository" is missing'),
    (ident(type='remapIdentity', prefix='example.com'), R0 + '.signedIdentity: "signedPrefix" is missing'),
    (ident(type='remapIdentity', prefix='example.com/repo:tag', signedPrefix='example.com'),
     R0 + '.signedIdentity.prefix: "example.com/repo:tag" is not a host[:port] or host[:port]/path prefix without tag or digest'),
    (ident(type='remapIdentity', prefix='example.com', signedPrefix=''),
     R0 + '.signedIdentity.signedPrefix: "" is not a host[:port] or host[:port]/path prefix without tag or digest'),
    (ident(type='remapIdentity', prefix='example.com', signedPrefix='other.example', extra=1), R0 + '.signedIdentity: unknown key "extra"'),
    # sigstoreSigned.
    (req(type='sigstoreSigned'),
     R0 + ': exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio and pki must be specified, none is present'),
    (req(type='sigstoreSigned', keyPath='/k', fulcio=FULCIO, rekorPublicKeyPath='/r'),
     R0 + ': exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio and pki must be specified, got keyPath and fulcio'),
    (req(type='sigstoreSigned', keyType='GPGKeys', keyPath='/k'), R0 + ': unknown key "keyType"'),
    (req(type='sigstoreSigned', keyDatas=[]), R0 + '.keyDatas: contains no entries'),
    (req(type='sigstoreSigned', keyDatas=[B64, '%%']), R0 + '.keyDatas[1]: is not valid base64'),
    (req(type='sigstoreSigned', keyPath='/k', rekorPublicKeyPath='/r', rekorPublicKeyData=B64),
     R0 + ': at most one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and rekorPublicKeyDatas can be used, '
     'got rekorPublicKeyPath and rekorPublicKeyData'),
    (req(type='sigstoreSigned', keyPath='/k', rekorPublicKeyPaths=[]), R0 + '.rekorPublicKeyPaths: contains no entries'),
    (req(type='sigstoreSigned', fulcio=FULCIO),
     R0 + ': fulcio needs a Rekor key: one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and rekorPublicKeyDatas '
     'must be specified'),
    (req(type='sigstoreSigned', pki={'caRootsPath': '/r', 'subjectEmail': 'a@b'}, rekorPublicKeyPath='/r'),
     R0 + ': rekorPublicKeyPath is not supported with pki'),
    (req(type='sigstoreSigned', fulcio=dict(FULCIO, caData=B64), rekorPublicKeyPath='/r'),
     R0 + '.fulcio: caPath and caData cannot be used together'),
    (req(type='sigstoreSigned', fulcio={'oidcIssuer': 'i', 'subjectEmail': 'e'}, rekorPublicKeyPath='/r'),
     R0 + '.fulcio: one of caPath and caData must be specified'),
    (req(type='sigstoreSigned', fulcio={'caPath': '/ca', 'subjectEmail': 'e'}, rekorPublicKeyPath='/r'), R0 + '.fulcio: "oidcIssuer" is missing'),
    (req(type='sigstoreSigned', fulcio={'caPath': '/ca', 'oidcIssuer': 'i'}, rekorPublicKeyPath='/r'), R0 + '.fulcio: "subjectEmail" is missing'),
    (req(type='sigstoreSigned', fulcio=dict(FULCIO, subjectEmail=''), rekorPublicKeyPath='/r'), R0 + '.fulcio.subjectEmail: must not be empty'),
    (req(type='sigstoreSigned', fulcio=dict(FULCIO, subjectHostname='h'), rekorPublicKeyPath='/r'), R0 + '.fulcio: unknown key "subjectHostname"'),
    (req(type='sigstoreSigned', pki={'subjectEmail': 'e'}), R0 + '.pki: one of caRootsPath and caRootsData must be specified'),
    (req(type='sigstoreSigned', pki={'caRootsPath': '/r', 'caRootsData': B64, 'subjectEmail': 'e'}),
     R0 + '.pki: caRootsPath and caRootsData cannot be used together'),
    (req(type='sigstoreSigned', pki={'caRootsPath': '/r', 'caIntermediatesPath': '/i', 'caIntermediatesData': B64, 'subjectEmail': 'e'}),
     R0 + '.pki: caIntermediatesPath and caIntermediatesData cannot be used together'),
    (req(type='sigstoreSigned', pki={'caRootsPath': '/r'}), R0 + '.pki: at least one of subjectEmail and subjectHostname must be specified'),
    (req(type='sigstoreSigned', pki='/r'), R0 + '.pki: expected an object, got a string'),
    (req(type='sigstoreSigned', keyPath='/k', signedIdentity=None), R0 + '.signedIdentity: expected an object, got null'),
]


@pytest.mark.parametrize('document, problem', REFUSALS)
def test_refusals_name_the_file_the_path_and_the_problem(document, problem):
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, source=WHERE)
    separator = ' ' if problem.startswith('is not valid JSON') else ': '
    assert str(caught.value) == 'policy ' + WHERE + separator + problem
    assert isinstance(caught.value, ConfigError)


def test_duplicate_keys_are_refused_at_any_depth():
    document = req(type='signedBy', keyType='GPGKeys', keyPath='/k', signedIdentity={'type': 'matchExact'})
    document = document.replace('"type": "matchExact"', '"type": "matchExact", "type": "matchRepository"')
    with pytest.raises(PolicyError, match=r'^policy /p: transports\.docker\["x"\]\[0\]\.signedIdentity: duplicate key "type"$'):
        parse_policy(document, source='/p')


def test_inline_data_is_named_policy_data():
    with pytest.raises(PolicyError, match=r'^policy data: the "default" policy is missing$'):
        parse_policy('{}')


def test_deeply_nested_documents_are_refused_in_one_line():
    with pytest.raises(PolicyError, match=r'^policy /p is nested deeper than 64 levels$'):
        parse_policy('{"default": ' + '[' * 100 + ']' * 100 + '}', source='/p')


def test_python_data_is_checked_as_strictly_as_json():
    with pytest.raises(PolicyError, match=r'^policy data: default\[0\]\.keyType: expected a string, got a boolean$'):
        parse_policy({'default': [{'type': 'signedBy', 'keyType': True}]})
    deep: list = []
    for dummy in range(100):
        deep = [deep]
    with pytest.raises(PolicyError, match=r'^policy data is nested deeper than 64 levels$'):
        parse_policy({'default': deep})


def test_a_complete_sigstore_requirement():
    document = req(type='sigstoreSigned', fulcio=FULCIO, rekorPublicKeyDatas=[B64, B64], signedIdentity={'type': 'matchRepository'})
    requirement = parse_policy(document).transports['docker']['x'][0]
    assert requirement == Requirement('sigstoreSigned', fulcio=Fulcio(oidc_issuer='https://issuer', subject_email='a@example.com', ca_path='/ca'),
                                      rekor_public_key_datas=(b'key', b'key'), signed_identity=SignedIdentity('matchRepository'))
    assert requirement.describe() == 'sigstoreSigned (fulcio)'
    document = req(type='sigstoreSigned', pki={'caRootsData': B64, 'caIntermediatesPath': '/i', 'subjectHostname': 'h.example'})
    requirement = parse_policy(document).transports['docker']['x'][0]
    assert requirement.pki == PKI(ca_roots_data=b'key', ca_intermediates_path='/i', subject_hostname='h.example')
    assert requirement.signed_identity == DEFAULT_SIGNED_IDENTITY


@pytest.mark.parametrize('transport, scope, problem', [
    ('docker', '', None),
    ('docker', '*.example.com', None),
    ('docker', 'registry.example.com:5000', None),
    ('docker', 'localhost', None),
    ('docker', 'example.com/team/app:1', None),
    ('docker', 'example.com/team/app@sha256:' + 'a' * 64, None),
    ('docker', 'busybox', None),  # never matches (not canonical), accepted as containers/image accepts it
    ('docker', 'https://registry.example.com/x', 'invalid reference "https://registry.example.com/x": a reference has no URL scheme, remove "https://"'),
    ('docker', 'Registry.example.com/Team', 'invalid reference "Registry.example.com/Team": repository name must be lowercase'),
    ('docker', '*.example.com/x', 'a wildcard scope is a host name alone, as in "*.example.com" (no port, no path, one "*")'),
    ('docker', '*.example.com:5000', 'a wildcard scope is a host name alone, as in "*.example.com" (no port, no path, one "*")'),
    ('docker', 'a.*.example.com', 'a wildcard is only allowed as the leading "*." of a host name scope, as in "*.example.com"'),
    ('docker', 'registry.example.com:port', 'invalid domain "registry.example.com:port": the port "port" is not a number'),
    ('docker', 'example.com/a b', 'invalid reference "example.com/a b": invalid path component "a b": invalid character " " '
                                  '(allowed are lowercase letters, digits, ".", "_" and "-")'),
    ('dir', '', None),
    ('dir', '/var/images', None),
    ('dir', 'var/images', 'it must be an absolute path'),
    ('dir', '/', 'use the transport default scope "" instead of "/"'),
    ('dir', '/var/images/', 'it is not a clean path, perhaps "/var/images"'),
    ('oci', '/var//images', 'it is not a clean path, perhaps "/var/images"'),
    ('oci', '//var/images', 'it is not a clean path, perhaps "/var/images"'),
    ('oci-archive', '/var/./a.tar', 'it is not a clean path, perhaps "/var/a.tar"'),
    ('oci-archive', '/var/x/../a.tar', 'it is not a clean path, perhaps "/var/a.tar"'),
    ('docker-archive', '', None),
    ('docker-archive', '/a.tar', 'docker-archive supports no scope except the default ""'),
    ('tarball', 'x', 'tarball supports no scope except the default ""'),
    ('docker-daemon', 'sha256:' + 'a' * 64, 'an image ID (algo:digest) cannot be a namespace'),
    ('docker-daemon', 'example.com:5000', None),
    ('unknown', 'whatever it wants', None),
    ('containers-storage', '[overlay@/var/lib/containers/storage]', None),
    ('containers-storage', '[/var/lib/containers/storage]', None),
    ('containers-storage', '[vfs@/srv/store+/run/store]docker.io/library/busybox', None),
    ('containers-storage', '[vfs@/s]docker.io/library/busybox:1@' + 'a' * 64, None),
    ('containers-storage', '[vfs@/s]docker.io/library/busybox@sha256:' + 'a' * 64, None),
    ('containers-storage', '[vfs@/s]docker.io/library/busybox@sha256:' + 'a' * 64 + '@' + 'b' * 64, None),
    ('containers-storage', 'docker.io/library/busybox',
     'a containers-storage scope starts with its store, as in "[overlay@/var/lib/containers/storage]"'),
    ('containers-storage', '[]x', 'the store "[]" is neither [DRIVER@ROOT] nor [ROOT]'),
    ('containers-storage', 'x]', 'a containers-storage scope starts with its store, as in "[overlay@/var/lib/containers/storage]"'),
    ('containers-storage', '[overlay@]', 'the store "[overlay@]" is neither [DRIVER@ROOT] nor [ROOT]'),
    ('containers-storage', '[@/root]', 'the store "[@/root]" is neither [DRIVER@ROOT] nor [ROOT]'),
    ('containers-storage', '[overlay@var/lib]', 'the store\'s root "var/lib" is not an absolute path'),
    ('containers-storage', '[relative]', 'the store\'s root "relative" is not an absolute path'),
    ('containers-storage', '[vfs@/s]busybox@abc', '"abc" is neither an image ID (64 hex digits) nor a digest'),
    ('containers-storage', '[vfs@/s]busybox@' + 'a' * 64 + '@' + 'b' * 64, '"%s" is not a digest' % ('a' * 64)),
    ('containers-storage', '[vfs@/s]busybox@sha256:' + 'a' * 64 + '@sha256:' + 'b' * 64, '"sha256:%s" is not an image ID (64 hex digits)' % ('b' * 64)),
])
def test_scope_validation_per_transport(transport, scope, problem):
    assert scope_problem(transport, scope) == problem


def test_an_invalid_scope_is_reported_with_its_transport():
    document = json.dumps({'default': [{'type': 'reject'}], 'transports': {'dir': {'relative/path': [{'type': 'reject'}]}}})
    with pytest.raises(PolicyError, match=r'^policy /p: transports\.dir: invalid scope "relative/path": it must be an absolute path$'):
        parse_policy(document, source='/p')


def test_unknown_transports_keep_their_scopes():
    document = json.dumps({'default': [{'type': 'reject'}], 'transports': {'unknown': {'relative': [{'type': 'insecureAcceptAnything'}]}}})
    assert parse_policy(document).transports == {'unknown': {'relative': (ACCEPT,)}}


def test_the_parsed_policy_is_frozen():
    parsed = parse_policy('{"default": [{"type": "reject"}]}')
    with pytest.raises(AttributeError):
        parsed.default = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        parsed.default[0].type = 'insecureAcceptAnything'  # type: ignore[misc]


# -- loading ---------------------------------------------------------------------------------------

ACCEPT_DOC = '{"default": [{"type": "insecureAcceptAnything"}]}'
REJECT_DOC = '{"default": [{"type": "reject"}]}'


@pytest.fixture
def system_policy(tmp_path, monkeypatch):
    """A stand-in for /etc/containers/policy.json (absent until written)."""
    path = tmp_path / 'etc-policy.json'
    monkeypatch.setattr(policy_module, 'SYSTEM_POLICY_PATH', str(path))
    return path


def test_the_user_policy_comes_first(tmp_path, system_policy):
    home = tmp_path / 'home'
    (home / '.config' / 'containers').mkdir(parents=True)
    (home / '.config' / 'containers' / 'policy.json').write_text(ACCEPT_DOC)
    system_policy.write_text(REJECT_DOC)
    loaded = load_policy(home=str(home))
    assert loaded.source == str(home / '.config' / 'containers' / 'policy.json')
    assert loaded.default == (ACCEPT,) and loaded.warning is None


def test_then_the_system_policy(tmp_path, system_policy, monkeypatch):
    system_policy.write_text(REJECT_DOC)
    monkeypatch.setenv('HOME', str(tmp_path / 'no-such-home'))
    loaded = load_policy()
    assert (loaded.source, loaded.default, loaded.warning) == (str(system_policy), (REJECT,), None)


def test_no_policy_at_all_accepts_with_a_warning(tmp_path, system_policy):
    home = tmp_path / 'home'
    loaded = load_policy(home=str(home))
    assert loaded.default == ACCEPT_ANYTHING and loaded.transports == {} and loaded.source == 'none'
    assert loaded.warning == ('no containers-policy.json found (looked for %s/.config/containers/policy.json and %s): '
                              'accepting any image without verifying signatures' % (home, system_policy))


def test_a_malformed_found_policy_is_an_error_not_a_fallback(tmp_path, system_policy):
    system_policy.write_text('{"default": []}')
    with pytest.raises(PolicyError, match=r'^policy %s: default: the list of requirements must not be empty' % system_policy):
        load_policy(home=str(tmp_path))


def test_an_explicit_path_must_exist(tmp_path):
    with pytest.raises(PolicyError, match=r'^policy %s/missing\.json does not exist$' % tmp_path):
        load_policy(str(tmp_path / 'missing.json'))


def test_an_explicit_path_that_is_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / 'fifo'
    os.mkfifo(fifo)
    with pytest.raises(PolicyError, match=r'^policy %s is not a regular file \(a FIFO\)$' % fifo):
        load_policy(str(fifo))


def test_an_oversized_policy_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(policy_module, 'MAX_POLICY_SIZE', 64)
    path = tmp_path / 'big.json'
    path.write_text(ACCEPT_DOC + ' ' * 64)
    with pytest.raises(PolicyError, match=r'^policy %s exceeds the 64 byte limit$' % path):
        load_policy(str(path))


def test_insecure_reads_nothing(tmp_path):
    loaded = load_policy(str(tmp_path / 'missing.json'), insecure=True)
    assert (loaded.default, loaded.source, loaded.warning) == (ACCEPT_ANYTHING, 'insecure', None)


def test_inline_data_wins_over_files(tmp_path):
    loaded = load_policy(str(tmp_path / 'missing.json'), data=REJECT_DOC.encode())
    assert (loaded.default, loaded.source) == ((REJECT,), 'policy data')
