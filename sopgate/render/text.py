"""The terminal report: one line per step in plan order, its reasons below it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sopgate.evaluate import Evaluation, State

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_COLOURS: dict[State, str] = {
    "done": "\x1b[32m",
    "ready": "\x1b[32m",
    "waiting": "\x1b[33m",
    "blocked": "\x1b[90m",
    "failed": "\x1b[31m",
    "rejected": "\x1b[31m",
}
_DECISION_COLOURS = {"open": "\x1b[32m", "closed": "\x1b[31m"}
_TAG_WIDTH = len("[rejected]")

# Reasons may quote people (a `/sop reject` comment): never let them drive the terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """``text`` on one line without control characters (escape sequences included)."""
    return _CONTROL.sub(" ", text)


def timestamp(moment: datetime) -> str:
    """``2026-11-26T10:00:00Z``: the evaluation's "now" in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_text(evaluation: Evaluation, *, color: bool = False) -> str:
    """The report for a terminal; ANSI colours only with ``color=True``."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    facts = evaluation.facts
    out = [
        f"sopgate: {clean(evaluation.loaded.sop.name)} @ {facts.commit[:12]} "
        f"(observed {timestamp(facts.observed_at)})",
        "",
    ]
    width = max((len(clean(result.key)) for result in evaluation.steps), default=0)
    for result in evaluation.steps:
        tag = f"[{result.state}]".ljust(_TAG_WIDTH)
        key = clean(result.key).ljust(width)
        marker = ">" if result.key == evaluation.target else " "
        line = f"{marker} {paint(tag, _COLOURS[result.state])} {key}  {clean(result.owner)}"
        out.append(line.rstrip())
        indent = " " * (2 + _TAG_WIDTH + 1)
        out.extend(f"{indent}- {clean(reason)}" for reason in result.reasons)
    decision = evaluation.decision
    if evaluation.target is not None and decision is not None:
        verdict = paint(decision.upper(), _BOLD + _DECISION_COLOURS[decision])
        out += ["", f"Decision for {clean(evaluation.target)}: {verdict}"]
    out.append("")
    if evaluation.next:
        out.append("Next:")
        out.extend(f"  - {clean(action)}" for action in evaluation.next)
    else:
        out.append("Next: nothing left to do")
    return "\n".join(out) + "\n"
