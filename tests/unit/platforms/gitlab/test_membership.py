"""Who holds a role through a GitLab group: only active users with an active membership of
at least Guest (10). Minimal Access (5), invitations awaiting acceptance, blocked and
deactivated users, and members whose membership state GitLab does not say, hold none."""

from __future__ import annotations

from typing import Any

import pytest

from sopgate.platforms.gitlab.mapping import members, members_left_out
from tests.unit.platforms.gitlab.gitlab_fixtures import fixture


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


def test_logins_are_unique_and_sorted() -> None:
    answer = [member("zed"), member("amy"), member("zed", id=99)]
    assert members(answer) == ("amy", "zed")
