# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Message defects the hostile corpus found in the module glue (tests/integration/targets/hostile_corpus).

- a megabyte of image reference made a megabyte of failure message: the subject is clipped;
- "PATH:@N" in a usage message was taken for ``user:password@host`` and came out as
  "PATH:********@N": an empty password is no userinfo to redact.
"""

from __future__ import annotations

import json
import typing as t

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.ocikit.images.plugins.module_utils.errors import REDACTED, InvalidReferenceError, redact_userinfo
from ansible_collections.ocikit.images.plugins.module_utils.module import OcikitModule, run


def failure_of(subject: str, message: str, capsys: t.Any) -> str:
    def work() -> dict[str, t.Any]:
        raise InvalidReferenceError(message)

    with patch_module_args({'image': subject}), pytest.raises(SystemExit):
        run(OcikitModule(argument_spec=dict(image=dict(type='str'))), work, subject=subject)
    return json.loads(capsys.readouterr().out)['msg']


def test_a_huge_subject_is_clipped(capsys: t.Any) -> None:
    subject = 'docker://example.com/' + 'a/' * 500000 + 'b'
    msg = failure_of(subject, 'invalid reference: the name is 1000013 characters long, the limit is 255', capsys)
    assert len(msg) < 1000
    assert msg.startswith('docker://example.com/a/a/') and msg.endswith('...: invalid reference: the name is 1000013 characters long, the limit is 255')


def test_a_short_subject_is_kept_whole(capsys: t.Any) -> None:
    msg = failure_of('docker://example.com/app:v1', 'nope', capsys)
    assert msg == 'docker://example.com/app:v1: nope'


@pytest.mark.parametrize('text', [
    'invalid docker-archive reference "": expected PATH, PATH:REF or PATH:@N',
    'docker-archive:/tmp/x.tar:@0',
    'user:@registry.example.com/app',
])
def test_an_empty_password_is_not_userinfo(text: str) -> None:
    assert redact_userinfo(text) == text


@pytest.mark.parametrize('text, redacted', [
    ('user:pw@registry.example.com/app', 'user:%s@registry.example.com/app' % REDACTED),
    ('user:p@ss@registry.example.com/app', 'user:%s@registry.example.com/app' % REDACTED),
])
def test_a_password_is_still_redacted(text: str, redacted: str) -> None:
    assert redact_userinfo(text) == redacted
