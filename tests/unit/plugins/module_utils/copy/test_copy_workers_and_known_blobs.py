# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The cold path of a sync: blob jobs on kept threads, and blobs a shared client knows present asked once per repository."""

from __future__ import annotations

import threading
import time
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import _run_parallel, copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.errors import BlobNotFoundError, InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name

from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.copy.test_head_first import (  # pylint: disable=unused-import
    add_image,
    calls_from,
    fake_fixture,
    options_fixture,
)
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import FakeRegistry, error_body

httpx = pytest.importorskip('httpx')


def test_jobs_run_in_order_at_most_max_parallel_at_once_on_kept_threads() -> None:
    running, peak, names = [0], [0], set()
    lock = threading.Lock()

    def job(number: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            names.add(threading.current_thread().name)
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return number * 2

    assert _run_parallel([lambda n=n: job(n) for n in range(8)], 3) == [n * 2 for n in range(8)]
    assert peak[0] == 3 and all(name.startswith('blob') for name in names)
    kept = sorted(thread.name for thread in threading.enumerate() if thread.name.startswith('blob'))
    _run_parallel([lambda n=n: job(n) for n in range(8)], 3)
    # The same threads again: none is started per call, none ended after it.
    assert sorted(thread.name for thread in threading.enumerate() if thread.name.startswith('blob')) == kept


def test_a_lone_job_runs_in_the_callers_thread() -> None:
    assert _run_parallel([lambda: threading.current_thread().name], 6) == [threading.current_thread().name]
    assert _run_parallel([], 6) == []


def test_the_first_failure_stops_the_rest_and_is_raised() -> None:
    started: list[int] = []

    def job(number: int) -> None:
        started.append(number)
        if number == 0:
            raise InvalidInputError('job 0 failed')
        time.sleep(0.01)

    with pytest.raises(InvalidInputError, match='^job 0 failed$'):
        _run_parallel([lambda n=n: job(n) for n in range(20)], 2)
    assert 0 in started and len(started) < 20


def copy(options: ConnectionOptions, src: str, dest: str) -> t.Any:
    return copy_image(parse_image_name(src), parse_image_name(dest), options, options, CopyOptions(), head_first=True)


def test_a_shared_layer_is_asked_once_per_repository(fake: FakeRegistry, options: ConnectionOptions) -> None:
    add_image(fake, 'src/app', b'shared base layer', tag='a')
    add_image(fake, 'src/app', b'shared base layer', tag='b', arch='arm64')
    layer = [digest for (repo, digest), data in fake.blobs.items() if data == b'shared base layer'][0]
    copy(options, 'docker://registry.test/src/app:a', 'docker://registry.test/mirror/app:a')
    start = len(fake.calls())
    second = copy(options, 'docker://registry.test/src/app:b', 'docker://registry.test/mirror/app:b')
    # Its own config is asked (and mounted from the source repository); the layer the first copy uploaded through the same
    # client is not asked again.
    assert second.changed and second.stats.as_result() == {'copied': 0, 'skipped': 1, 'mounted': 1}
    assert 'HEAD /v2/mirror/app/blobs/%s' % layer not in calls_from(fake, start)
    # Another repository is asked.
    copy(options, 'docker://registry.test/src/app:b', 'docker://registry.test/other/app:b')
    assert 'HEAD /v2/other/app/blobs/%s' % layer in fake.calls()


def test_a_blob_deleted_meanwhile_is_asked_again_after_the_refused_manifest(fake: FakeRegistry, options: ConnectionOptions) -> None:
    add_image(fake, 'src/app', b'shared base layer', tag='a')
    add_image(fake, 'src/app', b'shared base layer', tag='b', arch='arm64')
    layer = [digest for (repo, digest), data in fake.blobs.items() if data == b'shared base layer'][0]
    copy(options, 'docker://registry.test/src/app:a', 'docker://registry.test/mirror/app:a')
    del fake.blobs[('mirror/app', layer)]

    def refuse(request: httpx.Request) -> httpx.Response | None:
        if request.method == 'PUT' and '/manifests/' in request.url.path and ('mirror/app', layer) not in fake.blobs:
            return httpx.Response(400, content=error_body('MANIFEST_BLOB_UNKNOWN', 'blob unknown to registry'))
        return None

    fake.hooks.append(refuse)
    with pytest.raises(BlobNotFoundError):
        copy(options, 'docker://registry.test/src/app:b', 'docker://registry.test/mirror/app:b')
    # As image_sync does: once more. The registry is asked, the layer uploaded again, and the manifest taken.
    again = copy(options, 'docker://registry.test/src/app:b', 'docker://registry.test/mirror/app:b')
    assert again.changed and fake.blobs[('mirror/app', layer)] == b'shared base layer'
