"""The fault matrix: every fault of the test bed's FaultProxy against every operation, modules run for real.

Each cell puts one fault rule on the proxy in front of a real registry (token auth, TLS from the
test bed's CA), runs one module as a process and judges the outcome:

``recovered``       the module succeeded and the result is right (the new image, the tag deleted
                    and reported as such, the login stored)
``failed-cleanly``  the module failed with a one-line message, and the destination holds the
                    previous image, complete, or the new one, complete
``bad``             anything else: a traceback (``exception`` or "unexpected error"), a message of
                    several lines, a run past its time bound, a destination holding a partial or
                    unknown image, a success whose result is wrong, a credential received by the
                    redirect target, or a fault that never fired (the cell would prove nothing)

The table and the counts are printed in the terminal summary; every cell is its own test and
fails when it is bad. Some faults must always be recovered from (:data:`MUST_RECOVER`): they are
the failures that may pass, and the retries exist for them.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import shutil
import subprocess
import time
import typing as t
from pathlib import Path

import pytest

from ocikit_it import PASSWORD, USER, run_module
from ocikit_testbed import FaultProxy, LayerSpec, Registry, build_image, http_date

OPS = ('push', 'pull', 'pull-big', 'reg2reg', 'inspect', 'delete', 'login')

#: name -> (kind, parameters); ``retry_after`` given as a callable is evaluated when the cell runs.
FAULTS: dict[str, tuple[str, dict[str, t.Any]]] = {
    'reset-mid-body': ('reset_after', {'nbytes': 10}),
    'lost-answer': ('drop_response', {}),
    'stall': ('stall', {'nbytes': 10, 'seconds': 30}),
    'http-500': ('status', {'status': 500}),
    'http-502': ('status', {'status': 502}),
    'http-503': ('status', {'status': 503}),
    'http-504': ('status', {'status': 504}),
    '429-seconds': ('status', {'status': 429, 'retry_after': '1'}),
    '429-http-date': ('status', {'status': 429, 'retry_after': lambda: http_date(2)}),
    'truncate': ('truncate', {}),
    'lengthen': ('lengthen', {}),
    'wrong-bytes': ('corrupt', {}),
    'oversize': ('oversize', {'seconds': 20}),
    'endless': ('endless', {'seconds': 20}),
    'deep-json': ('deep_json', {}),
    'redirect': ('redirect', {}),
    'revoke-token': ('revoke', {}),
}

#: Which request of each operation the fault hits: (method, path regex, matching requests let through first).
TARGETS = {
    'push': ('PUT', r'/blobs/uploads/', 0),     # the first blob upload (its body is a stream)
    'pull': ('GET', r'/manifests/', 0),         # the source manifest
    'pull-big': ('GET', r'/blobs/BIG$', 0),     # a 6 MiB layer: the client reads it from the socket past httpx (DIRECT_BODY_MIN)
    'reg2reg': ('GET', r'/blobs/', 0),          # the first blob read from the source registry
    'inspect': ('GET', r'/tags/list$', 0),      # the tag list (RepoTags)
    'delete': ('DELETE', r'/manifests/', 0),    # the DELETE itself
    'login': ('GET', r'^/v2/$', 1),             # the authenticated check after the ping
}

#: Where a fault needs another target: a token is revoked mid-operation, after it has served a request
#: (a token refused at its very first use is refused for good, and that is a failure, not a retry).
TARGET_OVERRIDES = {
    ('revoke-token', 'pull'): ('GET', r'/blobs/', 0),
}

#: Failures that may pass: every operation must come through them...
MUST_RECOVER = ('reset-mid-body', 'lost-answer', 'stall', 'http-502', 'http-503', 'http-504', '429-seconds', '429-http-date',
                'truncate', 'revoke-token')
#: ...except where the operation has no "mid": registry_login sends one authenticated request, with a
#: token fetched for it, so a refusal there is final.
MAY_FAIL = {('revoke-token', 'login')}

#: Seconds a cell may take before it counts as a hang.
CELL_BOUND = 90
#: Request timeout given to the modules (a stall must end in a retry well within the bound).
TIMEOUT = 3
TAG = 't'
SECRETS = (PASSWORD, base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode())
ACCEPT = ', '.join(('application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json',
                    'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json'))


def sha256(data: bytes) -> str:
    return 'sha256:' + hashlib.sha256(data).hexdigest()


class Direct:
    """Talks to a registry directly (not through the proxy) to seed repositories and to check what they hold."""

    def __init__(self, reg: Registry) -> None:
        self.reg = reg
        self.http = reg.http_client(timeout=30)
        challenge = self.http.get('/v2/').headers.get('www-authenticate', '')
        self.realm = re.search(r'realm="([^"]+)"', challenge).group(1)
        self.service = re.search(r'service="([^"]+)"', challenge).group(1)
        self._tokens: dict[str, str] = {}

    def _auth(self, repo: str) -> dict[str, str]:
        if repo not in self._tokens:
            answer = self.http.get(self.realm, params={'service': self.service, 'scope': 'repository:%s:pull,push,delete' % repo},
                                   auth=(USER, PASSWORD))
            answer.raise_for_status()
            self._tokens[repo] = answer.json()['token']
        return {'Authorization': 'Bearer ' + self._tokens[repo]}

    def push(self, image: t.Any, repo: str, tag: str = TAG) -> None:
        """Upload ``image`` (from its layout) as ``repo:tag``."""
        auth = self._auth(repo)
        for digest in image.blob_digests:
            opened = self.http.post('/v2/%s/blobs/uploads/' % repo, headers=auth)
            opened.raise_for_status()
            location = opened.headers['location']
            location += ('&' if '?' in location else '?') + 'digest=' + digest.replace(':', '%3A')
            done = self.http.put(location, content=image.blob_path(digest).read_bytes(),
                                 headers=dict(auth, **{'Content-Type': 'application/octet-stream'}))
            done.raise_for_status()
        raw = image.blob_path(image.manifest_digest).read_bytes()
        self.http.put('/v2/%s/manifests/%s' % (repo, tag), content=raw,
                      headers=dict(auth, **{'Content-Type': image.manifest_media_type})).raise_for_status()

    def complete_digest(self, repo: str, tag: str = TAG) -> str | None:
        """The digest ``repo:tag`` holds, after reading back every blob it references; None when absent.

        Raises AssertionError when the image is not complete (a blob missing or with other bytes).
        """
        auth = self._auth(repo)
        answer = self.http.get('/v2/%s/manifests/%s' % (repo, tag), headers=dict(auth, Accept=ACCEPT))
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        manifest = json.loads(answer.content)
        for desc in [manifest['config']] + manifest['layers']:
            blob = self.http.get('/v2/%s/blobs/%s' % (repo, desc['digest']), headers=auth, follow_redirects=True)
            assert blob.status_code == 200, '%s: blob %s answers %d' % (repo, desc['digest'], blob.status_code)
            assert sha256(blob.content) == desc['digest'], '%s: blob %s has other bytes' % (repo, desc['digest'])
        return sha256(answer.content)


def layout_digest(layout: Path, tag: str) -> str | None:
    """The digest ``tag`` names in an OCI layout, after checking every blob it references; None when absent."""
    index_file = layout / 'index.json'
    if not index_file.exists():
        return None
    index = json.loads(index_file.read_text())
    entries = [m for m in index['manifests'] if m.get('annotations', {}).get('org.opencontainers.image.ref.name') == tag]
    if not entries:
        return None
    assert len(entries) == 1, 'tag %s appears %d times in %s' % (tag, len(entries), index_file)

    def blob(digest: str) -> bytes:
        path = layout / 'blobs' / digest.replace(':', '/', 1)
        assert path.exists(), 'blob %s missing in %s' % (digest, layout)
        data = path.read_bytes()
        assert sha256(data) == digest, 'blob %s has other bytes in %s' % (digest, layout)
        return data

    manifest = json.loads(blob(entries[0]['digest']))
    for desc in [manifest['config']] + manifest['layers']:
        blob(desc['digest'])
    return entries[0]['digest']


@dataclasses.dataclass
class Cell:
    op: str
    fault: str
    verdict: str = 'bad'
    why: str = ''
    seconds: float = 0.0


class Matrix:
    """The verdicts so far, rendered as a table with counts."""

    def __init__(self) -> None:
        self.cells: dict[tuple[str, str], Cell] = {}

    def render(self) -> list[str]:
        width = max(len(name) for name in FAULTS) + 2
        lines = ['%d faults x %d operations through FaultProxy (token auth, TLS), one module process per cell' % (len(FAULTS), len(OPS)),
                 ''.ljust(width) + ''.join(op.ljust(16) for op in OPS)]
        for fault in FAULTS:
            row = [self.cells[(op, fault)].verdict if (op, fault) in self.cells else '-' for op in OPS]
            lines.append(fault.ljust(width) + ''.join(verdict.ljust(16) for verdict in row))
        counts = {verdict: sum(1 for cell in self.cells.values() if cell.verdict == verdict)
                  for verdict in ('recovered', 'failed-cleanly', 'bad')}
        lines.append('cells %d: recovered %d, failed-cleanly %d, bad %d'
                     % (len(self.cells), counts['recovered'], counts['failed-cleanly'], counts['bad']))
        for cell in self.cells.values():
            if cell.verdict != 'recovered':
                lines.append('  %s x %s: %s: %s' % (cell.fault, cell.op, cell.verdict, cell.why))
        return lines


class Bed:  # pylint: disable=too-many-instance-attributes
    """Registries, proxies, images and the per-operation runs of the matrix."""

    def __init__(self, reg: Registry, other: Registry, proxy: FaultProxy, tmp: Path) -> None:
        self.reg, self.other, self.proxy, self.tmp = reg, other, proxy, tmp
        self.direct, self.other_direct = Direct(reg), Direct(other)
        self.old = build_image(tmp / 'old', TAG, layers=[LayerSpec(size=30_000)], seed=1, labels={'generation': 'old'})
        self.new = build_image(tmp / 'new', TAG, layers=[LayerSpec(size=30_000), LayerSpec(size=5_000)], seed=2,
                               labels={'generation': 'new'})
        self.big = build_image(tmp / 'big', TAG, layers=[LayerSpec(size=6 * 1024 * 1024, compressible=0.0), LayerSpec(size=5_000)], seed=3,
                               labels={'generation': 'new'})
        self.digests = {self.old.manifest_digest: 'old', self.new.manifest_digest: 'new', self.big.manifest_digest: 'new'}

    def connection(self, **extra: t.Any) -> dict[str, t.Any]:
        opts = {'username': USER, 'password': PASSWORD, 'cert_dir': str(self.reg.cert_dir), 'timeout': TIMEOUT,
                'retry_times': 3, 'retry_delay': 0.1}
        opts.update(extra)
        return opts

    # -- one cell ----------------------------------------------------------------------------------

    def run(self, op: str, fault: str) -> Cell:
        cell = Cell(op, fault)
        repo = 'fm/%s-%s' % (op, fault)
        prepare = getattr(self, 'prepare_' + op.replace('-', '_'))
        state = prepare(repo)
        kind, params = FAULTS[fault]
        params = {key: (value() if callable(value) else value) for key, value in params.items()}
        method, path, skip = TARGET_OVERRIDES.get((fault, op), TARGETS[op])
        path = path.replace('BIG', re.escape(self.big.layer_digests[0]))
        self.proxy.clear_faults()
        self.proxy.clear_requests()
        rule = self.proxy.add_fault(kind, method, path, skip=skip, times=1, **params)
        start = time.monotonic()
        try:
            run = run_module(*self.module_call(op, repo, state), timeout=CELL_BOUND)
        except subprocess.TimeoutExpired:
            cell.why = 'the module ran past %d s' % CELL_BOUND
            return cell
        finally:
            cell.seconds = time.monotonic() - start
            self.proxy.clear_faults()
        cell.why = self.judge(op, repo, state, run, rule.hits)
        if not cell.why and kind == 'redirect' and not run.failed and not self.proxy.recorded:
            cell.why = 'recovered from a redirect that was never followed'
        if not cell.why:
            cell.verdict, cell.why = ('failed-cleanly', run.msg) if run.failed else ('recovered', '')
        return cell

    def judge(self, op: str, repo: str, state: t.Any, run: t.Any, hits: int) -> str:
        """Why the cell is bad, or '' when it is not."""
        if hits == 0:
            return 'the fault never fired'
        if 'exception' in run.result or 'unexpected error' in run.msg.lower() or 'Traceback' in run.stderr:
            return 'traceback: %s' % (run.msg or run.stderr[-300:])
        if run.failed and (not run.msg or '\n' in run.msg):
            return 'not a one-line message: %r' % run.msg
        for record in self.proxy.recorded:
            leaked = [name for name, value in record.headers.items()
                      if name.lower() in ('authorization', 'cookie') or any(secret in value for secret in SECRETS)]
            if leaked:
                return 'the redirect target received %s' % ', '.join(leaked)
        try:
            return getattr(self, 'check_' + op.replace('-', '_'))(repo, state, run)
        except AssertionError as exc:
            return 'destination: %s' % exc

    def generation(self, digest: str | None) -> str:
        return self.digests.get(digest or '', 'absent' if digest is None else 'unknown image %s' % digest)

    # -- operations: prepare (before), module call, check (after) --------------------------------------------

    def prepare_push(self, repo: str) -> None:
        self.direct.push(self.old, repo)

    def prepare_pull(self, repo: str) -> Path:
        self.direct.push(self.new, repo)
        layout = self.tmp / ('layout-' + repo.replace('/', '-'))
        shutil.copytree(self.old.layout_dir, layout)
        return layout

    def prepare_pull_big(self, repo: str) -> Path:
        self.direct.push(self.big, repo)
        layout = self.tmp / ('layout-' + repo.replace('/', '-'))
        shutil.copytree(self.old.layout_dir, layout)
        return layout

    def prepare_reg2reg(self, repo: str) -> None:
        self.direct.push(self.new, repo)
        self.other_direct.push(self.old, repo)

    def prepare_inspect(self, repo: str) -> None:
        self.direct.push(self.new, repo)

    def prepare_delete(self, repo: str) -> None:
        self.direct.push(self.old, repo)

    def prepare_login(self, repo: str) -> Path:
        return self.tmp / ('auth-%s.json' % repo.replace('/', '-'))

    def module_call(self, op: str, repo: str, state: t.Any) -> tuple[str, dict[str, t.Any]]:
        here = 'docker://' + self.proxy.ref(repo, TAG)
        if op == 'push':
            return 'image_copy', dict(self.connection(), src=self.new.oci_ref, dest=here)
        if op in ('pull', 'pull-big'):
            return 'image_copy', dict(self.connection(), src=here, dest='oci:%s:%s' % (state, TAG))
        if op == 'reg2reg':
            return 'image_copy', dict(self.connection(src_cert_dir=str(self.reg.cert_dir), dest_cert_dir=str(self.other.cert_dir)),
                                      src=here, dest='docker://' + self.other.ref(repo, TAG))
        if op == 'inspect':
            return 'image_inspect', dict(self.connection(), image=here)
        if op == 'delete':
            return 'image_delete', dict(self.connection(), image=here)
        return 'registry_login', {'registry': self.proxy.host, 'username': USER, 'password': PASSWORD, 'cert_dir': str(self.reg.cert_dir),
                                  'timeout': TIMEOUT, 'authfile': str(state)}

    def _old_or_new(self, found: str, run: t.Any) -> str:
        if found not in ('old', 'new'):
            return 'holds %s' % found
        if not run.failed and found != 'new':
            return 'succeeded but the destination holds the old image'
        return ''

    def check_push(self, repo: str, state: t.Any, run: t.Any) -> str:
        return self._old_or_new(self.generation(self.direct.complete_digest(repo)), run)

    def check_pull(self, repo: str, state: t.Any, run: t.Any) -> str:
        return self._old_or_new(self.generation(layout_digest(state, TAG)), run)

    def check_pull_big(self, repo: str, state: t.Any, run: t.Any) -> str:
        found = self.generation(layout_digest(state, TAG))
        if found == 'new' and layout_digest(state, TAG) != self.big.manifest_digest:
            return 'holds an image that is not the one pulled'
        return self._old_or_new(found, run)

    def check_reg2reg(self, repo: str, state: t.Any, run: t.Any) -> str:
        return self._old_or_new(self.generation(self.other_direct.complete_digest(repo)), run)

    def check_inspect(self, repo: str, state: t.Any, run: t.Any) -> str:
        if run.failed:
            return ''
        if run.result.get('digest') != self.new.manifest_digest:
            return 'succeeded with digest %s' % run.result.get('digest')
        if run.result['inspect'].get('RepoTags') != [TAG]:
            return 'succeeded with RepoTags %r' % run.result['inspect'].get('RepoTags')
        return ''

    def check_delete(self, repo: str, state: t.Any, run: t.Any) -> str:
        found = self.generation(self.direct.complete_digest(repo))
        if run.failed:
            return '' if found in ('old', 'absent') else 'holds %s' % found
        if found != 'absent':
            return 'succeeded but the tag still holds %s' % found
        if run.result.get('changed') is not True or run.result.get('deleted_tags') != [TAG]:
            return 'deleted, but reported changed=%r deleted_tags=%r' % (run.result.get('changed'), run.result.get('deleted_tags'))
        return ''

    def check_login(self, repo: str, state: t.Any, run: t.Any) -> str:
        path = t.cast(Path, state)
        if run.failed:
            return 'the auth file was written by a failed login' if path.exists() else ''
        data = json.loads(path.read_text())
        if self.proxy.host not in data.get('auths', {}):
            return 'succeeded but the auth file has no entry for %s' % self.proxy.host
        return ''


@pytest.fixture(scope='module')
def bed(token_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Bed]:
    with Registry(tmp_path_factory.mktemp('reg-other'), tls=True, auth='token', users={USER: PASSWORD}) as other, \
            FaultProxy(token_registry) as proxy:
        yield Bed(token_registry, other, proxy, tmp_path_factory.mktemp('matrix'))


@pytest.fixture(scope='module')
def matrix(matrix_report: list[str]) -> t.Iterator[Matrix]:
    table = Matrix()
    yield table
    matrix_report[:] = table.render()


@pytest.mark.parametrize('fault', list(FAULTS))
@pytest.mark.parametrize('op', OPS)
def test_cell(bed: Bed, matrix: Matrix, op: str, fault: str) -> None:
    cell = bed.run(op, fault)
    matrix.cells[(op, fault)] = cell
    assert cell.verdict != 'bad', '%s x %s: %s' % (fault, op, cell.why)
    if fault in MUST_RECOVER and (fault, op) not in MAY_FAIL:
        assert cell.verdict == 'recovered', '%s x %s should recover: %s' % (fault, op, cell.why)
    assert cell.seconds < CELL_BOUND


@pytest.mark.parametrize('module, args', [('image_inspect', {'image': 'docker://{host}/fm/tls:t'}),
                                          ('registry_login', {'registry': '{host}', 'authfile': '{tmp}/auth.json'})])
def test_tls_is_verified_by_default(bed: Bed, tmp_path: Path, module: str, args: dict[str, str]) -> None:
    """Without cert_dir the proxy's certificate (from the test bed's own CA) is refused, before any request is sent."""
    bed.proxy.clear_requests()
    filled = {key: value.format(host=bed.proxy.host, tmp=tmp_path) for key, value in args.items()}
    run = run_module(module, dict(filled, username=USER, password=PASSWORD, timeout=TIMEOUT), timeout=CELL_BOUND)
    assert run.failed
    assert 'TLS certificate verification failed for %s: ' % bed.proxy.host in run.msg, run.msg
    assert '\n' not in run.msg and 'exception' not in run.result
    assert bed.proxy.requests == []
    assert not (tmp_path / 'auth.json').exists()
