"""Sync runs on events about a commit (check_run, check_suite, workflow_run): the pull
request they name and its head, never GITHUB_SHA (the default branch's there); and a re-run
by a bot (sopgate sync's job token) judged as started by its actor (issue 8.1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import responses
from conftest import (  # type: ignore[import-not-found]
    API,
    BASE_TIP,
    HEAD,
    MERGE,
    REPO,
    add_pr_answers,
    load,
)

from sopgate.errors import PlatformError
from sopgate.platforms.github import GitHubAdapter

Make = Callable[..., GitHubAdapter]


def _commit_event(tmp_path: Path, event: str, pulls: list[dict[str, object]]) -> str:
    """A check_run, check_suite or workflow_run payload about ``HEAD`` naming ``pulls``."""
    about = {"head_sha": HEAD, "head_branch": "main", "pull_requests": pulls}
    payload = {"action": "completed", event: about}
    path = tmp_path / f"event-{event}.json"
    path.write_text(json.dumps(payload))
    return str(path)


PULL_42 = {"number": 42, "url": f"{REPO}/pulls/42", "head": {"sha": HEAD}}


@pytest.mark.parametrize("event", ["check_run", "check_suite", "workflow_run"])
def test_sync_events_on_a_commit_are_about_their_pull_request_head(
    event: str, make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    """GITHUB_SHA is the default branch's head on these events: never the deployed commit."""
    add_pr_answers(mocked)
    pr = mocked.get(f"{REPO}/pulls/42", json=load("event-pull_request.json")["pull_request"])
    adapter = make_adapter(
        event,
        GITHUB_EVENT_PATH=_commit_event(tmp_path, event, [PULL_42]),
        GITHUB_SHA=MERGE,
        GITHUB_REF="refs/heads/main",
        GITHUB_TRIGGERING_ACTOR="erin",
    )
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert len(pr.calls) == 1
    assert facts.commit == HEAD
    assert facts.change is not None and facts.change.id == 42
    assert (facts.initiator, facts.rerun_by) == (None, None)
    assert adapter.found is not None and adapter.found.pr_number == 42


@pytest.mark.parametrize("event", ["check_run", "check_suite", "workflow_run"])
def test_a_commit_event_without_a_pull_request_is_about_its_head_sha(
    event: str, make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    """No pull request: the event's head_sha, whose SOP is never trusted for its branch name
    (head_branch is the pusher's to choose, a fork's "main" included)."""
    add_pr_answers(mocked)
    mocked.get(f"{REPO}/commits/{HEAD}/pulls?per_page=100", json=[])
    adapter = make_adapter(
        event,
        GITHUB_EVENT_PATH=_commit_event(tmp_path, event, []),
        GITHUB_SHA=MERGE,
        GITHUB_REF="refs/heads/main",
    )
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert facts.commit == HEAD
    assert facts.change is None
    assert any("the SOP in force is the one of the default branch main" in n for n in facts.notes)
    gets = [c.request.url for c in mocked.calls]
    assert f"{REPO}/contents/.sopgate.yml?ref={BASE_TIP}" in gets


def test_a_pull_request_of_another_repository_is_not_the_change(
    make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    """workflow_run lists pull requests of other repositories too (a fork's upstream)."""
    add_pr_answers(mocked)
    mocked.get(f"{REPO}/commits/{HEAD}/pulls?per_page=100", json=[])
    elsewhere = {"number": 42, "url": f"{API}/repos/upstream/fraud-model/pulls/42"}
    adapter = make_adapter(
        "workflow_run", GITHUB_EVENT_PATH=_commit_event(tmp_path, "workflow_run", [elsewhere])
    )
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert facts.change is None and facts.commit == HEAD
    assert not [c for c in mocked.calls if c.request.url == f"{REPO}/pulls/42"]


def test_a_commit_event_naming_no_commit_fails_closed(
    make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"action": "completed", "check_suite": {"pull_requests": []}}))
    adapter = make_adapter("check_suite", GITHUB_EVENT_PATH=str(path), GITHUB_SHA=MERGE)
    with pytest.raises(PlatformError, match="check_suite event names no commit"):
        adapter.gather(sop_path=".sopgate.yml")


@pytest.mark.parametrize("bot", ["github-actions[bot]", "GitHub-Actions[BOT]", "deployer[bot]"])
def test_a_re_run_by_a_bot_is_judged_as_started_by_the_actor(
    bot: str, make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    """sopgate sync re-runs with the job token: the re-run's triggering actor is
    github-actions[bot], which holds no role; as rerun_by it would close every gate that sync
    re-opens (run_by)."""
    add_pr_answers(mocked)
    adapter = make_adapter(GITHUB_ACTOR="dave", GITHUB_TRIGGERING_ACTOR=bot)
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert (facts.initiator, facts.rerun_by) == ("dave", None)
    assert f"re-run by {bot} (sopgate sync): judged as started by dave" in facts.notes
