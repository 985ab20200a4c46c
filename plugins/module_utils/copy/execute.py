# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Running a copy: read and verify the source, plan, then blobs, manifests and commit, in that order."""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import os
import tempfile
import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.copy.index import build_index, select_platforms
from ansible_collections.ocikit.images.plugins.module_utils.copy.layers import (
    MEASURE,
    LayerStep,
    SpooledLayer,
    plan_layer,
    spool_transformed,
    transformed_stream,
)
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import (
    CopyOptions,
    CopyPlan,
    DestinationTraits,
    ImagePlan,
    SPARSE_TRANSPORTS,
    ManifestWrite,
    SourceImage,
    choose_manifest_type,
    make_plan,
    wanted_layer_compression,
)
from ansible_collections.ocikit.images.plugins.module_utils.copy.signing import SignatureMade, Signer, SignOptions, check_destination
from ansible_collections.ocikit.images.plugins.module_utils.copy.trust import check_source, policy_source
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest, verified_stream
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    InvalidInputError,
    ManifestError,
    OcikitError,
    RegistryError,
    UnsupportedMediaTypeError,
)
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import read_document
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.convert import ConvertResult, LayerOverride, convert_manifest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import (
    Descriptor,
    ImageIndex,
    ImageManifest,
    parse_manifest,
)
from ansible_collections.ocikit.images.plugins.module_utils.manifest.parse import parse_any
from ansible_collections.ocikit.images.plugins.module_utils.manifest.platform import choose_instance
from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import Schema1Manifest
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import Policy, SignatureVerifier, select_requirements
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy_config import INSECURE_ACCEPT_ANYTHING
from ansible_collections.ocikit.images.plugins.module_utils.signature.verifier import ImageVerifier
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


def read_children(src: ImageSource, descs: t.Sequence[Descriptor]) -> tuple[ImageManifest, ...]:
    """:func:`read_child` of each of ``descs``, in their order, several at once.

    A registry answers them in parallel (within its client's bound on requests in flight): one
    round trip for a 4-platform index instead of four. Every source reads manifests safely from
    several threads, as it reads blobs. The first failure is raised.
    """
    if len(descs) <= 1:
        return tuple(read_child(src, desc) for desc in descs)
    return tuple(_run_parallel([lambda desc=desc: read_child(src, desc) for desc in descs], PARALLEL_MANIFESTS))


def traits_of(dest: ImageDestination, dest_ref: ImageReference) -> DestinationTraits:
    """What the plan needs to know about ``dest``."""
    docker_ref = dest_ref.docker_reference()
    return DestinationTraits(supported_types=tuple(dest.supported_manifest_types), supports_index=dest.supports_index,
                             layer_compression=dest.desired_layer_compression, transport=dest_ref.transport.name,
                             docker_name=docker_ref.path if docker_ref is not None else '',
                             docker_tag=(docker_ref.tag or '') if docker_ref is not None else '', by_image_id=dest.by_image_id)


def read_images(src: ImageSource, options: CopyOptions) -> SourceImage:
    """Read the manifests a copy needs from ``src``: the top manifest and the instances to copy (no blob yet).

    The trust policy is evaluated on exactly these bytes before anything else is read or written.
    """
    raw, media_type = src.get_manifest()
    top = parse_any(raw, media_type)
    chosen = None
    chosen_platform = None
    if isinstance(top, Schema1Manifest):
        return SourceImage(top=t.cast(ImageManifest, top), instances=(t.cast(ImageManifest, top),))
    if isinstance(top, ImageManifest):
        instances: tuple[ImageManifest, ...] = (top,)
    elif options.multi_arch == 'index-only':
        instances = ()
    elif options.multi_arch == 'all' or options.platforms:
        descs = select_platforms(top, options.platforms) if options.platforms else list(top.manifests)
        instances = read_children(src, descs)
    else:
        chosen_desc = choose_instance(top, options.override_os, options.override_arch, options.override_variant)
        chosen = read_child(src, chosen_desc)
        chosen_platform = str(chosen_desc.platform)
        instances = (chosen,)
    return SourceImage(top=top, instances=instances, chosen=chosen, chosen_platform=chosen_platform)


def read_configs(src: ImageSource, source: SourceImage, options: CopyOptions, traits: DestinationTraits | None = None) -> SourceImage:
    """``source`` with the config blobs conversions need (all of them without ``traits``)."""
    if isinstance(source.top, Schema1Manifest):
        return source
    configs: dict[str, bytes] = {}
    for image in source.instances:
        if traits is not None and not _needs_config(image, traits, options):
            continue
        desc = image.config
        if str(desc.digest) not in configs:
            configs[str(desc.digest)] = src.get_blob_bytes(BlobInfo(desc.digest, desc.size, desc.media_type), mt.MAX_CONFIG_SIZE,
                                                           'image config')
    return dataclasses.replace(source, configs=configs)


def read_source(src: ImageSource, options: CopyOptions, traits: DestinationTraits | None = None) -> SourceImage:
    """Read what a copy needs from ``src``: the top manifest, the instances to copy, and the configs conversions need."""
    return read_configs(src, read_images(src, options), options, traits)


def _needs_config(image: ImageManifest, traits: DestinationTraits, options: CopyOptions) -> bool:
    """A config is read only when the manifest type changes or a layer's bytes will (its diff_id is then checked)."""
    if image.config is None:
        return False
    try:
        target = choose_manifest_type(image.media_type, traits, options.format)
        if target != image.media_type:
            return True
        family = 'oci' if target == mt.OCI_MANIFEST else 'docker'
        wanted = wanted_layer_compression(traits, options)
        return any(plan_layer(layer, family, wanted, options.compress_format, options.preserve_digests).changes_bytes
                   for layer in image.layers)
    except OcikitError:
        # The plan will fail with the same error, naming it properly.
        return False


BLOB_ATTEMPTS = 3
#: Child manifests of an index read, or written to a registry, at once (the registry client's own bound still applies).
PARALLEL_MANIFESTS = 6


def _copy_one_blob(src: ImageSource, dest: ImageDestination, info: BlobInfo, candidates: t.Sequence[ImageReference],
                   stats: BlobStats) -> None:
    """Copy one blob; a transfer cut by a failure that may pass (a connection the server closed) starts again from the source.

    Single requests are retried by the registry client, but a streamed upload cannot be replayed
    there: its bytes are gone. Here the whole blob is fetched and sent again.
    """
    for attempt in range(1, BLOB_ATTEMPTS + 1):
        try:
            _copy_one_blob_once(src, dest, info, candidates, stats)
            return
        except OcikitError as exc:
            if not exc.transient or attempt == BLOB_ATTEMPTS:
                raise


def _copy_one_blob_once(src: ImageSource, dest: ImageDestination, info: BlobInfo, candidates: t.Sequence[ImageReference],
                        stats: BlobStats) -> None:
    # Another copy of this run writing the same blob into the same place finishes first; this one then finds it present.
    with dest.blob_lock(info):
        _copy_one_blob_locked(src, dest, info, candidates, stats)


def _copy_one_blob_locked(src: ImageSource, dest: ImageDestination, info: BlobInfo, candidates: t.Sequence[ImageReference],
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
        # Not wrapped in verified_stream here: every destination's put_blob verifies digest and size
        # while it writes (the contract in transports/base.py), and hashing twice cost ~10% of a pull.
        dest.put_blob(chunks, info)
    stats.add('copied', info.size if info.size >= 0 else size)


def _put_bytes(dest: ImageDestination, data: bytes, desc: Descriptor, stats: BlobStats) -> None:
    info = BlobInfo(desc.digest, desc.size, desc.media_type)
    with dest.blob_lock(info):
        if dest.try_reuse_blob(info, ()):
            stats.add('skipped')
            return
        dest.put_blob(verified_stream([data], desc.digest, desc.size, 'blob'), info)
    stats.add('copied', len(data))


class _Workers:
    """The threads that run the blob jobs of every copy in this process, kept between copies.

    A sync runs hundreds of copies; a thread pool per copy started (and joined) a thread per blob of
    each image, and on a busy machine each start costs milliseconds of the image's time. Here the
    threads stay; each :meth:`run` still has at most its ``max_parallel`` jobs in progress (as many
    runners, which take its jobs in turn). A runner never waits for another runner, so runs that
    share the threads cannot wait for each other forever, even when all the threads are busy.
    """

    #: At most this many threads in all (they are made as needed and stay idle after).
    MAX_THREADS = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.MAX_THREADS, thread_name_prefix='blob')
            return self._pool

    def run(self, jobs: t.Sequence[t.Callable[[], t.Any]], max_parallel: int) -> list[t.Any]:
        """Run ``jobs``, at most ``max_parallel`` at once; their results in order. The first failure stops the rest and is raised."""
        if not jobs:
            return []
        if len(jobs) == 1:
            # Nothing to overlap: the caller's thread does it.
            return [jobs[0]()]
        results: list[t.Any] = [None] * len(jobs)
        pending = collections.deque(enumerate(jobs))
        errors: list[BaseException] = []
        failed = threading.Event()

        def runner() -> None:
            while not failed.is_set():
                try:
                    position, job = pending.popleft()
                except IndexError:
                    return
                try:
                    results[position] = job()
                except BaseException as exc:  # pylint: disable=broad-exception-caught
                    # Kept to be raised in the caller's thread, the first one first; the other runners stop taking jobs.
                    errors.append(exc)
                    failed.set()
                    return

        executor = self._executor()
        concurrent.futures.wait([executor.submit(runner) for dummy in range(max(1, min(max_parallel, len(jobs))))])
        if errors:
            raise errors[0]
        return results


_WORKERS = _Workers()


def _run_parallel(jobs: t.Sequence[t.Callable[[], t.Any]], max_parallel: int) -> list[t.Any]:
    """Run ``jobs`` with at most ``max_parallel`` at once (on the process's kept threads); the first failure stops the rest and is raised."""
    return _WORKERS.run(jobs, max_parallel)


def copy_blobs(src: ImageSource, dest: ImageDestination, blobs: t.Sequence[BlobInfo],
               candidates: t.Sequence[ImageReference] = (), max_parallel: int = 6) -> BlobStats:
    """Copy ``blobs`` unchanged, in parallel; the first failure cancels the rest and is raised."""
    stats = BlobStats()
    _run_parallel([lambda info=info: _copy_one_blob(src, dest, info, candidates, stats) for info in blobs], max_parallel)
    return stats


def _diff_ids(config_raw: bytes | None) -> list[Digest] | None:
    if config_raw is None:
        return None
    try:
        ids = jsonutil.loads(config_raw, 'config', ManifestError).get('rootfs', {}).get('diff_ids')
        return [Digest(d) for d in ids] if isinstance(ids, list) else None
    except (ValueError, AttributeError, OcikitError):
        return None


class _Transformer:
    """Transforms each (source layer, target compression) once, however many images share it."""

    def __init__(self, src: ImageSource, dest: ImageDestination, stats: BlobStats, level: int | None) -> None:
        self.src, self.dest, self.stats, self.level = src, dest, stats, level
        self.results: dict[tuple[str, str | None], LayerOverride] = {}
        self.diff_ids: dict[str, Digest] = {}
        self.lock = threading.Lock()
        # One lock per key: a second job for a layer being transformed waits for the first instead of redoing it.
        self.key_locks: dict[tuple[str, str | None], threading.Lock] = {}
        self.tmpdir = tempfile.gettempdir()

    def run(self, step: LayerStep, expected_diff_id: Digest | None) -> None:
        key = (str(step.source.digest), step.compression)
        with self.lock:
            key_lock = self.key_locks.setdefault(key, threading.Lock())
        with key_lock:
            if key not in self.results:
                self.transform(key, step, expected_diff_id)

    def transform(self, key: tuple[str, str | None], step: LayerStep, expected_diff_id: Digest | None) -> None:
        desc = step.source
        if step.action != MEASURE:
            # Recompression streams straight into the destination, which hashes as it writes.
            with self.src.get_blob(BlobInfo(desc.digest, desc.size, desc.media_type)) as (chunks, dummy):
                stream, dummy_work = transformed_stream(chunks, step, self.level, expected_diff_id)
                stored = self.dest.put_blob_unknown(stream, step.media_type)
            self.stats.add('copied', stored.size)
            with self.lock:
                self.results[key] = LayerOverride(stored.digest, stored.size, step.compression)
            return
        spooled: SpooledLayer | None = None
        try:
            with self.src.get_blob(BlobInfo(desc.digest, desc.size, desc.media_type)) as (chunks, dummy):
                spooled = spool_transformed(chunks, step, self.level, expected_diff_id, self.tmpdir)
            info = BlobInfo(spooled.digest, spooled.size, spooled.media_type)
            if self.dest.try_reuse_blob(info, ()):
                self.stats.add('skipped')
            else:
                self.dest.put_blob(verified_stream(spooled.chunks(), spooled.digest, spooled.size, 'blob'), info)
                self.stats.add('copied', spooled.size)
            with self.lock:
                compression = spooled.compression if step.action == MEASURE else step.compression
                self.results[key] = LayerOverride(spooled.digest, spooled.size, compression)
                self.diff_ids[str(desc.digest)] = spooled.diff_id
        finally:
            if spooled is not None:
                spooled.remove()

    def override(self, step: LayerStep) -> LayerOverride | None:
        if not step.changes_bytes:
            return None
        return self.results[(str(step.source.digest), step.compression)]


def _final_conversion(image: ImagePlan, configs: t.Mapping[str, bytes], transformer: _Transformer, traits: DestinationTraits) -> ConvertResult:
    if image.exact:
        return image.conversion
    source = image.source
    if isinstance(source, Schema1Manifest):
        by_digest = {str(step.source.digest): step for step in image.layers}
        overrides = [None if empty else transformer.override(by_digest[str(layer.digest)])
                     for layer, empty in zip(source.all_layers, source.throwaway)]
        diff_ids = [transformer.diff_ids[str(layer.digest)] for layer in source.all_layers]
        return convert_manifest(source, image.target_type, None, layer_overrides=overrides, diff_ids=diff_ids)
    overrides = [transformer.override(step) for step in image.layers]
    return convert_manifest(image.source, image.target_type, configs.get(str(image.source.config.digest)), layer_overrides=overrides,
                            name=traits.docker_name or None, tag=traits.docker_tag or None)


def execute_plan(src: ImageSource, dest: ImageDestination, plan: CopyPlan, source: SourceImage, options: CopyOptions,
                 candidates: t.Sequence[ImageReference], max_parallel: int,
                 traits: DestinationTraits | None = None, signatures: t.Sequence[bytes] | None = None,
                 late_signing: t.Callable[[bytes], list[bytes]] | None = None) -> tuple[BlobStats, ManifestWrite]:
    """Write everything ``plan`` says, in the contract's order; returns the stats and the manifest the name now points at.

    ``late_signing`` signs a manifest known only now (layers were recompressed): it gets the final
    manifest's bytes and returns the signatures to store, after every blob and before the manifest.
    """
    stats = BlobStats()
    traits = traits or DestinationTraits()
    transformer = _Transformer(src, dest, stats, options.compress_level)
    jobs: list[t.Callable[[], t.Any]] = [lambda info=info: _copy_one_blob(src, dest, info, candidates, stats) for info in plan.blobs()]
    for image in plan.images:
        if image.config_raw is not None and image.conversion.config is not None:
            jobs.append(lambda image=image: _put_bytes(dest, image.config_raw, image.conversion.config, stats))
        diff_ids = _diff_ids(source.configs.get(str(image.source.config.digest))) if image.source.config is not None else None
        for position, step in enumerate(image.layers):
            if step.changes_bytes:
                expected = diff_ids[position] if diff_ids is not None and position < len(diff_ids) else None
                jobs.append(lambda step=step, expected=expected: transformer.run(step, expected))
    _run_parallel(jobs, max_parallel)
    written: dict[str, ConvertResult] = {}
    for image in plan.images:
        conversion = _final_conversion(image, source.configs, transformer, traits)
        if not image.exact and conversion.config_raw is not None and conversion.config is not None:
            # A config only known after the transfer (rebuilt from schema1 history and measured diff_ids).
            _put_bytes(dest, conversion.config_raw, conversion.config, stats)
        for desc, data in conversion.extra_blobs:
            _put_bytes(dest, data, desc, stats)
        written[str(image.source.digest)] = conversion
    if plan.index_type is not None and plan.index is not None:
        puts = [lambda conversion=conversion: dest.put_manifest(conversion.raw, conversion.media_type, conversion.digest)
                for conversion in written.values()]
        if dest.parallel_instance_manifests:
            _run_parallel(puts, PARALLEL_MANIFESTS)
        else:
            for put in puts:
                put()
        index = build_index(plan.index, plan.index_type, written, options.platforms, options.multi_arch == 'index-only')
        final = ManifestWrite(index.raw, index.media_type, index.digest)
    else:
        conversion = written[str(plan.images[0].source.digest)]
        final = ManifestWrite(conversion.raw, conversion.media_type, conversion.digest)
    if plan.manifest is not None and final.digest != plan.manifest.digest:  # pragma: no cover - the plan and the run share code
        raise ManifestError('internal error: wrote %s where the plan said %s' % (final.digest, plan.manifest.digest))
    if late_signing is not None:
        signatures = late_signing(final.raw)
    dest.put_manifest(final.raw, final.media_type)
    if signatures is not None and dest.supports_signatures:
        dest.put_signatures(signatures)
    dest.commit()
    return stats, final


class _NotThisDigest(OcikitError):
    """A digestfile longer than the digest: it differs, whatever it holds."""


def write_digestfile(path: str, digest: Digest) -> bool:
    """Write ``digest`` to ``path`` atomically (fsynced, mode 0644 less the umask); True when the file changed."""
    text = str(digest)
    try:
        # Bounded, and a FIFO or device is refused: the file is about to be replaced by a rename anyway.
        if read_document(path, len(text), InvalidInputError, 'digestfile %s' % path, too_large=_NotThisDigest) == text.encode('utf-8'):
            return False
    except (FileNotFoundError, _NotThisDigest):
        pass
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix='.digestfile-', dir=directory)
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o644 & ~umask)
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise InvalidInputError('cannot write digestfile %s: %s' % (path, exc.strerror)) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return True


@dataclasses.dataclass
class CopyResult:
    """What a copy did (or, in check mode, would do)."""

    plan: CopyPlan
    changed: bool
    stats: BlobStats
    written: ManifestWrite | None = None
    tags: list[dict[str, t.Any]] = dataclasses.field(default_factory=list)
    # How the trust policy accepted the source (copy/trust.py check_source); None when no policy was given.
    policy: dict[str, t.Any] | None = None
    # The signatures the copy added or found already there (copy/signing.py); None when it signs nothing.
    signed: list[dict[str, t.Any]] | None = None
    # With signing: the destination's signatures for the manifest before and after (predicted in check mode).
    signature_counts: tuple[int, int] | None = None
    #: The media type the source's HEAD stated, for a result found by up_to_date_by_heads (its plan has no images).
    media_type: str | None = None

    @property
    def after(self) -> Digest | None:
        """The destination's digest after the copy (for an up-to-date inexact plan: what it holds)."""
        if self.written is not None:
            return self.written.digest
        if self.plan.manifest is not None:
            return self.plan.manifest.digest
        return self.plan.before if self.plan.up_to_date else None

    def as_result(self) -> dict[str, t.Any]:
        plan = self.plan
        after = self.after
        media_type = (self.written.media_type if self.written else plan.manifest.media_type if plan.manifest
                      else plan.images[0].target_type if plan.images else self.media_type)
        result: dict[str, t.Any] = {
            'changed': self.changed,
            'digest': str(after) if after else None,
            'source_digest': str(plan.source_digest),
            'media_type': plan.index_type or media_type,
            'blobs': self.stats.as_result(),
            'bytes_copied': self.stats.bytes_copied,
            'reason': plan.reason,
            'rule': plan.rule,
            'converted': any(image.converted or not image.exact for image in plan.images),
            'diff': {'before': {'digest': str(plan.before)} if plan.before else None,
                     'after': {'digest': str(after)} if after else None},
        }
        if plan.image_id is not None:
            # A store that knows images by ID (docker-daemon:, containers-storage:): the ID is what it holds; the manifest
            # digest is only known when the copy wrote it or could predict it (no layer changes bytes).
            result['image_id'] = str(plan.image_id)
            result['diff'] = {'before': {'image_id': str(plan.before_image_id)} if plan.before_image_id else None,
                              'after': dict({'image_id': str(plan.image_id)}, **({'digest': str(after)} if after else {}))}
        if plan.platform:
            result['platform'] = plan.platform
        if self.tags:
            result['additional_tags'] = self.tags
        if self.policy is not None:
            result['policy'] = self.policy
        if self.signed is not None:
            result['signed'] = self.signed
        if plan.index_type is not None:
            result['platforms'] = sorted(str(d.platform) for d in plan.index.manifests if d.platform is not None) if plan.index else []
            result['sparse'] = plan.sparse
            result['index_digest_kept'] = bool(after is not None and after == plan.source_digest)
        return result


def _current_manifest(dest_ref: ImageReference, dest_options: ConnectionOptions,
                      with_config: bool = False) -> tuple[t.Any, tuple[ImageManifest, ...] | None, bytes | None]:
    """The destination's current manifest (an index's children, or an image's config), read through a source of the destination."""
    try:
        with dest_ref.new_source(dest_options) as current_src:
            raw, media_type = current_src.get_manifest()
            current = parse_any(raw, media_type)
            if isinstance(current, ImageIndex):
                return current, read_children(current_src, current.manifests), None
            config = None
            if with_config and isinstance(current, ImageManifest):
                desc = current.config
                config = current_src.get_blob_bytes(BlobInfo(desc.digest, desc.size, desc.media_type), mt.MAX_CONFIG_SIZE, 'image config')
            return current, None, config
    except OcikitError:
        # Whatever the destination holds, if it cannot be read it is not what this copy would write.
        return None, None, None


def missing_from(dest_ref: ImageReference, dest_options: ConnectionOptions) -> str | None:
    """What of its index's images the destination lacks (a child manifest or blob, read through a source of it); None when complete.

    A blob counts as present when the destination can open it with the size its descriptor says;
    its bytes are not read (every writer of this code verifies a blob before it gets its name).
    """
    try:
        with dest_ref.new_source(dest_options) as current_src:
            raw, media_type = current_src.get_manifest()
            current = parse_any(raw, media_type)
            if not isinstance(current, ImageIndex):
                return None
            for desc in current.manifests:
                try:
                    child = read_child(current_src, desc)
                except OcikitError:
                    return 'the image %s' % desc.digest
                for blob in child.blobs():
                    try:
                        with current_src.get_blob(BlobInfo(blob.digest, blob.size, blob.media_type)) as (dummy, size):
                            if blob.size >= 0 and size >= 0 and size != blob.size:
                                return 'blob %s of the image %s (%d bytes, not %d)' % (blob.digest, desc.digest, size, blob.size)
                    except OcikitError:
                        return 'blob %s of the image %s' % (blob.digest, desc.digest)
    except OcikitError as exc:
        return 'its index (%s)' % exc.message
    return None


def _check_complete(plan: CopyPlan, dest_ref: ImageReference, dest_options: ConnectionOptions) -> CopyPlan:
    """An index in place is up to date only with all its images: a sparse one (left by skopeo's index-only) is completed.

    Registries are not checked: they may hold an index without its images (``multi_arch: index-only``).
    """
    if dest_ref.transport.name in SPARSE_TRANSPORTS:
        return plan
    missing = missing_from(dest_ref, dest_options)
    if missing is None:
        return plan
    return dataclasses.replace(plan, up_to_date=False, reason='the destination holds the index %s but not all its images (%s is missing)'
                               % (plan.before, missing))


def additional_tags_kwargs(dest_ref: ImageReference, tags: t.Sequence[str] | None) -> dict[str, t.Any]:
    """The destination keyword arguments for ``additional_tags`` in a docker-archive (its RepoTags)."""
    if not tags or dest_ref.transport.name != 'docker-archive':
        return {}
    from ansible_collections.ocikit.images.plugins.module_utils.reference import parse_normalized_named

    refs = []
    for tag in tags:
        ref = parse_normalized_named(tag)
        if ref.digest is not None:
            raise InvalidInputError('additional tag "%s" must not have a digest' % tag)
        refs.append(ref.with_default_tag())
    return {'additional_tags': tuple(refs)}


def additional_tag_references(dest_ref: ImageReference, tags: t.Sequence[str] | None) -> list[ImageReference]:
    """More names for the image in a registry (tags of the same repository) or an OCI layout (ref names).

    Beyond skopeo, which has --additional-tag for docker-archive only: the blobs move once and every
    name gets the manifest. docker-archive names are handled by the destination itself.
    """
    if not tags or dest_ref.transport.name == 'docker-archive':
        return []
    name = dest_ref.transport.name
    refs: list[ImageReference] = []
    for tag in tags:
        if name == 'docker':
            docker_ref = dest_ref.docker_reference()
            if docker_ref is None:  # pragma: no cover - docker references always have one
                raise InvalidInputError('additional tag "%s": the destination has no docker reference' % tag)
            if '/' in tag or '@' in tag or ':' in tag:
                # Another repository would need its own blob transfer or mounts: that is another copy task.
                raise InvalidInputError('additional tag "%s": for a registry destination give tags of %s, not references'
                                        % (tag, docker_ref.without_tag_or_digest()))
            from ansible_collections.ocikit.images.plugins.module_utils.reference import validate_tag

            extra = dest_ref.transport.parse_reference('//' + str(docker_ref.without_tag_or_digest().with_tag(validate_tag(tag))))
        elif name == 'oci':
            extra = dest_ref.transport.parse_reference('%s:%s' % (getattr(dest_ref, 'path'), tag))
        else:
            raise InvalidInputError('additional_tags is supported for docker, oci and docker-archive destinations (this destination is %s)'
                                    % name)
        refs.append(extra)
    return refs


def _manifest_bytes(dest_ref: ImageReference, dest_options: ConnectionOptions, digest: Digest) -> ManifestWrite:
    """The manifest ``dest_ref`` holds (known to be ``digest``), read back for tagging it under more names."""
    with dest_ref.new_source(dest_options) as current_src:
        raw, media_type = current_src.get_manifest()
    parsed = parse_manifest(raw, media_type, expected_digest=digest)
    return ManifestWrite(raw, parsed.media_type, digest)


def tag_more(extra_refs: t.Sequence[ImageReference], final: ManifestWrite, dest_options: ConnectionOptions,
             check_mode: bool) -> list[dict[str, t.Any]]:
    """Point every extra name at ``final`` (only those that do not already); one entry per name for the result."""
    out = []
    for ref in extra_refs:
        dest = ref.new_destination(dest_options)
        try:
            before = dest.get_manifest_digest()
            changed = before != final.digest
            if changed and not check_mode:
                dest.put_manifest(final.raw, final.media_type)
                dest.commit()
        finally:
            dest.close()
        out.append({'name': str(ref), 'changed': changed, 'before': str(before) if before else None})
    return out


def _manifest_rejected(exc: OcikitError, media_type: str) -> bool:
    """Whether a destination refused a manifest for its type (worth another type), as containers/image's isManifestInvalidError."""
    if isinstance(exc, UnsupportedMediaTypeError):
        return True
    if not isinstance(exc, RegistryError):
        return False
    if exc.code in ('MANIFEST_INVALID', 'UNSUPPORTED', 'TAG_INVALID') or exc.status == 415:
        return True
    # distribution answers a schema1 PUT it does not accept with 500 UNKNOWN ("manifest schema v1 unsupported" in its detail).
    return exc.status == 500 and media_type in mt.SCHEMA1_TYPES


def _execute_with_fallback(src: ImageSource, dest: ImageDestination, plan: CopyPlan, source: SourceImage, options: CopyOptions,
                           candidates: t.Sequence[ImageReference], dest_options: ConnectionOptions, traits: DestinationTraits,
                           before: Digest | None, signatures: t.Sequence[bytes] | None = None,
                           late_signing: t.Callable[[bytes], list[bytes]] | None = None) -> tuple[CopyPlan, BlobStats, ManifestWrite]:
    """Run the plan; if the destination refuses the manifest's type (and no format was asked), try the types it may take instead.

    As skopeo: a registry that does not take OCI (or schema1) manifests gets the next type it may
    accept. Blobs already sent are skipped on the next attempt.
    """
    rejected: list[str] = []
    while True:
        try:
            stats, written = execute_plan(src, dest, plan, source, options, candidates, dest_options.max_parallel, traits, signatures,
                                          late_signing)
            return plan, stats, written
        except OcikitError as exc:
            if (options.format or plan.index_type is not None or signatures or late_signing is not None
                    or not _manifest_rejected(exc, plan.images[0].target_type)):
                raise
            rejected.append(plan.images[0].target_type)
            remaining = tuple(m for m in traits.supported_types if m not in rejected and m not in mt.INDEX_TYPES)
            if not remaining:
                raise
            traits = dataclasses.replace(traits, supported_types=remaining + tuple(m for m in traits.supported_types if m in mt.INDEX_TYPES))
            plan = make_plan(source, before, dataclasses.replace(options, force=True), traits, before_image_id=plan.before_image_id)


def _source_signatures(src: ImageSource, dest: ImageDestination, plan: CopyPlan, options: CopyOptions) -> list[bytes] | None:
    """The source's signatures that travel with the image ([] with ``remove_signatures``; None: the source has none).

    As containers/image: the source's signatures travel with the image unless ``remove_signatures``;
    a copy that would change the manifest, or a destination that cannot store signatures, fails
    before anything is written rather than drop them silently.
    """
    # One image out of an index (multi_arch: system) carries its own signatures, not the index's (containers/image reads the
    # chosen instance's, copy/single.go), and is unchanged when written as that instance's manifest.
    chosen = plan.images[0].source.digest if plan.platform is not None and plan.index_type is None and plan.images else None
    origin = chosen or plan.source_digest
    change = None
    if plan.manifest is None or plan.manifest.digest != origin:
        change = plan.reason if plan.manifest is None else 'to %s' % plan.manifest.digest
    return travelling_signatures((lambda: src.get_signatures(chosen)) if chosen is not None else src.get_signatures, dest, options, change)


def travelling_signatures(read: t.Callable[[], list[bytes]], dest: ImageDestination, options: CopyOptions,
                          change: str | None) -> list[bytes] | None:
    """:func:`_source_signatures` with the source's signatures from ``read`` and ``change`` saying how the manifest changes (None: kept)."""
    if options.remove_signatures:
        return [] if dest.supports_signatures else None
    signatures = read()
    if not signatures:
        return None
    count = '%d signature%s' % (len(signatures), '' if len(signatures) == 1 else 's')
    if change is not None:
        raise InvalidInputError('the source has %s, which this copy would invalidate by changing the manifest (%s); '
                                'set remove_signatures: true to copy without them' % (count, change))
    if not dest.supports_signatures:
        raise InvalidInputError('the source has %s and the destination cannot store signatures; '
                                'set remove_signatures: true to copy without them' % count)
    reason = dest.unstorable_signatures(signatures)
    if reason is not None:
        raise InvalidInputError('the source has %s and %s; set remove_signatures: true to copy without them' % (count, reason))
    return signatures


def signatures_differ(dest: ImageDestination, signatures: t.Sequence[bytes] | None, options: CopyOptions) -> str | None:
    """Why a destination holding the image is not up to date for its signatures when the copy signs nothing; None when it is.

    ``signatures`` are :func:`travelling_signatures`' answer: with ``remove_signatures`` the
    destination must hold none; else it must hold exactly the source's (none asked when the source has none).
    """
    if options.remove_signatures:
        if dest.supports_signatures and not dest.signatures_up_to_date([]):
            return 'remove_signatures: the destination holds signatures to drop'
    elif signatures and not dest.signatures_up_to_date(signatures):
        return 'the destination holds the image but not its %d signature%s' % (len(signatures), '' if len(signatures) == 1 else 's')
    return None


@dataclasses.dataclass
class _SignaturePlan:
    """The signatures a copy stores (None: leave the destination's alone) and, when it signs, what it signs."""

    signatures: list[bytes] | None
    plan: CopyPlan
    made: list[SignatureMade] = dataclasses.field(default_factory=list)
    #: Signs a manifest known only after the transfer (layers recompressed); see execute_plan.
    late_signing: t.Callable[[bytes], list[bytes]] | None = None
    #: How many signatures the destination held for the same manifest before (0 when it held another image).
    present: int = 0


def _signatures_for(src: ImageSource, dest: ImageDestination, plan: CopyPlan, options: CopyOptions, signer: Signer | None = None,
                    check_mode: bool = False, current_manifest: t.Callable[[], bytes] | None = None) -> _SignaturePlan:
    """The signatures to write, and the plan adjusted for them (see :func:`_source_signatures` and copy/signing.py).

    A destination that holds the image counts as up to date only when it holds exactly the
    signatures the copy would write; with a ``signer``, one of its own valid signatures there (or
    in the source) is reused, so a repeated signed copy writes nothing.
    """
    base = _source_signatures(src, dest, plan, options)
    if signer is None:
        reason = signatures_differ(dest, base, options) if plan.up_to_date else None
        if reason is not None:
            plan = dataclasses.replace(plan, up_to_date=False, reason=reason)
        return _SignaturePlan(base, plan)
    check_destination(signer, dest)
    same_image = plan.before is not None and (plan.up_to_date or plan.before == plan.after)
    manifest = plan.manifest.raw if plan.manifest is not None else None
    if manifest is None and plan.up_to_date and current_manifest is not None:
        manifest = current_manifest()
    if manifest is None:
        # Layers are recompressed: the manifest, and so what is signed, exists only after the transfer.
        late_base = list(base or [])
        made = [SignatureMade(kind, signer.key_name(kind), signer.identity, None, True) for kind in signer.kinds]
        return _SignaturePlan(late_base, plan, made, lambda raw: signer.signatures_for(raw, late_base, [])[0])
    present = dest.get_signatures() if same_image else []
    # A source without signatures has nothing to say about the destination's: they stay, and ours joins them.
    keep = list(base) if base is not None else list(present)
    signatures, made = signer.signatures_for(manifest, keep, present, create=not check_mode)
    if plan.up_to_date:
        new = [entry for entry in made if entry.created]
        if new:
            plan = dataclasses.replace(plan, up_to_date=False, reason='the destination holds the image but no signature by %s for %s'
                                       % (', '.join(entry.key for entry in new), signer.identity))
        elif not dest.signatures_up_to_date(signatures):
            plan = dataclasses.replace(plan, up_to_date=False, reason='the destination holds the image but not the same signatures')
    return _SignaturePlan(signatures, plan, made, present=len(present))


def head_first_applies(src_ref: ImageReference, dest_ref: ImageReference, options: CopyOptions, policy: Policy | None = None,
                       sign: SignOptions | None = None, extra_refs: t.Sequence[ImageReference] = ()) -> bool:
    """Whether a copy may find its destination up to date with HEAD requests alone (see :func:`up_to_date_by_heads`).

    Registry to registry, where the destination digest follows from the source digest: no
    ``format``, ``platforms``, ``dest_compress_format``, ``dest_compress``/``dest_decompress``,
    ``force``, signing or additional tags; and a trust policy whose scope for the source only
    ``insecureAcceptAnything``: any other requirement needs the manifest's bytes (a signature is
    verified against their digest, a base layer is read from them, ``reject`` says why), so the
    copy reads them as always.
    """
    if src_ref.transport.name != 'docker' or dest_ref.transport.name != 'docker' or extra_refs:
        return False
    if (options.force or options.format or options.platforms or options.compress_format or options.dest_compress
            or options.dest_decompress or (sign is not None and sign.wanted)):
        return False
    if policy is not None:
        requirements = select_requirements(policy, src_ref).requirements
        if not requirements or any(requirement.type != INSECURE_ACCEPT_ANYTHING for requirement in requirements):
            return False
    return True


def _digest_kept(media_type: str, options: CopyOptions) -> bool:
    """Whether copying a source manifest of ``media_type`` writes it unchanged when nothing else asks for a change.

    A single image keeps its digest; an index only when it is copied whole (``multi_arch: all`` or
    ``index-only``): ``system`` writes one of its images instead. Schema1 is left to the full path
    (its digest is of the payload without signatures).
    """
    if media_type in mt.SINGLE_IMAGE_TYPES:
        return True
    return media_type in mt.INDEX_TYPES and options.multi_arch in ('all', 'index-only')


def up_to_date_by_heads(src: ImageSource, dest: ImageDestination, options: CopyOptions, policy: Policy | None = None,
                        at_once: bool = False) -> CopyResult | None:
    """The up-to-date result of a copy (for which :func:`head_first_applies`) found with HEAD requests only; None: copy as always.

    The destination is asked first (one HEAD): when it holds nothing the copy must read the source
    anyway, and the source is not asked twice. Then the source (``head_manifest``: one HEAD, no
    GET). The destination is up to date when it holds the source's digest (both as the registries
    state them in ``Docker-Content-Digest``) for a manifest whose digest the copy keeps
    (:func:`_digest_kept`), and the signatures are as the copy would leave them: the source's
    travel (read by that digest, checked as the full path checks them, compared with the
    destination's), or with ``remove_signatures`` none is there. Anything else is None, and the copy
    runs as always; the destination's digest asked here is not asked again there. With ``at_once``
    (the destination's tag list has the name, so the source will be asked anyway) both HEADs are sent
    together: one round trip per image instead of two.

    One difference with the full path, by design: a source image whose layers are stored
    uncompressed is, on the full path, compressed for the registry destination (so its digest
    changes); a destination already holding that same uncompressed image is found up to date here.
    """
    head = getattr(src, 'head_manifest', None)
    if head is None:
        return None
    if at_once:
        before, stated = _run_parallel([dest.get_manifest_digest, head], 2)
    else:
        before = dest.get_manifest_digest()
        stated = head() if before is not None else None
    if before is None or stated is None:
        return None
    digest, media_type = stated
    if digest != before or not _digest_kept(media_type, options):
        return None
    signatures = travelling_signatures(lambda: src.get_signatures(digest), dest, options, None)
    if signatures_differ(dest, signatures, options) is not None:
        return None
    plan = CopyPlan(images=(), source_digest=digest, before=before, up_to_date=True, reason='destination already holds %s' % before,
                    manifest=None, rule='digest')
    result = CopyResult(plan=plan, changed=False, stats=BlobStats(), media_type=media_type)
    if policy is not None:
        result.policy = {'source': policy_source(policy), 'scope': select_requirements(policy, src.reference).describe(),
                         'requirement': INSECURE_ACCEPT_ANYTHING}
    return result


def copy_image(src_ref: ImageReference, dest_ref: ImageReference, src_options: ConnectionOptions,
               dest_options: ConnectionOptions, options: CopyOptions, check_mode: bool = False,
               dest_kwargs: t.Mapping[str, t.Any] | None = None, extra_tags: t.Sequence[ImageReference] | None = None,
               policy: Policy | None = None, verifier: SignatureVerifier | None = None, sign: SignOptions | None = None,
               head_first: bool = False, dest_listed: bool | None = None) -> CopyResult:
    """Copy one image (or index) from ``src_ref`` to ``dest_ref``.

    Nothing is written when the destination already holds what the copy would write (unless
    ``force``), nor in check mode. The destination is driven in the contract's order and closed in
    ``finally``: a failure leaves its name on the previous image.

    With a ``policy`` (containers-policy.json), every image the copy takes is evaluated right after
    its manifest is read, before any blob is read and before the destination is opened (check mode
    too): a rejected image raises PolicyRejectedError and nothing is written. ``verifier`` checks
    signatures (default: GPG through gpg, signature/verifier.py).

    With ``sign``, the manifest written is signed for the destination's identity (copy/signing.py);
    keys, passphrases and the destination's ability to store the signatures are checked before
    anything is written.

    With ``head_first`` (image_sync) and where :func:`head_first_applies`, an up-to-date
    destination is found with HEAD requests only (:func:`up_to_date_by_heads`): no manifest is
    read at either end. The destination is then opened before the source is read, which only a
    policy that accepts anything allows.

    ``dest_listed`` is what the caller knows of the destination's name from its repository's tag
    list, read just before (image_sync): False, it holds nothing (its digest is not asked, one
    request less per new image); True, it holds an image (HEAD-first then asks both ends at once).
    """
    extra_refs = list(extra_tags or ())
    with src_ref.new_source(src_options) as src:
        dest: ImageDestination | None = None
        try:
            if head_first and dest_listed is not False and head_first_applies(src_ref, dest_ref, options, policy, sign, extra_refs):
                dest = dest_ref.new_destination(dest_options, **(dest_kwargs or {}))
                quick = up_to_date_by_heads(src, dest, options, policy, at_once=bool(dest_listed))
                if quick is not None:
                    return quick
            images = read_images(src, options)
            policy_outcome = None
            if policy is not None:
                policy_outcome = check_source(policy, src_ref, src, images, verifier if verifier is not None else ImageVerifier())
            signer = Signer(sign, dest_ref) if sign is not None and sign.wanted else None
            if dest is None:
                dest = dest_ref.new_destination(dest_options, **(dest_kwargs or {}))
            traits = traits_of(dest, dest_ref)
            source = read_configs(src, images, options, traits)
            plan = make_plan(source, None, options, traits, before_image_id=dest.get_image_id()) if traits.by_image_id else None
            if plan is not None and plan.up_to_date and plan.manifest is None and plan.image_id is not None:
                # The store keeps no manifest: the digest is the one recorded when this image ID was loaded, if it was by us.
                plan = dataclasses.replace(plan, before=dest.loaded_manifest_digest(plan.image_id))
            before = None
            if plan is None or plan.rule != 'image_id':
                # Not decided by image ID: the destination's manifest digest decides (for an ID-addressed store, a schema1
                # image whose config is only known after its layers are read: the name's image is exported to compare).
                before = None if dest_listed is False else dest.get_manifest_digest()
                plan = make_plan(source, before, options, traits)
            if not plan.exact and before is not None:
                schema1 = isinstance(source.top, Schema1Manifest)
                current, children, current_config = _current_manifest(dest_ref, dest_options, with_config=schema1)
                plan = make_plan(source, before, options, traits, current, children, current_config)
            signing = _signatures_for(src, dest, plan, options, signer, check_mode,
                                      lambda: _manifest_bytes(dest_ref, dest_options, t.cast(Digest, before)).raw)
            plan = signing.plan
            if plan.up_to_date and plan.index_type is not None and not plan.sparse:
                plan = _check_complete(plan, dest_ref, dest_options)
            if plan.up_to_date or check_mode:
                result = CopyResult(plan=plan, changed=not plan.up_to_date, stats=BlobStats())
            else:
                candidates = [src_ref] if src_ref.transport.name == dest_ref.transport.name else []
                plan, stats, written = _execute_with_fallback(src, dest, plan, source, options, candidates, dest_options, traits, before,
                                                              signing.signatures, signing.late_signing)
                result = CopyResult(plan=plan, changed=True, stats=stats, written=written)
            result.policy = policy_outcome
            if signer is not None:
                result.signed = [entry.as_result() for entry in signing.made]
                after = len(signing.signatures or ())
                if check_mode or signing.late_signing is not None:
                    # Not made yet: those to be created are not in the list.
                    after += sum(1 for entry in signing.made if entry.created)
                result.signature_counts = (signing.present, after)
        finally:
            if dest is not None:
                dest.close()
    if extra_refs:
        final = result.written or (ManifestWrite(plan.manifest.raw, plan.manifest.media_type, plan.manifest.digest) if plan.manifest else None)
        if final is None and result.after is not None and plan.up_to_date:
            final = _manifest_bytes(dest_ref, dest_options, result.after)
        if final is not None:
            result.tags = tag_more(extra_refs, final, dest_options, check_mode)
            result.changed = result.changed or any(entry['changed'] for entry in result.tags)
        else:
            # Check mode with layers to rewrite: the manifest is not known yet, so every extra name will move.
            result.tags = [{'name': str(ref), 'changed': True, 'before': None} for ref in extra_refs]
            result.changed = True
    return result
