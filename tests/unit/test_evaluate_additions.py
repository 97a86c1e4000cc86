"""The format 1 additions in the evaluator (issue 9): approval age, who may start a step,
scoped freezes, windows in the region's time zone, per-region roles and emergency
overrides. Evidence ``require`` is in test_evidence.py."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
import yaml

from sopgate.render.json import json_data
from sopgate.sop.load import LoadedSop
from sopgate.sop.model import Sop
from tests.unit.helpers import check, facts, review, run, signoff, sop


def model(text: str) -> LoadedSop:
    """A SOP taken straight from the model, skipping validation: for SOPs that validation
    rejects, where the evaluator must still fail closed."""
    text = textwrap.dedent(text)
    parsed = Sop.model_validate(yaml.safe_load(text))
    return LoadedSop(
        sop=parsed,
        path=".sopgate.yml",
        text=text,
        lines={step.id: i + 1 for i, step in enumerate(parsed.steps)},
        warnings=(),
    )


AGED = sop("""
    sopgate: 1
    name: t
    roles:
      release: {users: [rita, rob]}
      security: {users: [sec-bob]}
    steps:
      - id: go
        type: decision
        owner: release
        needs: []
        approvals: [{role: release, source: signoff, max_age: 24h}]
      - id: review
        owner: security
        needs: []
        approvals: [{role: security, max_age: 7d}]
""")


@pytest.mark.parametrize(
    ("case", "approval", "step", "decision"),
    [
        ("23h old", signoff("rita", "go", "2026-11-25T11:00:00Z"), "go", "open"),
        (
            "exactly 24h old still counts",
            signoff("rita", "go", "2026-11-25T10:00:00Z"),
            "go",
            "open",
        ),
        ("24h and a second", signoff("rita", "go", "2026-11-25T09:59:59Z"), "go", "closed"),
        ("30h old", signoff("rita", "go", "2026-11-25T04:00:00Z"), "go", "closed"),
        ("no known time", signoff("rita", "go", None), "go", "closed"),
        ("review 6 days old", review("sec-bob", at="2026-11-20T10:00:00Z"), "review", "open"),
        ("review 8 days old", review("sec-bob", at="2026-11-18T10:00:00Z"), "review", "closed"),
        ("review with no time", review("sec-bob", at=None), "review", "closed"),
    ],
)
def test_max_age(case: str, approval: dict[str, Any], step: str, decision: str) -> None:
    assert run(AGED, facts(approvals=[approval]), step).decision == decision, case


def test_max_age_reason() -> None:
    snapshot = facts(approvals=[signoff("rita", "go", "2026-11-25T04:00:00Z")])
    assert run(AGED, snapshot, "go").by_key["go"].reasons == (
        "needs 1 sign-off from release (rita, rob); has 0 (comment '/sop approve go')",
        "rita's sign-off is 30h old; max 24h: sign off again",
    )
    snapshot = facts(approvals=[review("sec-bob", at="2026-11-10T10:00:00Z")])
    assert run(AGED, snapshot, "review").by_key["review"].reasons[1] == (
        "sec-bob's approval is 16d old; max 7d: approve again"
    )
    snapshot = facts(approvals=[review("sec-bob", at=None)])
    assert run(AGED, snapshot, "review").by_key["review"].reasons[1] == (
        "sec-bob's approval has no known time, so it cannot be younger than max_age 7d"
    )


def test_making_an_approval_older_closes_the_gate() -> None:
    young = run(AGED, facts(approvals=[signoff("rob", "go", "2026-11-26T09:00:00Z")]), "go")
    old = run(AGED, facts(approvals=[signoff("rob", "go", "2026-11-24T09:00:00Z")]), "go")
    assert (young.decision, old.decision) == ("open", "closed")


RUN_BY = sop("""
    sopgate: 1
    name: t
    scope: {system: s, environments: [production]}
    roles:
      release-managers: {users: [rita, rob]}
      sre: {users: [bob]}
    steps:
      - id: production
        owner: sre
        needs: []
        environment: production
        rollback: redeploy
        jobs: [deploy]
        run_by: [release-managers]
""")


@pytest.mark.parametrize(
    ("case", "extra", "state", "reasons"),
    [
        ("a release manager starts it", {"initiator": "rita"}, "ready", None),
        ("login case differs", {"initiator": "RITA"}, "ready", None),
        (
            "someone else starts it",
            {"initiator": "dave"},
            "waiting",
            ("only release-managers may start production; started by dave",),
        ),
        (
            "a release manager's run re-run by someone else",
            {"initiator": "rita", "rerun_by": "dave"},
            "waiting",
            ("only release-managers may start production; re-run by dave",),
        ),
        ("re-run by a release manager", {"initiator": "rob", "rerun_by": "rita"}, "ready", None),
        (
            "no initiator known",
            {},
            "waiting",
            (
                "only release-managers may start production (rita, rob); who started this run "
                "is unknown",
            ),
        ),
        (
            "a bot never holds a role",
            {"initiator": "rita[bot]"},
            "waiting",
            ("only release-managers may start production; started by rita[bot]",),
        ),
    ],
)
def test_run_by(
    case: str, extra: dict[str, Any], state: str, reasons: tuple[str, ...] | None
) -> None:
    evaluation = run(RUN_BY, facts(**extra), "production")
    result = evaluation.by_key["production"]
    assert result.state == state, case
    assert evaluation.decision == ("open" if reasons is None else "closed"), case
    if reasons is not None:
        assert result.reasons == reasons, case


def test_run_by_on_a_done_step_closes_the_gate_for_a_rerun() -> None:
    evaluation = run(RUN_BY, facts(initiator="dave", checks=[check("deploy")]), "production")
    assert evaluation.by_key["production"].state == "done"
    assert evaluation.decision == "closed"
    assert evaluation.by_key["production"].reasons == (
        "only release-managers may start production; started by dave",
    )


SCOPED = sop("""
    sopgate: 1
    name: t
    scope:
      system: s
      environments: [staging, production]
      regions: [eu, us]
    roles: {sre: {users: [bob]}}
    steps:
      - id: staging
        owner: sre
        needs: []
        environment: staging
        rollback: redeploy
      - id: production
        owner: sre
        needs: []
        environment: production
        rollback: redeploy
        for_each: region
      - id: watch
        owner: sre
        needs: []
        for_each: region
      - id: notes
        owner: sre
        needs: []
    freezes:
      - {from: 2026-12-01, to: 2026-12-01, reason: neither}
      - {from: 2026-12-02, to: 2026-12-02, reason: production only, environments: [production]}
      - {from: 2026-12-03, to: 2026-12-03, reason: eu only, regions: [eu]}
      - {from: 2026-12-04, to: 2026-12-04, reason: eu production,
         environments: [production], regions: [eu]}
""")


@pytest.mark.parametrize(
    ("day", "frozen"),
    [
        ("2026-12-01", {"staging", "production[eu]", "production[us]"}),
        ("2026-12-02", {"production[eu]", "production[us]"}),
        ("2026-12-03", {"production[eu]"}),  # watch[eu] has no environment
        ("2026-12-04", {"production[eu]"}),
        ("2026-12-05", set()),
    ],
)
def test_freeze_scope(day: str, frozen: set[str]) -> None:
    evaluation = run(SCOPED, facts(observed_at=f"{day}T10:00:00Z"))
    assert {r.key for r in evaluation.steps if not r.gate_open} == frozen
    for key in frozen:
        assert evaluation.by_key[key].reasons[0].startswith(f"change freeze from {day} to {day}")


REGIONAL = model(  # validation rejects region ap without a zone; the evaluator fails closed
    """
    sopgate: 1
    name: t
    scope:
      system: s
      environments: [production]
      regions:
        - {id: eu, timezone: Europe/Berlin}
        - {id: us, name: US East, timezone: America/New_York}
        - ap
    roles:
      lead-eu: {users: [erik]}
      lead-us: {users: [ursula]}
      lead-ap: {users: [anil]}
      sre: {users: [bob]}
    steps:
      - id: production
        owner: sre
        needs: []
        environment: production
        rollback: redeploy
        for_each: region
        approvals: [{role: "lead-{region}", source: signoff}]
        window: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00", timezone: region}
"""
)


@pytest.mark.parametrize(
    ("now", "eu", "us"),
    [
        ("2026-11-26T08:00:00Z", True, False),  # 09:00 Berlin, 03:00 New York
        ("2026-11-26T15:30:00Z", True, True),  # 16:30 Berlin, 10:30 New York
        ("2026-11-26T16:00:00Z", False, True),  # 17:00 Berlin (end exclusive), 11:00 New York
        ("2026-11-26T21:59:00Z", False, True),  # 16:59 New York
    ],
)
def test_window_in_the_region_time_zone(now: str, eu: bool, us: bool) -> None:
    approvals = [
        signoff("erik", "production[eu]", "2026-11-26T00:00:00Z"),
        signoff("ursula", "production[us]", "2026-11-26T00:00:00Z"),
    ]
    evaluation = run(REGIONAL, facts(observed_at=now, approvals=approvals))
    assert evaluation.by_key["production[eu]"].gate_open is eu
    assert evaluation.by_key["production[us]"].gate_open is us


def test_region_window_reasons_name_the_zone() -> None:
    evaluation = run(REGIONAL, facts(observed_at="2026-11-26T05:00:00Z"))
    assert evaluation.by_key["production[us]"].reasons[-1] == (
        "outside its change window (mon, tue, wed, thu, fri 09:00-17:00 America/New_York); "
        "opens next Thu 2026-11-26 09:00 America/New_York"
    )
    # a region without a time zone: the window cannot be judged, the gate stays shut
    assert evaluation.by_key["production[ap]"].reasons[-1] == (
        "its change window uses the region's time zone, but region ap has none: the window "
        "cannot be judged"
    )


@pytest.mark.parametrize(
    ("user", "target", "decision"),
    [
        ("erik", "production[eu]", "open"),
        ("erik", "production[us]", "closed"),  # eu's lead is not us's lead
        ("ursula", "production[us]", "open"),
    ],
)
def test_region_roles_per_instance(user: str, target: str, decision: str) -> None:
    approvals = [signoff(user, "production", "2026-11-26T09:00:00Z")]
    evaluation = run(REGIONAL, facts(observed_at="2026-11-26T15:30:00Z", approvals=approvals))
    assert evaluation.by_key[target].gate_open is (decision == "open")


def test_region_role_reason_names_the_instance_role() -> None:
    evaluation = run(REGIONAL, facts(observed_at="2026-11-26T15:30:00Z"))
    assert evaluation.by_key["production[us]"].reasons == (
        "needs 1 sign-off from lead-us (ursula); has 0 (comment '/sop approve production[us]')",
    )


def test_a_rejection_by_another_regions_lead_does_not_reject() -> None:
    approvals = [
        signoff("erik", "production", "2026-11-26T09:00:00Z"),
        signoff("ursula", "production", "2026-11-26T09:00:00Z"),
        signoff("ursula", "production[eu]", "2026-11-26T09:10:00Z", "rejected", reason="no"),
    ]
    evaluation = run(REGIONAL, facts(observed_at="2026-11-26T15:30:00Z", approvals=approvals))
    assert evaluation.by_key["production[eu]"].state == "done"
    approvals[2] = signoff("ursula", "production", "2026-11-26T09:10:00Z", "rejected")
    evaluation = run(REGIONAL, facts(observed_at="2026-11-26T15:30:00Z", approvals=approvals))
    assert evaluation.by_key["production[us]"].state == "rejected"
    assert evaluation.by_key["production[eu]"].state == "done"


BREAK_GLASS = sop("""
    sopgate: 1
    name: t
    scope: {system: s, environments: [production], regions: [eu, us]}
    roles:
      incident: {users: [olga, ivan, dave]}
      release: {users: [rita]}
      sre: {users: [bob]}
    emergency: {role: incident, bypass: [window, freeze, approvals]}
    steps:
      - id: staging
        owner: sre
        needs: []
        jobs: [deploy-staging]
      - id: production
        owner: sre
        environment: production
        rollback: redeploy
        for_each: region
        jobs: ["deploy-{region}"]
        approvals: [{role: release, source: signoff}]
        checks: [smoke]
        window: {days: [mon], start: "09:00", end: "10:00"}
    freezes:
      - {from: 2026-11-26, to: 2026-11-26, reason: Thanksgiving}
""")

STAGED = check("deploy-staging", at="2026-11-26T08:00:00Z")
SMOKE = check("smoke", at="2026-11-26T08:00:00Z")


def emergency(
    user: str, step: str, reason: str | None = "payment outage INC-4411", **extra: Any
) -> dict[str, Any]:
    return {
        "user": user,
        "source": "emergency",
        "step": step,
        "state": "approved",
        "reason": reason,
        "at": "2026-11-26T09:00:00Z",
        **extra,
    }


def glass(
    approvals: list[dict[str, Any]], checks: list[dict[str, Any]] | None = None, **extra: Any
) -> Any:
    snapshot = facts(
        approvals=approvals, checks=[STAGED, SMOKE] if checks is None else checks, **extra
    )
    return run(BREAK_GLASS, snapshot, "production[eu]")


def test_an_override_opens_the_gate_past_window_freeze_and_approvals() -> None:
    closed = glass([])
    assert closed.decision == "closed"
    assert not closed.emergency
    evaluation = glass([emergency("olga", "production")])
    result = evaluation.by_key["production[eu]"]
    assert evaluation.decision == "open"
    assert evaluation.emergency
    assert result.state == "ready"
    assert result.emergency == ("EMERGENCY OVERRIDE by olga: payment outage INC-4411",)
    assert result.reasons == (
        "EMERGENCY OVERRIDE by olga: payment outage INC-4411",
        "gate open: run deploy-eu (owner sre)",
    )
    assert json_data(evaluation)["emergency"] is True
    assert "emergency" not in json_data(closed) or json_data(closed)["emergency"] is False


def test_an_override_for_an_instance_covers_only_it() -> None:
    evaluation = glass([emergency("olga", "production[us]")])
    assert evaluation.decision == "closed"
    assert evaluation.by_key["production[us]"].gate_open


@pytest.mark.parametrize(
    ("case", "approvals", "checks", "extra", "reason"),
    [
        (
            "never skips needs",
            [emergency("olga", "production")],
            [SMOKE],
            {},
            "waits for staging (ready; owner sre)",
        ),
        (
            "never skips a failure",
            [emergency("olga", "production")],
            [STAGED, check("smoke", "failure")],
            {},
            "check smoke failed (owner sre)",
        ),
        (
            "never skips a rejection",
            [
                emergency("olga", "production"),
                signoff("rita", "production", "2026-11-26T09:00:00Z", "rejected"),
            ],
            None,
            {},
            "rejected by rita (release, signoff); rita can lift it with '/sop approve production'",
        ),
        (
            "checks are not in this SOP's bypass list",
            [emergency("olga", "production")],
            [STAGED],
            {},
            "check smoke has not reported (owner sre)",
        ),
        (
            "the author cannot override their own change",
            [emergency("dave", "production")],
            None,
            {"change": {"id": 1, "author": "Dave"}},
            "dave's emergency override does not count: dave is the change's author",
        ),
        (
            "nor can the initiator",
            [emergency("olga", "production")],
            None,
            {"initiator": "olga"},
            "olga's emergency override does not count: olga is the run's initiator",
        ),
        (
            "nor a contributor",
            [emergency("olga", "production")],
            None,
            {"commits": [{"sha": None, "author": "olga", "committer": "web-flow"}]},
            "olga's emergency override does not count: olga authored or committed a commit of "
            "the change",
        ),
        (
            "nor anyone when the commits are unknown",
            [emergency("olga", "production")],
            None,
            {"commits": None},
            "olga's emergency override does not count: the change's commits are unknown "
            "(commits: null), so nobody counts where contributors are excluded",
        ),
        (
            "nor someone outside the role",
            [emergency("rita", "production")],
            None,
            {},
            "rita's emergency override does not count: rita does not hold incident",
        ),
        (
            "an edited command does not count",
            [emergency("olga", "production", edited=True)],
            None,
            {},
            "olga's emergency override does not count: the comment was edited",
        ),
        (
            "a command without a reason does not count",
            [emergency("olga", "production", reason=None)],
            None,
            {},
            "olga's emergency override does not count: it gives no reason",
        ),
    ],
)
def test_what_an_override_never_does(
    case: str,
    approvals: list[dict[str, Any]],
    checks: list[dict[str, Any]] | None,
    extra: dict[str, Any],
    reason: str,
) -> None:
    evaluation = glass(approvals, checks, **extra)
    assert evaluation.decision == "closed", case
    assert not evaluation.emergency, case
    assert reason in evaluation.by_key["production[eu]"].reasons, case


def test_count_distinct_people() -> None:
    loaded = model(BREAK_GLASS.text.replace("role: incident,", "role: incident, count: 2,"))
    one = run(
        loaded,
        facts(
            approvals=[emergency("olga", "production"), emergency("OLGA", "production[eu]")],
            checks=[STAGED, SMOKE],
        ),
        "production[eu]",
    )
    assert one.decision == "closed"
    assert one.by_key["production[eu]"].reasons[-1] == (
        "an emergency override needs 2 persons holding incident (comment "
        "'/sop emergency production[eu] REASON'); has 1"
    )
    two = run(
        loaded,
        facts(
            approvals=[emergency("olga", "production"), emergency("ivan", "production")],
            checks=[STAGED, SMOKE],
        ),
        "production[eu]",
    )
    assert two.decision == "open"
    assert two.by_key["production[eu]"].emergency == (
        "EMERGENCY OVERRIDE by olga: payment outage INC-4411",
        "EMERGENCY OVERRIDE by ivan: payment outage INC-4411",
    ) or two.by_key["production[eu]"].emergency == (
        "EMERGENCY OVERRIDE by ivan: payment outage INC-4411",
        "EMERGENCY OVERRIDE by olga: payment outage INC-4411",
    )


def test_without_an_emergency_section_the_command_is_refused() -> None:
    loaded = model(
        BREAK_GLASS.text.replace(
            "emergency: {role: incident, bypass: [window, freeze, approvals]}\n", ""
        )
    )
    assert loaded.sop.emergency is None
    evaluation = run(
        loaded,
        facts(approvals=[emergency("olga", "production")], checks=[STAGED, SMOKE]),
        "production[eu]",
    )
    assert evaluation.decision == "closed"
    assert not evaluation.emergency
    assert evaluation.by_key["production[eu]"].reasons[-1] == (
        "emergency override requested by olga is refused: the SOP has no emergency section"
    )


def test_an_override_that_was_not_needed_is_not_an_emergency_open() -> None:
    # Monday inside the window, no freeze, approvals given: the gate is open on its own.
    snapshot = facts(
        observed_at="2026-11-30T09:30:00Z",
        approvals=[
            emergency("olga", "production"),
            signoff("rita", "production", "2026-11-30T09:00:00Z"),
        ],
        checks=[STAGED, SMOKE],
    )
    evaluation = run(BREAK_GLASS, snapshot, "production[eu]")
    assert evaluation.decision == "open"
    assert not evaluation.emergency
    assert evaluation.by_key["production[eu]"].emergency == (
        "EMERGENCY OVERRIDE by olga: payment outage INC-4411",
    )


def test_a_decision_step_overridden_is_done_and_unblocks_the_next() -> None:
    loaded = model("""
        sopgate: 1
        name: t
        roles:
          incident: {users: [olga]}
          release: {users: [rita]}
        emergency: {role: incident, bypass: [approvals]}
        steps:
          - id: go
            type: decision
            owner: release
            needs: []
            approvals: [{role: release, source: signoff}]
          - id: ship
            owner: release
            jobs: [ship]
    """)
    evaluation = run(loaded, facts(approvals=[emergency("olga", "go")]), "ship")
    assert evaluation.by_key["go"].state == "done"
    assert evaluation.by_key["go"].reasons == (
        "EMERGENCY OVERRIDE by olga: payment outage INC-4411",
    )
    assert evaluation.decision == "open"
    assert not evaluation.emergency  # ship's own gate needed no override


def test_an_override_outside_the_window_only_is_an_emergency_open() -> None:
    # Friday, no freeze that day: only the window (and the approval) keep production shut.
    evaluation = glass([emergency("olga", "production")], observed_at="2026-11-27T10:00:00Z")
    assert evaluation.decision == "open"
    assert evaluation.emergency
    only_window = glass(
        [emergency("olga", "production"), signoff("rita", "production", "2026-11-27T09:00:00Z")],
        observed_at="2026-11-27T10:00:00Z",
    )
    assert only_window.decision == "open"
    assert only_window.emergency


def test_an_override_may_bypass_checks_when_the_sop_says_so() -> None:
    loaded = model(
        BREAK_GLASS.text.replace("bypass: [window, freeze, approvals]", "bypass: [checks]")
    )
    snapshot = facts(
        observed_at="2026-11-30T09:30:00Z",
        approvals=[
            emergency("olga", "production"),
            signoff("rita", "production", "2026-11-30T09:00:00Z"),
        ],
        checks=[STAGED],
    )
    evaluation = run(loaded, snapshot, "production[eu]")
    assert evaluation.decision == "open"
    assert evaluation.emergency
    # the window is not in this bypass list
    friday = facts(
        observed_at="2026-11-27T10:00:00Z",
        approvals=[emergency("olga", "production")],
        checks=[STAGED, SMOKE],
    )
    assert run(loaded, friday, "production[eu]").decision == "closed"


def test_without_an_emergency_section_every_requester_is_named() -> None:
    loaded = model(
        BREAK_GLASS.text.replace(
            "emergency: {role: incident, bypass: [window, freeze, approvals]}\n", ""
        )
    )
    approvals = [emergency("olga", "production"), emergency("ivan", "production")]
    evaluation = run(loaded, facts(approvals=approvals, checks=[STAGED, SMOKE]), "production[eu]")
    assert evaluation.by_key["production[eu]"].reasons[-1] == (
        "emergency override requested by ivan, olga is refused: the SOP has no emergency section"
    )
    approvals = [emergency("Olga", "production"), emergency("ivan", "production")]
    evaluation = run(loaded, facts(approvals=approvals, checks=[STAGED, SMOKE]), "production[eu]")
    assert (
        evaluation.by_key["production[eu]"]
        .reasons[-1]
        .startswith("emergency override requested by ivan, Olga is refused")
    )


def test_an_override_reasons_with_one_refused_and_one_missing() -> None:
    loaded = model(BREAK_GLASS.text.replace("role: incident,", "role: incident, count: 2,"))
    approvals = [emergency("olga", "production"), emergency("rita", "production")]
    reasons = (
        run(loaded, facts(approvals=approvals, checks=[STAGED, SMOKE]), "production[eu]")
        .by_key["production[eu]"]
        .reasons
    )
    assert reasons[-2:] == (
        "an emergency override needs 2 persons holding incident (comment "
        "'/sop emergency production[eu] REASON'); has 1",
        "rita's emergency override does not count: rita does not hold incident",
    )


def test_an_override_line_is_the_persons_first_command() -> None:
    approvals = [
        emergency("olga", "production") | {"reason": "second", "at": "2026-11-26T09:30:00Z"},
        emergency("olga", "production[eu]") | {"reason": "first", "at": "2026-11-26T09:00:00Z"},
    ]
    result = glass(approvals).by_key["production[eu]"]
    assert result.emergency == ("EMERGENCY OVERRIDE by olga: first",)


def test_an_overridden_step_is_done_at_the_override() -> None:
    loaded = model("""
        sopgate: 1
        name: t
        roles:
          incident: {users: [olga]}
          release: {users: [rita]}
        emergency: {role: incident, bypass: [approvals]}
        steps:
          - id: go
            type: decision
            owner: release
            needs: []
            approvals: [{role: release, source: signoff}]
          - id: ship
            type: decision
            owner: release
            approvals: [{role: release, source: signoff}]
    """)
    approvals = [emergency("olga", "go"), signoff("rita", "ship", "2026-11-26T08:00:00Z")]
    evaluation = run(loaded, facts(approvals=approvals), "ship")
    assert str(evaluation.by_key["go"].done_at) == "2026-11-26 09:00:00+00:00"
    assert evaluation.decision == "closed"  # rita signed ship before go was done
    approvals[1] = signoff("rita", "ship", "2026-11-26T09:30:00Z")
    assert run(loaded, facts(approvals=approvals), "ship").decision == "open"


@pytest.mark.parametrize(
    ("roles", "initiator", "reason"),
    [
        (
            "[release-managers, sre]",
            "dave",
            "only release-managers or sre may start production; started by dave",
        ),
        (
            "[nobody]",
            None,
            "only nobody may start production (nobody eligible); who started this run is unknown",
        ),
    ],
)
def test_run_by_reasons(roles: str, initiator: str | None, reason: str) -> None:
    loaded = sop(f"""
        sopgate: 1
        name: t
        scope: {{system: s, environments: [production]}}
        roles:
          release-managers: {{users: [rita]}}
          sre: {{users: [bob]}}
          nobody: {{groups: [org/none]}}
        steps:
          - id: production
            owner: sre
            needs: []
            environment: production
            rollback: redeploy
            run_by: {roles}
    """)
    snapshot = facts(initiator=initiator, groups={"org/none": []})
    assert run(loaded, snapshot, "production").by_key["production"].reasons == (reason,)
    assert run(loaded, facts(initiator="bob", groups={"org/none": []}), "production").decision == (
        "open" if "sre" in roles else "closed"
    )
