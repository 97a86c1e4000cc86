"""``sopgate sync`` on GitLab (issue 8, item 1): the merge request a triggered or scheduled
pipeline is about, gate jobs behind status URLs, who started them, one retry each, and the
note and per-step statuses on the MR's head, never on the sync pipeline's own commit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from sopgate.errors import PlatformError, UsageError
from sopgate.platforms.gitlab import GitLabAdapter, RetryPolicy, from_env
from sopgate.platforms.gitlab.sync import NO_MR, PAYLOAD_LIMIT, NothingToSync
from sopgate.platforms.signoff import MARKER
from sopgate.sync import RunActors, RunRef
from tests.unit.platforms.gitlab.gitlab_fixtures import (
    BASE,
    HEAD,
    TOKEN,
    Signoff,
    Situation,
    fixture,
    user,
)
from tests.unit.platforms.gitlab.test_gitlab_publish import EXAMPLE, setup

DEFAULT_BRANCH_SHA = "f" * 40  # CI_COMMIT_SHA of a triggered pipeline: the default branch
JOBS = f"{BASE}/acme/fraud-model/-/jobs/"
API = f"{BASE}/api/v4/projects/7"
V4 = "/api/v4/projects/7"

SOP = """\
sopgate: 1
name: Model release
scope: {system: fraud-scoring, environments: [staging, production]}
roles:
  release-managers: {users: [rita, rob]}
steps:
  - id: staging
    owner: release-managers
    needs: []
    jobs: [deploy-staging]
  - id: production
    owner: release-managers
    needs: []
    jobs: [deploy-production]
    approvals: [{role: release-managers, count: 1, source: signoff}]
"""


def trigger_env(url: str = BASE, **changes: str) -> dict[str, str]:
    """The predefined variables of a sync job in a pipeline started by a trigger."""
    env = {
        "GITLAB_CI": "true",
        "CI_API_V4_URL": f"{url}/api/v4",
        "CI_SERVER_URL": url,
        "CI_PROJECT_ID": "7",
        "CI_PROJECT_PATH": "acme/fraud-model",
        "CI_COMMIT_SHA": DEFAULT_BRANCH_SHA,
        "CI_PIPELINE_ID": "500",
        "CI_PIPELINE_SOURCE": "trigger",
        "CI_JOB_NAME": "sopgate-sync",
        "CI_JOB_URL": f"{url}/acme/fraud-model/-/jobs/7000",
        "GITLAB_USER_LOGIN": "bob",
        "GITLAB_TOKEN": TOKEN,
    }
    env.update(changes)
    return env


def note_event(iid: int = 42, project: int = 7) -> dict[str, Any]:
    """The part of GitLab's note webhook that sync reads, with some of the rest."""
    return {
        "object_kind": "note",
        "event_type": "note",
        "user": {"id": 30, "username": "rita"},
        "project_id": project,
        "project": {"id": project, "path_with_namespace": "acme/fraud-model"},
        "object_attributes": {"id": 300, "note": "/sop approve production", "noteable_id": 9},
        "merge_request": {"id": 9, "iid": iid, "title": "Retrain"},
    }


def mr_event(iid: int = 42) -> dict[str, Any]:
    return {
        "object_kind": "merge_request",
        "project": {"id": 7},
        "object_attributes": {"id": 9, "iid": iid, "action": "approved"},
    }


def payload_file(tmp_path: Path, data: Any) -> str:
    path = tmp_path / "TRIGGER_PAYLOAD"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


# -- which merge request ------------------------------------------------------------------


def test_a_note_event_in_a_payload_file_names_the_mr(tmp_path: Path) -> None:
    env = trigger_env(TRIGGER_PAYLOAD=payload_file(tmp_path, note_event(iid=43)))
    settings = from_env(env, sync=True).settings
    assert settings.mr_iid == 43
    assert settings.sync


def test_a_merge_request_event_given_inline_names_the_mr() -> None:
    env = trigger_env(TRIGGER_PAYLOAD=json.dumps(mr_event(iid=44)))
    assert from_env(env, sync=True).settings.mr_iid == 44


def test_sopgate_mr_iid_comes_first_then_the_payload_then_the_pipelines_own_mr(
    tmp_path: Path,
) -> None:
    payload = payload_file(tmp_path, note_event(iid=43))
    both = trigger_env(SOPGATE_MR_IID="45", TRIGGER_PAYLOAD=payload, CI_MERGE_REQUEST_IID="46")
    assert from_env(both, sync=True).settings.mr_iid == 45
    del both["SOPGATE_MR_IID"]
    assert from_env(both, sync=True).settings.mr_iid == 43
    del both["TRIGGER_PAYLOAD"]
    assert from_env(both, sync=True).settings.mr_iid == 46


def test_a_sync_run_forgets_its_own_pipeline_and_initiator() -> None:
    env = trigger_env(
        SOPGATE_MR_IID="42",
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME="release",
        CI_MERGE_REQUEST_SOURCE_BRANCH_SHA="b" * 40,
    )
    s = from_env(env, sync=True).settings
    assert (s.initiator, s.pipeline_id, s.source_sha, s.target_branch) == (None, None, None, None)
    assert (s.job_name, s.job_url) == (None, None)
    check = from_env(env).settings  # the same variables, for a gate run
    assert (check.initiator, check.pipeline_id, check.sync) == ("bob", 500, False)


def test_without_a_merge_request_sync_says_what_to_set() -> None:
    with pytest.raises(UsageError) as raised:
        from_env(trigger_env(), sync=True)
    assert str(raised.value) == NO_MR
    assert raised.value.exit_code == 2


NESTED = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("[1, 2]", "TRIGGER_PAYLOAD is a JSON list, not a webhook event object"),
        ("[42]", "TRIGGER_PAYLOAD is a JSON list, not a webhook event object"),
        ("{oops", "TRIGGER_PAYLOAD is not JSON: "),
        (NESTED, "TRIGGER_PAYLOAD is not JSON: "),
        (
            json.dumps({"object_kind": "note", "issue": {"iid": 42}}),
            "TRIGGER_PAYLOAD has no merge request number at merge_request.iid",
        ),
        (
            json.dumps({"object_kind": "note", "merge_request": {"iid": "42"}}),
            "TRIGGER_PAYLOAD has no merge request number at merge_request.iid",
        ),
        (
            json.dumps({"object_kind": "note", "merge_request": [42]}),
            "TRIGGER_PAYLOAD has no merge request number at merge_request.iid",
        ),
        (
            json.dumps({"object_kind": "merge_request", "object_attributes": {"iid": True}}),
            "TRIGGER_PAYLOAD has no merge request number at object_attributes.iid",
        ),
        (
            json.dumps({"object_kind": "merge_request", "object_attributes": {"iid": -3}}),
            "TRIGGER_PAYLOAD has no merge request number at object_attributes.iid",
        ),
        (
            json.dumps({"object_kind": "push", "merge_request": {"iid": 42}}),
            "TRIGGER_PAYLOAD is a 'push' event: sopgate sync reads merge request and note "
            "(comment) events only",
        ),
        (
            json.dumps({"object_kind": "note\n::stop-commands::", "merge_request": {"iid": 1}}),
            "TRIGGER_PAYLOAD is a '?' event: sopgate sync reads merge request and note "
            "(comment) events only",
        ),
        (
            json.dumps(note_event(project=8)),
            "TRIGGER_PAYLOAD is an event of another project than this pipeline's "
            "(CI_PROJECT_ID=7): not synced",
        ),
        (
            json.dumps({**note_event(), "project": {"id": "7"}}),
            "TRIGGER_PAYLOAD is an event of another project than this pipeline's "
            "(CI_PROJECT_ID=7): not synced",
        ),
        (
            "/nonexistent/trigger-payload",
            "TRIGGER_PAYLOAD is neither JSON nor the path of a file (GitLab passes the "
            "webhook's event as a file variable)",
        ),
    ],
)
def test_a_hostile_payload_is_refused_with_a_clear_message(payload: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        from_env(trigger_env(TRIGGER_PAYLOAD=payload), sync=True)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)
    assert raised.value.exit_code == 2


def test_a_pipeline_event_is_refused() -> None:
    """The sync pipeline's own pipeline events would start sync pipelines without end."""
    event = {"object_kind": "pipeline", "project": {"id": 7}, "merge_request": {"iid": 42}}
    with pytest.raises(UsageError) as raised:
        from_env(trigger_env(TRIGGER_PAYLOAD=json.dumps(event)), sync=True)
    assert str(raised.value) == (
        "TRIGGER_PAYLOAD is a 'pipeline' event: sopgate sync reads merge request and note "
        "(comment) events only"
    )


@pytest.mark.parametrize(
    ("noteable", "message"),
    [
        ("Issue", "nothing to sync: the event is a comment on no merge request (Issue)"),
        ("Commit", "nothing to sync: the event is a comment on no merge request (Commit)"),
        ("<b>x</b>", "nothing to sync: the event is a comment on no merge request (?)"),
    ],
)
def test_a_comment_elsewhere_is_nothing_to_sync(noteable: str, message: str) -> None:
    event = note_event()
    event["object_attributes"]["noteable_type"] = noteable
    del event["merge_request"]
    with pytest.raises(NothingToSync) as raised:
        from_env(trigger_env(TRIGGER_PAYLOAD=json.dumps(event)), sync=True)
    assert str(raised.value) == message
    assert raised.value.exit_code == 0


def test_sopgates_own_note_starts_no_sync() -> None:
    """Each sync updates its note; GitLab sends a comment event for it: no endless loop."""
    event = note_event()
    event["object_attributes"].update(noteable_type="MergeRequest", note=f"{MARKER}\n## Gate")
    with pytest.raises(NothingToSync) as raised:
        from_env(trigger_env(TRIGGER_PAYLOAD=json.dumps(event)), sync=True)
    assert str(raised.value) == "nothing to sync: the event is sopgate's own summary note"


def test_the_sync_command_ends_well_on_an_event_with_nothing_to_sync(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sopgate.cli import main

    event = note_event()
    event["object_attributes"]["note"] = f"{MARKER}\nsummary"
    for name, value in trigger_env(url="https://127.0.0.1:9").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TRIGGER_PAYLOAD", json.dumps(event))
    with responses.RequestsMock():  # any request would fail the test
        code = main(["sync", "--platform", "gitlab", "--sop", ".sopgate.yml"])
    assert code == 0
    assert "nothing to sync: the event is sopgate's own summary note" in capsys.readouterr().err


def test_a_payload_file_too_large_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "payload"
    path.write_bytes(b" " * (PAYLOAD_LIMIT + 1))
    with pytest.raises(UsageError) as raised:
        from_env(trigger_env(TRIGGER_PAYLOAD=str(path)), sync=True)
    assert str(raised.value) == (
        f"TRIGGER_PAYLOAD: the file holds more than {PAYLOAD_LIMIT} bytes, refused"
    )


@pytest.mark.parametrize("value", ["42abc", "0", "-1", "4 2"])
def test_a_bad_sopgate_mr_iid_is_refused(value: str) -> None:
    with pytest.raises(UsageError) as raised:
        from_env(trigger_env(SOPGATE_MR_IID=value), sync=True)
    assert str(raised.value) == f"SOPGATE_MR_IID={value!r} is not an MR number"


def test_the_sync_command_refuses_a_hostile_payload_before_any_request(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sopgate.cli import main

    for name, value in trigger_env(url="https://127.0.0.1:9").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TRIGGER_PAYLOAD", "[]")
    with responses.RequestsMock():  # any request would fail the test
        code = main(["sync", "--platform", "gitlab", "--sop", ".sopgate.yml"])
    assert code == 2
    assert "TRIGGER_PAYLOAD is a JSON list, not a webhook event object" in capsys.readouterr().err


# -- gate jobs behind status URLs ----------------------------------------------------------


def adapter(url: str = BASE, **changes: str) -> GitLabAdapter:
    env = trigger_env(url, SOPGATE_MR_IID="42", **changes)
    return from_env(env, policy=RetryPolicy(sleep=lambda _: None), sync=True)


def test_a_job_of_this_project_on_this_server_is_a_gate_run() -> None:
    assert adapter().gate_run(f"{JOBS}5001") == RunRef(5001, f"{JOBS}5001")
    assert adapter().gate_run("HTTPS://GitLab.Example.COM/acme/fraud-model/-/jobs/5001") == RunRef(
        5001, "HTTPS://GitLab.Example.COM/acme/fraud-model/-/jobs/5001"
    )


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        f"{BASE}/acme/other-model/-/jobs/5001",  # another project
        f"{BASE}/acme/fraud-model-fork/-/jobs/5001",
        f"{BASE}/acme/fraud/model/-/jobs/5001",
        f"{BASE}/ACME/fraud-model/-/jobs/5001",
        "https://gitlab.evil.example/acme/fraud-model/-/jobs/5001",  # another host
        "https://gitlab.example.com.evil.example/acme/fraud-model/-/jobs/5001",
        "https://gitlab.example.com:8443/acme/fraud-model/-/jobs/5001",  # another port
        "http://gitlab.example.com/acme/fraud-model/-/jobs/5001",  # another scheme
        "https://alice@gitlab.example.com/acme/fraud-model/-/jobs/5001",
        f"{BASE}/acme/fraud-model/-/jobs/5001/retry",
        f"{BASE}/acme/fraud-model/-/jobs/5001/",
        f"{BASE}/acme/fraud-model/-/jobs/5001?x=1",
        f"{BASE}/acme/fraud-model/-/jobs/5001#L1",
        f"{BASE}/acme/fraud-model/-/jobs/50%301",
        f"{BASE}/acme/fraud-model/-/jobs/0",
        f"{BASE}/acme/fraud-model/-/jobs/0501",
        f"{BASE}/acme/fraud-model/-/jobs/-1",
        f"{BASE}/acme/fraud-model/-/jobs/\uff15\uff10\uff10\uff11",  # fullwidth digits
        f"{BASE}/acme/fraud-model/-/jobs/5001\n",
        f"{BASE}/acme/fraud-model/-/jo\tbs/5001",
        f"{BASE}/acme/fraud-model/-/pipelines/99",
        f"{BASE}/acme/fraud-model/-/merge_requests/42",
        f"{BASE}/x/../acme/fraud-model/-/jobs/5001",
        f"{BASE}/acme/fraud-model/-/jobs/5001/../5002",
        "https://[gitlab.example.com/acme/fraud-model/-/jobs/5001",
        "//gitlab.example.com/acme/fraud-model/-/jobs/5001",
        "/acme/fraud-model/-/jobs/5001",
        f"{BASE}/api/v4/projects/7/jobs/5001",
    ],
)
def test_anything_else_is_no_gate_run(url: str | None) -> None:
    assert adapter().gate_run(url) is None


def test_a_server_under_a_path_prefix() -> None:
    prefixed = adapter(url="https://example.com/gitlab")
    assert prefixed.gate_run("https://example.com/gitlab/acme/fraud-model/-/jobs/7") == RunRef(
        7, "https://example.com/gitlab/acme/fraud-model/-/jobs/7"
    )
    assert prefixed.gate_run("https://example.com/acme/fraud-model/-/jobs/7") is None


def test_without_the_project_path_no_url_is_a_gate_run() -> None:
    assert adapter(CI_PROJECT_PATH="").gate_run(f"{JOBS}5001") is None


# -- who started a job, and retrying it ------------------------------------------------------


def job(job_id: int = 5001, **changes: Any) -> dict[str, Any]:
    data = fixture("job", id=job_id, name="deploy-production", status="failed")
    data.update({"web_url": f"{JOBS}{job_id}", "user": user("dave", 11), **changes})
    return data


@responses.activate
def test_the_jobs_user_started_it() -> None:
    responses.add("GET", f"{API}/jobs/5001", json=job())
    assert adapter().run_actors(RunRef(5001, f"{JOBS}5001")) == RunActors("dave", None)


@responses.activate
def test_a_job_without_a_user_has_no_actor() -> None:
    responses.add("GET", f"{API}/jobs/5001", json=job(user=None))
    assert adapter().run_actors(RunRef(5001, f"{JOBS}5001")) == RunActors(None, None)


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (404, {"message": "404 Not found"}, "GitLab answered 404 to GET /projects/7/jobs/5001"),
        (200, [job()], "GitLab answered unusably to GET /projects/7/jobs/5001"),
        (200, job(5002), "GitLab answered unusably to GET /projects/7/jobs/5001"),
    ],
)
@responses.activate
def test_when_gitlab_cannot_say_who_started_a_job_it_is_an_error(
    status: int, body: Any, message: str
) -> None:
    responses.add("GET", f"{API}/jobs/5001", json=body, status=status)
    with pytest.raises(PlatformError) as raised:
        adapter().run_actors(RunRef(5001, f"{JOBS}5001"))
    assert str(raised.value).startswith(message)


@responses.activate
def test_a_retry_is_one_post() -> None:
    responses.add("POST", f"{API}/jobs/5001/retry", status=201, json=job(5010, status="pending"))
    line = adapter().rerun(RunRef(5001, f"{JOBS}5001"), dry_run=False)
    assert line == f"retried job 5001 as job 5010 {JOBS}5010"
    assert len(responses.calls) == 1


@responses.activate
def test_a_dry_run_retries_nothing() -> None:
    line = adapter().rerun(RunRef(5001, f"{JOBS}5001"), dry_run=True)
    assert line == f"would retry job 5001 ({JOBS}5001)"
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("status", "body", "detail"),
    [
        (403, {"message": "403 Forbidden - Job is not retryable"}, "403 Forbidden - Job is not"),
        (500, {"message": "500 Internal Server Error"}, "500 Internal Server Error"),
        (502, "bad gateway", "bad gateway"),
    ],
)
@responses.activate
def test_a_failed_retry_is_reported_once_never_repeated(
    status: int, body: Any, detail: str
) -> None:
    kind = {"body": body} if isinstance(body, str) else {"json": body}
    responses.add("POST", f"{API}/jobs/5001/retry", status=status, **kind)
    line = adapter().rerun(RunRef(5001, f"{JOBS}5001"), dry_run=False)
    assert line.startswith(f"job 5001 not retried: GitLab answered {status} to POST ")
    assert detail in line
    assert TOKEN not in line
    assert len(responses.calls) == 1


@responses.activate
def test_a_retry_answered_with_a_redirect_is_not_followed() -> None:
    responses.add(
        "POST",
        f"{API}/jobs/5001/retry",
        status=307,
        headers={"Location": "https://elsewhere.example/retry"},
    )
    line = adapter().rerun(RunRef(5001, f"{JOBS}5001"), dry_run=False)
    assert line == (
        "job 5001 not retried: GitLab answered POST /projects/7/jobs/5001/retry with a "
        "redirect (307): refused, sopgate follows no redirect for a write"
    )
    assert len(responses.calls) == 1


# -- what sync publishes -----------------------------------------------------------------------


def test_publish_sync_sets_one_status_per_step_pointing_at_the_mr(tmp_path: Path) -> None:
    situation = Situation(
        sop_text=EXAMPLE,
        approvals=[("sec-bob", "2026-11-25T09:00:00.000Z")],
        statuses=[("dependency-scan", "success", "2026-11-25T09:00:00.000Z")],
        signoffs=[Signoff("rob", "/sop reject go-no-go latency", "2026-11-26T08:30:00.000Z")],
    )
    gitlab, evaluation = setup(tmp_path, situation, step=None)
    states = {result.key: result.state for result in evaluation.steps}
    assert {"done", "rejected", "waiting"} <= set(states.values())
    keep = frozenset({"build"})
    mr_url = f"{BASE}/acme/fraud-model/-/merge_requests/42"
    with responses.RequestsMock() as rsps:
        rsps.add("GET", f"{API}/merge_requests/42/notes", json=[])
        rsps.add("POST", f"{API}/merge_requests/42/notes", status=201, json=fixture("note", id=7))
        rsps.add("POST", f"{API}/statuses/{HEAD}", status=201, json=fixture("commit_status"))
        lines = gitlab.publish_sync(evaluation, keep=keep, dry_run=False)
        posted = [
            json.loads(call.request.body or "{}")
            for call in rsps.calls
            if call.request.url == f"{API}/statuses/{HEAD}"
        ]
    assert lines[0] == "MR note: added note 7 on !42"
    assert "commit status sopgate/build: kept (it points at a gate job)" in lines
    assert [p["name"] for p in posted] == [f"sopgate/{k}" for k in states if k not in keep]
    expected = {"done": "success", "rejected": "failed", "failed": "failed"}
    for entry in posted:
        state = states[entry["name"].removeprefix("sopgate/")]
        assert entry["state"] == expected.get(state, "pending")
        assert entry["description"].startswith(state)
        assert len(entry["description"]) <= 255
        assert entry["target_url"] == mr_url
        assert entry["pipeline_id"] == 99
    assert {e["state"] for e in posted} == {"success", "failed", "pending"}
    assert f"commit status sopgate/security-review=success on {HEAD[:12]}: posted" in lines
    assert f"commit status sopgate/go-no-go=failed on {HEAD[:12]}: posted" in lines


def test_publish_sync_dry_run_posts_nothing(tmp_path: Path) -> None:
    gitlab, evaluation = setup(tmp_path, step=None)
    with responses.RequestsMock() as rsps:
        rsps.add("GET", f"{API}/merge_requests/42/notes", json=[])
        lines = gitlab.publish_sync(evaluation, keep=frozenset(), dry_run=True)
    assert lines[0].startswith("MR note: would add a note on !42")
    assert f"commit status: would post sopgate/staging=pending on {HEAD[:12]}" in lines
    assert len(lines) == 1 + len(evaluation.steps)


def test_a_status_that_fails_is_a_line_and_the_others_are_still_posted(tmp_path: Path) -> None:
    gitlab, evaluation = setup(tmp_path, step=None)
    with responses.RequestsMock() as rsps:
        rsps.add("GET", f"{API}/merge_requests/42/notes", status=403, json={"message": "403"})
        rsps.add("POST", f"{API}/statuses/{HEAD}", status=403, json={"message": "403 Forbidden"})
        rsps.add("POST", f"{API}/statuses/{HEAD}", status=201, json=fixture("commit_status"))
        lines = gitlab.publish_sync(evaluation, keep=frozenset(), dry_run=False)
    assert lines[0].startswith("MR note: not published: GitLab answered 403 to GET ")
    assert lines[1].startswith("commit status sopgate/data-readiness: not published: GitLab ")
    assert lines[2].endswith(": posted")


@responses.activate
def test_publish_sync_before_the_head_is_known_posts_nothing(tmp_path: Path) -> None:
    _check, evaluation = setup(tmp_path, step=None)
    lines = adapter().publish_sync(evaluation, keep=frozenset(), dry_run=False)
    assert lines == ["MR note and commit statuses: not published, the MR head is not known yet"]
    assert len(responses.calls) == 0
