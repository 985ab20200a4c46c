# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where blobs were seen: a small persistent record, so a copy can mount instead of upload.

containers/image keeps a "blob info cache" (``blob-info-cache-v1.sqlite``) for the same purpose:
a blob this host wrote to (or found in) ``registry/repo-a`` can be mounted into ``registry/repo-b``
with one request, without moving its bytes again. A play that copies twenty images into twenty
repositories of one registry, each task its own process, moves a shared base layer once.

What is recorded is only what this host verified: a blob it uploaded (digest checked by the
registry against what we hashed), mounted (the registry answered 201 with that digest), or found
with a ``HEAD`` answered 200. A record is a hint, never trusted for correctness: a mount the registry
declines (the blob was deleted, or the credentials cannot read the other repository) costs one
request and the blob is uploaded as before. A record that led to a failed mount is removed.

It also keeps, per Docker daemon or Podman service, the digest of the manifest of the docker archive
a copy loaded there as an image ID (the name pointed at that ID after the load): such a store keeps
no manifest, so a later copy that finds the image up to date by ID reports the same ``digest`` as the
copy that loaded it without exporting the image (copy/execute.py). A missing record only means that
``digest`` is null.

The file is ours (not containers/image's format): SQLite in WAL mode, two tables, mode 0600 in a
directory of mode 0700 (it names repositories; SQLite gives its -wal and -shm files the same mode).
It is bounded (:data:`MAX_ROWS`, the oldest forgotten first).
Processes share it safely (SQLite's locking; a busy database is waited for briefly). Anything that
goes wrong with it (read-only home, a corrupt file, a lock held too long) turns it off for the rest
of the run: it is an optimisation, and never the reason a copy fails.
"""

from __future__ import annotations

import os
import threading
import time
import typing as t

#: Rows kept at most; beyond this, the least recently seen are forgotten.
MAX_ROWS = 50000
#: Other repositories a blob is offered to be mounted from, at most (each try is one request, and a token for its scope).
MAX_CANDIDATES = 2
#: Seconds to wait for another process holding the database.
BUSY_TIMEOUT = 2.0
FILE_NAME = 'blob-locations-v1.sqlite'

_SCHEMA = '''
CREATE TABLE IF NOT EXISTS locations (
    registry TEXT NOT NULL,
    repository TEXT NOT NULL,
    digest TEXT NOT NULL,
    seen REAL NOT NULL,
    PRIMARY KEY (registry, repository, digest)
);
CREATE INDEX IF NOT EXISTS locations_by_digest ON locations (registry, digest, seen);
CREATE TABLE IF NOT EXISTS loaded_images (
    daemon TEXT NOT NULL,
    image_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    seen REAL NOT NULL,
    PRIMARY KEY (daemon, image_id)
);
'''


def _sqlite3() -> t.Any:
    """The sqlite3 module, imported when a record is first used (a copy that writes no registry never loads it); None without it."""
    try:
        import sqlite3  # pylint: disable=import-outside-toplevel
    except ImportError:  # pragma: no cover - a Python built without sqlite3
        return None
    return sqlite3


def default_path(environ: t.Mapping[str, str] | None = None) -> str | None:
    """``$XDG_CACHE_HOME/ocikit/blob-locations-v1.sqlite`` (``~/.cache`` when unset); None without a home."""
    env = os.environ if environ is None else environ
    base = env.get('XDG_CACHE_HOME') or ''
    if not os.path.isabs(base):
        home = env.get('HOME') or ''
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, '.cache')
    return os.path.join(base, 'ocikit', FILE_NAME)


class BlobLocations:
    """The record at ``path``; every method is safe to call from many threads and never raises."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection: t.Any = None
        self._broken = False
        self._writes = 0

    @property
    def enabled(self) -> bool:
        return not self._broken

    def _open(self, sqlite3: t.Any) -> t.Any:
        if self._connection is None:
            directory = os.path.dirname(self.path)
            os.makedirs(directory, mode=0o700, exist_ok=True)
            # Created 0600 before SQLite opens it: repository names are nobody else's business.
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(descriptor)
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, check_same_thread=False, isolation_level=None)
            try:
                # WAL: a record is one append, not a rewritten journal and two fsyncs (a cold sync of 100 images records 200
                # facts). synchronous=NORMAL is safe from corruption in WAL mode; a power cut may only lose the last facts.
                # Where WAL cannot work (a network file system), SQLite keeps its default journal.
                connection.execute('PRAGMA journal_mode=WAL')
                connection.execute('PRAGMA synchronous=NORMAL')
                connection.executescript(_SCHEMA)
            except Exception:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def _run(self, action: t.Callable[[t.Any], t.Any], default: t.Any = None) -> t.Any:
        if self._broken:
            return default
        with self._lock:
            sqlite3 = _sqlite3()
            if sqlite3 is None:
                self._broken = True
                return default
            try:
                return action(self._open(sqlite3))
            except (OSError, sqlite3.Error):
                # Read-only home, a corrupt or foreign file, a lock held too long: off for this run.
                self._broken = True
                self.close_locked()
                return default

    def close_locked(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # pylint: disable=broad-exception-caught
                pass  # closing a broken database: nothing more to do with it
            self._connection = None

    def close(self) -> None:
        with self._lock:
            self.close_locked()

    def record(self, registry: str, repository: str, digest: str) -> None:
        """``digest`` is (verified) present in ``registry/repository``."""
        def action(connection: t.Any) -> None:
            connection.execute('INSERT OR REPLACE INTO locations (registry, repository, digest, seen) VALUES (?, ?, ?, ?)',
                               (registry, repository, digest, time.time()))
            self._writes += 1
            if self._writes % 500 == 1:
                connection.execute('DELETE FROM locations WHERE rowid IN (SELECT rowid FROM locations ORDER BY seen DESC LIMIT -1 OFFSET ?)',
                                   (MAX_ROWS,))
        self._run(action)

    def forget(self, registry: str, repository: str, digest: str) -> None:
        """The record of ``digest`` in ``registry/repository`` proved wrong (a mount from it was declined)."""
        self._run(lambda connection: connection.execute('DELETE FROM locations WHERE registry = ? AND repository = ? AND digest = ?',
                                                        (registry, repository, digest)))

    def record_image(self, daemon: str, image_id: str, digest: str) -> None:
        """The daemon (or Podman service) at ``daemon`` loaded, as ``image_id``, a docker archive whose manifest is ``digest``."""
        def action(connection: t.Any) -> None:
            connection.execute('INSERT OR REPLACE INTO loaded_images (daemon, image_id, digest, seen) VALUES (?, ?, ?, ?)',
                               (daemon, image_id, digest, time.time()))
            connection.execute('DELETE FROM loaded_images WHERE rowid IN (SELECT rowid FROM loaded_images ORDER BY seen DESC '
                               'LIMIT -1 OFFSET ?)', (MAX_ROWS,))
        self._run(action)

    def loaded_image(self, daemon: str, image_id: str) -> str | None:
        """The manifest digest :meth:`record_image` recorded for ``image_id`` at ``daemon``, or None."""
        def action(connection: t.Any) -> str | None:
            row = connection.execute('SELECT digest FROM loaded_images WHERE daemon = ? AND image_id = ?', (daemon, image_id)).fetchone()
            return row[0] if row else None
        return self._run(action)

    def candidates(self, registry: str, digest: str, exclude: str, limit: int = MAX_CANDIDATES) -> list[str]:
        """Other repositories of ``registry`` where ``digest`` was seen, the most recent first."""
        def action(connection: t.Any) -> list[str]:
            rows = connection.execute('SELECT repository FROM locations WHERE registry = ? AND digest = ? AND repository != ? '
                                      'ORDER BY seen DESC LIMIT ?', (registry, digest, exclude, limit)).fetchall()
            return [row[0] for row in rows]
        return self._run(action, [])


_OPEN: dict[str, BlobLocations] = {}
_OPEN_LOCK = threading.Lock()


def blob_locations(path: str | None) -> BlobLocations | None:
    """The process's one :class:`BlobLocations` for ``path`` (None: no record is kept)."""
    if not path:
        return None
    with _OPEN_LOCK:
        found = _OPEN.get(path)
        if found is None:
            found = _OPEN[path] = BlobLocations(path)
        return found
