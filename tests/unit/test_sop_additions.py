"""Validation of the format 1 additions: each error at PATH:LINE:COL, with the fix."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sopgate.errors import InputError
from sopgate.sop.load import parse_sop
from sopgate.sop.model import parse_comparison, parse_duration
from tests.unit.helpers import TODAY
from tests.unit.test_sop_fuzz import accepts_or_refuses, mutate, paths, values

# Lines: 6 regions, 7-9 the regions, 11-13 roles, 15 canary, 20 production, 25 appended.
BASE = """\
sopgate: 1
name: t
scope:
  system: s
  environments: [staging, production]
  regions:
    - {id: eu-west, timezone: Europe/Dublin}
    - {id: us-east, timezone: America/New_York}
    - ap-south
roles:
  sre: {users: [bob]}
  approvers-eu-west: {users: [eve]}
  approvers-us-east: {users: [uma]}
steps:
  - id: canary
    owner: sre
    environment: staging
    for_each: region
    rollback: r
  - id: production
    owner: sre
    environment: production
    for_each: region
    rollback: r
"""
ROLES = "roles: sre, approvers-eu-west, approvers-us-east"
REGIONS = "regions: eu-west, us-east, ap-south"
WATCH = "  - id: watch\n    owner: sre\n"  # a plain step at line 25; its fields from line 27


def errors(text: str) -> list[str]:
    with pytest.raises(InputError) as caught:
        parse_sop(textwrap.dedent(text), path="s.yml", today=TODAY)
    return [str(d) for d in caught.value.items]


@pytest.mark.parametrize(
    ("case", "text", "expected"),
    [
        (
            "a region role that is not defined",
            BASE + '    approvals: [{role: "approvers-{region}"}]\n',
            [
                "s.yml:25:24: approvals of step 'production' expand to role "
                "'approvers-ap-south' for instance production[ap-south], which is not defined; "
                f"{ROLES}"
            ],
        ),
        (
            "a region role outside for_each",
            BASE + WATCH + "    approvals: [{role: 'approvers-{region}'}]\n",
            ["s.yml:27:24: '{region}' is only expanded in steps with for_each: region"],
        ),
        (
            "a region check name outside for_each",
            BASE + WATCH + "    checks: ['smoke {region}', {name: 'e2e {region}'}]\n",
            [
                "s.yml:27:14: '{region}' is only expanded in steps with for_each: region",
                "s.yml:27:39: '{region}' is only expanded in steps with for_each: region",
            ],
        ),
        (
            "a region evidence path outside for_each",
            BASE + WATCH + "    evidence: [{path: 'r/{region}.json'}]\n",
            ["s.yml:27:23: '{region}' is only expanded in steps with for_each: region"],
        ),
        (
            "a region in two waves",
            BASE + "    rollout: [[eu-west], [us-east, eu-west], [ap-south]]\n",
            [
                "s.yml:25:36: region 'eu-west' is already in wave 1 of the rollout of step "
                "'production'; put each region in exactly one wave"
            ],
        ),
        (
            "a region in no wave",
            BASE + "    rollout: [[eu-west], [us-east]]\n",
            [
                "s.yml:25:14: the rollout of step 'production' leaves out region ap-south; put "
                "every region of scope.regions in exactly one wave"
            ],
        ),
        (
            "regions in no wave",
            BASE + "    rollout: [[us-east]]\n",
            [
                "s.yml:25:14: the rollout of step 'production' leaves out regions eu-west, "
                "ap-south; put every region of scope.regions in exactly one wave"
            ],
        ),
        (
            "a freeze of an environment when the scope has none",
            BASE.replace("  environments: [staging, production]\n", "")
            .replace("    environment: staging\n", "")
            .replace("    environment: production\n", "")
            + "freezes: [{from: 2026-12-20, to: 2027-01-04, environments: [prod]}]\n",
            [
                "s.yml:22:61: unknown environment 'prod' in freezes[0].environments; "
                "environments: none (add scope.environments)"
            ],
        ),
        (
            "an unknown region in a wave",
            BASE + "    rollout: [[eu-west, us-east, ap-south], [mars]]\n",
            [f"s.yml:25:46: unknown region 'mars' in the rollout of step 'production'; {REGIONS}"],
        ),
        (
            "an empty wave",
            BASE + "    rollout: [[eu-west, us-east, ap-south], []]\n",
            ["s.yml:25:45: wave 2 of step 'production' is empty; remove it"],
        ),
        (
            "waves without for_each",
            BASE + WATCH + "    rollout: [[eu-west]]\n",
            ["s.yml:27:5: step 'watch' has rollout but no for_each"],
        ),
        (
            "a rollout keyword that does not exist",
            BASE + "    rollout: serial\n",
            [
                "s.yml:25:14: steps[1].rollout: 'serial' is not a rollout; allowed: parallel, "
                "sequential, or a list of waves, each a list of region ids, such as "
                "[[eu-west], [us-east, us-west]]"
            ],
        ),
        (
            "one wave written without its brackets",
            BASE + "    rollout: [eu-west, us-east, ap-south]\n",
            [
                "s.yml:25:14: steps[1].rollout: every wave must be a list of region ids: write "
                "waves in order such as [[eu-west], [us-east, us-west]] (not [eu-west, "
                "us-east]), or use parallel or sequential"
            ],
        ),
        (
            "timezone: region where a region has none",
            BASE + "    window: {start: '09:00', end: '16:00', timezone: region}\n",
            [
                "s.yml:25:54: the window of step 'production' uses timezone: region, but region "
                "'ap-south' has no timezone; write it as {id: ap-south, timezone: AREA/CITY} in "
                "scope.regions"
            ],
        ),
        (
            "timezone: region outside for_each",
            BASE + WATCH + "    window: {timezone: region}\n",
            [
                "s.yml:27:24: step 'watch' has timezone: region but no for_each: region; name "
                "an IANA time zone such as Europe/Berlin or UTC"
            ],
        ),
        (
            "a region time zone that is no IANA name",
            BASE.replace("Europe/Dublin", "Europe/Dublni"),
            [
                "s.yml:7:31: unknown time zone 'Europe/Dublni'; use an IANA name such as "
                "Europe/Berlin or UTC"
            ],
        ),
        (
            "a region id used twice",
            BASE.replace("    - ap-south\n", "    - {id: eu-west}\n"),
            ["s.yml:9:12: duplicate region 'eu-west' in scope.regions"],
        ),
        (
            "a region id that would break instance names",
            BASE.replace("    - ap-south\n", "    - 'ap[south]'\n"),
            [
                "s.yml:9:7: scope.regions[2]: 'ap[south]' is not a valid region id: brackets, "
                "braces and surrounding spaces would break names such as production[eu-west]"
            ],
        ),
        (
            "an instance of an unknown step",
            BASE + "    needs: ['canry[eu-west]']\n",
            [
                "s.yml:25:13: unknown step 'canry' in needs of step 'production'; steps: canary, "
                "production"
            ],
        ),
        (
            "an instance of an unknown region",
            BASE + "    needs: ['canary[mars]']\n",
            [
                f"s.yml:25:13: unknown region 'mars' in 'canary[mars]' (needs of step "
                f"'production'); {REGIONS}"
            ],
        ),
        (
            "an instance of a step that runs once",
            BASE + WATCH + "  - id: after\n    owner: sre\n    needs: ['watch[eu-west]']\n",
            [
                "s.yml:29:13: step 'watch' runs once, not per region: write 'watch' instead of "
                "'watch[eu-west]' in needs of step 'after'"
            ],
        ),
        (
            "an instance reference in a cycle",
            BASE.replace(
                "  - id: canary\n", "  - id: canary\n    needs: ['production[eu-west]']\n"
            ),
            ["s.yml:16:13: needs cycle: canary -> production -> canary"],
        ),
        (
            "a malformed max_age",
            BASE + "    approvals: [{role: sre, max_age: 24 hours}]\n",
            [
                "s.yml:25:38: steps[1].approvals[0].max_age: '24 hours' is not a duration such "
                "as 24h or 7d (a number and a unit: w, d, h, m or s)"
            ],
        ),
        (
            "a zero max_age",
            BASE + "    approvals: [{role: sre, max_age: 0h}]\n",
            [
                "s.yml:25:38: steps[1].approvals[0].max_age: '0h' is zero: no approval would "
                "ever count; use a duration such as 24h or 7d"
            ],
        ),
        (
            "an unknown role in run_by",
            BASE + "    run_by: [release-managers]\n",
            [
                f"s.yml:25:14: unknown role 'release-managers' in run_by of step 'production'; "
                f"{ROLES}"
            ],
        ),
        (
            "a require query that is no JMESPath",
            BASE + "    evidence: [{path: r.json, require: {'metrics..auc': '>= 0.8'}}]\n",
            [
                "s.yml:25:41: 'metrics..auc' is not a valid JMESPath query (Expecting: "
                "['quoted_identifier', 'unquoted_identifier', 'lbracket', 'lbrace'], got: dot: "
                'Parse error at column 8, token "." (DOT)); write a query such as metrics.auc '
                "or results[0].score"
            ],
        ),
        (
            "a require value without an operator",
            BASE + "    evidence: [{path: r.json, require: {metrics.auc: '0.82'}}]\n",
            [
                "s.yml:25:54: steps[1].evidence[0].require.metrics.auc: '0.82' is not a "
                "comparison: write OP VALUE with OP one of >=, >, <=, <, ==, != (e.g. '>= 0.82', "
                "'== true')"
            ],
        ),
        (
            "a require value that is a number",
            BASE + "    evidence: [{path: r.json, require: {metrics.auc: 0.82}}]\n",
            [
                "s.yml:25:54: steps[1].evidence[0].require.metrics.auc: 0.82 is not a "
                "comparison: write OP VALUE as a string with OP one of >=, >, <=, <, ==, != "
                "(e.g. '>= 0.82', '== true')"
            ],
        ),
        (
            "a require operator that does not exist",
            BASE + "    evidence: [{path: r.json, require: {metrics.auc: '=> 0.82'}}]\n",
            [
                "s.yml:25:54: steps[1].evidence[0].require.metrics.auc: '=> 0.82' is not a "
                "comparison: write OP VALUE with OP one of >=, >, <=, <, ==, != (e.g. '>= 0.82', "
                "'== true')"
            ],
        ),
        (
            "a require value that is a list",
            BASE + "    evidence: [{path: r.json, require: {tags: '== [a, b]'}}]\n",
            [
                "s.yml:25:47: steps[1].evidence[0].require.tags: '== [a, b]': the value "
                "'[a, b]' is not a number, a boolean or a string; quote a string, as in "
                '== "approved"'
            ],
        ),
        (
            "a number that YAML reads as a string",
            BASE + "    evidence: [{path: r.json, require: {latency: '< 1e3'}}]\n",
            [
                "s.yml:25:50: steps[1].evidence[0].require.latency: '< 1e3': 1e3 is a string in "
                "YAML, not a number; write it as 1000 or 1.0e+3"
            ],
        ),
        (
            "a boolean ordered",
            BASE + "    evidence: [{path: r.json, require: {approved: '>= true'}}]\n",
            [
                "s.yml:25:51: steps[1].evidence[0].require.approved: '>= true': a boolean can "
                "only be compared with == or !="
            ],
        ),
        (
            "a freeze of an unknown environment",
            BASE + "freezes: [{from: 2026-12-20, to: 2027-01-04, environments: [prod]}]\n",
            [
                "s.yml:25:61: unknown environment 'prod' in freezes[0].environments; "
                "environments: staging, production"
            ],
        ),
        (
            "a freeze of an unknown region",
            BASE + "freezes: [{from: 2026-12-20, to: 2027-01-04, regions: [mars]}]\n",
            [f"s.yml:25:56: unknown region 'mars' in freezes[0].regions; {REGIONS}"],
        ),
        (
            "an emergency role that is not defined",
            BASE + "emergency: {role: oncall}\n",
            [f"s.yml:25:19: unknown role 'oncall' in emergency; {ROLES}"],
        ),
        (
            "an emergency that would skip needs",
            BASE + "emergency: {role: sre, bypass: [window, needs]}\n",
            [
                "s.yml:25:41: emergency.bypass[1]: 'needs' is not allowed; allowed: window, "
                "freeze, approvals, checks (an emergency never skips needs, a failed step or a "
                "rejection)"
            ],
        ),
        (
            "an approval 'after' outside its closed set",
            BASE + "    approvals: [{role: sre, after: done}]\n",
            [
                "s.yml:25:36: steps[1].approvals[0].after: 'done' is not allowed; allowed: "
                "needs, any"
            ],
        ),
        (
            "a decision with an empty approvals list",
            BASE + WATCH + "    type: decision\n    approvals: []\n",
            ["s.yml:28:16: decision step 'watch' must have approvals"],
        ),
    ],
)
def test_addition_errors(case: str, text: str, expected: list[str]) -> None:
    assert errors(text) == expected, case


def test_every_region_role_missing_is_named() -> None:
    text = BASE.replace("  approvers-us-east: {users: [uma]}\n", "") + (
        '    approvals: [{role: "approvers-{region}"}]\n'
    )
    roles = "roles: sre, approvers-eu-west"
    assert errors(text) == [
        f"s.yml:24:24: approvals of step 'production' expand to role 'approvers-{r}' for "
        f"instance production[{r}], which is not defined; {roles}"
        for r in ("ap-south", "us-east")  # same place: sorted by message
    ]


def _valid() -> str:
    text = BASE.replace(
        "    - ap-south\n", "    - {id: ap-south, name: Mumbai, timezone: Asia/Kolkata}\n"
    )
    text = text.replace(
        "  approvers-us-east: {users: [uma]}\n",
        "  approvers-us-east: {users: [uma]}\n  approvers-ap-south: {users: [asha]}\n"
        "  release-managers: {users: [rita]}\n",
    )
    text += (
        "    needs: [canary]\n"
        "    rollout: [[eu-west], [us-east, ap-south]]\n"
        "    run_by: [release-managers]\n"
        '    approvals: [{role: "approvers-{region}", source: signoff, max_age: 1d12h,\n'
        "                 after: any}]\n"
        "    window: {timezone: region, start: '09:00', end: '16:00'}\n"
        "    evidence:\n"
        "      - reports/{region}/smoke.json\n"
        "      - path: reports/eval.json\n"
        "        require: {metrics.auc: '>= 0.82', fairness.max_gap: '<= 0.05', "
        "approved: '== true', stage: '== \"1.0\"'}\n"
        + WATCH
        + "    needs: ['production[ap-south]']\n"
        "freezes:\n"
        "  - {from: 2026-12-20, to: 2027-01-04, environments: [production], regions: [eu-west]}\n"
        "emergency: {role: release-managers, count: 2, bypass: [window, freeze, approvals]}\n"
    )
    return text


VALID = _valid()


def test_the_additions_in_a_valid_sop() -> None:
    loaded = parse_sop(VALID, path="s.yml", today=TODAY)
    assert loaded.warnings == ()
    production = loaded.sop.steps[1]
    assert production.rollout == (("eu-west",), ("us-east", "ap-south"))
    assert production.evidence[1].require["metrics.auc"] == ">= 0.82"
    assert loaded.sop.region_objects["ap-south"].name == "Mumbai"


def test_separate_from_a_step_without_approvals_warns() -> None:
    text = BASE + "    approvals: [{role: sre}]\n    separate_from: [canary]\n"
    loaded = parse_sop(text, path="s.yml", today=TODAY)
    assert [str(w) for w in loaded.warnings] == [
        "s.yml:12:3: warning: role 'approvers-eu-west' is not used by any step or by owners",
        "s.yml:13:3: warning: role 'approvers-us-east' is not used by any step or by owners",
        "s.yml:26:21: warning: step 'production' is separate from 'canary', which has no "
        "approvals, so nobody is kept apart; name a step with approvals or remove it",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (">= 0.82", (">=", 0.82)),
        ("<=0.05", ("<=", 0.05)),
        ("== true", ("==", True)),
        ("!= false", ("!=", False)),
        ("== approved", ("==", "approved")),
        ('== "1.0"', ("==", "1.0")),
        ("> 3", (">", 3)),
        ("< -1.0e+3", ("<", -1000.0)),
    ],
)
def test_comparisons_read_the_value_as_a_yaml_scalar(text: str, expected: object) -> None:
    assert parse_comparison(text) == expected


def test_durations() -> None:
    assert parse_duration("24h").total_seconds() == 86400
    assert parse_duration("1d12h").total_seconds() == 129600
    assert parse_duration("2w").days == 14


@settings(max_examples=300, deadline=None)
@given(st.data(), values)
def test_a_mutated_sop_with_the_additions_never_crashes(data: st.DataObject, value: object) -> None:
    valid = yaml.safe_load(VALID)
    where = data.draw(st.sampled_from(paths(valid)))
    text = yaml.safe_dump(mutate(valid, where, value), sort_keys=False)
    accepts_or_refuses(lambda t: parse_sop(t, path="s.yml", today=TODAY), text)
