"""Crashes and concurrency (issue 7): SIGKILL copies at random points, concurrent writers, a writer racing a delete, parallel logins.

Every kill is followed by reading the destination back: it must hold the old image or the new one,
complete (skopeo copies it out, verifying every blob), never a mix. Then a rerun completes, a third
run changes nothing, and a forced run after the leftovers aged sweeps every temporary file the
killed runs left. The kill points come from a seeded RNG; the seed is printed (set
OCIKIT_CRASH_SEED to replay a run, OCIKIT_CRASH_KILLS for more kills per destination).
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import time
import typing as t
from pathlib import Path

import pytest

from ocikit_it import COLLECTIONS_PATH, PASSWORD, PYTHON, USER, creds, run_module, skopeo, start_module
from ocikit_testbed import LayerSpec, build_image

SEED = int(os.environ.get('OCIKIT_CRASH_SEED') or random.SystemRandom().randrange(1 << 32))
KILLS = int(os.environ.get('OCIKIT_CRASH_KILLS') or 5)
MB = 1024 * 1024
#: Older than fsutil.STALE_AFTER (600 s): what a sweep may take once nobody holds it.
AGED = 700
#: Counts for the summary line.
SUMMARY: collections.Counter = collections.Counter()


def _layers(*seeds: int) -> list[LayerSpec]:
    # Incompressible layers of a few MB, so that a copy takes long enough for kills to land mid-transfer.
    return [LayerSpec(size=8 * MB, compressible=0.05, seed=seed) for seed in seeds]


@pytest.fixture(scope='module')
def images(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> t.Iterator[dict[str, t.Any]]:
    root = tmp_path_factory.mktemp('crash-src')
    # The new image shares its first layer with the old one: reuse of a present blob is on the path.
    old = build_image(root / 'old', 'v1', layers=_layers(100, 101), labels={'state': 'old'})
    new = build_image(root / 'new', 'v1', layers=_layers(100, 201, 202, 203), labels={'state': 'new'})
    _say(request, 'crash_concurrency: seed %d (OCIKIT_CRASH_SEED=%d replays it), %d kills per destination' % (SEED, SEED, KILLS))
    yield {'old': old, 'new': new}
    _say(request, 'crash_concurrency summary: %d kills (%d mid-run, %d after exit), verified states: %d old, %d new; '
         '%d reruns completed; %d leftovers swept; %d copy/delete races (%d true races); %d parallel logins'
         % (SUMMARY['kills'], SUMMARY['mid-run'], SUMMARY['after-exit'], SUMMARY['state old'], SUMMARY['state new'],
            SUMMARY['reruns'], SUMMARY['swept'], SUMMARY['races'], SUMMARY['race hits'], SUMMARY['logins']))


def _say(request: pytest.FixtureRequest, line: str) -> None:
    """Print past pytest's capture (the seed must be visible to replay a failure)."""
    capture = request.config.pluginmanager.get_plugin('capturemanager')
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        print('\n' + line, flush=True)


def _label(ref: str, flags: t.Sequence[str], scratch: Path) -> str:
    """Copy ``ref`` out with skopeo (which verifies every blob it reads) and return its config's ``state`` label.

    A complete image, or a failure. The label, not the config digest, says which image it is:
    a docker-archive holds the config converted to Docker's type.
    """
    out = scratch / 'verify'
    shutil.rmtree(out, ignore_errors=True)
    skopeo('copy', '--quiet', *flags, ref, 'oci:%s:x' % out)

    def blob(digest: str) -> t.Any:
        return json.loads((out / 'blobs' / 'sha256' / digest.split(':', 1)[1]).read_text())

    manifest = blob(json.loads((out / 'index.json').read_text())['manifests'][0]['digest'])
    label = blob(manifest['config']['digest'])['config']['Labels']['state']
    shutil.rmtree(out, ignore_errors=True)
    return label


def _state(ref: str, images: dict[str, t.Any], flags: t.Sequence[str], scratch: Path) -> str:
    state = _label(ref, flags, scratch)
    assert state in images, 'after a kill, %s holds neither the old nor the new image (state label %r)' % (ref, state)
    SUMMARY['state %s' % state] += 1
    return state


def _leftovers(directory: Path) -> list[Path]:
    return sorted(path for path in directory.iterdir() if 'ocikit-tmp-' in path.name or 'ocikit-old-' in path.name)


def _age(paths: t.Iterable[Path]) -> None:
    then = time.time() - AGED
    for path in paths:
        os.utime(path, (then, then), follow_symlinks=False)


DESTINATIONS = {
    'oci': lambda base: 'oci:%s:app' % (base / 'layout'),
    'dir': lambda base: 'dir:%s' % (base / 'image'),
    'oci-archive': lambda base: 'oci-archive:%s:app' % (base / 'image.tar'),
    'docker-archive': lambda base: 'docker-archive:%s:crash/app:v1' % (base / 'image.tar'),
}


def _timed(args: dict[str, t.Any]) -> float:
    started = time.monotonic()
    run = start_module('image_copy', args).finish()
    assert not run.failed, run.msg
    return time.monotonic() - started


def _kill_loop(images: dict[str, t.Any], dest: str, timing_dest: str, extra: dict[str, t.Any], flags: t.Sequence[str], scratch: Path,
               rng: random.Random) -> None:
    """The old image in place, then KILLS copies of the new one SIGKILLed at random points, each followed by a check."""
    first = run_module('image_copy', dict(extra, src=images['old'].oci_ref, dest=dest))
    assert not first.failed, first.msg
    assert _state(dest, images, flags, scratch) == 'old'
    # When a run starts writing (after an up-to-date run's time) and how long a whole copy takes, measured on
    # another destination of the same kind, so that this one has the whole transfer still to do.
    idle = _timed(dict(extra, src=images['old'].oci_ref, dest=dest))
    full = _timed(dict(extra, src=images['new'].oci_ref, dest=timing_dest))
    for dummy in range(KILLS):
        proc = start_module('image_copy', dict(extra, src=images['new'].oci_ref, dest=dest))
        time.sleep(rng.uniform(0.8 * idle, max(full, idle)))
        SUMMARY['kills'] += 1
        SUMMARY['mid-run' if proc.kill() else 'after-exit'] += 1
        _state(dest, images, flags, scratch)
    rerun = run_module('image_copy', dict(extra, src=images['new'].oci_ref, dest=dest))
    assert not rerun.failed, rerun.msg
    assert rerun.result['digest'] is not None
    assert _state(dest, images, flags, scratch) == 'new'
    SUMMARY['reruns'] += 1
    third = run_module('image_copy', dict(extra, src=images['new'].oci_ref, dest=dest))
    assert not third.failed, third.msg
    assert third.result['changed'] is False, third.result['reason']


@pytest.mark.parametrize('transport', sorted(DESTINATIONS))
def test_sigkill_local_copies_leave_old_or_new_and_rerun_completes(images, tmp_path, transport):
    rng = random.Random('%d-%s' % (SEED, transport))
    base, timing = tmp_path / 'dest', tmp_path / 'timing'
    base.mkdir()
    timing.mkdir()
    dest = DESTINATIONS[transport](base)
    _kill_loop(images, dest, DESTINATIONS[transport](timing), {}, (), tmp_path, rng)
    # What the killed runs left is swept by the next write once stale (a live writer's would be held and kept).
    where = base / 'layout' if transport == 'oci' else base
    leftovers = _leftovers(where)
    _age(leftovers)
    forced = run_module('image_copy', {'src': images['new'].oci_ref, 'dest': dest, 'force': True})
    assert not forced.failed, forced.msg
    assert _leftovers(where) == []
    SUMMARY['swept'] += len(leftovers)
    assert _state(dest, images, (), tmp_path) == 'new'


def test_sigkill_registry_copies_leave_old_or_new_and_rerun_completes(images, registry, tmp_path):
    rng = random.Random('%d-registry' % SEED)
    dest = 'docker://' + registry.ref('crash/app', 'v1')
    _kill_loop(images, dest, 'docker://' + registry.ref('crash/timing', 'v1'), creds(registry), registry.skopeo_flags('src'), tmp_path, rng)


# -- concurrency on one layout ------------------------------------------------------------------------

def _layout_complete(layout: Path) -> dict[str, str]:
    """Every image index.json names, with every blob present and hashing to its name; returns name -> manifest digest."""
    names = {}
    for entry in json.loads((layout / 'index.json').read_text())['manifests']:
        pending = [entry['digest']]
        while pending:
            digest = pending.pop()
            path = layout / 'blobs' / 'sha256' / digest.split(':', 1)[1]
            assert path.is_file(), 'blob %s of %s is missing' % (digest, entry)
            data = path.read_bytes()
            assert 'sha256:' + hashlib.sha256(data).hexdigest() == digest
            if digest == entry['digest']:
                manifest = json.loads(data)
                pending.extend(d['digest'] for d in [manifest['config']] + manifest['layers'])
        names[entry['annotations']['org.opencontainers.image.ref.name']] = entry['digest']
    return names


def test_concurrent_writers_into_one_layout(images, tmp_path):
    layout = tmp_path / 'layout'
    jobs = {'t%d' % n: images['old' if n % 2 else 'new'] for n in range(4)}
    procs = {name: start_module('image_copy', {'src': image.oci_ref, 'dest': 'oci:%s:%s' % (layout, name)}) for name, image in jobs.items()}
    for name, proc in procs.items():
        run = proc.finish()
        assert not run.failed, (name, run.msg)
        assert run.result['changed'] is True
    assert _layout_complete(layout) == {name: image.manifest_digest for name, image in jobs.items()}
    assert [p.name for p in _leftovers(layout)] == []
    assert skopeo('inspect', 'oci:%s:t0' % layout).returncode == 0


def test_copy_racing_delete_on_one_layout(images, tmp_path):
    """A copy of the new image (sharing a layer with the old one) while the old tag is deleted, with its blob garbage collection.

    The delete is started so that its collection lands while the copy runs: after the copy decided to
    reuse the shared layer and before its commit. A run where the delete removed the shared layer
    while the copy reported it skipped (reused) is a true race; the count is in the summary line.
    """
    rng = random.Random('%d-race' % SEED)
    layout = tmp_path / 'layout'
    # Bigger new layers than the kill tests': the copy's window between reuse and commit must be wide enough to hit.
    new_layers = [LayerSpec(size=32 * MB, compressible=0.05, seed=seed) for seed in (301, 302, 303)]
    big = build_image(tmp_path / 'big', 'v1', layers=_layers(100) + new_layers, labels={'state': 'new'})
    images = {'old': images['old'], 'new': big}
    shared = images['old'].layer_digests[0]
    assert shared == images['new'].layer_digests[0]
    assert not run_module('image_copy', {'src': images['old'].oci_ref, 'dest': 'oci:%s:old' % layout}).failed
    # The copy decides to reuse the shared layer after about an up-to-date run's time and commits after a whole
    # copy's; the delete collects after about the time of a delete that finds nothing.
    idle = _timed({'src': images['old'].oci_ref, 'dest': 'oci:%s:old' % layout})
    full = _timed({'src': images['new'].oci_ref, 'dest': 'oci:%s:timing' % (tmp_path / 'timing')})
    started = time.monotonic()
    assert not run_module('image_delete', {'image': 'oci:%s:absent' % layout}).failed
    delete_idle = time.monotonic() - started
    for dummy in range(8):
        assert not run_module('image_copy', {'src': images['old'].oci_ref, 'dest': 'oci:%s:old' % layout}).failed
        copy = start_module('image_copy', {'src': images['new'].oci_ref, 'dest': 'oci:%s:new' % layout})
        time.sleep(max(0.0, rng.uniform(idle, max(full, idle + 0.1)) - delete_idle))
        deleted = run_module('image_delete', {'image': 'oci:%s:old' % layout})
        copied = copy.finish()
        assert not deleted.failed, deleted.msg
        assert not copied.failed, copied.msg
        assert deleted.result['changed'] is True
        # Both reported ok, so the new tag must be complete (every blob hashed), shared layer included.
        assert _layout_complete(layout) == {'new': images['new'].manifest_digest}
        SUMMARY['races'] += 1
        if shared in deleted.result['deleted_blobs'] and copied.result['blobs']['skipped'] >= 1:
            SUMMARY['race hits'] += 1
        assert not run_module('image_delete', {'image': 'oci:%s:new' % layout}).failed
        assert _layout_complete(layout) == {}
    # And skopeo reads what the last race left, before its delete, as the new image.
    assert not run_module('image_copy', {'src': images['new'].oci_ref, 'dest': 'oci:%s:new' % layout}).failed
    assert _state('oci:%s:new' % layout, images, (), tmp_path) == 'new'


def test_symlinked_layout_lock_is_refused(images, tmp_path):
    layout = tmp_path / 'layout'
    assert not run_module('image_copy', {'src': images['old'].oci_ref, 'dest': 'oci:%s:old' % layout}).failed
    (layout / '.index.json.lock').unlink()
    victim = tmp_path / 'victim'
    (layout / '.index.json.lock').symlink_to(victim)
    run = run_module('image_copy', {'src': images['new'].oci_ref, 'dest': 'oci:%s:new' % layout})
    assert run.failed
    assert 'refusing lock file %s: it is a symbolic link' % (layout / '.index.json.lock') in run.msg
    assert not victim.exists()
    assert _layout_complete(layout) == {'old': images['old'].manifest_digest}


# -- logins into one auth file ----------------------------------------------------------------------------

#: Writes half an auth file's temporary the way registry_login does (same module, same name, same flock), then dies.
_KILLED_AUTH_WRITER = '''
import os, signal, sys
from ansible_collections.ocikit.images.plugins.module_utils.config import auth_write
fd, temp = auth_write._create_temp(sys.argv[1], auth_write.temp_prefix("auth.json"))
os.write(fd, b'{"auths": {"half')
print(temp, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
'''


def test_parallel_logins_into_one_auth_file_survive_kills(registry, tmp_path):
    rng = random.Random('%d-logins' % SEED)
    authfile = tmp_path / 'auth' / 'auth.json'

    def login(name: str, **extra: t.Any) -> t.Any:
        args = {'registry': name, 'username': 'user-' + name, 'password': 'pw-' + name, 'verify': False, 'authfile': str(authfile)}
        args.update(extra)
        return start_module('registry_login', args)

    kept = ['kept%d.example.com' % n for n in range(6)]
    procs = [login(name) for name in kept]
    procs.append(login(registry.host, username=USER, password=PASSWORD, verify=True, cert_dir=str(registry.cert_dir)))
    kept.append(registry.host)
    victims = [login('killed%d.example.com' % n) for n in range(3)]
    time.sleep(rng.uniform(0.1, 0.8))
    for victim in victims:
        SUMMARY['kills'] += 1
        SUMMARY['mid-run' if victim.kill() else 'after-exit'] += 1
    for proc in procs:
        run = proc.finish()
        assert not run.failed, run.msg
        assert run.result['changed'] is True
        SUMMARY['logins'] += 1
    auths = json.loads(authfile.read_text())['auths']
    # Every login that finished is there; a killed one is either there whole or absent; the file is never torn.
    assert set(kept) <= set(auths) <= set(kept) | {'killed%d.example.com' % n for n in range(3)}
    assert oct(authfile.stat().st_mode & 0o777) == oct(0o600)
    # The kills above rarely land inside the write itself (a millisecond); this one does: the collection's own
    # writer, killed holding a half-written temporary, as a registry_login killed there would leave it.
    writer = subprocess.Popen([PYTHON, '-c', _KILLED_AUTH_WRITER, str(authfile.parent)], stdout=subprocess.PIPE,
                              env=dict(os.environ, PYTHONPATH=str(COLLECTIONS_PATH)))
    half_written = Path(writer.communicate(timeout=60)[0].decode().strip())
    assert writer.returncode == -signal.SIGKILL and half_written.is_file()
    SUMMARY['kills'] += 1
    # The leftovers are swept by a later login once stale, which a utime stands in for waiting.
    leftovers = _leftovers(authfile.parent)
    assert half_written in leftovers
    _age(leftovers)
    later = login('later.example.com').finish()
    assert not later.failed, later.msg
    assert _leftovers(authfile.parent) == []
    assert sorted(path.name for path in authfile.parent.iterdir()) == ['auth.json', 'auth.json.lock']
    SUMMARY['swept'] += len(leftovers)
    assert set(json.loads(authfile.read_text())['auths']) >= set(kept) | {'later.example.com'}
    # A symlinked lock is refused, and nothing is created where it points.
    lock = Path(str(authfile) + '.lock')
    lock.unlink()
    victim_path = tmp_path / 'victim'
    lock.symlink_to(victim_path)
    refused = login('after.example.com').finish()
    assert refused.failed
    assert 'refusing lock file %s: it is a symbolic link' % lock in refused.msg
    assert not victim_path.exists()
