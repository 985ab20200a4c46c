"""Every module's EXAMPLES runs, as written, against the test bed, and every task succeeds.

The examples name hosts, paths, keys and secrets of an imagined site. The test builds that site out of test bed parts and
rewrites only those names, in the example text, before running it as one playbook per module:

- ``registry.example.com``, ``quay.io`` and ``docker.io`` are one registry (TLS, htpasswd with the examples' users);
  ``mirror.internal:5000`` and ``registry.internal`` are a second one. They hold what the examples expect: ``team/app:1.4``
  and ``team/app:1.4.2``, signed by the release key (GPG) in a lookaside, and ``base/runtime:2025.10``.
- ``/srv/``, ``/etc/``, ``/root/`` and ``/media/transfer/`` (the far end of a bundle's journey: the same directory) are
  directories under the test's temporary directory, where the layouts, key files, registries.d and skopeo YAML the
  examples read are made first. HOME, XDG_RUNTIME_DIR (the default auth file, with the robot's credentials) and
  GNUPGHOME (the release key) point there too.
- The Docker and Podman sockets are the test bed's Podman service; the release key's fingerprint is the one made here.

The play around the examples sets what a site's inventory would (module_defaults): the registries' CA directory, the
registries.d for modules that store signatures (never the default lookaside), and the Podman service for image_copy.
Every example task must run (none skipped) and succeed; the tasks run are the tasks of the EXAMPLES, in order. The docs'
example playbook (docs/examples/getting-started.yml) runs on the same site, twice: the second run changes nothing.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
import typing as t

import pytest
import yaml
from ocikit_it import COLLECTION_ROOT, COLLECTIONS_PATH, PASSWORD, PYTHON, PlaybookRun, run_module, run_playbook
from ocikit_testbed import Registry
from ocikit_testbed.gpgkeys import GpgHome, gpg_available
from ocikit_testbed.images import build_image
from ocikit_testbed.podman import PodmanService, podman_available

needs_site = pytest.mark.skipif(not gpg_available() or not podman_available(), reason='the examples need gpg and a Podman service')

# Modules in the order their examples run: image_delete last, as it deletes team/app:1.4 the others read.
MODULES = ('image_inspect', 'image_tags', 'image_copy', 'image_sign', 'image_sync', 'registry_login', 'image_delete')
# The users the examples log in as, all with the test password (the examples' *_password and *_token variables).
USERS = ('robot', 'reader', 'writer', 'me', 'team+robot')
SECRET_VARS = ('reader_password', 'writer_password', 'robot_password', 'registry_password', 'quay_token', 'hub_token')
PASSPHRASE = 'release passphrase words'
FINGERPRINT = '0123456789ABCDEF0123456789ABCDEF01234567'
EXAMPLE_DIGEST = 'sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741'


def examples_of(module: str) -> str:
    """The EXAMPLES string of plugins/modules/MODULE.py, read without importing the module."""
    tree = ast.parse((COLLECTION_ROOT / 'plugins' / 'modules' / ('%s.py' % module)).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and target.id == 'EXAMPLES' for target in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError('no EXAMPLES in %s' % module)


def task_names(tasks: list[dict[str, t.Any]]) -> list[str]:
    """The names of the tasks that run, blocks unfolded."""
    names: list[str] = []
    for task in tasks:
        names.extend(task_names(task['block']) if 'block' in task else [task['name']])
    return names


class Site:
    """The imagined site of the examples, made of test bed parts."""

    def __init__(self, base: Path, registry: Registry, mirror: Registry, podman: PodmanService, gpg: GpgHome, fingerprint: str) -> None:
        self.base, self.registry, self.mirror, self.podman, self.gpg, self.fingerprint = base, registry, mirror, podman, gpg, fingerprint
        self.certs = base / 'certs'
        self.registries_d = base / 'registries.d'
        self.digest_1_4_2 = ''

    def substitutions(self, root: Path) -> dict[str, str]:
        """What the examples name -> what stands for it here; paths go under ``root`` (one per module)."""
        return {
            'registry.example.com': self.registry.host, 'quay.io': self.registry.host, 'docker.io': self.registry.host,
            'mirror.internal:5000': self.mirror.host, 'registry.internal': self.mirror.host,
            'unix:///run/podman/podman.sock': self.podman.host, 'unix:///var/run/docker.sock': self.podman.host,
            FINGERPRINT: self.fingerprint, EXAMPLE_DIGEST: self.digest_1_4_2,
            '/media/transfer/': '%s/srv/bundle/' % root, '/srv/': '%s/srv/' % root, '/etc/': '%s/etc/' % root, '/root/': '%s/root/' % root,
        }

    def env(self, root: Path) -> dict[str, str]:
        return {'HOME': str(root / 'home'), 'XDG_RUNTIME_DIR': str(root / 'run'), 'XDG_CONFIG_HOME': str(root / 'home' / '.config'),
                'GNUPGHOME': str(self.gpg)}

    def connection(self, **extra: t.Any) -> dict[str, t.Any]:
        """Module options for setting things up: the robot's credentials, the CAs, the registries.d."""
        return dict({'username': 'robot', 'password': PASSWORD, 'cert_dir': str(self.certs)}, **extra)

    def prepare(self, root: Path) -> None:
        """The files the examples read: key files, passphrase files, registries.d, a policy, an auth file, layouts, a sync YAML."""
        for directory in ('srv/bundle', 'srv/build', 'srv/images', 'srv/export', 'etc/pki', 'etc/ocikit', 'etc/mirror', 'etc/containers',
                          'root', 'home/.config/containers', 'home/.docker', 'run/containers'):
            (root / directory).mkdir(parents=True, exist_ok=True)
        self.gpg.export_to(root / 'etc/pki/release.gpg', self.fingerprint)
        for secret in ('etc/ocikit/signing.pass', 'root/.release-passphrase'):
            (root / secret).write_text(PASSPHRASE + '\n')
        shutil.copytree(self.certs, root / 'etc/pki/registry')
        for where in ('etc/ocikit/registries.d', 'etc/containers/registries.d'):
            shutil.copytree(self.registries_d, root / where)
        made = run_module('image_sign', {'action': 'generate_key', 'output_prefix': str(root / 'etc/ocikit/release'), 'passphrase': PASSPHRASE})
        assert not made.failed, made
        shutil.copy(root / 'etc/ocikit/release.pub', root / 'etc/pki/cosign.pub')
        # The machine's trust policy: the releases of team/app signed by the release key, the rest accepted (the examples push other tags).
        release = [{'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': str(root / 'etc/pki/release.gpg')}]
        policy = {'default': [{'type': 'insecureAcceptAnything'}],
                  'transports': {'docker': {'%s/team/app:%s' % (self.registry.host, tag): release for tag in ('1.4', '1.4.2')}}}
        (root / 'home/.config/containers/policy.json').write_text(json.dumps(policy))
        auths = {host: {'auth': base64.b64encode(b'robot:' + PASSWORD.encode()).decode()}
                 for host in (self.registry.host, self.mirror.host)}
        (root / 'run/containers/auth.json').write_text(json.dumps({'auths': auths}))
        build_image(root / 'srv/build/app', 'latest', seed=11)
        build_image(root / 'srv/images/app', '1.4', seed=12)
        build_image(root / 'srv/bundle', 'app-1.4', seed=13)
        copied = run_module('image_copy', self.connection(src='docker://%s/team/app:1.4' % self.registry.host,
                                                          dest='dir:%s' % (root / 'srv/export/app'), registries_d=str(self.registries_d)))
        assert not copied.failed, copied
        sync_yaml = {self.registry.host: {'images': {'team/app': ['1.4.2']}, 'cert-dir': str(self.certs),
                                          'credentials': {'username': 'robot', 'password': PASSWORD}}}
        (root / 'etc/mirror/sync.yaml').write_text(yaml.safe_dump(sync_yaml))


@pytest.fixture(scope='module', name='site')
def fixture_site(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Site]:
    base = tmp_path_factory.mktemp('site')
    users = {user: PASSWORD for user in USERS}
    with Registry(base / 'registry', tls=True, auth='htpasswd', users=users) as registry, \
            Registry(base / 'mirror', tls=True, auth='htpasswd', users=users) as mirror, \
            PodmanService(base / 'podman') as podman, GpgHome(base / 'gnupg') as gpg:
        fingerprint = gpg.generate_key('ocikit examples release <release@examples.invalid>', PASSPHRASE)
        site = Site(base, registry, mirror, podman, gpg, fingerprint)
        site.certs.mkdir()
        shutil.copy(registry.ca_file, site.certs / 'registry.crt')
        shutil.copy(mirror.ca_file, site.certs / 'mirror.crt')
        site.registries_d.mkdir()
        lookasides = {registry.host: base / 'lookaside-registry', mirror.host: base / 'lookaside-mirror'}
        (site.registries_d / 'site.yaml').write_text(yaml.safe_dump({
            'default-docker': {'lookaside': 'file://%s' % (base / 'lookaside-default')},
            'docker': {host: {'lookaside': 'file://%s' % path} for host, path in lookasides.items()}}))
        # The images the examples expect in registry.example.com, those of team/ signed by the release key (the site's policy wants it).
        # team/app:1.4 is one image, not an index: a copy of one image out of a signed index fails here, as the index's signatures
        # would not fit the image (image_copy reads the index's signatures where containers/image reads the instance's).
        build_image(base / 'layout', '1.4', seed=1)
        build_image(base / 'layout', '1.4.2', seed=2)
        build_image(base / 'layout', '2025.10', seed=3)
        build_image(base / 'layout', 'busybox', seed=4)
        env = {'GNUPGHOME': str(gpg)}
        signed = {'sign_by': fingerprint, 'sign_passphrase': PASSPHRASE}
        for src, dest, extra in (('1.4', 'team/app:1.4', signed), ('1.4.2', 'team/app:1.4.2', signed), ('2025.10', 'base/runtime:2025.10', {})):
            pushed = run_module('image_copy', site.connection(src='oci:%s:%s' % (base / 'layout', src), dest='docker://%s/%s' % (registry.host, dest),
                                                              registries_d=str(site.registries_d), **extra), env=env)
            assert not pushed.failed, pushed
            if src == '1.4.2':
                site.digest_1_4_2 = pushed.result['digest']
        # What the examples expect in the Podman service: busybox:1.36 (docker-daemon:) and team/app:1.3 (containers-storage:).
        for dest in ('docker-daemon:busybox:1.36', 'containers-storage:%s/team/app:1.3' % registry.host):
            loaded = run_module('image_copy', {'src': 'oci:%s:busybox' % (base / 'layout'), 'dest': dest, 'dest_daemon_host': podman.host})
            assert not loaded.failed, loaded
        yield site


def _substitute(text: str, substitutions: dict[str, str]) -> str:
    """Every name at once (a replacement is never rewritten again), longest names first."""
    pattern = re.compile('|'.join(re.escape(name) for name in sorted(substitutions, key=len, reverse=True)))
    return pattern.sub(lambda match: substitutions[match.group(0)], text)


def site_defaults(site: Site, root: Path) -> dict[str, t.Any]:
    """What a site's inventory would set for the examples (module_defaults): the registries' CAs, the registries.d of the modules
    that read or store signatures (never the default lookaside), and the Podman service for image_copy."""
    registries_d = str(root / 'etc/containers/registries.d')
    defaults: dict[str, t.Any] = {'group/ocikit.images.images': {'cert_dir': str(site.certs)}}
    defaults.update({'ocikit.images.%s' % name: {'registries_d': registries_d} for name in ('image_sign', 'image_sync', 'image_delete')})
    defaults['ocikit.images.image_copy'] = {'registries_d': registries_d, 'dest_daemon_host': site.podman.host}
    return defaults


def failures(played: PlaybookRun) -> list[tuple[t.Any, ...]]:
    """Every task that did not succeed (ok or changed), with its message and, for image_sync, each image's error."""
    return [(name, result['_status'], result.get('msg'), [image.get('error') for image in result.get('images') or [] if image.get('error')])
            for name, result in played.tasks() if result['_status'] != 'ok']


@needs_site
def test_docs_example_playbook_runs_and_reruns_unchanged(site: Site, tmp_path: Path) -> None:
    """docs/examples/getting-started.yml (docs/getting-started.md) runs on the same site: the first run copies, the second changes nothing."""
    text = (COLLECTION_ROOT / 'docs' / 'examples' / 'getting-started.yml').read_text()
    plays = yaml.safe_load(_substitute(text, site.substitutions(tmp_path)))
    site.prepare(tmp_path)
    for play in plays:
        for name, defaults in site_defaults(site, tmp_path).items():
            play.setdefault('module_defaults', {}).setdefault(name, defaults)
    book = yaml.safe_dump(plays, sort_keys=False)
    first = run_playbook(book, extra_vars={'vault_robot_password': PASSWORD}, env=site.env(tmp_path))
    assert failures(first) == [] and first.rc == 0, first.stderr[-2000:]
    assert [name for name, dummy in first.tasks()] == task_names(plays[0]['tasks'])
    assert first.stats['changed'] >= 2
    again = run_playbook(book, extra_vars={'vault_robot_password': PASSWORD}, env=site.env(tmp_path))
    assert failures(again) == [] and again.rc == 0, again.stderr[-2000:]
    assert again.stats['changed'] == 0


@needs_site
@pytest.mark.parametrize('module', MODULES)
def test_examples_run(site: Site, module: str, tmp_path: Path) -> None:
    text = examples_of(module)
    tasks = yaml.safe_load(_substitute(text, site.substitutions(tmp_path)))
    # Nothing of the imagined site is left in what runs.
    leftover = re.findall(r'registry\.example\.com|mirror\.internal|quay\.io|docker\.io|(?<![\w.])/(?:srv|etc|root|media)/', json.dumps(tasks))
    assert leftover == []
    site.prepare(tmp_path)
    play = [{
        'name': 'EXAMPLES of ocikit.images.%s' % module,
        'hosts': 'localhost',
        'gather_facts': False,
        'module_defaults': site_defaults(site, tmp_path),
        'vars': dict({name: PASSWORD for name in SECRET_VARS}, release_key_passphrase=PASSPHRASE, signing_passphrase=PASSPHRASE),
        'tasks': tasks,
    }]
    played = run_playbook(yaml.safe_dump(play, sort_keys=False), env=site.env(tmp_path))
    assert failures(played) == [], played.stderr[-2000:]
    assert played.rc == 0, played.stderr[-2000:]
    assert [name for name, dummy in played.tasks()] == task_names(tasks)


def _without_sample(returns: dict[str, t.Any], prefix: str = '') -> list[str]:
    missing = []
    for key, value in returns.items():
        if 'sample' not in value:
            missing.append(prefix + key)
        missing.extend(_without_sample(value.get('contains') or {}, '%s%s.' % (prefix, key)))
    return missing


def test_module_docs_are_complete() -> None:
    """What ansible-doc shows of each module (fragments merged): requirements, the four attributes, seealso with a module and a
    link, and a sample for every return value, nested ones included."""
    ansible_doc = Path(PYTHON).parent / 'ansible-doc'
    shown = subprocess.run([str(ansible_doc) if ansible_doc.exists() else 'ansible-doc', '-j'] + ['ocikit.images.%s' % name for name in MODULES],
                           capture_output=True, text=True, check=True, timeout=300,
                           env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_PATH)))
    docs = json.loads(shown.stdout)
    assert sorted(docs) == sorted('ocikit.images.%s' % name for name in MODULES)
    gaps = {}
    for name, entry in docs.items():
        doc = entry['doc']
        attributes = doc.get('attributes') or {}
        seealso = doc.get('seealso') or []
        problems = ['attribute %s' % attr for attr in ('check_mode', 'diff_mode', 'idempotent', 'platform')
                    if attributes.get(attr, {}).get('support') not in ('full', 'partial', 'none')]
        problems += [] if doc.get('requirements') else ['requirements']
        problems += [] if any('module' in item for item in seealso) and any('link' in item for item in seealso) else ['seealso']
        problems += ['sample of %s' % key for key in _without_sample(entry.get('return') or {})]
        if problems:
            gaps[name] = problems
    assert gaps == {}
