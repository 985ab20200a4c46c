# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One SSLContext per set of TLS settings in a process: the system CAs are loaded once, not per client."""

from __future__ import annotations

import os
import ssl
import typing as t

import pytest

from ansible_collections.ocikit.images.plugins.module_utils.errors import ConfigError
from ansible_collections.ocikit.images.plugins.module_utils.transports.base import ConnectionOptions
from ansible_collections.ocikit.images.plugins.module_utils.transports.docker import tls

trustme = pytest.importorskip('trustme')


def test_same_settings_share_one_context(tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch) -> None:
    loads = []
    real = tls._load_system_trust  # pylint: disable=protected-access
    monkeypatch.setattr(tls, '_load_system_trust', lambda context: (loads.append(context), real(context)))
    (tmp_path / 'ca.crt').write_bytes(trustme.CA().cert_pem.bytes())
    first = tls.ssl_context('a.test', ConnectionOptions(cert_dir=str(tmp_path)))
    # Another registry, the same directory and flag: the same context, the system CAs loaded once.
    assert tls.ssl_context('b.test:5000', ConnectionOptions(cert_dir=str(tmp_path))) is first
    assert len(loads) == 1
    loose = tls.ssl_context('a.test', ConnectionOptions(cert_dir=str(tmp_path), tls_verify=False))
    assert loose is not first and loose.verify_mode == ssl.CERT_NONE and first.verify_mode == ssl.CERT_REQUIRED


def test_changed_certificate_files_make_a_new_context(tmp_path: t.Any) -> None:
    (tmp_path / 'one.crt').write_bytes(trustme.CA().cert_pem.bytes())
    options = ConnectionOptions(cert_dir=str(tmp_path))
    before = tls.ssl_context('a.test', options)
    (tmp_path / 'two.crt').write_bytes(trustme.CA().cert_pem.bytes())
    after = tls.ssl_context('a.test', options)
    assert after is not before
    assert after.cert_store_stats()['x509_ca'] == before.cert_store_stats()['x509_ca'] + 1
    # Rewritten in place (another size and mtime): read again, and a broken file is still refused.
    (tmp_path / 'two.crt').write_text('not a certificate')
    os.utime(tmp_path / 'two.crt', ns=(1, 1))
    with pytest.raises(ConfigError, match='cannot load CA certificate .*two.crt'):
        tls.ssl_context('a.test', options)
