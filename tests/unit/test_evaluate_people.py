"""Who counts: logins compared by ASCII lowercasing, bots, the change's contributors
(``allow_contributor``), and the people excluded from their own change (author, initiator,
re-runner)."""

from __future__ import annotations

from typing import Any

import pytest

from sopgate.rules.people import Contributors, is_bot, login
from tests.unit.helpers import SHA, facts, review, run, signoff, sop

FOUR_EYES = sop("""
    sopgate: 1
    name: t
    roles:
      security: {users: [sec-bob, sec-carol, Alice]}
      release: {users: [rita, Bob]}
    steps:
      - id: review
        owner: security
        approvals: [{role: security}]
      - id: go
        type: decision
        owner: release
        needs: []
        approvals:
          - {role: release, source: signoff}
          - {role: security, source: signoff}
""")


def commit(author: str | None, committer: str | None = None) -> dict[str, Any]:
    return {"sha": SHA, "author": author, "committer": committer or author}


def review_gate(approvals: list[dict[str, Any]], **extra: Any) -> tuple[str, tuple[str, ...]]:
    result = run(FOUR_EYES, facts(approvals=approvals, **extra), "review").by_key["review"]
    return result.state, result.reasons


@pytest.mark.parametrize(
    ("case", "approver", "commits", "state"),
    [
        ("nobody contributed", "sec-bob", [], "done"),
        ("the approver authored a commit", "sec-bob", [commit("sec-bob")], "waiting"),
        ("the approver committed a commit", "sec-bob", [commit("dave", "sec-bob")], "waiting"),
        ("contributor login in another case", "sec-bob", [commit("SEC-BOB")], "waiting"),
        ("approver login in another case", "alice", [commit("Alice")], "waiting"),
        ("another person contributed", "sec-bob", [commit("dave")], "done"),
        ("a bot's commit", "sec-bob", [commit("sec-bob[bot]")], "done"),
        (
            "web-flow committed a human's commit",
            "sec-bob",
            [commit("sec-bob", "web-flow")],
            "waiting",
        ),
        ("web-flow committed a bot's commit", "sec-bob", [commit("x[BOT]", "web-flow")], "done"),
        ("a null login excludes nobody", "sec-bob", [commit(None)], "done"),
        ("commits unknown: nobody counts", "sec-bob", None, "waiting"),
    ],
)
def test_contributors_do_not_approve_their_own_code(
    case: str, approver: str, commits: list[dict[str, Any]] | None, state: str
) -> None:
    assert review_gate([review(approver)], commits=commits)[0] == state, case


def test_contributor_reason_names_the_rule() -> None:
    state, reasons = review_gate([review("sec-bob")], commits=[commit("sec-bob")])
    assert state == "waiting"
    assert reasons == (
        "needs 1 approval from security (sec-carol, Alice); has 0",
        "sec-bob authored or committed a commit of the change and cannot approve it "
        "(allow_contributor: false)",
    )


def test_unknown_commits_are_named_in_the_reasons() -> None:
    _state, reasons = review_gate([review("sec-bob")], commits=None)
    assert reasons[1] == (
        "the change's commits are unknown (commits: null), so nobody counts where "
        "contributors are excluded"
    )


def test_a_null_login_is_named_when_the_rule_is_unmet() -> None:
    _state, reasons = review_gate([], commits=[commit(None, "web-flow")])
    assert reasons[1] == (
        f"commit {SHA[:12]} has an author or committer the platform could not map to a "
        "login, so they are not excluded as contributors"
    )


def test_allow_contributor_lets_contributors_count() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {security: {users: [sec-bob]}}
        steps:
          - id: s
            owner: security
            approvals: [{role: security, allow_contributor: true}]
    """)
    snapshot = facts(approvals=[review("sec-bob")], commits=[commit("sec-bob")])
    assert run(loaded, snapshot, "s").decision == "open"
    assert run(loaded, facts(approvals=[review("sec-bob")], commits=None), "s").decision == "open"


ALLOW_AUTHOR = sop("""
    sopgate: 1
    name: t
    roles: {security: {users: [sec-bob, sec-carol]}}
    steps:
      - id: s
        owner: security
        approvals: [{role: security, allow_author: true}]
""")


@pytest.mark.parametrize(
    ("approver", "decision"),
    [
        ("dave", "open"),  # the change's author, although dave authored commits
        ("sec-carol", "closed"),  # another contributor still needs allow_contributor
    ],
)
def test_allow_author_covers_the_author_not_other_contributors(
    approver: str, decision: str
) -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {security: {users: [dave, sec-carol]}}
        steps:
          - id: s
            owner: security
            approvals: [{role: security, allow_author: true}]
    """)
    snapshot = facts(
        approvals=[review(approver)],
        change={"id": 1, "author": "Dave"},
        commits=[commit("dave"), commit("sec-carol")],
    )
    assert run(loaded, snapshot, "s").decision == decision


@pytest.mark.parametrize(
    ("case", "extra", "state"),
    [
        ("author in another case", {"change": {"id": 1, "author": "SEC-BOB"}}, "waiting"),
        ("initiator in another case", {"initiator": "Sec-Bob"}, "waiting"),
        ("re-runner is excluded like the initiator", {"rerun_by": "sec-bob"}, "waiting"),
        ("re-runner in another case", {"rerun_by": "SEC-bob"}, "waiting"),
        ("someone else re-ran", {"rerun_by": "sec-carol"}, "done"),
    ],
)
def test_exclusions_compare_case_insensitively(
    case: str, extra: dict[str, Any], state: str
) -> None:
    assert review_gate([review("sec-bob")], **extra)[0] == state, case


def test_rerun_reason() -> None:
    _state, reasons = review_gate([review("sec-bob")], rerun_by="sec-bob")
    assert reasons == (
        "needs 1 approval from security (sec-carol, Alice); has 0",
        "sec-bob is the run's re-runner and cannot approve it (allow_author: false)",
    )


def test_initiator_reason() -> None:
    _state, reasons = review_gate([review("sec-bob")], initiator="sec-bob")
    assert (
        reasons[1] == "sec-bob is the run's initiator and cannot approve it (allow_author: false)"
    )


def test_one_person_in_two_cases_fills_one_rule() -> None:
    # "Bob" and "bob" are one person: four eyes needs two.
    loaded = sop("""
        sopgate: 1
        name: t
        roles:
          release: {users: [Bob, rita]}
          security: {users: [bob, carol]}
        steps:
          - id: go
            type: decision
            owner: release
            approvals:
              - {role: release, source: signoff}
              - {role: security, source: signoff}
    """)
    at = "2026-11-26T09:00:00Z"
    one = run(loaded, facts(approvals=[signoff("Bob", "go", at), signoff("bob", "go", at)]), "go")
    assert one.decision == "closed"
    assert one.by_key["go"].reasons[0].startswith("needs 1 sign-off from")
    two = run(loaded, facts(approvals=[signoff("Bob", "go", at), signoff("carol", "go", at)]))
    assert two.by_key["go"].state == "done"


def test_unicode_case_folding_does_not_make_two_logins_one() -> None:
    # U+017F (long s) casefolds to "s"; sec-bob must not be matched by a long-s login.
    state, reasons = review_gate([review("\u017fec-bob")])
    assert state == "waiting"
    assert reasons == ("needs 1 approval from security (sec-bob, sec-carol, Alice); has 0",)
    assert review_gate([review("sec-bob")], initiator="\u017fec-bob")[0] == "done"


def test_group_members_compare_case_insensitively() -> None:
    loaded = sop("""
        sopgate: 1
        name: t
        roles: {sre: {groups: [Acme/SRE]}}
        steps:
          - id: s
            owner: sre
            approvals: [{role: sre}]
    """)
    snapshot = facts(approvals=[review("gina")], groups={"acme/sre": ["GINA"]})
    assert run(loaded, snapshot, "s").decision == "open"


@pytest.mark.parametrize(
    ("user", "bot"),
    [("dependabot[bot]", True), ("Renovate[BOT]", True), ("bot", False), ("[bot]x", False)],
)
def test_bots_in_any_case(user: str, bot: bool) -> None:
    assert is_bot(user) is bot


def test_login_lowercases_ascii_only() -> None:
    assert login("Sec-BOB") == "sec-bob"
    assert login("\u017fec-bob") == "\u017fec-bob"
    assert login("ÄRGER") == "Ärger"


def test_contributors_of_the_commits() -> None:
    found = Contributors.of(
        facts(
            commits=[
                commit("Alice", "web-flow"),
                commit("renovate[bot]", "web-flow"),
                commit("dependabot[bot]", "Bob"),
                {"sha": None, "author": None, "committer": "carol"},
            ]
        )
    )
    assert found.known
    assert found.people == {"alice", "bob", "carol"}
    assert found.unmapped == ("of unknown sha",)
    assert not Contributors.of(facts(commits=None)).known
