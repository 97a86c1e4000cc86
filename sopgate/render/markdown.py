"""Markdown for GitHub step summaries and PR/MR comments: decision, diagram, table, next.

Reasons and notes can quote people (a ``/sop reject`` comment), so every piece of text is
escaped: it cannot break the table, open a link or raw HTML, or close the Mermaid fence.
"""

from __future__ import annotations

import re

from sopgate.evaluate import Evaluation, State
from sopgate.render.mermaid import mermaid_for_plan
from sopgate.render.text import timestamp

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
    text = _LINK.sub(r"\\]", _SPECIAL.sub(r"\\\1", " ".join(text.split())))
    match = _LEADING.match(text)
    if match is None:
        return text
    if match.group(1)[0].isdigit():
        return f"{match.group(1)}\\{text[match.end() :]}"
    return f"\\{text}"


def render_markdown(evaluation: Evaluation) -> str:
    """The summary posted to the job summary and the sticky PR/MR comment."""
    facts = evaluation.facts
    out = [f"## sopgate: {escape(evaluation.loaded.sop.name)}", ""]
    decision = evaluation.decision
    if evaluation.target is not None and decision is not None:
        out.append(f"**{escape(evaluation.target)}**: gate **{decision}**")
    else:
        out.append("**Sequence status**")
    out += [
        "",
        f"Commit `{facts.commit[:12]}` · observed {timestamp(facts.observed_at)}",
        "",
        "```mermaid",
        mermaid_for_plan(evaluation.plan, evaluation.by_key, target=evaluation.target).rstrip(),
        "```",
        "",
        "| Step | Owner | State | Reasons |",
        "| --- | --- | --- | --- |",
    ]
    for result in evaluation.steps:
        step = escape(result.key)
        if result.name not in (result.key, result.step_id):
            step = f"{escape(result.name)} ({step})"
        reasons = "<br>".join(escape(reason) for reason in result.reasons)
        out.append(
            f"| {step} | {escape(result.owner)} | {STATE_BADGES[result.state]} | {reasons} |"
        )
    out += ["", "### Next action", ""]
    out.extend(f"- {escape(action)}" for action in evaluation.next)
    if not evaluation.next:
        out.append("Nothing left to do.")
    if facts.notes:
        out += ["", "### Notes", ""]
        out.extend(f"- {escape(note)}" for note in facts.notes)
    if evaluation.loaded.warnings:
        out += ["", "### SOP warnings", ""]
        out.extend(f"- {escape(str(warning))}" for warning in evaluation.loaded.warnings)
    out.extend(_proposed(evaluation))
    return "\n".join(out) + "\n"


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
