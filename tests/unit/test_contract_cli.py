"""A black-box audit of the CLI against DESIGN.md ("CLI", "Architecture", "The summary", "How a
pipeline runs sopgate", "Precise readings"): every test drives ``sopgate.cli.main`` (or a
subprocess) the way a user or a pipeline does, and reads only what comes out."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sopgate.cli import main

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
SOP = str(EXAMPLES / ".sopgate.yml")
FACTS = EXAMPLES / "facts"
GITHUB_FIXTURES = ROOT / "tests" / "unit" / "platforms" / "github" / "fixtures"
HEAD = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

sys.path.insert(0, str(ROOT / "tests" / "stubs"))
from github_stub import GitHubState, GitHubStub  # type: ignore[import-not-found]  # noqa: E402


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# -- a pipeline on GitHub, against the local stub -------------------------------------------


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubState]:
    """A GitHub Actions job of pull request #42 whose API is the stub on 127.0.0.1."""
    sop = (GITHUB_FIXTURES / "sopgate.yml").read_text()
    (tmp_path / ".sopgate.yml").write_text(sop)
    monkeypatch.chdir(tmp_path)

    def load(name: str) -> Any:
        return json.loads((GITHUB_FIXTURES / name).read_text())

    state = GitHubState(
        files={".sopgate.yml": sop, "docs/model-card.md": "card"},
        teams={"acme/sre": ["alice", "bob"]},
        reviews=load("reviews-page1.json"),
        comments=load("comments.json")[:2],
        check_runs=load("check-runs.json")["check_runs"],
    )
    with GitHubStub(state) as stub:
        for name, value in {
            "GITHUB_ACTIONS": "true",
            "GITHUB_API_URL": f"{stub.url}/api/v3",
            "GITHUB_REPOSITORY": state.repository,
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(GITHUB_FIXTURES / "event-pull_request.json"),
            "GITHUB_SHA": HEAD,
            "GITHUB_TOKEN": "stub-token",
            "GITHUB_WORKSPACE": str(tmp_path),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
        }.items():
            monkeypatch.setenv(name, value)
        for name in ("GITLAB_CI", "CI_JOB_NAME", "GITHUB_JOB", "SOPGATE_SOP"):
            monkeypatch.delenv(name, raising=False)
        yield state


def writes(state: GitHubState) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in state.requests if r.method != "GET"]


def test_github_check_publishes_summary_outputs_annotation_status_and_comment(
    github: GitHubState, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "check", "staging")
    line = line_of(Path(".sopgate.yml").read_text(), "- id: staging")
    assert code == 1
    assert re.search(rf"^::error file=\.sopgate\.yml,line={line},[^\n]*::staging is ", out, re.M)
    summary = Path("summary.md").read_text()
    assert summary.index("gate **closed**") < summary.index("### Next actions")
    assert summary.index("### Next actions") < summary.index("```mermaid")
    assert summary.index("```mermaid") < summary.index("| Step | Owner |")
    outputs = Path("output.txt").read_text().splitlines()
    assert {"decision=closed", "step=staging", "state=blocked"} <= set(outputs)
    assert [s["context"] for s in github.statuses] == ["sopgate/staging"]
    assert ("POST", "/repos/acme/fraud-model/issues/42/comments") in writes(github)
    assert "stub-token" not in out + err + summary


def test_github_dry_run_writes_nothing_anywhere_and_says_what_it_would_post(
    github: GitHubState, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "check", "staging", "--dry-run", "--report-dir", "record")
    assert code == 1
    assert writes(github) == []
    assert sorted(os.listdir(tmp_path)) == [".sopgate.yml"]  # no summary, outputs or record
    assert not re.search(r"^\s*::", out + err, re.M)  # no annotation either
    assert "dry run: would append the summary" in err
    assert "dry run: would write decision=closed step=staging state=blocked" in err
    assert "dry run: would create or update the sopgate comment on #42" in err
    assert "dry run: would write sopgate-report.json" in err


@pytest.mark.parametrize("fmt", ["json", "junit"])
def test_github_machine_formats_keep_stdout_clean_and_the_annotations_working(
    github: GitHubState, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """stdout carries the JSON (or XML) alone; the ``::error`` annotation still reaches the
    runner, which reads workflow commands on stderr too, instead of being defused."""
    code, out, err = run(capsys, "check", "staging", "--format", fmt)
    line = line_of(Path(".sopgate.yml").read_text(), "- id: staging")
    assert code == 1
    if fmt == "json":
        assert json.loads(out)["decision"] == "closed"
    else:
        assert ET.fromstring(out).tag == "testsuite"
    assert re.search(rf"^::error file=\.sopgate\.yml,line={line},", err, re.M), err
    assert ": :error" not in err


# -- what reaches a CI log is inert ------------------------------------------------------------

EVIL_SOP = """\
sopgate: 1
name: "Evil\\n::add-mask::x \\e[31mred ##[error]boom"
roles:
  sec: {users: [bob]}
steps:
  - id: build
    name: "Build\\n::warning::w \\e[2J ##[group]g"
    owner: sec
    approvals: [{role: sec}]
    checks: ["ci\\n::set-output name=x::y"]
  - id: deploy
    owner: sec
"""

EVIL_FACTS = f"""\
facts: 1
platform: local
commit: {HEAD}
observed_at: 2026-11-26T10:00:00Z
approvals:
  - {{user: bob, source: signoff, step: build, state: rejected, at: 2026-11-26T08:00:00Z,
      reason: "no\\n::add-mask::secret \\e[31m \\x9b2J ##[warning]x\\r::error::y"}}
checks:
  - {{name: "ci\\n::set-output name=x::y", app: ci, state: failure, at: 2026-11-26T08:00:00Z}}
"""


@pytest.mark.parametrize(
    "args",
    [
        ["check", "build"],
        ["check", "build", "--format", "markdown"],
        ["check", "build", "--format", "json"],
        ["check", "build", "--format", "junit"],
        ["status"],
        ["status", "--format", "junit"],
        ["diagram"],
        ["diagram", "--format", "dot"],
        ["plan"],
    ],
)
def test_nothing_printed_can_start_a_workflow_command_or_drive_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    sop = write(tmp_path / "sop.yml", EVIL_SOP)
    facts = write(tmp_path / "facts.yml", EVIL_FACTS)
    extra = ["--facts", str(facts)] if args[0] in ("check", "status", "diagram") else []
    code, out, err = run(capsys, *args, "--sop", str(sop), *extra)
    assert code == (1 if args[0] == "check" else 0)
    for text in (out, err):
        assert not re.search("[\r\x1b\x9b]", text)
        assert "##[" not in text
        for line in text.split("\n"):
            assert not line.lstrip().startswith("::"), line
    if "junit" in args:  # the XML still says what the person wrote
        failure = ET.fromstring(out).find("testcase/failure")
        assert failure is not None and "::add-mask::secret" in (failure.text or "")
        assert "##[warning]x" in (failure.text or "")


# -- the summary -------------------------------------------------------------------------------


def wide_sop(tmp_path: Path, steps: int) -> tuple[Path, Path]:
    """``steps`` parallel steps, each waiting for a check with a long name."""
    lines = ["sopgate: 1", "name: Wide release", "roles:", "  ops: {users: [olga]}", "steps:"]
    for i in range(steps):
        lines += [f"  - id: s-{i:03d}", "    owner: ops", "    needs: []"]
        lines += [f"    checks: [{'verify-' * 20}{i}]"]
    sop = write(tmp_path / "sop.yml", "\n".join(lines) + "\n")
    facts = write(
        tmp_path / "facts.yml",
        f"facts: 1\nplatform: local\ncommit: {HEAD}\nobserved_at: 2026-11-26T10:00:00Z\n",
    )
    return sop, facts


def test_summary_never_exceeds_60000_characters_even_when_the_next_actions_alone_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sop, facts = wide_sop(tmp_path, 400)
    args = ["--sop", str(sop), "--facts", str(facts), "--format", "markdown"]
    code, out, _err = run(capsys, "check", "s-399", *args)
    assert code == 1
    assert len(out) <= 60_000
    head = out[: out.index("### Next actions")]
    assert "### ⛔ **s-399**: gate **closed**" in head
    assert "- check verify-" in head  # the decision and its reasons, whole
    actions = out[out.index("### Next actions") :]
    assert "- ▶ **s-399** · owner ops: check verify-" in actions  # the step asked about first
    more = re.search(r"… and (\d+) more next actions: run `sopgate status`", actions)
    assert more is not None
    shown = len(re.findall(r"^- (?:▶ )?\*\*s-\d+\*\* · owner ops", actions, re.M))
    assert shown + int(more.group(1)) == 400
    code, out, _err = run(capsys, "status", *args)
    assert code == 0 and len(out) <= 60_000 and "### Sequence status: 400 waiting" in out


def test_summary_keeps_every_next_action_when_they_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sop, facts = wide_sop(tmp_path, 150)
    args = ["--sop", str(sop), "--facts", str(facts), "--format", "markdown"]
    _code, out, _err = run(capsys, "check", "s-000", *args)
    assert len(out) <= 60_000
    assert len(re.findall(r"^- (?:▶ )?\*\*s-\d+\*\* · owner ops", out, re.M)) == 150
    assert "more next actions" not in out


# -- the audit record and its replay -------------------------------------------------------


@pytest.fixture
def record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    args = ["--sop", SOP, "--facts", str(FACTS / "green.yml")]
    code, _out, err = run(capsys, "check", "production[eu-west]", *args, "--report-dir", "rec")
    assert code == 0, err
    return Path("rec")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_report_dir_holds_the_record_and_an_in_toto_statement(
    record: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sorted(os.listdir(record)) == [
        "sopgate-attestation.json",
        "sopgate-report.json",
        "sopgate-report.md",
    ]
    data = json.loads((record / "sopgate-report.json").read_text())
    facts = yaml.safe_load((FACTS / "green.yml").read_text())
    assert data["sopgate"] and data["decision"] == "open" and data["step"] == "production[eu-west]"
    assert data["sop"]["path"] == SOP and re.fullmatch(r"[0-9a-f]{64}", data["sop"]["sha256"])
    assert data["facts"]["commit"] == facts["commit"]
    assert all({"id", "state", "reasons"} <= set(step) for step in data["steps"])
    statement = json.loads((record / "sopgate-attestation.json").read_text())
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"][0]["digest"] == {"gitCommit": facts["commit"]}
    assert statement["predicateType"].startswith("https://")
    predicate = statement["predicate"]
    for key in ("step", "decision", "state", "reasons", "approvers", "sopgateVersion"):
        assert key in predicate
    assert predicate["sop"]["sha256"] == data["sop"]["sha256"]
    assert predicate["factsSha256"] == data["facts_sha256"]
    assert (predicate["step"], predicate["decision"]) == ("production[eu-west]", "open")
    code, out, _err = run(capsys, "replay", str(record / "sopgate-report.json"))
    assert code == 0
    assert "replay confirmed: decision open for production[eu-west]" in out


def tampered(record: Path, change: Any) -> str:
    data = json.loads((record / "sopgate-report.json").read_text())
    change(data)
    path = record / "tampered.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(decision="closed"), "decision is now open, recorded closed"),
        (lambda d: d["steps"][0].update(reasons=["x"]), "step results differ"),
        (lambda d: d["facts"].update(approvals=[]), "the facts snapshot was altered"),
        (lambda d: d.update(step="nope"), "'nope' is not a step of the SOP inside"),
        (lambda d: d.update(step="production"), "'production' is not a step of the SOP inside"),
    ],
)
def test_replay_detects_a_tampered_report(
    record: Path, capsys: pytest.CaptureFixture[str], change: Any, problem: str
) -> None:
    code, out, err = run(capsys, "replay", tampered(record, change))
    assert code == 1
    assert "replay does not confirm the recorded decision" in err
    assert "the record was edited after it was written" in err
    assert problem in err
    assert "confirmed" not in out


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(steps=5), "'steps' is not a list of step objects"),
        (lambda d: d.update(steps=[1, 2]), "'steps' is not a list of step objects"),
        (lambda d: d.update(sop=[]), "'sop' is not an object"),
        (lambda d: d["sop"].update(text=5), "'sop.text' is not a string"),
        (lambda d: d.pop("facts"), "it lacks 'facts'"),
    ],
)
def test_replay_of_a_malformed_report_is_exit_2_with_a_message(
    record: Path, capsys: pytest.CaptureFixture[str], change: Any, problem: str
) -> None:
    path = tampered(record, change)
    code, _out, err = run(capsys, "replay", path)
    assert code == 2
    assert f"{path}: not a valid sopgate report" in err and problem in err
    assert "internal error" not in err and "Traceback" not in err


def test_replay_detects_a_tampered_attestation(
    record: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = record / "sopgate-attestation.json"
    statement = json.loads(path.read_text())
    statement["predicate"]["decision"] = "closed"
    path.write_text(json.dumps(statement))
    code, _out, err = run(capsys, "replay", str(record / "sopgate-report.json"))
    assert code == 1
    assert "sopgate-attestation.json: the statement does not match the report" in err


@pytest.mark.parametrize("step", ["production[eu-west]", "production[us-east]"])
def test_an_unwritable_report_dir_is_a_clear_error_never_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], step: str
) -> None:
    (tmp_path / "file").write_text("")
    args = ["--sop", SOP, "--facts", str(FACTS / "green.yml"), "--report-dir", "file/sub"]
    code, _out, err = run(capsys, "check", step, *args)
    assert code == 2
    assert "cannot write the audit record to file/sub" in err
    assert "internal error" not in err
