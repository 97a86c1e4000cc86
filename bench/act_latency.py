"""Job start to decision for the GitHub Action under ``act``, cold and warm (printed, never
asserted: the machine is shared).

    .venv/bin/python bench/act_latency.py              # 3 cold and 3 warm runs
    .venv/bin/python bench/act_latency.py --runs 5

Each run is one ``act`` job (host mode, ``-P ubuntu-latest=-self-hosted``: no docker) in a
throwaway repository holding the action's sources at its root (``uses: ./``), against the stub
GitHub API of ``tests/stubs/github_stub.py`` on 127.0.0.1, with the action's defaults but
``setup-python: "false"`` (the runner's python3). The job's steps: ``actions/checkout`` (act
copies the working tree), the action, and a step that plays the cache's post-job save.

Timed from act's ``--json`` log, each line stamped as it arrives (act's own timestamps are
whole seconds): from the job's first step to the decision line sopgate prints, and per phase:
the cache restore, setting up uv, the install and the check (sopgate's run, to the decision).

- cold: a new runner HOME (empty uv cache) and nothing in the cache: uv builds the venv and
  downloads every dependency from the package registry (real network: PyPI).
- warm: the cache hit path: the environment saved by an earlier run comes back, nothing is
  installed, sopgate starts from it.

Emulated, because act cannot fetch actions here (no github.com) and this machine has no Actions
cache service; printed with the results:
- ``actions/cache``: a local stand-in with the same inputs and output (``cache-hit``). A hit
  copies a folder saved by an earlier run (same key) into place; the real action downloads and
  untars it from GitHub's cache service, which costs the transfer of the size printed.
- ``astral-sh/setup-uv``: a local stand-in whose output ``uv-path`` is the uv of the dev extras
  (the binary PyPI ships); the real action downloads uv from GitHub's releases (not timed).
- ``actions/setup-python`` is skipped (``setup-python: "false"``); ``actions/upload-artifact``
  (after the decision) is a stand-in that uploads nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "stubs"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from github_stub import GitHubStub  # type: ignore[import-not-found]  # noqa: E402
from test_action_act import (  # type: ignore[import-not-found]  # noqa: E402
    TOKEN,
    _event,
    _git,
    _stub_state,
)

FIXTURE = ROOT / "tests" / "e2e" / "github"
JOB = "deploy-staging"
TIMEOUT = 300  # seconds for one act run; a cold one takes about 10

WORKFLOW = """\
name: latency
on: pull_request
jobs:
  deploy-staging:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - id: gate
        uses: ./
        with:
          setup-python: "false"
      - name: Save the cache (the post-job step of actions/cache)
        if: always()
        run: |
          if [ -f "$BENCH_CACHE/pending" ]; then
            read -r key path < "$BENCH_CACHE/pending"
            rm "$BENCH_CACHE/pending"
            if [ -d "$path" ] && [ ! -d "$BENCH_CACHE/$key" ]; then
              cp -a "$path" "$BENCH_CACHE/$key"
            fi
          fi
"""

CACHE_STAND_IN = """\
name: actions/cache stand-in
description: restores a folder saved by an earlier run under the same key
inputs:
  path: {required: true}
  key: {required: true}
outputs:
  cache-hit:
    value: ${{ steps.restore.outputs.hit }}
runs:
  using: composite
  steps:
    - id: restore
      shell: bash
      env:
        KEY: ${{ inputs.key }}
        WHERE: ${{ inputs.path }}
      run: |
        if [ -d "$BENCH_CACHE/$KEY" ]; then
          rm -rf "$WHERE"
          mkdir -p "$(dirname "$WHERE")"
          cp -a "$BENCH_CACHE/$KEY" "$WHERE"
          echo "hit=true" >> "$GITHUB_OUTPUT"
        else
          echo "$KEY $WHERE" > "$BENCH_CACHE/pending"
          echo "hit=false" >> "$GITHUB_OUTPUT"
        fi
"""

UV_STAND_IN = """\
name: astral-sh/setup-uv stand-in
description: points at the uv of the dev extras
inputs:
  enable-cache: {required: false}
  ignore-empty-workdir: {required: false}
  version: {required: false}
outputs:
  uv-path:
    value: ${{ steps.uv.outputs.path }}
runs:
  using: composite
  steps:
    - id: uv
      shell: bash
      run: echo "path=$BENCH_UV" >> "$GITHUB_OUTPUT"
"""

NOTHING = """\
name: stand-in
description: does nothing
runs:
  using: composite
  steps:
    - run: exit 0
      shell: bash
"""


@dataclass(frozen=True)
class Timing:
    """Seconds from the job's first step: phases and the decision line."""

    total: float
    phases: dict[str, float]
    decision: str
    install: str  # what the install step said: installed with uv, restored from the cache


def _stamp(event: dict[str, Any]) -> float:
    return float(event["at"])


def _repository(repo: Path) -> None:
    repo.mkdir()
    for name in ("action.yml", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / "sopgate", repo / "sopgate", ignore=shutil.ignore_patterns("__py*"))
    shutil.copy(FIXTURE / ".sopgate.yml", repo / ".sopgate.yml")
    shutil.copytree(FIXTURE / "docs", repo / "docs")
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "latency.yml").write_text(WORKFLOW)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "bench")
    _git(repo, "remote", "add", "origin", "https://github.com/acme/fraud-model.git")


def _stand_ins(into: Path) -> list[str]:
    """act's ``--local-repository`` arguments for the external actions of action.yml."""
    texts = {"actions/cache@": CACHE_STAND_IN, "astral-sh/setup-uv@": UV_STAND_IN}
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    args = []
    for step in action["runs"]["steps"]:
        uses = str(step.get("uses", ""))
        if "@" not in uses:
            continue
        text = next((t for prefix, t in texts.items() if uses.startswith(prefix)), NOTHING)
        folder = into / uses.replace("/", "_").replace("@", "_")
        folder.mkdir(parents=True)
        (folder / "action.yml").write_text(text)
        args += ["--local-repository", f"{uses}={folder}"]
    return args


def _timing(events: list[dict[str, Any]], log: str) -> Timing:
    """The phases of the job from act's JSON log lines."""
    job = [e for e in events if e.get("jobID") == JOB]
    start = min(_stamp(e) for e in job if e.get("stepID"))  # the first step starts
    steps: dict[str, list[float]] = {}
    for event in job:
        step = "/".join(event.get("stepID") or [])
        if step:
            steps.setdefault(step, []).append(_stamp(event))
    decision = next(
        (e for e in job if e.get("stepID") == ["gate", "check"] and _says(e, "Decision for ")),
        None,
    )
    how = next(
        (e for e in job if e.get("stepID") == ["gate", "install"] and _says(e, "sopgate: ")),
        None,
    )
    if decision is None or how is None:
        raise SystemExit(f"no decision or no install line in act's log:\n{log[-4000:]}")

    def span(step: str) -> float:
        stamps = steps.get(step, [])
        return max(stamps) - min(stamps) if stamps else 0.0

    check = steps.get("gate/check", [])
    phases = {
        "cache restore": span("gate/cache"),
        "set up uv": span("gate/uv"),
        "install": span("gate/install"),
        "check": _stamp(decision) - min(check) if check else 0.0,
    }
    return Timing(
        _stamp(decision) - start, phases, _plain(decision), _plain(how).removeprefix("sopgate: ")
    )


def _says(event: dict[str, Any], text: str) -> bool:
    return _plain(event).startswith(text)


def _plain(event: dict[str, Any]) -> str:
    """The message without act's indentation and the terminal's colours."""
    return re.sub(r"\x1b\[[0-9;]*m", "", str(event.get("msg", ""))).strip()


def _act_run(tmp: Path, cache: Path, home: Path, stub_url: str) -> Timing:
    act = Path(sys.executable).parent / "act"
    repo = tmp / "repo"
    event = tmp / "event.json"
    head = _git(repo, "rev-parse", "HEAD")
    event.write_text(json.dumps(_event(head)))
    env = {
        "PATH": f"{tmp / 'bin'}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "LANG": "C.UTF-8",
        "ACT_DISABLE_VERSION_CHECK": "1",
    }
    command = [
        str(act),
        "pull_request",
        "--workflows",
        ".github/workflows/latency.yml",
        "--eventpath",
        str(event),
        "--platform",
        "ubuntu-latest=-self-hosted",
        "--pull=false",
        "--action-offline-mode",
        "--action-cache-path",
        str(tmp / "act-cache"),  # also holds the job's RUNNER_TEMP: one path for every run
        "--no-cache-server",
        "--json",
        *_stand_ins(home / "stand-ins"),
        "--secret",
        f"GITHUB_TOKEN={TOKEN}",
        "--env",
        f"GITHUB_API_URL={stub_url}/api/v3",
        "--env",
        f"BENCH_CACHE={cache}",
        "--env",
        f"BENCH_UV={Path(sys.executable).parent / 'uv'}",
    ]
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):  # this machine's certificates, for uv
        if name in os.environ:
            env[name] = os.environ[name]
    # act's own timestamps are whole seconds: each line is stamped as it arrives instead.
    events: list[dict[str, Any]] = []
    lines: list[str] = []
    process = subprocess.Popen(
        command,
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.startswith("{"):
            events.append({**json.loads(line), "at": time.monotonic()})
    process.wait(timeout=TIMEOUT)
    if os.environ.get("BENCH_ACT_LOG"):
        with open(os.environ["BENCH_ACT_LOG"], "a") as log:
            log.writelines(lines)
    return _timing(events, "".join(lines))


def _bin(into: Path) -> None:
    """The runner's python3: this interpreter (the action makes its venv from it)."""
    into.mkdir()
    (into / "python3").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (into / "python3").chmod(0o755)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    uv = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True, text=True)
    act = subprocess.run(
        [Path(sys.executable).parent / "act", "--version"], capture_output=True, text=True
    )
    print(f"python {sys.version.split()[0]}; {uv.stdout.strip()}; {act.stdout.strip()}")
    cold: list[Timing] = []
    warm: list[Timing] = []
    filled: list[int] = []
    with tempfile.TemporaryDirectory(prefix="sopgate-act-") as where:
        tmp = Path(where)
        _repository(tmp / "repo")
        _bin(tmp / "bin")
        with GitHubStub(_stub_state(tmp / "repo")) as stub:
            cache = tmp / "cache"
            for n in range(runs):
                shutil.rmtree(cache, ignore_errors=True)
                cache.mkdir()
                home = _fresh(tmp, f"cold-{n}")
                cold.append(_act_run(tmp, cache, home, stub.url))
                filled.append(_size(home / ".cache" / "uv"))  # uv's cache began empty here
            saved = [p for p in cache.iterdir() if p.is_dir()]
            size = _size(saved[0]) if saved else 0
            for n in range(runs):
                warm.append(_act_run(tmp, cache, _fresh(tmp, f"warm-{n}"), stub.url))
    for label, timings, expected in (
        ("cold", cold, "installed with uv"),
        ("warm", warm, "environment restored from the cache"),
    ):
        found = {t.install for t in timings}
        if found != {expected}:
            raise SystemExit(f"{label} runs were not what they claim: {sorted(found)}")
        _print(label, timings, expected)
    print(f"decision line: {cold[0].decision}")
    print(
        "cold: each run a new HOME; uv's cache there was empty and held "
        f"{statistics.median(filled) / 1e6:.0f} MB after the install (downloaded from PyPI)"
    )
    print(
        "emulated: actions/cache (a hit copies the saved environment into place, "
        f"{size / 1e6:.0f} MB; the real one downloads and untars it), astral-sh/setup-uv "
        "(the uv of the dev extras; the real one downloads uv), setup-python skipped"
    )


def _fresh(tmp: Path, name: str) -> Path:
    home = tmp / "homes" / name
    home.mkdir(parents=True)
    return home


def _print(label: str, timings: list[Timing], how: str) -> None:
    median = statistics.median
    names = list(timings[0].phases)
    parts = [f"{name} {median([t.phases[name] for t in timings]):.2f}" for name in names]
    total = median([t.total for t in timings])
    each = ", ".join(f"{t.total:.2f}" for t in timings)
    print(f"{label} ({how}): job start to decision {total:.2f} s, median of {each}")
    print(f"  phases (medians, s): {'; '.join(parts)}")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"bench took {time.perf_counter() - started:.0f} s")
