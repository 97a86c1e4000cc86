"""The terminal report: the decision, the next actions, then one line per step in plan
order with its reasons below it; every line fits 100 columns."""

from __future__ import annotations

import re
import textwrap
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


#: Every line of the report fits a terminal this wide.
WIDTH = 100


def wrap(text: str, first: str, rest: str | None = None) -> list[str]:
    """``text`` cleaned and wrapped to :data:`WIDTH` columns behind the given indents."""
    lines = textwrap.wrap(
        clean(text),
        width=WIDTH,
        initial_indent=first,
        subsequent_indent=first if rest is None else rest,
        break_on_hyphens=False,
    )
    return lines or [first.rstrip()]


def render_text(evaluation: Evaluation, *, color: bool = False) -> str:
    """The report for a terminal, in the order people need it: the decision, the next
    actions, then the sequence; ANSI colours only with ``color=True``."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    facts = evaluation.facts
    out = wrap(
        f"sopgate: {evaluation.loaded.sop.name} @ {facts.commit[:12]} "
        f"(observed {timestamp(facts.observed_at)})",
        "",
        "  ",
    )
    decision = evaluation.decision
    if evaluation.target is not None and decision is not None:
        result = evaluation.by_key[evaluation.target]
        verdict = paint(decision.upper(), _BOLD + _DECISION_COLOURS[decision])
        out += ["", f"Decision for {clean(evaluation.target)}: {verdict}"]
        out += wrap(f"{result.name} is {result.state} (owner {result.owner})", "  ", "    ")
        for reason in result.reasons:
            out += wrap(reason, "  - ", "    ")
    out.append("")
    if evaluation.next:
        out.append("Next:")
        for action in evaluation.next:
            out += wrap(action, "  - ", "    ")
    else:
        out.append("Next: nothing left to do")
    out += ["", "Sequence:"]
    width = min(max((len(clean(result.key)) for result in evaluation.steps), default=0), 40)
    indent = " " * (2 + _TAG_WIDTH + 1)
    for result in evaluation.steps:
        tag = f"[{result.state}]".ljust(_TAG_WIDTH)
        marker = ">" if result.key == evaluation.target else " "
        plain = f"{marker} {tag} {clean(result.key).ljust(width)}  {clean(result.owner)}"
        lines = wrap(plain, "", indent)
        lines[0] = lines[0].replace(tag, paint(tag, _COLOURS[result.state]), 1)
        out += [line.rstrip() for line in lines]
        for reason in result.reasons:
            out += wrap(reason, f"{indent}- ", f"{indent}  ")
    return "\n".join(out) + "\n"
