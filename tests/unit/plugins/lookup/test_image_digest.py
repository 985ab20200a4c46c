# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Lookup image_digest: one HEAD when it says the digest, a GET only when it does not, platform instances, other transports, errors."""

from __future__ import annotations

import hashlib
import json
import typing as t

import pytest
import yaml

from ansible import constants as C
from ansible.errors import AnsibleLookupError

from ansible_collections.ocikit.images.plugins.lookup import image_digest
from ansible_collections.ocikit.images.plugins.module_utils.copy.execute import copy_image
from ansible_collections.ocikit.images.plugins.module_utils.copy.plan import CopyOptions
from ansible_collections.ocikit.images.plugins.module_utils.errors import ImageNotFoundError, NoMatchingPlatformError
from ansible_collections.ocikit.images.plugins.module_utils.manifest import media_types as mt
from ansible_collections.ocikit.images.plugins.module_utils.resolve import manifest_digest
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker.pool import ClientPool
from ansible_collections.ocikit.images.plugins.module_utils.transports.names import parse_image_name
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.copy.test_signing import write_dir_image
from ansible_collections.ocikit.images.tests.unit.plugins.module_utils.transports.docker.fake_registry import (
    PASSWORD,
    SECRET_MARKERS,
    USER,
    Credentials,
    FakeRegistry,
    make_client,
)

httpx = pytest.importorskip('httpx')

MANIFEST = json.dumps({'schemaVersion': 2, 'mediaType': mt.OCI_MANIFEST,
                       'config': {'mediaType': mt.OCI_CONFIG, 'digest': 'sha256:' + 'c' * 64, 'size': 2}, 'layers': []}).encode()
ARM_MANIFEST = MANIFEST.replace(b'"layers": []', b'"layers": [], "annotations": {"arch": "arm64"}')


def sha256(data: bytes) -> str:
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def index_of(*instances: tuple[bytes, str, str, str | None]) -> bytes:
    manifests = []
    for raw, os_name, arch, variant in instances:
        platform = {'os': os_name, 'architecture': arch}
        if variant:
            platform['variant'] = variant
        manifests.append({'mediaType': mt.OCI_MANIFEST, 'digest': sha256(raw), 'size': len(raw), 'platform': platform})
    return json.dumps({'schemaVersion': 2, 'mediaType': mt.OCI_INDEX, 'manifests': manifests}).encode()


INDEX = index_of((MANIFEST, 'linux', 'amd64', None), (ARM_MANIFEST, 'linux', 'arm64', 'v8'))


def registry(auth: str | None = None) -> FakeRegistry:
    fake = FakeRegistry(auth=auth)
    fake.add_manifest('team/app', MANIFEST, mt.OCI_MANIFEST, tag='1.0')
    fake.add_manifest('team/app', ARM_MANIFEST, mt.OCI_MANIFEST)
    fake.add_manifest('team/app', INDEX, mt.OCI_INDEX, tag='multi')
    return fake


def pooled(fake: FakeRegistry, creds: t.Any = None) -> ConnectionOptions:
    return ConnectionOptions(clients=ClientPool(lambda name, options: make_client(fake, creds=creds, registry=name)))


def manifest_calls(fake: FakeRegistry) -> list[str]:
    return [call for call in fake.calls() if '/manifests/' in call]


# -- the engine (module_utils/resolve.py) ----------------------------------------------------------


def test_one_head_gives_the_digest() -> None:
    fake = registry()
    assert manifest_digest(parse_image_name('docker://registry.test/team/app:1.0'), pooled(fake)) == sha256(MANIFEST)
    assert manifest_calls(fake) == ['HEAD /v2/team/app/manifests/1.0']


def test_an_index_digest_is_the_index_s_without_platform() -> None:
    fake = registry()
    assert manifest_digest(parse_image_name('docker://registry.test/team/app:multi'), pooled(fake)) == sha256(INDEX)
    assert manifest_calls(fake) == ['HEAD /v2/team/app/manifests/multi']


@pytest.mark.parametrize('platform, expected', [('linux/amd64', MANIFEST), ('linux/arm64', ARM_MANIFEST), ('linux/arm64/v8', ARM_MANIFEST)])
def test_a_platform_resolves_the_index_instance_read_by_the_digest_the_head_gave(platform: str, expected: bytes) -> None:
    fake = registry()
    assert manifest_digest(parse_image_name('docker://registry.test/team/app:multi'), pooled(fake), platform) == sha256(expected)
    assert manifest_calls(fake) == ['HEAD /v2/team/app/manifests/multi', 'GET /v2/team/app/manifests/%s' % sha256(INDEX)]


def test_a_platform_on_a_single_image_keeps_its_digest_after_one_head() -> None:
    fake = registry()
    assert manifest_digest(parse_image_name('docker://registry.test/team/app:1.0'), pooled(fake), 'linux/s390x') == sha256(MANIFEST)
    assert manifest_calls(fake) == ['HEAD /v2/team/app/manifests/1.0']


def test_a_platform_missing_from_the_index_is_named() -> None:
    with pytest.raises(NoMatchingPlatformError, match=r'^no image for platform linux/s390x in the index \(available: linux/amd64, linux/arm64/v8\)$'):
        manifest_digest(parse_image_name('docker://registry.test/team/app:multi'), pooled(registry()), 'linux/s390x')


@pytest.mark.parametrize('headers', [{'Content-Type': mt.OCI_MANIFEST}, {'Content-Type': mt.OCI_MANIFEST, 'Docker-Content-Digest': 'sha256:zz'}])
def test_a_head_without_a_valid_digest_header_falls_back_to_one_get(headers: dict[str, str]) -> None:
    fake = registry()
    fake.hooks.append(lambda request: httpx.Response(200, headers=headers) if request.method == 'HEAD' else None)
    assert manifest_digest(parse_image_name('docker://registry.test/team/app:1.0'), pooled(fake)) == sha256(MANIFEST)
    assert manifest_calls(fake) == ['HEAD /v2/team/app/manifests/1.0', 'GET /v2/team/app/manifests/1.0']


def test_a_missing_tag_is_named_by_the_get() -> None:
    fake = registry()
    with pytest.raises(ImageNotFoundError, match='registry.test/team/app:2.0'):
        manifest_digest(parse_image_name('docker://registry.test/team/app:2.0'), pooled(fake))
    assert manifest_calls(fake) == ['HEAD /v2/team/app/manifests/2.0', 'GET /v2/team/app/manifests/2.0']


def layout_with_image(tmp_path) -> tuple[str, str]:
    """An OCI layout holding one image as ``app:1.0``, copied by the engine from a dir: image; the digest its index.json gives."""
    write_dir_image(tmp_path / 'src')
    layout = tmp_path / 'layout'
    copy_image(parse_image_name('dir:%s' % (tmp_path / 'src')), parse_image_name('oci:%s:app:1.0' % layout), ConnectionOptions(),
               ConnectionOptions(), CopyOptions())
    (entry,) = json.loads((layout / 'index.json').read_text())['manifests']
    return str(layout), entry['digest']


def test_other_transports_read_the_manifest_through_the_engine(tmp_path) -> None:
    layout, digest = layout_with_image(tmp_path)
    assert manifest_digest(parse_image_name('oci:%s:app:1.0' % layout), ConnectionOptions()) == digest
    manifest = (tmp_path / 'src' / 'manifest.json').read_bytes()
    assert manifest_digest(parse_image_name('dir:%s' % (tmp_path / 'src')), ConnectionOptions()) == sha256(manifest)


# -- the lookup plugin -----------------------------------------------------------------------------


@pytest.fixture(name='lookup')
def lookup_fixture() -> image_digest.LookupModule:
    """The plugin with its options defined from its DOCUMENTATION, as the plugin loader defines them."""
    options = yaml.safe_load(image_digest.DOCUMENTATION)['options']
    C.config.initialize_plugin_configuration_definitions('lookup', 'ocikit.images.image_digest', options)
    plugin = image_digest.LookupModule()
    plugin._load_name = 'ocikit.images.image_digest'  # pylint: disable=protected-access
    return plugin


def on_fake(monkeypatch: pytest.MonkeyPatch, fake: FakeRegistry, creds: t.Any = None) -> list[ConnectionOptions]:
    """Make the lookup's connection options reach ``fake``; returns the options it built, to look at."""
    built: list[ConnectionOptions] = []
    pool = ClientPool(lambda name, options: make_client(fake, creds=creds, registry=name))

    def options(**kwargs: t.Any) -> ConnectionOptions:
        built.append(ConnectionOptions(**kwargs))
        return ConnectionOptions(clients=pool, **kwargs)

    monkeypatch.setattr(image_digest, 'ConnectionOptions', options)
    return built


def test_lookup_resolves_each_term_in_order_with_its_options(lookup, monkeypatch) -> None:
    fake = registry()
    built = on_fake(monkeypatch, fake)
    digests = lookup.run(['registry.test/team/app:1.0', 'docker://registry.test/team/app:multi', 'registry.test/team/app:multi'], {},
                         platform='linux/arm64', username=USER, password=PASSWORD, tls_verify=False, cert_dir='/ca', timeout=5,
                         daemon_host='unix:///run/test/docker.sock')
    assert digests == [sha256(MANIFEST), sha256(ARM_MANIFEST), sha256(ARM_MANIFEST)]
    assert built == [ConnectionOptions(username=USER, password=PASSWORD, tls_verify=False, cert_dir='/ca', timeout=5.0,
                                       daemon_host='unix:///run/test/docker.sock')]


def test_a_list_among_the_terms_is_its_names(lookup, monkeypatch) -> None:
    on_fake(monkeypatch, registry())
    assert lookup.run([['registry.test/team/app:1.0', 'registry.test/team/app:multi'], 'registry.test/team/app:1.0'], {}) == [
        sha256(MANIFEST), sha256(INDEX), sha256(MANIFEST)]


def test_lookup_defaults_match_the_modules(lookup, monkeypatch) -> None:
    built = on_fake(monkeypatch, registry())
    assert lookup.run(['registry.test/team/app:multi'], {}) == [sha256(INDEX)]
    assert built == [ConnectionOptions()]


def test_lookup_reads_other_transports(lookup, tmp_path) -> None:
    layout, digest = layout_with_image(tmp_path)
    assert lookup.run(['oci:%s:app:1.0' % layout], {}) == [digest]


@pytest.mark.parametrize('terms, kwargs, message', [
    (['registry.test/team/app:2.0'], {},
     'image_digest: reading manifest registry.test/team/app:2.0: MANIFEST_UNKNOWN: manifest unknown (HTTP 404 Not Found)'),
    (['registry.test/Team/app'], {}, 'image_digest: invalid reference "registry.test/Team/app": repository name must be lowercase'),
    (['docker://bob:hunter2-pw@registry.test/app'], {}, 'credentials cannot be part of the reference'),
    (['oci:/nonexistent/layout:x'], {}, 'image_digest: "oci:/nonexistent/layout:x": '),
    ([42], {}, 'image_digest: an image name must be a string, not int'),
    (['registry.test/team/app:multi'], {'platform': 'linux'}, 'invalid platform'),
    (['registry.test/team/app:multi'], {'platform': 'linux/s390x'}, 'no image for platform linux/s390x in the index'),
    (['registry.test/team/app:1.0'], {'username': 'bob'}, 'image_digest: username needs password'),
    (['registry.test/team/app:1.0'], {'username': 'bob', 'password': 'p', 'registry_token': 't'},
     'image_digest: username and registry_token exclude each other'),
])
def test_lookup_errors_are_one_line_and_name_the_problem(lookup, monkeypatch, terms, kwargs, message) -> None:
    on_fake(monkeypatch, registry())
    with pytest.raises(AnsibleLookupError) as caught:
        lookup.run(terms, {}, **kwargs)
    text = str(caught.value)
    assert message in text and '\n' not in text
    assert 'hunter2-pw' not in text
    assert caught.value.__cause__ is None


def test_refused_credentials_never_show_the_password(lookup, monkeypatch) -> None:
    fake = registry(auth='bearer')
    on_fake(monkeypatch, fake, creds=Credentials(USER, PASSWORD))
    fake.hooks.append(lambda request: httpx.Response(401, json={'details': 'no'}) if request.url.host == 'auth.test' else None)
    with pytest.raises(AnsibleLookupError) as caught:
        lookup.run(['registry.test/team/app:1.0'], {}, username=USER, password=PASSWORD)
    text = str(caught.value)
    assert text == ('image_digest: "registry.test/team/app:1.0": requesting a token from auth.test for registry.test: HTTP 401 Unauthorized; '
                    'the registry refused the credentials of user alice from test (wrong username or password?)')
    assert all(marker not in text for marker in SECRET_MARKERS)


def test_a_missing_httpx_is_reported_for_the_controller(lookup, monkeypatch) -> None:
    def missing(*args: t.Any) -> str:
        raise ImportError('the Python library httpx is required to talk to registries (docker:// images); install it with "pip install httpx"',
                          name='httpx')

    monkeypatch.setattr(image_digest, 'manifest_digest', missing)
    with pytest.raises(AnsibleLookupError, match=r'install it with "pip install httpx" \(on the controller, for the Python that runs '
                                                 r'ansible-playbook\)$'):
        lookup.run(['registry.test/team/app:1.0'], {})
