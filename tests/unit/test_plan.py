"""The plan: region instances, rollout waves, instance needs and per-instance resolution."""

from __future__ import annotations

import yaml

from sopgate.sop.model import Freeze, Sop
from sopgate.sop.plan import Plan, build_plan, split_instance

GLOBAL = """\
sopgate: 1
name: Global release
scope:
  system: s
  environments: [staging, production]
  regions:
    - {id: eu-west, timezone: Europe/Dublin}
    - {id: us-east, timezone: America/New_York}
    - {id: us-west, timezone: America/Los_Angeles}
    - ap-south
roles:
  sre: {users: [bob]}
  approvers-eu-west: {users: [eve]}
  approvers-us-east: {users: [uma]}
  approvers-us-west: {users: [wes]}
  approvers-ap-south: {users: [asha]}
steps:
  - id: build
    owner: sre
    jobs: [build]
  - id: canary
    owner: sre
    environment: staging
    for_each: region
    jobs: ["canary ({region})"]
    rollback: roll back
  - id: production
    owner: sre
    environment: production
    for_each: region
    needs: [canary]
    rollout: [[eu-west], [us-east, us-west], [ap-south]]
    approvals: [{role: "approvers-{region}", source: signoff}]
    window: {days: [mon, tue, wed, thu], start: "09:00", end: "16:00", timezone: region}
    jobs: ["deploy ({region})"]
    rollback: roll back
  - id: watch
    owner: sre
    needs: [production]
"""


def plan(text: str = GLOBAL) -> Plan:
    """The plan of a SOP model (validation is tested on its own: ap-south has no time zone)."""
    return build_plan(Sop.model_validate(yaml.safe_load(text)))


def needs(the_plan: Plan) -> dict[str, tuple[str, ...]]:
    return {node.key: node.needs for node in the_plan.nodes}


def test_waves_need_every_instance_of_the_previous_wave_and_run_in_parallel_within() -> None:
    found = needs(plan())
    assert found["production[eu-west]"] == ("canary[eu-west]",)
    assert found["production[us-east]"] == ("canary[us-east]", "production[eu-west]")
    assert found["production[us-west]"] == ("canary[us-west]", "production[eu-west]")
    assert found["production[ap-south]"] == (
        "canary[ap-south]",
        "production[us-east]",
        "production[us-west]",
    )
    assert found["watch"] == tuple(
        f"production[{r}]" for r in ("eu-west", "us-east", "us-west", "ap-south")
    )
    groups = [[n.key for n in g] for g in plan().groups]
    assert ["production[us-east]", "production[us-west]"] in groups


def test_waves_order_the_instances_and_scope_order_breaks_ties() -> None:
    text = GLOBAL.replace(
        "[[eu-west], [us-east, us-west], [ap-south]]", "[[ap-south], [us-west, us-east, eu-west]]"
    )
    the_plan = plan(text)
    assert the_plan.instances["production"] == (
        "production[ap-south]",
        "production[eu-west]",
        "production[us-east]",
        "production[us-west]",
    )
    assert needs(the_plan)["production[eu-west]"] == ("canary[eu-west]", "production[ap-south]")


def test_sequential_and_parallel_rollouts_keep_their_meaning() -> None:
    sequential = needs(
        plan(GLOBAL.replace("[[eu-west], [us-east, us-west], [ap-south]]", "sequential"))
    )
    assert sequential["production[us-west]"] == ("canary[us-west]", "production[us-east]")
    parallel = needs(
        plan(GLOBAL.replace("[[eu-west], [us-east, us-west], [ap-south]]", "parallel"))
    )
    assert parallel["production[us-west]"] == ("canary[us-west]",)


def test_a_need_may_name_one_instance() -> None:
    text = GLOBAL.replace("    needs: [production]\n", '    needs: ["canary[us-east]", build]\n')
    assert needs(plan(text))["watch"] == ("canary[us-east]", "build")
    text = GLOBAL.replace("    needs: [canary]\n", '    needs: ["canary[us-east]"]\n')
    found = needs(plan(text))
    assert found["production[eu-west]"] == ("canary[us-east]",)
    assert found["production[ap-south]"] == (
        "canary[us-east]",
        "production[us-east]",
        "production[us-west]",
    )


def test_split_instance() -> None:
    assert split_instance("canary[us-east]") == ("canary", "us-east")
    assert split_instance("canary") == ("canary", None)
    assert split_instance("canary[") == ("canary[", None)


def test_region_roles_and_time_zones_resolve_per_instance() -> None:
    by_key = plan().by_key
    rule = by_key["production[us-east]"].step.approvals[0]
    assert by_key["production[us-east]"].role(rule) == "approvers-us-east"
    assert by_key["production[ap-south]"].role(rule) == "approvers-ap-south"
    node = by_key["production[us-west]"]
    window = node.step.window
    assert window is not None
    assert node.timezone(window) == "America/Los_Angeles"
    assert node.window is not None
    assert node.window.timezone == "America/Los_Angeles"
    assert node.window.start == "09:00"
    # A region without a time zone resolves to no IANA name: the evaluator's lookup fails.
    assert by_key["production[ap-south]"].timezone(window) == "region"


def test_a_named_time_zone_is_kept() -> None:
    node = plan(GLOBAL.replace("timezone: region}", "timezone: Europe/Berlin}")).by_key[
        "production[us-east]"
    ]
    assert node.window is not None
    assert node.window.timezone == "Europe/Berlin"
    assert node.timezone(node.window) == "Europe/Berlin"


def test_freeze_scope() -> None:
    by_key = plan().by_key

    def hits(**scope: object) -> list[str]:
        freeze = Freeze.model_validate({"from": "2026-12-20", "to": "2027-01-04", **scope})
        return [key for key, node in by_key.items() if node.frozen_by(freeze)]

    canaries = [f"canary[{r}]" for r in ("eu-west", "us-east", "us-west", "ap-south")]
    productions = [f"production[{r}]" for r in ("eu-west", "us-east", "us-west", "ap-south")]
    assert hits() == canaries + productions
    assert hits(environments=["production"]) == productions
    assert hits(regions=["us-east"]) == ["canary[us-east]", "production[us-east]"]
    assert hits(environments=["production"], regions=["us-east", "ap-south"]) == [
        "production[us-east]",
        "production[ap-south]",
    ]
