"""The records of a complete deployment of the example SOP, written by real ``check`` runs
(tests/unit/test_audit.py's deployment), for the ``audit --platform`` tests."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import yaml

from sopgate.cli import main
from tests.unit.test_audit import DEPLOYMENT, SHA, facts_at

__all__ = ["FILES", "SHA", "STEPS", "build_records", "zipped"]

STEPS = [step for _clock, step, _new in DEPLOYMENT]
#: What the action uploads from a gate's --report-dir.
FILES = ("sopgate-report.json", "sopgate-attestation.json", "sopgate-report.md")


def build_records(root: Path, sign_key: Path | None = None) -> dict[str, Path]:
    """One folder per gate of the deployment, written by ``sopgate check --report-dir``
    (``--sign-key`` too when given)."""
    found = {}
    for n, step in enumerate(STEPS):
        folder = root / f"gate-{n}"
        facts = root / f"facts-{n}.yml"
        facts.write_text(yaml.safe_dump(facts_at(n)))
        code = main(
            [
                *("check", step, "--sop", "examples/.sopgate.yml"),
                *("--facts", str(facts), "--report-dir", str(folder)),
                *(("--sign-key", str(sign_key)) if sign_key else ()),
            ]
        )
        assert code == 0
        found[step] = folder
    return found


def zipped(folder: Path, inside: str = "", extra: dict[str, bytes] | None = None) -> bytes:
    """The folder as upload-artifact zips it (files at the root, or under ``inside``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in (*FILES, "sopgate-attestation.dsse.json"):
            if (folder / name).exists():
                archive.writestr(f"{inside}{name}", (folder / name).read_bytes())
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()
