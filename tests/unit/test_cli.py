"""The CLI contract: exit codes, messages without tracebacks, reports and replay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sopgate.cli import main

SOP = "examples/.sopgate.yml"
FACTS = "examples/facts"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("facts", "step", "code"),
    [
        ("green.yml", "production[eu-west]", 0),
        ("green.yml", "go-no-go", 0),
        ("green.yml", "production[us-east]", 1),
        ("waiting.yml", "go-no-go", 1),
        ("rejected.yml", "go-no-go", 1),
    ],
)
def test_check_exit_codes(
    capsys: pytest.CaptureFixture[str], facts: str, step: str, code: int
) -> None:
    got, out, _err = run(capsys, "check", step, "--sop", SOP, "--facts", f"{FACTS}/{facts}")
    assert got == code
    assert f"Decision for {step}: {'OPEN' if code == 0 else 'CLOSED'}" in out


def test_check_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(
        capsys,
        "check",
        "go-no-go",
        "--sop",
        SOP,
        "--facts",
        f"{FACTS}/waiting.yml",
        "--format",
        "json",
    )
    data = json.loads(out)
    assert code == 1
    assert list(data) == ["sopgate", "decision", "step", "commit", "steps", "next"]
    assert data["decision"] == "closed"
    assert data["step"] == "go-no-go"
    assert [s["id"] for s in data["steps"]][-4:] == [
        "production[eu-west]",
        "production[us-east]",
        "production[ap-south]",
        "post-deploy-watch",
    ]
    go = next(s for s in data["steps"] if s["id"] == "go-no-go")
    assert go == {
        "id": "go-no-go",
        "name": "Go / no-go",
        "owner": "release-managers",
        "state": "waiting",
        "line": 72,
        "reasons": [
            "needs 1 sign-off from sre (alice, bob); has 0 (comment '/sop approve go-no-go')"
        ],
    }
    assert data["next"] == [
        "go-no-go: needs 1 sign-off from sre (alice, bob); has 0 (comment '/sop approve go-no-go')"
    ]


def test_status_json_has_null_decision(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(
        capsys, "status", "--sop", SOP, "--facts", f"{FACTS}/rejected.yml", "--format", "json"
    )
    assert code == 0
    data = json.loads(out)
    assert data["decision"] is None and data["step"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["check", "production"],
            "step 'production' runs once per region; name one "
            "instance: production[eu-west], production[us-east], production[ap-south]",
        ),
        (["check", "deploy"], "unknown step 'deploy'; steps: data-readiness"),
        (["check", "--format", "yaml", "go-no-go"], "Invalid value for '--format'"),
        (["check", "go-no-go", "--timeout", "soon"], "'soon' is not a duration"),
        (
            ["check", "go-no-go", "--platform", "github"],
            "use either --facts FILE or --platform, not both",
        ),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args, "--sop", SOP, "--facts", f"{FACTS}/green.yml")
    assert code == 2
    assert message in err
    assert "Traceback" not in out + err


def test_check_without_step_infers_it_from_the_job(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_JOB", raising=False)
    monkeypatch.setenv("CI_JOB_NAME", "deploy-production (us-east)")
    code, out, _err = run(capsys, "check", "--sop", SOP, "--facts", f"{FACTS}/green.yml")
    assert code == 1
    assert "Decision for production[us-east]: CLOSED" in out


def test_check_without_step_or_job_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_JOB", raising=False)
    monkeypatch.delenv("CI_JOB_NAME", raising=False)
    code, _out, err = run(capsys, "check", "--sop", SOP, "--facts", f"{FACTS}/green.yml")
    assert code == 2
    assert "no STEP given and no CI job to infer it from" in err


def test_no_platform_outside_ci_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITLAB_CI", raising=False)
    code, _out, err = run(capsys, "check", "go-no-go", "--sop", SOP)
    assert code == 2
    assert "neither GITHUB_ACTIONS nor GITLAB_CI is set" in err


def test_invalid_sop_exits_2_with_locations(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "sopgate: 1\nname: x\nroles: {a: {users: [u]}}\nsteps:\n"
        "  - id: s\n    owner: b\n    aprovals: []\n"
    )
    code, out, err = run(capsys, "validate", "--sop", str(bad))
    assert code == 2
    assert err.splitlines() == [
        f"{bad}:6:12: unknown role 'b' in owner of step 's'; roles: a",
        f"{bad}:7:5: unknown key 'aprovals' in steps[0] (did you mean 'approvals'?); allowed: "
        "id, name, description, owner, type, needs, jobs, environment, for_each, rollout, "
        "run_by, approvals, separate_from, checks, evidence, window, rollback",
        "2 errors",
    ]
    assert out == ""


def test_invalid_facts_exit_2_and_write_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "facts.yml"
    bad.write_text("facts: 1\nplatform: local\n")
    code, _out, err = run(
        capsys,
        "check",
        "go-no-go",
        "--sop",
        SOP,
        "--facts",
        str(bad),
        "--report-dir",
        str(tmp_path / "out"),
    )
    assert code == 2
    assert f"{bad}:1:1: missing required key 'commit'" in err
    assert not (tmp_path / "out").exists()


def test_missing_sop_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, err = run(capsys, "validate", "--sop", str(tmp_path / "none.yml"))
    assert code == 2
    assert "no SOP file here; pass --sop PATH or set SOPGATE_SOP" in err


def test_validate_prints_warnings_and_exits_0(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sop = tmp_path / "s.yml"
    sop.write_text(
        "sopgate: 1\nname: x\nscope: {system: s, environments: [prod]}\n"
        "roles: {a: {users: [u]}, b: {users: [v]}}\n"
        "steps:\n  - id: s\n    owner: a\n    environment: prod\n"
    )
    code, out, err = run(capsys, "validate", "--sop", str(sop))
    assert code == 0
    assert "valid SOP 'x' (1 steps, 2 warnings)" in out
    assert f"{sop}:4:26: warning: role 'b' is not used by any step or by owners" in err


def test_report_dir_and_replay(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, _err = run(
        capsys,
        "check",
        "go-no-go",
        "--sop",
        SOP,
        "--facts",
        f"{FACTS}/waiting.yml",
        "--report-dir",
        str(tmp_path),
    )
    assert code == 1
    report = tmp_path / "sopgate-report.json"
    data = json.loads(report.read_text())
    assert data["decision"] == "closed"
    assert data["sop"]["path"] == SOP
    assert data["facts"]["commit"] == "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    assert "```mermaid" in (tmp_path / "sopgate-report.md").read_text()

    code, out, _err = run(capsys, "replay", str(report))
    assert code == 0
    assert out.startswith(
        "replay confirmed: decision closed for go-no-go, 11 step results identical"
    )

    data["facts"]["approvals"].append(
        {
            "user": "bob",
            "source": "signoff",
            "step": "go-no-go",
            "state": "approved",
            "at": "2026-11-26T09:00:00Z",
        }
    )
    report.write_text(json.dumps(data))
    code, _out, err = run(capsys, "replay", str(report))
    assert code == 1
    assert "the facts snapshot was altered" in err
    assert "decision is now open, recorded closed" in err


def test_replay_detects_an_altered_sop(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run(
        capsys,
        "check",
        "go-no-go",
        "--sop",
        SOP,
        "--facts",
        f"{FACTS}/green.yml",
        "--report-dir",
        str(tmp_path),
    )
    report = tmp_path / "sopgate-report.json"
    data = json.loads(report.read_text())
    data["sop"]["text"] = data["sop"]["text"].replace(
        "count: 1, source: signoff}", "count: 2, source: signoff}", 1
    )
    report.write_text(json.dumps(data))
    code, _out, err = run(capsys, "replay", str(report))
    assert code == 1
    assert "the SOP text was altered" in err


def test_dry_run_writes_no_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, err = run(
        capsys,
        "check",
        "go-no-go",
        "--sop",
        SOP,
        "--facts",
        f"{FACTS}/green.yml",
        "--report-dir",
        str(tmp_path / "r"),
        "--dry-run",
    )
    assert code == 0
    assert "dry run: would write sopgate-report.json" in err
    assert not (tmp_path / "r").exists()


def test_wait_rereads_facts_until_the_gate_opens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sopgate import commands

    facts = tmp_path / "facts.yml"
    facts.write_text(Path(f"{FACTS}/waiting.yml").read_text())
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:  # the SRE signs off while we wait
            facts.write_text(Path(f"{FACTS}/green.yml").read_text())

    options = commands.CheckOptions(
        step="go-no-go", sop_path=SOP, facts_path=str(facts), wait=True, timeout=600, interval=30
    )
    assert commands.check(options, sleep=sleep, clock=lambda: 100.0 + 30 * len(sleeps)) == 0
    assert sleeps == [30, 30]


def test_wait_stops_at_once_on_rejection_and_times_out_otherwise(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sopgate import commands

    rejected = commands.CheckOptions(
        step="go-no-go", sop_path=SOP, wait=True, facts_path=f"{FACTS}/rejected.yml", timeout=600
    )
    assert commands.check(rejected, sleep=lambda s: pytest.fail("slept")) == 1

    sleeps: list[float] = []
    waiting = commands.CheckOptions(
        step="go-no-go",
        sop_path=SOP,
        wait=True,
        facts_path=f"{FACTS}/waiting.yml",
        timeout=70,
        interval=30,
    )
    assert commands.check(waiting, sleep=sleeps.append, clock=lambda: float(sum(sleeps))) == 1
    assert sleeps == [30, 30, 10]
    assert (
        "timed out after 70s; go-no-go is still waiting: needs 1 sign-off from sre"
        in capsys.readouterr().err
    )


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_diagram(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, _err = run(
        capsys, "diagram", "--sop", SOP, "--format", fmt, "--facts", f"{FACTS}/green.yml"
    )
    assert code == 0
    assert out.startswith("flowchart TD" if fmt == "mermaid" else "digraph")


def test_schema_is_json_schema_of_the_sop(capsys: pytest.CaptureFixture[str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    code, out, _err = run(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    validator = jsonschema.Draft202012Validator(schema)
    example = yaml.safe_load(Path(SOP).read_text())
    example["review"]["last_reviewed"] = str(example["review"]["last_reviewed"])
    for freeze in example["freezes"]:
        freeze["from"], freeze["to"] = str(freeze["from"]), str(freeze["to"])
    assert list(validator.iter_errors(example)) == []
    example["steps"][0]["aprovals"] = []
    assert [e.validator for e in validator.iter_errors(example)] == ["additionalProperties"]


@pytest.mark.parametrize(
    "args", [["validate", "--sop", SOP], ["--help"], ["check", "--help"], ["schema"]]
)
def test_local_commands_import_no_platform_code(args: list[str]) -> None:
    probe = (
        f"import sys; from sopgate.cli import main; code = main({args!r}); "
        "heavy = [m for m in ('github', 'gitlab', 'requests') if m in sys.modules]; "
        "print('heavy', heavy); sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert done.returncode == 0, done.stderr
    assert "heavy []" in done.stdout


def test_console_script_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("sopgate: 1\nname: [x\n")
    done = subprocess.run(
        [sys.executable, "-m", "sopgate.cli", "validate", "--sop", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"{bad}:3:1: YAML syntax error" in done.stderr


def test_internal_errors_fail_closed_without_leaking_a_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "ghp_CANARY0123456789abcdef"
    monkeypatch.setenv("GITHUB_TOKEN", canary)

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"GET https://x-access-token:{canary}@api.github.com failed")

    monkeypatch.setattr("sopgate.commands.status", explode)
    code, out, err = run(capsys, "status", "--sop", SOP, "--facts", f"{FACTS}/green.yml")
    assert code == 3
    assert canary not in out + err
    assert "internal error (RuntimeError: GET https://x-access-token:***@api.github.com" in err
    assert "the gate stays closed" in err


def test_plan_shows_groups_owners_and_gates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "plan", "--sop", SOP)
    assert code == 0
    assert out.startswith(
        "Fraud-scoring model release: 9 steps, 11 with region instances, "
        "9 groups\n\n1. (in parallel)\n  data-readiness - Data readiness "
        "verified (owner data-science)\n"
    )
    assert (
        "  go-no-go [decision] - Go / no-go (owner release-managers)\n"
        "      needs: staging\n"
        "      approvals: 1 from release-managers via signoff\n"
        "      approvals: 1 from sre via signoff\n"
        "      separate from: security-review\n"
    ) in out
    assert (
        "  production[us-east] - Production rollout (owner sre)\n"
        "      needs: go-no-go, production[eu-west]\n"
        "      window: mon, tue, wed, thu 09:00-16:00 Europe/Berlin\n"
    ) in out


def test_debug_prints_the_traceback_and_still_fails_closed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "ghp_CANARY0123456789abcdef"
    monkeypatch.setenv("GITHUB_TOKEN", canary)
    monkeypatch.setenv("SOPGATE_DEBUG", "1")

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"GET https://x-access-token:{canary}@api.github.com failed")

    monkeypatch.setattr("sopgate.commands.status", explode)
    code, out, err = run(capsys, "status", "--sop", SOP, "--facts", f"{FACTS}/green.yml")
    assert code == 3  # a traceback for the operator, but never exit 1 (or 0) instead of 3
    assert "Traceback (most recent call last):" in err
    assert "RuntimeError: GET https://x-access-token:***@api.github.com failed" in err
    assert canary not in out + err


def test_check_with_facts_skips_the_pydantic_plugin_scan() -> None:
    """A --facts check loads no pydantic plugins (pydantic's entry-point scan reads the
    metadata of every installed distribution) and no renderer of a format not asked for."""
    probe = (
        "import os, sys; os.environ.pop('PYDANTIC_DISABLE_PLUGINS', None); "
        "from sopgate.cli import main; "
        f"code = main(['check', 'go-no-go', '--sop', {SOP!r}, '--facts', '{FACTS}/green.yml']); "
        "print('plugins', os.environ.get('PYDANTIC_DISABLE_PLUGINS')); "
        "heavy = [m for m in ('github', 'gitlab', 'requests', 'sopgate.render.junit', "
        "'sopgate.render.markdown', 'sopgate.render.json') if m in sys.modules]; "
        "print('heavy', heavy); sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert done.returncode == 0, done.stderr
    assert "Decision for go-no-go: OPEN" in done.stdout
    assert "plugins __all__" in done.stdout
    assert "heavy []" in done.stdout
