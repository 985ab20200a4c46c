"""image_copy across formats and compressions: conversion, gzip/zstd, archives, platform subsets.

skopeo 1.9.3 is the reference: it must read what we write, and where its conversion is
deterministic our digests must equal the ones it produces.
"""

from __future__ import annotations

import json
import tarfile

import pytest

from ocikit_it import blob_writes, creds, run_module, skopeo, skopeo_inspect
from ocikit_testbed import LayerSpec, build_image, build_index


@pytest.fixture
def image(tmp_path):
    return build_image(tmp_path / 'src', 'v1', layers=[LayerSpec(size=200_000), LayerSpec(size=30_000, compressible=0.9)],
                       labels={'purpose': 'formats'})


def copy(src: str, dest: str, reg=None, check=False, **extra):
    args = {'src': src, 'dest': dest}
    if reg is not None:
        args.update(creds(reg))
    args.update(extra)
    result = run_module('image_copy', args, check=check)
    return result


def config_digest(image_name: str, *flags: str) -> str:
    raw = json.loads(skopeo('inspect', '--raw', *flags, image_name).stdout)
    return raw['config']['digest']


def test_gzip_zstd_gzip_round_trip_keeps_diff_ids(image, registry, tmp_path):
    ref = 'docker://' + registry.ref('zstd/app', 'v1')
    up = copy(image.oci_ref, ref, registry, dest_compress_format='zstd')
    assert not up.failed, up.msg
    assert up.result['changed'] and up.result['rule'] == 'content'
    raw = json.loads(skopeo('inspect', '--raw', *registry.skopeo_flags(''), ref).stdout)
    assert [layer['mediaType'] for layer in raw['layers']] == ['application/vnd.oci.image.layer.v1.tar+zstd'] * 2
    assert raw['config']['digest'] == image.config_digest  # config (and so diff_ids) unchanged
    assert up.result['digest'] == skopeo_inspect(ref, *registry.skopeo_flags(''))['Digest']
    # skopeo reads the zstd image: it copies it to a layout and the diff_ids are those of the source.
    skopeo('copy', '--quiet', *registry.skopeo_flags('src'), ref, 'oci:%s:peer' % (tmp_path / 'peer'))
    peer_config = json.loads(skopeo('inspect', '--config', 'oci:%s:peer' % (tmp_path / 'peer')).stdout)
    assert peer_config['rootfs']['diff_ids'] == image.diff_ids

    registry.clear_requests()
    again = copy(image.oci_ref, ref, registry, dest_compress_format='zstd')
    assert again.result['changed'] is False, again.result
    assert again.result['rule'] == 'content'
    assert blob_writes(registry) == []

    back = copy(ref, 'oci:%s:back' % (tmp_path / 'back'), registry, dest_compress_format='gzip')
    assert not back.failed, back.msg
    manifest = json.loads(skopeo('inspect', '--raw', 'oci:%s:back' % (tmp_path / 'back')).stdout)
    assert [layer['mediaType'] for layer in manifest['layers']] == ['application/vnd.oci.image.layer.v1.tar+gzip'] * 2
    assert manifest['config']['digest'] == image.config_digest
    again_back = copy(ref, 'oci:%s:back' % (tmp_path / 'back'), registry, dest_compress_format='gzip')
    assert again_back.result['changed'] is False


@pytest.mark.parametrize('fmt', ['v2s2', 'oci'])
def test_format_conversion_matches_skopeo(fmt, registry, tmp_path):
    media = 'oci' if fmt == 'v2s2' else 'docker'
    img = build_image(tmp_path / 'src', 'v1', media=media, labels={'k': 'v'})
    src = img.oci_ref if media == 'oci' else img.to_dir(tmp_path / 'srcdir')
    ours = 'docker://' + registry.ref('fmt/ours-%s' % fmt, 'v1')
    theirs = 'docker://' + registry.ref('fmt/theirs-%s' % fmt, 'v1')
    result = copy(src, ours, registry, format=fmt)
    assert not result.failed, result.msg
    assert result.result['converted'] is True
    skopeo('copy', '--quiet', '--format', fmt, *registry.skopeo_flags('dest'), src, theirs)
    assert result.result['digest'] == skopeo_inspect(theirs, *registry.skopeo_flags(''))['Digest']
    assert skopeo_inspect(ours, *registry.skopeo_flags(''))['Digest'] == result.result['digest']
    registry.clear_requests()
    assert copy(src, ours, registry, format=fmt).result['changed'] is False
    assert blob_writes(registry) == []
    refused = copy(src, 'docker://' + registry.ref('fmt/refused-%s' % fmt, 'v1'), registry, format=fmt, preserve_digests=True)
    assert refused.failed and 'preserve_digests' in refused.msg
    assert blob_writes(registry) == []


def test_docker_image_into_oci_layout_is_converted_like_skopeo(registry, tmp_path):
    img = build_image(tmp_path / 'src', 'v1', media='docker')
    ref = 'docker://' + registry.ref('fmt/docker', 'v1')
    skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), img.to_dir(tmp_path / 'd'), ref)
    ours = copy(ref, 'oci:%s:x' % (tmp_path / 'ours'), registry)
    assert not ours.failed, ours.msg
    skopeo('copy', '--quiet', *registry.skopeo_flags('src'), ref, 'oci:%s:x' % (tmp_path / 'theirs'))
    assert ours.result['digest'] == skopeo_inspect('oci:%s:x' % (tmp_path / 'theirs'))['Digest']
    assert copy(ref, 'oci:%s:x' % (tmp_path / 'ours'), registry).result['changed'] is False


def test_docker_archive_with_additional_tags(image, tmp_path):
    archive = tmp_path / 'app.tar'
    dest = 'docker-archive:%s:example.com/app:v1' % archive
    result = copy(image.oci_ref, dest, additional_tags=['example.com/app:latest', 'other/app:2'])
    assert not result.failed, result.msg
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile('manifest.json'))
    assert manifest[0]['RepoTags'] == ['example.com/app:v1', 'example.com/app:latest', 'docker.io/other/app:2']
    theirs = skopeo_inspect('docker-archive:%s' % archive)
    assert theirs['Layers'] and len(theirs['Layers']) == 2
    peer_config = json.loads(skopeo('inspect', '--config', 'docker-archive:%s' % archive).stdout)
    assert peer_config['rootfs']['diff_ids'] == image.diff_ids
    again = copy(image.oci_ref, dest, additional_tags=['example.com/app:latest', 'other/app:2'])
    assert again.result['changed'] is False, again.result
    wrong = copy(image.oci_ref, 'dir:%s' % (tmp_path / 'd'), additional_tags=['a:b'])
    assert wrong.failed and 'additional_tags is supported for docker, oci and docker-archive destinations' in wrong.msg
    assert not (tmp_path / 'd').exists()


def test_additional_tags_in_registry_and_layout(image, registry, tmp_path):
    ref = 'docker://' + registry.ref('tags/app', 'v1')
    registry.clear_requests()
    first = copy(image.oci_ref, ref, registry, additional_tags=['latest', 'stable'])
    assert not first.failed, first.msg
    assert [t['changed'] for t in first.result['additional_tags']] == [True, True]
    for name in (registry.ref('tags/app', 'latest'), registry.ref('tags/app', 'stable')):
        assert skopeo_inspect('docker://' + name, *registry.skopeo_flags(''))['Digest'] == image.manifest_digest
    blob_puts = [r for r in registry.requests() if r['method'] == 'PUT' and '/blobs/' in r['path']]
    assert len(blob_puts) == 3  # config and two layers, once for three names
    registry.clear_requests()
    again = copy(image.oci_ref, ref, registry, additional_tags=['latest', 'stable'])
    assert again.result['changed'] is False, again.result
    assert blob_writes(registry) == []
    other_repo = copy(image.oci_ref, ref, registry, additional_tags=['%s/tags/mirror:v1' % registry.host])
    assert other_repo.failed and 'give tags of %s/tags/app, not references' % registry.host in other_repo.msg
    layout = tmp_path / 'layout'
    local = copy(image.oci_ref, 'oci:%s:v1' % layout, additional_tags=['latest'])
    assert not local.failed, local.msg
    assert skopeo_inspect('oci:%s:latest' % layout)['Digest'] == image.manifest_digest
    assert copy(image.oci_ref, 'oci:%s:v1' % layout, additional_tags=['latest']).result['changed'] is False


@pytest.mark.parametrize('transport', ['oci-archive', 'dir'])
def test_archive_and_dir_round_trip(transport, image, tmp_path):
    target = tmp_path / 'out'
    dest = '%s:%s' % (transport, target) + (':v1' if transport == 'oci-archive' else '')
    extra = {'dest_decompress': True} if transport == 'dir' else {}
    out = copy(image.oci_ref, dest, **extra)
    assert not out.failed, out.msg
    assert skopeo_inspect(dest)['Digest'] == out.result['digest']
    back = copy(dest, 'oci:%s:back' % (tmp_path / 'back'))
    assert not back.failed, back.msg
    config = json.loads(skopeo('inspect', '--config', 'oci:%s:back' % (tmp_path / 'back')).stdout)
    assert config['rootfs']['diff_ids'] == image.diff_ids
    assert copy(image.oci_ref, dest, **extra).result['changed'] is False


def test_platform_subset_and_index_conversion(registry, tmp_path):
    index = build_index(tmp_path / 'idx', 'multi', platforms=[('linux', 'amd64', None), ('linux', 'arm64', 'v8'), ('linux', 'arm', 'v7')])
    ref = 'docker://' + registry.ref('plat/subset', 'm')
    sub = copy(index.oci_ref, ref, registry, platforms=['linux/arm64/v8', 'linux/amd64'])
    assert not sub.failed, sub.msg
    assert sub.result['index_digest_kept'] is False
    raw = json.loads(skopeo('inspect', '--raw', *registry.skopeo_flags(''), ref).stdout)
    assert sorted('%s/%s' % (m['platform']['os'], m['platform']['architecture']) for m in raw['manifests']) == ['linux/amd64', 'linux/arm64']
    assert sub.result['digest'] == skopeo_inspect(ref, *registry.skopeo_flags(''))['Digest']
    assert copy(index.oci_ref, ref, registry, platforms=['linux/arm64/v8', 'linux/amd64']).result['changed'] is False
    missing = copy(index.oci_ref, ref, registry, platforms=['linux/s390x'])
    assert missing.failed and 'platform linux/s390x is not in the index' in missing.msg

    listed = 'docker://' + registry.ref('plat/list', 'm')
    as_list = copy(index.oci_ref, listed, registry, multi_arch='all', format='v2s2')
    assert not as_list.failed, as_list.msg
    raw = json.loads(skopeo('inspect', '--raw', *registry.skopeo_flags(''), listed).stdout)
    assert raw['mediaType'] == 'application/vnd.docker.distribution.manifest.list.v2+json'
    theirs = 'docker://' + registry.ref('plat/list-peer', 'm')
    skopeo('copy', '--quiet', '--all', '--format', 'v2s2', *registry.skopeo_flags('dest'), index.oci_ref, theirs)
    assert as_list.result['digest'] == skopeo_inspect(theirs, *registry.skopeo_flags(''))['Digest']


def test_shared_blob_dir_is_skopeo_compatible(image, tmp_path):
    shared = tmp_path / 'shared'
    for name in ('a', 'b'):
        result = copy(image.oci_ref, 'oci:%s:v1' % (tmp_path / name), dest_shared_blob_dir=str(shared))
        assert not result.failed, result.msg
        assert not (tmp_path / name / 'blobs').exists() or not any((tmp_path / name / 'blobs').rglob('*'))
    for digest in image.blob_digests:
        algorithm, hexpart = digest.split(':')
        assert (shared / algorithm / hexpart).read_bytes() == image.blob_path(digest).read_bytes()
    theirs = skopeo('inspect', '--shared-blob-dir', str(shared), 'oci:%s:v1' % (tmp_path / 'a'), check=False)
    assert theirs.returncode == 0, theirs.stderr
    assert json.loads(theirs.stdout)['Digest'] == image.manifest_digest
    back = copy('oci:%s:v1' % (tmp_path / 'b'), 'oci:%s:v1' % (tmp_path / 'plain'), src_shared_blob_dir=str(shared))
    assert not back.failed, back.msg
    assert back.result['digest'] == image.manifest_digest


@pytest.fixture(scope='module')
def schema1_registry(tmp_path_factory):
    from ocikit_testbed import Registry

    with Registry(tmp_path_factory.mktemp('reg-s1'), tls=True, auth='htpasswd', schema1=True) as reg:
        yield reg


def test_schema1_read_converted_like_skopeo_and_written(schema1_registry, tmp_path):
    reg = schema1_registry
    img = build_image(tmp_path / 'src', 'v1', media='docker', layers=[LayerSpec(size=40_000), LayerSpec(size=8_000)], labels={'s': '1'})
    old = 'docker://' + reg.ref('s1/app', 'v1')
    skopeo('copy', '--quiet', '--format', 'v2s1', *reg.skopeo_flags('dest'), img.to_dir(tmp_path / 'd'), old)
    # Read schema1, convert to schema2 (the registry destination's choice with format v2s2) like skopeo.
    ours = 'docker://' + reg.ref('s1/ours', 'v1')
    theirs = 'docker://' + reg.ref('s1/theirs', 'v1')
    result = copy(old, ours, reg, format='v2s2')
    assert not result.failed, result.msg
    skopeo('copy', '--quiet', '--format', 'v2s2', *reg.skopeo_flags('src'), *reg.skopeo_flags('dest'), old, theirs)
    assert result.result['digest'] == skopeo_inspect(theirs, *reg.skopeo_flags(''))['Digest']
    config = json.loads(skopeo('inspect', '--config', *reg.skopeo_flags(''), ours).stdout)
    assert config['rootfs']['diff_ids'] == img.diff_ids
    reg.clear_requests()
    again = copy(old, ours, reg, format='v2s2')
    assert again.result['changed'] is False, again.result
    assert blob_writes(reg) == []
    # Into an OCI layout (converted), and kept as schema1 in a dir.
    layout = copy(old, 'oci:%s:v1' % (tmp_path / 'l'), reg)
    assert not layout.failed, layout.msg
    skopeo('copy', '--quiet', *reg.skopeo_flags('src'), old, 'oci:%s:v1' % (tmp_path / 'peer'))
    assert layout.result['digest'] == skopeo_inspect('oci:%s:v1' % (tmp_path / 'peer'))['Digest']
    kept = copy(old, 'dir:%s' % (tmp_path / 'dir'), reg)
    assert not kept.failed, kept.msg
    assert kept.result['digest'] == skopeo_inspect(old, *reg.skopeo_flags(''))['Digest']
    # Write schema1: OCI source, format v2s1, into the schema1-enabled registry; skopeo reads it.
    v1 = 'docker://' + reg.ref('s1/written', 'v1')
    written = copy(img.to_dir(tmp_path / 'd2'), v1, reg, format='v2s1')
    assert not written.failed, written.msg
    assert json.loads(skopeo('inspect', '--raw', *reg.skopeo_flags(''), v1).stdout)['schemaVersion'] == 1
    assert skopeo_inspect(v1, *reg.skopeo_flags(''))['Digest'] == written.result['digest']


def test_registry_refusing_schema1_gets_schema2_like_skopeo(schema1_registry, registry, tmp_path):
    img = build_image(tmp_path / 'src', 'v1', media='docker', layers=[LayerSpec(size=20_000)])
    old = 'docker://' + schema1_registry.ref('s1/fallback', 'v1')
    skopeo('copy', '--quiet', '--format', 'v2s1', *schema1_registry.skopeo_flags('dest'), img.to_dir(tmp_path / 'd'), old)
    ours = 'docker://' + registry.ref('fallback/ours', 'v1')
    args = dict(creds(registry), src=old, dest=ours, src_cert_dir=str(schema1_registry.cert_dir))
    result = run_module('image_copy', args)
    assert not result.failed, result.msg
    theirs = 'docker://' + registry.ref('fallback/theirs', 'v1')
    # skopeo 1.9.3 gives up on the registry's 500 for schema1; told the format, it converts as we did.
    assert skopeo('copy', '--quiet', *schema1_registry.skopeo_flags('src'), *registry.skopeo_flags('dest'), old, theirs, check=False).returncode != 0
    skopeo('copy', '--quiet', '--format', 'v2s2', *schema1_registry.skopeo_flags('src'), *registry.skopeo_flags('dest'), old, theirs)
    peer = skopeo_inspect(theirs, *registry.skopeo_flags(''))['Digest']
    assert result.result['digest'] == peer
    assert json.loads(skopeo('inspect', '--raw', *registry.skopeo_flags(''), ours).stdout)['schemaVersion'] == 2


def test_signatures_travel_or_are_removed_explicitly(image, registry, tmp_path):
    signed = tmp_path / 'signed'
    skopeo('copy', '--quiet', image.oci_ref, 'dir:%s' % signed)
    # OpenPGP-looking bytes (high bit set), which skopeo classifies as simple signing; nothing verifies them here.
    (signed / 'signature-1').write_bytes(b'\x89first signature bytes')
    (signed / 'signature-2').write_bytes(b'\x89second signature bytes')
    out = tmp_path / 'out'
    kept = copy('dir:%s' % signed, 'dir:%s' % out)
    assert not kept.failed, kept.msg
    assert (out / 'signature-1').read_bytes() == b'\x89first signature bytes'
    assert (out / 'signature-2').read_bytes() == b'\x89second signature bytes'
    assert copy('dir:%s' % signed, 'dir:%s' % out).result['changed'] is False
    # skopeo copies the same signatures from what we wrote.
    skopeo('copy', '--quiet', 'dir:%s' % out, 'dir:%s' % (tmp_path / 'peer'))
    assert (tmp_path / 'peer' / 'signature-2').read_bytes() == b'\x89second signature bytes'

    # A registry keeps simple signatures in its registries.d write lookaside; an http(s) one without
    # lookaside-staging cannot be written, so the copy fails before writing. (Without registries.d
    # the default lookaside under /var/lib/containers would be written: kept out of the tests.)
    registries_d = tmp_path / 'registries.d'
    registries_d.mkdir()
    (registries_d / 'default.yaml').write_text('default-docker:\n  lookaside: https://lookaside.invalid/sigstore\n')
    refused = copy('dir:%s' % signed, 'docker://' + registry.ref('sig/app', 'v1'), registry, registries_d=str(registries_d))
    assert refused.failed and 'the source has 2 signatures and the destination cannot store signatures' in refused.msg
    converted = copy('dir:%s' % signed, 'dir:%s' % (tmp_path / 'v2s2'), format='v2s2')
    assert converted.failed and 'would invalidate by changing the manifest' in converted.msg
    assert not (tmp_path / 'v2s2').exists()
    pushed = copy('dir:%s' % signed, 'docker://' + registry.ref('sig/app', 'v1'), registry, remove_signatures=True,
                  registries_d=str(registries_d))
    assert not pushed.failed, pushed.msg

    stripped = copy('dir:%s' % signed, 'dir:%s' % out, remove_signatures=True)
    assert stripped.result['changed'] is True
    assert not (out / 'signature-1').exists()
    assert copy('dir:%s' % signed, 'dir:%s' % out, remove_signatures=True).result['changed'] is False


def test_uncompressed_layers_in_oci_layouts_only_when_accepted(tmp_path):
    img = build_image(tmp_path / 'src', 'v1', layers=[LayerSpec(size=50_000, compression=None)])
    compressed = copy(img.oci_ref, 'oci:%s:v1' % (tmp_path / 'a'))
    assert not compressed.failed, compressed.msg
    manifest = json.loads(skopeo('inspect', '--raw', 'oci:%s:v1' % (tmp_path / 'a')).stdout)
    assert manifest['layers'][0]['mediaType'] == 'application/vnd.oci.image.layer.v1.tar+gzip'
    config = json.loads(skopeo('inspect', '--config', 'oci:%s:v1' % (tmp_path / 'a')).stdout)
    assert config['rootfs']['diff_ids'] == img.diff_ids
    kept = copy(img.oci_ref, 'oci:%s:v1' % (tmp_path / 'b'), dest_oci_accept_uncompressed_layers=True)
    assert kept.result['digest'] == img.manifest_digest
    assert copy(img.oci_ref, 'oci:%s:v1' % (tmp_path / 'a')).result['changed'] is False


def test_zstd_image_into_docker_archive_is_decompressed(tmp_path):
    img = build_image(tmp_path / 'src', 'v1', layers=[LayerSpec(size=40_000, compression='zstd')])
    archive = tmp_path / 'app.tar'
    result = copy(img.oci_ref, 'docker-archive:%s:app:v1' % archive)
    assert not result.failed, result.msg
    config = json.loads(skopeo('inspect', '--config', 'docker-archive:%s' % archive).stdout)
    assert config['rootfs']['diff_ids'] == img.diff_ids
    assert copy(img.oci_ref, 'docker-archive:%s:app:v1' % archive).result['changed'] is False


def test_index_recompressed_is_compared_per_platform(registry, tmp_path):
    index = build_index(tmp_path / 'idx', 'multi', platforms=[('linux', 'amd64', None), ('linux', 'arm64', 'v8')])
    ref = 'docker://' + registry.ref('zidx/app', 'm')
    first = copy(index.oci_ref, ref, registry, multi_arch='all', dest_compress_format='zstd')
    assert not first.failed, first.msg
    assert first.result['rule'] == 'content' and first.result['index_digest_kept'] is False
    raw = json.loads(skopeo('inspect', '--raw', *registry.skopeo_flags(''), ref).stdout)
    for child in raw['manifests']:
        manifest = json.loads(skopeo('inspect', '--raw', *registry.skopeo_flags(''),
                                     'docker://' + registry.ref('zidx/app', child['digest'])).stdout)
        assert {layer['mediaType'] for layer in manifest['layers']} == {'application/vnd.oci.image.layer.v1.tar+zstd'}
    registry.clear_requests()
    again = copy(index.oci_ref, ref, registry, multi_arch='all', dest_compress_format='zstd')
    assert again.result['changed'] is False, again.result
    assert blob_writes(registry) == []
    assert again.result['digest'] == first.result['digest']
