"""Shared pytest plugin for the integration targets: modules run for real, against a real registry.

Each target's ``runme.sh`` runs pytest with this plugin (``-p ocikit_it``). Modules are executed the
way Ansible executes them on a managed node, as a separate Python process reading its arguments
from a JSON file, so results, exit codes and peak memory are real. ``run_playbook`` runs
ansible-playbook for the tests that need the whole of Ansible (module_defaults groups, check and
diff mode as Ansible passes them, idempotence over a play).

Every result of ``run_module`` and ``run_playbook`` goes through the secrets scan
(:func:`scan_for_secrets`): the test passwords, the passwords and tokens given to modules, the
tokens the test bed's token server issued, and their base64 forms must appear nowhere in what a
module or a play printed. A hit fails the test at once; the count is printed at the session's end.
"""

from __future__ import annotations

import atexit
import base64
import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import typing as t
import zipfile
from pathlib import Path

import pytest

from ocikit_testbed import Registry, issued_tokens

COLLECTION_ROOT = Path(os.environ.get('OCIKIT_COLLECTION_ROOT') or Path(__file__).resolve().parents[3])
# The directory holding ansible_collections/ocikit/images (ansible-test's copy, or a dev symlink tree).
COLLECTIONS_PATH = Path(os.environ.get('OCIKIT_COLLECTIONS_PATH') or COLLECTION_ROOT.parents[2])
PYTHON = os.environ.get('ANSIBLE_TEST_PYTHON_INTERPRETER') or sys.executable
USER, PASSWORD = 'alice', 'wonderland'


@dataclasses.dataclass
class ModuleRun:
    """One module execution: its JSON result, exit code, stderr and peak RSS in bytes."""

    result: dict[str, t.Any]
    rc: int
    stderr: str
    max_rss: int

    @property
    def failed(self) -> bool:
        return bool(self.result.get('failed')) or self.rc != 0

    @property
    def msg(self) -> str:
        return str(self.result.get('msg', ''))

    def __repr__(self) -> str:
        # The message first: pytest shortens long reprs, and the message is what explains a failure.
        return 'ModuleRun(rc=%d, msg=%r, error_type=%r)' % (self.rc, self.msg, self.result.get('error_type'))


_CACHE_HOMES: list[str] = []
atexit.register(lambda: [shutil.rmtree(path, ignore_errors=True) for path in _CACHE_HOMES])


def _fresh_cache_home() -> str:
    """An empty XDG_CACHE_HOME of its own (removed at exit): the modules' record of blob locations
    (blob_info_cache) stays out of the real home, and one run's record cannot turn another test's uploads into mounts."""
    path = tempfile.mkdtemp(prefix='ocikit-it-cache-')
    _CACHE_HOMES.append(path)
    return path


def _env(extra: t.Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env['XDG_CACHE_HOME'] = _fresh_cache_home()
    env['PYTHONPATH'] = os.pathsep.join([str(COLLECTIONS_PATH)] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
    env.setdefault('HOME', tempfile.gettempdir())
    env.update(extra or {})
    return env


def run_module(name: str, args: t.Mapping[str, t.Any], check: bool = False, diff: bool = False,
               env: t.Mapping[str, str] | None = None, timeout: float = 900, rlimit_as: int = 0) -> ModuleRun:
    """Run ``plugins/modules/<name>.py`` with ``args`` in a fresh process, as Ansible does on a host.

    ``rlimit_as`` (bytes) caps the module's address space, so runaway memory fails fast. A module
    still running after ``timeout`` seconds is killed and reported with rc -9 and stderr "timed out".
    """
    register_secrets_in(args)
    module_args = dict(args)
    module_args['_ansible_check_mode'] = check
    module_args['_ansible_diff'] = diff
    module_args['_ansible_tmpdir'] = tempfile.gettempdir()
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': module_args}, handle)
        args_path = handle.name
    try:
        # A child of its own, so that ru_maxrss of RUSAGE_CHILDREN after the wait is this module's
        # peak alone: run it through a tiny wrapper that reports the child's rusage.
        wrapper = textwrap.dedent('''
            import json, resource, subprocess, sys
            limit, timeout = int(sys.argv[1]), float(sys.argv[2])
            cap = (lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))) if limit else None
            try:
                proc = subprocess.run(sys.argv[3:], capture_output=True, preexec_fn=cap, timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                proc = subprocess.CompletedProcess(exc.cmd, -9, exc.stdout or b"", b"timed out")
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            sys.stdout.write(json.dumps({"rc": proc.returncode, "stdout": proc.stdout.decode("utf-8", "replace"),
                                         "stderr": proc.stderr.decode("utf-8", "replace"), "maxrss_kb": usage.ru_maxrss}))
        ''')
        module_path = COLLECTION_ROOT / 'plugins' / 'modules' / ('%s.py' % name)
        proc = subprocess.run([PYTHON, '-c', wrapper, str(rlimit_as), str(timeout), PYTHON, str(module_path), args_path], capture_output=True,
                              text=True, env=_env(env), timeout=timeout + 60, check=True)
        outer = json.loads(proc.stdout)
    finally:
        os.unlink(args_path)
    stdout = outer['stdout']
    try:
        result = json.loads(stdout[stdout.index('{'):]) if '{' in stdout else {}
    except ValueError:
        result = {'failed': True, 'msg': 'unparseable module output', 'stdout': stdout}
    run = ModuleRun(result=result, rc=outer['rc'], stderr=outer['stderr'], max_rss=outer['maxrss_kb'] * 1024)
    scan_for_secrets({'result': run.result, 'stderr': run.stderr, 'stdout': stdout}, 'run_module(%s)' % name)
    return run


@dataclasses.dataclass
class PlaybookRun:
    """An ansible-playbook run with the json callback: exit code, per-task results, stats."""

    rc: int
    output: dict[str, t.Any]
    stderr: str

    def tasks(self) -> list[tuple[str, dict[str, t.Any]]]:
        out = []
        for play in self.output.get('plays', []):
            for task in play.get('tasks', []):
                for dummy, host_result in task.get('hosts', {}).items():
                    out.append((task['task']['name'], host_result))
        return out

    @property
    def stats(self) -> dict[str, t.Any]:
        return next(iter(self.output.get('stats', {}).values()), {})


def run_playbook(playbook: str, extra_vars: t.Mapping[str, t.Any] | None = None, check: bool = False, diff: bool = False,
                 env: t.Mapping[str, str] | None = None) -> PlaybookRun:
    """Run ``playbook`` (YAML text) against localhost with this collection and interpreter."""
    register_secrets_in(extra_vars or {})
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / 'play.yml'
        book.write_text(playbook)
        cmd = [str(Path(PYTHON).parent / 'ansible-playbook') if (Path(PYTHON).parent / 'ansible-playbook').exists() else 'ansible-playbook',
               '-i', 'localhost,', '-c', 'local', str(book), '-e', json.dumps(dict(extra_vars or {}))]
        if check:
            cmd.append('--check')
        if diff:
            cmd.append('--diff')
        penv = _env(env)
        penv.update({'ANSIBLE_COLLECTIONS_PATH': str(COLLECTIONS_PATH), 'ANSIBLE_STDOUT_CALLBACK': 'ocikit_json',
                     'ANSIBLE_CALLBACK_PLUGINS': str(Path(__file__).parent / 'callback_plugins'), 'ANSIBLE_PYTHON_INTERPRETER': PYTHON,
                     'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_LOCALHOST_WARNING': '0', 'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0'})
        proc = subprocess.run(cmd, capture_output=True, text=True, env=penv, timeout=900, check=False)
    try:
        output = json.loads(proc.stdout[proc.stdout.index('{'):])
    except ValueError:
        output = {'raw': proc.stdout}
    scan_for_secrets({'output': output, 'stdout': proc.stdout, 'stderr': proc.stderr}, 'run_playbook')
    return PlaybookRun(rc=proc.returncode, output=output, stderr=proc.stderr)


_ZIP_DATA_RE = re.compile(r"zip_data='([A-Za-z0-9+/=]+)'")


def ansiballz_payload(ansiballz: Path) -> tuple[int, dict[str, int]]:
    """The payload of an AnsiballZ file (kept with ``ANSIBLE_KEEP_REMOTE_FILES=1``): zip bytes, and each file's uncompressed size."""
    match = _ZIP_DATA_RE.search(Path(ansiballz).read_text(encoding='utf-8'))
    if not match:
        raise ValueError('%s carries no zip_data' % ansiballz)
    data = base64.b64decode(match.group(1))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return len(data), {info.filename: info.file_size for info in archive.infolist()}


def ansiballz_files(ansiballz: Path) -> dict[str, bytes]:
    """Every file of an AnsiballZ file's payload, by its path in the zip."""
    match = _ZIP_DATA_RE.search(Path(ansiballz).read_text(encoding='utf-8'))
    if not match:
        raise ValueError('%s carries no zip_data' % ansiballz)
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(match.group(1)))) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def skopeo(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the reference peer."""
    return subprocess.run(['skopeo', *args], capture_output=True, text=True, check=check, timeout=600)


def skopeo_inspect(image: str, *flags: str) -> dict[str, t.Any]:
    return json.loads(skopeo('inspect', *flags, image).stdout)


def skopeo_config(ref: str, *flags: str) -> tuple[str, list[str]]:
    """Config digest and diff_ids of ``ref`` as skopeo reads it."""
    raw = skopeo('inspect', '--config', '--raw', *flags, ref).stdout
    return 'sha256:' + hashlib.sha256(raw.encode('utf-8')).hexdigest(), json.loads(raw)['rootfs']['diff_ids']


def signed_dir_copy(reg: Registry, ref: str, directory: Path) -> Path:
    """skopeo's dir: copy of the registry image ``ref`` with a (sigstore-form) signature-1 beside it: a signed source."""
    skopeo('--insecure-policy', 'copy', *reg.skopeo_flags('src'), 'docker://%s' % ref, 'dir:%s' % directory)
    (directory / 'signature-1').write_bytes(b'\x00sigstore-json\n{"mimeType":"application/vnd.dev.cosign.simplesigning.v1+json","payload":"",'
                                            b'"annotations":{}}')
    return directory


def dir_image(directory: Path) -> tuple[str, list[str]]:
    """Config digest and diff_ids of the image in a dir: directory."""
    manifest = json.loads((directory / 'manifest.json').read_text())
    config_digest = manifest['config']['digest']
    config = json.loads((directory / config_digest.split(':')[1]).read_text())
    return config_digest, config['rootfs']['diff_ids']


@pytest.fixture(scope='session')
def registry(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Registry]:
    """A registry with TLS (a CA made for the tests) and htpasswd basic auth."""
    with Registry(tmp_path_factory.mktemp('reg-basic'), tls=True, auth='htpasswd', users={USER: PASSWORD}) as reg:
        yield reg


@pytest.fixture(scope='session')
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Registry]:
    """A registry with TLS and token auth served by the test bed's token server."""
    with Registry(tmp_path_factory.mktemp('reg-token'), tls=True, auth='token', users={USER: PASSWORD}) as reg:
        yield reg


def creds(reg: Registry, **extra: t.Any) -> dict[str, t.Any]:
    """Module connection options for ``reg``: its user and its CA."""
    opts = {'username': USER, 'password': PASSWORD, 'cert_dir': str(reg.cert_dir)}
    opts.update(extra)
    return opts


def blob_writes(reg: Registry) -> list[dict[str, t.Any]]:
    """Requests in the access log that write (POST, PUT, PATCH, DELETE)."""
    return [r for r in reg.requests() if r['method'] in ('POST', 'PUT', 'PATCH', 'DELETE')]


class ModuleProcess:
    """A module started with :func:`start_module`, running in the background (to be killed, or waited for)."""

    def __init__(self, name: str, args: t.Mapping[str, t.Any], env: t.Mapping[str, str] | None = None) -> None:
        module_args = dict(args, _ansible_check_mode=False, _ansible_diff=False, _ansible_tmpdir=tempfile.gettempdir())
        with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
            json.dump({'ANSIBLE_MODULE_ARGS': module_args}, handle)
            self.args_path = handle.name
        module_path = COLLECTION_ROOT / 'plugins' / 'modules' / ('%s.py' % name)
        self.proc = subprocess.Popen([PYTHON, str(module_path), self.args_path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=_env(env))

    def kill(self) -> bool:
        """SIGKILL the module (no cleanup of any kind runs); True when it was still running."""
        running = self.proc.poll() is None
        self.proc.kill()
        self.finish()
        return running

    def finish(self, timeout: float = 600) -> ModuleRun:
        """Wait for the module and return its result (empty when it was killed)."""
        try:
            stdout, stderr = self.proc.communicate(timeout=timeout)
        finally:
            if os.path.exists(self.args_path):
                os.unlink(self.args_path)
        text = stdout.decode('utf-8', 'replace')
        try:
            result = json.loads(text[text.index('{'):]) if '{' in text else {}
        except ValueError:
            result = {'failed': True, 'msg': 'unparseable module output', 'stdout': text}
        run = ModuleRun(result=result, rc=self.proc.returncode, stderr=stderr.decode('utf-8', 'replace'), max_rss=0)
        scan_for_secrets({'result': run.result, 'stderr': run.stderr}, 'background module')
        return run


def start_module(name: str, args: t.Mapping[str, t.Any], env: t.Mapping[str, str] | None = None) -> ModuleProcess:
    """Start ``plugins/modules/<name>.py`` with ``args`` in a background process (see :class:`ModuleProcess`)."""
    return ModuleProcess(name, args, env)


# -- the secrets scan ---------------------------------------------------------------------------------------------
#
# Independent of the collection's own redaction (errors.redact): a bug there must not hide here.

#: Shorter secrets are not looked for (they would match ordinary text); base64 fragments likewise.
MIN_SCANNED_SECRET = 4
MIN_SCANNED_BASE64 = 8
_SECRET_KEY_RE = re.compile(r'(?i)(password|passwd|token|secret)')
# The password (or token) of "scheme://user:password@host" / "user:password@host/..." in a value given to a module.
# A host is a name or a bracketed IPv6 literal, and a port: "[vfs@relative]name" (a containers-storage store) has none.
_HOST = r'(?!sha\d+:)(?:\[[0-9A-Za-z:.%]*\]|[A-Za-z0-9.-]+)(?::[0-9]*)?(?:/|$)'
_USERINFO_SECRET_RES = (re.compile(r'://(?:[^/\s"\'@:]*:)?([^/\s"\'@]+)@' + _HOST),
                        re.compile(r'(?:^|[\s"\'])[^\s/"\'@:]+:(?!/)([^/\s"\'@]+)@' + _HOST))

_SECRETS: set[str] = {PASSWORD}
_SCAN = {'results': 0, 'strings': 0, 'hits': 0}


def register_secret(*values: str) -> None:
    """Add values the scan must never find in module output (test passwords, tokens)."""
    _SECRETS.update(v for v in values if isinstance(v, str) and len(v) >= MIN_SCANNED_SECRET)


def register_secrets_in(args: t.Any, key: str = '') -> None:
    """Register the secrets a module is given: values of password/token/secret keys, and userinfo passwords in any value."""
    if isinstance(args, t.Mapping):
        for name, value in args.items():
            register_secrets_in(value, str(name))
    elif isinstance(args, (list, tuple)):
        for value in args:
            register_secrets_in(value, key)
    elif isinstance(args, str):
        if _SECRET_KEY_RE.search(key):
            register_secret(args)
        register_secret(*(m.group(1) for pattern in _USERINFO_SECRET_RES for m in pattern.finditer(args)))


def _base64_forms(secret: str) -> list[tuple[str, str]]:
    """``(label, text)`` of the base64 text ``secret`` gives at each of the three alignments, plain and URL-safe."""
    data = secret.encode('utf-8')
    forms = [('base64', base64.b64encode(data).decode())]
    for shift in range(3):
        encoded = base64.b64encode(b'x' * shift + data).decode()
        # Drop the characters that mix prefix bits, and the last group, which mixes what follows.
        stable = encoded[(0, 2, 3)[shift]:4 * ((shift + len(data)) // 3)]
        forms.append(('base64 at alignment %d' % shift, stable))
        forms.append(('URL-safe base64 at alignment %d' % shift, stable.replace('+', '-').replace('/', '_')))
    return [(label, text) for label, text in forms if len(text) >= MIN_SCANNED_BASE64]


def secret_forms(secrets: t.Iterable[str] | None = None) -> list[tuple[str, str]]:
    """``(label, text)`` for every form of every secret scanned for; labels name the secret by number, never by value."""
    values = sorted(set(secrets) if secrets is not None else (_SECRETS | {tok for tok in issued_tokens() if len(tok) >= MIN_SCANNED_SECRET}))
    forms = []
    for number, secret in enumerate(values, 1):
        kind = 'token' if secret in set(issued_tokens()) else 'secret'
        forms.append(('%s #%d' % (kind, number), secret))
        forms.extend(('%s #%d (%s)' % (kind, number, label), text) for label, text in _base64_forms(secret))
    return forms


def find_secrets(value: t.Any, where: str = 'result', secrets: t.Iterable[str] | None = None) -> list[str]:
    """Where in ``value`` (every string, dict key and value, list item) a secret form appears: ``"where.key[2]: secret #3 (base64)"``."""
    forms = secret_forms(secrets)
    found: list[str] = []

    def walk(item: t.Any, path: str) -> None:
        if isinstance(item, t.Mapping):
            for key, sub in item.items():
                walk(str(key), '%s key %r' % (path, key))
                walk(sub, '%s.%s' % (path, key))
        elif isinstance(item, (list, tuple)):
            for index, sub in enumerate(item):
                walk(sub, '%s[%d]' % (path, index))
        elif isinstance(item, str):
            _SCAN['strings'] += 1
            found.extend('%s: %s' % (path, label) for label, text in forms if text in item)

    walk(value, where)
    return found


def scan_for_secrets(value: t.Any, where: str) -> None:
    """Fail the test at once if ``value`` holds any secret form, naming where (never the secret)."""
    _SCAN['results'] += 1
    hits = find_secrets(value, where)
    if hits:
        _SCAN['hits'] += len(hits)
        pytest.fail('secrets scan: %d hit(s): %s' % (len(hits), '; '.join(hits[:10])), pytrace=False)


def pytest_terminal_summary(terminalreporter: t.Any) -> None:
    """One line per target in the test output: how much was scanned, and the hits (0)."""
    terminalreporter.write_line('secrets scan (%s): %d results scanned (%d strings), %d secrets and tokens looked for, %d hits'
                                % (os.path.basename(os.getcwd()), _SCAN['results'], _SCAN['strings'],
                                   len(_SECRETS | set(issued_tokens())), _SCAN['hits']))
