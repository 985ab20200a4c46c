#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: image_sign
short_description: Verify container image signatures, sign manifests and make sigstore keys, as skopeo's signing commands do
version_added: 0.2.0
description:
  - One module for skopeo's signature commands, chosen with O(action).
  - V(verify) checks an image (in a registry, a V(dir:) directory or any other transport) against a containers-policy.json trust policy
    (O(policy), O(policy_data)) or directly against public keys (O(keys) for GPG simple signing, O(sigstore_keys) for sigstore), with the
    evaluator M(ocikit.images.image_copy) uses. It never changes anything.
  - V(standalone_sign) and V(standalone_verify) are C(skopeo standalone-sign) and C(skopeo standalone-verify) on a manifest file and a
    signature file. V(manifest_digest) is C(skopeo manifest-digest). V(generate_key) is C(skopeo generate-sigstore-key).
  - V(sign) signs an image where it is stored, as C(skopeo copy --sign-by) of the image onto itself would, with the signing engine of
    M(ocikit.images.image_copy) (see the signing options).
author:
  - ocikit.images contributors (@ocikit)
extends_documentation_fragment:
  - ocikit.images.attributes
  - ocikit.images.connection
  - ocikit.images.retry
  - ocikit.images.policy
  - ocikit.images.signing
attributes:
  check_mode:
    support: full
    description:
      - V(verify), V(standalone_verify) and V(manifest_digest) only read, in check mode as otherwise.
      - V(sign), V(standalone_sign) and V(generate_key) predict C(changed) and write nothing.
  diff_mode:
    support: partial
    description:
      - V(sign) returns the image's digest and signature count before and after.
      - Signatures and keys are binary or secret; no other action shows a diff.
  idempotent:
    support: full
    details: "V(sign) and V(standalone_sign) keep a valid signature by the same key for the same identity, V(generate_key) a matching pair: C(ok)."
requirements:
  - httpx (Python library) for O(action=sign) and O(action=verify) (images in registries, lookasides over HTTP(S), the daemon services)
  - cryptography (Python library) for sigstore signatures and keys
  - python-gnupg (Python library) and the C(gpg) program (GnuPG 2.1 or later) for GPG (simple signing) signatures and keys
  - PyNaCl (Python library) to read or write encrypted sigstore (cosign) private keys (O(sign_by_sigstore_private_key), O(action=generate_key))
  - PyYAML (Python library) when a registries.d directory (O(registries_d), or the default C(/etc/containers/registries.d)) has files
options:
  action:
    description:
      - What to do.
      - V(verify) verifies the signatures of O(image).
      - V(standalone_sign) signs the manifest file O(manifest) as O(docker_reference) into the file O(signature).
      - V(standalone_verify) checks that the file O(signature) signs O(manifest) as O(docker_reference).
      - V(manifest_digest) returns the digest of the manifest file O(manifest).
      - V(generate_key) writes a sigstore key pair C(O(output_prefix).private) and C(O(output_prefix).pub).
      - V(sign) adds a signature by O(sign_by) or O(sign_by_sigstore_private_key) to O(image) where it is stored (its whole index is
        kept; existing signatures stay). An image that already holds a valid signature by that key for that identity is left alone.
    type: str
    required: true
    choices: [sign, verify, standalone_sign, standalone_verify, manifest_digest, generate_key]
  image:
    description:
      - The image to verify (or sign), as C(transport:details), as O(ocikit.images.image_copy#module:src).
      - The manifest the reference names is verified with the signatures stored for its digest. For an index (manifest list) that is the
        index itself, with the index's signatures (what C(skopeo copy --all --sign-by) signs); to verify the image of one platform, name it
        by its digest.
      - Signatures are read where the transport keeps them. Registry images' simple signatures come from the lookaside that
        O(registries_d) names, their sigstore signatures from the C(sha256-HEX.sig) attachment when registries.d sets
        C(use-sigstore-attachments) to V(true); V(dir:) images have C(signature-N) files, V(oci:) and V(oci-archive:) images
        C(.ocikit/signatures/) (ocikit's convention); V(docker-archive:) images have none.
      - Required with O(action=verify) and O(action=sign).
    type: str
  keys:
    description:
      - With O(action=verify), verify against these GPG public key files (binary or ASCII-armored keyrings) instead of a policy.
        A signature counts when one of their primary keys (or its signing subkey) made it. This is a C(signedBy) requirement with
        C(keyPaths) in a policy of its own.
      - With O(action=standalone_verify), the public keys to verify with instead of exporting O(fingerprints) from O(gnupghome);
        without O(fingerprints), any primary key of the files is accepted.
    type: list
    elements: path
  sigstore_keys:
    description:
      - With O(action=verify), verify sigstore signatures against these PEM public key files (as C(skopeo generate-sigstore-key) and
        cosign write them) instead of a policy, as a C(sigstoreSigned) requirement with C(keyPaths) in a policy of its own.
      - With O(action=standalone_verify), verify a sigstore signature file with these keys.
    type: list
    elements: path
    aliases: [sigstore_public_key]
  identity:
    description:
      - With O(keys) or O(sigstore_keys), the docker reference the signature must name, instead of the image's own reference (a V(dir:)
        or V(oci:) image has none, so it needs O(identity)).
    type: str
  identity_match:
    description:
      - With O(keys) or O(sigstore_keys), how the signed identity is compared (the policy's C(signedIdentity)).
      - V(matchRepoDigestOrExact) (the default of containers-policy.json) wants the same reference for an image named by tag and the same
        repository for an image named by digest. V(matchRepository) wants the same repository, any tag. V(matchExact) wants the same
        reference. V(exactReference) wants exactly O(identity), which it requires.
      - With O(identity), the rule compares the signature with O(identity) instead of the image's reference (C(exactRepository) or
        C(exactReference) in the policy).
    type: str
    choices: [matchRepoDigestOrExact, matchRepository, matchExact, exactReference]
    default: matchRepoDigestOrExact
  require_signature:
    description:
      - With O(action=verify), count an image as verified only when a signature was verified. A policy that accepts the image without
        one (C(insecureAcceptAnything), or no policy file found) then fails verification, as containers/image's C(RequireSignatureVerification).
    type: bool
    default: true
  fail_on_unverified:
    description:
      - With O(action=verify) and O(action=standalone_verify), fail the task when the signatures do not verify.
      - When V(false), the task succeeds and returns RV(verified=false) and RV(reason).
    type: bool
    default: true
  manifest:
    description:
      - The manifest file, for O(action=standalone_sign), O(action=standalone_verify) and O(action=manifest_digest).
    type: path
  docker_reference:
    description:
      - For O(action=standalone_sign), the docker reference to sign, written as given (as skopeo does).
      - For O(action=standalone_verify), the reference the signature must name; compared after docker normalisation
        (V(busybox:1) is V(docker.io/library/busybox:1)).
    type: str
  signature:
    description:
      - The signature file O(action=standalone_sign) writes (atomically, mode 0644 less the umask) and O(action=standalone_verify) reads.
      - O(action=standalone_sign) signs with O(sign_by) (a key of O(sign_gnupghome)) or O(sign_by_sigstore_private_key), unlocked with
        O(sign_passphrase) or O(sign_passphrase_file); O(sign_identity) does not apply (O(docker_reference) is the identity). With a
        sigstore key the file holds the signature in the form containers/image stores it (a V(dir:) image's C(signature-N)); skopeo
        has no such command.
      - GPG signatures are binary OpenPGP signed messages, as skopeo writes them; sigstore signatures are in containers/image's stored form.
    type: path
    aliases: [output]
  fingerprints:
    description:
      - For O(action=standalone_verify), the fingerprints of the primary keys a signature may come from. Their public keys are exported
        from O(gnupghome) unless O(keys) gives them.
    type: list
    elements: str
    aliases: [fingerprint]
  gnupghome:
    description:
      - For O(action=standalone_verify), the GnuPG home holding the public keys of O(fingerprints). Defaults to gpg's own
        (C(GNUPGHOME), else C(~/.gnupg)), as skopeo uses it. (O(action=standalone_sign) takes its key from O(sign_gnupghome).)
      - Only read; verification runs in a throwaway home that holds the accepted public keys only.
    type: path
  passphrase:
    description:
      - For O(action=generate_key), the passphrase that encrypts the private key; the empty passphrase is allowed.
        (Signing actions take O(sign_passphrase).)
      - Never shown in results or messages.
    type: str
  passphrase_file:
    description:
      - For O(action=generate_key), a file whose first line is the passphrase, as skopeo's C(--passphrase-file).
    type: path
  output_prefix:
    description:
      - For O(action=generate_key), where to write the key pair, C(PREFIX.private) (mode 0600) and C(PREFIX.pub), as skopeo's
        C(--output-prefix). The directory must exist.
      - An existing pair whose private key decrypts with the passphrase and whose public key matches it is kept (C(changed=false)).
        Other existing files are not overwritten (skopeo refuses as well) unless O(force) is set.
    type: path
  force:
    description:
      - For O(action=generate_key), replace existing key files that are not a matching pair.
    type: bool
    default: false
notes:
  - Secrets (O(passphrase), O(sign_passphrase), the registry O(password) and token) are never returned or shown in messages.
  - GPG operations need the C(gpg) program (GnuPG 2.1 or later) and the Python library python-gnupg; sigstore keys need cryptography
    and PyNaCl.
seealso:
  - module: ocikit.images.image_inspect
  - name: Signatures and the trust policy
    description: Where signatures live in each transport, signing and verifying, an air-gap walk-through.
    link: https://github.com/ocikit/images/blob/main/docs/signing-and-policy.md
  - module: ocikit.images.image_copy
  - name: containers-policy.json
    description: The trust policy format.
    link: https://github.com/containers/image/blob/main/docs/containers-policy.json.5.md
'''

EXAMPLES = r'''
- name: Verify a registry image against the machine's trust policy
  ocikit.images.image_sign:
    action: verify
    image: docker://registry.example.com/team/app:1.4
    registries_d: /etc/containers/registries.d
  register: checked

- name: Verify it with the release key, without a policy file
  ocikit.images.image_sign:
    action: verify
    image: docker://registry.example.com/team/app:1.4
    keys: [/etc/pki/release.gpg]
    registries_d: /etc/ocikit/registries.d

- name: Is an exported directory signed for any tag of the repository? (report, do not fail)
  ocikit.images.image_sign:
    action: verify
    image: dir:/srv/export/app
    sigstore_keys: [/etc/pki/cosign.pub]
    identity: registry.example.com/team/app
    identity_match: matchRepository
    fail_on_unverified: false
  register: export_check

- name: Sign an image in the registry where it is (its signature goes to the lookaside registries.d names)
  ocikit.images.image_sign:
    action: sign
    image: docker://registry.example.com/team/app:1.4
    sign_by: 0123456789ABCDEF0123456789ABCDEF01234567
    sign_passphrase: "{{ release_key_passphrase }}"
    registries_d: /etc/ocikit/registries.d

- name: Sign a manifest as skopeo standalone-sign does
  ocikit.images.image_sign:
    action: standalone_sign
    manifest: /srv/export/app/manifest.json
    docker_reference: registry.example.com/team/app:1.4
    sign_by: 0123456789ABCDEF0123456789ABCDEF01234567
    sign_passphrase_file: /root/.release-passphrase
    signature: /srv/export/app/signature-1

- name: Check that signature
  ocikit.images.image_sign:
    action: standalone_verify
    manifest: /srv/export/app/manifest.json
    docker_reference: registry.example.com/team/app:1.4
    fingerprints: [0123456789ABCDEF0123456789ABCDEF01234567]
    keys: [/etc/pki/release.gpg]
    signature: /srv/export/app/signature-1

- name: The digest a signature of this manifest names
  ocikit.images.image_sign:
    action: manifest_digest
    manifest: /srv/export/app/manifest.json
  register: manifest

- name: A sigstore key pair, as skopeo generate-sigstore-key makes it
  ocikit.images.image_sign:
    action: generate_key
    output_prefix: /etc/pki/ocikit-signing
    passphrase: "{{ signing_passphrase }}"
'''

RETURN = r'''
verified:
  description:
    - Whether the image (O(action=verify)) or the signature file (O(action=standalone_verify)) verified.
    - Always V(true) when the task succeeds with O(fail_on_unverified=true).
  returned: when O(action=verify) or O(action=standalone_verify)
  type: bool
  sample: true
reason:
  description:
    - >-
      Why the image is verified or not, in one line; for a failure, the rejecting requirement and its reason (for example
      C(signature 1: signature by unknown key ...), C(a signature was required, but no signature exists),
      C(signature 1: its identity "..." is not accepted by matchRepoDigestOrExact for "...")).
  returned: when O(action=verify) or O(action=sign), and when O(action=standalone_verify) does not verify
  type: str
  sample: 'signature 1: accepted by signedBy (key 0123456789ABCDEF0123456789ABCDEF01234567)'
digest:
  description:
    - O(action=verify) the digest of the manifest verified; O(action=sign) the digest of the image signed;
      O(action=standalone_verify) the digest the signature names;
      O(action=standalone_sign) and O(action=manifest_digest) the manifest file's digest (C(skopeo manifest-digest)).
  returned: for every action except O(action=generate_key), when known
  type: str
  sample: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
media_type:
  description: The media type of the manifest verified.
  returned: when O(action=verify)
  type: str
  sample: application/vnd.oci.image.manifest.v1+json
signatures:
  description: How many signatures are stored for the image's digest (of any format); for O(action=sign), after signing.
  returned: when O(action=verify) or O(action=sign)
  type: int
  sample: 2
formats:
  description: The formats of those signatures, sorted (V(simple-signing), V(sigstore-json), V(unknown)).
  returned: when O(action=verify)
  type: list
  elements: str
  sample: [simple-signing, sigstore-json]
policy:
  description: Where the policy came from, its path, V(inline), V(none found), V(insecure_policy), or V(keys) for O(keys)/O(sigstore_keys).
  returned: when O(action=verify)
  type: str
  sample: /etc/containers/policy.json
scope:
  description: The policy scope that applied, for example C(transports.docker["registry.example.com/team"]) or C(default).
  returned: when O(action=verify)
  type: str
  sample: 'transports.docker["registry.example.com/team"]'
requirement:
  description: The requirement type that accepted the image (V(signedBy), V(sigstoreSigned), or V(insecureAcceptAnything)); null when not verified.
  returned: when O(action=verify)
  type: str
  sample: signedBy
accepted:
  description: Each signature that a signature requirement accepted, by position.
  returned: when O(action=verify)
  type: list
  elements: dict
  sample: [{signature: 1, type: gpg, key: 0123456789ABCDEF0123456789ABCDEF01234567, identity: registry.example.com/team/app:1.4}]
  contains:
    signature:
      description: Its position among the stored signatures, from 1.
      type: int
      sample: 1
    type:
      description: V(gpg) (simple signing) or V(sigstore).
      type: str
      sample: gpg
    key:
      description:
        - For V(gpg), the primary key's fingerprint (uppercase hexadecimal). For V(sigstore), the key file and the key's fingerprint
          (C(sha256:) of its DER public key), or the certificate's subject.
      type: str
      sample: 0123456789ABCDEF0123456789ABCDEF01234567
    identity:
      description: The docker reference the signature names.
      type: str
      sample: registry.example.com/team/app:1.4
key:
  description:
    - O(action=standalone_verify) the accepting key, O(action=standalone_sign) the signing key; a GPG primary key fingerprint,
      or C(sha256:HEX) of a sigstore public key.
  returned: when O(action=standalone_sign), and when O(action=standalone_verify) verifies
  type: str
  sample: 0123456789ABCDEF0123456789ABCDEF01234567
identity:
  description: The docker reference signed (O(action=standalone_sign)) or named by the signature (O(action=standalone_verify)).
  returned: when O(action=standalone_sign), and when O(action=standalone_verify) verifies
  type: str
  sample: registry.example.com/team/app:1.4
type:
  description: V(gpg) or V(sigstore).
  returned: when O(action=standalone_sign), and when O(action=standalone_verify) verifies
  type: str
  sample: gpg
signature:
  description: The signature file written.
  returned: when O(action=standalone_sign)
  type: str
  sample: /srv/release/app-1.4.sig
signed:
  description: For O(action=sign), the signature of each signing key, made now (C(created)) or found valid already.
  returned: when O(action=sign)
  type: list
  elements: dict
  sample:
    - type: sigstore
      key: sha256:9c1185a5c5e9fc54612808977ee8f548b2258d31a8e5c3f0e3d8b1a6e0f5e0b1
      identity: registry.example.com/team/app:1.4
      created: true
  contains:
    type:
      description: V(gpg) or V(sigstore).
      type: str
      sample: sigstore
    key:
      description: The signing key.
      type: str
      sample: sha256:9c1185a5c5e9fc54612808977ee8f548b2258d31a8e5c3f0e3d8b1a6e0f5e0b1
    identity:
      description: The docker reference signed.
      type: str
      sample: registry.example.com/team/app:1.4
    created:
      description: Whether this run made the signature.
      type: bool
      sample: true
diff:
  description: For O(action=sign), the image's digest and signature count before and after.
  returned: when O(action=sign)
  type: dict
  sample:
    before:
      digest: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
      signatures: 0
    after:
      digest: sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741
      signatures: 1
private_key:
  description: The private key file, C(PREFIX.private).
  returned: when O(action=generate_key)
  type: str
  sample: /srv/keys/release.private
public_key:
  description: The public key file, C(PREFIX.pub).
  returned: when O(action=generate_key)
  type: str
  sample: /srv/keys/release.pub
fingerprint:
  description: C(sha256:HEX) of the public key (its DER form); null in check mode when a new pair would be made.
  returned: when O(action=generate_key)
  type: str
  sample: sha256:9c1185a5c5e9fc54612808977ee8f548b2258d31a8e5c3f0e3d8b1a6e0f5e0b1
'''

import typing as t

from ansible_collections.ocikit.images.plugins.module_utils import bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.ocikit.images.plugins.module_utils import sign_actions
from ansible_collections.ocikit.images.plugins.module_utils.copy.sign_image import sign_in_place
from ansible_collections.ocikit.images.plugins.module_utils.copy.signing import SIGN_MUTUALLY_EXCLUSIVE, SignOptions, sign_argument_spec, sign_options
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError
from ansible_collections.ocikit.images.plugins.module_utils.module import (
    OcikitModule,
    check_dependencies,
    connection_argument_spec,
    connection_mutually_exclusive,
    connection_options,
    connection_required_together,
    retry_argument_spec,
    run,
)
from ansible_collections.ocikit.images.plugins.module_utils.policy_options import policy_argument_spec
from ansible_collections.ocikit.images.plugins.module_utils.signature.policy import load_policy
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name

ACTIONS = ('sign', 'verify', 'standalone_sign', 'standalone_verify', 'manifest_digest', 'generate_key')

# The options each action takes besides the connection options (which module_defaults may set for every task).
_ACTION_OPTIONS = {
    'sign': ('image', 'sign_by', 'sign_by_sigstore_private_key', 'sign_identity', 'sign_passphrase', 'sign_passphrase_file', 'sign_gnupghome',
             'registries_d'),
    'verify': ('image', 'keys', 'sigstore_keys', 'identity', 'identity_match', 'require_signature', 'fail_on_unverified', 'policy',
               'policy_data', 'insecure_policy', 'registries_d'),
    'standalone_sign': ('manifest', 'docker_reference', 'signature', 'sign_by', 'sign_by_sigstore_private_key', 'sign_passphrase',
                        'sign_passphrase_file', 'sign_gnupghome'),
    'standalone_verify': ('manifest', 'docker_reference', 'signature', 'fingerprints', 'keys', 'sigstore_keys', 'gnupghome',
                          'fail_on_unverified'),
    'manifest_digest': ('manifest',),
    'generate_key': ('output_prefix', 'passphrase', 'passphrase_file', 'force'),
}
# Where things are rather than what to do: module_defaults may set them for every task of the module, so an action that does not use
# one ignores it instead of refusing it.
_CONTEXT_OPTIONS = frozenset(('registries_d', 'policy', 'policy_data', 'insecure_policy', 'sign_gnupghome', 'gnupghome'))
# Options with a default: only a value other than the default is "given".
_DEFAULTS = {'identity_match': 'matchRepoDigestOrExact', 'require_signature': True, 'fail_on_unverified': True,
             'insecure_policy': False, 'force': False}


def unused_options(params: t.Mapping[str, t.Any]) -> list[str]:
    """The action-specific options given that ``params['action']`` does not take, sorted."""
    taken = set(_ACTION_OPTIONS[params['action']])
    every = {name for names in _ACTION_OPTIONS.values() for name in names} - _CONTEXT_OPTIONS
    return sorted(name for name in every - taken if params.get(name) is not None and params.get(name) != _DEFAULTS.get(name))


def work(params: t.Mapping[str, t.Any], check_mode: bool, warn: t.Callable[[str], None]) -> dict[str, t.Any]:
    """The action, from the module's validated options."""
    action = params['action']
    unused = unused_options(params)
    if unused:
        raise InvalidInputError('action %s does not take %s' % (action, ', '.join(unused)))
    if action == 'manifest_digest':
        return sign_actions.manifest_file_digest(params['manifest'])
    if action == 'verify':
        image = parse_image_name(params['image'])
        options = connection_options(params)
        options.registries_d = params['registries_d']
        direct = bool(params['keys'] or params['sigstore_keys'])
        if direct:
            policy = sign_actions.direct_policy(image, params['keys'], params['sigstore_keys'], params['identity'], params['identity_match'])
        else:
            if params['identity'] is not None or params['identity_match'] != _DEFAULTS['identity_match']:
                raise InvalidInputError('identity and identity_match apply to keys and sigstore_keys; a policy says which identities it accepts')
            policy = load_policy(path=params['policy'], data=params['policy_data'], insecure=params['insecure_policy'])
            if policy.warning:
                warn(policy.warning)
        return sign_actions.verify_image(image, options, policy, sign_actions.VerifyOptions(
            direct=direct, require_signature=params['require_signature'], fail_on_unverified=params['fail_on_unverified']))
    if action in ('sign', 'standalone_sign'):
        # The signing options are image_copy's (doc fragment signing), read by its engine.
        sign = sign_options(params) or SignOptions()
        if action == 'sign':
            options = connection_options(params)
            options.registries_d = params['registries_d']
            return sign_in_place(parse_image_name(params['image']), options, sign, check_mode=check_mode)
        return sign_actions.standalone_sign(params['manifest'], params['docker_reference'], params['signature'], sign_by=sign.gpg_key,
                                            sigstore_private_key=sign.sigstore_private_key, passphrase=sign.passphrase,
                                            gnupghome=sign.gnupghome, check_mode=check_mode)
    if action == 'standalone_verify':
        return sign_actions.standalone_verify(params['manifest'], params['docker_reference'], params['signature'],
                                              fingerprints=params['fingerprints'], keys=params['keys'], sigstore_keys=params['sigstore_keys'],
                                              gnupghome=params['gnupghome'], fail_on_unverified=params['fail_on_unverified'])
    passphrase = sign_actions.read_passphrase(params['passphrase'], params['passphrase_file'])
    return sign_actions.generate_key(params['output_prefix'], passphrase, force=params['force'], check_mode=check_mode)


def main() -> None:
    argument_spec = dict(
        action=dict(type='str', required=True, choices=list(ACTIONS)),
        image=dict(type='str'),
        keys=dict(type='list', elements='path', no_log=False),
        sigstore_keys=dict(type='list', elements='path', no_log=False, aliases=['sigstore_public_key']),
        identity=dict(type='str'),
        identity_match=dict(type='str', default='matchRepoDigestOrExact', choices=list(sign_actions.IDENTITY_MATCH_CHOICES)),
        require_signature=dict(type='bool', default=True),
        fail_on_unverified=dict(type='bool', default=True),
        manifest=dict(type='path'),
        docker_reference=dict(type='str'),
        signature=dict(type='path', aliases=['output']),
        fingerprints=dict(type='list', elements='str', aliases=['fingerprint']),
        gnupghome=dict(type='path'),
        passphrase=dict(type='str', no_log=True),
        passphrase_file=dict(type='path', no_log=False),
        output_prefix=dict(type='path'),
        force=dict(type='bool', default=False),
        **policy_argument_spec(),
        **connection_argument_spec()
    )
    argument_spec.update(retry_argument_spec())
    argument_spec.update(sign_argument_spec())
    module = OcikitModule(
        argument_spec=argument_spec, supports_check_mode=True, required_together=connection_required_together(),
        mutually_exclusive=connection_mutually_exclusive() + [
            ['policy', 'policy_data', 'insecure_policy', 'keys'], ['policy', 'policy_data', 'insecure_policy', 'sigstore_keys'],
            ['keys', 'sigstore_keys'], ['passphrase', 'passphrase_file']] + SIGN_MUTUALLY_EXCLUSIVE,
        required_if=[
            ['action', 'sign', ['image']],
            ['action', 'sign', ['sign_by', 'sign_by_sigstore_private_key'], True],
            ['action', 'verify', ['image']],
            ['action', 'standalone_sign', ['manifest', 'docker_reference', 'signature']],
            ['action', 'standalone_sign', ['sign_by', 'sign_by_sigstore_private_key'], True],
            ['action', 'standalone_verify', ['manifest', 'docker_reference', 'signature']],
            ['action', 'standalone_verify', ['fingerprints', 'keys', 'sigstore_keys'], True],
            ['action', 'manifest_digest', ['manifest']],
            ['action', 'generate_key', ['output_prefix']],
            ['action', 'generate_key', ['passphrase', 'passphrase_file'], True],
        ])
    params = module.params
    check_dependencies(module, network=params['action'] in ('sign', 'verify'))
    subject = params.get('image') if params['action'] in ('sign', 'verify') else None
    run(module, lambda: work(params, module.check_mode, module.warn), subject=subject)


if __name__ == '__main__':
    main()
