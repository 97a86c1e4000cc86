"""A fresh-eyes audit of SOP validation against DESIGN.md, through the CLI as a user runs it:
``sopgate validate --sop F`` exits 2 with ``PATH:LINE:COL: what is wrong`` on stderr (every
error, sorted by line, no traceback), or 0 with ``PATH:LINE:COL: warning: ...``; and
``check-jsonschema`` with ``sopgate schema`` agrees with it on simple files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sopgate.cli import main

HEAD = """\
sopgate: 1
name: t
scope:
  system: s
  environments: [staging, production]
  regions: [eu-west, us-east]
roles:
  sre: {users: [bob]}
"""
STEP = """\
steps:
  - id: p
    owner: sre
"""


def validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes
) -> tuple[int, list[str]]:
    """Exit code and stderr lines (the file named s.yml), with the trailing count dropped."""
    sop = tmp_path / "s.yml"
    if isinstance(text, bytes):
        sop.write_bytes(text)
    else:
        sop.write_text(textwrap.dedent(text), encoding="utf-8")
    code = main(["validate", "--sop", str(sop)])
    _out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err
    lines = [line.replace(f"{sop}:", "s.yml:") for line in err.splitlines()]
    if code == 2:
        assert lines[-1].endswith(("1 error", "errors"))
        lines = lines[:-1]
    return code, lines


# "unsupported `sopgate:` version": only the integer 1 is format 1.
@pytest.mark.parametrize(
    ("written", "shown"),
    [("true", "true"), ("10000000000000000000000000000000000000000", "1" + "0" * 40)],
)
def test_a_version_that_is_not_the_integer_1_is_unsupported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], written: str, shown: str
) -> None:
    code, lines = validate(
        tmp_path, capsys, HEAD.replace("sopgate: 1", f"sopgate: {written}") + STEP
    )
    assert code == 2
    assert lines == [f"s.yml:1:10: unsupported format version {shown}; this sopgate supports: 1"]


def test_a_max_age_too_long_for_a_duration_is_an_error_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = validate(
        tmp_path, capsys, HEAD + STEP + "    approvals: [{role: sre, max_age: 99999999999w}]\n"
    )
    assert code == 2
    assert lines == [
        "s.yml:12:38: steps[0].approvals[0].max_age: '99999999999w' is too long; "
        "at most 999999999 days (use a duration such as 24h or 7d)"
    ]


def test_a_recursive_alias_is_refused_at_once(tmp_path: Path) -> None:
    """A node that contains itself expands without end (a subprocess: a hang must not hang
    the suite)."""
    sop = tmp_path / "s.yml"
    sop.write_text(HEAD + STEP + "description: &a [*a]\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "sopgate", "validate", "--sop", str(sop)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        f"{sop}:12:14: recursive YAML alias: this anchored value contains an alias to itself; "
        "a SOP file cannot contain itself"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            b'sopgate: 1\nname: "\xc3\xa9\x07"\n',
            "s.yml:2:9: YAML error: unacceptable character #x0007: control characters are "
            "not allowed",
        ),
        (b"sopgate: 1\nname: ab\xff\n", "s.yml:2:9: not UTF-8 text (byte 19)"),
    ],
    ids=["control character", "not UTF-8"],
)
def test_an_unreadable_character_is_placed_at_its_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: bytes, expected: str
) -> None:
    assert validate(tmp_path, capsys, text) == (2, [expected])


def test_a_duplicate_key_does_not_hide_the_other_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "every error reported, sorted by line": a duplicate key is one error among others."""
    code, lines = validate(
        tmp_path,
        capsys,
        HEAD
        + STEP
        + "    owner: sre\n"
        + "    aprovals: []\n"
        + "  - id: q\n"
        + "    owner: nobody\n"
        + "    type: gate\n",
    )
    assert code == 2
    assert lines[0] == "s.yml:12:5: duplicate key 'owner' (first defined at line 11)"
    assert lines[1].startswith("s.yml:13:5: unknown key 'aprovals' in steps[0] (did you mean")
    assert lines[2:] == [
        "s.yml:15:12: unknown role 'nobody' in owner of step 'q'; roles: sre",
        "s.yml:16:11: steps[1].type: 'gate' is not allowed; allowed: task, decision",
    ]


def test_an_unsupported_tag_does_not_hide_the_other_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = validate(
        tmp_path,
        capsys,
        HEAD + STEP + "    rollback: !!python/name:os.system x\n    for_each: zone\n",
    )
    assert (code, lines) == (
        2,
        [
            "s.yml:12:15: unsupported YAML tag tag:yaml.org,2002:python/name:os.system",
            "s.yml:13:15: steps[0].for_each: 'zone' is not allowed; allowed: region",
        ],
    )


def test_a_missing_region_role_names_the_instance_and_the_role(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "each expansion must be a defined role: validation names the instance and the
    missing role"."""
    text = HEAD + "  lead-eu-west: {users: [eve]}\n" + STEP
    text += "    for_each: region\n    approvals: [{role: 'lead-{region}'}]\n"
    assert validate(tmp_path, capsys, text) == (
        2,
        [
            "s.yml:14:24: approvals of step 'p' expand to role 'lead-us-east' for instance "
            "p[us-east], which is not defined; roles: sre, lead-eu-west"
        ],
    )


@pytest.mark.parametrize("text", ["---\n", "--- \n...\n", "# only a comment\n---\n"])
def test_a_lone_document_marker_is_an_empty_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    assert validate(tmp_path, capsys, text) == (
        2,
        ["s.yml:1:1: empty file: expected a SOP mapping"],
    )


def test_a_second_document_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(tmp_path, capsys, HEAD + STEP + "---\nsopgate: 1\n") == (
        2,
        [
            "s.yml:12:1: YAML syntax error: expected a single document in the stream, "
            "but found another document"
        ],
    )


def test_an_empty_require_query_says_it_must_not_be_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = HEAD + STEP + "    evidence: [{path: a.json, require: {'': '== 1'}}]\n"
    assert validate(tmp_path, capsys, text) == (
        2,
        ["s.yml:12:45: steps[0].evidence[0].require['']: must not be empty"],
    )


def test_an_empty_string_says_it_must_not_be_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = HEAD + STEP + "    jobs: ['']\n"
    assert validate(tmp_path, capsys, text) == (
        2,
        ["s.yml:12:12: steps[0].jobs[0]: must not be empty"],
    )


def test_a_midnight_timestamp_is_not_a_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Freezes have ``from``/``to`` dates; a timestamp is refused as it is in ``review``
    (and by the JSON Schema), not silently cut to its date."""
    text = HEAD + STEP + "freezes: [{from: 2026-12-20T00:00:00Z, to: 2027-01-04}]\n"
    assert validate(tmp_path, capsys, text) == (
        2,
        [
            "s.yml:12:18: freezes[0].from: expected a date (YYYY-MM-DD), got "
            "2026-12-20 00:00:00+00:00"
        ],
    )


def test_an_unquoted_time_of_day_is_a_time_of_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``end: 16:00`` is HH:MM, as YAML 1.2 and check-jsonschema read it; YAML 1.1 would read
    the number 960 and the error would say "expected a string, got 960"."""
    text = HEAD + STEP + "    window: {start: 09:00, end: 16:00}\n"
    assert validate(tmp_path, capsys, text) == (0, [])
    late = HEAD + STEP + "    window: {start: 9:00}\n"
    assert validate(tmp_path, capsys, late) == (
        2,
        ["s.yml:12:21: steps[0].window.start: '9:00' is not a time of day as HH:MM (00:00-23:59)"],
    )


# -- check-jsonschema agrees with validate on simple files --------------------------------

AGREE = {
    "valid": (HEAD + STEP, True),
    "version true": (HEAD.replace("sopgate: 1", "sopgate: true") + STEP, False),
    "unquoted times": (HEAD + STEP + "    window: {start: 09:00, end: 17:30}\n", True),
    "zero max_age": (HEAD + STEP + "    approvals: [{role: sre, max_age: 0d}]\n", False),
    "region with brackets": (HEAD.replace("eu-west,", "'eu[1]',") + STEP, False),
    "empty check name": (HEAD + STEP + "    checks: ['']\n", False),
    "empty evidence path": (HEAD + STEP + "    evidence: ['']\n", False),
    "freeze timestamp": (
        HEAD + STEP + "freezes: [{from: 2026-12-20T00:00:00Z, to: 2027-01-04}]\n",
        False,
    ),
    "unknown key": (HEAD + STEP + "    aprovals: []\n", False),
    "no days": (HEAD + STEP + "    window: {days: []}\n", False),
    "missing owner": (HEAD + "steps:\n  - id: p\n", False),
    "bad type": (HEAD + STEP + "    type: gate\n", False),
}


def test_check_jsonschema_agrees_with_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("check_jsonschema")
    assert main(["schema"]) == 0
    schema = tmp_path / "schema.json"
    schema.write_text(capsys.readouterr().out, encoding="utf-8")
    json.loads(schema.read_text(encoding="utf-8"))
    files = {}
    for i, (name, (text, valid)) in enumerate(AGREE.items()):
        path = tmp_path / f"case{i}.yml"
        path.write_text(text, encoding="utf-8")
        files[name] = path
        assert (main(["validate", "--sop", str(path)]) == 0) is valid, name
    capsys.readouterr()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--schemafile",
            str(schema),
            *map(str, files.values()),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    refused = {name for name, path in files.items() if f"{path}::" in done.stdout}
    assert refused == {name for name, (_text, valid) in AGREE.items() if not valid}, done.stdout


def test_check_jsonschema_and_validate_accept_every_init_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("check_jsonschema")
    assert main(["schema"]) == 0
    schema = tmp_path / "schema.json"
    schema.write_text(capsys.readouterr().out, encoding="utf-8")
    written = []
    for template in ("enterprise", "regulated", "startup", "global"):
        where = tmp_path / template
        where.mkdir()
        monkeypatch.chdir(where)
        assert main(["init", "--template", template]) == 0
        sop = where / ".sopgate.yml"
        assert main(["validate", "--sop", str(sop)]) == 0
        written.append(str(sop))
    _out, err = capsys.readouterr()
    assert "warning" not in err
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(schema), *written],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok -- validation done"), done.stdout


@pytest.mark.parametrize(
    "review",
    ["{last_reviewed: 2026-01-01, every_days: 99999999999}", "{last_reviewed: 9999-12-01}"],
)
def test_a_review_due_beyond_the_calendar_is_not_overdue_and_no_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], review: str
) -> None:
    assert validate(tmp_path, capsys, HEAD + f"review: {review}\n" + STEP) == (0, [])


def test_an_unquoted_instance_in_a_flow_list_says_to_quote_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``needs`` may name an instance; in a ``[...]`` list YAML needs it quoted."""
    text = (
        HEAD + STEP + "    for_each: region\n  - id: q\n    owner: sre\n    needs: [p[eu-west]]\n"
    )
    assert validate(tmp_path, capsys, text) == (
        2,
        [
            "s.yml:15:14: YAML syntax error: did not find expected ',' or ']'; quote an "
            "instance name in a [...] list, as in ['production[eu-west]']"
        ],
    )
    block = text.replace("needs: [p[eu-west]]", "needs:\n      - p[eu-west]")
    assert validate(tmp_path, capsys, block) == (0, [])


def test_a_window_without_days_would_never_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As with start == end: a gate that can never open is a mistake, not a policy."""
    assert validate(tmp_path, capsys, HEAD + STEP + "    window: {days: []}\n") == (
        2,
        ["s.yml:12:20: window days is empty: it would never open; omit days for every day"],
    )
