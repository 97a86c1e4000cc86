"""``sopgate plan`` shows the additions: waves, run_by, region roles and time zones,
approval age, require thresholds, scoped freezes and the emergency section."""

from __future__ import annotations

import textwrap

from sopgate.sop.describe import describe_plan
from sopgate.sop.load import parse_sop
from sopgate.sop.plan import build_plan
from tests.unit.helpers import TODAY

SOP = """\
sopgate: 1
name: Global release
scope:
  system: s
  environments: [production]
  regions:
    - {id: eu-west, timezone: Europe/Dublin}
    - {id: us-east, timezone: America/New_York}
    - {id: us-west, timezone: America/Los_Angeles}
roles:
  sre: {users: [bob]}
  release-managers: {users: [rita]}
  approvers-eu-west: {users: [eve]}
  approvers-us-east: {users: [uma]}
  approvers-us-west: {users: [wes]}
steps:
  - id: evaluation
    owner: sre
    evidence:
      - docs/model-card.md
      - path: reports/eval.json
        require: {metrics.auc: ">= 0.82", fairness.max_gap: "<= 0.05"}
  - id: production
    owner: sre
    environment: production
    for_each: region
    rollout: [[eu-west], [us-east, us-west]]
    run_by: [release-managers]
    approvals:
      - {role: "approvers-{region}", source: signoff, max_age: 24h, after: any}
      - {role: release-managers, allow_contributor: true}
    window: {days: [mon, tue], start: "09:00", end: "16:00", timezone: region}
    jobs: ["deploy ({region})"]
    rollback: roll back
freezes:
  - {from: 2026-12-20, to: 2027-01-04, reason: Year end, environments: [production],
     regions: [us-east]}
  - {from: 2027-02-01, to: 2027-02-02}
emergency: {role: release-managers, count: 2, bypass: [window, freeze, approvals]}
"""


def test_plan_shows_the_additions() -> None:
    loaded = parse_sop(textwrap.dedent(SOP), path="s.yml", today=TODAY)
    assert loaded.warnings == ()
    assert describe_plan(build_plan(loaded.sop)) == (
        "Global release: 2 steps, 4 with region instances, 3 groups\n"
        "\n"
        "1.\n"
        "  evaluation - evaluation (owner sre)\n"
        "      evidence: docs/model-card.md, reports/eval.json (metrics.auc >= 0.82, "
        "fairness.max_gap <= 0.05)\n"
        "\n"
        "2.\n"
        "  production[eu-west] - production (owner sre)\n"
        "      needs: evaluation\n"
        "      rollout: wave 1 of 2 (eu-west)\n"
        "      started only by: release-managers\n"
        "      approvals: 1 from approvers-eu-west via signoff, at most 24h old, "
        "any time\n"
        "      approvals: 1 from release-managers, contributors allowed\n"
        "      window: mon, tue 09:00-16:00 Europe/Dublin\n"
        "      environment: production\n"
        "      jobs: deploy (eu-west)\n"
        "\n"
        "3. (in parallel)\n"
        "  production[us-east] - production (owner sre)\n"
        "      needs: evaluation, production[eu-west]\n"
        "      rollout: wave 2 of 2 (us-east, us-west)\n"
        "      started only by: release-managers\n"
        "      approvals: 1 from approvers-us-east via signoff, at most 24h old, "
        "any time\n"
        "      approvals: 1 from release-managers, contributors allowed\n"
        "      window: mon, tue 09:00-16:00 America/New_York\n"
        "      environment: production\n"
        "      jobs: deploy (us-east)\n"
        "  production[us-west] - production (owner sre)\n"
        "      needs: evaluation, production[eu-west]\n"
        "      rollout: wave 2 of 2 (us-east, us-west)\n"
        "      started only by: release-managers\n"
        "      approvals: 1 from approvers-us-west via signoff, at most 24h old, "
        "any time\n"
        "      approvals: 1 from release-managers, contributors allowed\n"
        "      window: mon, tue 09:00-16:00 America/Los_Angeles\n"
        "      environment: production\n"
        "      jobs: deploy (us-west)\n"
        "\n"
        "freeze 2026-12-20 to 2027-01-04 (UTC), environments production, regions us-east: "
        "Year end\n"
        "freeze 2027-02-01 to 2027-02-02 (UTC)\n"
        "\n"
        "emergency: 2 from release-managers may override a gate with /sop emergency STEP "
        "reason, bypassing window, freeze, approvals (never needs, failures or rejections)\n"
    )
