"""GitLab's JSON answers turned into Facts entries: pure functions, no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sopgate.facts import Approval, ApprovalState, Check, CheckState
from sopgate.platforms.gitlab.glfm import commonmark
from sopgate.platforms.signoff import signoffs_in

#: GitLab job and commit status values (``Ci::HasStatus``) to check states. ``manual`` is a
#: job waiting for someone to play it, so it is pending; ``allow_failure`` does not turn a
#: failed job into a success.
JOB_STATES: dict[str, CheckState] = {
    "success": "success",
    "failed": "failure",
    "running": "pending",
    "pending": "pending",
    "created": "pending",
    "preparing": "pending",
    "waiting_for_resource": "pending",
    "waiting_for_callback": "pending",
    "scheduled": "pending",
    "manual": "pending",
    "skipped": "skipped",
    "canceled": "cancelled",
    "canceling": "cancelled",
}

_APPROVED_NOTE = re.compile(r"^approved this merge request\b")


def timestamp(value: Any) -> datetime | None:
    """GitLab's ISO 8601 timestamps (``2026-11-25T09:00:00.000Z``); None when absent."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


# Bot users of project and group access tokens (project_12_bot, group_7_bot_1a2b...) and
# service accounts: written with GitHub's "[bot]" suffix so that no bot counts as an approver.
# GitLab usernames are unique regardless of case, so the pattern ignores case too.
_BOT = re.compile(
    r"^((project|group)_\d+_bot(\d*|_[0-9a-f]+)|service_account_.*)$", re.IGNORECASE | re.ASCII
)


def login(name: str) -> str:
    """A GitLab username as sopgate names it: bots end in ``[bot]``."""
    return f"{name}[bot]" if _BOT.match(name) else name


def fold(name: str) -> str:
    """A login as compared: ASCII letters lowercased, nothing else touched. Never
    ``casefold()``: it maps a long s (U+017F) onto "s"."""
    return name.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def username(user: Any) -> str | None:
    if isinstance(user, Mapping):
        name = user.get("username")
        return login(name) if isinstance(name, str) and name else None
    return None


def _check(entry: Mapping[str, Any], app: str, url_key: str) -> Check | None:
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        return None
    # An unknown status is treated as still running: it never satisfies anything.
    state = JOB_STATES.get(str(entry.get("status")), "pending")
    if state == "pending":
        # A job that has not finished is dated by its start, and one that has not started
        # (queued, created, manual: ``started_at: null``) has no time at all: the evaluator
        # takes an entry with no time as the latest of its name, so a queued re-run is never
        # hidden behind an older success by its creation time.
        at = timestamp(entry.get("started_at"))
    else:
        at = (
            timestamp(entry.get("finished_at"))
            or timestamp(entry.get("started_at"))
            or timestamp(entry.get("created_at"))
        )
    url = entry.get(url_key)
    return Check(name=name, app=app, state=state, at=at, url=url if isinstance(url, str) else None)


def job_checks(jobs: Iterable[Mapping[str, Any]]) -> list[Check]:
    """Pipeline jobs (``/pipelines/:id/jobs``, retried ones included) and trigger jobs
    (``/pipelines/:id/bridges``) as ``gitlab-ci`` checks; the evaluator keeps the latest
    per name by ``at``."""
    return [c for job in jobs if (c := _check(job, "gitlab-ci", "web_url")) is not None]


def status_checks(statuses: Iterable[Mapping[str, Any]], *, job_ids: set[int]) -> list[Check]:
    """Commit statuses (``/repository/commits/:sha/statuses?all=true``) as ``status``
    checks. GitLab lists the pipeline's own jobs there too; those already came as jobs."""
    return [
        c
        for status in statuses
        if status.get("id") not in job_ids
        and (c := _check(status, "status", "target_url")) is not None
    ]


def approval_times(notes: Iterable[Mapping[str, Any]]) -> dict[str, datetime]:
    """When each user (by :func:`fold`) last approved, from GitLab's system notes
    ("approved this merge request"), for servers whose approvals API has no
    ``approved_at``: the latest such note counts, in whatever order they are listed."""
    times: dict[str, datetime] = {}
    for note in notes:
        user = username(note.get("author"))
        at = timestamp(note.get("created_at"))
        body = note.get("body")
        if not (note.get("system") and user and at and isinstance(body, str)):
            continue
        key = fold(user)
        if _APPROVED_NOTE.match(body) and (key not in times or at > times[key]):
            times[key] = at
    return times


def review_approvals(
    answer: Mapping[str, Any], *, sha: str | None, times: Mapping[str, datetime]
) -> list[Approval]:
    """``approved_by`` of ``/merge_requests/:iid/approvals`` (or of one ``approval_state``
    rule). ``sha`` is the head the approvals are known to be on, None when unknown."""
    approvals: list[Approval] = []
    for entry in answer.get("approved_by") or ():
        if not isinstance(entry, Mapping):
            continue
        user = username(entry.get("user"))
        if user is None:
            continue
        at = timestamp(entry.get("approved_at")) or times.get(fold(user))
        approvals.append(Approval(user=user, source="review", state="approved", sha=sha, at=at))
    return approvals


class HeadSince:
    """What the MR's diff versions (one per push, ``/merge_requests/:iid/versions``) tell
    about an approval of a project that removes approvals on push: GitLab still keeps them
    over a rebase from the UI (the Rebase button, ``/rebase``), which changes the head. An
    approval is on ``head`` only when ``head`` is the newest version and the approval came
    after it was pushed, or when the MR never had another head (any time will do then)."""

    def __init__(self, versions: Sequence[Mapping[str, Any]] | None, head: str | None) -> None:
        self.head = head
        self.since: datetime | None = None
        self.only_head = False
        dated = [
            (at, version.get("head_commit_sha"))
            for version in versions or ()
            if (at := timestamp(version.get("created_at"))) is not None
        ]
        if head is None or not SHA.match(head) or not dated or len(dated) != len(versions or ()):
            return  # unknown (a version without a time, too): no approval is on the head
        newest_at, newest_head = max(dated, key=lambda pair: pair[0])
        if newest_head != head:
            return  # pushed again since the MR was read
        self.since = newest_at
        self.only_head = all(sha == head for _, sha in dated)

    def sha(self, at: datetime | None) -> str | None:
        """``head`` when an approval given at ``at`` (None: unknown) is on it, else None."""
        if self.since is None:
            return None
        if self.only_head or (at is not None and at > self.since):
            return self.head
        return None


def signoffs(notes: Iterable[Mapping[str, Any]], *, url: str | None) -> list[Approval]:
    """``/sop approve STEP``, ``/sop reject STEP reason`` and ``/sop emergency STEP reason``
    lines of the MR's notes, in the order GitLab gave them. System notes and sopgate's own
    note are ignored; GitLab's own quote and math blocks hide a line as CommonMark's do
    (:func:`~sopgate.platforms.gitlab.glfm.commonmark`). A note counts as unedited only
    when its ``updated_at`` is the same instant as its ``created_at``; a missing or
    unreadable time means edited."""
    found: list[Approval] = []
    for note in notes:
        body = note.get("body")
        user = username(note.get("author"))
        if note.get("system") or not isinstance(body, str) or user is None:
            continue
        created = timestamp(note.get("created_at"))
        updated = timestamp(note.get("updated_at"))
        found += signoffs_in(
            commonmark(body),
            user=user,
            at=created,
            edited=created is None or updated is None or updated != created,
            url=f"{url}#note_{note.get('id')}" if url else None,
        )
    return found


#: GitLab deployment approval statuses (``Deployments::Approval``) to approval states.
DEPLOYMENT_STATES: dict[str, ApprovalState] = {"approved": "approved", "rejected": "rejected"}

SHA = re.compile(r"^[0-9a-f]{40}$")


def deployment_sha(deployment: Mapping[str, Any]) -> str | None:
    """The commit a deployment deploys (``sha``), when it is a full commit id."""
    sha = deployment.get("sha")
    return sha if isinstance(sha, str) and SHA.match(sha) else None


def deployment_environment(deployment: Mapping[str, Any]) -> str | None:
    """The name of the environment a deployment object names, None when it names none."""
    environment = deployment.get("environment")
    if isinstance(environment, Mapping):
        name = environment.get("name")
        return name if isinstance(name, str) else None
    return None


def deployment_approvals(deployment: Mapping[str, Any], *, environment: str) -> list[Approval]:
    """The ``approvals`` of one deployment object (``/deployments/:id``, Premium) as
    ``deployment`` approvals for ``environment``. A rejection's comment is its reason;
    entries of another status, or without a user, are left out."""
    sha = deployment_sha(deployment)
    deployable = deployment.get("deployable")
    url = deployable.get("web_url") if isinstance(deployable, Mapping) else None
    found: list[Approval] = []
    for entry in deployment.get("approvals") or ():
        if not isinstance(entry, Mapping):
            continue
        user = username(entry.get("user"))
        state = DEPLOYMENT_STATES.get(str(entry.get("status")))
        if user is None or state is None:
            continue
        comment = entry.get("comment")
        found.append(
            Approval(
                user=user,
                source="deployment",
                environment=environment,
                state=state,
                sha=sha,
                at=timestamp(entry.get("created_at")),
                reason=comment.strip()
                if state == "rejected" and isinstance(comment, str) and comment.strip()
                else None,
                url=url if isinstance(url, str) else None,
            )
        )
    return found


#: GitLab's Guest level; Minimal Access (5) lets a user see a group, not act in it.
GUEST = 10


def _holds_roles(member: Mapping[str, Any], today: date | None) -> bool:
    level = member.get("access_level")
    return (
        member.get("state") == "active"
        and member.get("membership_state") == "active"
        and type(level) is int
        and level >= GUEST
        and _unexpired(member.get("expires_at"), today)
    )


def _unexpired(expires_at: Any, today: date | None) -> bool:
    """GitLab ends a membership on its ``expires_at`` date, and removes it only later (a
    daily job): a member is one while the date has not come. An unreadable date, or no
    ``today`` to judge it by, is unknown, and unknown is never favourable."""
    if expires_at is None:
        return True
    try:
        ends = date.fromisoformat(expires_at) if isinstance(expires_at, str) else None
    except ValueError:
        ends = None
    return ends is not None and today is not None and ends > today


def members(answer: Iterable[Mapping[str, Any]], *, today: date | None = None) -> tuple[str, ...]:
    """Usernames of ``/groups/:id/members/all`` (inherited included) who hold the group's
    roles: the user's ``state`` is ``active`` (not blocked, deactivated or banned), the
    membership's ``membership_state`` is ``active`` (not an invitation ``awaiting``
    acceptance), ``access_level`` is at least Guest (10), and its ``expires_at`` (if any)
    is after ``today`` (the snapshot's date, UTC). A member whose states GitLab does not give
    is left out (fail closed; see :func:`members_left_out`)."""
    names = {
        login(name)
        for member in answer
        if isinstance(name := member.get("username"), str) and name and _holds_roles(member, today)
    }
    return tuple(sorted(names))


def members_left_out(answer: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """Usernames left out only because GitLab did not say their user or membership state
    (GitLab before 15.x has no ``membership_state``), for a note."""
    return tuple(
        sorted(
            login(name)
            for member in answer
            if isinstance(name := member.get("username"), str)
            and name
            and ("state" not in member or "membership_state" not in member)
        )
    )


def blob_paths(tree: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """File paths of a recursive ``/repository/tree`` listing (directories dropped)."""
    return tuple(
        sorted(
            path
            for item in tree
            if item.get("type") == "blob" and isinstance(path := item.get("path"), str)
        )
    )
