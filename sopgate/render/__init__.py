"""Renderers: an :class:`~sopgate.evaluate.Evaluation` in, text out; pure, no I/O.

``RENDERERS`` maps each ``--format`` name to its function; diagrams of the plan alone live
in :mod:`sopgate.render.mermaid` and :mod:`sopgate.render.dot`.
"""

from __future__ import annotations

from collections.abc import Callable

from sopgate.errors import UsageError
from sopgate.evaluate import Evaluation
from sopgate.render.text import render_text


# The other formats are imported when asked for: a text check need not load XML or Markdown.
def render_markdown(evaluation: Evaluation) -> str:
    from sopgate.render.markdown import render_markdown as markdown

    return markdown(evaluation)


def render_json(evaluation: Evaluation) -> str:
    from sopgate.render.json import render_json as as_json

    return as_json(evaluation)


def render_junit(evaluation: Evaluation) -> str:
    from sopgate.render.junit import render_junit as junit

    return junit(evaluation)


RENDERERS: dict[str, Callable[[Evaluation], str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
    "junit": render_junit,
}


def render(name: str, evaluation: Evaluation, *, color: bool = False) -> str:
    """``evaluation`` in the format ``name``; ``color`` applies to ``text`` only."""
    if name == "text":
        return render_text(evaluation, color=color)
    try:
        renderer = RENDERERS[name]
    except KeyError:
        raise UsageError(f"unknown format '{name}'; formats: {', '.join(RENDERERS)}") from None
    return renderer(evaluation)
