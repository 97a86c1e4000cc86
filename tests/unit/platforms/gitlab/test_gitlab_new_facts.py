"""The facts this wave adds, as the GitLab gather finds them (DESIGN.md, "Where the new
facts come from"): commits and their contributors, ``change.pushed_at``, trigger jobs,
evidence documents, the committers-approval setting, and the initiator of sync runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses

from sopgate.errors import PlatformError
from sopgate.evaluate import evaluate
from sopgate.facts import Check, Commit
from sopgate.platforms import Gathered
from sopgate.platforms.gitlab import RetryPolicy, from_env
from sopgate.platforms.gitlab.documents import MAX_DOCUMENTS
from sopgate.sop.load import parse_sop
from tests.unit.platforms.gitlab.gitlab_fixtures import BASE, HEAD, Signoff, Situation, register

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
OLD = "1111111111111111111111111111111111111111"
C2 = "2222222222222222222222222222222222222222"
C3 = "3333333333333333333333333333333333333333"

SOP = """\
sopgate: 1
name: Fraud-scoring model release
scope:
  system: fraud-scoring
  environments: [staging, production]
  regions: [eu-west, us-east]
roles:
  sre: {users: [sre-sam]}
steps:
  - id: staging
    owner: sre
    needs: []
    environment: staging
    jobs: [deploy-staging]
    evidence:
      - path: reports/eval.json
        require: {"metrics.auc": ">= 0.82"}
      - docs/model-card.md
    rollback: Redeploy the previous model.
  - id: canary
    owner: sre
    for_each: region
    needs: [staging]
    evidence:
      - path: "reports/{region}/fairness.yml"
        require: {"max_gap": "<= 0.05"}
  - id: production
    owner: sre
    needs: [canary]
    environment: production
    jobs: [deploy-production]
    rollback: Redeploy the previous model.
"""


def run(situation: Situation, tmp_path: Path, *, sync: bool = False) -> tuple[Gathered, list[str]]:
    env = {**situation.env(), "CI_PROJECT_DIR": str(tmp_path)}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register(rsps, situation)
        adapter = from_env(env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: NOW)
        gathered = adapter.gather(sop_path=str(tmp_path / ".sopgate.yml"), sync=sync)
        sent = [str(c.request.url).removeprefix(f"{BASE}/api/v4") for c in rsps.calls]
    return gathered, sent


def case(**changes: Any) -> Situation:
    options: dict[str, Any] = {"sop_text": SOP, "groups": {}}
    options.update(changes)
    return Situation(**options)


# -- commits and contributors ------------------------------------------------------------


def test_commit_emails_map_to_the_one_user_gitlab_finds(tmp_path: Path) -> None:
    situation = case(
        commits=[
            (OLD, "Dave@Example.com", "dave@example.com"),
            (C2, "erin@example.com", "noreply@example.com"),
            (HEAD, "dave@example.com", "twins@example.com"),
        ],
        users={
            "dave@example.com": ["dave"],
            "erin@example.com": ["erin"],
            "twins@example.com": ["tom", "tim"],
        },
    )
    gathered, sent = run(situation, tmp_path)
    assert gathered.facts.commits == (
        Commit(
            sha=OLD, author="dave", committer="dave", at=datetime(2026, 11, 24, 7, 59, tzinfo=UTC)
        ),
        Commit(sha=C2, author="erin", committer=None, at=datetime(2026, 11, 24, 7, 59, tzinfo=UTC)),
        Commit(
            sha=HEAD, author="dave", committer=None, at=datetime(2026, 11, 24, 7, 59, tzinfo=UTC)
        ),
    )
    assert (
        "commit e-mails not matched to exactly one GitLab user, so they exclude nobody: "
        f"{C2[:12]} (committer: 0 users found), {HEAD[:12]} (committer: 2 users found)"
    ) in gathered.facts.notes
    # One search per distinct e-mail, compared by ASCII case.
    searches = sorted(u for u in sent if u.startswith("/users"))
    assert [s.split("search=")[1].split("&")[0] for s in searches] == [
        "dave%40example.com",
        "erin%40example.com",
        "noreply%40example.com",
        "twins%40example.com",
    ]


def test_email_lookups_are_cached_for_the_run(tmp_path: Path) -> None:
    situation = case()
    env = {**situation.env(), "CI_PROJECT_DIR": str(tmp_path)}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register(rsps, situation)
        adapter = from_env(env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: NOW)
        adapter.gather(sop_path=str(tmp_path / ".sopgate.yml"))
        adapter.gather(sop_path=str(tmp_path / ".sopgate.yml"))  # --wait polls again
        searches = [c for c in rsps.calls if "/api/v4/users" in str(c.request.url)]
    assert len(searches) == 1


def test_a_bot_committer_keeps_its_bot_suffix(tmp_path: Path) -> None:
    situation = case(
        commits=[(HEAD, "dave@example.com", "bot@noreply.example.com")],
        users={"dave@example.com": ["dave"], "bot@noreply.example.com": ["project_7_bot_1a2b"]},
    )
    commits = run(situation, tmp_path)[0].facts.commits
    assert commits is not None and commits[0].committer == "project_7_bot_1a2b[bot]"


def test_unreadable_commits_are_unknown(tmp_path: Path) -> None:
    gathered, _ = run(case(commits_status=403), tmp_path)
    assert gathered.facts.commits is None
    assert (
        "GitLab answered 403 to the commits of !42: the change's contributors are unknown, "
        "so rules that exclude contributors count nobody"
    ) in gathered.facts.notes


def test_a_forbidden_user_search_leaves_the_login_unknown(tmp_path: Path) -> None:
    situation = case()
    env = {**situation.env(), "CI_PROJECT_DIR": str(tmp_path)}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add("GET", f"{BASE}/api/v4/users", status=403, json={"message": "403 Forbidden"})
        register(rsps, situation)
        adapter = from_env(env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: NOW)
        facts = adapter.gather(sop_path=str(tmp_path / ".sopgate.yml")).facts
    assert facts.commits is not None
    assert (facts.commits[0].author, facts.commits[0].committer) == (None, None)
    assert (
        "commit e-mails not matched to exactly one GitLab user, so they exclude nobody: "
        f"{HEAD[:12]} (author: GitLab answered 403 to the user search), "
        f"{HEAD[:12]} (committer: GitLab answered 403 to the user search)"
    ) in facts.notes


def test_committers_may_approve_is_noted(tmp_path: Path) -> None:
    gathered, _ = run(case(committers_approval_disabled=False), tmp_path)
    assert gathered.facts.notes == (
        "the project lets people who added commits approve the merge request "
        "(merge_requests_disable_committers_approval is off), and sopgate recognises "
        'contributors only through their e-mails; turn on "Prevent approvals by users who '
        'add commits" in Settings > Merge requests',
    )
    assert run(case(), tmp_path)[0].facts.notes == ()


# -- change.pushed_at ------------------------------------------------------------------


def test_pushed_at_is_the_newest_diff_version_of_the_head(tmp_path: Path) -> None:
    situation = case(
        versions=[
            (HEAD, "2026-11-26T07:00:00.000Z"),  # pushed again after a force-push back
            (OLD, "2026-11-25T07:00:00.000Z"),
            (HEAD, "2026-11-24T08:00:00.000Z"),
        ]
    )
    change = run(situation, tmp_path)[0].facts.change
    assert change is not None and change.pushed_at == datetime(2026, 11, 26, 7, tzinfo=UTC)


def test_pushed_at_is_unknown_when_no_version_has_the_head(tmp_path: Path) -> None:
    gathered, _ = run(case(versions=[(OLD, "2026-11-25T07:00:00.000Z")]), tmp_path)
    change = gathered.facts.change
    assert change is not None and change.pushed_at is None and change.push_unknown
    assert "pushed_at" in gathered.facts.to_data()["change"]  # always written on an MR
    assert gathered.facts.notes == (
        f"no diff version of !42 has head {HEAD[:12]}: when it was pushed is unknown, so "
        "fresh sign-offs count nobody",
    )


def test_pushed_at_is_unknown_when_versions_are_hidden(tmp_path: Path) -> None:
    gathered, _ = run(case(versions_status=404), tmp_path)
    assert gathered.facts.change is not None and gathered.facts.change.push_unknown
    assert gathered.facts.notes == (
        f"GitLab answered 404 to the diff versions of !42: when {HEAD[:12]} was pushed is "
        "unknown, so fresh sign-offs count nobody",
    )


def test_a_server_error_on_versions_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(
        PlatformError, match="GitLab kept failing GET /projects/7/merge_requests/42/versions"
    ):
        run(case(versions_status=500), tmp_path)


# -- trigger jobs and job times -----------------------------------------------------------


def test_trigger_jobs_are_jobs(tmp_path: Path) -> None:
    situation = case(
        jobs=[("deploy-staging", "success", "2026-11-26T07:30:00.000Z")],
        bridges=[("deploy-production", "success", "2026-11-26T09:00:00.000Z")],
    )
    gathered, sent = run(situation, tmp_path)
    checks = gathered.facts.checks or ()
    assert (
        Check(
            name="deploy-production",
            app="gitlab-ci",
            state="success",
            at=datetime(2026, 11, 26, 9, tzinfo=UTC),
            url=f"{BASE}/acme/fraud-model/-/jobs/5100",
        )
        in checks
    )
    assert [c.name for c in checks] == ["deploy-staging", "deploy-production"]  # not twice
    assert "/projects/7/pipelines/99/bridges?per_page=100" in sent


def test_a_failed_trigger_job_fails_its_step(tmp_path: Path) -> None:
    situation = case(bridges=[("deploy-staging", "failed", "2026-11-26T09:00:00.000Z")])
    gathered, _ = run(situation, tmp_path)
    evaluation = evaluate(parse_sop(SOP, path=".sopgate.yml"), gathered.facts, "production")
    assert evaluation.by_key["staging"].state == "failed"
    assert evaluation.decision == "closed"


def test_a_queued_rerun_hides_an_older_success(tmp_path: Path) -> None:
    """The retried job was created at 07:00 (before the old attempt finished, as GitLab
    dates jobs of a pipeline created earlier) and has not started: it is the latest."""
    situation = case(jobs=[("deploy-staging", "success", "2026-11-26T08:00:00.000Z")])
    gathered, _ = run(situation, tmp_path)
    queued = {
        "name": "deploy-staging",
        "status": "pending",
        "created_at": "2026-11-26T07:00:00.000Z",
        "started_at": None,
        "finished_at": None,
    }
    from sopgate.platforms.gitlab.mapping import job_checks

    facts = gathered.facts.model_copy(
        update={"checks": (*(gathered.facts.checks or ()), *job_checks([queued]))}
    )
    evaluation = evaluate(parse_sop(SOP, path=".sopgate.yml"), facts, "production")
    assert evaluation.by_key["staging"].state != "done"
    assert evaluation.decision == "closed"


# -- evidence documents ----------------------------------------------------------------


def test_documents_with_requirements_are_read_at_the_deployed_commit(tmp_path: Path) -> None:
    situation = case(
        files=[
            "docs/model-card.md",
            "reports/eval.json",
            "reports/eu-west/fairness.yml",
            "reports/us-east/fairness.yml",
            "reports/ap-south/fairness.yml",
        ],
        documents={
            "reports/eval.json": '{"metrics": {"auc": 0.84}}',
            "reports/eu-west/fairness.yml": "max_gap: 0.03\nchecked: 2026-11-25\n",
            "reports/us-east/fairness.yml": 404,
        },
    )
    gathered, sent = run(situation, tmp_path)
    assert gathered.facts.documents == {
        "reports/eval.json": {"metrics": {"auc": 0.84}},
        "reports/eu-west/fairness.yml": {"max_gap": 0.03, "checked": "2026-11-25"},
        "reports/us-east/fairness.yml": None,
    }
    assert gathered.facts.notes == (
        "evidence document reports/us-east/fairness.yml: GitLab answered 404; unknown",
    )
    reads = [u for u in sent if "/repository/files/reports" in u]
    assert reads == [
        f"/projects/7/repository/files/reports%2Feu-west%2Ffairness.yml/raw?ref={HEAD}",
        f"/projects/7/repository/files/reports%2Feval.json/raw?ref={HEAD}",
        f"/projects/7/repository/files/reports%2Fus-east%2Ffairness.yml/raw?ref={HEAD}",
    ]  # one request per file; the model card has no requirement, ap-south is no region


def test_directories_are_not_evidence_documents(tmp_path: Path) -> None:
    situation = case(files=["reports/eval.json"], documents={"reports/eval.json": "{}"})

    def tree(ref: str | None = None, folder: str = "") -> list[dict[str, Any]]:
        return [
            {"id": "a", "name": "eval.json", "type": "tree", "path": "reports/eval.json"},
            {"id": "b", "name": "reports", "type": "tree", "path": "reports"},
        ]

    situation.tree = tree  # type: ignore[method-assign]
    gathered, sent = run(situation, tmp_path)
    assert gathered.facts.files == ()
    assert gathered.facts.documents == {}
    assert not [u for u in sent if "/repository/files/reports" in u]


@pytest.mark.parametrize(
    ("content", "note"),
    [
        (
            "{not json",
            "evidence document reports/eval.json is not valid JSON or YAML (line 1: "
            "Expecting property name enclosed in double quotes); unknown",
        ),
        (
            '{"auc": NaN}',
            "evidence document reports/eval.json is not valid JSON or YAML "
            "(NaN is not a JSON number); unknown",
        ),
        (
            "x" * (1024 * 1024 + 1),
            "evidence document reports/eval.json is 1,048,577 bytes, "
            "more than the 1,048,576 read; unknown",
        ),
    ],
    ids=["unparseable", "nan", "too-large"],
)
def test_bad_documents_are_unknown(tmp_path: Path, content: str, note: str) -> None:
    situation = case(files=["reports/eval.json"], documents={"reports/eval.json": content})
    gathered, _ = run(situation, tmp_path)
    assert gathered.facts.documents == {"reports/eval.json": None}
    assert gathered.facts.notes == (note,)


def test_a_yaml_alias_bomb_is_unknown(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n"
        for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    situation = case(
        files=["reports/eu-west/fairness.yml"], documents={"reports/eu-west/fairness.yml": bomb}
    )
    gathered, _ = run(situation, tmp_path)
    assert gathered.facts.documents == {"reports/eu-west/fairness.yml": None}
    assert gathered.facts.notes[0].startswith(
        "evidence document reports/eu-west/fairness.yml is not valid JSON or YAML (line 1: "
        "YAML aliases expand to"
    )


def test_documents_are_bounded_in_number(tmp_path: Path) -> None:
    sop = SOP.replace("path: reports/eval.json", "path: reports/runs/*.json")
    names = [f"reports/runs/{i:03}.json" for i in range(MAX_DOCUMENTS + 2)]
    situation = case(sop_text=sop, files=names, documents=dict.fromkeys(names, "{}"))
    gathered, sent = run(situation, tmp_path)
    assert len([u for u in sent if "/repository/files/reports" in u]) == MAX_DOCUMENTS
    assert gathered.facts.documents[names[-1]] is None
    assert gathered.facts.documents[names[0]] == {}
    assert gathered.facts.notes[0] == (
        f"{MAX_DOCUMENTS + 2} evidence documents have requirements; the first {MAX_DOCUMENTS} "
        f"were read, 2 are unknown: {names[-2]}, {names[-1]}"
    )


# -- who started the run -----------------------------------------------------------------


def test_a_gate_run_records_the_initiator(tmp_path: Path) -> None:
    assert run(case(), tmp_path)[0].facts.initiator == "ian"


def test_a_sync_run_has_no_initiator(tmp_path: Path) -> None:
    """The person whose comment started the sync pipeline is not excluded for it: their
    sign-off counts."""
    sop = SOP.replace(
        "    rollback: Redeploy the previous model.\n  - id: canary",
        "    approvals: [{role: sre, source: signoff}]\n"
        "    rollback: Redeploy the previous model.\n  - id: canary",
        1,
    )
    assert sop != SOP
    situation = case(
        sop_text=sop,
        files=[
            "docs/model-card.md",
            "reports/eval.json",
            "reports/eu-west/fairness.yml",
            "reports/us-east/fairness.yml",
        ],
        documents={
            "reports/eval.json": '{"metrics": {"auc": 0.9}}',
            "reports/eu-west/fairness.yml": "max_gap: 0.01",
            "reports/us-east/fairness.yml": "max_gap: 0.01",
        },
        signoffs=[Signoff("sre-sam", "/sop approve staging", "2026-11-26T08:00:00.000Z")],
        initiator="sre-sam",
    )
    env = {**situation.env(), "CI_PROJECT_DIR": str(tmp_path)}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register(rsps, situation)
        adapter = from_env(env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: NOW)
        gate = adapter.gather(sop_path=str(tmp_path / ".sopgate.yml")).facts
        sync = adapter.gather(sop_path=str(tmp_path / ".sopgate.yml"), sync=True).facts
    assert (gate.initiator, sync.initiator) == ("sre-sam", None)
    loaded = parse_sop(sop, path=".sopgate.yml")
    gated = evaluate(loaded, gate, "staging")
    assert gated.decision == "closed"
    assert any(
        "sre-sam is the run's initiator and cannot approve it" in reason
        for reason in gated.by_key["staging"].reasons
    )
    evaluation = evaluate(loaded, sync, "staging")
    assert evaluation.decision == "open", evaluation.by_key["staging"].reasons
