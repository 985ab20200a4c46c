#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: image_sync
short_description: Mirror many images between registries, directories, OCI layouts and archives, as skopeo sync does
version_added: 0.2.0
description:
  - Copies every image a source names to a destination, natively in Python, as C(skopeo sync) does, as one idempotent task.
  - Sources are skopeo's three forms (O(src_type=docker) with O(src) a repository or one image, O(src_type=dir) with a tree a
    previous sync wrote, O(src_type=yaml) with skopeo's YAML in O(images) or O(src_file)), an explicit O(mapping) that also
    names the destination repositories, or every named image of one OCI layout (O(src_type=oci)) or OCI archive
    (O(src_type=oci-archive)), the far side of an air-gap transfer, which skopeo cannot read as a sync source.
  - Each image is copied by the engine of M(ocikit.images.image_copy), so an image the destination already holds is skipped
    (nothing written), the trust policy is applied, signatures travel, and the image can be signed. Images are copied
    O(concurrency) at a time.
  - Destinations are registries (O(dest_type=docker)), a directory per image (V(dir)), or one OCI layout (V(oci)) or one OCI archive
    (V(oci-archive)) holding every image under its name, which skopeo cannot write. Re-running into the same place is the normal case.
author:
  - ocikit.images contributors (@ocikit)
extends_documentation_fragment:
  - ocikit.images.attributes
  - ocikit.images.connection
  - ocikit.images.connection_sides
  - ocikit.images.retry
  - ocikit.images.policy
  - ocikit.images.signing
  - ocikit.images.blob_cache
attributes:
  check_mode:
    support: full
    description:
      - Lists the source tags and reads each source manifest and each destination's digest; reports per image whether it would be
        copied or skipped (and, with O(prune), deleted) and how many bytes of blobs it would move (the blobs the destination lacks,
        asked with a C(HEAD) each); writes nothing.
  diff_mode:
    support: full
    description: C(before) and C(after) map each destination that changes (or would) to its digest.
  idempotent:
    support: full
    details: "Images whose destination already holds them are skipped (C(ok) when all are); with O(prune), only what is left over is deleted."
options:
  src:
    description:
      - With O(src_type=docker), a repository (every tag is synced; see O(tag_regex), O(exclude_regex), O(semver)) or one image
        C(repo:tag) / C(repo@digest), without the C(docker://) prefix, as C(skopeo sync --src docker).
      - With O(src_type=dir), a directory; every directory under it holding a C(manifest.json) is an image.
      - With O(src_type=oci), an OCI layout directory; with O(src_type=oci-archive), an OCI archive file (read in place, once for the
        whole sync). Every image named in its C(index.json) (C(org.opencontainers.image.ref.name)) is one image, named as written
        (C(team/app:1.4)); a name that is a tag alone (C(latest)) belongs to a repository named after the layout or archive
        (its base name). Unnamed images are skipped with a warning. Signatures stored in the bundle travel.
    type: str
  src_type:
    description:
      - The form of the source, as skopeo's C(--src). V(yaml) reads O(images) or O(src_file).
      - O(mapping) is a form of its own and takes no O(src_type).
    type: str
    choices: [docker, dir, yaml, oci, oci-archive]
    default: docker
  images:
    description:
      - With O(src_type=yaml), the content of a skopeo sync YAML file, as a dict (registry host to C(images), C(images-by-tag-regex),
        C(images-by-semver), C(credentials), C(tls-verify), C(cert-dir)); C([]) lists every tag.
      - Quote tags and passwords that YAML would read as numbers (C("1.10")).
    type: dict
  src_file:
    description:
      - With O(src_type=yaml), a skopeo sync YAML file. Unknown keys are accepted, as skopeo does, and returned as warnings.
    type: path
  mapping:
    description:
      - Beyond skopeo, an explicit list of what goes where. Each item has C(src) (a repository, C(repo:tag) or C(repo@digest)),
        optional C(dest) (the destination repository, relative to O(dest); default skopeo's naming), C(tags) (exact tags or digests),
        C(tag_regex), C(exclude_regex), C(semver) (filters of the repository's tag list, all of which must hold) and C(platforms).
    type: list
    elements: dict
  dest:
    description:
      - Where to. A registry and path for O(dest_type=docker) (C(registry.example.com/mirror)), a directory for V(dir), an OCI layout
        directory for V(oci), an archive file for V(oci-archive).
    type: str
    required: true
  dest_type:
    description:
      - The kind of destination. V(oci) and V(oci-archive) hold every image in one layout or archive, named by the image's name.
      - An V(oci-archive) is replaced once, atomically, when anything in it changed; an interrupted sync leaves the old archive whole.
    type: str
    choices: [docker, dir, oci, oci-archive]
    default: docker
  scoped:
    description:
      - Name destinations with the full source reference, registry host included (C(dest/docker.io/library/busybox:1.36)), as skopeo's
        C(--scoped). Without it only the last path element is kept (C(dest/busybox:1.36)). O(mapping) names its own destinations.
      - With O(src_type=oci) or O(src_type=oci-archive) the source reference is the name as the bundle spells it. With O(scoped) a
        bundle holding C(team/app:1.4) lands at C(dest/team/app:1.4) (and a bundle filled with O(scoped) from a registry lands where
        a scoped sync from that registry would have put it); without it at C(dest/app:1.4).
    type: bool
    default: false
  append_suffix:
    description:
      - A string appended to every destination name, as skopeo's C(--append-suffix) (it extends the tag). A bundle's names already
        carry the suffix given when it was filled; it is not removed, and a second one is added only if given again.
    type: str
    default: ''
  tag_regex:
    description:
      - With O(src_type=docker) and a repository, sync only tags this Go RE2 regex is found in.
      - With O(src_type=oci) or O(src_type=oci-archive), it applies to the tag of each ref name (images named by digest are then left out).
    type: str
  exclude_regex:
    description: With O(src_type=docker) and a repository, or a layout or archive source, leave out tags this Go RE2 regex is found in.
    type: str
  semver:
    description:
      - With O(src_type=docker) and a repository, or a layout or archive source, sync only tags that are versions satisfying this
        Masterminds/semver v3 constraint (as skopeo's C(images-by-semver)); tags that are no version are left out.
    type: str
  platforms:
    description:
      - Copy only these platforms (C(os/arch[/variant])) of an index, as O(ocikit.images.image_copy#module:platforms).
    type: list
    elements: str
  multi_arch:
    description: Which images of an index to copy, as O(ocikit.images.image_copy#module:multi_arch).
    type: str
    choices: [system, all, index-only]
    default: system
  all:
    description: Copy every image of an index, as skopeo's C(--all); the same as O(multi_arch=all).
    type: bool
    default: false
  format:
    description: The manifest type to write, as O(ocikit.images.image_copy#module:format).
    type: str
    choices: [oci, v2s2, v2s1]
  preserve_digests:
    description: Fail rather than write an image under another digest, as skopeo's C(--preserve-digests).
    type: bool
    default: false
  remove_signatures:
    description: Do not copy the sources' signatures, as O(ocikit.images.image_copy#module:remove_signatures).
    type: bool
    default: false
  dest_compress_format:
    description: Compress layers with this format, as O(ocikit.images.image_copy#module:dest_compress_format).
    type: str
    choices: [gzip, zstd]
  dest_compress_level:
    description: The compression level, as O(ocikit.images.image_copy#module:dest_compress_level).
    type: int
  concurrency:
    description:
      - How many images are copied at once. Each copy also transfers several blobs at once.
    type: int
    default: 4
  keep_going:
    description:
      - Go on after an image fails; every failure is listed in RV(images) with its cause, and the task fails at the end.
      - Without it the first failure stops the sync (images already being copied finish).
    type: bool
    default: false
  prune:
    description:
      - Delete destination tags the source no longer has, with the safety rules of M(ocikit.images.image_delete) (a tag sharing its
        digest with another tag is not deleted and is reported as failed).
      - Only in destination repositories that an entry fills from a repository's tag list (or from the names of a layout or archive
        source), and only tags that entry's filters select; a tag outside them, a name of another repository and an image named by
        digest are never touched. Nothing is pruned when an image failed.
      - Registry, V(oci) and V(oci-archive) destinations. In a layout a name is removed alone, and the blobs no other name reaches are
        deleted with it (as M(ocikit.images.image_delete) does); an archive loses the names in its staging layout before it is
        rewritten once.
    type: bool
    default: false
  immutable_tags:
    description:
      - A Go RE2 regex. A tag it is found in that the destination already has is skipped without reading the source at all (no
        manifest request), for tags that never move (C(^v?[0-9]+\.[0-9]+\.[0-9]+$)). The destination's tag list is read once per
        repository.
    type: str
  attachment_tags:
    description:
      - What to do with the tags other tools attach to a manifest (cosign's signatures, attestations and SBOMs C(sha256-<hex>.sig),
        C(.att) and C(.sbom), and C(sha256-<hex>) of the OCI referrers tag schema) when a repository's tag list, or a layout or archive
        source's names, holds them. They are named after the digest they belong to; nobody tags them as images.
      - V(skip) leaves them out; C(attachment_tags_skipped) in RV(summary) counts them. Sigstore signatures (C(.sig)) travel with their
        images anyway when O(registries_d) sets C(use-sigstore-attachments) for the source and the destination (and
        O(remove_signatures) is not set); a warning names the tags whose content does not travel (attestations, SBOMs, referrers
        indexes, and C(.sig) tags when attachments are not read).
      - V(copy) copies them as ordinary tags, byte for byte, as C(skopeo sync) does. A C(.sig) copied so names the source's digest,
        which matches the destination's only when the image is copied unchanged (no O(format), compression or platform subset).
      - A tag given exactly (O(mapping) C(tags), skopeo's YAML C(images) list, O(src) C(repo:tag)) is always synced; O(prune) never
        deletes an attachment tag.
    type: str
    choices: [skip, copy]
    default: skip
  max_retry_after:
    description:
      - The longest wait, in seconds, for a registry that answers C(429 Too Many Requests) with C(Retry-After), or that announces
        C(RateLimit-Remaining) C(0) with its reset time. Within it the sync slows down (every request to that registry waits) instead
        of failing; a longer wait fails the requests that would need it at once, with a message naming the registry and the wait.
      - The waits are counted in RV(summary).
    type: float
    default: 300
  force:
    description: Copy every image even when the destination already holds it.
    type: bool
    default: false
  digestfile:
    description:
      - After the sync, write C(<digest> <destination>) for every image copied or found up to date, one per line, as skopeo's
        C(--digestfile). Written atomically, and only when it changes.
    type: path
  progress_file:
    description:
      - A file that receives one JSON line per image as it finishes (src, dest, digest, action, error, time), for an operator watching
        a long sync. Truncated when the sync starts.
    type: path
notes:
  - O(src), O(images), O(src_file) and O(mapping) are mutually exclusive.
  - Regexes are Go RE2 as in skopeo; constructs RE2 lacks (backreferences, lookaround) are refused.
seealso:
  - module: ocikit.images.image_copy
  - module: ocikit.images.registry_login
  - name: Syncing images
    description: Sources, destinations, filters, pruning, and what is left to do.
    link: https://github.com/ocikit/images/blob/main/docs/sync.md
  - name: skopeo-sync(1)
    description: The command this module does natively.
    link: https://github.com/containers/skopeo/blob/main/docs/skopeo-sync.1.md
'''

EXAMPLES = r'''
- name: Mirror every 1.x tag of a repository into another registry
  ocikit.images.image_sync:
    src: registry.example.com/team/app
    dest: mirror.internal:5000/team
    semver: ">= 1.0.0, < 2.0.0"
    keep_going: true
  register: synced

- name: Keep cosign's attestations and SBOMs (sha256-HEX.att, .sbom tags) too, copied as tags as skopeo sync copies them
  ocikit.images.image_sync:
    src: registry.example.com/team/app
    dest: mirror.internal:5000/team
    attachment_tags: copy

- name: Paste the skopeo sync YAML the team already has (each image lands as mirror.internal:5000/team/NAME:TAG, its last path element kept)
  ocikit.images.image_sync:
    src_type: yaml
    src_file: /etc/mirror/sync.yaml
    dest: mirror.internal:5000/team

- name: Fill one air-gap bundle (an OCI archive) with chosen images under chosen names
  ocikit.images.image_sync:
    mapping:
      - {src: registry.example.com/team/app, dest: app, tag_regex: '^1\.4\.'}
      - {src: registry.example.com/base/runtime:2025.10, dest: runtime}
    dest: /srv/bundle/images.tar
    dest_type: oci-archive
    digestfile: /srv/bundle/images.digests

- name: On the far side, push every image of the bundle under the names it holds (team/app:1.4.2 -> registry.internal/team/app:1.4.2)
  ocikit.images.image_sync:
    src: /media/transfer/images.tar
    src_type: oci-archive
    dest: registry.internal
    scoped: true
    prune: true
'''

RETURN = r'''
images:
  description:
    - One entry per image, in the order of the source, with C(src), C(dest), C(digest) (at the destination after the sync), C(action)
      (V(copied), V(skipped), V(pruned) or V(failed)), C(error) (the cause of a failure), C(reason), C(before) (the destination's
      digest before) and C(bytes) (bytes of blobs transferred; in check mode, the bytes the copy would transfer).
  returned: always
  type: list
  elements: dict
  sample:
    - src: docker.io/library/app:1.4
      dest: registry.example.com/mirror/app:1.4
      digest: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
      action: copied
      error: null
      reason: copied
      before: null
      bytes: 31457280
summary:
  description:
    - Counts by action, C(images), C(bytes_copied) (in check mode, predicted, a blob several images need counted once) and
      C(seconds); C(attachment_tags_skipped), the attachment tags left out (see O(attachment_tags)); C(requests) made to registries
      in all, C(rate_limit_waits) and C(rate_limit_wait_seconds) (summed over requests, so several waiting at once can add up to more
      than the run took).
    - C(registries) has, per registry, the requests by method (C(methods)), C(manifest_gets), C(token_fetches), C(retries),
      C(rate_limited) (429 answers), the waits, and C(bytes_received) / C(bytes_sent). Every image of the sync shares one client per
      registry and set of credentials, so a registry is pinged once and each token is fetched once.
  returned: always
  type: dict
  sample: {copied: 3, skipped: 97, pruned: 0, failed: 0, images: 100, bytes_copied: 31457280, seconds: 12.5, attachment_tags_skipped: 3,
           requests: 412, rate_limit_waits: 0, rate_limit_wait_seconds: 0.0, registries: {}}
diff:
  description: C(before) and C(after) map each destination that changed (or would) to its digest (null when absent).
  returned: always
  type: dict
  sample:
    before:
      registry.example.com/mirror/app:1.4: null
    after:
      registry.example.com/mirror/app:1.4: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
'''

import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import MULTI_ARCH_CHOICES, CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.copy.signing import SIGN_MUTUALLY_EXCLUSIVE, sign_argument_spec, sign_options
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.module import (
    OcikitModule,
    blob_cache_argument_spec,
    blob_cache_path,
    check_dependencies,
    connection_options,
    run,
    two_sided_argument_spec,
    two_sided_rules,
)
from ansible_collections.ocikit.images.plugins.module_utils.policy_options import POLICY_MUTUALLY_EXCLUSIVE, module_policy, policy_argument_spec
from ansible_collections.ocikit.images.plugins.module_utils.sync import engine, spec
from ansible_collections.ocikit.images.plugins.module_utils.sync.re2 import compile_re2
from ansible_collections.ocikit.images.plugins.module_utils.sync.sources import SourceBundles


def source_spec(params: dict, read_index: t.Callable[[str, str], dict] | None = None) -> spec.SyncSpec:
    """The parsed source of the module's parameters (one of src, images, src_file, mapping); ``read_index`` shares a layout or archive."""
    platforms = params['platforms']
    if params['mapping'] is not None:
        if params['src_type'] != 'docker' or any(params[name] for name in ('tag_regex', 'exclude_regex', 'semver')):
            raise InvalidInputError('mapping takes no src_type, tag_regex, exclude_regex or semver: each item has its own filters')
        return spec.parse_mapping(params['mapping'])
    if params['src_type'] == 'yaml':
        if params['images'] is None and not params['src_file']:
            raise InvalidInputError('src_type yaml needs images (the YAML as a dict) or src_file')
        return spec.load_yaml_source(params['src_file']) if params['src_file'] else spec.parse_yaml_source(params['images'])
    if params['images'] is not None or params['src_file']:
        raise InvalidInputError('images and src_file need src_type: yaml')
    if not params['src']:
        raise InvalidInputError('src is required with src_type %s' % params['src_type'])
    if params['src_type'] in spec.LAYOUT_SOURCE_TYPES:
        return spec.parse_layout_source(params['src'], params['src_type'], params['tag_regex'], params['exclude_regex'], params['semver'],
                                        platforms, read_index=read_index)
    if params['src_type'] == 'dir':
        if any(params[name] for name in ('tag_regex', 'exclude_regex', 'semver')):
            raise InvalidInputError('tag_regex, exclude_regex and semver apply to src_type docker, oci and oci-archive')
        return spec.parse_dir_source(params['src'], platforms)
    return spec.parse_docker_source(params['src'], params['tag_regex'], params['exclude_regex'], params['semver'], platforms)


def main() -> None:
    argument_spec = dict(
        src=dict(type='str'),
        src_type=dict(type='str', default='docker', choices=list(spec.SRC_TYPES)),
        images=dict(type='dict'),
        src_file=dict(type='path'),
        mapping=dict(type='list', elements='dict'),
        dest=dict(type='str', required=True),
        dest_type=dict(type='str', default='docker', choices=list(spec.DEST_TYPES)),
        scoped=dict(type='bool', default=False),
        append_suffix=dict(type='str', default=''),
        tag_regex=dict(type='str'),
        exclude_regex=dict(type='str'),
        semver=dict(type='str'),
        platforms=dict(type='list', elements='str'),
        multi_arch=dict(type='str', default='system', choices=list(MULTI_ARCH_CHOICES)),
        all=dict(type='bool', default=False),
        format=dict(type='str', choices=['oci', 'v2s2', 'v2s1']),
        preserve_digests=dict(type='bool', default=False),
        remove_signatures=dict(type='bool', default=False),
        dest_compress_format=dict(type='str', choices=['gzip', 'zstd']),
        dest_compress_level=dict(type='int'),
        concurrency=dict(type='int', default=4),
        keep_going=dict(type='bool', default=False),
        prune=dict(type='bool', default=False),
        immutable_tags=dict(type='str'),
        attachment_tags=dict(type='str', default='skip', choices=list(spec.ATTACHMENT_TAG_CHOICES)),
        force=dict(type='bool', default=False),
        max_retry_after=dict(type='float', default=300.0),
        digestfile=dict(type='path'),
        progress_file=dict(type='path'),
        **policy_argument_spec()
    )
    argument_spec.update(two_sided_argument_spec())
    argument_spec.update(sign_argument_spec())
    argument_spec.update(blob_cache_argument_spec())
    rules = two_sided_rules()
    module = OcikitModule(argument_spec=argument_spec, supports_check_mode=True, required_together=rules['required_together'],
                          mutually_exclusive=rules['mutually_exclusive'] + POLICY_MUTUALLY_EXCLUSIVE + SIGN_MUTUALLY_EXCLUSIVE
                          + [['src', 'images', 'src_file', 'mapping']])
    check_dependencies(module)
    params = module.params

    def work() -> dict:
        # A layout or archive source is read once, for listing its names and for every copy.
        with SourceBundles() as bundles:
            return sync(bundles)

    def sync(bundles: SourceBundles) -> dict:
        source = source_spec(params, bundles.index)
        src_options, dest_options = connection_options(params, 'src_'), connection_options(params, 'dest_')
        dest_options.blob_info_cache = blob_cache_path(params)
        src_options.registries_d = dest_options.registries_d = params['registries_d']
        src_options.max_retry_after = dest_options.max_retry_after = params['max_retry_after']
        policy = module_policy(module, params)
        if params['all'] and params['multi_arch'] == 'index-only':
            raise InvalidInputError('all: true copies every image of the index; it cannot be combined with multi_arch: index-only')
        copy = CopyOptions(multi_arch='all' if params['all'] else params['multi_arch'], platforms=tuple(params['platforms'] or ()),
                           preserve_digests=params['preserve_digests'], force=params['force'], format=params['format'],
                           compress_format=params['dest_compress_format'], compress_level=params['dest_compress_level'],
                           remove_signatures=params['remove_signatures'])
        options = engine.SyncOptions(dest=params['dest'], dest_type=params['dest_type'], scoped=params['scoped'],
                                     append_suffix=params['append_suffix'], copy=copy, concurrency=params['concurrency'],
                                     keep_going=params['keep_going'], prune=params['prune'],
                                     immutable_tags=compile_re2(params['immutable_tags']) if params['immutable_tags'] else None,
                                     attachment_tags=params['attachment_tags'],
                                     policy=policy, sign=sign_options(params), progress_file=params['progress_file'])
        outcome = engine.run_sync(source, options, src_options, dest_options, check_mode=module.check_mode, sources=bundles)
        for warning in outcome.warnings:
            module.warn(warning)
        changed = outcome.changed
        result = {
            'changed': changed,
            'images': outcome.images,
            'summary': outcome.summary(),
            'diff': {'before': {item['dest']: item.get('before') for item in outcome.images if item['action'] in ('copied', 'pruned')},
                     'after': {item['dest']: (item['digest'] if item['action'] == 'copied' else None)
                               for item in outcome.images if item['action'] in ('copied', 'pruned')}},
        }
        if params['digestfile'] and not module.check_mode:
            result['changed'] = engine.write_digestfile(params['digestfile'], outcome.images) or changed
        failed = outcome.failed
        if failed:
            first = failed[0]
            result['failed'] = True
            result['msg'] = '%d of %d images failed; first: %s: %s' % (len(failed), len(outcome.images), first.get('src') or first.get('dest'),
                                                                       first['error'])
        return result

    run(module, work, subject='sync to %s' % params['dest'])


if __name__ == '__main__':
    main()
