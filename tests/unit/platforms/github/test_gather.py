"""Gathering facts from fixtures shaped like GitHub's answers."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import responses
from conftest import (  # type: ignore[import-not-found]
    API,
    BASE_TIP,
    CANARY,
    FIXTURES,
    HEAD,
    MERGE,
    NOW,
    REPO,
    add_pr_answers,
    load,
)

from sopgate import commands
from sopgate.errors import PlatformError, UsageError
from sopgate.evaluate import evaluate
from sopgate.platforms import get_adapter
from sopgate.platforms.github import GitHubAdapter, RetryPolicy, from_env
from sopgate.sop.load import parse_sop

Make = Callable[..., GitHubAdapter]
SOP_TEXT = (FIXTURES / "sopgate.yml").read_text()


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
        "commits whose author or committer GitHub maps to no account exclude nobody: 222222222222",
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
    # the base branch (its commit), contents x2, reviews x2 pages, comments, commits, check
    # suites, timeline, check runs, statuses, tree, 3 teams
    assert adapter.api.requests_made == len(mocked.calls) == 15


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
    conditional = [c.request.headers.get("If-None-Match") for c in mocked.calls[15:]]
    # the base branch, contents x2, teams x3, commits, check suites and timeline had no ETag
    assert conditional.count(None) == 9


def test_push_uses_pushed_commit_and_merged_pr(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked, commit=MERGE)
    mocked.get(f"{REPO}/commits/{MERGE}/pulls?per_page=100", json=load("commit-pulls.json"))
    gathered = make_adapter("push").gather(sop_path=".sopgate.yml")
    facts = gathered.facts
    assert facts.commit == MERGE
    assert facts.change is not None and facts.change.id == 42
    # A push to the default branch: the SOP at the deployed commit, read through the API.
    assert gathered.sop_text == (Path(__file__).parent / "fixtures" / "sopgate.yml").read_text()
    assert gathered.proposed_sop_text is None
    assert (
        "pull request #42 was merged as 9f0c2a7e5b1d: approvals of its final head "
        "4b825dc642cb count as approvals of the deployed commit" in facts.notes
    )
    reviews = [a for a in facts.approvals or () if a.source == "review"]
    assert reviews and all(a.sha in (MERGE, "1" * 40) for a in reviews)
    assert any(a.sha == MERGE for a in reviews)  # the head's approvals are fresh for MERGE
    assert any(a.sha == "1" * 40 for a in reviews)  # older commits stay stale
    assert facts.groups["acme/sre"] == ("alice", "bob")  # groups of the SOP in force


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


def sop_in_force(mocked: responses.RequestsMock, text: str, ref: str = BASE_TIP) -> None:
    """Serve ``text`` as the SOP in force (the base branch's) through the contents API."""
    answer = load("contents-base.json")
    answer.update(content=base64.encodebytes(text.encode()).decode(), size=len(text))
    mocked.replace(responses.GET, f"{REPO}/contents/.sopgate.yml?ref={ref}", json=answer)


DEPLOYMENT_SOP = SOP_TEXT.replace(
    "approvals: [{role: security, count: 1}]",
    "approvals: [{role: security, count: 1, source: deployment}]",
)


def test_deployment_approvals_of_the_run(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    sop_in_force(mocked, DEPLOYMENT_SOP)
    mocked.get(f"{REPO}/actions/runs/7/approvals", json=load("run-approvals.json"))
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    deployment = [
        (a.user, a.environment, a.state, a.at, a.reason)
        for a in facts.approvals or ()
        if a.source == "deployment"
    ]
    assert deployment == [
        ("sre-sam", "production", "approved", None, None),
        ("sre-sam", "staging", "approved", None, None),
        ("rob", "production", "rejected", None, "error budget spent"),
    ]
    assert not any("not read on GitHub" in note for note in facts.notes)


def test_deployment_approvals_only_with_deployment_rules(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    assert not any(a.source == "deployment" for a in facts.approvals or ())
    assert not any("/actions/runs/" in str(c.request.url) for c in mocked.calls)


def test_deployment_approvals_without_a_run_id_are_unknown(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    sop_in_force(mocked, DEPLOYMENT_SOP)
    facts = make_adapter(GITHUB_RUN_ID="").gather(sop_path=".sopgate.yml").facts
    assert not any(a.source == "deployment" for a in facts.approvals or ())
    assert "GITHUB_RUN_ID is unset: deployment approvals are unknown" in facts.notes


# -- unknown is never favourable ------------------------------------------------------------------


def test_a_comment_without_an_edit_time_counts_as_edited(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    comments = load("comments.json")
    comments[0]["updated_at"] = None  # rita's /sop approve go-no-go
    del comments[3]["updated_at"]  # renovate[bot]'s
    mocked.replace(responses.GET, f"{REPO}/issues/42/comments?per_page=100", json=comments)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    edited = [(a.user, a.edited) for a in facts.approvals or () if a.source == "signoff"]
    assert edited == [("rita", True), ("rob", True), ("renovate[bot]", True)]


def test_a_check_run_without_a_time_has_no_time(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    queued = [c for c in facts.checks or () if c.name == "scan"]
    assert [(c.state, c.at) for c in queued] == [("pending", None)]


def test_a_status_without_a_time_is_the_latest_of_its_context(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    statuses = load("statuses.json")  # newest first: ci/jenkins success, then older pending
    statuses[2]["updated_at"] = statuses[2]["created_at"] = None
    mocked.replace(responses.GET, f"{REPO}/commits/{HEAD}/statuses?per_page=100", json=statuses)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    jenkins = [(c.state, c.at) for c in facts.checks or () if c.name == "ci/jenkins"]
    assert jenkins == [("pending", None)]


# -- who started the run ----------------------------------------------------------------------


def _issue_comment_event(tmp_path: Path) -> str:
    event = {
        "action": "created",
        "issue": {"number": 42, "pull_request": {"url": f"{REPO}/pulls/42"}},
        "comment": {"body": "/sop approve go-no-go", "user": {"login": "rita"}},
    }
    path = tmp_path / "event-issue_comment.json"
    path.write_text(json.dumps(event))
    return str(path)


@pytest.mark.parametrize(
    "event", ["issue_comment", "pull_request_review", "pull_request_review_comment"]
)
def test_sync_events_on_a_pull_request_have_no_initiator(
    event: str, make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_pr_answers(mocked)
    payload = str(FIXTURES / "event-pull_request.json")
    if event == "issue_comment":
        payload = _issue_comment_event(tmp_path)
        mocked.get(f"{REPO}/pulls/42", json=load("event-pull_request.json")["pull_request"])
    adapter = make_adapter(
        event, GITHUB_EVENT_PATH=payload, GITHUB_ACTOR="rita", GITHUB_TRIGGERING_ACTOR="rita"
    )
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert (facts.initiator, facts.rerun_by) == (None, None)
    assert facts.change is not None and facts.change.author == "dave"


@pytest.mark.parametrize(
    ("actor", "again", "rerun_by"),
    [
        ("dave", "rita", "rita"),
        ("dave", "DAVE", None),  # the same login in another case
        ("dave", "", None),
        ("kate", "\u212aate", "\u212aate"),  # a Kelvin sign is not an ASCII K
    ],
)
def test_rerun_by_is_the_triggering_actor_when_another(
    actor: str, again: str, rerun_by: str | None, make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    adapter = make_adapter(GITHUB_ACTOR=actor, GITHUB_TRIGGERING_ACTOR=again)
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert (facts.initiator, facts.rerun_by) == (actor, rerun_by)


# -- the change's commits and its latest push -------------------------------------------------


def test_commits_of_the_pull_request(make_adapter: Make, mocked: responses.RequestsMock) -> None:
    add_pr_answers(mocked)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    assert [(c.sha, c.author, c.committer, c.at) for c in facts.commits or ()] == [
        ("1" * 40, "dave", "dave", at("2026-11-24T16:00:00Z")),
        (HEAD, "erin", "web-flow", at("2026-11-25T07:45:00Z")),
        ("2" * 40, None, None, at("2026-11-25T07:40:00Z")),  # no GitHub account: null
    ]


def _event_with(tmp_path: Path, **changes: object) -> str:
    event = load("event-pull_request.json")
    event["pull_request"].update(changes)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return str(path)


def test_more_commits_than_github_lists_are_unknown(
    make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_pr_answers(mocked)
    adapter = make_adapter(GITHUB_EVENT_PATH=_event_with(tmp_path, commits=251))
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert facts.commits is None
    assert facts.to_data()["commits"] is None
    assert (
        "pull request #42 has 251 commits and GitHub lists at most 250: its contributors are "
        "unknown (commits: null)" in facts.notes
    )
    assert not any("/pulls/42/commits" in str(c.request.url) for c in mocked.calls)


def test_a_full_listing_without_a_count_is_unknown(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    one = load("pull-commits.json")[0]
    mocked.replace(
        responses.GET, f"{REPO}/pulls/42/commits?per_page=100", json=[one] * 250
    )  # one page here; GitHub would page it
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    assert facts.commits is None
    assert (
        "pull request #42 has at least 250 commits and GitHub lists at most 250: its "
        "contributors are unknown (commits: null)" in facts.notes
    )


def test_pushed_at_is_the_newest_force_push_when_later(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    change = make_adapter().gather(sop_path=".sopgate.yml").facts.change
    # check suites at 08:05 and 07:50 (the earliest counts); force pushes at 17:00 the day
    # before and 08:20 (the newest counts): the later of the two signs
    assert change is not None and change.pushed_at == at("2026-11-25T08:20:00Z")


def test_pushed_at_is_the_earliest_check_suite_without_force_push(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    timeline = [e for e in load("timeline.json") if e["event"] != "head_ref_force_pushed"]
    mocked.replace(responses.GET, f"{REPO}/issues/42/timeline?per_page=100", json=timeline)
    change = make_adapter().gather(sop_path=".sopgate.yml").facts.change
    assert change is not None and change.pushed_at == at("2026-11-25T07:50:00Z")


def test_pushed_at_unknown_is_written_as_null(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    mocked.replace(responses.GET, f"{REPO}/issues/42/timeline?per_page=100", json=[])
    mocked.replace(
        responses.GET,
        f"{REPO}/commits/{HEAD}/check-suites?per_page=100",
        json={"total_count": 0, "check_suites": []},
    )
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    assert facts.change is not None and facts.change.push_unknown
    assert facts.to_data()["change"]["pushed_at"] is None
    assert (
        "when 4b825dc642cb was pushed to pull request #42 is unknown (no check suite, no force "
        "push): fresh sign-offs count nobody" in facts.notes
    )


def test_a_push_without_pull_request_has_no_change_facts(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked, commit=MERGE)
    mocked.get(f"{REPO}/commits/{MERGE}/pulls?per_page=100", json=[])
    facts = make_adapter("push").gather(sop_path=".sopgate.yml").facts
    assert (facts.change, facts.commits) == (None, ())
    assert not any("/timeline" in str(c.request.url) for c in mocked.calls)


@pytest.mark.parametrize(
    "changes",
    [
        {"merge_commit_sha": "3" * 40},  # merged as another commit
        {"merged_at": None},  # not merged (GitHub keeps a test merge commit)
    ],
    ids=["merged-as-another-commit", "not-merged"],
)
def test_on_a_push_a_merged_pr_counts_only_when_merged_as_this_commit(
    changes: dict[str, object], make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked, commit=MERGE)
    pulls = [dict(pr, **changes) for pr in load("commit-pulls.json")]
    mocked.get(f"{REPO}/commits/{MERGE}/pulls?per_page=100", json=pulls)
    facts = make_adapter("push").gather(sop_path=".sopgate.yml").facts
    assert (facts.change, facts.approvals) == (None, ())
    assert not any("merged as" in note for note in facts.notes)


# -- evidence documents ------------------------------------------------------------------------

REQUIRE_SOP = SOP_TEXT.replace(
    "evidence: [docs/model-card.md, reports/validation/*.json]",
    'evidence: [docs/model-card.md, {path: "reports/validation/*.json", require: {auc: ">= 0.8"}}]',
).replace(
    "    rollout: sequential             # or parallel (default)\n",
    "    rollout: sequential             # or parallel (default)\n"
    '    evidence: [{path: "reports/{region}/eval.yaml", require: {ok: "== true"}}]\n',
)


def _blob(path: str, size: int = 40, kind: str = "blob") -> dict[str, object]:
    entry = dict(load("tree.json")["tree"][0], path=path, type=kind, size=size)
    if kind == "tree":
        entry.update(mode="040000")
        del entry["size"]
    return entry


def _file(mocked: responses.RequestsMock, path: str, body: str) -> None:
    answer = dict(
        load("contents-base.json"),
        name=path.rsplit("/", 1)[-1],
        path=path,
        content=base64.encodebytes(body.encode()).decode(),
        size=len(body),
    )
    mocked.get(f"{REPO}/contents/{path}?ref={HEAD}", json=answer)


def test_documents_of_required_evidence(make_adapter: Make, mocked: responses.RequestsMock) -> None:
    add_pr_answers(mocked)
    sop_in_force(mocked, REQUIRE_SOP)
    tree = load("tree.json")
    tree["tree"] += [
        _blob("reports/validation/bad.json"),
        _blob("reports/validation/big.json", size=2 * 1024 * 1024),
        _blob("reports/validation/dir.json", kind="tree"),  # a directory is no evidence file
        _blob("reports/eu-west/eval.yaml"),
        _blob("reports/us-east/eval.yaml"),  # ap-south has none: absent, not read
    ]
    mocked.replace(responses.GET, f"{REPO}/git/trees/{HEAD}?recursive=1", json=tree)
    _file(mocked, "reports/validation/auc.json", '{"auc": 0.83}')
    _file(mocked, "reports/validation/bad.json", '{"auc": ')
    _file(mocked, "reports/eu-west/eval.yaml", "ok: true\nday: 2026-11-25\n")
    _file(mocked, "reports/us-east/eval.yaml", "a: &x [1, 2]\nok: *x\n")
    adapter = make_adapter()
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert facts.documents == {
        "reports/validation/auc.json": {"auc": 0.83},
        "reports/validation/bad.json": None,
        "reports/validation/big.json": None,
        "reports/eu-west/eval.yaml": {"ok": True, "day": "2026-11-25"},
        "reports/us-east/eval.yaml": None,
    }
    notes = [n for n in facts.notes if n.startswith("evidence document")]
    assert notes == [
        "evidence document reports/validation/bad.json cannot be parsed: invalid JSON at "
        "line 1 column 9: its content is unknown",
        "evidence document reports/validation/big.json is 2097152 bytes, over the 1 MiB "
        "limit: its content is unknown",
        "evidence document reports/us-east/eval.yaml cannot be parsed: YAML aliases are not "
        "read in evidence documents: its content is unknown",
    ]
    reads = [str(c.request.url) for c in mocked.calls if "/contents/reports/" in str(c.request.url)]
    assert len(reads) == 4  # one per document; the oversized one is not asked for
    assert "reports/validation/dir.json" not in (facts.files or ())


def test_documents_are_read_only_for_require(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    assert facts.documents == {}
    assert not any("/contents/reports/" in str(c.request.url) for c in mocked.calls)


def test_a_document_over_1_mib_is_unknown_even_when_the_tree_has_no_size(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    sop_in_force(mocked, REQUIRE_SOP)
    tree = load("tree.json")
    del tree["tree"][-1]["size"]  # reports/validation/auc.json
    mocked.replace(responses.GET, f"{REPO}/git/trees/{HEAD}?recursive=1", json=tree)
    _file(mocked, "reports/validation/auc.json", " " * (1024 * 1024) + "{}")
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    assert facts.documents == {"reports/validation/auc.json": None}
    assert (
        "evidence document reports/validation/auc.json is 1048578 bytes, over the 1 MiB "
        "limit: its content is unknown" in facts.notes
    )


# -- the job's names, for check without STEP ---------------------------------------------------


def test_job_names_are_the_id_and_the_check_run_name(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    lookup = mocked.get(f"{REPO}/check-runs/5077", json=load("check-run.json"))
    adapter = make_adapter(GITHUB_JOB="deploy-us-east", SOPGATE_CHECK_RUN_ID="5077")
    assert adapter.job_names() == ("deploy-us-east", "deploy-production (us-east)")
    assert lookup.call_count == 1


def test_job_names_without_a_check_run_id_ask_nothing(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    assert make_adapter(GITHUB_JOB="deploy-us-east").job_names() == ("deploy-us-east",)
    assert len(mocked.calls) == 0


def test_a_hidden_check_run_adds_no_name(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{REPO}/check-runs/5077", status=404, json={"message": "Not Found"})
    adapter = make_adapter(GITHUB_JOB="deploy-us-east", SOPGATE_CHECK_RUN_ID="5077")
    assert adapter.job_names() == ("deploy-us-east",)


def test_the_step_is_inferred_from_the_display_name() -> None:
    loaded = parse_sop(SOP_TEXT, path=".sopgate.yml")
    names = ("deploy-us-east", "deploy-production (us-east)")
    assert commands.infer_step(loaded, names) == "production[us-east]"
    with pytest.raises(UsageError) as caught:
        commands.infer_step(loaded, ("deploy-us-east", "deploy (us-east)"))
    assert str(caught.value) == (
        "cannot infer the step from job 'deploy-us-east' (named 'deploy (us-east)'): steps "
        "whose jobs match: none; run: sopgate check STEP"
    )


def test_check_infers_the_step_through_the_adapter(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    mocked.get(f"{REPO}/check-runs/5077", json=load("check-run.json"))
    source = commands.Source(
        commands.CheckOptions(step=None, sop_path=".sopgate.yml", facts_path="unused")
    )
    source.adapter = make_adapter(GITHUB_JOB="deploy-us-east", SOPGATE_CHECK_RUN_ID="5077")
    evaluation = commands._evaluate(source, None, infer=True)
    assert evaluation.target == "production[us-east]"


# -- the request count does not grow with the steps --------------------------------------------


def _steps_sop(steps: int, required: int = 0) -> str:
    lines = [
        "sopgate: 1",
        f"name: {steps} steps",
        "roles: {sre: {groups: [acme/sre]}, rm: {users: [rita]}}",
        "steps:",
    ]
    for i in range(steps):
        evidence = (
            f'{{path: reports/step-{i}.json, require: {{ok: "== true"}}}}'
            if i < required
            else f"reports/step-{i}.json"
        )
        lines += [
            f"  - id: step-{i}",
            "    owner: sre",
            f"    checks: [check-{i}]",
            f"    evidence: [{evidence}]",
            "    approvals: [{role: sre, source: signoff}, {role: rm}]",
        ]
    return "\n".join(lines) + "\n"


def _requests_of_one_gather(sop: str, workdir: Path) -> int:
    sys.path.insert(0, str(Path(__file__).parents[3] / "stubs"))
    from github_stub import GitHubState, GitHubStub  # type: ignore[import-not-found]

    files = {".sopgate.yml": sop, **{f"reports/step-{i}.json": '{"ok": true}' for i in range(5)}}
    state = GitHubState(files=files, teams={"acme/sre": ["alice"]})
    with GitHubStub(state) as stub:
        env = {
            "GITHUB_API_URL": stub.url,
            "GITHUB_REPOSITORY": state.repository,
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(FIXTURES / "event-pull_request.json"),
            "GITHUB_SHA": HEAD,
            "GITHUB_TOKEN": "stub-token",
            "GITHUB_WORKSPACE": str(workdir),
        }
        adapter = from_env(env, retry=RetryPolicy(attempts=1))
        gathered = adapter.gather(sop_path=str(workdir / ".sopgate.yml"))
    assert gathered.sop_text == sop
    return len(state.requests)


def test_the_request_count_does_not_grow_with_the_steps(tmp_path: Path) -> None:
    small = _requests_of_one_gather(_steps_sop(10), tmp_path)
    large = _requests_of_one_gather(_steps_sop(200), tmp_path)
    # the base branch (its commit), contents x2, reviews, comments, commits, check suites,
    # timeline, check runs, statuses, tree, one team
    assert small == large == 12
    # Each document a require reads is one contents request more, and only that.
    assert _requests_of_one_gather(_steps_sop(200, required=5), tmp_path) == 12 + 5


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("reports/validation/auc.json", "nested too deeply"),
        ("reports/eu-west/eval.yaml", "invalid YAML at line 1 column 1001"),
    ],
)
def test_a_deeply_nested_document_is_unknown(
    path: str, why: str, make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    sop_in_force(mocked, REQUIRE_SOP)
    tree = load("tree.json")
    tree["tree"].append(_blob("reports/eu-west/eval.yaml"))
    mocked.replace(responses.GET, f"{REPO}/git/trees/{HEAD}?recursive=1", json=tree)
    deep = "[" * 200_000 + "]" * 200_000
    for name in ("reports/validation/auc.json", "reports/eu-west/eval.yaml"):
        _file(mocked, name, deep if name == path else '{"auc": 0.9, "ok": true}')
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    assert facts.documents[path] is None
    assert (
        f"evidence document {path} cannot be parsed: {why}: its content is unknown" in facts.notes
    )
