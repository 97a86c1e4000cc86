"""Keep the README true: the Quick start and the rendered example diagram."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sopgate.cli import main

README = Path("README.md").read_text(encoding="utf-8")


def test_quick_start_has_exactly_two_commands_in_one_block() -> None:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    commands = [line for line in blocks[0].splitlines() if line.strip()]
    assert len(commands) == 2
    assert "sopgate check" in commands[0] and "--facts examples/facts/" in commands[0]
    ci = Path(".ci/run").read_text(encoding="utf-8")
    assert commands[1] in ci, ".ci/run must run the README's test command"


def test_readme_diagram_is_what_sopgate_draws(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["diagram", "--sop", "examples/.sopgate.yml", "--facts", "examples/facts/waiting.yml"])
        == 0
    )
    drawn = capsys.readouterr().out
    assert f"```mermaid\n{drawn}```" in README


def test_committed_schema_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert Path("sopgate.schema.json").read_text(encoding="utf-8") == capsys.readouterr().out
