"""The records of one commit from GitLab job artifacts, for ``sopgate audit --platform``.

The CI template keeps each gate's record in its job artifacts under ``sopgate-report/``.
Requests, each listing read to its last page:

- ``GET /projects/:id/pipelines?sha=SHA``: the commit's pipelines;
- ``GET /projects/:id/pipelines/:pipeline_id/jobs?include_retried=true``: per pipeline, its
  jobs, retried ones included (a retried gate job kept its own record);
- ``GET /projects/:id/jobs/:job_id/artifacts/sopgate-report/FILE``: per job with an
  artifacts archive, the record and the attestation files beside it. A 404 means that job
  kept no such file. When GitLab redirects the download to object storage (another host),
  the file is fetched from there with no credential
  (:func:`sopgate.platforms.archive.fetch_blob`).

Anything GitLab answers unusably raises :class:`PlatformError` (exit 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sopgate.errors import PlatformError
from sopgate.platforms.archive import (
    MAX_MEMBER,
    RECORD_FILES,
    Downloaded,
    Labels,
    Record,
    fetch_blob,
)
from sopgate.platforms.gitlab import Settings
from sopgate.platforms.gitlab.client import Api, ApiError, path_id
from sopgate.platforms.transport import Deadline
from sopgate.report import REPORT_JSON

#: Where the template's jobs keep the record inside their artifacts (``--report-dir``).
FOLDER = "sopgate-report"


def download(api: Api, settings: Settings, commit: str, env: Mapping[str, str]) -> Downloaded:
    """Every record kept by the jobs of ``commit``'s pipelines, pipelines in the order
    GitLab lists them (newest first), jobs in theirs."""
    api.restart_budget()
    budget = Deadline(settings.budget, "asking GitLab (SOPGATE_API_TIMEOUT)")
    project = f"/projects/{path_id(settings.project_id)}"
    pipelines = api.list(f"{project}/pipelines", sha=commit)
    fetcher = _Fetcher(api, env, budget)
    records: list[Record] = []
    notes: list[str] = []
    labels = Labels()
    jobs_seen = 0
    for pipeline in pipelines:
        pipeline_id = pipeline.get("id")
        if not isinstance(pipeline_id, int):
            raise PlatformError("GitLab listed a pipeline without an id: refused")
        if pipeline.get("sha") not in (None, commit):
            notes.append(f"pipeline {pipeline_id} is of another commit: skipped")
            continue
        jobs = api.list(f"{project}/pipelines/{pipeline_id}/jobs", include_retried="true")
        for job in jobs:
            if not _has_archive(job):
                continue
            jobs_seen += 1
            job_id = job.get("id")
            if not isinstance(job_id, int):
                raise PlatformError("GitLab listed a job without an id: refused")
            name = str(job.get("name") or "job")
            what = f"job {name} ({job_id}) of pipeline {pipeline_id}"
            files = fetcher.record(f"{project}/jobs/{job_id}/artifacts", what)
            if files is None:
                if _expired(job):
                    notes.append(
                        f"the artifacts of {what} have expired: a record there cannot be read"
                    )
                continue
            records.append(Record(labels(f"{name}-job{job_id}"), f"the artifacts of {what}", files))
    looked = (
        f"{len(pipelines)} pipeline{'s' if len(pipelines) != 1 else ''}, "
        f"{jobs_seen} job{'s' if jobs_seen != 1 else ''} with artifacts"
    )
    return Downloaded(commit, tuple(records), tuple(notes), looked)


def _has_archive(job: dict[str, Any]) -> bool:
    artifacts = job.get("artifacts")
    if not isinstance(artifacts, list):
        return False
    return any(isinstance(a, dict) and a.get("file_type") == "archive" for a in artifacts)


def _expired(job: dict[str, Any]) -> bool:
    value = job.get("artifacts_expire_at")
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return moment.tzinfo is not None and moment <= datetime.now(UTC)


class _Fetcher:
    """Reads one file of a job's artifacts: from the API with the token, or from the
    object storage GitLab redirects to, without it."""

    def __init__(self, api: Api, env: Mapping[str, str], budget: Deadline) -> None:
        self.api = api
        self.env = env
        self.budget = budget

    def record(self, path: str, job: str) -> dict[str, bytes] | None:
        """The record files found in the job's artifacts, or None without a report."""
        report = self.file(f"{path}/{FOLDER}/{REPORT_JSON}", f"{FOLDER}/{REPORT_JSON} of {job}")
        if report is None:
            return None
        files = {REPORT_JSON: report}
        for name in RECORD_FILES:
            if name != REPORT_JSON:
                content = self.file(f"{path}/{FOLDER}/{name}", f"{FOLDER}/{name} of {job}")
                if content is not None:
                    files[name] = content
        return files

    def file(self, path: str, what: str) -> bytes | None:
        self.budget.check()
        try:
            response = self.api.get_file(path)
        except ApiError as exc:
            if exc.status == 404:
                return None
            if exc.location is None:
                raise
            return fetch_blob(
                exc.location, env=self.env, budget=self.budget, what=what, max_bytes=MAX_MEMBER
            )
        if response.status_code != 200:
            raise PlatformError(f"GitLab answered {response.status_code} to GET {path}: refused")
        if len(response.content) > MAX_MEMBER:
            raise PlatformError(f"{what} is larger than {MAX_MEMBER // (1024 * 1024)} MiB: refused")
        return response.content
