"""The SOP file, format 1, as frozen pydantic models (DESIGN.md, "The SOP file")."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
)

STEP_ID = r"^[a-z0-9]+(-[a-z0-9]+)*$"
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Text = Annotated[str, StringConstraints(min_length=1)]
StepId = Annotated[str, StringConstraints(pattern=STEP_ID)]
Clock = Annotated[str, StringConstraints(pattern=HHMM)]


def _named(value: Any) -> Any:
    """A plain string in ``checks`` is shorthand for ``{name: STRING}``."""
    return {"name": value} if isinstance(value, str) else value


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Scope(Model):
    """Seed step 1: what is deployed, and where."""

    system: Text
    environments: tuple[Text, ...] = ()
    regions: tuple[Text, ...] = ()


class Review(Model):
    """Upkeep of the SOP itself: when it was last reviewed and how often it must be."""

    last_reviewed: date
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
    fresh: StrictBool = True


class CheckRule(Model):
    name: Text = Field(description="Glob (* and ?) over check, status or job names.")
    app: Text | None = Field(
        default=None,
        description="Source pin: a GitHub App slug (github-actions), gitlab-ci, or status.",
    )


CheckEntry = Annotated[CheckRule, BeforeValidator(_named, json_schema_input_type=str | CheckRule)]


class Window(Model):
    """When a step may run; start-inclusive, end-exclusive, may cross midnight."""

    days: tuple[Day, ...] = DAYS
    start: Clock = "00:00"
    end: Clock | None = Field(default=None, description="Omitted: until the end of the day.")
    timezone: Text = "UTC"


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
    rollout: Literal["sequential", "parallel"] | None = None
    approvals: tuple[ApprovalRule, ...] = ()
    separate_from: tuple[Text, ...] = ()
    checks: tuple[CheckEntry, ...] = ()
    evidence: tuple[Text, ...] = ()
    window: Window | None = None
    rollback: Text | None = None

    @property
    def title(self) -> str:
        return self.name or self.id


class Freeze(Model):
    from_: date = Field(alias="from")
    to: date
    reason: str | None = None
    timezone: Text = "UTC"


class Sop(Model):
    """A whole ``.sopgate.yml``."""

    model_config = ConfigDict(
        title="sopgate SOP file, format 1",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    sopgate: Literal[1]
    name: Text
    description: str | None = None
    scope: Scope | None = None
    owners: tuple[Text, ...] = ()
    review: Review | None = None
    roles: dict[Annotated[str, StringConstraints(min_length=1)], Role] = Field(min_length=1)
    steps: tuple[Step, ...] = Field(min_length=1)
    freezes: tuple[Freeze, ...] = ()

    @property
    def regions(self) -> tuple[str, ...]:
        return self.scope.regions if self.scope else ()

    @property
    def environments(self) -> tuple[str, ...]:
        return self.scope.environments if self.scope else ()


def is_step_id(text: str) -> bool:
    return re.match(STEP_ID, text) is not None
