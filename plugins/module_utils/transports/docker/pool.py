# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Registry clients shared by many copies: one :class:`RegistryClient` per registry and identity.

A sync copies many images from and to the same few registries. Opening a client per image would
ping every registry and fetch every token again for each image, and spread one registry's rate
limit over clients that know nothing of each other. A :class:`ClientPool` hands out one shared
client per (registry, the connection options that change who we are or how we connect), so that
every copy through it shares one token cache, one connection pool, one rate-limit pause and one
request count. containers/image has no such pool (each skopeo sync copy makes its own
``docker.newImageSource``/``newImageDestination``, and their ``dockerClient``); its token cache is
per client too. The pool is ours; the protocol behaviour of each client is unchanged.

Wiring: put the pool in ``ConnectionOptions.clients``; ``DockerImageReference.new_source`` and
``new_destination`` then take their client from it and leave it open, so copy.execute.copy_image
needs no change. Close the pool (or use it as a context manager) when every copy is done.
"""

from __future__ import annotations

import threading
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import OcikitError
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.client import COUNTED_METHODS, RegistryClient

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions

#: The ConnectionOptions fields that make two clients of one registry different: the identity (and so the
#: credentials and tokens), TLS, and the request policy. Others (max_parallel, shared_blob_dir, registries_d,
#: clients) are not the client's business; a shared client keeps the max_parallel of the options that made it.
KEY_FIELDS = ('username', 'password', 'registry_token', 'authfile', 'tls_verify', 'cert_dir', 'no_creds', 'timeout',
              'retry_times', 'retry_delay', 'max_retry_after', 'user_agent')

ClientFactory = t.Callable[[str, 'ConnectionOptions'], RegistryClient]


def client_key(registry: str, options: 'ConnectionOptions') -> tuple[t.Any, ...]:
    """What a shared client is found by: the registry and the :data:`KEY_FIELDS` of ``options``."""
    return (registry,) + tuple(getattr(options, name) for name in KEY_FIELDS)


def merge_stats(snapshots: t.Iterable[t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """Add up RegistryClient.stats snapshots (``peak_in_flight`` is the largest of them, not a sum)."""
    total: dict[str, t.Any] = {'methods': dict.fromkeys(COUNTED_METHODS, 0)}
    for snapshot in snapshots:
        for key, value in snapshot.items():
            if key == 'methods':
                for method, count in value.items():
                    total['methods'][method] = total['methods'].get(method, 0) + count
            elif key == 'peak_in_flight':
                total[key] = max(total.get(key, 0), value)
            else:
                total[key] = total.get(key, 0) + value
    if 'rate_limit_wait_seconds' in total:
        total['rate_limit_wait_seconds'] = round(total['rate_limit_wait_seconds'], 3)
    return total


class ClientPool:
    """One shared :class:`RegistryClient` per registry and identity; thread-safe; a context manager.

    ``factory`` makes a client (tests pass one on an ``httpx.MockTransport``). A client is made on
    first use and lives until :meth:`close`; sources and destinations never close it. Statistics
    stay readable after :meth:`close`. A pool is never copied: ``copy.copy``, ``copy.deepcopy``
    (and so ``dataclasses.asdict`` of ConnectionOptions) give the same pool back.
    """

    def __init__(self, factory: ClientFactory | None = None) -> None:
        self._factory: ClientFactory = factory or RegistryClient
        self._clients: dict[tuple[t.Any, ...], RegistryClient] = {}
        self._lock = threading.Lock()
        self._closed = False

    def get(self, registry: str, options: 'ConnectionOptions') -> RegistryClient:
        """The shared client for ``registry`` with these options, made on first use (only once, whatever the threads).

        Raises OcikitError once the pool is closed: a client made then would never be closed.
        """
        key = client_key(registry, options)
        with self._lock:
            if self._closed:
                raise OcikitError('the registry client pool is closed (asked for a client of %s)' % registry)
            client = self._clients.get(key)
            if client is None:
                # Made under the lock: two threads asking at once must not ping and log in twice.
                client = self._clients[key] = self._factory(registry, options)
            return client

    def clients(self) -> list[RegistryClient]:
        """Every client made so far, in the order they were made."""
        with self._lock:
            return list(self._clients.values())

    def stats(self) -> dict[str, dict[str, t.Any]]:
        """:meth:`RegistryClient.stats` per registry (clients of one registry with other credentials added up), sorted by registry."""
        by_registry: dict[str, list[dict[str, t.Any]]] = {}
        for client in self.clients():
            by_registry.setdefault(client.registry, []).append(client.stats())
        return {registry: merge_stats(by_registry[registry]) for registry in sorted(by_registry)}

    def totals(self) -> dict[str, t.Any]:
        """Every client's stats added up (the ``requests made`` of a sync summary)."""
        return merge_stats(client.stats() for client in self.clients())

    def close(self) -> None:
        """Close every client; later :meth:`get` calls fail. Closing twice does nothing more."""
        with self._lock:
            self._closed = True
            clients = list(self._clients.values())
        for client in clients:
            client.close()

    def __enter__(self) -> 'ClientPool':
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()

    def __copy__(self) -> 'ClientPool':
        return self

    def __deepcopy__(self, memo: dict[int, t.Any]) -> 'ClientPool':
        return self

    def __repr__(self) -> str:
        # Registries only: the keys hold credentials.
        return 'ClientPool(%s)' % ', '.join(sorted({client.registry for client in self.clients()}))
