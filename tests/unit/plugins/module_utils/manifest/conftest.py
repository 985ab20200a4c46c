# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures for the manifest tests: tiny images on disk, and skopeo to compare conversions with.

Images are written in the layouts skopeo reads: ``oci:`` (an OCI image layout) and ``dir:``
(manifest.json, blobs named by their hex digest, ``<hex>.manifest.json`` for list children).
The interop tests run ``skopeo copy`` on them and compare its bytes with ours; they are skipped
when skopeo is not installed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

import pytest

SKOPEO = shutil.which('skopeo')


def sha256(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def tar_bytes(files):
    """A reproducible tar of ``{name: bytes}``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w', format=tarfile.PAX_FORMAT) as archive:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


class ImageStore:
    """Blobs and manifests for one test, written as an OCI layout or a dir: directory."""

    def __init__(self, root):
        self.root = root
        self.blobs = {}

    def add(self, data):
        digest = sha256(data)
        self.blobs[digest] = data
        return digest

    def descriptor(self, media_type, data, **extra):
        out = {'mediaType': media_type, 'digest': self.add(data), 'size': len(data)}
        out.update(extra)
        return out

    def layer(self, files, compress=True):
        """(tar bytes, blob bytes) of a layer holding ``files``."""
        plain = tar_bytes(files)
        blob = gzip.compress(plain, mtime=0) if compress else plain
        self.add(blob)
        return plain, blob

    def write_oci(self, name, top_raw, top_media_type, ref='t'):
        """An OCI layout at root/name whose index.json tags ``top_raw`` as ``ref``."""
        path = os.path.join(self.root, name)
        os.makedirs(os.path.join(path, 'blobs', 'sha256'), exist_ok=True)
        self.add(top_raw)
        for digest, data in self.blobs.items():
            with open(os.path.join(path, 'blobs', 'sha256', digest[7:]), 'wb') as handle:
                handle.write(data)
        index = {'schemaVersion': 2, 'manifests': [{'mediaType': top_media_type, 'digest': sha256(top_raw), 'size': len(top_raw),
                                                    'annotations': {'org.opencontainers.image.ref.name': ref}}]}
        with open(os.path.join(path, 'index.json'), 'w', encoding='utf-8') as handle:
            json.dump(index, handle)
        with open(os.path.join(path, 'oci-layout'), 'w', encoding='utf-8') as handle:
            handle.write('{"imageLayoutVersion":"1.0.0"}')
        return 'oci:%s:%s' % (path, ref)

    def write_dir(self, name, manifest_raw, children=()):
        """A dir: image at root/name: ``manifest_raw`` plus child manifests (for lists)."""
        path = os.path.join(self.root, name)
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, 'manifest.json'), 'wb') as handle:
            handle.write(manifest_raw)
        for child in children:
            with open(os.path.join(path, sha256(child)[7:] + '.manifest.json'), 'wb') as handle:
                handle.write(child)
        for digest, data in self.blobs.items():
            with open(os.path.join(path, digest[7:]), 'wb') as handle:
                handle.write(data)
        with open(os.path.join(path, 'version'), 'w', encoding='utf-8') as handle:
            handle.write('Directory Transport Version: 1.1\n')
        return 'dir:' + path


class DirImage:
    """What skopeo wrote to a dir: destination."""

    def __init__(self, path):
        self.path = path

    @property
    def manifest(self):
        return self.read('manifest.json')

    def read(self, name):
        with open(os.path.join(self.path, name), 'rb') as handle:
            return handle.read()

    def blob(self, digest):
        return self.read(str(digest)[7:])

    def child(self, digest):
        return self.read(str(digest)[7:] + '.manifest.json')


class Skopeo:
    """Runs ``skopeo copy`` into dir: destinations under a test's temporary directory."""

    def __init__(self, root):
        self.root = root
        self.count = 0

    def copy(self, source, *options):
        self.count += 1
        path = os.path.join(self.root, 'skopeo-out-%d' % self.count)
        env = dict(os.environ, TMPDIR=self.root)
        result = subprocess.run([SKOPEO, '--insecure-policy', 'copy', '-q'] + list(options) + [source, 'dir:' + path],
                                capture_output=True, text=True, env=env, check=False, timeout=120)
        if result.returncode != 0:
            raise AssertionError('skopeo copy failed: %s' % result.stderr.strip())
        return DirImage(path)

    def inspect_digest(self, source):
        result = subprocess.run([SKOPEO, '--insecure-policy', 'inspect', source], capture_output=True, text=True, check=False, timeout=60)
        if result.returncode != 0:
            raise AssertionError('skopeo inspect failed: %s' % result.stderr.strip())
        return json.loads(result.stdout)['Digest']


@pytest.fixture
def store(tmp_path):
    return ImageStore(str(tmp_path))


@pytest.fixture
def skopeo(tmp_path):
    if SKOPEO is None:
        pytest.skip('skopeo is not installed: the interop tests compare our conversions with skopeo copy --format')
    return Skopeo(str(tmp_path))
