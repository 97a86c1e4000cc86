from __future__ import annotations

import re

import pytest

from sopgate.evaluate import State
from sopgate.render.graph import MAX_HEIGHT
from sopgate.render.mermaid import PALETTE, escape_label, mermaid_for_plan, safe_id
from sopgate.sop.plan import build_plan

from .big import big_evaluation, drawn_height
from .builders import evaluation, load

PRODUCTION = ("production[eu-west]", "production[us-east]", "production[ap-south]")
LEGEND = {f"legend__{s}" for s in ("blocked", "waiting", "ready", "done", "failed", "rejected")}

TRICKY_SOP = """\
sopgate: 1
name: Tricky
scope: {system: s, environments: [prod], regions: ["eu west", "eu-west"]}
roles:
  ops: {users: [olga]}
steps:
  - id: end
    name: 'Say "hi" [now] {x} <b>`'
    owner: ops
    needs: []
  - id: 1-ship
    owner: ops
    environment: prod
    for_each: region
    rollback: redeploy
"""


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("staging", "staging"),
        ("go-no-go", "go_no_go"),
        ("production[eu-west]", "production__eu_west"),
        ("production[eu west]", "production__eu_west"),
        ("end", "step_end"),
        ("class", "step_class"),
        ("1-ship", "step_1_ship"),
        ("ship[ü]", "ship___"),
    ],
)
def test_safe_id(key: str, expected: str) -> None:
    assert safe_id(key) == expected
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", safe_id(key))


def test_escape_label_keeps_quotes_brackets_and_fences_out() -> None:
    assert escape_label('Say "hi" [now] {x}') == "Say #quot;hi#quot; #91;now#93; #123;x#125;"
    assert escape_label("<b>```</b> #1\nnext") == "#lt;b#gt;#96;#96;#96;#lt;/b#gt; #35;1 next"


def test_plan_without_results_has_no_states_or_classes() -> None:
    plan = build_plan(load().sop)
    text = mermaid_for_plan(plan, None)
    assert text.startswith("flowchart TD\n")
    assert '    data_readiness["Data readiness verified<br/>owner: data-science"]\n' in text
    assert "classDef" not in text
    assert "\n    class " not in text
    assert "Legend" not in text


def test_decision_is_a_diamond_and_tasks_are_rectangles() -> None:
    ev = evaluation()
    text = mermaid_for_plan(ev.plan, ev.by_key)
    assert '    go_no_go{"Go / no-go<br/>owner: release-managers<br/>done"}\n' in text
    assert '    staging["Deploy to staging<br/>owner: sre<br/>done"]\n' in text


def test_region_instances_share_a_subgraph_titled_by_the_step() -> None:
    ev = evaluation({"production[eu-west]": "ready"})
    text = mermaid_for_plan(ev.plan, ev.by_key)
    assert (
        '    subgraph production__group["Production rollout"]\n'
        '        production__eu_west["eu-west<br/>owner: sre<br/>ready"]\n'
        '        production__us_east["us-east<br/>owner: sre<br/>done"]\n'
        '        production__ap_south["ap-south<br/>owner: sre<br/>done"]\n'
        "    end\n"
    ) in text
    assert text.count("subgraph") == 2  # the region group and the legend


def test_edges_follow_needs_without_implied_ones() -> None:
    ev = evaluation()
    text = mermaid_for_plan(ev.plan, ev.by_key)
    edges = re.findall(r"^    (\w+) --> (\w+)$", text, flags=re.MULTILINE)
    assert ("go_no_go", "production__eu_west") in edges
    assert ("production__eu_west", "production__us_east") in edges  # sequential rollout
    assert ("production__ap_south", "post_deploy_watch") in edges
    # Implied by the rollout chain: drawing them made a sequential rollout look parallel.
    assert ("go_no_go", "production__us_east") not in edges
    assert ("go_no_go", "production__ap_south") not in edges
    assert ("production__eu_west", "post_deploy_watch") not in edges
    assert ("production__us_east", "post_deploy_watch") not in edges
    assert len(edges) == sum(len(node.needs) for node in ev.plan.nodes) - 4


STATES: dict[str, State] = {
    "data-readiness": "done",
    "model-validation": "failed",
    "security-review": "rejected",
    "infrastructure": "ready",
    "build": "blocked",
    "staging": "blocked",
    "go-no-go": "waiting",
}


def test_classes_assigned_by_state() -> None:
    ev = evaluation({**STATES, "production[us-east]": "blocked"})
    text = mermaid_for_plan(ev.plan, ev.by_key)
    for state in ("done", "ready", "waiting", "blocked", "failed", "rejected"):
        assert re.search(rf"^    classDef {state} fill:#[0-9a-f]{{6}},", text, re.MULTILINE)
    assert "    class model_validation,legend__failed failed\n" in text
    assert "    class security_review,legend__rejected rejected\n" in text
    assert "    class infrastructure,legend__ready ready\n" in text
    assert "    class go_no_go,legend__waiting waiting\n" in text
    assert "    class build,staging,production__us_east,legend__blocked blocked\n" in text
    assert (
        "    class data_readiness,production__eu_west,production__ap_south,post_deploy_watch,"
        "legend__done done\n"
    ) in text


def test_target_is_highlighted() -> None:
    ev = evaluation(target="production[eu-west]")
    text = mermaid_for_plan(ev.plan, ev.by_key, target=ev.target)
    assert text.endswith("    style production__eu_west stroke-width:4px\n")
    assert (
        '        production__eu_west["eu-west<br/>owner: sre<br/>done<br/>'
        '▶ asked about: gate open"]\n' in text
    )
    assert '        legend__target["heavy border: the step asked about"]\n' in text
    assert (
        "    style legend__target fill:#ffffff,stroke:#24292f,color:#24292f,stroke-width:4px\n"
    ) in text


def test_tricky_names_stay_safe_and_unique() -> None:
    loaded = load(TRICKY_SOP)
    ev = evaluation(loaded=loaded)
    text = mermaid_for_plan(ev.plan, ev.by_key)
    assert (
        '    step_end["Say #quot;hi#quot; #91;now#93; #123;x#125; #lt;b#gt;#96;<br/>owner: ops<br/>'
        'done"]\n'
    ) in text
    # "eu west" and "eu-west" would both be step_1_ship__eu_west: the second gets a suffix.
    assert '        step_1_ship__eu_west["eu west<br/>owner: ops<br/>done"]\n' in text
    assert '        step_1_ship__eu_west_2["eu-west<br/>owner: ops<br/>done"]\n' in text
    assert "    step_end --> step_1_ship__eu_west\n" in text
    assert "    step_end --> step_1_ship__eu_west_2\n" in text
    assert "```" not in text


def test_legend_names_every_state_in_its_colour() -> None:
    ev = evaluation({"go-no-go": "waiting"})
    text = mermaid_for_plan(ev.plan, ev.by_key)
    legend = text[text.index('    subgraph legend__group["Legend"]') :]
    legend = legend[: legend.index("    end\n")]
    assert "direction" not in legend and "~~~" not in legend  # a narrow column
    for state in ("blocked", "waiting", "ready", "done", "failed", "rejected"):
        assert f'        legend__{state}["{state}"]\n' in legend
        assert re.search(rf"^    class [\w,]*legend__{state} {state}$", text, re.MULTILINE)
    assert "legend__target" not in text  # nothing was asked about


def test_groups_are_neutral_not_the_waiting_colour() -> None:
    ev = evaluation({"go-no-go": "waiting"})
    text = mermaid_for_plan(ev.plan, ev.by_key)
    assert "    style production__group fill:#f6f8fa,stroke:#8c959f,color:#24292f\n" in text
    assert "    style legend__group fill:#f6f8fa,stroke:#8c959f,color:#24292f\n" in text
    neutral = {"#f6f8fa", "#8c959f"}
    assert not neutral & {PALETTE["waiting"][0], PALETTE["waiting"][1]}


def test_focus_draws_what_is_not_done_and_its_direct_needs() -> None:
    later: dict[str, State] = dict.fromkeys((*PRODUCTION, "post-deploy-watch"), "blocked")
    ev = evaluation({"go-no-go": "waiting", **later})
    text = mermaid_for_plan(ev.plan, ev.by_key, focus=True)
    drawn = set(re.findall(r"^\s+(\w+)(?:\[|\{)\"", text, re.MULTILINE)) - LEGEND
    assert drawn == {
        "staging",  # go-no-go's direct need, done
        "go_no_go",
        "production__eu_west",
        "production__us_east",
        "production__ap_south",
        "post_deploy_watch",
    }
    edges = re.findall(r"^    (\w+) --> (\w+)$", text, flags=re.MULTILINE)
    assert ("staging", "go_no_go") in edges
    assert ("build", "staging") not in edges


def test_tall_plans_fold_into_a_more_node() -> None:
    ev = big_evaluation(0)
    full = mermaid_for_plan(ev.plan, ev.by_key, max_height=10_000)
    assert drawn_height(full) == 250  # a chain: rollouts are sequential
    text = mermaid_for_plan(ev.plan, ev.by_key)
    assert drawn_height(text) == MAX_HEIGHT == 40
    folded = len(ev.plan.nodes) - len(re.findall(r"^\s+step_\d+(?:__\w+)?[\[\{]", text, re.M))
    assert f'    step__more_(["{folded} more steps not drawn: see the table"])\n' in text
    assert folded == 250 - 39  # 39 rows of the chain, then the "more" node
    assert len(re.findall(r"^    \w+ --> step__more_$", text, re.MULTILINE)) == 1
    assert drawn_height(mermaid_for_plan(ev.plan, ev.by_key, max_height=12)) == 12
