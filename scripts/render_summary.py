#!/usr/bin/env python3
"""Render sopgate's Markdown summary with real Mermaid, as GitHub shows it, to a PNG.

    .venv/bin/python scripts/render_summary.py       # docs/summary-waiting.{md,png}
    .venv/bin/python scripts/render_summary.py --sop S --facts F --step STEP --out docs/x.png

Installs what it needs on first use: Debian's ``chromium`` (and an emoji font) with apt-get,
and ``@mermaid-js/mermaid-cli``'s Mermaid plus ``marked`` from npm into scripts/mermaid
(``npm ci``, with ``PUPPETEER_SKIP_DOWNLOAD=1``: Chromium comes from Debian, not a download).
Next to each PNG it writes the Markdown it rendered, so a test can tell when the picture is
older than what the code prints (tests/unit/render/test_mermaid_real.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MERMAID_DIR = ROOT / "scripts" / "mermaid"
RENDER = MERMAID_DIR / "render.mjs"
# The review date judged as the day the pictures were made, so they do not change daily.
TODAY = date(2026, 11, 26)


@dataclass(frozen=True)
class Picture:
    """One summary to render: ``sopgate check STEP --facts FACTS --format markdown``."""

    out: str
    sop: str
    facts: str
    step: str | None


PICTURES = (
    Picture(
        "docs/summary-waiting.png",
        "examples/.sopgate.yml",
        "examples/facts/waiting.yml",
        "go-no-go",
    ),
    Picture(
        "docs/summary-global.png",
        "examples/global/.sopgate.yml",
        "examples/global/facts/waiting.yml",
        "production[us-east]",
    ),
)


def chromium() -> str | None:
    """The Chromium to use: ``$CHROMIUM`` or the one on PATH."""
    return os.environ.get("CHROMIUM") or shutil.which("chromium")


def _apt_install(*packages: str) -> bool:
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        done = subprocess.run(command, capture_output=True, check=False, timeout=1200, env=env)
        if done.returncode != 0:
            return False
    return True


def ensure_tools() -> str | None:
    """Install Chromium and the npm packages when missing; ``None`` when ready, else why
    they cannot be had here."""
    if chromium() is None and not _apt_install("chromium", "fonts-noto-color-emoji"):
        return "Chromium is not installed and 'apt-get install chromium' is not possible here"
    if chromium() is None:
        return "apt-get installed chromium but no 'chromium' is on PATH"
    if not Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf").exists():
        _apt_install("fonts-noto-color-emoji")  # the state badges; optional
    if (MERMAID_DIR / "node_modules" / ".package-lock.json").exists():
        return None
    if shutil.which("npm") is None or shutil.which("node") is None:
        return "node and npm are not installed (apt-get install nodejs npm)"
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(MERMAID_DIR)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=dict(os.environ, PUPPETEER_SKIP_DOWNLOAD="1"),
    )
    if done.returncode != 0:
        return f"npm ci in scripts/mermaid failed:\n{done.stderr[-2000:]}"
    return None


def node(*args: str) -> subprocess.CompletedProcess[str]:
    """Run scripts/mermaid/render.mjs with the found Chromium."""
    env = dict(os.environ, CHROMIUM=chromium() or "chromium")
    return subprocess.run(
        ["node", str(RENDER), *args], capture_output=True, text=True, timeout=600, env=env
    )


def summary_markdown(picture: Picture) -> str:
    """The summary exactly as ``sopgate check`` posts it (no platform, no network)."""
    sys.path.insert(0, str(ROOT))
    from sopgate.evaluate import evaluate
    from sopgate.facts import read_facts
    from sopgate.render.markdown import render_markdown
    from sopgate.sop.load import parse_sop

    text = (ROOT / picture.sop).read_text(encoding="utf-8")
    loaded = parse_sop(text, path=picture.sop, today=TODAY)
    return render_markdown(evaluate(loaded, read_facts(str(ROOT / picture.facts)), picture.step))


def render(picture: Picture) -> None:
    markdown = summary_markdown(picture)
    out = ROOT / picture.out
    out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "summary.md"
        source.write_text(markdown, encoding="utf-8")
        done = node("png", str(source), str(out))
    if done.returncode != 0:
        raise SystemExit(f"rendering {picture.out} failed:\n{done.stderr}")
    print(f"wrote {picture.out} and {out.with_suffix('.md').relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sop")
    parser.add_argument("--facts")
    parser.add_argument("--step")
    parser.add_argument("--out", help="PNG path (the Markdown goes next to it as .md)")
    args = parser.parse_args(argv)
    pictures = PICTURES
    if args.sop or args.facts or args.out:
        if not (args.sop and args.facts and args.out):
            parser.error("--sop, --facts and --out go together")
        pictures = (Picture(args.out, args.sop, args.facts, args.step),)
    problem = ensure_tools()
    if problem:
        print(f"cannot render: {problem}", file=sys.stderr)
        return 1
    for picture in pictures:
        render(picture)
    return 0


if __name__ == "__main__":
    sys.exit(main())
