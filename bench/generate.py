"""Generate a large SOP and a matching facts snapshot for the scaling benchmark.

    python bench/generate.py --steps 2000 --entries 20000 --out /tmp/big
writes /tmp/big/sop.yml and /tmp/big/facts.json (and facts.yml with --yaml).
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
REGIONS = ["eu-west", "us-east", "ap-south"]


def sop_text(steps: int) -> str:
    lines = [
        "sopgate: 1",
        f"name: Generated SOP with {steps} steps",
        "scope: {system: bench, environments: [staging, production], "
        f"regions: [{', '.join(REGIONS)}]}}",
        "owners: [platform]",
        "roles:",
        "  platform: {users: [p0, p1, p2], groups: [org/platform]}",
        "  security: {users: [s0, s1, s2, s3]}",
        "  release: {users: [r0, r1], groups: [org/release]}",
        "steps:",
    ]
    for i in range(steps):
        lines.append(f"  - id: step-{i}")
        lines.append(f"    name: Step number {i}")
        lines.append(f"    owner: {('platform', 'security', 'release')[i % 3]}")
        if i % 50 == 0:
            lines.append("    needs: []")
        elif i % 7 == 0:
            lines.append(f"    needs: [step-{i - 1}, step-{max(0, i - 5)}]")
        kind = i % 10
        if kind in (0, 1, 2):
            lines.append(f"    checks: [check-{i}, {{name: 'lint-{i}-*', app: ci}}]")
        if kind in (3, 4):
            lines.append("    approvals: [{role: security, count: 2}]")
            lines.append(f"    evidence: [reports/{i}/*.json]")
        if kind == 5:
            lines.append("    type: decision")
            lines.append("    approvals:")
            lines.append("      - {role: release, source: signoff}")
            lines.append("      - {role: platform, source: signoff}")
        if kind in (6, 7):
            lines.append(f"    jobs: [job-{i}]")
            lines.append("    environment: staging")
            lines.append("    rollback: Redeploy the previous version.")
        if kind == 8:
            lines.append("    for_each: region")
            lines.append("    rollout: sequential")
            lines.append(f"    jobs: ['deploy-{i} ({{region}})']")
            lines.append("    environment: production")
            lines.append("    rollback: Redeploy the previous version in that region.")
            lines.append(
                "    window: {days: [mon, tue, wed, thu], start: '09:00', "
                "end: '16:00', timezone: Europe/Berlin}"
            )
    return "\n".join(lines) + "\n"


def facts_data(steps: int, entries: int, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 20, tzinfo=UTC)

    def at(offset: int) -> str:
        return (start + timedelta(seconds=offset)).isoformat().replace("+00:00", "Z")

    approvals: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    users = [f"s{i}" for i in range(4)] + ["r0", "r1", "p0", "p1", "x-bot[bot]"]
    n = 0
    while len(approvals) + len(checks) < entries:
        i = rng.randrange(steps)
        n += 1
        if n % 4 == 0:
            source = "signoff" if i % 10 == 5 else "review"
            approvals.append(
                {
                    "user": rng.choice(users),
                    "source": source,
                    "step": f"step-{i}" if source == "signoff" else None,
                    "state": rng.choice(["approved"] * 8 + ["rejected", "dismissed"]),
                    "sha": SHA if rng.random() < 0.9 else "0" * 40,
                    "at": at(n),
                }
            )
        else:
            name = rng.choice(
                [
                    f"check-{i}",
                    f"lint-{i}-{rng.randrange(3)}",
                    f"job-{i}",
                    f"deploy-{i} ({rng.choice(REGIONS)})",
                ]
            )
            checks.append(
                {
                    "name": name,
                    "app": rng.choice(["ci", "ci", "ci", "status"]),
                    "state": rng.choice(["success"] * 8 + ["failure", "pending"]),
                    "at": at(n),
                }
            )
    return {
        "facts": 1,
        "platform": "local",
        "repository": "bench/bench",
        "commit": SHA,
        "observed_at": "2026-11-26T10:00:00Z",
        "approvals": approvals,
        "checks": checks,
        "files": [f"reports/{i}/result.json" for i in range(0, steps, 2)],
        "groups": {"org/platform": ["p3", "p4"], "org/release": ["r2"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--yaml", action="store_true", help="also write facts.yml")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sop.yml").write_text(sop_text(args.steps))
    data = facts_data(args.steps, args.entries)
    (args.out / "facts.json").write_text(json.dumps(data))
    if args.yaml:
        import yaml

        (args.out / "facts.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    print(
        f"wrote {args.out}/sop.yml ({args.steps} steps) and facts "
        f"({len(data['approvals']) + len(data['checks'])} entries)"
    )


if __name__ == "__main__":
    main()
