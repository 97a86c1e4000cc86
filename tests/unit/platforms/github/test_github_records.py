"""The chain of records on GitHub: a gate's commit status names the digest of its record in
its ``target_url``, the next gate's gather reads it into ``facts.records``, and sync still
finds the run behind such a URL."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import responses
from conftest import HEAD, REPO, add_pr_answers, load  # type: ignore[import-not-found]

from sopgate.evaluate import evaluate
from sopgate.facts import read_facts
from sopgate.platforms.github import GitHubAdapter
from sopgate.report import REPORT_JSON, write_report
from sopgate.sop.load import read_sop
from sopgate.sync import RunRef

Make = Callable[..., GitHubAdapter]
JSON = dict[str, Any]
RUNS = "https://github.com/acme/fraud-model/actions/runs"
GREEN = Path(__file__).parents[4] / "examples" / "facts" / "green.yml"
ONE, TWO = "1" * 64, "2" * 64


def sopgate_status(key: str, state: str, run: int | str, at: str, digest: str = "") -> JSON:
    """A ``sopgate/KEY`` status at ``at`` (``HH:MM`` on 26 November) whose target is run
    ``run`` naming the record ``digest``, or the URL ``run``."""
    url = f"{RUNS}/{run}#sopgate-record=sha256:{digest}" if isinstance(run, int) else run
    moment = f"2026-11-26T{at}:00Z"
    return {
        "state": state,
        "context": f"sopgate/{key}",
        "description": "gate",
        "target_url": url,
        "created_at": moment,
        "updated_at": moment,
    }


def test_gather_names_the_record_of_each_open_gate(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    pull = "https://github.com/acme/fraud-model/pull/42"
    statuses = [  # newest first, as GitHub lists them
        sopgate_status("staging", "success", 9, "09:00", TWO),
        sopgate_status("staging", "success", 8, "08:00", ONE),
        sopgate_status("production[eu-west]", "success", 9, "09:30", ONE),
        # a sync status points at the pull request and names no record
        sopgate_status("go-no-go", "success", pull, "09:00"),
        # a gate that opened, then closed on a later run: no record of an open gate now
        sopgate_status("security-review", "pending", 9, "09:00", TWO),
        sopgate_status("security-review", "success", 8, "08:00", ONE),
        *load("statuses.json"),
    ]
    mocked.replace(responses.GET, f"{REPO}/commits/{HEAD}/statuses?per_page=100", json=statuses)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    assert facts.records == {"staging": TWO, "production[eu-west]": ONE}


def test_gather_of_a_commit_without_gate_statuses_names_no_record(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    assert facts.records == {}
    assert "records" not in facts.to_data()


def test_the_gate_status_names_the_digest_of_the_record_the_run_writes(
    make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_pr_answers(mocked)
    adapter = make_adapter()
    adapter.markdown = lambda e: "## sopgate\n"
    adapter.gather(sop_path=".sopgate.yml")
    status = mocked.post(f"{REPO}/statuses/{HEAD}", status=201, json=load("status-created.json"))
    facts = read_facts(str(GREEN)).model_copy(update={"records": {"go-no-go": ONE}})
    evaluation = evaluate(read_sop(".sopgate.yml"), facts, "production[eu-west]")
    adapter.publish(evaluation, dry_run=False)
    write_report(evaluation, str(tmp_path))
    written = json.loads((tmp_path / REPORT_JSON).read_text())
    posted = json.loads(status.calls[0].request.body)
    assert posted["state"] == "success"
    assert posted["target_url"] == f"{RUNS}/7#sopgate-record=sha256:{written['report_digest']}"
    assert posted["description"] == "gate open (ready)"
    assert written["needs_records"] == {"go-no-go": ONE}
    # sync still finds the run behind it
    assert adapter.gate_run(posted["target_url"]) == RunRef(7, f"{RUNS}/7")


@pytest.mark.parametrize(
    ("url", "run"),
    [
        (f"{RUNS}/7#sopgate-record=sha256:{ONE}", 7),
        (f"{RUNS}/7/attempts/2#sopgate-record=sha256:{ONE}", 7),
        (f"{RUNS}/7#sopgate-record=sha256:{ONE[:40]}", None),  # not a well-formed record
        (f"{RUNS}/7#sopgate-record=sha256:{ONE}#x", None),
        (f"{RUNS}/7?x=1#sopgate-record=sha256:{ONE}", None),
        (f"https://github.com/acme/other/actions/runs/7#sopgate-record=sha256:{ONE}", None),
    ],
)
def test_sync_finds_the_run_behind_a_url_that_names_a_record(
    url: str, run: int | None, make_adapter: Make
) -> None:
    found = make_adapter().gate_run(url)
    assert (found.id if found else None) == run


STUB_SOP = """\
sopgate: 1
name: Two gates
scope: {system: s, environments: [staging]}
roles: {sre: {users: [sam]}}
steps:
  - id: build
    owner: sre
    needs: []
  - id: staging
    owner: sre
    environment: staging
    rollback: redeploy the previous image
"""


def test_two_gate_runs_through_the_stub_chain_their_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Gate run 7 checks build and writes its record; gate run 8 checks staging: its facts
    name build's record by the digest run 7's status carries, and so does its record."""
    sys.path.insert(0, str(Path(__file__).parents[3] / "stubs"))
    from github_stub import GitHubState, GitHubStub  # type: ignore[import-not-found]

    from sopgate.cli import main

    (tmp_path / ".sopgate.yml").write_text(STUB_SOP)
    monkeypatch.chdir(tmp_path)
    state = GitHubState(files={".sopgate.yml": STUB_SOP})
    records: dict[str, dict[str, Any]] = {}
    with GitHubStub(state) as stub:
        for run, step in ((7, "build"), (8, "staging")):
            env = {
                "GITHUB_API_URL": f"{stub.url}/api/v3",
                "GITHUB_REPOSITORY": state.repository,
                "GITHUB_EVENT_NAME": "push",
                "GITHUB_REF": "refs/heads/main",
                "GITHUB_SHA": HEAD,
                "GITHUB_TOKEN": "stub-token",
                "GITHUB_WORKSPACE": str(tmp_path),
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_RUN_ID": str(run),
            }
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            folder = tmp_path / f"sopgate-report-{step}"
            code = main(["check", step, "--platform", "github", "--sop", ".sopgate.yml",
                         "--report-dir", str(folder)])  # fmt: skip
            err = capsys.readouterr().err
            assert code == 0, err
            records[step] = json.loads((folder / REPORT_JSON).read_text())
    build, staging = records["build"], records["staging"]
    gates = [(s["context"], s["state"], s["target_url"]) for s in state.statuses]
    assert gates == [
        ("sopgate/build", "success", f"{RUNS}/7#sopgate-record=sha256:{build['report_digest']}"),
        (
            "sopgate/staging",
            "success",
            f"{RUNS}/8#sopgate-record=sha256:{staging['report_digest']}",
        ),
    ]
    assert build["needs_records"] == {}
    assert staging["facts"]["records"] == {"build": build["report_digest"]}
    assert staging["needs_records"] == {"build": build["report_digest"]}
    code = main(["audit", str(tmp_path), "-o", str(tmp_path / "dossier")])
    out, err = capsys.readouterr()
    assert (code, out) == (0, f"audit of commit {HEAD}: 2 records (2 replay), 0 findings\n"), err
