"""image_sync against the real distribution registry (TLS, htpasswd): what is copied, skipped, pruned or failed, checked
in the registry, on disk and in the registry's access log."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from ocikit_it import PASSWORD, USER, blob_writes, creds, run_module, skopeo, skopeo_inspect
from ocikit_testbed import LayerSpec, build_image
from ocikit_testbed.gpgkeys import GpgHome, gpg_available

try:
    from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore_keys
    sigstore_keys.require_cryptography()
except Exception:  # pylint: disable=broad-except  # without cryptography the sigstore-signed fixture is skipped
    sigstore_keys = None

TAGS = ('1.0.0', '1.1.0', '2.0.0', 'latest')
OCI_ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'


@pytest.fixture(scope='module')
def source(registry, tmp_path_factory):
    """Repository sync/app with four tags (three distinct images, latest = 2.0.0) and sync/tool:1."""
    base = tmp_path_factory.mktemp('sync-src')
    digests = {}
    for seed, tag in enumerate(TAGS[:3], 1):
        image = build_image(base / 'layout', tag, layers=[LayerSpec(size=20_000 + seed)], seed=seed)
        digests[tag] = image.manifest_digest
        skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), image.oci_ref, 'docker://' + registry.ref('sync/app', tag))
    skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), 'oci:%s:2.0.0' % (base / 'layout'), 'docker://' + registry.ref('sync/app', 'latest'))
    digests['latest'] = digests['2.0.0']
    tool = build_image(base / 'tool', '1', layers=[LayerSpec(size=5_000)], seed=9)
    skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), tool.oci_ref, 'docker://' + registry.ref('sync/tool', '1'))
    digests['tool'] = tool.manifest_digest
    return digests


def sync(registry, check: bool = False, **args):
    return run_module('image_sync', dict(creds(registry), **args), check=check, diff=True)


def manifest_gets(registry, repository: str) -> list[dict]:
    return [r for r in registry.requests() if r['method'] == 'GET' and r['path'].startswith('/v2/%s/manifests/' % repository)]


def test_registry_to_registry_then_nothing_to_do(registry, source):
    dest = registry.ref('mirror1', 'x').rsplit(':', 1)[0].rsplit('/', 1)[0] + '/mirror1'
    out = sync(registry, src=registry.ref('sync/app', 'x').rsplit(':', 1)[0], dest=dest)
    assert not out.failed, out.msg
    assert out.result['changed'] and out.result['summary']['copied'] == 4 and out.result['summary']['failed'] == 0
    by_dest = {item['dest']: item for item in out.result['images']}
    for tag in TAGS:
        item = by_dest['docker://%s/app:%s' % (dest, tag)]
        assert item['action'] == 'copied' and item['digest'] == source[tag]
        assert skopeo_inspect('docker://%s/app:%s' % (dest, tag), *registry.skopeo_flags(''))['Digest'] == source[tag]
    assert out.result['diff']['after']['docker://%s/app:1.0.0' % dest] == source['1.0.0']
    registry.clear_requests()
    again = sync(registry, src=registry.ref('sync/app', 'x').rsplit(':', 1)[0], dest=dest)
    assert not again.failed and not again.result['changed'], again.msg
    assert again.result['summary']['skipped'] == 4 and again.result['summary']['copied'] == 0
    # Up to date is found without reading a destination manifest (HEAD only), and nothing is written.
    assert manifest_gets(registry, dest.split('/', 1)[1] + '/app') == []
    assert [r for r in registry.requests() if r['method'] in ('PUT', 'POST', 'PATCH', 'DELETE')] == []
    # HEAD-first: each image costs one HEAD of its destination and one of its source, and no manifest GET at either end.
    assert manifest_gets(registry, 'sync/app') == []
    heads = sorted(r['path'] for r in registry.requests() if r['method'] == 'HEAD' and '/manifests/' in r['path'])
    assert heads == sorted(['/v2/sync/app/manifests/%s' % tag for tag in TAGS] + ['/v2/mirror1/app/manifests/%s' % tag for tag in TAGS])
    # One client for the registry (both sides here): the summary counts exactly what the registry saw.
    stats = again.result['summary']['registries'][registry.host]
    assert again.result['summary']['requests'] == stats['requests'] == len(registry.requests())
    assert stats['manifest_gets'] == 0 and stats['methods']['GET'] == len([r for r in registry.requests() if r['method'] == 'GET'])


def test_semver_and_regex_filters(registry, source):
    repo = registry.ref('sync/app', 'x').rsplit(':', 1)[0]
    dest = registry.host + '/mirror2'
    out = sync(registry, src=repo, dest=dest, semver='>= 1.0.0, < 2.0.0')
    assert not out.failed, out.msg
    assert sorted(item['dest'] for item in out.result['images']) == ['docker://%s/app:1.0.0' % dest, 'docker://%s/app:1.1.0' % dest]
    out = sync(registry, src=repo, dest=dest, tag_regex=r'^\d+\.\d+\.\d+$', exclude_regex=r'^1\.')
    assert [item['dest'] for item in out.result['images']] == ['docker://%s/app:2.0.0' % dest]
    out = sync(registry, src=repo, dest=dest, tag_regex='(?=x)')
    assert out.failed and 'lookahead' in out.msg.lower(), out.msg


def test_skopeo_yaml_and_scoped_names(registry, source, tmp_path):
    yaml_file = tmp_path / 'sync.yaml'
    yaml_file.write_text('%s:\n  images:\n    sync/tool: []\n  images-by-tag-regex:\n    sync/app: ^1\\.1\\.\n  tls-verify: true\n  unknown-key: 1\n'
                         % registry.host)
    out = sync(registry, src_type='yaml', src_file=str(yaml_file), dest=str(tmp_path / 'layout'), dest_type='oci', scoped=True)
    assert not out.failed, out.msg
    assert sorted(item['dest'] for item in out.result['images']) == [
        'oci:%s:%s/sync/app:1.1.0' % (tmp_path / 'layout', registry.host), 'oci:%s:%s/sync/tool:1' % (tmp_path / 'layout', registry.host)]
    assert 'unknown keys ignored, as skopeo does: "unknown-key"' in str(out.result.get('warnings')), out.result.get('warnings')
    # A scoped name keeps the source host; with a port, it cannot be a repository path in a registry (skopeo fails there too).
    out = sync(registry, src_type='yaml', src_file=str(yaml_file), dest=registry.host + '/mirror3', scoped=True)
    assert out.failed and out.msg.endswith('invalid path component "%s": invalid character ":" (allowed are lowercase letters, digits, '
                                           '".", "_" and "-")' % registry.host), out.msg


def test_mapping_into_one_oci_layout_and_one_archive(registry, source, tmp_path):
    mapping = [{'src': registry.ref('sync/app', 'x').rsplit(':', 1)[0], 'dest': 'team/app', 'tags': ['1.0.0', '2.0.0']},
               {'src': registry.ref('sync/tool', '1'), 'dest': 'tools/tool'}]
    out = sync(registry, mapping=mapping, dest=str(tmp_path / 'layout'), dest_type='oci', digestfile=str(tmp_path / 'digests'))
    assert not out.failed, out.msg
    index = json.loads((tmp_path / 'layout' / 'index.json').read_text())
    names = sorted(m['annotations']['org.opencontainers.image.ref.name'] for m in index['manifests'])
    assert names == ['team/app:1.0.0', 'team/app:2.0.0', 'tools/tool:1']
    assert skopeo_inspect('oci:%s:team/app:2.0.0' % (tmp_path / 'layout'))['Digest'] == source['2.0.0']
    lines = (tmp_path / 'digests').read_text().splitlines()
    assert '%s oci:%s:tools/tool:1' % (source['tool'], tmp_path / 'layout') in lines and len(lines) == 3
    again = sync(registry, mapping=mapping, dest=str(tmp_path / 'layout'), dest_type='oci', digestfile=str(tmp_path / 'digests'))
    assert not again.failed and not again.result['changed'], again.msg
    archive = tmp_path / 'bundle.tar'
    out = sync(registry, mapping=mapping, dest=str(archive), dest_type='oci-archive')
    assert not out.failed and out.result['changed'], out.msg
    assert skopeo_inspect('oci-archive:%s:tools/tool:1' % archive)['Digest'] == source['tool']
    assert skopeo_inspect('oci-archive:%s:team/app:1.0.0' % archive)['Digest'] == source['1.0.0']
    stamp = archive.stat()
    again = sync(registry, mapping=mapping, dest=str(archive), dest_type='oci-archive')
    assert not again.failed and not again.result['changed'], again.msg
    assert (archive.stat().st_ino, archive.stat().st_mtime_ns) == (stamp.st_ino, stamp.st_mtime_ns)
    # One more image: the archive is rebuilt with all four.
    mapping[0]['tags'].append('1.1.0')
    out = sync(registry, mapping=mapping, dest=str(archive), dest_type='oci-archive')
    assert not out.failed and out.result['summary'] == dict(out.result['summary'], copied=1, skipped=3)
    assert skopeo_inspect('oci-archive:%s:team/app:1.1.0' % archive)['Digest'] == source['1.1.0']
    assert skopeo_inspect('oci-archive:%s:tools/tool:1' % archive)['Digest'] == source['tool']


def test_keep_going_lists_every_failure_and_fails_at_the_end(registry, source, tmp_path):
    mapping = [{'src': registry.ref('sync/app', '1.0.0'), 'dest': 'kg/app'}, {'src': registry.ref('sync/missing', '1'), 'dest': 'kg/missing'},
               {'src': registry.ref('sync/tool', '1'), 'dest': 'kg/tool'}]
    progress = tmp_path / 'progress.jsonl'
    out = sync(registry, mapping=mapping, dest=str(tmp_path / 'layout'), dest_type='oci', keep_going=True, concurrency=1,
               progress_file=str(progress))
    # The whole result, and a failed module's exit status (as fail_json gives it), so Ansible and a shell both see the failure.
    assert out.failed and out.result['failed'] is True and out.rc == 1 and out.result['changed'] is True
    # One JSON line per image as it finished, for an operator to watch.
    lines = [json.loads(line) for line in progress.read_text().splitlines()]
    assert [line['action'] for line in lines] == ['copied', 'failed', 'copied'] and all(line['time'] > 0 for line in lines)
    actions = [(item['dest'].rsplit(':', 2)[-2] + ':' + item['dest'].rsplit(':', 1)[-1], item['action']) for item in out.result['images']]
    assert actions == [('kg/app:1.0.0', 'copied'), ('kg/missing:1', 'failed'), ('kg/tool:1', 'copied')]
    assert out.msg.startswith('1 of 3 images failed; first: docker://%s:' % registry.ref('sync/missing', '1')), out.msg
    without = sync(registry, mapping=mapping, dest=str(tmp_path / 'layout2'), dest_type='oci', concurrency=1)
    assert without.failed and [item['action'] for item in without.result['images']] == ['copied', 'failed']


def test_prune_with_check_mode_first(registry, source):
    repo = registry.ref('sync/app', 'x').rsplit(':', 1)[0]
    dest = registry.host + '/mirror4'
    assert not sync(registry, src=repo, dest=dest).failed
    for tag, image in (('0.9.0', 'sync/tool:1'), ('keep-me', 'sync/app:1.0.0'), ('0.8.0', 'sync/app:1.0.0')):
        skopeo('copy', '--quiet', *registry.skopeo_flags('src'), *registry.skopeo_flags('dest'), 'docker://%s/%s' % (registry.host, image),
               'docker://%s/app:%s' % (dest, tag))
    predicted = sync(registry, check=True, src=repo, dest=dest, prune=True, semver='>= 0.1.0')
    assert not predicted.failed and predicted.result['changed'], predicted.msg
    pruned = [item['dest'] for item in predicted.result['images'] if item['action'] == 'pruned']
    assert pruned == ['docker://%s/app:0.9.0' % dest]
    # 0.8.0 shares its digest with 1.0.0 (kept) and keep-me: distribution cannot delete a tag alone, so it stays, reported.
    (shared,) = [item for item in predicted.result['images'] if item['dest'] == 'docker://%s/app:0.8.0' % dest]
    assert shared['action'] == 'skipped' and shared['reason'].startswith('not pruned: not deleted: digest '), shared
    assert skopeo('inspect', *registry.skopeo_flags(''), 'docker://%s/app:0.9.0' % dest, check=False).returncode == 0
    done = sync(registry, src=repo, dest=dest, prune=True, semver='>= 0.1.0')
    assert not done.failed and [item['dest'] for item in done.result['images'] if item['action'] == 'pruned'] == pruned, done.msg
    assert skopeo('inspect', *registry.skopeo_flags(''), 'docker://%s/app:0.9.0' % dest, check=False).returncode != 0
    # keep-me is no version: outside the entry's filter, so never touched.
    assert skopeo('inspect', *registry.skopeo_flags(''), 'docker://%s/app:keep-me' % dest, check=False).returncode == 0


def test_immutable_tags_are_not_read_at_the_source(registry, source):
    repo = registry.ref('sync/app', 'x').rsplit(':', 1)[0]
    dest = registry.host + '/mirror5'
    assert not sync(registry, src=repo, dest=dest).failed
    registry.clear_requests()
    out = sync(registry, src=repo, dest=dest, immutable_tags=r'^\d+\.\d+\.\d+$')
    assert not out.failed and not out.result['changed'], out.msg
    reasons = {item['dest'].rsplit(':', 1)[1]: item.get('reason') for item in out.result['images']}
    assert reasons['1.0.0'] == 'immutable tag already at the destination (source not read)'
    # The three version tags are not read at the source at all: only latest (not immutable) is.
    source_manifest_requests = [r['path'] for r in registry.requests() if r['path'].startswith('/v2/sync/app/manifests/')]
    assert source_manifest_requests and set(source_manifest_requests) == {'/v2/sync/app/manifests/latest'}, source_manifest_requests


# -- OCI layouts and archives as sources: the air-gap round trip ---------------------------------------------------------

def signed_by(keyring: Path, identity: dict | None = None) -> dict:
    requirement = {'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': str(keyring)}
    if identity is not None:
        requirement['signedIdentity'] = identity
    return requirement


@pytest.fixture(scope='module')
def signed(tmp_path_factory, registry, token_registry):
    """signed/app:v1 and :v2 in the htpasswd registry, signed by skopeo (GPG) into a file lookaside; one registries.d for both registries."""
    if not gpg_available():
        pytest.skip('needs gpg')
    base = tmp_path_factory.mktemp('sync-signed')
    gpg_home = GpgHome(base / 'gnupg', no_cache=False)
    home = gpg_home.path
    key = gpg_home.generate_key('ocikit sync <sync@example.com>')
    gpg_home.export_to(base / 'trusted.gpg', key)
    registries_d = base / 'registries.d'
    registries_d.mkdir()
    # Both registries read and write lookasides under the test's directory (never the default one under /var/lib/containers).
    (registries_d / 'testbed.yaml').write_text('docker:\n  %s:\n    lookaside: file://%s\n  %s:\n    lookaside: file://%s\n'
                                               % (registry.host, base / 'near', token_registry.host, base / 'far'))
    digests = {}
    for seed, tag in enumerate(('v1', 'v2'), 21):
        image = build_image(base / 'layout', tag, layers=[LayerSpec(size=40_000 + seed), LayerSpec(size=7_000 + seed)], seed=seed)
        digests[tag] = image.manifest_digest
        subprocess.run(['skopeo', '--registries.d', str(registries_d), '--insecure-policy', 'copy', '--quiet', '--sign-by', key,
                        *registry.skopeo_flags('dest'), image.oci_ref, 'docker://' + registry.ref('signed/app', tag)],
                       check=True, capture_output=True, timeout=120, env=dict(os.environ, GNUPGHOME=str(home)))
    yield {'base': base, 'keyring': base / 'trusted.gpg', 'registries_d': registries_d, 'digests': digests,
           'repository': registry.ref('signed/app', 'x').rsplit(':', 1)[0]}
    gpg_home.close()


def lookaside_signature(root: Path, repository: str, digest: str) -> Path:
    return root / ('%s@%s' % (repository, digest.replace(':', '='))) / 'signature-1'


def test_air_gap_round_trip_through_one_archive_with_signatures(registry, token_registry, signed, tmp_path):
    registries_d = str(signed['registries_d'])
    near_policy = {'default': [{'type': 'reject'}], 'transports': {'docker': {signed['repository']: [signed_by(signed['keyring'])]}}}
    bundle = tmp_path / 'bundle.tar'
    # 1. Near side: the repository into one archive, named as the far side will name it (mapping dest).
    out = sync(registry, mapping=[{'src': signed['repository'], 'dest': 'team/app'}], dest=str(bundle), dest_type='oci-archive',
               registries_d=registries_d, policy_data=near_policy)
    assert not out.failed and out.result['summary']['copied'] == 2, out.msg
    with tarfile.open(str(bundle)) as tar:
        index = json.loads(tar.extractfile('index.json').read())
        assert sorted(m['annotations']['org.opencontainers.image.ref.name'] for m in index['manifests']) == ['team/app:v1', 'team/app:v2']
        for tag, digest in signed['digests'].items():
            stored = tar.extractfile('.ocikit/signatures/%s/signature-1' % digest.replace(':', '=')).read()
            assert stored == lookaside_signature(signed['base'] / 'near', 'signed/app', digest).read_bytes()
        # What the far side lacks: every blob of each image (config and layers; the two images share none).
        sizes = {}
        for tag, digest in signed['digests'].items():
            manifest = json.loads(tar.extractfile('blobs/sha256/' + digest.split(':', 1)[1]).read())
            sizes['docker://%s/airgap/team/app:%s' % (token_registry.host, tag)] = manifest['config']['size'] + sum(
                layer['size'] for layer in manifest['layers'])

    # 2. Far side (a token-auth registry): check mode first, an exact plan with the bytes to move; nothing written.
    far = token_registry.host + '/airgap'
    # The bundle names no registry: the policy says which identity its signatures must carry.
    far_policy = {'default': [{'type': 'reject'}], 'transports': {'oci-archive': {'': [signed_by(
        signed['keyring'], {'type': 'exactRepository', 'dockerRepository': signed['repository']})]}}}
    args = dict(creds(token_registry), src=str(bundle), src_type='oci-archive', dest=far, scoped=True, registries_d=registries_d,
                policy_data=far_policy)
    token_registry.clear_requests()
    predicted = run_module('image_sync', args, check=True, diff=True)
    assert not predicted.failed and predicted.result['changed'], predicted.msg
    assert blob_writes(token_registry) == []
    assert sorted((item['src'], item['dest'], item['action']) for item in predicted.result['images']) == [
        ('oci-archive:%s:team/app:%s' % (bundle, tag), 'docker://%s/team/app:%s' % (far, tag), 'copied') for tag in ('v1', 'v2')]
    assert {item['dest']: item['bytes'] for item in predicted.result['images']} == sizes
    assert predicted.result['summary']['bytes_copied'] == sum(sizes.values())
    done = run_module('image_sync', args, diff=True)
    assert not done.failed and done.result['summary']['copied'] == 2, done.msg
    # Check mode said exactly how many bytes the run moved, per image and in all.
    assert [item['bytes'] for item in done.result['images']] == [item['bytes'] for item in predicted.result['images']]
    assert done.result['summary']['bytes_copied'] == predicted.result['summary']['bytes_copied'] > 0
    for tag, digest in signed['digests'].items():
        assert skopeo_inspect('docker://%s/team/app:%s' % (far, tag), *token_registry.skopeo_flags(''))['Digest'] == digest
        # The signature arrived in the far registry's lookaside, byte for byte.
        assert (lookaside_signature(signed['base'] / 'far', 'airgap/team/app', digest).read_bytes()
                == lookaside_signature(signed['base'] / 'near', 'signed/app', digest).read_bytes())
    token_registry.clear_requests()
    again = run_module('image_sync', args)
    assert not again.failed and not again.result['changed'] and again.result['summary']['skipped'] == 2, again.msg
    assert blob_writes(token_registry) == []

    # 3. There, a signedBy policy accepts it (the signature names the near repository: remapIdentity maps the far one to it).
    remap = {'type': 'remapIdentity', 'prefix': far + '/team/app', 'signedPrefix': signed['repository']}
    accepting = {'default': [{'type': 'reject'}], 'transports': {'docker': {far + '/team/app': [signed_by(signed['keyring'], remap)]}}}
    pulled = run_module('image_copy', dict(creds(token_registry), src='docker://%s/team/app:v1' % far, dest='oci:%s:v1' % (tmp_path / 'pulled'),
                                           registries_d=registries_d, policy_data=accepting))
    assert not pulled.failed and pulled.result['policy']['identity'] == registry.ref('signed/app', 'v1'), pulled.msg
    strict = {'default': [{'type': 'reject'}], 'transports': {'docker': {far + '/team/app': [signed_by(signed['keyring'])]}}}
    refused = run_module('image_copy', dict(creds(token_registry), src='docker://%s/team/app:v1' % far, dest='oci:%s:v1' % (tmp_path / 'never'),
                                            registries_d=registries_d, policy_data=strict))
    assert refused.failed and 'its identity "%s" is not accepted' % registry.ref('signed/app', 'v1') in refused.msg, refused.msg
    assert not (tmp_path / 'never').exists()
    # skopeo agrees.
    policy_file = tmp_path / 'remap.json'
    policy_file.write_text(json.dumps(accepting))
    skopeo('--registries.d', registries_d, '--policy', str(policy_file), 'copy', '--quiet', *token_registry.skopeo_flags('src'),
           'docker://%s/team/app:v2' % far, 'dir:%s' % (tmp_path / 'by-skopeo'))
    assert (tmp_path / 'by-skopeo' / 'signature-1').is_file()

    # 4. The next bundle holds v2 only: the far side prunes v1 (check mode lists it first), and nothing of other repositories.
    skopeo('copy', '--quiet', *token_registry.skopeo_flags('src'), *token_registry.skopeo_flags('dest'), 'docker://%s/team/app:v1' % far,
           'docker://%s/other/app:v1' % far)
    smaller = tmp_path / 'next.tar'
    out = sync(registry, mapping=[{'src': signed['repository'], 'dest': 'team/app', 'tags': ['v2']}], dest=str(smaller), dest_type='oci-archive',
               registries_d=registries_d, policy_data=near_policy)
    assert not out.failed, out.msg
    args.update(src=str(smaller), prune=True)
    token_registry.clear_requests()
    predicted = run_module('image_sync', args, check=True)
    assert not predicted.failed and blob_writes(token_registry) == [], predicted.msg
    assert [(item['dest'], item['action']) for item in predicted.result['images']] == [
        ('docker://%s/team/app:v2' % far, 'skipped'), ('docker://%s/team/app:v1' % far, 'pruned')]
    done = run_module('image_sync', args)
    assert not done.failed and done.result['summary']['pruned'] == 1, done.msg
    assert skopeo('inspect', *token_registry.skopeo_flags(''), 'docker://%s/team/app:v1' % far, check=False).returncode != 0
    assert skopeo_inspect('docker://%s/team/app:v2' % far, *token_registry.skopeo_flags(''))['Digest'] == signed['digests']['v2']
    assert skopeo_inspect('docker://%s/other/app:v1' % far, *token_registry.skopeo_flags(''))['Digest'] == signed['digests']['v1']


def test_layout_source_names_and_filters(registry, source, tmp_path):
    layout = tmp_path / 'layout'
    repo = registry.ref('sync/app', 'x').rsplit(':', 1)[0]
    assert not sync(registry, src=repo, dest=str(layout), dest_type='oci', scoped=True).failed
    # skopeo writes a tag alone: it belongs to a repository named after the layout.
    skopeo('copy', '--quiet', *registry.skopeo_flags('src'), 'docker://' + registry.ref('sync/tool', '1'), 'oci:%s:solo' % layout)
    out = sync(registry, src=str(layout), src_type='oci', dest=registry.host + '/fromlayout', semver='>= 1.0.0')
    assert not out.failed, out.msg
    assert sorted(item['dest'] for item in out.result['images']) == [
        'docker://%s/fromlayout/app:%s' % (registry.host, tag) for tag in ('1.0.0', '1.1.0', '2.0.0')]
    out = sync(registry, src=str(layout), src_type='oci', dest=str(tmp_path / 'copy'), dest_type='oci', tag_regex='^solo$')
    assert not out.failed and [item['dest'] for item in out.result['images']] == ['oci:%s:layout:solo' % (tmp_path / 'copy')], out.msg
    assert skopeo_inspect('oci:%s:layout:solo' % (tmp_path / 'copy'))['Digest'] == source['tool']


def test_prune_in_a_layout_with_check_mode_first(registry, tmp_path):
    base = tmp_path / 'images'
    repo = registry.ref('prunesrc/app', 'x').rsplit(':', 1)[0]
    for seed, tag in enumerate(('1.0.0', '1.1.0'), 31):
        image = build_image(base, tag, layers=[LayerSpec(size=9_000 + seed)], seed=seed)
        skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), image.oci_ref, 'docker://%s:%s' % (repo, tag))
    layout = tmp_path / 'mirror'
    assert not sync(registry, src=repo, dest=str(layout), dest_type='oci', semver='>= 1.0.0').failed
    # keep-me is outside the filter; other:1.1.0 is another repository of the layout.
    skopeo('copy', '--quiet', 'oci:%s:app:1.0.0' % layout, 'oci:%s:app:keep-me' % layout)
    skopeo('copy', '--quiet', 'oci:%s:app:1.1.0' % layout, 'oci:%s:other:1.1.0' % layout)
    skopeo('delete', *registry.skopeo_flags(''), 'docker://%s:1.1.0' % repo)
    index = (layout / 'index.json').read_bytes()
    predicted = sync(registry, check=True, src=repo, dest=str(layout), dest_type='oci', semver='>= 1.0.0', prune=True)
    assert not predicted.failed and predicted.result['changed'], predicted.msg
    assert [(item['dest'], item['action']) for item in predicted.result['images']] == [
        ('oci:%s:app:1.0.0' % layout, 'skipped'), ('oci:%s:app:1.1.0' % layout, 'pruned')]
    assert (layout / 'index.json').read_bytes() == index
    done = sync(registry, src=repo, dest=str(layout), dest_type='oci', semver='>= 1.0.0', prune=True)
    assert not done.failed and [item['dest'] for item in done.result['images'] if item['action'] == 'pruned'] == [
        'oci:%s:app:1.1.0' % layout], done.msg
    names = sorted(m['annotations']['org.opencontainers.image.ref.name'] for m in json.loads((layout / 'index.json').read_text())['manifests'])
    assert names == ['app:1.0.0', 'app:keep-me', 'other:1.1.0']
    assert skopeo_inspect('oci:%s:other:1.1.0' % layout)['Digest']
    assert skopeo('inspect', 'oci:%s:app:1.1.0' % layout, check=False).returncode != 0


# -- attachment tags ------------------------------------------------------------------------------------------------


def warnings_of(out) -> list[str]:
    """The texts of a module's warnings (newer ansible-core returns each as a structured event)."""
    return [item['event']['msg'] if isinstance(item, dict) else item for item in out.result.get('warnings', [])]


def registry_tags(registry, repository: str) -> dict[str, str]:
    """tag -> digest of a repository, read with the test's own client."""
    with registry.http_client(auth=(USER, PASSWORD)) as http:
        answer = http.get('/v2/%s/tags/list' % repository)
        if answer.status_code == 404:
            return {}
        tags = answer.json().get('tags') or []
        return {tag: http.head('/v2/%s/manifests/%s' % (repository, tag), headers={'Accept': OCI_ACCEPT}).headers['docker-content-digest']
                for tag in tags}


@pytest.fixture(scope='module')
def attached(registry, tmp_path_factory):
    """att/app:1.0 signed with a sigstore key as it was pushed (our signer wrote its sha256-HEX.sig tag), an image at its sha256-HEX.att
    tag (as cosign attaches an attestation), and a registries.d that reads and writes sigstore attachments of this registry."""
    if sigstore_keys is None:
        pytest.skip('needs cryptography to make sigstore keys')
    base = tmp_path_factory.mktemp('sync-attached')
    private, dummy = sigstore_keys.generate_key_pair('pass')
    (base / 'cosign.private').write_bytes(private)
    registries_d = base / 'registries.d'
    registries_d.mkdir()
    (registries_d / 'testbed.yaml').write_text('docker:\n  %s:\n    lookaside: file://%s\n    use-sigstore-attachments: true\n'
                                               % (registry.host, base / 'lookaside'))
    plain = base / 'plain.d'
    plain.mkdir()
    image = build_image(base / 'layout', '1.0', layers=[LayerSpec(size=15_000)], seed=41)
    pushed = run_module('image_copy', dict(creds(registry), src=image.oci_ref, dest='docker://' + registry.ref('att/app', '1.0'),
                                           registries_d=str(registries_d), insecure_policy=True,
                                           sign_by_sigstore_private_key=str(base / 'cosign.private'), sign_passphrase='pass'))
    assert not pushed.failed, pushed.msg
    other = build_image(base / 'other', 'x', layers=[LayerSpec(size=3_000)], seed=42)
    attestation = image.manifest_digest.replace(':', '-', 1) + '.att'
    skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), other.oci_ref, 'docker://' + registry.ref('att/app', attestation))
    tags = registry_tags(registry, 'att/app')
    signature = image.manifest_digest.replace(':', '-', 1) + '.sig'
    assert sorted(tags) == sorted(['1.0', signature, attestation]), tags
    return {'registries_d': str(registries_d), 'plain': str(plain), 'digest': image.manifest_digest, 'sig': signature, 'att': attestation,
            'tags': tags, 'repository': registry.ref('att/app', 'x').rsplit(':', 1)[0], 'other': other}


def test_attachment_tags_are_left_out_and_their_signatures_travel(registry, attached):
    dest = registry.host + '/attmirror'
    args = dict(src=attached['repository'], dest=dest, registries_d=attached['registries_d'])
    out = sync(registry, **args)
    assert not out.failed, out.msg
    assert [(item['dest'], item['action']) for item in out.result['images']] == [('docker://%s/app:1.0' % dest, 'copied')]
    assert out.result['summary']['attachment_tags_skipped'] == 2
    # The attestation does not travel, and that is said; the signature does (use-sigstore-attachments), so nothing is said of it.
    assert warnings_of(out) == ['docker://%s: 1 attachment tag(s) left out (attachment_tags: skip) whose content does not travel with '
                                'the images (1 .att); attachment_tags: copy copies them as tags' % attached['repository']]
    # The signature came with its image, into its sha256-HEX.sig tag, byte for byte the source's.
    assert registry_tags(registry, 'attmirror/app') == {'1.0': attached['digest'], attached['sig']: attached['tags'][attached['sig']]}
    registry.clear_requests()
    again = sync(registry, **args)
    assert not again.failed and not again.result['changed'] and again.result['summary']['attachment_tags_skipped'] == 2, again.msg
    assert blob_writes(registry) == []
    # Prune (check mode first) deletes a tag the source lacks, never the attachment tag the sync left out.
    skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), attached['other'].oci_ref, 'docker://%s/app:old' % dest)
    predicted = sync(registry, check=True, prune=True, **args)
    assert not predicted.failed, predicted.msg
    assert [(item['dest'], item['action']) for item in predicted.result['images']] == [
        ('docker://%s/app:1.0' % dest, 'skipped'), ('docker://%s/app:old' % dest, 'pruned')]
    done = sync(registry, prune=True, **args)
    assert not done.failed and done.result['summary']['pruned'] == 1, done.msg
    assert registry_tags(registry, 'attmirror/app') == {'1.0': attached['digest'], attached['sig']: attached['tags'][attached['sig']]}


def test_attachment_tags_copy_syncs_them_as_skopeo_sync_does(registry, attached, tmp_path):
    # No attachments read or written (a registries.d without use-sigstore-attachments): the tags are copied as they are, as by skopeo.
    out = sync(registry, src=attached['repository'], dest=registry.host + '/attcopy', registries_d=attached['plain'], attachment_tags='copy')
    assert not out.failed, out.msg
    assert out.result['summary']['copied'] == 3 and out.result['summary']['attachment_tags_skipped'] == 0
    assert registry_tags(registry, 'attcopy/app') == attached['tags']
    skopeo('--registries.d', attached['plain'], '--insecure-policy', 'sync', '--src', 'docker', '--dest', 'docker', *registry.skopeo_flags('src'),
           *registry.skopeo_flags('dest'), attached['repository'], registry.host + '/attskopeo')
    assert registry_tags(registry, 'attskopeo/app') == registry_tags(registry, 'attcopy/app')
    # Into a layout and back, the names stay attachment tags: left out there too unless copied.
    layout = tmp_path / 'layout'
    assert not sync(registry, src=attached['repository'], dest=str(layout), dest_type='oci', registries_d=attached['plain'],
                    attachment_tags='copy').failed
    back = sync(registry, src=str(layout), src_type='oci', dest=registry.host + '/attback', registries_d=attached['plain'])
    assert not back.failed and back.result['summary']['attachment_tags_skipped'] == 2, back.msg
    assert sorted(registry_tags(registry, 'attback/app')) == ['1.0']
