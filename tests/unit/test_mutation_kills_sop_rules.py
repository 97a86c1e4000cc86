"""Tests written from the mutants of sopgate/sop/rules.py and rules_additions.py that survived
(docs/mutation.md): each error the SOP check must still report, with its exact text."""

from __future__ import annotations

import pytest

from tests.unit.test_sop_additions import BASE, errors

_STEP_WITHOUT_ID = (
    "  - owner: sre\n    environment: production\n    for_each: region\n    rollback: r\n"
    "    rollout: [[eu-west]]\n"
)
_US_EAST = "{id: us-east, timezone: America/New_York}"
_REGION_WINDOW = "    window: {days: [mon], start: '09:00', end: '17:00', timezone: region}\n"


@pytest.mark.parametrize(
    ("case", "text", "expected"),
    [
        (
            "a step without id is named by its position",
            BASE + _STEP_WITHOUT_ID,
            [
                "s.yml:25:5: missing required key 'id' in steps[2]",
                "s.yml:29:14: the rollout of step '#3' leaves out regions us-east, ap-south; "
                "put every region of scope.regions in exactly one wave",
            ],
        ),
        (
            "a region role after a plain role is still expanded",
            BASE + "    approvals: [{role: sre}, {role: 'approvers-{region}'}]\n",
            [
                "s.yml:25:37: approvals of step 'production' expand to role "
                "'approvers-ap-south' for instance production[ap-south], which is not defined; "
                "roles: sre, approvers-eu-west, approvers-us-east"
            ],
        ),
        (
            "an instance need after a plain need is still checked",
            BASE + "    needs: [canary, 'canary[mars]']\n",
            [
                "s.yml:25:21: unknown region 'mars' in 'canary[mars]' (needs of step "
                "'production'); regions: eu-west, us-east, ap-south"
            ],
        ),
        (
            "a freeze after a malformed one is still checked",
            BASE
            + "freezes:\n  - not-a-freeze\n"
            + "  - {from: 2026-12-20, to: 2026-12-27, environments: [prod]}\n",
            [
                "s.yml:26:5: freezes[0]: expected a mapping, got 'not-a-freeze'",
                "s.yml:27:55: unknown environment 'prod' in freezes[1].environments; "
                "environments: staging, production",
            ],
        ),
        (
            "a region whose timezone is no string has no timezone",
            BASE.replace(_US_EAST, "{id: us-east, timezone: 5}") + _REGION_WINDOW,
            [
                "s.yml:8:31: scope.regions[1].timezone: expected a string, got 5",
                "s.yml:25:67: the window of step 'production' uses timezone: region, but region "
                "'ap-south' has no timezone; write it as {id: ap-south, timezone: AREA/CITY} in "
                "scope.regions",
                "s.yml:25:67: the window of step 'production' uses timezone: region, but region "
                "'us-east' has no timezone; write it as {id: us-east, timezone: AREA/CITY} in "
                "scope.regions",
            ],
        ),
        (
            "a query error that ends in a colon loses it",
            BASE + "    evidence: [{path: r.json, require: {'metrics[': '>= 0.8'}}]\n",
            [
                "s.yml:25:41: 'metrics[' is not a valid JMESPath query (Invalid jmespath "
                "expression: Incomplete expression); write a query such as metrics.auc or "
                "results[0].score"
            ],
        ),
        (
            "an empty query is reported once, by the model",
            BASE + "    evidence: [{path: r.json, require: {'': '>= 0.8'}}]\n",
            ["s.yml:25:45: steps[1].evidence[0].require['']: must not be empty"],
        ),
    ],
)
def test_sop_errors_that_survived_mutation(case: str, text: str, expected: list[str]) -> None:
    assert sorted(errors(text)) == sorted(expected), case


_NO_ENVIRONMENTS = (
    BASE.replace("  environments: [staging, production]\n", "")
    .replace("    environment: staging\n", "")
    .replace("    environment: production\n", "")
)


@pytest.mark.parametrize(
    ("case", "text", "expected"),
    [
        (
            "a duplicate after a step whose id is no string",
            BASE + "  - {id: 5, owner: sre}\n  - {id: canary, owner: sre}\n",
            [
                "s.yml:25:10: steps[2].id: expected a string, got 5",
                "s.yml:26:10: duplicate step id 'canary' (first used at line 15)",
            ],
        ),
        (
            "a duplicate names the line of the first id, not of its step",
            BASE + "  - owner: sre\n    id: watch\n  - id: watch\n    owner: sre\n",
            ["s.yml:27:9: duplicate step id 'watch' (first used at line 26)"],
        ),
        (
            "a step without id: named by position, and its position is no step",
            BASE + "  - owner: nobody\n    needs: ['#3']\n",
            [
                "s.yml:25:5: missing required key 'id' in steps[2]",
                "s.yml:25:12: unknown role 'nobody' in owner of step '#3'; roles: sre, "
                "approvers-eu-west, approvers-us-east",
                "s.yml:26:13: unknown step '#3' in needs of step '#3'; steps: canary, production",
            ],
        ),
        (
            "separate_from takes no instance",
            BASE + "    separate_from: ['canary[eu-west]']\n",
            [
                "s.yml:25:21: unknown step 'canary[eu-west]' in separate_from of step "
                "'production'; steps: canary, production"
            ],
        ),
        (
            "separate from itself",
            BASE + "    separate_from: [production]\n",
            ["s.yml:25:21: step 'production' cannot be separate from itself"],
        ),
        (
            "an unknown environment lists the known ones",
            BASE + "  - {id: watch, owner: sre, environment: prod}\n",
            [
                "s.yml:25:42: unknown environment 'prod' for step 'watch'; environments: "
                "staging, production"
            ],
        ),
        (
            "an unknown environment when there are none",
            _NO_ENVIRONMENTS + "  - {id: watch, owner: sre, environment: prod}\n",
            [
                "s.yml:22:42: unknown environment 'prod' for step 'watch'; environments: none "
                "(add scope.environments)"
            ],
        ),
        (
            "a window ending at midnight without a start never opens",
            BASE + "  - {id: watch, owner: sre, window: {days: [mon], end: '00:00'}}\n",
            ["s.yml:25:56: window start and end are equal: it would never open"],
        ),
        (
            "a freeze's time zone is checked",
            BASE + "freezes:\n  - {from: 2026-12-20, to: 2026-12-27, timezone: Mars/Base}\n",
            [
                "s.yml:26:50: unknown time zone 'Mars/Base'; use an IANA name such as "
                "Europe/Berlin or UTC"
            ],
        ),
        (
            "a check without a name is only the model's error",
            BASE + "  - {id: watch, owner: sre, checks: [{app: x}]}\n",
            ["s.yml:25:38: missing required key 'name' in steps[2].checks[0]"],
        ),
    ],
)
def test_sop_reference_errors_that_survived_mutation(
    case: str, text: str, expected: list[str]
) -> None:
    assert sorted(errors(text)) == sorted(expected), case


def test_a_plain_unknown_role_of_a_regional_step_is_named_once_not_expanded() -> None:
    # Only roles that hold {region} are expanded per region; a plain one is checked once.
    assert errors(BASE + "    approvals: [{role: nope}]\n") == [
        "s.yml:25:24: unknown role 'nope' in approvals of step 'production'; roles: sre, "
        "approvers-eu-west, approvers-us-east"
    ]


def test_an_approval_rule_of_a_regional_step_that_is_no_mapping_is_an_error() -> None:
    assert errors(BASE + "    approvals: [lead]\n") == [
        "s.yml:25:17: steps[1].approvals[0]: expected a mapping, got 'lead'"
    ]
