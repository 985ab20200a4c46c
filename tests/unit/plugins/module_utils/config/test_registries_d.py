# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""registries.d: directory choice, merging, scope precedence with per-key fall-through, defaults, URL checks.

Tables marked "containers/image" are ported from its ``docker/registries_d_test.go`` (same inputs,
same expected answers) so that the two implementations agree.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.config import registries_d
from ansible_collections.ocikit.images.plugins.module_utils.config.registries_d import (
    LookasideBase,
    RegistriesConfig,
    Section,
    default_lookaside_url,
    docker_scopes,
    load_registries_config,
    load_registries_d,
    registries_d_path,
)
from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError, PolicyError
from ansible_collections.ocikit.images.plugins.module_utils.reference import parse_normalized_named

# containers/image's fixtures/registries.d, spread over files as there, plus an empty-mapping file,
# a comment-only file and files that are not *.yaml (ignored).
FIXTURE_FILES = {
    'example.com.yaml': 'docker:\n  example.com:\n    lookaside: https://lookaside.example.com\n',
    'internal.yaml': (
        'docker:\n'
        '  registry.test.example.com:\n'
        '    lookaside: http://registry.test.example.com/lookaside\n'
        '  registry.test.example.com:8888:\n'
        '    lookaside: http://registry.test.example.com:8889/lookaside\n'
        '    lookaside-staging: https://registry.test.example.com:8889/lookaside/specialAPIserverWhichDoesNotExist\n'
        '  localhost:\n'
        '    lookaside: file:///home/mitr/mydevelopment1\n'
        '  localhost:8080:\n'
        '    lookaside: file:///home/mitr/mydevelopment2\n'
        '  localhost/invalid/url/test:\n'
        '    lookaside: ":emptyscheme"\n'
        '  localhost/file/path/test:\n'
        '    lookaside: "/no/scheme/just/a/path"\n'
        '  localhost/relative/path/test:\n'
        '    lookaside: "no/scheme/relative/path"\n'
    ),
    'redhat.yaml': (  # default-docker and docker scopes in one file
        'default-docker:\n  lookaside: file:///mnt/companywide/signatures/for/other/repositories\n'
        'docker:\n'
        '  docker.io/contoso:\n'
        '    lookaside: https://lookaside.contoso.com/fordocker\n'
        '  docker.io/centos:\n'
        '    lookaside: https://lookaside.centos.org/\n'
        '  docker.io/centos/mybetaproduct:\n'
        '    lookaside: http://localhost:9999/mybetaWIP/lookaside\n'
        '    lookaside-staging: file:///srv/mybetaWIP/lookaside\n'
        '  docker.io/centos/mybetaproduct:latest:\n'
        '    lookaside: https://lookaside.centos.org/\n'
    ),
    'emptyConfig.yaml': '{}\n',
    'comments.yaml': '# nothing but a comment\n',
    'notyaml.yml': 'this is not: [valid YAML\n',
    'README': 'default-docker: {lookaside: file:///ignored}\n',
}


def write_dir(directory, files):
    os.makedirs(str(directory), exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding='utf-8')
    return str(directory)


@pytest.fixture
def fixture_dir(tmp_path):
    return write_dir(tmp_path / 'registries.d', FIXTURE_FILES)


def ref(text):
    return parse_normalized_named(text)


# -- directory --------------------------------------------------------------------------------------

@pytest.mark.parametrize('explicit, user_dir_present, expected', [
    (None, False, registries_d.SYSTEM_REGISTRIES_D),        # the common case
    ('', False, registries_d.SYSTEM_REGISTRIES_D),          # given, but empty: not an override
    ('/this/is/not/the/default/registries.d', False, '/this/is/not/the/default/registries.d'),
    (None, True, 'USER'),                                    # the user's directory wins when it exists
    ('/this/is/not/the/default/registries.d', True, '/this/is/not/the/default/registries.d'),
    ('$HOME', False, '$HOME'),                               # no environment expansion in overrides
])
def test_registries_d_path(tmp_path, explicit, user_dir_present, expected):  # containers/image TestRegistriesDirPath
    user_dir = tmp_path / '.config' / 'containers' / 'registries.d'
    if user_dir_present:
        user_dir.mkdir(parents=True)
    assert registries_d_path(explicit, home=str(tmp_path)) == (str(user_dir) if expected == 'USER' else expected)


def test_registries_d_path_uses_home_from_the_environment(tmp_path, monkeypatch):
    (tmp_path / '.config' / 'containers' / 'registries.d').mkdir(parents=True)
    monkeypatch.setenv('HOME', str(tmp_path))
    assert registries_d_path() == str(tmp_path / '.config' / 'containers' / 'registries.d')


# -- loading and merging ----------------------------------------------------------------------------

def test_missing_and_empty_directories_are_an_empty_configuration(tmp_path):
    for directory in (str(tmp_path / 'thisdoesnotexist'), write_dir(tmp_path / 'empty', {})):
        config = load_registries_d(directory)
        assert (dict(config.docker), config.default_docker, config.directory) == ({}, None, directory)


def test_the_fixture_directory_merges_as_in_containers_image(fixture_dir):  # containers/image TestLoadAndMergeConfig
    config = load_registries_d(fixture_dir)
    assert config.default_docker.lookaside == 'file:///mnt/companywide/signatures/for/other/repositories'
    got = {scope: (s.lookaside, s.lookaside_staging) for scope, s in config.docker.items()}
    assert got == {
        'example.com': ('https://lookaside.example.com', None),
        'registry.test.example.com': ('http://registry.test.example.com/lookaside', None),
        'registry.test.example.com:8888': ('http://registry.test.example.com:8889/lookaside',
                                           'https://registry.test.example.com:8889/lookaside/specialAPIserverWhichDoesNotExist'),
        'localhost': ('file:///home/mitr/mydevelopment1', None),
        'localhost:8080': ('file:///home/mitr/mydevelopment2', None),
        'localhost/invalid/url/test': (':emptyscheme', None),
        'localhost/file/path/test': ('/no/scheme/just/a/path', None),
        'localhost/relative/path/test': ('no/scheme/relative/path', None),
        'docker.io/contoso': ('https://lookaside.contoso.com/fordocker', None),
        'docker.io/centos': ('https://lookaside.centos.org/', None),
        'docker.io/centos/mybetaproduct': ('http://localhost:9999/mybetaWIP/lookaside', 'file:///srv/mybetaWIP/lookaside'),
        'docker.io/centos/mybetaproduct:latest': ('https://lookaside.centos.org/', None),
    }
    assert config.docker['example.com'].origin == 'docker scope "example.com" in "%s"' % os.path.join(fixture_dir, 'example.com.yaml')


@pytest.mark.parametrize('files, message', [
    ({'0.yaml': 'default-docker:\n lookaside: file:////tmp/something\n',
      '1.yaml': 'default-docker:\n lookaside: file:////tmp/different\n'},
     'registries.d: default-docker is defined both in "{d}/0.yaml" and in "{d}/1.yaml"'),
    ({'0.yaml': 'docker:\n example.com:\n  lookaside: file:////tmp/something\n',
      '1.yaml': 'docker:\n example.com:\n  lookaside: file:////tmp/different\n'},
     'registries.d: docker scope "example.com" is defined both in "{d}/0.yaml" and in "{d}/1.yaml"'),
    # An empty section still defines its scope, as a zero-valued entry does in Go.
    ({'a.yaml': 'docker:\n example.com:\n', 'b.yaml': 'docker:\n example.com: {}\n'},
     'registries.d: docker scope "example.com" is defined both in "{d}/a.yaml" and in "{d}/b.yaml"'),
    ({'a.yaml': 'default-docker: {}\n', 'b.yaml': 'default-docker: {sigstore: file:///x}\n'},
     'registries.d: default-docker is defined both in "{d}/a.yaml" and in "{d}/b.yaml"'),
    ({'0.yaml': '- a\n- b\n'}, 'registries.d file "{d}/0.yaml" is not a mapping (it is a list)'),
    ({'0.yaml': 'docker: [a]\n'}, 'registries.d file "{d}/0.yaml": docker must be a mapping of scopes, not a list'),
    ({'0.yaml': 'docker:\n  example.com: lookaside\n'}, 'docker scope "example.com" in "{d}/0.yaml" is not a mapping'),
    ({'0.yaml': 'docker:\n  example.com:\n    lookaside: 5\n'},
     'docker scope "example.com" in "{d}/0.yaml": lookaside must be a string, not a number'),
    ({'0.yaml': 'default-docker:\n  lookaside-staging: [a]\n'}, 'default-docker in "{d}/0.yaml": lookaside-staging must be a string, not a list'),
    ({'0.yaml': 'default-docker:\n  use-sigstore-attachments: "true"\n'},
     'default-docker in "{d}/0.yaml": use-sigstore-attachments must be true or false, not a string'),
    ({'0.yaml': 'docker:\n  5000: {}\n'}, 'registries.d file "{d}/0.yaml": docker scope "5000" is not a string'),
    # yaml.v3 refuses a key repeated in one mapping; PyYAML alone would keep the last silently.
    ({'0.yaml': 'docker:\n  example.com:\n    lookaside: file:///a\n  example.com:\n    lookaside: file:///b\n'},
     'registries.d file "{d}/0.yaml" is not valid YAML: mapping key "example.com" is repeated (first at line 2) at line 4 column 3'),
    ({'0.yaml': 'default-docker:\n  lookaside: file:///a\n  lookaside: file:///b\n'},
     'registries.d file "{d}/0.yaml" is not valid YAML: mapping key "lookaside" is repeated (first at line 2) at line 3 column 3'),
    ({'0.yaml': '!!python/object/apply:os.system ["true"]\n'},
     'registries.d file "{d}/0.yaml" is not valid YAML: '
     'could not determine a constructor for the tag \'tag:yaml.org,2002:python/object/apply:os.system\' at line 1 column 1'),
])
def test_bad_files_are_policy_errors_naming_file_and_key(tmp_path, files, message):
    directory = write_dir(tmp_path / 'd', files)
    with pytest.raises(PolicyError) as caught:
        load_registries_d(directory)
    assert caught.value.message == message.format(d=directory)
    assert isinstance(caught.value, ConfigError)


def test_invalid_yaml_is_one_line_with_its_position_and_no_content(tmp_path):
    # The problem text differs between libyaml and pure-Python PyYAML; the shape and the position do not.
    directory = write_dir(tmp_path / 'd', {'0.yaml': 'default-docker:\n  lookaside: https://user:hunter22@x.example/\n  ]\n'})
    with pytest.raises(PolicyError) as caught:
        load_registries_d(directory)
    assert caught.value.message.startswith('registries.d file "%s/0.yaml" is not valid YAML: ' % directory)
    assert caught.value.message.endswith(' at line 3 column 3')
    assert 'hunter22' not in caught.value.message and '\n' not in caught.value.message


def test_unknown_keys_are_ignored_and_null_means_unset(tmp_path):
    directory = write_dir(tmp_path / 'd', {'0.yaml': (
        'future-key: 1\n'
        'default-docker:\n  lookaside: file:///d\n  somethingNew: {a: b}\n'
        'docker:\n  example.com:\n    lookaside: ~\n    sigstore: ""\n    use-sigstore-attachments: null\n    extra: [1, 2]\n')})
    config = load_registries_d(directory)
    assert config.docker['example.com'] == Section(origin=config.docker['example.com'].origin)
    assert config.default_docker.lookaside == 'file:///d'
    # Empty and null values do not stop the fall-through.
    assert config.lookaside_base(ref('example.com/a/b:1')).url == 'file:///d'


def test_a_directory_that_is_a_file_and_an_unreadable_file_are_errors(tmp_path):
    not_a_dir = tmp_path / 'file'
    not_a_dir.write_text('x')
    with pytest.raises(PolicyError, match=r'^registries.d directory ".*/file" cannot be read: Not a directory$'):
        load_registries_d(str(not_a_dir))
    fifo_dir = write_dir(tmp_path / 'fifo', {'0.yaml': '{}'})
    os.mkfifo(os.path.join(fifo_dir, '1.yaml'))
    with pytest.raises(PolicyError) as caught:
        load_registries_d(fifo_dir)
    assert caught.value.message == 'registries.d file "%s/1.yaml" is not a regular file (a FIFO)' % fifo_dir
    if os.geteuid() != 0:
        unreadable = write_dir(tmp_path / 'unreadable', {'0.yaml': '{}', '1.yaml': ''})
        os.chmod(os.path.join(unreadable, '1.yaml'), 0)
        with pytest.raises(PolicyError, match=r'^registries.d file ".*/1.yaml" cannot be read: Permission denied$'):
            load_registries_d(unreadable)


def test_oversized_file_and_dangling_symlink(tmp_path, monkeypatch):
    directory = write_dir(tmp_path / 'd', {'big.yaml': '#' * 100 + '\n'})
    os.symlink(str(tmp_path / 'gone'), os.path.join(directory, 'dangling.yaml'))
    monkeypatch.setattr(registries_d, 'MAX_FILE_SIZE', 64)
    with pytest.raises(PolicyError) as caught:
        load_registries_d(directory)
    assert caught.value.message == 'registries.d file "%s/big.yaml" exceeds the 64 byte limit' % directory
    monkeypatch.setattr(registries_d, 'MAX_FILE_SIZE', 1024)
    assert dict(load_registries_d(directory).docker) == {}  # the dangling link is skipped, as a file removed meanwhile


def test_load_registries_config_reads_the_users_directory(tmp_path):
    write_dir(tmp_path / '.config' / 'containers' / 'registries.d', {'a.yaml': 'default-docker: {lookaside: "https://l.example"}\n'})
    config = load_registries_config(home=str(tmp_path))
    assert config.default_docker.lookaside == 'https://l.example'


# -- scopes ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('reference, expected', [
    ('example.com/ns1/ns2/repo:tag', ['example.com/ns1/ns2/repo:tag', 'example.com/ns1/ns2/repo', 'example.com/ns1/ns2',
                                      'example.com/ns1', 'example.com', '*.com']),
    ('busybox', ['docker.io/library/busybox:latest', 'docker.io/library/busybox', 'docker.io/library', 'docker.io', '*.io']),
    ('a.b.example.com:5000/repo@sha256:' + 'a' * 64,
     ['a.b.example.com:5000/repo@sha256:' + 'a' * 64, 'a.b.example.com:5000/repo', 'a.b.example.com:5000',
      '*.b.example.com', '*.example.com', '*.com']),
    ('localhost:5000/x:1', ['localhost:5000/x:1', 'localhost:5000/x', 'localhost:5000']),
    ('example.com/r:t@sha256:' + 'b' * 64, ['example.com/r@sha256:' + 'b' * 64, 'example.com/r', 'example.com', '*.com']),
])
def test_docker_scopes(reference, expected):
    assert docker_scopes(ref(reference)) == expected


def precedence_config():
    docker = {ns: Section(origin=ns, lookaside=ns, lookaside_staging=ns + '+w') for ns in (
        'localhost', 'localhost:5000', 'example.com', 'example.com/ns1', 'example.com/ns1/ns2',
        'example.com/ns1/ns2/repo', 'example.com/ns1/ns2/repo:notlatest')}
    return RegistriesConfig(docker=docker, default_docker=Section(origin='default', lookaside='=default', lookaside_staging='=default+w'))


@pytest.mark.parametrize('reference, expected', [  # containers/image TestRegistryConfigurationSignatureTopLevel
    ('example.com/ns1/ns2/repo:notlatest', 'example.com/ns1/ns2/repo:notlatest'),
    ('example.com/ns1/ns2/repo:unmatched', 'example.com/ns1/ns2/repo'),
    ('example.com/ns1/ns2/notrepo:notlatest', 'example.com/ns1/ns2'),
    ('example.com/ns1/notns2/repo:notlatest', 'example.com/ns1'),
    ('example.com/notns1/ns2/repo:notlatest', 'example.com'),
    ('unknown.example.com/busybox', '=default'),
    ('localhost:5000/busybox', 'localhost:5000'),
    ('localhost/busybox', 'localhost'),
    ('localhost:9999/busybox', '=default'),
])
def test_signature_top_level_precedence(reference, expected):
    config = precedence_config()
    assert config.signature_top_level(ref(reference), write=False)[0] == expected
    assert config.signature_top_level(ref(reference), write=True)[0] == expected + '+w'


def test_signature_top_level_unmatched_is_none():
    config = RegistriesConfig(docker={'unmatched': Section(lookaside='a', lookaside_staging='b')})
    assert config.signature_top_level(ref('thisisnotmatched'), False) is None
    assert config.signature_top_level(ref('thisisnotmatched'), True) is None


@pytest.mark.parametrize('fields, write, expected', [  # containers/image TestRegistryNamespaceSignatureTopLevel
    (dict(lookaside_staging='a', lookaside='b'), True, 'a'),
    (dict(lookaside_staging='a', lookaside='b'), False, 'b'),
    (dict(lookaside='b'), True, 'b'),
    (dict(lookaside='b'), False, 'b'),
    (dict(lookaside_staging='a'), True, 'a'),
    (dict(lookaside_staging='a'), False, None),
    ({}, True, None),
    ({}, False, None),
    (dict(lookaside_staging='a', lookaside='b', sigstore_staging='c', sigstore='d'), True, 'a'),
    (dict(lookaside='b', sigstore_staging='c', sigstore='d'), True, 'c'),
    (dict(lookaside='b', sigstore='d'), True, 'b'),
    (dict(sigstore='d'), True, 'd'),
    (dict(lookaside_staging='a', lookaside='b', sigstore_staging='c', sigstore='d'), False, 'b'),
    (dict(lookaside='b', sigstore_staging='c', sigstore='d'), False, 'b'),
    (dict(lookaside='b', sigstore='d'), False, 'b'),
    (dict(sigstore='d'), False, 'd'),
])
def test_section_top_level(fields, write, expected):
    found = Section(**fields).top_level(write)
    assert (found[0] if found else None) == expected


def test_fall_through_is_per_key(tmp_path):
    """A specific scope that sets only some keys inherits the others from less specific scopes (containers/image code, not its man page)."""
    directory = write_dir(tmp_path / 'd', {
        'a.yaml': ('docker:\n'
                   '  registry.example.com/team/app:\n'
                   '    use-sigstore-attachments: true\n'
                   '  registry.example.com/team:\n'
                   '    lookaside-staging: file:///staging/team\n'
                   '  registry.example.com:\n'
                   '    lookaside: https://sigs.example.com/registry\n'
                   '    use-sigstore-attachments: false\n'
                   '  "*.example.com":\n'
                   '    lookaside: https://wildcard.example.com\n'
                   '    use-sigstore-attachments: true\n'),
        'b.yaml': 'default-docker:\n  sigstore: https://default.example.com\n  sigstore-staging: file:///staging/default\n'})
    config = load_registries_d(directory)
    app = ref('registry.example.com/team/app:v1')
    other = ref('registry.example.com/other:v1')
    mirror = ref('mirror.example.com:8443/x/y:1')
    elsewhere = ref('quay.io/x/y:1')
    assert config.use_sigstore_attachments(app) is True
    assert config.use_sigstore_attachments(other) is False
    assert config.use_sigstore_attachments(mirror) is True        # wildcard, port stripped
    assert config.use_sigstore_attachments(elsewhere) is False     # nothing sets it: the default
    assert config.lookaside_base(app) == LookasideBase(
        'https://sigs.example.com/registry', 'lookaside of docker scope "registry.example.com" in "%s/a.yaml"' % directory)
    assert config.lookaside_base(app, write=True) == LookasideBase(
        'file:///staging/team', 'lookaside-staging of docker scope "registry.example.com/team" in "%s/a.yaml"' % directory)
    assert config.lookaside_base(other, write=True).url == 'https://sigs.example.com/registry'
    assert config.lookaside_base(mirror).url == 'https://wildcard.example.com'
    assert config.lookaside_base(elsewhere) == LookasideBase('https://default.example.com', 'sigstore of default-docker in "%s/b.yaml"' % directory)
    assert config.lookaside_base(elsewhere, write=True).url == 'file:///staging/default'


# -- bases, defaults and URL checks -----------------------------------------------------------------

@pytest.mark.parametrize('euid, expected', [
    (0, 'file:///var/lib/containers/sigstore'),
    (1000, 'file://{home}/.local/share/containers/sigstore'),
])
def test_builtin_default_lookaside(tmp_path, monkeypatch, euid, expected):  # containers/image TestBuiltinDefaultLookasideStorageDir
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.delenv('_CONTAINERS_ROOTLESS_UID', raising=False)
    monkeypatch.setattr(os, 'geteuid', lambda: euid)
    assert default_lookaside_url() == expected.format(home=tmp_path)
    base = RegistriesConfig().lookaside_base(ref('busybox'))
    assert base == LookasideBase(expected.format(home=tmp_path), 'the built-in default lookaside')
    assert base.scheme == 'file'


@pytest.mark.parametrize('env, euid, expected_root', [
    ('1000', 0, False),     # podman unshare: euid 0 inside, the user outside
    ('0', 1000, True),
    ('', 1000, False),      # empty: not set
    ('bogus', 1000, True),  # Go's Atoi fails to 0
])
def test_rootless_uid_from_podman(tmp_path, monkeypatch, env, euid, expected_root):
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.setenv('_CONTAINERS_ROOTLESS_UID', env)
    monkeypatch.setattr(os, 'geteuid', lambda: euid)
    expected = 'file:///var/lib/containers/sigstore' if expected_root else 'file://%s/.local/share/containers/sigstore' % tmp_path
    assert default_lookaside_url() == expected


def test_default_lookaside_quotes_the_home_path():
    base = LookasideBase(default_lookaside_url(euid=1000, home='/home/a b%c'), 'x')
    assert base.url == 'file:///home/a%20b%25c/.local/share/containers/sigstore'
    assert base.path == '/home/a b%c/.local/share/containers/sigstore'


@pytest.mark.parametrize('reference, message', [
    ('localhost/invalid/url/test', 'lookaside of docker scope "localhost/invalid/url/test" in "{d}/internal.yaml": '
                                   '":emptyscheme" has no scheme; a lookaside is a file://, http:// or https:// URL'),
    ('localhost/file/path/test', 'lookaside of docker scope "localhost/file/path/test" in "{d}/internal.yaml": '
                                 '"/no/scheme/just/a/path" has no scheme; a lookaside is a file://, http:// or https:// URL'),
    ('localhost/relative/path/test', 'lookaside of docker scope "localhost/relative/path/test" in "{d}/internal.yaml": '
                                     '"no/scheme/relative/path" has no scheme; a lookaside is a file://, http:// or https:// URL'),
])
def test_fixture_urls_that_containers_image_rejects_on_use(fixture_dir, reference, message):
    config = load_registries_d(fixture_dir)
    with pytest.raises(PolicyError) as caught:
        config.lookaside_base(ref(reference))
    assert caught.value.message == message.format(d=fixture_dir)


def test_fixture_success_cases(fixture_dir):
    config = load_registries_d(fixture_dir)
    assert config.lookaside_base(ref('example.com/my/project')).url == 'https://lookaside.example.com'
    assert config.lookaside_base(ref('docker.io/centos/mybetaproduct:latest')).url == 'https://lookaside.centos.org/'
    assert config.lookaside_base(ref('docker.io/centos/mybetaproduct:1'), write=True).url == 'file:///srv/mybetaWIP/lookaside'
    assert config.lookaside_base(ref('registry.test.example.com:8888/x'), write=True).url == \
        'https://registry.test.example.com:8889/lookaside/specialAPIserverWhichDoesNotExist'
    assert config.lookaside_base(ref('quay.io/nothing/here')).url == 'file:///mnt/companywide/signatures/for/other/repositories'


@pytest.mark.parametrize('url, message', [
    ('ftp://example.com/sigs', '"ftp://example.com/sigs" has the unsupported scheme "ftp"; a lookaside is a file://, http:// or https:// URL'),
    ('file://server/share', '"file://server/share" names a host; a file:// lookaside is a local directory (file:///path)'),
    ('file:relative', '"file:relative" has no absolute path'),
    ('https:///nohost', '"https:///nohost" has no host'),
    ('https://example.com:port/x', '"https://example.com:port/x" is not a valid URL: Port could not be cast to integer value as \'port\''),
    ('https://user:hunter22@example.com/x', None),
    ('file://localhost/srv/sigs', None),
])
def test_lookaside_url_checks(url, message):
    config = RegistriesConfig(default_docker=Section(origin='default-docker in "f.yaml"', lookaside=url))
    if message is None:
        assert config.lookaside_base(ref('busybox')).url == url
        return
    with pytest.raises(PolicyError) as caught:
        config.lookaside_base(ref('busybox'))
    assert caught.value.message == 'lookaside of default-docker in "f.yaml": ' + message


def test_messages_do_not_show_a_password_in_a_lookaside_url():
    config = RegistriesConfig(default_docker=Section(origin='default-docker in "f.yaml"', lookaside='gopher://user:hunter22@example.com/x'))
    with pytest.raises(PolicyError) as caught:
        config.lookaside_base(ref('busybox'))
    assert 'hunter22' not in caught.value.message
    assert '"gopher://user:********@example.com/x"' in caught.value.message


def test_a_directory_that_cannot_be_listed(tmp_path, monkeypatch):
    directory = write_dir(tmp_path / 'd', {'a.yaml': '{}'})

    def refuse(path):
        raise PermissionError(13, 'Permission denied', path)
    # Simulated: the tests may run as root, who lists any directory.
    monkeypatch.setattr(os, 'listdir', refuse)
    with pytest.raises(PolicyError) as caught:
        load_registries_d(directory)
    assert caught.value.message == 'registries.d directory "%s" cannot be read: Permission denied' % directory
