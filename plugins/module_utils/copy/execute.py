# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Running a copy: read and verify the source, plan, then blobs, manifests and commit, in that order."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import tempfile
import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import (
    CopyOptions,
    CopyPlan,
    SourceImage,
    make_plan,
)
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest, verified_stream
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, ManifestError
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import (
    Descriptor,
    ImageIndex,
    ImageManifest,
    parse_manifest,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest.platform import choose_instance
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import (
    BlobInfo,
    ConnectionOptions,
    ImageDestination,
    ImageReference,
    ImageSource,
)


@dataclasses.dataclass
class BlobStats:
    """Counts of what happened to the blobs of a copy."""

    copied: int = 0
    skipped: int = 0
    mounted: int = 0
    bytes_copied: int = 0
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def add(self, outcome: str, size: int = 0) -> None:
        with self._lock:
            if outcome == 'copied':
                self.copied += 1
                self.bytes_copied += size
            elif outcome == 'mounted':
                self.mounted += 1
            else:
                self.skipped += 1

    def as_result(self) -> dict[str, int]:
        return {'copied': self.copied, 'skipped': self.skipped, 'mounted': self.mounted}


def read_child(src: ImageSource, desc: Descriptor) -> ImageManifest:
    """Read an index's child manifest and check it against its descriptor."""
    raw, media_type = src.get_manifest(desc.digest)
    what = 'manifest %s' % desc.digest
    if len(raw) != desc.size:
        raise ManifestError('%s is %d bytes, the index says %d' % (what, len(raw), desc.size))
    parsed = parse_manifest(raw, media_type or desc.media_type, expected_digest=desc.digest, what=what)
    if not isinstance(parsed, ImageManifest):
        raise ManifestError('%s is a nested index, which is not supported' % what)
    return parsed


def read_source(src: ImageSource, options: CopyOptions) -> SourceImage:
    """Read what a copy needs from ``src``: the top manifest and, for an index, the instances to copy."""
    raw, media_type = src.get_manifest()
    top = parse_manifest(raw, media_type)
    if isinstance(top, ImageManifest):
        return SourceImage(top=top)
    if options.multi_arch == 'all':
        return SourceImage(top=top, instances=tuple(read_child(src, d) for d in top.manifests))
    if options.multi_arch == 'index-only':
        return SourceImage(top=top)
    chosen_desc = choose_instance(top, options.override_os, options.override_arch, options.override_variant)
    chosen = read_child(src, chosen_desc)
    return SourceImage(top=top, instances=(chosen,), chosen=chosen, chosen_platform=str(chosen_desc.platform))


def _copy_one_blob(src: ImageSource, dest: ImageDestination, info: BlobInfo, candidates: t.Sequence[ImageReference],
                   stats: BlobStats) -> None:
    reused = dest.try_reuse_blob(info, candidates)
    if reused == 'mounted':
        stats.add('mounted')
        return
    if reused:
        stats.add('skipped')
        return
    with src.get_blob(info) as (chunks, size):
        if size >= 0 and info.size >= 0 and size != info.size:
            raise ManifestError('blob %s is %d bytes at the source, the manifest says %d' % (info.digest, size, info.size))
        dest.put_blob(verified_stream(chunks, info.digest, info.size, 'blob'), info)
    stats.add('copied', info.size if info.size >= 0 else size)


def copy_blobs(src: ImageSource, dest: ImageDestination, blobs: t.Sequence[BlobInfo],
               candidates: t.Sequence[ImageReference] = (), max_parallel: int = 6) -> BlobStats:
    """Copy ``blobs`` in parallel (a bounded pool); the first failure cancels the rest and is raised."""
    stats = BlobStats()
    if not blobs:
        return stats
    workers = max(1, min(max_parallel, len(blobs)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix='blob') as pool:
        futures = [pool.submit(_copy_one_blob, src, dest, info, candidates, stats) for info in blobs]
        try:
            for future in concurrent.futures.as_completed(futures):
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return stats


def write_digestfile(path: str, digest: Digest) -> bool:
    """Write ``digest`` to ``path`` atomically; True when the file changed."""
    text = str(digest)
    try:
        with open(path, encoding='utf-8') as handle:
            if handle.read() == text:
                return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise InvalidInputError('cannot read digestfile %s: %s' % (path, exc.strerror)) from None
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix='.digestfile-', dir=directory)
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
            # mkstemp makes the file 0600; skopeo writes the digestfile 0644 (less the umask).
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(handle.fileno(), 0o644 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise InvalidInputError('cannot write digestfile %s: %s' % (path, exc.strerror)) from None
    return True


@dataclasses.dataclass
class CopyResult:
    """What a copy did (or, in check mode, would do)."""

    plan: CopyPlan
    changed: bool
    stats: BlobStats

    def as_result(self) -> dict[str, t.Any]:
        plan = self.plan
        result: dict[str, t.Any] = {
            'changed': self.changed,
            'digest': str(plan.after),
            'source_digest': str(plan.source_digest),
            'media_type': plan.manifest.media_type,
            'blobs': self.stats.as_result(),
            'bytes_copied': self.stats.bytes_copied,
            'reason': plan.reason,
            'diff': {'before': {'digest': str(plan.before)} if plan.before else None,
                     'after': {'digest': str(plan.after)}},
        }
        if plan.platform:
            result['platform'] = plan.platform
        return result


def copy_image(src_ref: ImageReference, dest_ref: ImageReference, src_options: ConnectionOptions,
               dest_options: ConnectionOptions, options: CopyOptions, check_mode: bool = False) -> CopyResult:
    """Copy one image (or index) from ``src_ref`` to ``dest_ref``.

    Nothing is written when the destination already holds what the copy would write (unless
    ``force``), nor in check mode. The destination is driven in the contract's order and closed in
    ``finally``: a failure leaves its name on the previous image.
    """
    with src_ref.new_source(src_options) as src:
        source = read_source(src, options)
        dest = dest_ref.new_destination(dest_options)
        try:
            before = dest.get_manifest_digest()
            plan = make_plan(source, before, options, dest.supported_manifest_types, dest.supports_index)
            stats = BlobStats()
            if plan.up_to_date or check_mode:
                return CopyResult(plan=plan, changed=not plan.up_to_date, stats=stats)
            candidates = [src_ref] if src_ref.transport.name == dest_ref.transport.name else []
            stats = copy_blobs(src, dest, plan.blobs, candidates, dest_options.max_parallel)
            for child in plan.instances:
                dest.put_manifest(child.raw, child.media_type, child.digest)
            dest.put_manifest(plan.manifest.raw, plan.manifest.media_type)
            dest.commit()
            return CopyResult(plan=plan, changed=True, stats=stats)
        finally:
            dest.close()


__all__ = ['BlobStats', 'CopyResult', 'copy_blobs', 'copy_image', 'read_source', 'write_digestfile', 'ImageIndex']
