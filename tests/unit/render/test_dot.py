from __future__ import annotations

import re

from sopgate.render.dot import dot_for_plan, quote
from sopgate.render.mermaid import PALETTE
from sopgate.sop.plan import build_plan

from .builders import evaluation, load

NODE = re.compile(r'^\s*("(?:[^"\\]|\\.)*") \[(.*)\];$', re.MULTILINE)
EDGE = re.compile(r'^\s*("(?:[^"\\]|\\.)*") -> ("(?:[^"\\]|\\.)*");$', re.MULTILINE)


def test_quote_escapes_backslashes_and_quotes() -> None:
    assert quote('a "b" \\ c\nd') == '"a \\"b\\" \\\\ c d"'


def test_structure_matches_the_plan() -> None:
    ev = evaluation({"production[eu-west]": "waiting"})
    text = dot_for_plan(ev.plan, ev.by_key)
    assert text.startswith("digraph sopgate {\n")
    assert text.endswith("}\n")
    assert text.count("{") == text.count("}")
    nodes = NODE.findall(text)
    edges = EDGE.findall(text)
    assert [name for name, _attrs in nodes] == [f'"{node.key}"' for node in ev.plan.nodes]
    # 14 needs, of which 4 are implied by another path (the same graph as the Mermaid one).
    assert sum(len(node.needs) for node in ev.plan.nodes) == 14
    assert len(edges) == 10
    assert ('"go-no-go"', '"production[eu-west]"') in edges
    assert ('"go-no-go"', '"production[us-east]"') not in edges


def test_decision_is_a_diamond() -> None:
    ev = evaluation()
    attrs = dict(NODE.findall(dot_for_plan(ev.plan, ev.by_key)))
    assert "shape=diamond" in attrs['"go-no-go"']
    assert "shape=diamond" not in attrs['"staging"']


def test_region_instances_in_one_cluster() -> None:
    ev = evaluation()
    text = dot_for_plan(ev.plan, ev.by_key)
    assert text.count("subgraph ") == 1
    cluster = text[text.index('subgraph "cluster_') : text.index("    }\n")]
    assert 'label="Production rollout";' in cluster
    assert [name for name, _ in NODE.findall(cluster)] == [
        '"production[eu-west]"',
        '"production[us-east]"',
        '"production[ap-south]"',
    ]


def test_fill_colour_by_state_and_label() -> None:
    ev = evaluation({"build": "failed", "staging": "blocked"}, target="staging")
    attrs = dict(NODE.findall(dot_for_plan(ev.plan, ev.by_key, target=ev.target)))
    assert f'fillcolor="{PALETTE["failed"][0]}"' in attrs['"build"']
    assert 'label="Build model image\\nowner: ml-platform\\nfailed"' in attrs['"build"']
    assert (
        'label="Deploy to staging\\nowner: sre\\nblocked\\n▶ asked about: gate closed"'
        in (attrs['"staging"'])
    )
    assert f'fillcolor="{PALETTE["blocked"][0]}"' in attrs['"staging"']
    assert "penwidth=3" in attrs['"staging"']
    assert "penwidth" not in attrs['"build"']


def test_without_results_no_colours() -> None:
    text = dot_for_plan(build_plan(load().sop), None)
    assert '"staging" [label="Deploy to staging\\nowner: sre"];' in text
    assert text.count("fillcolor") == 1  # the node default only
