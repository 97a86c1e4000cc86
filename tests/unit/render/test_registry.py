from __future__ import annotations

import json

import pytest

from sopgate.errors import UsageError
from sopgate.render import RENDERERS, render

from .builders import evaluation


def test_registry_names() -> None:
    assert sorted(RENDERERS) == ["json", "junit", "markdown", "text"]


@pytest.mark.parametrize("name", ["text", "markdown", "json", "junit"])
def test_render_by_name(name: str) -> None:
    ev = evaluation(target="staging")
    assert render(name, ev) == RENDERERS[name](ev)


def test_color_applies_to_text_only() -> None:
    ev = evaluation()
    assert "\x1b[" in render("text", ev, color=True)
    assert render("json", ev, color=True) == render("json", ev)
    assert json.loads(render("json", ev))["decision"] is None


def test_unknown_format() -> None:
    with pytest.raises(UsageError) as info:
        render("yaml", evaluation())
    assert str(info.value) == "unknown format 'yaml'; formats: text, markdown, json, junit"
