"""image_copy against the real distribution registry, with skopeo as the reference peer."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from ocikit_it import PASSWORD, USER, blob_writes, creds, run_module, run_playbook, skopeo, skopeo_inspect
from ocikit_testbed import LayerSpec, build_image, build_index


@pytest.fixture
def image(tmp_path: Path):
    return build_image(tmp_path / 'src', 'v1', layers=[LayerSpec(size=300_000), LayerSpec(size=50_000, compressible=0.9)],
                       labels={'org.example.purpose': 'test'})


def copy(src: str, dest: str, reg=None, check=False, diff=False, **extra):
    args = {'src': src, 'dest': dest}
    if reg is not None:
        args.update(creds(reg))
    args.update(extra)
    return run_module('image_copy', args, check=check, diff=diff)


def test_round_trip_keeps_digest_and_skopeo_agrees(image, registry, tmp_path):
    ref = registry.ref('roundtrip/app', 'v1')
    up = copy(image.oci_ref, 'docker://' + ref, registry)
    assert not up.failed, up.msg
    assert up.result['changed'] is True
    assert up.result['digest'] == image.manifest_digest
    assert up.result['source_digest'] == image.manifest_digest
    assert up.result['blobs'] == {'copied': 3, 'skipped': 0, 'mounted': 0}
    assert up.result['bytes_copied'] == sum(image.layer_sizes) + image.config_size
    assert up.result['diff'] == {'before': None, 'after': {'digest': image.manifest_digest}}

    down = copy('docker://' + ref, 'oci:%s:back' % (tmp_path / 'back'), registry)
    assert not down.failed, down.msg
    assert down.result['digest'] == image.manifest_digest

    # The reference peer sees the same digest at both ends.
    assert skopeo_inspect('docker://' + ref, *registry.skopeo_flags(''))['Digest'] == image.manifest_digest
    assert skopeo_inspect('oci:%s:back' % (tmp_path / 'back'))['Digest'] == image.manifest_digest
    # And every blob arrived byte for byte.
    for digest in image.blob_digests:
        algo, hexpart = digest.split(':')
        assert (tmp_path / 'back' / 'blobs' / algo / hexpart).read_bytes() == image.blob_path(digest).read_bytes()


def test_second_run_writes_nothing(image, registry):
    ref = 'docker://' + registry.ref('idem/app', 'v1')
    assert copy(image.oci_ref, ref, registry).result['changed'] is True
    registry.clear_requests()
    again = copy(image.oci_ref, ref, registry)
    assert not again.failed, again.msg
    assert again.result['changed'] is False
    assert again.result['blobs'] == {'copied': 0, 'skipped': 0, 'mounted': 0}
    assert again.result['diff']['before'] == again.result['diff']['after'] == {'digest': image.manifest_digest}
    assert blob_writes(registry) == []
    # It did look: the tag's manifest was asked for.
    assert any(r['method'] in ('HEAD', 'GET') and '/manifests/v1' in r['path'] for r in registry.requests())


def test_check_mode_predicts_and_writes_nothing(image, registry, tmp_path):
    ref = 'docker://' + registry.ref('check/app', 'v1')
    registry.clear_requests()
    predicted = copy(image.oci_ref, ref, registry, check=True, diff=True)
    assert predicted.result['changed'] is True
    assert predicted.result['diff'] == {'before': None, 'after': {'digest': image.manifest_digest}}
    assert blob_writes(registry) == []
    layout = tmp_path / 'never'
    assert copy(image.oci_ref, 'oci:%s:x' % layout, check=True).result['changed'] is True
    assert not layout.exists()
    copy(image.oci_ref, ref, registry)
    assert copy(image.oci_ref, ref, registry, check=True).result['changed'] is False


def test_skopeo_written_image_reads_the_same(image, registry, tmp_path):
    ref = registry.ref('bypeer/app', 'v1')
    skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), image.oci_ref, 'docker://' + ref)
    ours = copy('docker://' + ref, 'oci:%s:t' % (tmp_path / 'ours'), registry)
    assert not ours.failed, ours.msg
    assert ours.result['digest'] == image.manifest_digest
    # skopeo copying to a layout, read back by us: same digest, nothing to do.
    skopeo('copy', '--quiet', *registry.skopeo_flags('src'), 'docker://' + ref, 'oci:%s:t' % (tmp_path / 'peer'))
    again = copy('oci:%s:t' % (tmp_path / 'peer'), 'oci:%s:t' % (tmp_path / 'ours'))
    assert again.result['changed'] is False, again.result


def test_force_copies_again(image, registry):
    ref = 'docker://' + registry.ref('force/app', 'v1')
    copy(image.oci_ref, ref, registry)
    forced = copy(image.oci_ref, ref, registry, force=True)
    assert forced.result['changed'] is True
    assert forced.result['blobs']['skipped'] == 3


def test_cross_repository_mount(image, registry):
    first = 'docker://' + registry.ref('mount/one', 'v1')
    copy(image.oci_ref, first, registry)
    registry.clear_requests()
    second = copy(first, 'docker://' + registry.ref('mount/two', 'v1'), registry)
    assert not second.failed, second.msg
    assert second.result['blobs'] == {'copied': 0, 'skipped': 0, 'mounted': 3}
    assert any(r['method'] == 'POST' and 'mount=' in r.get('query', '') for r in registry.requests())
    assert not [r for r in registry.requests() if r['method'] in ('PATCH',) or (r['method'] == 'PUT' and '/blobs/' in r['path'])]


def test_blob_info_cache_turns_uploads_of_later_tasks_into_mounts(image, registry, tmp_path):
    # Two tasks (two processes) pushing the same layers from an OCI layout into two repositories: with a record of where
    # blobs were seen, the second mounts what the first uploaded (no source candidate could say so: the source is a layout).
    cache = tmp_path / 'cache' / 'blobs.sqlite'
    first = copy(image.oci_ref, 'docker://' + registry.ref('cache/one', 'v1'), registry, blob_info_cache_path=str(cache))
    assert first.result['blobs'] == {'copied': 3, 'skipped': 0, 'mounted': 0}, first
    registry.clear_requests()
    second = copy(image.oci_ref, 'docker://' + registry.ref('cache/two', 'v1'), registry, blob_info_cache_path=str(cache))
    assert not second.failed, second.msg
    assert second.result['blobs'] == {'copied': 0, 'skipped': 0, 'mounted': 3}
    assert not [r for r in registry.requests() if r['method'] == 'PATCH' or (r['method'] == 'PUT' and '/blobs/' in r['path'])]
    assert cache.stat().st_mode & 0o777 == 0o600
    assert skopeo_inspect('docker://' + registry.ref('cache/two', 'v1'), *registry.skopeo_flags(''))['Digest'] == image.manifest_digest
    # Turned off, the record is neither read nor written: every blob is uploaded.
    third = copy(image.oci_ref, 'docker://' + registry.ref('cache/three', 'v1'), registry, blob_info_cache_path=str(cache),
                 blob_info_cache=False)
    assert third.result['blobs'] == {'copied': 3, 'skipped': 0, 'mounted': 0}, third


def test_token_auth_round_trip(image, token_registry, tmp_path):
    ref = 'docker://' + token_registry.ref('tok/app', 'v1')
    up = copy(image.oci_ref, ref, token_registry)
    assert not up.failed, up.msg
    down = copy(ref, 'oci:%s:t' % (tmp_path / 'tok'), token_registry)
    assert down.result['digest'] == image.manifest_digest
    scopes = [s for req in token_registry.token_server.requests for s in req.scopes]
    assert 'repository:tok/app:pull,push' in scopes or 'repository:tok/app:push,pull' in scopes
    assert 'repository:tok/app:pull' in scopes


def test_digestfile_and_preserve_digests(image, registry, tmp_path):
    digestfile = tmp_path / 'digest'
    result = copy(image.oci_ref, 'docker://' + registry.ref('df/app', 'v1'), registry, digestfile=str(digestfile), preserve_digests=True)
    assert not result.failed, result.msg
    assert digestfile.read_text() == image.manifest_digest


def test_index_copies_host_platform_or_all(registry, tmp_path):
    index = build_index(tmp_path / 'idx', 'multi', platforms=[('linux', 'amd64', None), ('linux', 'arm64', 'v8')])
    one = copy(index.oci_ref, 'docker://' + registry.ref('idx/one', 'multi'), registry, override_arch='arm64')
    assert not one.failed, one.msg
    arm = [img for img in index.images if img.platform[1] == 'arm64'][0]
    assert one.result['digest'] == arm.manifest_digest
    assert one.result['platform'] == 'linux/arm64/v8'
    refused = copy(index.oci_ref, 'docker://' + registry.ref('idx/one', 'multi'), registry, preserve_digests=True)
    assert refused.failed and 'preserve_digests' in refused.msg
    every = copy(index.oci_ref, 'docker://' + registry.ref('idx/all', 'multi'), registry, multi_arch='all')
    assert not every.failed, every.msg
    assert every.result['digest'] == index.digest
    # all: true is skopeo's --all, the same copy: nothing left to do.
    assert copy(index.oci_ref, 'docker://' + registry.ref('idx/all', 'multi'), registry, all=True).result['changed'] is False
    raw = skopeo('inspect', '--raw', *registry.skopeo_flags(''), 'docker://' + registry.ref('idx/all', 'multi')).stdout
    assert sorted(m['digest'] for m in json.loads(raw)['manifests']) == sorted(i.manifest_digest for i in index.images)


@pytest.mark.parametrize('case', ['wrong_password', 'unknown_tag', 'unknown_transport', 'malformed_reference', 'self_signed'])
def test_errors_are_one_clear_line(case, image, registry, tmp_path):
    ref = registry.ref('errors/app', 'v1')
    if case == 'wrong_password':
        result = copy(image.oci_ref, 'docker://' + ref, registry, password='not-the-password')
        expected = (r'^%s -> docker://%s: .*HTTP 401 Unauthorized; the registry refused the credentials of user alice from options'
                    % (re.escape(image.oci_ref), re.escape(ref)))
    elif case == 'unknown_tag':
        result = copy('docker://' + registry.ref('errors/app', 'nope'), 'oci:%s:x' % (tmp_path / 'x'), registry)
        expected = r'manifest unknown|not found'
    elif case == 'unknown_transport':
        result = copy('foo:bar', 'oci:%s:x' % (tmp_path / 'x'))
        expected = r'^foo:bar -> oci:.*: invalid image name "foo:bar": unknown transport "foo"'
    elif case == 'malformed_reference':
        result = copy(image.oci_ref, 'docker://%s/Bad/Name:v1' % registry.host, registry)
        expected = r'invalid reference ".*Bad/Name:v1": repository name must be lowercase'
    else:
        args = creds(registry)
        del args['cert_dir']
        result = run_module('image_copy', dict(args, src=image.oci_ref, dest='docker://' + ref))
        expected = r'TLS certificate verification failed for 127\.0\.0\.1:\d+'
    assert result.failed
    assert re.search(expected, result.msg), result.msg
    assert '\n' not in result.msg
    assert 'Traceback' not in json.dumps(result.result)
    assert PASSWORD not in json.dumps(result.result) and 'not-the-password' not in json.dumps(result.result)


def test_one_gib_layer_keeps_memory_flat(registry, tmp_path):
    big = build_image(tmp_path / 'big', 'big', layers=[LayerSpec(size=1024 ** 3, compression=None, compressible=0.0)])
    ref = 'docker://' + registry.ref('big/app', 'big')
    # preserve_digests keeps the uncompressed layer as it is (as skopeo's --preserve-digests); without it a registry gets it gzipped.
    up = copy(big.oci_ref, ref, registry, preserve_digests=True)
    assert not up.failed, up.msg
    assert up.result['bytes_copied'] >= 1024 ** 3
    assert up.max_rss < 150 * 1024 * 1024, 'push peak RSS %d MiB' % (up.max_rss // 2 ** 20)
    down = copy(ref, 'oci:%s:big' % (tmp_path / 'down'), registry, preserve_digests=True)
    assert not down.failed, down.msg
    assert down.max_rss < 150 * 1024 * 1024, 'pull peak RSS %d MiB' % (down.max_rss // 2 ** 20)
    assert down.result['digest'] == big.manifest_digest


def test_playbook_module_defaults_group_and_idempotence(image, registry, tmp_path):
    playbook = '''
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/ocikit.images.images:
      username: "{{ user }}"
      password: "{{ password }}"
      cert_dir: "{{ cert_dir }}"
  tasks:
    - name: push
      ocikit.images.image_copy:
        src: "{{ src }}"
        dest: "docker://{{ ref }}"
    - name: inspect
      ocikit.images.image_inspect:
        image: "docker://{{ ref }}"
    - name: pull
      ocikit.images.image_copy:
        src: "docker://{{ ref }}"
        dest: "oci:{{ back }}:v1"
'''
    extra = {'user': USER, 'password': PASSWORD, 'cert_dir': str(registry.cert_dir), 'src': image.oci_ref,
             'ref': registry.ref('play/app', 'v1'), 'back': str(tmp_path / 'back')}
    first = run_playbook(playbook, extra)
    assert first.rc == 0, (first.output, first.stderr)
    assert [r.get('changed') for dummy, r in first.tasks()] == [True, False, True]
    second = run_playbook(playbook, extra)
    assert second.rc == 0
    assert second.stats['changed'] == 0 and second.stats['ok'] == 3
    assert PASSWORD not in json.dumps(second.output)


def test_credentials_from_auth_files(image, registry, tmp_path):
    auth = tmp_path / 'auth.json'
    token = base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()
    auth.write_text(json.dumps({'auths': {registry.host: {'auth': token}}}))
    ref = 'docker://' + registry.ref('authfile/app', 'v1')
    by_option = run_module('image_copy', {'src': image.oci_ref, 'dest': ref, 'cert_dir': str(registry.cert_dir), 'authfile': str(auth)})
    assert not by_option.failed, by_option.msg
    by_env = run_module('image_copy', {'src': ref, 'dest': 'oci:%s:t' % (tmp_path / 'env'), 'cert_dir': str(registry.cert_dir)},
                        env={'REGISTRY_AUTH_FILE': str(auth)})
    assert not by_env.failed, by_env.msg
    assert by_env.result['digest'] == image.manifest_digest
    # The most specific key wins: a wrong password for this repository beats the right one for the host.
    wrong = base64.b64encode(('%s:nope' % USER).encode()).decode()
    auth.write_text(json.dumps({'auths': {registry.host: {'auth': token}, '%s/authfile/app' % registry.host: {'auth': wrong}}}))
    refused = run_module('image_copy', {'src': ref, 'dest': 'oci:%s:t2' % (tmp_path / 'env'), 'cert_dir': str(registry.cert_dir),
                                        'authfile': str(auth)})
    assert refused.failed and 'refused the credentials of user alice from %s' % auth in refused.msg, refused.msg


def test_registry_token_is_used_as_is(image, token_registry, tmp_path):
    server = token_registry.token_server
    bearer = server.issue_token(USER, [{'type': 'repository', 'name': 'rt/app', 'actions': ['pull', 'push']}])
    server.clear_requests()
    ref = 'docker://' + token_registry.ref('rt/app', 'v1')
    up = run_module('image_copy', {'src': image.oci_ref, 'dest': ref, 'cert_dir': str(token_registry.cert_dir), 'registry_token': bearer})
    assert not up.failed, up.msg
    assert server.requests == []
    assert bearer not in json.dumps(up.result)
