"""The GitLab CI template end to end: a pipeline that includes it and ``extends: .sopgate``,
run by ``gitlab-ci-local`` (shell executor) against the GitLab stub on 127.0.0.1.

gitlab-ci-local 4.73.0 (tests/node, installed by :func:`tests.tools.node_tools`; Node 20) and
rsync (``apt-get install rsync``, done by .ci/run); the test skips, saying so, without npm or
rsync.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sopgate import __version__
from tests.stubs.gitlab_stub import GitLabStub, serve
from tests.tools import node_tools
from tests.unit.platforms.gitlab.gitlab_fixtures import TOKEN, Situation, stub_for

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "gitlab"
TIMEOUT = 300

pytestmark = pytest.mark.e2e


def _tool() -> str:
    if not shutil.which("rsync"):
        pytest.skip("rsync is not installed (apt-get install rsync); gitlab-ci-local needs it")
    return os.environ.get("GITLAB_CI_LOCAL") or str(node_tools() / ".bin" / "gitlab-ci-local")


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def _wheel(into: Path) -> Path:
    """A wheel of the checkout, made without the network or build tools: the template then
    pip-installs it exactly as it would install sopgate from an index."""
    name = f"sopgate-{__version__}"
    path = into / f"{name}-py3-none-any.whl"
    info = f"{name}.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        for source in sorted((ROOT / "sopgate").rglob("*.py")):
            wheel.write(source, source.relative_to(ROOT).as_posix())
        wheel.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: sopgate\nVersion: {__version__}\n"
        )
        wheel.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(
            f"{info}/entry_points.txt", "[console_scripts]\nsopgate = sopgate.cli:main\n"
        )
        wheel.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A throwaway git project: the fixture pipeline, the template, the example SOP."""
    work = tmp_path / "project"
    shutil.copytree(FIXTURE, work)
    shutil.copy(ROOT / ".gitlab-ci-template.yml", work / ".gitlab-ci-template.yml")
    shutil.copy(ROOT / "examples" / ".sopgate.yml", work / ".sopgate.yml")
    (work / "reports" / "data").mkdir(parents=True)
    (work / "reports" / "data" / "rows.json").write_text("{}\n")
    _git(work, "init", "-q", "-b", "feature")
    _git(work, "remote", "add", "origin", "https://gitlab.example.com/acme/fraud-model.git")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "pipeline under test")
    _wheel(tmp_path)
    yield work, _git(work, "rev-parse", "HEAD")


def _run(
    tool: str, work: Path, stub: GitLabStub, job: str, sha: str
) -> subprocess.CompletedProcess[str]:
    variables = {
        "CI_API_V4_URL": f"{stub.url}/api/v4",
        "CI_SERVER_URL": stub.url,
        "CI_PROJECT_ID": "7",
        "CI_PROJECT_PATH": "acme/fraud-model",
        "CI_COMMIT_SHA": sha,
        "CI_PIPELINE_ID": "99",
        "CI_MERGE_REQUEST_IID": "42",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "GITLAB_USER_LOGIN": "ian",
        "GITLAB_TOKEN": TOKEN,
        # A wheel of the checkout, installed without the network: its dependencies are
        # already in the interpreter that runs the tests.
        "SOPGATE_PYTHON": sys.executable,
        "SOPGATE_PACKAGE": str(next(work.parent.glob("sopgate-*.whl"))),
        "SOPGATE_PIP_ARGS": "--no-index --no-deps",
        "SOPGATE_INSTALL": "true",  # the python has sopgate: install the wheel all the same
        "SOPGATE_INSTALLER": "uv",  # uv cannot be had with --no-index: exercises the fallback
    }
    args = [
        tool,
        job,
        "--force-shell-executor",
        "--ignore-predefined-vars",
        ",".join(variables),
        "--home",
        str(work / ".home"),
        "--artifacts-to-source",
    ]
    for name, value in variables.items():
        args += ["--variable", f"{name}={value}"]
    env = {**os.environ, "HOME": str(work / ".home"), "NO_COLOR": "1", "FORCE_COLOR": "0"}
    return subprocess.run(
        args, cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def test_a_closed_gate_fails_the_job_and_publishes(project: tuple[Path, str]) -> None:
    tool = _tool()
    work, sha = project
    situation = Situation(commit=sha, sop_text=(work / ".sopgate.yml").read_text())
    with serve(stub_for(situation, token=TOKEN)) as stub:
        result = _run(tool, work, stub, "gate-staging", sha)
    log = result.stdout + result.stderr
    assert result.returncode != 0, log
    assert TOKEN not in log
    assert (work / "sopgate.env").exists(), log
    assert (work / "sopgate.env").read_text() == (
        "SOPGATE_DECISION=closed\nSOPGATE_STATE=blocked\nSOPGATE_STEP=staging\n"
        "SOPGATE_EMERGENCY=false\n"
    )
    junit = (work / "sopgate-junit.xml").read_text()
    assert "<testsuite" in junit and 'name="staging"' in junit
    [note] = stub.notes("7", 42)
    assert note["body"].startswith("<!-- sopgate -->\n")
    [status] = stub.posted_statuses
    assert status["name"] == "sopgate/staging"
    assert status["status"] == "failed"
    assert status["sha"] == sha
    assert status["pipeline_id"] == 99
    assert all(r.headers.get("PRIVATE-TOKEN") == TOKEN for r in stub.requests)


def test_an_open_gate_passes_and_updates_the_same_note(project: tuple[Path, str]) -> None:
    tool = _tool()
    work, sha = project
    situation = Situation(
        commit=sha,
        sop_text=(work / ".sopgate.yml").read_text(),
        jobs=[("data-validation", "success", "2026-11-26T07:00:00.000Z")],
        files=["reports/data/rows.json"],
    )
    stub = stub_for(situation, token=TOKEN)
    with serve(stub):
        first = _run(tool, work, stub, "gate-data-readiness", sha)
        second = _run(tool, work, stub, "gate-data-readiness", sha)
    for result in (first, second):
        assert result.returncode == 0, result.stdout + result.stderr
    assert yaml.safe_load((work / "sopgate.env").read_text().replace("=", ": ")) == {
        "SOPGATE_DECISION": "open",
        "SOPGATE_STATE": "done",
        "SOPGATE_STEP": "data-readiness",
        "SOPGATE_EMERGENCY": False,
    }
    assert len(stub.notes("7", 42)) == 1  # sticky: updated in place, not added twice
    assert [s["status"] for s in stub.posted_statuses] == ["success", "success"]


CHAIN_SOP = """\
sopgate: 1
name: Chain
roles:
  data-science: {users: [alice]}
steps:
  - id: data-readiness
    owner: data-science
    needs: []
    checks: [data-validation]
  - id: model-validation
    owner: data-science
    checks: [model-eval]
"""


def test_the_second_gate_names_the_first_gates_record_and_the_audit_follows_the_chain(
    project: tuple[Path, str], tmp_path: Path
) -> None:
    """The record chain over GitLab, end to end: the first gate's commit status names its
    record, the stub lists that status back as GitLab does, and the next gate's record names
    it in ``needs_records``; ``sopgate audit`` of the two records finds the chain whole."""
    tool = _tool()
    work, sha = project
    situation = Situation(
        commit=sha,
        sop_text=CHAIN_SOP,
        jobs=[
            ("data-validation", "success", "2026-11-26T07:00:00.000Z"),
            ("model-eval", "success", "2026-11-26T07:10:00.000Z"),
        ],
    )
    stub = stub_for(situation, token=TOKEN)
    records = tmp_path / "records"
    with serve(stub):
        first = _run(tool, work, stub, "gate-data-readiness", sha)
        assert first.returncode == 0, first.stdout + first.stderr
        (records / "data-readiness").mkdir(parents=True)
        first_record = work / "sopgate-report" / "sopgate-report.json"
        shutil.copy(first_record, records / "data-readiness")
        digest = json.loads(first_record.read_text())["report_digest"]
        [status] = stub.posted_statuses
        assert status["name"] == "sopgate/data-readiness"
        assert status["target_url"].endswith(f"#sopgate-record=sha256:{digest}")

        second = _run(tool, work, stub, "gate-model-validation", sha)
        assert second.returncode == 0, second.stdout + second.stderr
    (records / "model-validation").mkdir()
    second_record = work / "sopgate-report" / "sopgate-report.json"
    shutil.copy(second_record, records / "model-validation")
    assert json.loads(second_record.read_text())["needs_records"] == {"data-readiness": digest}
    assert TOKEN not in first.stdout + first.stderr + second.stdout + second.stderr

    audit = subprocess.run(
        [sys.executable, "-m", "sopgate", "audit", str(records), "-o", str(tmp_path / "dossier")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    dossier = json.loads((tmp_path / "dossier" / "dossier.json").read_text())
    assert dossier["findings"] == []
    assert dossier["notes"] == []
