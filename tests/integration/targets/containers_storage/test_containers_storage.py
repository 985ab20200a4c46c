"""containers-storage: against a real Podman service (its libpod API), compared with podman and skopeo on the same store.

The service (ocikit_testbed.podman) runs as ``podman system service --time=0 unix://TMP/podman.sock`` with its store
(vfs), run root, temporary files and configuration under the test's temporary directory. skopeo reads that store
directly (``containers-storage:[vfs@ROOT+RUNROOT]NAME``) while the service is idle. Loads are counted in the
service's access log.
"""

from __future__ import annotations

import json
import shutil
import typing as t
from pathlib import Path

import pytest

from ocikit_it import creds, dir_image, run_module, run_playbook, signed_dir_copy, skopeo, skopeo_config
from ocikit_testbed import LayerSpec, build_image
from ocikit_testbed.podman import PodmanService as Service, podman_available

pytestmark = pytest.mark.skipif(not podman_available() or shutil.which('skopeo') is None,
                                reason='needs podman (its system service holds the store under test) and skopeo')

NAME = 'example.test/storage/app:v1'


class Source(t.NamedTuple):
    ref: str
    config_digest: str
    diff_ids: list[str]


@pytest.fixture(scope='module')
def service(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Service]:
    with Service(tmp_path_factory.mktemp('podman')) as started:
        yield started


@pytest.fixture(scope='module')
def source(tmp_path_factory: pytest.TempPathFactory, registry: t.Any) -> Source:
    image = build_image(tmp_path_factory.mktemp('layout') / 'layout', 'v1', layers=[LayerSpec(size=30_000), LayerSpec(size=7_000)],
                        labels={'org.example.test': 'storage'})
    ref = registry.ref('storage/app', 'v1')
    skopeo('copy', *registry.skopeo_flags('dest'), image.oci_ref, 'docker://%s' % ref)
    return Source(ref, image.config_digest, image.diff_ids)


def store(service: Service) -> str:
    """The service's store as a containers-storage bracket, the way skopeo names it."""
    return '[vfs@%s+%s]' % (service.base / 'root', service.runroot)


def to_storage(service: Service, source: Source, registry: t.Any, name: str = NAME, check: bool = False, **extra: t.Any) -> t.Any:
    args = dict(src='docker://%s' % source.ref, dest='containers-storage:%s' % name, dest_daemon_host=service.host, **creds(registry))
    args.update(extra)
    return run_module('image_copy', args, check=check)


def test_registry_to_storage_to_registry(service: Service, source: Source, registry: t.Any) -> None:
    before = service.loads()
    run = to_storage(service, source, registry)
    assert not run.failed, run
    assert run.result['changed'] is True
    assert service.loads() == before + 1
    # podman, on the same store, lists the name with the source's config as its image ID.
    assert service.images()[NAME] == source.config_digest
    ref = registry.ref('storage/back', 'v1')
    back = run_module('image_copy', dict(src='containers-storage:%s' % NAME, src_daemon_host=service.host, dest='docker://%s' % ref,
                                         **creds(registry)))
    assert not back.failed, back
    assert skopeo_config('docker://%s' % ref, *registry.skopeo_flags('')) == (source.config_digest, source.diff_ids)


def test_rerun_is_unchanged_and_loads_nothing(service: Service, source: Source, registry: t.Any) -> None:
    assert not to_storage(service, source, registry).failed
    before, exports = service.loads(), service.exports()
    again = to_storage(service, source, registry)
    # Decided by image ID (libpod's record of the name): nothing exported, nothing loaded.
    assert (again.failed, again.result['changed'], again.result['rule'], again.result['image_id']) == (False, False, 'image_id',
                                                                                                       source.config_digest), again
    assert again.result['blobs']['copied'] == 0
    checked = to_storage(service, source, registry, check=True)
    assert (checked.failed, checked.result['changed']) == (False, False), checked
    assert (service.loads(), service.exports()) == (before, exports)


def test_check_mode_predicts_and_loads_nothing(service: Service, source: Source, registry: t.Any) -> None:
    name = 'example.test/storage/check:v1'
    before = service.loads()
    run = to_storage(service, source, registry, name=name, check=True)
    assert (run.failed, run.result['changed']) == (False, True), run
    assert service.loads() == before
    assert name not in service.images()


def test_short_name_is_qualified_and_tagged_latest(service: Service, source: Source, registry: t.Any) -> None:
    run = to_storage(service, source, registry, name='shortname')
    assert not run.failed, run
    images = service.images()
    assert images['docker.io/library/shortname:latest'] == source.config_digest
    assert 'localhost/shortname:latest' not in images


def test_podman_cli_and_skopeo_read_what_we_wrote(service: Service, source: Source, registry: t.Any, tmp_path: Path) -> None:
    assert not to_storage(service, source, registry).failed
    listed = service.podman('images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}').split()
    assert 'example.test/storage/app:v1' in listed
    # skopeo opens the store's files itself (the service is idle): the image we loaded, byte for byte.
    skopeo('--insecure-policy', 'copy', 'containers-storage:%s%s' % (store(service), NAME), 'dir:%s' % (tmp_path / 'skopeo'))
    assert dir_image(tmp_path / 'skopeo') == (source.config_digest, source.diff_ids)


def test_we_read_what_skopeo_wrote(service: Service, source: Source, registry: t.Any, tmp_path: Path) -> None:
    name = 'example.test/storage/by-skopeo:v1'
    skopeo('--insecure-policy', 'copy', *registry.skopeo_flags('src'), 'docker://%s' % source.ref, 'containers-storage:%s%s' % (store(service), name))
    ours = run_module('image_copy', {'src': 'containers-storage:%s' % name, 'src_daemon_host': service.host, 'dest': 'dir:%s' % (tmp_path / 'ours')})
    assert not ours.failed, ours
    assert dir_image(tmp_path / 'ours') == (source.config_digest, source.diff_ids)
    # The same image: a copy of the source onto the name skopeo wrote changes nothing and loads nothing.
    before = service.loads()
    same = to_storage(service, source, registry, name=name)
    assert (same.failed, same.result['changed']) == (False, False), same
    assert service.loads() == before


def test_image_inspect_and_bracket_and_id_references(service: Service, source: Source, registry: t.Any) -> None:
    assert not to_storage(service, source, registry).failed
    ours = run_module('image_inspect', {'image': 'containers-storage:%s%s' % (store(service), NAME), 'daemon_host': service.host})
    assert not ours.failed, ours
    theirs = json.loads(skopeo('inspect', 'containers-storage:%s%s' % (store(service), NAME)).stdout)
    for key in ('Architecture', 'Os', 'Labels', 'Created', 'Env'):
        assert ours.result['inspect'][key] == theirs[key], key
    assert ours.result['inspect']['Labels'] == {'org.example.test': 'storage'}
    # skopeo gives the manifest stored with the image (compressed layers, as pulled); the service exports the layers
    # uncompressed, so ours is the manifest synthesized for them: same count, other digests.
    assert len(ours.result['inspect']['Layers']) == len(theirs['Layers']) == 2
    for image in ('@' + source.config_digest.split(':')[1], source.config_digest.split(':')[1]):
        by_id = run_module('image_inspect', {'image': 'containers-storage:' + image, 'daemon_host': service.host, 'config': True})
        assert not by_id.failed, by_id
        assert by_id.result['config']['rootfs']['diff_ids'] == source.diff_ids


def test_the_digest_lookup_reads_the_service_given_by_daemon_host(service: Service, source: Source, registry: t.Any) -> None:
    """lookup image_digest with daemon_host on a containers-storage: name: the digest image_inspect reports."""
    assert not to_storage(service, source, registry).failed
    inspected = run_module('image_inspect', {'image': 'containers-storage:%s' % NAME, 'daemon_host': service.host})
    assert not inspected.failed, inspected
    play = run_playbook('''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: by name
      ansible.builtin.set_fact:
        found: "{{ lookup('ocikit.images.image_digest', 'containers-storage:' ~ image_name, daemon_host=service) }}"
''', {'image_name': NAME, 'service': service.host})
    assert play.rc == 0, (play.output, play.stderr)
    assert dict(play.tasks())['by name']['ansible_facts']['found'] == inspected.result['digest']
    assert inspected.result['digest'].startswith('sha256:')


def test_bracket_of_another_store_is_refused(service: Service, source: Source, registry: t.Any) -> None:
    before = service.loads()
    dest = 'containers-storage:[overlay@/srv/other-store]example.test/storage/other:v1'
    run = to_storage(service, source, registry, name='[overlay@/srv/other-store]example.test/storage/other:v1')
    assert run.failed and run.rc == 1
    assert run.msg.endswith('the store "[overlay@/srv/other-store]" is not the one of the Podman service at %s, which is %s (a service has '
                            'one store: name the service of that store with daemon_host, or leave the store out)'
                            % (service.host, store(service))), run
    assert dest.split(']', 1)[1] not in service.images()
    assert service.loads() == before
    same = to_storage(service, source, registry, name='%sexample.test/storage/bracket:v1' % store(service))
    assert not same.failed, same
    assert service.images()['example.test/storage/bracket:v1'] == source.config_digest


def test_signatures_need_remove_signatures(service: Service, source: Source, registry: t.Any, tmp_path: Path) -> None:
    signed = signed_dir_copy(registry, source.ref, tmp_path / 'signed')
    name = 'example.test/storage/signed:v1'
    args = {'src': 'dir:%s' % signed, 'dest': 'containers-storage:%s' % name, 'dest_daemon_host': service.host}
    refused = run_module('image_copy', args)
    assert refused.failed
    assert 'set remove_signatures: true to copy without them' in refused.msg, refused
    assert name not in service.images()
    run = run_module('image_copy', dict(args, remove_signatures=True))
    assert not run.failed, run
    assert service.images()[name] == source.config_digest


def test_trust_policy_scopes_by_the_services_store(service: Service, source: Source, registry: t.Any, tmp_path: Path) -> None:
    # As containers/image: a containers-storage image is scoped [DRIVER@GRAPHROOT]NAME, and a reference without the bracket
    # still names the service's store, so a scope written for that store applies (here a reject of one name).
    assert not to_storage(service, source, registry).failed
    graph = '[vfs@%s]' % (service.base / 'root')
    policy = tmp_path / 'policy.json'
    policy.write_text(json.dumps({'default': [{'type': 'reject'}], 'transports': {
        'containers-storage': {'': [{'type': 'insecureAcceptAnything'}], graph + 'example.test/storage/app': [{'type': 'reject'}]},
        'oci': {'': [{'type': 'insecureAcceptAnything'}]}}}))
    refused = run_module('image_copy', dict(src='containers-storage:%s' % NAME, src_daemon_host=service.host, dest='oci:%s:v1' % (tmp_path / 'out'),
                                            policy=str(policy)))
    assert refused.failed and refused.result.get('error_type') == 'PolicyRejectedError', refused
    assert '(scope transports.containers-storage["%sexample.test/storage/app"], requirement 1 reject)' % graph in refused.msg, refused.msg
    assert not (tmp_path / 'out').exists()
    other = 'example.test/storage/other:v1'
    assert not to_storage(service, source, registry, name=other).failed
    accepted = run_module('image_copy', dict(src='containers-storage:%s' % other, src_daemon_host=service.host, dest='oci:%s:v1' % (tmp_path / 'out'),
                                             policy=str(policy)))
    assert not accepted.failed, accepted
    assert (accepted.result['policy']['scope'], accepted.result['policy']['requirement']) == (
        'transports.containers-storage[""]', 'insecureAcceptAnything'), accepted.result['policy']


def test_no_service_gives_a_clear_message(tmp_path_factory: pytest.TempPathFactory, source: Source, registry: t.Any) -> None:
    stopped = Service(tmp_path_factory.mktemp('stopped'))
    stopped.stop()
    run = to_storage(stopped, source, registry)
    assert run.failed and run.rc == 1
    problem = stopped.unreachable()
    assert run.msg.endswith(
        'cannot reach the Podman service at %s: %s; start Podman\'s API service (systemctl start podman.socket; systemctl --user start '
        'podman.socket for a rootless user; or podman system service --time=0 %s), or name another service with daemon_host'
        % (stopped.host, problem, stopped.host)), run
    assert 'Traceback' not in run.msg and 'Traceback' not in run.stderr


def test_missing_image_is_named(service: Service, tmp_path: Path) -> None:
    run = run_module('image_copy', {'src': 'containers-storage:example.test/storage/nope:v1', 'src_daemon_host': service.host,
                                    'dest': 'dir:%s' % (tmp_path / 'out')})
    assert run.failed and run.rc == 1
    assert 'containers-storage:example.test/storage/nope:v1: the Podman service at %s has no such image' % service.host in run.msg, run
    assert not (tmp_path / 'out').exists()


def test_a_256_mib_layer_keeps_memory_flat(service: Service, tmp_path: Path) -> None:
    # An incompressible, uncompressed layer into the store (staged, then streamed into libpod's load request) and back out
    # (the export spooled to disk, then read member by member): neither side may hold the layer in memory.
    big = build_image(tmp_path / 'big', 'big', layers=[LayerSpec(size=256 * 1024 ** 2, compression=None, compressible=0.0)])
    name = 'example.test/storage/big:v1'
    into = run_module('image_copy', {'src': big.oci_ref, 'dest': 'containers-storage:%s' % name, 'dest_daemon_host': service.host})
    assert not into.failed, into
    assert into.max_rss < 150 * 1024 * 1024, 'load peak RSS %d MiB' % (into.max_rss // 2 ** 20)
    assert service.images()[name] == big.config_digest
    out = run_module('image_copy', {'src': 'containers-storage:%s' % name, 'src_daemon_host': service.host, 'dest': 'dir:%s' % (tmp_path / 'out')})
    assert not out.failed, out
    assert out.max_rss < 150 * 1024 * 1024, 'export peak RSS %d MiB' % (out.max_rss // 2 ** 20)
    assert dir_image(tmp_path / 'out') == (big.config_digest, big.diff_ids)
    service.podman('rmi', name)


def test_image_delete_untags_a_shared_name_and_removes_the_last(service: Service, tmp_path: Path) -> None:
    image = build_image(tmp_path / 'layout', 'v1', layers=[LayerSpec(size=5_000)], labels={'org.example.test': 'delete'})
    first, second = 'example.test/storage/del:a', 'example.test/storage/del:b'
    for name in (first, second):
        assert not run_module('image_copy', {'src': image.oci_ref, 'dest': 'containers-storage:%s' % name, 'dest_daemon_host': service.host}).failed
    assert service.images()[first] == service.images()[second] == image.config_digest

    def delete(ref: str, check: bool = False, **extra: t.Any) -> t.Any:
        return run_module('image_delete', dict(image='containers-storage:%s' % ref, daemon_host=service.host, **extra), check=check)

    # Named by ID while it has names: refused, naming them; nothing changes.
    refused = delete('@' + image.config_digest.split(':')[1])
    assert refused.failed and 'not deleted: the tags %s, %s point at %s' % (first, second, image.config_digest) in refused.result['msg'], refused
    # A name shared with another: removed alone (check mode first predicts it and changes nothing).
    predicted = delete(first, check=True)
    assert (predicted.failed, predicted.result['changed'], predicted.result['deleted_tags']) == (False, True, [first]), predicted
    assert first in service.images()
    run = delete(first)
    assert (run.failed, run.result['changed'], run.result['deleted_tags'], run.result['image_id'], run.result['digest']) == (
        False, True, [first], image.config_digest, None), run
    assert run.result['diff'] == {'before': {'image_id': image.config_digest, 'tags': [first]}, 'after': None}
    listed = service.images()
    assert first not in listed and listed[second] == image.config_digest
    again = delete(first)
    assert (again.failed, again.result['changed'], again.result['image_id']) == (False, False, None), again
    # A container made from the image: its last name cannot take it; the container is named and the image stays.
    service.podman('create', '--name', 'uses-del', second, 'true')
    busy = delete(second)
    assert busy.failed and 'is used by the container uses-del; remove it first (podman rm)' in busy.result['msg'], busy
    assert service.images()[second] == image.config_digest
    service.podman('rm', 'uses-del')
    # Its last name takes the image with it (podman images -a lists dangling images too: it is gone, not left untagged).
    assert image.config_digest in service.podman('images', '-a', '-q', '--no-trunc').split()
    gone = delete(second)
    assert (gone.failed, gone.result['changed'], gone.result['deleted_tags']) == (False, True, [second]), gone
    assert image.config_digest not in service.podman('images', '-a', '-q', '--no-trunc').split()
