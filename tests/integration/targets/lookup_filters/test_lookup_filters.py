"""Lookup image_digest and the reference filters in real plays against the test bed's token-auth registry, compared with skopeo.

The playbooks of docs/plugins.md are run as written (extracted from the page), so the documented
examples are the tested ones.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import re
import shutil
import subprocess
import textwrap

import pytest

from ocikit_it import COLLECTION_ROOT, COLLECTIONS_PATH, PASSWORD, PYTHON, USER, run_playbook, skopeo, skopeo_inspect
from ocikit_testbed import LayerSpec, build_image, build_index

DOC = COLLECTION_ROOT / 'docs' / 'plugins.md'
LOOKUP_FAILED = 'image_digest: '


def doc_playbooks() -> list[str]:
    """The YAML blocks of docs/plugins.md that are whole plays."""
    blocks = re.findall(r'```yaml\n(.*?)```', DOC.read_text(encoding='utf-8'), re.S)
    return [block for block in blocks if re.search(r'^  hosts: ', block, re.M)]


@pytest.fixture(scope='module')
def images(token_registry, tmp_path_factory):
    """team/app:1.2 a two-platform index; 1.0.0, 2.0.0 and latest single images. Returns the index."""
    work = tmp_path_factory.mktemp('images')
    index = build_index(work / 'idx', '1.2', platforms=[('linux', 'amd64', None), ('linux', 'arm64', 'v8')],
                        layers=[LayerSpec(size=512)])
    skopeo('copy', '--quiet', '--all', *token_registry.skopeo_flags('dest'), index.oci_ref, 'docker://' + token_registry.ref('team/app', '1.2'))
    for tag, seed in (('1.0.0', 1), ('2.0.0', 2), ('latest', 3)):
        img = build_image(work / tag, tag, layers=[LayerSpec(size=256)], seed=seed)
        skopeo('copy', '--quiet', *token_registry.skopeo_flags('dest'), img.oci_ref, 'docker://' + token_registry.ref('team/app', tag))
    return index


@pytest.fixture(name='play_vars')
def play_vars_fixture(token_registry, tmp_path):
    """registry, auth_file (the registry's credentials, in a temporary auth.json) and ca_dir, as docs/plugins.md expects them."""
    auth = tmp_path / 'auth.json'
    encoded = base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()
    auth.write_text(json.dumps({'auths': {token_registry.host: {'auth': encoded}}}))
    return {'registry': token_registry.host, 'auth_file': str(auth), 'ca_dir': str(token_registry.cert_dir)}


@pytest.fixture(name='env')
def env_fixture(tmp_path):
    """A HOME of the test's own, and no auth file from the environment: the lookup reads only what the play names."""
    home = tmp_path / 'home'
    home.mkdir()
    return {'HOME': str(home), 'REGISTRY_AUTH_FILE': str(tmp_path / 'no-such-auth.json'), 'XDG_RUNTIME_DIR': str(home)}


def facts(run) -> dict:
    found = {}
    for dummy, result in run.tasks():
        found.update(result.get('ansible_facts') or {})
    return found


def test_the_documented_pinning_play_gives_skopeo_s_digests_with_heads_only(token_registry, images, play_vars, env):
    pinning = doc_playbooks()[0]
    token_registry.clear_requests()
    run = run_playbook(pinning, play_vars, env=env)
    assert run.rc == 0, (run.stderr, run.output)
    found = facts(run)
    ref = 'docker://' + token_registry.ref('team/app', '1.2')
    assert found['app_digest'] == skopeo_inspect(ref, *token_registry.skopeo_flags(''))['Digest'] == images.digest
    raw = json.loads(skopeo('inspect', '--raw', *token_registry.skopeo_flags(''), ref).stdout)
    arm = [m['digest'] for m in raw['manifests'] if m['platform']['architecture'] == 'arm64']
    assert [found['app_arm64_digest']] == arm == [images.image_for('linux', 'arm64', 'v8').manifest_digest]
    assert found['app_pinned'] == '%s/team/app@%s' % (token_registry.host, images.digest)
    assert found['normalized'] == ['docker.io/library/nginx:latest', 'docker.io/user/app:1', 'docker://docker.io/library/busybox:latest']
    manifests = [(r['method'], r['path'].rsplit('/', 1)[1]) for r in token_registry.requests()
                 if '/manifests/' in r['path'] and r['status'] == 200 and r['user_agent'] == 'ocikit.images']
    # One HEAD per lookup; the manifest itself is read only for the platform, by the digest the HEAD gave.
    assert manifests == [('HEAD', '1.2'), ('HEAD', '1.2'), ('GET', images.digest)]


def test_the_documented_tags_play_lists_the_releases(token_registry, images, play_vars, env):
    del images
    run = run_playbook(doc_playbooks()[1], play_vars, env=env)
    assert run.rc == 0, (run.stderr, run.output)
    results = dict(run.tasks())
    releases = results['List the 1.x releases of the repository, oldest first']
    assert (releases['tags'], releases['count'], releases['changed']) == (['1.0.0', '1.2'], 2, False)
    assert results['Show the newest one']['msg'] == '1.2'
    listed = json.loads(skopeo('list-tags', *token_registry.skopeo_flags(''), 'docker://%s/team/app' % token_registry.host).stdout)
    assert set(listed['Tags']) == {'1.0.0', '1.2', '2.0.0', 'latest'}


LOOKUP_PLAY = '''
- name: Lookups
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Resolve
      ansible.builtin.set_fact:
        digests: "{{ query('ocikit.images.image_digest', *names, username=user, password=secret, cert_dir=ca_dir, platform=platform) }}"
'''


def test_username_and_password_and_several_terms(token_registry, images, play_vars, env, tmp_path):
    single = 'docker://' + token_registry.ref('team/app', '1.0.0')
    layout = tmp_path / 'layout'
    local = build_image(layout, 'v1', layers=[LayerSpec(size=128)])
    names = ['%s/team/app:1.2' % token_registry.host, single, 'oci:%s:v1' % layout]
    run = run_playbook(LOOKUP_PLAY, dict(play_vars, names=names, user=USER, secret=PASSWORD, platform='linux/amd64'), env=env)
    assert run.rc == 0, (run.stderr, run.output)
    assert facts(run)['digests'] == [images.image_for('linux', 'amd64').manifest_digest,
                                     skopeo_inspect(single, *token_registry.skopeo_flags(''))['Digest'], local.manifest_digest]


@pytest.mark.parametrize('names, extra, message', [
    (['{registry}/team/app:9.9'], {},
     'image_digest: reading manifest {registry}/team/app:9.9: MANIFEST_UNKNOWN: manifest unknown (HTTP 404 Not Found)'),
    (['{registry}/team/app:1.2'], {'secret': 'not-the-password'}, 'refused the credentials of user alice'),
    (['{registry}/team/app:1.2'], {'platform': 'linux/s390x'},
     'no image for platform linux/s390x in the index (available: linux/amd64, linux/arm64/v8)'),
    (['{registry}/Team/app'], {}, 'image_digest: invalid reference "{registry}/Team/app": repository name must be lowercase'),
])
def test_lookup_failures_are_one_line_without_secrets(token_registry, images, play_vars, env, names, extra, message):
    del images
    names = [name.format(registry=token_registry.host) for name in names]
    run = run_playbook(LOOKUP_PLAY, dict(play_vars, **dict({'names': names, 'user': USER, 'secret': PASSWORD, 'platform': None}, **extra)), env=env)
    assert run.rc != 0
    msg = dict(run.tasks())['Resolve']['msg']
    assert message.format(registry=token_registry.host) in msg, msg
    assert msg.count(LOOKUP_FAILED) == 1 and 'Traceback' not in msg + run.stderr
    # run_playbook's secrets scan has checked the whole output for the passwords.


FILTER_PLAY = '''
- name: Filters
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Parse
      ansible.builtin.set_fact:
        parsed: "{{ value | ocikit.images.parse_reference }}"
'''


def test_filters_in_a_play_and_their_errors(env):
    run = run_playbook(FILTER_PLAY, {'value': 'localhost:5000/team/app:1.4'}, env=env)
    assert run.rc == 0, run.stderr
    parsed = facts(run)['parsed']
    assert (parsed['registry'], parsed['repository'], parsed['tag'], parsed['normalized']) == (
        'localhost:5000', 'team/app', '1.4', 'localhost:5000/team/app:1.4')
    bad = run_playbook(FILTER_PLAY, {'value': 'Nginx'}, env=env)
    assert bad.rc != 0
    assert 'parse_reference: invalid reference "Nginx": repository name must be lowercase' in dict(bad.tasks())['Parse']['msg']


@pytest.mark.parametrize('kind, name, expected', [
    ('lookup', 'ocikit.images.image_digest', 'It runs on the controller'),
    ('filter', 'ocikit.images.parse_reference', 'Parses an image reference with the parser the modules'),
    ('filter', 'ocikit.images.normalize_reference', 'docker.io/library/nginx:latest'),
    ('module', 'ocikit.images.image_tags', 'skopeo list-tags'),
])
def test_ansible_doc_renders_each_plugin(kind, name, expected, tmp_path):
    doc = os.path.join(os.path.dirname(PYTHON), 'ansible-doc')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_PATH), HOME=str(tmp_path), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([doc, '-t', kind, name], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert expected in ' '.join(proc.stdout.split())
    assert '[WARNING]' not in proc.stderr and 'ERROR' not in proc.stderr


def documented_examples(kind: str, name: str) -> str:
    """The EXAMPLES of a plugin, as ansible-doc shows them: the module or lookup's EXAMPLES string, the filter's YAML key."""
    if kind == 'filter':
        import yaml  # pylint: disable=import-outside-toplevel
        return yaml.safe_load((COLLECTION_ROOT / 'plugins' / 'filter' / ('%s.yml' % name)).read_text(encoding='utf-8'))['EXAMPLES']
    tree = ast.parse((COLLECTION_ROOT / 'plugins' / kind / ('%s.py' % name)).read_text(encoding='utf-8'))
    return next(node.value.value for node in tree.body if isinstance(node, ast.Assign) and node.targets[0].id == 'EXAMPLES')


@pytest.mark.parametrize('kind, name', [('lookup', 'image_digest'), ('filter', 'parse_reference'), ('filter', 'normalize_reference'),
                                        ('modules', 'image_tags')])
def test_documented_examples_run_against_the_test_bed(token_registry, images, env, tmp_path, kind, name):
    """EXAMPLES as written, registry.example.com being the test bed's registry and /srv/bundle a layout; credentials and CA
    where a user keeps them (the auth file and certs.d under the play's HOME), so examples without them run too."""
    del images
    home = env['HOME']
    certs = os.path.join(home, '.config', 'containers', 'certs.d', token_registry.host)
    os.makedirs(certs)
    shutil.copy(token_registry.ca_file, os.path.join(certs, 'ca.crt'))
    encoded = base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()
    with open(os.path.join(home, '.config', 'containers', 'auth.json'), 'w', encoding='utf-8') as handle:
        json.dump({'auths': {token_registry.host: {'auth': encoded}}}, handle)
    bundle = tmp_path / 'srv' / 'bundle'
    for tag in ('app-1.2', '1.0.0'):
        build_image(bundle, tag, layers=[LayerSpec(size=128)])
    tasks = documented_examples(kind, name)
    for documented, real in (('registry.example.com', token_registry.host), ('/srv/bundle', str(bundle)), ("robot", USER)):
        tasks = tasks.replace(documented, real)
    play = '- name: Examples\n  hosts: localhost\n  gather_facts: false\n  tasks:\n' + textwrap.indent(tasks, '    ')
    run = run_playbook(play, {'registry_password': PASSWORD},
                       env=dict(env, REGISTRY_AUTH_FILE=os.path.join(home, '.config', 'containers', 'auth.json')))
    assert run.rc == 0, (run.stderr, run.output)
    statuses = [result.get('_status') for dummy, result in run.tasks()]
    assert statuses and all(status == 'ok' for status in statuses), run.tasks()
