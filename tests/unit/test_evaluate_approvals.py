"""DESIGN.md evaluation rules for approvals: roles, bots, latest wins, freshness, sign-offs,
authors, four eyes and separation of duties."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.helpers import OLD, SHA, check, facts, review, run, signoff, sop

REVIEW_SOP = sop("""
    sopgate: 1
    name: t
    roles:
      security: {users: [sec-bob, sec-carol], groups: [acme/sec]}
    steps:
      - id: security-review
        owner: security
        approvals: [{role: security, count: 1}]
""")


def gate(approvals: list[dict[str, Any]] | None, **extra: Any) -> tuple[str, tuple[str, ...]]:
    snapshot = facts(approvals=approvals, groups=extra.pop("groups", {"acme/sec": []}), **extra)
    result = run(REVIEW_SOP, snapshot, "security-review").by_key["security-review"]
    return result.state, result.reasons


@pytest.mark.parametrize(
    ("case", "approvals", "extra", "state"),
    [
        ("listed user approves", [review("sec-bob")], {}, "done"),
        ("login case differs", [review("SEC-Bob")], {}, "done"),
        ("group member approves", [review("gina")], {"groups": {"acme/sec": ["gina"]}}, "done"),
        ("non-member approves", [review("mallory")], {}, "waiting"),
        (
            "bot in the role never counts",
            [review("sec-bob[bot]")],
            {"groups": {"acme/sec": ["sec-bob[bot]"]}},
            "waiting",
        ),
        ("approval on an older commit", [review("sec-bob", sha=OLD)], {}, "waiting"),
        ("approval with unknown sha", [review("sec-bob", sha=None)], {}, "waiting"),
        (
            "latest wins: approve then reject",
            [
                review("sec-bob", at="2026-11-26T08:00:00Z"),
                review("sec-bob", "rejected", at="2026-11-26T09:00:00Z"),
            ],
            {},
            "rejected",
        ),
        (
            "latest wins: reject then approve",
            [
                review("sec-bob", "rejected", at="2026-11-26T08:00:00Z"),
                review("sec-bob", at="2026-11-26T09:00:00Z"),
            ],
            {},
            "done",
        ),
        (
            "dismissed cancels an approval",
            [
                review("sec-bob", at="2026-11-26T08:00:00Z"),
                review("sec-bob", "dismissed", at="2026-11-26T09:00:00Z"),
            ],
            {},
            "waiting",
        ),
        (
            "same time: later in the list wins",
            [review("sec-bob"), review("sec-bob", "rejected")],
            {},
            "rejected",
        ),
        (
            "rejection on an old commit still rejects",
            [review("sec-carol"), review("sec-bob", "rejected", sha=OLD)],
            {},
            "rejected",
        ),
        (
            "rejection by a non-member is ignored",
            [review("sec-carol"), review("mallory", "rejected")],
            {},
            "done",
        ),
        (
            "rejection by a bot is ignored",
            [review("sec-carol"), review("x[bot]", "rejected")],
            {"groups": {"acme/sec": ["x[bot]"]}},
            "done",
        ),
        (
            "author never counts",
            [review("sec-bob")],
            {"change": {"id": 1, "author": "sec-bob"}},
            "waiting",
        ),
        ("initiator never counts", [review("sec-bob")], {"initiator": "sec-bob"}, "waiting"),
        ("approvals unknown", None, {}, "waiting"),
    ],
)
def test_review_rules(
    case: str, approvals: list[dict[str, Any]] | None, extra: dict[str, Any], state: str
) -> None:
    assert gate(approvals, **extra)[0] == state, case


def test_reason_names_who_must_act() -> None:
    state, reasons = gate([])
    assert state == "waiting"
    assert reasons[0] == "needs 1 approval from security (sec-bob, sec-carol); has 0"


def test_reason_explains_a_stale_approval() -> None:
    _state, reasons = gate([review("sec-bob", sha=OLD)])
    assert reasons == (
        "needs 1 approval from security (sec-bob, sec-carol); has 0",
        f"sec-bob's approval is on commit {OLD[:12]}, not the deployed {SHA[:12]}: approve again",
    )


def test_rejection_reason_names_the_person_and_reason() -> None:
    rejection = review("sec-bob", "rejected") | {"reason": "CVE open"}
    state, reasons = gate([rejection])
    assert state == "rejected"
    assert reasons[0] == (
        "rejected by sec-bob (security, review): CVE open; sec-bob can lift it by approving "
        "the change"
    )


def test_unknown_group_keeps_gate_closed_and_says_so() -> None:
    state, reasons = gate([review("gina")], groups={})
    assert state == "waiting"
    assert "membership of acme/sec is unknown, so nobody holds security through it" in reasons
    assert reasons[0] == (
        "needs 1 approval from security (sec-bob, sec-carol, members of acme/sec); has 0"
    )


def test_author_excluded_from_the_candidates() -> None:
    _state, reasons = gate([], change={"id": 7, "author": "sec-bob"})
    assert reasons[0] == "needs 1 approval from security (sec-carol); has 0"


def test_fresh_false_accepts_an_older_commit() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {security: {users: [sec-bob]}}
        steps:
          - id: s
            owner: security
            approvals: [{role: security, fresh: false}]
    """)
    assert run(loaded, facts(approvals=[review("sec-bob", sha=OLD)]), "s").decision == "open"


def test_allow_author() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {security: {users: [sec-bob]}}
        steps:
          - id: s
            owner: security
            approvals: [{role: security, allow_author: true}]
    """)
    snapshot = facts(approvals=[review("sec-bob")], change={"id": 1, "author": "sec-bob"})
    assert run(loaded, snapshot, "s").decision == "open"


COUNT_SOP = sop("""
    sopgate: 1
    name: t
    roles:
      security: {users: [a, b, c]}
    steps:
      - id: s
        owner: security
        approvals: [{role: security, count: 2}]
""")


@pytest.mark.parametrize(
    ("approvals", "decision", "has"),
    [
        ([review("a")], "closed", 1),
        ([review("a"), review("a", at="2026-11-26T09:30:00Z")], "closed", 1),
        ([review("a"), review("b")], "open", 2),
    ],
)
def test_count(approvals: list[dict[str, Any]], decision: str, has: int) -> None:
    result = run(COUNT_SOP, facts(approvals=approvals), "s")
    assert result.decision == decision
    if decision == "closed":
        assert result.by_key["s"].reasons[0] == f"needs 2 approvals from security (b, c); has {has}"


FOUR_EYES = sop("""
    sopgate: 1
    name: t
    roles:
      release: {users: [rita, sam]}
      sre: {users: [sam, bob]}
    steps:
      - id: go
        type: decision
        owner: release
        needs: []
        approvals:
          - {role: release, source: signoff}
          - {role: sre, source: signoff}
""")


@pytest.mark.parametrize(
    ("users", "decision"),
    [
        (["sam"], "closed"),  # one person in both roles fills only one rule
        (["sam", "bob"], "open"),  # sam must serve release so that bob serves sre
        (["rita", "sam"], "open"),
        (["rita", "bob"], "open"),
        (["rita"], "closed"),
    ],
)
def test_one_person_satisfies_one_rule(users: list[str], decision: str) -> None:
    approvals = [signoff(u, "go", "2026-11-26T09:00:00Z") for u in users]
    assert run(FOUR_EYES, facts(approvals=approvals), "go").decision == decision


SIGNOFF_SOP = sop("""
    sopgate: 1
    name: t
    roles:
      sre: {users: [bob]}
      release: {users: [rita]}
    steps:
      - id: staging
        owner: sre
        needs: []
        jobs: [deploy-staging]
      - id: go
        type: decision
        owner: release
        approvals: [{role: release, source: signoff}]
""")


@pytest.mark.parametrize(
    ("case", "jobs", "approval", "decision"),
    [
        (
            "sign-off after the needed step was done",
            [check("deploy-staging", at="2026-11-26T08:00:00Z")],
            signoff("rita", "go", "2026-11-26T08:30:00Z"),
            "open",
        ),
        (
            "sign-off before it was done",
            [check("deploy-staging", at="2026-11-26T08:00:00Z")],
            signoff("rita", "go", "2026-11-26T07:59:00Z"),
            "closed",
        ),
        (
            "sign-off at the same instant is not after",
            [check("deploy-staging", at="2026-11-26T08:00:00Z")],
            signoff("rita", "go", "2026-11-26T08:00:00Z"),
            "closed",
        ),
        (
            "a re-run of the needed step moves its done time",
            [
                check("deploy-staging", at="2026-11-26T08:00:00Z"),
                check("deploy-staging", at="2026-11-26T09:00:00Z"),
            ],
            signoff("rita", "go", "2026-11-26T08:30:00Z"),
            "closed",
        ),
        (
            "edited sign-off does not count",
            [check("deploy-staging", at="2026-11-26T08:00:00Z")],
            signoff("rita", "go", "2026-11-26T08:30:00Z", edited=True),
            "closed",
        ),
        (
            "unknown edited flag does not count",
            [check("deploy-staging", at="2026-11-26T08:00:00Z")],
            signoff("rita", "go", "2026-11-26T08:30:00Z", edited=None),
            "closed",
        ),
        (
            "sign-off with unknown time does not count",
            [check("deploy-staging", at="2026-11-26T08:00:00Z")],
            signoff("rita", "go", None),
            "closed",
        ),
        (
            "needed step done at an unknown time",
            [check("deploy-staging", at=None)],
            signoff("rita", "go", "2026-11-26T08:30:00Z"),
            "closed",
        ),
        (
            "sign-off for another step",
            [check("deploy-staging", at="2026-11-26T08:00:00Z")],
            signoff("rita", "staging", "2026-11-26T08:30:00Z"),
            "closed",
        ),
        (
            "review approval is not a sign-off",
            [check("deploy-staging", at="2026-11-26T08:00:00Z")],
            review("rita"),
            "closed",
        ),
    ],
)
def test_signoff_rules(
    case: str, jobs: list[dict[str, Any]], approval: dict[str, Any], decision: str
) -> None:
    evaluation = run(SIGNOFF_SOP, facts(checks=jobs, approvals=[approval]), "go")
    assert evaluation.decision == decision, case


def test_signoff_reason_says_sign_again() -> None:
    snapshot = facts(
        checks=[check("deploy-staging", at="2026-11-26T08:00:00Z")],
        approvals=[signoff("rita", "go", "2026-11-26T07:00:00Z")],
    )
    reasons = run(SIGNOFF_SOP, snapshot, "go").by_key["go"].reasons
    assert reasons == (
        "needs 1 sign-off from release (rita); has 0 (comment '/sop approve go')",
        "rita signed off at 2026-11-26 07:00:00Z, before the steps it needs were done "
        "(2026-11-26 08:00:00Z): sign off again",
    )


def test_signoff_rejection_rejects_the_step() -> None:
    snapshot = facts(
        checks=[check("deploy-staging")],
        approvals=[
            signoff("rita", "go", "2026-11-26T09:00:00Z", "rejected", reason="latency regression")
        ],
    )
    result = run(SIGNOFF_SOP, snapshot, "go").by_key["go"]
    assert result.state == "rejected"
    assert result.reasons[0] == (
        "rejected by rita (release, signoff): latency regression; rita can lift it with "
        "'/sop approve go'"
    )


SEPARATE = sop("""
    sopgate: 1
    name: t
    roles:
      security: {users: [sec-bob, sam]}
      release: {users: [sam, rita]}
    steps:
      - id: security-review
        owner: security
        approvals: [{role: security}]
      - id: go
        type: decision
        owner: release
        approvals: [{role: release, source: signoff}]
        separate_from: [security-review]
""")


@pytest.mark.parametrize(
    ("reviewer", "signer", "decision"),
    [("sam", "sam", "closed"), ("sec-bob", "sam", "open"), ("sam", "rita", "open")],
)
def test_separate_from(reviewer: str, signer: str, decision: str) -> None:
    snapshot = facts(
        approvals=[
            review(reviewer, at="2026-11-26T08:00:00Z"),
            signoff(signer, "go", "2026-11-26T09:00:00Z"),
        ]
    )
    assert run(SEPARATE, snapshot, "go").decision == decision


def test_separate_from_a_later_step_is_strict() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles:
          release: {users: [sam, rita]}
          security: {users: [sam]}
        steps:
          - id: go
            type: decision
            owner: release
            needs: []
            approvals: [{role: release, source: signoff}]
            separate_from: [audit]
          - id: audit
            owner: security
            approvals: [{role: security}]
    """)
    snapshot = facts(approvals=[review("sam"), signoff("sam", "go", "2026-11-26T09:00:00Z")])
    assert run(loaded, snapshot, "go").decision == "closed"


DEPLOY = sop("""
    sopgate: 1
    name: t
    scope: {system: s, environments: [staging, production]}
    roles: {sre: {users: [bob]}}
    steps:
      - id: prod
        owner: sre
        environment: production
        rollback: redeploy
        approvals: [{role: sre, source: deployment}]
""")


@pytest.mark.parametrize(
    ("environment", "decision"), [("production", "open"), ("staging", "closed")]
)
def test_deployment_approval_counts_for_its_environment(environment: str, decision: str) -> None:
    approval = {
        "user": "bob",
        "source": "deployment",
        "state": "approved",
        "environment": environment,
        "at": "2026-11-26T09:00:00Z",
    }
    assert run(DEPLOY, facts(approvals=[approval]), "prod").decision == decision
