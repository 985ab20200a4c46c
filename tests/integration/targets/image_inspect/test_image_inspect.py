"""image_inspect compared key for key with `skopeo inspect` on the same images."""

from __future__ import annotations

import json

import pytest

from ocikit_it import creds, run_module, skopeo, skopeo_inspect
from ocikit_testbed import LayerSpec, build_image, build_index


def inspect(image: str, reg=None, check: bool = False, **extra):
    args = {'image': image}
    if reg is not None:
        args.update(creds(reg))
    args.update(extra)
    return run_module('image_inspect', args, check=check)


def assert_same_as_skopeo(ours: dict, theirs: dict) -> None:
    # Every key skopeo prints, with the same value; we may print more (LayersData, Tag).
    for key, value in theirs.items():
        assert key in ours, key
        assert ours[key] == value, (key, ours[key], value)


@pytest.mark.parametrize('media', ['oci', 'docker'])
def test_registry_image_matches_skopeo(media, registry, tmp_path):
    img = build_image(tmp_path / 'l', 'v1', media=media, layers=[LayerSpec(size=10_000), LayerSpec(size=20_000)],
                      labels={'a': 'b', 'org.opencontainers.image.title': 'x'}, env={'FOO': 'bar'})
    repo = 'inspect/%s' % media
    src = img.oci_ref if media == 'oci' else img.to_dir(tmp_path / 'dir')
    for tag in ('v1', 'v2', '0.9'):
        skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), src, 'docker://' + registry.ref(repo, tag))
    ours = inspect('docker://' + registry.ref(repo, 'v1'), registry)
    assert not ours.failed, ours.msg
    theirs = skopeo_inspect('docker://' + registry.ref(repo, 'v1'), *registry.skopeo_flags(''))
    assert_same_as_skopeo(ours.result['inspect'], theirs)
    assert ours.result['digest'] == img.manifest_digest
    assert ours.result['inspect']['Labels'] == {'a': 'b', 'org.opencontainers.image.title': 'x'}
    assert ours.result['inspect']['Layers'] == img.layer_digests
    assert ours.result['inspect']['LayersData'][0]['Size'] == img.layer_sizes[0]
    assert ours.result['inspect']['Tag'] == 'v1'
    assert ours.result['changed'] is False
    no_tags = inspect('docker://' + registry.ref(repo, 'v1'), registry, no_tags=True)
    assert no_tags.result['inspect']['RepoTags'] == []


def test_oci_layout_matches_skopeo(tmp_path):
    img = build_image(tmp_path / 'l', 'v1', labels={'k': 'v'})
    ours = inspect(img.oci_ref)
    theirs = skopeo_inspect(img.oci_ref)
    assert_same_as_skopeo(ours.result['inspect'], theirs)
    assert 'Name' not in ours.result['inspect']


def test_raw_and_config_match_skopeo(registry, tmp_path):
    img = build_image(tmp_path / 'l', 'v1', labels={'k': 'v'})
    ref = 'docker://' + registry.ref('inspect/raw', 'v1')
    skopeo('copy', '--quiet', *registry.skopeo_flags('dest'), img.oci_ref, ref)
    raw = inspect(ref, registry, raw=True)
    assert raw.result['manifest'] == json.loads(skopeo('inspect', '--raw', *registry.skopeo_flags(''), ref).stdout)
    config = inspect(ref, registry, config=True)
    assert config.result['config'] == json.loads(skopeo('inspect', '--config', *registry.skopeo_flags(''), ref).stdout)
    raw_config = inspect(ref, registry, config=True, raw=True)
    assert raw_config.result['config'] == img.config()


def test_index_reports_index_digest_and_platform(registry, tmp_path):
    index = build_index(tmp_path / 'idx', 'multi', platforms=[('linux', 'amd64', None), ('linux', 'arm64', 'v8')])
    ref = 'docker://' + registry.ref('inspect/multi', 'multi')
    skopeo('copy', '--quiet', '--all', *registry.skopeo_flags('dest'), index.oci_ref, ref)
    for arch in ('amd64', 'arm64'):
        ours = inspect(ref, registry, override_arch=arch)
        theirs = skopeo_inspect(ref, '--override-arch', arch, *registry.skopeo_flags(''))
        assert_same_as_skopeo(ours.result['inspect'], theirs)
        assert ours.result['digest'] == index.digest
        chosen = [i for i in index.images if i.platform[1] == arch][0]
        assert ours.result['platform_digest'] == chosen.manifest_digest
        assert ours.result['platforms'] == ['linux/amd64', 'linux/arm64/v8']
    missing = inspect(ref, registry, override_arch='s390x')
    assert missing.failed and 'no image for platform linux/s390x' in missing.msg


def test_check_mode_and_missing_image(registry, tmp_path):
    img = build_image(tmp_path / 'l', 'v1')
    assert inspect(img.oci_ref, check=True).result['digest'] == img.manifest_digest
    absent = inspect('docker://' + registry.ref('inspect/none', 'v1'), registry)
    assert absent.failed
    assert absent.msg.startswith('docker://%s: ' % registry.ref('inspect/none', 'v1'))
    assert 'Traceback' not in absent.msg


@pytest.fixture(scope='module')
def schema1_registry(tmp_path_factory):
    from ocikit_testbed import Registry

    with Registry(tmp_path_factory.mktemp('reg-s1'), tls=True, auth='htpasswd', schema1=True) as reg:
        yield reg


def test_schema1_image_matches_skopeo(schema1_registry, tmp_path):
    img = build_image(tmp_path / 'l', 'v1', media='docker', labels={'era': 'schema1'}, env={'A': 'b'})
    ref = 'docker://' + schema1_registry.ref('inspect/s1', 'v1')
    skopeo('copy', '--quiet', '--format', 'v2s1', *schema1_registry.skopeo_flags('dest'), img.to_dir(tmp_path / 'd'), ref)
    raw = json.loads(skopeo('inspect', '--raw', *schema1_registry.skopeo_flags(''), ref).stdout)
    assert raw['schemaVersion'] == 1
    ours = inspect(ref, schema1_registry)
    assert not ours.failed, ours.msg
    theirs = skopeo_inspect(ref, *schema1_registry.skopeo_flags(''))
    assert_same_as_skopeo(ours.result['inspect'], theirs)
    assert ours.result['inspect']['Labels'] == {'era': 'schema1'}


@pytest.mark.parametrize('suffix', [':foo/bar:v1', ':@0', ''])
def test_docker_archive_matches_skopeo(tmp_path, suffix):
    # skopeo 1.9.3 lists tags only in registries: a docker-archive named NAME:TAG has RepoTags [].
    img = build_image(tmp_path / 'l', 'v1', labels={'k': 'v'})
    archive = tmp_path / 'a.tar'
    skopeo('copy', '--quiet', img.oci_ref, 'docker-archive:%s:foo/bar:v1' % archive)
    ref = 'docker-archive:%s%s' % (archive, suffix)
    ours = inspect(ref)
    assert not ours.failed, ours.msg
    theirs = skopeo_inspect(ref)
    assert ours.result['inspect']['RepoTags'] == [] == theirs['RepoTags']
    # Our manifest describes the archive's uncompressed layers as .tar where skopeo says .tar.gzip
    # (docs/README: image_inspect), so the manifest digest and the layer media types differ; the
    # rest is the same.
    for key in ('Digest', 'LayersData'):
        theirs.pop(key, None)
    assert_same_as_skopeo(ours.result['inspect'], theirs)
    assert ours.result['inspect']['Layers'] == theirs['Layers']
