"""Tests that catch wrong opens (issue 8): each case is a way a mutated evaluator opened a
gate that must stay shut while the outcome-only tests stayed green."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.helpers import check, facts, review, run, signoff, sop
from tests.unit.test_evaluate_additions import model

# -- a step's done time: from approvals, from checks, from several needs --------------------

DONE_TIME = sop("""
    sopgate: 1
    name: t
    roles:
      sec: {users: [sec-bob]}
      release: {users: [rita]}
      ds: {users: [alice]}
    steps:
      - id: by-approval
        owner: sec
        needs: []
        approvals: [{role: sec, source: signoff}]
      - id: by-check
        owner: ds
        needs: []
        checks: [eval]
      - id: relay
        owner: ds
        needs: [by-check]
      - id: go-approval
        type: decision
        owner: release
        needs: [by-approval]
        approvals: [{role: release, source: signoff}]
      - id: go-check
        type: decision
        owner: release
        needs: [by-check]
        approvals: [{role: release, source: signoff}]
      - id: go-both
        type: decision
        owner: release
        needs: [by-approval, by-check]
        approvals: [{role: release, source: signoff}]
      - id: go-relay
        type: decision
        owner: release
        needs: [relay]
        approvals: [{role: release, source: signoff}]
""")


def at(hour: int, minute: int = 0) -> str:
    return f"2026-11-26T{hour:02d}:{minute:02d}:00Z"


@pytest.mark.parametrize(
    ("case", "step", "approval_at", "check_at", "signed_at", "decision"),
    [
        ("after the approval that made it done", "go-approval", at(8), at(7), at(8, 30), "open"),
        ("before the approval that made it done", "go-approval", at(8), at(7), at(7, 30), "closed"),
        ("after the check that made it done", "go-check", at(7), at(8), at(8, 30), "open"),
        ("before the check that made it done", "go-check", at(7), at(8), at(7, 30), "closed"),
        ("two needs: after both", "go-both", at(8), at(9), at(9, 30), "open"),
        (
            "two needs: between them (the later is last)",
            "go-both",
            at(8),
            at(9),
            at(8, 30),
            "closed",
        ),
        (
            "two needs: between them (the later is first)",
            "go-both",
            at(9),
            at(8),
            at(8, 30),
            "closed",
        ),
        (
            "a step with no entries takes its needs' time",
            "go-relay",
            at(7),
            at(9),
            at(8, 30),
            "closed",
        ),
        ("... and a sign-off after it counts", "go-relay", at(7), at(9), at(9, 30), "open"),
    ],
)
def test_done_time(
    case: str, step: str, approval_at: str, check_at: str, signed_at: str, decision: str
) -> None:
    snapshot = facts(
        approvals=[
            signoff("sec-bob", "by-approval", approval_at),
            signoff("rita", step, signed_at),
        ],
        checks=[check("eval", at=check_at)],
    )
    assert run(DONE_TIME, snapshot, step).decision == decision, case


def test_done_time_is_the_latest_entry() -> None:
    evaluation = run(
        DONE_TIME,
        facts(
            approvals=[signoff("sec-bob", "by-approval", at(8))], checks=[check("eval", at=at(9))]
        ),
    )
    assert str(evaluation.by_key["by-approval"].done_at) == "2026-11-26 08:00:00+00:00"
    assert str(evaluation.by_key["by-check"].done_at) == "2026-11-26 09:00:00+00:00"
    assert str(evaluation.by_key["relay"].done_at) == "2026-11-26 09:00:00+00:00"
    assert evaluation.by_key["go-both"].done_at is None  # not done


# -- two jobs patterns ----------------------------------------------------------------------

TWO_JOBS = sop("""
    sopgate: 1
    name: t
    roles: {sre: {users: [bob]}}
    steps:
      - id: deploy
        owner: sre
        needs: []
        jobs: [deploy-api, "deploy-web-*"]
      - id: after
        owner: sre
""")


@pytest.mark.parametrize(
    ("case", "jobs", "state"),
    [
        ("both ran and succeeded", [check("deploy-api"), check("deploy-web-1")], "done"),
        ("one ran, the other did not", [check("deploy-api")], "ready"),
        ("the other ran, the one did not", [check("deploy-web-1")], "ready"),
        (
            "one succeeded, one pending",
            [check("deploy-api"), check("deploy-web-1", "pending")],
            "ready",
        ),
        (
            "one pending, one succeeded",
            [check("deploy-api", "pending"), check("deploy-web-1")],
            "ready",
        ),
        (
            "a glob's second match pending",
            [check("deploy-api"), check("deploy-web-1"), check("deploy-web-2", "pending")],
            "ready",
        ),
        ("one skipped", [check("deploy-api"), check("deploy-web-1", "skipped")], "ready"),
        ("one failed", [check("deploy-api"), check("deploy-web-1", "failure")], "failed"),
    ],
)
def test_two_job_patterns(case: str, jobs: list[dict[str, Any]], state: str) -> None:
    evaluation = run(TWO_JOBS, facts(checks=jobs))
    assert evaluation.by_key["deploy"].state == state, case
    assert (evaluation.by_key["after"].state == "done") is (state == "done"), case


# -- windows --------------------------------------------------------------------------------

WINDOWS = sop("""
    sopgate: 1
    name: t
    roles: {sre: {users: [bob]}}
    steps:
      - id: half-past
        owner: sre
        needs: []
        window: {start: "09:30", end: "17:30"}
      - id: sunday-night
        owner: sre
        needs: []
        window: {days: [sun], start: "22:00", end: "02:00"}
      - id: monday-night
        owner: sre
        needs: []
        window: {days: [mon], start: "22:30", end: "01:30"}
      - id: after-window
        owner: sre
        needs: [monday-night]
""")


@pytest.mark.parametrize(
    ("now", "step", "decision"),
    [
        ("2026-11-26T09:29:59Z", "half-past", "closed"),
        ("2026-11-26T09:30:00Z", "half-past", "open"),
        ("2026-11-26T17:29:59Z", "half-past", "open"),
        ("2026-11-26T17:30:00Z", "half-past", "closed"),
        ("2026-11-30T01:00:00Z", "sunday-night", "open"),  # Monday 01:00 belongs to Sunday
        ("2026-11-30T02:00:00Z", "sunday-night", "closed"),
        ("2026-11-29T21:59:00Z", "sunday-night", "closed"),
        ("2026-11-29T22:00:00Z", "sunday-night", "open"),
        ("2026-11-30T01:00:00Z", "monday-night", "closed"),  # Monday after midnight is Sunday's
        ("2026-11-30T22:29:00Z", "monday-night", "closed"),
        ("2026-11-30T22:30:00Z", "monday-night", "open"),
        ("2026-12-01T01:29:00Z", "monday-night", "open"),  # Tuesday 01:29 is Monday's
        ("2026-12-01T01:30:00Z", "monday-night", "closed"),
    ],
)
def test_windows(now: str, step: str, decision: str) -> None:
    assert run(WINDOWS, facts(observed_at=now), step).decision == decision


def test_a_half_past_window_says_when_it_opens() -> None:
    result = run(WINDOWS, facts(observed_at="2026-11-26T09:00:00Z"), "half-past").by_key[
        "half-past"
    ]
    assert result.reasons == (
        "outside its change window (every day 09:30-17:30 UTC); "
        "opens next Thu 2026-11-26 09:30 UTC",
    )


def test_a_step_without_jobs_outside_its_window_blocks_what_needs_it() -> None:
    evaluation = run(WINDOWS, facts(observed_at="2026-11-30T01:00:00Z"), "after-window")
    assert evaluation.by_key["monday-night"].state == "waiting"
    assert evaluation.by_key["after-window"].state == "blocked"
    assert evaluation.by_key["after-window"].reasons == (
        "waits for monday-night (waiting; owner sre)",
    )
    assert evaluation.decision == "closed"


# -- globs with a wildcard in the middle, and ? ---------------------------------------------

GLOBS = sop("""
    sopgate: 1
    name: t
    roles: {sre: {users: [bob]}}
    steps:
      - id: smoke
        owner: sre
        checks: ["smoke-*-eu", "canary-?"]
""")


@pytest.mark.parametrize(
    ("case", "checks", "state"),
    [
        ("both match", [check("smoke-api-eu"), check("canary-1")], "done"),
        (
            "the middle wildcard does not match another suffix",
            [check("smoke-api-us"), check("canary-1")],
            "waiting",
        ),
        ("the suffix must end the name", [check("smoke-api-eu-2"), check("canary-1")], "waiting"),
        ("? is exactly one character", [check("smoke-api-eu"), check("canary-12")], "waiting"),
        ("? is not zero characters", [check("smoke-api-eu"), check("canary-")], "waiting"),
        (
            "a failing non-match is ignored",
            [check("smoke-api-eu"), check("smoke-api-us", "failure"), check("canary-1")],
            "done",
        ),
    ],
)
def test_globs(case: str, checks: list[dict[str, Any]], state: str) -> None:
    assert run(GLOBS, facts(checks=checks), "smoke").by_key["smoke"].state == state, case


def test_a_glob_reason_names_the_pattern() -> None:
    result = run(GLOBS, facts(checks=[check("smoke-api-us"), check("canary-1")]), "smoke")
    assert result.by_key["smoke"].reasons == ("check smoke-*-eu has not reported (owner sre)",)


# -- the SOP-edit requirement ----------------------------------------------------------------

OWNED = sop("""
    sopgate: 1
    name: t
    owners: [platform]
    roles:
      platform: {users: [pat]}
      sre: {users: [bob]}
    steps:
      - id: deploy
        owner: sre
        needs: []
""")


@pytest.mark.parametrize(
    ("case", "approvals", "decision"),
    [
        ("an owner approved", [review("pat")], "open"),
        ("an owner requested changes", [review("pat", "rejected")], "closed"),
        ("an owner's approval was dismissed", [review("pat", "dismissed")], "closed"),
        (
            "an owner approved, then requested changes",
            [review("pat", at="2026-11-26T08:00:00Z"), review("pat", "rejected")],
            "closed",
        ),
        (
            "an owner signed off, which is no review",
            [signoff("pat", "deploy", "2026-11-26T09:00:00Z")],
            "closed",
        ),
    ],
)
def test_the_sop_edit_needs_an_owner_approval(
    case: str, approvals: list[dict[str, Any]], decision: str
) -> None:
    evaluation = run(OWNED, facts(sop_changed=True, approvals=approvals), "deploy")
    assert evaluation.decision == decision, case
    if decision == "closed":
        assert evaluation.by_key["deploy"].reasons == (
            "this change edits the SOP: needs 1 approval from platform (pat); has 0",
        )


# -- separate_from a fanned-out step that is only partly evaluated ---------------------------

PARTLY = sop("""
    sopgate: 1
    name: t
    scope: {system: s, regions: [eu, us]}
    roles:
      sre: {users: [sam, sue, bob]}
    steps:
      - id: verify
        owner: sre
        for_each: region
        needs: [production]
        approvals: [{role: sre, source: signoff, after: any}]
        separate_from: [production]
      - id: production
        owner: sre
        needs: []
        for_each: region
        approvals: [{role: sre, source: signoff}]
""")


def test_plan_order_interleaves_the_instances() -> None:
    # verify[eu] is judged after production[eu] and before production[us]
    assert [r.key for r in run(PARTLY, facts()).steps] == [
        "production[eu]",
        "verify[eu]",
        "production[us]",
        "verify[us]",
    ]


@pytest.mark.parametrize(
    ("case", "production", "verifier", "decision"),
    [
        ("approved an instance already judged", [("sam", "production[eu]")], "sam", "closed"),
        (
            "approved an instance judged later",
            [("sue", "production"), ("sam", "production[us]")],
            "sam",
            "closed",
        ),
        ("approved no instance", [("sue", "production")], "sam", "open"),
    ],
)
def test_separate_from_a_partly_evaluated_fanned_out_step(
    case: str, production: list[tuple[str, str]], verifier: str, decision: str
) -> None:
    approvals = [signoff(user, step, "2026-11-26T08:00:00Z") for user, step in production]
    approvals.append(signoff(verifier, "verify[eu]", "2026-11-26T09:00:00Z"))
    evaluation = run(PARTLY, facts(approvals=approvals), "verify[eu]")
    assert evaluation.by_key["production[eu]"].state == "done", case
    assert evaluation.decision == decision, case
    if decision == "closed":
        assert evaluation.by_key["verify[eu]"].reasons[-1] == (
            "sam approved a step this one must be separate from (separate_from)"
        )


# -- found by mutation testing (docs/mutation.md) --------------------------------------------


def test_four_eyes_moves_a_person_to_the_rule_only_they_can_fill() -> None:
    # ann could fill either rule and is tried first for "either"; "only-ann" needs her, so
    # the matching must move her and give "either" to bob (an augmenting path).
    loaded = sop("""
        sopgate: 1
        name: t
        roles:
          either: {users: [ann, bob]}
          only-ann: {users: [ann]}
        steps:
          - id: go
            type: decision
            owner: either
            approvals:
              - {role: either, source: signoff}
              - {role: only-ann, source: signoff}
    """)
    approvals = [signoff(u, "go", "2026-11-26T09:00:00Z") for u in ("ann", "bob")]
    evaluation = run(loaded, facts(approvals=approvals), "go")
    assert evaluation.decision == "open"
    assert evaluation.by_key["go"].approvers == ("ann", "bob")


DEPLOYING = sop("""
    sopgate: 1
    name: t
    scope: {system: s, environments: [production]}
    roles:
      sre: {users: [bob, sue]}
      release: {users: [rita]}
    steps:
      - id: prod
        owner: sre
        needs: []
        environment: production
        rollback: redeploy
        approvals: [{role: sre, source: deployment, max_age: 1h}]
      - id: other
        owner: release
        needs: []
        environment: production
        rollback: redeploy
        approvals: [{role: release}]
""")


def deployment(
    user: str, state: str = "approved", at: str = "2026-11-26T09:30:00Z"
) -> dict[str, Any]:
    return {
        "user": user,
        "source": "deployment",
        "state": state,
        "environment": "production",
        "at": at,
    }


def test_a_deployment_rejection_rejects_the_steps_of_its_environment() -> None:
    evaluation = run(DEPLOYING, facts(approvals=[deployment("bob", "rejected"), review("rita")]))
    assert evaluation.by_key["prod"].state == "rejected"
    assert evaluation.by_key["prod"].reasons[0] == (
        "rejected by bob (sre, deployment); bob can lift it by approving the deployment"
    )
    # bob holds no role that "other" names: his veto is not its veto
    assert evaluation.by_key["other"].state == "done"
    # rita's rejected production deployment vetoes "other", though it names no deployment rule
    evaluation = run(DEPLOYING, facts(approvals=[deployment("rita", "rejected"), review("rita")]))
    assert evaluation.by_key["other"].state == "rejected"
    staging = deployment("rita", "rejected") | {"environment": "staging"}
    evaluation = run(DEPLOYING, facts(approvals=[staging, review("rita")]))
    assert evaluation.by_key["other"].state == "done"


def test_a_review_rejection_rejects_a_deployment_rule_step() -> None:
    evaluation = run(DEPLOYING, facts(approvals=[deployment("sue"), review("bob", "rejected")]))
    assert evaluation.by_key["prod"].state == "rejected"


def test_a_non_holders_rejection_does_not_hide_a_holders() -> None:
    approvals = [
        review("mallory", "rejected"),
        review("zed", "rejected"),
        review("sue", "rejected"),
    ]
    evaluation = run(DEPLOYING, facts(approvals=[deployment("bob"), *approvals]))
    assert evaluation.by_key["prod"].state == "rejected"
    assert evaluation.by_key["prod"].reasons[0].startswith("rejected by sue (sre, review)")


def test_deployment_reasons() -> None:
    stale = run(DEPLOYING, facts(approvals=[deployment("bob", at="2026-11-26T08:30:00Z")]), "prod")
    assert stale.by_key["prod"].reasons == (
        "needs 1 deployment approval from sre (bob, sue); has 0 (approve the production "
        "deployment)",
        "bob's deployment approval is 1h old; max 1h: approve the deployment again",
    )


@pytest.mark.parametrize(
    ("at", "age"),
    [
        ("2026-11-26T09:15:00Z", "45m"),
        ("2026-11-26T08:59:00Z", "1h"),
        ("2026-11-23T11:00:00Z", "71h"),
        ("2026-11-23T10:00:00Z", "3d"),
    ],
)
def test_age_in_reasons(at: str, age: str) -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps:
          - id: s
            owner: sre
            approvals: [{role: sre, source: signoff, max_age: 10m}]
    """)
    reasons = run(loaded, facts(approvals=[signoff("bob", "s", at)]), "s").by_key["s"].reasons
    assert reasons[1] == f"bob's sign-off is {age} old; max 10m: sign off again"


def test_a_needed_step_done_at_an_unknown_time_is_named() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps:
          - id: build
            owner: sre
            checks: [build]
          - id: go
            type: decision
            owner: sre
            approvals: [{role: sre, source: signoff}]
    """)
    snapshot = facts(checks=[check("build", at=None)], approvals=[signoff("bob", "go", at(9))])
    assert run(loaded, snapshot, "go").by_key["go"].reasons[1] == (
        "the steps go needs were done at an unknown time (an entry without a time), so no "
        "sign-off counts after them"
    )
    offset = signoff("bob", "go", "2026-11-26T07:00:00+01:00")
    snapshot = facts(checks=[check("build", at=at(8))], approvals=[offset])
    assert run(loaded, snapshot, "go").by_key["go"].reasons[1] == (
        "bob signed off at 2026-11-26T07:00:00+01:00, before the steps it needs were done "
        "(2026-11-26 08:00:00Z): sign off again"
    )


def test_an_approval_on_an_unknown_commit_says_so() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps:
          - id: s
            owner: sre
            approvals: [{role: sre}]
    """)
    reasons = run(loaded, facts(approvals=[review("bob", sha=None)]), "s").by_key["s"].reasons
    assert reasons[1] == (
        "bob's approval is on an unknown commit, not the deployed 4b825dc642cb: approve again"
    )


def test_nobody_eligible() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps:
          - id: s
            owner: sre
            approvals: [{role: sre}]
    """)
    snapshot = facts(change={"id": 1, "author": "bob"})
    assert run(loaded, snapshot, "s").by_key["s"].reasons == (
        "needs 1 approval from sre (nobody eligible); has 0",
    )


def test_two_pending_needs_are_named_together() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps:
          - id: a
            owner: sre
            needs: []
            jobs: [a]
          - id: b
            owner: sre
            needs: []
            jobs: [b]
          - id: go
            type: decision
            owner: sre
            needs: [a, b]
            approvals: [{role: sre, source: signoff}]
    """)
    assert run(loaded, facts(), "go").by_key["go"].reasons[-1] == (
        "needs 1 sign-off from sre (bob); has 0 (sign off after a and b are done)"
    )


def test_two_unmapped_commits_are_both_named() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps:
          - id: s
            owner: sre
            approvals: [{role: sre}]
    """)
    commits = [
        {"sha": "a" * 40, "author": None, "committer": "web-flow"},
        {"sha": "b" * 40, "author": "bob", "committer": None},
    ]
    reasons = run(loaded, facts(commits=commits), "s").by_key["s"].reasons
    assert reasons[1] == (
        "commit aaaaaaaaaaaa, bbbbbbbbbbbb has an author or committer the platform could not "
        "map to a login, so they are not excluded as contributors"
    )


REGION_SEPARATE = sop("""
    sopgate: 1
    name: t
    scope: {system: s, regions: [eu, us]}
    roles:
      sre-eu: {users: [sue]}
      sre-us: {users: [sam, sue]}
      verifiers: {users: [sam, vic]}
    steps:
      - id: verify
        owner: verifiers
        for_each: region
        needs: [production]
        approvals: [{role: verifiers, source: signoff, after: any}]
        separate_from: [production]
      - id: production
        owner: sre-eu
        needs: []
        for_each: region
        approvals: [{role: "sre-{region}", source: signoff}]
""")


@pytest.mark.parametrize(
    ("case", "sam_signed", "decision"),
    [
        # sam cannot approve production[eu] but can approve production[us], judged later
        ("sam signed the step id", "production", "closed"),
        ("sam signed the later instance", "production[us]", "closed"),
        ("sam signed only the instance he cannot approve", "production[eu]", "open"),
    ],
)
def test_separate_from_a_later_instance_with_region_roles(
    case: str, sam_signed: str, decision: str
) -> None:
    approvals = [
        signoff("sue", "production[eu]", at(8)),
        signoff("sam", sam_signed, at(8)),
        signoff("sam", "verify[eu]", at(9)),
    ]
    evaluation = run(REGION_SEPARATE, facts(approvals=approvals), "verify[eu]")
    assert evaluation.decision == decision, case


def test_separate_from_a_later_deployment_rule() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        scope: {system: s, environments: [production]}
        roles:
          sre: {users: [sam, sue]}
        steps:
          - id: go
            type: decision
            owner: sre
            needs: []
            approvals: [{role: sre, source: signoff}]
            separate_from: [prod]
          - id: prod
            owner: sre
            environment: production
            rollback: redeploy
            approvals: [{role: sre, source: deployment}]
    """)
    approvals = [deployment("sam"), signoff("sam", "go", at(9))]
    assert run(loaded, facts(approvals=approvals), "go").decision == "closed"
    approvals = [deployment("sue"), signoff("sam", "go", at(9))]
    assert run(loaded, facts(approvals=approvals), "go").decision == "open"


def test_an_undefined_role_has_no_holders() -> None:
    loaded = model("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps:
          - id: s
            owner: sre
            approvals: [{role: ghosts}]
    """)
    result = run(loaded, facts(approvals=[review("bob")]), "s").by_key["s"]
    assert (result.state, result.reasons) == (
        "waiting",
        ("role ghosts is not defined in roles, so nobody can approve s",),
    )


@pytest.mark.parametrize(
    ("case", "entries", "state"),
    [
        (
            "an approval with no time does not lift a rejection",
            [review("bob", at=None), review("bob", "rejected")],
            "rejected",
        ),
        (
            "a rejection with no time beats an approval",
            [review("bob", "rejected", at=None), review("bob")],
            "rejected",
        ),
        (
            "a dismissal with no time beats an approval",
            [review("bob", "dismissed", at=None), review("bob")],
            "waiting",
        ),
        (
            "a dismissal with no time does not lift a rejection",
            [review("bob", "rejected"), review("bob", "dismissed", at=None)],
            "rejected",
        ),
        ("same time: the later entry wins", [review("bob", "rejected"), review("bob")], "done"),
        (
            "same time: the later entry wins (reversed)",
            [review("bob"), review("bob", "rejected")],
            "rejected",
        ),
        (
            "a review naming a step is still a review",
            [review("bob"), review("bob", "rejected") | {"step": "s"}],
            "rejected",
        ),
    ],
)
def test_latest_approval_with_unknown_times(
    case: str, entries: list[dict[str, Any]], state: str
) -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps:
          - id: s
            owner: sre
            approvals: [{role: sre}]
    """)
    assert run(loaded, facts(approvals=entries), "s").by_key["s"].state == state, case


@pytest.mark.parametrize(
    ("case", "entries", "state"),
    [
        ("same time: the later entry wins", [check("scan", "failure"), check("scan")], "done"),
        ("same time, reversed", [check("scan"), check("scan", "failure")], "failed"),
    ],
)
def test_latest_check_on_a_tie(case: str, entries: list[dict[str, Any]], state: str) -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps:
          - id: s
            owner: sre
            checks: [scan]
    """)
    assert run(loaded, facts(checks=entries), "s").by_key["s"].state == state, case


@pytest.mark.parametrize(
    ("pattern", "name", "state"),
    [
        ("canary-?-?", "canary-1-2", "done"),
        ("*-smoke", "api-smoke", "done"),
        ("?pi-smoke", "api-smoke", "done"),
        ("*-smoke", "api-smoke-2", "waiting"),
    ],
)
def test_globs_starting_with_or_holding_several_wildcards(
    pattern: str, name: str, state: str
) -> None:
    loaded = sop(f"""
        sopgate: 1
        name: t
        roles: {{sre: {{users: [bob]}}}}
        steps:
          - id: s
            owner: sre
            checks: ["{pattern}"]
    """)
    assert run(loaded, facts(checks=[check(name)]), "s").by_key["s"].state == state


def test_an_evidence_folder_star_stays_in_the_folder() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps:
          - id: s
            owner: sre
            evidence: ["reports/*"]
    """)
    result = run(loaded, facts(files=["reports/sub/a.json"]), "s").by_key["s"]
    assert (result.state, result.reasons) == (
        "waiting",
        ("needs evidence reports/* at the commit (owner sre)",),
    )
    assert run(loaded, facts(files=["reports/a.json"]), "s").by_key["s"].state == "done"


OPEN_ENDED = model(  # validation rejects an empty window; the evaluator keeps it shut
    """
    sopgate: 1
    name: t
    roles: {sre: {users: [bob]}}
    steps:
      - id: evening
        owner: sre
        needs: []
        window: {days: [thu], start: "18:00"}
      - id: empty
        owner: sre
        needs: []
        window: {start: "09:00", end: "09:00"}
"""
)


@pytest.mark.parametrize(
    ("now", "step", "decision"),
    [
        ("2026-11-26T17:59:00Z", "evening", "closed"),
        ("2026-11-26T18:00:00Z", "evening", "open"),
        ("2026-11-26T23:59:59Z", "evening", "open"),  # until the end of Thursday
        ("2026-11-27T00:00:00Z", "evening", "closed"),
        ("2026-11-26T09:00:00Z", "empty", "closed"),  # start == end is empty, not a whole day
        ("2026-11-26T12:00:00Z", "empty", "closed"),
    ],
)
def test_windows_without_an_end_and_empty_windows(now: str, step: str, decision: str) -> None:
    assert run(OPEN_ENDED, facts(observed_at=now), step).decision == decision


def test_a_window_without_an_end_is_described() -> None:
    result = run(OPEN_ENDED, facts(observed_at="2026-11-26T10:00:00Z"), "evening")
    assert result.by_key["evening"].reasons == (
        "outside its change window (thu 18:00-24:00 UTC); opens next Thu 2026-11-26 18:00 UTC",
    )


def test_next_opening_counts_days_in_the_window_time_zone() -> None:
    # Sunday 21:00 UTC is Monday 10:00 in Auckland, after Monday's opening: next Monday.
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps:
          - id: s
            owner: sre
            window: {days: [mon], start: "09:00", end: "09:30", timezone: Pacific/Auckland}
    """)
    result = run(loaded, facts(observed_at="2026-11-29T21:00:00Z"), "s").by_key["s"]
    assert result.reasons == (
        "outside its change window (mon 09:00-09:30 Pacific/Auckland); "
        "opens next Mon 2026-12-07 09:00 Pacific/Auckland",
    )


@pytest.mark.parametrize(
    ("now", "decision"),
    [
        ("2027-02-02T03:00:00Z", "closed"),  # still 1 February in New York
        ("2027-02-02T06:00:00Z", "open"),
        ("2027-02-01T04:00:00Z", "open"),  # still 31 January in New York
    ],
)
def test_a_freeze_is_judged_in_its_time_zone(now: str, decision: str) -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        scope: {system: s, environments: [production]}
        roles: {sre: {users: [bob]}}
        steps:
          - id: s
            owner: sre
            environment: production
            rollback: redeploy
        freezes:
          - {from: 2027-02-01, to: 2027-02-01, timezone: America/New_York}
    """)
    assert run(loaded, facts(observed_at=now), "s").decision == decision


def test_a_deployment_approval_without_an_environment_counts_nowhere() -> None:
    loaded = model("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps:
          - id: s
            owner: sre
            approvals: [{role: sre, source: deployment}]
    """)
    approval = {"user": "bob", "source": "deployment", "state": "approved", "at": at(9)}
    assert run(loaded, facts(approvals=[approval]), "s").decision == "closed"


def test_the_ready_reason_names_every_job() -> None:
    result = run(TWO_JOBS, facts(), "deploy").by_key["deploy"]
    assert result.reasons == ("gate open: run deploy-api, deploy-web-* (owner sre)",)


def test_a_failed_job_with_an_open_gate_may_be_retried() -> None:
    evaluation = run(TWO_JOBS, facts(checks=[check("deploy-api", "failure")]), "deploy")
    assert evaluation.decision == "open"
    assert evaluation.by_key["deploy"].reasons == (
        "job deploy-api failed (owner sre)",
        "gate open: the job may be retried (owner sre)",
    )


def test_a_region_instance_result() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        scope: {system: s, regions: [eu]}
        roles: {sre: {users: [bob]}}
        steps:
          - id: go
            type: decision
            owner: sre
            approvals: [{role: sre}]
          - id: production
            name: Production rollout
            owner: sre
            for_each: region
    """)
    results = run(loaded, facts(approvals=[review("bob")])).by_key
    assert (results["go"].step_id, results["go"].type, results["go"].region) == (
        "go",
        "decision",
        None,
    )
    assert (results["go"].name, results["go"].line) == ("go", 7)
    instance = results["production[eu]"]
    assert (instance.step_id, instance.type, instance.region, instance.line) == (
        "production",
        "task",
        "eu",
        11,
    )
    assert instance.name == "Production rollout (eu)"
    assert results["go"].approvers == ("bob",)


CHECK_REASONS = sop("""
    sopgate: 1
    name: t
    roles: {ds: {users: [alice]}}
    steps:
      - id: s
        owner: ds
        checks: [{name: model-eval, app: github-actions}, a, b]
""")


@pytest.mark.parametrize(
    ("case", "checks", "state", "reasons"),
    [
        (
            "a pinned check that has not reported names its app",
            [check("a"), check("b")],
            "waiting",
            ("check model-eval (github-actions) has not reported (owner ds)",),
        ),
        (
            "a missing check does not hide a later failure",
            [check("b", "failure")],
            "failed",
            (
                "check b failed (owner ds)",
                "check model-eval (github-actions) has not reported (owner ds)",
                "check a has not reported (owner ds)",
            ),
        ),
        (
            "a failure does not hide a later pending check",
            [check("model-eval", "failure", app="github-actions"), check("a", "pending")],
            "failed",
            (
                "check model-eval failed (owner ds)",
                "check a is pending (owner ds)",
                "check b has not reported (owner ds)",
            ),
        ),
        (
            "checks unknown",
            None,
            "waiting",
            ("check results are unknown: the platform could not list them",),
        ),
    ],
)
def test_check_reasons(
    case: str, checks: list[dict[str, Any]] | None, state: str, reasons: tuple[str, ...]
) -> None:
    result = run(CHECK_REASONS, facts(checks=checks), "s").by_key["s"]
    assert (result.state, result.reasons) == (state, reasons), case


def test_two_failed_checks_of_one_glob_are_named_together() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {ds: {users: [alice]}}
        steps:
          - id: s
            owner: ds
            checks: ["lint-*"]
            jobs: ["job-*"]
    """)
    entries = [check("lint-a", "failure"), check("lint-b", "failure")]
    entries += [check("job-a", "failure"), check("job-b", "failure")]
    result = run(loaded, facts(checks=entries), "s").by_key["s"]
    assert result.reasons == (
        "check lint-a, lint-b failed (owner ds)",
        "job job-a, job-b failed (owner ds)",
    )


def test_an_approval_that_did_not_count_does_not_separate() -> None:
    # sue and sam both signed production[eu]; one sign-off fills it (sam, first by name),
    # so only sam is separated from verify[eu]: sue's approval did not count there.
    approvals = [
        signoff("sue", "production[eu]", at(8)),
        signoff("sam", "production[eu]", at(8)),
        signoff("sue", "verify[eu]", at(9)),
    ]
    evaluation = run(PARTLY, facts(approvals=approvals), "verify[eu]")
    assert evaluation.by_key["production[eu]"].approvers == ("sam",)
    assert evaluation.decision == "open"


def test_someone_counted_for_another_rule_is_not_listed_again() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles:
          release: {users: [sam]}
          sre: {users: [sam, bob]}
        steps:
          - id: go
            type: decision
            owner: release
            approvals:
              - {role: release, source: signoff}
              - {role: sre, source: signoff}
    """)
    reasons = run(loaded, facts(approvals=[signoff("sam", "go", at(9))]), "go").by_key["go"].reasons
    assert reasons == ("needs 1 sign-off from sre (bob); has 0 (comment '/sop approve go')",)


def test_a_signoff_on_the_step_and_on_the_instance_the_latest_time_counts() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        scope: {system: s, regions: [eu]}
        roles: {sre: {users: [olga, bob]}}
        steps:
          - id: production
            owner: sre
            needs: []
            for_each: region
            approvals: [{role: sre, source: signoff}]
          - id: go
            type: decision
            owner: sre
            approvals: [{role: sre, source: signoff}]
    """)
    approvals = [
        signoff("olga", "production[eu]", at(8)),
        signoff("olga", "production", at(9)),
        signoff("bob", "go", at(8, 30)),
    ]
    evaluation = run(loaded, facts(approvals=approvals), "go")
    assert str(evaluation.by_key["production[eu]"].done_at) == "2026-11-26 09:00:00+00:00"
    assert evaluation.decision == "closed"


def test_unknown_approvals_reason() -> None:
    result = run(DONE_TIME, facts(approvals=None), "by-approval").by_key["by-approval"]
    assert result.reasons == ("approvals are unknown: the platform could not list them",)


def test_a_role_whose_first_group_is_unknown_still_has_the_second() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {groups: [org/a, org/b]}}
        steps:
          - id: s
            owner: sre
            approvals: [{role: sre}]
    """)
    result = run(loaded, facts(approvals=[review("gina")], groups={"org/b": ["gina"]}), "s")
    assert result.decision == "open"


def test_every_missing_evidence_file_is_named() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {ds: {users: [alice]}}
        steps:
          - id: s
            owner: ds
            evidence: [a.md, b.md]
    """)
    assert run(loaded, facts(files=[]), "s").by_key["s"].reasons == (
        "needs evidence a.md at the commit (owner ds)",
        "needs evidence b.md at the commit (owner ds)",
    )


def test_a_freeze_that_does_not_apply_does_not_hide_one_that_does() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        scope: {system: s, environments: [staging, production]}
        roles: {sre: {users: [bob]}}
        steps:
          - id: s
            owner: sre
            environment: production
            rollback: redeploy
        freezes:
          - {from: 2026-11-26, to: 2026-11-26, reason: staging only, environments: [staging]}
          - {from: 2026-11-26, to: 2026-11-26, reason: everything}
    """)
    result = run(loaded, facts(), "s").by_key["s"]
    assert result.reasons == ("change freeze from 2026-11-26 to 2026-11-26: everything",)


def test_a_non_holders_signoff_on_a_later_instance_does_not_separate() -> None:
    approvals = [
        signoff("sue", "production[eu]", at(8)),
        signoff("vic", "production[us]", at(8)),  # vic does not hold sre-us
        signoff("vic", "verify[eu]", at(9)),
    ]
    assert run(REGION_SEPARATE, facts(approvals=approvals), "verify[eu]").decision == "open"


def test_age_at_exactly_an_hour() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps:
          - id: s
            owner: sre
            approvals: [{role: sre, source: signoff, max_age: 10m}]
    """)
    snapshot = facts(approvals=[signoff("bob", "s", "2026-11-26T09:00:00Z")])
    assert run(loaded, snapshot, "s").by_key["s"].reasons[1] == (
        "bob's sign-off is 1h old; max 10m: sign off again"
    )
    snapshot = facts(approvals=[signoff("bob", "s", "2026-11-26T09:00:01Z")])
    assert run(loaded, snapshot, "s").by_key["s"].reasons[1] == (
        "bob's sign-off is 59m old; max 10m: sign off again"
    )


@pytest.mark.parametrize(
    ("timezone", "reason"),
    [
        (
            "region",
            "its change window uses the region's time zone, but a step that is not per region "
            "has none: the window cannot be judged",
        ),
        ("Mars/Olympus_Mons", "its change window's time zone Mars/Olympus_Mons is unknown"),
    ],
)
def test_a_window_zone_nobody_can_tell_keeps_the_gate_shut(timezone: str, reason: str) -> None:
    loaded = model(f"""
        sopgate: 1
        name: t
        roles: {{sre: {{users: [bob]}}}}
        steps:
          - id: s
            owner: sre
            window: {{start: "00:00", timezone: {timezone}}}
    """)
    evaluation = run(loaded, facts(), "s")
    assert evaluation.decision == "closed"
    assert evaluation.by_key["s"].reasons == (reason,)


def test_a_freeze_without_a_reason() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        scope: {system: s, environments: [production]}
        roles: {sre: {users: [bob]}}
        steps:
          - id: s
            owner: sre
            environment: production
            rollback: redeploy
        freezes:
          - {from: 2026-11-26, to: 2026-11-27}
    """)
    assert run(loaded, facts(), "s").by_key["s"].reasons == (
        "change freeze from 2026-11-26 to 2026-11-27",
    )


def test_a_check_glob_crosses_slashes_in_check_names() -> None:
    # GitHub names workflow checks "build / test (3.11)": a check glob is no path glob.
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {users: [bob]}}
        steps:
          - id: s
            owner: sre
            checks: ["build*"]
    """)
    assert run(loaded, facts(checks=[check("build / test (3.11)")]), "s").decision == "open"
