"""Who holds a role through a GitLab group: only active users with an active membership of
at least Guest (10). Minimal Access (5), invitations awaiting acceptance, blocked and
deactivated users, and members whose membership state GitLab does not say, hold none."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import responses

from sopgate.platforms.gitlab import RetryPolicy, from_env
from sopgate.platforms.gitlab.mapping import members, members_left_out
from tests.unit.platforms.gitlab.gitlab_fixtures import BASE, Situation, fixture, register


def member(name: str, **changes: Any) -> dict[str, Any]:
    return fixture("member", username=name, name=name.title(), **changes)


def test_an_active_developer_holds_the_role() -> None:
    assert members([member("sre-sam")]) == ("sre-sam",)


@pytest.mark.parametrize(
    "changes",
    [
        {"membership_state": "awaiting"},  # invited, not yet accepted
        {"membership_state": "created"},
        {"state": "blocked"},
        {"state": "deactivated"},
        {"state": "banned"},
        {"state": "blocked_pending_approval"},
        {"access_level": 5},  # Minimal Access
        {"access_level": 0},
        {"access_level": None},
        {"access_level": "30"},
    ],
    ids=repr,
)
def test_members_that_hold_no_role(changes: dict[str, Any]) -> None:
    answer = [member("sre-sam"), member("gone", **changes)]
    assert members(answer) == ("sre-sam",)


@pytest.mark.parametrize("level", [10, 15, 20, 30, 40, 50])
def test_guest_and_above_hold_the_role(level: int) -> None:
    assert members([member("sre-sam", access_level=level)]) == ("sre-sam",)


def test_an_unknown_membership_state_is_not_active() -> None:
    """Fail closed: GitLab before 15.x sends no ``membership_state`` (or no user
    ``state``); such members are left out, and the gather says how many."""
    without = member("old")
    del without["membership_state"]
    stateless = member("ghost")
    del stateless["state"]
    answer = [member("sre-sam"), without, stateless]
    assert members(answer) == ("sre-sam",)
    assert members_left_out(answer) == ("ghost", "old")


def test_members_left_out_names_only_unknown_states() -> None:
    answer = [member("sre-sam"), member("gone", state="blocked")]
    assert members_left_out(answer) == ()


TODAY = date(2026, 11, 26)


@pytest.mark.parametrize(
    ("expires_at", "holds"),
    [
        (None, True),  # no end
        ("2026-11-27", True),  # ends tomorrow
        ("2026-11-26", False),  # GitLab removes access on the expiry date itself
        ("2026-11-25", False),  # expired, not yet removed by GitLab's daily job
        ("someday", False),  # unreadable: unknown is never favourable
        (20261127, False),
    ],
)
def test_a_membership_past_its_expiry_date_holds_no_role(expires_at: Any, holds: bool) -> None:
    answer = [member("sre-sam"), member("temp", expires_at=expires_at)]
    expected = ("sre-sam", "temp") if holds else ("sre-sam",)
    assert members(answer, today=TODAY) == expected
    # with no date to judge it by, any expiry date is unknown
    assert members(answer) == (expected if expires_at is None else ("sre-sam",))


def test_logins_are_unique_and_sorted() -> None:
    answer = [member("zed"), member("amy"), member("zed", id=99)]
    assert members(answer) == ("amy", "zed")


def test_the_gather_counts_only_active_members_and_says_who_it_could_not_judge(
    tmp_path: Path,
) -> None:
    sop = (Path(__file__).resolve().parents[4] / "examples" / ".sopgate.yml").read_text()
    old = member("old-timer")
    del old["membership_state"]
    answer = [
        member("sre-sam"),
        member("invited", membership_state="awaiting"),
        member("viewer", access_level=5),
        member("left", state="blocked"),
        member("paused", state="deactivated"),
        old,
    ]
    situation = Situation(sop_text=sop)
    env = {**situation.env(), "CI_PROJECT_DIR": str(tmp_path)}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add("GET", f"{BASE}/api/v4/groups/acme%2Fsre/members/all", json=answer)
        register(rsps, situation)
        adapter = from_env(env, policy=RetryPolicy(sleep=lambda _: None))
        facts = adapter.gather(sop_path=str(tmp_path / ".sopgate.yml")).facts
    assert facts.groups["acme/sre"] == ("sre-sam",)
    assert facts.notes == (
        "group acme/sre: GitLab does not say whether the membership of old-timer is active "
        "(membership_state, GitLab 15.x and later), so they hold no role through it",
    )


def test_the_gather_judges_expiry_by_the_snapshots_date(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    sop = (Path(__file__).resolve().parents[4] / "examples" / ".sopgate.yml").read_text()
    answer = [
        member("sre-sam", expires_at="2026-11-27"),
        member("temp", expires_at="2026-11-26"),  # today: access already ended
    ]
    situation = Situation(sop_text=sop)
    env = {**situation.env(), "CI_PROJECT_DIR": str(tmp_path)}
    late_evening = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add("GET", f"{BASE}/api/v4/groups/acme%2Fsre/members/all", json=answer)
        register(rsps, situation)
        adapter = from_env(
            env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: late_evening
        )
        facts = adapter.gather(sop_path=str(tmp_path / ".sopgate.yml")).facts
    assert facts.observed_at == late_evening
    assert facts.groups["acme/sre"] == ("sre-sam",)
