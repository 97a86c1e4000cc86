"""The attestation of a decision: an in-toto Statement v1 and its local DSSE signature.

The statement is a pure function of the audit record (:mod:`sopgate.report`), so ``replay``
can rebuild it from a record it has just confirmed and compare it with the one on disk or
inside a signed envelope. Signing uses ``cryptography`` (Ed25519 or ECDSA keys in PEM); the
envelope follows the DSSE v1 protocol, whose signature covers the pre-authentication
encoding (PAE) of the payload type and the payload, never the JSON text of the envelope.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from sopgate.errors import ReplayMismatch, UsageError

ATTESTATION_JSON = "sopgate-attestation.json"
ATTESTATION_DSSE = "sopgate-attestation.dsse.json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://sopgate.dev/attestation/decision/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes sopgate digests: sorted keys, no whitespace, ASCII."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def statement(record: dict[str, Any]) -> dict[str, Any]:
    """The in-toto Statement v1 of an audit record (``report.record``) of a ``check``."""
    facts = record["facts"]
    target = record["step"]
    entry: dict[str, Any] = next((s for s in record["steps"] if s.get("id") == target), {})
    subject: list[dict[str, Any]] = [
        {"name": facts.get("repository") or "_", "digest": {"gitCommit": record["commit"]}}
    ]
    for path, document in sorted((facts.get("documents") or {}).items()):
        if document is None:  # unknown to the platform: nothing was read, nothing to bind
            continue
        subject.append(
            {
                "name": path,
                "digest": {"sha256": sha256(canonical(document))},
                "annotations": {"sopgateDigestOf": "canonical JSON of the parsed document"},
            }
        )
    predicate: dict[str, Any] = {
        "step": target,
        "decision": record["decision"],
        "state": entry.get("state"),
        "reasons": list(entry.get("reasons") or []),
        "approvers": list(entry.get("approvers") or []),
        "commit": record["commit"],
        "repository": facts.get("repository"),
        "change": facts.get("change"),
        "sop": {"path": record["sop"]["path"], "sha256": record["sop"]["sha256"]},
        "factsSha256": record["facts_sha256"],
        "reportDigest": record.get("report_digest"),
        "needsRecords": dict(record.get("needs_records") or {}),
        "observedAt": facts["observed_at"],
        "sopgateVersion": record.get("sopgate"),
    }
    if "emergency" in record:
        predicate["emergency"] = bool(record["emergency"])
    if entry.get("emergency"):
        predicate["emergencyOverrides"] = [str(line) for line in entry["emergency"]]
    return {
        "_type": STATEMENT_TYPE,
        "subject": subject,
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }


# -- DSSE --------------------------------------------------------------------------------------


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: ``DSSEv1 SP LEN(type) SP type SP LEN(body) SP
    body``, lengths as ASCII decimal byte counts."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def load_private_key(path: str) -> PrivateKey:
    """An unencrypted Ed25519 or ECDSA private key in PEM; anything else is a usage error."""
    data = _read_key(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise UsageError(f"{path}: the signing key is encrypted; give an unencrypted key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise UsageError(f"{path}: not a PEM private key") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise UsageError(f"{path}: unsupported key type; use an Ed25519 or ECDSA key")
    return key


def load_public_key(path: str) -> PublicKey:
    data = _read_key(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise UsageError(f"{path}: not a PEM public key") from None
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        raise UsageError(f"{path}: unsupported key type; use an Ed25519 or ECDSA key")
    return key


def _read_key(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what} ({exc.strerror})") from None


def keyid(public: PublicKey) -> str:
    """sha256 of the key's DER SubjectPublicKeyInfo: the same id for the private key's
    envelope and for the public key that checks it."""
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return sha256(der)


def _hash_for(curve: ec.EllipticCurve) -> hashes.HashAlgorithm:
    if curve.key_size > 384:
        return hashes.SHA512()
    return hashes.SHA384() if curve.key_size > 256 else hashes.SHA256()


def sign_envelope(statement_data: dict[str, Any], key: PrivateKey) -> dict[str, Any]:
    """A DSSE envelope carrying the statement, signed with ``key``."""
    payload = canonical(statement_data)
    message = pae(PAYLOAD_TYPE, payload)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(message)
    else:
        signature = key.sign(message, ec.ECDSA(_hash_for(key.curve)))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [
            {"keyid": keyid(key.public_key()), "sig": base64.b64encode(signature).decode("ascii")}
        ],
    }


def verify_envelope(envelope: Any, key: PublicKey, *, where: str) -> dict[str, Any]:
    """The statement inside ``envelope`` when one of its signatures verifies with ``key``;
    :class:`ReplayMismatch` (exit 1) otherwise."""
    try:
        payload_type = envelope["payloadType"]
        payload = _b64(envelope["payload"])
        signatures = [_b64(s["sig"]) for s in envelope["signatures"]]
    except (KeyError, TypeError, binascii.Error) as exc:
        raise ReplayMismatch(f"{where}: not a DSSE envelope ({exc})") from None
    if payload_type != PAYLOAD_TYPE:
        raise ReplayMismatch(f"{where}: payloadType is {payload_type!r}, expected {PAYLOAD_TYPE}")
    message = pae(payload_type, payload)
    if not any(_verifies(key, signature, message) for signature in signatures):
        raise ReplayMismatch(
            f"{where}: no signature verifies with the given key (keyid {keyid(key)[:16]}); "
            "the statement was altered or signed with another key"
        )
    try:
        data = json.loads(payload)
    except ValueError:
        raise ReplayMismatch(f"{where}: the signed payload is not JSON") from None
    if not isinstance(data, dict):
        raise ReplayMismatch(f"{where}: the signed payload is not an in-toto statement")
    return data


def _b64(text: str) -> bytes:
    """DSSE allows standard or URL-safe base64."""
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return base64.b64decode(text, altchars=b"-_", validate=True)


def _verifies(key: PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            key.verify(signature, message, ec.ECDSA(_hash_for(key.curve)))
    except InvalidSignature:
        return False
    return True


# -- next to a report -------------------------------------------------------------------------


def attestation_files(record: dict[str, Any], key: PrivateKey | None) -> dict[str, str]:
    """File name -> content: the statement, and its signed envelope when a key is given."""
    if record.get("step") is None:
        return {}
    data = statement(record)
    files = {ATTESTATION_JSON: json.dumps(data, indent=2) + "\n"}
    if key is not None:
        files[ATTESTATION_DSSE] = json.dumps(sign_envelope(data, key), indent=2) + "\n"
    return files


def check_attestation(report_path: Path, record: dict[str, Any], key_path: str | None) -> str:
    """Compare the attestation next to a confirmed report with the statement the report gives.

    Without a key, an unsigned ``sopgate-attestation.json`` (when present) must match. With a
    key, the DSSE envelope must exist, verify, and carry exactly that statement.
    """
    expected = statement(record)
    folder = report_path.parent
    if key_path is None:
        plain = folder / ATTESTATION_JSON
        if not plain.exists():
            return ""
        if _read_json(plain) != expected:
            raise ReplayMismatch(f"{plain}: the statement does not match the report")
        return f"; {ATTESTATION_JSON} matches"
    key = load_public_key(key_path)
    signed = folder / ATTESTATION_DSSE
    if not signed.exists():
        raise ReplayMismatch(f"{signed}: no signed attestation next to the report")
    inside = verify_envelope(_read_json(signed), key, where=str(signed))
    if inside != expected:
        raise ReplayMismatch(f"{signed}: the signed statement does not match the report")
    return f"; signature verified (keyid {keyid(key)[:16]}) and the statement matches"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReplayMismatch(f"{path}: unreadable ({exc})") from None
