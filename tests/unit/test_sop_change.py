"""Trust: a change that edits the SOP needs its owners' approval, and the summary shows how
the proposed SOP would decide (DESIGN.md, Trust)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from sopgate import commands
from sopgate.platforms import Gathered
from sopgate.render import render
from tests.unit.helpers import facts, review, run, sop

OWNED = sop("""
    sopgate: 1
    name: t
    owners: [platform]
    roles:
      platform: {users: [pat], groups: [org/platform]}
      sre: {users: [bob]}
    steps:
      - id: deploy
        owner: sre
        needs: []
""")


def test_an_unchanged_sop_needs_no_owner_approval() -> None:
    assert run(OWNED, facts(groups={"org/platform": []}), "deploy").decision == "open"


@pytest.mark.parametrize(
    ("approvals", "decision"),
    [
        ([], "closed"),
        ([review("pat")], "open"),
        ([review("pat", sha="1" * 40)], "closed"),
        ([review("bob")], "closed"),
        ([review("gus")], "open"),  # a member of org/platform
    ],
)
def test_a_changed_sop_needs_a_fresh_owner_approval(
    approvals: list[dict[str, str]], decision: str
) -> None:
    snapshot = facts(sop_changed=True, approvals=approvals, groups={"org/platform": ["gus"]})
    evaluation = run(OWNED, snapshot, "deploy")
    assert evaluation.decision == decision
    if decision == "closed":
        assert evaluation.by_key["deploy"].reasons[0] == (
            "this change edits the SOP: needs 1 approval from platform (pat, gus); has 0"
        )


def test_the_author_cannot_approve_their_own_sop_change() -> None:
    snapshot = facts(
        sop_changed=True,
        approvals=[review("pat")],
        change={"id": 3, "author": "pat"},
        groups={"org/platform": []},
    )
    assert run(OWNED, snapshot, "deploy").decision == "closed"


def test_a_changed_sop_without_owners_stays_closed() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps: [{id: deploy, owner: sre}]
    """)
    evaluation = run(loaded, facts(sop_changed=True), "deploy")
    assert evaluation.by_key["deploy"].reasons == (
        "this change edits the SOP, which names no owners to approve it",
    )


class FakeAdapter:
    name = "fake"

    def __init__(self, gathered: Gathered) -> None:
        self.gathered = gathered

    def gather(self, *, sop_path: str) -> Gathered:
        return self.gathered

    def publish(self, evaluation: object, *, dry_run: bool) -> list[str]:
        return []


def test_the_base_sop_decides_and_the_proposed_one_is_shown(tmp_path: Path) -> None:
    base = Path("examples/.sopgate.yml").read_text()
    weakened = base.replace("approvals: [{role: security, count: 1}]", "approvals: []")
    snapshot = facts(platform="github", groups={"acme/ml-platform": ["mona"]})
    source = commands.Source(
        commands.CheckOptions(step=None, sop_path=str(tmp_path / "x"), facts_path="unused")
    )
    source.adapter = FakeAdapter(Gathered(snapshot, base, weakened))
    evaluation = commands._evaluate(source, "security-review", infer=False)
    assert evaluation.facts.sop_changed
    assert evaluation.decision == "closed"
    assert evaluation.by_key["security-review"].reasons[0] == (
        "this change edits the SOP: needs 1 approval from ml-platform (mona); has 0"
    )
    assert evaluation.proposed is not None and evaluation.proposed.evaluation is not None
    markdown = render("markdown", evaluation)
    assert "### This change edits the SOP" in markdown
    assert "- **security-review**: gate **closed**" in markdown

    broken = replace(
        evaluation, proposed=commands._proposed("sopgate: 1\n", evaluation.loaded, snapshot, None)
    )
    assert "missing required key" in render("markdown", broken)
