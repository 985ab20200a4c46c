# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Podman's libpod API, spoken by the docker-daemon transport's EngineClient (same hosts, TLS, errors, streaming).

Default socket, as Podman's own remote client finds it: ``unix:///run/podman/podman.sock`` for root,
``unix://$XDG_RUNTIME_DIR/podman/podman.sock`` (``/run/user/UID/...`` when unset) for other users.

libpod routes exist only under a version prefix: requests go to ``/v<Libpod-API-Version>/libpod/...``, the
version the service gives in its ``/_ping`` answer; a daemon without that header is not Podman (a Docker
daemon: use ``docker-daemon:``) and is refused.

Endpoints (Podman 4): ``GET /libpod/info`` (its ``store``: graphDriverName, graphRoot, runRoot),
``GET /libpod/images/{name}/json`` (the record; ``Id`` is the config digest's hex, without ``sha256:``),
``GET /libpod/images/{name}/get?format=docker-archive`` (the export) and ``POST /libpod/images/load``
(answers ``{"Names": [...]}``; a failure is HTTP 500 ``{cause, message}``); for image_delete
``GET /libpod/containers/json?all=true&filters={"ancestor":[ID]}``, ``POST /libpod/images/{ID}/untag`` and
``DELETE /libpod/images/{ID}``.

Why docker-archive both ways: it carries the config byte for byte (the image ID stays the same) and the
layers as the uncompressed tars the diff_ids name, and its ``RepoTags`` give the loaded image its name. An
oci-archive export of an image stored from a Docker schema2 manifest is converted to OCI, config included,
which changes the image ID (seen with Podman 4.3: the exported config is not the stored one).
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import typing as t
import urllib.parse

from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError, ServerError, quote
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker_daemon.client import LOAD_TIMEOUT_FACTOR, EngineClient, parse_json

#: The largest container list read (image_delete asks which containers use an image).
MAX_LIST_SIZE = 16 * 1024 * 1024

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
    from ansible_collections.ocikit.images.plugins.module_utils.transports.containers_storage.transport import StoreSpec

ROOT_SOCKET = '/run/podman/podman.sock'
_LIBPOD_VERSION_RE = re.compile(r'[0-9]+\.[0-9]+(\.[0-9]+)?')
START_HINT = ('start Podman\'s API service (systemctl start podman.socket; systemctl --user start podman.socket for a rootless user; '
              'or podman system service --time=0 %s), or name another service with daemon_host')


def default_socket() -> str:
    """Podman's socket for this user: root's, or the rootless one in ``$XDG_RUNTIME_DIR``."""
    if os.geteuid() == 0:
        return ROOT_SOCKET
    runtime = os.environ.get('XDG_RUNTIME_DIR') or '/run/user/%d' % os.getuid()
    return posixpath.join(runtime, 'podman', 'podman.sock')


class LibpodClient(EngineClient):
    """One Podman service, its libpod endpoints; ``store`` (a bracketed store of the reference) must be the service's."""

    daemon_name = 'Podman service'
    start_hint = START_HINT
    socket_group_hint = ''

    def __init__(self, host: str | None, options: 'ConnectionOptions', store: 'StoreSpec | None' = None, transport: t.Any = None) -> None:
        super().__init__(host, options, transport=transport)
        self.store = store
        self._store_checked = store is None
        self._store_info: tuple[str, str, str] | None = None

    @classmethod
    def default_host(cls) -> str:
        """``unix://`` and the socket for this user (:func:`default_socket`)."""
        return 'unix://' + default_socket()

    def version_prefix(self, headers: t.Mapping[str, str]) -> str:
        """``/v<Libpod-API-Version>``; a daemon that gives none does not serve libpod's API."""
        version = headers.get('libpod-api-version', '').strip()
        if not _LIBPOD_VERSION_RE.fullmatch(version):
            raise ConfigError('the daemon at %s is not a Podman service (its ping gives no Libpod-API-Version); a Docker daemon\'s '
                              'images are docker-daemon: references' % self.host)
        return '/v' + version

    def check_store(self) -> None:
        """Once: the bracketed store must be the service's (driver, graph root, and run root when given); a mismatch names both."""
        if self._store_checked or self.store is None:
            return
        driver, root, runroot = self.store_info()
        wanted = self.store
        if ((wanted.driver and wanted.driver != driver) or (wanted.root and posixpath.normpath(wanted.root) != posixpath.normpath(root))
                or (wanted.runroot and posixpath.normpath(wanted.runroot) != posixpath.normpath(runroot))):
            raise ConfigError('the store %s is not the one of the Podman service at %s, which is [%s@%s+%s] (a service has one store: name '
                              'the service of that store with daemon_host, or leave the store out)' % (quote(str(wanted)), self.host, driver, root, runroot))
        self._store_checked = True

    def store_info(self) -> tuple[str, str, str]:
        """The service's store (``GET /libpod/info``, asked once): graph driver, graph root and run root."""
        if self._store_info is None:
            info = self.get_object('/libpod/info', 'cannot read the store of the Podman service')
            record = info.get('store') if isinstance(info, dict) else None
            if not isinstance(record, dict):
                raise ServerError('the Podman service at %s gave no store in GET /libpod/info' % self.host)
            driver, root, runroot = (str(record.get(key) or '') for key in ('graphDriverName', 'graphRoot', 'runRoot'))
            if not driver or not root:
                raise ServerError('the Podman service at %s gave no graph driver or graph root in GET /libpod/info' % self.host)
            self._store_info = (driver, root, runroot)
        return self._store_info

    def image_inspect(self, name: str) -> dict[str, t.Any] | None:
        """``GET /libpod/images/{name}/json``, None when there is no such image; ``Id`` is given as ``sha256:HEX``."""
        self.check_store()
        record = self.get_object('/libpod/images/%s/json' % urllib.parse.quote(name, safe='/:@'),
                                 'cannot inspect %s in the Podman service' % quote(name))
        if record is not None:
            image_id = record.get('Id')
            if isinstance(image_id, str) and ':' not in image_id:
                record['Id'] = 'sha256:' + image_id
        return record

    @contextlib.contextmanager
    def export(self, name: str) -> t.Iterator[t.Iterator[bytes]]:
        """``GET /libpod/images/{name}/get?format=docker-archive``: the image as a docker archive, streamed (``name``: ``sha256:ID`` or a name)."""
        self.check_store()
        name = name[len('sha256:'):] if name.startswith('sha256:') else name
        response = self._send('GET', '/libpod/images/%s/get' % urllib.parse.quote(name, safe='/:@'), params={'format': 'docker-archive'})
        with contextlib.closing(response):
            if response.status_code != 200:
                raise self._failure(response, 'cannot export %s from the Podman service' % quote(name))
            yield self.stream(response)

    def load(self, chunks: t.Iterable[bytes], what: str) -> list[str]:
        """``POST /libpod/images/load`` with a docker archive as the body; the names loaded. A failure raises, naming ``what``."""
        self.check_store()
        response = self._send('POST', '/libpod/images/load', content=chunks, headers={'Content-Type': 'application/x-tar'},
                              timeout=self.timeout * LOAD_TIMEOUT_FACTOR)
        with contextlib.closing(response):
            if response.status_code != 200:
                raise self._failure(response, 'the Podman service did not load %s' % what)
            body = self._read(response)
        answer = parse_json(body)
        names = answer.get('Names') if isinstance(answer, dict) else None
        if not isinstance(names, list):
            raise ServerError('the Podman service at %s answered the load of %s with %s, not {"Names": [...]}'
                              % (self.host, what, quote(body[:200].decode('utf-8', 'replace'))))
        return [str(name) for name in names]

    def containers_of(self, image_id: str) -> list[str]:
        """Names (or short IDs) of the containers, running or not, made from the image ``image_id`` (64 hex digits)."""
        self.check_store()
        response = self._send('GET', '/libpod/containers/json', params={'all': 'true', 'filters': json.dumps({'ancestor': [image_id]})})
        with contextlib.closing(response):
            if response.status_code != 200:
                raise self._failure(response, 'cannot list the containers of the image %s' % image_id)
            body = self._read(response, limit=MAX_LIST_SIZE)
        listed = parse_json(body)
        if not isinstance(listed, list):
            raise ServerError('the Podman service at %s answered the container list with something that is not a JSON array' % self.host)
        found = []
        for entry in listed:
            if isinstance(entry, dict) and str(entry.get('ImageID', '')).replace('sha256:', '') == image_id:
                names = entry.get('Names')
                found.append(str(names[0]) if isinstance(names, list) and names else str(entry.get('Id', ''))[:12])
        return found

    def untag(self, image_id: str, name: str) -> None:
        """``POST /libpod/images/{ID}/untag?repo=REPO&tag=TAG``: remove the name ``REPO:TAG`` from the image (nothing else)."""
        self.check_store()
        repo, _sep, tag = name.rpartition(':')
        response = self._send('POST', '/libpod/images/%s/untag' % image_id, params={'repo': repo, 'tag': tag})
        with contextlib.closing(response):
            if response.status_code not in (200, 201):
                raise self._failure(response, 'the Podman service did not untag %s' % quote(name))
            self._read(response)

    def remove(self, image_id: str) -> None:
        """``DELETE /libpod/images/{ID}`` (not forced: an image with containers is refused by the service, and stays)."""
        self.check_store()
        response = self._send('DELETE', '/libpod/images/%s' % image_id)
        with contextlib.closing(response):
            if response.status_code != 200:
                raise self._failure(response, 'the Podman service did not delete the image %s' % image_id)
            self._read(response)
