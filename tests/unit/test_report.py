"""The audit record: approvers per step, the chain of needed records, its own digest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sopgate.cli import main

SOP = "examples/.sopgate.yml"
GREEN = "examples/facts/green.yml"


def write(capsys: pytest.CaptureFixture[str], folder: Path, step: str) -> dict[str, object]:
    code = main(["check", step, "--sop", SOP, "--facts", GREEN, "--report-dir", str(folder)])
    capsys.readouterr()
    assert code == 0
    data: dict[str, object] = json.loads((folder / "sopgate-report.json").read_text())
    return data


def replay(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str, str]:
    code = main(["replay", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_record_digests_itself_without_its_own_digest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = write(capsys, tmp_path, "production[eu-west]")
    body = {k: v for k, v in data.items() if k != "report_digest"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    assert data["report_digest"] == hashlib.sha256(canonical).hexdigest()


def test_the_record_names_the_needed_steps_with_unknown_digests(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = write(capsys, tmp_path, "production[eu-west]")
    # green.yml carries no digests of earlier records, so each is unknown (null), never guessed.
    assert data["needs_records"] == {"go-no-go": None}


def test_the_record_names_the_digests_the_facts_carry_for_its_needs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import yaml

    facts = yaml.safe_load(Path(GREEN).read_text())
    facts["records"] = {"production[eu-west]": "e" * 64, "go-no-go": "c" * 64, "build": "b" * 64}
    path = tmp_path / "facts.yml"
    path.write_text(yaml.safe_dump(facts))
    main(["check", "production[us-east]", "--sop", SOP, "--facts", str(path), "--report-dir",
          str(tmp_path / "r")])  # fmt: skip
    capsys.readouterr()
    data = json.loads((tmp_path / "r" / "sopgate-report.json").read_text())
    # Only the steps it needed, each with the digest the facts name (build is no need of it).
    assert data["needs_records"] == {"go-no-go": "c" * 64, "production[eu-west]": "e" * 64}
    assert data["facts"]["records"] == facts["records"]
    assert replay(capsys, tmp_path / "r" / "sopgate-report.json")[0] == 0


def test_each_step_records_its_approvers_and_done_time(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = write(capsys, tmp_path, "go-no-go")
    steps = {s["id"]: s for s in data["steps"]}  # type: ignore[attr-defined]
    assert steps["go-no-go"]["approvers"] == ["bob", "rita"]
    assert steps["go-no-go"]["done_at"] == "2026-11-26T08:10:00Z"
    assert steps["security-review"]["approvers"] == ["sec-bob"]
    assert steps["production[eu-west]"]["done_at"] is None


def test_replay_names_an_edit_the_evaluation_cannot_see(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = write(capsys, tmp_path, "production[eu-west]")
    data["needs_records"] = {"go-no-go": "0" * 64}
    (tmp_path / "sopgate-report.json").write_text(json.dumps(data))
    code, _out, err = replay(capsys, tmp_path / "sopgate-report.json")
    assert code == 1
    assert "the record was edited after it was written (report_digest differs)" in err


def test_replay_names_a_changed_approver(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = write(capsys, tmp_path, "go-no-go")
    for step in data["steps"]:  # type: ignore[attr-defined]
        if step["id"] == "go-no-go":
            step["approvers"] = ["rita", "mallory"]
    body = {k: v for k, v in data.items() if k != "report_digest"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    data["report_digest"] = hashlib.sha256(canonical).hexdigest()  # a careful forger
    (tmp_path / "sopgate-report.json").write_text(json.dumps(data))
    (tmp_path / "sopgate-attestation.json").unlink()
    code, _out, err = replay(capsys, tmp_path / "sopgate-report.json")
    assert code == 1
    assert "step results differ: go-no-go" in err


def test_a_record_written_before_digests_and_approvers_still_replays(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = write(capsys, tmp_path, "go-no-go")
    for key in ("report_digest", "needs_records"):
        del data[key]
    for step in data["steps"]:  # type: ignore[attr-defined]
        del step["approvers"], step["done_at"]
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "sopgate-report.json").write_text(json.dumps(data))
    code, out, _err = replay(capsys, tmp_path / "old" / "sopgate-report.json")
    assert code == 0
    assert out.startswith("replay confirmed: decision open for go-no-go, 11 step results")


def test_a_record_is_built_once_for_its_digest_and_its_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A gate that publishes (its status names the record's digest) and writes the record
    builds it once; another evaluation gets its own record, never the last one's."""
    from sopgate import report
    from sopgate.evaluate import Evaluation, evaluate
    from sopgate.facts import read_facts
    from sopgate.sop.load import read_sop

    built: list[object] = []
    real = report._record

    def counted(evaluation: Evaluation) -> dict[str, object]:
        built.append(evaluation)
        return real(evaluation)

    monkeypatch.setattr(report, "_record", counted)
    loaded = read_sop(SOP)
    facts = read_facts(GREEN)
    first = evaluate(loaded, facts, "production[eu-west]")
    digest = report.record_digest(first)
    files = report.report_files(first)
    assert built == [first]
    assert json.loads(files["sopgate-report.json"])["report_digest"] == digest
    mine = report.record(first)
    mine["report_digest"] = "changed"  # a caller's change does not reach the next caller
    assert report.record(first)["report_digest"] == digest

    other = evaluate(loaded, facts, "go-no-go")
    assert report.record_digest(other) != digest
    assert built == [first, other]
