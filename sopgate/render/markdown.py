"""Markdown for GitHub step summaries and PR/MR comments: decision and next actions first,
then the diagram, then the table, within a character budget.

Reasons and notes can quote people (a ``/sop reject`` comment), so every piece of text is
escaped: it cannot break the table, open a link or raw HTML, or close the Mermaid fence.
"""

from __future__ import annotations

import re
from collections import Counter

from sopgate.evaluate import Evaluation, State, StepResult
from sopgate.render.graph import draw
from sopgate.render.mermaid import mermaid_for_plan
from sopgate.render.text import next_actions, overrides, timestamp

STATE_BADGES: dict[State, str] = {
    "done": "✅ done",
    "ready": "🟢 ready",
    "waiting": "⏳ waiting",
    "blocked": "⏸️ blocked",
    "failed": "❌ failed",
    "rejected": "⛔ rejected",
}

_SPECIAL = re.compile(r"([\\`*_<>|~&])")
# Only "](" makes a link or an image here: no line of ours can start a link definition.
_LINK = re.compile(r"\](?=\()")
# What would start a heading, a nested list or a task box at the front of a list item.
_LEADING = re.compile(r"^([#+\-=\[]|\d+(?=[.)]))")


def escape(text: str) -> str:
    """Inline Markdown text shown literally, on one line; step keys stay readable."""
    text = _inline(text)
    match = _LEADING.match(text)
    if match is None:
        return text
    if match.group(1)[0].isdigit():
        return f"{match.group(1)}\\{text[match.end() :]}"
    return f"\\{text}"


#: A summary never exceeds this many characters (GitHub cuts comments at 65,536).
BUDGET = 60_000

# A command quoted in a reason ('/sop approve go-no-go'): shown as code, ready to copy.
_COMMAND = re.compile(r"'(/sop (?:approve|reject|emergency) [^'`|\n]+)'")
_DECISION_BADGES = {"open": "✅", "closed": "⛔"}


def reason_markdown(text: str) -> str:
    """A reason (or action) escaped, with any ``/sop ...`` command it quotes as code."""
    parts = _COMMAND.split(" ".join(text.split()))
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"`{part}`")
            continue
        lead = " " if i and part.startswith(" ") else ""
        trail = " " if i < len(parts) - 1 and part.endswith(" ") else ""
        out.append(f"{lead}{escape(part) if i == 0 else _inline(part)}{trail}")
    return "".join(out)


def _inline(text: str) -> str:
    """Escaped like :func:`escape`, for text that does not start a line."""
    return _LINK.sub(r"\\]", _SPECIAL.sub(r"\\\1", " ".join(text.split())))


def render_markdown(evaluation: Evaluation, *, budget: int = BUDGET) -> str:
    """The summary posted to the job summary and the sticky PR/MR comment.

    Decision and next actions first, then the diagram, then the table. Past ``budget``
    characters the summary folds, one stage after the other, until it fits: done steps
    become one line each, then a count; the diagram shows only what is not done and its
    direct needs, then none; the table keeps the rows that are not done, then as many as
    fit. Emergency override lines, the decision and the next actions are never cut, except
    that a summary never passes :data:`BUDGET` (or a larger ``budget``): when the next actions
    alone would, those of the step asked about come first and the rest are counted.
    """
    text = _folded(evaluation, budget, _head(evaluation), _tail(evaluation))
    limit = max(budget, BUDGET)
    if len(text) <= limit:
        return text
    # The next actions alone overflow what a comment can hold: the ones that fit, the step
    # asked about first, and how many more there are; never the decision.
    tail = _tail(evaluation)
    empty = _join(_head(evaluation, room=0), _body(evaluation, 3, rows=0), tail)
    head = _head(evaluation, room=limit - len(empty))
    return _folded(evaluation, limit, head, tail)


def _folded(evaluation: Evaluation, budget: int, head: list[str], tail: list[str]) -> str:
    for fold in range(3):
        text = _join(head, _body(evaluation, fold), tail)
        if len(text) <= budget:
            return text
    # Still too long: the rows that fit, under the focused diagram, else under none.
    fold = 2
    room = budget - len(_join(head, _body(evaluation, fold, rows=0), tail))
    if room <= 0:
        fold = 3
        room = budget - len(_join(head, _body(evaluation, fold, rows=0), tail))
    return _join(head, _body(evaluation, fold, room=max(room, 0)), tail)


def _join(*parts: list[str]) -> str:
    return "\n".join(line for part in parts for line in part) + "\n"


def _head(evaluation: Evaluation, *, room: int | None = None) -> list[str]:
    """Alert, decision and next actions; with ``room``, only the actions whose lines fit in
    that many characters (those of the step asked about first) and a count of the rest."""
    facts = evaluation.facts
    out = _alert(evaluation)
    out += [f"## sopgate: {escape(evaluation.loaded.sop.name)}", ""]
    out += _decision(evaluation)
    out += ["", "### Next actions", ""]
    actions = next_actions(evaluation)
    items = [_action(evaluation, action) for action in actions]
    shown = list(range(len(items)))
    if room is not None:
        first = f"{evaluation.target}: "
        chosen: list[int] = []
        for i in sorted(shown, key=lambda i: not actions[i].startswith(first)):
            room -= len(items[i]) + 1
            if room < 0:
                break
            chosen.append(i)
        shown = sorted(chosen)
    out += [items[i] for i in shown]
    if len(shown) < len(items):
        more = len(items) - len(shown)
        out.append(f"- … and {more} more next actions: run `sopgate status` to see them all.")
    if not items:
        out.append("Nothing left to do.")
    out += ["", f"Commit `{facts.commit[:12]}` · observed {timestamp(facts.observed_at)}"]
    return out


def _action(evaluation: Evaluation, action: str) -> str:
    """One next action as a list item: the step in bold with its owner, then what to do."""
    key, _, what = action.partition(": ")
    result = evaluation.by_key.get(key)
    if result is None:
        return f"- {reason_markdown(action)}"
    mark = "▶ " if key == evaluation.target else ""
    return f"- {mark}**{escape(key)}** · owner {escape(result.owner)}: {reason_markdown(what)}"


def _alert(evaluation: Evaluation) -> list[str]:
    """Each active emergency override, in bold in a caution alert (red on GitHub, a quote on
    GitLab), at the very top: part of the head, so no folding ever cuts it."""
    found = overrides(evaluation)
    if not found:
        return []
    out = ["> [!CAUTION]"]
    for i, (line, key) in enumerate(found):
        out += [">"] if i else []
        out.append(f"> **{escape(line)}** ({escape(key)})")
    return [*out, ""]


def _reason(result: StepResult, reason: str) -> str:
    """A reason of ``result`` in Markdown; its emergency override lines in bold."""
    return f"**{escape(reason)}**" if reason in result.emergency else reason_markdown(reason)


def _decision(evaluation: Evaluation) -> list[str]:
    decision = evaluation.decision
    if evaluation.target is None or decision is None:
        counts = Counter(result.state for result in evaluation.steps)
        listing = " · ".join(
            f"{counts[state]} {STATE_BADGES[state].split()[-1]}"
            for state in ("done", "ready", "waiting", "blocked", "failed", "rejected")
            if counts[state]
        )
        return [f"### Sequence status: {listing}"]
    result = evaluation.by_key[evaluation.target]
    out = [
        f"### {_DECISION_BADGES[decision]} **{escape(result.key)}**: gate **{decision}**",
        "",
        f"**{escape(result.name)}** is {STATE_BADGES[result.state]} · owner {escape(result.owner)}",
    ]
    if result.reasons:
        out.append("")
        out.extend(f"- {_reason(result, reason)}" for reason in result.reasons)
    return out


def _body(
    evaluation: Evaluation, fold: int, *, rows: int | None = None, room: int | None = None
) -> list[str]:
    """Diagram and table at fold stage 0 (everything), 1 (done steps one line each, focused
    diagram), 2 (done steps counted) or 3 (no diagram).

    ``rows`` limits the table to that many rows; ``room`` to as many as fit in that many
    characters."""
    out = ["", "### Sequence", ""]
    done = [result for result in evaluation.steps if result.state == "done"]
    if fold < 3:
        drawing = draw(evaluation.plan, evaluation.by_key, focus=fold > 0)
        diagram = mermaid_for_plan(
            evaluation.plan, evaluation.by_key, target=evaluation.target, drawing=drawing
        )
        out += ["```mermaid", diagram.rstrip(), "```"]
        if drawing.omitted_done:
            out += ["", "The diagram shows the steps that are not done and their direct needs."]
    else:
        out.append(
            f"The diagram of {len(evaluation.steps)} steps does not fit here; "
            "run `sopgate diagram --facts FILE` to draw it."
        )
    table = evaluation.steps if fold == 0 else [r for r in evaluation.steps if r.state != "done"]
    if table:
        out += ["", "| Step | Owner | State | Reasons |", "| --- | --- | --- | --- |"]
        lines = [_row(result) for result in table]
        keep = _fitting(lines, room) if room is not None else len(lines) if rows is None else rows
        out += lines[:keep]
        if keep < len(lines):
            out.append(
                f"\n… and {len(lines) - keep} more steps that are not done: "
                "run `sopgate status` to see them all."
            )
    if fold == 1 and done:
        out += ["", f"**Done** ({len(done)}):", ""]
        out += [
            f"- {STATE_BADGES['done']}: {_step(result)} · {escape(result.owner)}" for result in done
        ]
    elif fold > 1 and done:
        out += ["", f"**Done**: {len(done)} of {len(evaluation.steps)} steps."]
    return out


def _fitting(lines: list[str], room: int) -> int:
    """How many of ``lines`` fit in ``room`` characters, leaving space for the "more" line."""
    room -= 120
    count = 0
    for line in lines:
        room -= len(line) + 1
        if room < 0:
            break
        count += 1
    return count


def _step(result: StepResult) -> str:
    step = escape(result.key)
    if result.name not in (result.key, result.step_id):
        step = f"{escape(result.name)} ({step})"
    return step


def _row(result: StepResult) -> str:
    reasons = "<br>".join(_reason(result, reason) for reason in result.reasons)
    return (
        f"| {_step(result)} | {escape(result.owner)} | {STATE_BADGES[result.state]} | {reasons} |"
    )


def _tail(evaluation: Evaluation) -> list[str]:
    facts = evaluation.facts
    out: list[str] = []
    if facts.notes:
        out += ["", "### Notes", ""]
        out.extend(f"- {escape(note)}" for note in facts.notes)
    if evaluation.loaded.warnings:
        out += ["", "### SOP warnings", ""]
        out.extend(f"- {escape(str(warning))}" for warning in evaluation.loaded.warnings)
    out.extend(_proposed(evaluation))
    return out


def _proposed(evaluation: Evaluation) -> list[str]:
    """This change edits the SOP: how its own version would decide (never used to decide)."""
    proposed = evaluation.proposed
    if proposed is None:
        return []
    out = [
        "",
        "### This change edits the SOP",
        "",
        "The gate above uses the SOP of the target branch. Under the proposed SOP:",
        "",
    ]
    out.extend(f"- {escape(error)}" for error in proposed.errors)
    other = proposed.evaluation
    if other is None:
        return out
    if other.target is not None:
        out.append(f"- **{escape(other.target)}**: gate **{other.decision}**")
    now = evaluation.by_key
    changed = [r for r in other.steps if r.key not in now or now[r.key].state != r.state]
    out.extend(f"- {escape(r.key)}: {STATE_BADGES[r.state]}" for r in changed)
    if not changed:
        out.append("- every step would be in the same state")
    return out
