# -*- coding: utf-8 -*-
# Copyright (c) 2026, ocikit.images contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only stdout callback: the play's task results and stats as one JSON document.

ansible-core no longer ships the json callback (it lives in ansible.posix), and the tests must not
download collections, so this small one serves run_playbook.
"""

from __future__ import annotations

DOCUMENTATION = '''
name: ocikit_json
type: stdout
short_description: Task results as JSON (integration tests only)
description: Prints every task result and the final stats as one JSON document.
'''

import json

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'ocikit_json'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tasks = []

    def _record(self, result, status):
        data = dict(result._result)
        data['_status'] = status
        self.tasks.append({'task': {'name': result._task.get_name()}, 'hosts': {result._host.get_name(): data}})

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')

    def v2_playbook_on_stats(self, stats):
        summary = {h: stats.summarize(h) for h in sorted(stats.processed.keys())}
        self._display.display(json.dumps({'plays': [{'tasks': self.tasks}], 'stats': summary}, default=str))
