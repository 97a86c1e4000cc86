"""Publishing: summary, outputs, annotations, commit status and the sticky comment."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import responses
from conftest import (  # type: ignore[import-not-found]
    API,
    CANARY,
    HEAD,
    REPO,
    FakeTime,
    add_pr_answers,
    load,
)

from sopgate.evaluate import Evaluation, evaluate
from sopgate.facts import read_facts
from sopgate.platforms.github import GitHubAdapter
from sopgate.report import record_digest
from sopgate.sop.load import read_sop
from tests.unit.render.emergency_cases import LINE, emergency_run

Make = Callable[..., GitHubAdapter]
PG = REPO  # writes go through the same client as the reads
GREEN = Path(__file__).parents[4] / "examples" / "facts" / "green.yml"


def evaluation(target: str, *, approvals: bool = True) -> Evaluation:
    loaded = read_sop(".sopgate.yml")  # the checkout is the working directory
    facts = read_facts(str(GREEN))
    if not approvals:
        facts = facts.model_copy(update={"approvals": ()})
    return evaluate(loaded, facts, target)


@pytest.fixture
def runner_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    return summary, output


@pytest.fixture
def adapter(make_adapter: Make, mocked: responses.RequestsMock) -> GitHubAdapter:
    add_pr_answers(mocked)
    made = make_adapter()
    made.markdown = lambda e: f"## sopgate: {e.target} is {e.decision}\n"
    made.gather(sop_path=".sopgate.yml")
    mocked.reset()  # each test registers the answers publishing needs
    return made


def add_comment_list(mocked: responses.RequestsMock, comments: list[object]) -> None:
    mocked.get(f"{PG}/issues/42/comments?per_page=100", json=comments)


def test_publish_closed_gate(
    adapter: GitHubAdapter, mocked: responses.RequestsMock, runner_files: tuple[Path, Path]
) -> None:
    status = mocked.post(f"{PG}/statuses/{HEAD}", status=201, json=load("status-created.json"))
    add_comment_list(mocked, load("comments.json"))
    sticky = load("comments.json")[2]
    edit = mocked.patch(f"{PG}/issues/comments/{sticky['id']}", json=sticky)
    closed = evaluation("staging", approvals=False)
    lines = adapter.publish(closed, dry_run=False)
    summary, output = runner_files
    assert summary.read_text() == "## sopgate: staging is closed\n"
    assert output.read_text() == "decision=closed\nstep=staging\nstate=blocked\nemergency=false\n"
    assert json.loads(status.calls[0].request.body) == {
        "state": "pending",
        "description": "blocked: waits for security-review (waiting; owner security)",
        "context": "sopgate/staging",
        # the run, naming the digest of the record it writes (even of a closed gate)
        "target_url": "https://github.com/acme/fraud-model/actions/runs/7"
        f"#sopgate-record=sha256:{record_digest(closed)}",
    }
    assert json.loads(edit.calls[0].request.body) == {
        "body": "<!-- sopgate -->\n## sopgate: staging is closed\n"
    }
    assert lines == [
        "summary: appended to $GITHUB_STEP_SUMMARY",
        "outputs: decision=closed step=staging state=blocked emergency=false",
        "::error file=.sopgate.yml,line=28,title=sopgate%3A staging::staging is blocked: "
        "waits for security-review (waiting; owner security)",
        "::warning file=.sopgate.yml,line=25,title=sopgate%3A security-review::security-review "
        "is waiting, not done yet: needs 1 approval from security (sec-bob, sec-carol); has 0",
        f"status: commit status sopgate/staging on {HEAD[:12]}: pending",
        f"comment: updated {sticky['html_url']}",
    ]


def test_open_gate_creates_comment_once(
    adapter: GitHubAdapter, mocked: responses.RequestsMock
) -> None:
    status = mocked.post(f"{PG}/statuses/{HEAD}", status=201, json=load("status-created.json"))
    add_comment_list(mocked, load("comments.json")[:2])
    created = mocked.post(f"{PG}/issues/42/comments", status=201, json=load("comment-created.json"))
    lines = adapter.publish(evaluation("production[eu-west]"), dry_run=False)
    assert json.loads(status.calls[0].request.body)["state"] == "success"
    assert json.loads(status.calls[0].request.body)["context"] == "sopgate/production[eu-west]"
    assert len(created.calls) == 1
    assert lines[-1].startswith("comment: created https://github.com/acme/fraud-model/pull/42")
    assert not any(line.startswith("::error") for line in lines)


def test_dry_run_writes_nothing(
    adapter: GitHubAdapter, mocked: responses.RequestsMock, runner_files: tuple[Path, Path]
) -> None:
    lines = adapter.publish(evaluation("staging", approvals=False), dry_run=True)
    assert len(mocked.calls) == 0
    assert not runner_files[0].exists() and not runner_files[1].exists()
    assert lines[0] == "dry run: would append the summary (30 characters) to $GITHUB_STEP_SUMMARY"
    assert lines[1] == (
        "dry run: would write decision=closed step=staging state=blocked emergency=false to "
        "$GITHUB_OUTPUT"
    )
    assert lines[2].startswith("dry run: would annotate error file=.sopgate.yml,line=28,")
    assert lines[-2] == (
        f"dry run: would set commit status sopgate/staging on {HEAD[:12]} "
        "to pending: blocked: waits for security-review (waiting; owner "
        "security)"
    )
    assert lines[-1] == "dry run: would create or update the sopgate comment on #42"
    assert all(line.startswith("dry run: ") for line in lines)


def test_failures_are_lines(
    adapter: GitHubAdapter, mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    mocked.post(
        f"{PG}/statuses/{HEAD}",
        status=403,
        json={"message": f"Resource not accessible by integration {CANARY}"},
    )
    mocked.get(f"{PG}/issues/42/comments?per_page=100", status=502, body="bad gateway")
    lines = adapter.publish(evaluation("production[eu-west]"), dry_run=False)
    assert lines[-2] == (
        f"status: commit status sopgate/production[eu-west] on {HEAD[:12]} "
        "not set: HTTP 403: Resource not accessible by integration ***"
    )
    assert lines[-1] == (
        "comment: not posted on #42: GitHub answered /repos/acme/fraud-model/issues/42/comments "
        "with HTTP 502 (gave up after 4 tries in 7 s)"
    )
    assert fake_time.sleeps == [1.0, 2.0, 4.0]
    assert all(CANARY not in line for line in lines)


def test_retry_refinds_the_comment(
    adapter: GitHubAdapter, mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    mocked.post(f"{PG}/statuses/{HEAD}", status=201, json=load("status-created.json"))
    mocked.get(f"{PG}/issues/42/comments?per_page=100", json=[])
    mocked.post(f"{PG}/issues/42/comments", status=502, body="lost")
    mocked.get(f"{PG}/issues/42/comments?per_page=100", json=[load("comment-created.json")])
    edit = mocked.patch(
        f"{PG}/issues/comments/{load('comment-created.json')['id']}",
        json=load("comment-created.json"),
    )
    lines = adapter.publish(evaluation("production[eu-west]"), dry_run=False)
    assert len(edit.calls) == 1
    assert lines[-1].startswith("comment: updated ")


def test_comment_disabled_and_no_pr(make_adapter: Make, mocked: responses.RequestsMock) -> None:
    add_pr_answers(mocked)
    quiet = make_adapter(SOPGATE_COMMENT="false")
    quiet.markdown = lambda e: "x"
    quiet.gather(sop_path=".sopgate.yml")
    mocked.post(f"{PG}/statuses/{HEAD}", status=201, json=load("status-created.json"))
    lines = quiet.publish(evaluation("staging"), dry_run=False)
    assert not any(line.startswith("comment") for line in lines)


def test_render_failure_is_a_line(adapter: GitHubAdapter, mocked: responses.RequestsMock) -> None:
    def broken(_: Evaluation) -> str:
        raise RuntimeError("no renderer")

    adapter.markdown = broken
    mocked.post(f"{PG}/statuses/{HEAD}", status=201, json=load("status-created.json"))
    lines = adapter.publish(evaluation("staging"), dry_run=False)
    assert lines[0] == "summary: cannot render Markdown: no renderer"


def test_a_racing_duplicate_comment_is_removed(
    adapter: GitHubAdapter, mocked: responses.RequestsMock
) -> None:
    mocked.post(f"{PG}/statuses/{HEAD}", status=201, json=load("status-created.json"))
    ours = load("comment-created.json")
    older = ours["id"] - 1
    theirs = dict(
        ours,
        id=older,
        url=ours["url"].replace(str(ours["id"]), str(older)),
        html_url=ours["html_url"].replace(str(ours["id"]), str(older)),
    )
    add_comment_list(mocked, [])  # neither job saw a comment...
    mocked.post(f"{PG}/issues/42/comments", status=201, json=ours)
    add_comment_list(mocked, [theirs, ours])  # ...and both created one
    edit = mocked.patch(f"{PG}/issues/comments/{theirs['id']}", json=theirs)
    delete = mocked.delete(f"{PG}/issues/comments/{ours['id']}", status=204)
    lines = adapter.publish(evaluation("production[eu-west]"), dry_run=False)
    assert len(edit.calls) == 1 and len(delete.calls) == 1
    assert lines[-1] == f"comment: updated {theirs['html_url']} (removed 1 duplicate)"


# -- whose comment is the sticky one ------------------------------------------------------------


def _marked(comment_id: int, login: str, **extra: object) -> dict[str, object]:
    """A comment starting with sopgate's marker, by ``login``."""
    created = load("comment-created.json")
    return dict(
        created,
        id=comment_id,
        body="<!-- sopgate -->\n## sopgate: everything is open, merge away",
        user=dict(created["user"], login=login),
        html_url=f"https://github.com/acme/fraud-model/pull/42#issuecomment-{comment_id}",
        **extra,
    )


def test_a_strangers_marked_comment_is_not_the_sticky_one(
    adapter: GitHubAdapter, mocked: responses.RequestsMock
) -> None:
    """mallory's comment starts with the marker: it is neither edited nor deleted; sopgate
    asks who it is (GET /user: the job token is no user) and posts its own comment."""
    mocked.post(f"{PG}/statuses/{HEAD}", status=201, json=load("status-created.json"))
    stranger = _marked(900, "mallory")
    add_comment_list(mocked, [stranger])
    who = mocked.get(f"{API}/user", status=403, json={"message": "Resource not accessible"})
    created = mocked.post(f"{PG}/issues/42/comments", status=201, json=load("comment-created.json"))
    add_comment_list(mocked, [stranger, load("comment-created.json")])
    lines = adapter.publish(evaluation("production[eu-west]"), dry_run=False)
    assert len(who.calls) == 1 and len(created.calls) == 1
    assert not [c for c in mocked.calls if c.request.method in ("PATCH", "DELETE")]
    assert lines[-1].startswith("comment: created https://github.com/acme/fraud-model/pull/42")


def test_the_token_users_own_marked_comment_is_the_sticky_one(
    adapter: GitHubAdapter, mocked: responses.RequestsMock
) -> None:
    """With a personal token, GET /user names the token's user: its comment is edited."""
    mocked.post(f"{PG}/statuses/{HEAD}", status=201, json=load("status-created.json"))
    mine = _marked(901, "release-bot-user")
    add_comment_list(mocked, [_marked(900, "mallory"), mine])
    mocked.get(f"{API}/user", json={"login": "Release-Bot-User"})
    edit = mocked.patch(f"{PG}/issues/comments/901", json=mine)
    lines = adapter.publish(evaluation("production[eu-west]"), dry_run=False)
    assert len(edit.calls) == 1
    assert lines[-1] == f"comment: updated {mine['html_url']}"


def test_an_apps_marked_comment_is_the_sticky_one_for_an_installation_token(
    adapter: GitHubAdapter, mocked: responses.RequestsMock
) -> None:
    """An installation token is no user (GET /user: 403): a comment an App performed (only
    Apps the repository's admins installed can) is sopgate's; a person's never is."""
    mocked.post(f"{PG}/statuses/{HEAD}", status=201, json=load("status-created.json"))
    app = _marked(902, "sopgate-app[bot]", performed_via_github_app={"slug": "sopgate-app"})
    posing = _marked(900, "mallory", performed_via_github_app={"slug": "sopgate-app"})
    add_comment_list(mocked, [posing, app])
    mocked.get(f"{API}/user", status=403, json={"message": "Resource not accessible"})
    edit = mocked.patch(f"{PG}/issues/comments/902", json=app)
    lines = adapter.publish(evaluation("production[eu-west]"), dry_run=False)
    assert len(edit.calls) == 1
    assert lines[-1] == f"comment: updated {app['html_url']}"


def test_who_the_token_is_cannot_be_told_creates_a_comment(
    adapter: GitHubAdapter, mocked: responses.RequestsMock
) -> None:
    """GET /user fails (a 500 after its retries): unsure, so a new comment, never an edit."""
    mocked.post(f"{PG}/statuses/{HEAD}", status=201, json=load("status-created.json"))
    add_comment_list(mocked, [_marked(901, "release-bot-user")])
    mocked.get(f"{API}/user", status=500, json={"message": "oops"})
    created = mocked.post(f"{PG}/issues/42/comments", status=201, json=load("comment-created.json"))
    add_comment_list(mocked, [_marked(901, "release-bot-user"), load("comment-created.json")])
    lines = adapter.publish(evaluation("production[eu-west]"), dry_run=False)
    assert len(created.calls) == 1
    assert not [c for c in mocked.calls if c.request.method in ("PATCH", "DELETE")]
    assert lines[-1].startswith("comment: created ")


def test_emergency_override_is_loud_in_outputs_annotations_and_status(
    adapter: GitHubAdapter, mocked: responses.RequestsMock, runner_files: tuple[Path, Path]
) -> None:
    status = mocked.post(f"{PG}/statuses/{HEAD}", status=201, json=load("status-created.json"))
    add_comment_list(mocked, load("comments.json")[:2])
    mocked.post(f"{PG}/issues/42/comments", status=201, json=load("comment-created.json"))
    lines = adapter.publish(emergency_run(reason="outage, 100%: fix\nnow"), dry_run=False)
    assert runner_files[1].read_text() == (
        "decision=open\nstep=production\nstate=ready\nemergency=true\n"
    )
    assert lines[1] == "outputs: decision=open step=production state=ready emergency=true"
    assert lines[2] == (
        "::warning title=sopgate emergency override::EMERGENCY OVERRIDE by olga: "
        "outage, 100%25: fix%0Anow (production)"
    )
    assert json.loads(status.calls[0].request.body)["description"] == (
        "EMERGENCY OVERRIDE by olga: outage, 100%: fix now; gate open (ready)"
    )


def test_emergency_status_of_a_dry_run(
    adapter: GitHubAdapter, mocked: responses.RequestsMock, runner_files: tuple[Path, Path]
) -> None:
    lines = adapter.publish(emergency_run(), dry_run=True)
    assert len(mocked.calls) == 0
    assert lines[2] == (
        f"dry run: would annotate warning title=sopgate emergency override::{LINE} (production)"
    )
    assert lines[-2] == (
        f"dry run: would set commit status sopgate/production on {HEAD[:12]} to success: "
        f"{LINE}; gate open (ready)"
    )
