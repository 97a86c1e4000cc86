"""Every diagram sopgate draws for the examples and starters, rendered by real Mermaid in
Chromium (scripts/render_summary.py installs both on first use; skips, saying why, where
they cannot be installed). Plus: the committed picture's Markdown is what the code prints."""

from __future__ import annotations

import importlib.util
import re
import sys
from datetime import date
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from sopgate.evaluate import evaluate
from sopgate.facts import read_facts
from sopgate.render.markdown import render_markdown
from sopgate.render.mermaid import mermaid_for_plan
from sopgate.sop.load import LoadedSop, parse_sop
from sopgate.sop.plan import build_plan

from .big import big_evaluation
from .test_mermaid import TRICKY_SOP

ROOT = Path(__file__).resolve().parents[3]
TODAY = date(2026, 11, 26)
FENCE = re.compile(r"\n```mermaid\n(.*?)```\n", re.DOTALL)


@cache
def script() -> ModuleType:
    """scripts/render_summary.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location(
        "render_summary", ROOT / "scripts" / "render_summary.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def sops() -> list[tuple[str, LoadedSop]]:
    """Every SOP of examples/ (any YAML file with top-level sopgate and steps) and every
    starter template."""
    found = []
    for path in sorted(ROOT.glob("examples/**/*.y*ml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "sopgate" in data and "steps" in data:
            name = str(path.relative_to(ROOT))
            found.append((name, parse_sop(path.read_text("utf-8"), path=name, today=TODAY)))
    for path in sorted(ROOT.glob("sopgate/templates/*/sopgate.yml")):
        text = path.read_text("utf-8").replace("__TODAY__", TODAY.isoformat())
        found.append((str(path.relative_to(ROOT)), parse_sop(text, path=".sopgate.yml")))
    return found


def diagrams() -> dict[str, str]:
    """File name -> Mermaid text: each SOP's plain diagram, and the summary's diagram for
    every facts file beside it, as status and asked about its first step not done."""
    out: dict[str, str] = {}
    for name, loaded in sops():
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower())
        out[f"{slug}.mmd"] = mermaid_for_plan(build_plan(loaded.sop))
        for facts_path in sorted((ROOT / name).parent.glob("facts/*.y*ml")):
            facts = read_facts(str(facts_path))
            status = evaluate(loaded, facts)
            asked = [r.key for r in status.steps if r.state != "done"][:1]  # marks the target
            for target in [None, *asked]:
                block = FENCE.search(render_markdown(evaluate(loaded, facts, target)))
                assert block is not None
                out[f"{slug}-{facts_path.stem}-{target or 'status'}.mmd"] = block.group(1)
    tricky = parse_sop(TRICKY_SOP, path=".sopgate.yml", today=TODAY)
    out["tricky-names.mmd"] = mermaid_for_plan(build_plan(tricky.sop))
    for done, target in ((0, "step-000"), (100, "step-105"), (200, None)):
        block = FENCE.search(render_markdown(big_evaluation(done, target)))
        assert block is not None
        out[f"big-{done}.mmd"] = block.group(1)
    return out


@pytest.fixture(scope="module")
def tools() -> ModuleType:
    module = script()
    problem = module.ensure_tools()
    if problem:
        pytest.skip(f"real Mermaid is not available: {problem}")
    return module


def test_every_diagram_renders_in_real_mermaid(tools: ModuleType, tmp_path: Path) -> None:
    files = []
    for name, text in diagrams().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        files.append(str(tmp_path / name))
    assert len(files) >= 15
    done = tools.node("check", *files)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"{len(files)} diagrams, 0 failed to render")


def test_a_parse_error_is_caught(tools: ModuleType, tmp_path: Path) -> None:
    good = tmp_path / "good.mmd"
    good.write_text("flowchart TD\n    a --> b\n", encoding="utf-8")
    bad = tmp_path / "bad.mmd"
    bad.write_text('flowchart TD\n    a["unclosed --> b\n', encoding="utf-8")
    done = tools.node("check", str(good), str(bad))
    assert done.returncode == 1
    assert f"{bad}: Parse error on line" in done.stderr
    assert str(good) not in done.stderr


@pytest.mark.parametrize("picture", script().PICTURES, ids=lambda p: p.out)
def test_committed_pictures_show_what_the_code_prints(picture: Any) -> None:
    module = script()
    committed = ROOT / picture.out
    assert committed.is_file()
    markdown = committed.with_suffix(".md").read_text(encoding="utf-8")
    assert markdown == module.summary_markdown(picture), (
        f"{committed} is out of date: run .venv/bin/python scripts/render_summary.py"
    )
