"""sopgate's YAML reader resolves each distinct plain scalar's tag once per document, and can
skip recording positions: the values must be exactly what a plain safe load gives, however
often a text repeats and however it is quoted, and errors are worded the same either way."""

from __future__ import annotations

import pytest
import yaml

from sopgate.errors import InputError
from sopgate.yamlsrc import load

TEXT = """
plain: [1, 1, '1', "1", yes, 'yes', null, 'null', ~, 1.5, '1.5', 2026-11-20, '2026-11-20']
again: [1, '1', yes, 'yes', null, 'null', 1.5, '1.5', 2026-11-20, '2026-11-20', 0o7, 010]
keys: {1: a, yes: c, 'no': d}
states: [approved, approved, rejected, approved]
"""


def test_repeated_scalars_read_as_a_plain_safe_load_reads_them() -> None:
    doc = load(TEXT, path="t.yml", max_bytes=1 << 20, what="test")
    expected = yaml.safe_load(TEXT)
    # sopgate's reader keeps every key as written (keys are names); values are as YAML says
    expected["keys"] = {"1": "a", "yes": "c", "no": "d"}
    assert doc.data == expected
    assert doc.data["plain"][:4] == [1, 1, "1", "1"]
    assert doc.data["again"][:6] == [1, "1", True, "yes", None, "null"]
    assert [type(v).__name__ for v in doc.data["again"][6:10]] == ["float", "str", "date", "str"]


def test_a_quoted_number_repeated_after_a_plain_one_stays_a_string() -> None:
    doc = load("a: 5\nb: '5'\nc: 5\nd: '5'\n", path="t.yml", max_bytes=1 << 20, what="test")
    assert doc.data == {"a": 5, "b": "5", "c": 5, "d": "5"}


def _load(text: str, *, positions: bool) -> object:
    return load(text, path="t.yml", max_bytes=1 << 20, what="test", positions=positions)


@pytest.mark.parametrize(
    "text",
    [
        TEXT,
        "base: &b {x: 1, y: [a, b]}\nuse: [*b, *b]\n",
        "- 1\n- [2, {three: 3}]\n- 2026-11-20T10:00:00Z\n",
    ],
)
def test_without_positions_the_data_is_the_same(text: str) -> None:
    fast = load(text, path="t.yml", max_bytes=1 << 20, what="test", positions=False)
    full = load(text, path="t.yml", max_bytes=1 << 20, what="test")
    assert fast.data == full.data
    assert (fast.values, fast.keys) == ({}, {})
    assert full.values


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", "t.yml:3:1: duplicate key 'a' (first defined at line 1)"),
        ("base: &b {x: 1}\nc:\n  <<: *b\n", "merge keys (<<) are not supported"),
        ("a: !!binary aGk=\n", "t.yml:1:4: unsupported YAML tag tag:yaml.org,2002:binary"),
        ("a: {[1]: x}\n", "t.yml:1:5: mapping keys must be plain strings"),
        ("a: " + "[" * 70 + "]" * 70 + "\n", "nesting deeper than 64 levels"),
    ],
)
def test_without_positions_an_error_is_worded_as_with_them(text: str, message: str) -> None:
    with pytest.raises(InputError) as fast:
        _load(text, positions=False)
    with pytest.raises(InputError) as full:
        _load(text, positions=True)
    assert [str(item) for item in fast.value.items] == [str(item) for item in full.value.items]
    assert message in "\n".join(str(item) for item in fast.value.items)
