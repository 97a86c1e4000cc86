"""The dossier of a deployment: ``dossier.json`` (the data), ``dossier.md`` and a
self-contained, printable ``dossier.html`` rendered from it.

Everything in it comes from records that replayed: the state, approvers and times of each
step are those of the latest such record (the last known state), the gate times those of
each step's own records. Findings come first, in red, because they are what a reviewer must
see before trusting anything below them.
"""

from __future__ import annotations

import html
import importlib
import json
import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from sopgate import __version__
from sopgate.audit import Entry, Trail
from sopgate.evaluate import Evaluation
from sopgate.gates import CheckIndex, NameIndex
from sopgate.render.mermaid import mermaid_for_plan
from sopgate.sop.plan import Node

DOSSIER_FILES = ("dossier.json", "dossier.md", "dossier.html")


def build(trail: Trail) -> dict[str, Any]:
    """The dossier as JSON-ready data."""
    data: dict[str, Any] = {
        "dossier": 1,
        "sopgate": __version__,
        "ok": not trail.findings,
        "findings": list(trail.findings),
        "notes": list(trail.notes),
        "commit": trail.commit,
        "records": [_record(e) for e in trail.entries],
    }
    if trail.final is None or trail.final.evaluation is None:
        return data
    final = trail.final.evaluation
    facts, sop, loaded = final.facts, final.loaded.sop, final.loaded
    scope = sop.scope
    review = sop.review
    data.update(
        {
            "repository": facts.repository,
            "change": facts.change.model_dump(mode="json") if facts.change else None,
            "system": {
                "name": sop.name,
                "description": sop.description,
                "system": scope.system if scope else None,
                "environments": list(sop.environments),
                "regions": [str(getattr(r, "id", r)) for r in sop.regions],
            },
            "sop": {
                "path": loaded.path,
                "sha256": loaded.sha256,
                "owners": list(sop.owners),
                "last_reviewed": review.last_reviewed.isoformat() if review else None,
                "every_days": review.every_days if review else None,
                "review_due": (
                    (review.last_reviewed + timedelta(days=review.every_days)).isoformat()
                    if review
                    else None
                ),
            },
            "last_observed_at": trail.final.when,
            "sequence": [_step(node, final, trail.good) for node in final.plan.nodes],
            "emergencies": _emergencies(trail.good),
            "diagram": mermaid_for_plan(final.plan, final.by_key),
        }
    )
    return data


def _record(entry: Entry) -> dict[str, Any]:
    return {
        "path": str(entry.path),
        "step": entry.step,
        "decision": entry.data.get("decision"),
        "observed_at": entry.when,
        "commit": entry.commit,
        "report_digest": entry.digest,
        "replays": entry.problem is None,
        "problem": entry.problem,
    }


def _step(node: Node, final: Evaluation, good: tuple[Entry, ...]) -> dict[str, Any]:
    result = final.by_key[node.key]
    facts = final.facts
    checks = CheckIndex(facts.checks or ())
    files = NameIndex(facts.files or ())
    documents = getattr(facts, "documents", None) or {}
    step = node.step
    evidence = []
    for entry in step.evidence:
        pattern = node.expand(str(getattr(entry, "path", entry)))
        matched = files.matching(pattern, paths=True)
        require = getattr(entry, "require", None) or {}
        evidence.append(
            {
                "pattern": pattern,
                "files": matched,
                "require": {str(k): str(v) for k, v in dict(require).items()},
                "values": {
                    path: _values(documents.get(path), dict(require))
                    for path in matched
                    if require and path in documents
                },
            }
        )
    return {
        "key": node.key,
        "name": step.title,
        "owner": step.owner,
        "type": step.type,
        "environment": step.environment,
        "needs": list(node.needs),
        "state": result.state,
        "reasons": list(result.reasons),
        "approvers": list(result.approvers),
        "done_at": _instant(result.done_at),
        "gates": [
            {
                "decision": e.data.get("decision"),
                "observed_at": e.when,
                "initiator": e.data["facts"].get("initiator"),
                "record": str(e.path),
            }
            for e in good
            if e.step == node.key
        ],
        "checks": [
            _check(
                node.expand(rule.name) + (f" ({rule.app})" if rule.app else ""),
                checks.matching(node.expand(rule.name), rule.app),
                node.expand(rule.name),
            )
            for rule in step.checks
        ],
        "jobs": [
            _check(
                node.expand(job),
                checks.matching(node.expand(job), facts.ci_app),
                node.expand(job),
            )
            for job in step.jobs
        ],
        "evidence": evidence,
        "rollback": step.rollback,
    }


def _check(rule: str, found: list[Any], pattern: str) -> dict[str, Any]:
    return {
        "rule": rule,
        "pattern": pattern,
        "entries": [
            {"name": c.name, "app": c.app, "state": c.state, "at": _instant(c.at)} for c in found
        ],
    }


def _values(document: Any, require: dict[str, Any]) -> dict[str, Any]:
    """The values the requirements read, when JMESPath is available (it comes with the
    evidence-requirement feature); otherwise an empty mapping."""
    try:
        jmespath = importlib.import_module("jmespath")
    except ImportError:
        return {}
    found = {}
    for query in require:
        try:
            found[str(query)] = jmespath.search(str(query), document)
        except Exception:  # a bad query was refused by validation; never fail a dossier on it
            found[str(query)] = None
    return found


def _instant(moment: Any) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def _emergencies(good: tuple[Entry, ...]) -> list[dict[str, Any]]:
    """Emergency overrides: the ``/sop emergency`` entries of the facts, and the records
    whose gate opened only because of one."""
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for entry in good:
        for approval in entry.data["facts"].get("approvals") or []:
            if isinstance(approval, dict) and approval.get("source") == "emergency":
                item = {
                    "user": approval.get("user"),
                    "step": approval.get("step"),
                    "reason": approval.get("reason"),
                    "at": approval.get("at"),
                    "opened": None,
                }
                found.setdefault(tuple(item.values()), item)
        if entry.data.get("emergency"):
            item = {
                "user": None,
                "step": entry.step,
                "reason": None,
                "at": entry.when,
                "opened": str(entry.path),
            }
            found.setdefault(tuple(item.values()), item)
    return list(found.values())


# -- files --------------------------------------------------------------------------------


def write(data: dict[str, Any], outdir: Path) -> list[Path]:
    from sopgate.dossier_text import render_html, render_markdown

    outdir.mkdir(parents=True, exist_ok=True)
    svg = mermaid_svg(data["diagram"]) if data.get("diagram") else None
    contents = {
        "dossier.json": json.dumps(data, indent=2) + "\n",
        "dossier.md": render_markdown(data),
        "dossier.html": render_html(data, svg),
    }
    written = []
    for name in DOSSIER_FILES:
        target = outdir / name
        target.write_text(contents[name], encoding="utf-8")
        written.append(target)
    return written


def mermaid_svg(source: str, *, timeout: float = 120.0) -> str | None:
    """The diagram as SVG through the real Mermaid CLI (``mmdc``) when it is on PATH; None
    when it is not or fails, and the dossier then shows the Mermaid source."""
    mmdc = shutil.which("mmdc")
    if mmdc is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "in.mmd").write_text(source, encoding="utf-8")
        (folder / "puppeteer.json").write_text('{"args": ["--no-sandbox"]}', encoding="utf-8")
        command = [mmdc, "-i", "in.mmd", "-o", "out.svg", "-b", "white", "-p", "puppeteer.json"]
        try:
            subprocess.run(command, cwd=folder, capture_output=True, timeout=timeout, check=True)
            svg = (folder / "out.svg").read_text(encoding="utf-8")
        except (OSError, subprocess.SubprocessError):
            return None
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else None


def escape(text: Any) -> str:
    return html.escape("" if text is None else str(text))
