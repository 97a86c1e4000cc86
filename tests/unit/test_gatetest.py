"""``sopgate test``: declarative gate tests, their report and their exit codes."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from sopgate.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

SMALL_SOP = """\
sopgate: 1
name: Small
scope: {system: s, environments: [prod], regions: [eu, us]}
roles:
  ops: {users: [olga, oscar]}
steps:
  - id: build
    owner: ops
    checks: [unit-tests]
  - id: ship
    owner: ops
    environment: prod
    for_each: region
    approvals: [{role: ops, count: 1, source: signoff}]
    rollback: redeploy
"""

FACTS = """\
facts: 1
platform: local
commit: 4b825dc642cb6eb9a060e54bf8d69288fbee4904
observed_at: 2026-11-26T10:00:00Z
checks:
  - {name: unit-tests, app: ci, state: success, at: 2026-11-26T09:00:00Z}
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["test", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with the small SOP at .sopgate.yml, facts in ci/, and the cwd there."""
    (tmp_path / ".sopgate.yml").write_text(SMALL_SOP, encoding="utf-8")
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "built.yml").write_text(FACTS, encoding="utf-8")
    (tmp_path / ".sopgate" / "tests").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOPGATE_SOP", raising=False)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_examples_own_tests_pass(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(EXAMPLES)
    code, out, _err = run(capsys)
    assert code == 0
    assert out.endswith("\n5 cases: 5 passed, 0 failed\n")
    assert out.startswith(
        "ok    .sopgate/tests/release.yml:7: everything up to the go/no-go is done, so the first "
        "region may\n      deploy\n"
    )


def test_default_path_sop_in_force_and_files_relative_to_the_test(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    write(
        repo / ".sopgate" / "tests" / "ship.yml",
        """\
        cases:
          - name: built, nobody signed off yet
            facts: ../../ci/built.yml
            expect: {build: done, ship: closed, "ship[eu]": waiting}
        """,
    )
    code, out, _err = run(capsys)
    assert (code, out) == (
        0,
        "ok    .sopgate/tests/ship.yml:2: built, nobody signed off yet\n\n"
        "1 case: 1 passed, 0 failed\n",
    )


def test_a_failing_case_names_case_step_expected_actual_and_reasons(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    write(
        repo / "t.yml",
        """\
        cases:
          - name: ship expected open too early
            facts: ci/built.yml
            expect: {build: open, ship: open}
          - name: inline facts, nothing built
            facts:
              facts: 1
              platform: local
              commit: 4b825dc642cb6eb9a060e54bf8d69288fbee4904
              observed_at: 2026-11-26T10:00:00Z
            expect: {build: waiting}
        """,
    )
    code, out, _err = run(capsys, "t.yml")
    assert code == 1
    assert out == (
        "FAIL  t.yml:2: ship expected open too early\n"
        "      ship[eu]: expected open, got closed (waiting)\n"
        "        - needs 1 sign-off from ops (olga, oscar); has 0 "
        "(comment '/sop approve ship[eu]')\n"
        "      ship[us]: expected open, got closed (waiting)\n"
        "        - needs 1 sign-off from ops (olga, oscar); has 0 "
        "(comment '/sop approve ship[us]')\n"
        "ok    t.yml:5: inline facts, nothing built\n"
        "\n"
        "2 cases: 1 passed, 1 failed\n"
    )


def test_sop_option_env_and_case_sop(
    capsys: pytest.CaptureFixture[str], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "sops").mkdir()
    shutil.move(repo / ".sopgate.yml", repo / "sops" / "main.yml")
    case = """\
        cases:
          - name: built
            {sop}facts: ../ci/built.yml
            expect: {{build: done}}
        """
    tests = repo / "tests"
    tests.mkdir()
    write(tests / "a.yml", case.format(sop=""))
    assert run(capsys, "tests/a.yml", "--sop", "sops/main.yml")[0] == 0
    monkeypatch.setenv("SOPGATE_SOP", "sops/main.yml")
    assert run(capsys, "tests")[0] == 0  # a directory: its *.yml files
    monkeypatch.delenv("SOPGATE_SOP")
    code, _out, err = run(capsys, "tests/a.yml")
    assert code == 2
    assert "no SOP file here" in err
    write(tests / "a.yml", case.format(sop="sop: ../sops/main.yml\n            "))
    assert run(capsys, "tests/a.yml")[0] == 0


def test_invalid_files_are_exit_2_with_every_place(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    write(
        repo / "bad.yml",
        """\
        cases:
          - name: typo
            facts: {facts: 1, platform: local, commit: abc, observed_at: 2026-11-26T10:00:00Z}
            expect: {build: opne, nope: done}
          - name: typo
            facts: missing.yml
            expect: {build: done}
            exepct: {}
        """,
    )
    code, out, err = run(capsys, "bad.yml")
    assert (code, out) == (2, "")
    # The file's shape first; what its cases refer to once the shape is right.
    assert err == (
        "bad.yml:4:21: cases[0].expect.build: 'opne' is not allowed; allowed: open, closed, "
        "rejected, failed, blocked, waiting, ready, done\n"
        "bad.yml:8:5: unknown key 'exepct' in cases[1] (did you mean 'expect'?); allowed: name, "
        "sop, facts, expect\n"
        "2 errors\n"
    )
    write(
        repo / "bad.yml",
        """\
        cases:
          - name: unknown step
            facts: missing.yml
            expect: {nope: done}
          - name: bad inline facts
            facts: {facts: 1, platform: local, commit: abc, observed_at: 2026-11-26T10:00:00Z}
            expect: {build: done}
          - name: unknown step
            facts: ci/built.yml
            expect: {ship: done}
        """,
    )
    code, _out, err = run(capsys, "bad.yml")
    assert code == 2
    assert err == (
        "bad.yml:3:12: no facts file missing.yml (relative to the test file)\n"
        "bad.yml:4:14: unknown step 'nope' in .sopgate.yml; steps: build, ship[eu], ship[us], "
        "ship\n"
        "bad.yml:6:48: facts: commit: 'abc' is not a full 40-character hex commit id\n"
        "bad.yml:8:11: duplicate case name 'unknown step' (first at line 2)\n"
        "4 errors\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n", "bad.yml:1:1: a gate-test file must be a mapping 'cases: [...]', got a list"),
        ("cases: []\n", "bad.yml:1:8: cases: must not be empty"),
        ("cases: [\n", "bad.yml:2:1: YAML syntax error"),
    ],
)
def test_not_a_test_file(
    capsys: pytest.CaptureFixture[str], repo: Path, text: str, message: str
) -> None:
    (repo / "bad.yml").write_text(text, encoding="utf-8")
    code, _out, err = run(capsys, "bad.yml")
    assert code == 2
    assert err.startswith(message)


def test_nothing_to_run_is_a_usage_error(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    code, _out, err = run(capsys)
    assert code == 2
    assert err == (
        "no gate tests found at .sopgate/tests/*.yml; write some (sopgate init starts with "
        "examples) or pass PATH\n"
    )
    code, _out, err = run(capsys, "nothing.yml")
    assert (code, err) == (2, "nothing.yml: no such gate-test file\n")


def test_user_text_is_cleaned(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    write(
        repo / "t.yml",
        """\
        cases:
          - name: "bell \\a and \\e[2J escape"
            facts: ci/built.yml
            expect: {build: failed}
        """,
    )
    code, out, _err = run(capsys, "t.yml")
    assert code == 1
    assert "\x1b" not in out and "\x07" not in out
    assert "FAIL  t.yml:2: bell   and  [2J escape\n      build: expected failed, got done\n" in out


def test_every_invalid_file_is_reported_before_any_case_runs(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    good = "cases:\n  - {name: built, facts: ../../ci/built.yml, expect: {build: done}}\n"
    write(repo / ".sopgate" / "tests" / "a.yml", good)
    write(repo / ".sopgate" / "tests" / "b.yml", "cases:\n  - {name: x, expect: {build: dne}}\n")
    write(repo / ".sopgate" / "tests" / "c.yml", "case: []\n")
    code, out, err = run(capsys)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        ".sopgate/tests/b.yml:2:5: missing required key 'facts' in cases[0]",
        ".sopgate/tests/b.yml:2:31: cases[0].expect.build: 'dne' is not allowed; allowed: open, "
        "closed, rejected, failed, blocked, waiting, ready, done",
        ".sopgate/tests/c.yml:1:1: missing required key 'cases'",
        ".sopgate/tests/c.yml:1:1: unknown key 'case' (did you mean 'cases'?); allowed: cases",
        "4 errors",
    ]
