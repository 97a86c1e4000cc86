"""The audit record: ``sopgate-report.json`` + ``sopgate-report.md``, and its replay.

The JSON record holds everything needed to re-evaluate: the SOP text and its sha256, the
facts snapshot and its digest, the target step, and every step's state and reasons.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sopgate import __version__
from sopgate.errors import InputError, ReplayMismatch, UsageError
from sopgate.evaluate import Evaluation, evaluate
from sopgate.facts import Facts
from sopgate.render import render
from sopgate.render.json import json_data
from sopgate.sop.load import parse_sop

REPORT_JSON = "sopgate-report.json"
REPORT_MD = "sopgate-report.md"


def record(evaluation: Evaluation) -> dict[str, Any]:
    """The audit record of one evaluation as JSON-ready data."""
    loaded = evaluation.loaded
    data = json_data(evaluation)
    data["report"] = 1
    data["sop"] = {"path": loaded.path, "sha256": loaded.sha256, "text": loaded.text}
    data["facts"] = evaluation.facts.to_data()
    data["facts_sha256"] = evaluation.facts.digest()
    return data


def report_files(evaluation: Evaluation) -> dict[str, str]:
    """File name -> content of the audit record."""
    return {
        REPORT_JSON: json.dumps(record(evaluation), indent=2) + "\n",
        REPORT_MD: render("markdown", evaluation),
    }


def write_report(evaluation: Evaluation, directory: str) -> list[Path]:
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in report_files(evaluation).items():
        target = folder / name
        target.write_text(content, encoding="utf-8")
        written.append(target)
    return written


def replay(path: str) -> tuple[Evaluation, str]:
    """Re-evaluate a saved report; raise :class:`ReplayMismatch` (exit 1) when the SOP or
    facts inside were altered or the decision is no longer the same."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such report") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a sopgate JSON report ({exc})") from None
    if not isinstance(data, dict) or data.get("report") != 1:
        raise UsageError(f'{path}: not a sopgate report (expected "report": 1)')
    try:
        sop_info, facts_data = data["sop"], data["facts"]
        text, recorded_sha = sop_info["text"], sop_info["sha256"]
        target, steps = data["step"], data["steps"]
    except (KeyError, TypeError) as exc:
        raise UsageError(f"{path}: report lacks {exc}") from None
    problems = []
    actual_sha = hashlib.sha256(str(text).encode("utf-8")).hexdigest()
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
    evaluation = evaluate(loaded, facts, target)
    now = [(r.key, r.state, list(r.reasons)) for r in evaluation.steps]
    then = [(s.get("id"), s.get("state"), s.get("reasons")) for s in steps]
    if evaluation.decision != data.get("decision"):
        problems.append(f"decision is now {evaluation.decision}, recorded {data.get('decision')}")
    if now != then:
        changed = [n[0] for n, t in zip(now, then, strict=False) if n != t] or ["step list"]
        problems.append(f"step results differ: {', '.join(str(c) for c in changed)}")
    if problems:
        raise ReplayMismatch(
            f"{path}: replay does not confirm the recorded decision:\n  - "
            + "\n  - ".join(problems)
        )
    decision = evaluation.decision or "status"
    what = f"decision {decision} for {target}" if target else "sequence status"
    return evaluation, (
        f"replay confirmed: {what}, {len(now)} step results identical "
        f"(sopgate {__version__}, recorded by {data.get('sopgate')})"
    )
