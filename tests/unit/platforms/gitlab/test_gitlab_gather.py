"""gather(): GitLab's answers (replayed with ``responses``) into one Facts snapshot."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses

from sopgate.errors import PlatformError
from sopgate.facts import Approval, Change, Check, Commit
from sopgate.platforms import Gathered
from sopgate.platforms.gitlab import RetryPolicy, from_env
from tests.unit.platforms.gitlab.gitlab_fixtures import (
    BASE,
    HEAD,
    MERGE,
    TOKEN,
    Signoff,
    Situation,
    fixture,
    register,
    tip,
)

EXAMPLE = (Path(__file__).resolve().parents[4] / "examples" / ".sopgate.yml").read_text()
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
P = f"{BASE}/api/v4/projects/7"


def run(
    situation: Situation, tmp_path: Path, *, local_sop: str | None = None, extra: Any = None
) -> tuple[Gathered, list[Any]]:
    """Gather ``situation`` with the checkout's SOP in ``tmp_path`` (default: the target's)."""
    sop = tmp_path / ".sopgate.yml"
    sop.write_text(local_sop if local_sop is not None else situation.sop_text or EXAMPLE)
    env = {**situation.env(), "CI_PROJECT_DIR": str(tmp_path)}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        if extra is not None:
            extra(rsps)
        register(rsps, situation)
        adapter = from_env(env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: NOW)
        gathered = adapter.gather(sop_path=str(sop))
        return gathered, list(rsps.calls)


def paths(calls: list[Any]) -> list[str]:
    return [str(call.request.url).split("?")[0].removeprefix(f"{BASE}/api/v4") for call in calls]


def full() -> Situation:
    return Situation(
        sop_text=EXAMPLE,
        approvals=[("sec-bob", "2026-11-25T09:00:00.000Z")],
        signoffs=[
            Signoff("rita", "/sop approve go-no-go", "2026-11-26T08:00:00.000Z"),
            Signoff("rob", "/sop reject go-no-go latency regression", "2026-11-26T08:30:00.000Z"),
        ],
        jobs=[("deploy-staging", "success", "2026-11-26T07:30:00.000Z")],
        statuses=[("canary-metrics-eu", "success", "2026-11-26T09:30:00.000Z")],
        groups={"acme/sre": ["sre-sam"], "acme/ds": ["erin"], "acme/ml-platform": ["mo"]},
        files=["docs/model-card.md", "reports/validation/auc.json"],
    )


def test_a_merge_request_pipeline(tmp_path: Path) -> None:
    gathered, calls = run(full(), tmp_path)
    facts = gathered.facts
    assert facts.platform == "gitlab"
    assert facts.repository == "acme/fraud-model"
    assert facts.commit == HEAD
    assert facts.change == Change(
        id=42,
        author="dave",
        url=f"{BASE}/acme/fraud-model/-/merge_requests/42",
        pushed_at=datetime(2026, 11, 24, 8, tzinfo=UTC),
    )
    assert facts.commits == (
        Commit(
            sha=HEAD, author="dave", committer="dave", at=datetime(2026, 11, 24, 7, 59, tzinfo=UTC)
        ),
    )
    assert facts.initiator == "ian"
    assert facts.observed_at == NOW
    assert facts.approvals == (
        Approval(
            user="sec-bob",
            source="review",
            state="approved",
            sha=HEAD,
            at=datetime(2026, 11, 25, 9, tzinfo=UTC),
        ),
        Approval(
            user="rita",
            source="signoff",
            step="go-no-go",
            state="approved",
            at=datetime(2026, 11, 26, 8, tzinfo=UTC),
            url=f"{BASE}/acme/fraud-model/-/merge_requests/42#note_300",
        ),
        Approval(
            user="rob",
            source="signoff",
            step="go-no-go",
            state="rejected",
            reason="latency regression",
            at=datetime(2026, 11, 26, 8, 30, tzinfo=UTC),
            url=f"{BASE}/acme/fraud-model/-/merge_requests/42#note_301",
        ),
    )
    assert facts.checks == (
        Check(
            name="deploy-staging",
            app="gitlab-ci",
            state="success",
            at=datetime(2026, 11, 26, 7, 30, tzinfo=UTC),
            url=f"{BASE}/acme/fraud-model/-/jobs/5000",
        ),
        Check(
            name="canary-metrics-eu",
            app="status",
            state="success",
            at=datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
            url="https://metrics.example.com/canary/eu",
        ),
    )
    assert facts.files == ("docs/model-card.md", "reports/validation/auc.json")
    assert facts.groups == {
        "acme/ds": ("erin",),
        "acme/ml-platform": ("mo",),
        "acme/sre": ("sre-sam",),
    }
    assert facts.notes == ()
    assert gathered.sop_text == EXAMPLE
    assert gathered.proposed_sop_text is None
    assert facts.documents == {}
    # MR, the target branch (its commit), SOP (at that commit, head), approval settings,
    # notes, approvals, commits, one user search, diff versions, jobs, bridges, statuses,
    # tree, three groups.
    assert len(calls) == 17
    # Every request carried the token in the header GitLab reads, never in the URL.
    for call in calls:
        assert call.request.headers["PRIVATE-TOKEN"] == TOKEN
        assert TOKEN not in str(call.request.url)


def test_listings_ask_for_everything_gitlab_has(tmp_path: Path) -> None:
    _, calls = run(full(), tmp_path)
    urls = [str(call.request.url) for call in calls]
    assert any("/pipelines/99/jobs?" in u and "include_retried=true" in u for u in urls)
    assert any("/statuses?" in u and "all=true" in u for u in urls)
    assert any(
        "/repository/tree?" in u and "recursive=true" in u and f"ref={HEAD}" in u for u in urls
    )
    assert any("/repository/branches/main" in u for u in urls)
    assert any(f"/repository/files/.sopgate.yml/raw?ref={tip('main')}" in u for u in urls)
    assert any(f"/repository/files/.sopgate.yml/raw?ref={HEAD}" in u for u in urls)
    assert any("/pipelines/99/bridges?" in u for u in urls)
    assert all(
        "per_page=100" in u
        for u in urls
        if "/raw" not in u
        and "/repository/branches/" not in u  # one branch, not a listing
        and "approvals" not in u
        and "/merge_requests/42?" not in u
        and not u.endswith("/merge_requests/42")
    )


def test_merged_results_pipeline_judges_approvals_against_the_head(tmp_path: Path) -> None:
    gathered, calls = run(
        Situation(sop_text=EXAMPLE, merged_results=True, approvals=[("sec-bob", None)]), tmp_path
    )
    facts = gathered.facts
    assert facts.commit == HEAD
    assert facts.approvals and facts.approvals[0].sha == HEAD
    assert facts.notes[0] == (
        f"merged-results pipeline: it runs on merge commit {MERGE[:12]};"
        f" approvals are judged against the MR head {HEAD[:12]}"
    )
    assert f"/projects/7/repository/commits/{MERGE}/statuses" in paths(calls)


def test_approvals_on_a_project_that_keeps_them_after_a_push_are_not_fresh(tmp_path: Path) -> None:
    gathered, _ = run(
        Situation(
            sop_text=EXAMPLE,
            reset_on_push=False,
            approvals=[("sec-bob", "2026-11-25T09:00:00.000Z")],
        ),
        tmp_path,
    )
    assert gathered.facts.approvals[0].sha is None  # type: ignore[index]
    assert gathered.facts.notes == (
        "review approvals carry no commit: the project does not remove approvals when "
        "commits are added (reset_approvals_on_push), so an approval may predate the last "
        "push; fresh rules do not count them",
    )


def test_approval_settings_hidden_on_free(tmp_path: Path) -> None:
    gathered, _ = run(
        Situation(sop_text=EXAMPLE, reset_on_push=None, approvals=[("sec-bob", None)]), tmp_path
    )
    assert gathered.facts.approvals[0].sha is None  # type: ignore[index]
    assert gathered.facts.notes[0] == (
        "GitLab answered 404 to the project's approval settings (a Premium feature): "
        "approvals are taken as not reset on push"
    )


def test_approvals_api_unavailable_is_explained_not_fatal(tmp_path: Path) -> None:
    situation = Situation(
        sop_text=EXAMPLE,
        approvals_status=403,
        signoffs=[Signoff("rita", "/sop approve go-no-go", "2026-11-26T08:00:00.000Z")],
    )
    facts = run(situation, tmp_path)[0].facts
    assert [a.source for a in facts.approvals or ()] == ["signoff"]
    assert facts.notes == (
        "GitLab answered 403 to the approvals of !42 (not available on this tier, or the token "
        "lacks access): no review approvals",
    )


def test_approval_time_from_the_system_note_when_the_api_has_none(tmp_path: Path) -> None:
    situation = Situation(
        sop_text=EXAMPLE,
        approvals=[("sec-bob", None), ("sec-carol", None)],
        signoffs=[
            Signoff(
                "sec-bob", "approved this merge request", "2026-11-25T10:00:00.000Z", system=True
            )
        ],
    )
    facts = run(situation, tmp_path)[0].facts
    assert [(a.user, a.at) for a in facts.approvals or ()] == [
        ("sec-bob", datetime(2026, 11, 25, 10, tzinfo=UTC)),
        ("sec-carol", None),
    ]


def test_signoff_notes(tmp_path: Path) -> None:
    at = "2026-11-26T08:00:00.000Z"
    situation = Situation(
        sop_text=EXAMPLE,
        signoffs=[
            Signoff("rita", "/sop approve go-no-go", at, edited_at="2026-11-26T08:05:00.000Z"),
            Signoff("rob", "Looks fine.\n/sop approve production[eu-west]\nthanks", at),
            Signoff("rob", "/sop reject staging", at),
            Signoff("sam", "/sop approve go-no-go", at, system=True),
            Signoff("bot", "<!-- sopgate -->\n/sop approve go-no-go", at),
            Signoff("eve", "please /sop approve go-no-go", at),
            Signoff("eve", "/sop approve Go-No-Go", at),
        ],
    )
    found = [
        (a.user, a.step, a.state, a.edited, a.reason)
        for a in run(situation, tmp_path)[0].facts.approvals or ()
    ]
    assert found == [
        ("rita", "go-no-go", "approved", True, None),
        ("rob", "production[eu-west]", "approved", False, None),
        ("rob", "staging", "rejected", False, None),
    ]


def test_a_branch_pipeline_finds_the_merge_request_of_its_commit(tmp_path: Path) -> None:
    situation = Situation(sop_text=EXAMPLE, approvals=[("sec-bob", None)])
    env = {k: v for k, v in situation.env().items() if not k.startswith("CI_MERGE_REQUEST")}
    (tmp_path / ".sopgate.yml").write_text(EXAMPLE)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register(rsps, situation)
        adapter = from_env(
            {**env, "CI_PROJECT_DIR": str(tmp_path)},
            policy=RetryPolicy(sleep=lambda _: None),
            clock=lambda: NOW,
        )
        gathered = adapter.gather(sop_path=str(tmp_path / ".sopgate.yml"))
        calls = list(rsps.calls)
    assert gathered.facts.change is not None and gathered.facts.change.id == 42
    assert [a.user for a in gathered.facts.approvals or ()] == ["sec-bob"]
    assert gathered.sop_text == EXAMPLE  # the MR is open: its target branch's SOP decides
    assert f"/projects/7/repository/commits/{HEAD}/merge_requests" in paths(calls)
    assert "/projects/7/merge_requests/42" not in paths(calls)


def test_a_pipeline_on_the_target_branch_after_the_merge(tmp_path: Path) -> None:
    situation = Situation(branch="main", merged_results=True, mr_state="merged", sop_text=EXAMPLE)
    merged = {**situation.merge_request(), "merge_commit_sha": MERGE}

    def extra(rsps: responses.RequestsMock) -> None:
        rsps.add("GET", f"{P}/repository/commits/{MERGE}/merge_requests", json=[merged])

    gathered, calls = run(situation, tmp_path, extra=extra)
    facts = gathered.facts
    assert facts.commit == HEAD
    assert gathered.sop_text == EXAMPLE  # read at the merge commit, through the API
    assert facts.notes[0] == (
        f"commit {MERGE[:12]} merged !42; approvals are judged against its head {HEAD[:12]}"
    )
    assert facts.change is not None and facts.change.pushed_at is not None
    assert "/projects/7/repository/files/.sopgate.yml/raw" in paths(calls)


def test_no_merge_request(tmp_path: Path) -> None:
    gathered, _ = run(Situation(mr_iid=None, sop_text=EXAMPLE), tmp_path)
    facts = gathered.facts
    assert facts.change is None
    assert facts.approvals == ()
    assert facts.commits is None  # unknown: rules that exclude contributors count nobody
    assert gathered.sop_text == EXAMPLE  # the default branch's, through the API
    assert facts.notes[:3] == (
        f"no merge request contains commit {HEAD[:12]}: no review approvals or sign-offs",
        f"no merge request holds commit {HEAD[:12]}: the SOP of the default branch main decides",
        f"no merge request: the contributors of commit {HEAD[:12]} are unknown, so rules "
        "that exclude contributors count nobody",
    )


def test_hidden_groups_are_unknown(tmp_path: Path) -> None:
    situation = full()
    situation.groups["acme/sre"] = 403
    facts = run(situation, tmp_path)[0].facts
    assert facts.groups["acme/sre"] is None
    assert facts.notes == (
        "GitLab answered 403 to group acme/sre (no such group, or the token "
        "cannot see it): nobody holds a role through it",
    )


def test_a_server_error_on_a_group_fails_closed(tmp_path: Path) -> None:
    situation = full()
    situation.groups["acme/sre"] = 500
    with pytest.raises(PlatformError) as raised:
        run(situation, tmp_path)
    assert str(raised.value).startswith(
        "GitLab kept failing GET /groups/acme%2Fsre/members/all: 500 Internal Server Error, "
        "still after 4 attempts"
    )


def test_blocked_members_hold_no_role(tmp_path: Path) -> None:
    def extra(rsps: responses.RequestsMock) -> None:
        rsps.add(
            "GET",
            f"{BASE}/api/v4/groups/acme%2Fsre/members/all",
            json=[
                fixture("member", username="sre-sam"),
                fixture("member", username="gone", state="blocked"),
            ],
        )

    facts = run(full(), tmp_path, extra=extra)[0].facts
    assert facts.groups["acme/sre"] == ("sre-sam",)


def test_no_tree_request_when_no_step_needs_evidence(tmp_path: Path) -> None:
    sop = EXAMPLE.replace("    evidence: [reports/data/*.json]\n", "").replace(
        "    evidence: [docs/model-card.md, reports/validation/*.json]\n", ""
    )
    gathered, calls = run(Situation(sop_text=sop), tmp_path)
    assert "/projects/7/repository/tree" not in paths(calls)
    assert gathered.facts.files == ()


def test_every_listing_is_read_to_its_last_page(tmp_path: Path) -> None:
    """250 notes over three pages, followed by GitLab's Link headers."""
    notes = [fixture("note", id=i, body=f"comment {i}") for i in range(250)]
    notes[249]["body"] = "/sop approve go-no-go"
    url = f"{P}/merge_requests/42/notes"

    def extra(rsps: responses.RequestsMock) -> None:
        for page in (1, 2, 3):
            headers = {
                "X-Page": str(page),
                "X-Per-Page": "100",
                "X-Total": "250",
                "X-Total-Pages": "3",
            }
            if page < 3:
                headers["Link"] = (
                    f'<{url}?order_by=created_at&page={page + 1}&per_page=100&sort=asc>; rel="next"'
                )
                headers["X-Next-Page"] = str(page + 1)
            match = [
                responses.matchers.query_param_matcher(
                    {"page": str(page)} if page > 1 else {}, strict_match=False
                )
            ]
            rsps.add(
                "GET",
                url,
                json=notes[(page - 1) * 100 : page * 100],
                headers=headers,
                match=match
                if page > 1
                else [
                    responses.matchers.query_param_matcher(
                        {"sort": "asc", "order_by": "created_at", "per_page": "100"}
                    )
                ],
            )

    facts = run(Situation(sop_text=EXAMPLE), tmp_path, extra=extra)[0].facts
    assert [a.user for a in facts.approvals or ()] == ["rita"]


def _sop_with_steps(count: int) -> str:
    head, _, _ = EXAMPLE.partition("\nsteps:\n")
    steps = "".join(
        f"  - id: step-{i}\n    owner: sre\n    needs: []\n    checks: [check-{i}]\n"
        f"    evidence: [docs/{i}.md, {{path: reports/eval.json, require: {{auc: '>= 0.8'}}}}]\n"
        f"    approvals: [{{role: security}}]\n"
        for i in range(count)
    )
    return f"{head}\nsteps:\n{steps}"


def test_the_number_of_requests_does_not_grow_with_the_steps(tmp_path: Path) -> None:
    counts = []
    for steps in (10, 200):
        sop = _sop_with_steps(steps)
        situation = Situation(
            sop_text=sop,
            files=["reports/eval.json"],
            documents={"reports/eval.json": '{"auc": 0.9}'},
        )
        gathered, calls = run(situation, tmp_path)
        assert gathered.facts.documents == {"reports/eval.json": {"auc": 0.9}}
        counts.append(len(calls))
    # Every step requires the same document: it is read once.
    assert counts[0] == counts[1] == 18


def test_an_unusable_token_fails_closed_without_printing_it(tmp_path: Path) -> None:
    def extra(rsps: responses.RequestsMock) -> None:
        rsps.add(
            "GET",
            f"{P}/merge_requests/42",
            status=401,
            json={"message": f"401 Unauthorized token={TOKEN}"},
        )

    with pytest.raises(PlatformError) as raised:
        run(Situation(sop_text=EXAMPLE), tmp_path, extra=extra)
    text = str(raised.value)
    assert text == (
        "GitLab answered 401 to GET /projects/7/merge_requests/42: 401 Unauthorized token=[token]"
    )
    assert TOKEN not in text and "\n" not in text


def test_a_fast_forward_merge_is_found_on_the_target_branch(tmp_path: Path) -> None:
    """With fast-forward (or rebase) merges the MR's head itself lands on main: no merge
    commit, and the merged MR still holds the approvals and the contributors."""
    situation = Situation(
        branch="main", mr_state="merged", sop_text=EXAMPLE, approvals=[("sec-bob", None)]
    )
    gathered, _ = run(situation, tmp_path)
    facts = gathered.facts
    assert facts.change is not None and facts.change.id == 42
    assert [a.user for a in facts.approvals or ()] == ["sec-bob"]
    assert facts.commits is not None and len(facts.commits) == 1
    assert facts.notes[0] == f"commit {HEAD[:12]} is the head of !42, merged"
