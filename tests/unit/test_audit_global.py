"""``sopgate audit`` of the global release (examples/global): four regions in three waves,
each released by its own approvers inside its own local window. The whole deployment is
written by real ``check`` runs, then broken in each way an auditor must notice."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sopgate.attest import attestation_files
from sopgate.cli import main
from sopgate.facts import Facts
from sopgate.report import report_digest

SOP = "examples/global/.sopgate.yml"
SHA = "1e99ce9a5ab3bd3df6b4e4e9a0a2d54e0c7a6b11"
EVAL = {"metrics": {"auc": 0.88}, "fairness": {"max_gap": 0.02}}


def job(name: str, at: str, app: str = "github-actions") -> dict[str, Any]:
    return {"name": name, "app": app, "state": "success", "at": at}


def signoff(user: str, step: str, at: str) -> dict[str, Any]:
    return {"user": user, "source": "signoff", "step": step, "state": "approved", "at": at}


#: What happened, in order: (the time of the gate's check, the step it gated, the entries
#: that appeared just before it). Tuesday 24 to Thursday 26 November 2026 (no DST anywhere
#: involved: Dublin UTC+0, New York UTC-5, Oregon UTC-8, Mumbai UTC+5:30). Each region's
#: production gate runs at 10:00 local, except Mumbai at 15:30 local, inside its window.
DEPLOYMENT: list[tuple[str, str, dict[str, list[dict[str, Any]]]]] = [
    ("2026-11-24T09:00:00Z", "build", {"checks": [job("model-eval", "2026-11-24T08:30:00Z")]}),
    (
        "2026-11-24T10:00:00Z",
        "canary[eu-west]",
        {"checks": [job("build-image", "2026-11-24T09:30:00Z")]},
    ),
    ("2026-11-24T10:05:00Z", "canary[us-east]", {}),
    ("2026-11-24T10:10:00Z", "canary[us-west]", {}),
    ("2026-11-24T10:15:00Z", "canary[ap-south]", {}),
    (
        "2026-11-25T10:00:00Z",  # 10:00 in Dublin
        "production[eu-west]",
        {
            "checks": [
                job("canary (eu-west)", "2026-11-24T10:30:00Z"),
                job("canary (us-east)", "2026-11-24T10:35:00Z"),
                job("canary (us-west)", "2026-11-24T10:40:00Z"),
                job("canary (ap-south)", "2026-11-24T10:45:00Z"),
            ],
            "approvals": [
                signoff("rita", "go-no-go", "2026-11-24T12:00:00Z"),
                # Signed off ahead of their wave (after: any).
                signoff("asha", "production[ap-south]", "2026-11-24T13:00:00Z"),
                signoff("eva", "production[eu-west]", "2026-11-25T08:00:00Z"),
            ],
        },
    ),
    (
        "2026-11-25T15:00:00Z",  # 10:00 in New York
        "production[us-east]",
        {
            "checks": [job("deploy-production (eu-west)", "2026-11-25T10:30:00Z")],
            "approvals": [
                signoff("ulf", "production[us-east]", "2026-11-25T14:00:00Z"),
                signoff("uma", "production[us-east]", "2026-11-25T14:30:00Z"),
            ],
        },
    ),
    (
        "2026-11-25T18:00:00Z",  # 10:00 in Oregon
        "production[us-west]",
        {
            "checks": [job("deploy-production (us-east)", "2026-11-25T15:30:00Z")],
            "approvals": [signoff("wes", "production[us-west]", "2026-11-25T17:30:00Z")],
        },
    ),
    (
        "2026-11-26T10:00:00Z",  # 15:30 in Mumbai
        "production[ap-south]",
        {"checks": [job("deploy-production (us-west)", "2026-11-25T18:30:00Z")]},
    ),
    (
        "2026-11-26T11:00:00Z",
        "watch",
        {
            "checks": [
                job("deploy-production (ap-south)", "2026-11-26T10:30:00Z"),
                job("slo-burn-global", "2026-11-26T10:55:00Z", app="status"),
            ]
        },
    ),
]
STEPS = [step for _at, step, _new in DEPLOYMENT]
REGIONS = ("eu-west", "us-east", "us-west", "ap-south")


def facts_at(
    upto: int, *, observed: str | None = None, records: dict[str, str] | None = None
) -> dict[str, Any]:
    clock, _step, _new = DEPLOYMENT[upto]
    data: dict[str, Any] = {
        "facts": 1,
        "platform": "github",
        "repository": "acme/search-ranking",
        "commit": SHA,
        "change": {
            "id": 311,
            "author": "dave",
            "url": "https://example.invalid/acme/search-ranking/pull/311",
            "pushed_at": "2026-11-24T08:00:00Z",
        },
        "commits": [
            {"sha": SHA, "author": "dave", "committer": "dave", "at": "2026-11-24T07:55:00Z"}
        ],
        "initiator": "sam",
        "observed_at": observed or clock,
        "approvals": [],
        "checks": [],
        "files": ["docs/model-card.md", "reports/eval.json"],
        "documents": {"reports/eval.json": EVAL},
        "groups": {"acme/sre": ["sam", "sid"], "acme/ds": ["dora"]},
    }
    for _clock, _step, new in DEPLOYMENT[: upto + 1]:
        for key, entries in new.items():
            data[key] = data[key] + entries
    if records:  # what the earlier gates' commit statuses named
        data["records"] = records
    return data


def gate(
    capsys: pytest.CaptureFixture[str],
    folder: Path,
    upto: int,
    observed: str | None = None,
    records: dict[str, str] | None = None,
) -> Path:
    """One gate run: ``sopgate check STEP --facts F --report-dir D`` through the CLI, its
    facts naming the ``records`` the earlier gates' statuses carry."""
    step = DEPLOYMENT[upto][1]
    folder.mkdir(parents=True)
    facts = folder.parent / f"{folder.name}-facts.yml"
    facts.write_text(yaml.safe_dump(facts_at(upto, observed=observed, records=records)))
    code = main(["check", step, "--sop", SOP, "--facts", str(facts), "--report-dir", str(folder)])
    _out, err = capsys.readouterr()
    assert code == 0, err
    return folder / "sopgate-report.json"


def deployment(capsys: pytest.CaptureFixture[str], root: Path) -> dict[str, Path]:
    """The downloaded artifacts of a whole deployment: one folder per gate run. Each gate's
    status names its record's digest, so each later gate's facts carry the digests of the
    records before it (``records``), as the platforms gather them."""
    paths: dict[str, Path] = {}
    records: dict[str, str] = {}
    for n, step in enumerate(STEPS):
        paths[step] = gate(capsys, root / f"sopgate-report-{n}", n, records=dict(records))
        records[step] = json.loads(paths[step].read_text())["report_digest"]
    return paths


def audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["audit", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_plan_order_is_the_order_of_the_gates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--sop", SOP]) == 0
    out, _err = capsys.readouterr()
    gated = [
        line.split()[0] for line in out.splitlines() if line.startswith("  ") and " - " in line
    ]
    assert [k for k in gated if k.startswith(("build", "canary", "production"))] == STEPS[:-1]


def test_the_global_release_passes_and_its_dossier_tells_the_story(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    records = deployment(capsys, tmp_path / "a")
    code, out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 0, err
    assert out == f"audit of commit {SHA}: 10 records (10 replay), 0 findings\n"
    assert "not chained" not in err
    data = json.loads((tmp_path / "d" / "dossier.json").read_text())
    assert (data["ok"], data["findings"], data["emergencies"]) == (True, [], [])
    assert data["notes"] == []
    # The chain: each record names, by digest, the record of each step it needed that has
    # one (go-no-go, a decision nobody gated, has none).
    digest = {step: json.loads(path.read_text())["report_digest"] for step, path in records.items()}
    named = {s: json.loads(p.read_text())["needs_records"] for s, p in records.items()}
    assert named["production[us-west]"] == {
        "go-no-go": None,
        "canary[us-west]": digest["canary[us-west]"],
        "production[eu-west]": digest["production[eu-west]"],
    }
    assert named["watch"] == {f"production[{r}]": digest[f"production[{r}]"] for r in REGIONS}
    assert data["system"]["regions"] == ["eu-west", "us-east", "us-west", "ap-south"]
    assert data["last_observed_at"] == "2026-11-26T11:00:00Z"
    steps = {s["key"]: s for s in data["sequence"]}
    # The waves' order: the sequence, and each wave needs the one before it.
    production = [k for k in steps if k.startswith("production[")]
    assert production == [
        "production[eu-west]",
        "production[us-east]",
        "production[us-west]",
        "production[ap-south]",
    ]
    assert steps["production[eu-west]"]["needs"] == ["go-no-go", "canary[eu-west]"]
    assert steps["production[us-west]"]["needs"] == [
        "go-no-go",
        "canary[us-west]",
        "production[eu-west]",
    ]
    assert steps["production[ap-south]"]["needs"] == [
        "go-no-go",
        "canary[ap-south]",
        "production[us-east]",
        "production[us-west]",
    ]
    assert steps["go-no-go"]["needs"] == ["canary[eu-west]"]
    assert [s["state"] for s in data["sequence"]] == ["done"] * 12
    # Each region instance: its own approvers, its gate's time, when its deployment finished.
    released = {
        key: (s["approvers"], [g["observed_at"] for g in s["gates"]], s["done_at"])
        for key, s in steps.items()
        if key.startswith("production[")
    }
    assert released == {
        "production[eu-west]": (["eva"], ["2026-11-25T10:00:00Z"], "2026-11-25T10:30:00Z"),
        "production[us-east]": (["ulf"], ["2026-11-25T15:00:00Z"], "2026-11-25T15:30:00Z"),
        "production[us-west]": (["wes"], ["2026-11-25T18:00:00Z"], "2026-11-25T18:30:00Z"),
        "production[ap-south]": (["asha"], ["2026-11-26T10:00:00Z"], "2026-11-26T10:30:00Z"),
    }
    assert steps["production[ap-south]"]["gates"][0]["record"] == str(
        records["production[ap-south]"]
    )
    assert steps["go-no-go"]["approvers"] == ["rita"]
    assert steps["go-no-go"]["done_at"] == "2026-11-24T12:00:00Z"
    assert steps["canary[us-west]"]["jobs"][0]["entries"][0]["at"] == "2026-11-24T10:40:00Z"
    # The thresholds and the values that met them.
    assert steps["model-evaluation"]["evidence"][1] == {
        "pattern": "reports/eval.json",
        "files": ["reports/eval.json"],
        "require": {"metrics.auc": ">= 0.82", "fairness.max_gap": "<= 0.05"},
        "values": {"reports/eval.json": {"metrics.auc": 0.88, "fairness.max_gap": 0.02}},
    }

    markdown = (tmp_path / "d" / "dossier.md").read_text()
    assert markdown.startswith("# Deployment dossier: Global search-ranking release\n")
    assert "✅ No findings" in markdown
    assert "- Regions: eu-west, us-east, us-west, ap-south" in markdown
    assert (
        "| 9 | production[us-east] (Production) | sre | done | open at 2026-11-25T15:00:00Z "
        "(started by sam) | ulf | 2026-11-25T15:30:00Z |"
    ) in markdown
    assert (
        "| 11 | production[ap-south] (Production) | sre | done | open at 2026-11-26T10:00:00Z "
        "(started by sam) | asha | 2026-11-26T10:30:00Z |"
    ) in markdown
    assert (
        "- evidence reports/eval.json: reports/eval.json; requires metrics.auc >= 0.82, "
        "fairness.max_gap <= 0.05; reports/eval.json: metrics.auc = 0.88, "
        "fairness.max_gap = 0.02\n"
    ) in markdown
    assert "    production__eu_west --> production__us_east\n" in markdown
    assert "    production__us_west --> production__ap_south\n" in markdown


def test_an_altered_region_record_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    records = deployment(capsys, tmp_path / "a")
    path = records["production[us-west]"]
    data = json.loads(path.read_text())
    # Who released Oregon, rewritten after the fact.
    for approval in data["facts"]["approvals"]:
        if approval["user"] == "wes":
            approval["user"] = "mallory"
    path.write_text(json.dumps(data))
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 1
    assert f"  - record does not replay: {path}: replay does not confirm" in err
    assert "the facts snapshot was altered" in err
    assert json.loads((tmp_path / "d" / "dossier.json").read_text())["ok"] is False


def test_a_removed_region_record_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    records = deployment(capsys, tmp_path / "a")
    removed = json.loads(records["production[us-east]"].read_text())["report_digest"]
    shutil.rmtree(records["production[us-east]"].parent)
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 1
    assert (
        "  - no record of production[us-east], a step with jobs (deploy-production (us-east)); "
        "state at the last record: done\n"
    ) in err
    # Both later gates that need Virginia's release say so: the next wave and the watch,
    # each twice: by the times, and by the digest its record names.
    for step, at in (
        ("production[ap-south]", "2026-11-26T10:00:00Z"),
        ("watch", "2026-11-26T11:00:00Z"),
    ):
        assert (
            f"  - broken chain: {step} opened at {at} ({records[step]}) with no record of an "
            "open gate of production[us-east], which it needs\n"
        ) in err
        assert (
            f"  - broken chain: the record of {step} ({records[step]}) names a record of "
            f"production[us-east] (digest {removed[:12]}) that is not in the trail\n"
        ) in err
    assert err.count("  - ") == 5
    markdown = (tmp_path / "d" / "dossier.md").read_text()
    assert "**🔴 5 finding(s): this trail is not complete.**" in markdown


def test_a_first_wave_and_a_third_wave_record_in_the_wrong_order_are_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Genuine runs whose times are swapped: Mumbai's gate (wave 3) was checked on Wednesday
    # at 10:00 UTC and Dublin's (wave 1) on Thursday, both inside their local windows.
    first, third = STEPS.index("production[eu-west]"), STEPS.index("production[ap-south]")
    swap = {first: DEPLOYMENT[third][0], third: DEPLOYMENT[first][0]}
    root = tmp_path / "a"
    path = {
        step: gate(capsys, root / f"r{n}", n, observed=swap.get(n)) for n, step in enumerate(STEPS)
    }
    code, _out, err = audit(capsys, str(root), "-o", str(tmp_path / "d"))
    assert code == 1
    ap_south, eu_west = path["production[ap-south]"], path["production[eu-west]"]
    for region, at in (("us-east", "15:00"), ("us-west", "18:00")):
        assert (
            f"  - out of order: production[{region}] opened at 2026-11-25T{at}:00Z "
            f"({path[f'production[{region}]']}) before production[eu-west], which it needs, "
            f"opened at 2026-11-26T10:00:00Z ({eu_west})\n"
        ) in err
        assert (
            f"  - out of order: production[ap-south] opened at 2026-11-25T10:00:00Z "
            f"({ap_south}) before production[{region}], which it needs, opened at "
            f"2026-11-25T{at}:00Z ({path[f'production[{region}]']})\n"
        ) in err
    assert err.count("  - ") == 4


def test_swapping_the_times_inside_a_first_and_a_third_wave_record_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The same swap made by editing the records: neither replays any more.
    records = deployment(capsys, tmp_path / "a")
    first, third = (records[f"production[{r}]"] for r in ("eu-west", "ap-south"))
    one, two = (json.loads(p.read_text()) for p in (first, third))
    one["facts"]["observed_at"], two["facts"]["observed_at"] = (
        two["facts"]["observed_at"],
        one["facts"]["observed_at"],
    )
    first.write_text(json.dumps(one))
    third.write_text(json.dumps(two))
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 1
    assert f"  - record does not replay: {first}: replay does not confirm" in err
    assert f"  - record does not replay: {third}: replay does not confirm" in err


def forge(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite a record so that it still replays: facts digest, report_digest and the
    attestation recomputed. Only the chain can tell it from the record the gate wrote."""
    data = json.loads(path.read_text())
    change(data)
    data["facts_sha256"] = Facts.model_validate(data["facts"]).digest()
    data["report_digest"] = report_digest(data)
    path.write_text(json.dumps(data, indent=2) + "\n")
    for name, content in attestation_files(data, None).items():
        (path.parent / name).write_text(content)


def test_a_rewritten_record_that_replays_breaks_the_chain(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    records = deployment(capsys, tmp_path / "a")
    path = records["production[us-east]"]
    before = json.loads(path.read_text())["report_digest"]
    forge(path, lambda data: data["facts"]["notes"].append("released by the book"))
    after = json.loads(path.read_text())["report_digest"]
    assert main(["replay", str(path)]) == 0
    capsys.readouterr()
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 1
    # Both records that needed Virginia's release name the one its gate wrote.
    for step in ("production[ap-south]", "watch"):
        assert (
            f"  - broken chain: the record of {step} ({records[step]}) names a record of "
            f"production[us-east] with digest {before[:12]}, but the trail's record of "
            f"production[us-east] has digest {after[:12]} ({path})\n"
        ) in err
    assert err.count("  - ") == 2
    assert "not chained" not in err


def test_a_record_swapped_for_another_genuine_run_breaks_the_chain(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Canary eu-west's gate ran twice; the record kept is not the one production eu-west's
    facts named (another run's, two minutes later): the chain says so."""
    records = deployment(capsys, tmp_path / "a")
    named = json.loads(records["canary[eu-west]"].read_text())["report_digest"]
    shutil.rmtree(records["canary[eu-west]"].parent)
    other = gate(capsys, tmp_path / "a" / "rerun", 1, observed="2026-11-24T10:02:00Z")
    kept = json.loads(other.read_text())["report_digest"]
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert code == 1
    assert err.count("  - ") == 1
    assert (
        f"  - broken chain: the record of production[eu-west] ({records['production[eu-west]']}) "
        f"names a record of canary[eu-west] with digest {named[:12]}, but the trail's record "
        f"of canary[eu-west] has digest {kept[:12]} ({other})\n"
    ) in err


def test_a_record_without_the_digests_of_its_needs_is_noted_as_not_chained(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A gate whose facts named no record (an older sopgate, a status without a digest) is
    not a finding: the order of the times still holds. The dossier says it is not chained."""
    records = deployment(capsys, tmp_path / "a")
    shutil.rmtree(records["watch"].parent)
    bare = gate(capsys, tmp_path / "a" / "bare", STEPS.index("watch"))
    code, _out, err = audit(capsys, str(tmp_path / "a"), "-o", str(tmp_path / "d"))
    assert (code, err.count("  - ")) == (0, 0), err
    note = (
        f"not chained: the record of watch ({bare}) names no digest for the records of "
        "production[eu-west], production[us-east], production[us-west], production[ap-south] "
        "(its facts carried none); only their times order them"
    )
    assert f"  note: {note}\n" in err
    assert json.loads((tmp_path / "d" / "dossier.json").read_text())["notes"] == [note]
