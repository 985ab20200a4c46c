"""image_copy interop matrix: every source transport x destination transport x image kind, against skopeo 1.9.3.

Transports: docker (a TLS + htpasswd registry), oci, oci-archive, docker-archive, dir, docker-daemon (Podman's
Docker-compatible service, ocikit_testbed.podman, started on first use; those cells are skipped without podman) and
containers-storage (the same service's libpod API; skopeo reads and writes its store directly, through the bracketed store
``[vfs@ROOT+RUNROOT]`` that both name). Kinds: an OCI image,
a Docker schema2 image and a two-platform OCI index. Every source is put in place by skopeo (so each cell also
proves we read what skopeo writes), once per module; every destination we write is read back by skopeo.

Per cell: the copy succeeds; skopeo inspects the destination and reads every blob of it; rootfs.diff_ids are the
built image's; the config digest is the source's, except where a Docker-typed config is converted into an OCI-only
destination, where it (and the manifest, when no layer was recompressed) must be what ``skopeo copy`` produces for
the same pair; a second identical copy is ``changed: false`` and writes nothing (no registry write, no file touched).
An index is copied with ``multi_arch: all`` and keeps its digest; into docker-archive (which cannot hold one) the
host platform's image is copied by default and ``multi_arch: all`` fails before anything is written.
The reported digest of a docker-archive, docker-daemon or containers-storage image is compared modulo the layer media type skopeo
gives it (see ``assert_reported_digest``). A containers-storage source is read through the service's export, whose manifest is
synthesized for the uncompressed layers: it is compared with skopeo's docker-archive of the same stored image, not with the
manifest stored with it (which keeps the compressed layers skopeo pulled). Sources put in place by skopeo are all of them but a
Docker-typed image in an oci: layout, which skopeo cannot write (it converts to OCI there): that one comes from the test bed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import tarfile
import typing as t
from pathlib import Path

import pytest

from ocikit_it import blob_writes, creds, run_module, skopeo
from ocikit_testbed import LayerSpec, Registry, build_image, build_index
from ocikit_testbed.podman import PodmanService, podman_available

TRANSPORTS = ('docker', 'oci', 'oci-archive', 'docker-archive', 'dir', 'docker-daemon', 'containers-storage')
#: Transports that hold one image, never an index (and whose manifest readers synthesize, see as_we_read).
SINGLE_IMAGE = ('docker-archive', 'docker-daemon', 'containers-storage')
#: Transports whose images are in Podman's service.
IN_SERVICE = ('docker-daemon', 'containers-storage')
KINDS = ('oci', 'docker', 'index')
PLATFORMS = (('linux', 'amd64', None), ('linux', 'arm64', 'v8'))
OCI_ONLY = ('oci', 'oci-archive')
DOCKER_V2S2 = 'application/vnd.docker.distribution.manifest.v2+json'
OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar'
GOARCH = {'x86_64': 'amd64', 'amd64': 'amd64', 'aarch64': 'arm64', 'arm64': 'arm64'}

# (source transport, destination transport, kind) -> why the engine fails that cell today. Strict: a fix turns it red.
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}

INDEX_SOURCE_SKIP = ('%s cannot hold an index: an archive entry, a daemon image, an image loaded through libpod is one image (skopeo '
                     'copy --all into it copies no list), so there is no index source to copy from')
NO_PODMAN = 'docker-daemon and containers-storage cells need podman (its system service is the daemon, and holds the store)'


def platform_name(plat: tuple[str, str, str | None]) -> str:
    return '/'.join(part for part in plat if part)


def host_platform() -> str | None:
    arch = GOARCH.get(platform.machine().lower())
    return next((platform_name(p) for p in PLATFORMS if p[1] == arch), None)


def override_flags(plat: str | None) -> list[str]:
    """skopeo's global flags choosing ``plat`` (os/arch[/variant]) out of an index; none for a single image."""
    if plat is None:
        return []
    parts = plat.split('/')
    flags = ['--override-os', parts[0], '--override-arch', parts[1]]
    return flags + (['--override-variant', parts[2]] if len(parts) > 2 else [])


def sha256(text: str) -> str:
    return 'sha256:' + hashlib.sha256(text.encode('utf-8')).hexdigest()


@dataclasses.dataclass(frozen=True)
class Expected:
    """One single image as skopeo reads it from a source: config digest, diff_ids and manifest type."""

    config_digest: str
    diff_ids: list[str]
    media_type: str


@dataclasses.dataclass(frozen=True)
class Source:
    """A source cell: what our module reads, what skopeo reads (the same image) and what it holds, per platform."""

    transport: str
    kind: str
    ref: str
    peer_ref: str
    digest: str
    media_type: str
    images: dict[str, Expected]


class Peer:
    """skopeo commands against references that may be in the test registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        #: The daemon docker-daemon: references are in (set when the first such cell starts it).
        self.daemon: PodmanService | None = None

    def flags(self, ref: str, side: t.Literal['src', 'dest', '']) -> list[str]:
        if ref.startswith('docker-daemon:') and self.daemon is not None:
            return ['--%sdaemon-host' % ('%s-' % side if side else ''), self.daemon.host]
        return self.registry.skopeo_flags(side) if ref.startswith('docker://') else []

    def copy(self, src: str, dest: str, index: bool = False) -> None:
        skopeo('copy', '--quiet', *(['--all'] if index else []), *self.flags(src, 'src'), *self.flags(dest, 'dest'), src, dest)

    def raw(self, ref: str) -> str:
        return skopeo('inspect', '--raw', *self.flags(ref, ''), ref).stdout

    def inspect(self, ref: str) -> dict[str, t.Any]:
        return json.loads(skopeo('inspect', '--no-tags', *self.flags(ref, ''), ref).stdout)

    def config(self, ref: str, plat: str | None = None) -> tuple[str, dict[str, t.Any]]:
        """(digest, parsed) of the raw config of ``ref`` (of its ``plat`` image when it is an index)."""
        raw = skopeo(*override_flags(plat), 'inspect', '--config', '--raw', *self.flags(ref, ''), ref).stdout
        return sha256(raw), json.loads(raw)


class Sources:
    """Each (transport, kind) source, built and put in place by skopeo on first use, once per module."""

    def __init__(self, registry: Registry, root: Path) -> None:
        self.registry = registry
        self.peer = Peer(registry)
        self.root = root
        self.built: dict[str, t.Any] = {}
        self.cache: dict[tuple[str, str], Source] = {}

    def diff_ids(self, kind: str) -> dict[str, list[str]]:
        """The built image's diff_ids, per platform: what every copy must preserve."""
        built = self.build(kind)
        images = built.images if kind == 'index' else (built,)
        return {platform_name(image.platform): image.diff_ids for image in images}

    def build(self, kind: str) -> t.Any:
        if kind not in self.built:
            layers = [LayerSpec(size=96_000), LayerSpec(size=24_000, compressible=0.9)]
            where = self.root / ('built-%s' % kind)
            if kind == 'index':
                self.built[kind] = build_index(where, 'v1', platforms=PLATFORMS, layers=layers, labels={'matrix': kind})
            else:
                self.built[kind] = build_image(where, 'v1', media=kind, layers=layers, labels={'matrix': kind})
        return self.built[kind]

    def original(self, kind: str) -> str:
        """The built image as skopeo reads it: the layout, or a dir: export (skopeo's oci: skips Docker-typed entries)."""
        built = self.build(kind)
        return built.to_dir(self.root / 'built-docker-dir') if kind == 'docker' else built.oci_ref

    def storage_ref(self, name: str) -> str:
        """A containers-storage: reference to ``name`` in the service's store, bracketed so that skopeo opens the same store."""
        assert self.peer.daemon is not None, 'the daemon fixture starts before a containers-storage cell'
        return storage_ref(self.peer.daemon, name)

    def get(self, transport: str, kind: str) -> Source:
        key = (transport, kind)
        if key not in self.cache:
            self.cache[key] = self.place(transport, kind)
        return self.cache[key]

    def place(self, transport: str, kind: str) -> Source:
        original = self.original(kind)
        name = 'src-%s-%s' % (transport, kind)
        if transport == 'oci' and kind == 'docker':
            # skopeo converts whatever it writes into oci: to OCI; a Docker-typed layout entry comes from the test bed.
            ref, peer_ref = self.build(kind).oci_ref, original
        else:
            ref = {
                'docker': 'docker://' + self.registry.ref('matrix/' + name, 'v1'),
                'oci': 'oci:%s:v1' % (self.root / name),
                'oci-archive': 'oci-archive:%s:v1' % (self.root / (name + '.tar')),
                'docker-archive': 'docker-archive:%s' % (self.root / (name + '.tar')),
                'dir': 'dir:%s' % (self.root / name),
                'docker-daemon': 'docker-daemon:example.test/matrix/%s:v1' % name,
                'containers-storage': self.storage_ref(name) if transport == 'containers-storage' else '',
            }[transport]
            # skopeo writes a docker-archive: with a name; reading needs only the path (it holds one image).
            target = ref + ':matrix/%s:v1' % name if transport == 'docker-archive' else ref
            self.peer.copy(original, target, index=kind == 'index')
            peer_ref = ref
            if transport == 'containers-storage':
                # We read the service's export of the image (uncompressed layers, a synthesized manifest); skopeo reads the
                # manifest stored with it. What we must read is what skopeo exports from the store as a docker-archive.
                peer_ref = 'docker-archive:%s' % (self.root / (name + '-export.tar'))
                self.peer.copy(ref, peer_ref + ':example.test/matrix/%s:v1' % name)
        raw = self.peer.raw(peer_ref)
        top = json.loads(raw)
        if transport in SINGLE_IMAGE:
            raw = as_we_read(raw)
        children = {}
        if kind == 'index':
            for entry in top['manifests']:
                plat = entry['platform']
                children[platform_name((plat['os'], plat['architecture'], plat.get('variant')))] = entry['mediaType']
        else:
            children[platform_name(PLATFORMS[0])] = top['mediaType']
        images = {}
        diff_ids = self.diff_ids(kind)
        for plat, media_type in children.items():
            digest, config = self.peer.config(peer_ref, plat if kind == 'index' else None)
            assert config['rootfs']['diff_ids'] == diff_ids[plat], 'skopeo wrote %s with other diff_ids' % ref
            images[plat] = Expected(config_digest=digest, diff_ids=diff_ids[plat], media_type=media_type)
        return Source(transport=transport, kind=kind, ref=ref, peer_ref=peer_ref, digest=sha256(raw), media_type=top['mediaType'],
                      images=images)


@pytest.fixture(scope='module')
def sources(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Sources:
    return Sources(registry, tmp_path_factory.mktemp('matrix-sources'))


@pytest.fixture(scope='module')
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp('matrix-dest')


def storage_ref(daemon: PodmanService, name: str) -> str:
    """``containers-storage:[vfs@ROOT+RUNROOT]example.test/matrix/NAME:v1`` in the service's store."""
    return 'containers-storage:[vfs@%s+%s]example.test/matrix/%s:v1' % (daemon.base / 'root', daemon.runroot, name)


def stored_name(ref: str) -> str:
    """The name a docker-daemon: or containers-storage: reference gives the image in the service (``podman images``)."""
    return ref.split(':', 1)[1].rpartition(']')[2]


def destination(transport: str, name: str, registry: Registry, root: Path, daemon: PodmanService | None = None) -> tuple[str, Path | None]:
    """(reference, local path or None for the registry and the daemon) of a fresh destination called ``name``."""
    if transport == 'docker':
        return 'docker://' + registry.ref('matrix/' + name, 'v1'), None
    if transport == 'docker-daemon':
        return 'docker-daemon:example.test/matrix/%s:v1' % name, None
    if transport == 'containers-storage':
        assert daemon is not None
        return storage_ref(daemon, name), None
    path = root / (name + ('.tar' if transport.endswith('archive') else ''))
    details = {'oci': ':v1', 'oci-archive': ':v1', 'docker-archive': ':example.com/matrix/%s:v1' % name, 'dir': ''}[transport]
    return '%s:%s%s' % (transport, path, details), path


def readable(ref: str) -> str:
    """The reference skopeo reads back: a docker-archive: by its path alone (it holds one image)."""
    if ref.startswith('docker-archive:'):
        return ref.split(':', 2)[0] + ':' + ref.split(':', 2)[1]
    return ref


def snapshot(path: Path | None) -> dict[str, tuple[int, int, int]]:
    """Every file under ``path`` with its inode, size and mtime: equal snapshots mean nothing was written."""
    if path is None:
        return {}
    files = [path] if path.is_file() else sorted(p for p in path.rglob('*') if p.is_file())
    out = {}
    for item in files:
        stat = item.stat()
        out[str(item.relative_to(path.parent))] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return out


def as_we_read(raw: str) -> str:
    """skopeo's synthesized manifest of a docker-archive image (uncompressed layers) with the layer type we give it."""
    assert '"mediaType":"%s"' % DOCKER_LAYER not in raw
    return raw.replace('"mediaType":"%s.gzip"' % DOCKER_LAYER, '"mediaType":"%s"' % DOCKER_LAYER)


def assert_reported_digest(peer: Peer, dest: str, digest: str) -> dict[str, t.Any]:
    """The digest our copy reports is the destination's as skopeo reads it; returns the manifest skopeo reads.

    A docker-archive (a daemon's image) holds no manifest: readers synthesize one. skopeo labels every layer of it ``.tar.gzip``
    although they are stored uncompressed; ours says ``.tar`` (a documented, deliberate difference, see
    transports/docker_archive/archive.py), which is also the manifest ``skopeo copy --digestfile`` reports.
    """
    ref = readable(dest)
    raw = peer.raw(ref)
    assert peer.inspect(ref)['Digest'] == sha256(raw)
    if ref.startswith(('docker-archive:', 'docker-daemon:', 'containers-storage:')):
        raw = as_we_read(raw)
    assert sha256(raw) == digest
    return json.loads(raw)


def copy(src: str, dest: str, registry: Registry, daemon: PodmanService | None = None, **extra: t.Any) -> t.Any:
    args: dict[str, t.Any] = {'src': src, 'dest': dest}
    if src.startswith('docker://') or dest.startswith('docker://'):
        args.update(creds(registry))
    if daemon is not None:
        args['daemon_host'] = daemon.host
        if dest.startswith(('docker-daemon:', 'containers-storage:')):
            # One record for the service, as a user's ~/.cache would be: a store keeps no manifest, and a copy that finds the
            # image up to date by ID reports the digest recorded when it was loaded (each run_module has a cache of its own).
            args['blob_info_cache_path'] = str(daemon.base / 'blob-info-cache.sqlite')
    args.update(extra)
    return run_module('image_copy', args)


def assert_second_run_writes_nothing(src: str, dest: str, path: Path | None, registry: Registry, digest: str,
                                     daemon: PodmanService | None = None, **extra: t.Any) -> None:
    before = snapshot(path)
    registry.clear_requests()
    loads = daemon.loads() if daemon is not None else 0
    again = copy(src, dest, registry, daemon, **extra)
    assert not again.failed, again.msg
    assert again.result['changed'] is False, again.result
    assert again.result['digest'] == digest
    if dest.startswith(('docker-daemon:', 'containers-storage:')):
        # Decided by image ID: the service was asked for the name's record, nothing was exported.
        assert again.result['rule'] == 'image_id' and again.result['image_id'] == again.result['diff']['before']['image_id'], again.result
    assert again.result['blobs'] == {'copied': 0, 'skipped': 0, 'mounted': 0}
    assert blob_writes(registry) == []
    assert snapshot(path) == before
    if daemon is not None:
        assert daemon.loads() == loads


def matrix() -> t.Iterator[t.Any]:
    for kind in KINDS:
        for src in TRANSPORTS:
            for dest in TRANSPORTS:
                marks: list[t.Any] = []
                if kind == 'index' and src in SINGLE_IMAGE:
                    marks.append(pytest.mark.skip(reason=INDEX_SOURCE_SKIP % src))
                if {src, dest} & set(IN_SERVICE) and not podman_available():
                    marks.append(pytest.mark.skip(reason=NO_PODMAN))
                if (src, dest, kind) in KNOWN_BUGS:
                    marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[(src, dest, kind)]))
                yield pytest.param(src, dest, kind, id='%s-%s-to-%s' % (kind, src, dest), marks=marks)


@pytest.fixture(scope='module')
def daemon(tmp_path_factory: pytest.TempPathFactory, sources: Sources) -> t.Iterator[PodmanService]:
    """Podman's service, started by the first docker-daemon cell, stopped with the module."""
    with PodmanService(tmp_path_factory.mktemp('matrix-podman')) as service:
        sources.peer.daemon = service
        yield service


@pytest.mark.parametrize('src_transport, dest_transport, kind', list(matrix()))
def test_copy_matrix(src_transport: str, dest_transport: str, kind: str, sources: Sources, registry: Registry, workdir: Path,
                     request: pytest.FixtureRequest) -> None:
    """One cell: copy, compare with the source through skopeo's eyes, have skopeo read it all, copy again for nothing."""
    daemon = request.getfixturevalue('daemon') if {src_transport, dest_transport} & set(IN_SERVICE) else None
    source = sources.get(src_transport, kind)
    name = '%s-%s-to-%s' % (kind, src_transport, dest_transport)
    if kind == 'index' and dest_transport in SINGLE_IMAGE:
        index_into_single_image(source, dest_transport, name, registry, workdir, sources.peer, daemon)
        return
    dest, path = destination(dest_transport, name, registry, workdir, daemon)
    multi_arch = 'all' if kind == 'index' else 'system'
    first = copy(source.ref, dest, registry, daemon, multi_arch=multi_arch)
    assert not first.failed, first.msg
    assert first.result['changed'] is True, first.result
    assert first.result['source_digest'] == source.digest
    assert first.result['converted'] is (first.result['digest'] != source.digest)

    peer = sources.peer
    top = assert_reported_digest(peer, dest, first.result['digest'])
    if kind == 'index':
        # The whole index, byte for byte: its digest is kept and every platform is there.
        assert first.result['index_digest_kept'] is True, first.result
        assert first.result['digest'] == source.digest
        assert top['mediaType'] == OCI_INDEX
        assert sorted(first.result['platforms']) == sorted(source.images)
    for plat, expected in source.images.items():
        config_digest, config = peer.config(readable(dest), plat if kind == 'index' else None)
        assert config['rootfs']['diff_ids'] == expected.diff_ids, plat
        if dest_transport in OCI_ONLY and expected.media_type == DOCKER_V2S2:
            # Docker -> OCI re-serialises the config, as containers/image does: compare with skopeo's copy of the same pair.
            assert top['mediaType'] == OCI_MANIFEST
            theirs, dummy = destination(dest_transport, name + '-skopeo', registry, workdir, daemon)
            peer.copy(source.peer_ref, theirs)
            assert config_digest == peer.config(theirs)[0], 'config converted unlike skopeo'
            assert config_digest != expected.config_digest
            if first.result['rule'] == 'digest':  # no layer recompressed: the manifests are byte-identical too
                assert first.result['digest'] == peer.inspect(theirs)['Digest']
        else:
            assert config_digest == expected.config_digest, plat
    if kind != 'index':
        wanted_type = {'oci': OCI_MANIFEST, 'oci-archive': OCI_MANIFEST, 'docker-archive': DOCKER_V2S2,
                       'docker-daemon': DOCKER_V2S2, 'containers-storage': DOCKER_V2S2}.get(dest_transport, source.media_type)
        assert top['mediaType'] == wanted_type
    # skopeo reads every blob of what we wrote (and verifies each digest on the way).
    peer.copy(readable(dest), 'dir:%s' % (workdir / (name + '-readback')), index=kind == 'index')

    assert_second_run_writes_nothing(source.ref, dest, path, registry, first.result['digest'], daemon, multi_arch=multi_arch)


def index_into_single_image(source: Source, dest_transport: str, name: str, registry: Registry, workdir: Path, peer: Peer,
                            daemon: PodmanService | None) -> None:
    """docker-archive and the service's transports cannot hold an index: by default the host's image is copied; multi_arch: all fails before writing."""
    host = host_platform()
    if host is None:
        pytest.skip('the index has no image for this host (%s)' % platform.machine())
    dest, path = destination(dest_transport, name, registry, workdir, daemon)
    first = copy(source.ref, dest, registry, daemon)
    assert not first.failed, first.msg
    assert first.result['changed'] is True
    assert first.result['platform'] == host
    assert first.result['source_digest'] == source.digest
    assert_reported_digest(peer, dest, first.result['digest'])
    config_digest, config = peer.config(readable(dest))
    assert config_digest == source.images[host].config_digest
    assert config['rootfs']['diff_ids'] == source.images[host].diff_ids
    peer.copy(readable(dest), 'dir:%s' % (workdir / (name + '-readback')))
    assert_second_run_writes_nothing(source.ref, dest, path, registry, first.result['digest'], daemon)

    refused_dest, refused_path = destination(dest_transport, name + '-all', registry, workdir, daemon)
    present = sorted(os.listdir(workdir))
    registry.clear_requests()
    loads = daemon.loads() if daemon is not None else 0
    refused = copy(source.ref, refused_dest, registry, daemon, multi_arch='all')
    assert refused.failed, refused.result
    assert refused.result['error_type'] == 'InvalidInputError'
    assert refused.msg == '%s -> %s: the destination cannot store an index; set multi_arch: system to copy one platform' % (
        source.ref, refused_dest)
    if daemon is not None:
        assert daemon.loads() == loads
        assert stored_name(refused_dest) not in daemon.images()
    else:
        assert refused_path is not None and not os.path.lexists(refused_path)
    assert sorted(os.listdir(workdir)) == present, 'files left behind'
    assert blob_writes(registry) == []


def members(path: Path) -> list[tuple[str, str, bytes]]:
    """(name, link target, content) of each member of a tar, in order."""
    out = []
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.isfile() else None
            out.append((member.name, member.linkname, handle.read() if handle is not None else b''))
    return out


@pytest.mark.parametrize('kind', ['oci', 'docker'])
def test_docker_archive_members_like_skopeo(kind: str, sources: Sources, registry: Registry, workdir: Path) -> None:
    """Beyond the matrix: our docker-archive has skopeo's members, in its order, with its bytes (legacy metadata included)."""
    source = sources.get('dir', kind)
    ours, theirs = workdir / ('members-%s-ours.tar' % kind), workdir / ('members-%s-theirs.tar' % kind)
    name = 'example.com/matrix/members-%s:v1' % kind
    result = copy(source.ref, 'docker-archive:%s:%s' % (ours, name), registry)
    assert not result.failed, result.msg
    sources.peer.copy(source.peer_ref, 'docker-archive:%s:%s' % (theirs, name))
    assert members(ours) == members(theirs)
