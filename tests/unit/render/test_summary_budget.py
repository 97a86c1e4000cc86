"""The 60,000-character budget of the summary and the order in which it folds."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sopgate.evaluate import STATES, State
from sopgate.render.markdown import BUDGET, render_markdown

from .big import big_evaluation, drawn_height
from .builders import evaluation

ACTIONS = re.compile(r"\n### Next actions\n\n(.*?)\n\nCommit ", re.DOTALL)


def diagram(text: str) -> str | None:
    block = re.search(r"\n```mermaid\n(.*?)\n```\n", text, re.DOTALL)
    return block.group(1) if block else None


@pytest.mark.parametrize(
    ("done", "target"),
    [(0, "step-000"), (0, None), (30, None), (100, "step-105"), (150, "step-199"), (200, None)],
)
def test_200_steps_over_6_regions_fit_with_decision_and_next(done: int, target: str | None) -> None:
    ev = big_evaluation(done, target)
    assert len(ev.plan.nodes) == 250
    text = render_markdown(ev)
    assert len(text) <= BUDGET == 60_000
    heading = "### ⛔ **" if target else "### Sequence status: "
    assert f"## sopgate: Big platform release\n\n{heading}" in text
    actions = ACTIONS.search(text)
    assert actions is not None
    assert actions.group(1).count("\n- ") + 1 == len(ev.next) or not ev.next
    drawn = diagram(text)
    assert drawn is not None
    assert drawn_height(drawn) <= 40


def test_the_big_summary_folds_where_it_would_not_fit() -> None:
    ev = big_evaluation(0, "step-000")
    unfolded = render_markdown(ev, budget=10**9)
    assert len(unfolded) > 80_000  # what GitHub would cut at 65,536
    text = render_markdown(ev)
    rows = [line for line in text.splitlines() if line.startswith("| Step ") and "(step-" in line]
    hidden = 250 - len(rows)
    assert hidden > 0
    assert (
        f"… and {hidden} more steps that are not done: run `sopgate status` to see them all."
    ) in text
    assert text.index("- ▶ **step-000** · owner ops: check check-0 has not reported") < (
        text.index("```mermaid")
    )


def test_fold_stages_in_order() -> None:
    ev = evaluation({"go-no-go": "waiting", "production[eu-west]": "blocked"}, target="go-no-go")
    full = render_markdown(ev, budget=10**9)
    assert "| Data readiness verified (data-readiness) | data-science | ✅ done |  |" in full
    assert "**Done**" not in full

    one_line = render_markdown(ev, budget=len(full) - 1)
    assert len(one_line) < len(full)
    assert (
        "\n**Done** (9):\n\n- ✅ done: Data readiness verified (data-readiness) · data-science\n"
        in (one_line)
    )
    assert "| Data readiness verified" not in one_line
    assert "| Go / no-go (go-no-go) | release-managers | ⏳ waiting |" in one_line
    assert "The diagram shows the steps that are not done and their direct needs." in one_line
    focused = diagram(one_line)
    assert focused is not None
    assert "data_readiness" not in focused
    assert "staging[" in focused  # go-no-go's direct need stays

    counted = render_markdown(ev, budget=len(one_line) - 1)
    assert "\n**Done**: 9 of 11 steps.\n" in counted
    assert "- ✅ done: Data readiness" not in counted
    assert diagram(counted) is not None

    no_rows = render_markdown(ev, budget=len(counted) - 1)
    assert "… and " in no_rows
    assert diagram(no_rows) is not None

    tiny = render_markdown(ev, budget=100)
    assert diagram(tiny) is None
    assert "does not fit here; run `sopgate diagram --facts FILE` to draw it." in tiny
    # Never cut, whatever the budget.
    assert "### ⛔ **go-no-go**: gate **closed**\n\n**Go / no-go** is ⏳ waiting" in tiny
    assert (
        "- ▶ **go-no-go** · owner release-managers: needs 1 approval from security "
        "(sec-bob, sec-carol); has 0\n"
    ) in tiny


KEYS = (
    "data-readiness",
    "model-validation",
    "security-review",
    "infrastructure",
    "build",
    "staging",
    "go-no-go",
    "production[eu-west]",
    "production[us-east]",
    "production[ap-south]",
    "post-deploy-watch",
)


@settings(max_examples=60, deadline=None)
@given(
    states=st.lists(st.sampled_from(STATES), min_size=len(KEYS), max_size=len(KEYS)),
    target=st.sampled_from((None, *KEYS)),
    budget=st.integers(min_value=200, max_value=12_000),
)
def test_any_budget_keeps_decision_and_every_next_action(
    states: list[State], target: str | None, budget: int
) -> None:
    ev = evaluation(dict(zip(KEYS, states, strict=True)), target=target)
    text = render_markdown(ev, budget=budget)
    floor = render_markdown(ev, budget=0)  # the least it can be: decision and next, whole
    assert len(text) <= max(budget, len(floor))
    head = floor[: floor.index("\n\nCommit ")]
    assert text.startswith(head)  # decision and next actions, never cut
    for action in ev.next:
        key = action.partition(": ")[0]
        assert f"**{key}** · owner " in head
    assert text.count("```") in (0, 2)  # a diagram is whole or absent
