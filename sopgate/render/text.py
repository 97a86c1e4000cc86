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
_ALARM = "\x1b[31m"  # an emergency override
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


def overrides(evaluation: Evaluation) -> list[tuple[str, str]]:
    """Every active emergency override of the evaluation as (line, step key), plan order."""
    found = [(line, result.key) for result in evaluation.steps for line in result.emergency]
    return list(dict.fromkeys(found))


def next_actions(evaluation: Evaluation) -> tuple[str, ...]:
    """:attr:`Evaluation.next`, and first, when the step asked about is done behind a closed
    gate (re-run outside its window or in a freeze) or nothing else is to be done, why its
    gate is closed: a closed gate never reads "nothing left to do"."""
    actions = evaluation.next
    key = evaluation.target
    if key is None or evaluation.decision != "closed":
        return actions
    result = evaluation.by_key[key]
    if actions and result.state != "done":
        return actions  # the actions on the steps it waits for say what to do
    if any(action.startswith(f"{key}: ") for action in actions):
        return actions
    why = "; ".join(result.reasons) or "no reason was given"
    return (f"{key}: {result.state}, but its gate is closed: {why}", *actions)


def render_text(evaluation: Evaluation, *, color: bool = False) -> str:
    """The report for a terminal, in the order people need it: the decision, the next
    actions, then the sequence; ANSI colours only with ``color=True``."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    facts = evaluation.facts
    out: list[str] = []
    for line, key in overrides(evaluation):
        out += [paint(part, _BOLD + _ALARM) for part in wrap(f"{line} ({key})", "", "  ")]
    if out:
        out.append("")
    out += wrap(
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
    actions = next_actions(evaluation)
    if actions:
        out.append("Next:")
        for action in actions:
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
