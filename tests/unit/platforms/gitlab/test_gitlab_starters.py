"""Who started a GitLab gate job: a retried job runs as whoever retried it (after ``sopgate
sync``, the token's user), so the initiator is the user of the job's first run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sopgate.platforms.gitlab.gather import _starters


@dataclass(frozen=True)
class S:
    initiator: str | None
    job_name: str | None = "gate-production"


def job(id: int, name: str, user: str | None) -> dict[str, Any]:
    return {"id": id, "name": name, "user": {"username": user} if user else None}


def test_first_run_only() -> None:
    notes: list[str] = []
    assert _starters(S("dave"), [job(5, "gate-production", "dave")], notes) == ("dave", None)
    assert notes == []


def test_a_person_who_retried_the_job_is_rerun_by() -> None:
    jobs = [job(9, "gate-production", "bob"), job(5, "gate-production", "Dave")]
    assert _starters(S("bob"), jobs, []) == ("Dave", "bob")


def test_sync_retry_by_the_token_bot_is_judged_as_the_first_starter() -> None:
    jobs = [job(5, "gate-production", "dave"), job(9, "gate-production", "project_7_bot_ab12")]
    notes: list[str] = []
    assert _starters(S("project_7_bot_ab12"), jobs, notes) == ("dave", None)
    assert notes == [
        "gate-production was re-run by project_7_bot_ab12[bot] (sopgate sync): judged as "
        "started by dave"
    ]


def test_same_person_in_another_case_is_one_person() -> None:
    jobs = [job(5, "gate-production", "Dave"), job(9, "gate-production", "dave")]
    assert _starters(S("dave"), jobs, []) == ("Dave", None)


def test_without_the_job_in_the_listing_the_environment_says() -> None:
    jobs = [job(5, "build", "erin")]
    assert _starters(S("dave"), jobs, []) == ("dave", None)
    assert _starters(S("dave"), [job(5, "gate-production", None)], []) == ("dave", None)
    assert _starters(S(None), [], []) == (None, None)
