"""The registry_mirror role, run by ansible-playbook as a scheduled job would run it: an htpasswd registry mirrored into a
token-auth registry, checked there (digests), in its access log (no writes on an up-to-date run) and in the play's output."""

from __future__ import annotations

import json
import shutil
import typing as t

import pytest

from ocikit_it import PASSWORD, USER, blob_writes, run_playbook, skopeo, skopeo_inspect
from ocikit_testbed import LayerSpec, build_image

pytestmark = pytest.mark.skipif(shutil.which('skopeo') is None, reason='needs skopeo')

PLAY = '''
- name: Registry mirror
  hosts: localhost
  gather_facts: false
  roles:
    - role: ocikit.images.registry_mirror
'''
TAGS = ('1.0.0', '1.1.0', '2.0.0')


@pytest.fixture(scope='module')
def source(registry, tmp_path_factory) -> dict[str, t.Any]:
    """mirror/app with three release tags and mirror/tool:1 in the htpasswd registry."""
    base = tmp_path_factory.mktemp('mirror-src')
    digests = {}
    for seed, tag in enumerate(TAGS + ('moved',), 41):
        image = build_image(base / 'layout', tag, layers=[LayerSpec(size=12_000 + seed)], seed=seed)
        digests[tag] = image.manifest_digest
        if tag != 'moved':
            skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), image.oci_ref, 'docker://' + registry.ref('mirror/app', tag))
    tool = build_image(base / 'tool', '1', layers=[LayerSpec(size=4_000)], seed=49)
    skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), tool.oci_ref, 'docker://' + registry.ref('mirror/tool', '1'))
    digests['tool'] = tool.manifest_digest
    return {'digests': digests, 'layout': base / 'layout'}


def mirror_vars(registry, token_registry, tmp_path, **extra) -> dict[str, t.Any]:
    repository = registry.ref('mirror/app', 'x').rsplit(':', 1)[0]
    values = {
        'registry_mirror_dest': token_registry.host + '/mirror',
        'registry_mirror_images': [{'src': repository, 'dest': 'team/app', 'semver': '>= 1.0.0'},
                                   {'src': registry.ref('mirror/tool', '1'), 'dest': 'team/tool'}],
        'registry_mirror_credentials': [{'registry': registry.host, 'username': USER, 'password': PASSWORD, 'cert_dir': str(registry.cert_dir)},
                                        {'registry': token_registry.host, 'username': USER, 'password': PASSWORD,
                                         'cert_dir': str(token_registry.cert_dir)}],
        'registry_mirror_authfile': str(tmp_path / 'auth.json'),
        'registry_mirror_src_cert_dir': str(registry.cert_dir), 'registry_mirror_dest_cert_dir': str(token_registry.cert_dir),
        'registry_mirror_insecure_policy': True,
    }
    values.update(extra)
    return values


def summary(run) -> str:
    return next(result['msg'] for name, result in run.tasks() if name.endswith('Summarise the mirror run'))


def failure(run) -> str:
    return next((result.get('msg', '') for name, result in run.tasks() if result.get('_status') == 'failed'), '')


def digest_at(token_registry, name: str, under: str = 'mirror') -> str:
    return skopeo_inspect('docker://%s/%s/%s' % (token_registry.host, under, name), *token_registry.skopeo_flags(''))['Digest']


def test_mirror_as_a_scheduled_job(registry, token_registry, source, tmp_path):
    digests = source['digests']
    values = mirror_vars(registry, token_registry, tmp_path)
    # A first run copies everything and says so; the credentials went to the auth file only.
    token_registry.clear_requests()
    checked = run_playbook(PLAY, values, check=True)
    assert checked.rc == 0 and checked.stats['changed'] > 0, failure(checked)
    assert blob_writes(token_registry) == []
    run = run_playbook(PLAY, values)
    assert run.rc == 0 and run.stats['changed'] > 0, failure(run)
    assert summary(run).startswith('%s/mirror: 4 copied, 0 up to date, 0 pruned, 0 failed of 4 images, ' % token_registry.host), summary(run)
    for tag in TAGS:
        assert digest_at(token_registry, 'team/app:%s' % tag) == digests[tag]
    assert digest_at(token_registry, 'team/tool:1') == digests['tool']
    logins = [result for name, result in run.tasks() if name.endswith('Log in to the registries')]
    assert logins and all(result.get('censored') for result in logins), logins
    assert set(json.loads((tmp_path / 'auth.json').read_text())['auths']) == {registry.host, token_registry.host}

    # The next scheduled run has nothing to do: changed=0, nothing written at the mirror, in check mode too.
    token_registry.clear_requests()
    again = run_playbook(PLAY, values)
    assert again.rc == 0 and again.stats['changed'] == 0, failure(again)
    assert summary(again).startswith('%s/mirror: 0 copied, 4 up to date, 0 pruned, 0 failed of 4 images' % token_registry.host)
    assert run_playbook(PLAY, values, check=True).stats['changed'] == 0
    assert blob_writes(token_registry) == []

    # Upstream moves on: 1.1.0 is re-tagged (a release tag must not move: immutable_tags keeps the mirror's), 1.0.0 is deleted
    # (prune removes it at the mirror, check mode first), 2.1.0 is new.
    skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), 'oci:%s:moved' % source['layout'], 'docker://' + registry.ref('mirror/app', '1.1.0'))
    skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), 'oci:%s:moved' % source['layout'], 'docker://' + registry.ref('mirror/app', '2.1.0'))
    skopeo('delete', *registry.skopeo_flags(''), 'docker://' + registry.ref('mirror/app', '1.0.0'))
    moved = dict(values, registry_mirror_prune=True, registry_mirror_immutable_tags=r'^[0-9]+\.[0-9]+\.[0-9]+$')
    token_registry.clear_requests()
    predicted = run_playbook(PLAY, moved, check=True)
    assert predicted.rc == 0 and predicted.stats['changed'] > 0, failure(predicted)
    assert summary(predicted).startswith('%s/mirror: 1 copied, 3 up to date, 1 pruned, 0 failed' % token_registry.host), summary(predicted)
    assert blob_writes(token_registry) == []
    done = run_playbook(PLAY, moved)
    assert done.rc == 0, failure(done)
    assert summary(done).startswith('%s/mirror: 1 copied, 3 up to date, 1 pruned, 0 failed' % token_registry.host), summary(done)
    assert digest_at(token_registry, 'team/app:2.1.0') == digests['moved']
    assert digest_at(token_registry, 'team/app:1.1.0') == digests['1.1.0']
    gone = skopeo('inspect', *token_registry.skopeo_flags(''), 'docker://%s/mirror/team/app:1.0.0' % token_registry.host, check=False)
    assert gone.returncode != 0
    assert run_playbook(PLAY, moved).stats['changed'] == 0


def test_keep_going_reports_and_fails_at_the_end(registry, token_registry, source, tmp_path):
    values = mirror_vars(registry, token_registry, tmp_path, registry_mirror_dest=token_registry.host + '/partial')
    values['registry_mirror_images'] = values['registry_mirror_images'] + [{'src': registry.ref('mirror/missing', '1'), 'dest': 'team/missing'}]
    run = run_playbook(PLAY, values)
    assert run.rc != 0
    assert '1 of 5 images failed; first: docker://%s' % registry.ref('mirror/missing', '1') in failure(run), failure(run)
    assert summary(run).startswith('%s/partial: 4 copied, 0 up to date, 0 pruned, 1 failed of 5 images' % token_registry.host), summary(run)
    assert summary(run).endswith('; failed: docker://%s' % registry.ref('mirror/missing', '1')), summary(run)
    # The other images went through.
    assert digest_at(token_registry, 'team/tool:1', under='partial') == source['digests']['tool']


def test_the_policy_decides_what_is_mirrored(registry, token_registry, source, tmp_path):
    # Only mirror/app is trusted: mirror/tool is refused before anything of it is written, and the run fails after the summary.
    repository = registry.ref('mirror/app', 'x').rsplit(':', 1)[0]
    policy = {'default': [{'type': 'reject'}], 'transports': {'docker': {repository: [{'type': 'insecureAcceptAnything'}]}}}
    values = mirror_vars(registry, token_registry, tmp_path, registry_mirror_dest=token_registry.host + '/trusted',
                         registry_mirror_insecure_policy=False, registry_mirror_policy_data=policy)
    run = run_playbook(PLAY, values)
    assert run.rc != 0
    assert 'rejects "docker://%s"' % registry.ref('mirror/tool', '1') in failure(run), failure(run)
    assert summary(run).startswith('%s/trusted: 3 copied, 0 up to date, 0 pruned, 1 failed of 4 images' % token_registry.host), summary(run)
    gone = skopeo('inspect', *token_registry.skopeo_flags(''), 'docker://%s/trusted/team/tool:1' % token_registry.host, check=False)
    assert gone.returncode != 0


@pytest.mark.parametrize('values, expected', [
    ({'registry_mirror_dest': 'docker://mirror.example/x'}, 'registry_mirror_dest must name the destination registry and path'),
    ({'registry_mirror_images': []}, 'registry_mirror_images must list what to mirror'),
    ({'registry_mirror_credentials': [{'registry': 'mirror.example', 'username': 'u'}]},
     'registry_mirror_credentials: every item needs registry, username and password (registries given: mirror.example)'),
])
def test_bad_input_is_refused_with_one_line(registry, token_registry, tmp_path, values, expected):
    run = run_playbook(PLAY, dict(mirror_vars(registry, token_registry, tmp_path), **values))
    assert run.rc != 0 and expected in failure(run), failure(run)
    assert not (tmp_path / 'auth.json').exists()
