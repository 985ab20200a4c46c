"""Shared registry clients (ClientPool), request accounting and rate limits, against a real registry.

The test bed's registry sends neither ``429`` nor ``RateLimit-*`` headers, so the FaultProxy in front
of it (token auth, TLS from the test bed's CA) adds them. Copies run in this process through
``copy.execute.copy_image`` with a ClientPool in the connection options, as the sync engine runs
them, so that the pool's counts can be checked against what the proxy, the registry's access log
and the token server saw. One copy runs as the ``image_copy`` module, for its one-line message.
"""

from __future__ import annotations

import concurrent.futures
import json
import typing as t
from pathlib import Path

import pytest

from ocikit_it import PASSWORD, USER, run_module
from ocikit_testbed import FaultProxy, LayerSpec, Registry, build_image

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import CopyResult, copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.errors import TooManyRequestsError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.pool import ClientPool
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name

REPO = 'rl/src'


class Bed:
    """The registry, the proxy in front of it, two images in REPO (tags a and b) and connection options."""

    def __init__(self, reg: Registry, proxy: FaultProxy, tmp: Path) -> None:
        self.reg, self.proxy, self.tmp = reg, proxy, tmp
        self.registries_d = tmp / 'registries.d'  # empty: no lookaside anywhere but here
        self.registries_d.mkdir()
        self.images = {
            'a': build_image(tmp / 'img-a', 'a', layers=[LayerSpec(size=40_000), LayerSpec(size=20_000)], seed=11),
            'b': build_image(tmp / 'img-b', 'b', layers=[LayerSpec(size=30_000)], seed=12),
        }
        for tag, image in self.images.items():
            copy(image.oci_ref, 'docker://' + reg.ref(REPO, tag), self.options(), self.options())

    def options(self, pool: ClientPool | None = None, **extra: t.Any) -> ConnectionOptions:
        values: dict[str, t.Any] = dict(username=USER, password=PASSWORD, cert_dir=str(self.reg.cert_dir), registries_d=str(self.registries_d),
                                        timeout=10, retry_delay=0.1, clients=pool)
        values.update(extra)
        return ConnectionOptions(**values)

    def pull(self, tag: str, layout: Path, pool: ClientPool | None = None, **extra: t.Any) -> CopyResult:
        """Copy REPO:tag through the proxy into an OCI layout."""
        return copy('docker://' + self.proxy.ref(REPO, tag), 'oci:%s:%s' % (layout, tag), self.options(pool, **extra), self.options())

    def token_requests(self) -> list[t.Any]:
        assert self.reg.token_server is not None
        return [r for r in self.reg.token_server.requests if r.scopes == ('repository:%s:pull' % REPO,)]


def copy(src: str, dest: str, src_options: ConnectionOptions, dest_options: ConnectionOptions) -> CopyResult:
    return copy_image(parse_image_name(src), parse_image_name(dest), src_options, dest_options, CopyOptions())


def layout_tag(layout: Path, tag: str) -> str | None:
    """The digest ``tag`` names in an OCI layout (None when the layout or the tag is absent)."""
    index = layout / 'index.json'
    if not index.exists():
        return None
    for entry in json.loads(index.read_text())['manifests']:
        if entry.get('annotations', {}).get('org.opencontainers.image.ref.name') == tag:
            return entry['digest']
    return None


@pytest.fixture(scope='module')
def bed(token_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Bed]:
    with FaultProxy(token_registry) as proxy:
        yield Bed(token_registry, proxy, tmp_path_factory.mktemp('rate-limits'))


@pytest.fixture(autouse=True)
def clean_proxy(bed: Bed) -> t.Iterator[None]:
    bed.proxy.clear_faults()
    bed.proxy.clear_requests()
    yield
    bed.proxy.clear_faults()


def test_a_copy_through_429s_completes_and_counts_the_waits(bed: Bed, tmp_path: Path) -> None:
    blob_429 = bed.proxy.add_fault('status', 'GET', r'/blobs/sha256:', status=429, retry_after='1', times=2)
    # A 429 without Retry-After, saying when the limit resets in the IETF draft's headers.
    manifest_429 = bed.proxy.add_fault('status', 'GET', r'/manifests/a$', status=429, times=1,
                                       headers={'RateLimit-Limit': '100', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '1'})
    with ClientPool() as pool:
        result = bed.pull('a', tmp_path / 'out', pool, retry_delay=30)
        stats = pool.stats()[bed.proxy.host]
    assert result.changed and layout_tag(tmp_path / 'out', 'a') == bed.images['a'].manifest_digest
    assert (blob_429.hits, manifest_429.hits) == (2, 1)
    assert stats['rate_limited'] == 3 and stats['retries'] == 3
    # Every request held back by a pause counts: at least the three refused ones, each about 1 s.
    assert stats['rate_limit_waits'] >= 3 and 2.5 < stats['rate_limit_wait_seconds'] < 3 * 1.5 + 1
    # What the registry saw: each refused request came again after the wait it was asked for (not after a 30 s backoff).
    log = bed.proxy.requests
    for index, record in enumerate(log):
        if record.fault == 'status':
            again = next(later for later in log[index + 1:] if (later.method, later.path) == (record.method, record.path))
            assert 0.9 < again.at - record.at < 5, (record.path, again.at - record.at)
    # The client's count is what reached the registry, and its token server (a GET for each token).
    assert stats['methods']['GET'] == len([r for r in log if r.method == 'GET']) + stats['token_fetches']
    assert stats['manifest_gets'] == len([r for r in log if r.method == 'GET' and '/manifests/' in r.path])


def test_remaining_zero_paces_the_next_request_instead_of_earning_a_429(bed: Bed, tmp_path: Path) -> None:
    announce = bed.proxy.add_fault('headers', 'GET', r'/manifests/a$', times=1, headers={'RateLimit-Remaining': '0', 'RateLimit-Reset': '2'})
    with ClientPool() as pool:
        result = bed.pull('a', tmp_path / 'out', pool)
        stats = pool.stats()[bed.proxy.host]
    assert result.changed and layout_tag(tmp_path / 'out', 'a') == bed.images['a'].manifest_digest
    assert announce.hits == 1
    # Nothing reached the registry while its limit was used up; the requests held back (the config and the layers,
    # read in parallel) each waited what was left of the 2 s, and none was refused.
    log = bed.proxy.requests
    first = next(index for index, record in enumerate(log) if record.fault == 'headers')
    assert len(log) > first + 1 and all(1.5 < later.at - log[first].at < 4 for later in log[first + 1:])
    assert stats['rate_limited'] == 0 and stats['retries'] == 0
    assert 1 <= stats['rate_limit_waits'] <= len(log) - first - 1
    assert 1.5 * stats['rate_limit_waits'] < stats['rate_limit_wait_seconds'] <= 2.0 * stats['rate_limit_waits']


def test_a_reset_beyond_max_retry_after_fails_at_once(bed: Bed, tmp_path: Path) -> None:
    # Docker Hub's form: the window is all that is known of the reset.
    headers = {'RateLimit-Limit': '100;w=21600', 'RateLimit-Remaining': '0;w=21600'}
    bed.proxy.add_fault('headers', 'GET', r'/manifests/a$', times=1, headers=headers)
    with ClientPool() as pool, pytest.raises(TooManyRequestsError) as info:
        bed.pull('a', tmp_path / 'out', pool)
    assert info.value.message.endswith(': registry %s asks to wait 21600 s (RateLimit-Remaining: 0), longer than max_retry_after (60 s); '
                                       'not waiting' % bed.proxy.host), info.value.message
    assert info.value.retry_after is not None and 21500 < info.value.retry_after <= 21600
    assert layout_tag(tmp_path / 'out', 'a') is None
    # The manifest answer announced it; nothing more was sent.
    assert [(r.method, r.path) for r in bed.proxy.requests][-1] == ('GET', '/v2/%s/manifests/a' % REPO)


def test_the_module_reports_a_reset_beyond_max_retry_after_in_one_line(bed: Bed, tmp_path: Path) -> None:
    bed.proxy.add_fault('headers', 'GET', r'/manifests/a$', times=1, headers={'RateLimit-Remaining': '0', 'RateLimit-Reset': '3600'})
    run = run_module('image_copy', {'src': 'docker://' + bed.proxy.ref(REPO, 'a'), 'dest': 'oci:%s:a' % (tmp_path / 'out'),
                                    'username': USER, 'password': PASSWORD, 'cert_dir': str(bed.reg.cert_dir),
                                    'registries_d': str(bed.registries_d), 'timeout': 10}, timeout=120)
    assert run.failed and 'exception' not in run.result and '\n' not in run.msg
    assert 'registry %s asks to wait 3600 s (RateLimit-Remaining: 0), longer than max_retry_after (60 s); not waiting' % bed.proxy.host in run.msg
    assert not (tmp_path / 'out').exists() or layout_tag(tmp_path / 'out', 'a') is None


def test_two_copies_through_one_pool_ping_once_and_fetch_one_token(bed: Bed, tmp_path: Path) -> None:
    before = len(bed.token_requests())
    with ClientPool() as pool:
        bed.pull('a', tmp_path / 'out-a', pool)
        bed.pull('b', tmp_path / 'out-b', pool)
        stats = pool.stats()[bed.proxy.host]
    assert len(bed.token_requests()) - before == 1 and stats['token_fetches'] == 1
    assert [(r.method, r.path) for r in bed.proxy.requests].count(('GET', '/v2/')) == 1
    assert stats['requests'] == len(bed.proxy.requests) + 1 and stats['manifest_gets'] == 2
    # Every byte of both images came through this pool's one client (error bodies and token answers are not part of an image).
    assert stats['bytes_received'] >= sum(image.total_size for image in bed.images.values())
    # Without a pool, each copy has its own client: its own ping and its own token.
    before = len(bed.token_requests())
    bed.proxy.clear_requests()
    bed.pull('a', tmp_path / 'own-a')
    bed.pull('b', tmp_path / 'own-b')
    assert len(bed.token_requests()) - before == 2
    assert [(r.method, r.path) for r in bed.proxy.requests].count(('GET', '/v2/')) == 2


def test_an_up_to_date_destination_costs_no_manifest_get(bed: Bed) -> None:
    dest = 'docker://' + bed.reg.ref('rl/mirror', 'a')
    src = 'docker://' + bed.proxy.ref(REPO, 'a')
    copy(src, dest, bed.options(), bed.options())
    with ClientPool() as pool:
        result = copy(src, dest, bed.options(pool), bed.options(pool))
        stats = pool.stats()
    assert not result.changed
    assert sorted(stats) == sorted([bed.proxy.host, bed.reg.host])
    assert stats[bed.reg.host]['manifest_gets'] == 0 and stats[bed.reg.host]['methods']['HEAD'] >= 1
    assert sum(stats[bed.reg.host]['methods'][m] for m in ('PUT', 'POST', 'PATCH', 'DELETE')) == 0
    assert stats[bed.proxy.host]['manifest_gets'] == 1


def test_parallel_copies_through_one_pool_share_one_ping_and_one_token(bed: Bed, tmp_path: Path) -> None:
    """As a sync runs them: several copies at once from one registry, one client for all of them."""
    before = len(bed.token_requests())
    jobs = [(tag, tmp_path / ('out-%d' % number)) for number in range(3) for tag in ('a', 'b')]
    with ClientPool() as pool, concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as executor:
        results = list(executor.map(lambda job: bed.pull(job[0], job[1], pool, max_parallel=2), jobs))
        stats = pool.stats()[bed.proxy.host]
        assert len(pool.clients()) == 1
    assert all(result.changed for result in results)
    assert [layout_tag(layout, tag) for tag, layout in jobs] == [bed.images[tag].manifest_digest for tag, dummy in jobs]
    assert len(bed.token_requests()) - before == 1 and stats['token_fetches'] == 1
    assert [(r.method, r.path) for r in bed.proxy.requests].count(('GET', '/v2/')) == 1
    assert stats['manifest_gets'] == len(jobs) and stats['requests'] == len(bed.proxy.requests) + 1
    # One bound for the registry, whatever the number of copies: six copies with three blobs each, two requests at a time.
    assert stats['peak_in_flight'] == 2
    # And as the registry saw it: never more than two requests being answered at once.
    assert 1 <= bed.proxy.peak_in_flight <= 2
