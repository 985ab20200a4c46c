"""image_sign's argument handling: actions, required and unused options, the reserved sign action, secrets kept out of results."""

from __future__ import annotations

import hashlib
import json
import typing as t

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.ocikit.images.plugins.modules import image_sign

MANIFEST = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []}'


def run(args: dict[str, t.Any], capsys: t.Any, check_mode: bool = False) -> dict[str, t.Any]:
    with patch_module_args(dict(args, _ansible_check_mode=check_mode)), pytest.raises(SystemExit):
        image_sign.main()
    return json.loads(capsys.readouterr().out)


def test_manifest_digest(tmp_path, capsys):
    path = tmp_path / 'manifest.json'
    path.write_bytes(MANIFEST)
    out = run({'action': 'manifest_digest', 'manifest': str(path)}, capsys)
    assert not out.get('failed') and out['changed'] is False
    assert out['digest'] == 'sha256:' + hashlib.sha256(MANIFEST).hexdigest()


@pytest.mark.parametrize('args, message', [
    ({'action': 'verify'}, 'action is verify but all of the following are missing: image'),
    ({'action': 'manifest_digest'}, 'action is manifest_digest but all of the following are missing: manifest'),
    ({'action': 'standalone_sign', 'manifest': '/m', 'docker_reference': 'a/b:c', 'signature': '/s'},
     'action is standalone_sign but any of the following are missing: sign_by, sign_by_sigstore_private_key'),
    ({'action': 'standalone_verify', 'manifest': '/m', 'docker_reference': 'a/b:c', 'signature': '/s'},
     'action is standalone_verify but any of the following are missing: fingerprints, keys, sigstore_keys'),
    ({'action': 'generate_key', 'output_prefix': '/tmp/x'},
     'action is generate_key but any of the following are missing: passphrase, passphrase_file'),
    ({'action': 'verify', 'image': 'dir:/x', 'keys': ['/k'], 'policy': '/p'}, 'parameters are mutually exclusive: policy|policy_data|insecure_policy|keys'),
    ({'action': 'verify', 'image': 'dir:/x', 'keys': ['/k'], 'sigstore_keys': ['/s']}, 'parameters are mutually exclusive: keys|sigstore_keys'),
    ({'action': 'manifest_digest', 'manifest': '/m', 'keys': ['/k'], 'force': True}, 'action manifest_digest does not take force, keys'),
    ({'action': 'verify', 'image': 'dir:/x', 'identity': 'a/b:c', 'policy': '/p'},
     'dir:/x: identity and identity_match apply to keys and sigstore_keys; a policy says which identities it accepts'),
    ({'action': 'verify', 'image': 'dir:/x', 'output_prefix': '/g'}, 'dir:/x: action verify does not take output_prefix'),
    ({'action': 'sign', 'image': 'dir:/x'}, 'action is sign but any of the following are missing: sign_by, sign_by_sigstore_private_key'),
    ({'action': 'sign', 'image': 'dir:/x', 'sign_by': 'ABCDEF0123456789', 'passphrase': 'unused-words-1'}, 'dir:/x: action sign does not take passphrase'),
    ({'action': 'standalone_sign', 'manifest': '/m', 'docker_reference': 'a/b:c', 'signature': '/s', 'sign_by': 'ABCDEF0123456789',
      'sign_identity': 'a/b:d'}, 'action standalone_sign does not take sign_identity'),
    ({'action': 'generate_key', 'output_prefix': '/tmp/x', 'passphrase': 'unused-words-2', 'sign_passphrase': 'unused-words-3'},
     'action generate_key does not take sign_passphrase'),
])
def test_argument_errors(args, message, capsys):
    out = run(args, capsys)
    assert out['failed'] and out['msg'] == message, out['msg']


def test_context_options_that_module_defaults_may_set_are_ignored_by_actions_that_do_not_use_them(tmp_path, capsys):
    out = run({'action': 'generate_key', 'output_prefix': str(tmp_path / 'k'), 'passphrase': 'words-4', 'registries_d': '/r',
               'gnupghome': '/g', 'sign_gnupghome': '/g', 'policy': '/p'}, capsys, check_mode=True)
    assert not out.get('failed') and out['changed'] is True, out.get('msg')


def test_generate_key_in_check_mode_writes_nothing_and_never_returns_the_passphrase(tmp_path, capsys):
    out = run({'action': 'generate_key', 'output_prefix': str(tmp_path / 'k'), 'passphrase': 'Tr0ub4dor&3 horse'}, capsys, check_mode=True)
    assert not out.get('failed') and out['changed'] is True
    assert list(tmp_path.iterdir()) == []
    assert 'Tr0ub4dor&3 horse' not in json.dumps(out)


def test_wrong_passphrase_message_carries_no_passphrase(tmp_path, capsys):
    out = run({'action': 'generate_key', 'output_prefix': str(tmp_path / 'k'), 'passphrase': 'first-secret-words'}, capsys)
    assert out['changed'] and (tmp_path / 'k.private').is_file()
    (tmp_path / 'pass').write_text('second-secret-words\n')
    out = run({'action': 'generate_key', 'output_prefix': str(tmp_path / 'k'), 'passphrase_file': str(tmp_path / 'pass')}, capsys)
    assert out['failed'] and out['msg'].startswith('refusing to overwrite the existing key pair'), out['msg']
    assert 'second-secret-words' not in json.dumps(out) and 'first-secret-words' not in json.dumps(out)
