"""The SOP file, format 1, as frozen pydantic models (DESIGN.md, "The SOP file")."""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from sopgate.sop.issues import describe

try:  # libyaml is several times faster; PyYAML wheels ship it.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

STEP_ID = r"^[a-z0-9]+(-[a-z0-9]+)*$"
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Text = Annotated[str, StringConstraints(min_length=1)]
StepId = Annotated[str, StringConstraints(pattern=STEP_ID)]
Clock = Annotated[str, StringConstraints(pattern=HHMM)]
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


Duration = Annotated[
    str,
    StringConstraints(pattern=DURATION),
    AfterValidator(_not_zero),
    WithJsonSchema({"type": "string", "pattern": _NONZERO_DURATION}),
]


def _no_time(value: Any) -> Any:
    """A YAML timestamp is no date, even at midnight (pydantic would cut it to its date)."""
    if isinstance(value, datetime):
        raise PydanticCustomError("date_type", "Input should be a valid date")
    return value


#: A calendar date, ``YYYY-MM-DD``.
Date = Annotated[date, BeforeValidator(_no_time)]


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


#: What the JSON Schema can say of a comparison; the validator says the rest, with the fix.
_COMPARISON_SHAPE = Annotated[str, StringConstraints(pattern=r"^\s*(>=|<=|==|!=|>|<)\s*\S")]
Comparison = Annotated[str, BeforeValidator(_comparison, json_schema_input_type=_COMPARISON_SHAPE)]


def _named(value: Any) -> Any:
    """A plain string in ``checks`` is shorthand for ``{name: STRING}``."""
    return {"name": value} if isinstance(value, str) else value


def _region(value: Any) -> Any:
    """A plain string in ``scope.regions`` is shorthand for ``{id: STRING}``."""
    return {"id": value} if isinstance(value, str) else value


def _path(value: Any) -> Any:
    """A plain string in ``evidence`` is shorthand for ``{path: STRING}``."""
    return {"path": value} if isinstance(value, str) else value


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


#: Brackets and braces would make instance names (``production[eu-west]``) ambiguous.
REGION_ID = r"^[^\s\[\]{}](?:[^\[\]{}]*[^\s\[\]{}])?$"
RegionId = Annotated[str, StringConstraints(pattern=REGION_ID)]


class Region(Model):
    """A region of the scope: an id (``eu-west``), a display name and its time zone."""

    id: RegionId
    name: Text | None = None
    timezone: Text | None = Field(default=None, description="IANA name, for timezone: region.")


RegionEntry = Annotated[Region, BeforeValidator(_region, json_schema_input_type=RegionId | Region)]


class Scope(Model):
    """Seed step 1: what is deployed, and where."""

    system: Text
    environments: tuple[Text, ...] = ()
    regions: tuple[RegionEntry, ...] = ()


class Review(Model):
    """Upkeep of the SOP itself: when it was last reviewed and how often it must be."""

    last_reviewed: Date
    every_days: StrictInt = Field(default=90, ge=1)


class Role(Model):
    """People who hold a role: listed users and members of platform groups/teams."""

    users: tuple[Text, ...] = ()
    groups: tuple[Text, ...] = ()


class ApprovalRule(Model):
    role: Text
    count: StrictInt = Field(default=1, ge=1, le=1000)
    source: Literal["review", "signoff", "deployment"] = "review"
    allow_author: StrictBool = False
    allow_contributor: StrictBool = Field(
        default=False, description="Let people who authored or committed the change count."
    )
    fresh: StrictBool = True
    max_age: Duration | None = Field(
        default=None, description="An approval older than this (24h, 7d) does not count."
    )
    after: Literal["needs", "any"] = Field(
        default="needs",
        description="needs: a sign-off counts only after every needed step is done; any: always.",
    )


class CheckRule(Model):
    name: Text = Field(description="Glob (* and ?) over check, status or job names.")
    app: Text | None = Field(
        default=None,
        description="Source pin: a GitHub App slug (github-actions), gitlab-ci, or status.",
    )


CheckEntry = Annotated[CheckRule, BeforeValidator(_named, json_schema_input_type=Text | CheckRule)]


class EvidenceRule(Model):
    path: Text = Field(description="Repository path or glob that must exist at the commit.")
    require: dict[Text, Comparison] = Field(
        default_factory=dict,
        description='JMESPath query -> "OP VALUE" (>= > <= < == !=), e.g. ">= 0.82".',
    )


EvidenceEntry = Annotated[
    EvidenceRule, BeforeValidator(_path, json_schema_input_type=Text | EvidenceRule)
]


class Window(Model):
    """When a step may run; start-inclusive, end-exclusive, may cross midnight."""

    days: tuple[Day, ...] = Field(default=DAYS, json_schema_extra={"minItems": 1})
    start: Clock = "00:00"
    end: Clock | None = Field(default=None, description="Omitted: until the end of the day.")
    timezone: Text = Field(
        default="UTC", description="IANA name, or 'region' for the instance's region time zone."
    )


Wave = tuple[Text, ...]


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


Rollout = Annotated[
    Literal["sequential", "parallel"] | tuple[Wave, ...],
    BeforeValidator(
        _rollout, json_schema_input_type=Literal["sequential", "parallel"] | list[list[Text]]
    ),
]


class Step(Model):
    id: StepId
    name: Text | None = None
    description: str | None = None
    owner: Text
    type: Literal["task", "decision"] = "task"
    needs: tuple[Text, ...] | None = Field(
        default=None, description="Omitted: the previous step in the list. [] means none."
    )
    jobs: tuple[Text, ...] = ()
    environment: Text | None = None
    for_each: Literal["region"] | None = None
    rollout: Rollout | None = Field(
        default=None, description="parallel (default), sequential, or a list of waves of regions."
    )
    run_by: tuple[Text, ...] = Field(
        default=(), description="Roles, one of which the person starting the step must hold."
    )
    approvals: tuple[ApprovalRule, ...] = ()
    separate_from: tuple[Text, ...] = ()
    checks: tuple[CheckEntry, ...] = ()
    evidence: tuple[EvidenceEntry, ...] = ()
    window: Window | None = None
    rollback: Text | None = None

    @property
    def title(self) -> str:
        return self.name or self.id


class Freeze(Model):
    from_: Date = Field(alias="from")
    to: Date
    reason: str | None = None
    timezone: Text = "UTC"
    environments: tuple[Text, ...] = Field(
        default=(), description="Only steps with these environments (default: every one)."
    )
    regions: tuple[Text, ...] = Field(
        default=(), description="Only region instances of these regions (default: every one)."
    )


class Emergency(Model):
    """Break-glass: holders of ``role`` may override a gate with ``/sop emergency STEP why``."""

    role: Text
    count: StrictInt = Field(default=1, ge=1, le=1000)
    bypass: tuple[Bypass, ...] = ("window", "freeze")


class Sop(Model):
    """A whole ``.sopgate.yml``."""

    model_config = ConfigDict(
        title="sopgate SOP file, format 1",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    sopgate: Annotated[Literal[1], BeforeValidator(_version)]
    name: Text
    description: str | None = None
    scope: Scope | None = None
    owners: tuple[Text, ...] = ()
    review: Review | None = None
    roles: dict[Annotated[str, StringConstraints(min_length=1)], Role] = Field(min_length=1)
    steps: tuple[Step, ...] = Field(min_length=1)
    freezes: tuple[Freeze, ...] = ()
    emergency: Emergency | None = None

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


def is_step_id(text: str) -> bool:
    return re.match(STEP_ID, text) is not None
