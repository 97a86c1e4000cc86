from __future__ import annotations

import re

import pytest

from sopgate.evaluate import State
from sopgate.render.mermaid import escape_label, mermaid_for_plan, safe_id
from sopgate.sop.plan import build_plan

from .builders import evaluation, load

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
    assert '    data_readiness["Data readiness verified"]\n' in text
    assert "classDef" not in text
    assert "\n    class " not in text


def test_decision_is_a_diamond_and_tasks_are_rectangles() -> None:
    ev = evaluation()
    text = mermaid_for_plan(ev.plan, ev.by_key)
    assert '    go_no_go{"Go / no-go<br/>done"}\n' in text
    assert '    staging["Deploy to staging<br/>done"]\n' in text


def test_region_instances_share_a_subgraph_titled_by_the_step() -> None:
    ev = evaluation({"production[eu-west]": "ready"})
    text = mermaid_for_plan(ev.plan, ev.by_key)
    assert (
        '    subgraph production__group["Production rollout"]\n'
        '        production__eu_west["eu-west<br/>ready"]\n'
        '        production__us_east["us-east<br/>done"]\n'
        '        production__ap_south["ap-south<br/>done"]\n'
        "    end\n"
    ) in text
    assert text.count("subgraph") == 1


def test_edges_follow_needs() -> None:
    ev = evaluation()
    text = mermaid_for_plan(ev.plan, ev.by_key)
    edges = re.findall(r"^    (\w+) --> (\w+)$", text, flags=re.MULTILINE)
    assert len(edges) == sum(len(node.needs) for node in ev.plan.nodes)
    assert ("go_no_go", "production__eu_west") in edges
    assert ("production__eu_west", "production__us_east") in edges  # sequential rollout
    assert ("production__ap_south", "post_deploy_watch") in edges


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
    assert "    class model_validation failed\n" in text
    assert "    class security_review rejected\n" in text
    assert "    class infrastructure ready\n" in text
    assert "    class go_no_go waiting\n" in text
    assert "    class build,staging,production__us_east blocked\n" in text
    assert (
        "    class data_readiness,production__eu_west,production__ap_south,post_deploy_watch done\n"
    ) in text


def test_target_is_highlighted() -> None:
    ev = evaluation(target="production[eu-west]")
    text = mermaid_for_plan(ev.plan, ev.by_key, target=ev.target)
    assert text.endswith("    style production__eu_west stroke-width:4px\n")


def test_tricky_names_stay_safe_and_unique() -> None:
    loaded = load(TRICKY_SOP)
    ev = evaluation(loaded=loaded)
    text = mermaid_for_plan(ev.plan, ev.by_key)
    assert (
        '    step_end["Say #quot;hi#quot; #91;now#93; #123;x#125; #lt;b#gt;#96;<br/>done"]\n'
    ) in text
    # "eu west" and "eu-west" would both be step_1_ship__eu_west: the second gets a suffix.
    assert '        step_1_ship__eu_west["eu west<br/>done"]\n' in text
    assert '        step_1_ship__eu_west_2["eu-west<br/>done"]\n' in text
    assert "    step_end --> step_1_ship__eu_west\n" in text
    assert "    step_end --> step_1_ship__eu_west_2\n" in text
    assert "```" not in text
