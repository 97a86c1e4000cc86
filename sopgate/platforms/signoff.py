"""What both platforms share about PR/MR comments: sopgate's own marker and the sign-off
commands ``/sop approve STEP``, ``/sop reject STEP reason`` and ``/sop emergency STEP reason``.

The comment's structure is read with a CommonMark parser (markdown-it-py), not with regexes:
a command is a line of its own in a top-level paragraph. Lines inside code spans, fenced or
indented code blocks, block quotes, lists, tables, HTML blocks and HTML comments (and
anything between an HTML element's opening and closing tags) are never commands,
because quoting or showing a command is not giving it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from sopgate.facts import Approval

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

#: Hidden first line of sopgate's sticky comment/note: how it is found again, and skipped.
MARKER = "<!-- sopgate -->"

Verb = Literal["approve", "reject", "emergency"]
# A step id, optionally with a region instance: region ids may hold inner spaces
# (``production[us east]``, sop.model.REGION_ID), and a rejection of one must not be lost.
_STEP = r"[a-z0-9]+(?:-[a-z0-9]+)*(?:\[[^\[\]{}\s](?:[^\[\]{}]*[^\[\]{}\s])?\])?"
# The head of a command line: what must be plain text, with nothing before it.
_HEAD = re.compile(rf"^/sop[ \t]+(approve|reject|emergency)[ \t]+({_STEP})(?=[ \t]|$)")


def is_sopgate(body: str) -> bool:
    """True for sopgate's own sticky comment."""
    return body.lstrip().startswith(MARKER)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # GitHub renders GFM: a line right under a table is one of its rows, not a paragraph.
    return MarkdownIt("commonmark").enable("table")


#: Elements that never hold content, so they open nothing.
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*?)?(/?)>")
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)


def _html_depth(depth: int, html: str) -> int:
    """How many HTML elements are open after ``html``, given ``depth`` before it: a
    paragraph between ``<details>`` and ``</details>`` (blank lines around it) is a
    paragraph to CommonMark, but GitHub shows it inside the element, folded away."""
    for closing, name, self_closing in _TAG.findall(_COMMENT.sub("", html)):
        if name.lower() in _VOID or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
    return depth


def command_lines(body: str) -> Iterator[tuple[Verb, str, str]]:
    """``(verb, step, rest)`` for every command line of a comment, in order.

    ``approve`` lines have an empty ``rest`` (anything after the step makes the line no
    command: "/sop approve go not yet" approves nothing). ``reject`` and ``emergency`` lines
    carry their reason in ``rest``; an emergency without a reason is no command.
    """
    tokens = _parser().parse(body)
    depth = 0  # HTML elements open around the current block: nothing inside them counts
    for i, token in enumerate(tokens):
        if token.type == "html_block" and token.level == 0:
            depth = _html_depth(depth, token.content)
            continue
        if token.type != "inline" or token.level != 1 or tokens[i - 1].type != "paragraph_open":
            continue  # level 1 inline = a paragraph at the top of the document
        for line in _lines(token.children or []):
            found = _command(line) if depth == 0 else None
            if found is not None:
                yield found
            for child in line:
                if child.type == "html_inline":
                    depth = _html_depth(depth, child.content)


def _lines(children: list[Token]) -> Iterator[list[Token]]:
    line: list[Token] = []
    for child in children:
        if child.type in ("softbreak", "hardbreak"):
            yield line
            line = []
        else:
            line.append(child)
    yield line


def _command(line: list[Token]) -> tuple[Verb, str, str] | None:
    # The verb and step must be plain text at the start of the line: a code span, a link,
    # emphasis or inline HTML there makes the line something other than a command.
    head = ""
    for token in line:
        if token.type != "text":
            break
        head += token.content
    indent = len(head) - len(head.lstrip(" \t"))
    match = _HEAD.match(head[indent:])
    if match is None:
        return None
    verb: Verb = match.group(1)  # type: ignore[assignment]
    step = match.group(2)
    rest = "".join(_plain(token) for token in line)[indent + match.end() :].strip()
    if verb == "approve":
        # An approval is the bare command: no trailing words, no hidden HTML after it.
        plain = all(token.type == "text" for token in line)
        return (verb, step, "") if plain and not rest else None
    if verb == "emergency" and not rest:
        return None
    return verb, step, rest


def _plain(token: Token) -> str:
    if token.type in ("text", "code_inline"):
        return token.content
    return ""


def signoffs_in(
    body: str, *, user: str, at: datetime | None, edited: bool | None, url: str | None
) -> list[Approval]:
    """Every sign-off of one comment, in order, as approvals: ``source: signoff`` for
    approve and reject lines, ``source: emergency`` for emergency overrides. sopgate's own
    sticky comment holds none."""
    if is_sopgate(body):
        return []
    return [
        Approval(
            user=user,
            source="emergency" if verb == "emergency" else "signoff",
            step=step,
            state="rejected" if verb == "reject" else "approved",
            at=at,
            edited=edited,
            reason=rest or None,
            url=url,
        )
        for verb, step, rest in command_lines(body)
    ]
