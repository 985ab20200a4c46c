# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""image_sync sources: skopeo's YAML, docker and dir sources, the mapping form, tag selection, destination names.

Destination rows marked "skopeo-sync(1)" are the examples of skopeo's man page.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError, InvalidInputError, LayoutError
from ansible_collections.ocikit.images.plugins.module_utils.manifest.media_types import OCI_MANIFEST
from ansible_collections.ocikit.images.plugins.module_utils.sync.spec import (
    Credentials,
    RegistryOptions,
    SyncEntry,
    destination_for,
    destination_repository,
    find_dir_images,
    is_dir_copy_leftover,
    load_yaml_source,
    parse_dir_source,
    parse_docker_source,
    parse_mapping,
    parse_yaml_source,
    select_tags,
    source_for,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name

DIGEST = 'sha256:' + '0' * 32 + '1' * 32
MANIFEST = json.dumps({'schemaVersion': 2, 'mediaType': OCI_MANIFEST,
                       'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': DIGEST, 'size': 2},
                       'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar', 'size': 5,
                                   'digest': 'sha256:' + hashlib.sha256(b'layer').hexdigest()}]}).encode()

# skopeo-sync(1)'s YAML example, plus an unknown key.
SKOPEO_EXAMPLE = '''
registry.example.com:
    images:
        busybox: []
        redis:
            - "1.0"
            - "2.0"
            - "sha256:0000000000000000000000000000000011111111111111111111111111111111"
    images-by-tag-regex:
        nginx: ^1\\.13\\.[12]-alpine-perl$
    images-by-semver:
        alpine: ">= 3.12.0"
    credentials:
        username: john
        password: this is a secret
    tls-verify: true
    cert-dir: /home/john/certs
    mirror-everything: yes
quay.io:
    tls-verify: false
    images:
        coreos/etcd:
            - latest
'''


def write(path, text):
    path.write_text(text)
    return str(path)


def test_skopeo_man_page_example_file(tmp_path):
    spec = load_yaml_source(write(tmp_path / 'sync.yml', SKOPEO_EXAMPLE))
    entries = spec.entries
    assert [(str(e.repository), e.references, e.lists_tags) for e in entries] == [
        ('registry.example.com/busybox', (), True),
        ('registry.example.com/redis', ('1.0', '2.0', DIGEST), False),
        ('registry.example.com/nginx', (), True),
        ('registry.example.com/alpine', (), True),
        ('quay.io/coreos/etcd', ('latest',), False),
    ]
    assert entries[0].registry == RegistryOptions(credentials=Credentials('john', 'this is a secret'), tls_verify=True,
                                                  cert_dir='/home/john/certs')
    assert entries[4].registry == RegistryOptions(tls_verify=False)
    assert entries[2].include.pattern == r'^1\.13\.[12]-alpine-perl$' and entries[2].origin == '"%s"["registry.example.com"]' \
        '.images-by-tag-regex.nginx' % (tmp_path / 'sync.yml')
    assert entries[3].semver.text == '>= 3.12.0'
    assert select_tags(entries[2], ['1.13.1-alpine-perl', '1.13.2-alpine', '1.13.2-alpine-perl', 'latest']) == [
        '1.13.1-alpine-perl', '1.13.2-alpine-perl']
    assert select_tags(entries[3], ['3.11.6', '3.12.0', 'latest', '4.0.0', 'edge', '3.13.0-rc1']) == ['3.12.0', '4.0.0']
    assert spec.warnings == ('"%s"["registry.example.com"]: unknown keys ignored, as skopeo does: "mirror-everything"' % (tmp_path / 'sync.yml'),)


def test_file_scalars_stay_as_written_as_yaml_v3_decodes_into_strings(tmp_path):
    text = ('docker.io:\n  images:\n    redis: [1.10, 010, 7, 2024-01-01, on]\n'
            '  tls-verify: no\n  credentials: {username: 007, password: 12345}\n')
    spec = load_yaml_source(write(tmp_path / 's.yaml', text))
    entry = spec.entries[0]
    assert entry.references == ('1.10', '010', '7', '2024-01-01', 'on')
    assert str(entry.repository) == 'docker.io/library/redis'
    assert entry.registry.tls_verify is False
    assert entry.registry.credentials == Credentials('007', '12345')


@pytest.mark.parametrize('text, message', [
    ('a: 1\na: 2\n', 'sync file "{p}" is not valid YAML: mapping key "a" is repeated (first at line 1) at line 2 column 1'),
    ('x: [\n', None),
    ('!!python/object/apply:os.system ["true"]\n',
     'sync file "{p}" is not valid YAML: could not determine a constructor for the tag '
     '\'tag:yaml.org,2002:python/object/apply:os.system\' at line 1 column 1'),
])
def test_bad_files(tmp_path, text, message):
    path = write(tmp_path / 's.yaml', text)
    with pytest.raises(ConfigError) as caught:
        load_yaml_source(path)
    if message is None:
        assert caught.value.message.startswith('sync file "%s" is not valid YAML: ' % path)
    else:
        assert caught.value.message == message.format(p=path)


def test_missing_and_oversized_files(tmp_path):
    with pytest.raises(ConfigError, match='^sync file ".*/nope.yaml" does not exist$'):
        load_yaml_source(str(tmp_path / 'nope.yaml'))
    with pytest.raises(ConfigError, match='exceeds the 4194304 byte limit'):
        load_yaml_source(write(tmp_path / 'big.yaml', '#' * (4 * 1024 * 1024 + 1)))


@pytest.mark.parametrize('document, message', [
    (['a'], 'images: must be a mapping of registries, not a list'),
    ({'quay.io': 'x'}, 'images["quay.io"]: must be a mapping (images, images-by-tag-regex, images-by-semver, ...), not a string'),
    ({5: {}}, 'images["5"]: a registry name must be a non-empty string'),
    ({'quay.io': {'images': ['a']}}, 'images["quay.io"].images: must be a mapping of repositories, not a list'),
    ({'quay.io': {'images': {'a': 'latest'}}},
     'images["quay.io"].images.a: must be a list of tags or digests ([] for every tag), not a string'),
    ({'quay.io': {'images': {'a': [1.1]}}},
     'images["quay.io"].images.a[0]: "1.1" must be a string, not the number 1.1; quote it (YAML reads 1.10 as 1.1 and 010 as 8)'),
    ({'quay.io': {'images': {'a': ['ok', 'bad tag']}}},
     'images["quay.io"].images.a[1]: invalid tag "bad tag": invalid character " " (allowed are letters, digits, "_", "." and "-")'),
    ({'quay.io': {'images': {'a': ['sha256:abc']}}},
     'images["quay.io"].images.a[0]: invalid digest \'sha256:abc\': sha256 needs 64 lowercase hex characters'),
    ({'quay.io': {'images': {'A/b': []}}}, 'images["quay.io"].images.A/b: invalid reference "quay.io/A/b": repository name must be lowercase'),
    ({'quay.io': {'images': {'a:1': []}}}, 'images["quay.io"].images["a:1"]: "quay.io/a:1" names an image, not a repository '
                                           '(remove the tag or digest)'),
    ({'quay.io': {'images-by-tag-regex': {'nginx': '^1(?=\\.)'}}},
     'images["quay.io"].images-by-tag-regex.nginx: invalid regular expression "^1(?=\\\\.)": '
     'lookahead "(?=" is not supported by RE2 at offset 2'),
    ({'quay.io': {'images-by-semver': {'alpine': '>= 3.x.y'}}},
     'images["quay.io"].images-by-semver.alpine: invalid semver constraint ">= 3.x.y": ">= 3.x.y" is not a list of terms '
     '(expected terms such as ">= 1.2", "~1.2.3", "^2", "1.x" or "1.2 - 1.4.5", joined by "," or spaces, alternatives separated by "||")'),
    ({'quay.io': {'images-by-semver': {'alpine': 3.12}}},
     'images["quay.io"].images-by-semver.alpine: "3.12" must be a semver constraint, not the number 3.12; '
     'quote it (YAML reads 1.10 as 1.1 and 010 as 8)'),
    ({'quay.io': {'images': {'a': []}, 'tls-verify': 'maybe'}}, 'images["quay.io"].tls-verify: must be true or false, not "maybe"'),
    ({'quay.io': {'images': {'a': []}, 'credentials': 'john'}},
     'images["quay.io"].credentials: must be a mapping with username and password, not a string'),
    ({'quay.io': {'images': {'a': []}, 'credentials': {'username': 'john', 'password': 1234}}},
     'images["quay.io"].credentials.password: "1234" must be a string, not the number 1234; quote it (YAML reads 1.10 as 1.1 and 010 as 8)'),
])
def test_yaml_errors_say_exactly_where(document, message):
    with pytest.raises(InvalidInputError) as caught:
        parse_yaml_source(document)
    assert caught.value.message == message


def test_yaml_warnings_and_skipped_registries():
    spec = parse_yaml_source({
        'empty.example.com': None,
        'nothing.example.com': {'tls-verify': True, 'images': {}},
        'myregistry': {'images': {'app': ['1']}},
        'quay.io': {'images': {'a': None}, 'credentials': {'username': 'u', 'password': 'p', 'token': 'x'}},
    })
    assert [str(e.repository) for e in spec.entries] == ['docker.io/myregistry/app', 'quay.io/a']
    assert spec.entries[1].lists_tags and spec.entries[1].registry.credentials == Credentials('u', 'p')
    assert spec.warnings == (
        'images["empty.example.com"]: no images specified for the registry, skipped (as skopeo does)',
        'images["nothing.example.com"]: no images specified for the registry, skipped (as skopeo does)',
        'images["myregistry"]: "myregistry" does not look like a registry host (no "." or ":"); as in skopeo, '
        'its repositories are read as Docker Hub namespaces ("docker.io/myregistry/...")',
        'images["quay.io"].credentials: unknown key "token" ignored (skopeo reads username, password and identitytoken)',
    )


def test_yaml_registry_with_a_path_and_a_port():
    spec = parse_yaml_source({'localhost:5000/team': {'images': {'app': ['v1', DIGEST]}}, 'docker.io': {'images': {'busybox': []}}})
    assert [str(e.repository) for e in spec.entries] == ['localhost:5000/team/app', 'docker.io/library/busybox']
    assert source_for(spec.entries[0], 'v1') == 'docker://localhost:5000/team/app:v1'
    assert source_for(spec.entries[0], DIGEST) == 'docker://localhost:5000/team/app@' + DIGEST


@pytest.mark.parametrize('src, repository, references', [
    ('busybox', 'docker.io/library/busybox', ()),
    ('quay.io/coreos/etcd:v3.5', 'quay.io/coreos/etcd', ('v3.5',)),
    ('localhost:5000/app@' + DIGEST, 'localhost:5000/app', (DIGEST,)),
])
def test_docker_source(src, repository, references):
    entry = parse_docker_source(src).entries[0]
    assert (str(entry.repository), entry.references, entry.origin) == (repository, references, 'src')


@pytest.mark.parametrize('kwargs, message', [
    ({'src': 'busybox:1@' + DIGEST}, 'src: "busybox:1@%s" has both a tag and a digest; containers/image does not support that for '
                                     'docker references, give one of them' % DIGEST),
    ({'src': 'busybox:1', 'tag_regex': '^1'}, 'src: "busybox:1" names one image; tag_regex, exclude_regex and semver filter the tags '
                                              'of a repository'),
    ({'src': 'Busybox'}, 'src: invalid reference "Busybox": repository name must be lowercase'),
    ({'src': 'busybox', 'semver': '>= nope'}, 'semver: invalid semver constraint ">= nope": ">= nope" is not a list of terms (expected '
                                              'terms such as ">= 1.2", "~1.2.3", "^2", "1.x" or "1.2 - 1.4.5", joined by "," or spaces, '
                                              'alternatives separated by "||")'),
    ({'src': 'busybox', 'platforms': ['linux']}, 'platforms[0]: invalid platform "linux": expected os/arch or os/arch/variant'),
])
def test_docker_source_errors(kwargs, message):
    with pytest.raises(InvalidInputError) as caught:
        parse_docker_source(**kwargs)
    assert caught.value.message == message


def test_docker_source_filters_and_platforms():
    entry = parse_docker_source('busybox', tag_regex='^1', exclude_regex='musl', semver='>= 1.30',
                                platforms=['linux/amd64', 'linux/arm64/v8', 'linux/amd64']).entries[0]
    assert entry.platforms == ('linux/amd64', 'linux/arm64/v8')
    # 1.37.0-glibc is a pre-release: a constraint without one does not consider it (Masterminds v3).
    assert select_tags(entry, ['1.36', '1.36-musl', '1.29', 'latest', '1.36', '1.37.0-glibc', 'bad tag', '1.40']) == ['1.36', '1.40']


def test_select_tags_order_duplicates_invalid_and_explicit():
    every = SyncEntry(origin='x', repository=parse_docker_source('busybox').entries[0].repository)
    assert select_tags(every, ['b', 'a', 'b', '-bad', 'a' * 129, 'c']) == ['b', 'a', 'c']
    explicit = parse_docker_source('busybox:1').entries[0]
    assert select_tags(explicit, ['2', '3']) == ['1']


# -- dir sources

def make_tree(root, images, extra=()):
    for image in images:
        os.makedirs(os.path.join(root, image), exist_ok=True)
        with open(os.path.join(root, image, 'manifest.json'), 'w') as handle:
            handle.write('{}')
    for directory in extra:
        os.makedirs(os.path.join(root, directory), exist_ok=True)
    return str(root)


def test_dir_walk_finds_images_in_skopeo_order(tmp_path):
    base = make_tree(tmp_path / 'usb', ['docker.io/library/busybox:latest', 'docker.io/library/busybox:1.36', 'quay.io/a/b@' + DIGEST,
                                        'docker.io/library/busybox:latest/aaa:1', 'docker.io/library/busybox:latest/zzz:1'],
                     extra=['empty/dir'])
    os.symlink(os.path.join(base, 'quay.io'), os.path.join(base, 'zz-link'))
    found = find_dir_images(base)
    # "aaa:1" sorts before "manifest.json" in its parent, so it is walked first; "zzz:1" after it is skipped (filepath.WalkDir, SkipDir).
    assert [os.path.relpath(p, base) for p in found] == [
        'docker.io/library/busybox:1.36', 'docker.io/library/busybox:latest/aaa:1', 'docker.io/library/busybox:latest',
        'quay.io/a/b@' + DIGEST]


def test_dir_walk_stops_below_an_image(tmp_path):
    base = make_tree(tmp_path / 'usb', ['img', 'img/zz-below'])
    assert [os.path.relpath(p, base) for p in find_dir_images(base)] == ['img']


def test_dir_walk_passes_over_what_a_killed_dir_copy_left(tmp_path):
    base = make_tree(tmp_path / 'export', ['app:1', 'app:2'])
    # A copy into app:3 killed after its manifest was written, before the swap: its work directory holds a manifest.json.
    destination = parse_image_name('dir:%s' % os.path.join(base, 'app:3')).new_destination()
    destination.put_blob([b'layer'], BlobInfo(Digest.from_bytes(b'layer'), 5))
    destination.put_manifest(MANIFEST, OCI_MANIFEST)
    os.makedirs(os.path.join(base, '.app:1.ocikit-old-0123abcd'))
    with open(os.path.join(base, '.app:1.ocikit-old-0123abcd', 'manifest.json'), 'w', encoding='utf-8') as handle:
        handle.write('{}')
    leftovers = sorted(name for name in os.listdir(base) if name.startswith('.'))
    assert len(leftovers) == 2 and all(is_dir_copy_leftover(name) for name in leftovers)
    assert os.path.isfile(os.path.join(base, [name for name in leftovers if 'tmp' in name][0], 'manifest.json'))
    assert [os.path.relpath(p, base) for p in find_dir_images(base)] == ['app:1', 'app:2']
    assert not is_dir_copy_leftover('.hidden-image') and not is_dir_copy_leftover('app.ocikit-tmp-0123abcd')


def test_dir_walk_limits(tmp_path):
    base = make_tree(tmp_path / 'usb', ['a', 'b', 'c'])
    with pytest.raises(LayoutError, match='holds more than 2 images'):
        find_dir_images(base, max_images=2)
    with pytest.raises(LayoutError, match='holds more than 4 files and directories'):
        find_dir_images(base, max_entries=4)
    deep = make_tree(tmp_path / 'deep', ['1/2/3/4'])
    with pytest.raises(LayoutError, match='is nested more than 2 levels deep'):
        find_dir_images(deep, max_depth=2)


def test_dir_source(tmp_path):
    base = make_tree(tmp_path / 'usb', ['busybox:1-glibc', 'busybox:latest'])
    spec = parse_dir_source(base, platforms=['linux/amd64'])
    assert [(e.source_dir, e.dir_base, e.platforms) for e in spec.entries] == [
        (os.path.join(base, 'busybox:1-glibc'), base, ('linux/amd64',)), (os.path.join(base, 'busybox:latest'), base, ('linux/amd64',))]
    assert source_for(spec.entries[0]) == 'dir:' + os.path.join(base, 'busybox:1-glibc')
    assert not spec.entries[0].lists_tags


def test_dir_source_errors(tmp_path):
    with pytest.raises(InvalidInputError, match=r'^src: invalid source directory ".*/nope": No such file or directory$'):
        parse_dir_source(str(tmp_path / 'nope'))
    write(tmp_path / 'file', 'x')
    with pytest.raises(InvalidInputError, match=r'^src: invalid source directory ".*/file": not a directory$'):
        parse_dir_source(str(tmp_path / 'file'))
    empty = make_tree(tmp_path / 'empty', [], extra=['a/b'])
    with pytest.raises(InvalidInputError, match=r'^src: no images to sync found in ".*/empty" \(no directory with a manifest.json\)$'):
        parse_dir_source(empty)


# -- the mapping form

def test_mapping_form():
    spec = parse_mapping([
        {'src': 'docker.io/library/nginx', 'dest': 'mirror/nginx', 'tag_regex': '^1\\.2[5-7]\\.', 'exclude_regex': 'alpine',
         'platforms': ['linux/amd64']},
        {'src': 'quay.io/coreos/etcd', 'tags': ['v3.5.0', DIGEST, 'v3.5.0']},
        {'src': 'ghcr.io/org/app:1.0'},
        {'src': 'ghcr.io/org/tool', 'semver': '^2'},
    ])
    first, second, third, fourth = spec.entries
    assert (first.destination, first.origin, first.platforms) == ('mirror/nginx', 'mapping[0]', ('linux/amd64',))
    assert select_tags(first, ['1.25.3', '1.25.3-alpine', '1.24.0', '1.27.1']) == ['1.25.3', '1.27.1']
    assert second.references == ('v3.5.0', DIGEST) and not second.lists_tags
    assert third.references == ('1.0',)
    assert select_tags(fourth, ['1.9', '2.0', '2.5.1', '3.0', 'v2.1']) == ['2.0', '2.5.1', 'v2.1']
    assert spec.warnings == ()


@pytest.mark.parametrize('items, message', [
    ({'src': 'a'}, 'mapping: must be a list of mappings, not a mapping'),
    (['a'], 'mapping[0]: must be a mapping with src (and dest, tags, tag_regex, exclude_regex, semver, platforms), not a string'),
    ([{'dest': 'x'}], 'mapping[0]: src is required (a repository, repo:tag or repo@digest)'),
    ([{'src': 'a', 'tag': '1', 'regex': 'x'}],
     'mapping[0]: unknown keys "regex", "tag" (known: src, dest, tags, tag_regex, exclude_regex, semver, platforms)'),
    ([{'src': 'a', 'tags': []}], 'mapping[0].tags: must be a non-empty list of tags or digests, not empty'),
    ([{'src': 'a', 'tags': 'latest'}], 'mapping[0].tags: must be a non-empty list of tags or digests, not a string'),
    ([{'src': 'a:1', 'tags': ['2']}], 'mapping[0]: src "a:1" already names one image; tags lists the tags of a repository'),
    ([{'src': 'a', 'tags': ['1'], 'semver': '>1'}], 'mapping[0]: tag_regex, exclude_regex and semver filter the tags of a repository; '
                                                    'they cannot be combined with tags'),
    ([{'src': 'a@' + DIGEST, 'exclude_regex': 'x'}], 'mapping[0]: tag_regex, exclude_regex and semver filter the tags of a repository; '
                                                     'they cannot be combined with an image src ("a@%s")' % DIGEST),
    ([{'src': 'a'}, {'src': 'b', 'tag_regex': 'a**'}],
     'mapping[1].tag_regex: invalid regular expression "a**": invalid nested repetition operator "**" at offset 1'),
    ([{'src': 'a', 'dest': 'Mirror/a'}], 'mapping[0].dest: invalid repository path "Mirror/a": repository name must be lowercase'),
    ([{'src': 'a', 'platforms': 'linux/amd64'}], 'mapping[0].platforms: must be a list of os/arch[/variant], not a string'),
])
def test_mapping_errors(items, message):
    with pytest.raises(InvalidInputError) as caught:
        parse_mapping(items)
    assert caught.value.message == message


# -- destination names

def docker_entry(src):
    return parse_docker_source(src).entries[0]


@pytest.mark.parametrize('src, tag, dest, dest_type, scoped, suffix, expected', [
    # skopeo-sync(1)
    ('registry.example.com/busybox', '1-glibc', '/media/usb', 'dir', False, '', 'dir:/media/usb/busybox:1-glibc'),
    ('registry.example.com/busybox', '1-glibc', '/media/usb', 'dir', True, '', 'dir:/media/usb/registry.example.com/busybox:1-glibc'),
    ('registry.example.com/busybox', 'latest', 'my-registry.local.lan', 'docker', False, '', 'docker://my-registry.local.lan/busybox:latest'),
    ('registry.example.com/repo/busybox', 'latest', 'my-registry.local.lan/repo', 'docker', False, '',
     'docker://my-registry.local.lan/repo/busybox:latest'),
    ('registry.example.com/busybox', '1-musl', 'my-registry.local.lan', 'docker', False, '-mirror',
     'docker://my-registry.local.lan/busybox:1-musl-mirror'),
    # Docker Hub names are normalised before naming; scoped keeps the host (no mode keeps the path without it).
    ('busybox', 'latest', 'mirror.local/hub', 'docker', True, '', 'docker://mirror.local/hub/docker.io/library/busybox:latest'),
    ('busybox', DIGEST, 'mirror.local', 'docker', False, '', 'docker://mirror.local/busybox@' + DIGEST),
    ('busybox', DIGEST, '/media/usb', 'dir', False, '-x', 'dir:/media/usb/busybox@%s-x' % DIGEST),
    # path.Join cleans the destination.
    ('busybox', '1', 'mirror.local//a/../b/', 'docker', False, '', 'docker://mirror.local/b/busybox:1'),
    ('busybox', '1', '//srv/usb/', 'dir', False, '', 'dir:/srv/usb/busybox:1'),
    # One OCI layout or archive holding every image, named by the suffix.
    ('busybox', '1.36', '/srv/layout', 'oci', False, '', 'oci:/srv/layout:busybox:1.36'),
    ('busybox', '1.36', '/srv/layout', 'oci', True, '-m', 'oci:/srv/layout:docker.io/library/busybox:1.36-m'),
    ('quay.io/a/b', DIGEST, '/srv/all.tar', 'oci-archive', False, '', 'oci-archive:/srv/all.tar:b@' + DIGEST),
])
def test_destination_for_skopeo_naming(src, tag, dest, dest_type, scoped, suffix, expected):
    assert destination_for(docker_entry(src), tag, dest, dest_type, scoped=scoped, append_suffix=suffix) == expected


def test_destination_for_dir_sources(tmp_path):
    base = make_tree(tmp_path / 'usb', ['docker.io/library/busybox:latest', 'busybox:1-glibc'])
    entries = {os.path.relpath(e.source_dir, base): e for e in parse_dir_source(base).entries}
    scoped = entries['docker.io/library/busybox:latest']
    assert destination_for(scoped, None, 'reg.local/test/', 'docker') == 'docker://reg.local/test/busybox:latest'
    assert destination_for(scoped, None, 'reg.local/test', 'docker', scoped=True) == 'docker://reg.local/test/docker.io/library/busybox:latest'
    assert destination_for(scoped, None, '/srv/l', 'oci', scoped=True) == 'oci:/srv/l:docker.io/library/busybox:latest'
    # skopeo-sync(1): SOURCE is the image directory itself.
    image = parse_dir_source(os.path.join(base, 'busybox:1-glibc') + '/').entries[0]
    assert destination_for(image, None, 'my-registry.local.lan/test/', 'docker') == 'docker://my-registry.local.lan/test/busybox:1-glibc'
    assert destination_for(image, None, 'my-registry.local.lan/test/', 'docker', scoped=True) == \
        'docker://my-registry.local.lan/test/busybox:1-glibc'
    with pytest.raises(InvalidInputError, match=r'a sync from dir to dir is not supported \(as in skopeo\); copy the directory instead'):
        destination_for(scoped, None, '/elsewhere', 'dir')


def test_destination_for_mapping_names():
    entry = parse_mapping([{'src': 'docker.io/library/nginx', 'dest': '/mirror/nginx/'}]).entries[0]
    assert destination_for(entry, '1.25', 'reg.local:5000', 'docker', scoped=True) == 'docker://reg.local:5000/mirror/nginx:1.25'
    assert destination_for(entry, DIGEST, '/srv/l', 'oci') == 'oci:/srv/l:mirror/nginx@' + DIGEST
    assert destination_repository(entry, 'reg.local:5000') == 'reg.local:5000/mirror/nginx'


@pytest.mark.parametrize('src, tag, dest, dest_type, kwargs, message', [
    ('busybox', DIGEST, 'mirror.local', 'docker', {'append_suffix': '-m'},
     'src: append_suffix "-m" cannot follow a digest ("docker://mirror.local/busybox@%s-m"); a docker destination would get an '
     'invalid digest' % DIGEST),
    ('busybox', '1', 'Mirror.Local/Team', 'docker', {},
     'src: the destination "docker://Mirror.Local/Team/busybox:1" is not valid: invalid reference "Mirror.Local/Team/busybox:1": '
     'repository name must be lowercase'),
    ('busybox', '1', '/srv/a:b', 'oci', {}, 'src: the oci path "/srv/a:b" contains ":", which would end the path'),
    ('busybox', '1', '/srv', 'podman', {}, 'invalid dest_type "podman": expected one of docker, dir, oci, oci-archive'),
    ('busybox', '1', '', 'dir', {}, 'dest must be a non-empty string'),
])
def test_destination_for_refusals(src, tag, dest, dest_type, kwargs, message):
    with pytest.raises(InvalidInputError) as caught:
        destination_for(docker_entry(src), tag, dest, dest_type, **kwargs)
    if message is not None:
        assert caught.value.message == message


@pytest.mark.parametrize('src, dest, scoped, expected', [
    ('registry.example.com/busybox', 'my-registry.local.lan', False, 'my-registry.local.lan/busybox'),
    ('busybox', 'mirror.local/hub', True, 'mirror.local/hub/docker.io/library/busybox'),
    ('localhost:5000/a/b', 'mirror.local:5000/', False, 'mirror.local:5000/b'),
])
def test_destination_repository(src, dest, scoped, expected):
    assert destination_repository(docker_entry(src), dest, scoped) == expected
