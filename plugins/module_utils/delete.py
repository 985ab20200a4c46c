# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Deleting an image from a registry, an OCI layout or containers-storage: a pure plan, then its execution.

The plan (:func:`plan_delete`) decides from what the store holds, and never touches it: which
tags disappear, whether the named tag can go alone, and whether to refuse. Check mode and diff
mode run the same reads and the same plan, and stop before the one mutation.

Registries (``docker://``)
    The name is resolved to its digest (HEAD, ``Docker-Content-Digest``). Deleting a digest
    removes every tag on it, which surprises users (skopeo issues #795 and #1432), so the tags of
    the repository are listed and each one resolved with a HEAD, in parallel and with the same
    ``Accept`` list, so that a tag matches only when it names the very same manifest. When other
    tags would disappear, the named tag is deleted alone where the registry can do it
    (``DELETE /v2/NAME/manifests/TAG``, OCI distribution-spec 1.1); otherwise the task refuses
    unless ``force``. Check mode sends no DELETE, so it cannot learn whether the registry
    deletes a tag alone and predicts the case where it cannot. A DELETE whose answer was lost
    (reset, timeout, gateway error) is retried; a 404 to the retry, with the target still gone,
    means the first attempt did it: the run reports the deletion as its own, with a warning.

    When the manifest itself is deleted (not a tag alone), its simple signatures leave the
    registries.d write lookaside too, as containers/image ``docker_image_src.go deleteImage`` does
    (``signature-1``... until one is missing); only a ``file://`` lookaside can be changed, an
    ``http(s)`` one is left with a warning (containers/image fails there, after the manifest is
    gone). registries.d is read before anything is deleted. Sigstore attachments (the
    ``sha256-<hex>.sig`` tag) are left, as containers/image leaves them: it is another manifest,
    which can be deleted by its tag.

OCI layouts (``oci:``)
    Under the layout's lock, the entries the reference names leave ``index.json`` (rewritten
    atomically), then the blobs that only they reached are deleted: a blob stays while any
    remaining entry reaches it (untagged entries and every child of a remaining index count).
    When what a remaining entry reaches cannot be read, no blob is deleted. Blobs in a shared
    blob directory are never deleted: other layouts may use them. A copy in flight into the same
    layout pins the blobs it relies on and restores any collected here at its commit, under the
    same lock (see ``transports/oci_layout/layout.py``), so collecting needs no wait for it.
    Signatures (``.ocikit/signatures/``, ocikit's convention) go with the last entry that reaches
    their manifest, under the same lock; those of a digest another name still reaches stay.

containers-storage (``containers-storage:``)
    Through the Podman service's libpod API, never the store's files; the image ID plays the
    digest and the image's names its tags (see :func:`_delete_from_storage`).
"""

from __future__ import annotations

import dataclasses
import os
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import jsonutil
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    InvalidInputError,
    ManifestError,
    OcikitError,
    SharedDigestError,
    quote,
)
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import fsync_dir
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.manifest.model import ImageIndex, ImageManifest
from ansible_collections.ocikit.images.plugins.module_utils.manifest.parse import parse_any
from ansible_collections.ocikit.images.plugins.module_utils.manifest.schema1 import Schema1Manifest
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions, ImageReference
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import (
    Layout,
    digest_of,
    find_descriptor,
    ref_name_of,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.signatures import collect_orphans

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import RegistryClient
    from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerImageReference
    from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.transport import ContainersStorageReference
    from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import OCIReference

#: Transports whose images can be deleted.
DELETABLE_TRANSPORTS = ('docker', 'oci', 'containers-storage')

#: What an operator sets to let a distribution registry delete.
DELETE_ENABLE_HINT = ('deleting is disabled on this registry; its operator must enable it '
                      '(distribution: storage.delete.enabled: true in its configuration, or REGISTRY_STORAGE_DELETE_ENABLED=true)')

#: Why the named tag could not go alone, as the refusal says it.
REGISTRY_CANNOT_DELETE_TAG = 'the registry cannot delete a tag alone'
CHECK_MODE_CANNOT_TELL = 'check mode does not try deleting the tag alone, so it assumes the registry cannot'

ABSENT, DELETE_TAG, DELETE_DIGEST = 'absent', 'tag', 'digest'


# -- the plan (pure) --------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class DeleteTarget:
    """What the store holds for the reference: the digest it names now and every tag on that digest.

    ``tag`` is the tag (ref name) the reference names, None for a digest reference. ``digest``
    is None when the image is absent. ``tags`` are the tags that point at ``digest`` (the named
    one included or not; the plan adds it).
    """

    tag: str | None
    digest: Digest | None
    tags: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class DeletePlan:
    """What a delete does: ``action`` is ``absent`` (nothing), ``tag`` (the named tag alone) or ``digest``.

    ``deleted_tags`` are the tags that disappear, sorted.
    """

    action: str
    digest: Digest | None
    deleted_tags: tuple[str, ...]
    reason: str


def tag_list(tags: t.Sequence[str]) -> str:
    """How a message names ``tags``: 'the tag a' or 'the tags a, b'."""
    return ('the tag %s' if len(tags) == 1 else 'the tags %s') % ', '.join(tags)


def plan_delete(target: DeleteTarget, force: bool, tag_delete: bool | None, last_tag_takes_digest: bool = True,
                why: str = REGISTRY_CANNOT_DELETE_TAG) -> DeletePlan:
    """Decide what deleting ``target`` does; raise SharedDigestError when it must refuse.

    ``tag_delete`` says whether the store can delete a tag alone: True (an OCI layout), None
    (a registry, to be tried) or False (known not to, or check mode, which does not try). With
    ``last_tag_takes_digest``, a tag that is the digest's only one is deleted with its digest
    (registries: nothing is left behind); OCI layouts keep untagged entries, so they pass False.
    ``why`` says, in a refusal, why the tag cannot go alone.
    """
    if target.digest is None:
        return DeletePlan(ABSENT, None, (), 'the image is absent')
    digest = target.digest
    named = target.tag
    tags = tuple(sorted(set(target.tags) | ({named} if named is not None else set())))
    others = tuple(tag for tag in tags if tag != named)
    if named is None:
        if others and not force:
            raise SharedDigestError('not deleted: %s %s at %s and would disappear with it; set force: true to delete them all'
                                    % (tag_list(others), 'points' if len(others) == 1 else 'point', digest))
        return DeletePlan(DELETE_DIGEST, digest, tags, 'deleting %s%s' % (digest, ' and %s' % tag_list(tags) if tags else ''))
    if not others and last_tag_takes_digest:
        return DeletePlan(DELETE_DIGEST, digest, tags, 'deleting %s, the only tag of %s, with its digest' % (named, digest))
    if tag_delete is not False:
        return DeletePlan(DELETE_TAG, digest, (named,), 'deleting the tag %s alone%s' % (
            named, '; %s keeps %s' % (digest, tag_list(others)) if others else ''))
    if force:
        return DeletePlan(DELETE_DIGEST, digest, tags, 'deleting %s with %s (force)' % (digest, tag_list(tags)))
    raise SharedDigestError('not deleted: digest %s also carries %s, which would disappear too (%s); set force: true to delete them all'
                            % (digest, tag_list(others), why))


# -- results ------------------------------------------------------------------------------------------

@dataclasses.dataclass
class DeleteResult:
    """What a delete did (or, in check mode, would do)."""

    plan: DeletePlan
    changed: bool
    deleted_tags: tuple[str, ...] = ()
    deleted_blobs: tuple[Digest, ...] | None = None
    bytes_freed: int = 0
    warnings: list[str] = dataclasses.field(default_factory=list)
    #: Registry images: the lookaside signatures deleted with the manifest (would be, in check mode).
    deleted_signatures: int | None = None
    #: containers-storage: the plan's digest is the image ID (the store keeps no manifest of its own to name).
    by_image_id: bool = False

    def as_result(self) -> dict[str, t.Any]:
        """The module's result keys."""
        key = 'image_id' if self.by_image_id else 'digest'
        before = None
        if self.plan.action != ABSENT:
            before = {key: str(self.plan.digest), 'tags': list(self.deleted_tags)}
        result: dict[str, t.Any] = {
            'changed': self.changed,
            'digest': str(self.plan.digest) if self.plan.digest is not None and not self.by_image_id else None,
            'deleted_tags': list(self.deleted_tags),
            'reason': self.plan.reason,
            'diff': {'before': before, 'after': None},
        }
        if self.deleted_blobs is not None:
            result['deleted_blobs'] = sorted(str(digest) for digest in self.deleted_blobs)
            result['bytes_freed'] = self.bytes_freed
        if self.deleted_signatures is not None:
            result['deleted_signatures'] = self.deleted_signatures
        if self.by_image_id:
            result['image_id'] = str(self.plan.digest) if self.plan.digest is not None else None
        if self.warnings:
            result['warnings'] = list(self.warnings)
        return result


# -- entry point --------------------------------------------------------------------------------------

def delete_image(ref: ImageReference, options: ConnectionOptions, force: bool = False, check_mode: bool = False,
                 client: 'RegistryClient | None' = None) -> DeleteResult:
    """Delete the image ``ref`` names (a registry image or an OCI layout entry); absent is not an error.

    ``client`` shares a RegistryClient (tests pass one on an httpx.MockTransport); without it, the
    one of ``options.clients`` (a ClientPool) when set. A shared client is not closed.
    """
    name = ref.transport.name
    if name == 'docker':
        # Imported here: the registry client (and httpx) is no cost to a layout or storage delete.
        from ansible_collections.ocikit.images.plugins.module_utils.delete_registry import delete_from_registry  # pylint: disable=import-outside-toplevel
        return delete_from_registry(t.cast('DockerImageReference', ref), options, force, check_mode, client)
    if name == 'oci':
        return _delete_from_layout(t.cast('OCIReference', ref), options, force, check_mode)
    if name == 'containers-storage':
        return _delete_from_storage(t.cast('ContainersStorageReference', ref), options, force, check_mode)
    names = ['%s:' % n for n in DELETABLE_TRANSPORTS]
    raise InvalidInputError('deleting is not supported for %s: images (only %s and %s images can be deleted)'
                            % (name, ', '.join(names[:-1]), names[-1]))


# -- OCI layouts ------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class LayoutPlan:
    """Which index.json entries go and stay, and the delete plan they make."""

    plan: DeletePlan
    removed: tuple[dict[str, t.Any], ...]
    kept: tuple[dict[str, t.Any], ...]


def plan_layout_delete(index: t.Mapping[str, t.Any], reference: 'OCIReference', force: bool) -> LayoutPlan:
    """Decide which entries of ``index`` (index.json) deleting ``reference`` removes (pure).

    ``oci:PATH:NAME`` removes the entries carrying NAME; other names and untagged entries on the
    same digest stay (a layout deletes a name alone). ``oci:PATH@DIGEST`` removes every entry with
    that digest, which needs ``force`` when some carry names. ``oci:PATH`` means the layout's only
    entry.
    """
    entries: list[dict[str, t.Any]] = list(index['manifests'])
    where = reference.path
    if reference.image_ref is not None:
        named = [entry for entry in entries if ref_name_of(entry) == reference.image_ref]
        if not named:
            return LayoutPlan(plan_delete(DeleteTarget(reference.image_ref, None), force, True), (), tuple(entries))
        digest = Digest.parse(str(digest_of(named[0])))
        tags = tuple(str(ref_name_of(entry)) for entry in entries if digest_of(entry) == str(digest) and ref_name_of(entry) is not None)
        plan = plan_delete(DeleteTarget(reference.image_ref, digest, tags), force, True, last_tag_takes_digest=False)
        return LayoutPlan(plan, tuple(named), tuple(entry for entry in entries if ref_name_of(entry) != reference.image_ref))
    if reference.digest is not None:
        selected = [entry for entry in entries if digest_of(entry) == str(reference.digest)]
        if not selected:
            return LayoutPlan(plan_delete(DeleteTarget(None, None), force, True), (), tuple(entries))
        tags = tuple(str(ref_name_of(entry)) for entry in selected if ref_name_of(entry) is not None)
        plan = plan_delete(DeleteTarget(None, reference.digest, tags), force, True)
        return LayoutPlan(plan, tuple(selected), tuple(entry for entry in entries if digest_of(entry) != str(reference.digest)))
    if not entries:
        return LayoutPlan(plan_delete(DeleteTarget(None, None), force, True), (), ())
    # One entry, or InvalidReferenceError asking to choose among several.
    desc = find_descriptor(index, where)
    only = entries[0]
    name = ref_name_of(only)
    plan = plan_delete(DeleteTarget(name, desc.digest, (name,) if name else ()), force, True, last_tag_takes_digest=False)
    return LayoutPlan(plan, (only,), ())


def _json_descriptors(data: t.Any) -> t.Iterator[tuple[str, str | None]]:
    """Every ``(digest, mediaType)`` of descriptor-shaped objects anywhere in a JSON document."""
    if isinstance(data, dict):
        digest = data.get('digest')
        if isinstance(digest, str):
            media_type = data.get('mediaType')
            yield digest, media_type if isinstance(media_type, str) else None
        for value in data.values():
            yield from _json_descriptors(value)
    elif isinstance(data, list):
        for value in data:
            yield from _json_descriptors(value)


_MANIFEST_TYPES = mt.SINGLE_IMAGE_TYPES + mt.INDEX_TYPES + mt.SCHEMA1_TYPES


def blob_references(raw: bytes, media_type: str | None) -> list[tuple[Digest, bool]]:
    """What a manifest blob references: ``(digest, is_manifest)`` for each config, layer and child.

    Known manifests are parsed; anything else that is JSON (an artifact of an unknown type) is
    searched for descriptor-shaped objects, so that whatever it may reference is kept. The
    ``subject`` of a manifest is not followed: a referrer does not keep its subject alive.
    """
    try:
        parsed = parse_any(raw, media_type)
    except OcikitError:
        parsed = None
    if isinstance(parsed, ImageIndex):
        return [(desc.digest, True) for desc in parsed.manifests]
    if isinstance(parsed, ImageManifest):
        return [(desc.digest, False) for desc in parsed.blobs()]
    if isinstance(parsed, Schema1Manifest):
        return [(desc.digest, False) for desc in parsed.blobs()]
    try:
        data = jsonutil.loads(raw, 'manifest', ManifestError)
    except ManifestError:
        return []
    found = []
    for value, child_type in _json_descriptors(data):
        if Digest.is_valid(value):
            found.append((Digest(value), child_type in _MANIFEST_TYPES or child_type is None))
    return found


class Unreadable(Exception):
    """A manifest whose references cannot be known (missing, corrupt or oversized)."""


def reachable_blobs(layout: Layout, roots: t.Iterable[t.Mapping[str, t.Any]], strict: bool) -> dict[Digest, int]:
    """Every blob reachable from ``roots`` (index.json entries), with its depth (-1 for configs and layers).

    Manifests are read and followed, recursively; roots have depth 0, children of an index 1, and
    so on. With ``strict``, a manifest that cannot be read raises Unreadable (the caller then
    deletes nothing); otherwise its subtree is skipped.
    """
    found: dict[Digest, int] = {}
    stack: list[tuple[Digest, str | None, int]] = []
    for entry in roots:
        value = digest_of(entry)
        if value is None or not Digest.is_valid(value):
            if strict:
                raise Unreadable('an entry of index.json has no valid digest')
            continue
        media_type = entry.get('mediaType')
        stack.append((Digest(value), media_type if isinstance(media_type, str) else None, 0))
    while stack:
        digest, media_type, depth = stack.pop()
        if digest in found and found[digest] >= depth:
            continue
        found[digest] = depth
        if depth < 0:
            continue
        try:
            raw = layout.read_blob(digest, mt.MAX_MANIFEST_SIZE, 'manifest')
        except OcikitError as exc:
            if strict:
                raise Unreadable(exc.message) from None
            continue
        for child, child_is_manifest in blob_references(raw, media_type):
            stack.append((child, None, depth + 1 if child_is_manifest else -1))
    return found


def _delete_from_layout(reference: 'OCIReference', options: ConnectionOptions, force: bool, check_mode: bool) -> DeleteResult:
    layout = Layout(reference.path, options.shared_blob_dir)
    if not os.path.lexists(reference.path):
        return DeleteResult(plan_delete(DeleteTarget(None, None), force, True), changed=False, deleted_blobs=())
    layout.check_readable()
    if check_mode:
        # Read without the lock: taking it would create the lock file, and check mode writes nothing.
        planned = plan_layout_delete(layout.read_index(), reference, force)
        return _layout_outcome(layout, planned, options, index=None)
    with layout.lock():
        index = layout.read_index()
        planned = plan_layout_delete(index, reference, force)
        result = _layout_outcome(layout, planned, options, index=index)
        if result.changed:
            _collect_layout_signatures(layout, index, result)
        return result


def _collect_layout_signatures(layout: Layout, index: t.Mapping[str, t.Any], result: DeleteResult) -> None:
    """Under the lock, after index.json was rewritten: remove the signatures of manifests it no longer reaches.

    The layout's own files, so this runs with a shared blob directory too. Nothing is removed when
    what the remaining entries reach cannot be read.
    """
    try:
        collect_orphans(layout, index)
    except OcikitError as exc:
        result.warnings.append('the signatures of the deleted image were not removed: %s' % exc.message)


def _layout_outcome(layout: Layout, planned: LayoutPlan, options: ConnectionOptions, index: dict[str, t.Any] | None) -> DeleteResult:
    """Rewrite ``index`` (index.json, read under the lock) and delete the unreachable blobs; without ``index``, only predict."""
    plan = planned.plan
    if plan.action == ABSENT:
        return DeleteResult(plan, changed=False, deleted_blobs=())
    if options.shared_blob_dir:
        plan = dataclasses.replace(plan, reason=plan.reason + '; blobs in the shared blob directory are left alone')
    result = DeleteResult(plan, changed=True, deleted_tags=plan.deleted_tags, deleted_blobs=())
    if index is not None:
        index['manifests'] = list(planned.kept)
        layout.write_index(index)
    if options.shared_blob_dir:
        return result
    try:
        keep = reachable_blobs(layout, planned.kept, strict=True)
    except Unreadable as exc:
        result.warnings.append('no blob deleted: what a remaining entry of index.json references cannot be read (%s)' % exc)
        return result
    candidates = reachable_blobs(layout, planned.removed, strict=False)
    sizes = {digest: layout.blob_size(digest) for digest in candidates if digest not in keep}
    # Configs and layers first, then manifests from the deepest up: a manifest never outlives what it names.
    garbage = sorted((digest for digest, size in sizes.items() if size is not None),
                     key=lambda digest: (candidates[digest] >= 0, -candidates[digest], str(digest)))
    result.deleted_blobs = tuple(garbage)
    if index is None:
        result.bytes_freed = sum(sizes[digest] or 0 for digest in garbage)
        return result
    directories = set()
    for digest in garbage:
        result.bytes_freed += layout.remove_blob(digest)
        directories.add(os.path.dirname(layout.blob_path(digest)))
    for directory in sorted(directories):
        fsync_dir(directory)
    return result


# -- containers-storage ------------------------------------------------------------------------------------

def _delete_from_storage(reference: 'ContainersStorageReference', options: ConnectionOptions, force: bool,
                         check_mode: bool) -> DeleteResult:
    """Delete a containers-storage image through the Podman service's libpod API (never the store's files).

    The image the reference names is the "digest" of the plan (its ID), and its names (``RepoTags``)
    are its tags, so the rules are the registry's: a name that other names share the image with is
    removed alone (untagged), the image's last name takes the image with it, and an image named by
    ID (or digest) that still has names is refused unless ``force``, which removes them all.
    skopeo's ``delete containers-storage:`` removes the whole image whatever names it has. An image
    some container uses is refused before anything changes, naming the containers (the service
    would refuse it too; ``force`` does not remove containers).
    """
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.client import LibpodClient

    client = LibpodClient(options.daemon_host, options, reference.store)
    try:
        record = client.image_inspect(reference.api_name())
        named = str(reference.ref) if reference.ref is not None and reference.ref.tag is not None else None
        if record is None:
            return DeleteResult(plan=plan_delete(DeleteTarget(named, None), force, True), changed=False, by_image_id=True)
        image_id = Digest(str(record.get('Id')))
        names = tuple(str(name) for name in record.get('RepoTags') or () if isinstance(name, str) and name)
        if named is not None and named not in names:
            # A name resolved by libpod's short-name or digest rules, not one of the image's own: refuse rather than guess.
            raise InvalidInputError('%s is not one of the names of the image %s (%s); name the image by one of them or by its ID'
                                    % (quote(named), image_id, ', '.join(names) or 'it has none'))
        plan = plan_delete(DeleteTarget(named, image_id, names), force, True)
        if plan.action == DELETE_DIGEST:
            users = client.containers_of(image_id.hex)
            if users:
                raise InvalidInputError('not deleted: the image %s is used by the container%s %s; remove %s first (podman rm)'
                                        % (image_id, 's' if len(users) > 1 else '', ', '.join(sorted(users)),
                                           'them' if len(users) > 1 else 'it'))
        if not check_mode:
            if plan.action == DELETE_TAG:
                client.untag(image_id.hex, t.cast(str, named))
            else:
                # The other names first: the service refuses to remove, unforced, an image that has several.
                for name in names:
                    if name != named and len(names) > 1:
                        client.untag(image_id.hex, name)
                client.remove(image_id.hex)
        return DeleteResult(plan=plan, changed=True, deleted_tags=plan.deleted_tags, by_image_id=True)
    finally:
        client.close()
