"""Decisions in ordinary workflows (issue 8): vetoes across sources, stale and early
sign-offs (``fresh`` and ``after``), reasons of blocked steps, closed gates that are done, and
a queued re-run with no time yet."""

from __future__ import annotations

from typing import Any

import pytest

from sopgate.render.json import json_data
from tests.unit.helpers import OLD, check, facts, review, run, signoff, sop

VETO = sop("""
    sopgate: 1
    name: t
    roles:
      security: {users: [sec-bob, sec-carol]}
      release: {users: [rita, rob]}
    steps:
      - id: security-review
        owner: security
        needs: []
        approvals: [{role: security}]
      - id: go
        type: decision
        owner: release
        needs: []
        approvals: [{role: release, source: signoff}]
""")


@pytest.mark.parametrize(
    ("case", "approvals", "step", "state"),
    [
        (
            "a /sop reject by a role holder rejects a review-only step",
            [
                review("sec-carol"),
                signoff("sec-bob", "security-review", "2026-11-26T09:00:00Z", "rejected"),
            ],
            "security-review",
            "rejected",
        ),
        (
            "a changes-requested review by a role holder rejects a sign-off-only step",
            [signoff("rob", "go", "2026-11-26T09:00:00Z"), review("rita", "rejected")],
            "go",
            "rejected",
        ),
        (
            "a changes-requested review by someone outside the step's roles does not",
            [signoff("rob", "go", "2026-11-26T09:00:00Z"), review("sec-bob", "rejected")],
            "go",
            "done",
        ),
        (
            "a /sop reject for another step does not",
            [review("sec-carol"), signoff("sec-bob", "go", "2026-11-26T09:00:00Z", "rejected")],
            "security-review",
            "done",
        ),
        (
            "a later approval lifts the review rejection",
            [
                review("rita", "rejected", at="2026-11-26T08:00:00Z"),
                review("rita", at="2026-11-26T08:30:00Z"),
                signoff("rob", "go", "2026-11-26T09:00:00Z"),
            ],
            "go",
            "done",
        ),
    ],
)
def test_rejections_cross_sources(
    case: str, approvals: list[dict[str, Any]], step: str, state: str
) -> None:
    assert run(VETO, facts(approvals=approvals)).by_key[step].state == state, case


def test_cross_source_rejection_reason() -> None:
    approvals = [review("rita", "rejected") | {"reason": "numbers look off"}]
    result = run(VETO, facts(approvals=approvals), "go").by_key["go"]
    assert result.reasons[0] == (
        "rejected by rita (release, review): numbers look off; rita can lift it by approving "
        "the change"
    )
    veto = signoff("sec-bob", "security-review", "2026-11-26T09:00:00Z", "rejected", reason="CVE")
    result = run(VETO, facts(approvals=[veto]), "security-review").by_key["security-review"]
    assert result.reasons[0] == (
        "rejected by sec-bob (security, signoff): CVE; sec-bob can lift it with "
        "'/sop approve security-review'"
    )


FRESH = sop("""
    sopgate: 1
    name: t
    roles:
      release: {users: [rita, rob]}
    steps:
      - id: go
        type: decision
        owner: release
        needs: []
        approvals: [{role: release, source: signoff}]
      - id: pre
        type: decision
        owner: release
        needs: []
        approvals: [{role: release, source: signoff, fresh: false}]
""")

PUSHED = "2026-11-26T08:00:00Z"


@pytest.mark.parametrize(
    ("case", "change", "at", "step", "decision"),
    [
        (
            "sign-off after the latest push",
            {"pushed_at": PUSHED},
            "2026-11-26T08:00:01Z",
            "go",
            "open",
        ),
        (
            "sign-off before the latest push",
            {"pushed_at": PUSHED},
            "2026-11-26T07:59:00Z",
            "go",
            "closed",
        ),
        (
            "sign-off at the push instant is not after",
            {"pushed_at": PUSHED},
            PUSHED,
            "go",
            "closed",
        ),
        (
            "push time unknown: fresh sign-offs count nobody",
            {"pushed_at": None},
            "2026-11-26T09:00:00Z",
            "go",
            "closed",
        ),
        ("push time absent: the needs rule only", {}, "2026-11-26T07:00:00Z", "go", "open"),
        (
            "fresh: false ignores the push",
            {"pushed_at": PUSHED},
            "2026-11-26T07:00:00Z",
            "pre",
            "open",
        ),
        (
            "fresh: false ignores an unknown push",
            {"pushed_at": None},
            "2026-11-26T07:00:00Z",
            "pre",
            "open",
        ),
    ],
)
def test_fresh_signoffs(
    case: str, change: dict[str, Any], at: str, step: str, decision: str
) -> None:
    snapshot = facts(
        change={"id": 1, "author": "dave", **change}, approvals=[signoff("rita", step, at)]
    )
    assert run(FRESH, snapshot, step).decision == decision, case


def test_fresh_signoff_reasons() -> None:
    early = facts(
        change={"id": 1, "pushed_at": PUSHED},
        approvals=[signoff("rita", "go", "2026-11-26T07:00:00Z")],
    )
    assert run(FRESH, early, "go").by_key["go"].reasons == (
        "needs 1 sign-off from release (rita, rob); has 0 (comment '/sop approve go')",
        "rita signed off at 2026-11-26 07:00:00Z, before the change's latest push "
        "(2026-11-26 08:00:00Z): sign off again",
    )
    unknown = facts(
        change={"id": 1, "pushed_at": None},
        approvals=[signoff("rita", "go", "2026-11-26T09:00:00Z")],
    )
    assert run(FRESH, unknown, "go").by_key["go"].reasons[1] == (
        "when the change was last pushed is unknown (pushed_at: null), so no sign-off counts "
        "where fresh: true"
    )


AFTER = sop("""
    sopgate: 1
    name: t
    roles:
      sre: {users: [bob]}
      release: {users: [rita]}
      lead: {users: [lena]}
    steps:
      - id: staging
        owner: sre
        needs: []
        jobs: [deploy-staging]
      - id: go
        type: decision
        owner: release
        approvals: [{role: release, source: signoff}]
      - id: pre
        type: decision
        owner: lead
        needs: [staging]
        approvals: [{role: lead, source: signoff, after: any}]
""")


def test_after_any_counts_a_preapproval() -> None:
    early = signoff("lena", "pre", "2026-11-26T07:00:00Z")
    snapshot = facts(checks=[check("deploy-staging", at="2026-11-26T08:00:00Z")], approvals=[early])
    assert run(AFTER, snapshot, "pre").decision == "open"
    # the needs still have to be done: after: any only moves when a sign-off may be given
    blocked = run(AFTER, facts(approvals=[early]), "pre").by_key["pre"]
    assert blocked.state == "blocked"
    assert blocked.reasons == ("waits for staging (ready; owner sre)",)


def test_after_needs_refuses_a_preapproval() -> None:
    early = signoff("rita", "go", "2026-11-26T07:00:00Z")
    snapshot = facts(checks=[check("deploy-staging", at="2026-11-26T08:00:00Z")], approvals=[early])
    assert run(AFTER, snapshot, "go").decision == "closed"


def test_blocked_reasons_never_invite_a_signoff_that_would_not_count() -> None:
    result = run(AFTER, facts(), "go").by_key["go"]
    assert result.state == "blocked"
    assert result.reasons == (
        "waits for staging (ready; owner sre)",
        "needs 1 sign-off from release (rita); has 0 (sign off after staging is done)",
    )
    # a sign-off given while blocked is told the same, not "sign off again" now
    early = signoff("rita", "go", "2026-11-26T09:00:00Z")
    result = run(AFTER, facts(approvals=[early]), "go").by_key["go"]
    assert result.reasons[2] == (
        "rita's sign-off does not count yet: sign off after staging is done"
    )
    assert result.approvers == ()
    # a pre-approval rule may be signed now
    result = run(AFTER, facts(), "pre").by_key["pre"]
    assert result.reasons[1] == (
        "needs 1 sign-off from lead (lena); has 0 (comment '/sop approve pre')"
    )


WINDOWED = sop("""
    sopgate: 1
    name: t
    scope: {system: s, environments: [production]}
    roles: {sre: {users: [bob]}}
    steps:
      - id: prod
        owner: sre
        environment: production
        rollback: redeploy
        jobs: [deploy]
        window: {days: [mon, tue, wed, thu], start: "09:00", end: "16:00"}
      - id: approve
        owner: sre
        needs: []
        window: {days: [mon], start: "09:00", end: "10:00"}
    freezes:
      - {from: 2026-12-20, to: 2027-01-04, reason: Year-end change freeze}
""")


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        (
            "2026-11-27T10:00:00Z",  # a Friday
            "outside its change window (mon, tue, wed, thu 09:00-16:00 UTC); "
            "opens next Mon 2026-11-30 09:00 UTC",
        ),
        (
            "2026-12-22T10:00:00Z",
            "change freeze from 2026-12-20 to 2027-01-04: Year-end change freeze",
        ),
    ],
)
def test_a_done_step_with_a_closed_gate_says_why(now: str, reason: str) -> None:
    evaluation = run(WINDOWED, facts(observed_at=now, checks=[check("deploy")]), "prod")
    result = evaluation.by_key["prod"]
    assert result.state == "done"
    assert evaluation.decision == "closed"
    assert result.reasons == (reason,)


def test_a_step_without_jobs_outside_its_window_is_not_done() -> None:
    evaluation = run(WINDOWED, facts(observed_at="2026-11-27T10:00:00Z"), "approve")
    assert evaluation.by_key["approve"].state == "waiting"
    assert evaluation.by_key["approve"].reasons == (
        "outside its change window (mon 09:00-10:00 UTC); opens next Mon 2026-11-30 09:00 UTC",
    )
    assert evaluation.decision == "closed"


@pytest.mark.parametrize(
    ("case", "entries", "state"),
    [
        (
            "a queued re-run with no time beats an old success",
            [check("scan", at="2026-11-26T08:00:00Z"), check("scan", "pending", at=None)],
            "waiting",
        ),
        (
            "listed first, still the latest",
            [check("scan", "pending", at=None), check("scan", at="2026-11-26T08:00:00Z")],
            "waiting",
        ),
        (
            "a failure with no time beats an old success",
            [check("scan", at="2026-11-26T08:00:00Z"), check("scan", "failure", at=None)],
            "failed",
        ),
        (
            "two entries with no time: the later in the list",
            [check("scan", "failure", at=None), check("scan", at=None)],
            "done",
        ),
    ],
)
def test_a_check_entry_with_no_time_is_the_latest(
    case: str, entries: list[dict[str, Any]], state: str
) -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {ds: {users: [alice]}}
        steps:
          - id: s
            owner: ds
            checks: [scan]
    """)
    assert run(loaded, facts(checks=entries), "s").by_key["s"].state == state, case


def test_old_review_and_fresh_review_reason_unchanged() -> None:
    # Sanity: review freshness still judged by sha, unaffected by pushed_at.
    snapshot = facts(change={"id": 1, "pushed_at": None}, approvals=[review("rita", sha=OLD)])
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {release: {users: [rita]}}
        steps:
          - id: s
            owner: release
            approvals: [{role: release, fresh: false}]
    """)
    assert run(loaded, snapshot, "s").decision == "open"


def test_json_steps_are_in_plan_order_not_file_order() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps:
          - id: ship
            owner: sre
            needs: [build]
          - id: build
            owner: sre
            needs: []
    """)
    evaluation = run(loaded, facts())
    assert [s["id"] for s in json_data(evaluation)["steps"]] == ["build", "ship"]
    assert [s["line"] for s in json_data(evaluation)["steps"]] == [9, 6]
