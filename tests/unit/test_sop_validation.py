"""DESIGN.md validation: every rule reports PATH:LINE:COL at the offending key or value."""

from __future__ import annotations

import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest

from sopgate.errors import InputError
from sopgate.sop.load import parse_sop, read_sop
from tests.unit.helpers import TODAY

BASE = """\
sopgate: 1
name: t
scope: {system: s, environments: [staging], regions: [eu, us]}
roles:
  sre: {users: [bob]}
steps:
  - id: build
    owner: sre
"""


def errors(text: str) -> list[str]:
    with pytest.raises(InputError) as caught:
        parse_sop(textwrap.dedent(text), path="s.yml", today=TODAY)
    return [str(d) for d in caught.value.items]


@pytest.mark.parametrize(
    ("case", "text", "expected"),
    [
        (
            "YAML syntax",
            "sopgate: 1\nname: [t\n",
            "s.yml:3:1: YAML syntax error: did not find expected ',' or ']'",
        ),
        ("empty file", "", "s.yml:1:1: empty file: expected a SOP mapping"),
        ("comment-only file", "# nothing\n", "s.yml:1:1: empty file: expected a SOP mapping"),
        (
            "not a mapping",
            "- a\n- b\n",
            "s.yml:1:1: the SOP must be a mapping of keys "
            "(sopgate, name, roles, steps, ...), got a list",
        ),
        (
            "unsupported version",
            BASE.replace("sopgate: 1", "sopgate: 2"),
            "s.yml:1:10: unsupported format version 2; this sopgate supports: 1",
        ),
        (
            "duplicate top-level key",
            BASE + "name: again\n",
            "s.yml:9:1: duplicate key 'name' (first defined at line 2)",
        ),
        (
            "duplicate nested key",
            BASE + "    owner: sre\n",
            "s.yml:9:5: duplicate key 'owner' (first defined at line 8)",
        ),
        (
            "unknown top-level key",
            BASE + "stepz: []\n",
            "s.yml:9:1: unknown key 'stepz' (did you mean 'steps'?); allowed: sopgate, name, "
            "description, scope, owners, review, roles, steps, freezes, emergency",
        ),
        (
            "typo in a step",
            BASE + "    aprovals: []\n",
            "s.yml:9:5: unknown key 'aprovals' in steps[0] (did you mean 'approvals'?); allowed: "
            "id, name, description, owner, type, needs, jobs, environment, for_each, rollout, "
            "run_by, approvals, separate_from, checks, evidence, window, rollback",
        ),
        (
            "missing required key",
            BASE.replace("    owner: sre\n", ""),
            "s.yml:7:5: missing required key 'owner' in steps[0]",
        ),
        (
            "missing roles",
            "sopgate: 1\nname: t\nsteps: [{id: a, owner: x}]\n",
            "s.yml:1:1: missing required key 'roles'",
        ),
        (
            "wrong type",
            BASE + "    approvals: [{role: sre, count: two}]\n",
            "s.yml:9:36: steps[0].approvals[0].count: expected an integer, got 'two'",
        ),
        (
            "count below 1",
            BASE + "    approvals: [{role: sre, count: 0}]\n",
            "s.yml:9:36: steps[0].approvals[0].count: must be at least 1, got 0",
        ),
        (
            "closed set",
            BASE + "    type: gate\n",
            "s.yml:9:11: steps[0].type: 'gate' is not allowed; allowed: task, decision",
        ),
        (
            "approval source",
            BASE + "    approvals: [{role: sre, source: email}]\n",
            "s.yml:9:37: steps[0].approvals[0].source: 'email' is not allowed; allowed: review, "
            "signoff, deployment",
        ),
        (
            "step id not kebab-case",
            BASE.replace("id: build", "id: Build_It"),
            "s.yml:7:9: steps[0].id: 'Build_It' is not a valid step id: use kebab-case "
            "(lowercase letters and digits, single hyphens)",
        ),
        (
            "duplicate step id",
            BASE + "  - id: build\n    owner: sre\n",
            "s.yml:9:9: duplicate step id 'build' (first used at line 7)",
        ),
        (
            "duplicate scope region",
            BASE.replace("regions: [eu, us]", "regions: [eu, us, eu]"),
            "s.yml:3:63: duplicate region 'eu' in scope.regions",
        ),
        (
            "duplicate scope environment",
            BASE.replace("environments: [staging]", "environments: [staging, staging]"),
            "s.yml:3:44: duplicate environment 'staging' in scope.environments",
        ),
        (
            "unknown role",
            BASE.replace("owner: sre", "owner: ops"),
            "s.yml:8:12: unknown role 'ops' in owner of step 'build'; roles: sre",
        ),
        (
            "unknown approval role",
            BASE + "    approvals: [{role: sec}]\n",
            "s.yml:9:24: unknown role 'sec' in approvals of step 'build'; roles: sre",
        ),
        (
            "unknown owners role",
            BASE + "owners: [admins]\n",
            "s.yml:9:10: unknown role 'admins' in owners; roles: sre",
        ),
        (
            "unknown needs",
            BASE + "    needs: [test]\n",
            "s.yml:9:13: unknown step 'test' in needs of step 'build'; steps: build",
        ),
        (
            "unknown separate_from",
            BASE + "    separate_from: [audit]\n",
            "s.yml:9:21: unknown step 'audit' in separate_from of step 'build'; steps: build",
        ),
        (
            "unknown environment",
            BASE + "    environment: prod\n    rollback: r\n",
            "s.yml:9:18: unknown environment 'prod' for step 'build'; environments: staging",
        ),
        ("self need", BASE + "    needs: [build]\n", "s.yml:9:13: step 'build' cannot need itself"),
        (
            "decision without approvals",
            BASE + "    type: decision\n",
            "s.yml:7:5: decision step 'build' must have approvals (a go/no-go needs someone to "
            "decide)",
        ),
        (
            "decision with jobs",
            BASE + "    type: decision\n    approvals: [{role: sre}]\n    jobs: [x]\n",
            "s.yml:11:5: decision step 'build' has no pipeline work: remove jobs",
        ),
        (
            "for_each without regions",
            BASE.replace(", regions: [eu, us]", "") + "    for_each: region\n",
            "s.yml:9:15: step 'build' has for_each: region but scope.regions is empty or missing",
        ),
        (
            "rollout without for_each",
            BASE + "    rollout: sequential\n",
            "s.yml:9:5: step 'build' has rollout but no for_each",
        ),
        (
            "region placeholder outside for_each",
            BASE + "    jobs: ['deploy {region}']\n",
            "s.yml:9:12: '{region}' is only expanded in steps with for_each: region",
        ),
        (
            "bad window time",
            BASE + "    window: {start: '9:00', end: '16:00'}\n",
            "s.yml:9:21: steps[0].window.start: '9:00' is not a time of day as HH:MM (00:00-23:59)",
        ),
        (
            "bad window day",
            BASE + "    window: {days: [monday]}\n",
            "s.yml:9:21: steps[0].window.days[0]: 'monday' is not allowed; allowed: mon, tue, "
            "wed, thu, fri, sat, sun",
        ),
        (
            "bad timezone",
            BASE + "    window: {timezone: Mars/Olympus}\n",
            "s.yml:9:24: unknown time zone 'Mars/Olympus'; use an IANA name such as "
            "Europe/Berlin or UTC",
        ),
        (
            "empty window",
            BASE + "    window: {start: '10:00', end: '10:00'}\n",
            "s.yml:9:35: window start and end are equal: it would never open",
        ),
        (
            "freeze ends before it starts",
            BASE + "freezes: [{from: 2026-12-20, to: 2026-12-01}]\n",
            "s.yml:9:34: freeze ends (2026-12-01) before it starts (2026-12-20)",
        ),
        (
            "unsupported tag",
            BASE + "description: !!binary aGk=\n",
            "s.yml:9:14: unsupported YAML tag tag:yaml.org,2002:binary",
        ),
    ],
)
def test_validation_errors(case: str, text: str, expected: str) -> None:
    assert errors(text) == [expected], case


def test_cycle_is_named() -> None:
    text = BASE + "    needs: [test]\n  - id: test\n    owner: sre\n"
    assert errors(text) == ["s.yml:9:13: needs cycle: build -> test -> build"]


def test_longer_cycle_through_implicit_needs() -> None:
    text = BASE + ("    needs: [c]\n  - id: b\n    owner: sre\n  - id: c\n    owner: sre\n")
    assert errors(text) == ["s.yml:9:13: needs cycle: build -> c -> b -> build"]


def test_every_error_is_reported_sorted_by_line() -> None:
    text = BASE + "    aprovals: []\n    needs: [nope]\n    type: gate\n"
    found = errors(text)
    assert [e.split(":")[1] for e in found] == ["9", "10", "11"]


def test_alias_bomb_is_refused_quickly_with_bounded_memory() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    tracemalloc.start()
    started = time.perf_counter()
    found = errors("\n".join(lines) + "\n")
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(found) == 1
    assert "refusing a possible alias bomb" in found[0]
    # generous bounds: a real expansion would take minutes and gigabytes
    assert elapsed < 5
    assert peak < 50 * 1024 * 1024


def test_files_over_one_mebibyte_are_refused() -> None:
    text = BASE + "description: " + "x" * (1024 * 1024) + "\n"
    assert errors(text) == [
        f"s.yml:1:1: file is {len(text.encode()):,} bytes; a SOP file may be at most "
        "1,048,576 bytes (1 MiB)"
    ]


def test_warnings() -> None:
    text = BASE + (
        "    environment: staging\nreview: {last_reviewed: 2026-01-01, every_days: 90}\n  \n"
    )
    text = text.replace("  sre: {users: [bob]}\n", "  sre: {users: [bob]}\n  qa: {users: [q]}\n")
    loaded = parse_sop(text, path="s.yml", today=TODAY)
    assert [str(w) for w in loaded.warnings] == [
        "s.yml:6:3: warning: role 'qa' is not used by any step or by owners",
        "s.yml:8:5: warning: step 'build' deploys to staging but has no rollback criteria; "
        "add 'rollback:'",
        "s.yml:11:25: warning: SOP review is overdue: last reviewed 2026-01-01, due every 90 "
        "days (since 2026-04-01)",
    ]


def test_valid_sop_has_step_lines() -> None:
    loaded = parse_sop(BASE + "  - id: test\n    owner: sre\n", path="s.yml", today=TODAY)
    assert loaded.lines == {"build": 7, "test": 9}
    assert loaded.warnings == ()


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yml"
    with huge.open("wb") as handle:
        handle.truncate(8 * 1024**3)  # 8 GiB, sparse: reading it all would exhaust memory
    tracemalloc.start()
    with pytest.raises(InputError) as caught:
        read_sop(str(huge))
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert str(caught.value) == (
        f"{huge}:1:1: file is 8,589,934,592 bytes; a SOP file may be at most 1,048,576 bytes "
        "(1 MiB)"
    )
    assert peak < 16 * 1024 * 1024
