# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""image_sync's engine: the images a sync spec names, each copied with image_copy's engine, concurrently.

A sync is three steps:

1. **Plan** (:func:`plan_jobs`): every entry of the spec (spec.py) becomes images to copy. A
   repository that lists its tags is asked once (``GET /v2/<name>/tags/list``, paginated); the
   tags are filtered (:func:`...spec.select_tags`) and each gets its destination name
   (:func:`...spec.destination_for`). With ``immutable_tags``, a tag matching it that the
   destination already has is skipped here, before its source is read at all (the destination's
   tag list is read once per repository). Attachment tags in a tag list (``sha256-<hex>.sig``,
   ``.att``, ``.sbom``, the referrers tag schema: :func:`...spec.attachment_kind`) are not images:
   by default they are left out and counted (``attachment_tags: copy`` syncs them as tags, as
   skopeo does).
2. **Copy**: each image is :func:`...copy.execute.copy_image`, so every guarantee of image_copy holds
   per image (idempotence by digest: an image already there is ``skipped`` and nothing is written;
   the trust policy; signatures travel; signing). Images run ``concurrency`` at a time; a failure
   stops the sync unless ``keep_going`` (then every failure is listed and the sync fails at the end).
3. **Prune** (opt-in; registry, OCI layout and archive destinations): in each destination
   repository that an entry filled from a repository's tag list (or a layout source's names), a
   tag the entry's filters select but the source no longer has is deleted with image_delete's
   engine and its safety rules (in a registry, a tag sharing its digest with another tag is not
   deleted with it, and is reported; in a layout the name goes alone and the blobs no other name
   reaches are collected). An attachment tag is never pruned.

In check mode each image that would be copied also gets the bytes it would move
(:func:`predict_bytes`): the sizes of the plan's blobs the destination lacks, asked the way the
copy's first step asks (a registry ``HEAD``, a file's size), each blob counted once per destination
blob store, so that the sum is what a run moves.

Images of one ``oci-archive`` or ``oci`` source share one opening of it (:class:`...sync.sources.SourceBundles`):
an archive is indexed once, a layout's index.json read once, not once per image. A source layout
written during the sync is reported, and nothing is pruned from its (possibly out of date) names.

An ``oci-archive`` destination is one archive holding every image: the sync runs into a layout
staged beside it (the archive's images copied into it first, so up-to-date images are found and
not read from the source), and the archive is replaced once, atomically, only when something
changed; an interrupted sync leaves the old archive whole.

Everything is reported per image (``images``: src, dest, digest, action, error) and summed up
(``summary``). ``progress_file`` receives one JSON line per image as it finishes, for an operator
watching a long sync.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import shutil
import stat
import threading
import time
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.config.registries_d import load_registries_config
from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    BlobNotFoundError,
    ImageNotFoundError,
    InvalidInputError,
    LayoutError,
    OcikitError,
    ServerError,
    SharedDigestError,
    describe,
    quote,
)
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import (
    create_temp_dir,
    create_temp_file,
    release_temp_dir,
    sweep_stale_temps,
    unlink_quietly,
)
from ansible_collections.ocikit.images.plugins.module_utils.sync.spec import (
    ATTACHMENT_TAG_CHOICES,
    SyncEntry,
    SyncSpec,
    attachment_kind,
    destination_for,
    select_layout_references,
    select_tags,
    source_for,
)
from ansible_collections.ocikit.images.plugins.module_utils.sync.sources import SourceBundles
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import BlobInfo, ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import TEMP_PREFIX

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyPlan
    from ansible_collections.ocikit.images.plugins.module_utils.copy.signing import SignOptions
    from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import Policy
    from ansible_collections.ocikit.images.plugins.module_utils.sync.re2 import RE2Pattern

ACTION_COPIED = 'copied'
ACTION_SKIPPED = 'skipped'
ACTION_PRUNED = 'pruned'
ACTION_FAILED = 'failed'
#: Prefix of the layout staged beside an oci-archive destination (a TEMP_PREFIX name, so sweeps find it).
STAGING_PREFIX = TEMP_PREFIX + 'sync-'


@dataclasses.dataclass
class SyncOptions:
    """How to sync, beyond the spec: where to, naming, copy options, and the sync's own switches."""

    dest: str
    dest_type: str
    scoped: bool = False
    append_suffix: str = ''
    copy: CopyOptions = dataclasses.field(default_factory=CopyOptions)
    concurrency: int = 4
    keep_going: bool = False
    prune: bool = False
    immutable_tags: 'RE2Pattern | None' = None
    #: ``skip``: attachment tags (spec.attachment_kind) in a tag list are not synced as images; ``copy``: they are, as skopeo does.
    attachment_tags: str = 'skip'
    policy: 'Policy | None' = None
    sign: 'SignOptions | None' = None
    progress_file: str | None = None


@dataclasses.dataclass
class ImageJob:
    """One image to copy (or, planned as ``skipped``, not to)."""

    entry: SyncEntry
    src: str
    dest: str
    tag: str | None
    #: Set when planning decided already (immutable tag present): the action and why.
    decided: str | None = None
    reason: str = ''
    #: Whether the registry destination's tag list (read once per repository) has this tag; None: not known.
    dest_listed: bool | None = None


@dataclasses.dataclass
class SyncResult:
    """What the sync did (or would do)."""

    images: list[dict[str, t.Any]] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    started: float = dataclasses.field(default_factory=time.monotonic)
    bytes_copied: int = 0
    #: Attachment tags (``sha256-<hex>.sig`` ...) the tag lists held that were not synced as images (``attachment_tags: skip``).
    attachment_tags_skipped: int = 0
    #: Per registry: requests by method, manifest GETs, tokens, retries, rate-limit waits (ClientPool.stats()).
    registries: dict[str, dict[str, t.Any]] = dataclasses.field(default_factory=dict)

    @property
    def failed(self) -> list[dict[str, t.Any]]:
        return [item for item in self.images if item['action'] == ACTION_FAILED]

    @property
    def changed(self) -> bool:
        return any(item['action'] in (ACTION_COPIED, ACTION_PRUNED) for item in self.images)

    def summary(self) -> dict[str, t.Any]:
        counts = {action: sum(1 for item in self.images if item['action'] == action)
                  for action in (ACTION_COPIED, ACTION_SKIPPED, ACTION_PRUNED, ACTION_FAILED)}
        requests = sum(int(entry.get('requests', 0)) for entry in self.registries.values())
        waits = sum(int(entry.get('rate_limit_waits', 0)) for entry in self.registries.values())
        waited = sum(float(entry.get('rate_limit_wait_seconds', 0.0)) for entry in self.registries.values())
        return dict(counts, images=len(self.images), bytes_copied=self.bytes_copied, seconds=round(time.monotonic() - self.started, 3),
                    attachment_tags_skipped=self.attachment_tags_skipped, requests=requests, rate_limit_waits=waits,
                    rate_limit_wait_seconds=round(waited, 3), registries=self.registries)


class _Progress:
    """One JSON line per finished image in ``path`` (truncated when the sync starts); thread-safe."""

    def __init__(self, path: str | None) -> None:
        self._lock = threading.Lock()
        self._handle: t.TextIO | None = None
        if path:
            try:
                self._handle = open(path, 'w', encoding='utf-8', buffering=1)  # pylint: disable=consider-using-with
            except OSError as exc:
                raise InvalidInputError('cannot write progress_file %s: %s' % (path, exc.strerror or exc)) from None

    def write(self, item: t.Mapping[str, t.Any]) -> None:
        if self._handle is not None:
            with self._lock:
                self._handle.write(json.dumps(dict(item, time=round(time.time(), 3)), sort_keys=True) + '\n')

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def entry_options(entry: SyncEntry, base: ConnectionOptions) -> ConnectionOptions:
    """The source connection options of ``entry``: the YAML's per-registry credentials and TLS settings over the module's."""
    registry = entry.registry
    if registry is None:
        return base
    changes: dict[str, t.Any] = {}
    if registry.credentials is not None:
        if registry.credentials.identity_token:
            changes.update(registry_token=None, username='<token>', password=registry.credentials.identity_token)
        else:
            changes.update(username=registry.credentials.username, password=registry.credentials.password, registry_token=None)
    if registry.tls_verify is not None:
        changes['tls_verify'] = registry.tls_verify
    if registry.cert_dir is not None:
        changes['cert_dir'] = registry.cert_dir
    return dataclasses.replace(base, **changes) if changes else base


def _list_source_tags(entry: SyncEntry, options: ConnectionOptions) -> list[str]:
    ref = parse_image_name('docker://%s:latest' % t.cast(t.Any, entry.repository).name)
    with ref.new_source(options) as src:
        return src.list_tags()


class _DestinationTags:
    """The tags (or layout names) a destination repository holds, read once per repository; None when it holds none."""

    def __init__(self, options: ConnectionOptions) -> None:
        self.options = options
        self._cache: dict[str, set[str] | None] = {}
        self._lock = threading.Lock()
        self._readers: dict[str, threading.Lock] = {}

    def has(self, dest: str) -> bool:
        ref = parse_image_name(dest)
        name = ref.transport.name
        if name == 'docker':
            docker = t.cast(t.Any, ref).docker_reference()
            return docker.tag in (self.tags_of('docker://%s:latest' % docker.name) or ())
        if name == 'oci':
            return getattr(ref, 'image_ref', None) in (self.tags_of('oci:%s' % getattr(ref, 'path')) or ())
        if name == 'dir':
            return os.path.isfile(os.path.join(getattr(ref, 'path'), 'manifest.json'))
        return False

    def listed(self, dest: str) -> bool | None:
        """Whether the registry tag ``dest`` is in its repository's tag list; None when that is not known.

        The list is read once per repository with the destination's own scope (so with the token the
        copies use); a repository the registry does not know (``NAME_UNKNOWN``) has no tags. None
        whenever the list cannot be read (a registry without the tag list API, no permission), and
        for a name with a digest: the copy then asks for the destination's digest as always.
        """
        ref = t.cast(t.Any, parse_image_name(dest)).docker_reference()
        if ref.tag is None or ref.digest is not None:
            return None
        tags = self._writable(ref.name)
        return None if tags is None else ref.tag in tags

    def prefetch(self, dests: t.Iterable[str]) -> concurrent.futures.ThreadPoolExecutor:
        """Start reading (four at a time) the registry tag lists :meth:`listed` will need for ``dests``; shut the pool down when done.

        The planner lists the source's tags meanwhile: the destination's client is made, pinged and
        asked at the same time instead of after it.
        """
        names = sorted({t.cast(t.Any, parse_image_name(dest)).docker_reference().name for dest in dests})
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(4, len(names))), thread_name_prefix='tags')
        for name in names:
            pool.submit(self._writable, name)
        return pool

    def _writable(self, name: str) -> set[str] | None:
        """The tags of the registry repository ``name`` as its destination lists them (once); None when they cannot be listed."""
        key = 'writing ' + name
        with self._lock:
            # One reader per repository: a second caller waits for the first's answer.
            reader = self._readers.setdefault(key, threading.Lock())
        with reader:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            destination = parse_image_name('docker://%s:latest' % name).new_destination(self.options)
            try:
                tags: set[str] | None = set(t.cast(t.Any, destination).list_tags())
            except ImageNotFoundError:
                tags = set()
            except OcikitError:
                tags = None
            finally:
                destination.close()
            with self._lock:
                self._cache[key] = tags
            return tags

    def tags_of(self, repository: str) -> set[str] | None:
        with self._lock:
            if repository in self._cache:
                return self._cache[repository]
        try:
            with parse_image_name(repository).new_source(self.options) as src:
                tags: set[str] | None = set(src.list_tags())
        except OcikitError:
            # A repository (or layout) that does not exist yet has no tags to keep.
            tags = None
        with self._lock:
            self._cache[repository] = tags
        return tags


def plan_jobs(spec: SyncSpec, options: SyncOptions, src_options: ConnectionOptions, dest_options: ConnectionOptions,
              result: SyncResult) -> tuple[list[ImageJob], dict[int, list[str]]]:
    """The images to copy, and for each entry that listed a repository's tags (by index in ``spec.entries``) the tags selected.

    A repository whose tags cannot be listed fails the sync, or with ``keep_going`` is reported
    as a failed item and the others go on. With ``attachment_tags: skip`` the attachment tags of a
    tag list (or a layout's names) are left out and counted (:func:`_leave_out_attachments`); a
    tag or digest given exactly is always synced.
    """
    present = _DestinationTags(dest_options)
    if options.dest_type != 'docker':
        return _plan_entries(spec, options, src_options, result, present)
    prefetching = present.prefetch(destination_for(entry, 'latest', options.dest, options.dest_type, options.scoped, options.append_suffix)
                                   for entry in spec.entries if entry.source_dir is None)
    try:
        return _plan_entries(spec, options, src_options, result, present)
    finally:
        # Before the clients close; a list not needed after all (the planning failed) is still waited for.
        prefetching.shutdown(wait=True)


def _plan_entries(spec: SyncSpec, options: SyncOptions, src_options: ConnectionOptions, result: SyncResult,
                  present: _DestinationTags) -> tuple[list[ImageJob], dict[int, list[str]]]:
    jobs: list[ImageJob] = []
    listed: dict[int, list[str]] = {}
    for position, entry in enumerate(spec.entries):
        if entry.source_dir is not None:
            jobs.append(ImageJob(entry, source_for(entry), destination_for(entry, None, options.dest, options.dest_type, options.scoped,
                                                                           options.append_suffix), None))
            continue
        if entry.layout is not None:
            # A layout or archive source: its names were read with the spec; every selected one is listed for prune.
            tags = listed[position] = select_layout_references(entry)
        elif entry.lists_tags:
            try:
                tags = select_tags(entry, _list_source_tags(entry, entry_options(entry, src_options)))
            except OcikitError as exc:
                if not options.keep_going:
                    raise
                result.images.append({'src': 'docker://%s' % t.cast(t.Any, entry.repository).name, 'dest': None, 'digest': None,
                                      'action': ACTION_FAILED, 'error': describe(exc)})
                continue
            listed[position] = tags
        else:
            tags = list(entry.references)
        if position in listed and options.attachment_tags == 'skip':
            tags = listed[position] = _leave_out_attachments(entry, tags, options, src_options, result)
        for tag in tags:
            dest = destination_for(entry, tag, options.dest, options.dest_type, options.scoped, options.append_suffix)
            job = ImageJob(entry, source_for(entry, tag), dest, tag)
            if options.immutable_tags is not None and not _is_digest(tag) and options.immutable_tags.search(tag) and present.has(dest):
                job.decided, job.reason = ACTION_SKIPPED, 'immutable tag already at the destination (source not read)'
            elif options.dest_type == 'docker':
                # One tag list per destination repository instead of one HEAD per new image.
                job.dest_listed = present.listed(dest)
            jobs.append(job)
    return jobs, listed


def _leave_out_attachments(entry: SyncEntry, tags: list[str], options: SyncOptions, src_options: ConnectionOptions,
                           result: SyncResult) -> list[str]:
    """``tags`` without its attachment tags, which are counted; a warning names those whose content does not travel with the images.

    A ``.sig`` tag's signatures travel with their image (read from the source's attachment, written
    to the destination's) when registries.d sets ``use-sigstore-attachments`` for the source
    repository and signatures are copied; attestations, SBOMs and referrers indexes never do, nor
    does anything named so in a layout or archive source (its signatures are kept apart).
    """
    kept: list[str] = []
    kinds: dict[str, int] = {}
    for tag in tags:
        kind = attachment_kind(tag)
        if kind is None:
            kept.append(tag)
        else:
            kinds[kind] = kinds.get(kind, 0) + 1
    if not kinds:
        return kept
    result.attachment_tags_skipped += sum(kinds.values())
    lost = dict(kinds)
    note = ''
    if 'sig' in lost and options.copy.remove_signatures:
        del lost['sig']  # the signatures are dropped on purpose
    elif 'sig' in lost and entry.repository is not None:
        if load_registries_config(src_options.registries_d).use_sigstore_attachments(entry.repository):
            del lost['sig']
        else:
            note = '; registries.d does not set use-sigstore-attachments for %s, so .sig signatures are not read' % entry.repository.name
    if lost:
        where = 'docker://%s' % entry.repository.name if entry.repository is not None else entry.origin
        counts = ', '.join('%d %s' % (lost[kind], 'referrers index' if kind == 'referrers' else '.' + kind)
                           for kind in ('sig', 'att', 'sbom', 'referrers') if kind in lost)
        result.warnings.append('%s: %d attachment tag(s) left out (attachment_tags: skip) whose content does not travel with the images '
                               '(%s)%s; attachment_tags: copy copies them as tags' % (where, sum(lost.values()), counts, note))
    return kept


def _is_digest(text: str) -> bool:
    return ':' in text


class _Predicted:
    """Blobs check mode has counted already, per destination blob store, so a blob shared by several images counts once."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def claim(self, key: tuple[str, str]) -> bool:
        """True the first time ``key`` is claimed."""
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
            return True


def planned_blobs(plan: 'CopyPlan') -> list[tuple[BlobInfo, bool]]:
    """The blobs executing ``plan`` writes, each once, with whether its size is exact.

    As copy/execute.py's execute_plan: the blobs kept as they are (config first), each image's
    rewritten config and extra blobs (a converted manifest's empty layer), and the layers recompressed
    on the way, whose size is only known after the transfer: they count at their source size.
    """
    found: dict[str, tuple[BlobInfo, bool]] = {str(info.digest): (info, True) for info in plan.blobs()}
    # A recompressed layer is keyed apart: its source digest says nothing of what the destination will hold.
    for image in plan.images:
        config = image.conversion.config
        if image.config_raw is not None and config is not None:
            found.setdefault(str(config.digest), (BlobInfo(config.digest, config.size, config.media_type), True))
        if image.exact:
            for desc, dummy in image.conversion.extra_blobs:
                found.setdefault(str(desc.digest), (BlobInfo(desc.digest, desc.size, desc.media_type), True))
        for step in image.layers:
            if step.changes_bytes:
                desc = step.source
                found.setdefault('recompressed ' + str(desc.digest), (BlobInfo(desc.digest, desc.size, desc.media_type), False))
    return list(found.values())


def _size_matches(size: int | None, info: BlobInfo) -> bool:
    return size is not None and (info.size < 0 or size == info.size)


def _blob_store(dest_ref: t.Any, dest_options: ConnectionOptions) -> tuple[str, t.Callable[[BlobInfo], bool], t.Callable[[], None]]:
    """The destination's blob store (a registry repository, a layout's blobs, a dir image), a read-only presence test, and its close.

    Reads only, as check mode must: a registry HEAD (what the copy's first step asks), a file's size
    in a layout, or in the image a dir destination replaces (whose blobs it reuses), as the
    destinations' own ``has_blob`` decide, without pinning or linking anything.
    """
    name = dest_ref.transport.name
    if name == 'docker':
        destination = dest_ref.new_destination(dest_options)
        return 'docker://' + dest_ref.docker_reference().name, destination.has_blob, destination.close
    if name == 'oci':
        # Imported here: only check mode of a layout destination needs it.
        from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import Layout  # pylint: disable=import-outside-toplevel

        layout = Layout(dest_ref.path, dest_options.shared_blob_dir)
        return 'oci:' + layout.blobs_path, lambda info: _size_matches(layout.blob_size(info.digest), info), lambda: None

    def in_dir(info: BlobInfo) -> bool:
        try:
            found = os.lstat(os.path.join(dest_ref.path, info.digest.hex))
        except OSError:
            return False
        return stat.S_ISREG(found.st_mode) and _size_matches(found.st_size, info)
    if name == 'dir':
        return 'dir:' + dest_ref.path, in_dir, lambda: None
    return str(dest_ref), lambda info: False, lambda: None


def predict_bytes(src_ref: t.Any, dest_ref: t.Any, dest_options: ConnectionOptions, plan: 'CopyPlan', predicted: _Predicted) -> int:
    """Check mode's bytes for one image: the sizes of the plan's blobs the destination lacks, each blob counted once per sync.

    A blob a registry would mount from the source repository (same registry, as the copy tries) moves no bytes.
    A layer the copy recompresses is always counted, at its source size: its new digest is unknown, so is whether it is there.
    """
    store, present, close = _blob_store(dest_ref, dest_options)
    mounted = False
    if dest_ref.transport.name == 'docker' and src_ref.transport.name == 'docker':
        source, target = src_ref.docker_reference(), dest_ref.docker_reference()
        mounted = source.domain == target.domain and source.repository != target.repository
    total = 0
    try:
        for info, exact in planned_blobs(plan):
            key = str(info.digest) if exact else 'recompressed ' + str(info.digest)
            if not predicted.claim((store, key)) or (exact and present(info)):
                continue
            if not (exact and mounted):
                total += max(info.size, 0)
    finally:
        close()
    return total


def _run_one(job: ImageJob, options: SyncOptions, src_options: ConnectionOptions, dest_options: ConnectionOptions,
             check_mode: bool, predicted: _Predicted | None = None, sources: SourceBundles | None = None) -> dict[str, t.Any]:
    item: dict[str, t.Any] = {'src': job.src, 'dest': job.dest, 'digest': None, 'action': ACTION_SKIPPED, 'error': None}
    if job.decided is not None:
        item.update(action=job.decided, reason=job.reason)
        return item
    outcome = None
    for attempt in range(2):
        try:
            src_ref = sources.reference(job.src) if sources is not None else parse_image_name(job.src)
            outcome = copy_image(src_ref, parse_image_name(job.dest), entry_options(job.entry, src_options), dest_options,
                                 _copy_options(job.entry, options.copy), check_mode=check_mode, policy=options.policy, sign=options.sign,
                                 head_first=True, dest_listed=None if attempt else job.dest_listed)
            break
        except (BlobNotFoundError, ServerError) as exc:
            # The copies of this run take turns per blob (docker destination blob_lock), but another process writing the same
            # blob into the same repository can still meet distribution's half-written link file (a HEAD answered 500, a
            # manifest PUT refused with MANIFEST_BLOB_UNKNOWN). Once more: the blobs are then present.
            if attempt:
                item.update(action=ACTION_FAILED, error=describe(exc))
                return item
        except OcikitError as exc:
            item.update(action=ACTION_FAILED, error=describe(exc))
            return item
    outcome = t.cast(t.Any, outcome)
    after = outcome.after
    moved = outcome.stats.bytes_copied
    if check_mode and outcome.changed:
        try:
            moved = predict_bytes(parse_image_name(job.src), parse_image_name(job.dest), dest_options, outcome.plan, predicted or _Predicted())
        except OcikitError as exc:
            item.update(action=ACTION_FAILED, error='predicting the bytes to copy: %s' % describe(exc))
            return item
    item.update(digest=str(after) if after else None, action=ACTION_COPIED if outcome.changed else ACTION_SKIPPED,
                reason=outcome.plan.reason, bytes=moved, before=str(outcome.plan.before) if outcome.plan.before else None)
    return item


def _copy_options(entry: SyncEntry, base: CopyOptions) -> CopyOptions:
    if entry.platforms:
        return dataclasses.replace(base, platforms=tuple(entry.platforms))
    return base


def run_sync(spec: SyncSpec, options: SyncOptions, src_options: ConnectionOptions, dest_options: ConnectionOptions,
             check_mode: bool = False, sources: SourceBundles | None = None) -> SyncResult:
    """Plan, copy (and prune); a SyncResult whatever happened (failures are items, see :attr:`SyncResult.failed`).

    ``sources`` shares archives opened already (by the spec's parser); without it the sync opens and closes its own.
    """
    if options.concurrency < 1:
        raise InvalidInputError('concurrency must be at least 1')
    if options.attachment_tags not in ATTACHMENT_TAG_CHOICES:
        raise InvalidInputError('attachment_tags must be one of %s, not %s' % (', '.join(ATTACHMENT_TAG_CHOICES), quote(str(options.attachment_tags))))
    if options.prune and options.dest_type not in ('docker', 'oci', 'oci-archive'):
        raise InvalidInputError('prune is supported for registry, oci and oci-archive destinations, not %s' % options.dest_type)
    result = SyncResult(warnings=list(spec.warnings))
    # One client per registry (and credentials) for every image of the sync: one ping, one token per scope set, kept
    # connections, one bound on requests in flight, one rate-limit pause (transports/docker/pool.py).
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.pool import ClientPool  # pylint: disable=import-outside-toplevel

    owned = sources is None
    sources = SourceBundles() if sources is None else sources
    with ClientPool() as pool:
        src_options = dataclasses.replace(src_options, clients=pool)
        dest_options = dataclasses.replace(dest_options, clients=pool)
        try:
            if options.dest_type == 'oci-archive':
                return _run_into_archive(spec, options, src_options, dest_options, check_mode, result, sources)
            jobs, listed = plan_jobs(spec, options, src_options, dest_options, result)
            _copy_all(jobs, options, src_options, dest_options, check_mode, result, sources)
            if _may_prune(options, result, sources):
                _prune(spec, options, listed, dest_options, check_mode, result)
            return result
        finally:
            if owned:
                sources.close()
            result.registries = pool.stats()


def _copy_all(jobs: list[ImageJob], options: SyncOptions, src_options: ConnectionOptions, dest_options: ConnectionOptions,
              check_mode: bool, result: SyncResult, sources: SourceBundles | None = None) -> None:
    progress = _Progress(options.progress_file)
    stop = threading.Event()
    lock = threading.Lock()
    predicted = _Predicted()

    def work(job: ImageJob) -> dict[str, t.Any] | None:
        if stop.is_set():
            return None
        item = _run_one(job, options, src_options, dest_options, check_mode, predicted, sources)
        if item['action'] == ACTION_FAILED and not options.keep_going:
            stop.set()
        progress.write(item)
        return item

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=options.concurrency) as pool:
            for item in pool.map(work, jobs):
                if item is not None:
                    with lock:
                        result.images.append(item)
                        result.bytes_copied += int(item.get('bytes') or 0)
    finally:
        progress.close()


def _may_prune(options: SyncOptions, result: SyncResult, sources: SourceBundles) -> bool:
    """Whether to prune after the copies; says why not (a failed image, a source layout written meanwhile) in the warnings.

    Prune deletes what the source no longer names, so it needs the source's names to be complete
    (nothing failed) and current: a layout written during the sync may name images the snapshot the
    sync read does not. The change is reported whether or not prune was asked for.
    """
    changed = sources.changed_layouts()
    for path in changed:
        result.warnings.append('the source OCI layout %s was written during the sync: its images were copied as its index.json named '
                               'them when the sync started' % path)
    if not options.prune:
        return False
    if result.failed:
        result.warnings.append('prune skipped: %d image(s) failed' % len(result.failed))
        return False
    if changed:
        result.warnings.append('prune skipped: the source changed during the sync; run it again to prune from its current names')
        return False
    return True


def _destination_names(options: SyncOptions, sample: str, present: _DestinationTags) -> tuple[str, list[str]]:
    """The destination repository of an entry (from a sample name with the tag ``latest``) and the tags it holds, sorted.

    A registry repository lists its tags. In an OCI layout a repository is the ref names that
    start with ``REPOSITORY:`` and go on with a tag (no further ``/``, ``:`` or ``@``): a name of
    another repository, a digest name or one that only starts the same way is never counted.
    """
    repository = sample[:-len(':latest')]
    if options.dest_type == 'docker':
        return repository, sorted(present.tags_of(repository + ':latest') or ())
    layout, dummy, name = repository[len('oci:'):].partition(':')
    prefix = name + ':'
    names = present.tags_of('oci:' + layout) or ()
    return repository, sorted(ref[len(prefix):] for ref in names
                              if ref.startswith(prefix) and not any(c in ref[len(prefix):] for c in '/:@'))


def _prune(spec: SyncSpec, options: SyncOptions, listed: dict[int, list[str]], dest_options: ConnectionOptions, check_mode: bool,
           result: SyncResult) -> None:
    """Delete, per repository an entry filled from a tag list, the destination tags its filters select that the source no longer has.

    Registry repositories and the names of an OCI layout (``dest_type: oci``, and the layout an
    ``oci-archive`` destination is staged in), with image_delete's engine: in a layout a name is
    removed alone and the blobs no other name reaches are collected.
    """
    if options.dest_type not in ('docker', 'oci'):
        raise InvalidInputError('prune is supported for registry, oci and oci-archive destinations, not %s' % options.dest_type)
    # Imported here: only a pruning sync needs the delete engine.
    from ansible_collections.ocikit.images.plugins.module_utils.delete import delete_image  # pylint: disable=import-outside-toplevel

    present = _DestinationTags(dest_options)
    suffix = options.append_suffix
    # Without scoped, two source repositories with the same last element write one destination repository: each keeps the other's tags.
    wanted: dict[str, set[str]] = {}
    for position, kept in listed.items():
        sample = destination_for(spec.entries[position], 'latest', options.dest, options.dest_type, options.scoped, '')
        wanted.setdefault(sample, set()).update(tag + suffix for tag in kept)
    done: set[str] = set()
    for position in listed:
        entry = spec.entries[position]
        sample = destination_for(entry, 'latest', options.dest, options.dest_type, options.scoped, '')
        repository, held = _destination_names(options, sample, present)
        for dest_tag in held:
            if dest_tag in wanted[sample] or (suffix and not dest_tag.endswith(suffix)):
                continue
            if attachment_kind(dest_tag[:-len(suffix)] if suffix else dest_tag) is not None:
                # Never pruned: it belongs to a manifest, not to the tag list, and may hold what was written at the destination only
                # (a signature made there); image_delete leaves attachments too, as skopeo does.
                continue
            source_tag = dest_tag[:-len(suffix)] if suffix else dest_tag
            if not select_tags(entry, [source_tag]):
                continue  # not a tag this entry syncs: someone else's
            target = '%s:%s' % (repository, dest_tag)
            if target in done:
                continue  # two entries writing one repository (the same last path element): pruned once
            done.add(target)
            item: dict[str, t.Any] = {'src': None, 'dest': target, 'digest': None, 'action': ACTION_PRUNED, 'error': None}
            try:
                deleted = delete_image(parse_image_name(target), dest_options, force=False, check_mode=check_mode)
                item['digest'] = deleted.as_result().get('digest')
            except SharedDigestError as exc:
                # Another tag shares the digest and the registry may not delete a tag alone: left, and said why.
                item.update(action=ACTION_SKIPPED, reason='not pruned: %s' % describe(exc))
            except OcikitError as exc:
                item.update(action=ACTION_FAILED, error='prune: %s' % describe(exc))
            result.images.append(item)


# -- one archive holding every image ------------------------------------------------------------------------


def _run_into_archive(spec: SyncSpec, options: SyncOptions, src_options: ConnectionOptions, dest_options: ConnectionOptions,
                      check_mode: bool, result: SyncResult, sources: SourceBundles) -> SyncResult:
    """Sync into a layout staged beside the archive (its images copied in first), then replace the archive once if anything changed."""
    # Imported here: only this destination type needs the archive writer.
    from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_archive.destination import (  # pylint: disable=import-outside-toplevel
        write_layout,
    )
    from ansible_collections.ocikit.images.plugins.module_utils.transports.tar_writer import AtomicTarWriter  # pylint: disable=import-outside-toplevel

    archive = os.path.abspath(options.dest)
    parent = os.path.dirname(archive)
    if not os.path.isdir(parent):
        raise LayoutError('cannot write the oci-archive %s: its directory does not exist' % archive)
    # What a killed run left beside the archive (its staging layout, a half-written archive) goes first, once stale and unlocked.
    sweep_stale_temps(parent, lambda name: name.startswith(TEMP_PREFIX))
    staging, staging_fd = create_temp_dir(parent, STAGING_PREFIX, 'staging layout')
    try:
        carried = _unpack_archive(archive, staging, dest_options, sources)
        layout_options = dataclasses.replace(options, dest=staging, dest_type='oci')
        jobs, listed = plan_jobs(spec, layout_options, src_options, dest_options, result)
        _copy_all(jobs, layout_options, src_options, dest_options, check_mode, result, sources)
        if _may_prune(options, result, sources):
            # In the staging layout, before the archive is rewritten: the archive loses the names exactly as a layout would.
            _prune(spec, layout_options, listed, dest_options, check_mode, result)
        prefix = 'oci:%s:' % staging
        for item in result.images:
            if item.get('dest') and item['dest'].startswith(prefix):
                item['dest'] = 'oci-archive:%s:%s' % (archive, item['dest'][len(prefix):])
        if result.changed and not result.failed and not check_mode:
            with AtomicTarWriter(archive, 'OCI archive') as writer:
                write_layout(writer, staging)
                writer.commit()
        elif result.changed and result.failed:
            result.warnings.append('the oci-archive %s was not replaced: %d image(s) failed (its %d image(s) are unchanged)'
                                   % (archive, len(result.failed), carried))
        return result
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        release_temp_dir(staging_fd)


def _unpack_archive(archive: str, staging: str, options: ConnectionOptions, sources: SourceBundles) -> int:
    """Copy every named image of ``archive`` (if it exists) into the layout ``staging``, the archive opened once; how many."""
    if not os.path.exists(archive):
        return 0
    # Imported here: only this destination type needs it.
    from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import ref_names  # pylint: disable=import-outside-toplevel

    names = [name for name in ref_names(sources.archive(archive).index) if name]
    for name in names:
        copy_image(sources.reference('oci-archive:%s:%s' % (archive, name)), parse_image_name('oci:%s:%s' % (staging, name)), options, options,
                   CopyOptions(multi_arch='all', preserve_digests=True), policy=None)
    return len(names)


def write_digestfile(path: str, items: t.Sequence[t.Mapping[str, t.Any]]) -> bool:
    """skopeo's ``--digestfile``: ``<digest> <dest>`` per image copied or found up to date; True when the file changed."""
    lines = ''.join('%s %s\n' % (item['digest'], item['dest']) for item in items
                    if item['action'] in (ACTION_COPIED, ACTION_SKIPPED) and item.get('digest') and item.get('dest'))
    data = lines.encode('utf-8')
    try:
        with open(path, 'rb') as handle:
            if handle.read(len(data) + 1) == data:
                return False
    except OSError:
        pass
    directory = os.path.dirname(os.path.abspath(path))
    tmp, handle = create_temp_file(directory, '.ocikit-tmp-digestfile-', 'digestfile')
    try:
        with handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        unlink_quietly(tmp)
        raise InvalidInputError('cannot write digestfile %s: %s' % (path, exc.strerror or exc)) from None
    return True
