"""GitHub answers for a logical situation, built from ``github/fixtures/*.json``.

The GitHub counterpart of ``gitlab/gitlab_fixtures.py``: one :class:`Situation` (reviews,
comments, check runs, commit statuses, teams, files, the SOP) becomes the answers of a pull
request gather, registered on a ``responses.RequestsMock`` (:func:`register`), plus the
Actions environment (:meth:`Situation.env`) that points the adapter at them. Lives outside
``github/`` because that directory cannot be a package (it would shadow PyGithub's ``github``).
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import responses

FIXTURES = Path(__file__).parent / "github" / "fixtures"
API = "https://api.github.com"
REPO = f"{API}/repos/acme/fraud-model"
HEAD = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
#: The commit of the base branch ``main``, where the SOP in force is read.
BASE_TIP = "5d41402abc4b2a76b9719d911017c592b1c0ffee"
TOKEN = "ghs_CANARY0123456789abcdefSECRETtoken"


@cache
def _load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def fixture(_name: str, /, index: int | None = None, **changes: Any) -> Any:
    """A fresh copy of ``fixtures/NAME.json`` (or of its item ``index``), with ``changes``."""
    data = copy.deepcopy(_load(_name))
    if index is not None:
        data = data[index]
    if changes:
        data.update(changes)
    return data


def user(login: str, uid: int = 2000) -> dict[str, Any]:
    """A user object in GitHub's shape; logins ending in ``[bot]`` are of type Bot."""
    return {
        **fixture("team-sre", 0),
        "login": login,
        "id": uid,
        "node_id": f"U_{uid}",
        "url": f"{API}/users/{login}",
        "html_url": f"https://github.com/{login}",
        "type": "Bot" if login.endswith("[bot]") else "User",
    }


@dataclass(frozen=True)
class Review:
    user: str
    state: str  # APPROVED, CHANGES_REQUESTED, DISMISSED, COMMENTED, PENDING
    commit_id: str
    submitted_at: str  # 2026-11-25T09:00:00Z


@dataclass(frozen=True)
class Comment:
    user: str
    body: str
    created_at: str
    updated_at: str | None = None  # None: never edited (same as created_at)


@dataclass(frozen=True)
class CheckRun:
    name: str
    status: str  # queued, in_progress, completed
    conclusion: str | None  # success, failure, ... when completed
    at: str  # started_at, and completed_at when completed
    app: str = "github-actions"


@dataclass
class Situation:
    """What is true on GitHub: pull request #42 by ``author`` from the pull_request event."""

    sop_text: str
    commit: str = HEAD
    author: str = "dave"
    actor: str = "dave"
    reviews: list[Review] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    check_runs: list[CheckRun] = field(default_factory=list)
    statuses: list[tuple[str, str, str]] = field(default_factory=list)  # (context, state, at)
    teams: dict[str, list[str] | int] = field(default_factory=dict)  # org/team -> logins | HTTP
    files: list[str] = field(default_factory=list)

    def env(self, workspace: Path, event_dir: Path) -> dict[str, str]:
        """The Actions variables of a ``pull_request`` job checked out in ``workspace``; the
        event payload is written to ``event_dir``."""
        event = fixture("event-pull_request")
        event["pull_request"]["head"]["sha"] = self.commit
        event["pull_request"]["user"] = user(self.author, 1043)
        path = event_dir / "event.json"
        path.write_text(json.dumps(event))
        return {
            "GITHUB_REPOSITORY": "acme/fraud-model",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(path),
            "GITHUB_SHA": "0" * 40,  # the merge commit GitHub made: never what is deployed
            "GITHUB_JOB": "deploy",
            "GITHUB_ACTOR": self.actor,
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_RUN_ID": "7",
        }

    def answers(self) -> dict[str, tuple[int, Any]]:
        """``URL (with query) -> (status, JSON)`` for every GET a pull request gather makes."""
        pr_url = "https://github.com/acme/fraud-model/pull/42"
        reviews = [
            fixture(
                "reviews-page1",
                0,
                id=3000 + i,
                user=user(r.user, 3100 + i),
                state=r.state,
                commit_id=r.commit_id,
                submitted_at=r.submitted_at,
                html_url=f"{pr_url}#pullrequestreview-{3000 + i}",
            )
            for i, r in enumerate(self.reviews)
        ]
        comments = [
            fixture(
                "comments",
                0,
                id=4000 + i,
                user=user(c.user, 4100 + i),
                body=c.body,
                created_at=c.created_at,
                updated_at=c.updated_at or c.created_at,
                html_url=f"{pr_url}#issuecomment-{4000 + i}",
            )
            for i, c in enumerate(self.comments)
        ]
        template = fixture("check-runs")["check_runs"][0]
        runs = [
            {
                **copy.deepcopy(template),
                "id": 5000 + i,
                "name": c.name,
                "head_sha": self.commit,
                "status": c.status,
                "conclusion": c.conclusion if c.status == "completed" else None,
                "started_at": c.at,
                "completed_at": c.at if c.status == "completed" else None,
                "html_url": f"https://github.com/acme/fraud-model/actions/runs/7/job/{5000 + i}",
                "app": {**template["app"], "slug": c.app},
            }
            for i, c in enumerate(self.check_runs)
        ]
        statuses = [
            fixture(
                "statuses",
                0,
                id=6000 + i,
                context=context,
                state=state,
                description=f"{context} {state}",
                created_at=at,
                updated_at=at,
            )
            for i, (context, state, at) in enumerate(self.statuses)
        ]
        statuses.sort(key=lambda s: s["updated_at"], reverse=True)  # GitHub: newest first
        blob = fixture("tree")["tree"][0]
        tree = fixture(
            "tree", sha=self.commit, tree=[{**blob, "path": f} for f in sorted(self.files)]
        )
        content = base64.encodebytes(self.sop_text.encode()).decode()
        answers: dict[str, tuple[int, Any]] = {
            f"{REPO}/pulls/42/reviews?per_page=100": (200, reviews),
            f"{REPO}/issues/42/comments?per_page=100": (200, comments),
            f"{REPO}/commits/{self.commit}/check-runs?per_page=100": (
                200,
                {"total_count": len(runs), "check_runs": runs},
            ),
            f"{REPO}/commits/{self.commit}/statuses?per_page=100": (200, statuses),
            f"{REPO}/git/trees/{self.commit}?recursive=1": (200, tree),
        }
        # The change's commits, the head's check suites and the pull request's timeline:
        # one commit by the author, one check suite (the gate's own workflow), no force push.
        commit = fixture("pull-commits", 1, sha=self.commit, author=user(self.author, 1043))
        commit["committer"] = user(self.author, 1043)
        answers[f"{REPO}/pulls/42/commits?per_page=100"] = (200, [commit])
        suite = fixture("check-suites")["check_suites"][0]
        suite.update(head_sha=self.commit, created_at="2026-11-24T12:00:00Z")
        answers[f"{REPO}/commits/{self.commit}/check-suites?per_page=100"] = (
            200,
            {"total_count": 1, "check_suites": [suite]},
        )
        answers[f"{REPO}/issues/42/timeline?per_page=100"] = (200, [])
        main = fixture("branch-protected", name="main")
        main["commit"]["sha"] = BASE_TIP
        answers[f"{REPO}/branches/main"] = (200, main)
        for ref in (BASE_TIP, self.commit):
            answers[f"{REPO}/contents/.sopgate.yml?ref={ref}"] = (
                200,
                fixture("contents-base", content=content, size=len(self.sop_text)),
            )
        for team, members in self.teams.items():
            org, _, slug = team.partition("/")
            answers[f"{API}/orgs/{org}/teams/{slug}/members?per_page=100"] = (
                (members, {"message": "Not Found"})
                if isinstance(members, int)
                else (200, [user(m, 7000 + i) for i, m in enumerate(members)])
            )
        return answers


def register(rsps: responses.RequestsMock, situation: Situation) -> None:
    """Register ``situation``'s answers (one page each) with ``rsps``."""
    for url, (status, body) in situation.answers().items():
        rsps.get(url, status=status, json=body)
