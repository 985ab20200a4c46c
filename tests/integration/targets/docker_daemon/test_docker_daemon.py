"""docker-daemon: against a real Podman service (its Docker-compatible API), compared with skopeo.

The service runs as ``podman system service --time=0 unix://TMP/podman.sock`` with its store (vfs), run root,
temporary files, events log and configuration all under the test's temporary directory: nothing under
/var/lib/containers or $HOME is touched. The service is killed at the end of the module. Loads are counted
in the service's access log (``--log-level debug``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import platform
import signal
import socket
import subprocess
import time
import typing as t
from pathlib import Path

import httpx
import pytest

from ocikit_it import creds, run_module, skopeo
from ocikit_testbed import LayerSpec, build_image, build_index

pytestmark = pytest.mark.skipif(shutil.which('podman') is None or shutil.which('skopeo') is None,
                                reason='needs podman (its system service is the daemon under test) and skopeo')

NAME = 'example.test/daemon/app:v1'


@dataclasses.dataclass
class Service:
    """A running podman system service and how to look into its store."""

    base: Path
    process: subprocess.Popen
    env: dict[str, str]
    marks: int = 0

    @property
    def socket(self) -> Path:
        return self.base / 'podman.sock'

    #: The daemon_host to give modules: its socket, or http://127.0.0.1:PORT for a service on TCP.
    listen: str = ''

    @property
    def host(self) -> str:
        return self.listen or 'unix://%s' % self.socket

    def http_client(self) -> httpx.Client:
        if self.listen:
            return httpx.Client(base_url=self.listen, timeout=10)
        return httpx.Client(base_url='http://d', transport=httpx.HTTPTransport(uds=str(self.socket)), timeout=10)

    def flags(self) -> list[str]:
        return ['--root', str(self.base / 'root'), '--runroot', str(self.base / 'runroot'), '--storage-driver', 'vfs',
                '--tmpdir', str(self.base / 'tmp'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file']

    def podman(self, *args: str) -> str:
        return subprocess.run(['podman', *self.flags(), *args], check=True, capture_output=True, text=True, env=self.env, timeout=120).stdout

    def images(self) -> dict[str, str]:
        """Each name the store lists, and its image ID."""
        listed = json.loads(self.podman('images', '--format', 'json') or '[]')
        return {name: 'sha256:' + entry['Id'] for entry in listed for name in entry.get('Names') or []}

    def requests(self, what: str) -> int:
        """How many requests the service has answered whose request line holds ``what`` (``POST /v1.41/images/load``).

        The service's access log (--log-level debug) is written after each answer: a marker request is made and
        waited for first, so that every earlier request is counted.
        """
        self.marks += 1
        marker = '/_ping?mark=%d ' % self.marks
        with self.http_client() as client:
            client.get(marker.strip())
        log = self.base / 'service.log'
        deadline = time.monotonic() + 20
        while marker not in log.read_text():
            if time.monotonic() > deadline:
                pytest.fail('the service did not log the marker request %s' % marker)
            time.sleep(0.05)
        return sum(1 for line in log.read_text().splitlines() if what in line and ' - - [' in line)

    def loads(self) -> int:
        return self.requests('"POST /v1.41/images/load?quiet=1 ')

    def stop(self) -> None:
        if self.process.poll() is None:
            # The service leads its own process group (start_new_session): its helpers go with it.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)


def start_service(base: Path, port: int | None = None) -> Service:
    for name in ('root', 'runroot', 'tmp', 'home'):
        (base / name).mkdir(parents=True, exist_ok=True)
    (base / 'storage.conf').write_text('[storage]\ndriver = "vfs"\nrunroot = "%s/runroot"\ngraphroot = "%s/root"\n' % (base, base))
    (base / 'containers.conf').write_text('[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nevents_logfile_path = "%s/events.log"\n'
                                          'tmp_dir = "%s/tmp"\n' % (base, base))
    env = dict(os.environ, HOME=str(base / 'home'), XDG_CONFIG_HOME=str(base / 'home' / '.config'),
               XDG_DATA_HOME=str(base / 'home' / '.local' / 'share'), XDG_RUNTIME_DIR=str(base / 'runroot'),
               CONTAINERS_CONF=str(base / 'containers.conf'), CONTAINERS_STORAGE_CONF=str(base / 'storage.conf'), TMPDIR=str(base / 'tmp'))
    log = open(base / 'service.log', 'wb')  # pylint: disable=consider-using-with
    process = subprocess.Popen(['podman', '--root', str(base / 'root'), '--runroot', str(base / 'runroot'), '--storage-driver', 'vfs',
                                '--tmpdir', str(base / 'tmp'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file',
                                '--log-level', 'debug', 'system', 'service', '--time=0',
                                'tcp://127.0.0.1:%d' % port if port else 'unix://%s/podman.sock' % base],
                               stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    log.close()
    service = Service(base, process, env, listen='http://127.0.0.1:%d' % port if port else '')
    deadline = time.monotonic() + 60
    while True:
        try:
            with service.http_client() as client:
                if client.get('/_ping').status_code == 200:
                    return service
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            service.stop()
            pytest.fail('podman system service did not start: %s' % (base / 'service.log').read_text()[-2000:])
        time.sleep(0.2)


@pytest.fixture(scope='module')
def service(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Service]:
    started = start_service(tmp_path_factory.mktemp('podman'))
    try:
        yield started
    finally:
        started.stop()


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


def dir_image(directory: Path) -> tuple[str, list[str]]:
    """Config digest and diff_ids of the image in a dir: directory."""
    manifest = json.loads((directory / 'manifest.json').read_text())
    config_digest = manifest['config']['digest']
    config = json.loads((directory / config_digest.split(':')[1]).read_text())
    return config_digest, config['rootfs']['diff_ids']


def to_daemon(service: Service, source: Source, registry: t.Any, name: str = NAME, check: bool = False, **extra: t.Any) -> t.Any:
    args = dict(src='docker://%s' % source.ref, dest='docker-daemon:%s' % name, dest_daemon_host=service.host, **creds(registry))
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
    back = run_module('image_copy', {'src': 'docker-daemon:%s' % NAME, 'src_daemon_host': service.host, 'dest': 'oci:%s:v1' % (tmp_path / 'back')})
    assert not back.failed, back
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
    loads = service.loads()
    again = to_daemon(service, source, registry)
    assert not again.failed, again
    assert again.result['changed'] is False
    assert again.result['blobs']['copied'] == 0
    assert service.loads() == loads
    # Check mode agrees, and sends nothing either.
    checked = to_daemon(service, source, registry, check=True)
    assert (checked.failed, checked.result['changed']) == (False, False)
    assert service.loads() == loads


def test_check_mode_predicts_and_loads_nothing(service: Service, source: Source, registry: t.Any) -> None:
    name = 'example.test/daemon/check:v1'
    loads = service.loads()
    run = to_daemon(service, source, registry, name=name, check=True)
    assert not run.failed, run
    assert run.result['changed'] is True
    assert service.loads() == loads
    assert name not in service.images()


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
    signed = tmp_path / 'signed'
    skopeo('--insecure-policy', 'copy', *registry.skopeo_flags('src'), 'docker://%s' % source.ref, 'dir:%s' % signed)
    # A signature blob as dir: stores it; the daemon cannot store any, whatever it is.
    (signed / 'signature-1').write_bytes(b'\x00sigstore-json\n{"mimeType":"application/vnd.dev.cosign.simplesigning.v1+json","payload":"","annotations":{}}')
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
    stopped = start_service(tmp_path_factory.mktemp('stopped'))
    stopped.stop()
    run = to_daemon(stopped, source, registry)
    assert run.failed and run.rc == 1
    if stopped.socket.exists():
        problem = 'nothing answers on the socket %s (connection refused)' % stopped.socket
    else:
        problem = 'the socket %s does not exist' % stopped.socket
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


def config_of(ref: str, *flags: str) -> tuple[str, list[str]]:
    """Config digest and diff_ids of ``ref`` as skopeo reads it."""
    raw = skopeo('inspect', '--config', '--raw', *flags, ref).stdout
    return 'sha256:' + hashlib.sha256(raw.encode('utf-8')).hexdigest(), json.loads(raw)['rootfs']['diff_ids']


@pytest.mark.parametrize('transport', LOCAL)
def test_each_local_transport_into_the_daemon(transport: str, service: Service, source: Source, registry: t.Any, tmp_path: Path) -> None:
    ref, readback = local_ref(transport, tmp_path / 'src')
    skopeo('--insecure-policy', 'copy', *registry.skopeo_flags('src'), 'docker://%s' % source.ref, ref)
    expected = config_of(readback)
    assert expected[1] == source.diff_ids
    name = 'example.test/matrix/from-%s:v1' % transport
    args = {'src': readback, 'dest': 'docker-daemon:%s' % name, 'dest_daemon_host': service.host}
    first = run_module('image_copy', args)
    assert not first.failed, first
    assert first.result['changed'] is True
    assert service.images()[name] == expected[0]
    assert config_of('docker-daemon:%s' % name, '--daemon-host', service.host) == expected
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
    assert config_of(ours_readback) == config_of(theirs_readback)
    assert config_of(ours_readback)[1] == source.diff_ids
    # skopeo reads every blob of what we wrote, verifying each digest.
    skopeo('--insecure-policy', 'copy', ours_readback, 'dir:%s' % (tmp_path / 'readback'))
    again = run_module('image_copy', args)
    assert (again.failed, again.result['changed']) == (False, False), again


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def test_plain_http_daemon_host(tmp_path_factory: pytest.TempPathFactory, source: Source, registry: t.Any, tmp_path: Path) -> None:
    tcp = start_service(tmp_path_factory.mktemp('tcp'), port=free_port())
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
    assert config_of('docker://%s' % ref, *registry.skopeo_flags('')) == (source.config_digest, source.diff_ids)
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
