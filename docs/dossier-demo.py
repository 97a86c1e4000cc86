"""Rebuild docs/dossier.png and docs/dossier-findings.png.

Runs the gates of the example deployment used by tests/unit/test_audit.py (real ``sopgate
check`` runs against facts files), audits the records, then audits a copy with one record
removed and one edited, and screenshots both dossiers in headless Chromium. Needs
``chromium`` (Debian package) and, for the diagram as SVG, ``mmdc`` on PATH (npm
@mermaid-js/mermaid-cli; PUPPETEER_EXECUTABLE_PATH=/usr/bin/chromium).

    python docs/dossier-demo.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sopgate.cli import main  # noqa: E402
from tests.unit.test_audit import DEPLOYMENT, facts_at  # noqa: E402


def shoot(page: Path, png: Path, height: int) -> None:
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--hide-scrollbars",
            f"--window-size=1280,{height}",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def demo(work: Path) -> None:
    shutil.copy(ROOT / "examples" / ".sopgate.yml", work / ".sopgate.yml")
    for number, (_clock, step, _new) in enumerate(DEPLOYMENT):
        facts = work / f"facts-{number}.yml"
        facts.write_text(yaml.safe_dump(facts_at(number)))
        folder = work / "artifacts" / f"sopgate-report-{step}"
        args = ["check", step, "--sop", ".sopgate.yml", "--facts", str(facts)]
        assert main([*args, "--report-dir", str(folder.relative_to(work))]) == 0
    assert main(["audit", "artifacts", "-o", "dossier"]) == 0
    shutil.copytree(work / "artifacts", work / "broken")
    shutil.rmtree(work / "broken" / "sopgate-report-staging")
    edited = work / "broken" / "sopgate-report-production[us-east]" / "sopgate-report.json"
    data = json.loads(edited.read_text())
    data["facts"]["approvals"][1]["user"] = "rob"
    edited.write_text(json.dumps(data))
    assert main(["audit", "broken", "-o", "dossier-broken"]) == 1
    shoot(work / "dossier" / "dossier.html", ROOT / "docs" / "dossier.png", 2300)
    shoot(work / "dossier-broken" / "dossier.html", ROOT / "docs" / "dossier-findings.png", 1500)


if __name__ == "__main__":
    import os

    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        demo(Path(tmp))
