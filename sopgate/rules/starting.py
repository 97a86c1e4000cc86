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
    unknown = [(group, role) for role in roles for group in people.unknown_groups.get(role, ())]
    found: list[str] = []
    if facts.initiator is None:
        who = dict.fromkeys(people.name(u) for role in roles for u in people.ordered(role))
        who.update(dict.fromkeys(f"members of {group}" for group, _role in unknown))
        listing = ", ".join(who) if who else "nobody eligible"
        found.append(f"{only} ({listing}); who started this run is unknown")
    else:
        if people.holds_any(facts.initiator, roles) is None:
            found.append(f"{only}; started by {facts.initiator}")
        if facts.rerun_by is not None and people.holds_any(facts.rerun_by, roles) is None:
            found.append(f"{only}; re-run by {facts.rerun_by}")
    if found:  # who holds the role through a group nobody could list is unknown, too
        found.extend(
            f"membership of {group} is unknown, so nobody holds {role} through it"
            for group, role in unknown
        )
    return found
