"""GitLab job and status values to check states."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sopgate.platforms.gitlab.mapping import (
    JOB_STATES,
    approval_times,
    deployment_approvals,
    deployment_environment,
    deployment_sha,
    job_checks,
    review_approvals,
    signoffs,
    status_checks,
    timestamp,
)
from tests.unit.platforms.gitlab.gitlab_fixtures import fixture

#: GitLab's job status table (``Ci::HasStatus::AVAILABLE_STATUSES``, the statuses the jobs,
#: bridges and commit statuses APIs return), each with the check state it must become.
#: Only ``success`` satisfies a step; every status of a job that has not finished is pending.
STATUS_TABLE = {
    "created": "pending",
    "waiting_for_resource": "pending",
    "preparing": "pending",
    "waiting_for_callback": "pending",
    "pending": "pending",
    "running": "pending",
    "success": "success",
    "failed": "failure",
    "canceling": "cancelled",
    "canceled": "cancelled",
    "skipped": "skipped",
    "manual": "pending",
    "scheduled": "pending",
}


@pytest.mark.parametrize(("gitlab", "state"), [*STATUS_TABLE.items(), ("something-new", "pending")])
def test_job_states(gitlab: str, state: str) -> None:
    [check] = job_checks([{"id": 1, "name": "build", "status": gitlab}])
    assert check.state == state
    assert check.app == "gitlab-ci"


@pytest.mark.parametrize(("gitlab", "state"), list(STATUS_TABLE.items()))
def test_bridge_states(gitlab: str, state: str) -> None:
    """A trigger job (bridge) is a job like any other, with the same table."""
    bridge = fixture("bridge", status=gitlab)
    [check] = job_checks([bridge])
    assert (check.name, check.app, check.state) == ("deploy-downstream", "gitlab-ci", state)
    assert check.url == bridge["web_url"]


@pytest.mark.parametrize(("gitlab", "state"), list(STATUS_TABLE.items()))
def test_commit_status_states(gitlab: str, state: str) -> None:
    [check] = status_checks([{"id": 1, "name": "scan", "status": gitlab}], job_ids=set())
    assert (check.app, check.state) == ("status", state)


def test_every_documented_status_is_mapped_and_nothing_else() -> None:
    assert JOB_STATES == STATUS_TABLE


def test_allowed_failures_still_fail() -> None:
    [check] = job_checks([{"id": 1, "name": "lint", "status": "failed", "allow_failure": True}])
    assert check.state == "failure"


def test_time_is_when_it_finished_else_started() -> None:
    checks = job_checks(
        [
            {
                "name": "a",
                "status": "success",
                "created_at": "2026-11-26T07:00:00.000Z",
                "started_at": "2026-11-26T07:01:00.000Z",
                "finished_at": "2026-11-26T07:02:00.000Z",
            },
            {
                "name": "b",
                "status": "running",
                "created_at": "2026-11-26T07:00:00.000Z",
                "started_at": "2026-11-26T07:01:00.000Z",
                "finished_at": None,
            },
            {
                "name": "c",
                "status": "canceled",
                "created_at": "2026-11-26T07:00:00.000Z",
                "started_at": None,
                "finished_at": None,
            },
        ]
    )
    assert [c.at and c.at.minute for c in checks] == [2, 1, 0]


@pytest.mark.parametrize(
    "status", [s for s, state in STATUS_TABLE.items() if state == "pending" and s != "running"]
)
def test_a_job_that_has_not_started_has_no_time(status: str) -> None:
    """A queued re-run (``started_at: null``) is the latest of its name, whatever its
    ``created_at``: the evaluator orders an entry with no time after every other, so an old
    success never hides it."""
    [check] = job_checks(
        [
            {
                "name": "deploy",
                "status": status,
                "created_at": "2026-11-26T07:00:00.000Z",
                "started_at": None,
                "finished_at": None,
            }
        ]
    )
    assert (check.state, check.at) == ("pending", None)


def test_statuses_skip_the_pipelines_own_jobs() -> None:
    statuses = [
        {"id": 1, "name": "build", "status": "success"},
        {"id": 2, "name": "canary-metrics", "status": "failed"},
    ]
    assert [c.name for c in status_checks(statuses, job_ids={1})] == ["canary-metrics"]


def test_timestamps() -> None:
    assert timestamp("2026-11-26T07:00:00.123+01:00") is not None
    assert timestamp("2026-11-26T07:00:00") is None  # no zone: unknown, not guessed
    assert timestamp(None) is None
    assert timestamp("yesterday") is None


@pytest.mark.parametrize(
    ("name", "login"),
    [
        ("project_42_bot", "project_42_bot[bot]"),
        ("project_42_bot3", "project_42_bot3[bot]"),
        ("group_12_bot_f62f0c1a", "group_12_bot_f62f0c1a[bot]"),
        ("service_account_group_7_abc", "service_account_group_7_abc[bot]"),
        ("project_manager", "project_manager"),
        ("bot", "bot"),
        ("alice", "alice"),
        ("Project_42_Bot", "Project_42_Bot[bot]"),
        ("GROUP_12_BOT_F62F0C1A", "GROUP_12_BOT_F62F0C1A[bot]"),
        ("Service_Account_group_7_abc", "Service_Account_group_7_abc[bot]"),
    ],
)
def test_token_bots_get_the_bot_suffix(name: str, login: str) -> None:
    from sopgate.platforms.gitlab.mapping import members, username

    assert username({"username": name}) == login
    assert members([fixture("member", username=name)]) == (login,)


def test_deployment_approvals() -> None:
    sha = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    deployment = {
        "id": 410,
        "sha": sha,
        "deployable": {"web_url": "https://gitlab.example.com/acme/m/-/jobs/5010"},
        "approvals": [
            {
                "user": {"username": "sam"},
                "status": "approved",
                "created_at": "2026-11-26T09:40:00.000Z",
                "comment": "ok",
            },
            {
                "user": {"username": "sue"},
                "status": "rejected",
                "created_at": "2026-11-26T09:41:00Z",
                "comment": " no \n",
            },
            {"user": {"username": "al"}, "status": "rejected", "created_at": None, "comment": ""},
            {"user": {"username": "new"}, "status": "something-new"},
            {"user": None, "status": "approved"},
            "not an object",
        ],
    }
    found = deployment_approvals(deployment, environment="production")
    assert [(a.user, a.state, a.reason, a.at is not None) for a in found] == [
        ("sam", "approved", None, True),
        ("sue", "rejected", "no", True),
        ("al", "rejected", None, False),
    ]
    assert {(a.source, a.environment, a.sha, a.url) for a in found} == {
        ("deployment", "production", sha, "https://gitlab.example.com/acme/m/-/jobs/5010")
    }


def test_deployment_fields() -> None:
    assert deployment_sha({"sha": "abc"}) is None
    assert deployment_approvals({"sha": "abc", "approvals": None}, environment="x") == []
    assert deployment_environment({"environment": {"name": "production"}}) == "production"
    assert deployment_environment({"environment": None}) is None


def _note(body: str, *, user: str = "rita", **changes: Any) -> dict[str, Any]:
    return fixture("note", body=body, author={"username": user}, **changes)


@pytest.mark.parametrize(
    ("updated", "edited"),
    [
        ("2026-11-26T08:00:00.000Z", False),
        ("2026-11-26T08:00:00Z", False),  # the same instant, written another way
        ("2026-11-26T08:05:00.000Z", True),
        (None, True),  # unknown means edited
        ("", True),
        ("garbage", True),
        ("missing", True),
    ],
)
def test_an_unknown_edit_time_means_edited(updated: str | None, edited: bool) -> None:
    note = _note("/sop approve go-no-go", created_at="2026-11-26T08:00:00.000Z")
    if updated == "missing":
        del note["updated_at"]
    else:
        note["updated_at"] = updated
    [approval] = signoffs([note], url=None)
    assert approval.edited is edited


def test_a_note_with_no_creation_time_is_edited() -> None:
    note = _note("/sop approve go-no-go", created_at=None, updated_at=None)
    [approval] = signoffs([note], url=None)
    assert (approval.at, approval.edited) == (None, True)


def test_emergency_notes_are_emergency_approvals() -> None:
    [approval] = signoffs(
        [_note("/sop emergency production payment outage INC-4411", user="olga")], url=None
    )
    assert (approval.source, approval.step, approval.reason) == (
        "emergency",
        "production",
        "payment outage INC-4411",
    )


HEAD_SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

#: "sec-bob" with a LATIN SMALL LETTER LONG S, which casefold() turns into "s".
LONG_S_BOB = "\u017fec-bob"


def _approved(user: str, at: str, body: str = "approved this merge request") -> dict[str, Any]:
    return _note(body, user=user, created_at=at, updated_at=at, system=True)


def test_the_approval_time_is_the_latest_approval_note() -> None:
    notes = [
        _approved("sec-bob", "2026-11-25T09:00:00.000Z"),
        _approved("sec-bob", "2026-11-25T09:30:00.000Z", "unapproved this merge request"),
        _approved("sec-bob", "2026-11-26T08:00:00.000Z"),
        _approved("sec-bob", "2026-11-25T12:00:00.000Z"),  # listed out of order
    ]
    times = approval_times(notes)
    [approval] = review_approvals(
        {"approved_by": [{"user": {"username": "sec-bob"}}]}, sha=None, times=times
    )
    assert approval.at == datetime(2026, 11, 26, 8, tzinfo=UTC)


def test_approval_notes_match_users_by_ascii_case_only() -> None:
    notes = [_approved("Sec-Bob", "2026-11-26T08:00:00.000Z")]
    [bob, long_s] = review_approvals(
        {"approved_by": [{"user": {"username": "sec-bob"}}, {"user": {"username": LONG_S_BOB}}]},
        sha=None,
        times=approval_times(notes),
    )
    assert (bob.user, bob.at) == ("sec-bob", datetime(2026, 11, 26, 8, tzinfo=UTC))
    assert (long_s.user, long_s.at) == (LONG_S_BOB, None)  # never casefolded onto sec-bob


def test_only_approval_system_notes_date_an_approval() -> None:
    notes = [
        _approved("sec-bob", "2026-11-25T09:00:00.000Z"),
        _approved("sec-bob", "2026-11-26T09:00:00.000Z", "unapproved this merge request"),
        # A person typing the same words is not GitLab recording an approval.
        _note("approved this merge request", user="sec-bob", created_at="2026-11-26T09:30:00Z"),
        _approved("sec-bob", "2026-11-26T09:45:00.000Z", "said: approved this merge request"),
    ]
    assert approval_times(notes) == {"sec-bob": datetime(2026, 11, 25, 9, tzinfo=UTC)}


def test_the_api_approval_time_comes_before_the_notes() -> None:
    times = approval_times([_approved("sec-bob", "2026-11-26T08:00:00.000Z")])
    [approval] = review_approvals(
        {"approved_by": [{"user": {"username": "sec-bob"}, "approved_at": "2026-11-25T09:00:00Z"}]},
        sha=None,
        times=times,
    )
    assert approval.at == datetime(2026, 11, 25, 9, tzinfo=UTC)


def test_review_approvals_skip_entries_without_a_user() -> None:
    answer = {"approved_by": [{"user": None}, "junk", {"user": {"username": "sec-bob"}}]}
    found = review_approvals(answer, sha=HEAD_SHA, times={})
    assert [(a.user, a.source, a.state, a.sha) for a in found] == [
        ("sec-bob", "review", "approved", HEAD_SHA)
    ]


def test_signoffs_skip_system_notes_and_link_to_the_note() -> None:
    notes = [
        _note("/sop approve go-no-go", user="sam", system=True),
        {**_note("/sop approve go-no-go", user="rita"), "id": 301},
    ]
    [approval] = signoffs(notes, url="https://gitlab.example.com/acme/m/-/merge_requests/42")
    assert (approval.user, approval.url) == (
        "rita",
        "https://gitlab.example.com/acme/m/-/merge_requests/42#note_301",
    )
    assert signoffs(notes[1:], url=None)[0].url is None


def test_checks_without_a_name_are_dropped_and_urls_must_be_text() -> None:
    found = job_checks(
        [
            {"id": 1, "status": "success"},
            {"id": 2, "name": "", "status": "success"},
            {"id": 3, "name": "build", "status": "success", "web_url": 7},
        ]
    )
    assert [(c.name, c.url) for c in found] == [("build", None)]
