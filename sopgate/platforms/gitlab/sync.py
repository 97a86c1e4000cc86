"""GitLab's side of ``sopgate sync``: which merge request a sync pipeline is about, which
status URLs are gate jobs of this project, who started them, and retrying one.

A sync pipeline is not a pipeline of the change: it is triggered by a webhook (an MR note or
merge request event posted to a pipeline trigger, the event in ``TRIGGER_PAYLOAD``) or by a
schedule (``SOPGATE_MR_IID``), and runs on the default branch. The merge request comes from
those variables and the commit synced is always the MR's head, read from GitLab, never
``CI_COMMIT_SHA`` (see :func:`sync_settings` and :func:`at_head`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sopgate.errors import PlatformError, SopgateError, UsageError
from sopgate.platforms import one_line
from sopgate.platforms.gitlab import mapping
from sopgate.platforms.gitlab.client import Api, ApiError, path_id
from sopgate.platforms.records import without_record
from sopgate.platforms.signoff import is_sopgate
from sopgate.sync import RunActors, RunRef

if TYPE_CHECKING:
    from sopgate.platforms.gitlab import Settings

#: A webhook payload larger than this is refused unread (GitLab's own limit is 25 MB, an
#: MR note event is a few kB).
PAYLOAD_LIMIT = 5_000_000
_SHA = re.compile(r"^[0-9a-f]{40}$")
_ID = re.compile(r"^[1-9][0-9]{0,17}$")
NO_MR = (
    "sopgate sync needs a merge request: set SOPGATE_MR_IID (a scheduled pipeline), or run "
    "it from a pipeline trigger fed by a merge request or comment webhook (TRIGGER_PAYLOAD)"
)


class NothingToSync(SopgateError):
    """Not a failure: the event that started the pipeline concerns no merge request's gates
    (a comment on an issue, or sopgate's own summary note). Exit 0 with this line."""

    exit_code = 0


def _positive(value: object) -> int | None:
    """``value`` when it is a positive JSON integer (``true`` is not 1)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        return value
    return None


def read_payload(value: str) -> Any:
    """The JSON of ``TRIGGER_PAYLOAD``: GitLab stores it as a file variable (the value is a
    path), a person may give the JSON itself. Raises :class:`UsageError` when it is neither."""
    text = value.strip()
    if not text.startswith(("{", "[")):
        path = Path(value)
        try:
            if not path.is_file():
                raise UsageError(
                    "TRIGGER_PAYLOAD is neither JSON nor the path of a file (GitLab passes the "
                    "webhook's event as a file variable)"
                )
            if path.stat().st_size > PAYLOAD_LIMIT:
                raise UsageError(
                    f"TRIGGER_PAYLOAD: the file holds more than {PAYLOAD_LIMIT} bytes, refused"
                )
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"TRIGGER_PAYLOAD: cannot read the file: {exc}") from None
    elif len(text) > PAYLOAD_LIMIT:
        raise UsageError(f"TRIGGER_PAYLOAD holds more than {PAYLOAD_LIMIT} bytes, refused")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"TRIGGER_PAYLOAD is not JSON: {one_line(str(exc), 120)}") from None


def payload_mr_iid(data: Any, project_id: str) -> int:
    """The merge request a webhook event is about: ``object_attributes.iid`` of a merge
    request event, ``merge_request.iid`` of a note event. The event is untrusted input:
    anything else raises :class:`UsageError` naming what is missing; a comment elsewhere, or
    sopgate's own note, raises :class:`NothingToSync`."""
    if not isinstance(data, dict):
        raise UsageError(
            f"TRIGGER_PAYLOAD is a JSON {type(data).__name__}, not a webhook event object"
        )
    kind = data.get("object_kind")
    project = data.get("project")
    if isinstance(project, dict) and "id" in project:
        payload_project = _positive(project.get("id"))
        if payload_project is None or str(payload_project) != project_id:
            raise UsageError(
                f"TRIGGER_PAYLOAD is an event of another project than this pipeline's "
                f"(CI_PROJECT_ID={project_id}): not synced"
            )
    if kind == "merge_request":
        where, holder = "object_attributes.iid", data.get("object_attributes")
    elif kind == "note":
        _sopgates_own_or_elsewhere(data.get("object_attributes"))
        where, holder = "merge_request.iid", data.get("merge_request")
    else:
        shown = kind if isinstance(kind, str) and re.fullmatch(r"[a-z_]{1,40}", kind) else "?"
        raise UsageError(
            f"TRIGGER_PAYLOAD is a {shown!r} event: sopgate sync reads merge request and note "
            "(comment) events only"
        )
    iid = _positive(holder.get("iid")) if isinstance(holder, dict) else None
    if iid is None:
        raise UsageError(f"TRIGGER_PAYLOAD has no merge request number at {where}")
    return iid


def _sopgates_own_or_elsewhere(note: object) -> None:
    """Raise :class:`NothingToSync` for a comment that is not on a merge request, and for
    sopgate's own summary: each sync updates that note, and GitLab sends a comment event for
    it, which would start the next sync pipeline, without end."""
    if not isinstance(note, dict):
        return  # judged by the missing merge_request.iid
    noteable = note.get("noteable_type")
    if isinstance(noteable, str) and noteable != "MergeRequest":
        shown = noteable if re.fullmatch(r"[A-Za-z]{1,40}", noteable) else "?"
        raise NothingToSync(
            f"nothing to sync: the event is a comment on no merge request ({shown})"
        )
    body = note.get("note")
    if isinstance(body, str) and is_sopgate(body):
        raise NothingToSync("nothing to sync: the event is sopgate's own summary note")


def sync_mr_iid(env: Mapping[str, str], project_id: str) -> int:
    """The merge request of a sync run: ``SOPGATE_MR_IID``, else the event in
    ``TRIGGER_PAYLOAD``, else ``CI_MERGE_REQUEST_IID``."""
    explicit = env.get("SOPGATE_MR_IID", "").strip()
    if explicit:
        if not _ID.match(explicit):
            raise UsageError(f"SOPGATE_MR_IID={one_line(explicit, 40)!r} is not an MR number")
        return int(explicit)
    payload = env.get("TRIGGER_PAYLOAD", "")
    if payload.strip():
        return payload_mr_iid(read_payload(payload), project_id)
    own = env.get("CI_MERGE_REQUEST_IID", "").strip()
    if own:
        if not _ID.match(own):
            raise UsageError(f"CI_MERGE_REQUEST_IID={one_line(own, 40)!r} is not an MR number")
        return int(own)
    raise UsageError(NO_MR)


def sync_settings(settings: Settings, env: Mapping[str, str]) -> Settings:
    """``settings`` for a sync run: the MR named by the trigger, no initiator (nobody is
    excluded for having triggered a sync), and nothing of the sync pipeline itself (its
    commit, jobs and target branch are the default branch's, not the change's)."""
    return replace(
        settings,
        sync=True,
        mr_iid=sync_mr_iid(env, settings.project_id),
        source_sha=None,
        target_branch=None,
        pipeline_id=None,
        job_name=None,
        job_url=None,
        initiator=None,
        ref_name=None,
        branch=None,
        tag=None,
    )


def at_head(api: Api, settings: Settings) -> Settings:
    """``settings`` pointing at the MR's head commit and its head pipeline (one request)."""
    assert settings.mr_iid is not None
    project = f"/projects/{path_id(settings.project_id)}"
    mr = api.get(f"{project}/merge_requests/{settings.mr_iid}")
    sha = mr.get("sha") if isinstance(mr, dict) else None
    if not isinstance(sha, str) or not _SHA.match(sha):
        raise PlatformError(
            f"GitLab answered unusably to GET {project}/merge_requests/{settings.mr_iid}: "
            "no head commit (sha)"
        )
    pipeline = mr.get("head_pipeline")
    pipeline_id = _positive(pipeline.get("id")) if isinstance(pipeline, dict) else None
    return replace(settings, commit=sha, pipeline_id=pipeline_id)


def gate_job(url: str | None, *, server_url: str, project_path: str | None) -> RunRef | None:
    """The job behind a status ``target_url`` when it is exactly
    ``{server}/{project path}/-/jobs/{id}`` of this project on this server; None otherwise
    (another project or host, a lookalike, a query, a fragment other than the job's record
    (:mod:`sopgate.platforms.records`), anything unexpected). No request."""
    url = without_record(url)
    if not url or not project_path or any(c.isspace() or not c.isprintable() for c in url):
        return None
    try:
        got, base = urlsplit(url), urlsplit(server_url)
    except ValueError:
        return None
    if (got.scheme.lower(), got.netloc.lower()) != (base.scheme.lower(), base.netloc.lower()):
        return None
    if "@" in got.netloc or got.query or got.fragment:
        return None
    prefix = f"{base.path.rstrip('/')}/{project_path}/-/jobs/"
    if not got.path.startswith(prefix) or not _ID.match(got.path[len(prefix) :]):
        return None
    return RunRef(int(got.path[len(prefix) :]), url)


def job_actors(api: Api, settings: Settings, run: RunRef) -> RunActors:
    """Who started the job (``user.username`` of ``GET /projects/:id/jobs/:job_id``).
    GitLab does not tell who retried a job apart from who started it."""
    project = f"/projects/{path_id(settings.project_id)}"
    job = api.get(f"{project}/jobs/{run.id}")
    if not isinstance(job, dict) or job.get("id") != run.id:
        raise PlatformError(f"GitLab answered unusably to GET {project}/jobs/{run.id}")
    return RunActors(mapping.username(job.get("user")), None)


def retry_job(api: Api, settings: Settings, run: RunRef, *, dry_run: bool) -> str:
    """``POST /projects/:id/jobs/:job_id/retry``, once: an error is reported in the line,
    never retried (a retry that GitLab applied before failing must not start two jobs)."""
    project = f"/projects/{path_id(settings.project_id)}"
    if dry_run:
        return f"would retry job {run.id} ({run.url})"
    try:
        new = api.post(f"{project}/jobs/{run.id}/retry", {})
    except ApiError as exc:
        return f"job {run.id} not retried: {exc}"
    new_id = new.get("id") if isinstance(new, dict) else None
    new_url = new.get("web_url") if isinstance(new, dict) else None
    if isinstance(new_id, int):
        shown = f" {new_url}" if isinstance(new_url, str) else ""
        return f"retried job {run.id} as job {new_id}{shown}"
    return f"retried job {run.id}"
