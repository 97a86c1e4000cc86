"""The audit record: ``sopgate-report.json`` + ``sopgate-report.md``, and its replay.

The JSON record holds everything needed to re-evaluate: the SOP text and its sha256, the
facts snapshot and its digest, the target step, and every step's state, reasons and
approvers, and each step's emergency override lines (``"emergency": true`` at the top when
the target's gate opened only because of one). ``needs_records`` names, for each step the
target needed, the digest of that step's record when the facts carry it in ``records``
(else null), and ``report_digest`` is the sha256 of the record's canonical JSON without that
field, so a dossier can chain records and spot an edit. Next to it, :mod:`sopgate.attest` writes the
in-toto statement (and its signature).
"""

from __future__ import annotations

import json
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic_core import ValidationError

from sopgate import __version__
from sopgate.attest import PrivateKey, attestation_files, canonical, check_attestation, sha256
from sopgate.errors import InputError, ReplayMismatch, UsageError
from sopgate.evaluate import Evaluation, evaluate
from sopgate.facts import Facts
from sopgate.render import render
from sopgate.render.json import json_data
from sopgate.sop.load import parse_sop

REPORT_JSON = "sopgate-report.json"
REPORT_MD = "sopgate-report.md"
DIGEST_KEY = "report_digest"


#: The last record built, by its evaluation: a gate that publishes its status (whose URL
#: names the record's digest) and writes ``--report-dir`` needs the same record twice, and
#: on a large SOP building it takes a noticeable part of the run.
_LAST: list[tuple[weakref.ref[Evaluation], dict[str, Any]]] = []


def record(evaluation: Evaluation) -> dict[str, Any]:
    """The audit record of one evaluation as JSON-ready data (a new top-level mapping on
    every call; what it holds is shared with the next call for the same evaluation)."""
    if _LAST and _LAST[0][0]() is evaluation:
        return dict(_LAST[0][1])
    data = _record(evaluation)
    _LAST[:] = [(weakref.ref(evaluation), data)]
    return dict(data)


def _record(evaluation: Evaluation) -> dict[str, Any]:
    loaded = evaluation.loaded
    data = json_data(evaluation)
    for entry, result in zip(data["steps"], evaluation.steps, strict=True):
        entry["approvers"] = list(result.approvers)
        entry["done_at"] = _instant(result.done_at)
        if result.emergency:
            entry["emergency"] = list(result.emergency)
    data["report"] = 1
    data["sop"] = {"path": loaded.path, "sha256": loaded.sha256, "text": loaded.text}
    data["facts"] = evaluation.facts.to_data()
    data["facts_sha256"] = evaluation.facts.digest()
    data["needs_records"] = needs_records(evaluation)
    data[DIGEST_KEY] = report_digest(data)
    return data


def report_digest(data: dict[str, Any]) -> str:
    """sha256 of the record's canonical JSON without its own ``report_digest``."""
    return sha256(canonical({k: v for k, v in data.items() if k != DIGEST_KEY}))


def needs_records(evaluation: Evaluation) -> dict[str, str | None]:
    """For each step the target needs, the digest of that step's record, or None.

    The digest comes from the facts (``records``: what the needed gate's ``sopgate/KEY``
    commit status carried); sopgate never guesses it from files lying around, which anyone
    can place there.
    """
    if evaluation.target is None:
        return {}
    known = evaluation.facts.records
    return {need: known.get(need) for need in evaluation.by_key[evaluation.target].needs}


def record_digest(evaluation: Evaluation) -> str:
    """The ``report_digest`` of the record :func:`report_files` writes for ``evaluation``:
    what a gate's commit status carries, so the next gate's facts can name it."""
    return str(record(evaluation)[DIGEST_KEY])


def _instant(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def report_files(evaluation: Evaluation, *, sign_key: PrivateKey | None = None) -> dict[str, str]:
    """File name -> content of the audit record, its attestation and, with a key, the
    attestation's signed envelope."""
    data = record(evaluation)
    return {
        REPORT_JSON: json.dumps(data, indent=2) + "\n",
        REPORT_MD: render("markdown", evaluation),
        **attestation_files(data, sign_key),
    }


def write_report(
    evaluation: Evaluation, directory: str, *, sign_key: PrivateKey | None = None
) -> list[Path]:
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in report_files(evaluation, sign_key=sign_key).items():
        target = folder / name
        target.write_text(content, encoding="utf-8")
        written.append(target)
    return written


def load_record(path: str) -> dict[str, Any]:
    """A saved report as data; a file that is not one is a usage error (exit 2)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such report") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a sopgate JSON report ({exc})") from None
    if not isinstance(data, dict) or data.get("report") != 1:
        raise UsageError(f'{path}: not a sopgate report (expected "report": 1)')
    return data


def replay(path: str, *, key: str | None = None) -> tuple[Evaluation, str]:
    """Re-evaluate a saved report; raise :class:`ReplayMismatch` (exit 1) when the SOP or
    facts inside were altered, the record was edited after it was written, the decision is
    no longer the same, or the attestation next to it does not match (with ``key``: is not
    signed by that key)."""
    data = load_record(path)
    _check_shape(path, data)
    sop_info, facts_data = data["sop"], data["facts"]
    text, recorded_sha = sop_info["text"], sop_info["sha256"]
    target, steps = data["step"], data["steps"]
    problems = []
    if DIGEST_KEY in data and data[DIGEST_KEY] != report_digest(data):
        problems.append("the record was edited after it was written (report_digest differs)")
    actual_sha = sha256(str(text).encode("utf-8"))
    if actual_sha != recorded_sha:
        problems.append(
            f"the SOP text was altered (sha256 {actual_sha[:12]}, recorded "
            f"{str(recorded_sha)[:12]})"
        )
    try:
        facts = Facts.model_validate(facts_data)
    except ValidationError as exc:
        raise ReplayMismatch(
            f"{path}: the facts inside are not a valid snapshot: {exc.error_count()} errors"
        ) from None
    if facts.digest() != data.get("facts_sha256"):
        problems.append("the facts snapshot was altered (digest differs from the recorded one)")
    try:
        loaded = parse_sop(str(text), path=str(sop_info.get("path", "sop")))
    except InputError as exc:
        raise ReplayMismatch(f"{path}: the SOP inside is no longer valid:\n{exc}") from None
    try:
        evaluation = evaluate(loaded, facts, target)
    except UsageError:
        problems.append(f"'{target}' is not a step of the SOP inside")
        raise ReplayMismatch(_unconfirmed(path, problems)) from None
    now: list[tuple[Any, ...]] = [(r.key, r.state, list(r.reasons)) for r in evaluation.steps]
    then: list[tuple[Any, ...]] = [(s.get("id"), s.get("state"), s.get("reasons")) for s in steps]
    if all(isinstance(s, dict) and "approvers" in s for s in steps):
        now = [(*n, list(r.approvers)) for n, r in zip(now, evaluation.steps, strict=True)]
        then = [(*t, s["approvers"]) for t, s in zip(then, steps, strict=False)]
    if evaluation.decision != data.get("decision"):
        problems.append(f"decision is now {evaluation.decision}, recorded {data.get('decision')}")
    if now != then:
        changed = [n[0] for n, t in zip(now, then, strict=False) if n != t] or ["step list"]
        problems.append(f"step results differ: {', '.join(str(c) for c in changed)}")
    if problems:
        raise ReplayMismatch(_unconfirmed(path, problems))
    attested = check_attestation(Path(path), data, key) if target else ""
    decision = evaluation.decision or "status"
    what = f"decision {decision} for {target}" if target else "sequence status"
    return evaluation, (
        f"replay confirmed: {what}, {len(now)} step results identical "
        f"(sopgate {__version__}, recorded by {data.get('sopgate')}){attested}"
    )


def _unconfirmed(path: str, problems: list[str]) -> str:
    return f"{path}: replay does not confirm the recorded decision:\n  - " + "\n  - ".join(problems)


def _check_shape(path: str, data: dict[str, Any]) -> None:
    """The keys replay reads, of the types it reads them as; anything else is not a report
    (exit 2), said plainly rather than failing inside."""

    def bad(problem: str) -> UsageError:
        return UsageError(f"{path}: not a valid sopgate report: {problem}")

    for key in ("sop", "facts", "step", "steps"):
        if key not in data:
            raise bad(f"it lacks '{key}'")
    sop = data["sop"]
    if not isinstance(sop, dict):
        raise bad("'sop' is not an object")
    for key in ("text", "sha256"):
        if not isinstance(sop.get(key), str):
            raise bad(f"'sop.{key}' is not a string")
    if data["step"] is not None and not isinstance(data["step"], str):
        raise bad("'step' is neither a step id nor null")
    steps = data["steps"]
    if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
        raise bad("'steps' is not a list of step objects")
