"""The facts snapshot (DESIGN.md, "The facts snapshot") as frozen pydantic models.

The specification of the facts format, as ``sopgate/sop/spec.py`` is of the SOP's: mypy types
the facts with these models, error messages take their allowed keys from them, and at run
time facts are validated by pydantic-core from the core schema pydantic generates for them,
compiled ahead of time. After a change here, run ``python -m sopgate.codegen``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StrictInt,
    StringConstraints,
)

from sopgate.facts import (
    ApprovalState,
    ChangeMethods,
    CheckState,
    FactsMethods,
    Platform,
    Source,
    _no_numbers,
    _null_is_empty,
    _record_digest,
    _step_key,
)

Sha = Annotated[str, StringConstraints(pattern=r"^([0-9a-f]{40}|[0-9a-f]{64})$")]
Name = Annotated[str, StringConstraints(min_length=1)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_no_numbers)]
StepKey = Annotated[str, AfterValidator(_step_key)]
RecordDigest = Annotated[str, AfterValidator(_record_digest)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Change(Model, ChangeMethods):
    """The pull/merge request being deployed.

    ``pushed_at`` is when the deployed head was pushed to the change. Absent (an older facts
    file) means sign-off freshness is judged by the needs rule only; ``null`` means the
    platform could not tell, and then no ``fresh`` sign-off counts.
    """

    id: StrictInt | Name | None = None
    author: Name | None = None
    url: str | None = None
    pushed_at: Timestamp | None = None


class Commit(Model):
    """One commit of the change; logins are null when the platform cannot map them."""

    sha: Sha | None = None
    author: Name | None = None
    committer: Name | None = None
    at: Timestamp | None = None


class Approval(Model):
    """A review, a ``/sop`` sign-off comment, or a platform deployment approval."""

    user: Name
    source: Source
    state: ApprovalState
    step: Name | None = None
    environment: Name | None = None
    sha: Sha | None = None
    at: Timestamp | None = None
    edited: StrictBool | None = False
    reason: str | None = None
    url: str | None = None


class Check(Model):
    """A check run, a commit status, or a pipeline job of the commit."""

    name: Name
    app: Name | None = None
    state: CheckState
    at: Timestamp | None = None
    url: str | None = None


class Facts(Model, FactsMethods):
    """One immutable snapshot; ``None`` anywhere means the platform could not tell."""

    facts: Literal[1]
    platform: Platform
    repository: str | None = None
    commit: Sha
    change: Change | None = None
    initiator: Name | None = None
    observed_at: Timestamp
    approvals: tuple[Approval, ...] | None = ()
    checks: tuple[Check, ...] | None = ()
    files: tuple[str, ...] | None = ()
    #: Resolved group membership; a group absent here (or null, or all of them when null)
    #: has no known members.
    groups: Annotated[dict[str, tuple[str, ...] | None], BeforeValidator(_null_is_empty)] = {}
    notes: tuple[str, ...] = ()
    sop_changed: StrictBool = False  # the change edits the SOP file: its owners must approve
    #: The change's commits; absent = none known, null = unknown (contributor rules count
    #: nobody).
    commits: tuple[Commit, ...] | None = ()
    #: Who re-ran the deployment run (GitHub ``GITHUB_TRIGGERING_ACTOR``), excluded as the
    #: initiator is.
    rerun_by: Name | None = None
    #: Parsed content of evidence documents read for ``require``: PATH -> JSON value; a path
    #: absent here, or null, is unknown.
    documents: Annotated[dict[str, Any], BeforeValidator(_null_is_empty)] = {}
    #: The records of gates that opened: plan key -> ``report_digest`` of that gate's
    #: ``sopgate-report.json``, from the digest its ``sopgate/KEY`` commit status carries.
    #: A step absent here has no known record.
    records: dict[StepKey, RecordDigest] = {}
