"""Gathering facts from fixtures shaped like GitHub's answers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import responses
from conftest import API, CANARY, HEAD, MERGE, NOW, REPO, add_pr_answers, load  # type: ignore[import-not-found]

from sopgate.errors import PlatformError
from sopgate.evaluate import evaluate
from sopgate.platforms import get_adapter
from sopgate.platforms.github import GitHubAdapter
from sopgate.sop.load import parse_sop

Make = Callable[..., GitHubAdapter]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_pull_request_facts(make_adapter: Make, mocked: responses.RequestsMock) -> None:
    add_pr_answers(mocked)
    gathered = make_adapter().gather(sop_path=".sopgate.yml")
    facts = gathered.facts
    assert facts.platform == "github"
    assert facts.repository == "acme/fraud-model"
    assert facts.commit == HEAD
    assert facts.observed_at == NOW
    assert facts.initiator == "dave"
    assert facts.change is not None
    assert (facts.change.id, facts.change.author) == (42, "dave")
    assert facts.change.url == "https://github.com/acme/fraud-model/pull/42"
    reviews = [(a.user, a.state, a.sha) for a in facts.approvals or () if a.source == "review"]
    assert reviews == [
        ("sec-carol", "rejected", "1" * 40),
        ("sec-bob", "approved", HEAD),
        ("sec-carol", "dismissed", "1" * 40),
    ]
    signoffs = [
        (a.user, a.step, a.state, a.reason, a.edited)
        for a in facts.approvals or ()
        if a.source == "signoff"
    ]
    assert signoffs == [
        ("rita", "go-no-go", "approved", None, False),
        ("rob", "go-no-go", "rejected", "latency regression", True),
        ("renovate[bot]", "production[eu-west]", "approved", None, False),
    ]
    assert facts.approvals is not None
    assert facts.approvals[1].at == at("2026-11-25T09:00:00Z")
    assert facts.approvals[3].at == at("2026-11-26T08:00:00Z")


def test_checks_map_runs_and_latest_status(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    checks = [(c.name, c.app, c.state) for c in facts.checks or ()]
    assert checks == [
        ("data-validation", "github-actions", "success"),
        ("model-eval", "github-actions", "success"),  # neutral counts as success
        ("deploy-staging", "github-actions", "pending"),
        ("lint", "github-actions", "failure"),  # timed_out
        ("docs", "github-actions", "skipped"),
        ("scan", "codeql", "pending"),
        ("ci/jenkins", "status", "success"),  # the newest of two
        ("security/scan", "status", "failure"),  # error
    ]
    assert facts.checks is not None
    assert facts.checks[0].at == at("2026-11-25T07:00:00Z")
    assert facts.checks[2].at == at("2026-11-26T07:25:00Z")  # started, not completed


def test_files_groups_and_notes(make_adapter: Make, mocked: responses.RequestsMock) -> None:
    add_pr_answers(mocked)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    assert facts.files == (".sopgate.yml", "docs/model-card.md", "reports/validation/auc.json")
    assert facts.groups == {
        "acme/ds": None,
        "acme/ml-platform": ("mona",),
        "acme/sre": ("alice", "bob"),
    }
    assert facts.notes == (
        "team acme/ds: membership unknown (GitHub answered HTTP 404); the token needs "
        "read:org / members: read (the default GITHUB_TOKEN cannot read teams)",
    )


def test_sop_read_from_base_and_proposed(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    gathered = make_adapter().gather(sop_path=".sopgate.yml")
    assert gathered.sop_text is not None and gathered.proposed_sop_text is not None
    assert "sec-dan" not in gathered.sop_text
    assert "sec-dan" in gathered.proposed_sop_text


def test_unchanged_sop_has_no_proposal(make_adapter: Make, mocked: responses.RequestsMock) -> None:
    add_pr_answers(mocked)
    mocked.replace(
        responses.GET, f"{REPO}/contents/.sopgate.yml?ref={HEAD}", json=load("contents-base.json")
    )
    gathered = make_adapter().gather(sop_path=".sopgate.yml")
    assert gathered.sop_text is not None
    assert gathered.proposed_sop_text is None


def test_request_count_is_bounded(make_adapter: Make, mocked: responses.RequestsMock) -> None:
    add_pr_answers(mocked)
    adapter = make_adapter()
    adapter.gather(sop_path=".sopgate.yml")
    # contents x2, reviews x2 pages, comments, check runs, statuses, tree, 3 teams
    assert adapter.api.requests_made == len(mocked.calls) == 11


def test_regather_uses_etags(make_adapter: Make, mocked: responses.RequestsMock) -> None:
    add_pr_answers(mocked)
    adapter = make_adapter()
    first = adapter.gather(sop_path=".sopgate.yml")
    for url in (
        f"{REPO}/issues/42/comments?per_page=100",
        f"{REPO}/commits/{HEAD}/check-runs?per_page=100",
    ):
        mocked.replace(
            responses.GET,
            url,
            status=304,
            body=b"",
            match=[
                responses.matchers.header_matcher(
                    {"If-None-Match": 'W/"c1"' if "comments" in url else 'W/"k1"'}
                )
            ],
        )
    second = adapter.gather(sop_path=".sopgate.yml")
    assert adapter.api.not_modified == 2
    assert second.facts == first.facts
    conditional = [c.request.headers.get("If-None-Match") for c in mocked.calls[11:]]
    assert conditional.count(None) == 5  # contents x2 and teams x3 had no ETag


def test_push_uses_pushed_commit_and_merged_pr(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked, commit=MERGE)
    mocked.get(f"{REPO}/commits/{MERGE}/pulls?per_page=100", json=load("commit-pulls.json"))
    gathered = make_adapter("push").gather(sop_path=".sopgate.yml")
    facts = gathered.facts
    assert facts.commit == MERGE
    assert facts.change is not None and facts.change.id == 42
    assert gathered.sop_text is None  # not on a change: the checkout's SOP is used
    assert (
        "pull request #42 was merged as 9f0c2a7e5b1d: approvals of its final head "
        "4b825dc642cb count as approvals of the deployed commit" in facts.notes
    )
    reviews = [a for a in facts.approvals or () if a.source == "review"]
    assert reviews and all(a.sha in (MERGE, "1" * 40) for a in reviews)
    assert any(a.sha == MERGE for a in reviews)  # the head's approvals are fresh for MERGE
    assert any(a.sha == "1" * 40 for a in reviews)  # older commits stay stale
    assert facts.groups["acme/sre"] == ("alice", "bob")  # groups of the checkout's SOP


def test_push_without_pr(make_adapter: Make, mocked: responses.RequestsMock) -> None:
    add_pr_answers(mocked, commit=MERGE)
    mocked.get(f"{REPO}/commits/{MERGE}/pulls?per_page=100", json=[])
    facts = make_adapter("push").gather(sop_path=".sopgate.yml").facts
    assert facts.change is None
    assert facts.approvals == ()
    assert not any("/pulls/42/" in str(c.request.url) for c in mocked.calls)


def test_truncated_tree_means_unknown_files(
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
    assert any("too large for one request" in note for note in facts.notes)


def test_gathered_facts_evaluate(make_adapter: Make, mocked: responses.RequestsMock) -> None:
    add_pr_answers(mocked)
    gathered = make_adapter().gather(sop_path=".sopgate.yml")
    assert gathered.sop_text is not None
    loaded = parse_sop(gathered.sop_text, path=".sopgate.yml")
    result = evaluate(loaded, gathered.facts, "go-no-go")
    assert result.decision == "closed"
    step = result.by_key["go-no-go"]
    assert step.state in ("rejected", "blocked")


def test_get_adapter_builds_from_env(make_env: Callable[..., dict[str, str]]) -> None:
    adapter = get_adapter("github", make_env(GITHUB_API_URL="http://127.0.0.1:9/api/v3/"))
    assert isinstance(adapter, GitHubAdapter)
    assert adapter.api.base_url == "http://127.0.0.1:9/api/v3"
    assert CANARY not in repr(adapter) and CANARY not in repr(adapter.settings)


def test_token_env_names_the_token(make_env: Callable[..., dict[str, str]]) -> None:
    env = make_env(MY_TOKEN="t2")
    adapter = get_adapter("github", env, token_env="MY_TOKEN")
    assert isinstance(adapter, GitHubAdapter)
    assert adapter.settings.token == "t2"
    del env["MY_TOKEN"]
    with pytest.raises(PlatformError, match=r"no GitHub token: \$MY_TOKEN is empty or unset"):
        get_adapter("github", env, token_env="MY_TOKEN")


def test_missing_repository(make_env: Callable[..., dict[str, str]]) -> None:
    with pytest.raises(PlatformError, match="GITHUB_REPOSITORY must be set to OWNER/REPO"):
        get_adapter("github", make_env(GITHUB_REPOSITORY=""))


def test_base_url_is_used(make_adapter: Make, mocked: responses.RequestsMock) -> None:
    ghes = "https://ghe.example.invalid/api/v3"
    mocked.get(
        f"{ghes}/repos/acme/fraud-model/commits/{MERGE}/pulls?per_page=100",
        status=401,
        json={"message": "Bad credentials"},
    )
    with pytest.raises(PlatformError) as caught:
        make_adapter("push", GITHUB_API_URL=ghes).gather(sop_path=".sopgate.yml")
    assert str(caught.value) == (
        f"GitHub answered /repos/acme/fraud-model/commits/{MERGE}/pulls with HTTP 401: "
        "Bad credentials; the token is missing, expired or invalid"
    )
    assert API not in str(caught.value)


def test_deployment_rules_are_noted_as_not_read(
    make_adapter: Make, mocked: responses.RequestsMock, checkout: Path
) -> None:
    sop = checkout / ".sopgate.yml"
    sop.write_text(
        sop.read_text().replace(
            "approvals: [{role: security, count: 1}]",
            "approvals: [{role: security, count: 1, source: deployment}]",
        )
    )
    add_pr_answers(mocked, commit=MERGE)
    mocked.get(f"{REPO}/commits/{MERGE}/pulls?per_page=100", json=[])
    facts = make_adapter("push").gather(sop_path=str(sop)).facts
    assert (
        "deployment approvals (source: deployment) are not read on GitHub yet: such rules "
        "count nobody" in facts.notes
    )
