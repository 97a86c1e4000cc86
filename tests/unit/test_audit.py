"""``sopgate audit``: a whole deployment of the example SOP, written by real ``check`` runs,
then broken in each way an auditor must notice."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from sopgate.cli import main

SOP = "examples/.sopgate.yml"
SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
OTHER = "1111111111111111111111111111111111111111"
DAY = "2026-11-26"  # a Thursday, inside the production window (09:00-16:00 Berlin)


def at(clock: str) -> str:
    return f"{DAY}T{clock}:00Z"


def ci(name: str, clock: str, app: str = "github-actions") -> dict[str, Any]:
    return {"name": name, "app": app, "state": "success", "at": at(clock)}


#: What happened, in order: (the time of the gate's check, the step it gated, the entries
#: that appeared just before it). Each gate sees everything that happened before it.
DEPLOYMENT: list[tuple[str, str, dict[str, list[dict[str, Any]]]]] = [
    (
        "08:00",
        "build",
        {
            "checks": [
                ci("data-validation", "07:00"),
                ci("model-eval", "07:10"),
                ci("dependency-scan", "07:15"),
                ci("terraform-plan", "07:20"),
            ],
            "approvals": [
                {
                    "user": "sec-bob",
                    "source": "review",
                    "state": "approved",
                    "sha": SHA,
                    "at": at("07:30"),
                }
            ],
        },
    ),
    ("08:20", "staging", {"checks": [ci("build-image", "08:10")]}),
    (
        "08:50",
        "go-no-go",
        {
            "checks": [ci("deploy-staging", "08:30")],
            "approvals": [
                {
                    "user": "rita",
                    "source": "signoff",
                    "step": "go-no-go",
                    "state": "approved",
                    "at": at("08:40"),
                },
                {
                    "user": "bob",
                    "source": "signoff",
                    "step": "go-no-go",
                    "state": "approved",
                    "at": at("08:45"),
                },
            ],
        },
    ),
    ("09:00", "production[eu-west]", {}),
    ("09:30", "production[us-east]", {"checks": [ci("deploy-production (eu-west)", "09:20")]}),
    ("10:00", "production[ap-south]", {"checks": [ci("deploy-production (us-east)", "09:50")]}),
    (
        "11:00",
        "post-deploy-watch",
        {
            "checks": [
                ci("deploy-production (ap-south)", "10:20"),
                ci("canary-metrics-eu", "10:50", app="status"),
            ]
        },
    ),
]


def facts_at(
    upto: int,
    *,
    observed: str | None = None,
    commit: str = SHA,
    documents: dict[str, Any] | None = None,
) -> dict[str, Any]:
    clock, _step, _new = DEPLOYMENT[upto]
    data: dict[str, Any] = {
        "facts": 1,
        "platform": "github",
        "repository": "acme/fraud-model",
        "commit": commit,
        "change": {"id": 42, "author": "dave", "url": "https://example.invalid/pull/42"},
        "initiator": "rob",
        "observed_at": at(observed or clock),
        "approvals": [],
        "checks": [],
        "files": ["docs/model-card.md", "reports/validation/auc.json", "reports/data/p.json"],
        "groups": {"acme/sre": ["alice", "bob"], "acme/ds": ["erin"], "acme/ml-platform": ["mona"]},
    }
    if documents is not None:
        data["documents"] = documents
    for _clock, _step, new in DEPLOYMENT[: upto + 1]:
        for key, entries in new.items():
            data[key] = data[key] + entries
    return data


def gate(
    capsys: pytest.CaptureFixture[str],
    folder: Path,
    upto: int,
    expect: int = 0,
    sop: str = SOP,
    **change: Any,
) -> Path:
    """One gate run: ``sopgate check STEP --facts F --report-dir D`` through the CLI."""
    step = DEPLOYMENT[upto][1]
    folder.mkdir(parents=True)
    facts = folder.parent / f"{folder.name}-facts.yml"
    facts.write_text(yaml.safe_dump(facts_at(upto, **change)))
    code = main(["check", step, "--sop", sop, "--facts", str(facts), "--report-dir", str(folder)])
    _out, err = capsys.readouterr()
    assert code == expect, err
    return folder / "sopgate-report.json"


def deployment(capsys: pytest.CaptureFixture[str], root: Path) -> dict[str, Path]:
    """The downloaded artifacts of a whole deployment: one folder per gate run."""
    return {
        DEPLOYMENT[n][1]: gate(capsys, root / f"sopgate-report-{n}", n)
        for n in range(len(DEPLOYMENT))
    }


def audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["audit", *args])
    out, err = capsys.readouterr()
    return code, out, err


def redigest(path: Path, data: dict[str, Any]) -> None:
    """Write an edited record with a fresh report_digest: a careful forger."""
    body = {k: v for k, v in data.items() if k != "report_digest"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    data["report_digest"] = hashlib.sha256(canonical).hexdigest()
    path.write_text(json.dumps(data))


def test_a_complete_deployment_passes_and_its_dossier_tells_the_story(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    deployment(capsys, tmp_path / "artifacts")
    out_dir = tmp_path / "dossier"
    code, out, err = audit(capsys, str(tmp_path / "artifacts"), "-o", str(out_dir))
    assert code == 0, err
    assert out == f"audit of commit {SHA}: 7 records (7 replay), 0 findings\n"
    data = json.loads((out_dir / "dossier.json").read_text())
    assert data["ok"] is True
    assert data["findings"] == []
    assert data["system"]["system"] == "fraud-scoring"
    assert data["system"]["regions"] == ["eu-west", "us-east", "ap-south"]
    sop_sha = hashlib.sha256(Path(SOP).read_text().encode()).hexdigest()
    assert data["sop"]["sha256"] == sop_sha
    assert (data["sop"]["last_reviewed"], data["sop"]["review_due"]) == ("2026-10-01", "2026-12-30")
    steps = {s["key"]: s for s in data["sequence"]}
    assert [s["state"] for s in data["sequence"]] == ["done"] * 11
    assert steps["go-no-go"]["owner"] == "release-managers"
    assert steps["go-no-go"]["approvers"] == ["bob", "rita"]
    assert steps["go-no-go"]["done_at"] == "2026-11-26T08:45:00Z"
    assert steps["security-review"]["approvers"] == ["sec-bob"]
    assert steps["staging"]["gates"] == [
        {
            "decision": "open",
            "observed_at": "2026-11-26T08:20:00Z",
            "initiator": "rob",
            "record": str(tmp_path / "artifacts" / "sopgate-report-1" / "sopgate-report.json"),
        }
    ]
    assert steps["model-validation"]["checks"] == [
        {
            "rule": "model-eval (github-actions)",
            "pattern": "model-eval",
            "entries": [
                {
                    "name": "model-eval",
                    "app": "github-actions",
                    "state": "success",
                    "at": "2026-11-26T07:10:00Z",
                }
            ],
        }
    ]
    assert steps["model-validation"]["evidence"][1]["files"] == ["reports/validation/auc.json"]
    assert steps["production[us-east]"]["jobs"][0]["entries"][0]["state"] == "success"
    assert data["emergencies"] == []

    markdown = (out_dir / "dossier.md").read_text()
    assert markdown.startswith("# Deployment dossier: Fraud-scoring model release\n")
    assert "✅ No findings" in markdown
    assert f"- sha256: `{sop_sha}`" in markdown
    assert "- Last reviewed: 2026-10-01 (every 90 days; due 2026-12-30)" in markdown
    assert (
        "| 7 | go-no-go (Go / no-go) | release-managers | done | open at "
        "2026-11-26T08:50:00Z (started by rob) | bob, rita | 2026-11-26T08:45:00Z |"
    ) in markdown
    assert "- check model-eval (github-actions): success at 2026-11-26T07:10:00Z\n" in markdown
    assert (
        "- check canary-metrics* (status): canary-metrics-eu: success at 2026-11-26T10" in markdown
    )
    assert "- staging: Redeploy the previous model version to staging." in markdown
    assert "## Emergency overrides\n\nNone." in markdown
    page = (out_dir / "dossier.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "@media print" in page
    assert "<script" not in page and "http" not in page.split("<body>")[0]  # self-contained
    assert ('<pre class="mermaid">flowchart TD' in page) or ('<div class="diagram"><svg' in page)
    assert '<p class="ok">No findings' in page


def test_an_altered_record_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    records = deployment(capsys, tmp_path / "a")
    staging = records["staging"]
    data = json.loads(staging.read_text())
    data["facts"]["initiator"] = "someone-else"
    staging.write_text(json.dumps(data))
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 1
    assert f"  - record does not replay: {staging}: replay does not confirm" in err
    assert "the facts snapshot was altered" in err
    dossier = json.loads((tmp_path / "d" / "dossier.json").read_text())
    assert dossier["ok"] is False
    page = (tmp_path / "d" / "dossier.html").read_text()
    assert '<div class="findings">' in page.split("<h2>System and scope</h2>")[0]


def test_a_removed_record_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    records = deployment(capsys, tmp_path / "a")
    shutil.rmtree(records["staging"].parent)
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 1
    assert (
        "  - no record of staging, a step with jobs (deploy-staging); state at the last "
        "record: done\n"
    ) in err
    assert (
        f"  - broken chain: go-no-go opened at 2026-11-26T08:50:00Z ({records['go-no-go']}) "
        "with no record of an open gate of staging, which it needs\n"
    ) in err
    markdown = (tmp_path / "d" / "dossier.md").read_text()
    assert "**🔴 2 finding(s): this trail is not complete.**" in markdown
    assert "- 🔴 no record of staging" in markdown


def test_two_records_in_the_wrong_order_are_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Genuine runs whose times are swapped: staging's gate was checked before build's gate.
    root = tmp_path / "a"
    for n in range(len(DEPLOYMENT)):
        observed = {0: "08:20", 1: "08:00"}.get(n)
        gate(capsys, root / f"r{n}", n, observed=observed)
    code, _out, err = audit(capsys, str(root), "-o", str(tmp_path / "d"))
    assert code == 1
    staging, build = (root / r / "sopgate-report.json" for r in ("r1", "r0"))
    assert (
        f"  - out of order: staging opened at 2026-11-26T08:00:00Z ({staging}) before build, "
        f"which it needs, opened at 2026-11-26T08:20:00Z ({build})\n"
    ) in err
    assert err.count("  - ") == 1


def test_swapping_the_times_inside_two_records_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    records = deployment(capsys, tmp_path / "a")
    first, second = (json.loads(records[s].read_text()) for s in ("build", "staging"))
    first["facts"]["observed_at"], second["facts"]["observed_at"] = (
        second["facts"]["observed_at"],
        first["facts"]["observed_at"],
    )
    records["build"].write_text(json.dumps(first))
    records["staging"].write_text(json.dumps(second))
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 1
    assert f"record does not replay: {records['build']}" in err
    assert f"record does not replay: {records['staging']}" in err


def test_records_of_another_commit_are_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    deployment(capsys, tmp_path / "a")
    # The review approved the deployed commit, not this one: this gate stayed closed.
    stray = gate(capsys, tmp_path / "a" / "stray", 3, expect=1, commit=OTHER)
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 1
    assert "  - records of different commits (4b825dc642cb: " in err
    assert f"; 111111111111: {stray})" in err


def test_a_needed_record_that_is_not_in_the_trail_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    records = deployment(capsys, tmp_path / "a")
    path = records["staging"]
    data = json.loads(path.read_text())
    data["needs_records"] = {"build": "0" * 64}
    redigest(path, data)
    (path.parent / "sopgate-attestation.json").unlink()
    build = json.loads(records["build"].read_text())["report_digest"]
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 1
    assert (
        f"  - broken chain: the record of staging ({path}) names a record of build with "
        f"digest 000000000000, but the trail's record of build has digest {build[:12]} "
        f"({records['build']})\n"
    ) in err


def rename_needs(path: Path, needs: dict[str, str]) -> None:
    """Make the record at ``path`` name ``needs`` (a forger who also drops the attestation)."""
    data = json.loads(path.read_text())
    data["needs_records"] = needs
    redigest(path, data)
    (path.parent / "sopgate-attestation.json").unlink()


def test_a_named_record_of_a_closed_gate_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    records = deployment(capsys, tmp_path / "a")
    # An earlier run of production eu-west's gate, closed: go-no-go was not signed off yet.
    closed = tmp_path / "a" / "early"
    facts = tmp_path / "a" / "early-facts.yml"
    facts.write_text(yaml.safe_dump(facts_at(1, observed="08:25")))
    args = ["check", "production[eu-west]", "--sop", SOP, "--facts", str(facts)]
    assert main([*args, "--report-dir", str(closed)]) == 1
    capsys.readouterr()
    digest = json.loads((closed / "sopgate-report.json").read_text())["report_digest"]
    path = records["production[us-east]"]
    rename_needs(path, {"production[eu-west]": digest})
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 1
    assert err.count("  - ") == 1
    assert (
        f"  - broken chain: the record of production[us-east] ({path}) names a record of "
        f"production[eu-west] whose gate did not open ({closed / 'sopgate-report.json'})\n"
    ) in err


def test_a_named_record_observed_after_the_record_naming_it_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    records = deployment(capsys, tmp_path / "a")
    # staging names, as its build's, a build record observed after staging's own gate.
    late = gate(capsys, tmp_path / "a" / "late", 0, observed="08:30")
    digest = json.loads(late.read_text())["report_digest"]
    path = records["staging"]
    rename_needs(path, {"build": digest})
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 1
    assert err.count("  - ") == 1
    assert (
        f"  - out of order: the record of staging ({path}), observed at 2026-11-26T08:20:00Z, "
        f"names a record of build observed at 2026-11-26T08:30:00Z ({late})\n"
    ) in err


def test_records_without_digests_are_noted_as_not_chained(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    records = deployment(capsys, tmp_path / "a")  # facts without records: no digests
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert (code, err.count("  - ")) == (0, 0)
    assert (
        f"  note: not chained: the record of staging ({records['staging']}) names no digest "
        "for the records of build (its facts carried none); only their times order them\n"
    ) in err
    # go-no-go has a record of an open gate here, so production eu-west's link is loose too
    assert err.count("  note: not chained: ") == 6
    # the dossier a reviewer reads says it too, apart from the findings
    markdown = (tmp_path / "d" / "dossier.md").read_text()
    assert "Notes (not findings):\n\n- not chained: the record of staging (" in markdown
    assert markdown.count("\n- not chained: ") == 6
    html = (tmp_path / "d" / "dossier.html").read_text()
    assert html.count("<li>not chained: the record of ") == 6


def test_a_needed_record_named_by_its_digest_passes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    records = deployment(capsys, tmp_path / "a")
    build = json.loads(records["build"].read_text())
    path = records["staging"]
    data = json.loads(path.read_text())
    data["needs_records"] = {"build": build["report_digest"]}
    redigest(path, data)
    (path.parent / "sopgate-attestation.json").unlink()
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert (code, err.count("  - ")) == (0, 0)


def test_no_records_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, err = audit(capsys, str(tmp_path), "-o", str(tmp_path / "d"))
    assert code == 2
    assert f"no sopgate-report.json found under {tmp_path}" in err


def test_the_diagram_is_inline_svg_when_mermaid_is_installed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in for the Mermaid CLI with its calling convention: -i IN -o OUT.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "mmdc"
    fake.write_text(
        "#!/bin/sh\n"
        'while [ "$#" -gt 0 ]; do case "$1" in -o) out="$2"; shift;; esac; shift; done\n'
        'printf \'<?xml version="1.0"?>\\n<svg id="drawn"><g/></svg>\' > "$out"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    deployment(capsys, tmp_path / "a")
    code, _out, _err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 0
    page = (tmp_path / "d" / "dossier.html").read_text()
    assert '<div class="diagram"><svg id="drawn"><g/></svg></div>' in page
    assert '<pre class="mermaid">' not in page


def test_emergency_overrides_are_listed_in_red(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from dataclasses import replace

    from sopgate.audit import gather
    from sopgate.dossier import build
    from sopgate.dossier_text import render_html, render_markdown

    deployment(capsys, tmp_path / "a")
    trail = gather([str(tmp_path / "a")])
    # Facts and records as the emergency feature writes them (DESIGN.md "Emergency").
    last = trail.entries[-1]
    data = json.loads(json.dumps(last.data))
    data["emergency"] = True
    data["facts"]["approvals"].append(
        {
            "user": "alice",
            "source": "emergency",
            "step": "post-deploy-watch",
            "state": "approved",
            "reason": "fraud spike, rollback blocked",
            "at": at("10:55"),
        }
    )
    trail = replace(trail, entries=(*trail.entries[:-1], replace(last, data=data)))
    dossier = build(trail)
    assert dossier["emergencies"][0] == {
        "user": "alice",
        "step": "post-deploy-watch",
        "reason": "fraud spike, rollback blocked",
        "at": "2026-11-26T10:55:00Z",
        "opened": None,
    }
    markdown = render_markdown(dossier)
    assert (
        "- 🔴 EMERGENCY OVERRIDE by alice for post-deploy-watch at 2026-11-26T10:55:00Z: "
        "fraud spike, rollback blocked\n"
    ) in markdown
    assert (
        f"- 🔴 the gate of post-deploy-watch opened only by an emergency override ({last.path})"
    ) in markdown
    assert "EMERGENCY OVERRIDE by alice" in render_html(dossier, None)


def test_a_replay_message_becomes_one_finding_line() -> None:
    from sopgate.audit import one_line

    text = "r.json: replay does not confirm the recorded decision:\n  - a\n  - b"
    assert one_line(text) == "r.json: replay does not confirm the recorded decision: a; b"
    assert one_line("r.json: not a sopgate report") == "r.json: not a sopgate report"


def test_a_record_with_a_time_without_zone_is_named_not_a_crash(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    records = deployment(capsys, tmp_path / "a")
    path = records["build"]
    data = json.loads(path.read_text())
    data["facts"]["observed_at"] = "2026-11-26T08:00:00"
    path.write_text(json.dumps(data))
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 1
    assert f"  - {path}: the record has no valid observed_at\n" in err
    assert f"  - record does not replay: {path}: " in err


def test_evidence_values_read_by_require_are_in_the_dossier(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sop = tmp_path / "sop.yml"
    sop.write_text(
        Path(SOP)
        .read_text()
        .replace(
            "evidence: [docs/model-card.md, reports/validation/*.json]",
            "evidence: [docs/model-card.md, {path: reports/validation/auc.json, require: "
            '{"metrics.auc": ">= 0.82"}}]',
        )
    )
    documents = {"reports/validation/auc.json": {"metrics": {"auc": 0.91}}}
    for n in range(len(DEPLOYMENT)):
        gate(capsys, tmp_path / "a" / f"r{n}", n, sop=str(sop), documents=documents)
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 0, err
    data = json.loads((tmp_path / "d" / "dossier.json").read_text())
    validation = next(s for s in data["sequence"] if s["key"] == "model-validation")
    assert validation["evidence"][1] == {
        "pattern": "reports/validation/auc.json",
        "files": ["reports/validation/auc.json"],
        "require": {"metrics.auc": ">= 0.82"},
        "values": {"reports/validation/auc.json": {"metrics.auc": 0.91}},
    }
    assert (
        "- evidence reports/validation/auc.json: reports/validation/auc.json; requires "
        "metrics.auc >= 0.82; reports/validation/auc.json: metrics.auc = 0.91\n"
    ) in (tmp_path / "d" / "dossier.md").read_text()
    statement = json.loads((tmp_path / "a" / "r0" / "sopgate-attestation.json").read_text())
    assert [s["name"] for s in statement["subject"]] == [
        "acme/fraud-model",
        "reports/validation/auc.json",
    ]


def test_a_malformed_record_is_a_finding_not_the_end_of_the_audit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    records = deployment(capsys, tmp_path / "a")
    path = records["staging"]
    data = json.loads(path.read_text())
    data["steps"] = [1, 2]
    path.write_text(json.dumps(data))
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 1
    assert (
        f"  - record does not replay: {path}: not a valid sopgate report: 'steps' is not a "
        "list of step objects"
    ) in err
    assert "  - no record of staging" in err
    assert (tmp_path / "d" / "dossier.html").exists()
