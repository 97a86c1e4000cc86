"""A black-box audit of the CLI against DESIGN.md ("CLI", "Architecture", "The summary", "How a
pipeline runs sopgate", "Precise readings"): every test drives ``sopgate.cli.main`` (or a
subprocess) the way a user or a pipeline does, and reads only what comes out."""

from __future__ import annotations

import json
import os
import re
import subprocess
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


@pytest.mark.parametrize("fmt", ["json", "junit", "markdown"])
def test_github_machine_formats_keep_stdout_clean_and_the_annotations_working(
    github: GitHubState, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """stdout carries the JSON, XML or Markdown document alone; the ``::error`` annotation
    still reaches the runner, which reads workflow commands on stderr too (actions/runner
    ScriptHandler: one OutputManager per stream), instead of being defused."""
    code, out, err = run(capsys, "check", "staging", "--format", fmt)
    line = line_of(Path(".sopgate.yml").read_text(), "- id: staging")
    assert code == 1
    if fmt == "json":
        assert json.loads(out)["decision"] == "closed"
    elif fmt == "junit":
        assert ET.fromstring(out).tag == "testsuite"
    else:
        assert out.startswith("## sopgate: ") and "::error" not in out
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


# -- check and status: exit codes and the JSON shape ------------------------------------------

GREEN = str(FACTS / "green.yml")
WAITING = str(FACTS / "waiting.yml")


def test_check_json_has_exactly_the_documented_keys_and_types(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _err = run(
        capsys, "check", "go-no-go", "--sop", SOP, "--facts", WAITING, "--format", "json"
    )
    data = json.loads(out)
    assert code == 1
    assert list(data) == ["sopgate", "decision", "step", "commit", "steps", "next"]
    assert isinstance(data["sopgate"], str) and data["sopgate"]
    assert (data["decision"], data["step"]) == ("closed", "go-no-go")
    assert re.fullmatch(r"[0-9a-f]{40}", data["commit"])
    sop_lines = Path(SOP).read_text().splitlines()
    for step in data["steps"]:
        assert list(step) == ["id", "name", "owner", "state", "reasons", "line"]
        assert all(isinstance(step[k], str) for k in ("id", "name", "owner", "state"))
        assert all(isinstance(reason, str) for reason in step["reasons"])
        assert type(step["line"]) is int
        assert f"id: {step['id'].split('[')[0]}" in sop_lines[step["line"] - 1]
    ids = [step["id"] for step in data["steps"]]
    assert "production[eu-west]" in ids and "production" not in ids
    assert data["next"] and all(isinstance(action, str) for action in data["next"])
    assert any("/sop approve go-no-go" in action for action in data["next"])


def test_status_json_has_null_decision_and_step(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "status", "--sop", SOP, "--facts", WAITING, "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert list(data) == ["sopgate", "decision", "step", "commit", "steps", "next"]
    assert data["decision"] is None and data["step"] is None


def test_check_of_a_fanned_out_step_lists_its_instances(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "check", "production", "--sop", SOP, "--facts", GREEN)
    assert code == 2 and out == ""
    for region in ("eu-west", "us-east", "ap-south"):
        assert f"production[{region}]" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "nope"], "unknown step 'nope'"),
        (["check", "production[mars]"], "unknown step 'production[mars]'"),
        (["check", "go-no-go", "--facts", "missing.yml"], "missing.yml: no such facts file"),
        (["check", "go-no-go", "--sop", "missing.yml"], "missing.yml: no SOP file"),
        (["check", "go-no-go", "--platform", "github"], "not both"),
        (["check", "go-no-go", "--timeout", "5m"], "only apply with --wait"),
        (["check", "go-no-go", "--wait", "--interval", "1s"], "at least 5s"),
        (["check", "go-no-go", "--wait", "--timeout", "soon"], "not a duration"),
        (["check", "go-no-go", "--format", "xml"], "'xml' is not one of"),
        (["check", "go-no-go", "--report-dir", GREEN], "is not a directory"),
        (["check", "go-no-go", "--sign-key", "k.pem"], "needs --report-dir"),
        (["check", "go-no-go", "--bogus"], "No such option '--bogus'"),
        (["status", "--format", "yaml"], "'yaml' is not one of"),
        (["status", "--facts", "missing.yml"], "missing.yml: no such facts file"),
        (["diagram", "--format", "svg"], "'svg' is not one of"),
        (["diagram", "--facts", "missing.yml"], "missing.yml: no such facts file"),
        (["validate", "--sop", "missing.yml"], "missing.yml: no SOP file"),
        (["plan", "--sop", "missing.yml"], "missing.yml: no SOP file"),
        (["replay", "missing.json"], "missing.json: no such report"),
        (["replay"], "Missing argument"),
        (["init", "--template", "huge"], "'huge' is not one of"),
        (["test", "missing.yml"], "missing.yml: no such gate-test file"),
        (["schema", "extra"], "unexpected extra argument"),
        (["sync", "--platform", "bitbucket"], "'bitbucket' is not one of"),
        (["facts", "--platform", "bitbucket"], "'bitbucket' is not one of"),
        (["nosuchcommand"], "No such command"),
    ],
)
def test_every_command_refuses_bad_input_with_exit_2_and_a_message(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    extra = ["--sop", SOP] if args[0] in ("check", "status", "diagram") else []
    if "--sop" in args:
        extra = []
    if args[0] == "check" and "--facts" not in args:
        extra += ["--facts", GREEN]
    code, _out, err = run(capsys, *args, *extra)
    assert code == 2
    assert message in err
    assert "Traceback" not in err and "internal error" not in err


@pytest.mark.parametrize(
    "args",
    [
        ["check", "go-no-go"],
        ["check"],
        ["status"],
        ["facts"],
        ["sync"],
    ],
)
def test_a_platform_that_cannot_be_asked_is_exit_3_never_0(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    Path(".sopgate.yml").write_text(Path(SOP).read_text())
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/fraud-model")
    monkeypatch.setenv("GITHUB_SHA", HEAD)
    monkeypatch.setenv("GITHUB_TOKEN", "secret-token-123")
    monkeypatch.setenv("GITHUB_JOB", "deploy-staging")
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9/api/v3")  # nothing listens
    monkeypatch.setenv("SOPGATE_API_TIMEOUT", "3")
    monkeypatch.delenv("GITLAB_CI", raising=False)
    code, out, err = run(capsys, *args)
    assert code == 3
    assert "GitHub" in err and "secret-token-123" not in out + err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("variable", "job", "step"),
    [
        ("GITHUB_JOB", "deploy-staging", "staging"),
        ("CI_JOB_NAME", "deploy-production (us-east)", "production[us-east]"),
    ],
)
def test_check_without_step_takes_it_from_the_ci_job(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    job: str,
    step: str,
) -> None:
    for name in ("GITHUB_JOB", "CI_JOB_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, job)
    _code, out, _err = run(capsys, "check", "--sop", SOP, "--facts", GREEN, "--format", "json")
    assert json.loads(out)["step"] == step
    monkeypatch.setenv(variable, "lint")
    code, _out, err = run(capsys, "check", "--sop", SOP, "--facts", GREEN)
    assert code == 2 and "cannot infer the step from job 'lint'" in err


def test_junit_has_one_test_case_per_step(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "status", "--sop", SOP, "--facts", WAITING, "--format", "junit")
    _code, as_json, _err = run(
        capsys, "status", "--sop", SOP, "--facts", WAITING, "--format", "json"
    )
    suite = ET.fromstring(out)
    names = [case.get("name") for case in suite.iter("testcase")]
    assert code == 0
    assert names == [step["id"] for step in json.loads(as_json)["steps"]]
    assert suite.get("tests") == str(len(names))


def test_markdown_puts_decision_and_next_first_then_diagram_with_legend_then_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _err = run(
        capsys, "check", "go-no-go", "--sop", SOP, "--facts", WAITING, "--format", "markdown"
    )
    assert code == 1
    order = [
        out.index("gate **closed**"),
        out.index("### Next actions"),
        out.index("```mermaid"),
        out.index("| Step | Owner | State | Reasons |"),
    ]
    assert order == sorted(order)
    diagram = out[out.index("```mermaid") : out.index("```", out.index("```mermaid") + 3)]
    assert "Legend" in diagram
    for state in ("done", "ready", "waiting", "blocked", "failed", "rejected"):
        assert f'["{state}"]' in diagram
    assert "owner: release-managers" in diagram and "owner: security" in diagram
    assert "asked about" in diagram


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_diagram_formats(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, _err = run(capsys, "diagram", "--sop", SOP, "--format", fmt)
    assert code == 0
    assert out.startswith("flowchart TD" if fmt == "mermaid" else "digraph sopgate {")
    assert "owner: sre" in out


def test_plan_prints_the_sequence_with_owners(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "plan", "--sop", SOP)
    assert code == 0
    assert out.index("data-readiness") < out.index("go-no-go") < out.index("production[eu-west]")
    assert "owner release-managers" in out


# -- init, test, schema, help, imports --------------------------------------------------------


@pytest.mark.parametrize("template", ["enterprise", "regulated", "startup", "global"])
def test_init_templates_validate_pass_their_tests_and_refuse_to_overwrite(
    capsys: pytest.CaptureFixture[str], template: str
) -> None:
    assert run(capsys, "init", "--template", template)[0] == 0
    code, out, err = run(capsys, "validate")
    assert code == 0 and "valid SOP" in out and "warning" not in err
    code, out, _err = run(capsys, "test")  # the default .sopgate/tests/*.yml
    assert code == 0 and re.search(r"\d+ cases?: \d+ passed, 0 failed", out)
    before = Path(".sopgate.yml").read_text()
    Path(".sopgate.yml").write_text(before + "# mine\n")
    code, _out, err = run(capsys, "init", "--template", template)
    assert code == 2 and "refusing to overwrite .sopgate.yml" in err
    assert Path(".sopgate.yml").read_text() == before + "# mine\n"
    assert run(capsys, "init", "--template", template, "--force")[0] == 0
    assert Path(".sopgate.yml").read_text() == before


def test_init_that_cannot_write_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    Path(".sopgate").write_text("a file where the tests folder goes")
    code, _out, err = run(capsys, "init", "--template", "startup")
    assert code == 2 and "cannot write .sopgate/tests/startup.yml" in err
    assert "internal error" not in err


def gate_tests(tmp_path: Path) -> Path:
    """A repository with the example SOP, and a test file in a folder of its own whose facts
    path is relative to it and whose SOP is the one in force."""
    Path(".sopgate.yml").write_text(Path(SOP).read_text())
    folder = tmp_path / ".sopgate" / "tests"
    (folder / "facts").mkdir(parents=True)
    (folder / "facts" / "waiting.yml").write_text(Path(WAITING).read_text())
    return write(
        folder / "release.yml",
        """\
        cases:
          - name: go-no-go waits for its sign-offs
            facts: facts/waiting.yml
            expect: {go-no-go: closed, staging: done}
          - name: wrongly expects go-no-go open
            facts: facts/waiting.yml
            expect: {go-no-go: open}
        """,
    )


def test_gate_test_output_names_case_step_expected_actual_and_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gate_tests(tmp_path)
    code, out, _err = run(capsys, "test")
    assert code == 1
    assert "ok    .sopgate/tests/release.yml:2: go-no-go waits for its sign-offs" in out
    assert "FAIL  .sopgate/tests/release.yml:5: wrongly expects go-no-go open" in out
    assert "go-no-go: expected open, got closed (waiting)" in out
    assert "- needs 1 sign-off from sre (alice, bob); has 0" in out
    assert "2 cases: 1 passed, 1 failed" in out


def test_gate_test_paths_and_patterns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gate_tests(tmp_path)
    for paths in (
        [".sopgate/tests/release.yml"],
        [".sopgate/tests"],
        [".sopgate/tests/*.yml"],  # unexpanded, as a CI runner without a shell passes it
    ):
        code, out, _err = run(capsys, "test", *paths)
        assert (code, out.splitlines()[-1]) == (1, "2 cases: 1 passed, 1 failed"), paths
    code, _out, err = run(capsys, "test", "nowhere/*.yml")
    assert code == 2 and "nowhere/*.yml: no gate-test files match" in err


def test_gate_test_sop_defaults_to_the_sop_in_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tests = gate_tests(tmp_path)
    Path(".sopgate.yml").rename("elsewhere.yml")
    code, _out, err = run(capsys, "test", str(tests))
    assert code == 2 and ".sopgate.yml: no SOP file" in err
    assert run(capsys, "test", str(tests), "--sop", "elsewhere.yml")[0] == 1
    monkeypatch.setenv("SOPGATE_SOP", "elsewhere.yml")
    assert run(capsys, "test", str(tests))[0] == 1


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("cases: []", "cases"),
        ("cases: [{name: a, facts: nowhere.yml, expect: {go-no-go: open}}]", "no facts file"),
        ("cases: [{name: a, facts: f.yml, expect: {nope: open}}]", "unknown step 'nope'"),
        ("cases: [{name: a, facts: f.yml, expect: {go-no-go: opened}}]", "go-no-go"),
        ("cases: [{name: a, facts: f.yml, expect: {go-no-go: open}, sop: x.yml}]", "no SOP"),
        ("cases: [{name: a, facts: f.yml, expect: {go-no-go: open}, extra: 1}]", "extra"),
        ("- just a list", "mapping"),
    ],
)
def test_an_invalid_gate_test_file_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, message: str
) -> None:
    Path(".sopgate.yml").write_text(Path(SOP).read_text())
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "f.yml").write_text(Path(WAITING).read_text())
    (tmp_path / "t" / "case.yml").write_text(case + "\n")
    code, _out, err = run(capsys, "test", "t/case.yml")
    assert code == 2
    assert err.startswith("t/case.yml:") and message in err
    assert "Traceback" not in err


def test_schema_is_a_valid_json_schema_that_the_templates_meet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    code, out, _err = run(capsys, "schema")
    schema = json.loads(out)
    assert code == 0
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)

    class Strings(yaml.SafeLoader):  # as check-jsonschema reads YAML: dates stay strings
        pass

    def as_string(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        assert isinstance(node, yaml.ScalarNode)
        return loader.construct_scalar(node)

    Strings.add_constructor("tag:yaml.org,2002:timestamp", as_string)
    for template in ("enterprise", "regulated", "startup", "global"):
        run(capsys, "init", "--template", template, "--force")
        document = yaml.load(Path(".sopgate.yml").read_text(), Loader=Strings)
        assert list(validator(schema).iter_errors(document)) == []
    assert list(validator(schema).iter_errors({"sopgate": 1, "name": "x", "oops": 1}))


COMMANDS = ["validate", "plan", "diagram", "check", "status", "facts", "schema", "replay"]
COMMANDS += ["sync", "init", "test", "audit"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself_and_its_exit_codes(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, out, _err = run(capsys, command, "--help")
    assert code == 0
    assert out.startswith(f"Usage: sopgate {command}")
    description = out.split("\n\n")[1]
    assert len(description.split()) >= 6
    assert re.search(r"\bexit\b", out[: out.index("Options:")], re.I)  # its exit codes
    for option in re.findall(r"^  (-\w, )?(--[\w-]+)", out, re.M):
        assert option[1] in out


def test_local_commands_never_import_the_platform_libraries(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys, contextlib, io
        from sopgate.cli import main
        runs = [
            ["validate", "--sop", {SOP!r}],
            ["plan", "--sop", {SOP!r}],
            ["diagram", "--sop", {SOP!r}, "--facts", {WAITING!r}],
            ["check", "go-no-go", "--sop", {SOP!r}, "--facts", {WAITING!r}, "--report-dir", "r"],
            ["status", "--sop", {SOP!r}, "--facts", {WAITING!r}, "--format", "junit"],
            ["replay", "r/sopgate-report.json"],
            ["schema"],
            ["init", "--template", "global"],
            ["test"],
        ]
        for args in runs:
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                main(args)
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("github", "gitlab")))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stderr
