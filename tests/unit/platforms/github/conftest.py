"""Shared fixtures: a GitHub Actions environment in a temporary checkout and JSON answers
shaped as GitHub sends them (``fixtures/*.json``)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses

from sopgate.platforms.github import GitHubAdapter, RetryPolicy, from_env

FIXTURES = Path(__file__).parent / "fixtures"
API = "https://api.github.com"
REPO = f"{API}/repos/acme/fraud-model"
HEAD = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
MERGE = "9f0c2a7e5b1d3c4a6e8f0b2d4c6a8e0f2b4d6c8a"
CANARY = "ghs_CANARY0123456789abcdefSECRETtoken"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def tip(branch: str) -> str:
    """The commit GitHub's branches API names for ``branch``: the SOP of a branch is read
    at this commit, never by the branch's name (a tag of the same name would win)."""
    return hashlib.sha1(f"tip of {branch}".encode()).hexdigest()


#: The commit of ``main``, the base branch, where its SOP is read.
BASE_TIP = tip("main")


def branch(name: str, *, protected: bool = True) -> dict[str, Any]:
    """``GET /repos/{owner}/{repo}/branches/{branch}`` for ``name``, at ``tip(name)``."""
    answer: dict[str, Any] = load("branch-protected.json")
    answer.update(name=name, protected=protected, commit=dict(answer["commit"], sha=tip(name)))
    return answer


class FakeTime:
    """A clock that moves only when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    shutil.copy(FIXTURES / "sopgate.yml", tmp_path / ".sopgate.yml")
    return tmp_path


@pytest.fixture
def make_env(checkout: Path) -> Callable[..., dict[str, str]]:
    def make(event: str = "pull_request", **extra: str) -> dict[str, str]:
        env = {
            "GITHUB_REPOSITORY": "acme/fraud-model",
            "GITHUB_EVENT_NAME": event,
            "GITHUB_EVENT_PATH": str(FIXTURES / f"event-{event}.json"),
            "GITHUB_SHA": MERGE if event == "push" else "0" * 40,
            "GITHUB_JOB": "deploy",
            "GITHUB_ACTOR": "dave",
            "GITHUB_WORKSPACE": str(checkout),
            "GITHUB_TOKEN": CANARY,
            "GITHUB_RUN_ID": "7",
            "GITHUB_REF": "refs/heads/main" if event == "push" else "refs/pull/42/merge",
        }
        env.update(extra)
        return env

    return make


@pytest.fixture
def make_adapter(
    make_env: Callable[..., dict[str, str]],
    fake_time: FakeTime,
    checkout: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., GitHubAdapter]:
    monkeypatch.chdir(checkout)

    def make(event: str = "pull_request", **extra: str) -> GitHubAdapter:
        retry = RetryPolicy(sleep=fake_time.sleep, clock=fake_time.clock)
        adapter = from_env(make_env(event, **extra), retry=retry)
        adapter.clock = lambda: NOW
        return adapter

    return make


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def add_pr_answers(rsps: responses.RequestsMock, *, commit: str = HEAD) -> None:
    """Every GET a pull request gather makes, answered from the fixtures."""
    page2 = f"{REPO}/pulls/42/reviews?per_page=100&page=2"
    rsps.get(
        f"{REPO}/pulls/42/reviews?per_page=100",
        json=load("reviews-page1.json"),
        headers={"Link": f'<{page2}>; rel="next", <{page2}>; rel="last"', "ETag": 'W/"r1"'},
    )
    rsps.get(page2, json=load("reviews-page2.json"), headers={"ETag": 'W/"r2"'})
    rsps.get(
        f"{REPO}/issues/42/comments?per_page=100",
        json=load("comments.json"),
        headers={"ETag": 'W/"c1"'},
    )
    rsps.get(
        f"{REPO}/commits/{commit}/check-runs?per_page=100",
        json=load("check-runs.json"),
        headers={"ETag": 'W/"k1"'},
    )
    rsps.get(
        f"{REPO}/commits/{commit}/statuses?per_page=100",
        json=load("statuses.json"),
        headers={"ETag": 'W/"s1"'},
    )
    rsps.get(
        f"{REPO}/git/trees/{commit}?recursive=1", json=load("tree.json"), headers={"ETag": 'W/"t1"'}
    )
    rsps.get(f"{REPO}/branches/main", json=branch("main"))
    rsps.get(f"{REPO}/contents/.sopgate.yml?ref={BASE_TIP}", json=load("contents-base.json"))
    rsps.get(f"{REPO}/contents/.sopgate.yml?ref={HEAD}", json=load("contents-head.json"))
    if commit != HEAD:  # after a merge, the SOP at the merge commit is the base's
        rsps.get(f"{REPO}/contents/.sopgate.yml?ref={commit}", json=load("contents-base.json"))
    rsps.get(REPO, json=load("repo.json"))
    rsps.get(f"{REPO}/pulls/42/commits?per_page=100", json=load("pull-commits.json"))
    rsps.get(f"{REPO}/commits/{HEAD}/check-suites?per_page=100", json=load("check-suites.json"))
    rsps.get(f"{REPO}/issues/42/timeline?per_page=100", json=load("timeline.json"))
    rsps.get(f"{API}/orgs/acme/teams/sre/members?per_page=100", json=load("team-sre.json"))
    rsps.get(
        f"{API}/orgs/acme/teams/ml-platform/members?per_page=100",
        json=load("team-ml-platform.json"),
    )
    rsps.get(
        f"{API}/orgs/acme/teams/ds/members?per_page=100",
        status=404,
        json={
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest/teams/members",
        },
    )
