"""Turn pydantic's validation errors into ``PATH:LINE:COL: message`` diagnostics.

Shared by the SOP and the facts loaders: each names the offending key or value, says what
was found and, where the set is closed, what is allowed.
"""

from __future__ import annotations

import re
import types
import typing
from typing import TYPE_CHECKING, Any

from pydantic_core import ValidationError

from sopgate.errors import Diagnostic
from sopgate.yamlsrc import Document, Path

if TYPE_CHECKING:
    from pydantic import BaseModel

_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "a date (YYYY-MM-DD)",
    "datetime_type": "a timestamp with a time zone (2026-11-26T10:00:00Z)",
    "datetime_parsing": "a timestamp with a time zone (2026-11-26T10:00:00Z)",
    "datetime_from_date_parsing": "a timestamp with a time zone (2026-11-26T10:00:00Z)",
    "timezone_aware": "a timestamp with a time zone (2026-11-26T10:00:00Z)",
}


#: Why a closed set is closed, where a user may expect more in it (by the loc's key names).
_WHY: dict[tuple[str, ...], str] = {
    ("emergency", "bypass"): " (an emergency never skips needs, a failed step or a rejection)",
}


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def diagnostics(exc: ValidationError, doc: Document, root: type[BaseModel]) -> list[Diagnostic]:
    """Every error of ``exc`` placed in ``doc``; ``root`` is the model that was validated."""
    errors = exc.errors(include_url=False)
    found: list[Diagnostic] = []
    for err in errors:
        loc: Path = _shorthand(
            tuple(p for p in err["loc"] if isinstance(p, int) or not _is_tag(p)), doc
        )
        kind = err["type"]
        if kind == "too_short" and any(
            other is not err and tuple(other["loc"][: len(loc)]) == loc for other in errors
        ):
            continue  # a failed item makes pydantic also call its list too short
        found.append(_one(kind, loc, err, doc, root))
    return found


def _shorthand(loc: Path, doc: Document) -> Path:
    """A plain string written for ``{id: ...}``, ``{name: ...}`` or ``{path: ...}`` is named
    as written: ``scope.regions[2]``, not ``scope.regions[2].id``."""
    if len(loc) < 2 or not isinstance(loc[-1], str):
        return loc
    value: Any = doc.data
    for part in loc[:-1]:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return loc
    return loc[:-1] if isinstance(value, str) else loc


_TAG = re.compile(r"^[A-Za-z][\w-]*\[.*\]$")


def _is_tag(part: Any) -> bool:
    """pydantic's validator and union tags in an error location (``function-before[...]``,
    ``tagged-union[...]``): a name, then brackets. A key of the user's own such as ``[]``
    is not one."""
    return isinstance(part, str) and part != "[key]" and _TAG.match(part) is not None


def _one(kind: str, loc: Path, err: Any, doc: Document, root: type[BaseModel]) -> Diagnostic:
    value = err.get("input")
    if kind == "missing":
        key = loc[-1]
        return doc.error(loc[:-1], f"missing required key '{key}'{_where(loc[:-1])}")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = allowed_keys(root, loc[:-1])
        hint = ""
        import difflib  # here: only an unknown key needs a suggestion

        close = difflib.get_close_matches(key, allowed, n=1)
        if close:
            hint = f" (did you mean '{close[0]}'?)"
        listing = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return doc.error(loc, f"unknown key '{key}'{_where(loc[:-1])}{hint}{listing}", at_key=True)
    if loc and loc[-1] == "[key]":
        problem = "must not be empty" if kind == "string_too_short" else err["msg"].lower()
        return doc.error(
            loc[:-1], f"invalid key {describe(value)}{_where(loc[:-2])}: {problem}", at_key=True
        )
    name = _name(loc)
    if loc == ("sopgate",):  # whatever is wrong with it (true, "1", 10**40), it is no 1
        return doc.error(
            loc, f"unsupported format version {describe(value)}; this sopgate supports: 1"
        )
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        allowed = expected.replace("'", "").replace(" or ", ", ")
        why = _WHY.get(tuple(p for p in loc if isinstance(p, str)), "")
        return doc.error(loc, f"{name}: {describe(value)} is not allowed; allowed: {allowed}{why}")
    if kind == "string_pattern_mismatch":
        pattern = str(err.get("ctx", {}).get("pattern", ""))
        return doc.error(loc, f"{name}: {describe(value)} {_pattern_help(loc, pattern)}")
    if kind in _EXPECTED:
        return doc.error(loc, f"{name}: expected {_EXPECTED[kind]}, got {describe(value)}")
    if kind in ("greater_than_equal", "greater_than"):
        limit = err.get("ctx", {}).get("ge", err.get("ctx", {}).get("gt"))
        return doc.error(loc, f"{name}: must be at least {limit}, got {describe(value)}")
    if kind in ("less_than_equal", "less_than"):
        limit = err.get("ctx", {}).get("le", err.get("ctx", {}).get("lt"))
        return doc.error(loc, f"{name}: must be at most {limit}, got {describe(value)}")
    if kind in ("too_short", "string_too_short"):
        return doc.error(loc, f"{name}: must not be empty")
    if kind == "value_error":
        return doc.error(loc, f"{name}: {err.get('ctx', {}).get('error', err['msg'])}")
    message = err["msg"]
    return doc.error(loc, f"{name}: {message[0].lower()}{message[1:]}")


def _name(loc: Path) -> str:
    parts = [(p or "['']") if isinstance(p, str) else f"[{p}]" for p in loc]
    return ".".join(parts).replace(".[", "[") or "document"


def _where(loc: Path) -> str:
    return f" in {_name(loc)}" if loc else ""


def _pattern_help(loc: Path, pattern: str) -> str:
    key = loc[-1] if loc else ""
    if loc[:2] == ("scope", "regions"):
        return (
            "is not a valid region id: brackets, braces and surrounding spaces would break "
            "names such as production[eu-west]"
        )
    if key == "id":
        return (
            "is not a valid step id: use kebab-case (lowercase letters and digits, single hyphens)"
        )
    if key in ("start", "end"):
        return "is not a time of day as HH:MM (00:00-23:59)"
    if key == "max_age":
        return "is not a duration such as 24h or 7d (a number and a unit: w, d, h, m or s)"
    if "{40}" in pattern:
        return "is not a full 40-character hex commit id"
    return "has the wrong format"


def allowed_keys(root: type[BaseModel], loc: Path) -> list[str]:
    """Keys the model at ``loc`` accepts, by their names in the file."""
    annotation: Any = root
    for part in loc:
        annotation = _step_into(annotation, part)
        if annotation is None:
            return []
    from pydantic import BaseModel  # an error is being worded: pydantic's spec models

    model = _unwrap(annotation)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _step_into(annotation: Any, part: str | int) -> Any:
    from pydantic import BaseModel

    target = _unwrap(annotation)
    if isinstance(target, type) and issubclass(target, BaseModel):
        for name, field in target.model_fields.items():
            if (field.alias or name) == part:
                return field.annotation
        return None
    origin = typing.get_origin(target)
    args = typing.get_args(target)
    if origin is dict:
        return args[1]
    if origin in (tuple, list):
        return args[0]
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and the None of ``X | None``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation
