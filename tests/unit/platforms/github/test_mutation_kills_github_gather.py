"""GitHub gather cases the mutation run found untested (docs/mutation.md): the links of
every approval and check, malformed entries that must not hide the entries after them,
the statuses whose time is unknown or equal, and the pull requests a commit event lists."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from conftest import (  # type: ignore[import-not-found]
    API,
    BASE_TIP,
    FIXTURES,
    HEAD,
    MERGE,
    REPO,
    add_pr_answers,
    load,
)

from sopgate.errors import PlatformError
from sopgate.platforms.github import GitHubAdapter
from sopgate.platforms.github.shapes import same_login

Make = Callable[..., GitHubAdapter]


# -- links and shas of what is gathered --------------------------------------------------------


def test_every_approval_and_check_keeps_its_link(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    pull = "https://github.com/acme/fraud-model/pull/42"
    assert [(a.source, a.user, a.url) for a in facts.approvals or ()] == [
        ("review", "sec-carol", f"{pull}#pullrequestreview-1002"),
        ("review", "sec-bob", f"{pull}#pullrequestreview-1004"),
        ("review", "sec-carol", f"{pull}#pullrequestreview-1008"),
        ("signoff", "rita", f"{pull}#issuecomment-1012"),
        ("signoff", "rob", f"{pull}#issuecomment-1014"),
        ("signoff", "renovate[bot]", f"{pull}#issuecomment-1018"),
    ]
    jobs = "https://github.com/acme/fraud-model/actions/runs/7/job"
    assert [(c.name, c.url) for c in facts.checks or ()] == [
        ("data-validation", f"{jobs}/1022"),
        ("model-eval", f"{jobs}/1023"),
        ("deploy-staging", f"{jobs}/1024"),
        ("lint", f"{jobs}/1025"),
        ("docs", f"{jobs}/1026"),
        ("scan", f"{jobs}/1029"),
        ("ci/jenkins", "https://ci.example.invalid/1030"),
        ("security/scan", "https://ci.example.invalid/1032"),
    ]


def test_a_review_of_no_full_commit_is_of_no_commit(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    reviews = load("reviews-page1.json")
    reviews[1]["commit_id"] = HEAD[:12]  # sec-bob's approval
    mocked.replace(
        responses.GET,
        f"{REPO}/pulls/42/reviews?per_page=100",
        json=reviews,
        headers={"Link": f'<{REPO}/pulls/42/reviews?per_page=100&page=2>; rel="next"'},
    )
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    bob = [(a.state, a.sha) for a in facts.approvals or () if a.user == "sec-bob"]
    assert bob == [("approved", None)]


def test_a_comment_without_author_hides_no_later_sign_off(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    comments = load("comments.json")
    comments[0]["user"] = None  # rita's sign-off, by a deleted account
    mocked.replace(responses.GET, f"{REPO}/issues/42/comments?per_page=100", json=comments)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    signoffs = [a.user for a in facts.approvals or () if a.source == "signoff"]
    assert signoffs == ["rob", "renovate[bot]"]


@pytest.mark.parametrize("conclusion", ["something_new", None])
def test_a_completed_check_run_of_unknown_conclusion_is_pending(
    conclusion: str | None, make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    runs = load("check-runs.json")
    runs["check_runs"][0]["conclusion"] = conclusion  # data-validation, completed
    mocked.replace(responses.GET, f"{REPO}/commits/{HEAD}/check-runs?per_page=100", json=runs)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    states = [(c.name, c.state) for c in facts.checks or () if c.app != "status"]
    assert states[0] == ("data-validation", "pending")


def test_a_check_run_without_a_name_hides_no_later_run(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    runs = load("check-runs.json")
    runs["check_runs"][0]["name"] = None
    mocked.replace(responses.GET, f"{REPO}/commits/{HEAD}/check-runs?per_page=100", json=runs)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    names = [c.name for c in facts.checks or () if c.app != "status"]
    assert names == ["model-eval", "deploy-staging", "lint", "docs", "scan"]


# -- statuses: the latest of each context ------------------------------------------------------


def _statuses(mocked: responses.RequestsMock, *entries: tuple[str, str | None]) -> None:
    template = load("statuses.json")[0]
    answer = [
        dict(template, context="ci/jenkins", state=state, created_at=at, updated_at=at)
        for state, at in entries
    ]
    mocked.replace(responses.GET, f"{REPO}/commits/{HEAD}/statuses?per_page=100", json=answer)


def test_a_newest_status_without_time_is_not_replaced_by_an_older_one(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    _statuses(mocked, ("pending", None), ("success", "2026-11-25T11:00:00Z"))
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    jenkins = [(c.state, c.at) for c in facts.checks or () if c.name == "ci/jenkins"]
    assert jenkins == [("pending", None)]


def test_of_two_statuses_at_the_same_time_the_newest_listed_counts(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    _statuses(mocked, ("failure", "2026-11-25T11:00:00Z"), ("success", "2026-11-25T11:00:00Z"))
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    jenkins = [c.state for c in facts.checks or () if c.name == "ci/jenkins"]
    assert jenkins == ["failure"]


# -- a push whose pull request names no head ---------------------------------------------------


def test_a_merged_pull_request_without_head_sha_asks_nothing_about_its_push(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked, commit=MERGE)
    pulls = load("commit-pulls.json")
    del pulls[0]["head"]["sha"]
    mocked.get(f"{REPO}/commits/{MERGE}/pulls?per_page=100", json=pulls)
    facts = make_adapter("push").gather(sop_path=".sopgate.yml").facts
    assert facts.change is not None and facts.change.id == 42
    assert facts.change.pushed_at is None and facts.change.push_unknown
    assert not any("/check-suites" in str(c.request.url) for c in mocked.calls)
    assert not any("merged as" in note for note in facts.notes)


# -- the pull requests a commit event lists ----------------------------------------------------


def _workflow_run(tmp_path: Path, pulls: Any, name: str = "workflow_run") -> str:
    payload = {name: {"head_sha": HEAD, "pull_requests": pulls}}
    path = tmp_path / f"event-{name}.json"
    path.write_text(json.dumps(payload))
    return str(path)


def _own(number: object) -> dict[str, Any]:
    return {"number": number, "url": f"{REPO}/pulls/{number}", "head": {"sha": HEAD}}


@pytest.mark.parametrize(
    "pulls",
    [
        # another repository's pull request listed first
        [{"number": 41, "url": f"{API}/repos/upstream/fraud-model/pulls/41"}, _own(42)],
        # a number that is not a number, then the real one
        [_own("41"), _own(42)],
        [{"number": True, "url": f"{REPO}/pulls/True"}, _own(42)],
    ],
)
def test_the_first_own_pull_request_a_commit_event_lists_is_the_change(
    pulls: list[dict[str, Any]], make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_pr_answers(mocked)
    mocked.get(f"{REPO}/pulls/42", json=load("event-pull_request.json")["pull_request"])
    adapter = make_adapter("workflow_run", GITHUB_EVENT_PATH=_workflow_run(tmp_path, pulls))
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert facts.change is not None and facts.change.id == 42


def test_an_api_url_with_a_trailing_slash_still_names_own_pull_requests(
    make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_pr_answers(mocked)
    mocked.get(f"{REPO}/pulls/42", json=load("event-pull_request.json")["pull_request"])
    adapter = make_adapter(
        "workflow_run",
        GITHUB_EVENT_PATH=_workflow_run(tmp_path, [_own(42)]),
        GITHUB_API_URL=f"{API}/",
    )
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert facts.change is not None and facts.change.id == 42


@pytest.mark.parametrize("pulls", [None, "42", {"number": 42}])
def test_a_commit_event_whose_pull_requests_are_not_a_list_names_none(
    pulls: object, make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_pr_answers(mocked)
    mocked.get(f"{REPO}/commits/{HEAD}/pulls?per_page=100", json=[])
    adapter = make_adapter("workflow_run", GITHUB_EVENT_PATH=_workflow_run(tmp_path, pulls))
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert facts.change is None and facts.commit == HEAD


# -- logins ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [("dave", None), (None, "dave"), (None, None)])
def test_an_unknown_login_is_nobody(a: str | None, b: str | None) -> None:
    assert same_login(a, b) is False


def test_a_status_time_is_its_update_else_its_creation(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    template = load("statuses.json")[0]
    answer = [
        dict(
            template,
            context="a",
            created_at="2026-11-25T10:00:00Z",
            updated_at="2026-11-25T11:00:00Z",
        ),
        dict(template, context="b", created_at="2026-11-25T09:00:00Z", updated_at=None),
    ]
    mocked.replace(responses.GET, f"{REPO}/commits/{HEAD}/statuses?per_page=100", json=answer)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    times = [(c.name, c.at) for c in facts.checks or () if c.app == "status"]
    assert times == [("a", _at("2026-11-25T11:00:00Z")), ("b", _at("2026-11-25T09:00:00Z"))]


def test_an_older_status_hides_no_later_context(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    template = load("statuses.json")[0]
    answer = [
        dict(template, context="ci/jenkins", state="success", updated_at="2026-11-25T11:00:00Z"),
        dict(template, context="ci/jenkins", state="pending", updated_at="2026-11-25T10:00:00Z"),
        dict(template, context="", state="failure"),  # no context: not a check
        dict(template, context="security/scan", state="weird", updated_at="2026-11-25T09:00:00Z"),
    ]
    mocked.replace(responses.GET, f"{REPO}/commits/{HEAD}/statuses?per_page=100", json=answer)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    states = [(c.name, c.state) for c in facts.checks or () if c.app == "status"]
    assert states == [("ci/jenkins", "success"), ("security/scan", "pending")]


# -- the git tree ------------------------------------------------------------------------------


@pytest.mark.parametrize("tree", [{"tree": None}, {"tree": {}}, [], {"sha": HEAD}])
def test_a_git_tree_of_unexpected_shape_fails_closed(
    tree: object, make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    mocked.replace(responses.GET, f"{REPO}/git/trees/{HEAD}?recursive=1", json=tree)
    with pytest.raises(PlatformError) as caught:
        make_adapter().gather(sop_path=".sopgate.yml")
    assert str(caught.value) == f"GitHub answered the git tree of {HEAD} with unexpected JSON"


def test_a_truncated_tree_is_named_in_the_notes(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    mocked.replace(
        responses.GET,
        f"{REPO}/git/trees/{HEAD}?recursive=1",
        json=dict(load("tree.json"), truncated=True),
    )
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    assert facts.files is None
    assert (
        "the git tree of 4b825dc642cb is too large for one request: which evidence files "
        "exist is unknown" in facts.notes
    )


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- teams -------------------------------------------------------------------------------------

SOP_TEXT = (FIXTURES / "sopgate.yml").read_text()


def _sop_everywhere(mocked: responses.RequestsMock, text: str) -> None:
    answer = load("contents-base.json")
    answer.update(content=base64.encodebytes(text.encode()).decode(), size=len(text))
    for ref in (BASE_TIP, HEAD):
        mocked.replace(responses.GET, f"{REPO}/contents/.sopgate.yml?ref={ref}", json=answer)


def test_groups_that_are_no_team_or_hidden_teams_are_unknown(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    text = SOP_TEXT.replace("groups: [acme/ds]", "groups: [acme, acme/a/b, /ops, acme/]").replace(
        "groups: [acme/ml-platform]", "groups: [acme/ml?x, acme/hidden]"
    )
    _sop_everywhere(mocked, text)
    mocked.get(
        f"{API}/orgs/acme/teams/ml%3Fx/members?per_page=100",
        json=[{"login": "mona"}, {"login": None}, {"id": 3}],
    )
    mocked.get(
        f"{API}/orgs/acme/teams/hidden/members?per_page=100",
        status=403,
        json={"message": "Must have admin rights"},
    )
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    assert facts.groups == {
        "acme": None,
        "acme/a/b": None,
        "/ops": None,
        "acme/": None,
        "acme/ml?x": ("mona",),
        "acme/hidden": None,
        "acme/sre": ("alice", "bob"),
    }
    assert [n for n in facts.notes if "group" in n or "team" in n] == [
        "group acme is not a GitHub org/team: membership unknown",
        "group acme/a/b is not a GitHub org/team: membership unknown",
        "group /ops is not a GitHub org/team: membership unknown",
        "group acme/ is not a GitHub org/team: membership unknown",
        "team acme/hidden: membership unknown (GitHub answered HTTP 403); the token needs "
        "read:org / members: read (the default GITHUB_TOKEN cannot read teams)",
    ]


# -- the SOP path and the deployed commit ------------------------------------------------------


def test_a_sop_outside_the_checkout_is_refused(
    make_adapter: Make, mocked: responses.RequestsMock, checkout: Path
) -> None:
    add_pr_answers(mocked)
    with pytest.raises(PlatformError) as caught:
        make_adapter().gather(sop_path="../elsewhere/.sopgate.yml")
    assert str(caught.value) == (
        f"../elsewhere/.sopgate.yml is outside the repository checkout ({checkout})"
    )


def test_a_sop_in_a_folder_is_read_at_its_repository_path(
    make_adapter: Make, mocked: responses.RequestsMock, checkout: Path
) -> None:
    add_pr_answers(mocked)
    answer = load("contents-base.json")
    for ref in (BASE_TIP, HEAD):
        mocked.get(f"{REPO}/contents/ops/sop.yml?ref={ref}", json=answer)
    gathered = make_adapter().gather(sop_path=str(checkout / "ops" / "sop.yml"))
    assert gathered.sop_text == SOP_TEXT
    assert gathered.proposed_sop_text is None


@pytest.mark.parametrize(("event", "sha"), [("push", "abc123"), ("workflow_dispatch", "")])
def test_a_deployed_commit_that_is_no_full_sha_fails_closed(
    event: str, sha: str, make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    adapter = make_adapter(
        event, GITHUB_SHA=sha, GITHUB_EVENT_PATH=str(FIXTURES / "event-push.json")
    )
    with pytest.raises(PlatformError) as caught:
        adapter.gather(sop_path=".sopgate.yml")
    assert str(caught.value) == (
        f"cannot tell the deployed commit: {sha!r} is not a full commit sha (GITHUB_SHA or "
        "the pull request's head)"
    )
    assert len(mocked.calls) == 0


def test_a_pull_request_without_head_fails_closed(
    make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    event = load("event-pull_request.json")
    del event["pull_request"]["head"]
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    with pytest.raises(PlatformError) as caught:
        make_adapter(GITHUB_EVENT_PATH=str(path)).gather(sop_path=".sopgate.yml")
    assert str(caught.value) == (
        "cannot tell the deployed commit: '' is not a full commit sha (GITHUB_SHA or "
        "the pull request's head)"
    )


@pytest.mark.parametrize("head_sha", [None, "abc", HEAD.upper()])
def test_a_commit_event_naming_no_full_commit_fails_closed(
    head_sha: str | None, make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"check_run": {"head_sha": head_sha, "pull_requests": []}}))
    adapter = make_adapter("check_run", GITHUB_EVENT_PATH=str(path))
    with pytest.raises(PlatformError) as caught:
        adapter.gather(sop_path=".sopgate.yml")
    assert str(caught.value) == "the check_run event names no commit (head_sha): refused"
    assert len(mocked.calls) == 0


def test_a_commit_event_has_no_ref_to_trust(
    make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_pr_answers(mocked)
    mocked.get(f"{REPO}/commits/{HEAD}/pulls?per_page=100", json=[])
    adapter = make_adapter(
        "check_suite",
        GITHUB_EVENT_PATH=_workflow_run(tmp_path, [], "check_suite"),
        GITHUB_REF="refs/heads/main",
    )
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert (
        "the SOP in force is the one of the default branch main: this ref is neither the "
        "default nor a protected branch, and no open pull request holds 4b825dc642cb" in facts.notes
    )


# -- which pull request is the change -------------------------------------------------------------


def _payload(tmp_path: Path, payload: dict[str, Any]) -> str:
    path = tmp_path / "event-payload.json"
    path.write_text(json.dumps(payload))
    return str(path)


def test_a_comment_on_an_issue_has_no_pull_request(
    make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_pr_answers(mocked, commit=MERGE)
    mocked.get(f"{REPO}/commits/{MERGE}/pulls?per_page=100", json=[])
    payload = {"issue": {"number": 42}, "comment": {"body": "/sop approve go-no-go"}}
    adapter = make_adapter(
        "issue_comment",
        GITHUB_EVENT_PATH=_payload(tmp_path, payload),
        GITHUB_SHA=MERGE,
        GITHUB_REF="refs/heads/main",
    )
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert (facts.change, facts.commit, facts.approvals) == (None, MERGE, ())
    assert not any(str(c.request.url).startswith(f"{REPO}/pulls/") for c in mocked.calls)


def test_a_pull_request_in_the_payload_of_another_event_is_not_the_change(
    make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    """Only pull request events carry the change; a dispatch's payload is the caller's."""
    add_pr_answers(mocked, commit=MERGE)
    mocked.get(f"{REPO}/commits/{MERGE}/pulls?per_page=100", json=[])
    payload = load("event-pull_request.json")
    adapter = make_adapter(
        "workflow_dispatch",
        GITHUB_EVENT_PATH=_payload(tmp_path, payload),
        GITHUB_SHA=MERGE,
        GITHUB_REF="refs/heads/main",
    )
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert (facts.change, facts.commit) == (None, MERGE)


@pytest.mark.parametrize("answer", [[], "x", 42])
def test_a_pull_request_answer_that_is_no_object_fails_closed(
    answer: object, make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mocked.get(f"{REPO}/pulls/42", json=answer)
    payload = {"issue": {"number": 42, "pull_request": {"url": f"{REPO}/pulls/42"}}}
    adapter = make_adapter("issue_comment", GITHUB_EVENT_PATH=_payload(tmp_path, payload))
    with pytest.raises(PlatformError) as caught:
        adapter.gather(sop_path=".sopgate.yml")
    assert str(caught.value) == "GitHub answered the pull request with unexpected JSON"


def test_a_pull_request_without_a_numeric_number_gives_no_approvals(
    make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    """Reviews and sign-offs are read only for a pull request GitHub numbers."""
    add_pr_answers(mocked)
    event = load("event-pull_request.json")
    event["pull_request"]["number"] = "42"
    adapter = make_adapter(GITHUB_EVENT_PATH=_payload(tmp_path, event))
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert facts.change is not None and facts.change.id is None
    assert (facts.approvals, facts.commits) == ((), ())
    assert adapter.found is not None and adapter.found.pr_number is None
    assert not any("/pulls/42/" in str(c.request.url) for c in mocked.calls)


def test_the_found_commit_and_pull_request_are_remembered_for_publishing(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    adapter = make_adapter()
    adapter.gather(sop_path=".sopgate.yml")
    assert adapter.found is not None
    assert (adapter.found.commit, adapter.found.pr_number) == (HEAD, 42)


def test_a_review_of_no_commit_stays_of_no_commit_after_a_merge_without_head(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked, commit=MERGE)
    pulls = load("commit-pulls.json")
    del pulls[0]["head"]["sha"]
    mocked.get(f"{REPO}/commits/{MERGE}/pulls?per_page=100", json=pulls)
    reviews = load("reviews-page1.json")
    del reviews[1]["commit_id"]  # sec-bob's approval
    mocked.replace(responses.GET, f"{REPO}/pulls/42/reviews?per_page=100", json=reviews)
    facts = make_adapter("push").gather(sop_path=".sopgate.yml").facts
    bob = [(a.state, a.sha) for a in facts.approvals or () if a.user == "sec-bob"]
    assert bob == [("approved", None)]


def test_a_push_without_pull_request_notes_no_pull_request(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked, commit=MERGE)
    mocked.get(f"{REPO}/commits/{MERGE}/pulls?per_page=100", json=[])
    facts = make_adapter("push").gather(sop_path=".sopgate.yml").facts
    assert not any("pull request" in note for note in facts.notes)


def test_an_invalid_sop_in_force_still_gives_the_facts(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    """The CLI reports the invalid SOP when it loads it; gathering must not fail first."""
    add_pr_answers(mocked)
    _sop_everywhere(mocked, "sopgate: 1\nsteps: {not: a list}\n")
    gathered = make_adapter().gather(sop_path=".sopgate.yml")
    assert gathered.sop_text == "sopgate: 1\nsteps: {not: a list}\n"
    assert (gathered.facts.documents, gathered.facts.groups) == ({}, {})


def test_the_groups_of_the_proposed_sop_are_gathered_too(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    proposed = SOP_TEXT.replace("groups: [acme/sre]", "groups: [acme/sre, acme/new]")
    answer = load("contents-head.json")
    answer.update(content=base64.encodebytes(proposed.encode()).decode(), size=len(proposed))
    mocked.replace(responses.GET, f"{REPO}/contents/.sopgate.yml?ref={HEAD}", json=answer)
    mocked.get(f"{API}/orgs/acme/teams/new/members?per_page=100", json=[{"login": "nina"}])
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    assert facts.groups["acme/new"] == ("nina",)
