"""GitLab answers for a logical situation, built from the JSON fixtures in ``fixtures/``.

One :class:`Situation` (approvals, sign-offs, jobs, statuses, groups, files) becomes the
routes GitLab would answer, ``(METHOD, /api/v4/path) -> (status, body)``, usable with
``responses`` (:func:`register`) and with the local stub (:func:`stub_for`). A parity test
can build the same situation for GitHub and compare the Facts both adapters gather.
"""

from __future__ import annotations

import copy
import hashlib
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
#: ``Situation.head_sop``/``default_sop``: the same text as the target branch's SOP.
SAME = "<the target branch's SOP>"
TOKEN = "glpat-CANARY-do-not-print-0123456789"


def tip(branch: str) -> str:
    """The commit id the branches API answers for ``branch`` (40 hex digits, never ``HEAD``
    or ``MERGE``): the SOP of a branch is read at this commit, never by the branch's name."""
    return hashlib.sha1(f"tip of {branch}".encode()).hexdigest()


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
    """What is true on GitLab; defaults: a merge request pipeline of MR !42 by dave, head
    ``HEAD`` (one commit by dave, pushed 2026-11-24T08:00Z), target and default branch
    ``main``, nothing else."""

    project_id: str = "7"
    commit: str = HEAD
    mr_iid: int | None = 42
    mr_state: str = "opened"
    author: str = "dave"
    initiator: str = "ian"  # GITLAB_USER_LOGIN, the user of the pipeline's jobs
    pipeline_id: int = 99
    target_branch: str = "main"
    reset_on_push: bool | None = True  # None: the settings endpoint answers 404 (Free)
    committers_approval_disabled: bool = True
    approvals: list[tuple[str, str | None]] = field(default_factory=list)  # (user, at)
    approvals_status: int = 200
    signoffs: list[Signoff] = field(default_factory=list)
    jobs: list[tuple[str, str, str]] = field(default_factory=list)  # (name, status, at)
    bridges: list[tuple[str, str, str]] = field(default_factory=list)  # trigger jobs
    statuses: list[tuple[str, str, str]] = field(default_factory=list)
    # path -> members, or the error status GitLab answers; default: the example SOP's groups
    groups: dict[str, list[str] | int] = field(
        default_factory=lambda: {"acme/ds": [], "acme/ml-platform": [], "acme/sre": []}
    )
    files: list[str] = field(default_factory=list)
    sop_text: str | None = None  # on the target branch; None: 404
    head_sop: str | None = SAME  # at the deployed commit (the MR head); None: 404
    default_sop: str | None = SAME  # on the default branch; None: 404
    target_tree_status: int = 200  # what the target branch's tree listing answers
    sop_path: str = ".sopgate.yml"
    merged_results: bool = False  # CI_COMMIT_SHA is MERGE, the head is ``commit``
    deployments: list[Deployment] = field(default_factory=list)  # newest first
    deployments_status: int = 200  # what the deployments listing answers
    # A branch or tag pipeline (no CI_MERGE_REQUEST_* variables) when either is set.
    branch: str | None = None
    tag: str | None = None
    protected: bool = False  # the branch or tag, as the API reports it
    default_branch: str = "main"
    ref_status: int = 200  # what /repository/branches/:name or /tags/:name answers
    tip_status: int = 200  # what /repository/branches/:name answers for the target/default
    # What a read by name (``ref=main``) answers when a tag of the target or default
    # branch's name exists (git prefers refs/tags/NAME); SAME: no such tag.
    tag_sop: str | None = SAME
    # (sha, author e-mail, committer e-mail) of the MR's commits (None: ``commit``, by
    # dave); e-mail -> users found
    commits: list[tuple[str, str | None, str | None]] | None = None
    commits_status: int = 200
    users: dict[str, list[str]] = field(default_factory=lambda: {"dave@example.com": ["dave"]})
    # (head_commit_sha, created_at) of the MR's diff versions, newest first (None: one
    # version, ``commit`` pushed 2026-11-24T08:00Z)
    versions: list[tuple[str, str]] | None = None
    versions_status: int = 200
    documents: dict[str, str | int] = field(default_factory=dict)  # path -> raw text or status

    @property
    def project(self) -> str:
        return f"/api/v4/projects/{quote(self.project_id, safe='')}"

    @property
    def mr_commits(self) -> list[tuple[str, str | None, str | None]]:
        if self.commits is None:
            return [(self.commit, "dave@example.com", "dave@example.com")]
        return self.commits

    @property
    def mr_versions(self) -> list[tuple[str, str]]:
        if self.versions is None:
            return [(self.commit, "2026-11-24T08:00:00.000Z")]
        return self.versions

    @property
    def mr_pipeline(self) -> bool:
        return self.mr_iid is not None and self.branch is None and self.tag is None

    @property
    def deployed(self) -> str:
        return MERGE if self.merged_results else self.commit

    def env(self, url: str = BASE, token: str = TOKEN) -> dict[str, str]:
        """GitLab CI's predefined variables for the job that runs ``sopgate check``."""
        env = {
            "GITLAB_CI": "true",
            "CI_API_V4_URL": f"{url}/api/v4",
            "CI_SERVER_URL": url,
            "CI_PROJECT_ID": self.project_id,
            "CI_PROJECT_PATH": "acme/fraud-model",
            "CI_COMMIT_SHA": self.deployed,
            "CI_DEFAULT_BRANCH": self.default_branch,
            "CI_PIPELINE_ID": str(self.pipeline_id),
            "CI_JOB_NAME": "deploy-staging",
            "CI_JOB_URL": f"{url}/acme/fraud-model/-/jobs/5002",
            "GITLAB_USER_LOGIN": self.initiator,
            "CI_JOB_TOKEN": "job-token-not-usable",
            "GITLAB_TOKEN": token,
        }
        if self.mr_pipeline:
            env["CI_PIPELINE_SOURCE"] = "merge_request_event"
            env["CI_COMMIT_REF_NAME"] = "retrain-2026-11"
            env["CI_MERGE_REQUEST_IID"] = str(self.mr_iid)
            env["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"] = self.target_branch
            if self.merged_results:
                env["CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"] = self.commit
        elif self.tag is not None:
            env.update(
                CI_PIPELINE_SOURCE="push", CI_COMMIT_REF_NAME=self.tag, CI_COMMIT_TAG=self.tag
            )
        elif self.branch is not None:
            env.update(
                CI_PIPELINE_SOURCE="push",
                CI_COMMIT_REF_NAME=self.branch,
                CI_COMMIT_BRANCH=self.branch,
            )
        return env

    def merge_request(self) -> dict[str, Any]:
        return fixture(
            "merge_request",
            iid=self.mr_iid or 42,
            state=self.mr_state,
            sha=self.commit,
            author=user(self.author, 11),
            target_branch=self.target_branch,
        )

    def routes(self) -> dict[tuple[str, str], tuple[int, Any]]:
        """Every answer by path alone (what the local stub serves): answers that depend on
        the query (a file at a ref, a user search) are those of the target branch's SOP and
        of the first commit's author; :func:`register` serves them by query too."""
        p = self.project
        sha = self.deployed
        routes: dict[tuple[str, str], tuple[int, Any]] = {}
        mr = self.merge_request()
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
            routes["GET", f"{mrp}/commits"] = (
                (
                    200,
                    [
                        fixture(
                            "mr_commit", id=c, short_id=c[:8], author_email=a, committer_email=m
                        )
                        for c, a, m in self.mr_commits
                    ],
                )
                if self.commits_status == 200
                else (self.commits_status, {"message": f"{self.commits_status} Forbidden"})
            )
            routes["GET", f"{mrp}/versions"] = (
                (
                    200,
                    [
                        fixture(
                            "mr_version",
                            id=110 + len(self.mr_versions) - i,
                            head_commit_sha=h,
                            created_at=at,
                        )
                        for i, (h, at) in enumerate(self.mr_versions)
                    ],
                )
                if self.versions_status == 200
                else (self.versions_status, {"message": f"{self.versions_status} Forbidden"})
            )
        routes["GET", f"{p}/repository/commits/{sha}/merge_requests"] = (
            200,
            [mr] if self.mr_iid is not None else [],
        )
        routes["GET", f"{p}/approvals"] = (
            (
                200,
                fixture(
                    "project_approvals",
                    reset_approvals_on_push=self.reset_on_push,
                    merge_requests_disable_committers_approval=self.committers_approval_disabled,
                ),
            )
            if self.reset_on_push is not None
            else (404, {"message": "404 Not Found"})
        )
        routes["GET", p] = (200, fixture("project", default_branch=self.default_branch))
        for tipped in {self.target_branch, self.default_branch}:
            routes["GET", f"{p}/repository/branches/{quote(tipped, safe='')}"] = (
                (200, self.branch_answer(tipped))
                if self.tip_status == 200
                else (self.tip_status, {"message": f"{self.tip_status} Branch Not Found"})
            )
        for kind, name in (("branches", self.branch), ("tags", self.tag)):
            if name is not None:
                ref = fixture(
                    "branch" if kind == "branches" else "tag",
                    name=name,
                    protected=self.protected,
                    **(
                        {"default": name == self.default_branch, "commit": self.tip(name)}
                        if kind == "branches"
                        else {}
                    ),
                )
                routes["GET", f"{p}/repository/{kind}/{quote(name, safe='')}"] = (
                    (200, ref)
                    if self.ref_status == 200
                    else (self.ref_status, {"message": f"{self.ref_status} Not Found"})
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
                user=user(self.initiator),  # the pipeline's user runs its jobs
            )
            for i, (n, s, at) in enumerate(self.jobs)
        ]
        bridges = [
            fixture(
                "bridge",
                id=5100 + i,
                name=n,
                status=s,
                finished_at=at,
                started_at=at,
                created_at=at,
                web_url=f"{BASE}/acme/fraud-model/-/jobs/{5100 + i}",
            )
            for i, (n, s, at) in enumerate(self.bridges)
        ]
        routes["GET", f"{p}/pipelines/{self.pipeline_id}/jobs"] = (200, jobs)
        routes["GET", f"{p}/pipelines/{self.pipeline_id}/bridges"] = (200, bridges)
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
        # GitLab lists the pipeline's jobs and bridges among the commit's statuses too.
        statuses += [
            {
                **fixture("commit_status"),
                "id": j["id"],
                "name": j["name"],
                "status": j["status"],
                "target_url": j["web_url"],
            }
            for j in jobs + bridges
        ]
        routes["GET", f"{p}/repository/commits/{sha}/statuses"] = (200, statuses)
        routes["GET", f"{p}/repository/tree"] = (200, self.tree())
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
        routes["GET", self.raw_path(self.sop_path)] = _text(self.sop_text)
        for path, content in self.documents.items():
            routes["GET", self.raw_path(path)] = (
                (200, content) if isinstance(content, str) else (content, {"message": "404"})
            )
        first = next((a for _, a, _ in self.mr_commits if a), None)
        routes["GET", "/api/v4/users"] = (200, self.search(first or ""))
        return routes

    def tip(self, name: str) -> dict[str, Any]:
        """The ``commit`` of the branches API's answer for ``name``."""
        return dict(_load("branch")["commit"], id=tip(name), short_id=tip(name)[:8])

    def branch_answer(self, name: str) -> dict[str, Any]:
        return fixture(
            "branch",
            name=name,
            protected=name == self.default_branch,
            default=name == self.default_branch,
            commit=self.tip(name),
        )

    def raw_path(self, path: str) -> str:
        return f"{self.project}/repository/files/{quote(path, safe='')}/raw"

    def tree(self, ref: str | None = None, folder: str = "") -> list[dict[str, Any]]:
        """The recursive tree at the deployed commit, or the listing of ``folder`` on the
        branch ``ref``."""
        if ref is None or ref in (self.commit, self.deployed):
            paths = self.files
        else:
            paths = ["README.md"]
            if self._sop_at(ref) is not None:
                paths.append(self.sop_path)
            paths = [p for p in paths if p.rpartition("/")[0] == folder]
        return [fixture("tree_item", path=f, name=f.rsplit("/", 1)[-1], type="blob") for f in paths]

    def _sop_at(self, ref: str) -> str | None:
        head = self.sop_text if self.head_sop == SAME else self.head_sop
        default = self.sop_text if self.default_sop == SAME else self.default_sop
        if ref in (self.commit, self.deployed):
            return head
        if ref == tip(self.target_branch):
            return self.sop_text
        if ref == tip(self.default_branch):
            return default
        if ref in (self.target_branch, self.default_branch) and self.tag_sop != SAME:
            return self.tag_sop  # the tag named like the branch: what a read by name gets
        if ref == self.target_branch:
            return self.sop_text
        if ref == self.default_branch:
            return default
        return None

    def sop_at(self, ref: str) -> tuple[int, Any]:
        return _text(self._sop_at(ref))

    def search(self, email: str) -> list[dict[str, Any]]:
        found = self.users.get(email.lower(), [])
        return [fixture("user_search", id=200 + i, username=u) for i, u in enumerate(found)]

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


def _text(text: str | None) -> tuple[int, Any]:
    return (200, text) if text is not None else (404, {"message": "404 File Not Found"})


def register(rsps: responses.RequestsMock, situation: Situation, base: str = BASE) -> None:
    """Register ``situation``'s routes (one page each) with ``rsps``; files by their
    ``ref``, trees by ``ref`` and ``path``, user searches by ``search``."""
    by_query = {
        situation.raw_path(situation.sop_path): lambda q: situation.sop_at(q.get("ref", "")),
        f"{situation.project}/repository/tree": lambda q: (
            (situation.target_tree_status, {"message": "404 Tree Not Found"})
            if "recursive" not in q and situation.target_tree_status != 200
            else (200, situation.tree(q.get("ref"), q.get("path", "")))
        ),
        "/api/v4/users": lambda q: (200, situation.search(q.get("search", ""))),
    }
    for (method, path), (status, body) in situation.routes().items():
        if path in by_query:
            rsps.add_callback(method, f"{base}{path}", callback=_by_query(by_query[path]))
        elif isinstance(body, list):
            rsps.add_callback(method, f"{base}{path}", callback=_listing(path, status, body))
        elif isinstance(body, str):
            rsps.add(method, f"{base}{path}", body=body, status=status, content_type="text/plain")
        else:
            rsps.add(method, f"{base}{path}", json=body, status=status)


def _by_query(answer: Any) -> Any:
    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        status, body = answer(query)
        if isinstance(body, str):
            return status, {"Content-Type": "text/plain"}, body
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    return callback


def _listing(path: str, status: int, body: list[Any]) -> Any:
    """A ``responses`` callback answering a listing as GitLab filters it by the query."""

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        return status, {"Content-Type": "application/json"}, json.dumps(filtered(path, query, body))

    return answer


def stub_for(situation: Situation, **options: Any) -> GitLabStub:
    """A :class:`GitLabStub` serving ``situation`` (start it with ``gitlab_stub.serve``)."""
    return GitLabStub(routes=situation.routes(), **options)
