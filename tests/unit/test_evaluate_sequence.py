"""DESIGN.md evaluation rules for checks, jobs, evidence, windows, freezes, unknown facts,
region instances and step states."""

from __future__ import annotations

from typing import Any

import pytest

from sopgate.errors import UsageError
from tests.unit.helpers import check, facts, review, run, signoff, sop

CHECKS = sop("""
    sopgate: 1
    name: t
    roles: {ds: {users: [alice]}}
    steps:
      - id: validate
        owner: ds
        checks: [{name: model-eval, app: github-actions}, "lint-*"]
""")


@pytest.mark.parametrize(
    ("case", "checks", "state"),
    [
        ("all pass", [check("model-eval", app="github-actions"), check("lint-py")], "done"),
        (
            "pinned app: other source ignored",
            [check("model-eval", app="status"), check("lint-py")],
            "waiting",
        ),
        (
            "pinned app: failing other source ignored",
            [
                check("model-eval", app="github-actions"),
                check("model-eval", "failure", "status"),
                check("lint-py"),
            ],
            "done",
        ),
        (
            "latest per (name, app) wins: failed then passed",
            [
                check("model-eval", "failure", "github-actions", "2026-11-26T07:00:00Z"),
                check("model-eval", app="github-actions"),
                check("lint-py"),
            ],
            "done",
        ),
        (
            "latest per (name, app) wins: passed then failed",
            [
                check("model-eval", app="github-actions"),
                check("model-eval", "failure", "github-actions", "2026-11-26T09:00:00Z"),
                check("lint-py"),
            ],
            "failed",
        ),
        (
            "unpinned glob: every matching check must pass",
            [
                check("model-eval", app="github-actions"),
                check("lint-py"),
                check("lint-js", "failure"),
            ],
            "failed",
        ),
        (
            "pending",
            [check("model-eval", "pending", "github-actions"), check("lint-py")],
            "waiting",
        ),
        (
            "skipped is not success",
            [check("model-eval", "skipped", "github-actions"), check("lint-py")],
            "waiting",
        ),
        (
            "cancelled is not success",
            [check("model-eval", "cancelled", "github-actions"), check("lint-py")],
            "waiting",
        ),
        ("glob matches nothing", [check("model-eval", app="github-actions")], "waiting"),
        ("checks unknown", None, "waiting"),
    ],
)
def test_check_rules(case: str, checks: list[dict[str, Any]] | None, state: str) -> None:
    assert run(CHECKS, facts(checks=checks), "validate").by_key["validate"].state == state, case


def test_check_reasons() -> None:
    result = run(
        CHECKS, facts(checks=[check("model-eval", "pending", "github-actions")]), "validate"
    ).by_key["validate"]
    assert result.reasons == (
        "check model-eval is pending (owner ds)",
        "check lint-* has not reported (owner ds)",
    )


JOBS = sop("""
    sopgate: 1
    name: t
    scope: {system: s, environments: [staging]}
    roles: {sre: {users: [bob]}}
    steps:
      - id: staging
        owner: sre
        environment: staging
        rollback: redeploy
        jobs: [deploy-staging]
      - id: smoke
        owner: sre
        checks: [smoke]
""")


@pytest.mark.parametrize(
    ("case", "checks", "state", "decision", "next_state"),
    [
        ("not run yet: ready", [], "ready", "open", "blocked"),
        (
            "pending run of the calling job does not close the gate",
            [check("deploy-staging", "pending")],
            "ready",
            "open",
            "blocked",
        ),
        ("succeeded: done", [check("deploy-staging")], "done", "open", "waiting"),
        (
            "failed: failed, but may be retried",
            [check("deploy-staging", "failure")],
            "failed",
            "open",
            "blocked",
        ),
        (
            "a commit status of the same name is not a job",
            [check("deploy-staging", app="status")],
            "ready",
            "open",
            "blocked",
        ),
        (
            "a job from another CI app is not a job",
            [check("deploy-staging", app="github-actions")],
            "ready",
            "open",
            "blocked",
        ),
        (
            "latest run per name",
            [
                check("deploy-staging", "failure", at="2026-11-26T07:00:00Z"),
                check("deploy-staging"),
            ],
            "done",
            "open",
            "waiting",
        ),
        ("job results unknown", None, "ready", "open", "blocked"),
    ],
)
def test_job_rules(
    case: str, checks: list[dict[str, Any]] | None, state: str, decision: str, next_state: str
) -> None:
    evaluation = run(JOBS, facts(checks=checks), "staging")
    assert evaluation.by_key["staging"].state == state, case
    assert evaluation.decision == decision, case
    assert evaluation.by_key["smoke"].state == next_state, case


def test_ready_reason_names_the_job_and_owner() -> None:
    result = run(JOBS, facts(), "staging").by_key["staging"]
    assert result.reasons == ("gate open: run deploy-staging (owner sre)",)


def test_blocked_reason_names_the_needed_step() -> None:
    result = run(JOBS, facts(), "smoke").by_key["smoke"]
    assert result.state == "blocked"
    assert result.reasons[0] == "waits for staging (ready; owner sre)"


def test_step_without_jobs_is_done_never_ready() -> None:
    evaluation = run(JOBS, facts(checks=[check("deploy-staging"), check("smoke")]), "smoke")
    assert evaluation.by_key["smoke"].state == "done"
    assert evaluation.by_key["smoke"].reasons == ()


EVIDENCE = sop("""
    sopgate: 1
    name: t
    roles: {ds: {users: [alice]}}
    steps:
      - id: validate
        owner: ds
        evidence: [docs/model-card.md, "reports/*.json"]
""")


@pytest.mark.parametrize(
    ("files", "state"),
    [
        (["docs/model-card.md", "reports/auc.json"], "done"),
        (["docs/model-card.md"], "waiting"),
        (["docs/model-card.md", "reports/sub/auc.json"], "waiting"),  # * stays in a folder
        (["docs/MODEL-card.md", "reports/auc.json"], "waiting"),
        (None, "waiting"),
    ],
)
def test_evidence(files: list[str] | None, state: str) -> None:
    assert run(EVIDENCE, facts(files=files), "validate").by_key["validate"].state == state


WINDOW = sop("""
    sopgate: 1
    name: t
    scope: {system: s, environments: [production]}
    roles: {sre: {users: [bob]}}
    steps:
      - id: prod
        owner: sre
        needs: []
        environment: production
        rollback: redeploy
        jobs: [deploy]
        window: {days: [mon, tue, wed, thu], start: "09:00", end: "16:00",
                 timezone: Europe/Berlin}
      - id: night
        owner: sre
        needs: []
        window: {days: [fri], start: "22:00", end: "02:00"}
    freezes:
      - {from: 2026-12-20, to: 2027-01-04, reason: Year-end change freeze}
      - {from: 2027-02-01, to: 2027-02-01, timezone: America/New_York}
""")


@pytest.mark.parametrize(
    ("now", "decision"),
    [
        ("2026-11-26T08:00:00Z", "open"),  # Thu 09:00 Berlin: start is inclusive
        ("2026-11-26T07:59:59Z", "closed"),
        ("2026-11-26T14:59:59Z", "open"),
        ("2026-11-26T15:00:00Z", "closed"),  # 16:00 Berlin: end is exclusive
        ("2026-11-27T10:00:00Z", "closed"),  # Friday
        ("2026-07-02T07:30:00Z", "open"),  # summer time: 09:30 Berlin
        ("2026-12-21T10:00:00Z", "closed"),  # Monday inside the freeze
        ("2026-12-20T00:00:00Z", "closed"),  # freeze start is inclusive (a Sunday anyway)
        ("2027-01-04T10:00:00Z", "closed"),  # freeze end is inclusive
        ("2027-01-05T10:00:00Z", "open"),
        ("2027-02-01T10:00:00Z", "closed"),  # Monday in New York's 1 Feb
        ("2027-02-02T03:00:00Z", "closed"),  # still 1 Feb in New York
        ("2027-02-02T06:00:00Z", "closed"),  # 2 Feb in New York, 07:00 in Berlin
        ("2027-02-02T08:00:00Z", "open"),
    ],
)
def test_window_and_freeze(now: str, decision: str) -> None:
    assert run(WINDOW, facts(observed_at=now), "prod").decision == decision


@pytest.mark.parametrize(
    ("now", "decision"),
    [
        ("2026-11-27T22:00:00Z", "open"),  # Friday 22:00
        ("2026-11-28T01:59:00Z", "open"),  # Saturday 01:59 belongs to Friday's window
        ("2026-11-28T02:00:00Z", "closed"),
        ("2026-11-28T22:30:00Z", "closed"),  # Saturday evening
        ("2026-11-27T01:00:00Z", "closed"),  # Friday 01:00 belongs to Thursday
    ],
)
def test_window_crossing_midnight(now: str, decision: str) -> None:
    assert run(WINDOW, facts(observed_at=now), "night").decision == decision


def test_freeze_applies_only_to_environment_steps() -> None:
    evaluation = run(WINDOW, facts(observed_at="2026-12-25T23:00:00Z"), "night")
    assert evaluation.decision == "open"


def test_window_reason_says_when_it_opens() -> None:
    result = run(WINDOW, facts(observed_at="2026-11-27T10:00:00Z"), "prod").by_key["prod"]
    assert result.state == "waiting"
    assert result.reasons == (
        "outside its change window (mon, tue, wed, thu 09:00-16:00 Europe/Berlin); "
        "opens next Mon 2026-11-30 09:00 Europe/Berlin",
    )


def test_freeze_reason() -> None:
    result = run(WINDOW, facts(observed_at="2026-12-22T10:00:00Z"), "prod").by_key["prod"]
    assert result.reasons == (
        "change freeze from 2026-12-20 to 2027-01-04: Year-end change freeze",
    )


REGIONS = sop("""
    sopgate: 1
    name: t
    scope: {system: s, environments: [production], regions: [eu, us]}
    roles: {sre: {users: [bob, sue]}}
    steps:
      - id: go
        type: decision
        owner: sre
        needs: []
        approvals: [{role: sre}]
      - id: production
        owner: sre
        environment: production
        rollback: redeploy
        for_each: region
        rollout: sequential
        jobs: ["deploy ({region})"]
        approvals: [{role: sre, source: signoff}]
      - id: watch
        owner: sre
        for_each: region
        checks: ["canary-{region}"]
      - id: close
        owner: sre
""")


def test_region_instances_and_sequential_rollout() -> None:
    evaluation = run(REGIONS, facts(), None)
    assert [r.key for r in evaluation.steps] == [
        "go",
        "production[eu]",
        "production[us]",
        "watch[eu]",
        "watch[us]",
        "close",
    ]
    assert evaluation.by_key["production[us]"].needs == ("go", "production[eu]")
    assert evaluation.by_key["watch[us]"].needs == ("production[us]",)
    assert evaluation.by_key["close"].needs == ("watch[eu]", "watch[us]")


PARALLEL = sop("""
    sopgate: 1
    name: t
    scope: {system: s, environments: [production], regions: [eu, us]}
    roles: {sre: {users: [bob, sue]}}
    steps:
      - id: production
        owner: sre
        environment: production
        rollback: redeploy
        for_each: region
        jobs: ["deploy ({region})"]
        approvals: [{role: sre, source: signoff}]
""")


def test_signoff_for_the_step_covers_every_instance() -> None:
    snapshot = facts(approvals=[signoff("sue", "production", "2026-11-26T09:00:00Z")])
    evaluation = run(PARALLEL, snapshot)
    assert [r.gate_open for r in evaluation.steps] == [True, True]


def test_sequential_rollout_needs_a_signoff_after_the_previous_region() -> None:
    # A sign-off given before production[eu] was done cannot count for production[us].
    wide = signoff("sue", "production", "2026-11-26T08:30:00Z")
    snapshot = facts(
        approvals=[review("bob", at="2026-11-26T08:00:00Z"), wide],
        checks=[check("deploy (eu)", at="2026-11-26T09:00:00Z")],
    )
    evaluation = run(REGIONS, snapshot, "production[us]")
    assert evaluation.by_key["production[eu]"].state == "done"
    assert evaluation.decision == "closed"
    assert evaluation.by_key["production[us]"].reasons[0] == (
        "needs 1 sign-off from sre (bob, sue); has 0 (comment '/sop approve production[us]')"
    )
    regional = signoff("bob", "production[us]", "2026-11-26T09:30:00Z")
    snapshot = facts(
        approvals=[review("bob", at="2026-11-26T08:00:00Z"), wide, regional],
        checks=[check("deploy (eu)", at="2026-11-26T09:00:00Z")],
    )
    assert run(REGIONS, snapshot, "production[us]").decision == "open"


def test_signoff_for_an_instance_covers_only_that_instance() -> None:
    snapshot = facts(
        approvals=[
            {
                "user": "bob",
                "source": "review",
                "state": "approved",
                "sha": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
                "at": "2026-11-26T08:00:00Z",
            },
            signoff("sue", "production[eu]", "2026-11-26T09:00:00Z"),
        ],
        checks=[check("deploy (eu)")],
    )
    evaluation = run(REGIONS, snapshot, "production[us]")
    assert evaluation.by_key["production[eu]"].state == "done"
    assert evaluation.decision == "closed"
    assert evaluation.by_key["production[us]"].reasons[0].startswith("needs 1 sign-off from sre")


def test_rejecting_one_instance_rejects_only_it() -> None:
    snapshot = facts(
        approvals=[
            signoff("sue", "production", "2026-11-26T09:00:00Z"),
            signoff("bob", "production[us]", "2026-11-26T09:10:00Z", "rejected"),
        ]
    )
    evaluation = run(REGIONS, snapshot)
    assert evaluation.by_key["production[us]"].state == "rejected"
    assert evaluation.by_key["production[eu]"].state == "blocked"


def test_fanned_out_step_needs_an_instance() -> None:
    with pytest.raises(UsageError) as caught:
        run(REGIONS, facts(), "production")
    assert str(caught.value) == (
        "step 'production' runs once per region; name one instance: production[eu], production[us]"
    )


def test_unknown_step() -> None:
    with pytest.raises(UsageError, match="unknown step 'prod'; steps: go, production"):
        run(REGIONS, facts(), "prod")


STATES = sop("""
    sopgate: 1
    name: t
    roles: {sre: {users: [bob]}, sec: {users: [sec]}}
    steps:
      - id: a
        owner: sre
        needs: []
        checks: [a-check]
      - id: b
        owner: sec
        approvals: [{role: sec}]
        checks: [b-check]
""")


@pytest.mark.parametrize(
    ("checks", "approvals", "state"),
    [
        # rejected beats failed beats blocked beats waiting
        (
            [check("b-check", "failure")],
            [{"user": "sec", "source": "review", "state": "rejected"}],
            "rejected",
        ),
        ([check("b-check", "failure")], [], "failed"),
        ([check("b-check")], [], "blocked"),
        ([check("a-check"), check("b-check", "pending")], [], "waiting"),
        ([check("a-check"), check("b-check")], [], "waiting"),
    ],
)
def test_first_matching_state_wins(
    checks: list[dict[str, Any]], approvals: list[dict[str, Any]], state: str
) -> None:
    assert run(STATES, facts(checks=checks, approvals=approvals)).by_key["b"].state == state


def test_status_has_no_decision_and_check_has_one() -> None:
    assert run(STATES, facts()).decision is None
    assert run(STATES, facts(checks=[check("a-check")]), "a").decision == "open"


def test_next_names_who_must_act() -> None:
    evaluation = run(STATES, facts(checks=[check("a-check")]))
    assert evaluation.next == (
        "b: needs 1 approval from sec (sec); has 0",
        "b: check b-check has not reported (owner sec)",
    )
