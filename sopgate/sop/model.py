"""The SOP file, format 1 (DESIGN.md, "The SOP file"): the values the rest of sopgate uses.

The classes are those of ``sopgate/sop/spec.py`` (the pydantic models that specify the
format, and that mypy sees), built from their compiled core schema (``sopgate/compiled.py``)
so that loading a SOP does not import pydantic's model layer. The validator functions the
schema refers to live here, by the names the schema uses."""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic_core import PydanticCustomError

from sopgate import _schemas
from sopgate.compiled import build
from sopgate.sop.issues import describe

try:  # libyaml is several times faster; PyYAML wheels ship it.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

STEP_ID = r"^[a-z0-9]+(-[a-z0-9]+)*$"
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DURATION = r"^([0-9]+[wdhms])+$"
#: The same, with at least one part that is not zero: what the JSON Schema can say of it.
_NONZERO_DURATION = r"^([0-9]+[wdhms])*0*[1-9][0-9]*[wdhms]([0-9]+[wdhms])*$"
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
#: What an emergency override may skip; never needs, a failure or a rejection.
Bypass = Literal["window", "freeze", "approvals", "checks"]
#: Comparison operators of an evidence ``require`` value, longest first (for matching).
OPERATORS = (">=", "<=", "==", "!=", ">", "<")
_COMPARISON = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\S.*?)\s*$", re.DOTALL)
_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")
Scalar = bool | int | float | str


def parse_duration(text: str) -> timedelta:
    """``24h``, ``7d``, ``1d12h``, ``90m``, ``2w`` -> a timedelta (validated by ``Duration``)."""
    return timedelta(
        seconds=sum(int(n) * _UNITS[u] for n, u in re.findall(r"([0-9]+)([wdhms])", text))
    )


def _not_zero(text: str) -> str:
    try:
        length = parse_duration(text)
    except OverflowError:
        raise ValueError(
            f"{text!r} is too long; at most {timedelta.max.days} days (use a duration such as "
            "24h or 7d)"
        ) from None
    if not length:
        raise ValueError(
            f"{text!r} is zero: no approval would ever count; use a duration such as 24h or 7d"
        )
    return text


def _no_time(value: Any) -> Any:
    """A YAML timestamp is no date, even at midnight (pydantic would cut it to its date)."""
    if isinstance(value, datetime):
        raise PydanticCustomError("date_type", "Input should be a valid date")
    return value


def _version(value: Any) -> Any:
    """``sopgate: true`` is no version, though true == 1 in Python."""
    if isinstance(value, bool):
        raise ValueError("unsupported format version")
    return value


@functools.lru_cache(maxsize=1024)  # the same thresholds repeat across steps
def parse_comparison(text: str) -> tuple[str, Scalar]:
    """``">= 0.82"`` -> ``(">=", 0.82)``; VALUE is read as a YAML scalar (``== "1.0"`` is a
    string). Raises ValueError, with the fix, for anything else."""
    usage = "write OP VALUE with OP one of >=, >, <=, <, ==, != (e.g. '>= 0.82', '== true')"
    match = _COMPARISON.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a comparison: {usage}")
    op, raw = match.group(1), match.group(2)
    try:
        value = yaml.load(raw, Loader=_Loader)
    except yaml.YAMLError:
        value = None
    if isinstance(value, str) and _NUMBER.match(raw):
        # YAML 1.1 reads 1e3 as a string, and so does the evaluator: say so rather than
        # let a threshold silently compare a number with a string (which always fails).
        raise ValueError(
            f"{text!r}: {raw} is a string in YAML, not a number; write it as 1000 or 1.0e+3"
        )
    if not isinstance(value, Scalar):
        raise ValueError(
            f"{text!r}: the value {raw!r} is not a number, a boolean or a string; "
            'quote a string, as in == "approved"'
        )
    if isinstance(value, bool) and op not in ("==", "!="):
        raise ValueError(f"{text!r}: a boolean can only be compared with == or !=")
    return op, value


def _comparison(value: Any) -> Any:
    if not isinstance(value, str):
        shown = "null" if value is None else repr(value)
        raise ValueError(
            f"{shown} is not a comparison: write OP VALUE as a string with OP one of "
            ">=, >, <=, <, ==, != (e.g. '>= 0.82', '== true')"
        )
    parse_comparison(value)
    return value


def _named(value: Any) -> Any:
    """A plain string in ``checks`` is shorthand for ``{name: STRING}``."""
    return {"name": value} if isinstance(value, str) else value


def _region(value: Any) -> Any:
    """A plain string in ``scope.regions`` is shorthand for ``{id: STRING}``."""
    return {"id": value} if isinstance(value, str) else value


def _path(value: Any) -> Any:
    """A plain string in ``evidence`` is shorthand for ``{path: STRING}``."""
    return {"path": value} if isinstance(value, str) else value


#: Brackets and braces would make instance names (``production[eu-west]``) ambiguous.
REGION_ID = r"^[^\s\[\]{}](?:[^\[\]{}]*[^\s\[\]{}])?$"


def _rollout(value: Any) -> Any:
    """One clear error for a rollout that is neither a keyword nor a list of waves."""
    if value in ("sequential", "parallel"):
        return value
    if isinstance(value, list) and all(
        isinstance(wave, list) and all(isinstance(r, str) for r in wave) for wave in value
    ):
        return value
    if isinstance(value, list):
        raise ValueError(
            "every wave must be a list of region ids: write waves in order such as "
            "[[eu-west], [us-east, us-west]] (not [eu-west, us-east]), or use parallel or "
            "sequential"
        )
    raise ValueError(
        f"{describe(value)} is not a rollout; allowed: parallel, sequential, or a list of waves, "
        "each a list of region ids, such as [[eu-west], [us-east, us-west]]"
    )


class StepMethods:
    """What a step knows beyond its fields (for the spec model and the built class)."""

    if TYPE_CHECKING:
        id: str
        name: str | None

    @property
    def title(self) -> str:
        return self.name or self.id


class SopMethods:
    """What a SOP knows beyond its fields (for the spec model and the built class)."""

    if TYPE_CHECKING:
        scope: Scope | None

    @property
    def regions(self) -> tuple[str, ...]:
        """Region ids in scope order."""
        return tuple(r.id for r in self.scope.regions) if self.scope else ()

    @property
    def region_objects(self) -> dict[str, Region]:
        return {r.id: r for r in self.scope.regions} if self.scope else {}

    @property
    def environments(self) -> tuple[str, ...]:
        return self.scope.environments if self.scope else ()


if TYPE_CHECKING:
    from sopgate.sop.spec import (  # the types of the built classes
        ApprovalRule,
        CheckRule,
        Emergency,
        EvidenceRule,
        Freeze,
        Region,
        Review,
        Role,
        Scope,
        Sop,
        Step,
        Window,
    )
else:
    _built = build(
        _schemas.sop,
        module=__name__,
        functions=globals(),
        bases={"Step": StepMethods, "Sop": SopMethods},
    )
    ApprovalRule = _built("ApprovalRule")
    CheckRule = _built("CheckRule")
    Emergency = _built("Emergency")
    EvidenceRule = _built("EvidenceRule")
    Freeze = _built("Freeze")
    Region = _built("Region")
    Review = _built("Review")
    Role = _built("Role")
    Scope = _built("Scope")
    Sop = _built("Sop")
    Step = _built("Step")
    Window = _built("Window")


def is_step_id(text: str) -> bool:
    return re.match(STEP_ID, text) is not None
