"""What waiting for a gate costs: ``check --wait`` beside fail-fast gates with ``sopgate
sync`` re-runs, for one release (a simulation; its assumptions are printed with it).

    .venv/bin/python bench/waiting.py
    .venv/bin/python bench/waiting.py --decision-hours 4 --interval 60 --events 12

The release has five gates in a row. Four open after a short wait for checks; the go/no-go
waits for people (``--decision-hours``). Per gather sopgate sends a fixed number of
requests (``--requests-per-gather``, 14 on GitHub for the example: bench/github_requests.py);
publishing adds a comment lookup and write and a status. A job costs its wait plus a fixed
overhead (runner start, setup, install from the cache).

- ``--wait``: each gate job polls every ``--interval`` seconds until its gate opens, holding a
  runner the whole time.
- fail-fast + sync: a closed gate fails its job at once; each event that changes the facts
  (a review, a ``/sop`` comment, a finished check: ``--events`` per release) starts a short
  sync run (one gather, the summary, one status per step, at most one re-run request), and
  each gate that opens is re-run once (one more short gate job).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True)
class Assumptions:
    gates: int
    short_wait_minutes: float
    decision_hours: float
    interval_seconds: float
    requests_per_gather: int
    publish_requests: int
    job_overhead_seconds: float
    events: int
    steps: int


@dataclass(frozen=True)
class Cost:
    runner_minutes: float
    requests: int
    jobs: int


def with_wait(a: Assumptions) -> Cost:
    waits = [a.short_wait_minutes * 60] * (a.gates - 1) + [a.decision_hours * 3600]
    polls = sum(int(w // a.interval_seconds) + 1 for w in waits)
    seconds = sum(waits) + a.gates * a.job_overhead_seconds
    requests = polls * a.requests_per_gather + a.gates * a.publish_requests
    return Cost(seconds / 60, requests, a.gates)


def fail_fast(a: Assumptions) -> Cost:
    # every gate runs once closed (fails at once) and once more when sync re-runs it
    gate_jobs = 2 * a.gates
    sync_jobs = a.events
    gate_requests = gate_jobs * (a.requests_per_gather + a.publish_requests)
    sync_requests = a.events * (a.requests_per_gather + 2 + a.steps) + a.gates  # + re-runs
    seconds = (gate_jobs + sync_jobs) * a.job_overhead_seconds
    return Cost(seconds / 60, gate_requests + sync_requests, gate_jobs + sync_jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gates", type=int, default=5)
    parser.add_argument("--short-wait-minutes", type=float, default=10.0)
    parser.add_argument("--decision-hours", type=float, default=4.0)
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument(
        "--requests-per-gather", type=int, default=14, help="as bench/github_requests.py counts"
    )
    parser.add_argument("--publish-requests", type=int, default=3)
    parser.add_argument("--job-overhead", type=float, default=20.0, help="seconds per job")
    parser.add_argument("--events", type=int, default=12, help="reviews, comments, checks")
    parser.add_argument("--steps", type=int, default=10, help="statuses a sync run sets")
    args = parser.parse_args()
    a = Assumptions(
        gates=args.gates,
        short_wait_minutes=args.short_wait_minutes,
        decision_hours=args.decision_hours,
        interval_seconds=args.interval,
        requests_per_gather=args.requests_per_gather,
        publish_requests=args.publish_requests,
        job_overhead_seconds=args.job_overhead,
        events=args.events,
        steps=args.steps,
    )
    print("assumptions:")
    for name, value in vars(a).items():
        print(f"  {name} = {value}")
    waiting, fast = with_wait(a), fail_fast(a)
    print(f"{'model':<22}{'runner minutes':>16}{'API requests':>14}{'jobs':>6}")
    for name, cost in (("--wait", waiting), ("fail-fast + sync", fast)):
        print(f"{name:<22}{cost.runner_minutes:>16.1f}{cost.requests:>14}{cost.jobs:>6}")
    print(
        f"fail-fast + sync uses {waiting.runner_minutes / fast.runner_minutes:.0f}x fewer "
        f"runner minutes and {waiting.requests / max(fast.requests, 1):.1f}x fewer requests"
    )
    print(
        "--wait still fits a short wait for checks that finish within minutes (no event "
        "round trip), never a wait for people."
    )


if __name__ == "__main__":
    main()
