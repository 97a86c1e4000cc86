"""What a diagram draws: which nodes, which edges, and what is folded away.

Shared by the Mermaid and DOT renderers so both draw the same graph. Three rules keep a
diagram readable at a glance:

- no edge that another path already implies (transitive reduction): ``go-no-go -> us-east``
  next to ``eu-west -> us-east`` would make a sequential rollout look parallel;
- ``focus``: only the steps that are not done plus their direct needs (the summary does this
  when it runs out of room);
- at most ``max_height`` nodes on the longest path, so a 200-step SOP is not a 30,000 px
  column: a diagram that would be taller focuses (when states are known), and nodes still
  deeper fold into one "more" node.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sopgate.evaluate import StepResult
from sopgate.sop.plan import Node, Plan

#: The most nodes any path of a drawn diagram holds (the "more" node included).
MAX_HEIGHT = 40

#: The key of the node standing for the nodes folded away by the height limit.
MORE = "(more)"  # no step key has parentheses


@dataclass(frozen=True)
class Drawing:
    """The nodes to draw (plan order), the edges between them, and what was left out."""

    nodes: tuple[Node, ...]
    edges: tuple[tuple[str, str], ...]  # (need, key); key may be MORE
    folded: int  # nodes behind the "more" node (0: no such node)
    omitted_done: int  # done nodes left out by ``focus``

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(node.key for node in self.nodes) + ((MORE,) if self.folded else ())


def draw(
    plan: Plan,
    results: Mapping[str, StepResult] | None = None,
    *,
    focus: bool = False,
    max_height: int = MAX_HEIGHT,
) -> Drawing:
    """Choose what to draw of ``plan``; ``focus`` needs ``results``."""
    index = {node.key: i for i, node in enumerate(plan.nodes)}
    ancestors = _ancestors(plan, index)
    kept = set(index)
    omitted_done = 0
    if focus and results is not None:
        open_keys = {k for k in index if k not in results or results[k].state != "done"}
        kept = open_keys | {need for key in open_keys for need in plan.by_key[key].needs}
        omitted_done = len(index) - len(kept)
    mask = sum(1 << index[key] for key in kept)
    edges = _reduced(plan, kept, index, ancestors, mask)
    levels = _levels(plan, kept, edges)
    folded = 0
    if levels and max(levels.values()) > max_height and results is not None and not focus:
        # Too tall to show everything: show where the action is, not the first done steps.
        return draw(plan, results, focus=True, max_height=max_height)
    if levels and max(levels.values()) > max_height:
        deep = {key for key, level in levels.items() if level >= max_height}
        folded = len(deep)
        kept -= deep
        sources = {need for need, key in edges if key in deep and need in kept}
        into_more = [key for key in index if key in sources]  # plan order
        edges = [(need, key) for need, key in edges if key in kept and need in kept]
        edges += [(need, MORE) for need in into_more]
    nodes = tuple(node for node in plan.nodes if node.key in kept)
    return Drawing(nodes, tuple(edges), folded, omitted_done)


def height(keys: tuple[str, ...], edges: tuple[tuple[str, str], ...]) -> int:
    """The longest path, counted in nodes, of the graph ``keys``/``edges`` (0 when empty)."""
    users: dict[str, list[str]] = {key: [] for key in keys}
    waiting = dict.fromkeys(keys, 0)
    for need, key in edges:
        users[need].append(key)
        waiting[key] += 1
    level = dict.fromkeys(keys, 1)
    ready = [key for key, count in waiting.items() if count == 0]
    seen = 0
    while ready:
        key = ready.pop()
        seen += 1
        for user in users[key]:
            level[user] = max(level[user], level[key] + 1)
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    if seen != len(keys):
        raise ValueError("the drawn graph has a cycle")
    return max(level.values(), default=0)


def _ancestors(plan: Plan, index: dict[str, int]) -> dict[str, int]:
    """Every node's ancestors as a bit set over plan positions (plan order is topological)."""
    found: dict[str, int] = {}
    for node in plan.nodes:
        bits = 0
        for need in node.needs:
            bits |= found[need] | (1 << index[need])
        found[node.key] = bits
    return found


def _reduced(
    plan: Plan, kept: set[str], index: dict[str, int], ancestors: dict[str, int], mask: int
) -> list[tuple[str, str]]:
    """Edges among ``kept``: u -> v when v depends on u through the whole plan and through
    no other kept node (the transitive reduction of reachability restricted to ``kept``)."""
    keys = [node.key for node in plan.nodes]
    edges: list[tuple[str, str]] = []
    for node in plan.nodes:
        if node.key not in kept:
            continue
        below = ancestors[node.key] & mask
        implied = 0
        bits = below
        while bits:
            low = bits & -bits
            implied |= ancestors[keys[low.bit_length() - 1]]
            bits ^= low
        direct = below & ~implied
        while direct:
            low = direct & -direct
            edges.append((keys[low.bit_length() - 1], node.key))
            direct ^= low
    return edges


def _levels(plan: Plan, kept: set[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """1-based depth of each kept node on the longest path that reaches it."""
    needs: dict[str, list[str]] = {}
    for need, key in edges:
        needs.setdefault(key, []).append(need)
    level: dict[str, int] = {}
    for node in plan.nodes:
        if node.key in kept:
            level[node.key] = 1 + max((level[n] for n in needs.get(node.key, ())), default=0)
    return level
