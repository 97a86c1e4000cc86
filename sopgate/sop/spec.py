"""The SOP file, format 1, as frozen pydantic models (DESIGN.md, "The SOP file").

These models are the specification of the format: ``sopgate schema`` prints their JSON
Schema, error messages take their allowed keys from them, and mypy types the SOP with them.
At run time the SOP is validated by pydantic-core from the core schema pydantic generates for
them, compiled ahead of time (``sopgate/compiled.py``); after a change here, run
``python -m sopgate.codegen``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

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

from sopgate.sop.model import (
    _NONZERO_DURATION,
    DAYS,
    DURATION,
    HHMM,
    REGION_ID,
    STEP_ID,
    Bypass,
    Day,
    SopMethods,
    StepMethods,
    _comparison,
    _named,
    _no_time,
    _not_zero,
    _path,
    _region,
    _rollout,
    _version,
)

Text = Annotated[str, StringConstraints(min_length=1)]
StepId = Annotated[str, StringConstraints(pattern=STEP_ID)]
Clock = Annotated[str, StringConstraints(pattern=HHMM)]
Duration = Annotated[
    str,
    StringConstraints(pattern=DURATION),
    AfterValidator(_not_zero),
    WithJsonSchema({"type": "string", "pattern": _NONZERO_DURATION}),
]
#: A calendar date, ``YYYY-MM-DD``.
Date = Annotated[date, BeforeValidator(_no_time)]
RegionId = Annotated[str, StringConstraints(pattern=REGION_ID)]
#: What the JSON Schema can say of a comparison; the validator says the rest, with the fix.
_COMPARISON_SHAPE = Annotated[str, StringConstraints(pattern=r"^\s*(>=|<=|==|!=|>|<)\s*\S")]
Comparison = Annotated[str, BeforeValidator(_comparison, json_schema_input_type=_COMPARISON_SHAPE)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)


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


Rollout = Annotated[
    Literal["sequential", "parallel"] | tuple[Wave, ...],
    BeforeValidator(
        _rollout, json_schema_input_type=Literal["sequential", "parallel"] | list[list[Text]]
    ),
]


class Step(Model, StepMethods):
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


class Sop(Model, SopMethods):
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
