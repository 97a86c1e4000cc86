"""publish(): sticky MR note, commit status, dotenv and JUnit files; never raises."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses

from sopgate.evaluate import Evaluation, evaluate
from sopgate.platforms.gitlab import GitLabAdapter, RetryPolicy, from_env
from sopgate.platforms.gitlab.publish import dotenv
from sopgate.platforms.signoff import MARKER
from sopgate.report import record_digest
from sopgate.sop.load import parse_sop
from tests.unit.platforms.gitlab.gitlab_fixtures import (
    BASE,
    HEAD,
    TOKEN,
    Situation,
    fixture,
    register,
)
from tests.unit.render.emergency_cases import LINE, emergency_run

EXAMPLE = (Path(__file__).resolve().parents[4] / "examples" / ".sopgate.yml").read_text()
NOTES = f"{BASE}/api/v4/projects/7/merge_requests/42/notes"
STATUS = f"{BASE}/api/v4/projects/7/statuses/{HEAD}"
USER = f"{BASE}/api/v4/user"
BOT = {"id": 1, "username": "project_7_bot_1a2b", "name": "sopgate", "bot": True}
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def setup(
    tmp_path: Path, situation: Situation | None = None, step: str | None = "staging"
) -> tuple[GitLabAdapter, Evaluation]:
    situation = situation or Situation(sop_text=EXAMPLE)
    (tmp_path / ".sopgate.yml").write_text(EXAMPLE)
    env = {**situation.env(), "CI_PROJECT_DIR": str(tmp_path)}
    adapter = from_env(
        env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: NOW, workdir=str(tmp_path)
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register(rsps, situation)
        gathered = adapter.gather(sop_path=str(tmp_path / ".sopgate.yml"))
    loaded = parse_sop(gathered.sop_text or EXAMPLE, path=".sopgate.yml")
    return adapter, evaluate(loaded, gathered.facts, step)


def sticky(note_id: int, body: str = f"{MARKER}\nold", author: Any = None) -> dict[str, Any]:
    """A note carrying the marker, by default written by the token's own user (``BOT``)."""
    note: dict[str, Any] = fixture("note", id=note_id, body=body, author=author or BOT)
    return note


def test_first_run_adds_the_note_and_posts_the_status(tmp_path: Path) -> None:
    adapter, evaluation = setup(tmp_path)
    with responses.RequestsMock() as rsps:
        rsps.add("GET", NOTES, json=[fixture("note", id=1, body="/sop approve go-no-go")])
        rsps.add("POST", NOTES, status=201, json=fixture("note", id=77))
        rsps.add("POST", STATUS, status=201, json=fixture("commit_status"))
        lines = adapter.publish(evaluation, dry_run=False)
        note = json.loads(rsps.calls[1].request.body or "{}")
        status = json.loads(rsps.calls[2].request.body or "{}")
    assert lines == [
        "MR note: added note 77 on !42",
        f"commit status sopgate/staging=failed on {HEAD[:12]}: posted",
        f"sopgate.env: wrote {tmp_path / 'sopgate.env'}",
        f"sopgate-junit.xml: wrote {tmp_path / 'sopgate-junit.xml'}",
    ]
    assert note["body"].startswith(f"{MARKER}\n")
    assert status["name"] == "sopgate/staging"
    assert status["state"] == "failed"
    assert status["pipeline_id"] == 99
    # the gate job, naming the digest of the record it writes (even of a closed gate)
    assert status["target_url"] == (
        f"{BASE}/acme/fraud-model/-/jobs/5002#sopgate-record=sha256:{record_digest(evaluation)}"
    )
    assert status["description"].startswith("gate closed, blocked: ")
    assert len(status["description"]) <= 255
    assert (tmp_path / "sopgate.env").read_text() == (
        "SOPGATE_DECISION=closed\nSOPGATE_STATE=blocked\nSOPGATE_STEP=staging\n"
        "SOPGATE_EMERGENCY=false\n"
    )
    assert "<testsuite" in (tmp_path / "sopgate-junit.xml").read_text()


def test_later_runs_update_the_sticky_note_in_place(tmp_path: Path) -> None:
    adapter, evaluation = setup(tmp_path)
    with responses.RequestsMock() as rsps:
        rsps.add(
            "GET",
            NOTES,
            json=[
                fixture("note", id=5, body=f"quoting {MARKER} is not the sticky note"),
                fixture("note", id=6, body=f"{MARKER}\nsystem", system=True),
                sticky(7),
                sticky(8),
            ],
        )
        rsps.add("GET", USER, json=BOT)
        rsps.add("PUT", f"{NOTES}/7", json=sticky(7))
        rsps.add("POST", STATUS, status=201, json=fixture("commit_status"))
        lines = adapter.publish(evaluation, dry_run=False)
    assert lines[0] == "MR note: updated note 7 on !42"


def test_a_server_error_on_the_note_looks_again_before_posting(tmp_path: Path) -> None:
    adapter, evaluation = setup(tmp_path)
    with responses.RequestsMock() as rsps:
        rsps.add("GET", NOTES, json=[])
        rsps.add("POST", NOTES, status=502)
        rsps.add("GET", NOTES, json=[sticky(9)])  # the failed POST had been applied
        rsps.add("GET", USER, json=BOT)
        rsps.add("PUT", f"{NOTES}/9", json=sticky(9))
        rsps.add("POST", STATUS, status=201, json=fixture("commit_status"))
        lines = adapter.publish(evaluation, dry_run=False)
        assert [c.request.method for c in rsps.calls] == [
            "GET",
            "POST",
            "GET",
            "GET",
            "PUT",
            "POST",
        ]
    assert lines[0] == "MR note: updated note 9 on !42"


RITA = {"id": 31, "username": "rita", "name": "Rita"}


def test_only_a_note_by_the_tokens_own_user_is_the_sticky_note(tmp_path: Path) -> None:
    adapter, evaluation = setup(tmp_path)
    with responses.RequestsMock() as rsps:
        rsps.add("GET", NOTES, json=[sticky(5, author=RITA), sticky(7)])
        rsps.add("GET", USER, json=BOT)
        rsps.add("PUT", f"{NOTES}/7", json=sticky(7))
        rsps.add("POST", STATUS, status=201, json=fixture("commit_status"))
        lines = adapter.publish(evaluation, dry_run=False)
    assert lines[0] == "MR note: updated note 7 on !42"


def test_another_users_note_with_the_marker_is_never_updated(tmp_path: Path) -> None:
    adapter, evaluation = setup(tmp_path)
    with responses.RequestsMock() as rsps:  # a PUT would fail: none registered
        rsps.add("GET", NOTES, json=[sticky(5, author=RITA)])
        rsps.add("GET", USER, json=BOT)
        rsps.add("POST", NOTES, status=201, json=fixture("note", id=77))
        rsps.add("POST", STATUS, status=201, json=fixture("commit_status"))
        lines = adapter.publish(evaluation, dry_run=False)
    assert lines[0] == "MR note: added note 77 on !42"


def test_without_the_tokens_user_no_note_is_touched(tmp_path: Path) -> None:
    adapter, evaluation = setup(tmp_path)
    with responses.RequestsMock() as rsps:  # neither PUT nor POST of a note registered
        rsps.add("GET", NOTES, json=[sticky(5, author=RITA)])
        rsps.add("GET", USER, status=403, json={"message": "403 Forbidden"})
        rsps.add("POST", STATUS, status=201, json=fixture("commit_status"))
        lines = adapter.publish(evaluation, dry_run=False)
    assert lines[0] == (
        "MR note: not published: cannot tell which notes are sopgate's own (GitLab answered "
        "403 to GET /user: 403 Forbidden), so no note was added or changed"
    )
    assert lines[1].endswith(": posted")


def test_the_tokens_user_is_read_once(tmp_path: Path) -> None:
    adapter, evaluation = setup(tmp_path)
    with responses.RequestsMock() as rsps:
        rsps.add("GET", NOTES, json=[sticky(7)])
        rsps.add("GET", USER, json=BOT)
        rsps.add("PUT", f"{NOTES}/7", json=sticky(7))
        rsps.add("POST", STATUS, status=201, json=fixture("commit_status"))
        adapter.publish(evaluation, dry_run=False)
        adapter.publish(evaluation, dry_run=False)
        assert [c.request.url for c in rsps.calls].count(USER) == 1


def test_a_status_post_answered_with_a_redirect_is_not_posted(tmp_path: Path) -> None:
    adapter, evaluation = setup(tmp_path)
    with responses.RequestsMock() as rsps:
        rsps.add("GET", NOTES, json=[])
        rsps.add("POST", NOTES, status=201, json=fixture("note", id=77))
        rsps.add("POST", STATUS, status=307, headers={"Location": STATUS})
        lines = adapter.publish(evaluation, dry_run=False)
        assert [c.request.method for c in rsps.calls] == ["GET", "POST", "POST"]
    assert lines[1] == (
        f"commit status: not published: GitLab answered POST /projects/7/statuses/{HEAD} "
        "with a redirect (307): refused, sopgate follows no redirect for a write"
    )


def test_an_unchanged_status_is_not_a_failure(tmp_path: Path) -> None:
    adapter, evaluation = setup(tmp_path)
    with responses.RequestsMock() as rsps:
        rsps.add("GET", NOTES, json=[sticky(7)])
        rsps.add("GET", USER, json=BOT)
        rsps.add("PUT", f"{NOTES}/7", json=sticky(7))
        rsps.add(
            "POST",
            STATUS,
            status=400,
            json={"message": "Cannot transition status via :drop from :failed"},
        )
        lines = adapter.publish(evaluation, dry_run=False)
    assert (
        lines[1] == f"commit status sopgate/staging=failed on {HEAD[:12]}: unchanged "
        "(already failed)"
    )


def test_failures_are_lines_never_exceptions(tmp_path: Path) -> None:
    adapter, evaluation = setup(tmp_path)
    adapter.workdir = str(tmp_path / "missing" / "dir")
    with responses.RequestsMock() as rsps:
        rsps.add("GET", NOTES, status=403, json={"message": f"403 Forbidden {TOKEN}"})
        rsps.add("POST", STATUS, status=403, json={"message": "403 Forbidden"})
        lines = adapter.publish(evaluation, dry_run=False)
    assert lines[0] == (
        "MR note: not published: GitLab answered 403 to GET "
        "/projects/7/merge_requests/42/notes: 403 Forbidden [token]"
    )
    assert lines[1] == (
        "commit status: not published: GitLab answered 403 to POST "
        f"/projects/7/statuses/{HEAD}: 403 Forbidden"
    )
    assert lines[2].startswith("sopgate.env: not published: ")
    assert lines[3].startswith("sopgate-junit.xml: not published: ")
    assert all(TOKEN not in line for line in lines)


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    adapter, evaluation = setup(tmp_path)
    with responses.RequestsMock() as rsps:  # any POST or PUT would fail: none registered
        rsps.add("GET", NOTES, json=[sticky(7)])
        rsps.add("GET", USER, json=BOT)
        lines = adapter.publish(evaluation, dry_run=True)
        assert [c.request.method for c in rsps.calls] == ["GET", "GET"]
    assert lines[0].startswith("MR note: would update note 7 on !42 (")
    assert lines[1] == f"commit status: would post sopgate/staging=failed on {HEAD[:12]}"
    assert lines[2] == (
        "sopgate.env: would write SOPGATE_DECISION=closed "
        "SOPGATE_STATE=blocked SOPGATE_STEP=staging SOPGATE_EMERGENCY=false"
    )
    assert lines[3] == f"sopgate-junit.xml: would write {len(evaluation.steps)} test cases"
    assert not (tmp_path / "sopgate.env").exists()
    assert not (tmp_path / "sopgate-junit.xml").exists()


def test_an_open_gate_posts_success(tmp_path: Path) -> None:
    situation = Situation(sop_text=EXAMPLE, mr_iid=None)
    adapter, evaluation = setup(tmp_path, situation, step="data-readiness")
    assert evaluation.decision == "closed"  # data-validation has not run
    situation = Situation(
        sop_text=EXAMPLE,
        mr_iid=None,
        files=["reports/data/x.json"],
        jobs=[("data-validation", "success", "2026-11-26T07:00:00.000Z")],
    )
    adapter, evaluation = setup(tmp_path, situation, step="data-readiness")
    assert evaluation.decision == "open"
    with responses.RequestsMock() as rsps:
        rsps.add("POST", STATUS, status=201, json=fixture("commit_status"))
        lines = adapter.publish(evaluation, dry_run=False)
        assert json.loads(rsps.calls[0].request.body or "{}")["state"] == "success"
    assert lines[0] == "MR note: skipped, no merge request"
    assert (tmp_path / "sopgate.env").read_text().startswith("SOPGATE_DECISION=open\n")


@pytest.mark.parametrize("dry_run", [False, True])
def test_status_without_a_step(tmp_path: Path, dry_run: bool) -> None:
    adapter, evaluation = setup(tmp_path, Situation(sop_text=EXAMPLE, mr_iid=None), step=None)
    lines = adapter.publish(evaluation, dry_run=dry_run)
    assert lines[1] == "commit status: skipped, no step was checked"


def test_an_emergency_override_is_loud_in_note_status_and_dotenv(tmp_path: Path) -> None:
    adapter, _ = setup(tmp_path)
    evaluation = emergency_run()
    with responses.RequestsMock() as rsps:
        rsps.add("GET", NOTES, json=[])
        rsps.add("POST", NOTES, status=201, json=fixture("note", id=77))
        rsps.add("POST", STATUS, status=201, json=fixture("commit_status"))
        adapter.publish(evaluation, dry_run=False)
        note = json.loads(rsps.calls[1].request.body or "{}")
        status = json.loads(rsps.calls[2].request.body or "{}")
    assert note["body"].startswith(f"{MARKER}\n> [!CAUTION]\n> **{LINE}** (production)\n")
    assert status["state"] == "success"
    assert (
        status["description"]
        == f"{LINE}; gate open, ready: gate open: run deploy-production (owner sre)"
    )
    assert (tmp_path / "sopgate.env").read_text() == (
        "SOPGATE_DECISION=open\nSOPGATE_STATE=ready\nSOPGATE_STEP=production\n"
        "SOPGATE_EMERGENCY=true\n"
    )


def test_a_plain_open_gate_is_no_emergency_in_the_dotenv(tmp_path: Path) -> None:
    _, evaluation = setup(tmp_path)
    assert dotenv(evaluation).endswith("SOPGATE_EMERGENCY=false\n")


def test_sync_status_of_an_overridden_step_starts_with_the_override(tmp_path: Path) -> None:
    adapter, _ = setup(tmp_path)
    evaluation = emergency_run(target=None)
    with responses.RequestsMock() as rsps:
        rsps.add("GET", NOTES, json=[])
        rsps.add("POST", NOTES, status=201, json=fixture("note", id=77))
        rsps.add("POST", STATUS, status=201, json=fixture("commit_status"))
        adapter.publish_sync(evaluation, keep=frozenset(), dry_run=False)
        posted = [json.loads(c.request.body or "{}") for c in rsps.calls if c.request.url == STATUS]
    production = next(p for p in posted if p["name"] == "sopgate/production")
    assert production["description"] == (
        f"{LINE}; ready: gate open: run deploy-production (owner sre)"
    )
    staging = next(p for p in posted if p["name"] == "sopgate/staging")
    assert staging["description"] == "done"
