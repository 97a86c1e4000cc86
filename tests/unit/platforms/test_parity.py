"""Parity: one SOP, one logical situation, two platforms, the same decision.

Each case of :data:`CASES` is a platform-neutral :class:`World` (review approvals with the
commit they approved, sign-off comments, CI jobs, commit statuses, group membership, files).
It is turned into GitHub's answers (``github_situation``) and GitLab's answers
(``gitlab_fixtures``), both gatherers run against them on mocked HTTP, and the evaluator
must reach the expected decision and state from either snapshot. The two snapshots must
also agree once platform-specific details are normalised (:func:`normal`).

Where the platforms legitimately differ, the translation says so:

- GitLab review approvals carry the MR head only when the project removes approvals on push
  (``reset_approvals_on_push``); otherwise their sha is ``null`` and fresh rules never count
  them. The GitLab side here resets on push, so an approval of an older commit is simply
  gone from GitLab's answer, while GitHub lists it with the older ``commit_id``.
- A CI job is a check run of app ``github-actions`` on GitHub and a ``gitlab-ci`` job on
  GitLab; commit statuses are app ``status`` on both.
- GitHub lists only the latest check run per name (``filter=latest``); GitLab lists retried
  jobs too (``include_retried``), and the evaluator keeps the latest.
- Bots: GitHub App logins end in ``[bot]``; GitLab's group/project access-token bots are
  ``group_<id>_bot_<hex>`` users, real members of their group: the GitLab adapter writes
  them with the ``[bot]`` suffix so that the same rule excludes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses

from sopgate.evaluate import evaluate
from sopgate.facts import CheckState, Facts
from sopgate.platforms import github, gitlab
from sopgate.sop.load import parse_sop
from tests.unit.platforms import github_situation as gh
from tests.unit.platforms.gitlab import gitlab_fixtures as gl

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
HEAD = gh.HEAD
OLD = "1111111111111111111111111111111111111111"
assert gl.HEAD == HEAD

# One SOP for both platforms: review approvals (one from a group-defined role), sign-offs on
# a decision step, jobs, a check pinned to commit statuses, evidence. The group name is a
# GitHub org/team and a GitLab group path at once.
SOP = """\
sopgate: 1
name: Parity release
scope: {system: fraud-scoring, environments: [staging, production]}
roles:
  data-science: {users: [alice]}
  security: {users: [sec-bob, sec-carol]}
  release-managers: {users: [rita, rob]}
  sre: {groups: [acme/sre]}
steps:
  - id: model-validation
    owner: data-science
    needs: []
    checks: [model-eval]
    evidence: [docs/model-card.md, reports/validation/*.json]
  - id: security-review
    owner: security
    needs: []
    approvals: [{role: security, count: 1}]
    checks: [{name: dependency-scan, app: status}]
  - id: staging
    owner: sre
    needs: [model-validation, security-review]
    environment: staging
    approvals: [{role: sre, count: 1}]
    jobs: [deploy-staging]
    rollback: Redeploy the previous model version to staging.
  - id: go-no-go
    type: decision
    owner: release-managers
    approvals:
      - {role: release-managers, count: 1, source: signoff}
      - {role: sre, count: 1, source: signoff}
    separate_from: [security-review]
  - id: production
    owner: sre
    environment: production
    jobs: [deploy-production]
    rollback: Redeploy the previous model version.
"""
LOADED = parse_sop(SOP, path=".sopgate.yml", today=NOW.date())


# -- the platform-neutral situation ----------------------------------------------------------


@dataclass(frozen=True)
class Review:
    """A review approval of ``on`` (the deployed commit unless said otherwise)."""

    user: str
    at: str
    on: str = HEAD


@dataclass(frozen=True)
class Signoff:
    user: str
    text: str  # "/sop approve go-no-go"
    at: str
    edited: bool = False


@dataclass(frozen=True)
class Run:
    """A CI job or a commit status of the deployed commit."""

    name: str
    state: CheckState
    at: str


@dataclass(frozen=True)
class World:
    reviews: tuple[Review, ...] = ()
    signoffs: tuple[Signoff, ...] = ()
    jobs: tuple[Run, ...] = ()
    statuses: tuple[Run, ...] = ()
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    bots: frozenset[str] = frozenset()  # automation accounts among the users above
    author: str = "dave"
    initiator: str = "ian"

    def github_login(self, name: str) -> str:
        return f"{name}[bot]" if name in self.bots else name

    def gitlab_login(self, name: str) -> str:
        # A group access token's bot user, as GitLab names it (group id 12).
        digest = hashlib.md5(name.encode()).hexdigest()
        return f"group_12_bot_{digest}" if name in self.bots else name


# -- one world, two platforms ----------------------------------------------------------------

GITHUB_RUN: dict[str, tuple[str, str | None]] = {
    "success": ("completed", "success"),
    "failure": ("completed", "failure"),
    "skipped": ("completed", "skipped"),
    "cancelled": ("completed", "cancelled"),
    "pending": ("in_progress", None),
}
GITHUB_STATUS = {"success": "success", "failure": "failure", "pending": "pending"}
GITLAB_STATUS = {
    "success": "success",
    "failure": "failed",
    "skipped": "skipped",
    "cancelled": "canceled",
    "pending": "running",
}


def _later(at: str, minutes: int = 5) -> str:
    t = datetime.fromisoformat(at.replace("Z", "+00:00")) + timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_github(world: World) -> gh.Situation:
    login = world.github_login
    latest: dict[str, Run] = {}
    for job in world.jobs:  # GitHub lists the latest check run per name (filter=latest)
        if job.name not in latest or job.at >= latest[job.name].at:
            latest[job.name] = job
    return gh.Situation(
        sop_text=SOP,
        author=world.author,
        actor=world.initiator,
        reviews=[gh.Review(login(r.user), "APPROVED", r.on, r.at) for r in world.reviews],
        comments=[
            gh.Comment(login(s.user), s.text, s.at, _later(s.at) if s.edited else None)
            for s in world.signoffs
        ],
        check_runs=[gh.CheckRun(j.name, *GITHUB_RUN[j.state], j.at) for j in latest.values()],
        statuses=[(s.name, GITHUB_STATUS[s.state], s.at) for s in world.statuses],
        teams={g: [login(u) for u in members] for g, members in world.groups.items()},
        files=list(world.files),
    )


def to_gitlab(world: World) -> gl.Situation:
    login = world.gitlab_login

    def ts(at: str) -> str:
        return at.replace("Z", ".000Z")

    return gl.Situation(
        sop_text=SOP,
        author=world.author,
        # With reset_approvals_on_push GitLab removes an approval when a commit is pushed:
        # an approval of an older commit is not in its answer at all.
        reset_on_push=True,
        approvals=[(login(r.user), ts(r.at)) for r in world.reviews if r.on == HEAD],
        signoffs=[
            gl.Signoff(login(s.user), s.text, ts(s.at), ts(_later(s.at)) if s.edited else None)
            for s in world.signoffs
        ],
        jobs=[(j.name, GITLAB_STATUS[j.state], ts(j.at)) for j in world.jobs],
        statuses=[(s.name, GITLAB_STATUS[s.state], ts(s.at)) for s in world.statuses],
        groups={g: [login(u) for u in members] for g, members in world.groups.items()},
        files=list(world.files),
    )


def gather_github(world: World, tmp_path: Path) -> Facts:
    checkout = tmp_path / "github"
    checkout.mkdir()
    (checkout / ".sopgate.yml").write_text(SOP)
    situation = to_github(world)
    env = situation.env(checkout, tmp_path)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        gh.register(rsps, situation)
        adapter = github.from_env(env, retry=github.RetryPolicy(sleep=lambda _: None))
        adapter.clock = lambda: NOW
        gathered = adapter.gather(sop_path=str(checkout / ".sopgate.yml"))
    assert (gathered.sop_text, gathered.proposed_sop_text) == (SOP, None)
    return gathered.facts


def gather_gitlab(world: World, tmp_path: Path) -> Facts:
    project_dir = tmp_path / "gitlab"
    project_dir.mkdir()
    (project_dir / ".sopgate.yml").write_text(SOP)
    situation = to_gitlab(world)
    env = {
        **situation.env(),
        "CI_PROJECT_DIR": str(project_dir),
        "GITLAB_USER_LOGIN": world.initiator,
    }
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        gl.register(rsps, situation)
        adapter = gitlab.from_env(
            env, policy=gitlab.RetryPolicy(sleep=lambda _: None), clock=lambda: NOW
        )
        gathered = adapter.gather(sop_path=str(project_dir / ".sopgate.yml"))
    assert (gathered.sop_text, gathered.proposed_sop_text) == (SOP, None)
    return gathered.facts


def normal(facts: Facts, neutral: Callable[[str], str]) -> dict[str, Any]:
    """What both platforms must agree on, with platform-specific details removed: logins
    mapped back to neutral names, the CI app called ``ci``, only the latest entry per check
    (GitLab lists retried jobs), and only reviews of the deployed commit (GitLab, resetting
    on push, no longer lists the others). URLs and notes are the platforms' own."""
    approvals = sorted(
        (
            (neutral(a.user), a.source, a.state, a.step, a.at, a.edited, a.reason)
            for a in facts.approvals or ()
            if a.source != "review" or a.sha == facts.commit
        ),
        key=repr,
    )
    latest: dict[tuple[str, str | None], tuple[datetime | None, str]] = {}
    for c in facts.checks or ():
        key = (c.name, "ci" if c.app == facts.ci_app else c.app)
        if key not in latest or (c.at or NOW) >= (latest[key][0] or NOW):
            latest[key] = (c.at, c.state)
    return {
        "commit": facts.commit,
        "change": (facts.change.id, facts.change.author) if facts.change else None,
        "initiator": facts.initiator,
        "approvals": approvals,
        "checks": sorted(latest.items(), key=repr),
        "files": sorted(facts.files or ()),
        "groups": {
            g: None if m is None else sorted(map(neutral, m)) for g, m in facts.groups.items()
        },
    }


# -- the table ---------------------------------------------------------------------------------

BASE = World(
    reviews=(
        Review("sec-bob", "2026-11-25T09:00:00Z"),
        Review("sre-sam", "2026-11-25T09:30:00Z"),
    ),
    signoffs=(
        Signoff("rita", "/sop approve go-no-go", "2026-11-26T08:00:00Z"),
        Signoff("sre-sue", "/sop approve go-no-go", "2026-11-26T08:15:00Z"),
    ),
    jobs=(
        Run("model-eval", "success", "2026-11-25T08:00:00Z"),
        Run("deploy-staging", "success", "2026-11-26T07:30:00Z"),
    ),
    statuses=(Run("dependency-scan", "success", "2026-11-25T08:30:00Z"),),
    groups={"acme/sre": ("sre-sam", "sre-sue")},
    files=("docs/model-card.md", "reports/validation/auc.json", "src/model.py"),
)


@dataclass(frozen=True)
class Case:
    id: str
    world: World
    target: str
    decision: str
    state: str


def _with(**changes: Any) -> World:
    return replace(BASE, **changes)


CASES = [
    Case("everything-approved", BASE, "go-no-go", "open", "done"),
    Case("everything-approved-production", BASE, "production", "open", "ready"),
    Case(
        "stale-review-approval",
        _with(reviews=(Review("sec-bob", "2026-11-24T09:00:00Z", on=OLD), BASE.reviews[1])),
        "security-review",
        "closed",
        "waiting",
    ),
    Case(
        "signoff-before-the-needed-step-was-done",
        _with(
            jobs=(BASE.jobs[0], Run("deploy-staging", "success", "2026-11-26T08:10:00Z")),
        ),
        "go-no-go",
        "closed",
        "waiting",
    ),
    Case(
        "needed-step-re-run-after-the-signoff",
        _with(jobs=(*BASE.jobs, Run("deploy-staging", "success", "2026-11-26T09:00:00Z"))),
        "go-no-go",
        "closed",
        "waiting",
    ),
    Case(
        "edited-signoff",
        _with(
            signoffs=(
                Signoff("rita", "/sop approve go-no-go", "2026-11-26T08:00:00Z", edited=True),
                BASE.signoffs[1],
            )
        ),
        "go-no-go",
        "closed",
        "waiting",
    ),
    Case(
        "reject-by-a-role-holder",
        _with(
            signoffs=(
                *BASE.signoffs,
                Signoff("rob", "/sop reject go-no-go latency regression", "2026-11-26T08:30:00Z"),
            )
        ),
        "go-no-go",
        "closed",
        "rejected",
    ),
    Case(
        "reject-by-someone-without-the-role",
        _with(
            signoffs=(
                *BASE.signoffs,
                Signoff("eve", "/sop reject go-no-go not convinced", "2026-11-26T08:30:00Z"),
            )
        ),
        "go-no-go",
        "open",
        "done",
    ),
    Case(
        "failed-job-of-a-needed-step",
        _with(jobs=(BASE.jobs[0], Run("deploy-staging", "failure", "2026-11-26T07:30:00Z"))),
        "go-no-go",
        "closed",
        "blocked",
    ),
    Case(
        "failed-job-of-the-step-itself",
        _with(jobs=(BASE.jobs[0], Run("deploy-staging", "failure", "2026-11-26T07:30:00Z"))),
        "staging",
        "open",  # its own jobs do not enter its gate: a failed deploy can be retried
        "failed",
    ),
    Case(
        "retried-job-succeeded",
        _with(
            jobs=(
                BASE.jobs[0],
                Run("deploy-staging", "failure", "2026-11-26T07:00:00Z"),
                Run("deploy-staging", "success", "2026-11-26T07:30:00Z"),
            )
        ),
        "go-no-go",
        "open",
        "done",
    ),
    Case(
        "bot-signoff-does-not-count",
        _with(
            signoffs=(
                BASE.signoffs[0],
                Signoff("deployer", "/sop approve go-no-go", "2026-11-26T08:15:00Z"),
            ),
            groups={"acme/sre": ("sre-sam", "sre-sue", "deployer")},
            bots=frozenset({"deployer"}),
        ),
        "go-no-go",
        "closed",
        "waiting",
    ),
    Case(
        "group-member-review-counts",
        _with(jobs=BASE.jobs[:1]),
        "staging",
        "open",
        "ready",
    ),
    Case(
        "review-by-a-non-member-does-not-count",
        _with(
            reviews=(BASE.reviews[0], Review("mallory", "2026-11-25T09:30:00Z")), jobs=BASE.jobs[:1]
        ),
        "staging",
        "closed",
        "waiting",
    ),
    Case(
        "evidence-missing",
        _with(files=("docs/model-card.md", "src/model.py")),
        "model-validation",
        "closed",
        "waiting",
    ),
    Case(
        "evidence-missing-blocks-later-steps",
        _with(files=("docs/model-card.md",)),
        "staging",
        "closed",
        "blocked",
    ),
    Case(
        "status-check-pending",
        _with(statuses=(Run("dependency-scan", "pending", "2026-11-25T08:30:00Z"),)),
        "security-review",
        "closed",
        "waiting",
    ),
    Case(
        "status-check-failed",
        _with(statuses=(Run("dependency-scan", "failure", "2026-11-25T08:30:00Z"),)),
        "security-review",
        "closed",
        "failed",
    ),
    Case(
        "author-review-does-not-count",
        _with(
            reviews=(BASE.reviews[0], Review("dave", "2026-11-25T09:30:00Z")),
            groups={"acme/sre": ("sre-sam", "sre-sue", "dave")},
            jobs=BASE.jobs[:1],
        ),
        "staging",
        "closed",
        "waiting",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_situation_same_decision(case: Case, tmp_path: Path) -> None:
    world = case.world
    snapshots = {
        "github": gather_github(world, tmp_path),
        "gitlab": gather_gitlab(world, tmp_path),
    }
    # Logins back to neutral names (a "[bot]" suffix however it got there, GitLab's bot users).
    back = {world.gitlab_login(u): u for u in world.bots}

    def neutral(login: str) -> str:
        name = login.removesuffix("[bot]")
        return back.get(name, name)

    normalised = {p: normal(f, neutral) for p, f in snapshots.items()}
    assert normalised["github"] == normalised["gitlab"]

    outcomes = {}
    for platform, facts in snapshots.items():
        evaluation = evaluate(LOADED, facts, case.target)
        outcomes[platform] = (evaluation.decision, evaluation.by_key[case.target].state)
    expected = (case.decision, case.state)
    for platform, outcome in outcomes.items():
        assert outcome == expected, platform


def test_the_table_covers_both_decisions_and_every_state() -> None:
    assert {c.decision for c in CASES} == {"open", "closed"}
    assert {c.state for c in CASES} == {"rejected", "failed", "blocked", "waiting", "ready", "done"}
