"""GitLab job and status values to check states."""

from __future__ import annotations

import pytest

from sopgate.platforms.gitlab.mapping import (
    JOB_STATES,
    deployment_approvals,
    deployment_environment,
    deployment_sha,
    job_checks,
    status_checks,
    timestamp,
)


@pytest.mark.parametrize(
    ("gitlab", "state"),
    [
        ("success", "success"),
        ("failed", "failure"),
        ("running", "pending"),
        ("pending", "pending"),
        ("created", "pending"),
        ("waiting_for_resource", "pending"),
        ("preparing", "pending"),
        ("scheduled", "pending"),
        ("manual", "pending"),
        ("skipped", "skipped"),
        ("canceled", "cancelled"),
        ("canceling", "cancelled"),
        ("something-new", "pending"),
    ],
)
def test_job_states(gitlab: str, state: str) -> None:
    [check] = job_checks([{"id": 1, "name": "build", "status": gitlab}])
    assert check.state == state
    assert check.app == "gitlab-ci"


def test_every_documented_status_is_mapped() -> None:
    assert set(JOB_STATES) >= {
        "created",
        "waiting_for_resource",
        "preparing",
        "pending",
        "running",
        "success",
        "failed",
        "canceled",
        "skipped",
        "manual",
        "scheduled",
    }


def test_allowed_failures_still_fail() -> None:
    [check] = job_checks([{"id": 1, "name": "lint", "status": "failed", "allow_failure": True}])
    assert check.state == "failure"


def test_time_is_when_it_finished_else_started_else_created() -> None:
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
            {"name": "c", "status": "created", "created_at": "2026-11-26T07:00:00.000Z"},
        ]
    )
    assert [c.at and c.at.minute for c in checks] == [2, 1, 0]


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
    ],
)
def test_token_bots_get_the_bot_suffix(name: str, login: str) -> None:
    from sopgate.platforms.gitlab.mapping import members, username

    assert username({"username": name}) == login
    assert members([{"username": name, "state": "active"}]) == (login,)


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
