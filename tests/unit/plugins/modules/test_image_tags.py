# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""image_tags: pagination with page_size, image_sync's filters, the three orders, OCI layout names, refusals and the module's result."""

from __future__ import annotations

import hashlib
import json
import typing as t

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, OcikitError
from ansible_collections.ocikit.images.plugins.module_utils.tags import list_image_tags, sort_tags
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.pool import ClientPool
from ansible_collections.ocikit.images.plugins.modules import image_tags
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import FakeRegistry, make_client

httpx = pytest.importorskip('httpx')

REF_NAME = 'org.opencontainers.image.ref.name'
TAGS = ['latest', 'v1.10.0', '1.2.0', '1.2.0-rc1', 'v1.9.3', '2.0.0', 'nightly', 'v1.2.0']


def serve_pages(fake: FakeRegistry, tags: list[str]) -> None:
    """Serve ``tags`` as distribution does: pages of ``n`` after ``last``, a Link to the next page while more remain."""
    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.url.path != '/v2/app/tags/list':
            return None
        size = int(request.url.params.get('n', len(tags)))
        last = request.url.params.get('last')
        start = tags.index(last) + 1 if last is not None else 0
        page = tags[start:start + size]
        headers = {}
        if start + size < len(tags):
            headers['Link'] = '</v2/app/tags/list?last=%s&n=%d>; rel="next"' % (page[-1], size)
        return httpx.Response(200, headers=headers, json={'name': 'app', 'tags': page})

    fake.hooks.append(hook)


def options_for(fake: FakeRegistry) -> ConnectionOptions:
    return ConnectionOptions(clients=ClientPool(lambda registry, options: make_client(fake, registry=registry)))


def tag_requests(fake: FakeRegistry) -> list[str]:
    return [call for call in fake.calls() if '/tags/list' in call]


def test_every_page_is_read_in_the_registry_order_with_the_page_size_asked() -> None:
    fake = FakeRegistry()
    serve_pages(fake, TAGS)
    result = list_image_tags('docker://registry.test/app', options_for(fake), page_size=3)
    assert result == {'changed': False, 'repository': 'registry.test/app', 'tags': TAGS, 'count': 8}
    assert tag_requests(fake) == ['GET /v2/app/tags/list?n=3', 'GET /v2/app/tags/list?last=1.2.0&n=3',
                                  'GET /v2/app/tags/list?last=2.0.0&n=3']


def test_without_page_size_no_n_is_sent() -> None:
    fake = FakeRegistry()
    serve_pages(fake, TAGS)
    assert list_image_tags('docker://registry.test/app', options_for(fake))['tags'] == TAGS
    assert tag_requests(fake) == ['GET /v2/app/tags/list']


@pytest.mark.parametrize('filters, sort, expected', [
    ({'tag_regex': '^v'}, 'none', ['v1.10.0', 'v1.9.3', 'v1.2.0']),
    ({'exclude_regex': r'rc|^[a-z]+$'}, 'none', ['v1.10.0', '1.2.0', 'v1.9.3', '2.0.0', 'v1.2.0']),
    ({'semver': '>=1.2 <2'}, 'none', ['v1.10.0', '1.2.0', 'v1.9.3', 'v1.2.0']),
    ({'semver': '>=1.2 <2'}, 'semver', ['1.2.0', 'v1.2.0', 'v1.9.3', 'v1.10.0']),
    ({'semver': '>=1.2.0-0 <2', 'exclude_regex': r'^v1\.2'}, 'semver', ['1.2.0-rc1', '1.2.0', 'v1.9.3', 'v1.10.0']),
    ({'tag_regex': '^v', 'semver': '~1.9'}, 'none', ['v1.9.3']),
    ({}, 'lexical', ['1.2.0', '1.2.0-rc1', '2.0.0', 'latest', 'nightly', 'v1.10.0', 'v1.2.0', 'v1.9.3']),
    ({}, 'semver', ['1.2.0-rc1', '1.2.0', 'v1.2.0', 'v1.9.3', 'v1.10.0', '2.0.0', 'latest', 'nightly']),
    ({'tag_regex': 'none-of-them'}, 'semver', []),
])
def test_filters_and_orders_are_image_sync_s(filters: dict[str, str], sort: str, expected: list[str]) -> None:
    fake = FakeRegistry()
    serve_pages(fake, TAGS)
    result = list_image_tags('docker://registry.test/app', options_for(fake), sort=sort, **filters)
    assert result['tags'] == expected and result['count'] == len(expected)


def test_semver_order_puts_equal_versions_by_text_and_non_versions_last() -> None:
    assert sort_tags(['b', 'v1.0.0', '1.0', 'a', '1.0.0'], 'semver') == ['1.0', '1.0.0', 'v1.0.0', 'a', 'b']


@pytest.mark.parametrize('image, kwargs, message', [
    ('docker://registry.test/app:1.0', {},
     '"docker://registry.test/app:1.0" names an image; image_tags lists a repository: remove the tag or digest (as skopeo list-tags requires)'),
    ('docker://registry.test/app@sha256:' + 'a' * 64, {}, 'names an image; image_tags lists a repository'),
    ('docker://registry.test/App', {}, 'invalid reference "registry.test/App": repository name must be lowercase'),
    ('docker:registry.test/app', {}, 'invalid image name "docker:registry.test/app": expected docker://REGISTRY/REPOSITORY'),
    ('docker://bob:hunter2@registry.test/app', {}, 'credentials cannot be part of the reference'),
    ('dir:/tmp/x', {}, '"dir:/tmp/x": image_tags lists docker://, oci: and oci-archive: names, not dir: ones'),
    ('nope:/tmp/x', {}, 'unknown transport "nope"'),
    ('docker://registry.test/app', {'tag_regex': '(unclosed'}, 'tag_regex: '),
    ('docker://registry.test/app', {'exclude_regex': '(?<=x)y'}, 'exclude_regex: '),
    ('docker://registry.test/app', {'semver': '>=one'}, 'semver: '),
    ('docker://registry.test/app', {'page_size': 0}, 'page_size must be at least 1, not 0'),
    ('docker://registry.test/app', {'sort': 'random'}, 'invalid sort "random": expected one of none, lexical, semver'),
])
def test_refusals_name_the_problem_before_any_request(image: str, kwargs: dict[str, t.Any], message: str) -> None:
    fake = FakeRegistry()
    with pytest.raises(OcikitError) as caught:
        list_image_tags(image, options_for(fake), **kwargs)
    assert message in caught.value.message
    assert 'hunter2' not in caught.value.message
    assert fake.calls() == []


def test_a_missing_repository_is_named() -> None:
    fake = FakeRegistry()
    fake.hooks.append(lambda request: httpx.Response(404, json={'errors': [{'code': 'NAME_UNKNOWN', 'message': 'repository name not known'}]})
                      if request.url.path.endswith('/tags/list') else None)
    with pytest.raises(OcikitError, match='registry.test/gone'):
        list_image_tags('docker://registry.test/gone', options_for(fake))


def write_layout(path, names: list[str | None]) -> str:
    """An OCI layout whose index.json names ``names`` (None: an entry without a ref name); list-tags reads nothing else."""
    path.mkdir()
    (path / 'oci-layout').write_text('{"imageLayoutVersion": "1.0.0"}')
    manifests = []
    for number, name in enumerate(names):
        entry = {'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'size': 2,
                 'digest': 'sha256:' + hashlib.sha256(b'%d' % number).hexdigest()}
        if name is not None:
            entry['annotations'] = {REF_NAME: name}
        manifests.append(entry)
    (path / 'index.json').write_text(json.dumps({'schemaVersion': 2, 'manifests': manifests}))
    return str(path)


LAYOUT_NAMES = ['team/app:1.10.0', 'latest', None, 'team/app:1.9.0', 'app@sha256:' + 'b' * 64, '127.0.0.1:5000/x/y:2.0.0', 'latest',
                'team/app:1.9.0-rc1']


@pytest.mark.parametrize('kwargs, expected', [
    ({}, ['team/app:1.10.0', 'latest', 'team/app:1.9.0', 'app@sha256:' + 'b' * 64, '127.0.0.1:5000/x/y:2.0.0', 'team/app:1.9.0-rc1']),
    ({'semver': '^1'}, ['team/app:1.10.0', 'team/app:1.9.0']),
    ({'semver': '*', 'sort': 'semver'}, ['team/app:1.9.0', 'team/app:1.10.0', '127.0.0.1:5000/x/y:2.0.0']),
    ({'tag_regex': 'rc|latest'}, ['latest', 'team/app:1.9.0-rc1']),
    ({'exclude_regex': '.'}, []),
    ({'sort': 'lexical'}, ['127.0.0.1:5000/x/y:2.0.0', 'app@sha256:' + 'b' * 64, 'latest', 'team/app:1.10.0', 'team/app:1.9.0',
                           'team/app:1.9.0-rc1']),
])
def test_layout_names_are_listed_and_filtered_by_their_tag(tmp_path, kwargs: dict[str, t.Any], expected: list[str]) -> None:
    layout = write_layout(tmp_path / 'bundle', LAYOUT_NAMES)
    result = list_image_tags('oci:' + layout, ConnectionOptions(), **kwargs)
    assert result == {'changed': False, 'repository': layout, 'tags': expected, 'count': len(expected)}


def test_a_layout_image_is_refused_and_a_missing_layout_named(tmp_path) -> None:
    layout = write_layout(tmp_path / 'bundle', ['latest'])
    with pytest.raises(InvalidInputError, match='names an image; image_tags lists every name of a layout or archive: give its path alone'):
        list_image_tags('oci:%s:latest' % layout, ConnectionOptions())
    with pytest.raises(OcikitError, match='missing'):
        list_image_tags('oci:%s' % (tmp_path / 'missing'), ConnectionOptions())


def run_module(args: dict[str, t.Any], capsys: t.Any, check_mode: bool = False) -> dict[str, t.Any]:
    with patch_module_args(dict(args, _ansible_check_mode=check_mode)), pytest.raises(SystemExit):
        image_tags.main()
    return json.loads(capsys.readouterr().out)


def test_module_lists_a_layout_in_check_mode_unchanged(tmp_path, capsys) -> None:
    layout = write_layout(tmp_path / 'bundle', ['v2.0.0', 'v1.0.0', 'edge'])
    out = run_module({'image': 'oci:' + layout, 'sort': 'semver'}, capsys, check_mode=True)
    assert not out.get('failed'), out
    assert (out['changed'], out['repository'], out['tags'], out['count']) == (False, layout, ['v1.0.0', 'v2.0.0', 'edge'], 3)


def test_module_failure_is_one_line_without_traceback_or_password(capsys) -> None:
    out = run_module({'image': 'docker://registry.test/app:1', 'username': 'bob', 'password': 'hunter2-secret'}, capsys)
    assert out['failed'] is True
    assert out['msg'] == ('"docker://registry.test/app:1" names an image; image_tags lists a repository: remove the tag or digest '
                          '(as skopeo list-tags requires)')
    assert 'exception' not in out and 'hunter2-secret' not in json.dumps(out)
