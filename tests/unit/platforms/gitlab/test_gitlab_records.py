"""The chain of records on GitLab: a gate's commit status names the digest of its record in
its ``target_url`` (the job), the next gate's gather reads it into ``facts.records``, and
sync still finds the job behind such a URL."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses

from sopgate.evaluate import Evaluation, evaluate
from sopgate.platforms.gitlab import GitLabAdapter, RetryPolicy, from_env
from sopgate.report import REPORT_JSON, write_report
from sopgate.sop.load import parse_sop
from sopgate.sync import RunRef
from tests.unit.platforms.gitlab.gitlab_fixtures import BASE, HEAD, Situation, fixture, register

EXAMPLE = (Path(__file__).resolve().parents[4] / "examples" / ".sopgate.yml").read_text()
JOBS = f"{BASE}/acme/fraud-model/-/jobs/"
STATUS = f"{BASE}/api/v4/projects/7/statuses/{HEAD}"
JSON = dict[str, Any]
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ONE, TWO = "1" * 64, "2" * 64
IDS = itertools.count(6500)


def gate_status(key: str, state: str, job: int | str, at: str, digest: str = "") -> JSON:
    """A ``sopgate/KEY`` commit status at ``at`` (``HH:MM`` on 26 November) whose target is
    job ``job`` naming the record ``digest``, or the URL ``job``; as GitLab lists it."""
    url = f"{JOBS}{job}#sopgate-record=sha256:{digest}" if isinstance(job, int) else job
    moment = f"2026-11-26T{at}:00.000Z"
    return {
        **fixture("commit_status"),
        "id": next(IDS),  # none is a job of the pipeline
        "name": f"sopgate/{key}",
        "status": state,
        "target_url": url,
        "created_at": moment,
        "started_at": moment,
        "finished_at": moment,
    }


@dataclass
class Gated(Situation):
    """The situation with ``sopgate/KEY`` statuses of earlier gate jobs on the commit."""

    gates: list[dict[str, Any]] = field(default_factory=list)

    def routes(self) -> dict[tuple[str, str], tuple[int, Any]]:
        routes = super().routes()
        for (method, path), (_status, body) in routes.items():
            if method == "GET" and path.endswith(f"/commits/{self.deployed}/statuses"):
                body.extend(self.gates)
        return routes


def gathered(tmp_path: Path, situation: Situation) -> tuple[GitLabAdapter, Evaluation]:
    (tmp_path / ".sopgate.yml").write_text(EXAMPLE)
    env = {**situation.env(), "CI_PROJECT_DIR": str(tmp_path)}
    adapter = from_env(
        env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: NOW, workdir=str(tmp_path)
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register(rsps, situation)
        facts = adapter.gather(sop_path=str(tmp_path / ".sopgate.yml")).facts
    loaded = parse_sop(EXAMPLE, path=".sopgate.yml")
    return adapter, evaluate(loaded, facts, "staging")


def test_gather_names_the_record_of_each_open_gate(tmp_path: Path) -> None:
    mr = f"{BASE}/acme/fraud-model/-/merge_requests/42"
    situation = Gated(
        sop_text=EXAMPLE,
        gates=[  # GitLab lists them oldest first
            gate_status("build", "success", 5001, "08:00", ONE),
            gate_status("build", "success", 5003, "09:00", TWO),
            gate_status("production[eu-west]", "success", 5004, "09:30", ONE),
            # a sync status points at the merge request and names no record
            gate_status("go-no-go", "success", mr, "09:00"),
            # opened, then failed on a later job: no record of an open gate now
            gate_status("security-review", "success", 5005, "08:00", ONE),
            gate_status("security-review", "failed", 5006, "09:00", TWO),
        ],
    )
    _adapter, evaluation = gathered(tmp_path, situation)
    assert evaluation.facts.records == {"build": TWO, "production[eu-west]": ONE}


def test_gather_of_a_commit_without_gate_statuses_names_no_record(tmp_path: Path) -> None:
    _adapter, evaluation = gathered(tmp_path, Situation(sop_text=EXAMPLE))
    assert evaluation.facts.records == {}


def test_the_gate_status_names_the_digest_of_the_record_the_job_writes(tmp_path: Path) -> None:
    adapter, evaluation = gathered(tmp_path, Situation(sop_text=EXAMPLE))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add("GET", f"{BASE}/api/v4/projects/7/merge_requests/42/notes", json=[])
        rsps.add("POST", f"{BASE}/api/v4/projects/7/merge_requests/42/notes", status=201,
                 json=fixture("note", id=77))  # fmt: skip
        posted = rsps.add("POST", STATUS, status=201, json=fixture("commit_status"))
        lines = adapter.publish(evaluation, dry_run=False)
    assert f"commit status sopgate/staging=failed on {HEAD[:12]}: posted" in lines
    write_report(evaluation, str(tmp_path / "report"))
    written = json.loads((tmp_path / "report" / REPORT_JSON).read_text())
    status = json.loads(posted.calls[0].request.body or "{}")
    assert status["target_url"] == f"{JOBS}5002#sopgate-record=sha256:{written['report_digest']}"
    assert status["description"].startswith("gate closed, blocked: ")
    # sync still finds the job behind it
    assert adapter.gate_run(status["target_url"]) == RunRef(5002, f"{JOBS}5002")


@pytest.mark.parametrize(
    ("url", "job"),
    [
        (f"{JOBS}5001#sopgate-record=sha256:{ONE}", 5001),
        (f"{JOBS}5001#sopgate-record=sha256:{ONE[:63]}", None),  # not a well-formed record
        (f"{JOBS}5001#sopgate-record=sha256:{ONE}#L1", None),
        (f"{JOBS}5001?x=1#sopgate-record=sha256:{ONE}", None),
        (f"{BASE}/acme/other-model/-/jobs/5001#sopgate-record=sha256:{ONE}", None),
    ],
)
def test_sync_finds_the_job_behind_a_url_that_names_a_record(url: str, job: int | None) -> None:
    env = {**Situation().env(), "SOPGATE_MR_IID": "42"}
    found = from_env(env, policy=RetryPolicy(sleep=lambda _: None)).gate_run(url)
    assert found == (RunRef(job, f"{JOBS}{job}") if job else None)
