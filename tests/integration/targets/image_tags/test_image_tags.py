"""image_tags against a real registry with token auth: every page read (counted in the access log), the same tags as skopeo list-tags."""

from __future__ import annotations

import json

import pytest

from ocikit_it import creds, run_module, skopeo
from ocikit_testbed import FaultProxy, LayerSpec, build_image

TAGS = ['1.0.0', '1.2.0', '1.10.0', '1.2.0-rc1', '2.0.0', 'v1.9.3', 'latest', 'nightly', 'alpha', 'beta', 'edge', 'zz-last']
PAGE = 5


@pytest.fixture(scope='module')
def repo(token_registry, tmp_path_factory):
    """A repository holding TAGS (more than two pages of PAGE), all on one small image."""
    img = build_image(tmp_path_factory.mktemp('tags') / 'l', 'seed', layers=[LayerSpec(size=1024)])
    name = 'tags/app'
    first = 'docker://' + token_registry.ref(name, TAGS[0])
    skopeo('copy', '--quiet', *token_registry.skopeo_flags('dest'), img.oci_ref, first)
    for tag in TAGS[1:]:
        skopeo('copy', '--quiet', *token_registry.skopeo_flags('src'), *token_registry.skopeo_flags('dest'), first,
               'docker://' + token_registry.ref(name, tag))
    return name


def tag_list_requests(reg, name):
    return [r for r in reg.requests() if r['path'] == '/v2/%s/tags/list' % name]


def test_every_page_is_read_and_the_tags_are_skopeo_s(token_registry, repo):
    # distribution 2.8 (the test bed's registry) ignores n and last on /tags/list; the proxy pages its answers as distribution 3 does.
    with FaultProxy(token_registry) as proxy:
        proxy.add_fault('paginate', method='GET', path=r'/tags/list$', times=None)
        token_registry.clear_requests()
        host = proxy.host
        run = run_module('image_tags', dict(creds(token_registry), image='docker://%s/%s' % (host, repo), page_size=PAGE))
        requests = tag_list_requests(token_registry, repo)
    assert not run.failed, run.msg
    listed = json.loads(skopeo('list-tags', *token_registry.skopeo_flags(''), 'docker://%s/%s' % (token_registry.host, repo)).stdout)
    assert run.result['repository'] == '%s/%s' % (host, repo) and listed['Repository'] == '%s/%s' % (token_registry.host, repo)
    assert set(run.result['tags']) == set(listed['Tags']) == set(TAGS)
    # The registry's order is kept across pages: the same list skopeo got in one answer.
    assert run.result['tags'] == listed['Tags']
    assert run.result['count'] == len(TAGS) and run.result['changed'] is False
    # Three pages of 5, 5 and 2 tags, each asked once (after the one 401 that asks for a token).
    answered = [r for r in requests if r['status'] == 200]
    assert len(answered) == -(-len(TAGS) // PAGE) == 3
    assert answered[0]['query'] == 'n=%d' % PAGE and all(r['query'].startswith('last=') and r['query'].endswith('&n=%d' % PAGE)
                                                         for r in answered[1:])
    assert len(requests) - len(answered) <= 1


def test_without_page_size_one_request_reads_every_tag(token_registry, repo):
    token_registry.clear_requests()
    run = run_module('image_tags', dict(creds(token_registry), image='docker://%s/%s' % (token_registry.host, repo)))
    assert run.result['tags'] == json.loads(skopeo('list-tags', *token_registry.skopeo_flags(''),
                                                   'docker://%s/%s' % (token_registry.host, repo)).stdout)['Tags']
    assert [r['query'] for r in tag_list_requests(token_registry, repo) if r['status'] == 200][0] == ''


def test_filters_and_semver_order_in_check_mode(token_registry, repo):
    image = 'docker://%s/%s' % (token_registry.host, repo)
    run = run_module('image_tags', dict(creds(token_registry), image=image, semver='>=1.0 <2', exclude_regex='^v', sort='semver',
                                        page_size=PAGE), check=True)
    assert not run.failed, run.msg
    assert (run.result['tags'], run.result['count'], run.result['changed']) == (['1.0.0', '1.2.0', '1.10.0'], 3, False)
    run = run_module('image_tags', dict(creds(token_registry), image=image, tag_regex='^[a-z]+$', sort='lexical'))
    assert run.result['tags'] == ['alpha', 'beta', 'edge', 'latest', 'nightly']


def test_failures_are_one_line(token_registry, repo):
    image = 'docker://%s/%s' % (token_registry.host, repo)
    tagged = run_module('image_tags', dict(creds(token_registry), image=image + ':latest'))
    assert tagged.failed and tagged.msg == ('"%s:latest" names an image; image_tags lists a repository: remove the tag or digest '
                                            '(as skopeo list-tags requires)' % image)
    wrong = run_module('image_tags', dict(creds(token_registry, password='not-the-password'), image=image))
    assert wrong.failed and 'refused the credentials of user alice' in wrong.msg and '\n' not in wrong.msg
    missing = run_module('image_tags', dict(creds(token_registry), image='docker://%s/tags/none' % token_registry.host))
    assert missing.failed and 'listing tags of %s/tags/none' % token_registry.host in missing.msg, missing.msg
    regex = run_module('image_tags', dict(creds(token_registry), image=image, tag_regex='(?<=a)b'))
    assert regex.failed and regex.msg.startswith('%s: tag_regex: ' % image), regex.msg


def test_an_oci_layout_s_names(tmp_path):
    layout = tmp_path / 'bundle'
    for tag in ('2.0.0', '1.0.0', 'latest', '1.5.0'):
        build_image(layout, tag, layers=[LayerSpec(size=256)])
    run = run_module('image_tags', {'image': 'oci:%s' % layout, 'semver': '<2', 'sort': 'semver'})
    assert not run.failed, run.msg
    assert run.result == dict(run.result, repository=str(layout), tags=['1.0.0', '1.5.0'], count=2, changed=False)
    everything = run_module('image_tags', {'image': 'oci:%s' % layout})
    assert everything.result['tags'] == ['2.0.0', '1.0.0', 'latest', '1.5.0']
