"""GitLab Flavored Markdown blocks that CommonMark does not know, made CommonMark.

A sign-off is a line of its own outside quotes and code (DESIGN.md, "Trust"), and the shared
parser (:mod:`sopgate.platforms.signoff`) reads CommonMark. GitLab renders two more blocks
that hide a line from being a command: the multiline block quote (a line of three or more
``>`` up to a line of at least as many) and the display math block (``$$`` lines). CommonMark
reads the lines inside both as plain paragraphs, so a quoted ``/sop approve STEP`` would
count as the quoting person's sign-off. :func:`commonmark` rewrites those blocks as a
CommonMark block quote and an indented code block; fenced code blocks are left alone (a
``>>>`` inside one is code). A block that is never closed runs to the end of the note, as
GitLab renders it.
"""

from __future__ import annotations

import re

_QUOTE = re.compile(r"^ {0,3}(>{3,})[ \t]*$")
_MATH = re.compile(r"^ {0,3}\$\$[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def commonmark(body: str) -> str:
    """``body`` with GitLab's multiline block quotes and display math blocks rewritten as
    CommonMark block quotes and indented code blocks; everything else unchanged."""
    if ">>>" not in body and "$$" not in body:
        return body
    out: list[str] = []
    fence: str | None = None  # the open code fence, in the note or in a quote
    block: str | None = None  # "quote" or "math"
    opener = ""  # the quote's opening line of ">"
    for line in body.split("\n"):
        bare = line.rstrip("\r")
        if fence is not None:
            if _closes(bare, fence):
                fence = None
        elif block == "quote":
            closing = _QUOTE.match(bare)
            if closing and len(closing.group(1)) >= len(opener):
                block = None
                out.append("")
                continue
            fence = _opening_fence(bare)
        elif block == "math":
            if _MATH.match(bare):
                block = None
                out.append("")
                continue
        elif opening := _QUOTE.match(bare):
            block, opener = "quote", opening.group(1)
            out.append("")
            continue
        elif _MATH.match(bare):
            block = "math"
            out.append("")
            continue
        else:
            fence = _opening_fence(bare)
        out.append({"quote": "> ", "math": "    "}.get(block or "", "") + line)
    return "\n".join(out)


def _closes(line: str, fence: str) -> bool:
    found = _FENCE.match(line)
    if found is None:
        return False
    marker, rest = found.group(1), found.group(2)
    return marker[0] == fence[0] and len(marker) >= len(fence) and not rest.strip()


def _opening_fence(line: str) -> str | None:
    found = _FENCE.match(line)
    if found is None:
        return None
    marker, info = found.group(1), found.group(2)
    if marker[0] == "`" and "`" in info:
        return None  # not a fence: a backtick fence's info string holds no backtick
    return marker
