from __future__ import annotations

import re

from sopgate.facts import parse_facts
from sopgate.render.markdown import escape, render_markdown

from .builders import GREEN_FACTS, evaluation, load

NO_ROLLBACK_SOP = """\
sopgate: 1
name: Small | pipes
scope: {system: s, environments: [prod]}
roles:
  ops: {users: [olga]}
steps:
  - id: ship
    owner: ops
    environment: prod
    jobs: [ship]
"""


def test_check_summary() -> None:
    ev = evaluation({"production[eu-west]": "ready"}, target="production[eu-west]")
    text = render_markdown(ev)
    assert text.startswith(
        "## sopgate: Fraud-scoring model release\n\n**production[eu-west]**: gate **open**\n\n"
        "Commit `4b825dc642cb` · observed 2026-11-26T10:00:00Z\n"
    )
    block = re.search(r"\n```mermaid\n(.*?)\n```\n", text, re.DOTALL)
    assert block is not None
    assert block.group(1).startswith("flowchart TD\n")
    assert "style production__eu_west stroke-width:4px" in block.group(1)
    assert "| Step | Owner | State | Reasons |\n| --- | --- | --- | --- |\n" in text
    assert (
        "| Production rollout (production[eu-west]) | sre | 🟢 ready "
        "| gate open; run the job deploy-production (eu-west) |\n"
    ) in text
    assert "| Go / no-go (go-no-go) | release-managers | ✅ done |  |\n" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + len(ev.plan.nodes)
    assert text.endswith(
        "### Next action\n\n"
        "- production[eu-west]: gate open; run the job deploy-production (eu-west)\n"
    )


def test_status_closed_and_nothing_left() -> None:
    assert "\n**Sequence status**\n" in render_markdown(evaluation())
    assert render_markdown(evaluation()).endswith("### Next action\n\nNothing left to do.\n")
    closed = render_markdown(evaluation({"build": "failed"}, target="build"))
    assert "\n**build**: gate **closed**\n" in closed


def test_reasons_joined_and_pipes_escaped() -> None:
    ev = evaluation(
        {"go-no-go": "rejected"},
        reasons={"go-no-go": ("rejected by rob: a|b", "needs sign-off from sre (alice, bob)")},
    )
    text = render_markdown(ev)
    assert (
        "| Go / no-go (go-no-go) | release-managers | ⛔ rejected "
        "| rejected by rob: a\\|b<br>needs sign-off from sre (alice, bob) |\n"
    ) in text
    assert "- go-no-go: rejected by rob: a\\|b\n" in text


def test_notes_and_warnings() -> None:
    facts = parse_facts(
        GREEN_FACTS + "notes: ['team acme/sre not visible to the token']\n", path="f.yml"
    )
    loaded = load(NO_ROLLBACK_SOP)
    text = render_markdown(evaluation(loaded=loaded, snapshot=facts))
    assert text.startswith("## sopgate: Small \\| pipes\n")
    assert "\n### Notes\n\n- team acme/sre not visible to the token\n" in text
    assert (
        "\n### SOP warnings\n\n- .sopgate.yml:7:5: warning: step 'ship' deploys to prod but has "
        "no rollback criteria; add 'rollback:'\n"
    ) in text
    assert "### Notes" not in render_markdown(evaluation())
    assert "### SOP warnings" not in render_markdown(evaluation())


def test_escape_neutralises_markup() -> None:
    assert escape("see [here](https://x.example) *now* <b>`x`</b>\nok") == (
        "see [here\\](https://x.example) \\*now\\* \\<b\\>\\`x\\`\\</b\\> ok"
    )
    assert escape("# not a heading") == "\\# not a heading"
    assert escape("1. not a list") == "1\\. not a list"
    assert escape("production[eu-west]") == "production[eu-west]"


def test_user_text_cannot_close_the_fence() -> None:
    ev = evaluation(reasons={"staging": ("```",)}, states={"staging": "waiting"})
    text = render_markdown(ev)
    assert text.count("```") == 2
