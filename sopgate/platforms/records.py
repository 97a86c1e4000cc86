"""The chain of records on the platform: a gate's commit status names its record.

A gate run (``check``) sets the commit status ``sopgate/KEY``; its ``target_url`` is the run
(GitHub) or job (GitLab) with a fragment ``#sopgate-record=sha256:HEX``, where HEX is the
``report_digest`` of the ``sopgate-report.json`` that run writes. The description stays for
people. The next gate's gather reads the statuses of the commit and puts, for each step whose
latest ``sopgate/KEY`` status is an open gate (``success``), that digest into the facts'
``records``; its record then names the records of the steps it needed (``needs_records``),
and ``sopgate audit`` checks each name against the records it replays.

Anyone who can set a commit status can also name a digest: a digest only points at a record,
it proves nothing by itself. Sync statuses (whose ``target_url`` is the pull/merge request)
name none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sopgate.facts import STEP_KEY, Check
from sopgate.gates import order_key
from sopgate.sync import CONTEXT

if TYPE_CHECKING:
    from sopgate.evaluate import Evaluation

FRAGMENT = "sopgate-record=sha256:"
_WITH_RECORD = re.compile(r"([^#]*)#" + re.escape(FRAGMENT) + r"([0-9a-f]{64})")


def with_record(url: str, digest: str) -> str:
    """``url`` (a gate run's, without a fragment) naming the record ``digest``."""
    return f"{url}#{FRAGMENT}{digest}"


def gate_url(url: str, evaluation: Evaluation) -> str:
    """The ``target_url`` of a gate's status: ``url`` naming the record of ``evaluation``
    (the ``report_digest`` of the ``sopgate-report.json`` that ``--report-dir`` writes)."""
    from sopgate.report import record_digest

    return with_record(url, record_digest(evaluation))


def record_in(url: str | None) -> str | None:
    """The record digest a status URL names, or None unless it ends in exactly one
    well-formed ``#sopgate-record=sha256:HEX`` fragment."""
    match = _WITH_RECORD.fullmatch(url or "")
    return match.group(2) if match else None


def without_record(url: str | None) -> str | None:
    """``url`` without a well-formed record fragment; any other URL unchanged, so whoever
    reads it still sees (and refuses) a fragment of another kind."""
    match = _WITH_RECORD.fullmatch(url or "")
    return match.group(1) if match else url


def gate_records(checks: Iterable[Check]) -> dict[str, str]:
    """Plan key -> record digest, from the latest ``sopgate/KEY`` commit status of each key
    when it is an open gate (``success``) whose URL names a record.

    "Latest" is the evaluator's (:func:`~sopgate.gates.order_key`): by time, a tie to the
    later entry, an entry with no time last of all; so a queued or failed later status hides
    an earlier open one."""
    latest: dict[str, tuple[datetime, Check]] = {}
    for check in checks:
        if check.app != "status" or not check.name.startswith(CONTEXT):
            continue
        key = check.name[len(CONTEXT) :]
        rank = order_key(check)
        if key not in latest or rank >= latest[key][0]:
            latest[key] = (rank, check)
    found = {}
    for key, (_rank, check) in latest.items():
        digest = record_in(check.url) if check.state == "success" else None
        if digest is not None and STEP_KEY.fullmatch(key):
            found[key] = digest
    return found
