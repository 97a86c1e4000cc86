"""GitLab answers for a logical situation, built from the JSON fixtures in ``fixtures/``.

One :class:`Situation` (approvals, sign-offs, jobs, statuses, groups, files) becomes the
routes GitLab would answer, ``(METHOD, /api/v4/path) -> (status, body)``, usable with
``responses`` (:func:`register`) and with the local stub (:func:`stub_for`). A parity test
can build the same situation for GitHub and compare the Facts both adapters gather.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import responses

from tests.stubs.gitlab_stub import GitLabStub, filtered

FIXTURES = Path(__file__).parent / "fixtures"
HEAD = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
MERGE = "9e1c2a7d3b4f5061728394a5b6c7d8e9f0a1b2c3"
BASE = "https://gitlab.example.com"
TOKEN = "glpat-CANARY-do-not-print-0123456789"


@cache
def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def fixture(_name: str, /, **changes: Any) -> dict[str, Any]:
    """A fresh copy of ``fixtures/NAME.json`` with top-level ``changes``."""
    data = copy.deepcopy(_load(_name))
    data.update(changes)
    return data


def user(name: str, uid: int = 100) -> dict[str, Any]:
    return {
        "id": uid,
        "username": name,
        "name": name.title(),
        "state": "active",
        "locked": False,
        "avatar_url": None,
        "web_url": f"{BASE}/{name}",
    }


@dataclass(frozen=True)
class Signoff:
    user: str
    text: str  # "/sop approve go-no-go"
    at: str
    edited_at: str | None = None
    system: bool = False


@dataclass(frozen=True)
class Deployment:
    """One deployment of a protected environment; ``approvals``: (user, status, at,
    comment) as GitLab's ``Deployments::Approval`` entity has them."""

    environment: str
    approvals: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    sha: str = HEAD
    status: str = "blocked"
    updated_at: str = "2026-11-26T09:40:00.000Z"
    listed_with_approvals: bool = False  # the listing carries them (GitLab's does not)
    detail_status: int = 200  # what GET /deployments/:id answers

    def json(self, index: int, *, detail: bool) -> dict[str, Any]:
        data = fixture(
            "deployment",
            id=410 + index,
            iid=17 + index,
            sha=self.sha,
            status=self.status,
            updated_at=self.updated_at,
        )
        data["environment"] = {**data["environment"], "name": self.environment}
        data["environment"]["slug"] = self.environment
        if detail or self.listed_with_approvals:
            data["pending_approval_count"] = 0
            data["approvals"] = [
                fixture(
                    "deployment_approval",
                    user=user(u, 60 + i),
                    status=status,
                    created_at=at,
                    comment=comment,
                )
                for i, (u, status, at, comment) in enumerate(self.approvals)
            ]
        return data


@dataclass
class Situation:
    """What is true on GitLab; defaults: MR !42 by dave, head ``HEAD``, nothing else."""

    project_id: str = "7"
    commit: str = HEAD
    mr_iid: int | None = 42
    mr_state: str = "opened"
    author: str = "dave"
    pipeline_id: int = 99
    target_branch: str = "main"
    reset_on_push: bool | None = True  # None: the settings endpoint answers 404 (Free)
    approvals: list[tuple[str, str | None]] = field(default_factory=list)  # (user, at)
    approvals_status: int = 200
    signoffs: list[Signoff] = field(default_factory=list)
    jobs: list[tuple[str, str, str]] = field(default_factory=list)  # (name, status, at)
    statuses: list[tuple[str, str, str]] = field(default_factory=list)
    # path -> members, or the error status GitLab answers; default: the example SOP's groups
    groups: dict[str, list[str] | int] = field(
        default_factory=lambda: {"acme/ds": [], "acme/ml-platform": [], "acme/sre": []}
    )
    files: list[str] = field(default_factory=list)
    sop_text: str | None = None  # on the target branch; None: 404
    sop_path: str = ".sopgate.yml"
    merged_results: bool = False  # CI_COMMIT_SHA is MERGE, the head is ``commit``
    deployments: list[Deployment] = field(default_factory=list)  # newest first
    deployments_status: int = 200  # what the deployments listing answers

    @property
    def project(self) -> str:
        return f"/api/v4/projects/{quote(self.project_id, safe='')}"

    def env(self, url: str = BASE, token: str = TOKEN) -> dict[str, str]:
        """GitLab CI's predefined variables for the job that runs ``sopgate check``."""
        env = {
            "GITLAB_CI": "true",
            "CI_API_V4_URL": f"{url}/api/v4",
            "CI_SERVER_URL": url,
            "CI_PROJECT_ID": self.project_id,
            "CI_PROJECT_PATH": "acme/fraud-model",
            "CI_COMMIT_SHA": MERGE if self.merged_results else self.commit,
            "CI_PIPELINE_ID": str(self.pipeline_id),
            "CI_JOB_NAME": "deploy-staging",
            "CI_JOB_URL": f"{url}/acme/fraud-model/-/jobs/5002",
            "GITLAB_USER_LOGIN": "ian",
            "CI_JOB_TOKEN": "job-token-not-usable",
            "GITLAB_TOKEN": token,
        }
        if self.mr_iid is not None:
            env["CI_MERGE_REQUEST_IID"] = str(self.mr_iid)
            env["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"] = self.target_branch
            if self.merged_results:
                env["CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"] = self.commit
        return env

    def routes(self) -> dict[tuple[str, str], tuple[int, Any]]:
        p = self.project
        sha = MERGE if self.merged_results else self.commit
        routes: dict[tuple[str, str], tuple[int, Any]] = {}
        mr = fixture(
            "merge_request",
            iid=self.mr_iid or 42,
            state=self.mr_state,
            sha=self.commit,
            author=user(self.author, 11),
            target_branch=self.target_branch,
        )
        if self.mr_iid is not None:
            mrp = f"{p}/merge_requests/{self.mr_iid}"
            routes["GET", mrp] = (200, mr)
            approved_by = [
                {"user": user(u), **({"approved_at": at} if at else {})} for u, at in self.approvals
            ]
            routes["GET", f"{mrp}/approvals"] = (
                (200, fixture("approvals", iid=self.mr_iid, approved_by=approved_by))
                if self.approvals_status == 200
                else (self.approvals_status, {"message": f"{self.approvals_status} Not Found"})
            )
            routes["GET", f"{mrp}/notes"] = (
                200,
                [self._note(i, s) for i, s in enumerate(self.signoffs)],
            )
        routes["GET", f"{p}/repository/commits/{sha}/merge_requests"] = (
            200,
            [mr] if self.mr_iid is not None else [],
        )
        routes["GET", f"{p}/approvals"] = (
            (200, fixture("project_approvals", reset_approvals_on_push=self.reset_on_push))
            if self.reset_on_push is not None
            else (404, {"message": "404 Not Found"})
        )
        jobs = [
            fixture(
                "job",
                id=5000 + i,
                name=n,
                status=s,
                finished_at=at,
                started_at=at,
                created_at=at,
                web_url=f"{BASE}/acme/fraud-model/-/jobs/{5000 + i}",
            )
            for i, (n, s, at) in enumerate(self.jobs)
        ]
        routes["GET", f"{p}/pipelines/{self.pipeline_id}/jobs"] = (200, jobs)
        statuses = [
            fixture(
                "commit_status",
                id=6000 + i,
                name=n,
                status=s,
                sha=sha,
                finished_at=at,
                started_at=at,
                created_at=at,
            )
            for i, (n, s, at) in enumerate(self.statuses)
        ]
        # GitLab lists the pipeline's jobs among the commit's statuses too.
        statuses += [
            {
                **fixture("commit_status"),
                "id": j["id"],
                "name": j["name"],
                "status": j["status"],
                "target_url": j["web_url"],
            }
            for j in jobs
        ]
        routes["GET", f"{p}/repository/commits/{sha}/statuses"] = (200, statuses)
        routes["GET", f"{p}/repository/tree"] = (
            200,
            [fixture("tree_item", path=f, name=f.rsplit("/", 1)[-1]) for f in self.files],
        )
        for path, members in self.groups.items():
            gp = f"/api/v4/groups/{quote(path, safe='')}/members/all"
            routes["GET", gp] = (
                (members, {"message": f"{members} Group Not Found"})
                if isinstance(members, int)
                else (
                    200,
                    [
                        fixture("member", id=60 + i, username=u, name=u.title())
                        for i, u in enumerate(members)
                    ],
                )
            )
        routes["GET", f"{p}/deployments"] = (
            (200, [d.json(i, detail=False) for i, d in enumerate(self.deployments)])
            if self.deployments_status == 200
            else (self.deployments_status, {"message": f"{self.deployments_status} Forbidden"})
        )
        for i, d in enumerate(self.deployments):
            routes["GET", f"{p}/deployments/{410 + i}"] = (
                (200, d.json(i, detail=True))
                if d.detail_status == 200
                else (d.detail_status, {"message": f"{d.detail_status} Not found"})
            )
        raw = f"{p}/repository/files/{quote(self.sop_path, safe='')}/raw"
        routes["GET", raw] = (
            (200, self.sop_text)
            if self.sop_text is not None
            else (404, {"message": "404 File Not Found"})
        )
        return routes

    def _note(self, index: int, s: Signoff) -> dict[str, Any]:
        return fixture(
            "note",
            id=300 + index,
            body=s.text,
            author=user(s.user, 30 + index),
            created_at=s.at,
            updated_at=s.edited_at or s.at,
            system=s.system,
            noteable_iid=self.mr_iid,
        )


def register(rsps: responses.RequestsMock, situation: Situation, base: str = BASE) -> None:
    """Register ``situation``'s routes (one page each) with ``rsps``."""
    for (method, path), (status, body) in situation.routes().items():
        if isinstance(body, list):
            rsps.add_callback(method, f"{base}{path}", callback=_listing(path, status, body))
        elif isinstance(body, str):
            rsps.add(method, f"{base}{path}", body=body, status=status, content_type="text/plain")
        else:
            rsps.add(method, f"{base}{path}", json=body, status=status)


def _listing(path: str, status: int, body: list[Any]) -> Any:
    """A ``responses`` callback answering a listing as GitLab filters it by the query."""

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        return status, {"Content-Type": "application/json"}, json.dumps(filtered(path, query, body))

    return answer


def stub_for(situation: Situation, **options: Any) -> GitLabStub:
    """A :class:`GitLabStub` serving ``situation`` (start it with ``gitlab_stub.serve``)."""
    return GitLabStub(routes=situation.routes(), **options)
