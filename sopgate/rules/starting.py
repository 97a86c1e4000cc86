"""``run_by``: who may start a step (DESIGN.md, "Who may start a step").

One entry point, :func:`who_may_start`. The initiator, and whoever re-ran the run, must each
hold one of the step's ``run_by`` roles; with no initiator known the requirement is unmet and
the reason says who may start the step.
"""

from __future__ import annotations

from sopgate.facts import Facts
from sopgate.rules.people import People
from sopgate.sop.plan import Node


def who_may_start(node: Node, facts: Facts, people: People) -> list[str]:
    """Reasons the run may not start ``node``; empty when it may (or anyone may)."""
    if not node.step.run_by:
        return []
    roles = [node.expand(role) for role in node.step.run_by]
    only = f"only {' or '.join(roles)} may start {node.key}"
    if facts.initiator is None:
        who = dict.fromkeys(people.name(u) for role in roles for u in people.ordered(role))
        listing = ", ".join(who) if who else "nobody eligible"
        return [f"{only} ({listing}); who started this run is unknown"]
    found: list[str] = []
    if people.holds_any(facts.initiator, roles) is None:
        found.append(f"{only}; started by {facts.initiator}")
    if facts.rerun_by is not None and people.holds_any(facts.rerun_by, roles) is None:
        found.append(f"{only}; re-run by {facts.rerun_by}")
    return found
