"""Break-glass overrides (DESIGN.md, "Emergency").

One entry point, :func:`override`. Holders of the SOP's ``emergency.role`` comment
``/sop emergency STEP reason`` (facts: approvals with ``source: emergency``); the step id
covers every instance, an instance key that instance. Author, initiator, re-runner and
contributors never count, as for approvals; ``count`` distinct people open the override. An
active override lets the gate ignore what ``bypass`` lists, and never needs, a failure or a
rejection: the evaluator applies that, this module only says whether it is active.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sopgate import gates
from sopgate.facts import Approval
from sopgate.rules.people import UNKNOWN_COMMITS, Contributors, Excluded, People, login
from sopgate.sop.model import Sop
from sopgate.sop.plan import Node


@dataclass(frozen=True)
class Override:
    bypass: frozenset[str]  # empty unless the override is active
    lines: tuple[str, ...]  # "EMERGENCY OVERRIDE by olga: payment outage INC-4411"
    refused: tuple[str, ...]  # why requests did not (yet) override, for a closed gate
    times: tuple[datetime, ...]  # when the counted overrides were given

    @property
    def active(self) -> bool:
        return bool(self.lines)


NONE = Override(frozenset(), (), (), ())


def override(
    sop: Sop,
    node: Node,
    index: gates.ApprovalIndex,
    people: People,
    excluded: Excluded,
    contributors: Contributors,
) -> Override:
    entries = [
        e for e in index.entries("emergency", [node.step.id, node.key]) if e.state == "approved"
    ]
    if not entries:
        return NONE
    if sop.emergency is None:
        who = ", ".join(sorted({e.user for e in entries}, key=login))
        return Override(
            frozenset(),
            (),
            (
                f"emergency override requested by {who} is refused: the SOP has no "
                "emergency section",
            ),
            (),
        )
    role = sop.emergency.role
    counted: dict[str, Approval] = {}
    refused: list[str] = []
    for entry in sorted(entries, key=lambda e: (login(e.user), e.at or gates.UNKNOWN_TIME)):
        problem = _not_counted(entry, role, people, excluded, contributors)
        if problem:
            refused.append(f"{entry.user}'s emergency override does not count: {problem}")
        else:
            counted.setdefault(login(entry.user), entry)
    need = sop.emergency.count
    if len(counted) < need:
        refused.insert(
            0,
            f"an emergency override needs {gates.plural(need, 'person')} holding {role} "
            f"(comment '/sop emergency {node.key} REASON'); has {len(counted)}",
        )
        return Override(frozenset(), (), tuple(dict.fromkeys(refused)), ())
    lines = tuple(f"EMERGENCY OVERRIDE by {e.user}: {e.reason}" for e in counted.values())
    times = tuple(e.at or gates.UNKNOWN_TIME for e in counted.values())
    return Override(frozenset(sop.emergency.bypass), lines, (), times)


def _not_counted(
    entry: Approval, role: str, people: People, excluded: Excluded, contributors: Contributors
) -> str | None:
    if not people.holds(entry.user, role):
        unknown = [
            f"membership of {group} is unknown, so nobody holds {role} through it"
            for group in people.unknown_groups[role]
        ]
        return f"{entry.user} does not hold {role}" + (
            f" ({'; '.join(unknown)})" if unknown else ""
        )
    why = excluded.why(entry.user)
    if why:
        return f"{entry.user} is {why}"
    if not contributors.known:
        return UNKNOWN_COMMITS
    if login(entry.user) in contributors.people:
        return f"{entry.user} authored or committed a commit of the change"
    if entry.edited is not False:
        return "the comment was edited"
    if not (entry.reason or "").strip():
        return "it gives no reason"
    return None
