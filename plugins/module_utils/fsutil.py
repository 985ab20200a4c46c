# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Small filesystem helpers shared by the local transports: exclusive temp files, directory fsync."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import time
import typing as t

from ansible_collections.ocikit.images.plugins.module_utils.errors import LayoutError, OcikitError


def create_temp_file(directory: str, prefix: str, what: str = 'file') -> tuple[str, t.BinaryIO]:
    """Create a new file in ``directory`` exclusively, named ``prefix`` + random hex.

    ``open(..., 0o644)`` lets the umask apply (skopeo's blobs are 0644 less the umask), unlike
    mkstemp's 0600.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_CLOEXEC', 0)
    for dummy in range(100):
        path = os.path.join(directory, '%s%s' % (prefix, secrets.token_hex(8)))
        try:
            fd = os.open(path, flags, 0o644)
        except FileExistsError:
            continue
        except OSError as exc:
            raise LayoutError('cannot create a temporary %s in %s: %s' % (what, directory, exc.strerror or exc)) from None
        return path, os.fdopen(fd, 'wb')
    raise LayoutError('cannot create a temporary %s in %s: too many name collisions' % (what, directory))


def fsync_dir(path: str) -> None:
    """Persist renames in ``path``. Some filesystems refuse fsync on a directory; the renames stand anyway."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def unlink_quietly(path: str) -> None:
    """Remove a file that may already be gone (cleanup paths must not mask the real error)."""
    try:
        os.unlink(path)
    except OSError:
        pass


@contextlib.contextmanager
def exclusive_lock(lock_path: str, mode: int, timeout: float, error: type[OcikitError], busy_message: str,
                   max_delay: float = 0.5) -> t.Iterator[None]:
    """Hold an exclusive flock on ``lock_path`` (created with ``mode``) for a read-modify-write.

    Waits with a growing delay (up to ``max_delay``) and gives up after ``timeout`` seconds with
    ``error(busy_message)``. Closing the descriptor releases the lock; the lock file stays, since
    removing it would race with the next writer.
    """
    import fcntl

    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, 'O_CLOEXEC', 0), mode)
    except OSError as exc:
        raise error('cannot open lock file %s: %s' % (lock_path, exc.strerror or exc)) from None
    try:
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise error('cannot lock %s: %s' % (lock_path, exc.strerror or exc)) from None
            if time.monotonic() >= deadline:
                raise error(busy_message)
            time.sleep(delay)
            delay = min(delay * 2, max_delay)
        yield
    finally:
        os.close(fd)
