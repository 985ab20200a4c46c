"""image_sync under faults (issue 9), between two real token-auth registries, each with its own token server and CA.

* Token auth on both sides: a sync shares one client per registry (transports/docker/pool.py), so each registry is
  pinged once and each scope set gets one token: the source's ``repository:<repo>:pull`` (the tag list and every
  image of the repository), the destination's ``repository:<repo>:pull,push``. The token servers and the access logs
  must agree with ``summary.registries``. A second run changes nothing and reads no destination manifest.
* ``429`` with ``Retry-After`` and a ``RateLimit-Remaining: 0`` announcement, injected by the FaultProxy in front of
  the source, slow the sync down and are counted; a ``Retry-After`` beyond ``max_retry_after`` fails that image at
  once, and ``keep_going`` lists it.
* A sync SIGKILLed after some images finished (watched in ``progress_file``), into a registry, an OCI layout and an
  OCI archive: whatever the kill left is whole (every tag or layout name points at a complete image, the archive is
  the old one or absent), and the rerun completes without copying again what was there.
* SIGKILLs at random points, five per destination type (registry, OCI layout, OCI archive, dir), each after a random number
  of the source blob reads still needed and a random moment more, seeded by ``OCIKIT_KILL_SEED`` (drawn afresh when unset,
  and named with the kill points when a check fails): every time, only whole images, none lost, no blob of an image that
  was there read again; a final run copies only the rest.
* ``keep_going`` past a source image whose layer was deleted from the source registry.

The checks read the registries with a small client of their own (httpx, tokens asked from the token server
directly), never with the collection's.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import json
import os
import random
import tarfile
import time
import typing as t
import urllib.parse
from pathlib import Path

import httpx
import pytest

from ocikit_it import PASSWORD, USER, run_module, run_playbook, skopeo_inspect, start_module
from ocikit_testbed import BuiltImage, FaultProxy, LayerSpec, Registry, build_image

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.pool import ClientPool
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name

MB = 1024 * 1024
SMALL_TAGS = ('1.0', '1.1', '1.2', '2.0', '2.1', 'latest')
BIG_TAGS = tuple('v%02d' % number for number in range(10))
BROKEN_TAGS = ('a', 'b', 'broken', 'c')
ACCEPT = ', '.join(('application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json',
                    'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json'))
WRITES = ('POST', 'PUT', 'PATCH', 'DELETE')


class Api:
    """An independent client of one token-auth test registry: its own token requests, no retries, for setup and checks."""

    def __init__(self, reg: Registry) -> None:
        self.reg = reg
        self.http = reg.http_client(timeout=30)
        self._tokens: dict[str, str] = {}

    def request(self, method: str, path: str, actions: str = 'pull', **kwargs: t.Any) -> httpx.Response:
        repository = path.split('/')[2] + '/' + path.split('/')[3]
        scope = 'repository:%s:%s' % (repository, actions)
        if scope not in self._tokens:
            server = self.reg.token_server
            assert server is not None
            answer = self.http.get(server.realm, params={'service': server.service, 'scope': scope}, auth=(USER, PASSWORD))
            answer.raise_for_status()
            self._tokens[scope] = answer.json()['token']
        headers = dict(kwargs.pop('headers', {}), Authorization='Bearer ' + self._tokens[scope])
        return self.http.request(method, path, headers=headers, **kwargs)

    def tags(self, repository: str) -> list[str]:
        answer = self.request('GET', '/v2/%s/tags/list' % repository)
        if answer.status_code == 404:
            return []
        answer.raise_for_status()
        return sorted(answer.json().get('tags') or [])

    def digest(self, repository: str, tag: str) -> str | None:
        """The digest ``tag`` names, after checking that the manifest's config and layers are all in the repository."""
        answer = self.request('GET', '/v2/%s/manifests/%s' % (repository, tag), headers={'Accept': ACCEPT})
        if answer.status_code != 200:
            return None
        manifest = answer.json()
        for descriptor in [manifest['config']] + manifest['layers']:
            head = self.request('HEAD', '/v2/%s/blobs/%s' % (repository, descriptor['digest']))
            assert head.status_code == 200 and int(head.headers['content-length']) == descriptor['size'], (tag, descriptor)
        return answer.headers['docker-content-digest']

    def digests(self, repository: str) -> dict[str, str | None]:
        return {tag: self.digest(repository, tag) for tag in self.tags(repository)}


@dataclasses.dataclass
class Bed:
    """Two token-auth registries (src, dest), their checkers, images in src, and an empty registries.d."""

    src: Registry
    dest: Registry
    registries_d: Path
    small: dict[str, BuiltImage]
    big: dict[str, BuiltImage]
    broken: dict[str, BuiltImage]

    def __post_init__(self) -> None:
        self.src_api, self.dest_api = Api(self.src), Api(self.dest)

    def args(self, **extra: t.Any) -> dict[str, t.Any]:
        """image_sync options: credentials and CA per side, and a registries.d with no lookaside (never the default one)."""
        args = {'src_username': USER, 'src_password': PASSWORD, 'src_cert_dir': str(self.src.cert_dir),
                'dest_username': USER, 'dest_password': PASSWORD, 'dest_cert_dir': str(self.dest.cert_dir),
                'registries_d': str(self.registries_d), 'timeout': 30}
        args.update(extra)
        return args


def _push(images: dict[str, BuiltImage], reg: Registry, repository: str, registries_d: Path) -> None:
    """Copy the test images into ``reg`` (in this process, several at once: setup, not under test)."""
    with ClientPool() as pool:
        options = ConnectionOptions(username=USER, password=PASSWORD, cert_dir=str(reg.cert_dir), registries_d=str(registries_d), timeout=30,
                                    clients=pool)

        def push(tag: str) -> None:
            copy_image(parse_image_name(images[tag].oci_ref), parse_image_name('docker://' + reg.ref(repository, tag)), options, options,
                       CopyOptions())

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
            list(executor.map(push, images))


@pytest.fixture(scope='module')
def bed(token_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Bed]:
    base = tmp_path_factory.mktemp('sync-faults')
    registries_d = base / 'registries.d'
    registries_d.mkdir()
    small = {tag: build_image(base / 'small', tag, layers=[LayerSpec(size=20_000 + number)], seed=number + 1)
             for number, tag in enumerate(SMALL_TAGS)}
    # A few MB each, incompressible, every layer its own: a sync of the ten takes long enough to be killed midway,
    # and which blobs belong to which image is unambiguous in the access logs.
    big = {tag: build_image(base / 'big', tag, layers=[LayerSpec(size=3 * MB, compressible=0.05, seed=1000 + number)], seed=100 + number)
           for number, tag in enumerate(BIG_TAGS)}
    broken = {tag: build_image(base / 'broken', tag, layers=[LayerSpec(size=10_000, seed=2000 + number), LayerSpec(size=12_000, seed=3000 + number)],
                               seed=200 + number) for number, tag in enumerate(BROKEN_TAGS)}
    with Registry(base / 'dest-registry', tls=True, auth='token', users={USER: PASSWORD}) as dest:
        _push(small, token_registry, 'faults/app', registries_d)
        _push(big, token_registry, 'big/app', registries_d)
        _push(broken, token_registry, 'kg/app', registries_d)
        the_bed = Bed(token_registry, dest, registries_d, small, big, broken)
        # A layer of kg/app:broken goes away (the manifest stays): what a registry's garbage collection or an operator's
        # mistake leaves behind.
        gone = the_bed.src_api.request('DELETE', '/v2/kg/app/blobs/%s' % broken['broken'].layer_digests[1], 'pull,push,delete')
        assert gone.status_code == 202, gone.text
        yield the_bed


def settled(reg: Registry, expected: int, timeout: float = 5.0) -> list[t.Any]:
    """The access log once it holds ``expected`` lines (the registry logs a request after answering it)."""
    deadline = time.monotonic() + timeout
    while len(reg.requests()) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return reg.requests()


def quiet(reg: Registry, still: float = 0.5, timeout: float = 10.0) -> None:
    """Wait until the registry has logged no request for ``still`` seconds: a request a killed client had sent whole is
    still carried out (a manifest PUT tagging an image a moment after the kill), and must not be mistaken for a later one."""
    deadline = time.monotonic() + timeout
    count, since = len(reg.requests()), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < still:
        time.sleep(0.05)
        if len(reg.requests()) != count:
            count, since = len(reg.requests()), time.monotonic()


def by_tag(result: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {item['dest'].rsplit(':', 1)[1]: item for item in result['images']}


def upload_digests(log: t.Iterable[t.Any]) -> set[str]:
    """The digests of the blobs whose upload completed (the PUT closing an upload session names its digest)."""
    return {urllib.parse.parse_qs(r['query']).get('digest', [''])[0] for r in log if r['method'] == 'PUT' and '/blobs/uploads/' in r['path']}


def read_progress(path: Path) -> list[dict[str, t.Any]]:
    """The complete lines of a progress_file (a line being written when the module was killed is not one)."""
    if not path.exists():
        return []
    text = path.read_text()
    return [json.loads(line) for line in text[:text.rfind('\n') + 1].splitlines()]


def kill_when(args: dict[str, t.Any], condition: t.Callable[[], bool], timeout: float = 120) -> bool:
    """Start image_sync and SIGKILL it as soon as ``condition()`` holds; whether it was still running then."""
    proc = start_module('image_sync', args)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.proc.poll() is None and not condition():
        time.sleep(0.005)
    return proc.kill()


def kill_after(args: dict[str, t.Any], progress: Path, finished: int) -> tuple[list[dict[str, t.Any]], bool]:
    """SIGKILL image_sync once ``finished`` images are in its progress file; the lines then, and whether it still ran."""
    running = kill_when(args, lambda: len(read_progress(progress)) >= finished)
    return read_progress(progress), running


def temp_archive_size(directory: Path) -> int:
    """The size of the archive being written in ``directory`` (AtomicTarWriter's temporary file), 0 when there is none."""
    for path in directory.glob('.ocikit-tmp-*'):
        try:
            if path.is_file():
                return path.stat().st_size
        except OSError:
            pass  # renamed into place meanwhile
    return 0


def layout_names(layout: Path) -> dict[str, str]:
    """name -> digest of every image an OCI layout's index.json names, after checking that every blob it needs is there and whole."""
    index = layout / 'index.json'
    if not index.exists():
        return {}
    return _verified_names(json.loads(index.read_text()), lambda digest: (layout / 'blobs' / 'sha256' / digest.split(':', 1)[1]).read_bytes())


def archive_names(archive: Path) -> dict[str, str]:
    """As :func:`layout_names`, for an OCI archive (read with tarfile, not with the collection)."""
    with tarfile.open(archive) as tar:
        def read(name: str) -> bytes:
            member = tar.extractfile(name)
            assert member is not None, name
            return member.read()
        return _verified_names(json.loads(read('index.json')), lambda digest: read('blobs/sha256/' + digest.split(':', 1)[1]))


def _verified_names(index: dict[str, t.Any], read: t.Callable[[str], bytes]) -> dict[str, str]:
    names = {}
    for entry in index['manifests']:
        manifest_bytes = read(entry['digest'])
        assert 'sha256:' + hashlib.sha256(manifest_bytes).hexdigest() == entry['digest']
        manifest = json.loads(manifest_bytes)
        for descriptor in [manifest['config']] + manifest['layers']:
            data = read(descriptor['digest'])
            assert len(data) == descriptor['size'] and 'sha256:' + hashlib.sha256(data).hexdigest() == descriptor['digest'], descriptor
        names[entry['annotations']['org.opencontainers.image.ref.name']] = entry['digest']
    return names


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(MB), b''):
            digest.update(chunk)
    return digest.hexdigest()


# -- 1. token auth on both sides ----------------------------------------------------------------------------------


def test_token_auth_on_both_sides_one_token_per_registry_then_nothing_to_do(bed: Bed) -> None:
    args = bed.args(src='%s/faults/app' % bed.src.host, dest='%s/tok' % bed.dest.host)
    servers = (t.cast(t.Any, bed.src.token_server), t.cast(t.Any, bed.dest.token_server))
    for run_number in (1, 2):
        asked = [len(server.requests) for server in servers]
        bed.src.clear_requests()
        bed.dest.clear_requests()
        out = run_module('image_sync', args)
        assert not out.failed, out.msg
        summary = out.result['summary']
        tokens = [server.requests[count:] for server, count in zip(servers, asked)]
        stats = summary['registries']
        assert sorted(stats) == sorted([bed.src.host, bed.dest.host])
        # One token per registry and scope set: the tag list and the six source manifests share the source's pull token,
        # the six destinations (one repository) the destination's pull,push token; a second run asks for the same two.
        assert [(r.scopes, r.user, r.status) for r in tokens[0]] == [(('repository:faults/app:pull',), USER, 200)]
        assert [(r.scopes, r.user, r.status) for r in tokens[1]] == [(('repository:tok/app:pull,push',), USER, 200)]
        assert stats[bed.src.host]['token_fetches'] == 1 and stats[bed.dest.host]['token_fetches'] == 1
        for reg in (bed.src, bed.dest):
            # The client counts its token request among its GETs; the registry never sees it.
            log = settled(reg, stats[reg.host]['requests'] - 1)
            assert stats[reg.host]['requests'] == len(log) + 1
            counted = {method: count for method, count in stats[reg.host]['methods'].items() if count}
            assert counted == dict(collections.Counter(r['method'] for r in log) + collections.Counter(GET=1)), (reg.host, counted)
            # One ping (the only request without a token, so the only 401), every other request authorized at once.
            assert [(r['method'], r['path'], r['status']) for r in log if r['status'] == 401] == [('GET', '/v2/', 401)]
            manifest_gets = [r for r in log if r['method'] == 'GET' and '/manifests/' in r['path']]
            assert stats[reg.host]['manifest_gets'] == len(manifest_gets)
        src_log, dest_log = bed.src.requests(), bed.dest.requests()
        # The destination's state read with HEADs, never a manifest GET. Cold: each source manifest read once (GET), never HEADed
        # first (the destination held nothing). Up to date (HEAD-first): each source manifest HEADed once, and no source GET at all.
        source_tags = sorted('/v2/faults/app/manifests/%s' % tag for tag in SMALL_TAGS)
        source_gets = sorted(r['path'] for r in src_log if r['method'] == 'GET' and '/manifests/' in r['path'])
        source_heads = sorted(r['path'] for r in src_log if r['method'] == 'HEAD' and '/manifests/' in r['path'])
        assert (source_gets, source_heads) == ((source_tags, []) if run_number == 1 else ([], source_tags))
        assert [r for r in dest_log if r['method'] == 'GET' and '/manifests/' in r['path']] == []
        assert [r for r in src_log if r['method'] in WRITES] == []
        if run_number == 1:
            assert out.result['changed'] and (summary['copied'], summary['skipped'], summary['failed']) == (6, 0, 0)
            assert len(upload_digests(dest_log)) == 12  # a config and a layer per image
        else:
            assert not out.result['changed'] and (summary['copied'], summary['skipped'], summary['failed']) == (0, 6, 0)
            assert [r for r in dest_log if r['method'] in WRITES] == []
            assert summary['bytes_copied'] == 0
        assert {tag: item['digest'] for tag, item in by_tag(out.result).items()} == {tag: image.manifest_digest for tag, image in bed.small.items()}
    assert bed.dest_api.digests('tok/app') == {tag: image.manifest_digest for tag, image in bed.small.items()}


# -- 2. rate limits through the fault proxy ----------------------------------------------------------------------


def test_429s_and_an_exhausted_limit_slow_the_sync_down(bed: Bed) -> None:
    with FaultProxy(bed.src) as proxy:
        announce = proxy.add_fault('headers', 'GET', r'/manifests/', skip=1, times=1,
                                   headers={'RateLimit-Limit': '100', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '1'})
        manifest_429 = proxy.add_fault('status', 'GET', r'/manifests/', status=429, retry_after='1', skip=1, times=2)
        blob_429 = proxy.add_fault('status', 'GET', r'/blobs/sha256:', status=429, retry_after='1', skip=3, times=2)
        started = time.monotonic()
        out = run_module('image_sync', bed.args(src='%s/faults/app' % proxy.host, dest='%s/rl' % bed.dest.host))
        took = time.monotonic() - started
        log, host = list(proxy.requests), proxy.host
    assert not out.failed, out.msg
    assert (announce.hits, manifest_429.hits, blob_429.hits) == (1, 2, 2)
    summary = out.result['summary']
    assert (summary['copied'], summary['failed']) == (6, 0)
    stats = summary['registries'][host]
    assert stats['rate_limited'] == 4 and stats['retries'] == 4
    # Each refused request waited its second before going again, and so did the request after the announcement:
    # at least five waits, none at the destination.
    assert summary['rate_limit_waits'] == stats['rate_limit_waits'] >= 5
    assert summary['registries'][bed.dest.host]['rate_limit_waits'] == 0
    assert stats['rate_limit_wait_seconds'] >= 4.0 and took > 1.0
    for position, record in enumerate(log):
        if record.fault == 'status':
            again = next(later for later in log[position + 1:] if (later.method, later.path) == (record.method, record.path))
            assert 0.9 < again.at - record.at < 5, (record.path, again.at - record.at)
    first = next(position for position, record in enumerate(log) if record.fault == 'headers')
    # Nothing sent after the announcement was answered reached the source within its 1 s: the requests arriving then
    # were already on their way (sent by the other copies, concurrency 4, before the answer came back).
    early = [later.at - log[first].at for later in log[first + 1:] if later.at - log[first].at < 0.9]
    assert len(early) <= 3 and all(delay < 0.3 for delay in early), early
    assert bed.dest_api.digests('rl/app') == {tag: image.manifest_digest for tag, image in bed.small.items()}


def test_a_retry_after_beyond_max_retry_after_fails_that_image_at_once(bed: Bed) -> None:
    with FaultProxy(bed.src) as proxy:
        refuse = proxy.add_fault('status', 'GET', r'/manifests/2\.0$', status=429, retry_after='120', times=None)
        started = time.monotonic()
        out = run_module('image_sync', bed.args(src='%s/faults/app' % proxy.host, dest='%s/rl2' % bed.dest.host, keep_going=True,
                                                max_retry_after=5, concurrency=2))
        took, host = time.monotonic() - started, proxy.host
    assert out.failed and refuse.hits >= 1
    items = by_tag(out.result)
    error = items['2.0']['error']
    assert items['2.0']['action'] == 'failed' and error == (
        'reading manifest %s/faults/app:2.0: TOOMANYREQUESTS: injected fault (HTTP 429 Too Many Requests); the registry asks to wait 120 s '
        '(Retry-After), longer than max_retry_after (5 s)' % host), error
    assert out.msg == '1 of 6 images failed; first: docker://%s/faults/app:2.0: %s' % (host, error)
    assert {tag: item['action'] for tag, item in items.items()} == {tag: 'failed' if tag == '2.0' else 'copied' for tag in SMALL_TAGS}
    # Not waited for, by this image or any other.
    assert out.result['summary']['rate_limit_waits'] == 0 and took < 30
    assert bed.dest_api.digests('rl2/app') == {tag: image.manifest_digest for tag, image in bed.small.items() if tag != '2.0'}


def test_a_token_revoked_mid_sync_is_renewed_and_the_upload_sent_again(bed: Bed) -> None:
    with FaultProxy(bed.dest) as proxy:
        # The registry answers 401 to the token the sync has been using (the proxy drops it from one upload), as when a
        # token expires or is revoked while a long sync runs.
        revoke = proxy.add_fault('revoke', 'PUT', r'/blobs/uploads/', skip=3, times=1)
        out = run_module('image_sync', bed.args(src='%s/faults/app' % bed.src.host, dest='%s/rv' % proxy.host))
        log, host = list(proxy.requests), proxy.host
    assert not out.failed, out.msg
    assert revoke.hits == 1 and out.result['summary']['copied'] == 6
    revoked = next(record for record in log if record.fault == 'revoke')
    # One more token (the first one is dropped), and the blob of the refused upload sent again, whole, with it.
    assert out.result['summary']['registries'][host]['token_fetches'] == 2
    digest = urllib.parse.parse_qs(revoked.query)['digest'][0]
    assert [record.fault for record in log if record.method == 'PUT' and urllib.parse.parse_qs(record.query).get('digest') == [digest]] == [
        'revoke', None]
    assert bed.dest_api.digests('rv/app') == {tag: image.manifest_digest for tag, image in bed.small.items()}


# -- 3. SIGKILL mid-sync, then resume ------------------------------------------------------------------------------


def test_sigkill_registry_to_registry_then_resume_without_copying_again(bed: Bed, tmp_path: Path) -> None:
    progress = tmp_path / 'progress.jsonl'
    args = bed.args(src='%s/big/app' % bed.src.host, dest='%s/killed' % bed.dest.host, concurrency=2, progress_file=str(progress))
    finished, running = kill_after(args, progress, 3)
    assert running and 3 <= len(finished) < len(BIG_TAGS), finished
    done = {line['dest'].rsplit(':', 1)[1] for line in finished}
    assert all(line['action'] == 'copied' for line in finished)
    # What the kill left: every tag names a whole image (the registry takes a manifest only once its blobs are there).
    quiet(bed.dest)
    present = bed.dest_api.digests('killed/app')
    assert done <= set(present) and present == {tag: bed.big[tag].manifest_digest for tag in present}
    bed.dest.clear_requests()
    again = run_module('image_sync', args)
    assert not again.failed, again.msg
    actions = {tag: item['action'] for tag, item in by_tag(again.result).items()}
    assert actions == {tag: 'skipped' if tag in present else 'copied' for tag in BIG_TAGS}
    log = bed.dest.requests()
    # Nothing of an image that was there is sent again: no blob upload, no manifest PUT.
    copied = [tag for tag in BIG_TAGS if tag not in present]
    uploaded = upload_digests(log)
    assert uploaded and uploaded <= {digest for tag in copied for digest in bed.big[tag].blob_digests}
    manifests_put = sorted(r['path'] for r in log if r['method'] == 'PUT' and '/manifests/' in r['path'])
    assert manifests_put == ['/v2/killed/app/manifests/%s' % tag for tag in copied]
    assert bed.dest_api.digests('killed/app') == {tag: image.manifest_digest for tag, image in bed.big.items()}
    assert [json.loads(line)['action'] for line in progress.read_text().splitlines()].count('copied') == len(copied)


def test_sigkill_into_an_oci_layout_then_resume_without_copying_again(bed: Bed, tmp_path: Path) -> None:
    layout, progress = tmp_path / 'layout', tmp_path / 'progress.jsonl'
    args = bed.args(src='%s/big/app' % bed.src.host, dest=str(layout), dest_type='oci', concurrency=2, progress_file=str(progress))
    finished, running = kill_after(args, progress, 3)
    assert running and 3 <= len(finished) < len(BIG_TAGS), finished
    done = {line['dest'].rsplit(':', 1)[1] for line in finished}
    # The layout names only whole images (every blob there, hashing to its name), and skopeo reads them.
    present = {name.split(':', 1)[1]: digest for name, digest in layout_names(layout).items()}
    assert done <= set(present) and present == {tag: bed.big[tag].manifest_digest for tag in present}
    for tag in present:
        assert skopeo_inspect('oci:%s:app:%s' % (layout, tag))['Digest'] == bed.big[tag].manifest_digest
    quiet(bed.src)
    bed.src.clear_requests()
    again = run_module('image_sync', args)
    assert not again.failed, again.msg
    actions = {tag: item['action'] for tag, item in by_tag(again.result).items()}
    assert actions == {tag: 'skipped' if tag in present else 'copied' for tag in BIG_TAGS}
    # No blob of an image the layout had is read from the source again.
    read = {r['path'].rsplit('/', 1)[1] for r in bed.src.requests() if r['method'] == 'GET' and '/blobs/' in r['path']}
    assert read and read <= {digest for tag in BIG_TAGS if tag not in present for digest in bed.big[tag].blob_digests}
    assert layout_names(layout) == {'app:' + tag: image.manifest_digest for tag, image in bed.big.items()}


def test_sigkill_into_an_oci_archive_leaves_the_old_archive_or_none(bed: Bed, tmp_path: Path) -> None:
    progress = tmp_path / 'progress.jsonl'
    src = '%s/big/app' % bed.src.host
    # Killed before its first archive was written: there is no archive, not a partial one.
    fresh = tmp_path / 'fresh.tar'
    finished, running = kill_after(bed.args(src=src, dest=str(fresh), dest_type='oci-archive', concurrency=2, progress_file=str(progress)),
                                   progress, 3)
    assert running and 3 <= len(finished) < len(BIG_TAGS) and not fresh.exists()
    archive = tmp_path / 'bundle.tar'
    first = run_module('image_sync', bed.args(src=src, dest=str(archive), dest_type='oci-archive', tag_regex='^v0[01]$'))
    assert not first.failed and first.result['summary']['copied'] == 2, first.msg
    old = (sha256_file(archive), archive.stat().st_ino)
    args = bed.args(src=src, dest=str(archive), dest_type='oci-archive', concurrency=2, progress_file=str(progress))
    finished, running = kill_after(args, progress, 5)
    assert running and 5 <= len(finished) < len(BIG_TAGS), finished
    # The old archive, untouched and whole; what the killed run staged beside it is a temporary directory only.
    assert (sha256_file(archive), archive.stat().st_ino) == old
    assert archive_names(archive) == {'app:v00': bed.big['v00'].manifest_digest, 'app:v01': bed.big['v01'].manifest_digest}
    assert skopeo_inspect('oci-archive:%s:app:v01' % archive)['Digest'] == bed.big['v01'].manifest_digest
    strays = sorted(path.name for path in tmp_path.iterdir() if path.name not in ('bundle.tar', 'progress.jsonl'))
    assert strays and all(name.startswith('.ocikit-tmp-sync-') for name in strays), strays
    # Killed while the new archive is written (its temporary file beside it, a few MB long already): still the old archive.
    running = kill_when(args, lambda: temp_archive_size(tmp_path) > 2 * MB)
    assert running and len(read_progress(progress)) == len(BIG_TAGS)
    assert (sha256_file(archive), archive.stat().st_ino) == old
    assert archive_names(archive) == {'app:v00': bed.big['v00'].manifest_digest, 'app:v01': bed.big['v01'].manifest_digest}
    again = run_module('image_sync', args)
    assert not again.failed, again.msg
    # The two images the old archive held are carried over from it, not read from the source.
    summary = again.result['summary']
    assert (summary['copied'], summary['skipped']) == (8, 2)
    assert archive_names(archive) == {'app:' + tag: image.manifest_digest for tag, image in bed.big.items()}
    assert skopeo_inspect('oci-archive:%s:app:v09' % archive)['Digest'] == bed.big['v09'].manifest_digest


def test_a_later_sync_sweeps_the_staging_layout_a_killed_sync_left(bed: Bed, tmp_path: Path) -> None:
    progress, archive = tmp_path / 'progress.jsonl', tmp_path / 'bundle.tar'
    args = bed.args(src='%s/big/app' % bed.src.host, dest=str(archive), dest_type='oci-archive', concurrency=2, progress_file=str(progress))
    kill_after(args, progress, 3)
    strays = [path for path in tmp_path.iterdir() if path.name.startswith('.ocikit-tmp-')]
    # Nobody holds them (the writer is dead); made older than fsutil.STALE_AFTER (600 s), as by a night's wait.
    then = time.time() - 700
    for stray in strays:
        for path in [stray, *stray.rglob('*')]:
            os.utime(path, (then, then), follow_symlinks=False)
    done = run_module('image_sync', args)
    assert not done.failed and done.result['summary']['copied'] == len(BIG_TAGS), done.msg
    # What a kill leaves is a whole copy of the images synced so far (here some 10 MB): it must not pile up run after run.
    assert strays and [path.name for path in tmp_path.iterdir() if path.name.startswith('.ocikit-tmp-')] == []


# -- 3b. SIGKILL at random moments, into every destination type ---------------------------------------------------

#: Kills per destination type. The moments are drawn from OCIKIT_KILL_SEED (a fresh seed when unset), named when a check fails.
KILLS = 5
KILL_SEED = int(os.environ.get('OCIKIT_KILL_SEED') or random.SystemRandom().randrange(1, 2 ** 31))
#: The longest a kill waits after the sync has read the blobs it was waiting for: within a copy (its blob written, its commit), and
#: after the last one (the last commits, an archive written).
KILL_LATE, KILL_LAST = 0.05, 0.5


@contextlib.contextmanager
def replay_hint(seed: int, moments: list[tuple[int, float]], progress: list[int]) -> t.Iterator[None]:
    """Name the seed (the kill moments drawn so far, the whole images after each) in a failing check, so that the kills can be replayed."""
    try:
        yield
    except AssertionError as exc:
        drawn = ', '.join('%.3f s after source blob read %d' % (late, reads) for reads, late in moments)
        raise AssertionError('%s\n(kills %s; whole images after each: %s; OCIKIT_KILL_SEED=%d replays them)'
                             % (exc, drawn, progress, seed)) from exc


def source_blob_reads(reg: Registry) -> int:
    """How many blob GETs the source has answered since its log was cleared."""
    return sum(1 for r in reg.requests() if r['method'] == 'GET' and '/blobs/' in r['path'])


def kill_at(args: dict[str, t.Any], reg: Registry, reads: int, late: float, timeout: float = 120) -> bool:
    """Start image_sync, wait until ``reg`` answered ``reads`` blob GETs, then ``late`` seconds more, and SIGKILL it (if still running)."""
    proc = start_module('image_sync', args)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.proc.poll() is None and source_blob_reads(reg) < reads:
        time.sleep(0.005)
    time.sleep(late)
    return proc.kill()


def dir_images(root: Path) -> dict[str, str]:
    """tag -> manifest digest of every dir: image a sync wrote under ``root`` (``app:<tag>``), each checked whole: its version file,
    manifest and every blob it names, hashing to their names. Anything else there must be what a killed copy leaves beside an
    image it was writing (``.app:<tag>.ocikit-tmp-*``, ``.app:<tag>.ocikit-old-*``)."""
    images = {}
    if not root.exists():
        return images
    for path in sorted(root.iterdir()):
        if path.name.startswith('.'):
            assert '.ocikit-tmp-' in path.name or '.ocikit-old-' in path.name, path
            continue
        assert path.name.startswith('app:') and (path / 'version').is_file(), sorted(p.name for p in path.iterdir())
        raw = (path / 'manifest.json').read_bytes()
        manifest = json.loads(raw)
        for descriptor in [manifest['config']] + manifest['layers']:
            data = (path / descriptor['digest'].split(':', 1)[1]).read_bytes()
            assert len(data) == descriptor['size'] and 'sha256:' + hashlib.sha256(data).hexdigest() == descriptor['digest'], (path, descriptor)
        images[path.name.split(':', 1)[1]] = 'sha256:' + hashlib.sha256(raw).hexdigest()
    return images


def file_identities(root: Path, tags: t.Iterable[str]) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every file of the dir: images ``tags`` under ``root``: a skipped image keeps them all."""
    return {str(path): (path.stat().st_ino, path.stat().st_mtime_ns) for tag in tags for path in sorted((root / ('app:' + tag)).iterdir())}


class KillTarget:
    """One destination of the random-kill test: its image_sync options and what it holds, whole."""

    def __init__(self, bed: Bed, dest_type: str, base: Path, name: str) -> None:
        self.bed, self.dest_type = bed, dest_type
        if dest_type == 'docker':
            self.dest = '%s/%s' % (bed.dest.host, name)
        else:
            self.dest = str(base / (name + ('.tar' if dest_type == 'oci-archive' else '')))

    def args(self, **extra: t.Any) -> dict[str, t.Any]:
        # One image at a time: what a kill interrupts is one copy, at a point that moves with the blobs read.
        return self.bed.args(src='%s/big/app' % self.bed.src.host, dest=self.dest, dest_type=self.dest_type, concurrency=1, **extra)

    def images(self) -> dict[str, str]:
        """tag -> digest of every image the destination names, each checked whole (every blob there, hashing to its name)."""
        if self.dest_type == 'docker':
            return {tag: t.cast(str, digest) for tag, digest in self.bed.dest_api.digests(self.dest.split('/', 1)[1] + '/app').items()}
        if self.dest_type == 'oci':
            return {name.split(':', 1)[1]: digest for name, digest in layout_names(Path(self.dest)).items()}
        if self.dest_type == 'oci-archive':
            return {name.split(':', 1)[1]: digest for name, digest in archive_names(Path(self.dest)).items()} if Path(self.dest).exists() else {}
        return dir_images(Path(self.dest))


@pytest.mark.parametrize('dest_type', ['docker', 'oci', 'oci-archive', 'dir'])
def test_sigkill_at_random_moments_leaves_whole_images_and_the_rerun_copies_only_the_rest(bed: Bed, tmp_path: Path, dest_type: str) -> None:
    rng = random.Random('%d %s' % (KILL_SEED, dest_type))
    moments: list[tuple[int, float]] = []
    progress: list[int] = []
    with replay_hint(KILL_SEED, moments, progress):
        target = KillTarget(bed, dest_type, tmp_path, 'rk-' + dest_type.replace('-', ''))
        expected = {tag: image.manifest_digest for tag, image in bed.big.items()}
        for dummy in range(KILLS + 1):
            before = target.images()
            kept = file_identities(Path(target.dest), before) if dest_type == 'dir' else {}
            archive = (sha256_file(Path(target.dest)), Path(target.dest).stat().st_ino) if dest_type == 'oci-archive' and before else None
            for reg in (bed.src, bed.dest):
                quiet(reg)
                reg.clear_requests()
            if len(moments) < KILLS:
                # Anywhere in what is left to do: after 0 (while starting, planning) to all (then committing, writing the archive,
                # or done) of the blobs the images not there yet need, and a moment more (in the middle of a blob, a commit).
                needed = sum(len(bed.big[tag].blob_digests) for tag in BIG_TAGS if tag not in before)
                reads = rng.randint(0, needed)
                moments.append((reads, rng.uniform(0.0, KILL_LAST if reads == needed else KILL_LATE)))
                kill_at(target.args(), bed.src, *moments[-1])
                for reg in (bed.src, bed.dest):
                    quiet(reg)
            else:
                final = run_module('image_sync', target.args())
                assert not final.failed, final.msg
                assert {tag: item['action'] for tag, item in by_tag(final.result).items()} == {
                    tag: 'skipped' if tag in before else 'copied' for tag in BIG_TAGS}
            after = target.images()
            progress.append(len(after))
            # Whatever the kill left is whole and right, and nothing that was there is lost.
            assert after == {tag: expected[tag] for tag in after} and set(before) <= set(after), (sorted(before), sorted(after))
            # Nothing of an image that was there is copied again: none of its blobs is read from the source ...
            read = {r['path'].rsplit('/', 1)[1] for r in bed.src.requests() if r['method'] == 'GET' and '/blobs/' in r['path']}
            assert read <= {digest for tag in BIG_TAGS if tag not in before for digest in bed.big[tag].blob_digests}, sorted(before)
            # ... nor written at the destination.
            if dest_type == 'docker':
                log = bed.dest.requests()
                assert upload_digests(log) <= {digest for tag in BIG_TAGS if tag not in before for digest in bed.big[tag].blob_digests}
                assert not [r for r in log if r['method'] == 'PUT' and r['path'].rsplit('/', 1)[1] in before]
            if dest_type == 'dir':
                assert file_identities(Path(target.dest), before) == kept
            if archive is not None and after == before:
                # An archive is the old one, untouched, or the new one whole.
                assert (sha256_file(Path(target.dest)), Path(target.dest).stat().st_ino) == archive
        assert after == expected
        if dest_type == 'dir':
            # What the kills left beside the images is no image: a later sync from the tree finds exactly the ten.
            layout = tmp_path / 'from-dir'
            back = run_module('image_sync', bed.args(src=target.dest, src_type='dir', dest=str(layout), dest_type='oci'))
            assert not back.failed, back.msg
            assert layout_names(layout) == {'app:' + tag: digest for tag, digest in expected.items()}


# -- 4. keep_going past a broken source image ----------------------------------------------------------------------


def test_keep_going_past_a_source_image_whose_layer_was_deleted(bed: Bed, tmp_path: Path) -> None:
    progress = tmp_path / 'progress.jsonl'
    args = bed.args(src='%s/kg/app' % bed.src.host, dest='%s/kg' % bed.dest.host, keep_going=True, concurrency=2, progress_file=str(progress))
    # As a play runs it: the task fails (and the play stops there), with every image's result.
    play = run_playbook('- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                        '    - name: sync\n      ocikit.images.image_sync: %s\n'
                        '    - name: after\n      ansible.builtin.debug: {msg: not reached}\n' % json.dumps(args))
    assert play.rc != 0 and [(name, result['_status']) for name, result in play.tasks()] == [('sync', 'failed')], play.stderr
    result = play.tasks()[0][1]
    items = by_tag(result)
    assert {tag: item['action'] for tag, item in items.items()} == {tag: 'failed' if tag == 'broken' else 'copied' for tag in BROKEN_TAGS}
    missing = bed.broken['broken'].layer_digests[1]
    error = items['broken']['error']
    assert error == 'reading blob %s from %s/kg/app: BLOB_UNKNOWN: blob unknown to registry (%s) (HTTP 404 Not Found)' % (
        missing, bed.src.host, missing), error
    assert result['msg'] == '1 of 4 images failed; first: docker://%s/kg/app:broken: %s' % (bed.src.host, error)
    summary = result['summary']
    assert (summary['copied'], summary['failed'], summary['images']) == (3, 1, 4)
    # The others are there, whole; the broken one has no tag at the destination.
    assert bed.dest_api.digests('kg/app') == {tag: image.manifest_digest for tag, image in bed.broken.items() if tag != 'broken'}
    assert sorted(line['action'] for line in read_progress(progress)) == ['copied', 'copied', 'copied', 'failed']
