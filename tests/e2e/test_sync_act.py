"""End to end: the operating model on GitHub, run by ``act`` against the stub API (issue 8.1).

Three act runs in one throwaway repository (see ``test_action_act.py`` for the offline
machinery it shares: host mode, no fetch, stand-ins for the external actions):

1. ``deploy.yml`` on ``pull_request`` (actor dave): the production gate is closed (it waits
   for a release manager's sign-off), the job fails, and the status ``sopgate/production``
   points at the run.
2. rita comments ``/sop approve production`` (recorded in the stub); ``sync.yml`` runs on
   ``issue_comment`` (actor rita): the stub receives exactly one ``POST
   .../actions/runs/{id}/rerun-failed-jobs`` for the gate's run.
3. ``deploy.yml`` again as GitHub re-runs it: ``GITHUB_RUN_ATTEMPT=2``, triggered by
   ``github-actions[bot]`` (sync re-runs with the job token): the gate opens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "stubs"))
from github_stub import GitHubState, GitHubStub  # type: ignore[import-not-found]
from test_action_act import (  # type: ignore[import-not-found]
    ACT_TIMEOUT,
    REPOSITORY,
    TOKEN,
    _act,
    _bin,
    _local_repositories,
    _repository,
    _session,
    _stop,
)

pytestmark = pytest.mark.e2e

PR = 7
RUN_ID = 1  # act's GITHUB_RUN_ID
RUN_URL = f"https://github.com/{REPOSITORY}/actions/runs/{RUN_ID}"
RECORD = "#sopgate-record=sha256:"  # a gate's status names the digest of its run's record
PR_URL = f"https://github.invalid/{REPOSITORY}/pull/{PR}"


def _time(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ActRun:
    returncode: int
    events: list[dict[str, Any]]
    log: str
    seconds: float

    def result(self, job: str) -> str | None:
        found = [e["jobResult"] for e in self.events if e.get("jobID") == job and "jobResult" in e]
        return found[-1] if found else None


@dataclass
class Flow:
    head: str
    state: GitHubState
    out: Path
    runs: dict[str, ActRun] = field(default_factory=dict)
    statuses_after: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    reruns_after: dict[str, list[int]] = field(default_factory=dict)

    def report(self, phase: str) -> dict[str, Any]:
        path = self.out / phase / "deploy-production" / "sopgate-report.json"
        assert path.exists(), f"{phase}: no report\n{self.runs[phase].log[-4000:]}"
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded


def _state(repo: Path, head: str) -> GitHubState:
    done = _time(-timedelta(hours=1))
    pull = {
        "number": PR,
        "state": "open",
        "html_url": PR_URL,
        "user": {"login": "dave"},
        "head": {"sha": head, "ref": "feature"},
        "base": {"sha": head, "ref": "main"},
    }
    return GitHubState(
        repository=REPOSITORY,
        files={
            ".sopgate.yml": (repo / ".sopgate.yml").read_text(),
            "docs/model-card.md": (repo / "docs" / "model-card.md").read_text(),
        },
        check_runs=[
            {
                "id": number,
                "name": name,
                "status": "completed",
                "conclusion": "success",
                "started_at": done,
                "completed_at": done,
                "app": {"slug": "github-actions"},
                "html_url": f"https://github.invalid/{REPOSITORY}/runs/{number}",
            }
            for number, name in ((1, "model-eval"), (2, "deploy-staging"))
        ],
        teams={"acme/sre": ["sam"]},
        pulls=[pull],
        # the head was pushed two hours ago: rita's sign-off comes after it (fresh)
        check_suites=[{"id": 1, "created_at": _time(-timedelta(hours=2))}],
        runs={
            RUN_ID: {
                "id": RUN_ID,
                "head_sha": head,
                "status": "completed",
                "conclusion": "failure",
                "run_attempt": 1,
                "actor": {"login": "dave"},
                "triggering_actor": {"login": "dave"},
                "repository": {"full_name": REPOSITORY},
            }
        },
    )


def _pull_request_event(head: str) -> dict[str, Any]:
    return {
        "action": "synchronize",
        "number": PR,
        "pull_request": {
            "number": PR,
            "html_url": PR_URL,
            "user": {"login": "dave"},
            "head": {"sha": head, "ref": "feature"},
            "base": {"sha": head, "ref": "main"},
        },
        "repository": {"full_name": REPOSITORY, "name": "fraud-model", "owner": {"login": "acme"}},
    }


def _comment_event(comment: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": "created",
        "issue": {
            "number": PR,
            "pull_request": {"url": f"https://api.github.invalid/repos/{REPOSITORY}/pulls/{PR}"},
        },
        "comment": comment,
        "repository": {"full_name": REPOSITORY, "name": "fraud-model", "owner": {"login": "acme"}},
    }


def _run_act(command: list[str], repo: Path, env: dict[str, str]) -> ActRun:
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        log, _ = process.communicate(timeout=ACT_TIMEOUT)
    except subprocess.TimeoutExpired:
        _stop(process)
        pytest.fail(f"act did not finish within {ACT_TIMEOUT} s; stopped it")
    seconds = time.monotonic() - started
    left = _session(process.pid)
    if left:
        _stop(process)
        pytest.fail(f"act left processes running: {left}")
    events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return ActRun(process.returncode, events, log, seconds)


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    act = _act()
    tmp = tmp_path_factory.mktemp("act-sync")
    (tmp / "home").mkdir()
    repo = tmp / "repo"
    head = _repository(repo)
    out = tmp / "out"
    out.mkdir()
    bin_dir = _bin(tmp / "bin")
    local = _local_repositories(tmp)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "HOME": str(tmp / "home"),
        "XDG_CONFIG_HOME": str(tmp / "home" / ".config"),
        "XDG_CACHE_HOME": str(tmp / "home" / ".cache"),
        "LANG": "C.UTF-8",
        "ACT_DISABLE_VERSION_CHECK": "1",
    }
    state = _state(repo, head)
    found = Flow(head, state, out)
    with GitHubStub(state) as stub:

        def act_on(
            phase: str, event: str, workflow: str, payload: dict[str, Any], *extra: str
        ) -> None:
            path = tmp / f"event-{phase}.json"
            path.write_text(json.dumps(payload))
            (out / phase).mkdir()
            command = [
                act,
                event,
                "--workflows",
                f".github/workflows/{workflow}",
                "--eventpath",
                str(path),
                "--platform",
                "ubuntu-latest=-self-hosted",
                "--pull=false",
                "--action-offline-mode",
                "--action-cache-path",
                str(tmp / "act-cache"),
                "--no-cache-server",
                "--json",
                *local,
                "--secret",
                f"GITHUB_TOKEN={TOKEN}",
                "--env",
                f"GITHUB_API_URL={stub.url}/api/v3",
                "--env",
                f"SOPGATE_E2E_OUT={out / phase}",
                *extra,
            ]
            found.runs[phase] = _run_act(command, repo, env)
            with state.lock:
                found.statuses_after[phase] = [dict(s) for s in state.statuses]
                found.reruns_after[phase] = list(state.reruns)

        act_on("gate", "pull_request", "deploy.yml", _pull_request_event(head), "--actor", "dave")
        comment = {
            "id": 501,
            "body": "/sop approve production",
            "user": state.user("rita"),
            "created_at": _time(-timedelta(minutes=1)),
            "updated_at": _time(-timedelta(minutes=1)),
            "html_url": f"{PR_URL}#issuecomment-501",
        }
        with state.lock:
            state.comments.append(comment)
        act_on("sync", "issue_comment", "sync.yml", _comment_event(comment), "--actor", "rita")
        act_on(
            "rerun",
            "pull_request",
            "deploy.yml",
            _pull_request_event(head),
            "--actor",
            "dave",
            "--env",
            "GITHUB_RUN_ATTEMPT=2",
            "--env",
            "GITHUB_TRIGGERING_ACTOR=github-actions[bot]",
        )
    yield found


def _status(statuses: list[dict[str, Any]], context: str) -> dict[str, Any]:
    """The latest status of ``context``."""
    return [s for s in statuses if s["context"] == context][-1]


def test_the_gate_run_closes_and_its_status_points_at_the_run(flow: Flow) -> None:
    gate = flow.runs["gate"]
    assert gate.result("deploy-production") == "failure", gate.log[-4000:]
    report = flow.report("gate")
    assert report["decision"] == "closed" and report["step"] == "production"
    production = next(s for s in report["steps"] if s["id"] == "production")
    assert production["state"] == "waiting"
    assert production["reasons"] == [
        "needs 1 sign-off from release-managers (rita); has 0 (comment '/sop approve production')"
    ]
    status = _status(flow.statuses_after["gate"], "sopgate/production")
    assert status["state"] == "pending" and status["sha"] == flow.head
    assert status["target_url"] == f"{RUN_URL}{RECORD}{report['report_digest']}"
    assert flow.reruns_after["gate"] == []


def test_the_sign_off_comment_re_runs_the_gate_run_once(flow: Flow) -> None:
    sync = flow.runs["sync"]
    assert sync.result("sync") == "success", sync.log[-6000:]
    assert flow.reruns_after["sync"] == [RUN_ID]
    reruns = [
        r
        for r in flow.state.requests
        if r.method == "POST" and r.path.endswith("/rerun-failed-jobs")
    ]
    assert [r.path for r in reruns] == [
        f"/repos/{REPOSITORY}/actions/runs/{RUN_ID}/rerun-failed-jobs"
    ]
    assert all(r.authorized for r in flow.state.requests)
    messages = " ".join(str(e.get("msg", "")) for e in sync.events)
    assert f"production: gate open now; re-ran the failed jobs of {RUN_URL}" in messages
    # the sync run's own statuses point at the pull request, and production's is kept
    gate_count = len(flow.statuses_after["gate"])
    synced = flow.statuses_after["sync"][gate_count:]
    assert {s["context"] for s in synced} == {"sopgate/model-validation", "sopgate/staging"}
    assert {s["target_url"] for s in synced} == {PR_URL}
    assert {s["state"] for s in synced} == {"success"}
    kept = _status(flow.statuses_after["sync"], "sopgate/production")["target_url"]
    assert kept == f"{RUN_URL}{RECORD}{flow.report('gate')['report_digest']}"


def test_the_re_run_opens_the_gate(flow: Flow) -> None:
    rerun = flow.runs["rerun"]
    assert rerun.result("deploy-production") == "success", rerun.log[-4000:]
    report = flow.report("rerun")
    assert report["decision"] == "open"
    assert report["facts"]["initiator"] == "dave"
    assert report["facts"]["rerun_by"] is None
    assert (
        "re-run by github-actions[bot] (sopgate sync): judged as started by dave"
        in report["facts"]["notes"]
    )
    status = _status(flow.statuses_after["rerun"], "sopgate/production")
    assert status["state"] == "success"
    assert status["target_url"] == f"{RUN_URL}{RECORD}{report['report_digest']}"
    assert flow.reruns_after["rerun"] == [RUN_ID]  # nothing re-ran it again
    # one sticky comment through all three runs
    assert len([c for c in flow.state.comments if c["body"].startswith("<!-- sopgate -->")]) == 1
    assert TOKEN not in "".join(run.log for run in flow.runs.values())
    seconds = ", ".join(f"{phase} {run.seconds:.1f} s" for phase, run in flow.runs.items())
    print(f"act took {seconds}")  # figures, not assertions: machines are shared
