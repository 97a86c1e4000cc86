"""Tests written from the mutants of ``sopgate/sop/rules.py``'s needs-cycle search that
survived (docs/mutation.md): every cycle is found, named once, at the written ``needs``
entry, and validation of a large acyclic SOP ends."""

from __future__ import annotations

import textwrap

import pytest

from sopgate.sop.load import parse_sop
from tests.unit.helpers import TODAY
from tests.unit.test_sop_validation import BASE, errors


def _steps(*lines: str) -> str:
    """BASE (whose one step is ``build``) followed by steps written ``id: needs``; ``-`` is
    ``needs: []`` and nothing after the colon leaves ``needs`` out (the step before)."""
    text = BASE
    for line in lines:
        sid, _, needs = line.partition(":")
        text += f"  - id: {sid.strip()}\n    owner: sre\n"
        if needs.strip():
            text += f"    needs: [{needs.strip().strip('-')}]\n"
    return text


def test_a_cycle_that_does_not_pass_through_the_search_start_is_found() -> None:
    # build is searched first; the cycle b <-> c hangs off it.
    text = _steps("a: build, b", "b: c", "c: b")
    assert errors(text) == ["s.yml:14:13: needs cycle: b -> c -> b"]


def test_a_cycle_after_a_step_reached_from_an_earlier_one_is_found() -> None:
    # a reaches b before b's own turn as a start; the cycle c <-> d comes after b.
    text = _steps("a: b", "b: -", "c: d", "d: c")
    assert errors(text) == ["s.yml:17:13: needs cycle: c -> d -> c"]


def test_a_finished_need_does_not_end_the_search_of_its_step() -> None:
    # x needs y (finished at once) and then z; the cycle runs through x's second need.
    text = _steps("x: y, z", "y: build", "z: x")
    assert errors(text) == ["s.yml:11:16: needs cycle: x -> z -> x"]


def test_an_unknown_need_does_not_end_the_search_of_its_step() -> None:
    text = _steps("x: nope, z", "z: x")
    assert errors(text) == [
        "s.yml:11:13: unknown step 'nope' in needs of step 'x'; steps: build, x, z",
        "s.yml:11:19: needs cycle: x -> z -> x",
    ]


def test_a_duplicate_or_unnamed_step_does_not_end_the_cycle_search() -> None:
    text = _steps("a: b", "a:", "b: a")
    assert errors(text) == [
        "s.yml:11:13: needs cycle: a -> b -> a",
        "s.yml:12:9: duplicate step id 'a' (first used at line 9)",
    ]


def test_two_different_cycles_are_both_named() -> None:
    text = _steps("a: b", "b: a", "c: d", "d: c")
    assert errors(text) == [
        "s.yml:11:13: needs cycle: a -> b -> a",
        "s.yml:17:13: needs cycle: c -> d -> c",
    ]


def test_a_cycle_found_along_two_written_entries_is_named_once() -> None:
    text = _steps("a: b", "b: a, a")
    found = [line for line in errors(text) if "cycle" in line]
    assert found == ["s.yml:11:13: needs cycle: a -> b -> a"]


def test_the_error_points_at_the_need_that_closes_the_cycle() -> None:
    # b's first need (build) is not part of the cycle; its second (c) is.
    text = _steps("b: build, c", "c:")
    assert errors(text) == ["s.yml:11:20: needs cycle: b -> c -> b"]


def test_validation_of_a_deep_acyclic_sop_ends() -> None:
    # Each step needs the two before it: searched naively (a finished step searched again),
    # this is 2**60 paths; searched once per step, it is immediate.
    lines = ["s0: build", "s1: s0, build"] + [f"s{i}: s{i - 1}, s{i - 2}" for i in range(2, 60)]
    parse_sop(textwrap.dedent(_steps(*lines)), path="s.yml", today=TODAY)


@pytest.mark.parametrize("rule", ["lead", "[sre]", "42"])
def test_an_approval_rule_that_is_not_a_mapping_is_an_error_not_a_crash(rule: str) -> None:
    text = BASE + f"    approvals: [{rule}]\n"
    found = errors(text)
    assert found and all(line.startswith("s.yml:9:") for line in found), found
