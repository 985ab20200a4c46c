# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Signatures in an OCI layout (ocikit's convention, .ocikit/signatures/<algo>=<hex>/signature-N).

Round trips through the destination and the source, replacement and removal, what a killed run
leaves, hostile files refused by name, garbage collection by image_delete, the copy engine's
idempotence, and skopeo/umoci reading the layout exactly as before.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.delete import delete_image
from ansible_collections.ocikit.images.plugins.module_utils.digest import Digest
from ansible_collections.ocikit.images.plugins.module_utils.errors import InvalidInputError, LayoutError
from ansible_collections.ocikit.images.plugins.module_utils.fsutil import STALE_AFTER
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.dir.transport import DirTransport
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.destination import OCILayoutDestination
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.layout import TEMP_PREFIX, Layout
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.signatures import (
    MAX_SIGNATURE_SIZE,
    LayoutSignatures,
    manifest_digests,
)
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.source import OCILayoutSource
from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout.transport import OCILayoutTransport
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.oci_archive.archive_test_images import (
    SKOPEO,
    Image,
    make_image,
    make_index,
    put_image,
    run,
    snapshot,
)

OPTIONS = ConnectionOptions()
# OpenPGP-looking bytes (a compressed-data packet tag) and a sigstore blob: stored as given, whatever the format.
GPG_SIG = b'\xa3\x01gpg signature one'
GPG_SIG_2 = b'\xa3\x01gpg signature two'
SIGSTORE_SIG = b'\x00sigstore-json\n' + json.dumps(
    {'mimeType': 'application/vnd.dev.cosign.simplesigning.v1+json', 'payload': 'e30=', 'annotations': {}}).encode()


def destination(details: str) -> OCILayoutDestination:
    dest = OCILayoutTransport().parse_reference(details).new_destination(OPTIONS)
    assert isinstance(dest, OCILayoutDestination)
    return dest


def source(details: str) -> OCILayoutSource:
    src = OCILayoutTransport().parse_reference(details).new_source(OPTIONS)
    assert isinstance(src, OCILayoutSource)
    return src


def write_signed(details: str, image: Image, signatures: t.Sequence[bytes] | None, media_type: str | None = None,
                 raw: bytes | None = None) -> None:
    """Write ``image`` (or the manifest ``raw``) with ``signatures`` (None: put_signatures is not called)."""
    dest = destination(details)
    try:
        put_image(dest, image, commit=False, close=False)
        if raw is not None:
            dest.put_manifest(raw, media_type or mt.OCI_INDEX)
        if signatures is not None:
            dest.put_signatures(signatures)
        dest.commit()
    finally:
        dest.close()


def signature_dir(layout: t.Any, digest: Digest) -> str:
    return os.path.join(str(layout), '.ocikit', 'signatures', '%s=%s' % (digest.algorithm, digest.hex))


def stored(layout: t.Any, digest: Digest) -> list[str]:
    path = signature_dir(layout, digest)
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def index_entries(layout: t.Any) -> list[dict[str, t.Any]]:
    with open(os.path.join(str(layout), 'index.json'), 'rb') as handle:
        return json.load(handle)['manifests']


# -- round trip, replace, remove -------------------------------------------------------------------------

def test_put_then_get_round_trip(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image([b'signed'])
    write_signed('%s:v1' % layout, image, [GPG_SIG, SIGSTORE_SIG])
    directory = signature_dir(layout, image.digest)
    assert sorted(os.listdir(directory)) == ['signature-1', 'signature-2']
    with open(os.path.join(directory, 'signature-1'), 'rb') as handle:
        assert handle.read() == GPG_SIG
    with open(os.path.join(directory, 'signature-2'), 'rb') as handle:
        assert handle.read() == SIGSTORE_SIG
    # index.json gains no entry: other tools see the layout they saw before.
    assert [entry['digest'] for entry in index_entries(layout)] == [str(image.digest)]
    assert sorted(os.listdir(layout)) == ['.index.json.lock', '.ocikit', 'blobs', 'index.json', 'oci-layout']
    with source('%s:v1' % layout) as src:
        assert src.get_signatures() == [GPG_SIG, SIGSTORE_SIG]
        assert src.get_signatures(Digest.from_bytes(b'another manifest')) == []
    with source('%s@%s' % (layout, image.digest)) as src:
        assert src.get_signatures() == [GPG_SIG, SIGSTORE_SIG]
    dest = destination('%s:v1' % layout)
    assert dest.get_signatures() == [GPG_SIG, SIGSTORE_SIG]
    assert destination('%s:other' % layout).get_signatures() == []
    # The new directory and files have the usual permissions (not mkdtemp's 0700).
    assert os.stat(directory).st_mode & 0o777 == 0o755 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_replace_remove_and_leave_alone(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image([b'signed'])
    write_signed('%s:v1' % layout, image, [GPG_SIG, GPG_SIG_2])
    write_signed('%s:v1' % layout, image, [SIGSTORE_SIG])
    assert stored(layout, image.digest) == ['signature-1']
    with source('%s:v1' % layout) as src:
        assert src.get_signatures() == [SIGSTORE_SIG]
    # A copy that gives no signatures (None) leaves the digest's alone.
    write_signed('%s:v1' % layout, image, None)
    assert destination('%s:v1' % layout).get_signatures() == [SIGSTORE_SIG]
    # An empty list removes them; the (then empty) parent directories may stay.
    write_signed('%s:v1' % layout, image, [])
    assert not os.path.exists(signature_dir(layout, image.digest))
    with source('%s:v1' % layout) as src:
        assert src.get_signatures() == []
    assert not [name for name in os.listdir(layout / '.ocikit' / 'signatures') if name.startswith(TEMP_PREFIX)]


def test_put_signatures_before_the_manifest_is_refused(tmp_path) -> None:
    dest = destination('%s:v1' % (tmp_path / 'layout'))
    with pytest.raises(LayoutError, match='^cannot store signatures in oci:.*:v1 before its manifest$'):
        dest.put_signatures([GPG_SIG])
    dest.close()


def test_two_names_share_a_digest_s_signatures(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image([b'shared'])
    write_signed('%s:a' % layout, image, [GPG_SIG])
    write_signed('%s:b' % layout, image, None)
    with source('%s:b' % layout) as src:
        assert src.get_signatures() == [GPG_SIG]


# -- what a failed or killed run leaves --------------------------------------------------------------------

def test_nothing_is_written_before_commit(tmp_path) -> None:
    layout = tmp_path / 'layout'
    old = make_image([b'old'])
    write_signed('%s:v1' % layout, old, [GPG_SIG])
    before = snapshot(layout)
    new = make_image([b'new'])
    dest = destination('%s:v1' % layout)
    put_image(dest, new, commit=False, close=False)
    dest.put_signatures([GPG_SIG_2])
    # Killed here (no commit, no close): the signatures are only in memory.
    assert not os.path.exists(signature_dir(layout, new.digest))
    dest.close()
    after = snapshot(layout)
    assert {key: value for key, value in after.items() if not key.startswith('blobs/')} == \
        {key: value for key, value in before.items() if not key.startswith('blobs/')}


class Killed(BaseException):
    """Stands for SIGKILL between two steps of a commit (nothing after it runs)."""


def test_killed_between_signatures_and_index_leaves_them_to_the_next_commit(tmp_path, monkeypatch) -> None:
    layout = tmp_path / 'layout'
    old, new = make_image([b'old']), make_image([b'new'])
    write_signed('%s:v1' % layout, old, [GPG_SIG])

    def killed(self: Layout, index: t.Any) -> None:
        raise Killed()

    with monkeypatch.context() as patch:
        patch.setattr(Layout, 'write_index', killed)
        with pytest.raises(Killed):
            write_signed('%s:v1' % layout, new, [GPG_SIG_2])
    # The new digest's signatures are there, but no name selects it: the tag still reads the old image and its signatures.
    assert stored(layout, new.digest) == ['signature-1']
    with source('%s:v1' % layout) as src:
        assert src.descriptor().digest == old.digest
        assert src.get_signatures() == [GPG_SIG]
    # The next commit, of any image, removes signatures whose digest index.json does not reach.
    write_signed('%s:v2' % layout, make_image([b'other']), None)
    assert not os.path.exists(signature_dir(layout, new.digest))
    assert stored(layout, old.digest) == ['signature-1']


def _write_and_die(details: str, image: Image, signatures: t.Sequence[bytes], where: str) -> None:
    """In a forked child: write ``image`` with ``signatures`` and SIGKILL itself at ``where`` (no finally, no close)."""
    from ansible_collections.ocikit.images.plugins.module_utils.transports.oci_layout import signatures as module

    def die(*args: t.Any, **kwargs: t.Any) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    if where == 'index':
        Layout.write_index = die  # type: ignore[method-assign]
    else:
        real = module._write_new_file  # pylint: disable=protected-access

        def second_file_dies(path: str, data: bytes) -> None:
            if path.endswith('signature-2'):
                die()
            real(path, data)

        module._write_new_file = second_file_dies  # pylint: disable=protected-access
    write_signed(details, image, signatures)


@pytest.mark.parametrize('where', ['index', 'staging'])
def test_sigkill_during_commit(tmp_path, where) -> None:
    layout = tmp_path / 'layout'
    old, new = make_image([b'old']), make_image([b'new'])
    write_signed('%s:v1' % layout, old, [GPG_SIG])
    child = multiprocessing.get_context('fork').Process(target=_write_and_die, args=('%s:v1' % layout, new, [GPG_SIG, GPG_SIG_2], where))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    # The name still selects the old image and its signatures, for us and for skopeo.
    with source('%s:v1' % layout) as src:
        assert src.descriptor().digest == old.digest
        assert src.get_signatures() == [GPG_SIG]
    if SKOPEO:
        assert json.loads(run('skopeo', 'inspect', 'oci:%s:v1' % layout).stdout)['Digest'] == str(old.digest)
    base = layout / '.ocikit' / 'signatures'
    temporaries = [name for name in os.listdir(base) if name.startswith(TEMP_PREFIX)]
    if where == 'index':
        # Signatures of a digest no name selects: the next commit removes them.
        assert stored(layout, new.digest) == ['signature-1', 'signature-2'] and temporaries == []
    else:
        # A half-filled staging directory, never under a digest's name; swept once stale (its writer is gone).
        assert not os.path.exists(signature_dir(layout, new.digest)) and len(temporaries) == 1
        stale = os.stat(base / temporaries[0]).st_mtime - STALE_AFTER - 60
        os.utime(base / temporaries[0], (stale, stale))
    write_signed('%s:v2' % layout, make_image([b'other']), [GPG_SIG_2])
    assert sorted(name for name in os.listdir(base)) == sorted(['sha256=' + old.digest.hex, 'sha256=' + make_image([b'other']).digest.hex])
    # And the copy, run again, completes.
    write_signed('%s:v1' % layout, new, [GPG_SIG, GPG_SIG_2])
    with source('%s:v1' % layout) as src:
        assert src.get_signatures() == [GPG_SIG, GPG_SIG_2]


def test_killed_while_staging_leaves_a_temporary_the_next_write_sweeps(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image([b'signed'])
    write_signed('%s:v1' % layout, image, [GPG_SIG])
    base = layout / '.ocikit' / 'signatures'
    leftover = base / (TEMP_PREFIX + 'killed')
    leftover.mkdir()
    (leftover / 'signature-1').write_bytes(GPG_SIG_2)
    old = os.stat(leftover).st_mtime - STALE_AFTER - 60
    os.utime(leftover, (old, old))
    # Readers never take it for a digest's signatures.
    assert LayoutSignatures(str(layout)).digests() == [image.digest]
    write_signed('%s:v1' % layout, image, [GPG_SIG_2])
    assert not leftover.exists()
    assert stored(layout, image.digest) == ['signature-1']


def test_layout_sweep_and_gc_leave_ocikit_alone(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image([b'signed'])
    write_signed('%s:v1' % layout, image, [GPG_SIG])
    old = os.stat(layout).st_mtime - STALE_AFTER - 60
    for path in (layout / '.ocikit', layout / '.ocikit' / 'signatures', signature_dir(layout, image.digest)):
        os.utime(path, (old, old))
    assert Layout(str(layout)).sweep_temps() == []
    # A delete of another name collects blobs, not the signatures of an image still named.
    write_signed('%s:v2' % layout, make_image([b'other']), None)
    deleted = delete_image(OCILayoutTransport().parse_reference('%s:v2' % layout), OPTIONS)
    assert deleted.changed and deleted.deleted_blobs
    assert stored(layout, image.digest) == ['signature-1']


# -- hostile layouts ---------------------------------------------------------------------------------------

def _fifo(path: t.Any) -> None:
    os.mkfifo(str(path))


@pytest.mark.parametrize('case, message', [
    ('metadata-symlink', r'^signature directory .*/\.ocikit is a symbolic link; refusing to follow it$'),
    ('signatures-file', r'^signature directory .*/\.ocikit/signatures is not a directory$'),
    ('digest-symlink', r'^signature directory .*/\.ocikit/signatures/sha256=[0-9a-f]{64} is a symbolic link; refusing to follow it$'),
    ('signature-symlink', r'^signature .*/signature-1 is a symbolic link; signatures in an OCI layout are regular files$'),
    ('signature-fifo', r'^signature .*/signature-1 is not a regular file \(a FIFO\)$'),
    ('signature-directory', r'^signature .*/signature-1 is not a regular file \(a directory\)$'),
    ('signature-oversize', r'^signature .*/signature-1 exceeds the 4194304 byte limit$'),
])
def test_hostile_signature_files_are_refused_by_name(tmp_path, case, message) -> None:
    layout = tmp_path / 'layout'
    image = make_image([b'hostile'])
    write_signed('%s:v1' % layout, image, None)
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'signature-1').write_bytes(b'secret')
    base = layout / '.ocikit' / 'signatures'
    directory = base / ('sha256=' + image.digest.hex)
    if case == 'metadata-symlink':
        (layout / '.ocikit').symlink_to(outside)
    elif case == 'signatures-file':
        (layout / '.ocikit').mkdir()
        base.write_bytes(b'')
    elif case == 'digest-symlink':
        base.mkdir(parents=True)
        directory.symlink_to(outside)
    else:
        directory.mkdir(parents=True)
        target = directory / 'signature-1'
        if case == 'signature-symlink':
            target.symlink_to(outside / 'signature-1')
        elif case == 'signature-fifo':
            _fifo(target)
        elif case == 'signature-directory':
            target.mkdir()
        else:
            target.write_bytes(b'\xa3' * (MAX_SIGNATURE_SIZE + 1))
    with source('%s:v1' % layout) as src:
        with pytest.raises(LayoutError, match=message):
            src.get_signatures()
    with pytest.raises(LayoutError, match=message):
        destination('%s:v1' % layout).get_signatures()
    assert (outside / 'signature-1').read_bytes() == b'secret'


@pytest.mark.parametrize('case', ['metadata-symlink', 'digest-symlink', 'digest-file'])
def test_writing_through_a_hostile_signature_directory_fails_before_the_index_changes(tmp_path, case) -> None:
    layout = tmp_path / 'layout'
    old, new = make_image([b'old']), make_image([b'new'])
    write_signed('%s:v1' % layout, old, None)
    outside = tmp_path / 'outside'
    outside.mkdir()
    base = layout / '.ocikit' / 'signatures'
    if case == 'metadata-symlink':
        (layout / '.ocikit').symlink_to(outside)
    else:
        base.mkdir(parents=True)
        if case == 'digest-symlink':
            (base / ('sha256=' + new.digest.hex)).symlink_to(outside)
        else:
            (base / ('sha256=' + new.digest.hex)).write_bytes(b'')
    index_before = index_entries(layout)
    with pytest.raises(LayoutError, match=r'^signature directory .* (is a symbolic link; refusing to follow it|is not a directory)$'):
        write_signed('%s:v1' % layout, new, [GPG_SIG])
    assert index_entries(layout) == index_before
    assert os.listdir(outside) == []


def test_more_than_128_signatures_are_refused(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image([b'many'])
    with pytest.raises(LayoutError, match='^cannot store 129 signatures of sha256:.* in OCI layout .*: at most 128 are read back$'):
        write_signed('%s:v1' % layout, image, [GPG_SIG] * 129)
    assert index_entries(layout) == []
    write_signed('%s:v1' % layout, image, None)
    directory = signature_dir(layout, image.digest)
    os.makedirs(directory)
    for number in range(1, 130):
        with open(os.path.join(directory, 'signature-%d' % number), 'wb') as handle:
            handle.write(GPG_SIG)
    with source('%s:v1' % layout) as src:
        with pytest.raises(LayoutError, match=r'^.*/sha256=[0-9a-f]{64} holds more than 128 signatures$'):
            src.get_signatures()


# -- garbage collection ------------------------------------------------------------------------------------

def _delete(details: str) -> t.Any:
    return delete_image(OCILayoutTransport().parse_reference(details), OPTIONS)


def test_delete_removes_signatures_with_the_last_name(tmp_path) -> None:
    layout = tmp_path / 'layout'
    first, second = make_image([b'first']), make_image([b'second'])
    write_signed('%s:a1' % layout, first, [GPG_SIG])
    write_signed('%s:a2' % layout, first, None)
    write_signed('%s:b' % layout, second, [GPG_SIG_2])
    assert _delete('%s:a1' % layout).changed
    assert stored(layout, first.digest) == ['signature-1']
    check = delete_image(OCILayoutTransport().parse_reference('%s:a2' % layout), OPTIONS, check_mode=True)
    assert check.changed and stored(layout, first.digest) == ['signature-1']
    assert _delete('%s:a2' % layout).changed
    assert not os.path.exists(signature_dir(layout, first.digest))
    assert stored(layout, second.digest) == ['signature-1']
    with source('%s:b' % layout) as src:
        assert src.get_signatures() == [GPG_SIG_2]


def test_signatures_of_an_index_child_stay_while_the_index_is_named(tmp_path) -> None:
    layout = tmp_path / 'layout'
    child, other = make_image([b'child']), make_image([b'other'])
    write_signed('%s:single' % layout, child, [GPG_SIG])
    index_raw = make_index(child, other)
    dest = destination('%s:multi' % layout)
    try:
        put_image(dest, other, commit=False, close=False)
        dest.put_manifest(child.manifest, child.media_type, child.digest)
        dest.put_manifest(other.manifest, other.media_type, other.digest)
        dest.put_manifest(index_raw, mt.OCI_INDEX)
        dest.put_signatures([SIGSTORE_SIG])
        dest.commit()
    finally:
        dest.close()
    assert manifest_digests(Layout(str(layout)), index_entries(layout)) == {str(child.digest), str(other.digest),
                                                                            str(Digest.from_bytes(index_raw))}
    assert _delete('%s:single' % layout).changed
    # The child is still reached through the index: its signatures stay, and read by digest.
    assert stored(layout, child.digest) == ['signature-1']
    with source('%s:multi' % layout) as src:
        assert src.get_signatures() == [SIGSTORE_SIG]
        assert src.get_signatures(child.digest) == [GPG_SIG]
    assert _delete('%s:multi' % layout).changed
    assert not os.path.exists(layout / '.ocikit' / 'signatures') or os.listdir(layout / '.ocikit' / 'signatures') == []


def test_retag_removes_the_replaced_image_s_signatures_only_when_unreached(tmp_path) -> None:
    layout = tmp_path / 'layout'
    old, new = make_image([b'old']), make_image([b'new'])
    write_signed('%s:v1' % layout, old, [GPG_SIG])
    write_signed('%s:keep' % layout, old, None)
    write_signed('%s:v1' % layout, new, [GPG_SIG_2])
    assert stored(layout, old.digest) == ['signature-1']
    assert _delete('%s:keep' % layout).changed
    assert not os.path.exists(signature_dir(layout, old.digest))
    write_signed('%s:v1' % layout, old, None)
    # v1 moved away from new: no name reaches it, and its signatures went with the commit.
    assert not os.path.exists(signature_dir(layout, new.digest))


def test_unreadable_index_keeps_every_signature(tmp_path) -> None:
    layout = tmp_path / 'layout'
    child, stray = make_image([b'child']), make_image([b'stray'])
    index_raw = make_index(child)
    write_signed('%s:multi' % layout, child, None, raw=index_raw)
    os.unlink(os.path.join(str(layout), 'blobs', 'sha256', Digest.from_bytes(index_raw).hex))
    with Layout(str(layout)).lock():
        LayoutSignatures(str(layout)).replace(stray.digest, [GPG_SIG])
    write_signed('%s:other' % layout, make_image([b'other']), None)
    # What the index reaches cannot be known: nothing is removed.
    assert stored(layout, stray.digest) == ['signature-1']


def test_delete_with_a_hostile_signature_directory_warns(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image([b'gone'])
    write_signed('%s:v1' % layout, image, None)
    (tmp_path / 'outside').mkdir()
    (layout / '.ocikit').symlink_to(tmp_path / 'outside')
    result = _delete('%s:v1' % layout)
    assert result.changed and index_entries(layout) == []
    assert result.warnings == ['the signatures of the deleted image were not removed: signature directory %s is a symbolic link; '
                               'refusing to follow it' % (layout / '.ocikit')]


# -- through the copy engine --------------------------------------------------------------------------------

def _signed_dir(tmp_path: t.Any, image: Image, signatures: t.Sequence[bytes]) -> t.Any:
    signed = tmp_path / 'signed'
    put_image(DirTransport().parse_reference(str(signed)).new_destination(OPTIONS), image)
    for number, data in enumerate(signatures, start=1):
        (signed / ('signature-%d' % number)).write_bytes(data)
    return signed


def test_copy_engine_carries_signatures_into_a_layout_idempotently(tmp_path) -> None:
    image = make_image([b'engine'])
    signed = _signed_dir(tmp_path, image, [GPG_SIG, SIGSTORE_SIG])
    src_ref = DirTransport().parse_reference(str(signed))
    dest_ref = OCILayoutTransport().parse_reference('%s:v1' % (tmp_path / 'out'))
    first = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions())
    assert first.changed
    assert stored(tmp_path / 'out', image.digest) == ['signature-1', 'signature-2']
    before = snapshot(tmp_path / 'out')
    second = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions())
    assert not second.changed
    assert snapshot(tmp_path / 'out') == before
    # One signature fewer at the source: the copy is not up to date any more, and the set is replaced.
    os.unlink(str(signed / 'signature-2'))
    third = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions())
    assert third.changed and third.plan.reason == 'the destination holds the image but not its 1 signature'
    assert stored(tmp_path / 'out', image.digest) == ['signature-1']
    # And out of the layout again, into dir:, byte for byte.
    back = tmp_path / 'back'
    copy_image(dest_ref, DirTransport().parse_reference(str(back)), OPTIONS, OPTIONS, CopyOptions())
    assert (back / 'signature-1').read_bytes() == GPG_SIG
    removed = copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions(remove_signatures=True))
    assert removed.changed and removed.plan.reason == 'remove_signatures: the destination holds signatures to drop'
    assert not os.path.exists(signature_dir(tmp_path / 'out', image.digest))
    assert not copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions(remove_signatures=True)).changed


def test_copy_engine_still_refuses_to_invalidate_signatures(tmp_path) -> None:
    # A Docker schema2 image must be converted to OCI for a layout: its signatures would not apply to the new digest.
    image = make_image([b'engine'], docker=True)
    signed = _signed_dir(tmp_path, image, [GPG_SIG])
    src_ref = DirTransport().parse_reference(str(signed))
    dest_ref = OCILayoutTransport().parse_reference('%s:v1' % (tmp_path / 'out'))
    with pytest.raises(InvalidInputError, match='^the source has 1 signature, which this copy would invalidate by changing the manifest'):
        copy_image(src_ref, dest_ref, OPTIONS, OPTIONS, CopyOptions())
    assert not (tmp_path / 'out').exists()


# -- other tools read the layout as before ----------------------------------------------------------------

@pytest.mark.skipif(not SKOPEO, reason='skopeo is needed')
def test_skopeo_and_umoci_read_a_signed_layout(tmp_path) -> None:
    layout = tmp_path / 'layout'
    image = make_image([b'interop'])
    write_signed('%s:v1' % layout, image, [GPG_SIG])
    inspected = json.loads(run('skopeo', 'inspect', 'oci:%s:v1' % layout).stdout)
    assert inspected['Digest'] == str(image.digest)
    # Without a tag: still one image (no index.json entry was added).
    run('skopeo', 'copy', '--quiet', 'oci:%s' % layout, 'dir:%s' % (tmp_path / 'peer'))
    with open(str(tmp_path / 'peer' / 'manifest.json'), 'rb') as handle:
        assert Digest.from_bytes(handle.read()) == image.digest
    assert not (tmp_path / 'peer' / 'signature-1').exists()
    if shutil.which('umoci'):
        run('umoci', 'gc', '--layout', str(layout))
        run('umoci', 'stat', '--image', '%s:v1' % layout)
        assert stored(layout, image.digest) == ['signature-1']
        with source('%s:v1' % layout) as src:
            assert src.get_signatures() == [GPG_SIG]


# -- signing where the image stands (image_sign action=sign) ----------------------------------------------

@pytest.mark.parametrize('transport', ['oci', 'oci-archive'])
def test_sign_in_place_in_a_layout_and_an_archive(tmp_path, transport) -> None:
    from ansible_collections.ocikit.images.plugins.module_utils.copy.sign_image import sign_in_place
    from ansible_collections.ocikit.images.plugins.module_utils.copy.signing import SignOptions
    from ansible_collections.ocikit.images.plugins.module_utils.signature import sigstore, sigstore_keys
    from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name

    private, public = sigstore_keys.generate_key_pair('pass phrase')
    (tmp_path / 'key.private').write_bytes(private)
    image = make_image([b'sign me'])
    path = tmp_path / ('image.tar' if transport == 'oci-archive' else 'layout')
    ref = parse_image_name('%s:%s:v1' % (transport, path))
    copy_image(DirTransport().parse_reference(str(_signed_dir(tmp_path, image, [GPG_SIG]))), ref, OPTIONS, OPTIONS, CopyOptions())
    sign = SignOptions(sigstore_private_key=str(tmp_path / 'key.private'), passphrase='pass phrase', identity='example.com/app:v1')
    done = sign_in_place(ref, OPTIONS, sign)
    assert done['changed'] and done['signatures'] == 2 and done['digest'] == str(image.digest)
    with ref.new_source(OPTIONS) as src:
        kept, added = src.get_signatures()
    assert kept == GPG_SIG
    verified = sigstore.verify_signature(sigstore.parse_blob(added), image.manifest, public_keys=[sigstore_keys.load_public_key(public)])
    assert verified.identity == 'example.com/app:v1'
    again = sign_in_place(ref, OPTIONS, sign)
    assert not again['changed'] and again['signatures'] == 2


def test_one_image_out_of_an_index_carries_its_own_signatures(tmp_path) -> None:
    # As containers/image (copy/single.go reads the chosen instance's signatures): not the index's.
    amd64, arm64 = make_image([b'amd64\n']), make_image([b'arm64\n'])
    write_signed('%s:t' % (tmp_path / 'src'), amd64, None, raw=make_index(amd64, arm64))
    os.makedirs(signature_dir(tmp_path / 'src', amd64.digest))
    with open(os.path.join(signature_dir(tmp_path / 'src', amd64.digest), 'signature-1'), 'wb') as handle:
        handle.write(GPG_SIG)
    src_ref = OCILayoutTransport().parse_reference('%s:t' % (tmp_path / 'src'))
    out = tmp_path / 'out'
    result = copy_image(src_ref, DirTransport().parse_reference(str(out)), OPTIONS, OPTIONS, CopyOptions(override_arch='amd64'))
    assert (result.changed, result.plan.platform, result.after) == (True, 'linux/amd64', amd64.digest)
    assert (out / 'signature-1').read_bytes() == GPG_SIG
    # The index's own signatures stay with the index: signed alone, it gives the single image nothing to carry.
    os.unlink(os.path.join(signature_dir(tmp_path / 'src', amd64.digest), 'signature-1'))
    index_digest = Digest.from_bytes(make_index(amd64, arm64))
    os.makedirs(signature_dir(tmp_path / 'src', index_digest))
    with open(os.path.join(signature_dir(tmp_path / 'src', index_digest), 'signature-1'), 'wb') as handle:
        handle.write(GPG_SIG_2)
    again = copy_image(src_ref, DirTransport().parse_reference(str(tmp_path / 'out2')), OPTIONS, OPTIONS, CopyOptions(override_arch='amd64'))
    assert again.changed and not (tmp_path / 'out2' / 'signature-1').exists()
