"""Requests and wall time of one GitLab gather against the local stub (50 ms per answer).

    .venv/bin/python bench/gitlab_requests.py

Gathers for ``examples/.sopgate.yml`` and for generated SOPs of 10 and 200 steps, each on
a merge request pipeline with approvals, sign-offs, jobs, statuses, groups and evidence, and
prints requests sent and seconds taken. The request count must not grow with the steps: the
only reads that grow are one per evidence document with ``require`` (every generated step
requires the same one, read once) and one user search per distinct commit e-mail.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sopgate.platforms.gitlab import RetryPolicy, from_env  # noqa: E402
from tests.stubs.gitlab_stub import serve  # noqa: E402
from tests.unit.platforms.gitlab.gitlab_fixtures import (  # noqa: E402
    TOKEN,
    Signoff,
    Situation,
    stub_for,
)

LATENCY = 0.05
EXAMPLE = (ROOT / "examples" / ".sopgate.yml").read_text()


def generated(steps: int) -> str:
    head, _, _ = EXAMPLE.partition("\nsteps:\n")
    body = "".join(
        f"  - id: step-{i}\n    owner: {('sre', 'data-science', 'security')[i % 3]}\n"
        f"    needs: []\n    checks: [check-{i}]\n"
        f"    evidence: [docs/{i}.md, {{path: reports/eval.json, require: {{auc: '>= 0.8'}}}}]\n"
        f"    approvals: [{{role: security}}, {{role: sre, source: signoff}}]\n"
        for i in range(steps)
    )
    return f"{head}\nsteps:\n{body}"


def situation(sop: str) -> Situation:
    return Situation(
        sop_text=sop,
        approvals=[("sec-bob", "2026-11-25T09:00:00.000Z")],
        signoffs=[
            Signoff("rita", f"/sop approve step-{i}", "2026-11-26T08:00:00.000Z")
            for i in range(150)
        ],
        jobs=[(f"job-{i}", "success", "2026-11-26T07:30:00.000Z") for i in range(120)],
        statuses=[("canary-metrics-eu", "success", "2026-11-26T09:30:00.000Z")],
        groups={
            "acme/ds": ["erin"],
            "acme/ml-platform": ["mo"],
            "acme/sre": [f"sre-{i}" for i in range(130)],
        },
        files=[f"docs/{i}.md" for i in range(300)] + ["reports/eval.json"],
        documents={"reports/eval.json": '{"auc": 0.9}'},
    )


def measure(label: str, sop: str) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ".sopgate.yml"
        path.write_text(sop)
        case = situation(sop)
        with serve(stub_for(case, latency=LATENCY, token=TOKEN)) as stub:
            env = {**case.env(stub.url), "CI_PROJECT_DIR": tmp}
            adapter = from_env(env, policy=RetryPolicy(attempts=1))
            start = time.perf_counter()
            facts = adapter.gather(sop_path=str(path)).facts
            seconds = time.perf_counter() - start
            sent = len(stub.requests)
    print(
        f"{label:<28} {sent:>4} requests {seconds:>7.2f} s   "
        f"({len(facts.approvals or ())} approvals, {len(facts.checks or ())} checks, "
        f"{len(facts.files or ())} files)"
    )
    return sent, seconds


def main() -> int:
    print(
        f"one gather against the GitLab stub, {LATENCY * 1000:.0f} ms per answer, "
        f"lists paginated 100 per page"
    )
    measure("examples/.sopgate.yml", EXAMPLE)
    small = measure("generated, 10 steps", generated(10))
    large = measure("generated, 200 steps", generated(200))
    if large[0] != small[0]:
        print(f"FAIL: requests grew from {small[0]} to {large[0]} with the steps")
        return 1
    print(f"requests independent of the number of steps: {small[0]} for 10 and 200 steps")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
