"""Local stores at the module boundary (issue 7): what the unit tests prove, through real module runs and skopeo as the peer."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ocikit_it import run_module, skopeo, skopeo_inspect
from ocikit_testbed import LayerSpec, build_image, build_index


@pytest.fixture(scope='module')
def index(tmp_path_factory: pytest.TempPathFactory):
    return build_index(tmp_path_factory.mktemp('stores-index') / 'src', 'multi', layers=[LayerSpec(size=100_000)])


def copy(src: str, dest: str, **extra):
    return run_module('image_copy', dict(extra, src=src, dest=dest))


@pytest.mark.parametrize('dest', ['oci:{base}/layout:multi', 'dir:{base}/image', 'oci-archive:{base}/image.tar:multi'])
def test_index_only_into_a_local_destination_is_refused(index, tmp_path, dest):
    base = tmp_path / 'out'
    base.mkdir()
    dest = dest.format(base=base)
    transport = dest.split(':', 1)[0]
    for check in (True, False):
        run = run_module('image_copy', {'src': index.oci_ref, 'dest': dest, 'multi_arch': 'index-only'}, check=check)
        assert run.failed
        assert run.msg.endswith('multi_arch: index-only cannot write to a %s: destination: only a registry can hold an index without '
                                'its images, anywhere else the index alone is a broken image; use multi_arch: all (or platforms '
                                'to choose some)' % transport), run.msg
        assert 'Traceback' not in run.stderr
    assert os.listdir(str(base)) == []


@pytest.mark.parametrize('dest', ['oci:{base}/layout:multi', 'dir:{base}/image'])
def test_all_completes_the_sparse_index_skopeo_leaves(index, tmp_path, dest):
    base = tmp_path / 'out'
    base.mkdir()
    dest = dest.format(base=base)
    skopeo('copy', '--quiet', '--multi-arch', 'index-only', index.oci_ref, dest)
    first = copy(index.oci_ref, dest, multi_arch='all')
    assert not first.failed, first.msg
    assert first.result['changed'] is True
    assert first.result['reason'].startswith('the destination holds the index %s but not all its images (' % index.manifest_digest)
    assert first.result['digest'] == index.manifest_digest and first.result['sparse'] is False
    # skopeo now copies every image out of it (it verifies every blob).
    skopeo('copy', '--quiet', '--multi-arch', 'all', dest, 'oci:%s:check' % (tmp_path / 'check'))
    second = copy(index.oci_ref, dest, multi_arch='all')
    assert not second.failed, second.msg
    assert second.result['changed'] is False


def test_v2s1_into_dir_is_idempotent_and_skopeo_agrees(tmp_path):
    image = build_image(tmp_path / 'src', 'v1', media='docker', layers=[LayerSpec(size=50_000)])
    src = image.to_dir(tmp_path / 'srcdir')
    dest = 'dir:%s' % (tmp_path / 'image')
    first = copy(src, dest, format='v2s1')
    assert not first.failed, first.msg
    assert first.result['changed'] is True and first.result['media_type'] == 'application/vnd.docker.distribution.manifest.v1+prettyjws'
    assert skopeo_inspect(dest)['Digest'] == first.result['digest']
    manifest = (tmp_path / 'image' / 'manifest.json').read_bytes()
    second = copy(src, dest, format='v2s1')
    assert not second.failed, second.msg
    assert second.result['changed'] is False
    assert second.result['digest'] == first.result['digest']
    # Not rewritten, so not re-signed.
    assert (tmp_path / 'image' / 'manifest.json').read_bytes() == manifest


def test_dir_destination_never_reuses_a_symlinked_or_corrupt_blob(tmp_path):
    image = build_image(tmp_path / 'src', 'v1', layers=[LayerSpec(size=200_000, compressible=0.1), LayerSpec(size=100_000)])
    dest = tmp_path / 'image'
    assert not copy(image.oci_ref, 'dir:%s' % dest).failed
    first_layer, second_layer = (dest / digest.split(':', 1)[1] for digest in image.layer_digests)
    # A same-size corrupt blob, and a symlink to a file outside holding the right bytes.
    damaged = bytearray(first_layer.read_bytes())
    damaged[100] ^= 0xff
    first_layer.write_bytes(bytes(damaged))
    outside = tmp_path / 'outside'
    outside.write_bytes(second_layer.read_bytes())
    second_layer.unlink()
    second_layer.symlink_to(outside)
    forced = copy(image.oci_ref, 'dir:%s' % dest, force=True)
    assert not forced.failed, forced.msg
    assert forced.result['blobs'] == {'copied': 2, 'skipped': 1, 'mounted': 0}
    assert not first_layer.is_symlink() and not second_layer.is_symlink()
    for digest in image.layer_digests:
        assert (dest / digest.split(':', 1)[1]).read_bytes() == image.blob_path(digest).read_bytes()
    # skopeo reads it back whole.
    skopeo('copy', '--quiet', 'dir:%s' % dest, 'oci:%s:check' % (tmp_path / 'check'))
    assert json.loads(Path(tmp_path / 'check' / 'index.json').read_text())['manifests'][0]['digest'] == image.manifest_digest
