"""``sopgate sync`` on GitHub: which pull request a sync run is about, which statuses point
at a gate run, who started it, re-running it once, and the per-step statuses (issue 8.1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import responses
from conftest import (  # type: ignore[import-not-found]
    API,
    CANARY,
    HEAD,
    MERGE,
    REPO,
    add_pr_answers,
    load,
)

from sopgate.errors import PlatformError
from sopgate.evaluate import Evaluation, evaluate
from sopgate.facts import read_facts
from sopgate.platforms.github import GitHubAdapter
from sopgate.sop.load import read_sop
from sopgate.sync import RunActors, RunRef

Make = Callable[..., GitHubAdapter]
RUNS = "https://github.com/acme/fraud-model/actions/runs"
GREEN = Path(__file__).parents[4] / "examples" / "facts" / "green.yml"


# -- which statuses point at a gate run ----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "run"),
    [
        (f"{RUNS}/7", 7),
        (f"{RUNS}/7/job/123", 7),
        (f"{RUNS}/7/attempts/2", 7),
        ("https://github.com/ACME/Fraud-Model/actions/runs/7", 7),  # GitHub ignores case
        (f"{RUNS}/7/", None),
        (f"{RUNS}/7?x=1", None),
        (f"{RUNS}/7#frag", None),
        (f"{RUNS}/7?", None),
        ("https://someone@github.com/acme/fraud-model/actions/runs/7", None),
        (f"{RUNS}/07", None),
        (f"{RUNS}/7/jobs/123", None),
        (f"{RUNS}/7/job/123/extra", None),
        ("https://github.com/acme/other/actions/runs/7", None),  # another repository
        ("https://github.com/acme/fraud-model/pull/42", None),  # a sync run's status
        ("https://github.com.evil.test/acme/fraud-model/actions/runs/7", None),
        ("http://github.com/acme/fraud-model/actions/runs/7", None),  # another scheme
        ("https://github.com:8443/acme/fraud-model/actions/runs/7", None),  # another port
        ("https://ghe.example/acme/fraud-model/actions/runs/7", None),  # another server
        ("https://github.com/x/acme/fraud-model/actions/runs/7", None),
        ("", None),
        (None, None),
    ],
)
def test_a_gate_run_is_a_run_of_this_repository_on_this_server(
    url: str | None, run: int | None, make_adapter: Make
) -> None:
    found = make_adapter().gate_run(url)
    assert (found.id if found else None) == run
    if found is not None:
        assert found.url == f"{RUNS}/7"


def test_a_gate_run_on_a_server_under_a_path(make_adapter: Make) -> None:
    adapter = make_adapter(GITHUB_SERVER_URL="https://ghe.example/git/")
    assert adapter.gate_run("https://ghe.example/git/acme/fraud-model/actions/runs/9") == RunRef(
        9, "https://ghe.example/git/acme/fraud-model/actions/runs/9"
    )
    assert adapter.gate_run("https://ghe.example/acme/fraud-model/actions/runs/9") is None


def test_the_gate_status_of_check_points_at_its_run(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    """``check`` sets target_url to the run: the URL sync recognizes as a gate run."""
    add_pr_answers(mocked)
    adapter = make_adapter()
    adapter.markdown = lambda e: "## sopgate\n"
    adapter.gather(sop_path=".sopgate.yml")
    status = mocked.post(f"{REPO}/statuses/{HEAD}", status=201, json=load("status-created.json"))
    facts = read_facts(str(GREEN)).model_copy(update={"approvals": ()})
    adapter.publish(evaluate(read_sop(".sopgate.yml"), facts, "go-no-go"), dry_run=False)
    posted = json.loads(status.calls[0].request.body)
    assert posted["context"] == "sopgate/go-no-go" and posted["state"] == "pending"
    assert adapter.gate_run(posted["target_url"]) == RunRef(7, f"{RUNS}/7")


# -- who started it, and re-running it ---------------------------------------------------------


def run_answer(**changes: object) -> dict[str, object]:
    run: dict[str, object] = {
        "id": 7,
        "head_sha": HEAD,
        "status": "completed",
        "conclusion": "failure",
        "run_attempt": 1,
        "actor": {"login": "dave"},
        "triggering_actor": {"login": "dave"},
        "repository": {"full_name": "acme/fraud-model"},
    }
    run.update(changes)
    return run


@pytest.fixture
def syncing(make_adapter: Make, mocked: responses.RequestsMock) -> GitHubAdapter:
    add_pr_answers(mocked)
    adapter = make_adapter()
    adapter.markdown = lambda e: "## sopgate\n"
    adapter.gather(sop_path=".sopgate.yml")
    mocked.reset()
    return adapter


@pytest.mark.parametrize(
    ("triggering", "rerun_by"),
    [
        ("dave", None),
        ("DAVE", None),
        ("rita", "rita"),
        ("github-actions[bot]", None),  # sopgate sync's own re-run: judged as dave's
        (None, None),
    ],
)
def test_run_actors(
    triggering: str | None,
    rerun_by: str | None,
    syncing: GitHubAdapter,
    mocked: responses.RequestsMock,
) -> None:
    again = {"login": triggering} if triggering else None
    get = mocked.get(f"{REPO}/actions/runs/7", json=run_answer(triggering_actor=again))
    assert syncing.run_actors(RunRef(7, f"{RUNS}/7")) == RunActors("dave", rerun_by)
    assert len(get.calls) == 1


def test_a_run_without_an_actor_cannot_be_judged(
    syncing: GitHubAdapter, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{REPO}/actions/runs/7", json=run_answer(actor=None))
    with pytest.raises(PlatformError, match="names no actor"):
        syncing.run_actors(RunRef(7, f"{RUNS}/7"))


def test_rerun_posts_once(syncing: GitHubAdapter, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{REPO}/actions/runs/7", json=run_answer())
    post = mocked.post(f"{REPO}/actions/runs/7/rerun-failed-jobs", status=201, json={})
    run = RunRef(7, f"{RUNS}/7")
    syncing.run_actors(run)
    assert syncing.rerun(run, dry_run=False) == f"re-ran the failed jobs of {RUNS}/7"
    assert len(post.calls) == 1
    assert post.calls[0].request.headers["Authorization"] == f"Bearer {CANARY}"


@pytest.mark.parametrize(
    ("status", "body", "line"),
    [
        (403, {"message": "This workflow run is not completed"}, "HTTP 403: This workflow run"),
        (502, {"message": "bad gateway"}, "HTTP 502: bad gateway"),  # never repeated blindly
        (307, {}, "HTTP 307: a redirect; writes follow none"),
        (403, {"message": f"denied for {CANARY}"}, "HTTP 403: denied for ***"),
    ],
)
def test_a_failed_rerun_is_a_line(
    status: int,
    body: dict[str, str],
    line: str,
    syncing: GitHubAdapter,
    mocked: responses.RequestsMock,
) -> None:
    mocked.get(f"{REPO}/actions/runs/7", json=run_answer())
    headers = {"Location": "https://elsewhere.test/x"} if status == 307 else {}
    post = mocked.post(
        f"{REPO}/actions/runs/7/rerun-failed-jobs", status=status, json=body, headers=headers
    )
    run = RunRef(7, f"{RUNS}/7")
    syncing.run_actors(run)
    assert syncing.rerun(run, dry_run=False).startswith(f"not re-run: {RUNS}/7: {line}")
    assert len(post.calls) == 1
    assert not [c for c in mocked.calls if "elsewhere" in str(c.request.url)]


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"head_sha": MERGE}, f"it ran {MERGE[:12]}, not the head {HEAD[:12]}"),
        ({"repository": {"full_name": "mallory/fork"}}, "it is a run of mallory/fork"),
    ],
)
def test_a_run_of_another_commit_is_never_re_run(
    changes: dict[str, object], why: str, syncing: GitHubAdapter, mocked: responses.RequestsMock
) -> None:
    """A status on the head may point at a run of an older commit: re-running that run
    would deploy the older commit."""
    mocked.get(f"{REPO}/actions/runs/7", json=run_answer(**changes))
    post = mocked.post(f"{REPO}/actions/runs/7/rerun-failed-jobs", status=201, json={})
    run = RunRef(7, f"{RUNS}/7")
    syncing.run_actors(run)
    assert syncing.rerun(run, dry_run=False) == f"not re-run: {RUNS}/7: {why}"
    assert len(post.calls) == 0


def test_dry_run_rerun_posts_nothing(
    syncing: GitHubAdapter, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{REPO}/actions/runs/7", json=run_answer())
    run = RunRef(7, f"{RUNS}/7")
    syncing.run_actors(run)
    assert syncing.rerun(run, dry_run=True) == f"dry run: would re-run the failed jobs of {RUNS}/7"
    assert [c.request.method for c in mocked.calls] == ["GET"]


# -- the statuses and the comment of a sync run --------------------------------------------------


def sync_evaluation() -> Evaluation:
    facts = read_facts(str(GREEN)).model_copy(update={"initiator": None})
    return evaluate(read_sop(".sopgate.yml"), facts, None)


def test_publish_sync_sets_one_status_per_step_but_the_kept_ones(
    syncing: GitHubAdapter, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    status = mocked.post(f"{REPO}/statuses/{HEAD}", status=201, json=load("status-created.json"))
    mocked.get(f"{REPO}/issues/42/comments?per_page=100", json=load("comments.json"))
    sticky = load("comments.json")[2]
    edit = mocked.patch(f"{REPO}/issues/comments/{sticky['id']}", json=sticky)
    evaluation = sync_evaluation()
    keep = frozenset({"go-no-go"})
    lines = syncing.publish_sync(evaluation, keep=keep, dry_run=False)
    posted = [json.loads(call.request.body) for call in status.calls]
    expected = [r for r in evaluation.steps if r.key not in keep]
    assert [p["context"] for p in posted] == [f"sopgate/{r.key}" for r in expected]
    pr_url = "https://example.invalid/acme/fraud-model/pull/42"
    assert {p["target_url"] for p in posted} == {pr_url}  # never a run URL
    for result, sent in zip(expected, posted, strict=True):
        state = {"done": "success", "rejected": "failure", "failed": "failure"}
        assert sent["state"] == state.get(result.state, "pending")
        why = f"{result.state}: {result.reasons[0]}" if result.reasons else result.state
        assert sent["description"] == why[:140]
    assert len(edit.calls) == 1
    assert lines[0] == f"comment: updated {sticky['html_url']}"
    assert f"status: commit status sopgate/staging on {HEAD[:12]}: success" in lines
    assert not any("GITHUB_STEP_SUMMARY" in line or line.startswith("::") for line in lines)


def test_publish_sync_states_and_descriptions(
    syncing: GitHubAdapter, mocked: responses.RequestsMock
) -> None:
    status = mocked.post(f"{REPO}/statuses/{HEAD}", status=201, json=load("status-created.json"))
    facts = read_facts(str(GREEN)).model_copy(update={"initiator": None, "approvals": ()})
    evaluation = evaluate(read_sop(".sopgate.yml"), facts, None)
    syncing.settings = replace(syncing.settings, comment=False)
    syncing._syncer = None
    syncing.publish_sync(evaluation, keep=frozenset(), dry_run=False)
    posted = {
        json.loads(c.request.body)["context"]: json.loads(c.request.body) for c in status.calls
    }
    review = posted["sopgate/security-review"]
    assert review["state"] == "pending"
    assert review["description"].startswith("waiting: needs 1 approval from security")
    assert posted["sopgate/data-readiness"]["state"] == "success"
    assert posted["sopgate/data-readiness"]["description"] == "done"


def test_publish_sync_dry_run_writes_nothing(
    syncing: GitHubAdapter, mocked: responses.RequestsMock
) -> None:
    lines = syncing.publish_sync(sync_evaluation(), keep=frozenset(), dry_run=True)
    assert len(mocked.calls) == 0
    assert lines[0] == "dry run: would create or update the sopgate comment on #42"
    assert all(line.startswith("dry run: ") for line in lines)
    assert f"dry run: would set commit status sopgate/staging on {HEAD[:12]} to success: done" in (
        lines
    )


# -- which pull request a sync run is about --------------------------------------------------------


def _event(tmp_path: Path, payload: dict[str, object]) -> str:
    path = tmp_path / "event-sync.json"
    path.write_text(json.dumps(payload))
    return str(path)


@pytest.mark.parametrize(
    ("event", "payload", "line"),
    [
        (
            "workflow_run",
            {"workflow_run": {"head_sha": HEAD, "pull_requests": []}},
            f"no pull request to sync: the workflow_run of {HEAD[:12]} names none of "
            "acme/fraud-model",
        ),
        (
            "check_suite",
            {"check_suite": {"head_sha": HEAD}},
            f"no pull request to sync: the check_suite of {HEAD[:12]} names none of "
            "acme/fraud-model",
        ),
        (
            "workflow_run",
            {
                "workflow_run": {
                    "head_sha": HEAD,
                    "pull_requests": [
                        {"number": 3, "url": f"{API}/repos/upstream/fraud-model/pulls/3"}
                    ],
                }
            },
            f"no pull request to sync: the workflow_run of {HEAD[:12]} names none of "
            "acme/fraud-model",
        ),
        (
            "issue_comment",
            {"issue": {"number": 3}, "comment": {"body": "/sop approve x"}},
            "no pull request to sync: the comment is on an issue",
        ),
    ],
)
def test_nothing_to_sync_exits_0_without_a_request(
    event: str,
    payload: dict[str, object],
    line: str,
    make_env: Callable[..., dict[str, str]],
    mocked: responses.RequestsMock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sopgate.cli import main

    env = make_env(event, GITHUB_EVENT_PATH=_event(tmp_path, payload), GITHUB_SHA=MERGE)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["sync", "--platform", "github", "--sop", ".sopgate.yml"]) == 0
    assert line in capsys.readouterr().err
    assert len(mocked.calls) == 0


STUB_SOP = """\
sopgate: 1
name: sync through the stub
scope: {system: fraud-model, environments: [staging]}
roles:
  sre: {users: [sam]}
  release-managers: {users: [rita]}
steps:
  - id: staging
    owner: sre
    environment: staging
    needs: []
    approvals: [{role: release-managers, count: 1, source: review}]
  - id: go-no-go
    type: decision
    owner: release-managers
    needs: []
    approvals: [{role: release-managers, count: 1, source: signoff}]
"""


def test_sync_on_a_comment_re_runs_the_gate_run_through_the_stub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole GitHub path over HTTP: rita's /sop approve opens go-no-go, whose gate run 7
    (started by dave) left a pending status; sync re-runs run 7 once and sets the other
    steps' statuses on the head, pointing at the pull request."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[3] / "stubs"))
    from github_stub import GitHubState, GitHubStub  # type: ignore[import-not-found]

    from sopgate.cli import main

    sop = STUB_SOP
    (tmp_path / ".sopgate.yml").write_text(sop)
    monkeypatch.chdir(tmp_path)
    pr = load("event-pull_request.json")["pull_request"]
    run_url = f"{RUNS}/7"
    state = GitHubState(
        files={".sopgate.yml": sop},
        pulls=[pr],
        comments=[load("comments.json")[0]],  # rita: /sop approve go-no-go
        statuses=[
            {
                "context": "sopgate/go-no-go",
                "state": "pending",
                "sha": HEAD,
                # the run, naming its record (a closed gate's): sync still finds the run
                "target_url": f"{run_url}#sopgate-record=sha256:{'c' * 64}",
                "created_at": "2026-11-26T09:00:00Z",
                "updated_at": "2026-11-26T09:00:00Z",
            }
        ],
        runs={7: run_answer()},
        # the head was pushed before rita's sign-off (08:00): a fresh sign-off
        check_suites=load("check-suites.json")["check_suites"],
    )
    event: dict[str, object] = {
        "action": "created",
        "issue": {"number": 42, "pull_request": {"url": f"{API}/repos/acme/fraud-model/pulls/42"}},
        "comment": {"body": "/sop approve go-no-go", "user": {"login": "rita"}},
    }
    with GitHubStub(state) as stub:
        env = {
            "GITHUB_API_URL": f"{stub.url}/api/v3",
            "GITHUB_REPOSITORY": state.repository,
            "GITHUB_EVENT_NAME": "issue_comment",
            "GITHUB_EVENT_PATH": _event(tmp_path, event),
            "GITHUB_SHA": MERGE,
            "GITHUB_ACTOR": "rita",
            "GITHUB_TOKEN": "stub-token",
            "GITHUB_WORKSPACE": str(tmp_path),
            "GITHUB_SERVER_URL": "https://github.com",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        code = main(["sync", "--platform", "github", "--sop", ".sopgate.yml"])
    err = capsys.readouterr().err
    assert code == 0, err
    facts_lines = [line for line in err.splitlines() if "gate open now" in line]
    assert facts_lines == [f"go-no-go: gate open now; re-ran the failed jobs of {run_url}"], err
    assert state.reruns == [7]
    synced = [s for s in state.statuses if s["context"] != "sopgate/go-no-go"]
    assert [(s["context"], s["state"], s["sha"]) for s in synced] == [
        ("sopgate/staging", "pending", HEAD)
    ]
    assert synced[0]["description"].startswith("waiting: needs 1 approval from release-managers")
    assert synced[0]["target_url"] == pr["html_url"]
    assert len([s for s in state.statuses if s["context"] == "sopgate/go-no-go"]) == 1  # kept


def test_publish_sync_statuses_of_an_overridden_step_start_with_the_override(
    syncing: GitHubAdapter, mocked: responses.RequestsMock
) -> None:
    root = Path(__file__).resolve().parents[4] / "examples" / "regulated"
    loaded = read_sop(str(root / ".sopgate.yml"))
    facts = read_facts(str(root / "facts" / "emergency.yml"))
    evaluation = evaluate(loaded, facts.model_copy(update={"initiator": None}), None)
    overridden = [r for r in evaluation.steps if r.emergency]
    assert overridden, "the example has an override"
    lines = syncing.publish_sync(evaluation, keep=frozenset(), dry_run=True)
    for result in overridden:
        (line,) = [ln for ln in lines if f"sopgate/{result.key} " in ln]
        assert line.split(": ", 1)[1].split(": ", 1)[1].startswith("EMERGENCY OVERRIDE by "), line
