"""A contract audit of the evaluator, black-box through the CLI (DESIGN.md, "The facts
snapshot", "Evaluation rules", "Additions to format 1", "Precise readings").

Each case writes a SOP and a facts file, runs ``sopgate check STEP --format json`` (or
``status``) and asserts the exit code, the decision and the reason text, as the acceptance
suites do.
"""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sopgate.cli import main
from sopgate.evaluate import evaluate
from sopgate.facts import Facts
from sopgate.sop.load import parse_sop

SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
OLD = "1111111111111111111111111111111111111111"


def at(hour: int, minute: int = 0, day: int = 26) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:00Z"


def review(
    user: str, state: str = "approved", sha: str | None = SHA, when: str | None = None
) -> dict[str, Any]:
    return {"user": user, "source": "review", "state": state, "sha": sha, "at": when or at(7)}


def signoff(
    user: str, step: str, when: str | None, state: str = "approved", **extra: Any
) -> dict[str, Any]:
    return {"user": user, "source": "signoff", "step": step, "state": state, "at": when, **extra}


def job(
    name: str, state: str = "success", when: str | None = None, app: str = "ci"
) -> dict[str, Any]:
    return {"name": name, "app": app, "state": state, "at": when or at(8)}


class Result:
    def __init__(self, code: int, data: dict[str, Any]) -> None:
        self.code = code
        self.data = data
        self.steps = {s["id"]: s for s in data["steps"]}

    def state(self, key: str) -> str:
        return str(self.steps[key]["state"])

    def reasons(self, key: str) -> list[str]:
        return list(self.steps[key]["reasons"])


def gate(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    sop: str,
    step: str | None = None,
    **fields: Any,
) -> Result:
    data: dict[str, Any] = {
        "facts": 1,
        "platform": "local",
        "commit": SHA,
        "observed_at": at(10),
    }
    data.update(fields)
    (tmp_path / "sop.yml").write_text(textwrap.dedent(sop))
    (tmp_path / "facts.json").write_text(json.dumps(data))
    command = ["check", step] if step else ["status"]
    files = ["--sop", str(tmp_path / "sop.yml"), "--facts", str(tmp_path / "facts.json")]
    code = main([*command, *files, "--format", "json"])
    out, _err = capsys.readouterr()
    result = Result(code, json.loads(out))
    if step is not None:
        assert result.data["decision"] == ("open" if code == 0 else "closed")
    return result


# -- "The step's own jobs do not enter its gate", also through a check glob ------------------

OWN_JOBS = """
    sopgate: 1
    name: t
    scope: {system: s, environments: [staging]}
    roles:
      sre: {users: [sam]}
    steps:
      - id: staging
        owner: sre
        environment: staging
        jobs: [deploy-staging]
        checks: ["*"]
        rollback: redeploy
"""


@pytest.mark.parametrize(
    ("own", "state", "reason"),
    [
        (job("deploy-staging", "pending"), "ready", "gate open: run deploy-staging (owner sre)"),
        (
            job("deploy-staging", "failure"),
            "failed",
            "gate open: the job may be retried (owner sre)",
        ),
    ],
)
def test_a_check_glob_does_not_pull_the_steps_own_job_into_its_gate(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    own: dict[str, Any],
    state: str,
    reason: str,
) -> None:
    result = gate(tmp_path, capsys, OWN_JOBS, "staging", checks=[job("unit"), own])
    assert result.code == 0
    assert result.state("staging") == state
    assert reason in result.reasons("staging")
    assert not any(r.startswith("check deploy-staging") for r in result.reasons("staging"))


def test_a_check_glob_still_sees_other_checks_and_statuses_named_like_the_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = [job("unit", "failure"), job("deploy-staging", "pending")]
    result = gate(tmp_path, capsys, OWN_JOBS, "staging", checks=failing)
    assert result.code == 1
    assert result.reasons("staging") == ["check unit failed (owner sre)"]
    status = [job("unit"), job("deploy-staging", "pending", app="status")]
    result = gate(tmp_path, capsys, OWN_JOBS, "staging", checks=status)
    assert result.code == 1
    assert result.reasons("staging") == ["check deploy-staging is pending (owner sre)"]


def test_a_check_that_matches_only_the_steps_own_jobs_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sop = OWN_JOBS.replace('checks: ["*"]', "checks: [deploy-staging]")
    result = gate(tmp_path, capsys, sop, "staging", checks=[job("deploy-staging")])
    assert result.code == 1
    assert result.reasons("staging") == [
        "check deploy-staging matches only this step's own jobs, which do not enter its "
        "gate: it can never pass (owner sre)"
    ]


# -- "Reasons say which fact is unknown", also before anyone has approved --------------------

UNKNOWNS = """
    sopgate: 1
    name: t
    roles:
      security: {users: [sec-bob, sec-carol]}
      rm: {users: [rita]}
    steps:
      - id: build
        owner: security
        checks: [unit]
      - id: security-review
        owner: security
        approvals: [{role: security}]
      - id: go
        type: decision
        owner: rm
        approvals: [{role: rm, source: signoff}]
"""
COMMITS_UNKNOWN = (
    "the change's commits are unknown (commits: null), so nobody counts where "
    "contributors are excluded"
)
PUSH_UNKNOWN = (
    "when the change was last pushed is unknown (pushed_at: null), so no sign-off counts "
    "where fresh: true"
)


def test_unknown_commits_are_named_before_anyone_approved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = gate(tmp_path, capsys, UNKNOWNS, "security-review", commits=None, checks=[job("unit")])
    assert result.code == 1
    assert result.reasons("security-review") == [
        "needs 1 approval from security (sec-bob, sec-carol); has 0",
        COMMITS_UNKNOWN,
    ]


def test_unknown_push_time_is_named_and_no_sign_off_is_invited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change = {"id": 1, "author": "dave", "pushed_at": None}
    done = {"checks": [job("unit")], "approvals": [review("sec-bob")]}
    result = gate(tmp_path, capsys, UNKNOWNS, "go", change=change, **done)
    assert result.code == 1
    assert result.reasons("go") == ["needs 1 sign-off from rm (rita); has 0", PUSH_UNKNOWN]
    # blocked, too: no "sign off after security-review is done" that would not count then
    blocked = gate(tmp_path, capsys, UNKNOWNS, "go", change=change, checks=[job("unit")])
    assert blocked.state("go") == "blocked"
    assert blocked.reasons("go") == [
        "waits for security-review (waiting; owner security)",
        "needs 1 sign-off from rm (rita); has 0",
        PUSH_UNKNOWN,
    ]


NEEDS_UNKNOWN = (
    "the steps go needs were done at an unknown time (an entry without a time), so no "
    "sign-off counts after them"
)


@pytest.mark.parametrize(
    "signoffs",
    [[], [signoff("rita", "go", at(9))]],
    ids=["nobody signed off", "rita signed off"],
)
def test_needs_done_at_an_unknown_time_invite_no_sign_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], signoffs: list[dict[str, Any]]
) -> None:
    undated = {"user": "sec-bob", "source": "review", "state": "approved", "sha": SHA, "at": None}
    result = gate(
        tmp_path,
        capsys,
        UNKNOWNS,
        "go",
        checks=[job("unit")],
        approvals=[undated, *signoffs],
    )
    assert result.code == 1
    assert result.state("security-review") == "done"
    assert result.reasons("go") == ["needs 1 sign-off from rm (rita); has 0", NEEDS_UNKNOWN]


# -- an edited sign-off does not count, so it does not lift its giver's rejection either -----

GO = """
    sopgate: 1
    name: t
    roles:
      rm: {users: [rita, rob]}
    steps:
      - id: go
        type: decision
        owner: rm
        needs: []
        approvals: [{role: rm, source: signoff}]
"""
REJECTED = "rejected by rob (rm, signoff): latency; rob can lift it with '/sop approve go'"


@pytest.mark.parametrize("edited", [True, None], ids=["edited", "edit unknown"])
@pytest.mark.parametrize("listed_first", [False, True], ids=["in order", "listed first"])
def test_an_edited_approval_does_not_lift_a_rejection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edited: bool | None, listed_first: bool
) -> None:
    rejection = signoff("rob", "go", at(8), "rejected", reason="latency")
    lifted = signoff("rob", "go", at(9), edited=edited)
    entries = [lifted, rejection] if listed_first else [rejection, lifted]
    result = gate(tmp_path, capsys, GO, "go", approvals=[*entries, signoff("rita", "go", at(9))])
    assert result.code == 1
    assert result.state("go") == "rejected"
    assert result.reasons("go") == [REJECTED]


def test_an_unedited_later_approval_lifts_a_rejection_past_an_edited_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    approvals = [
        signoff("rob", "go", at(8), "rejected", reason="latency"),
        signoff("rob", "go", at(9), edited=True),
        signoff("rob", "go", at(9, 30)),
    ]
    result = gate(tmp_path, capsys, GO, "go", approvals=approvals)
    assert (result.code, result.state("go"), result.reasons("go")) == (0, "done", [])


def test_an_edited_approval_still_cancels_an_earlier_approval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    approvals = [signoff("rob", "go", at(8)), signoff("rob", "go", at(9), edited=True)]
    result = gate(tmp_path, capsys, GO, "go", approvals=approvals)
    assert result.code == 1
    assert result.reasons("go") == [
        "needs 1 sign-off from rm (rita, rob); has 0 (comment '/sop approve go')",
        "rob's sign-off comment was edited, so it does not count",
    ]


# -- invariants: more evidence against a gate never opens it ---------------------------------
# In-process (hypothesis runs hundreds of cases); the SOP mixes every rule family that
# reads approvals, checks and time, including separate_from, four eyes and an emergency.

INVARIANT_SOP = """
    sopgate: 1
    name: p
    scope: {system: s, environments: [prod], regions: [eu, us]}
    roles:
      sec: {users: [ann, ben]}
      ops: {users: [ben, cat]}
      rel: {users: [cat, dan], groups: [org/rel]}
    emergency: {role: rel, bypass: [window, freeze, approvals, checks]}
    steps:
      - id: scan
        owner: sec
        needs: []
        checks: [scan, "lint-*"]
        approvals: [{role: sec}]
      - id: build
        owner: ops
        jobs: [build]
        checks: ["*"]
        approvals: [{role: ops, source: signoff}]
      - id: go
        type: decision
        owner: rel
        approvals: [{role: rel, source: signoff}, {role: sec, source: signoff, after: any}]
        separate_from: [scan]
      - id: prod
        owner: ops
        environment: prod
        rollback: redeploy
        for_each: region
        rollout: sequential
        jobs: ["deploy-{region}"]
        checks: [{name: "smoke-{region}", app: status}]
        approvals: [{role: ops, source: signoff, after: any}]
    freezes:
      - {from: 2026-12-20, to: 2027-01-04, regions: [us]}
      - {from: 2026-12-24, to: 2026-12-26, timezone: Asia/Tokyo}
"""
LOADED = parse_sop(textwrap.dedent(INVARIANT_SOP), path=".sopgate.yml", today=date(2026, 11, 26))
PEOPLE = ["ann", "ben", "BEN", "cat", "dan", "eve", "x[bot]"]
KEYS = ["scan", "build", "go", "prod", "prod[eu]", "prod[us]"]
NAMES = ["scan", "lint-a", "build", "deploy-eu", "deploy-us", "smoke-eu", "smoke-us"]


def minutes(n: int) -> str:
    return (datetime(2026, 11, 26, 8, 0, tzinfo=UTC) + timedelta(minutes=n)).isoformat()


entry_time = st.one_of(st.none(), st.integers(0, 120).map(minutes))
approval_entries = st.lists(
    st.fixed_dictionaries(
        {
            "user": st.sampled_from(PEOPLE),
            "source": st.sampled_from(["review", "signoff", "signoff", "emergency"]),
            "state": st.sampled_from(["approved", "approved", "rejected", "dismissed"]),
            "step": st.sampled_from(KEYS),
            "sha": st.sampled_from([SHA, SHA, OLD, None]),
            "at": entry_time,
            "edited": st.sampled_from([False, False, True, None]),
            "reason": st.sampled_from([None, "INC-1"]),
        }
    ),
    max_size=10,
)
check_entries = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(NAMES),
            "app": st.sampled_from(["ci", "ci", "status"]),
            "state": st.sampled_from(["success", "success", "failure", "pending", "skipped"]),
            "at": entry_time,
        }
    ),
    max_size=12,
)
groups = st.sampled_from([{}, {"org/rel": ["eve"]}, {"org/rel": None}])
INVARIANTS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


def closed(approvals: list[dict[str, Any]], checks: list[dict[str, Any]], **more: Any) -> set[str]:
    data: dict[str, Any] = {"facts": 1, "platform": "local", "commit": SHA}
    data.update(observed_at="2026-11-26T10:00:00Z", approvals=approvals, checks=checks)
    data.update(more)
    evaluation = evaluate(LOADED, Facts.model_validate(data))
    return {result.key for result in evaluation.steps if not result.gate_open}


@INVARIANTS
@given(
    approval_entries,
    check_entries,
    groups,
    st.sampled_from(PEOPLE),
    st.sampled_from(["review", "signoff"]),
    st.sampled_from(KEYS),
    st.one_of(st.none(), st.integers(0, 200).map(minutes)),
)
def test_adding_a_rejection_never_opens_a_gate(
    approvals: list[dict[str, Any]],
    checks: list[dict[str, Any]],
    members: dict[str, Any],
    user: str,
    source: str,
    step: str,
    when: str | None,
) -> None:
    rejection = {"user": user, "source": source, "state": "rejected", "step": step, "at": when}
    before = closed(approvals, checks, groups=members)
    assert before <= closed([*approvals, rejection], checks, groups=members)


@INVARIANTS
@given(
    approval_entries,
    check_entries,
    st.sampled_from(NAMES),
    st.sampled_from(["ci", "status"]),
    st.sampled_from(["failure", "pending", "cancelled", "skipped"]),
    st.one_of(st.none(), st.integers(121, 200).map(minutes)),
)
def test_adding_a_later_unfinished_or_failed_run_never_opens_a_gate(
    approvals: list[dict[str, Any]],
    checks: list[dict[str, Any]],
    name: str,
    app: str,
    state: str,
    when: str | None,
) -> None:
    later = {"name": name, "app": app, "state": state, "at": when}
    assert closed(approvals, checks) <= closed(approvals, [*checks, later])


@INVARIANTS
@given(approval_entries, check_entries, st.sampled_from(["2026-12-21", "2026-12-25"]))
def test_moving_observed_at_into_a_freeze_never_opens_a_gate(
    approvals: list[dict[str, Any]], checks: list[dict[str, Any]], day: str
) -> None:
    frozen = closed(approvals, checks, observed_at=f"{day}T10:00:00Z")
    assert closed(approvals, checks) <= frozen
    # and it closes every frozen instance that no emergency override opens
    overridden = {a["step"] for a in approvals if a["source"] == "emergency"}
    hit = {"prod[us]"} if day == "2026-12-21" else {"prod[eu]", "prod[us]"}
    assert hit - overridden - {"prod"} <= frozen


# -- "A platform that cannot tell a value writes null": also for groups and documents --------

NULLS = """
    sopgate: 1
    name: t
    roles:
      sec: {users: [ann], groups: [org/sec]}
    steps:
      - id: review
        owner: sec
        needs: []
        approvals: [{role: sec}]
        evidence: [{path: eval.json, require: {auc: ">= 0.8"}}]
"""


def test_null_groups_and_documents_are_unknown_not_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nulls = {"groups": None, "documents": None, "files": ["eval.json"]}
    result = gate(tmp_path, capsys, NULLS, "review", approvals=[review("eve")], **nulls)
    assert result.code == 1
    assert result.reasons("review") == [
        "needs 1 approval from sec (ann, members of org/sec); has 0",
        "membership of org/sec is unknown, so nobody holds sec through it",
        "eval.json: its content is unknown (not read into the facts)",
    ]
    known = {"groups": {"org/sec": ["eve"]}, "documents": {"eval.json": {"auc": 0.9}}}
    result = gate(
        tmp_path, capsys, NULLS, "review", approvals=[review("eve")], files=["eval.json"], **known
    )
    assert (result.code, result.reasons("review")) == (0, [])


# -- run_by: a role held through a group whose membership is unknown says so -----------------

RUN_BY = """
    sopgate: 1
    name: t
    scope: {system: s, environments: [production]}
    roles:
      rm: {users: [rita], groups: [org/rm]}
    steps:
      - id: production
        owner: rm
        needs: []
        environment: production
        jobs: [deploy]
        rollback: redeploy
        run_by: [rm]
"""
RM_UNKNOWN = "membership of org/rm is unknown, so nobody holds rm through it"


@pytest.mark.parametrize(
    ("initiator", "first"),
    [
        (
            None,
            "only rm may start production (rita, members of org/rm); who started this run "
            "is unknown",
        ),
        ("dave", "only rm may start production; started by dave"),
    ],
)
def test_run_by_names_a_group_of_unknown_membership(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], initiator: str | None, first: str
) -> None:
    result = gate(tmp_path, capsys, RUN_BY, "production", initiator=initiator)
    assert result.code == 1
    assert result.reasons("production") == [first, RM_UNKNOWN]
    known = gate(
        tmp_path, capsys, RUN_BY, "production", initiator="DAVE", groups={"org/rm": ["dave"]}
    )
    assert (known.code, known.state("production")) == (0, "ready")


# -- max_age: the reason reads as DESIGN.md words it -------------------------------------------


def test_max_age_reason_is_worded_as_the_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sop = GO.replace("source: signoff}", "source: signoff, max_age: 24h}")
    old = signoff("rita", "go", "2026-11-25T04:00:00Z")
    result = gate(tmp_path, capsys, sop, "go", approvals=[old])
    assert result.code == 1
    assert "rita's sign-off is 30h old; max 24h: sign off again" in result.reasons("go")
    exactly = signoff("rita", "go", "2026-11-25T10:00:00Z")  # 24h old is not older than 24h
    assert gate(tmp_path, capsys, sop, "go", approvals=[exactly]).code == 0


# -- reasons that named nothing actionable ---------------------------------------------------

NO_ENVIRONMENT = """
    sopgate: 1
    name: t
    roles:
      sec: {users: [ann]}
      oncall: {groups: [org/oncall, org/ic]}
    emergency: {role: oncall, bypass: [approvals]}
    steps:
      - id: a
        owner: sec
        needs: []
        approvals: [{role: sec, source: deployment}]
"""


def test_a_deployment_rule_on_a_step_without_environment_says_none_can_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = gate(tmp_path, capsys, NO_ENVIRONMENT, "a")
    assert result.code == 1
    assert result.reasons("a") == [
        "needs 1 deployment approval from sec (ann); has 0 (a deployment approval counts "
        "only for a step with that environment, and a has none)"
    ]


def test_an_emergency_by_someone_in_a_group_of_unknown_membership_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emergency = {"user": "olga", "source": "emergency", "step": "a", "state": "approved"}
    result = gate(tmp_path, capsys, NO_ENVIRONMENT, "a", approvals=[{**emergency, "reason": "x"}])
    assert result.code == 1
    assert result.reasons("a")[1:] == [
        "an emergency override needs 1 person holding oncall (comment '/sop emergency a "
        "REASON'); has 0",
        "olga's emergency override does not count: olga does not hold oncall (membership of "
        "org/oncall is unknown, so nobody holds oncall through it; membership of org/ic is "
        "unknown, so nobody holds oncall through it)",
    ]
    known = gate(
        tmp_path,
        capsys,
        NO_ENVIRONMENT,
        "a",
        approvals=[{**emergency, "reason": "x"}],
        groups={"org/oncall": ["olga"], "org/ic": []},
    )
    assert (known.code, known.data.get("emergency")) == (0, True)


# -- web-flow is GitHub's committer; on GitLab it is just a login ----------------------------

CONTRIBUTED = """
    sopgate: 1
    name: t
    roles:
      sec: {users: [web-flow, ann]}
    steps:
      - id: a
        owner: sec
        needs: []
        approvals: [{role: sec}]
"""


@pytest.mark.parametrize(("platform", "code"), [("github", 0), ("local", 0), ("gitlab", 1)])
def test_web_flow_is_ignored_as_a_contributor_only_off_gitlab(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], platform: str, code: int
) -> None:
    commits = [{"sha": OLD, "author": "ann", "committer": "Web-Flow", "at": at(6)}]
    approvals = [review("web-flow")]
    result = gate(
        tmp_path, capsys, CONTRIBUTED, "a", platform=platform, commits=commits, approvals=approvals
    )
    assert result.code == code
    if code:
        assert result.reasons("a")[1] == (
            "web-flow authored or committed a commit of the change and cannot approve it "
            "(allow_contributor: false)"
        )


def test_an_unknown_push_time_says_nothing_about_review_approvals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change = {"id": 1, "author": "dave", "pushed_at": None}
    result = gate(
        tmp_path, capsys, UNKNOWNS, "security-review", change=change, checks=[job("unit")]
    )
    assert result.code == 1
    assert result.reasons("security-review") == [
        "needs 1 approval from security (sec-bob, sec-carol); has 0"
    ]
    fresh = gate(
        tmp_path,
        capsys,
        UNKNOWNS,
        "security-review",
        change=change,
        checks=[job("unit")],
        approvals=[review("sec-carol")],
    )
    assert (fresh.code, fresh.state("security-review")) == (0, "done")
