"""The facts snapshot: strict validation with locations, and lossless round trips."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from sopgate.errors import InputError
from sopgate.facts import dump_facts, parse_facts, read_facts

GOOD = """\
facts: 1
platform: github
commit: 4b825dc642cb6eb9a060e54bf8d69288fbee4904
observed_at: 2026-11-26T10:00:00Z
approvals:
  - {user: bob, source: review, state: approved, sha: 4b825dc642cb6eb9a060e54bf8d69288fbee4904}
checks:
  - {name: build, app: github-actions, state: success, at: 2026-11-25T08:00:00Z}
"""


def errors(text: str, path: str = "f.yml") -> list[str]:
    with pytest.raises(InputError) as caught:
        parse_facts(textwrap.dedent(text), path=path)
    return [str(d) for d in caught.value.items]


@pytest.mark.parametrize(
    ("case", "text", "expected"),
    [
        (
            "unknown key",
            GOOD + "extra: 1\n",
            "f.yml:9:1: unknown key 'extra'; allowed: facts, platform, repository, commit, "
            "change, initiator, observed_at, approvals, checks, files, groups, notes, sop_changed, "
            "commits, rerun_by, documents, records",
        ),
        (
            "unknown key in an entry",
            GOOD.replace("state: success", "state: success, stat: x"),
            "f.yml:8:56: unknown key 'stat' in checks[0] (did you mean 'state'?); allowed: name, "
            "app, state, at, url",
        ),
        (
            "check state",
            GOOD.replace("state: success", "state: passed"),
            "f.yml:8:47: checks[0].state: 'passed' is not allowed; allowed: success, failure, "
            "pending, skipped, cancelled",
        ),
        (
            "short sha",
            GOOD.replace("commit: 4b825dc642cb6eb9a060e54bf8d69288fbee4904", "commit: 4b825dc"),
            "f.yml:3:9: commit: '4b825dc' is not a full 40-character hex commit id",
        ),
        (
            "time without zone",
            GOOD.replace("observed_at: 2026-11-26T10:00:00Z", "observed_at: 2026-11-26T10:00:00"),
            "f.yml:4:14: observed_at: expected a timestamp with a time zone "
            "(2026-11-26T10:00:00Z), got 2026-11-26 10:00:00",
        ),
        (
            "number as time",
            GOOD.replace("at: 2026-11-25T08:00:00Z", "at: 5"),
            "f.yml:8:60: checks[0].at: expected a timestamp such as 2026-11-26T10:00:00Z",
        ),
        (
            "platform",
            GOOD.replace("platform: github", "platform: bitbucket"),
            "f.yml:2:11: platform: 'bitbucket' is not allowed; allowed: github, gitlab, local",
        ),
        (
            "version",
            GOOD.replace("facts: 1", "facts: 2"),
            "f.yml:1:8: facts: 2 is not allowed; allowed: 1",
        ),
        (
            "duplicate key",
            GOOD + "platform: gitlab\n",
            "f.yml:9:1: duplicate key 'platform' (first defined at line 2)",
        ),
        (
            "not a mapping",
            "[]\n",
            "f.yml:1:1: a facts file must be a mapping starting with 'facts: 1', got a list",
        ),
        (
            "missing commit",
            GOOD.replace("commit: 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n", ""),
            "f.yml:1:1: missing required key 'commit'",
        ),
    ],
)
def test_facts_errors(case: str, text: str, expected: str) -> None:
    assert errors(text) == [expected], case


def test_json_errors_get_lines_too() -> None:
    data = json.loads(
        json.dumps(
            {"facts": 1, "platform": "local", "observed_at": "2026-11-26T10:00:00Z", "commit": "x"}
        )
    )
    text = json.dumps(data, indent=2)
    assert errors(text, "f.json") == [
        "f.json:5:13: commit: 'x' is not a full 40-character hex commit id"
    ]


def test_json_duplicate_keys_are_errors() -> None:
    text = (
        '{"facts": 1, "platform": "local", "platform": "github", "observed_at": '
        '"2026-11-26T10:00:00Z", "commit": "4b825dc642cb6eb9a060e54bf8d69288fbee4904"}'
    )
    assert errors(text, "f.json") == [
        "f.json:1:35: duplicate key 'platform' (first defined at line 1)"
    ]


@pytest.mark.parametrize("as_json", [True, False])
def test_round_trip(as_json: bool) -> None:
    original = read_facts("examples/facts/rejected.yml")
    text = dump_facts(original, as_json=as_json)
    again = parse_facts(text, path="x")
    assert again == original
    assert dump_facts(again, as_json=as_json) == text
    assert again.digest() == original.digest()


def test_unknown_values_are_kept_as_unknown() -> None:
    snapshot = parse_facts(GOOD + "files: null\ngroups: {acme/sre: null}\n", path="f.yml")
    assert snapshot.files is None
    assert snapshot.groups == {"acme/sre": None}
    assert parse_facts(dump_facts(snapshot, as_json=True), path="x") == snapshot


def test_a_json_file_is_read_as_json_only(tmp_path: Path) -> None:
    """A malformed .json file is a JSON error at its place, not a trip through YAML."""
    path = tmp_path / "facts.json"
    path.write_text('{"facts": 1,\n "platform": "local",\n "commit": }\n')
    with pytest.raises(InputError) as caught:
        read_facts(str(path))
    assert [str(d) for d in caught.value.items] == [f"{path}:3:12: invalid JSON: Expecting value"]


def test_a_large_json_file_with_a_bad_key_fails_fast(tmp_path: Path) -> None:
    """60 MB of JSON with one unknown key used to fall back to YAML (41 s, over 3 GB)."""
    import time

    data = json.loads(json.dumps(parse_facts(GOOD, path="f.yml").to_data()))
    data["checks"] = [
        {"name": f"check-{i}", "app": "github-actions", "state": "success"} for i in range(40_000)
    ]
    data["bogus"] = True
    path = tmp_path / "big.json"
    path.write_text(json.dumps(data))
    assert path.stat().st_size > 2 * 1024 * 1024
    started = time.monotonic()
    with pytest.raises(InputError) as caught:
        read_facts(str(path))
    assert [str(d) for d in caught.value.items] == [
        f"{path}:1:1: bogus: Extra inputs are not permitted"
    ]
    assert time.monotonic() - started < 20  # generous: the YAML path took minutes


def test_yaml_facts_over_the_yaml_cap_are_refused_before_parsing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.yml"
    path.write_text(GOOD + "notes:\n" + "  - x\n" * (3 * 1024 * 1024))
    with pytest.raises(InputError) as caught:
        read_facts(str(path))
    assert "facts" in str(caught.value) and "16 MiB" in str(caught.value)


def test_a_key_that_looks_like_a_pydantic_tag_is_still_named() -> None:
    """Found by the fuzz test: a key ``[]`` was dropped from the error's location as if it
    were pydantic's union tag, and the empty location crashed the error report."""
    found = errors("facts: 1\nplatform: local\ncommit: " + "a" * 40 + "\n"
                   "observed_at: 2026-11-26T10:00:00Z\n'[]': null\n")  # fmt: skip
    assert len(found) == 1
    assert found[0].startswith("f.yml:5:1: unknown key '[]'")


DIGEST = "9f2c" + "0" * 60


def test_records_name_the_digest_of_each_gate_record() -> None:
    text = GOOD + f"records:\n  build: {DIGEST}\n  'production[eu-west]': {'a' * 64}\n"
    snapshot = parse_facts(text, path="f.yml")
    assert snapshot.records == {"build": DIGEST, "production[eu-west]": "a" * 64}
    assert parse_facts(dump_facts(snapshot, as_json=True), path="x") == snapshot
    assert parse_facts(dump_facts(snapshot, as_json=False), path="x") == snapshot


def test_an_old_snapshot_keeps_its_digest_without_records() -> None:
    """A snapshot without records (every file written before they existed) is written, and
    so digested, exactly as before: old records still replay."""
    old = parse_facts(GOOD, path="f.yml")
    assert "records" not in old.to_data()
    assert parse_facts(GOOD + "records: {}\n", path="f.yml").digest() == old.digest()
    assert old.digest() == "a19609a88fb206b94a36b2d6b029e4345ce005a576b4fa0943bfec30edb05eb0"
    chained = parse_facts(GOOD + f"records: {{build: {DIGEST}}}\n", path="f.yml")
    assert chained.to_data()["records"] == {"build": DIGEST}
    assert chained.digest() != old.digest()


@pytest.mark.parametrize(
    ("case", "entry", "expected"),
    [
        (
            "prefixed digest",
            f"build: sha256:{DIGEST}",
            f"f.yml:10:10: records.build: 'sha256:{DIGEST}' is not a record digest: "
            "expected the report_digest of a sopgate-report.json (64 lowercase hex characters)",
        ),
        (
            "short digest",
            "build: 9f2c",
            "f.yml:10:10: records.build: '9f2c' is not a record digest: expected the "
            "report_digest of a sopgate-report.json (64 lowercase hex characters)",
        ),
        (
            "null digest",
            "build: null",
            "f.yml:10:10: records.build: expected a string, got null",
        ),
        (
            "not a step key",
            f"'Build now': {DIGEST}",
            "f.yml:10:16: records.Build now: 'Build now' is not a step key: expected a "
            "step id or a region instance such as production[eu-west]",
        ),
        (
            "bad digest of a region instance",
            "production[eu-west]: abc",
            "f.yml:10:3: records: 'abc' is not a record digest: expected the report_digest of "
            "a sopgate-report.json (64 lowercase hex characters)",
        ),
        (
            "not a mapping",
            "[build]",
            "f.yml:10:3: records: expected a mapping, got a list",
        ),
    ],
)
def test_bad_records_are_errors_with_their_place(case: str, entry: str, expected: str) -> None:
    assert errors(GOOD + f"records:\n  {entry}\n") == [expected], case
