"""The in-toto attestation of a decision and its local DSSE signature."""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement

from sopgate.attest import PAYLOAD_TYPE, pae, sign_envelope, statement, verify_envelope
from sopgate.cli import main

SOP = "examples/.sopgate.yml"
GREEN = "examples/facts/green.yml"
SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
PREDICATE_SCHEMA = Path(__file__).parents[2] / "docs" / "attestation-predicate.schema.json"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def check(capsys: pytest.CaptureFixture[str], folder: Path, step: str, *extra: str) -> int:
    code, _out, _err = run(
        capsys, "check", step, "--sop", SOP, "--facts", GREEN, "--report-dir", str(folder), *extra
    )
    return code


def in_toto_valid(data: dict[str, Any]) -> None:
    """Validate with the in-toto attestation framework's own bindings (PyPI
    in-toto-attestation): the Statement proto rejects unknown fields, then its validate()
    applies the spec's rules (type URI, at least one subject, a digest on each, a predicate
    type and a predicate)."""
    proto = json_format.Parse(json.dumps(data), statement_pb2.Statement())
    Statement.copy_from_pb(proto).validate()


def predicate_valid(predicate: dict[str, Any]) -> None:
    """Validate against docs/attestation-predicate.schema.json (jsonschema has no stubs)."""
    jsonschema = importlib.import_module("jsonschema")
    schema = json.loads(PREDICATE_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(predicate)


def verify(capsys: pytest.CaptureFixture[str], report: Path, key: Path) -> tuple[int, str, str]:
    return run(capsys, "replay", str(report / "sopgate-report.json"), "--key", str(key))


def keys(tmp_path: Path, kind: str = "ed25519", name: str = "key") -> tuple[Path, Path]:
    private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    if kind == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    secret, public = tmp_path / f"{name}.pem", tmp_path / f"{name}.pub.pem"
    secret.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return secret, public


def test_report_dir_writes_an_in_toto_statement(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert check(capsys, tmp_path, "go-no-go") == 0
    data = json.loads((tmp_path / "sopgate-attestation.json").read_text())
    record = json.loads((tmp_path / "sopgate-report.json").read_text())
    in_toto_valid(data)
    predicate_valid(data["predicate"])
    assert data["_type"] == "https://in-toto.io/Statement/v1"
    assert data["subject"] == [{"name": "acme/fraud-model", "digest": {"gitCommit": SHA}}]
    assert data["predicateType"] == "https://sopgate.dev/attestation/decision/v1"
    predicate = data["predicate"]
    assert predicate["step"] == "go-no-go"
    assert predicate["decision"] == "open"
    assert predicate["state"] == "done"
    assert predicate["reasons"] == []
    assert predicate["approvers"] == ["bob", "rita"]
    assert predicate["sop"] == {"path": SOP, "sha256": record["sop"]["sha256"]}
    assert predicate["factsSha256"] == record["facts_sha256"]
    assert predicate["reportDigest"] == record["report_digest"]
    assert predicate["needsRecords"] == {"staging": None}
    assert predicate["observedAt"] == "2026-11-26T10:00:00Z"
    assert "emergency" not in predicate


def test_a_closed_gate_is_attested_with_its_reasons(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert check(capsys, tmp_path, "production[us-east]") == 1
    data = json.loads((tmp_path / "sopgate-attestation.json").read_text())
    record = json.loads((tmp_path / "sopgate-report.json").read_text())
    in_toto_valid(data)
    assert data["predicate"]["decision"] == "closed"
    assert data["predicate"]["state"] == "blocked"
    reasons = next(s["reasons"] for s in record["steps"] if s["id"] == "production[us-east]")
    assert data["predicate"]["reasons"] == reasons
    assert any("production[eu-west]" in reason for reason in reasons)


def test_documents_read_by_require_become_subjects(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    check(capsys, tmp_path, "go-no-go")
    record = json.loads((tmp_path / "sopgate-report.json").read_text())
    document = {"metrics": {"auc": 0.91}, "approved": True}
    record["facts"]["documents"] = {"reports/eval.json": document, "reports/missing.json": None}
    record["emergency"] = True
    data = statement(record)
    in_toto_valid(data)
    canonical = b'{"approved":true,"metrics":{"auc":0.91}}'
    assert data["subject"][1] == {
        "name": "reports/eval.json",
        "digest": {"sha256": hashlib.sha256(canonical).hexdigest()},
        "annotations": {"sopgateDigestOf": "canonical JSON of the parsed document"},
    }
    assert len(data["subject"]) == 2  # an unknown (null) document binds nothing
    assert data["predicate"]["emergency"] is True
    predicate_valid(data["predicate"])


def test_pae_matches_the_dsse_specification() -> None:
    # The worked example of the DSSE v1 protocol.
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa-p256"])
def test_signed_attestation_round_trips(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    secret, public = keys(tmp_path, kind)
    report = tmp_path / "r"
    assert check(capsys, report, "go-no-go", "--sign-key", str(secret)) == 0
    envelope = json.loads((report / "sopgate-attestation.dsse.json").read_text())
    assert envelope["payloadType"] == PAYLOAD_TYPE
    signed = json.loads(base64.b64decode(envelope["payload"]))
    assert signed == json.loads((report / "sopgate-attestation.json").read_text())
    assert len(envelope["signatures"]) == 1
    assert len(envelope["signatures"][0]["keyid"]) == 64

    code, out, err = verify(capsys, report, public)
    assert (code, err) == (0, "")
    assert out.startswith("replay confirmed: decision open for go-no-go")
    assert "signature verified (keyid " in out
    assert out.rstrip().endswith("and the statement matches")


def test_signing_key_from_the_environment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret, public = keys(tmp_path)
    monkeypatch.setenv("SOPGATE_SIGNING_KEY", str(secret))
    assert check(capsys, tmp_path / "r", "go-no-go") == 0
    assert (tmp_path / "r" / "sopgate-attestation.dsse.json").exists()
    code, _out, _err = run(
        capsys, "replay", str(tmp_path / "r" / "sopgate-report.json"), "--key", str(public)
    )
    assert code == 0


def test_a_tampered_signed_payload_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    secret, public = keys(tmp_path)
    report = tmp_path / "r"
    check(capsys, report, "production[us-east]", "--sign-key", str(secret))
    path = report / "sopgate-attestation.dsse.json"
    envelope = json.loads(path.read_text())
    signed = json.loads(base64.b64decode(envelope["payload"]))
    signed["predicate"]["decision"] = "open"
    envelope["payload"] = base64.b64encode(json.dumps(signed).encode()).decode()
    path.write_text(json.dumps(envelope))
    code, _out, err = verify(capsys, report, public)
    assert code == 1
    assert f"{path}: no signature verifies with the given key" in err
    assert "the statement was altered or signed with another key" in err


def test_a_wrong_key_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    secret, _public = keys(tmp_path)
    _other_secret, other_public = keys(tmp_path, name="other")
    report = tmp_path / "r"
    check(capsys, report, "go-no-go", "--sign-key", str(secret))
    code, _out, err = run(
        capsys, "replay", str(report / "sopgate-report.json"), "--key", str(other_public)
    )
    assert code == 1
    assert "no signature verifies with the given key" in err


def test_a_statement_re_signed_by_another_key_over_other_content_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    secret, public = keys(tmp_path)
    report = tmp_path / "r"
    check(capsys, report, "go-no-go", "--sign-key", str(secret))
    # A validly signed statement that says something else than the report.
    other = tmp_path / "other"
    check(capsys, other, "security-review", "--sign-key", str(secret))
    (report / "sopgate-attestation.dsse.json").write_text(
        (other / "sopgate-attestation.dsse.json").read_text()
    )
    code, _out, err = verify(capsys, report, public)
    assert code == 1
    assert "the signed statement does not match the report" in err


def test_an_edited_unsigned_statement_fails_replay(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    check(capsys, tmp_path, "production[us-east]")
    path = tmp_path / "sopgate-attestation.json"
    data = json.loads(path.read_text())
    data["predicate"]["decision"] = "open"
    path.write_text(json.dumps(data))
    code, _out, err = run(capsys, "replay", str(tmp_path / "sopgate-report.json"))
    assert code == 1
    assert f"{path}: the statement does not match the report" in err


def test_replay_with_a_key_needs_the_envelope(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _secret, public = keys(tmp_path)
    check(capsys, tmp_path / "r", "go-no-go")
    code, _out, err = run(
        capsys, "replay", str(tmp_path / "r" / "sopgate-report.json"), "--key", str(public)
    )
    assert code == 1
    assert "no signed attestation next to the report" in err


def test_sign_key_needs_a_report_dir_and_a_pem_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    secret, _public = keys(tmp_path)
    code, _out, err = run(
        capsys, "check", "go-no-go", "--sop", SOP, "--facts", GREEN, "--sign-key", str(secret)
    )
    assert code == 2
    assert "--sign-key (or SOPGATE_SIGNING_KEY) needs --report-dir" in err
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    assert check(capsys, tmp_path / "r", "go-no-go", "--sign-key", str(bad)) == 2
    assert not (tmp_path / "r").exists()


def test_a_dry_run_signs_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    secret, _public = keys(tmp_path)
    folder = tmp_path / "r"
    code, _out, err = run(
        capsys,
        "check",
        "go-no-go",
        "--sop",
        SOP,
        "--facts",
        GREEN,
        "--report-dir",
        str(folder),
        "--sign-key",
        str(secret),
        "--dry-run",
    )
    assert code == 0
    assert (
        "dry run: would write sopgate-report.json, sopgate-report.md and "
        f"sopgate-attestation.json (and its signed envelope) to {folder}"
    ) in err
    assert not folder.exists()


def test_a_key_in_the_environment_is_ignored_without_a_report_dir(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret, _public = keys(tmp_path)
    monkeypatch.setenv("SOPGATE_SIGNING_KEY", str(secret))
    code, _out, err = run(capsys, "check", "go-no-go", "--sop", SOP, "--facts", GREEN)
    assert (code, err) == (0, "")


def test_a_url_safe_envelope_verifies(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    check(capsys, tmp_path, "go-no-go")
    data = json.loads((tmp_path / "sopgate-attestation.json").read_text())
    # JSON text rarely needs the two characters where the alphabets differ; pick a key whose
    # signature does, so the URL-safe decoding is really exercised.
    for _attempt in range(200):
        key = ed25519.Ed25519PrivateKey.generate()
        envelope = sign_envelope(data, key)
        if {"+", "/"} & set(envelope["signatures"][0]["sig"]):
            break
    else:
        pytest.fail("no signature with + or / in 200 keys")
    urlsafe = {
        "payloadType": envelope["payloadType"],
        "payload": base64.urlsafe_b64encode(base64.b64decode(envelope["payload"])).decode(),
        "signatures": [
            {
                "keyid": envelope["signatures"][0]["keyid"],
                "sig": base64.urlsafe_b64encode(
                    base64.b64decode(envelope["signatures"][0]["sig"])
                ).decode(),
            }
        ],
    }
    assert verify_envelope(urlsafe, key.public_key(), where="x") == data


def test_an_emergency_override_is_in_the_record_and_the_attestation(tmp_path: Path) -> None:
    from sopgate.report import record, replay
    from sopgate.report import write_report as write_files
    from tests.unit.render.emergency_cases import LINE, emergency_run

    data = record(emergency_run())
    assert data["emergency"] is True
    entry = next(s for s in data["steps"] if s["id"] == "production")
    assert entry["emergency"] == [LINE]
    assert all("emergency" not in s for s in data["steps"] if s["id"] != "production")
    predicate = statement(data)["predicate"]
    assert predicate["emergency"] is True
    assert predicate["emergencyOverrides"] == [LINE]
    predicate_valid(predicate)
    write_files(emergency_run(), str(tmp_path))
    markdown = (tmp_path / "sopgate-report.md").read_text()
    assert markdown.startswith(f"> [!CAUTION]\n> **{LINE}** (production)\n")
    _, said = replay(str(tmp_path / "sopgate-report.json"))
    assert said.startswith("replay confirmed: decision open for production")
