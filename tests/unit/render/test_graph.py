from __future__ import annotations

import pytest

from sopgate.render.graph import MORE, draw, height
from sopgate.sop.plan import Plan, build_plan

from .big import big_evaluation, big_sop
from .builders import evaluation, load


def reach(keys: tuple[str, ...], edges: tuple[tuple[str, str], ...]) -> dict[str, set[str]]:
    """Each node's ancestors through ``edges`` (``keys`` in topological order)."""
    found: dict[str, set[str]] = {key: set() for key in keys}
    for key in keys:
        for need, user in edges:
            if user == key:
                found[key] |= found[need] | {need}
    return found


@pytest.mark.parametrize("plan", [build_plan(load().sop), build_plan(big_sop().sop)])
def test_reduction_keeps_every_dependency_and_no_implied_edge(plan: Plan) -> None:
    drawing = draw(plan, max_height=10_000)
    needs = tuple((need, node.key) for node in plan.nodes for need in node.needs)
    keys = tuple(node.key for node in plan.nodes)
    assert reach(keys, drawing.edges) == reach(keys, needs)
    for edge in drawing.edges:
        others = tuple(e for e in drawing.edges if e != edge)
        assert edge[0] not in reach(keys, others)[edge[1]], f"{edge} is implied"


def test_height_counts_nodes_on_the_longest_path() -> None:
    assert height((), ()) == 0
    assert height(("a",), ()) == 1
    assert height(("a", "b", "c", "d"), (("a", "b"), ("b", "c"), ("a", "c"), ("d", "c"))) == 3
    with pytest.raises(ValueError, match="cycle"):
        height(("a", "b"), (("a", "b"), ("b", "a")))


def test_focus_leaves_out_done_steps_that_nothing_open_needs_directly() -> None:
    ev = evaluation({"go-no-go": "waiting"})
    drawing = draw(ev.plan, ev.by_key, focus=True)
    assert [node.key for node in drawing.nodes] == ["staging", "go-no-go"]
    assert drawing.edges == (("staging", "go-no-go"),)
    assert drawing.omitted_done == len(ev.plan.nodes) - 2
    assert drawing.folded == 0


def test_every_drawing_of_the_big_sop_is_at_most_40_nodes_tall() -> None:
    for done in (0, 30, 120, 200):
        ev = big_evaluation(done)
        for focus in (False, True):
            drawing = draw(ev.plan, ev.by_key, focus=focus)
            assert height(drawing.keys, drawing.edges) <= 40
            if drawing.folded:
                assert MORE in drawing.keys


def test_too_tall_shows_where_the_action_is() -> None:
    ev = big_evaluation(100)
    drawing = draw(ev.plan, ev.by_key)  # no focus asked: too tall, so it focuses itself
    keys = [node.key for node in drawing.nodes]
    assert "step-000" not in keys
    assert keys[:2] == ["step-099", "step-100"]  # the last done step, then the frontier
    assert drawing.omitted_done == 95 + 5 * 6 - 1  # done: 95 steps, 5 x 6 instances; not 099
    assert height(drawing.keys, drawing.edges) == 40
    plain = draw(ev.plan, None)  # without states there is no frontier: the first 39 rows
    assert plain.nodes[0].key == "step-000"
