"""Throwaway GnuPG homes for tests: keys made, imported and exported by the real ``gpg``.

One place for what every signing test needs, because gpg on a loaded machine (a CI worker running
the unit suite on every core) fails now and then for reasons that have nothing to do with the test:
gpg autostarts a gpg-agent and gives it a few seconds to answer, and the agent of a busy machine can
miss that ("No agent running", exit status 2), or a command that talks to it (``--list-secret-keys``,
``--import`` of secret keys, key generation) fails with exit status 2 and a terse reason. So:

* the agent is launched (``gpgconf --launch gpg-agent``) before the first command and again before
  every retry;
* every command is tried up to ``attempts`` times, with a growing pause, and a failure that persists
  is raised as :class:`GpgCommandError` carrying every attempt's exit status and stderr (the reason a
  CI log must show);
* a key's fingerprint comes from gpg's own ``KEY_CREATED`` status line of the command that made it,
  not from a second listing.

Used from the integration targets (``from ocikit_testbed.gpgkeys import GpgHome``) and from the unit
tests (``ansible_collections.ocikit.images.tests.testbed.ocikit_testbed.gpgkeys``). Standard library only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

__all__ = ['GpgCommandError', 'GpgHome', 'gpg_available']


def gpg_available() -> bool:
    """Whether the ``gpg`` and ``gpgconf`` programs are on PATH."""
    return shutil.which('gpg') is not None and shutil.which('gpgconf') is not None


class GpgCommandError(RuntimeError):
    """A gpg command that failed on every attempt; the message holds each attempt's exit status and stderr."""


class GpgHome:
    """A GNUPGHOME directory (created mode 0700 when missing) and the gpg-agent it runs.

    ``no_cache``: the agent caches no passphrase, so a wrong passphrase is refused even right after
    the right one was used (what passphrase tests need). Use as a context manager, or call
    :meth:`close` (stops the agent; the directory is left to the test's temp dir).
    """

    def __init__(self, path: str | os.PathLike, *, no_cache: bool = True, attempts: int = 4) -> None:
        self.path = Path(path)
        self.attempts = attempts
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path.chmod(0o700)
        if no_cache:
            (self.path / 'gpg-agent.conf').write_text('default-cache-ttl 0\nmax-cache-ttl 0\n')
        self._launch_agent()

    def __str__(self) -> str:
        return str(self.path)

    def __fspath__(self) -> str:
        return str(self.path)

    def __enter__(self) -> GpgHome:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _launch_agent(self) -> None:
        subprocess.run(['gpgconf', '--homedir', str(self.path), '--launch', 'gpg-agent'], check=False, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=60)

    def close(self) -> None:
        """Stop the agent (and any other daemon) of this home."""
        subprocess.run(['gpgconf', '--homedir', str(self.path), '--kill', 'all'], check=False, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=60)

    def run(self, *args: str, data: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
        """``gpg --homedir HOME --batch --quiet ARGS`` (stdin ``data``); its stdout.

        Tried again (agent relaunched first) when it fails; :class:`GpgCommandError` after the last attempt.
        Only for commands whose repetition is harmless (every use in the tests: listing, import, export,
        signing, key generation whose fingerprint is taken from the attempt that succeeded).
        """
        command = ['gpg', '--homedir', str(self.path), '--batch', '--quiet', *args]
        failures = []
        for attempt in range(1, self.attempts + 1):
            done = subprocess.run(command, input=data, capture_output=True, check=False, timeout=120,
                                  env=dict(os.environ, **env) if env else None, stdin=None if data is not None else subprocess.DEVNULL)
            if done.returncode == 0:
                return done.stdout
            failures.append('attempt %d: exit status %d: %s' % (attempt, done.returncode, done.stderr.decode(errors='replace').strip()))
            if attempt < self.attempts:
                time.sleep(attempt)
                self._launch_agent()
        raise GpgCommandError('%s failed:\n%s' % (' '.join(command), '\n'.join(failures)))

    def generate_key(self, uid: str, passphrase: str | None = None, *, algorithm: str = 'ed25519', expire: str = 'never',
                     faked_time: str | None = None) -> str:
        """A new signing key for ``uid`` (protected by ``passphrase`` when given); its fingerprint."""
        options = ['--status-fd', '1']
        if faked_time is not None:
            options += ['--faked-system-time', faked_time]
        if passphrase is None:
            options += ['--passphrase', '']
        else:
            options += ['--pinentry-mode', 'loopback', '--passphrase', passphrase]
        out = self.run(*options, '--quick-gen-key', uid, algorithm, 'sign', expire)
        for line in out.decode(errors='replace').splitlines():
            fields = line.split()
            if fields[:2] == ['[GNUPG:]', 'KEY_CREATED'] and len(fields) >= 4:
                return fields[3]
        raise GpgCommandError('gpg made a key for %s but reported no KEY_CREATED fingerprint: %r' % (uid, out))

    def import_keys(self, keys: bytes | str | os.PathLike) -> None:
        """Import a keyring file (a path) or key bytes (public or secret)."""
        if isinstance(keys, bytes):
            self.run('--import', data=keys)
        else:
            self.run('--import', str(keys))

    def export(self, *fingerprints: str) -> bytes:
        """The public keys ``fingerprints`` as a binary keyring."""
        return self.run('--export', *fingerprints)

    def export_to(self, path: str | os.PathLike, *fingerprints: str) -> Path:
        """Write the public keys ``fingerprints`` to ``path`` (a keyring file); the path."""
        target = Path(path)
        target.write_bytes(self.export(*fingerprints))
        return target
