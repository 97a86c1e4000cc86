"""Reading GitHub's JSON answers defensively: a value of the wrong type is absent."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from sopgate.platforms.github.api import JSON

SHA = re.compile(r"^[0-9a-f]{40}$")


def dig(data: Any, *keys: str) -> JSON:
    """``data[k1][k2]...``, or None where a level is missing or not an object."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def text(value: JSON) -> str:
    """``value`` when it is a string, else ``""``."""
    return value if isinstance(value, str) else ""


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def same_login(a: str | None, b: str | None) -> bool:
    """Logins compare by ASCII lowercasing only: Unicode case mapping would let a long s
    (U+017F) or a Kelvin sign (U+212A) pass for an ASCII letter."""
    if a is None or b is None:
        return False
    return a.translate(_ASCII_LOWER) == b.translate(_ASCII_LOWER)


def is_bot(login: str | None) -> bool:
    """A GitHub App's account (``github-actions[bot]``, ``renovate[bot]``): the ``[bot]``
    suffix in any case, which no person's login can carry."""
    return login is not None and login.translate(_ASCII_LOWER).endswith("[bot]")


def file_bytes(data: JSON) -> bytes | None:
    """The content of a contents-API answer for one file, or None when it is not a file
    with base64 content (a directory, a symlink, a file over 1 MB answered without it)."""
    if not isinstance(data, dict) or data.get("type") != "file":
        return None
    if data.get("encoding") != "base64":
        return None
    try:
        return base64.b64decode(text(data.get("content")))
    except (binascii.Error, ValueError):
        return None
