from __future__ import annotations

import re

from sopgate.facts import parse_facts
from sopgate.render.markdown import escape, reason_markdown, render_markdown

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


def test_check_summary_decision_and_next_first() -> None:
    ev = evaluation({"production[eu-west]": "ready"}, target="production[eu-west]")
    text = render_markdown(ev)
    assert text.startswith(
        "## sopgate: Fraud-scoring model release\n\n"
        "### ✅ **production[eu-west]**: gate **open**\n\n"
        "**Production rollout** is 🟢 ready · owner sre\n\n"
        "- gate open; run the job deploy-production (eu-west)\n\n"
        "### Next actions\n\n"
        "- ▶ **production[eu-west]** · owner sre: gate open; run the job deploy-production "
        "(eu-west)\n\n"
        "Commit `4b825dc642cb` · observed 2026-11-26T10:00:00Z\n\n"
        "### Sequence\n\n```mermaid\n"
    )
    block = re.search(r"\n```mermaid\n(.*?)\n```\n", text, re.DOTALL)
    assert block is not None
    assert block.group(1).startswith("flowchart TD\n")
    assert "style production__eu_west stroke-width:4px" in block.group(1)
    assert "| Step | Owner | State | Reasons |\n| --- | --- | --- | --- |\n" in text
    assert text.index("### Next actions") < text.index("```mermaid") < text.index("| Step |")
    assert (
        "| Production rollout (production[eu-west]) | sre | 🟢 ready "
        "| gate open; run the job deploy-production (eu-west) |\n"
    ) in text
    assert "| Go / no-go (go-no-go) | release-managers | ✅ done |  |\n" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + len(ev.plan.nodes)


def test_sign_off_names_the_exact_comment_to_write() -> None:
    reason = "needs 1 sign-off from sre (alice, bob); has 0 (comment '/sop approve go-no-go')"
    ev = evaluation({"go-no-go": "waiting"}, reasons={"go-no-go": (reason,)}, target="go-no-go")
    text = render_markdown(ev)
    action = "needs 1 sign-off from sre (alice, bob); has 0 (comment `/sop approve go-no-go`)"
    assert "### ⛔ **go-no-go**: gate **closed**\n\n**Go / no-go** is ⏳ waiting" in text
    assert f"\n- ▶ **go-no-go** · owner release-managers: {action}\n" in text
    assert f"| {action} |" in text
    # A quote that is no plain command stays escaped text: no code span to smuggle markup in.
    odd = "say '/sop approve x|y' or 'rm -rf' `now`"
    assert reason_markdown(odd) == "say '/sop approve x\\|y' or 'rm -rf' \\`now\\`"


def test_blocked_target_explains_why_and_names_who_acts_upstream() -> None:
    ev = evaluation(
        {"go-no-go": "waiting", "production[eu-west]": "blocked"},
        reasons={"production[eu-west]": ("waits for go-no-go (waiting; owner release-managers)",)},
        target="production[eu-west]",
    )
    text = render_markdown(ev)
    assert (
        "### ⛔ **production[eu-west]**: gate **closed**\n\n"
        "**Production rollout** is ⏸️ blocked · owner sre\n\n"
        "- waits for go-no-go (waiting; owner release-managers)\n\n### Next actions\n\n"
        "- **go-no-go** · owner release-managers: needs 1 approval from security (sec-bob, "
        "sec-carol); has 0\n"
    ) in text


def test_status_counts_states_and_nothing_left() -> None:
    assert "\n### Sequence status: 11 done\n" in render_markdown(evaluation())
    assert "\n### Next actions\n\nNothing left to do.\n" in render_markdown(evaluation())
    mixed = render_markdown(evaluation({"build": "failed", "staging": "blocked"}))
    assert "\n### Sequence status: 9 done · 1 blocked · 1 failed\n" in mixed
    closed = render_markdown(evaluation({"build": "failed"}, target="build"))
    assert "\n### ⛔ **build**: gate **closed**\n" in closed


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
    assert "- **go-no-go** · owner release-managers: rejected by rob: a\\|b\n" in text


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
