"""Small readers of the raw SOP document shared by the validation rules.

The rules run on the plain YAML data (before pydantic) so that every error is reported at
once; these helpers skip values of the wrong type, which pydantic reports on its own.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

from sopgate.yamlsrc import Path

#: ``fail(loc, message, at_key=False)``: report an error at a place in the document.
Fail = Callable[..., None]


def list_of(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def strings(value: Any) -> list[tuple[int, str]]:
    """The string entries of a list, with their indexes."""
    return [(i, v) for i, v in enumerate(list_of(value)) if isinstance(v, str)]


def region_ids(value: Any) -> list[tuple[int, str]]:
    """Region ids of ``scope.regions``, whose entries are ids or ``{id, name, timezone}``."""
    found: list[tuple[int, str]] = []
    for i, entry in enumerate(list_of(value)):
        rid = entry.get("id") if isinstance(entry, dict) else entry
        if isinstance(rid, str):
            found.append((i, rid))
    return found


def is_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_timezone(table: dict[str, Any], at: Path, fail: Fail) -> None:
    """``table.timezone``, when a string, must be an IANA time zone name."""
    name = table.get("timezone")
    if isinstance(name, str) and not is_timezone(name):
        fail(
            (*at, "timezone"),
            f"unknown time zone '{name}'; use an IANA name such as Europe/Berlin or UTC",
        )
