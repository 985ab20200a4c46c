#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: image_copy
short_description: Copy a container image between registries, OCI layouts, directories and archives, as skopeo copy does
version_added: 0.1.0
description:
  - Copies an image from O(src) to O(dest), natively in Python; no skopeo binary or container runtime is needed.
  - Idempotent by digest. When the destination already holds the manifest digest this copy would
    write, the task reports C(changed=false) and writes nothing (not a blob, not a manifest).
  - Blobs are copied in parallel, skipped when the destination has them, mounted across repositories of one
    registry, streamed with constant memory, and verified against their digests while they stream.
  - The destination name moves last. A failed copy leaves the previous image in place.
  - From an index (manifest list), the image for this host's platform is copied, as skopeo does without
    C(--all); set O(multi_arch=all) to copy the whole index.
  - The source must be accepted by the trust policy (containers-policy.json, see O(policy)) before anything is written.
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
    description: Reads the source and the destination's current digest, predicts C(changed), writes nothing.
  diff_mode:
    support: full
    description: Returns the destination's digest before and after.
  idempotent:
    support: full
    details: "Copying again once the destination holds the image (the same digest, or the same content in the requested form) reports C(ok) and writes nothing."
options:
  src:
    description:
      - The image to copy, as C(transport:details).
      - V(docker://REGISTRY/REPOSITORY[:TAG|@DIGEST]), V(oci:PATH[:REF]), V(dir:PATH) (skopeo's directory layout),
        V(oci-archive:PATH[:REF]), V(docker-archive:PATH[:REF]) (V(docker-archive:PATH:@N) for the N-th image of an archive)
        V(docker-daemon:NAME:TAG) (also V(docker-daemon:NAME@DIGEST) and V(docker-daemon:sha256:IMAGE_ID); see O(src_daemon_host))
        or V(containers-storage:[STORE]NAME[:TAG]) (also V(containers-storage:NAME@DIGEST) and V(containers-storage:@IMAGE_ID), read
        through a Podman API service, see O(src_daemon_host); the optional V([DRIVER@GRAPHROOT+RUNROOT]) must be that service's store).
    type: str
    required: true
  dest:
    description:
      - Where to copy it, as C(transport:details). A V(docker://) destination without a tag gets V(latest).
      - A V(docker-daemon:NAME:TAG) destination is loaded into a Docker daemon (or Podman's Docker-compatible service,
        see O(dest_daemon_host)) with C(POST /images/load), as one archive that the daemon loads whole or not at all;
        the name is written fully qualified (V(docker.io/library/busybox:1)). It stores no signatures, so copying a signed
        image there needs O(remove_signatures=true). It is up to date, and nothing is sent, when the image the name
        holds is the one the copy would write (the daemon's image is read back once to compare).
      - A V(containers-storage:[STORE]NAME[:TAG]) destination is loaded into a Podman service's store (see O(dest_daemon_host)) with
        libpod's C(POST /libpod/images/load), whole or not at all, under the fully qualified name (V(busybox) is
        V(docker.io/library/busybox:latest)). The load API takes no signatures, so a signed image needs O(remove_signatures=true).
        Idempotent as for V(docker-daemon:).
    type: str
    required: true
  multi_arch:
    description:
      - What to copy when O(src) is an index. V(system) copies the image for this host's platform (or the overrides).
        V(all) copies the index and every image in it, keeping the index's digest. V(index-only) copies the index alone.
      - V(index-only) is for V(docker://) destinations only, where the images may already be in the repository; an index
        written without its images anywhere else (V(oci:), V(oci-archive:), V(dir:)) would be a broken image, so it is refused
        there (skopeo writes such a sparse image).
      - An index already in a local destination counts as up to date only when every image it lists is there with all its
        blobs; otherwise the copy runs and completes it (for example a sparse index left by skopeo's C(--multi-arch index-only)).
    type: str
    choices: [system, all, index-only]
    default: system
  all:
    description:
      - Copy the whole index, as skopeo's C(--all); the same as O(multi_arch=all).
    type: bool
    default: false
  override_os:
    description: With O(multi_arch=system), choose the image for this OS.
    type: str
  override_arch:
    description: With O(multi_arch=system), choose the image for this architecture.
    type: str
  override_variant:
    description: With O(multi_arch=system), choose the image for this architecture variant.
    type: str
  format:
    description:
      - Manifest type to write, as skopeo's C(--format). V(oci), V(v2s2) (Docker schema2) or V(v2s1) (Docker schema1, single images only).
      - By default the source's type is kept when the destination can store it, else converted to one it can
        (an V(oci:) layout gets OCI, a V(docker-archive:) Docker schema2).
      - A conversion changes the manifest digest (and for Docker to OCI the config digest, as containers/image re-serialises it).
    type: str
    choices: [oci, v2s2, v2s1]
  dest_compress_format:
    description:
      - Compress layers with this algorithm where the destination wants compressed layers (registries, OCI layouts and archives),
        recompressing layers compressed otherwise; as skopeo's C(--dest-compress-format).
      - Compression is detected from the bytes, not trusted from media types; C(rootfs.diff_ids) are checked against the
        uncompressed stream. V(zstd) needs the C(zstandard) Python package and cannot be stored in Docker schema2 images.
    type: str
    choices: [gzip, zstd]
  dest_compress_level:
    description:
      - Compression level for O(dest_compress_format) (gzip 1-9, default 6; zstd 1-22, default 3). Without
        O(dest_compress_format) the level is a gzip level.
      - Checked on every run, also when nothing is recompressed, so that a wrong level fails at once.
    type: int
  dest_compress:
    description: Compress uncompressed layers even where the destination keeps layers as they are (V(dir:)), as skopeo's C(--dest-compress).
    type: bool
    default: false
  dest_decompress:
    description: Decompress layers, as skopeo's C(--dest-decompress) (for V(dir:)).
    type: bool
    default: false
  dest_oci_accept_uncompressed_layers:
    description: Let an V(oci:) or V(oci-archive:) destination keep uncompressed layers instead of compressing them.
    type: bool
    default: false
  platforms:
    description:
      - Copy only these platforms of a source index, as V(os/arch) (every variant of it) or V(os/arch/variant) (beyond skopeo).
        The written index is a new,
        filtered index (RV(index_digest_kept) is V(false)) unless the list names every platform.
      - Every platform listed must be in the index.
    type: list
    elements: str
  additional_tags:
    description:
      - More names for the image. In a V(docker-archive:) destination, more C(RepoTags), as skopeo's C(--additional-tag).
      - Beyond skopeo, in a V(docker://) destination (more tags of the same repository) or an V(oci:) layout (more ref names), the
        blobs move once and each name gets the manifest; a name already pointing at it is left alone.
    type: list
    elements: str
  src_shared_blob_dir:
    description:
      - For an V(oci:) source, read blobs from this directory (C(ALGORITHM/HEX)) instead of the layout's C(blobs/),
        as skopeo's C(--src-shared-blob-dir).
    type: path
  dest_shared_blob_dir:
    description:
      - For an V(oci:) destination, store blobs in this directory (C(ALGORITHM/HEX)) instead of the layout's C(blobs/), as skopeo's
        C(--dest-shared-blob-dir); several layouts can share one.
    type: path
  remove_signatures:
    description:
      - Do not copy the source's signatures, as skopeo's C(--remove-signatures).
      - Without it, signatures travel with the image (from V(dir:) images, from a registry's lookaside and sigstore attachment, see
        O(registries_d), and from V(oci:) and V(oci-archive:) images that carry them; into V(dir:) images, into V(oci:) and
        V(oci-archive:) images (in C(.ocikit/signatures/), ocikit's convention, which other tools ignore), and into a registry's
        write lookaside when it is a local directory and its sigstore attachment when registries.d enables it), and a copy that
        would change the manifest
        (a conversion, recompressed layers, one platform out of an index) or a destination that cannot store signatures fails
        before writing anything rather than drop them silently.
      - With it, a V(dir:) destination that holds the same image with signatures gets them removed, as do the signatures of the
        copied digest in an V(oci:) layout and in a registry destination's write lookaside. Layers of a sigstore attachment are
        never removed, as with skopeo.
    type: bool
    default: false
  preserve_digests:
    description:
      - Fail, before writing anything, when the copy would change the manifest digest (for example when
        one platform is copied out of an index).
    type: bool
    default: false
  digestfile:
    description:
      - After the copy, write the destination manifest digest to this file (as C(skopeo copy --digestfile)).
    type: path
  force:
    description:
      - Copy even when the destination already holds the same digest.
    type: bool
    default: false
seealso:
  - module: ocikit.images.image_inspect
  - module: ocikit.images.image_sync
  - module: ocikit.images.image_sign
  - module: ocikit.images.registry_login
  - name: Copying and inspecting images
    description: Transports, idempotence, check and diff mode, credentials, TLS.
    link: https://github.com/ocikit/images/blob/main/docs/copy-and-inspect.md
  - name: Signatures and the trust policy
    description: containers-policy.json on every copy, where signatures live, signing.
    link: https://github.com/ocikit/images/blob/main/docs/signing-and-policy.md
  - name: skopeo-copy(1)
    description: The command this module does natively.
    link: https://github.com/containers/skopeo/blob/main/docs/skopeo-copy.1.md
'''

EXAMPLES = r'''
- name: Mirror an image from one registry to another
  ocikit.images.image_copy:
    src: docker://registry.example.com/team/app:1.4
    dest: docker://mirror.internal:5000/team/app:1.4
    src_username: reader
    src_password: "{{ reader_password }}"
    dest_username: writer
    dest_password: "{{ writer_password }}"

- name: Save an image into an OCI layout for an air-gapped host
  ocikit.images.image_copy:
    src: docker://registry.example.com/team/app:1.4
    dest: oci:/srv/bundle/app:1.4
    preserve_digests: true
    digestfile: /srv/bundle/app.digest

- name: Load an image into the local Docker daemon (or Podman's Docker-compatible socket)
  ocikit.images.image_copy:
    src: docker://registry.example.com/team/app:1.4
    dest: docker-daemon:registry.example.com/team/app:1.4
    dest_daemon_host: unix:///run/podman/podman.sock  # default unix:///var/run/docker.sock
    remove_signatures: true  # a daemon stores no signatures

- name: Put an image into Podman's store (root's service; systemctl start podman.socket)
  ocikit.images.image_copy:
    src: docker://registry.example.com/team/app:1.4
    dest: containers-storage:registry.example.com/team/app:1.4
    remove_signatures: true  # the libpod load API takes no signatures

- name: Copy a whole multi-platform index
  ocikit.images.image_copy:
    src: docker://registry.example.com/team/app:1.4
    dest: docker://mirror.internal:5000/team/app:1.4
    multi_arch: all

- name: Copy only an image signed by the release key (the policy travels with the playbook)
  ocikit.images.image_copy:
    src: docker://registry.example.com/team/app:1.4
    dest: oci:/srv/bundle/app:1.4
    registries_d: /etc/ocikit/registries.d  # says where registry.example.com's signatures are (its lookaside)
    policy_data:
      default:
        - type: reject
      transports:
        docker:
          registry.example.com/team:
            - type: signedBy
              keyType: GPGKeys
              keyPath: /etc/pki/release.gpg
  register: copied
  # copied.policy.key is the fingerprint of the key that signed it

- name: Sign the image as it is mirrored (GPG), for the mirror's own name
  ocikit.images.image_copy:
    src: docker://registry.example.com/team/app:1.4
    dest: docker://mirror.internal:5000/team/app:1.4
    registries_d: /etc/ocikit/registries.d  # the mirror's lookaside-staging, where the signature is written
    sign_by: 0123456789ABCDEF0123456789ABCDEF01234567
    sign_passphrase_file: /etc/ocikit/signing.pass

- name: Sign with a sigstore key into an air-gap bundle, for the name it will have at the far end
  ocikit.images.image_copy:
    src: docker://registry.example.com/team/app:1.4
    dest: oci:/srv/bundle/app:1.4
    sign_by_sigstore_private_key: /etc/ocikit/release.private
    sign_passphrase: "{{ release_key_passphrase }}"
    sign_identity: registry.airgap.internal/team/app:1.4

- name: Credentials and TLS set once for every module of the collection
  module_defaults:
    group/ocikit.images.images:
      username: robot
      password: "{{ robot_password }}"
      cert_dir: /etc/pki/registry
  block:
    - name: Push from a layout
      ocikit.images.image_copy:
        src: oci:/srv/build/app:latest
        dest: docker://registry.example.com/team/app:latest
'''

RETURN = r'''
policy:
  description:
    - How the trust policy accepted the source. C(source) is the policy file, V(inline) (O(policy_data)), V(insecure_policy) or
      V(none found) (then a warning says so); C(scope) the policy scope that applied (V(default) or C(transports.TRANSPORT["SCOPE"]));
      C(requirement) the type of the requirement that accepted it (a signature requirement when one verified a signature).
    - C(key) (the primary key fingerprint) and C(identity) (the signed docker reference) are set when a signature was verified.
    - C(images) lists the same for each image of an index when several were evaluated (O(multi_arch=all), O(platforms)), with their C(digest).
  returned: always
  type: dict
  sample:
    source: /etc/containers/policy.json
    scope: transports.docker["registry.example.com/team"]
    requirement: signedBy
    key: 0123456789ABCDEF0123456789ABCDEF01234567
    identity: registry.example.com/team/app:1.4
signed:
  description:
    - The signatures this copy stores for the manifest written, one per signing key (O(sign_by), O(sign_by_sigstore_private_key)).
    - C(type) is V(gpg) or V(sigstore); C(key) the GPG fingerprint or the sigstore public key's C(sha256:) fingerprint; C(identity)
      the signed docker reference; C(created) whether a new signature was made (V(false) when a valid one by the same key for
      the same identity was already there and was kept). In check mode C(created) says whether one would be made.
  returned: when O(sign_by) or O(sign_by_sigstore_private_key) is set
  type: list
  elements: dict
  sample:
    - type: gpg
      key: 0123456789ABCDEF0123456789ABCDEF01234567
      identity: registry.example.com/team/app:1.4
      created: true
digest:
  description:
    - Digest of the manifest at the destination after the copy.
    - In check mode, the digest the copy would write when it can be known without writing. It is null when a change
      is predicted and layers would be (re)compressed (RV(rule) is V(content)), because a compressed layer's digest, and so the
      manifest's, exists only once the layer has been compressed. When the destination is already up to date it is
      the digest the destination holds.
    - For a C(docker-daemon:) or C(containers-storage:) destination (RV(rule) is V(image_id)), the manifest of the docker archive
      sent. The store keeps no manifest, so the digest is recorded with the image ID in the blob-info cache (O(blob_info_cache))
      when the image is loaded, and an up-to-date copy reports it from there; it is null when no copy recorded it and layers change
      bytes on the way (RV(image_id) is the store's identity of the image).
  returned: always
  type: str
  sample: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
source_digest:
  description: Digest of the manifest the source name points at (for an index, the index's).
  returned: always
  type: str
  sample: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
media_type:
  description: Media type of the manifest written.
  returned: always
  type: str
  sample: application/vnd.oci.image.manifest.v1+json
platform:
  description: The platform copied out of an index, as C(os/arch[/variant]).
  returned: when O(src) is an index and O(multi_arch=system)
  type: str
  sample: linux/amd64
blobs:
  description: What happened to each blob (config and layers). All zero when nothing was copied.
  returned: always
  type: dict
  sample: {copied: 2, skipped: 1, mounted: 0}
  contains:
    copied:
      description: Blobs transferred.
      type: int
      sample: 2
    skipped:
      description: Blobs the destination already had.
      type: int
      sample: 1
    mounted:
      description: Blobs linked from another repository of the same registry without transfer.
      type: int
      sample: 0
bytes_copied:
  description: Bytes of blobs transferred.
  returned: always
  type: int
  sample: 31457280
rule:
  description:
    - Which rule decided C(changed). V(digest) when the manifest to write was known in advance and compared by digest; V(content)
      when layers are (re)compressed, so the destination counts as up to date when it holds the same config digest and the same layer
      sequence in the requested media types; V(image_id) for a C(docker-daemon:) or C(containers-storage:) destination, up to date
      when its name holds the image ID (config digest) the copy would write, known from one request and no export.
  returned: always
  type: str
  sample: digest
image_id:
  description:
    - For a C(docker-daemon:) or C(containers-storage:) destination, the image ID (the config's digest) the name holds after the copy
      (in check mode, would hold). Not returned for a schema1 source, whose config is only known once its layers are read.
  returned: when the destination is a C(docker-daemon:) or C(containers-storage:) name
  type: str
  sample: sha256:9c7a54a9a43cca047013b82af109fe963fde787f63f9e016fdc3384500c2823d
converted:
  description: Whether the manifest written differs from the source's (format conversion or rewritten layers).
  returned: always
  type: bool
  sample: false
platforms:
  description: The platforms of the source index, when an index is copied.
  returned: when an index is copied (O(multi_arch=all), O(multi_arch=index-only) or O(platforms))
  type: list
  elements: str
  sample: [linux/amd64, linux/arm64/v8]
index_digest_kept:
  description: Whether the index written has the source index's digest (V(false) for a filtered or converted index).
  returned: when an index is copied
  type: bool
  sample: true
sparse:
  description: Whether the index written refers to images that were not copied (only with O(multi_arch=index-only), into a registry).
  returned: when an index is copied
  type: bool
  sample: false
additional_tags:
  description: For V(docker://) and V(oci:) destinations, each extra name, whether it moved, and what it pointed at before.
  returned: when O(additional_tags) is set for such a destination
  type: list
  elements: dict
  sample: [{name: 'registry.example.com/team/app:latest', changed: true, before: null}]
reason:
  description: Why the task changed or did not.
  returned: always
  type: str
  sample: destination already holds sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
diff:
  description:
    - The destination's manifest digest before and after; C(before) is null when it held no image.
    - C(after) is null in check mode where RV(digest) is (layers to be recompressed).
    - For a C(docker-daemon:) or C(containers-storage:) destination, C(image_id) before and after (and C(digest) after when known).
  returned: always
  type: dict
  sample: {before: null, after: {digest: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741}}
'''

from ansible_collections.ocikit.images.plugins.module_utils import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import (
    additional_tag_references,
    additional_tags_kwargs,
    copy_image,
    write_digestfile,
)
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
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name


def main() -> None:
    argument_spec = dict(
        src=dict(type='str', required=True),
        dest=dict(type='str', required=True),
        multi_arch=dict(type='str', default='system', choices=list(MULTI_ARCH_CHOICES)),
        all=dict(type='bool', default=False),
        override_os=dict(type='str'),
        override_arch=dict(type='str'),
        override_variant=dict(type='str'),
        preserve_digests=dict(type='bool', default=False),
        remove_signatures=dict(type='bool', default=False),
        format=dict(type='str', choices=['oci', 'v2s2', 'v2s1']),
        dest_compress_format=dict(type='str', choices=['gzip', 'zstd']),
        dest_compress_level=dict(type='int'),
        dest_compress=dict(type='bool', default=False),
        dest_decompress=dict(type='bool', default=False),
        dest_oci_accept_uncompressed_layers=dict(type='bool', default=False),
        platforms=dict(type='list', elements='str'),
        src_shared_blob_dir=dict(type='path'),
        dest_shared_blob_dir=dict(type='path'),
        additional_tags=dict(type='list', elements='str'),
        digestfile=dict(type='path'),
        force=dict(type='bool', default=False),
        **policy_argument_spec()
    )
    argument_spec.update(two_sided_argument_spec())
    argument_spec.update(sign_argument_spec())
    argument_spec.update(blob_cache_argument_spec())
    rules = two_sided_rules()
    module = OcikitModule(argument_spec=argument_spec, supports_check_mode=True, required_together=rules['required_together'],
                          mutually_exclusive=rules['mutually_exclusive'] + POLICY_MUTUALLY_EXCLUSIVE + SIGN_MUTUALLY_EXCLUSIVE
                          + [['dest_compress', 'dest_decompress']])
    check_dependencies(module)
    params = module.params

    def work() -> dict:
        src, dest = parse_image_name(params['src']), parse_image_name(params['dest'])
        src_options, dest_options = connection_options(params, 'src_'), connection_options(params, 'dest_')
        dest_options.blob_info_cache = blob_cache_path(params)
        src_options.shared_blob_dir, dest_options.shared_blob_dir = params['src_shared_blob_dir'], params['dest_shared_blob_dir']
        src_options.registries_d = dest_options.registries_d = params['registries_d']
        policy = module_policy(module, params)
        if params['all'] and params['multi_arch'] == 'index-only':
            raise InvalidInputError('all: true copies every image of the index; it cannot be combined with multi_arch: index-only')
        options = CopyOptions(multi_arch='all' if params['all'] else params['multi_arch'], override_os=params['override_os'],
                              override_arch=params['override_arch'], override_variant=params['override_variant'], platforms=tuple(params['platforms'] or ()),
                              preserve_digests=params['preserve_digests'], force=params['force'], format=params['format'],
                              compress_format=params['dest_compress_format'], compress_level=params['dest_compress_level'],
                              dest_compress=params['dest_compress'], dest_decompress=params['dest_decompress'],
                              oci_accept_uncompressed_layers=params['dest_oci_accept_uncompressed_layers'],
                              remove_signatures=params['remove_signatures'])
        outcome = copy_image(src, dest, src_options, dest_options, options,
                             check_mode=module.check_mode, dest_kwargs=additional_tags_kwargs(dest, params['additional_tags']),
                             extra_tags=additional_tag_references(dest, params['additional_tags']), policy=policy,
                             sign=sign_options(params))
        result = outcome.as_result()
        if params['digestfile'] and not module.check_mode and outcome.after is not None:
            result['changed'] = write_digestfile(params['digestfile'], outcome.after) or result['changed']
        return result

    run(module, work, subject='%s -> %s' % (params['src'], params['dest']))


if __name__ == '__main__':
    main()
