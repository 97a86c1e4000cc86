"""sopgate's YAML reader resolves each distinct scalar's tag once per document; the values
must be exactly what a plain safe load gives, however often a text repeats and however it
is quoted."""

from __future__ import annotations

import yaml

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
