"""Sequencing: implicit needs, region instances, rollout order and waves, plan order, groups.

A :class:`Node` also answers the per-instance questions of the SOP layer (``{region}`` in a
pattern or an approval role, ``timezone: region``, a freeze's scope), so the evaluator never
re-reads the region tables itself.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from functools import cached_property

from sopgate.errors import UsageError
from sopgate.sop.model import ApprovalRule, Freeze, Sop, Step, Window

#: ``canary[us-east]``: a reference to one region instance of a ``for_each`` step.
INSTANCE = re.compile(r"^(?P<step>[^\[\]]+)\[(?P<region>[^\[\]]+)\]$")


def split_instance(name: str) -> tuple[str, str | None]:
    """``canary[us-east]`` -> ``("canary", "us-east")``; ``canary`` -> ``("canary", None)``."""
    match = INSTANCE.match(name)
    return (match["step"], match["region"]) if match else (name, None)


@dataclass(frozen=True)
class Node:
    """One unit of the sequence: a step, or one region instance of a ``for_each`` step."""

    key: str
    step: Step
    region: str | None
    needs: tuple[str, ...]
    group: int
    #: The IANA time zone of this instance's region (``scope.regions[].timezone``), if any.
    zone: str | None = None

    def expand(self, text: str) -> str:
        """Substitute ``{region}`` in a pattern of this node."""
        return text.replace("{region}", self.region) if self.region else text

    def role(self, rule: ApprovalRule) -> str:
        """The role ``rule`` asks for at this node: ``approvers-{region}`` -> ``approvers-eu``."""
        return self.expand(rule.role)

    def timezone(self, window: Window) -> str:
        """The IANA time zone ``window`` is judged in at this node.

        ``timezone: region`` resolves to the instance's region time zone. Validation rules out
        a region without one; should it happen anyway, the literal ``region`` comes back, which
        is no IANA name, so a lookup fails and the gate stays shut.
        """
        if window.timezone == "region":
            return self.zone or window.timezone
        return window.timezone

    @cached_property
    def window(self) -> Window | None:
        """The step's window with its time zone resolved for this node (or None)."""
        window = self.step.window
        if window is None or window.timezone != "region":
            return window
        return window.model_copy(update={"timezone": self.timezone(window)})

    def frozen_by(self, freeze: Freeze) -> bool:
        """Whether ``freeze`` applies to this node (DESIGN, "Freeze scope").

        Only steps with an environment are frozen; ``environments`` narrows to those
        environments, ``regions`` to region instances of those regions; both must match.
        """
        if self.step.environment is None:
            return False
        if freeze.environments and self.step.environment not in freeze.environments:
            return False
        return not freeze.regions or self.region in freeze.regions


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
    """Each step's needs with the implicit "previous step in the list" filled in.

    Entries are step ids or instance references (``canary[us-east]``), as written.
    """
    needs: dict[str, tuple[str, ...]] = {}
    previous: str | None = None
    for step in sop.steps:
        if step.needs is not None:
            needs[step.id] = tuple(dict.fromkeys(step.needs))
        else:
            needs[step.id] = (previous,) if previous else ()
        previous = step.id
    return needs


def waves(step: Step, regions: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The rollout of a ``for_each`` step as waves of regions, in order.

    ``parallel`` (the default) is one wave of every region, ``sequential`` one wave per region
    in scope order, and a list of waves is taken as written.
    """
    if step.rollout == "sequential":
        return tuple((region,) for region in regions)
    if isinstance(step.rollout, tuple):
        return step.rollout
    return (regions,)


def build_plan(sop: Sop) -> Plan:
    """Expand and order a validated SOP (validation already ruled out cycles)."""
    regions = sop.regions
    zones = {rid: region.timezone for rid, region in sop.region_objects.items()}
    needs = step_needs(sop)
    fanned = {step.id for step in sop.steps if step.for_each == "region"}
    raw: list[_Raw] = []
    for step in sop.steps:
        if step.id not in fanned:
            deps = [key for need in needs[step.id] for key in _all(need, fanned, regions)]
            raw.append(_Raw(step.id, step, None, tuple(dict.fromkeys(deps)), None))
            continue
        previous_wave: tuple[str, ...] = ()
        by_region: dict[str, _Raw] = {}
        for wave in waves(step, regions):
            for region in wave:
                deps = [_same_region(need, region, fanned) for need in needs[step.id]]
                deps.extend(f"{step.id}[{r}]" for r in previous_wave)
                key = f"{step.id}[{region}]"
                deps_once = tuple(dict.fromkeys(deps))
                by_region[region] = _Raw(key, step, region, deps_once, zones.get(region))
            previous_wave = wave
        raw.extend(by_region[r] for r in regions if r in by_region)
    return Plan(sop=sop, nodes=_ordered(raw))


@dataclass(frozen=True)
class _Raw:
    key: str
    step: Step
    region: str | None
    deps: tuple[str, ...]
    zone: str | None


def _all(need: str, fanned: set[str], regions: tuple[str, ...]) -> list[str]:
    """What a plain step needs of ``need``: every instance of a fanned-out step."""
    return [f"{need}[{r}]" for r in regions] if need in fanned else [need]


def _same_region(need: str, region: str, fanned: set[str]) -> str:
    """What one instance needs of ``need``: the same region's instance of a fanned-out step."""
    return f"{need}[{region}]" if need in fanned else need


def _ordered(raw: list[_Raw]) -> tuple[Node, ...]:
    """Kahn's algorithm, taking the earliest-listed ready node first; groups by depth."""
    position = {item.key: i for i, item in enumerate(raw)}
    waiting = {item.key: len(item.deps) for item in raw}
    users: dict[str, list[str]] = {key: [] for key in position}
    for item in raw:
        for dep in item.deps:
            users[dep].append(item.key)
    ready = [position[key] for key, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    group: dict[str, int] = {}
    ordered: list[Node] = []
    while ready:
        item = raw[heapq.heappop(ready)]
        group[item.key] = 1 + max((group[d] for d in item.deps), default=-1)
        ordered.append(
            Node(item.key, item.step, item.region, item.deps, group[item.key], item.zone)
        )
        for user in users[item.key]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, position[user])
    return tuple(ordered)
