# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""image_delete for registries (``docker://``): the rules of delete.py carried out with a registry client.

Imported by :func:`delete.delete_image` only when the image is in a registry, so that deleting from an
OCI layout or containers-storage loads neither the registry client nor httpx (see delete.py's
docstring for the rules: tags, digests, shared digests, signatures).
"""

from __future__ import annotations

import concurrent.futures
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.config.registries_d import LookasideBase, load_registries_config
from ansible_collections.ocikit.images.plugins.module_utils.delete import (
    ABSENT,
    CHECK_MODE_CANNOT_TELL,
    DELETE_DIGEST,
    DELETE_ENABLE_HINT,
    DELETE_TAG,
    REGISTRY_CANNOT_DELETE_TAG,
    DeletePlan,
    DeleteResult,
    DeleteTarget,
    plan_delete,
    tag_list,
)
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import (
    AccessDeniedError,
    AuthenticationError,
    ImageNotFoundError,
    InvalidReferenceError,
    LayoutError,
    OcikitError,
    RegistryError,
    UnsupportedOperationError,
)
from ansible_collections.ocikit.images.plugins.module_utils.signature.lookaside import count_signatures, delete_signatures
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.auth import Scope
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import RegistryClient
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.destination import (
    DELETE_ABSENT,
    DELETE_ANSWER_LOST,
    DockerImageDestination,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.source import DockerImageSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.transport import DockerImageReference

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.reference import DockerReference


def _parallel_map(func: t.Callable[[t.Any], t.Any], items: t.Sequence[t.Any], max_parallel: int) -> list[t.Any]:
    """``[func(item) for item in items]`` in a bounded thread pool; the first failure cancels the rest and is raised."""
    if not items:
        return []
    workers = max(1, min(max_parallel, len(items)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix='delete') as pool:
        futures = [pool.submit(func, item) for item in items]
        try:
            for future in concurrent.futures.as_completed(futures):
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return [future.result() for future in futures]


class RegistryImage:
    """The registry side of a delete: resolve, find the tags on a digest, delete.

    Every request uses one scope, ``pull`` in check mode and ``pull,delete`` otherwise, so one
    token serves the whole task.
    """

    def __init__(self, reference: DockerImageReference, options: ConnectionOptions, check_mode: bool,
                 client: RegistryClient | None = None) -> None:
        self.reference = reference
        self.ref = reference.docker_reference()
        self.options = options
        self.actions = 'pull' if check_mode else 'pull,delete'
        if client is None and options.clients is not None:
            # A sync's prune: the pool's client (its token cache and request counts), left open.
            client = options.clients.get(self.ref.domain, options)
        self._owns_client = client is None
        self.client = client if client is not None else RegistryClient(self.ref.domain, options)
        self._signature_base: LookasideBase | None = None

    def close(self) -> None:
        """Close the client unless it was given."""
        if self._owns_client:
            self.client.close()

    def _destination(self, docker_ref: 'DockerReference') -> DockerImageDestination:
        """The reference (or another tag of its repository) opened with this task's scope, on the shared client."""
        return DockerImageDestination(DockerImageReference(docker_ref), self.options, client=self.client, actions=self.actions)

    def resolve(self) -> Digest | None:
        """The digest the reference names now (HEAD), or None when it is absent."""
        return self._destination(self.ref).get_manifest_digest()

    def list_tags(self) -> list[str]:
        """Every tag of the repository; none when the repository is unknown."""
        source = DockerImageSource(self.reference, self.options, client=self.client)
        # The same scope as every other request of this task, so that its token is reused.
        source.scopes = (Scope(self.ref.repository, self.actions),)
        try:
            return source.list_tags()
        except ImageNotFoundError:
            return []

    def tag_digest(self, tag: str) -> Digest | None:
        """The digest ``tag`` names (the same HEAD and Accept list as :meth:`resolve`); None when absent or not a valid tag."""
        try:
            docker_ref = self.ref.without_tag_or_digest().with_tag(tag)
        except InvalidReferenceError:
            return None
        return self._destination(docker_ref).get_manifest_digest()

    def tags_on(self, digest: Digest, tags: t.Sequence[str], known: t.Mapping[str, Digest] | None = None) -> tuple[str, ...]:
        """The tags among ``tags`` that name ``digest``: one HEAD per tag, at most ``max_parallel`` at once."""
        known = dict(known or {})
        pending = [tag for tag in tags if tag not in known]
        for tag, found in zip(pending, _parallel_map(self.tag_digest, pending, self.options.max_parallel)):
            if found is not None:
                known[tag] = found
        return tuple(sorted(tag for tag in tags if known.get(tag) == digest))

    def signature_store(self) -> LookasideBase:
        """The registries.d write lookaside of the repository (where containers/image deletes signatures from), read once."""
        if self._signature_base is None:
            self._signature_base = load_registries_config(self.options.registries_d).lookaside_base(self.ref, write=True)
        return self._signature_base

    def remove_signatures(self, result: DeleteResult, digest: Digest, check_mode: bool) -> DeleteResult:
        """Delete (count, in check mode) the lookaside signatures of ``digest``, whose manifest went; record it in ``result``."""
        base = self.signature_store()
        if base.scheme != 'file':
            result.deleted_signatures = 0
            result.warnings.append('the signatures of %s in the %s lookaside %s (%s) were not deleted; only a file:// lookaside '
                                   '(lookaside-staging) can be changed' % (digest, base.scheme, base.url, base.origin))
            return result
        try:
            result.deleted_signatures = (count_signatures if check_mode else delete_signatures)(base, self.ref, digest)
        except LayoutError as exc:
            # The manifest is gone already: failing now would hide that; say what was left instead.
            result.deleted_signatures = 0
            result.warnings.append('%s was deleted, but not its signatures: %s' % (digest, exc.message))
        return result

    def delete(self, target: str) -> str:
        """DELETE a digest or a tag: ``DELETE_DONE``, ``DELETE_ABSENT`` (already gone) or ``DELETE_ANSWER_LOST``."""
        try:
            return self._destination(self.ref).delete_manifest_outcome(target)
        except AuthenticationError as exc:
            # Reads worked a moment ago: what is missing is the right to delete. The client's hint
            # (wrong password?) comes last and would mislead, so it is replaced.
            cause = exc.message.rsplit('; ', 1)[0]
            if self.client.credentials_for(self.ref.repository) is None and not self.options.registry_token:
                raise AuthenticationError('%s; anonymous access could read %s, but deleting needs credentials with the delete permission'
                                          % (cause, self.ref.name), status=exc.status, code=exc.code) from exc
            raise AccessDeniedError('%s; the same credentials could read %s, so they lack the delete permission on it'
                                    % (cause, self.ref.name), status=exc.status, code=exc.code) from exc
        except UnsupportedOperationError as exc:
            raise UnsupportedOperationError('%s; %s' % (exc.message, DELETE_ENABLE_HINT), status=exc.status, code=exc.code) from exc


def _tag_delete_refused(exc: OcikitError) -> bool:
    """Whether a DELETE of a tag failed because the registry does not delete tags alone (400, 405, UNSUPPORTED)."""
    return isinstance(exc, UnsupportedOperationError) or (isinstance(exc, RegistryError) and exc.status in (400, 405))


def delete_from_registry(reference: DockerImageReference, options: ConnectionOptions, force: bool, check_mode: bool,
                         client: RegistryClient | None) -> DeleteResult:
    """:func:`delete.delete_image` for a ``docker://`` reference (``client``: a shared one, not closed)."""
    ref = reference.docker_reference()
    if ref.tag is not None and ref.digest is not None:
        raise InvalidReferenceError('%s names both a tag and a digest; name the tag (:%s) or the digest (@%s) to delete'
                                    % (ref, ref.tag, ref.digest))
    image = RegistryImage(reference, options, check_mode, client)
    try:
        digest = image.resolve()
        if digest is None:
            return DeleteResult(plan_delete(DeleteTarget(ref.tag, None), force, None), changed=False)
        # registries.d is read (and a broken one fails the task) before anything is deleted.
        image.signature_store()
        tags = image.tags_on(digest, image.list_tags(), known={ref.tag: digest} if ref.tag else None)
        target = DeleteTarget(ref.tag, digest, tags)
        if check_mode:
            result = _predict(target, force)
            return image.remove_signatures(result, digest, check_mode=True) if result.plan.action == DELETE_DIGEST else result
        plan = plan_delete(target, force, tag_delete=None)
        if plan.action == DELETE_TAG:
            return _delete_tag_alone(image, target, plan, force)
        return _delete_digest(image, plan)
    finally:
        image.close()


def _predict(target: DeleteTarget, force: bool) -> DeleteResult:
    """Check mode: the plan for a registry that cannot delete a tag alone (check mode sends no DELETE to find out)."""
    others = [tag for tag in target.tags if tag != target.tag]
    warnings = []
    plan = plan_delete(target, force, tag_delete=False, why=CHECK_MODE_CANNOT_TELL)
    if target.tag is not None and others and plan.action == DELETE_DIGEST:
        warnings.append('check mode assumes the registry cannot delete the tag %s alone; one that can (OCI distribution-spec 1.1) '
                        'will delete only it and keep %s' % (target.tag, tag_list(others)))
    return DeleteResult(plan, changed=True, deleted_tags=plan.deleted_tags, warnings=warnings)


def _answer_lost(result: DeleteResult, outcome: str, target: str) -> DeleteResult:
    """Say so when this run's DELETE was carried out but its answer lost (the retry found it gone)."""
    if outcome == DELETE_ANSWER_LOST:
        result.warnings.append('the answer to deleting %s was lost; the retry found it gone, so this run counts it as deleted' % target)
    return result


def _delete_digest(image: RegistryImage, plan: DeletePlan) -> DeleteResult:
    outcome = image.delete(str(plan.digest))
    if outcome == DELETE_ABSENT:
        # Deleted by someone else between our HEAD and our DELETE.
        return DeleteResult(DeletePlan(ABSENT, plan.digest, (), 'the image disappeared before it was deleted'), changed=False)
    result = _answer_lost(DeleteResult(plan, changed=True, deleted_tags=plan.deleted_tags), outcome, str(plan.digest))
    return image.remove_signatures(result, t.cast(Digest, plan.digest), check_mode=False)


def _delete_tag_alone(image: RegistryImage, target: DeleteTarget, plan: DeletePlan, force: bool) -> DeleteResult:
    """Try ``DELETE /v2/NAME/manifests/TAG``; where the registry refuses it, refuse too (or, with force, delete the digest)."""
    tag = t.cast(str, target.tag)
    try:
        outcome = image.delete(tag)
    except RegistryError as exc:
        if not _tag_delete_refused(exc) or isinstance(exc, (AccessDeniedError, AuthenticationError)):
            raise
        why = REGISTRY_CANNOT_DELETE_TAG
        if isinstance(exc, UnsupportedOperationError):
            why = 'the registry refused to delete the tag alone with HTTP %s UNSUPPORTED; deleting may be disabled on it altogether' % exc.status
        return _delete_digest(image, plan_delete(target, force, tag_delete=False, why=why))
    if outcome == DELETE_ABSENT and image.tag_digest(tag) is not None:
        # A 404 while the tag still resolves: this registry looks the tag up as a digest.
        return _delete_digest(image, plan_delete(target, force, tag_delete=False))
    if outcome == DELETE_ABSENT:
        return DeleteResult(DeletePlan(ABSENT, plan.digest, (), 'the tag disappeared before it was deleted'), changed=False)
    # A registry that resolved the tag and deleted its manifest took the other tags too: say so.
    others = [other for other in target.tags if other != tag]
    remaining = image.tags_on(t.cast(Digest, target.digest), others)
    gone = tuple(sorted(set(others) - set(remaining)))
    result = _answer_lost(DeleteResult(plan, changed=True, deleted_tags=tuple(sorted((tag,) + gone))), outcome, tag)
    if gone:
        result.warnings.append('the registry deleted more than the tag %s: %s disappeared too' % (tag, tag_list(gone)))
    if gone and not remaining:
        # Every other tag went with it: the registry deleted the manifest, so its signatures go too.
        return image.remove_signatures(result, t.cast(Digest, target.digest), check_mode=False)
    # The manifest stays (under its digest and the other tags), and so do its signatures.
    result.deleted_signatures = 0
    return result
