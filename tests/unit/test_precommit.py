"""The pre-commit hooks of .pre-commit-hooks.yaml, run by pre-commit itself through
``pre-commit try-repo`` against a temporary repository (pre-commit installs this checkout
into a virtualenv of its own; its dependencies come from the package index)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sopgate.cli import main

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pre_commit") is None,
    reason="pre-commit is not installed (it is a dev dependency: pip install -e '.[dev]')",
)


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(PRE_COMMIT_HOME=str(home), SKIP="", NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "--all-files", "--color=never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_hooks_are_declared() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [hook["id"] for hook in hooks] == ["sopgate-validate", "sopgate-test"]
    assert [hook["entry"] for hook in hooks] == ["sopgate validate", "sopgate test"]
    assert all(hook["language"] == "python" and not hook["pass_filenames"] for hook in hooks)


def test_try_repo_passes_then_catches_a_failing_gate_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("try-repo needs this checkout to be a git repository")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    monkeypatch.chdir(repo)
    assert main(["init", "--template", "startup"]) == 0
    capsys.readouterr()
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "SOP")

    passed = try_repo(repo, tmp_path / "pre-commit-home")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    lines = passed.stdout.splitlines()
    assert any(line.startswith("sopgate validate.") and line.endswith("Passed") for line in lines)
    assert any(line.startswith("sopgate test.") and line.endswith("Passed") for line in lines)

    tests = repo / ".sopgate" / "tests" / "startup.yml"
    text = tests.read_text(encoding="utf-8")
    tests.write_text(text.replace("production: blocked", "production: open", 1), encoding="utf-8")
    git(repo, "commit", "-qam", "a wrong expectation")
    failed = try_repo(repo, tmp_path / "pre-commit-home")
    assert failed.returncode == 1
    assert any(
        line.startswith("sopgate validate.") and line.endswith("Passed")
        for line in (failed.stdout.splitlines())
    )
    assert "FAIL  .sopgate/tests/startup.yml:6: nothing has run yet, so production is blocked" in (
        failed.stdout
    )
    assert "production: expected open, got closed (blocked)" in failed.stdout
