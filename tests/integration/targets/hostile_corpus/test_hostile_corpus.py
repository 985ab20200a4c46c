"""The hostile corpus: input built to break the modules, each run as a real module process.

Every case builds its input in a sandbox, runs one module under an address-space limit and a
timeout, and checks the outcome:

- refused cases: failed, rc 1, a one-line message holding the case's expected text, no
  "unexpected error", no traceback, no ``exception`` key;
- accepted cases (input that looks odd but is legitimate, such as the relative ``layer.tar``
  symlinks of ``docker save`` archives, or a symlinked auth file): they work;
- always: nothing in the sandbox changed except the destination, the module's temporary
  directory is empty afterwards, and a destination that existed still holds its image.

The sandbox is ``in/`` (the hostile input), ``outside/`` (a canary a traversal would hit),
``tmp/`` (the module's TMPDIR) and ``out/`` (an OCI layout holding the tag ``keep``).
Registry-side cases (foreign Location, Link and realm hosts) are unit tests with
httpx.MockTransport: tests/unit/plugins/module_utils/transports/docker/test_hostile_registry.py.
"""

from __future__ import annotations

import base64
import bz2
import dataclasses
import gzip
import hashlib
import http.server
import io
import json
import lzma
import os
import shutil
import socket
import socketserver
import stat
import subprocess
import tarfile
import threading
import typing as t
from pathlib import Path

import pytest

from conftest import record
from ocikit_it import registry, run_module  # noqa: F401  # pylint: disable=unused-import  # the fixture
from ocikit_testbed import LayerSpec, build_image
from ocikit_testbed.gpgkeys import GpgHome

OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip'
DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
REF_NAME = 'org.opencontainers.image.ref.name'
ADDRESS_SPACE = 1024 * 1024 * 1024   # 1 GiB: ample for a module, fatal for a read without bound
MAX_RSS = 400 * 1024 * 1024
TIMEOUT = 60
DEEP = 100000                         # levels of nesting: Python's parser gives up near 1000
CANARY = b'canary: a traversal would overwrite me'
ZERO_HEX = '0' * 64


# ---------------------------------------------------------------------------------------------
# The sandbox
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Box:
    """One case's sandbox and the shared, well-formed material cases start from."""

    root: Path
    base: 'Base'

    @property
    def inp(self) -> Path:
        return self.root / 'in'

    @property
    def out(self) -> Path:
        return self.root / 'out'

    @property
    def outside(self) -> Path:
        return self.root / 'outside'

    @property
    def tmp(self) -> Path:
        return self.root / 'tmp'


@dataclasses.dataclass
class Base:
    """Well-formed inputs made once: an OCI layout, its dir: export, a skopeo docker-archive."""

    layout: Path
    manifest_digest: str
    config_digest: str
    layer_digests: list[str]
    dir_image: Path
    docker_archive: Path
    dest_layout: Path
    registry: t.Any = None
    bombs: dict[str, Path] = dataclasses.field(default_factory=dict)


@pytest.fixture(scope='session')
def base(tmp_path_factory: pytest.TempPathFactory, registry: t.Any) -> Base:
    root = tmp_path_factory.mktemp('base')
    image = build_image(root / 'layout', 'v1', layers=[LayerSpec(size=20_000), LayerSpec(size=5_000)])
    dir_ref = image.to_dir(root / 'dir')
    archive = root / 'docker.tar'
    subprocess.run(['skopeo', 'copy', '-q', image.oci_ref, 'docker-archive:%s:example.com/app:v1' % archive], check=True,
                   capture_output=True, timeout=120)
    dest = build_image(root / 'dest', 'keep', layers=[LayerSpec(size=1000)], seed=7)
    return Base(layout=root / 'layout', manifest_digest=image.manifest_digest, config_digest=image.config_digest,
                layer_digests=image.layer_digests, dir_image=Path(dir_ref[4:]), docker_archive=archive, dest_layout=dest.layout_dir,
                registry=registry)


def snapshot(root: Path, skip: str) -> dict[str, t.Any]:
    """Every entry under ``root`` except the ``skip`` subtree: type and content (or size and mtime for big files)."""
    seen: dict[str, t.Any] = {}
    for directory, dirs, files in os.walk(root):
        rel_dir = os.path.relpath(directory, root)
        if rel_dir == skip or rel_dir.startswith(skip + os.sep):
            dirs[:] = []
            continue
        for name in dirs + files:
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, root)
            if rel == skip:
                continue
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                seen[rel] = ('link', os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                if info.st_size <= 1024 * 1024:
                    with open(path, 'rb') as handle:
                        seen[rel] = ('file', hashlib.sha256(handle.read()).hexdigest())
                else:
                    seen[rel] = ('file', info.st_size, info.st_mtime_ns)
            else:
                seen[rel] = (stat.S_IFMT(info.st_mode),)
    return seen


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------

def sha(data: bytes) -> str:
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def put_blob(layout: Path, data: bytes) -> str:
    digest = sha(data)
    path = layout / 'blobs' / 'sha256' / digest[7:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def copy_layout(box: Box) -> Path:
    layout = box.inp / 'layout'
    shutil.copytree(box.base.layout, layout)
    return layout


def blob_file(layout: Path, digest: str) -> Path:
    return layout / 'blobs' / 'sha256' / digest.partition(':')[2]


def good_manifest(box: Box) -> dict[str, t.Any]:
    return json.loads(blob_file(box.base.layout, box.base.manifest_digest).read_bytes())


def write_index(layout: Path, entries: t.Any, raw: bytes | None = None) -> None:
    (layout / 'index.json').write_bytes(raw if raw is not None else json.dumps({'schemaVersion': 2, 'manifests': entries}).encode())


def layout_with_manifest(box: Box, raw: bytes, media_type: str = OCI_MANIFEST, **descriptor: t.Any) -> Path:
    """A copy of the base layout whose tag v1 points at ``raw`` (stored under its true digest)."""
    layout = copy_layout(box)
    digest = put_blob(layout, raw)
    entry = {'mediaType': media_type, 'digest': digest, 'size': len(raw), 'annotations': {REF_NAME: 'v1'}}
    entry.update(descriptor)
    write_index(layout, [entry])
    return layout


def layout_with_config(box: Box, raw: bytes) -> Path:
    layout = copy_layout(box)
    manifest = good_manifest(box)
    manifest['config'] = {'mediaType': OCI_CONFIG, 'digest': put_blob(layout, raw), 'size': len(raw)}
    doc = json.dumps(manifest).encode()
    write_index(layout, [{'mediaType': OCI_MANIFEST, 'digest': put_blob(layout, doc), 'size': len(doc), 'annotations': {REF_NAME: 'v1'}}])
    return layout


def nested(depth: int) -> str:
    return '[' * depth + ']' * depth


def deep_object(depth: int) -> str:
    return '{"a":' * depth + '1' + '}' * depth


def sparse(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'wb') as handle:
        handle.truncate(size)
    return path


def fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    os.mkfifo(path)
    return path


def unix_socket(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cwd = os.getcwd()
    os.chdir(path.parent)  # a relative name: socket paths are limited to 107 bytes
    try:
        sock.bind(path.name)
    finally:
        os.chdir(cwd)
        sock.close()  # the socket file stays behind, which is all a reader meets
    return path


def replace_with_link(path: Path, target: str) -> Path:
    path.unlink()
    path.symlink_to(target)
    return path


# -- tar building ----------------------------------------------------------------------------

@dataclasses.dataclass
class Entry:
    name: str
    data: bytes = b''
    kind: bytes = tarfile.REGTYPE
    linkname: str = ''
    size: int | None = None     # a lying header size


def tar_bytes(entries: t.Sequence[Entry], trailer: bytes = b'', end: bool = True) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode='w', format=tarfile.GNU_FORMAT) as archive:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = entry.kind
            info.linkname = entry.linkname
            info.mode = 0o644
            if entry.kind in (tarfile.REGTYPE, tarfile.AREGTYPE):
                info.size = len(entry.data)
                archive.addfile(info, io.BytesIO(entry.data))
            else:
                archive.addfile(info)
    raw = out.getvalue()
    if not end:
        raw = raw.rstrip(b'\0')
        raw += b'\0' * (-len(raw) % 512)
    lies = [e for e in entries if e.size is not None]
    for entry in lies:
        raw = _patch_size(raw, entry.name, entry.size or 0)
    return raw + trailer


def _patch_size(raw: bytes, name: str, size: int) -> bytes:
    """Rewrite the size field of ``name``'s header (and its checksum)."""
    data = bytearray(raw)
    offset = 0
    while offset < len(data):
        header = data[offset:offset + 512]
        if header[:len(name)] == name.encode() and header[len(name)] == 0:
            data[offset + 124:offset + 136] = (b'%011o' % size) + b'\0'
            data[offset + 148:offset + 156] = b' ' * 8
            checksum = sum(data[offset:offset + 512])
            data[offset + 148:offset + 156] = b'%06o\0 ' % checksum
            return bytes(data)
        length = int(header[124:136].rstrip(b'\0 ') or b'0', 8)
        offset += 512 + (length + 511) // 512 * 512
    raise AssertionError('no header for %s' % name)


def archive_entries(path: Path) -> list[Entry]:
    """The entries of a well-formed archive, in order, as Entry values to edit."""
    out = []
    with tarfile.open(path) as archive:
        for member in archive.getmembers():
            data = archive.extractfile(member).read() if member.isfile() else b''  # type: ignore[union-attr]
            out.append(Entry(member.name, data, member.type, member.linkname))
    return out


def docker_archive(box: Box, entries: t.Sequence[Entry] | None = None, raw: bytes | None = None, name: str = 'docker.tar') -> str:
    path = box.inp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw if raw is not None else tar_bytes(entries if entries is not None else archive_entries(box.base.docker_archive)))
    return str(path)


def edited_archive(box: Box, edit: t.Callable[[list[Entry]], list[Entry]], **kwargs: t.Any) -> str:
    return docker_archive(box, edit(archive_entries(box.base.docker_archive)), **kwargs)


def with_manifest_json(entries: list[Entry], data: bytes) -> list[Entry]:
    return [Entry(e.name, data) if e.name == 'manifest.json' else e for e in entries]


def layer_names(entries: list[Entry]) -> list[str]:
    return [e.name for e in entries if e.name.endswith('/layer.tar')]


def oci_archive_from(layout: Path, extra: t.Sequence[Entry] = (), path: Path | None = None) -> str:
    entries = []
    for file in sorted(layout.rglob('*')):
        rel = file.relative_to(layout).as_posix()
        if file.is_symlink():
            entries.append(Entry(rel, kind=tarfile.SYMTYPE, linkname=os.readlink(file)))
        elif file.is_file():
            entries.append(Entry(rel, file.read_bytes()))
    target = path or layout.parent / 'oci.tar'
    target.write_bytes(tar_bytes(entries + list(extra)))
    return str(target)


# ---------------------------------------------------------------------------------------------
# Running one case
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Case:
    """``build`` makes the input in the box and returns the module arguments.

    ``expect`` is text the refusal message must hold; ``accept`` marks input that must work.
    ``env`` adds environment variables (built in the box, e.g. a PATH with a credential helper).
    """

    id: str
    module: str
    build: t.Callable[[Box], dict[str, t.Any]]
    expect: str | tuple[str, ...] = ''   # a tuple: any one of them
    accept: bool = False
    env: t.Callable[[Box], dict[str, str]] | None = None
    changes: tuple[str, ...] = ()      # paths (relative to the box) the module is meant to write


def inspect(image: t.Callable[[Box], str], **extra: t.Any) -> t.Callable[[Box], dict[str, t.Any]]:
    return lambda box: dict(image=image(box), **extra)


def copy_to_out(src: t.Callable[[Box], str], **extra: t.Any) -> t.Callable[[Box], dict[str, t.Any]]:
    return lambda box: dict(src=src(box), dest='oci:%s:new' % box.out, **extra)


def run_case(case: Case, box: Box) -> None:
    for directory in (box.inp, box.outside, box.tmp):
        directory.mkdir(parents=True)
    (box.outside / 'canary').write_bytes(CANARY)
    shutil.copytree(box.base.dest_layout, box.out)
    index_before = (box.out / 'index.json').read_bytes()
    args = case.build(box)
    env = {'TMPDIR': str(box.tmp), 'HOME': str(box.root / 'in')}
    if case.env:
        env.update(case.env(box))
    before = snapshot(box.root, 'out')
    run = run_module(case.module, args, env=env, timeout=TIMEOUT, rlimit_as=ADDRESS_SPACE)
    if os.environ.get('OCIKIT_CORPUS_LOG'):
        # For reviewing expectations: one line per case, its id, expectation and message.
        with open(os.environ['OCIKIT_CORPUS_LOG'], 'a', encoding='utf-8') as log:
            log.write('%s | %s | %s\n' % (case.id, case.expect, run.msg.replace('\n', '\\n')[-300:]))

    assert run.rc != -9, 'timed out after %d s: %r' % (TIMEOUT, run)
    assert 'Traceback' not in run.stderr and 'exception' not in run.result, run.stderr[-2000:] or run.result.get('exception')
    assert 'unexpected error' not in run.msg, run.msg
    assert run.max_rss < MAX_RSS, 'peak memory %d bytes' % run.max_rss
    after = snapshot(box.root, 'out')
    for path in case.changes:
        before.pop(path, None)
        after.pop(path, None)
    assert after == before, 'something outside the destination changed: %s' % sorted(set(before.items()) ^ set(after.items()))
    assert list(box.tmp.iterdir()) == [], 'temporary files left behind: %s' % list(box.tmp.iterdir())
    if case.accept:
        assert not run.failed, run
        if case.module == 'image_copy':
            index = json.loads((box.out / 'index.json').read_bytes())
            assert {m['annotations'][REF_NAME] for m in index['manifests']} == {'keep', 'new'}
        record('accepted')
        return
    assert run.failed and run.rc == 1, run
    assert run.msg and '\n' not in run.msg and len(run.msg) < 2000, run
    wanted = case.expect if isinstance(case.expect, tuple) else (case.expect,)
    assert any(text in run.msg for text in wanted), 'expected %r in %r' % (case.expect, run.msg)
    # A refused copy leaves the destination's tags exactly as they were.
    assert (box.out / 'index.json').read_bytes() == index_before
    record('refused')


# ---------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------

CASES: list[Case] = []


def case(id: str, module: str, build: t.Callable[[Box], dict[str, t.Any]], expect: 'str | tuple[str, ...]' = '', **kwargs: t.Any) -> None:
    CASES.append(Case(id, module, build, expect, **kwargs))


def const(value: str) -> t.Callable[[Box], str]:
    return lambda box: value


# -- references (parsed before anything is opened) -------------------------------------------

for ident, text, expect in [
    ('ref-empty', '', 'it is empty'),
    ('ref-no-transport', 'busybox', 'expected transport:details'),
    ('ref-unknown-transport', 'ftp://example.com/a', 'unknown transport "ftp"'),
    ('ref-docker-empty', 'docker://', 'the reference is empty'),
    ('ref-docker-no-slashes', 'docker:busybox', 'does not start with "//"'),
    ('ref-uppercase-repo', 'docker://example.com/UPPER/app:v1', 'repository name must be lowercase'),
    ('ref-space', 'docker://example.com/a b:v1', 'invalid character " "'),
    ('ref-tab', 'docker://example.com/a\tb', 'invalid character "\\t"'),
    ('ref-newline', 'docker://example.com/a\nb', 'invalid character "\\n"'),
    ('ref-nul', 'docker://example.com/a\x00b', 'invalid path component'),
    ('ref-unicode-name', 'docker://example.com/\u00e4pp:v1', 'invalid path component'),
    ('ref-rtl-override', 'docker://example.com/app\u202e:v1', 'invalid path component'),
    ('ref-tag-too-long', 'docker://example.com/app:' + 'a' * 129, 'a tag may be at most 128 characters long'),
    ('ref-tag-bad-start', 'docker://example.com/app:.v1', 'a tag must start with a letter, a digit or "_"'),
    ('ref-tag-bad-char', 'docker://example.com/app:v1$', 'invalid character "$"'),
    ('ref-empty-tag', 'docker://example.com/app:', 'empty tag after ":"'),
    ('ref-double-colon', 'docker://example.com/app::v1', 'invalid character ":"'),
    ('ref-name-too-long', 'docker://example.com/' + 'a' * 300 + ':v1', 'the limit is 255'),
    ('ref-huge', 'docker://example.com/' + 'a/' * 500000 + 'b', 'the limit is 255'),
    ('ref-double-slash', 'docker://example.com//app', 'empty path component'),
    ('ref-trailing-slash', 'docker://example.com/app/', 'empty path component'),
    ('ref-leading-separator', 'docker://example.com/-app', 'it must start and end with a lowercase letter or a digit'),
    ('ref-triple-underscore', 'docker://example.com/a___b', 'invalid separator "___"'),
    ('ref-port-not-number', 'docker://example.com:port/app', 'the port "port" is not a number'),
    # Either refusal is right; the second is the clearer one (issue 7, defect 7).
    ('ref-userinfo', 'docker://user:secret@example.com/app', ('"@" may only introduce the digest at the end',
                                                              'credentials cannot be part of the reference')),
    ('ref-at-only', 'docker://example.com/app@', 'empty digest after "@"'),
    ('ref-digest-short', 'docker://example.com/app@sha256:abc', 'sha256 needs 64 lowercase hex characters'),
    ('ref-digest-uppercase', 'docker://example.com/app@sha256:' + 'A' * 64, 'sha256 needs 64 lowercase hex characters'),
    ('ref-digest-unknown-algo', 'docker://example.com/app@md5:' + 'a' * 32, "unsupported algorithm 'md5'"),
    ('ref-digest-no-algo', 'docker://example.com/app@' + 'a' * 64, 'expected algorithm:hex'),
    ('ref-digest-too-long', 'docker://example.com/app@sha256:' + 'a' * 65, 'sha256 needs 64 lowercase hex characters'),
    ('ref-digest-non-hex', 'docker://example.com/app@sha256:' + 'g' * 64, 'sha256 needs 64 lowercase hex characters'),
    ('ref-digest-sha512-short', 'docker://example.com/app@sha512:' + 'a' * 64, 'sha512 needs 128 lowercase hex characters'),
    ('ref-two-digests', 'docker://example.com/app@sha256:%s@sha256:%s' % ('a' * 64, 'b' * 64), 'expected algorithm:hex'),
    ('ref-oci-empty', 'oci:', 'the layout path is empty'),
    ('ref-oci-bad-tag', 'oci:/tmp/x:bad tag', 'is not a valid image ref name'),
    ('ref-oci-digest-bad', 'oci:/tmp/x@sha256:zz', 'sha256 needs 64 lowercase hex characters'),
    ('ref-dir-empty', 'dir:', 'the directory path is empty'),
    ('ref-docker-archive-empty', 'docker-archive:', 'expected PATH, PATH:REF or PATH:@N'),
    ('ref-docker-archive-bad-index', 'docker-archive:/tmp/x.tar:@-1', 'invalid source index "@-1"'),
    ('ref-docker-archive-digest', 'docker-archive:/tmp/x.tar:example.com/app@sha256:' + 'a' * 64, 'names images by tag, not by digest'),
    ('ref-oci-archive-empty', 'oci-archive:', 'the archive path is empty'),
]:
    case(ident, 'image_inspect', inspect(const(text)), expect)

case('ref-copy-dest-bad-digest', 'image_copy', lambda box: dict(src='oci:%s:v1' % box.base.layout, dest='docker://example.com/app@sha256:zz'),
     'sha256 needs 64 lowercase hex')
case('ref-delete-bad-digest', 'image_delete', lambda box: dict(image='docker://example.com/app@sha256:xyz'), 'sha256 needs 64 lowercase hex')
case('ref-delete-uppercase', 'image_delete', lambda box: dict(image='docker://example.com/App:v1'), 'repository name must be lowercase')
case('ref-docker-archive-unknown-ref', 'image_inspect', lambda box: dict(image='docker-archive:%s:UPPER/app:v1' % box.base.docker_archive),
     'no image tagged UPPER/app:v1')


# -- manifests through an OCI layout ---------------------------------------------------------

def manifest_case(ident: str, raw: t.Callable[[Box], bytes], expect: str, module: str = 'image_inspect', **descriptor: t.Any) -> None:
    def build(box: Box) -> dict[str, t.Any]:
        layout = layout_with_manifest(box, raw(box), **descriptor)
        if module == 'image_copy':
            return dict(src='oci:%s:v1' % layout, dest='oci:%s:new' % box.out)
        return dict(image='oci:%s:v1' % layout)
    case(ident, module, build, expect)


def edit_manifest(change: t.Callable[[dict[str, t.Any]], t.Any]) -> t.Callable[[Box], bytes]:
    def make(box: Box) -> bytes:
        manifest = good_manifest(box)
        change(manifest)
        return json.dumps(manifest).encode()
    return make


for module in ('image_inspect', 'image_copy'):
    short = 'inspect' if module == 'image_inspect' else 'copy'
    manifest_case('manifest-deep-array-%s' % short, lambda box: nested(DEEP).encode(), 'nested deeper than 64 levels', module)
    manifest_case('manifest-deep-object-%s' % short, lambda box: deep_object(DEEP).encode(), 'nested deeper than 64 levels', module)
    manifest_case('manifest-deep-annotation-%s' % short, edit_manifest(lambda m: m.update(annotations={'a': json.loads(nested(70))})),
                  'nested deeper than 64 levels', module)
    manifest_case('manifest-not-json-%s' % short, lambda box: b'{"schemaVersion": 2,', 'not valid JSON', module)
    manifest_case('manifest-oversize-%s' % short, lambda box: b' ' * (4 * 1024 * 1024 + 1) + b'{}', 'limit', module)
    manifest_case('manifest-bad-layer-digest-%s' % short,
                  edit_manifest(lambda m: m['layers'][0].update(digest='sha256:nothex')), 'sha256 needs 64 lowercase hex', module)

for ident, raw, expect in [
    ('manifest-empty', lambda box: b'', 'not valid JSON'),
    ('manifest-array', lambda box: b'[]', 'not a JSON object'),
    ('manifest-string', lambda box: b'"manifest"', 'not a JSON object'),
    ('manifest-null', lambda box: b'null', 'not a JSON object'),
    ('manifest-utf16', lambda box: json.dumps(good_manifest(box)).encode('utf-16'), 'not UTF-8'),
    ('manifest-invalid-utf8', lambda box: b'{"schemaVersion": 2, "x": "\xff"}', 'not UTF-8'),
    ('manifest-nan', lambda box: b'{"schemaVersion": NaN}', 'schemaVersion'),
    ('manifest-huge-int', lambda box: b'{"schemaVersion": 1' + b'0' * 5000 + b'}', 'not valid JSON'),
    ('manifest-schema3', edit_manifest(lambda m: m.update(schemaVersion=3)), 'schemaVersion'),
    ('manifest-schema-string', edit_manifest(lambda m: m.update(schemaVersion='2')), 'schemaVersion'),
    ('manifest-no-config', edit_manifest(lambda m: m.pop('config')), 'invalid config descriptor'),
    ('manifest-config-string', edit_manifest(lambda m: m.update(config='sha256:' + ZERO_HEX)), 'invalid config descriptor'),
    ('manifest-layers-object', edit_manifest(lambda m: m.update(layers={'a': 1})), 'layers must be a list'),
    ('manifest-layer-negative-size', edit_manifest(lambda m: m['layers'][0].update(size=-5)), 'size must be a non-negative integer'),
    ('manifest-layer-string-size', edit_manifest(lambda m: m['layers'][0].update(size='5')), 'size must be a non-negative integer'),
    ('manifest-layer-no-digest', edit_manifest(lambda m: m['layers'][0].pop('digest')), "invalid digest ''"),
    ('manifest-mediatype-int', edit_manifest(lambda m: m.update(mediaType=5)), 'non-string mediaType'),
    ('manifest-mediatype-unknown', edit_manifest(lambda m: m.update(mediaType='text/html')), 'text/html'),
    ('manifest-mediatype-disagrees', edit_manifest(lambda m: m.update(mediaType=DOCKER_MANIFEST)), 'declares mediaType'),
    ('manifest-typed-index-with-layers', edit_manifest(lambda m: m.update(mediaType=OCI_INDEX)), 'declares mediaType application/vnd.oci.image.index.v1+json'),
    ('manifest-schema1', lambda box: b'{"schemaVersion": 1, "name": "a", "tag": "b", "fsLayers": [], "history": []}', 'is Docker schema1'),
    ('manifest-index-typed-as-manifest', lambda box: json.dumps({'schemaVersion': 2, 'mediaType': OCI_INDEX, 'manifests': []}).encode(),
     'mediaType'),
]:
    manifest_case(ident, raw, expect)

for ident, raw, expect in [
    ('manifest-index-empty-entries', lambda box: json.dumps({'schemaVersion': 2, 'mediaType': OCI_INDEX, 'manifests': [{}]}).encode(),
     'size must be a non-negative integer'),
    ('manifest-index-bad-platform', lambda box: json.dumps({'schemaVersion': 2, 'mediaType': OCI_INDEX, 'manifests': [
        {'mediaType': OCI_MANIFEST, 'digest': box.base.manifest_digest, 'size': 10, 'platform': 'linux/amd64'}]}).encode(),
     'os and architecture are required strings'),
    ('manifest-index-child-missing', lambda box: json.dumps({'schemaVersion': 2, 'mediaType': OCI_INDEX, 'manifests': [
        {'mediaType': OCI_MANIFEST, 'digest': 'sha256:' + ZERO_HEX, 'size': 10,
         'platform': {'os': 'linux', 'architecture': 'amd64'}}]}).encode(), ZERO_HEX),
    ('manifest-index-deep', lambda box: ('{"schemaVersion": 2, "mediaType": "%s", "manifests": %s}' % (OCI_INDEX, nested(DEEP))).encode(),
     'nested deeper than 64 levels'),
]:
    manifest_case(ident, raw, expect, mediaType=OCI_INDEX)


def swapped_manifest(box: Box) -> str:
    """The tag's manifest blob holds other bytes of the same length: only the digest tells."""
    layout = copy_layout(box)
    path = blob_file(layout, box.base.manifest_digest)
    raw = path.read_bytes()
    hexpart = box.base.config_digest[7:].encode()
    path.write_bytes(raw.replace(hexpart, hexpart[::-1], 1))
    return 'oci:%s:v1' % layout


case('manifest-content-digest-lies', 'image_inspect', inspect(swapped_manifest), 'digest mismatch')
manifest_case('manifest-descriptor-digest-absent', lambda box: json.dumps(good_manifest(box)).encode(), 'not found',
              digest='sha256:' + hashlib.sha256(b'other').hexdigest())
manifest_case('manifest-descriptor-size-lies', lambda box: json.dumps(good_manifest(box)).encode(), 'its descriptor says 3', size=3)
manifest_case('manifest-descriptor-huge-size', lambda box: json.dumps(good_manifest(box)).encode(), 'limit', size=1 << 40)
manifest_case('manifest-descriptor-type-disagrees', lambda box: json.dumps(good_manifest(box)).encode(), 'mediaType', mediaType=DOCKER_MANIFEST)


def index_chain(box: Box) -> str:
    """An index whose only child is an index whose only child is ... (30 levels), ending in nothing."""
    layout = copy_layout(box)
    child, size = 'sha256:' + ZERO_HEX, 100
    for dummy in range(30):
        doc = json.dumps({'schemaVersion': 2, 'mediaType': OCI_INDEX, 'manifests': [
            {'mediaType': OCI_INDEX, 'digest': child, 'size': size, 'platform': {'os': 'linux', 'architecture': 'amd64'}}]}).encode()
        child, size = put_blob(layout, doc), len(doc)
    write_index(layout, [{'mediaType': OCI_INDEX, 'digest': child, 'size': size, 'annotations': {REF_NAME: 'v1'}}])
    return 'oci:%s:v1' % layout


case('manifest-nested-index-chain', 'image_copy', copy_to_out(index_chain), 'is a nested index, which is not supported')


# -- image configs -----------------------------------------------------------------------------

for ident, raw, expect, module in [
    ('config-deep-array', lambda box: nested(DEEP).encode(), 'nested deeper than 64 levels', 'image_inspect'),
    ('config-deep-object', lambda box: deep_object(DEEP).encode(), 'nested deeper than 64 levels', 'image_inspect'),
    ('config-deep-labels', lambda box: json.dumps({'architecture': 'amd64', 'os': 'linux', 'config': {'Labels': json.loads(nested(80))}}).encode(),
     'nested deeper than 64 levels', 'image_inspect'),
    ('config-not-json', lambda box: b'{"architecture":', 'not valid JSON', 'image_inspect'),
    ('config-array', lambda box: b'[1, 2]', 'not a JSON object', 'image_inspect'),
    ('config-invalid-utf8', lambda box: b'{"os": "\xfe"}', 'not UTF-8', 'image_inspect'),
    ('config-oversize', lambda box: b'{"a": "' + b'x' * (4 * 1024 * 1024) + b'"}', 'limit', 'image_inspect'),
    ('config-deep-copy-to-archive', lambda box: nested(DEEP).encode(), 'nested deeper than 64 levels', 'image_copy'),
]:
    if module == 'image_copy':
        case(ident, module, lambda box, raw=raw: dict(
            src='oci:%s:v1' % layout_with_config(box, raw(box)), dest='docker-archive:%s:example.com/a:v1' % (box.out / 'a.tar')), expect)
    else:
        case(ident, module, inspect(lambda box, raw=raw: 'oci:%s:v1' % layout_with_config(box, raw(box))), expect)


# -- index.json and oci-layout -----------------------------------------------------------------

def layout_edit(edit: t.Callable[[Path, Box], t.Any]) -> t.Callable[[Box], str]:
    def make(box: Box) -> str:
        layout = copy_layout(box)
        edit(layout, box)
        return 'oci:%s:v1' % layout
    return make


for ident, edit, expect in [
    ('index-deep', lambda lay, box: (lay / 'index.json').write_text(nested(DEEP)), 'nested deeper than 64 levels'),
    ('index-deep-entry', lambda lay, box: write_index(lay, [json.loads(nested(70))]), 'nested deeper than 64 levels'),
    ('index-not-json', lambda lay, box: (lay / 'index.json').write_text('{"manifests": ['), 'not valid JSON'),
    ('index-invalid-utf8', lambda lay, box: (lay / 'index.json').write_bytes(b'{"x": "\xff"}'), 'not UTF-8'),
    ('index-fifo', lambda lay, box: fifo(lay / 'index.json'), 'is not a regular file (a FIFO)'),
    ('index-socket', lambda lay, box: (lay / 'index.json').unlink() or unix_socket(lay / 'index.json'), 'is not a regular file (a socket)'),
    ('index-dev-zero', lambda lay, box: replace_with_link(lay / 'index.json', '/dev/zero'), 'is not a regular file (a character device)'),
    ('index-directory', lambda lay, box: (lay / 'index.json').unlink() or (lay / 'index.json').mkdir(), 'is not a regular file (a directory)'),
    ('index-huge-sparse', lambda lay, box: sparse(lay / 'index.json', 1 << 40), 'limit'),
    ('index-missing', lambda lay, box: (lay / 'index.json').unlink(), 'index.json'),
    ('index-array', lambda lay, box: (lay / 'index.json').write_text('[]'), 'not a JSON object'),
    ('index-manifests-string', lambda lay, box: (lay / 'index.json').write_text('{"schemaVersion": 2, "manifests": "x"}'),
     'manifests must be a list of objects'),
    ('index-schema-1', lambda lay, box: (lay / 'index.json').write_text('{"schemaVersion": 1, "manifests": []}'), 'schemaVersion'),
    ('index-entry-bad-digest', lambda lay, box: write_index(lay, [{'mediaType': OCI_MANIFEST, 'digest': 'sha256:../../outside/canary',
                                                                   'size': 10, 'annotations': {REF_NAME: 'v1'}}]), 'expected algorithm:hex'),
    ('index-entry-traversal-digest', lambda lay, box: write_index(lay, [{'mediaType': OCI_MANIFEST, 'digest': 'sha256/../../../outside',
                                                                         'size': 10, 'annotations': {REF_NAME: 'v1'}}]), 'expected algorithm:hex'),
    ('index-tag-missing', lambda lay, box: write_index(lay, []), 'no image named "v1"'),
    ('oci-layout-fifo', lambda lay, box: fifo(lay / 'oci-layout'), 'is not a regular file (a FIFO)'),
    ('oci-layout-deep', lambda lay, box: (lay / 'oci-layout').write_text(deep_object(DEEP)), 'nested deeper than 64 levels'),
    ('oci-layout-version-2', lambda lay, box: (lay / 'oci-layout').write_text('{"imageLayoutVersion": "2.0.0"}'), '2.0.0'),
    ('oci-layout-dev-zero', lambda lay, box: replace_with_link(lay / 'oci-layout', '/dev/zero'), 'is not a regular file (a character device)'),
]:
    case(ident, 'image_inspect', inspect(layout_edit(edit)), expect)


# -- layer streams (decompressed when asked to) ----------------------------------------------------

ZSTD_HUGE_WINDOW = b'\x28\xb5\x2f\xfd\x00\xa8\x01\x00\x00' + b'\x00' * 64


def layout_with_layer(box: Box, data: bytes, media_type: str) -> str:
    """The base image with its first layer replaced by ``data`` (under its true digest)."""
    layout = copy_layout(box)
    manifest = good_manifest(box)
    manifest['layers'][0] = {'mediaType': media_type, 'digest': put_blob(layout, data), 'size': len(data)}
    doc = json.dumps(manifest).encode()
    write_index(layout, [{'mediaType': OCI_MANIFEST, 'digest': put_blob(layout, doc), 'size': len(doc), 'annotations': {REF_NAME: 'v1'}}])
    return 'oci:%s:v1' % layout


for ident, data, media_type, expect in [
    ('layer-zstd-huge-window', ZSTD_HUGE_WINDOW, OCI_LAYER.replace('gzip', 'zstd'), ('Frame requires too much memory', 'corrupt zstd stream')),
    ('layer-zstd-garbage', b'\x28\xb5\x2f\xfd' + b'\xff' * 64, OCI_LAYER.replace('gzip', 'zstd'), 'zstd'),
    ('layer-gzip-garbage', b'\x1f\x8b\x08\x00' + b'\xff' * 64, OCI_LAYER, 'gzip'),
    ('layer-gzip-truncated', gzip.compress(bytes(range(256)) * 64)[:300], OCI_LAYER, 'truncated gzip stream'),
    ('layer-not-compressed-but-typed-gzip', b'plain bytes, no gzip magic', OCI_LAYER, 'but the config says diff_id'),
]:
    case(ident, 'image_copy', lambda box, data=data, media_type=media_type: dict(
        src=layout_with_layer(box, data, media_type), dest='oci:%s:new' % box.out, dest_decompress=True), expect)


# -- layout blobs -----------------------------------------------------------------------------

def blob_edit(which: str, edit: t.Callable[[Path, Box], t.Any]) -> t.Callable[[Box], str]:
    def make(box: Box) -> str:
        layout = copy_layout(box)
        digest = {'layer': box.base.layer_digests[0], 'config': box.base.config_digest, 'manifest': box.base.manifest_digest}[which]
        edit(blob_file(layout, digest), box)
        return 'oci:%s:v1' % layout
    return make


for ident, which, edit, expect in [
    ('blob-layer-fifo', 'layer', lambda p, box: fifo(p), 'is not a regular file (a FIFO)'),
    ('blob-config-fifo', 'config', lambda p, box: fifo(p), 'is not a regular file (a FIFO)'),
    ('blob-manifest-fifo', 'manifest', lambda p, box: fifo(p), 'is not a regular file (a FIFO)'),
    ('blob-layer-dev-zero', 'layer', lambda p, box: replace_with_link(p, '/dev/zero'), 'leads outside'),
    ('blob-config-dev-zero', 'config', lambda p, box: replace_with_link(p, '/dev/zero'), 'leads outside'),
    ('blob-layer-device-node', 'layer', lambda p, box: p.unlink() or os.mknod(p, 0o600 | stat.S_IFCHR, os.makedev(1, 5)),
     'is not a regular file (a character device)'),
    ('blob-layer-missing', 'layer', lambda p, box: p.unlink(), 'not found'),
    ('blob-config-missing', 'config', lambda p, box: p.unlink(), 'not found'),
    ('blob-manifest-missing', 'manifest', lambda p, box: p.unlink(), 'not found'),
    ('blob-layer-directory', 'layer', lambda p, box: p.unlink() or p.mkdir(), 'is not a regular file (a directory)'),
    ('blob-layer-socket', 'layer', lambda p, box: p.unlink() or unix_socket(p), 'is not a regular file (a socket)'),
    ('blob-layer-corrupt', 'layer', lambda p, box: p.write_bytes(bytes(b ^ 1 for b in p.read_bytes())), 'digest mismatch'),
    ('blob-config-corrupt', 'config', lambda p, box: p.write_bytes(p.read_bytes().replace(b'amd64', b'arm64')), 'digest mismatch'),
    ('blob-layer-truncated', 'layer', lambda p, box: p.write_bytes(p.read_bytes()[:100]), 'the manifest says'),
    ('blob-layer-grown', 'layer', lambda p, box: p.write_bytes(p.read_bytes() + b'extra'), 'the manifest says'),
    ('blob-layer-huge-sparse', 'layer', lambda p, box: p.unlink() or sparse(p, 1 << 40), 'the manifest says'),
    ('blob-layer-link-outside', 'layer', lambda p, box: replace_with_link(p, str(box.outside / 'canary')), 'leads outside'),
    ('blob-layer-relative-link-outside', 'layer', lambda p, box: replace_with_link(p, '../../../../outside/canary'), 'leads outside'),
    ('blob-layer-link-same-content-outside', 'layer', lambda p, box: (shutil.copy(p, box.outside / 'copy'), replace_with_link(p, str(box.outside / 'copy'))),
     'leads outside'),
    ('blob-config-link-outside', 'config', lambda p, box: replace_with_link(p, str(box.outside / 'canary')), 'leads outside'),
    ('blob-manifest-link-etc', 'manifest', lambda p, box: replace_with_link(p, '/etc/passwd'), 'leads outside'),
    ('blob-manifest-link-dev-zero', 'manifest', lambda p, box: replace_with_link(p, '/dev/zero'), 'leads outside'),
]:
    case(ident, 'image_copy', copy_to_out(blob_edit(which, edit)), expect)


def shared_blob(p: Path, box: Box) -> None:
    # Blobs deduplicated by a relative symlink inside the layout: legitimate, and must work.
    alias = p.parent / ('.shared-' + p.name)
    p.rename(alias)
    p.symlink_to(alias.name)


case('blob-relative-link-inside-works', 'image_copy', copy_to_out(blob_edit('layer', shared_blob)), accept=True)
case('layout-symlinked-root-works', 'image_copy',
     copy_to_out(lambda box: (copy_layout(box), (box.inp / 'alias').symlink_to('layout'), 'oci:%s:v1' % (box.inp / 'alias'))[-1]), accept=True)


# -- dir: images -----------------------------------------------------------------------------

def dir_edit(edit: t.Callable[[Path, Box], t.Any]) -> t.Callable[[Box], str]:
    def make(box: Box) -> str:
        directory = box.inp / 'dirimg'
        shutil.copytree(box.base.dir_image, directory)
        edit(directory, box)
        return 'dir:%s' % directory
    return make


def dir_blob(directory: Path, box: Box, which: str = 'layer') -> Path:
    digest = box.base.layer_digests[0] if which == 'layer' else box.base.config_digest
    return directory / digest.partition(':')[2]


for ident, edit, expect in [
    ('dir-manifest-fifo', lambda d, box: fifo(d / 'manifest.json'), 'is not a regular file (a FIFO)'),
    ('dir-manifest-dev-zero', lambda d, box: replace_with_link(d / 'manifest.json', '/dev/zero'), 'leads outside'),
    ('dir-manifest-link-etc', lambda d, box: replace_with_link(d / 'manifest.json', '/etc/passwd'), 'leads outside'),
    ('dir-manifest-huge', lambda d, box: sparse(d / 'manifest.json', 1 << 40), 'limit'),
    ('dir-manifest-deep', lambda d, box: (d / 'manifest.json').write_text(nested(DEEP)), 'nested deeper than 64 levels'),
    ('dir-manifest-missing', lambda d, box: (d / 'manifest.json').unlink(), 'manifest.json'),
    ('dir-manifest-directory', lambda d, box: (d / 'manifest.json').unlink() or (d / 'manifest.json').mkdir(), 'is not a regular file (a directory)'),
    ('dir-layer-fifo', lambda d, box: fifo(dir_blob(d, box)), 'is not a regular file (a FIFO)'),
    ('dir-config-fifo', lambda d, box: fifo(dir_blob(d, box, 'config')), 'is not a regular file (a FIFO)'),
    ('dir-layer-dev-zero', lambda d, box: replace_with_link(dir_blob(d, box), '/dev/zero'), 'leads outside'),
    ('dir-signature-link-outside', lambda d, box: (d / 'signature-1').symlink_to(box.outside / 'canary'), 'leads outside'),
    ('dir-layer-missing', lambda d, box: dir_blob(d, box).unlink(), 'not found'),
    ('dir-layer-link-outside', lambda d, box: replace_with_link(dir_blob(d, box), str(box.outside / 'canary')), 'leads outside'),
    ('dir-layer-corrupt', lambda d, box: dir_blob(d, box).write_bytes(bytes(b ^ 1 for b in dir_blob(d, box).read_bytes())), 'digest mismatch'),
    ('dir-version-fifo', lambda d, box: fifo(d / 'version'), 'is not a regular file (a FIFO)'),
    ('dir-version-garbage', lambda d, box: (d / 'version').write_bytes(b'\xff' * 100), 'is not a dir image this version can use'),
    ('dir-version-huge', lambda d, box: sparse(d / 'version', 1 << 30), 'its version file is not a dir transport version'),
    ('dir-signature-fifo', lambda d, box: fifo(d / 'signature-1'), 'is not a regular file (a FIFO)'),
    ('dir-not-a-directory', lambda d, box: (shutil.rmtree(d), d.write_text('x')), 'not a directory'),
]:
    case(ident, 'image_copy', copy_to_out(dir_edit(edit)), expect)

case('dir-manifest-symlink-inside-works', 'image_copy', copy_to_out(dir_edit(
    lambda d, box: ((d / 'manifest.json').rename(d / 'real-manifest'), (d / 'manifest.json').symlink_to('real-manifest')))), accept=True)


# -- docker-archive ---------------------------------------------------------------------------

def archive_case(ident: str, make: t.Callable[[Box], str], expect: str = '', accept: bool = False) -> None:
    case(ident, 'image_copy', copy_to_out(lambda box: 'docker-archive:%s' % make(box)), expect, accept=accept)


def add(*extra: Entry) -> t.Callable[[list[Entry]], list[Entry]]:
    return lambda entries: entries + list(extra)


def first_layer_link(entries: list[Entry], **change: t.Any) -> list[Entry]:
    name = layer_names(entries)[0]
    return [dataclasses.replace(e, **change) if e.name == name else e for e in entries]


archive_case('archive-skopeo-relative-layer-links-work', docker_archive, accept=True)
archive_case('archive-gzip-works', lambda box: docker_archive(box, raw=gzip.compress(box.base.docker_archive.read_bytes()), name='a.tar.gz'),
             accept=True)
archive_case('archive-hardlinked-layer-works', lambda box: edited_archive(box, lambda es: [
    Entry(e.name, kind=tarfile.LNKTYPE, linkname=e.linkname.replace('../', '')) if e.name.endswith('/layer.tar') else e for e in es]), accept=True)

for ident, edit, expect in [
    ('archive-traversal-name', add(Entry('../outside/evil', b'x')), 'has a ".." path component'),
    ('archive-traversal-inner', add(Entry('a/../../outside/evil', b'x')), 'has a ".." path component'),
    ('archive-absolute-name', add(Entry('/tmp/evil', b'x')), 'has an absolute path'),
    ('archive-symlink-escapes', lambda es: first_layer_link(es, linkname='../../outside/canary'), 'which leads outside the archive'),
    ('archive-symlink-absolute', lambda es: first_layer_link(es, linkname='/etc/passwd'), '/etc/passwd'),
    ('archive-symlink-dangles', lambda es: first_layer_link(es, linkname='../missing.tar'), 'missing.tar'),
    ('archive-symlink-to-directory', lambda es: first_layer_link(es, linkname='.'), 'link'),
    ('archive-symlink-loop', lambda es: [Entry('x', kind=tarfile.SYMTYPE, linkname='y'), Entry('y', kind=tarfile.SYMTYPE, linkname='x')] + es,
     'link'),
    ('archive-hardlink-outside', lambda es: first_layer_link(es, kind=tarfile.LNKTYPE, linkname='../outside/canary'), 'which leads outside the archive'),
    ('archive-hardlink-absolute', lambda es: first_layer_link(es, kind=tarfile.LNKTYPE, linkname='/etc/passwd'), '/etc/passwd'),
    ('archive-chardev', add(Entry('dev', kind=tarfile.CHRTYPE)), 'device; image archives hold only regular files and directories'),
    ('archive-blockdev', add(Entry('blk', kind=tarfile.BLKTYPE)), 'device; image archives hold only regular files and directories'),
    ('archive-fifo-entry', add(Entry('pipe', kind=tarfile.FIFOTYPE)), 'FIFO'),
    ('archive-duplicate-manifest', lambda es: es + [Entry('manifest.json', b'[]')], 'manifest.json'),
    ('archive-duplicate-dot-slash', lambda es: es + [Entry('./manifest.json', b'[]')], 'manifest.json'),
    ('archive-manifest-deep', lambda es: with_manifest_json(es, nested(DEEP).encode()), 'nested deeper than 64 levels'),
    ('archive-manifest-not-json', lambda es: with_manifest_json(es, b'[{"Config": '), 'not valid JSON'),
    ('archive-manifest-object', lambda es: with_manifest_json(es, b'{}'), 'not a JSON list'),
    ('archive-manifest-empty-list', lambda es: with_manifest_json(es, b'[]'), 'holds no image'),
    ('archive-manifest-huge', lambda es: with_manifest_json(es, b'[' + b' ' * (20 * 1024 * 1024) + b']'), 'limit'),
    ('archive-manifest-config-traversal', lambda es: with_manifest_json(es, json.dumps(
        [{'Config': '../outside/canary', 'RepoTags': [], 'Layers': []}]).encode()), 'canary'),
    ('archive-manifest-layer-missing', lambda es: with_manifest_json(es, json.dumps(
        [{'Config': [e.name for e in es if e.name.endswith('.json') and '/' not in e.name and e.name != 'manifest.json'][0],
          'RepoTags': [], 'Layers': ['nope/layer.tar', 'nope2/layer.tar']}]).encode()), 'nope/layer.tar'),
    ('archive-no-manifest', lambda es: [e for e in es if e.name != 'manifest.json'], 'manifest.json'),
    ('archive-config-deep', lambda es: [Entry(e.name, nested(DEEP).encode()) if e.name.endswith('.json') and '/' not in e.name
                                        and e.name != 'manifest.json' else e for e in es], 'nested deeper than 64 levels'),
    ('archive-layer-corrupt', lambda es: [Entry(e.name, b'x' * len(e.data)) if e.name.endswith('.tar') and '/' not in e.name else e for e in es],
     'digest'),
    ('archive-too-many-members', add(*[Entry('junk/%d' % n, b'') for n in range(100001)]), 'more than 100000 entries'),
]:
    archive_case(ident, lambda box, edit=edit: edited_archive(box, edit), expect)


def lying(box: Box, grow: int) -> str:
    entries = archive_entries(box.base.docker_archive)
    name = [e.name for e in entries if e.name.endswith('.tar') and '/' not in e.name][0]
    size = [len(e.data) for e in entries if e.name == name][0]
    raw = tar_bytes([dataclasses.replace(e, size=size + grow) if e.name == name else e for e in entries])
    return docker_archive(box, raw=raw)


archive_case('archive-size-lies-past-end', lambda box: lying(box, 1 << 30), 'bytes')
archive_case('archive-size-lies-short', lambda box: lying(box, -512), 'has no manifest.json')
archive_case('archive-trailing-garbage', lambda box: docker_archive(
    box, raw=tar_bytes(archive_entries(box.base.docker_archive), end=False) + b'garbage!' * 64), 'unreadable data at offset')
archive_case('archive-truncated', lambda box: docker_archive(box, raw=box.base.docker_archive.read_bytes()[:5000]), 'is truncated')
archive_case('archive-empty-file', lambda box: docker_archive(box, raw=b''), 'is not a tar archive: empty file')
archive_case('archive-not-tar', lambda box: docker_archive(box, raw=b'PK\x03\x04 a zip file, not a tar' * 100), 'is not a tar archive')
archive_case('archive-directory', lambda box: (box.inp / 'adir').mkdir() or str(box.inp / 'adir'), 'directory')
archive_case('archive-missing', lambda box: str(box.inp / 'absent.tar'), 'does not exist')
archive_case('archive-gzip-truncated', lambda box: docker_archive(box, raw=truncated_gzip(box.base.docker_archive.read_bytes())), 'cannot decompress (gzip)')
archive_case('archive-gzip-garbage', lambda box: docker_archive(box, raw=b'\x1f\x8b\x08\x00' + b'\xff' * 4000), 'cannot decompress (gzip)')
archive_case('archive-bzip2-garbage', lambda box: docker_archive(box, raw=b'BZh9' + b'\x00' * 4000), 'cannot decompress (bzip2)')
archive_case('archive-xz-garbage', lambda box: docker_archive(box, raw=b'\xfd7zXZ\x00' + b'\x00' * 4000), 'cannot decompress (xz)')
archive_case('archive-zstd-garbage', lambda box: docker_archive(box, raw=b'\x28\xb5\x2f\xfd' + b'\xff' * 4000), 'cannot decompress (zstd)')
# A zstd frame that asks for a 2 GiB window: refused by the decoder's memory limit, not allocated.
archive_case('archive-zstd-huge-window', lambda box: docker_archive(box, raw=b'\x28\xb5\x2f\xfd\x00\xa8\x01\x00\x00' + b'\x00' * 64),
             'Frame requires too much memory')


def truncated_gzip(data: bytes) -> bytes:
    compressed = gzip.compress(data)
    return compressed[:len(compressed) // 2]


def bomb(algorithm: str) -> bytes:
    """A compressed stream of zeros that expands more than a thousandfold (well past the bound)."""
    size = 2 * 1024 * 1024 * 1024
    chunk = b'\0' * (1024 * 1024)
    if algorithm == 'gzip':
        compressor = zlib_gzip()
        return b''.join([compressor.compress(chunk) for dummy in range(size // len(chunk))] + [compressor.flush()])
    if algorithm == 'bzip2':
        return bz2.compress(b'\0' * (64 * 1024 * 1024), 9) * 40
    if algorithm == 'xz':
        return lzma.compress(b'\0' * (256 * 1024 * 1024)) * 8
    import zstandard
    return zstandard.ZstdCompressor(level=19).compress(b'\0' * (256 * 1024 * 1024)) * 8


def zlib_gzip() -> t.Any:
    import zlib
    return zlib.compressobj(9, zlib.DEFLATED, 31)


@pytest.fixture(scope='session')
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp('bombs')
    out = {}
    for algorithm in ('gzip', 'zstd', 'bzip2', 'xz'):
        out[algorithm] = root / algorithm
        out[algorithm].write_bytes(bomb(algorithm))
    return out


for algorithm in ('gzip', 'zstd', 'bzip2', 'xz'):
    archive_case('archive-%s-bomb' % algorithm, lambda box, algorithm=algorithm: str(box.base.bombs[algorithm]), 'expands more than 100 times')


# -- oci-archive -------------------------------------------------------------------------------

def oci_archive_case(ident: str, make: t.Callable[[Box], str], expect: str = '', accept: bool = False) -> None:
    case(ident, 'image_copy', copy_to_out(lambda box: 'oci-archive:%s:v1' % make(box)), expect, accept=accept)


oci_archive_case('oci-archive-plain-works', lambda box: oci_archive_from(copy_layout(box)), accept=True)
for ident, extra, expect in [
    ('oci-archive-symlink-inside', [Entry('blobs/alias', kind=tarfile.SYMTYPE, linkname='sha256')], 'link'),
    ('oci-archive-symlink-outside', [Entry('evil', kind=tarfile.SYMTYPE, linkname='../../outside/canary')], 'link'),
    ('oci-archive-hardlink', [Entry('evil', kind=tarfile.LNKTYPE, linkname='index.json')], 'link'),
    ('oci-archive-traversal', [Entry('../../outside/evil', b'x')], 'has a ".." path component'),
    ('oci-archive-absolute', [Entry('/etc/evil', b'x')], 'has an absolute path'),
    ('oci-archive-duplicate-index', [Entry('index.json', b'{}')], 'index.json'),
    ('oci-archive-device', [Entry('dev/null', kind=tarfile.CHRTYPE)], 'device; image archives hold only regular files and directories'),
]:
    oci_archive_case(ident, lambda box, extra=extra: oci_archive_from(copy_layout(box), extra), expect)


def oci_archive_with_index(raw: bytes) -> t.Callable[[Box], str]:
    def make(box: Box) -> str:
        layout = copy_layout(box)
        (layout / 'index.json').write_bytes(raw)
        return oci_archive_from(layout)
    return make


oci_archive_case('oci-archive-index-deep', oci_archive_with_index(nested(DEEP).encode()), 'nested deeper than 64 levels')
oci_archive_case('oci-archive-index-not-json', oci_archive_with_index(b'{'), 'not valid JSON')
oci_archive_case('oci-archive-index-huge', oci_archive_with_index(b'{"a": "' + b'x' * (5 * 1024 * 1024) + b'"}'), 'limit')


# -- auth files and credential helpers -------------------------------------------------------

def login(authfile: t.Callable[[Box], str], **extra: t.Any) -> t.Callable[[Box], dict[str, t.Any]]:
    return lambda box: dict(registry='registry.invalid', username='u', password='hunter2secret', verify=False, authfile=authfile(box), **extra)


def auth_file(content: bytes) -> t.Callable[[Box], str]:
    def make(box: Box) -> str:
        path = box.inp / 'auth.json'
        path.write_bytes(content)
        return str(path)
    return make


def encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


for ident, make, expect in [
    ('auth-fifo', lambda box: str(fifo(box.inp / 'auth.json')), 'is not a regular file (a FIFO)'),
    ('auth-dev-zero', const('/dev/zero'), 'is not a regular file (a character device)'),
    ('auth-dev-zero-symlink', lambda box: ((box.inp / 'auth.json').symlink_to('/dev/zero'), str(box.inp / 'auth.json'))[-1],
     'is not a regular file (a character device)'),
    ('auth-socket', lambda box: str(unix_socket(box.inp / 'auth.json')), 'is not a regular file (a socket)'),
    ('auth-directory', lambda box: ((box.inp / 'auth.json').mkdir(), str(box.inp / 'auth.json'))[-1], 'is not a regular file (a directory)'),
    ('auth-huge-sparse', lambda box: str(sparse(box.inp / 'auth.json', 1 << 40)), 'limit'),
    ('auth-deep-array', auth_file(nested(DEEP).encode()), 'nested deeper than 64 levels'),
    ('auth-deep-auths', auth_file(('{"auths": %s}' % deep_object(DEEP)).encode()), 'nested deeper than 64 levels'),
    ('auth-not-json', auth_file(b'{"auths": {"x": {"auth": "hunter2secret"'), 'not valid JSON'),
    ('auth-invalid-utf8', auth_file(b'{"auths": {"\xff": {}}}'), 'not UTF-8'),
    ('auth-top-array', auth_file(b'[]'), 'not a JSON object'),
    ('auth-auths-string', auth_file(b'{"auths": "hunter2secret"}'), '"auths" is not a JSON object'),
    ('auth-entry-not-object', auth_file(b'{"auths": {"registry.invalid": "hunter2secret"}}'), 'in "auths" is not a JSON object'),
    ('auth-helpers-not-object', auth_file(b'{"credHelpers": ["x"]}'), 'credHelpers'),
    ('auth-store-not-string', auth_file(b'{"credsStore": 5}'), 'credsStore'),
]:
    case(ident, 'registry_login', login(make), expect)


def helper_path(behaviour: str) -> t.Callable[[Box], dict[str, str]]:
    def make(box: Box) -> dict[str, str]:
        bin_dir = box.root / 'bin'
        bin_dir.mkdir(exist_ok=True)
        script = bin_dir / 'docker-credential-evil'
        script.write_text('#!/bin/sh\n' + behaviour + '\n')
        script.chmod(0o755)
        return {'PATH': '%s:%s' % (bin_dir, os.environ.get('PATH', ''))}
    return make


def at_registry(box: Box, document: dict[str, t.Any]) -> dict[str, t.Any]:
    """Inspect an image of the test bed's registry (it answers 401, so credentials are looked up) with this auth file."""
    path = box.inp / 'auth.json'
    path.write_text(json.dumps(document).replace('REGISTRY', box.base.registry.host))
    return dict(image='docker://%s/app:v1' % box.base.registry.host, authfile=str(path), cert_dir=str(box.base.registry.cert_dir), timeout=10)


def inspect_with_helper(box: Box) -> dict[str, t.Any]:
    return at_registry(box, {'credHelpers': {'REGISTRY': 'evil'}})


for ident, behaviour, expect in [
    ('helper-floods-stdout', 'cat /dev/zero', 'more than 1048576 bytes'),
    ('helper-floods-stderr', 'cat /dev/zero >&2', 'more than 1048576 bytes'),
    ('helper-deep-json', "head -c 200000 /dev/zero | tr '\\0' '['", 'not JSON'),
    ('helper-not-json', 'echo "Username=hunter2secret"', 'not JSON'),
    ('helper-json-array', 'echo "[]"', 'not an object'),
    ('helper-fails', 'echo "keychain locked"; exit 3', 'exit status 3'),
]:
    case(ident, 'image_inspect', inspect_with_helper, expect, env=helper_path(behaviour))

case('auth-helper-name-is-a-path', 'image_inspect', lambda box: at_registry(box, {'credHelpers': {'REGISTRY': '../../bin/sh'}}),
     'names an invalid credential helper')
case('auth-store-name-is-a-path', 'image_inspect', lambda box: at_registry(box, {'credsStore': '/bin/sh'}), 'names an invalid credential helper')
case('auth-entry-bad-base64', 'image_inspect', lambda box: at_registry(box, {'auths': {'REGISTRY': {'auth': 'hunter2secret!!'}}}), 'base64')
case('auth-entry-deep', 'image_inspect', lambda box: at_registry(box, {'auths': {'REGISTRY': json.loads(nested(70))}}),
     'nested deeper than 64 levels')
case('auth-symlinked-file-works', 'registry_login', login(
    lambda box: (auth_file(b'{"auths": {}}')(box), (box.inp / 'link.json').symlink_to('auth.json'), str(box.inp / 'link.json'))[-1]),
    accept=True, changes=('in/auth.json', 'in/auth.json.lock'))


# -- image_sync: source specs, layouts and names ----------------------------------------------

def sync_file(content: bytes, **extra: t.Any) -> t.Callable[[Box], dict[str, t.Any]]:
    """image_sync of a skopeo YAML file holding ``content`` into the box's layout (out/)."""
    def make(box: Box) -> dict[str, t.Any]:
        path = box.inp / 'sync.yaml'
        path.write_bytes(content)
        return dict(src_type='yaml', src_file=str(path), dest=str(box.out), dest_type='oci', **extra)
    return make


def sync_path(path: t.Callable[[Box], str], **extra: t.Any) -> t.Callable[[Box], dict[str, t.Any]]:
    return lambda box: dict(src_type='yaml', src_file=path(box), dest=str(box.out), dest_type='oci', **extra)


def sync_layout(edit: t.Callable[[Path, Box], t.Any], dest_type: str = 'oci', **extra: t.Any) -> t.Callable[[Box], dict[str, t.Any]]:
    """image_sync from an edited copy of the base layout (every tag) into out/ (``oci``) or in/dest (``dir``)."""
    def make(box: Box) -> dict[str, t.Any]:
        layout = copy_layout(box)
        edit(layout, box)
        dest = str(box.out) if dest_type == 'oci' else str(box.inp / 'dest')
        return dict(src_type='oci', src=str(layout), dest=dest, dest_type=dest_type, **extra)
    return make


def laughs(levels: int) -> bytes:
    """A skopeo YAML file whose tag lists are aliases that expand to 10**levels strings (the "billion laughs")."""
    lines = ['registry.invalid:', '  images:', '    app0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += ['    app%d: &a%d [%s]' % (n, n, ', '.join(['*a%d' % (n - 1)] * 10)) for n in range(1, levels)]
    return '\n'.join(lines).encode()


def named(name: str) -> t.Callable[[Path, Box], None]:
    """A layout edit: the image's one tag becomes ``name``."""
    def edit(layout: Path, box: Box) -> None:
        entry = json.loads((layout / 'index.json').read_bytes())['manifests'][0]
        entry['annotations'] = {REF_NAME: name}
        write_index(layout, [entry])
    return edit


for ident, build, expect in [
    ('sync-file-dev-zero', sync_path(const('/dev/zero')), 'is not a regular file (a character device)'),
    ('sync-file-fifo', sync_path(lambda box: str(fifo(box.inp / 'sync.yaml'))), 'is not a regular file (a FIFO)'),
    ('sync-file-huge-sparse', sync_path(lambda box: str(sparse(box.inp / 'sync.yaml', 1 << 40))), 'limit'),
    ('sync-file-missing', sync_path(lambda box: str(box.inp / 'absent.yaml')), 'absent.yaml'),
    ('sync-yaml-billion-laughs', sync_file(laughs(9)), 'must be a string, not a list'),
    ('sync-yaml-deep', sync_file(('registry.invalid: ' + nested(DEEP)).encode()), 'is not valid YAML: exceeded maximum nesting depth'),
    ('sync-yaml-python-object', sync_file(b'registry.invalid: !!python/object/apply:os.system ["touch in/pwned"]'),
     'could not determine a constructor for the tag'),
    ('sync-yaml-not-mapping', sync_file(b'- registry.invalid\n- app\n'), 'must be a mapping of registries, not a list'),
    ('sync-yaml-not-utf8', sync_file(b'registry.invalid: {images: {"\xff": []}}'), 'is not valid YAML: it is not UTF-8 text (byte 0xff at offset'),
    ('sync-yaml-duplicate-key', sync_file(b'registry.invalid: {images: {a: []}}\nregistry.invalid: {images: {b: []}}\n'),
     'mapping key "registry.invalid" is repeated'),
    ('sync-yaml-registry-traversal', sync_file(b'../../outside: {images: {app: []}}\n'), 'invalid domain ".."'),
    ('sync-yaml-regex-backreference', sync_file(b'registry.invalid: {images-by-tag-regex: {app: "(a)\\\\1"}}\n'), 'backreference'),
    ('sync-yaml-regex-huge', sync_file(('registry.invalid: {images-by-tag-regex: {app: "%s"}}\n' % ('a' * 10000)).encode()),
     'it is longer than 4096 characters'),
    ('sync-yaml-semver-garbage', sync_file(b'registry.invalid: {images-by-semver: {app: ">>=1.0"}}\n'), 'invalid semver constraint ">>=1.0"'),
    ('sync-tag-regex-lookahead', lambda box: dict(src='registry.invalid/app', dest=str(box.out), dest_type='oci',
                                                  tag_regex='^(?=v)'), 'lookahead'),
    ('sync-layout-index-deep', sync_layout(lambda lay, box: (lay / 'index.json').write_text(nested(DEEP))), 'nested deeper than 64 levels'),
    ('sync-layout-index-dev-zero', sync_layout(lambda lay, box: replace_with_link(lay / 'index.json', '/dev/zero')),
     'is not a regular file (a character device)'),
    ('sync-layout-name-traversal-into-dir', sync_layout(named('../../outside/evil:v1'), dest_type='dir'),
     '"../../outside/evil:v1" is not a valid image ref name'),
    ('sync-layout-name-absolute-into-dir', sync_layout(named('/tmp/evil:v1'), dest_type='dir'), '"/tmp/evil:v1" is not a valid image ref name'),
    ('sync-layout-name-control-chars', sync_layout(named('app\n\x1b[31m:v1')), '"app\\n\\x1b[31m:v1" is not a valid image ref name'),
    ('sync-mapping-dest-traversal-into-dir', lambda box: dict(mapping=[{'src': 'registry.invalid/app:v1', 'dest': '../outside/x'}],
                                                              dest=str(box.inp / 'dest'), dest_type='dir'), 'invalid path component ".."'),
    ('sync-dest-is-a-file', lambda box: dict(src_type='oci', src=str(box.base.layout), dest=str((box.inp / 'file').write_bytes(b'x') and
                                                                                                box.inp / 'file'), dest_type='oci'),
     'it exists and is not a directory'),
]:
    case(ident, 'image_sync', build, expect)


# -- image_sign: files it reads ---------------------------------------------------------------

_KEYRING: dict[str, t.Any] = {}


def public_keyring(box: Box) -> tuple[Path, str]:
    """A real public keyring and its key's fingerprint, made once (in the first case's box, kept for the session)."""
    if not _KEYRING:
        with GpgHome(box.root.parent / 'gnupg') as home:
            fingerprint = home.generate_key('corpus <corpus@example.com>')
            _KEYRING.update(path=home.export_to(box.root.parent / 'public.gpg', fingerprint), fingerprint=fingerprint)
    return _KEYRING['path'], _KEYRING['fingerprint']


def standalone_verify(**files: t.Callable[[Box], str]) -> t.Callable[[Box], dict[str, t.Any]]:
    """image_sign standalone_verify with a real key and manifest; each of manifest, signature and keys may be replaced by hostile input."""
    def make(box: Box) -> dict[str, t.Any]:
        box.inp.mkdir(parents=True, exist_ok=True)
        keyring, fingerprint = public_keyring(box)
        manifest = box.inp / 'manifest.json'
        manifest.write_bytes(blob_file(box.base.layout, box.base.manifest_digest).read_bytes())
        signature = box.inp / 'signature'
        # An OpenPGP compressed-data packet header followed by junk.
        signature.write_bytes(b'\xa3\x01' + b'x' * 100)
        paths = {'manifest': str(manifest), 'signature': str(signature), 'keys': str(keyring)}
        paths.update({name: make(box) for name, make in files.items()})
        return dict(action='standalone_verify', manifest=paths['manifest'], signature=paths['signature'], keys=[paths['keys']],
                    docker_reference='example.com/app:v1', fingerprints=[fingerprint])
    return make


for ident, build, expect in [
    ('sign-manifest-dev-zero', standalone_verify(manifest=const('/dev/zero')), 'is not a regular file (a character device)'),
    ('sign-manifest-huge-sparse', standalone_verify(manifest=lambda box: str(sparse(box.inp / 'big.json', 1 << 40))), 'limit'),
    ('sign-keys-garbage', standalone_verify(keys=lambda box: ((box.inp / 'junk.gpg').write_bytes(b'\x99\x00\x00'), str(box.inp / 'junk.gpg'))[-1]),
     'holds no OpenPGP public key'),
    ('sign-signature-fifo', standalone_verify(signature=lambda box: str(fifo(box.inp / 'sig.fifo'))), 'is not a regular file (a FIFO)'),
    ('sign-signature-huge-sparse', standalone_verify(signature=lambda box: str(sparse(box.inp / 'big.sig', 1 << 40))), 'limit'),
    ('sign-signature-garbage', standalone_verify(), 'the signature blob is not a valid OpenPGP signed message'),
    ('sign-keys-dev-zero', standalone_verify(keys=const('/dev/zero')), 'GPG keyring "/dev/zero" is not a regular file (a character device)'),
    ('sign-keys-huge-sparse', standalone_verify(keys=lambda box: str(sparse(box.inp / 'big.gpg', 1 << 40))), 'limit'),
]:
    case(ident, 'image_sign', build, expect)


# -- docker-daemon: and containers-storage: (references, daemon hosts, and a hostile engine) ---------

for ident, text, expect in [
    ('daemon-ref-empty', 'docker-daemon:', 'expected NAME:TAG, NAME@DIGEST or sha256:ID'),
    ('daemon-ref-no-tag', 'docker-daemon:busybox', 'it has neither a tag nor a digest (write "busybox:latest")'),
    ('daemon-ref-short-id', 'docker-daemon:sha256:abc', 'the repository name sha256 is reserved for image IDs'),
    ('daemon-ref-sha512-id', 'docker-daemon:sha512:' + 'a' * 128, 'only sha256 image IDs are accepted'),
    ('daemon-ref-bare-id', 'docker-daemon:' + 'a' * 64, 'a 64-character hexadecimal string is an image ID, not a repository name'),
    ('daemon-ref-tag-and-digest', 'docker-daemon:busybox:1@sha256:' + 'a' * 64, 'a tag and a digest at once are not supported'),
    ('daemon-ref-uppercase', 'docker-daemon:UPPER:1', 'repository name must be lowercase'),
    ('storage-ref-empty', 'containers-storage:', 'no image is named'),
    ('storage-ref-relative-root', 'containers-storage:[vfs@relative]busybox', 'the store\'s graph root "relative" is not an absolute path'),
    ('storage-ref-relative-runroot', 'containers-storage:[vfs@/x+relative]b', 'the store\'s run root "relative" is not an absolute path'),
    ('storage-ref-unclosed', 'containers-storage:[vfs@/x', 'the store specifier has no closing "]"'),
    ('storage-ref-empty-store', 'containers-storage:[]busybox', 'the store "[]" is empty'),
    ('storage-ref-bad-digest', 'containers-storage:busybox@sha256:zz', 'is neither an image ID (all 64 hex digits) nor a digest'),
    ('storage-ref-short-id', 'containers-storage:@abc', '"abc" is neither an image ID'),
    ('storage-ref-nul', 'containers-storage:\x00', 'invalid character "\\x00"'),
]:
    case(ident, 'image_inspect', inspect(const(text)), expect)


def daemon_inspect(host: t.Callable[[Box], str], image: str = 'docker-daemon:example.test/a:1') -> t.Callable[[Box], dict[str, t.Any]]:
    return lambda box: dict(image=image, daemon_host=host(box))


def regular_file(box: Box) -> str:
    (box.inp / 'not-a-socket').write_bytes(b'x')
    return 'unix://%s' % (box.inp / 'not-a-socket')


for ident, build, expect in [
    ('daemon-host-scheme', daemon_inspect(const('ssh://example.com')), 'ssh://example.com'),
    ('daemon-host-regular-file', daemon_inspect(regular_file), 'not-a-socket'),
    ('daemon-host-fifo', daemon_inspect(lambda box: 'unix://%s' % fifo(box.inp / 'engine.fifo')), 'engine.fifo'),
    ('daemon-host-dead-socket', daemon_inspect(lambda box: 'unix://%s' % unix_socket(box.inp / 'dead.sock')), 'dead.sock'),
    ('daemon-host-missing', daemon_inspect(lambda box: 'unix://%s' % (box.inp / 'missing.sock')), 'does not exist'),
    ('daemon-host-refused-tcp', daemon_inspect(const('http://127.0.0.1:1')), '127.0.0.1:1'),
    ('storage-host-dead-socket', daemon_inspect(lambda box: 'unix://%s' % unix_socket(box.inp / 'dead.sock'), 'containers-storage:example.test/a:1'),
     'dead.sock'),
]:
    case(ident, 'image_inspect', build, expect)


class HostileEngine:
    """A Docker Engine / libpod API on a unix socket that answers with ``answers``: {path prefix: (status, headers, body)}.

    ``/_ping`` answers as a Podman service would (API and libpod versions) unless ``answers`` says otherwise; a body may be
    an iterable of chunks (streamed). The server lives as long as the test process (a daemon thread); each case makes its own.
    """

    def __init__(self, path: Path, answers: dict[str, t.Any]) -> None:
        answers = dict(answers)
        answers.setdefault('/_ping', (200, {'Api-Version': '1.41', 'Libpod-API-Version': '4.3.1'}, b'OK'))

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args: t.Any) -> None:  # quiet
                pass

            def address_string(self) -> str:
                return 'engine'

            def do_GET(self) -> None:  # noqa: N802  # http.server's naming
                path = self.path.split('?')[0]
                for prefix, (status, headers, body) in sorted(answers.items(), key=lambda item: -len(item[0])):
                    if path.endswith(prefix) or path == prefix:
                        break
                else:
                    status, headers, body = 404, {}, b'{"message": "no such thing"}'
                if callable(body):
                    body = body()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if isinstance(body, bytes):
                    if 'Content-Length' not in headers:
                        self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_header('Transfer-Encoding', 'chunked')
                self.end_headers()
                try:
                    for chunk in body:
                        if chunk is None:  # the connection drops here: no last chunk
                            self.close_connection = True
                            return
                        self.wfile.write(b'%x\r\n%s\r\n' % (len(chunk), chunk))
                    self.wfile.write(b'0\r\n\r\n')
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        if path.exists():
            path.unlink()
        cwd = os.getcwd()
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chdir(path.parent)  # socket paths are limited to 107 bytes
        try:
            self.server = Server(path.name, Handler)
        finally:
            os.chdir(cwd)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.host = 'unix://%s' % path


def engine(answers: dict[str, t.Any], image: str = 'docker-daemon:example.test/a:1', module_args: t.Any = None) -> t.Callable[[Box], dict[str, t.Any]]:
    def make(box: Box) -> dict[str, t.Any]:
        host = HostileEngine(box.inp / 'engine.sock', answers).host
        if module_args is not None:
            return module_args(box, host)
        return dict(image=image, daemon_host=host)
    return make


def record_of(image_id: t.Any, size: t.Any = 1000) -> bytes:
    return json.dumps({'Id': image_id, 'Size': size, 'RepoTags': ['example.test/a:1']}).encode()


def endless(chunk: bytes = b'\0' * 65536) -> t.Iterator[bytes]:
    while True:
        yield chunk


ID = 'sha256:' + 'c' * 64
JSON = {'Content-Type': 'application/json'}

case('engine-not-podman', 'image_inspect', engine({'/_ping': (200, {'Api-Version': '1.41'}, b'OK')}, image='containers-storage:example.test/a:1'),
     'is not a Podman service')

for ident, answers, expect in [
    ('engine-ping-500', {'/_ping': (500, JSON, b'{"message": "broken"}')}, 'did not answer its ping (HTTP 500'),
    ('engine-record-not-json', {'/json': (200, JSON, b'<html>')}, 'with something that is not a JSON object'),
    ('engine-record-array', {'/json': (200, JSON, b'[1, 2]')}, 'with something that is not a JSON object'),
    ('engine-record-bad-id', {'/json': (200, JSON, record_of('not-a-digest'))}, 'not a sha256:... digest'),
    ('engine-record-huge', {'/json': (200, JSON, lambda: endless(b' ' * 65536))}, 'byte limit'),
    ('engine-record-deep', {'/json': (200, JSON, deep_object(DEEP).encode())}, 'not a JSON object'),
    ('engine-inspect-refused', {'/json': (403, JSON, b'{"message": "forbidden \\u001b[31m"}')}, 'refused (HTTP 403)'),
]:
    case(ident, 'image_inspect', engine(answers), expect)

for ident, answers, expect in [
    # The record says a small image; the export does not end: the spool is bounded by the record's size.
    ('engine-export-endless', {'/json': (200, JSON, record_of(ID, 10)), '/get': (200, {}, endless)}, 'the daemon sent more than'),
    ('engine-export-not-tar', {'/json': (200, JSON, record_of(ID)), '/get': (200, {}, b'this is not a tar archive')}, 'is not a tar archive'),
    ('engine-export-dropped', {'/json': (200, JSON, record_of(ID)), '/get': (200, {}, lambda: iter([b'\0' * 4096, None]))},
     'peer closed connection without sending complete message body'),
    ('engine-export-500', {'/json': (200, JSON, record_of(ID)), '/get': (500, JSON, b'{"cause": "disk", "message": "export failed"}')},
     'export failed'),
]:
    case(ident, 'image_copy', engine(answers, module_args=lambda box, host: dict(src='docker-daemon:example.test/a:1', src_daemon_host=host,
                                                                                 dest='oci:%s:new' % box.out)), expect)


# ---------------------------------------------------------------------------------------------

def test_corpus_is_large_and_unique() -> None:
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)
    assert all(c.expect for c in CASES if not c.accept), [c.id for c in CASES if not c.accept and not c.expect]


@pytest.mark.parametrize('hostile', CASES, ids=[c.id for c in CASES])
def test_case(hostile: Case, base: Base, bombs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> None:
    base.bombs = bombs
    # Not tmp_path: its name holds the case id, and a message quoting the path would match any expectation.
    run_case(hostile, Box(tmp_path_factory.mktemp('case') / 'box', base))
