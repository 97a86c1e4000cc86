"""Evidence with content: ``require`` thresholds read with JMESPath from facts ``documents``
(DESIGN.md, "Evidence with content" and "require values"), and evidence globs."""

from __future__ import annotations

from typing import Any

import pytest

from sopgate.rules.evidence import check_document, parse_requirement
from tests.unit.helpers import facts, run, sop

MODEL = sop("""
    sopgate: 1
    name: t
    roles: {ds: {users: [alice]}}
    steps:
      - id: validate
        owner: ds
        evidence:
          - path: reports/eval.json
            require:
              metrics.auc: ">= 0.82"
              fairness.max_gap: "<= 0.05"
              approved: "== true"
""")

GOOD: dict[str, Any] = {"metrics": {"auc": 0.85}, "fairness": {"max_gap": 0.03}, "approved": True}


def gate(
    documents: dict[str, Any] | None, files: list[str] | None = None, **extra: Any
) -> tuple[str, tuple[str, ...]]:
    snapshot = facts(
        files=["reports/eval.json"] if files is None else files,
        documents={} if documents is None else documents,
        **extra,
    )
    result = run(MODEL, snapshot, "validate").by_key["validate"]
    return result.state, result.reasons


def with_(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "metrics": dict(GOOD["metrics"]),
        "fairness": dict(GOOD["fairness"]),
        "approved": True,
    }
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            doc[section][name] = value
        else:
            doc[section] = value
    return doc


@pytest.mark.parametrize(
    ("case", "document", "reason"),
    [
        ("all pass", GOOD, None),
        ("auc exactly at the threshold", with_(metrics__auc=0.82), None),
        ("an integer compares with a float", with_(metrics__auc=1), None),
        (
            "auc too low",
            with_(metrics__auc=0.79),
            "reports/eval.json: metrics.auc is 0.79; needs >= 0.82",
        ),
        (
            "gap too wide",
            with_(fairness__max_gap=0.051),
            "reports/eval.json: fairness.max_gap is 0.051; needs <= 0.05",
        ),
        (
            "false is not true",
            with_(approved=False),
            "reports/eval.json: approved is false; needs == true",
        ),
        (
            "a string is not a number",
            with_(metrics__auc="0.9"),
            'reports/eval.json: metrics.auc is "0.9" (a string, not a number); needs >= 0.82',
        ),
        (
            "a string true is not true",
            with_(approved="true"),
            'reports/eval.json: approved is "true" (a string, not a boolean); needs == true',
        ),
        (
            "a boolean is not a number",
            with_(metrics__auc=True),
            "reports/eval.json: metrics.auc is true (a boolean, not a number); needs >= 0.82",
        ),
        (
            "a missing value",
            with_(metrics={}),
            "reports/eval.json: metrics.auc is missing; needs >= 0.82",
        ),
        (
            "a null value",
            with_(metrics__auc=None),
            "reports/eval.json: metrics.auc is missing; needs >= 0.82",
        ),
        (
            "a list is no number",
            with_(metrics__auc=[0.9]),
            "reports/eval.json: metrics.auc is [0.9] (a list or object, not a number); "
            "needs >= 0.82",
        ),
        (
            "not an object at all",
            [1, 2],
            "reports/eval.json: metrics.auc is missing; needs >= 0.82",
        ),
        (
            "a null document",
            None,
            "reports/eval.json: its content could not be read (unreadable, too large or invalid)",
        ),
    ],
)
def test_require(case: str, document: Any, reason: str | None) -> None:
    state, reasons = gate({"reports/eval.json": document})
    if reason is None:
        assert (state, reasons) == ("done", ()), case
    else:
        assert state == "waiting", case
        assert reason in reasons, case


def test_a_document_absent_from_the_facts_is_unknown() -> None:
    assert gate({}) == (
        "waiting",
        ("reports/eval.json: its content is unknown (not read into the facts)",),
    )


def test_a_parse_error_note_is_quoted() -> None:
    note = "reports/eval.json: not JSON or YAML (line 3: unexpected ':')"
    state, reasons = gate({"reports/eval.json": None}, notes=[note])
    assert state == "waiting"
    assert reasons == (f"reports/eval.json: its content could not be read ({note})",)


def test_a_missing_file_is_named_even_with_a_document() -> None:
    state, reasons = gate({"reports/eval.json": GOOD}, files=[])
    assert (state, reasons) == (
        "waiting",
        ("needs evidence reports/eval.json at the commit (owner ds)",),
    )


def test_unknown_files() -> None:
    snapshot = facts(files=None, documents={"reports/eval.json": GOOD})
    result = run(MODEL, snapshot, "validate").by_key["validate"]
    assert (result.state, result.reasons) == (
        "waiting",
        ("which evidence files exist at the commit is unknown",),
    )


GLOBBED = sop("""
    sopgate: 1
    name: t
    roles: {ds: {users: [alice]}}
    steps:
      - id: validate
        owner: ds
        evidence:
          - path: "reports/**/eval-*.json"
            require: {auc: "> 0.8", status: "== approved", version: '== "1.0"'}
""")


@pytest.mark.parametrize(
    ("case", "documents", "reasons"),
    [
        (
            "every matched document passes",
            {
                "reports/eu/eval-a.json": {"auc": 0.9, "status": "approved", "version": "1.0"},
                "reports/us/deep/eval-b.json": {
                    "auc": 0.81,
                    "status": "approved",
                    "version": "1.0",
                },
            },
            (),
        ),
        (
            "one matched document fails",
            {
                "reports/eu/eval-a.json": {"auc": 0.9, "status": "approved", "version": "1.0"},
                "reports/us/deep/eval-b.json": {"auc": 0.8, "status": "approved", "version": "1.0"},
            },
            ("reports/us/deep/eval-b.json: auc is 0.8; needs > 0.8",),
        ),
        (
            "a YAML string is not a number, a number is not a string",
            {
                "reports/eu/eval-a.json": {"auc": 0.9, "status": "approved", "version": 1.0},
                "reports/us/deep/eval-b.json": {"auc": 0.9, "status": "pending", "version": "1.0"},
            },
            (
                'reports/eu/eval-a.json: version is 1.0 (a number, not a string); needs == "1.0"',
                'reports/us/deep/eval-b.json: status is "pending"; needs == approved',
            ),
        ),
    ],
)
def test_a_glob_requires_every_matched_document(
    case: str, documents: dict[str, Any], reasons: tuple[str, ...]
) -> None:
    files = ["reports/eu/eval-a.json", "reports/us/deep/eval-b.json", "reports/eval.txt"]
    result = run(GLOBBED, facts(files=files, documents=documents), "validate").by_key["validate"]
    assert result.reasons == reasons, case


def test_a_glob_that_matches_nothing() -> None:
    result = run(GLOBBED, facts(files=["reports/eval-a.txt"]), "validate").by_key["validate"]
    assert result.reasons == ("needs evidence reports/**/eval-*.json at the commit (owner ds)",)


@pytest.mark.parametrize(
    ("text", "op", "value"),
    [
        (">= 0.82", ">=", 0.82),
        ("<=0.05", "<=", 0.05),
        ("== true", "==", True),
        ("== approved", "==", "approved"),
        ('== "1.0"', "==", "1.0"),
        ("!= 3", "!=", 3),
        ("> -1", ">", -1),
        ("< 1e3", "<", "1e3"),  # YAML 1.1 reads 1e3 without a dot as a string
    ],
)
def test_parse_requirement(text: str, op: str, value: Any) -> None:
    found = parse_requirement(text)
    assert found is not None
    assert (found.op, found.value) == (op, value)


@pytest.mark.parametrize("text", ["0.82", "=> 1", "== [1]", "== {a: 1}", "==", ">= null"])
def test_not_a_requirement(text: str) -> None:
    assert parse_requirement(text) is None


@pytest.mark.parametrize(
    ("actual", "requirement", "holds"),
    [
        (0.82, ">= 0.82", True),
        (0.82, "> 0.82", False),
        (0.82, "<= 0.82", True),
        (0.82, "< 0.82", False),
        (0.81, "< 0.82", True),
        (0.83, "> 0.82", True),
        (0.81, "<= 0.82", True),
        (0.83, "<= 0.82", False),
        (0.81, ">= 0.82", False),
        (0.81, "== 0.82", False),
        (0.82, "== 0.82", True),
        (0.82, "!= 0.82", False),
        (0.81, "!= 0.82", True),
        ("b", "> a", True),
        (True, ">= false", False),  # booleans have no order
        (True, "!= false", True),
        ("x", "!= 1", False),  # different types never compare, not even !=
    ],
)
def test_operators(actual: Any, requirement: str, holds: bool) -> None:
    assert (check_document("f.json", {"v": actual}, {"v": requirement}) == []) is holds


def test_an_invalid_requirement_fails_closed() -> None:
    assert check_document("f.json", {"v": 1}, {"v": "about 1"}) == [
        "f.json: requirement v: 'about 1' is not 'OP VALUE'"
    ]
    assert check_document("f.json", {"v": 1}, {"v[": ">= 1"})[0].startswith(
        "f.json: v[ cannot be evaluated ("
    )


@pytest.mark.parametrize(
    ("pattern", "files", "state"),
    [
        ("reports/**/auc.json", ["reports/auc.json"], "done"),  # ** matches no folder too
        ("reports/**/auc.json", ["reports/a/b/auc.json"], "done"),
        ("reports/**/auc.json", ["other/a/auc.json"], "waiting"),
        ("reports/auc-?.json", ["reports/auc-1.json"], "done"),
        ("reports/auc-?.json", ["reports/auc-10.json"], "waiting"),
        ("reports/auc-?.json", ["reports/auc-/.json"], "waiting"),  # ? stays in a folder
        ("reports/*-eu.json", ["reports/auc-eu.json"], "done"),
        ("reports/*-eu.json", ["reports/auc-us.json"], "waiting"),
        ("reports/*-eu.json", ["reports/a/b-eu.json"], "waiting"),
    ],
)
def test_evidence_globs(pattern: str, files: list[str], state: str) -> None:
    loaded = sop(f"""
        sopgate: 1
        name: t
        roles: {{ds: {{users: [alice]}}}}
        steps:
          - id: validate
            owner: ds
            evidence: ["{pattern}"]
    """)
    assert run(loaded, facts(files=files), "validate").by_key["validate"].state == state


def test_every_failing_requirement_is_named() -> None:
    assert check_document("f.json", {"a": 1, "b": 2}, {"a": "about 1", "b": ">= 3"}) == [
        "f.json: requirement a: 'about 1' is not 'OP VALUE'",
        "f.json: b is 2; needs >= 3",
    ]
    assert check_document("f.json", {"b": 2}, {"a[": ">= 1", "b": ">= 3"})[1] == (
        "f.json: b is 2; needs >= 3"
    )


def test_every_note_about_an_unreadable_document_is_quoted() -> None:
    notes = ["reports/eval.json: too large", "reports/eval.json: not JSON"]
    _state, reasons = gate({"reports/eval.json": None}, notes=notes)
    assert reasons == (
        "reports/eval.json: its content could not be read (reports/eval.json: too large; "
        "reports/eval.json: not JSON)",
    )
