"""Malformed input of any shape ends in InputError (exit 2), never in another exception."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sopgate.errors import InputError
from sopgate.facts import parse_facts
from sopgate.sop.load import parse_sop
from tests.unit.helpers import TODAY

EXAMPLE = yaml.safe_load(open("examples/.sopgate.yml", encoding="utf-8"))  # noqa: SIM115
FACTS = yaml.safe_load(open("examples/facts/rejected.yml", encoding="utf-8"))  # noqa: SIM115

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.text(max_size=6),
    st.sampled_from(
        ["region", "decision", "signoff", "sre", "staging", "09:00", "production", "eu-west"]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += paths(value, (*prefix, i))
    return found


def mutate(data: Any, where: tuple[Any, ...], value: Any) -> Any:
    if not where:
        return value
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[where[0]] = mutate(copy[where[0]], where[1:], value)
    return copy


def accepts_or_refuses(parse: Any, text: str) -> None:
    try:
        parse(text)
    except InputError as exc:
        assert exc.items, "an InputError always carries at least one located message"
        for item in exc.items:
            assert item.line >= 1 and item.col >= 1


@settings(max_examples=300, deadline=None)
@given(st.data(), values)
def test_mutated_sop_never_crashes(data: st.DataObject, value: Any) -> None:
    where = data.draw(st.sampled_from(paths(EXAMPLE)))
    text = yaml.safe_dump(mutate(EXAMPLE, where, value), sort_keys=False)
    accepts_or_refuses(lambda t: parse_sop(t, path="s.yml", today=TODAY), text)


@settings(max_examples=200, deadline=None)
@given(st.data(), values)
def test_mutated_facts_never_crash(data: st.DataObject, value: Any) -> None:
    where = data.draw(st.sampled_from(paths(FACTS)))
    text = yaml.safe_dump(mutate(FACTS, where, value), sort_keys=False)
    accepts_or_refuses(lambda t: parse_facts(t, path="f.yml"), text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text: str) -> None:
    accepts_or_refuses(lambda t: parse_sop(t, path="s.yml", today=TODAY), text)
    accepts_or_refuses(lambda t: parse_facts(t, path="f.yml"), text)
