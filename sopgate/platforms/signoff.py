"""What both platforms share about PR/MR comments: sopgate's own marker and the
``/sop approve STEP`` / ``/sop reject STEP reason`` sign-off lines."""

from __future__ import annotations

import re
from datetime import datetime

from sopgate.facts import Approval

#: Hidden first line of sopgate's sticky comment/note: how it is found again, and skipped.
MARKER = "<!-- sopgate -->"

_STEP = r"[a-z0-9]+(?:-[a-z0-9]+)*(?:\[[^\]\s]+\])?"
_LINE = re.compile(
    rf"^[ \t]*/sop[ \t]+(approve|reject)[ \t]+({_STEP})(?:[ \t]+(.*?))?[ \t]*$", re.MULTILINE
)


def is_sopgate(body: str) -> bool:
    """True for sopgate's own sticky comment."""
    return body.lstrip().startswith(MARKER)


def signoffs_in(
    body: str, *, user: str, at: datetime | None, edited: bool | None, url: str | None
) -> list[Approval]:
    """Every sign-off line of one comment, in order. A line quoted with ``>`` or inside
    other text is not a sign-off; only a line that starts with ``/sop`` is."""
    if is_sopgate(body):
        return []
    return [
        Approval(
            user=user,
            source="signoff",
            step=step,
            state="approved" if verb == "approve" else "rejected",
            at=at,
            edited=edited,
            reason=(reason or None) if verb == "reject" else None,
            url=url,
        )
        for verb, step, reason in _LINE.findall(body.replace("\r\n", "\n"))
    ]
