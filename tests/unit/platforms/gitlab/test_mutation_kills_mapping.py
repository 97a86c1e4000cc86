"""Tests written from the surviving mutants of sopgate/platforms/gitlab/mapping.py
(docs/mutation.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sopgate.platforms.gitlab.mapping import (
    approval_times,
    deployment_approvals,
    deployment_environment,
    job_checks,
    signoffs,
    timestamp,
    username,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_a_finished_job_without_finished_at_is_dated_by_its_start() -> None:
    job = {
        "name": "deploy-prod",
        "status": "success",
        "finished_at": None,
        "started_at": "2026-11-26T08:00:00Z",
        "created_at": "2026-11-26T07:00:00Z",
        "web_url": "https://gitlab.example/j/1",
    }
    [check] = job_checks([job])
    assert (check.state, check.at) == ("success", datetime(2026, 11, 26, 8, tzinfo=UTC))


def test_an_approval_note_after_a_note_of_someone_else_still_counts() -> None:
    notes: list[dict[str, Any]] = [
        {
            "body": "looks fine",
            "author": {"username": "rita"},
            "system": False,
            "created_at": "2026-11-26T07:00:00Z",
        },
        {
            "body": "approved this merge request",
            "author": {"username": "sec-bob"},
            "system": True,
            "created_at": "2026-11-26T08:00:00Z",
        },
    ]
    assert approval_times(notes) == {"sec-bob": datetime(2026, 11, 26, 8, tzinfo=UTC)}


def test_a_rejection_after_malformed_deployment_approvals_is_kept() -> None:
    deployment = {
        "sha": SHA,
        "deployable": {"web_url": 5},
        "approvals": [
            "not-an-entry",
            {"status": "approved", "user": None},
            {
                "status": "rejected",
                "user": {"username": "sec-bob"},
                "comment": " p95 too high ",
                "created_at": "2026-11-26T08:00:00Z",
            },
        ],
    }
    [rejection] = deployment_approvals(deployment, environment="production")
    assert (rejection.user, rejection.state, rejection.reason, rejection.url) == (
        "sec-bob",
        "rejected",
        "p95 too high",
        None,
    )
    assert (rejection.sha, rejection.environment) == (SHA, "production")


def test_an_environment_name_that_is_no_string_is_no_environment() -> None:
    assert deployment_environment({"environment": {"name": 5}}) is None
    assert deployment_environment({"environment": {"name": "production"}}) == "production"


def test_a_note_without_an_author_signs_off_nothing() -> None:
    notes = [
        {
            "body": "/sop approve go-no-go",
            "author": None,
            "system": False,
            "id": 1,
            "created_at": "2026-11-26T08:00:00Z",
            "updated_at": "2026-11-26T08:00:00Z",
        }
    ]
    assert signoffs(notes, url="https://gitlab.example/mr/1") == []


def test_timestamps_that_are_no_strings_are_absent() -> None:
    assert timestamp(12345) is None
    assert timestamp("") is None
    assert timestamp("2026-11-26T08:00:00Z") == datetime(2026, 11, 26, 8, tzinfo=UTC)


def test_usernames_that_are_empty_or_no_strings_are_nobody() -> None:
    assert username({"username": ""}) is None
    assert username({"username": 5}) is None
    assert username({"username": "project_12_bot"}) == "project_12_bot[bot]"
