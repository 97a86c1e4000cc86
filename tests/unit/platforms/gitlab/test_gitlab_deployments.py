"""Deployment approvals of protected environments (``source: deployment``) on GitLab:
gathered from GitLab's deployments API (replayed with ``responses``) and evaluated."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses

from sopgate.errors import PlatformError
from sopgate.evaluate import Evaluation, evaluate
from sopgate.facts import Approval
from sopgate.platforms import Gathered
from sopgate.platforms.gitlab import RetryPolicy, from_env
from sopgate.platforms.gitlab.gather import DEPLOYMENT_DETAILS
from sopgate.sop.load import parse_sop
from tests.stubs.gitlab_stub import serve
from tests.unit.platforms.gitlab.gitlab_fixtures import (
    BASE,
    HEAD,
    MERGE,
    TOKEN,
    Deployment,
    Situation,
    fixture,
    register,
    stub_for,
)

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
P = f"{BASE}/api/v4/projects/7"
OTHER = "0123456789abcdef0123456789abcdef01234567"
AT = "2026-11-26T09:40:00.000Z"

SOP = """\
sopgate: 1
name: Fraud-scoring model release
scope: {system: fraud-scoring, environments: [staging, production]}
roles:
  sre: {groups: [acme/sre]}
steps:
  - id: staging
    owner: sre
    needs: []
    environment: staging
    approvals: [{role: sre, source: deployment}]
    rollback: Redeploy the previous model.
  - id: production
    owner: sre
    needs: []
    environment: production
    approvals: [{role: sre, source: deployment}]
    rollback: Redeploy the previous model.
"""


def situation(*deployments: Deployment, **changes: Any) -> Situation:
    options: dict[str, Any] = {
        "sop_text": SOP,
        "groups": {"acme/sre": ["sre-sam", "sre-sue"]},
        "deployments": list(deployments),
    }
    options.update(changes)
    return Situation(**options)


def run(situation: Situation, tmp_path: Path, *, extra: Any = None) -> tuple[Gathered, list[str]]:
    """Gather ``situation``; the requests sent, as ``path?query`` without the API base."""
    sop = tmp_path / ".sopgate.yml"
    sop.write_text(situation.sop_text or SOP)
    env = {**situation.env(), "CI_PROJECT_DIR": str(tmp_path)}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        if extra is not None:
            extra(rsps)
        register(rsps, situation)
        adapter = from_env(env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: NOW)
        gathered = adapter.gather(sop_path=str(sop))
        sent = [str(c.request.url).removeprefix(f"{BASE}/api/v4") for c in rsps.calls]
    return gathered, sent


def judged(gathered: Gathered, step: str = "production") -> Evaluation:
    assert gathered.sop_text is not None
    return evaluate(parse_sop(gathered.sop_text, path=".sopgate.yml"), gathered.facts, step)


def deployment_requests(sent: list[str]) -> list[str]:
    return [u for u in sent if u.startswith("/projects/7/deployments")]


LISTING = "/projects/7/deployments?environment={}&order_by=updated_at&sort=desc&per_page=100"


def test_an_sre_approval_of_this_commit_in_production_opens_the_gate(tmp_path: Path) -> None:
    gathered, sent = run(
        situation(Deployment("production", [("sre-sam", "approved", AT, "LGTM")])), tmp_path
    )
    assert gathered.facts.approvals == (
        Approval(
            user="sre-sam",
            source="deployment",
            environment="production",
            state="approved",
            sha=HEAD,
            at=datetime(2026, 11, 26, 9, 40, tzinfo=UTC),
            url=f"{BASE}/acme/fraud-model/-/jobs/5010",
        ),
    )
    assert gathered.facts.notes == ()
    # One listing per environment (sorted), one detail for the deployment of the commit.
    assert deployment_requests(sent) == [
        LISTING.format("production"),
        "/projects/7/deployments/410",
        LISTING.format("staging"),
    ]
    evaluation = judged(gathered)
    assert evaluation.decision == "open"
    assert evaluation.by_key["production"].state == "done"
    assert evaluation.by_key["production"].approvers == ("sre-sam",)
    assert evaluation.by_key["staging"].state == "waiting"


def test_an_approval_in_another_environment_does_not_count(tmp_path: Path) -> None:
    gathered, _ = run(
        situation(Deployment("staging", [("sre-sam", "approved", AT, None)])), tmp_path
    )
    assert [(a.user, a.environment) for a in gathered.facts.approvals or ()] == [
        ("sre-sam", "staging")
    ]
    evaluation = judged(gathered)
    assert evaluation.decision == "closed"
    assert evaluation.by_key["production"].state == "waiting"
    assert evaluation.by_key["production"].reasons[0] == (
        "needs 1 deployment approval from sre (sre-sam, sre-sue); has 0 "
        "(approve the production deployment)"
    )
    assert evaluation.by_key["staging"].state == "done"


def test_a_server_that_ignores_the_environment_filter_is_filtered_again(
    tmp_path: Path,
) -> None:
    staging = Deployment("staging", [("sre-sam", "approved", AT, None)], listed_with_approvals=True)

    def extra(rsps: responses.RequestsMock) -> None:
        rsps.add("GET", f"{P}/deployments", json=[staging.json(0, detail=False)])

    # Production is listed first and answered with the staging deployment: not credited.
    gathered, _ = run(situation(), tmp_path, extra=extra)
    assert gathered.facts.approvals == ()
    assert judged(gathered).decision == "closed"


def test_an_approval_of_another_commit_does_not_count(tmp_path: Path) -> None:
    gathered, sent = run(
        situation(Deployment("production", [("sre-sam", "approved", AT, None)], sha=OTHER)),
        tmp_path,
    )
    assert gathered.facts.approvals == ()
    assert "/projects/7/deployments/410" not in sent  # not even asked for
    assert judged(gathered).decision == "closed"


def test_a_rejection_by_an_sre_rejects_the_step(tmp_path: Path) -> None:
    gathered, _ = run(
        situation(
            Deployment(
                "production",
                [
                    ("sre-sue", "approved", "2026-11-26T09:30:00.000Z", "fine"),
                    ("sre-sam", "rejected", AT, "error budget spent"),
                ],
            )
        ),
        tmp_path,
    )
    rejection = (gathered.facts.approvals or ())[1]
    assert (rejection.state, rejection.reason) == ("rejected", "error budget spent")
    assert (gathered.facts.approvals or ())[0].reason is None  # approvals carry no reason
    evaluation = judged(gathered)
    assert evaluation.decision == "closed"
    assert evaluation.by_key["production"].state == "rejected"
    assert evaluation.by_key["production"].reasons[0] == (
        "rejected by sre-sam (sre, deployment): error budget spent; sre-sam can lift it by "
        "approving the deployment"
    )


def test_the_latest_word_of_a_person_counts_across_deployments(tmp_path: Path) -> None:
    """A retried deployment of the same commit: sre-sam rejected the first, approved the
    second (listed newest first)."""
    gathered, _ = run(
        situation(
            Deployment("production", [("sre-sam", "approved", AT, None)]),
            Deployment(
                "production",
                [("sre-sam", "rejected", "2026-11-26T08:00:00.000Z", "not yet")],
                updated_at="2026-11-26T08:00:00.000Z",
            ),
        ),
        tmp_path,
    )
    assert judged(gathered).decision == "open"


def test_a_non_member_or_a_bot_approving_does_not_count(tmp_path: Path) -> None:
    gathered, _ = run(
        situation(
            Deployment(
                "production",
                [("mallory", "approved", AT, None), ("project_7_bot_1a2b", "approved", AT, None)],
            ),
            groups={"acme/sre": ["sre-sam", "project_7_bot_1a2b"]},
        ),
        tmp_path,
    )
    assert [a.user for a in gathered.facts.approvals or ()] == [
        "mallory",
        "project_7_bot_1a2b[bot]",
    ]
    assert judged(gathered).decision == "closed"


def test_the_merged_results_commit_counts_too(tmp_path: Path) -> None:
    """On a merged-results pipeline the facts' commit is the MR head; the deployment the
    pipeline made is of CI_COMMIT_SHA, the merge commit."""
    gathered, _ = run(
        situation(
            Deployment("production", [("sre-sam", "approved", AT, None)], sha=MERGE),
            merged_results=True,
        ),
        tmp_path,
    )
    assert gathered.facts.commit == HEAD
    assert [a.sha for a in gathered.facts.approvals or ()] == [MERGE]
    assert judged(gathered).decision == "open"


def test_approvals_in_the_listing_need_no_further_request(tmp_path: Path) -> None:
    gathered, sent = run(
        situation(
            Deployment(
                "production", [("sre-sam", "approved", AT, None)], listed_with_approvals=True
            )
        ),
        tmp_path,
    )
    assert deployment_requests(sent) == [LISTING.format("production"), LISTING.format("staging")]
    assert judged(gathered).decision == "open"


def test_only_the_most_recent_deployments_of_the_commit_are_read(tmp_path: Path) -> None:
    deployments = [Deployment("production", [(f"sre-{i}", "approved", AT, None)]) for i in range(7)]
    gathered, sent = run(situation(*deployments), tmp_path)
    details = [u for u in deployment_requests(sent) if "?" not in u]
    assert details == [f"/projects/7/deployments/{410 + i}" for i in range(DEPLOYMENT_DETAILS)]
    assert [a.user for a in gathered.facts.approvals or ()] == [
        f"sre-{i}" for i in range(DEPLOYMENT_DETAILS)
    ]
    assert gathered.facts.notes == (
        f"7 deployments of commit {HEAD[:12]} to production: the approvals of the "
        f"{DEPLOYMENT_DETAILS} most recent were read, 2 older ones skipped",
    )


def test_only_the_first_page_of_deployments_is_read(tmp_path: Path) -> None:
    """A hundred newer deployments of other commits: the first page says there is more,
    sopgate does not follow it, finds nothing, says so, and the gate stays closed."""
    newer = [Deployment("production", sha=OTHER) for _ in range(100)]
    old = Deployment("production", [("sre-sam", "approved", AT, None)])
    url = f"{P}/deployments"

    def extra(rsps: responses.RequestsMock) -> None:
        rsps.add(
            "GET",
            url,
            json=[d.json(i, detail=False) for i, d in enumerate(newer)],
            headers={
                "X-Per-Page": "100",
                "X-Next-Page": "2",
                "Link": f'<{url}?environment=production&page=2&per_page=100>; rel="next"',
            },
            match=[
                responses.matchers.query_param_matcher(
                    {"environment": "production"}, strict_match=False
                )
            ],
        )
        rsps.add(
            "GET",
            url,
            json=[old.json(100, detail=False)],
            match=[responses.matchers.query_param_matcher({"page": "2"}, strict_match=False)],
        )

    gathered, sent = run(situation(), tmp_path, extra=extra)
    assert deployment_requests(sent) == [LISTING.format("production"), LISTING.format("staging")]
    assert gathered.facts.approvals == ()
    assert gathered.facts.notes == (
        f"no deployment of commit {HEAD[:12]} among the 100 latest to production: "
        "no deployment approvals for it",
    )
    assert judged(gathered).decision == "closed"


@pytest.mark.parametrize("status", [403, 404])
def test_deployments_the_token_cannot_read_count_nobody(tmp_path: Path, status: int) -> None:
    gathered, _ = run(situation(deployments_status=status), tmp_path)
    assert gathered.facts.approvals == ()
    assert gathered.facts.notes == tuple(
        f"GitLab answered {status} to the deployments of {env} (the token cannot read "
        "them): no deployment approvals for it"
        for env in ("production", "staging")
    )
    evaluation = judged(gathered)
    assert evaluation.decision == "closed"
    assert evaluation.by_key["production"].state == "waiting"


def test_a_deployment_that_cannot_be_read_is_skipped_with_a_note(tmp_path: Path) -> None:
    gathered, _ = run(
        situation(
            Deployment("production", [("sre-sam", "approved", AT, None)], detail_status=404),
            Deployment("production", [("sre-sue", "approved", AT, None)]),
        ),
        tmp_path,
    )
    assert [a.user for a in gathered.facts.approvals or ()] == ["sre-sue"]
    assert gathered.facts.notes == (
        "GitLab answered 404 to deployment 410 of production: its approvals are unknown",
    )


def test_free_tier_deployments_carry_no_approvals(tmp_path: Path) -> None:
    free = fixture("deployment")  # GET /deployments/:id on Free: no approvals key

    def extra(rsps: responses.RequestsMock) -> None:
        rsps.add("GET", f"{P}/deployments/410", json=free)

    gathered, _ = run(situation(Deployment("production")), tmp_path, extra=extra)
    assert gathered.facts.approvals == ()
    assert gathered.facts.notes == (
        "GitLab shows no approvals on the deployments to production (deployment approvals "
        "are a Premium feature): no deployment approvals for it",
    )
    assert judged(gathered).decision == "closed"


def test_a_server_error_on_the_deployments_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(PlatformError) as raised:
        run(situation(deployments_status=500), tmp_path)
    assert str(raised.value).startswith(
        "GitLab kept failing GET /projects/7/deployments: 500 Internal Server Error"
    )


def test_no_deployment_request_without_deployment_rules(tmp_path: Path) -> None:
    sop = SOP.replace(", source: deployment}", ", source: signoff}")
    _, sent = run(situation(sop_text=sop), tmp_path)
    assert deployment_requests(sent) == []


def test_the_number_of_requests_does_not_grow_with_the_steps(tmp_path: Path) -> None:
    counts = []
    for steps in (2, 100):
        body = "".join(
            f"  - id: step-{i}\n    owner: sre\n    needs: []\n"
            f"    environment: {('staging', 'production')[i % 2]}\n"
            "    approvals: [{role: sre, source: deployment}]\n    rollback: Redeploy.\n"
            for i in range(steps)
        )
        sop = SOP.partition("steps:\n")[0] + "steps:\n" + body
        _, sent = run(
            situation(
                Deployment("production", [("sre-sam", "approved", AT, None)]),
                Deployment("staging", [("sre-sam", "approved", AT, None)]),
                sop_text=sop,
            ),
            tmp_path,
        )
        counts.append(len(sent))
    # MR, the target branch (its commit), SOP (at that commit and the head), approval
    # settings, notes, approvals, commits, one user search, diff versions, jobs, bridges,
    # statuses, one group, two deployment listings, two deployments.
    assert counts == [18, 18]


def test_the_stub_serves_deployments_filtered_by_environment(tmp_path: Path) -> None:
    s = situation(
        Deployment("staging", [("sre-sam", "approved", AT, None)]),
        Deployment("production", [("sre-sue", "approved", AT, None)]),
    )
    (tmp_path / ".sopgate.yml").write_text(SOP)
    with serve(stub_for(s, token=TOKEN)) as stub:
        env = {**s.env(url=stub.url), "CI_PROJECT_DIR": str(tmp_path)}
        adapter = from_env(env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: NOW)
        gathered = adapter.gather(sop_path=str(tmp_path / ".sopgate.yml"))
    assert [(a.user, a.environment) for a in gathered.facts.approvals or ()] == [
        ("sre-sue", "production"),
        ("sre-sam", "staging"),
    ]
    listings = [r for r in stub.requests if r.path == "/api/v4/projects/7/deployments"]
    assert [r.query["environment"] for r in listings] == [["production"], ["staging"]]
    assert judged(gathered).decision == "open"
