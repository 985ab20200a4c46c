"""docker-daemon: against a real Podman service (its Docker-compatible API), compared with skopeo.

The service (ocikit_testbed.podman) runs as ``podman system service --time=0 unix://TMP/podman.sock`` with its
store (vfs), run root, temporary files, events log and configuration all under the test's temporary directory:
nothing under /var/lib/containers or $HOME is touched. It is stopped at the end of the module. Loads are counted
in the service's access log.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import shutil
import typing as t
from pathlib import Path

import pytest

from ocikit_it import creds, dir_image, run_module, run_playbook, signed_dir_copy, skopeo, skopeo_config
from ocikit_testbed import LayerSpec, build_image, build_index
from ocikit_testbed.podman import PodmanService as Service, free_port, podman_available

pytestmark = pytest.mark.skipif(not podman_available() or shutil.which('skopeo') is None,
                                reason='needs podman (its system service is the daemon under test) and skopeo')

NAME = 'example.test/daemon/app:v1'


@pytest.fixture(scope='module')
def service(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Service]:
    with Service(tmp_path_factory.mktemp('podman')) as started:
        yield started


@dataclasses.dataclass
class Source:
    ref: str
    config_digest: str
    diff_ids: list[str]


@pytest.fixture(scope='module')
def source(tmp_path_factory: pytest.TempPathFactory, registry: t.Any) -> Source:
    image = build_image(tmp_path_factory.mktemp('layout') / 'layout', 'v1', layers=[LayerSpec(size=40_000), LayerSpec(size=9_000)],
                        labels={'org.example.test': 'daemon'})
    ref = registry.ref('daemon/app', 'v1')
    skopeo('copy', *registry.skopeo_flags('dest'), image.oci_ref, 'docker://%s' % ref)
    return Source(ref, image.config_digest, image.diff_ids)


def oci_image(layout: Path, tag: str) -> tuple[str, list[str]]:
    """Config digest and diff_ids of the image tagged ``tag`` in an OCI layout."""
    index = json.loads((layout / 'index.json').read_text())
    entry = next(m for m in index['manifests'] if m.get('annotations', {}).get('org.opencontainers.image.ref.name') == tag)
    manifest = json.loads((layout / 'blobs' / 'sha256' / entry['digest'].split(':')[1]).read_text())
    config_digest = manifest['config']['digest']
    config = json.loads((layout / 'blobs' / 'sha256' / config_digest.split(':')[1]).read_text())
    return config_digest, config['rootfs']['diff_ids']


def to_daemon(service: Service, source: Source, registry: t.Any, name: str = NAME, check: bool = False, **extra: t.Any) -> t.Any:
    # One blob-info record for the service, as a user's ~/.cache keeps it (each module run has its own cache home otherwise).
    args = dict(src='docker://%s' % source.ref, dest='docker-daemon:%s' % name, dest_daemon_host=service.host, **creds(registry),
                blob_info_cache_path=str(service.base / 'blob-info-cache.sqlite'))
    args.update(extra)
    return run_module('image_copy', args, check=check)


def test_registry_to_daemon_to_oci(service: Service, source: Source, registry: t.Any, tmp_path: Path) -> None:
    loads = service.loads()
    run = to_daemon(service, source, registry)
    assert not run.failed, run
    assert run.result['changed'] is True
    assert service.loads() == loads + 1
    # podman lists the fully qualified name, holding the source's config.
    assert service.images()[NAME] == source.config_digest
    exports = service.exports()
    back = run_module('image_copy', {'src': 'docker-daemon:%s' % NAME, 'src_daemon_host': service.host, 'dest': 'oci:%s:v1' % (tmp_path / 'back')})
    assert not back.failed, back
    assert service.exports() == exports + 1  # read once (the counter the up-to-date tests rely on sees exports)
    config_digest, diff_ids = oci_image(tmp_path / 'back', 'v1')
    assert diff_ids == source.diff_ids
    # A Docker schema2 image converted to OCI gets its config re-encoded as an OCI config (as containers/image does):
    # the same as skopeo's copy of the daemon's image, byte for byte.
    skopeo('--insecure-policy', 'copy', '--src-daemon-host', service.host, 'docker-daemon:%s' % NAME, 'oci:%s:v1' % (tmp_path / 'skopeo'))
    assert oci_image(tmp_path / 'skopeo', 'v1') == (config_digest, diff_ids)
    # Without a conversion, the config is the source's own.
    unconverted = run_module('image_copy', {'src': 'docker-daemon:%s' % NAME, 'src_daemon_host': service.host, 'dest': 'dir:%s' % (tmp_path / 'dir')})
    assert not unconverted.failed, unconverted
    assert dir_image(tmp_path / 'dir') == (source.config_digest, source.diff_ids)


def test_rerun_is_unchanged_and_loads_nothing(service: Service, source: Source, registry: t.Any) -> None:
    first = to_daemon(service, source, registry)
    assert not first.failed, first
    loads, exports = service.loads(), service.exports()
    again = to_daemon(service, source, registry)
    assert not again.failed, again
    # Decided by image ID alone: the name's record holds the source's config digest; nothing is exported, nothing loaded.
    assert (again.result['changed'], again.result['rule'], again.result['image_id']) == (False, 'image_id', source.config_digest)
    # digest: the manifest of the archive the first run sent, from the record it kept (the daemon keeps no manifest).
    assert first.result['digest'] is not None
    assert again.result['digest'] == first.result['digest']
    assert again.result['diff'] == {'before': {'image_id': source.config_digest},
                                    'after': {'image_id': source.config_digest, 'digest': first.result['digest']}}
    # Without the record (another cache), the same decision, and digest is null rather than an export.
    bare = to_daemon(service, source, registry, blob_info_cache=False)
    assert (bare.result['changed'], bare.result['rule'], bare.result['digest']) == (False, 'image_id', None), bare.result
    assert again.result['blobs']['copied'] == 0
    assert (service.loads(), service.exports()) == (loads, exports)
    # Check mode agrees, and sends nothing either.
    checked = to_daemon(service, source, registry, check=True)
    assert (checked.failed, checked.result['changed'], checked.result['image_id']) == (False, False, source.config_digest)
    assert (service.loads(), service.exports()) == (loads, exports)


def test_check_mode_predicts_and_loads_nothing(service: Service, source: Source, registry: t.Any) -> None:
    name = 'example.test/daemon/check:v1'
    loads = service.loads()
    run = to_daemon(service, source, registry, name=name, check=True)
    assert not run.failed, run
    assert (run.result['changed'], run.result['image_id'], run.result['diff']['before']) == (True, source.config_digest, None)
    assert service.loads() == loads
    assert name not in service.images()


def test_a_name_moved_to_another_image_reports_both_ids(service: Service, source: Source, registry: t.Any, tmp_path: Path) -> None:
    other = build_image(tmp_path / 'other', 'v1', layers=[LayerSpec(size=3_000)], labels={'org.example.test': 'other'})
    name = 'example.test/daemon/moved:v1'
    assert not run_module('image_copy', {'src': other.oci_ref, 'dest': 'docker-daemon:%s' % name, 'dest_daemon_host': service.host}).failed
    other_id = service.images()[name]
    exports = service.exports()
    run = to_daemon(service, source, registry, name=name)
    assert not run.failed, run
    assert (run.result['changed'], run.result['rule'], run.result['reason']) == (True, 'image_id', 'destination holds the image ID %s' % other_id)
    assert run.result['diff']['before'] == {'image_id': other_id}
    assert run.result['diff']['after']['image_id'] == source.config_digest == service.images()[name]
    # The image the name held before is not read back to describe it.
    assert service.exports() == exports


def test_short_name_is_loaded_fully_qualified(service: Service, source: Source, registry: t.Any) -> None:
    run = to_daemon(service, source, registry, name='shortname:1')
    assert not run.failed, run
    images = service.images()
    assert images['docker.io/library/shortname:1'] == source.config_digest
    assert 'localhost/shortname:1' not in images


def test_image_inspect_matches_skopeo(service: Service, source: Source, registry: t.Any) -> None:
    assert not to_daemon(service, source, registry).failed
    ours = run_module('image_inspect', {'image': 'docker-daemon:%s' % NAME, 'daemon_host': service.host})
    assert not ours.failed, ours
    theirs = json.loads(skopeo('inspect', '--daemon-host', service.host, 'docker-daemon:%s' % NAME).stdout)
    for key in ('Name', 'Layers', 'Architecture', 'Os', 'Labels', 'Created', 'Env'):
        assert ours.result['inspect'][key] == theirs[key], key
    # The one deliberate difference, as for docker-archive: (docker_archive/archive.py): containers/image labels every
    # layer of the manifest it synthesizes tar+gzip, uncompressed or not; ours says what the layers are. So the
    # synthesized manifests, and their digests, differ.
    raw = json.loads(skopeo('inspect', '--raw', '--daemon-host', service.host, 'docker-daemon:%s' % NAME).stdout)
    assert {layer['mediaType'] for layer in raw['layers']} == {'application/vnd.docker.image.rootfs.diff.tar.gzip'}
    assert {layer['MIMEType'] for layer in ours.result['inspect']['LayersData']} == {'application/vnd.docker.image.rootfs.diff.tar'}
    assert [layer['Size'] for layer in ours.result['inspect']['LayersData']] == [layer['size'] for layer in raw['layers']]
    assert ours.result['inspect']['Digest'] != theirs['Digest']
    assert ours.result['inspect']['Labels'] == {'org.example.test': 'daemon'}
    # By image ID too: the same image, without a name.
    by_id = run_module('image_inspect', {'image': 'docker-daemon:%s' % source.config_digest, 'daemon_host': service.host, 'config': True})
    assert not by_id.failed, by_id
    assert by_id.result['config']['rootfs']['diff_ids'] == source.diff_ids


LOOKUP_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: by name
      ansible.builtin.set_fact:
        by_name: "{{ lookup('ocikit.images.image_digest', 'docker-daemon:' ~ image_name, daemon_host=daemon_host) }}"
    - name: missing
      ansible.builtin.set_fact:
        missing: "{{ lookup('ocikit.images.image_digest', 'docker-daemon:example.test/daemon/none:v1', daemon_host=daemon_host) }}"
      ignore_errors: true
"""


def test_the_digest_lookup_reads_the_daemon_given_by_daemon_host(service: Service, source: Source, registry: t.Any) -> None:
    """lookup image_digest with daemon_host: the digest image_inspect reports for the same name, and a clear miss."""
    assert not to_daemon(service, source, registry).failed
    inspected = run_module('image_inspect', {'image': 'docker-daemon:%s' % NAME, 'daemon_host': service.host})
    assert not inspected.failed, inspected
    play = run_playbook(LOOKUP_PLAY, {'image_name': NAME, 'daemon_host': service.host})
    assert play.rc == 0, (play.output, play.stderr)
    results = dict(play.tasks())
    assert results['by name']['ansible_facts']['by_name'] == inspected.result['digest'] == inspected.result['inspect']['Digest']
    assert inspected.result['digest'].startswith('sha256:')
    missing = results['missing']
    assert play.stats['ignored'] == 1
    assert 'image_digest: ' in missing['msg'] and 'example.test/daemon/none:v1' in missing['msg'] and 'no such image' in missing['msg'], missing


def test_skopeo_reads_what_we_wrote_and_we_read_what_skopeo_wrote(service: Service, source: Source, registry: t.Any, tmp_path: Path) -> None:
    assert not to_daemon(service, source, registry).failed
    skopeo('--insecure-policy', 'copy', '--src-daemon-host', service.host, 'docker-daemon:%s' % NAME, 'dir:%s' % (tmp_path / 'skopeo'))
    assert dir_image(tmp_path / 'skopeo') == (source.config_digest, source.diff_ids)
    skopeo('--insecure-policy', 'copy', *registry.skopeo_flags('src'), '--dest-daemon-host', service.host, 'docker://%s' % source.ref,
           'docker-daemon:example.test/daemon/by-skopeo:v2')
    ours = run_module('image_copy', {'src': 'docker-daemon:example.test/daemon/by-skopeo:v2', 'src_daemon_host': service.host,
                                     'dest': 'dir:%s' % (tmp_path / 'ours')})
    assert not ours.failed, ours
    assert dir_image(tmp_path / 'ours') == (source.config_digest, source.diff_ids)
    # Both write the same image: a copy of ours onto the name skopeo wrote changes nothing.
    same = to_daemon(service, source, registry, name='example.test/daemon/by-skopeo:v2')
    assert (same.failed, same.result['changed']) == (False, False), same


def test_signatures_need_remove_signatures(service: Service, source: Source, registry: t.Any, tmp_path: Path) -> None:
    signed = signed_dir_copy(registry, source.ref, tmp_path / 'signed')
    name = 'example.test/daemon/signed:v1'
    args = {'src': 'dir:%s' % signed, 'dest': 'docker-daemon:%s' % name, 'dest_daemon_host': service.host}
    refused = run_module('image_copy', args)
    assert refused.failed
    assert 'set remove_signatures: true to copy without them' in refused.msg, refused
    assert name not in service.images()
    run = run_module('image_copy', dict(args, remove_signatures=True))
    assert not run.failed, run
    assert service.images()[name] == source.config_digest


def test_no_daemon_gives_a_clear_message(tmp_path_factory: pytest.TempPathFactory, source: Source, registry: t.Any) -> None:
    stopped = Service(tmp_path_factory.mktemp('stopped'))
    stopped.stop()
    run = to_daemon(stopped, source, registry)
    assert run.failed and run.rc == 1
    problem = stopped.unreachable()
    assert run.msg.endswith(
        'cannot reach the Docker daemon at %s: %s; start the Docker daemon (systemctl start docker) or Podman\'s Docker-compatible '
        'service (systemctl start podman.socket, or podman system service --time=0 %s), or name another daemon with daemon_host'
        % (stopped.host, problem, stopped.host)), run
    assert 'Traceback' not in run.msg and 'Traceback' not in run.stderr


# -- every local transport to and from the daemon, compared with skopeo ----------------------------------------

LOCAL = ('oci', 'oci-archive', 'docker-archive', 'dir')


def local_ref(transport: str, base: Path) -> tuple[str, str]:
    """(reference we use, reference skopeo reads back) of a fresh ``transport`` destination under ``base``."""
    path = base.parent / (base.name + ('.tar' if transport.endswith('archive') else ''))
    ref = {'oci': 'oci:%s:v1', 'oci-archive': 'oci-archive:%s:v1', 'docker-archive': 'docker-archive:%s:example.test/matrix/x:v1',
           'dir': 'dir:%s'}[transport] % path
    return ref, ('docker-archive:%s' % path if transport == 'docker-archive' else ref)


@pytest.mark.parametrize('transport', LOCAL)
def test_each_local_transport_into_the_daemon(transport: str, service: Service, source: Source, registry: t.Any, tmp_path: Path) -> None:
    ref, readback = local_ref(transport, tmp_path / 'src')
    skopeo('--insecure-policy', 'copy', *registry.skopeo_flags('src'), 'docker://%s' % source.ref, ref)
    expected = skopeo_config(readback)
    assert expected[1] == source.diff_ids
    name = 'example.test/matrix/from-%s:v1' % transport
    args = {'src': readback, 'dest': 'docker-daemon:%s' % name, 'dest_daemon_host': service.host}
    first = run_module('image_copy', args)
    assert not first.failed, first
    assert first.result['changed'] is True
    assert service.images()[name] == expected[0]
    assert skopeo_config('docker-daemon:%s' % name, '--daemon-host', service.host) == expected
    loads = service.loads()
    again = run_module('image_copy', args)
    assert (again.failed, again.result['changed']) == (False, False), again
    assert service.loads() == loads


@pytest.mark.parametrize('transport', LOCAL)
def test_the_daemon_into_each_local_transport(transport: str, service: Service, source: Source, registry: t.Any, tmp_path: Path) -> None:
    assert not to_daemon(service, source, registry).failed
    ours, ours_readback = local_ref(transport, tmp_path / 'ours')
    theirs, theirs_readback = local_ref(transport, tmp_path / 'theirs')
    skopeo('--insecure-policy', 'copy', '--src-daemon-host', service.host, 'docker-daemon:%s' % NAME, theirs)
    args = {'src': 'docker-daemon:%s' % NAME, 'src_daemon_host': service.host, 'dest': ours}
    first = run_module('image_copy', args)
    assert not first.failed, first
    assert first.result['changed'] is True
    # The config as skopeo's copy of the same pair has it (re-encoded where Docker becomes OCI), the layers the source's.
    assert skopeo_config(ours_readback) == skopeo_config(theirs_readback)
    assert skopeo_config(ours_readback)[1] == source.diff_ids
    # skopeo reads every blob of what we wrote, verifying each digest.
    skopeo('--insecure-policy', 'copy', ours_readback, 'dir:%s' % (tmp_path / 'readback'))
    again = run_module('image_copy', args)
    assert (again.failed, again.result['changed']) == (False, False), again


def test_plain_http_daemon_host(tmp_path_factory: pytest.TempPathFactory, source: Source, registry: t.Any, tmp_path: Path) -> None:
    tcp = Service(tmp_path_factory.mktemp('tcp'), port=free_port())
    try:
        run = to_daemon(tcp, source, registry)
        assert not run.failed, run
        assert tcp.images()[NAME] == source.config_digest
        back = run_module('image_copy', {'src': 'docker-daemon:%s' % NAME, 'src_daemon_host': tcp.host, 'dest': 'dir:%s' % (tmp_path / 'dir')})
        assert not back.failed, back
        assert dir_image(tmp_path / 'dir') == (source.config_digest, source.diff_ids)
        assert tcp.loads() == 1
    finally:
        tcp.stop()


def test_daemon_to_registry(service: Service, source: Source, registry: t.Any) -> None:
    assert not to_daemon(service, source, registry).failed
    ref = registry.ref('daemon/pushed', 'v1')
    args = dict(src='docker-daemon:%s' % NAME, src_daemon_host=service.host, dest='docker://%s' % ref, **creds(registry))
    run = run_module('image_copy', args)
    assert not run.failed, run
    # Layers were compressed for the registry; the config is the daemon's (the source's) own.
    assert skopeo_config('docker://%s' % ref, *registry.skopeo_flags('')) == (source.config_digest, source.diff_ids)
    again = run_module('image_copy', args)
    assert (again.failed, again.result['changed']) == (False, False), again


def test_an_index_gives_the_host_platform_and_multi_arch_all_is_refused(service: Service, registry: t.Any,
                                                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    arch = {'x86_64': 'amd64', 'aarch64': 'arm64'}.get(platform.machine())
    if arch is None:
        pytest.skip('no image of the index is for this host (%s)' % platform.machine())
    index = build_index(tmp_path_factory.mktemp('index') / 'layout', 'v1', platforms=(('linux', 'amd64', None), ('linux', 'arm64', 'v8')),
                        layers=[LayerSpec(size=10_000)])
    ref = registry.ref('daemon/index', 'v1')
    skopeo('copy', '--all', *registry.skopeo_flags('dest'), index.oci_ref, 'docker://%s' % ref)
    host_image = next(image for image in index.images if image.platform[1] == arch)
    name = 'example.test/daemon/index:v1'
    args = dict(src='docker://%s' % ref, dest='docker-daemon:%s' % name, dest_daemon_host=service.host, **creds(registry))
    loads = service.loads()
    refused = run_module('image_copy', dict(args, multi_arch='all'))
    assert refused.failed
    assert refused.msg == 'docker://%s -> docker-daemon:%s: the destination cannot store an index; set multi_arch: system to copy one platform' % (
        ref, name)
    assert service.loads() == loads and name not in service.images()
    run = run_module('image_copy', args)
    assert not run.failed, run
    assert service.images()[name] == host_image.config_digest


def test_a_256_mib_layer_keeps_memory_flat(service: Service, tmp_path: Path) -> None:
    # An uncompressed, incompressible layer: into the daemon (staged, then streamed into the load request) and back out
    # (the export spooled to disk, then read member by member); neither side may hold the layer in memory.
    big = build_image(tmp_path / 'big', 'big', layers=[LayerSpec(size=256 * 1024 ** 2, compression=None, compressible=0.0)])
    name = 'example.test/daemon/big:v1'
    into = run_module('image_copy', {'src': big.oci_ref, 'dest': 'docker-daemon:%s' % name, 'dest_daemon_host': service.host})
    assert not into.failed, into
    assert into.max_rss < 150 * 1024 * 1024, 'load peak RSS %d MiB' % (into.max_rss // 2 ** 20)
    assert service.images()[name] == big.config_digest
    out = run_module('image_copy', {'src': 'docker-daemon:%s' % name, 'src_daemon_host': service.host, 'dest': 'dir:%s' % (tmp_path / 'out')})
    assert not out.failed, out
    assert out.max_rss < 150 * 1024 * 1024, 'export peak RSS %d MiB' % (out.max_rss // 2 ** 20)
    assert dir_image(tmp_path / 'out') == (big.config_digest, big.diff_ids)
