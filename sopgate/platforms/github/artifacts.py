"""The records of one commit from GitHub Actions artifacts, for ``sopgate audit --platform``.

The action uploads each gate's record as the artifact ``sopgate-report-STEP`` (a re-run
attempt as ``sopgate-report-STEP-attempt-N``). Requests, each listing read to its last page:

- ``GET /repos/{o}/{r}/actions/runs?head_sha=SHA``: the commit's workflow runs;
- ``GET /repos/{o}/{r}/actions/runs/{id}/artifacts``: per run, its artifacts;
- ``GET /repos/{o}/{r}/actions/artifacts/{id}/zip``: per ``sopgate-report-*`` artifact, a
  redirect (read, not followed) to a signed URL on another host, which is then fetched with
  no credential (:func:`sopgate.platforms.archive.fetch_blob`).

An expired artifact is a note (its record is then missing from the trail, which the audit
reports); anything GitHub answers unusably raises :class:`PlatformError` (exit 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from sopgate.errors import PlatformError
from sopgate.platforms.archive import (
    MAX_ARTIFACT,
    Downloaded,
    Labels,
    Record,
    fetch_blob,
    records_in_zip,
)
from sopgate.platforms.github.api import Api, iter_dicts
from sopgate.platforms.github.gather import Settings

#: The names the action gives the artifacts that hold records.
PREFIX = "sopgate-report-"


def download(api: Api, settings: Settings, commit: str, env: Mapping[str, str]) -> Downloaded:
    """Every record in the ``sopgate-report-*`` artifacts of ``commit``'s workflow runs,
    runs in the order GitHub lists them (newest first), artifacts in theirs."""
    api.begin()
    repo = f"/repos/{settings.repository}"
    _, runs = api.get_all(f"{repo}/actions/runs", key="workflow_runs", head_sha=commit)
    records: list[Record] = []
    notes: list[str] = []
    labels = Labels()
    kept = 0
    for run in iter_dicts(runs):
        run_id = run.get("id")
        if not isinstance(run_id, int):
            raise PlatformError("GitHub listed a workflow run without an id: refused")
        if run.get("head_sha") != commit:
            notes.append(f"workflow run {run_id} is of another commit: skipped")
            continue
        _, artifacts = api.get_all(f"{repo}/actions/runs/{run_id}/artifacts", key="artifacts")
        for artifact in iter_dicts(artifacts):
            name = artifact.get("name")
            if not isinstance(name, str) or not name.startswith(PREFIX):
                continue
            kept += 1
            found = _records(api, repo, run_id, artifact, env, labels, notes)
            records.extend(found)
    looked = (
        f"{len(runs)} workflow run{'s' if len(runs) != 1 else ''}, "
        f"{kept} {PREFIX}* artifact{'s' if kept != 1 else ''}"
    )
    return Downloaded(commit, tuple(records), tuple(notes), looked)


def _records(
    api: Api,
    repo: str,
    run_id: int,
    artifact: dict[str, object],
    env: Mapping[str, str],
    labels: Labels,
    notes: list[str],
) -> list[Record]:
    name = str(artifact.get("name"))
    artifact_id = artifact.get("id")
    if not isinstance(artifact_id, int):
        raise PlatformError(f"GitHub listed the artifact {name!r} without an id: refused")
    what = f"the artifact {name} of workflow run {run_id}"
    if artifact.get("expired") is True:
        notes.append(f"{what} has expired: its record cannot be read")
        return []
    size = artifact.get("size_in_bytes")
    if isinstance(size, int) and size > MAX_ARTIFACT:
        raise PlatformError(
            f"{what} has {size} bytes, more than the {MAX_ARTIFACT // (1024 * 1024)} MiB an "
            "artifact of records may have: refused"
        )
    page = api.locate(
        f"{repo}/actions/artifacts/{quote(str(artifact_id), safe='')}/zip",
        allow=frozenset({410}),
    )
    if page.status == 410 or not isinstance(page.data, str):
        notes.append(f"{what} has expired (GitHub answered 410): its record cannot be read")
        return []
    data = fetch_blob(page.data, env=env, budget=api.budget(), what=what)
    found = records_in_zip(data, what=what, label=f"{name}-run{run_id}", labels=labels)
    if not found:
        notes.append(f"{what} holds no sopgate-report.json")
    return found
