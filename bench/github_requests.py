"""Requests and wall time of one GitHub gather, against the local stub with 50 ms latency.

    .venv/bin/python bench/github_requests.py

Shows that the request count depends on the teams the SOP names, not on its steps: the
example SOP, then generated SOPs of 10 and 200 steps, then a second (conditional) gather.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "stubs")]

from github_stub import GitHubState, GitHubStub  # type: ignore[import-not-found]  # noqa: E402

from sopgate.platforms.github import from_env  # noqa: E402

HEAD = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
EXAMPLE = ROOT / "examples" / ".sopgate.yml"
FALLBACK = ROOT / "tests" / "unit" / "platforms" / "github" / "fixtures" / "sopgate.yml"


def generated(steps: int) -> str:
    lines = [
        "sopgate: 1",
        f"name: {steps} steps",
        "roles:",
        "  ds: {groups: [acme/ds]}",
        "  sre: {groups: [acme/sre]}",
        "  ml: {groups: [acme/ml-platform]}",
        "steps:",
    ]
    for i in range(steps):
        lines += [
            f"  - id: step-{i}",
            f"    owner: {('ds', 'sre', 'ml')[i % 3]}",
            f"    checks: [check-{i}]",
            f"    evidence: [reports/step-{i}.json]",
            "    approvals: [{role: sre, source: signoff}, {role: ml}]",
        ]
    return "\n".join(lines) + "\n"


def measure(label: str, sop: str, workdir: Path) -> None:
    state = GitHubState(
        latency=0.05,
        files={".sopgate.yml": sop, "docs/model-card.md": "x"},
        teams={"acme/ds": ["erin"], "acme/sre": ["alice", "bob"], "acme/ml-platform": ["mona"]},
    )
    (workdir / ".sopgate.yml").write_text(sop)
    event = workdir / "event.json"
    event.write_text(
        json.dumps(
            {
                "pull_request": {
                    "number": 42,
                    "head": {"sha": HEAD},
                    "base": {"ref": "main"},
                    "user": {"login": "dave"},
                    "html_url": "https://github.invalid/pull/42",
                }
            }
        )
    )
    with GitHubStub(state) as stub:
        adapter = from_env(
            {
                "GITHUB_API_URL": stub.url,
                "GITHUB_REPOSITORY": state.repository,
                "GITHUB_EVENT_NAME": "pull_request",
                "GITHUB_EVENT_PATH": str(event),
                "GITHUB_SHA": HEAD,
                "GITHUB_TOKEN": "bench",
                "GITHUB_WORKSPACE": str(workdir),
            }
        )
        started = time.perf_counter()
        adapter.gather(sop_path=str(workdir / ".sopgate.yml"))
        first = time.perf_counter() - started
        count = len(state.requests)
        started = time.perf_counter()
        adapter.gather(sop_path=str(workdir / ".sopgate.yml"))
        again = time.perf_counter() - started
        not_modified = adapter.api.not_modified
        second = len(state.requests) - count
    print(
        f"{label:<22} {count:>8} {first * 1000:>9.0f} ms {second:>8} "
        f"({not_modified} x 304) {again * 1000:>7.0f} ms"
    )


def main() -> None:
    example = EXAMPLE if EXAMPLE.exists() else FALLBACK
    print(f"{'SOP':<22} {'requests':>8} {'wall':>12} {'re-gather':>8} {'':>12} {'wall':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        measure(f"example ({example.name})", example.read_text(), workdir)
        for steps in (10, 200):
            measure(f"{steps} steps", generated(steps), workdir)


if __name__ == "__main__":
    main()
