"""Sequencing: implicit needs, region instances, sequential rollout, order and groups."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from functools import cached_property

from sopgate.errors import UsageError
from sopgate.sop.model import Sop, Step


@dataclass(frozen=True)
class Node:
    """One unit of the sequence: a step, or one region instance of a ``for_each`` step."""

    key: str
    step: Step
    region: str | None
    needs: tuple[str, ...]
    group: int

    def expand(self, text: str) -> str:
        """Substitute ``{region}`` in a pattern of this node."""
        return text.replace("{region}", self.region) if self.region else text


@dataclass(frozen=True)
class Plan:
    """The resolved sequence: nodes in plan order (list order, regions in scope order)."""

    sop: Sop
    nodes: tuple[Node, ...]

    @cached_property
    def by_key(self) -> dict[str, Node]:
        return {node.key: node for node in self.nodes}

    @cached_property
    def instances(self) -> dict[str, tuple[str, ...]]:
        """Node keys of each step id."""
        found: dict[str, list[str]] = {}
        for node in self.nodes:
            found.setdefault(node.step.id, []).append(node.key)
        return {sid: tuple(keys) for sid, keys in found.items()}

    @cached_property
    def groups(self) -> tuple[tuple[Node, ...], ...]:
        """Nodes that may run in parallel, in the order the groups can start."""
        count = max((node.group for node in self.nodes), default=-1) + 1
        return tuple(tuple(n for n in self.nodes if n.group == g) for g in range(count))

    def resolve(self, name: str) -> Node:
        """The node a user means by ``name``; a fanned-out step needs its instance."""
        if name in self.by_key:
            return self.by_key[name]
        if name in self.instances:
            listing = ", ".join(self.instances[name])
            raise UsageError(f"step '{name}' runs once per region; name one instance: {listing}")
        raise UsageError(f"unknown step '{name}'; steps: {', '.join(self.by_key)}")


def step_needs(sop: Sop) -> dict[str, tuple[str, ...]]:
    """Each step's needs with the implicit "previous step in the list" filled in."""
    needs: dict[str, tuple[str, ...]] = {}
    previous: str | None = None
    for step in sop.steps:
        if step.needs is not None:
            needs[step.id] = tuple(dict.fromkeys(step.needs))
        else:
            needs[step.id] = (previous,) if previous else ()
        previous = step.id
    return needs


def build_plan(sop: Sop) -> Plan:
    """Expand and order a validated SOP (validation already ruled out cycles)."""
    regions = sop.regions
    needs = step_needs(sop)
    fanned = {step.id for step in sop.steps if step.for_each == "region"}
    raw: list[tuple[str, Step, str | None, tuple[str, ...]]] = []
    for step in sop.steps:
        if step.id not in fanned:
            deps = [key for need in needs[step.id] for key in _all(need, fanned, regions)]
            raw.append((step.id, step, None, tuple(deps)))
            continue
        for i, region in enumerate(regions):
            deps = [f"{need}[{region}]" if need in fanned else need for need in needs[step.id]]
            if step.rollout == "sequential" and i > 0:
                deps.append(f"{step.id}[{regions[i - 1]}]")
            raw.append((f"{step.id}[{region}]", step, region, tuple(deps)))
    return Plan(sop=sop, nodes=_ordered(raw))


def _all(need: str, fanned: set[str], regions: tuple[str, ...]) -> list[str]:
    return [f"{need}[{r}]" for r in regions] if need in fanned else [need]


def _ordered(raw: list[tuple[str, Step, str | None, tuple[str, ...]]]) -> tuple[Node, ...]:
    """Kahn's algorithm, taking the earliest-listed ready node first; groups by depth."""
    position = {key: i for i, (key, *_rest) in enumerate(raw)}
    waiting = {key: len(deps) for key, _s, _r, deps in raw}
    users: dict[str, list[str]] = {key: [] for key in position}
    for key, _s, _r, deps in raw:
        for dep in deps:
            users[dep].append(key)
    ready = [position[key] for key, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    group: dict[str, int] = {}
    ordered: list[Node] = []
    while ready:
        key, step, region, deps = raw[heapq.heappop(ready)]
        group[key] = 1 + max((group[d] for d in deps), default=-1)
        ordered.append(Node(key, step, region, deps, group[key]))
        for user in users[key]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, position[user])
    return tuple(ordered)
