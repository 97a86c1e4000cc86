"""``sopgate sync`` on GitLab run whole against the stub GitLab on 127.0.0.1: one retry of
the gate job that can now open, nothing more on the next sync, statuses on the MR head, and
the token never sent anywhere else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sopgate import commands
from sopgate.errors import PlatformError, SopgateError
from sopgate.platforms.gitlab import RetryPolicy, from_env
from sopgate.platforms.gitlab.sync import NothingToSync
from tests.stubs.gitlab_stub import BOT, GitLabStub, serve
from tests.unit.platforms.gitlab.gitlab_fixtures import (
    HEAD,
    TOKEN,
    Signoff,
    Situation,
    fixture,
    user,
)
from tests.unit.platforms.gitlab.test_gitlab_sync import (
    DEFAULT_BRANCH_SHA,
    SOP,
    V4,
    job,
    note_event,
    payload_file,
    trigger_env,
)

# -- the whole sync against the stub GitLab ------------------------------------------------------


def sync_situation() -> Situation:
    """MR !42 by dave at ``HEAD`` (head pipeline 99): rita signed production off after dave's
    gate job 5001 failed, leaving ``sopgate/production`` pending at that job."""
    return Situation(
        sop_text=SOP,
        signoffs=[Signoff("rita", "/sop approve production", "2026-11-26T09:50:00.000Z")],
        jobs=[("deploy-staging", "success", "2026-11-26T07:30:00.000Z")],
        groups={},
    )


def served_routes(situation: Situation, url: str) -> dict[tuple[str, str], tuple[int, Any]]:
    routes = situation.routes()
    mr = routes["GET", f"{V4}/merge_requests/42"][1]
    mr["head_pipeline"] = {"id": 99, "sha": HEAD, "status": "failed"}
    mr["web_url"] = f"{url}/acme/fraud-model/-/merge_requests/42"
    routes["GET", f"{V4}/jobs/5001"] = (
        200,
        job(5001, web_url=f"{url}/acme/fraud-model/-/jobs/5001"),
    )
    statuses = routes["GET", f"{V4}/repository/commits/{HEAD}/statuses"][1]
    statuses.append(gate_status(url, "pending", 5001, 6100))
    return routes


def gate_status(url: str, state: str, job_id: int, status_id: int) -> dict[str, Any]:
    return {
        **fixture("commit_status"),
        "id": status_id,
        "name": "sopgate/production",
        "status": state,
        "description": "gate closed",
        # the gate job, naming its (closed) record as a gate status does: sync retries it
        "target_url": f"{url}/acme/fraud-model/-/jobs/{job_id}#sopgate-record=sha256:{'c' * 64}",
        "author": BOT,
    }


@pytest.fixture
def gitlab() -> Iterator[GitLabStub]:
    with serve(GitLabStub(token=TOKEN)) as stub:
        stub.routes = served_routes(sync_situation(), stub.url)
        yield stub


@pytest.fixture
def foreign() -> Iterator[GitLabStub]:
    with serve(GitLabStub(fallback=(200, []))) as served:
        yield served


def sync(
    stub: GitLabStub, tmp_path: Path, capsys: pytest.CaptureFixture[str], *, dry_run: bool = False
) -> tuple[int, str]:
    (tmp_path / ".sopgate.yml").write_text(SOP)
    env = trigger_env(
        stub.url, TRIGGER_PAYLOAD=payload_file(tmp_path, note_event()), CI_PROJECT_DIR=str(tmp_path)
    )
    gitlab = from_env(env, policy=RetryPolicy(sleep=lambda _: None), workdir=str(tmp_path))
    gitlab.for_sync(env)
    options = commands.CheckOptions(
        step=None, sop_path=str(tmp_path / ".sopgate.yml"), platform="gitlab", dry_run=dry_run
    )
    code = commands.sync(options, gitlab)
    return code, capsys.readouterr().err


def writes(stub: GitLabStub) -> list[str]:
    return [f"{r.method} {r.path}" for r in stub.requests if r.method != "GET"]


def test_sync_retries_the_gate_job_that_can_now_open_once(
    gitlab: GitLabStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = sync(gitlab, tmp_path, capsys)
    assert code == 0
    assert gitlab.retried == [5001]
    retried = [w for w in writes(gitlab) if w.endswith("/retry")]
    assert retried == [f"POST {V4}/jobs/5001/retry"]
    assert (
        f"production: gate open now; retried job 5001 as job 9001 "
        f"{gitlab.url}/acme/fraud-model/-/jobs/9001" in err
    )
    # The facts are the MR head's, never the sync pipeline's default-branch commit.
    read = [r.path for r in gitlab.requests]
    assert f"{V4}/repository/commits/{HEAD}/statuses" in read
    assert f"{V4}/pipelines/99/jobs" in read
    assert not any(DEFAULT_BRANCH_SHA in path or "/pipelines/500" in path for path in read)
    # One status per step but the gate's own, on the MR head, pointing at the MR.
    assert [(s["name"], s["status"], s["sha"]) for s in gitlab.posted_statuses] == [
        ("sopgate/staging", "success", HEAD)
    ]
    assert gitlab.posted_statuses[0]["target_url"] == (
        f"{gitlab.url}/acme/fraud-model/-/merge_requests/42"
    )
    assert gitlab.posted_statuses[0]["pipeline_id"] == 99
    assert "commit status sopgate/production: kept (it points at a gate job)" in err
    assert len(gitlab.notes("7", 42)) == 2  # rita's sign-off and sopgate's summary
    # GitLab sends a comment event for sopgate's own note: it starts no further sync.
    own = note_event()
    own["object_attributes"].update(
        noteable_type="MergeRequest", note=gitlab.notes("7", 42)[-1]["body"]
    )
    with pytest.raises(NothingToSync):
        from_env(trigger_env(TRIGGER_PAYLOAD=json.dumps(own)), sync=True)
    # The retried job's gate posts success: the next sync retries nothing.
    statuses = gitlab.routes["GET", f"{V4}/repository/commits/{HEAD}/statuses"][1]
    statuses.append(gate_status(gitlab.url, "success", 9001, 6101))
    code, err = sync(gitlab, tmp_path, capsys)
    assert code == 0
    assert gitlab.retried == [5001]
    assert [w for w in writes(gitlab) if w.endswith("/retry")] == retried
    assert "no closed gate can open now: nothing to re-run" in err
    assert "MR note: updated note" in err
    assert len(gitlab.notes("7", 42)) == 2


def test_gather_for_sync_reads_the_mr_of_the_event_at_its_head(
    gitlab: GitLabStub, tmp_path: Path
) -> None:
    """``gather(sync=True)`` alone (no ``for_sync`` first) takes the MR from the event."""
    (tmp_path / ".sopgate.yml").write_text(SOP)
    env = trigger_env(
        gitlab.url,
        TRIGGER_PAYLOAD=payload_file(tmp_path, note_event()),
        CI_PROJECT_DIR=str(tmp_path),
    )
    adapter = from_env(env, policy=RetryPolicy(sleep=lambda _: None))
    facts = adapter.gather(sop_path=str(tmp_path / ".sopgate.yml"), sync=True).facts
    assert (facts.commit, facts.initiator) == (HEAD, None)
    assert facts.change is not None and facts.change.id == 42
    assert adapter.settings.sync and adapter.settings.pipeline_id == 99


def test_a_sync_before_the_retried_job_ends_cannot_start_a_second_one(
    gitlab: GitLabStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sync(gitlab, tmp_path, capsys)
    code, err = sync(gitlab, tmp_path, capsys)  # sopgate/production still points at 5001
    assert code == 0
    assert gitlab.retried == [5001]
    assert "job 5001 not retried: GitLab answered 403 to POST /projects/7/jobs/5001/retry" in err


def test_a_gate_that_stays_closed_is_neither_retried_nor_asked_about(
    gitlab: GitLabStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gitlab.routes["GET", f"{V4}/merge_requests/42/notes"] = (200, [])  # no sign-off
    code, err = sync(gitlab, tmp_path, capsys)
    assert code == 0
    assert gitlab.retried == []
    assert f"{V4}/jobs/5001" not in [r.path for r in gitlab.requests]
    assert "no closed gate can open now: nothing to re-run" in err
    assert [s["name"] for s in gitlab.posted_statuses] == ["sopgate/staging"]


def test_a_job_started_by_the_only_approver_is_not_retried(
    gitlab: GitLabStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rita started the gate job and signed off: her job would exclude her sign-off."""
    gitlab.routes["GET", f"{V4}/jobs/5001"][1]["user"] = user("rita", 30)
    code, err = sync(gitlab, tmp_path, capsys)
    assert code == 0
    assert gitlab.retried == []
    assert "production: not re-run; as started by rita: " in err


def test_a_dry_run_sync_writes_nothing(
    gitlab: GitLabStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = sync(gitlab, tmp_path, capsys, dry_run=True)
    assert code == 0
    assert writes(gitlab) == []
    assert (
        f"production: gate open now; would retry job 5001 "
        f"({gitlab.url}/acme/fraud-model/-/jobs/5001)" in err
    )


def test_a_merge_request_without_a_head_commit_is_an_error(
    gitlab: GitLabStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gitlab.routes["GET", f"{V4}/merge_requests/42"][1]["sha"] = None
    with pytest.raises(SopgateError) as raised:
        sync(gitlab, tmp_path, capsys)
    assert raised.value.exit_code == 3
    assert "no head commit (sha)" in str(raised.value)
    assert writes(gitlab) == []


# -- the token stays at the API ------------------------------------------------------------------


def leaked(listener: GitLabStub) -> list[str]:
    return [
        f"{r.method} {r.path} token={TOKEN in str(r.headers) or TOKEN in str(r.body)}"
        for r in listener.requests
    ]


def test_a_gate_status_pointing_at_another_host_is_never_followed(
    gitlab: GitLabStub, foreign: GitLabStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    statuses = gitlab.routes["GET", f"{V4}/repository/commits/{HEAD}/statuses"][1]
    statuses[-1]["target_url"] = f"{foreign.url}/acme/fraud-model/-/jobs/5001"
    code, _err = sync(gitlab, tmp_path, capsys)
    assert code == 0
    assert gitlab.retried == []
    assert leaked(foreign) == []


def test_a_retry_redirected_elsewhere_sends_nothing_there(
    gitlab: GitLabStub, foreign: GitLabStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    retry = f"{V4}/jobs/5001/retry"
    gitlab.redirects[("POST", retry)] = (307, f"{foreign.url}{retry}")
    code, err = sync(gitlab, tmp_path, capsys)
    assert code == 0
    assert (
        "production: gate open now; job 5001 not retried: GitLab answered POST "
        "/projects/7/jobs/5001/retry with a redirect (307): refused, sopgate follows no "
        "redirect for a write"
    ) in err
    assert [w for w in writes(gitlab) if w.endswith("/retry")] == [f"POST {retry}"]
    assert leaked(foreign) == []
    assert TOKEN not in err


def test_a_job_lookup_redirected_elsewhere_is_an_error_and_sends_nothing_there(
    gitlab: GitLabStub, foreign: GitLabStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gitlab.redirects[("GET", f"{V4}/jobs/5001")] = (302, f"{foreign.url}{V4}/jobs/5001")
    with pytest.raises(PlatformError) as raised:
        sync(gitlab, tmp_path, capsys)
    assert "GET /projects/7/jobs/5001" in str(raised.value)
    assert TOKEN not in str(raised.value)
    assert gitlab.retried == []
    assert leaked(foreign) == []
