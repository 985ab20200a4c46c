"""image_delete against the real distribution registry (2.8: no tag deletion), and OCI layouts checked on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocikit_it import PASSWORD, USER, creds, run_module, run_playbook, skopeo, skopeo_inspect
from ocikit_testbed import LayerSpec, Registry, build_image, build_index

DISABLED_HINT = ('deleting is disabled on this registry; its operator must enable it '
                 '(distribution: storage.delete.enabled: true in its configuration, or REGISTRY_STORAGE_DELETE_ENABLED=true)')


@pytest.fixture
def image(tmp_path: Path):
    return build_image(tmp_path / 'src', 'v1', layers=[LayerSpec(size=20_000)], labels={'org.example.purpose': 'delete'})


@pytest.fixture(scope='module')
def no_delete_registry(tmp_path_factory: pytest.TempPathFactory):
    """A registry with deletes disabled (distribution's default)."""
    with Registry(tmp_path_factory.mktemp('reg-nodelete'), tls=True, auth='htpasswd', users={USER: PASSWORD}, delete=False) as reg:
        yield reg


def push(image, reg: Registry, repo: str, *tags: str) -> None:
    for tag in tags:
        skopeo('copy', '--quiet', *reg.skopeo_flags('dest'), image.oci_ref, 'docker://' + reg.ref(repo, tag))


def delete(image_name: str, reg: Registry | None = None, check: bool = False, diff: bool = False, **extra):
    args = {'image': image_name}
    if reg is not None:
        args.update(creds(reg))
    args.update(extra)
    return run_module('image_delete', args, check=check, diff=diff)


def exists(reg: Registry, repo: str, tag_or_digest: str) -> bool:
    found = skopeo('inspect', '--raw', *reg.skopeo_flags(''), 'docker://' + reg.ref(repo, tag_or_digest), check=False)
    return found.returncode == 0


def deletes(reg: Registry) -> list[str]:
    return [r['path'] for r in reg.requests() if r['method'] == 'DELETE']


def test_delete_by_tag_then_second_run_is_ok(image, registry):
    push(image, registry, 'del-tag/app', 'v1')
    push(build_image(image.layout_dir, 'v2', seed=2), registry, 'del-tag/app', 'v2')
    registry.clear_requests()
    done = delete('docker://' + registry.ref('del-tag/app', 'v1'), registry)
    assert not done.failed, done.msg
    assert done.result['changed'] is True
    assert done.result['digest'] == image.manifest_digest
    assert done.result['deleted_tags'] == ['v1']
    assert done.result['diff'] == {'before': {'digest': image.manifest_digest, 'tags': ['v1']}, 'after': None}
    # Only tag on its digest: deleted by digest at once, as skopeo delete does.
    assert deletes(registry) == ['/v2/del-tag/app/manifests/%s' % image.manifest_digest]
    assert not exists(registry, 'del-tag/app', 'v1')
    assert exists(registry, 'del-tag/app', 'v2')

    registry.clear_requests()
    again = delete('docker://' + registry.ref('del-tag/app', 'v1'), registry)
    assert not again.failed, again.msg
    assert again.result['changed'] is False
    assert again.result['deleted_tags'] == []
    assert again.result['diff'] == {'before': None, 'after': None}
    assert deletes(registry) == []


def test_shared_digest_is_refused_then_force_deletes_every_tag(image, registry):
    push(image, registry, 'del-shared/app', 'v1', 'latest', 'stable')
    name = 'docker://' + registry.ref('del-shared/app', 'v1')
    registry.clear_requests()
    refused = delete(name, registry)
    assert refused.failed
    assert refused.msg == ('%s: not deleted: digest %s also carries the tags latest, stable, which would disappear too '
                           '(the registry cannot delete a tag alone); set force: true to delete them all' % (name, image.manifest_digest))
    assert refused.result['error_type'] == 'SharedDigestError'
    # distribution 2.8 refused the tag alone (400); nothing went.
    assert deletes(registry) == ['/v2/del-shared/app/manifests/v1']
    assert [r['status'] for r in registry.requests() if r['method'] == 'DELETE'] == [400]
    assert all(exists(registry, 'del-shared/app', tag) for tag in ('v1', 'latest', 'stable'))
    # One HEAD per tag, with the named tag resolved once.
    heads = sorted(r['path'] for r in registry.requests() if r['method'] == 'HEAD')
    assert heads == ['/v2/del-shared/app/manifests/%s' % tag for tag in ('latest', 'stable', 'v1')]

    forced = delete(name, registry, force=True, diff=True)
    assert not forced.failed, forced.msg
    assert forced.result['changed'] is True
    assert forced.result['deleted_tags'] == ['latest', 'stable', 'v1']
    assert forced.result['diff'] == {'before': {'digest': image.manifest_digest, 'tags': ['latest', 'stable', 'v1']}, 'after': None}
    assert not any(exists(registry, 'del-shared/app', tag) for tag in ('v1', 'latest', 'stable'))


def test_delete_by_digest(image, registry):
    push(image, registry, 'del-digest/app', 'v1', 'v2')
    other = build_image(image.layout_dir, 'keep', seed=3)
    push(other, registry, 'del-digest/app', 'keep')
    name = 'docker://' + registry.ref('del-digest/app', image.manifest_digest)
    refused = delete(name, registry)
    assert refused.failed
    assert refused.msg == ('%s: not deleted: the tags v1, v2 point at %s and would disappear with it; set force: true to delete them all'
                           % (name, image.manifest_digest))
    assert exists(registry, 'del-digest/app', image.manifest_digest)
    forced = delete(name, registry, force=True)
    assert not forced.failed, forced.msg
    assert (forced.result['digest'], forced.result['deleted_tags']) == (image.manifest_digest, ['v1', 'v2'])
    assert not exists(registry, 'del-digest/app', image.manifest_digest)
    assert exists(registry, 'del-digest/app', 'keep')
    assert delete(name, registry, force=True).result['changed'] is False


def test_check_mode_deletes_nothing(image, registry):
    push(image, registry, 'del-check/app', 'v1', 'latest')
    registry.clear_requests()
    alone = build_image(image.layout_dir, 'alone', seed=4)
    push(alone, registry, 'del-check/app', 'alone')
    predicted = delete('docker://' + registry.ref('del-check/app', 'alone'), registry, check=True, diff=True)
    assert not predicted.failed, predicted.msg
    assert predicted.result['changed'] is True
    assert predicted.result['deleted_tags'] == ['alone']
    assert predicted.result['diff'] == {'before': {'digest': alone.manifest_digest, 'tags': ['alone']}, 'after': None}
    forced = delete('docker://' + registry.ref('del-check/app', 'v1'), registry, check=True, force=True)
    assert forced.result['deleted_tags'] == ['latest', 'v1']
    assert deletes(registry) == []
    assert all(exists(registry, 'del-check/app', tag) for tag in ('v1', 'latest', 'alone'))


def test_deletes_disabled_registry_says_what_to_set(image, no_delete_registry):
    reg = no_delete_registry
    push(image, reg, 'nodelete/app', 'v1')
    name = 'docker://' + reg.ref('nodelete/app', 'v1')
    refused = delete(name, reg)
    assert refused.failed
    assert refused.msg == ('%s: deleting %s/nodelete/app@%s: UNSUPPORTED: The operation is unsupported. (HTTP 405 Method Not Allowed); %s'
                           % (name, reg.host, image.manifest_digest, DISABLED_HINT))
    assert refused.result['error_type'] == 'UnsupportedOperationError'
    assert exists(reg, 'nodelete/app', 'v1')


def test_token_auth_asks_for_delete(image, token_registry):
    push(image, token_registry, 'tok-del/app', 'v1')
    token_registry.token_server.clear_requests()
    done = delete('docker://' + token_registry.ref('tok-del/app', 'v1'), token_registry)
    assert not done.failed, done.msg
    assert done.result['deleted_tags'] == ['v1']
    scopes = [scope for request in token_registry.token_server.requests for scope in request.scopes]
    assert 'repository:tok-del/app:pull,delete' in scopes
    assert not exists(token_registry, 'tok-del/app', 'v1')


def test_oci_layout_collects_blobs_on_disk(tmp_path):
    layout = tmp_path / 'layout'
    shared = LayerSpec(size=30_000, seed=11)
    app = build_image(layout, 'app', layers=[shared, LayerSpec(size=40_000, seed=12)], labels={'image': 'app'})
    base = build_image(layout, 'base', layers=[shared], labels={'image': 'base'})
    multi = build_index(layout, 'multi', layers=[LayerSpec(size=10_000, seed=13)])
    assert app.layer_digests[0] == base.layer_digests[0]

    done = delete('oci:%s:app' % layout)
    assert not done.failed, done.msg
    own = [app.manifest_digest, app.config_digest, app.layer_digests[1]]
    assert done.result['deleted_tags'] == ['app']
    assert done.result['deleted_blobs'] == sorted(own)
    assert done.result['bytes_freed'] == app.manifest_size + app.config_size + app.layer_sizes[1]
    for digest in own:
        assert not app.blob_path(digest).exists(), digest
    # Shared with a remaining image: kept. Every child of a remaining index: kept.
    kept = [base.manifest_digest, *base.blob_digests, multi.digest]
    for child in multi.images:
        kept += [child.manifest_digest, *child.blob_digests]
    for digest in kept:
        assert app.blob_path(digest).exists(), digest
    names = [m.get('annotations', {}).get('org.opencontainers.image.ref.name') for m in json.loads((layout / 'index.json').read_text())['manifests']]
    assert names == ['base', 'multi']
    # The layout is still whole for the reference peer.
    assert skopeo_inspect('oci:%s:base' % layout)['Digest'] == base.manifest_digest
    skopeo('copy', '--quiet', '--all', 'oci:%s:multi' % layout, 'oci:%s:multi' % (tmp_path / 'peer'))

    again = delete('oci:%s:app' % layout)
    assert (again.result['changed'], again.result['deleted_blobs']) == (False, [])


def test_oci_layout_check_mode_writes_nothing(tmp_path):
    layout = tmp_path / 'layout'
    app = build_image(layout, 'app')
    before = {p: p.stat().st_mtime_ns for p in layout.rglob('*')}
    predicted = delete('oci:%s:app' % layout, check=True, diff=True)
    assert predicted.result['changed'] is True
    assert predicted.result['deleted_blobs'] == sorted([app.manifest_digest, *app.blob_digests])
    assert predicted.result['diff'] == {'before': {'digest': app.manifest_digest, 'tags': ['app']}, 'after': None}
    assert {p: p.stat().st_mtime_ns for p in layout.rglob('*')} == before


def test_other_transports_are_refused(image, tmp_path):
    refused = delete(image.to_dir(tmp_path / 'dir'))
    assert refused.failed
    assert refused.msg == ('dir:%s: deleting is not supported for dir: images (only docker:, oci: and containers-storage: images can be deleted)'
                           % (tmp_path / 'dir'))


def test_playbook_group_defaults_check_and_idempotence(image, registry):
    push(image, registry, 'del-play/app', 'v1')
    playbook = '''
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/ocikit.images.images:
      username: "{{ user }}"
      password: "{{ password }}"
      cert_dir: "{{ cert_dir }}"
  tasks:
    - name: delete
      ocikit.images.image_delete:
        image: "docker://{{ ref }}"
'''
    extra = {'user': USER, 'password': PASSWORD, 'cert_dir': str(registry.cert_dir), 'ref': registry.ref('del-play/app', 'v1')}
    checked = run_playbook(playbook, extra, check=True, diff=True)
    assert checked.rc == 0, (checked.output, checked.stderr)
    assert [r.get('changed') for dummy, r in checked.tasks()] == [True]
    assert exists(registry, 'del-play/app', 'v1')
    first = run_playbook(playbook, extra)
    assert first.rc == 0, (first.output, first.stderr)
    assert first.stats['changed'] == 1
    second = run_playbook(playbook, extra)
    assert second.rc == 0 and second.stats['changed'] == 0 and second.stats['ok'] == 1
    assert PASSWORD not in json.dumps(second.output)
