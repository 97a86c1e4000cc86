"""The GitHub primitives of ``sopgate sync`` (:class:`sopgate.sync.SyncAdapter`).

A gate run leaves a commit status ``sopgate/STEP`` whose ``target_url`` is its workflow run
(``{GITHUB_SERVER_URL}/{owner}/{repo}/actions/runs/{id}``); a sync run finds those, asks
who started each (``GET .../actions/runs/{id}``), re-runs the failed jobs of the ones whose
gate is now open (``POST .../actions/runs/{id}/rerun-failed-jobs``, once) and publishes the
sticky comment and one status per step whose ``target_url`` is the pull request: never a run
URL, which is what marks a gate run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sopgate.errors import PlatformError, SopgateError
from sopgate.platforms import one_line
from sopgate.platforms.github.api import JSON, Api
from sopgate.platforms.github.gather import COMMIT_EVENTS, Found, Settings, listed_pull
from sopgate.platforms.github.publish import MAX_DESCRIPTION, Publisher
from sopgate.platforms.github.shapes import dig, is_bot, same_login, text
from sopgate.platforms.records import without_record
from sopgate.platforms.transport import same_origin
from sopgate.sync import CONTEXT, RunActors, RunRef

if TYPE_CHECKING:
    from sopgate.evaluate import Evaluation, StepResult

#: ``/OWNER/REPO/actions/runs/ID``, optionally ``/job/JOB_ID`` or ``/attempts/N``.
RUN_PATH = re.compile(
    r"/([^/]+)/([^/]+)/actions/runs/([1-9][0-9]{0,18})(?:/job/[0-9]+|/attempts/[0-9]+)?"
)


class NothingToSync(SopgateError):
    """Not a failure: the event concerns no pull request's gates (a comment on an issue, a
    workflow run of a push). Exit 0 with this line."""

    exit_code = 0


def nothing_to_sync(settings: Settings) -> str | None:
    """Why this run has nothing to sync (no request), or None: a comment on an issue that is
    no pull request, a finished check or workflow run that names no pull request."""
    name, event = settings.event_name, settings.event
    if name == "issue_comment" and not dig(event, "issue", "pull_request"):
        return "no pull request to sync: the comment is on an issue"
    if name in COMMIT_EVENTS and listed_pull(settings) is None:
        sha = text(dig(event, name, "head_sha"))[:12] or "its commit"
        return f"no pull request to sync: the {name} of {sha} names none of {settings.repository}"
    return None


def gate_run(settings: Settings, url: str | None) -> RunRef | None:
    """The workflow run of this repository on this server that ``url`` points at; None for
    anything else (another origin, credentials in it, another repository or path, a query,
    a fragment other than the run's record, :mod:`sopgate.platforms.records`)."""
    url = without_record(url)
    if not url:
        return None
    server = settings.server_url.rstrip("/")
    try:
        parts = urlsplit(url)
        base = urlsplit(server)
    except ValueError:
        return None
    if not same_origin(url, server) or "@" in parts.netloc or any(c in url for c in "?#\\"):
        return None
    prefix = base.path.rstrip("/")
    if not parts.path.startswith(prefix + "/"):
        return None
    match = RUN_PATH.fullmatch(parts.path[len(prefix) :])
    if match is None:
        return None
    owner, repo = settings.repository.split("/", 1)
    if not (same_login(match.group(1), owner) and same_login(match.group(2), repo)):
        return None
    run_id = int(match.group(3))
    return RunRef(run_id, f"{server}/{settings.repository}/actions/runs/{run_id}")


@dataclass
class Syncer:
    """One sync run's requests; remembers each run it was asked about (one GET per run)."""

    settings: Settings
    api: Api
    publisher: Publisher
    found: Found | None
    runs: dict[int, dict[str, JSON]] = field(default_factory=dict)

    @property
    def _repo(self) -> str:
        return f"/repos/{self.settings.repository}"

    def run_actors(self, run: RunRef) -> RunActors:
        """``actor`` and ``triggering_actor`` of the run; ``rerun_by`` only when another
        login, and never a bot (sopgate sync's own re-runs are github-actions[bot]'s)."""
        page = self.api.get(f"{self._repo}/actions/runs/{run.id}")
        data = page.data if isinstance(page.data, dict) else {}
        actor = text(dig(data, "actor", "login"))
        if not actor:
            raise PlatformError(f"GitHub's answer about run {run.id} names no actor")
        self.runs[run.id] = data
        again = text(dig(data, "triggering_actor", "login")) or None
        if again is None or same_login(again, actor) or is_bot(again):
            again = None
        return RunActors(actor, again)

    def rerun(self, run: RunRef, *, dry_run: bool) -> str:
        """Re-run the failed jobs of ``run``: one POST, never repeated. Refused (a line)
        when the run is not one of this repository's runs of the head being synced."""
        problem = self._foreign(run)
        if problem:
            return f"not re-run: {run.url}: {problem}"
        if dry_run:
            return f"dry run: would re-run the failed jobs of {run.url}"
        try:
            self.api.write("POST", f"{self._repo}/actions/runs/{run.id}/rerun-failed-jobs")
        except PlatformError as exc:
            return f"not re-run: {run.url}: {self.api.redact(str(exc))}"
        return f"re-ran the failed jobs of {run.url}"

    def _foreign(self, run: RunRef) -> str | None:
        """Why ``run`` must not be re-run: a status on the head may point at a run of another
        commit (re-running it would deploy that commit) or another repository."""
        data = self.runs.get(run.id)
        if data is None:
            return "GitHub was not asked about this run"
        repo = text(dig(data, "repository", "full_name"))
        if repo and not same_login(repo, self.settings.repository):
            return f"it is a run of {repo}"
        sha = text(data.get("head_sha"))
        head = self.found.commit if self.found else ""
        if not head or sha != head:
            return f"it ran {sha[:12] or 'an unknown commit'}, not the head {head[:12]}"
        return None

    def publish_sync(
        self, evaluation: Evaluation, *, keep: frozenset[str], dry_run: bool
    ) -> list[str]:
        """The sticky comment, then one commit status ``sopgate/KEY`` per step not in
        ``keep`` on the head, pointing at the pull request. No job summary, outputs or
        annotations: a sync run performs no step."""
        lines: list[str] = []
        try:
            body: str | None = self.publisher.markdown(evaluation)
        except Exception as exc:  # a renderer bug must not stop the statuses
            body = None
            lines.append(self.api.redact(f"comment: cannot render Markdown: {exc}"))
        if body is not None:
            lines.append(self.publisher.comment(body, self.found, dry_run))
        if self.found is None:
            return [line for line in lines if line]
        url = evaluation.facts.change.url if evaluation.facts.change else None
        if gate_run(self.settings, url) is not None:
            url = None  # a run URL would mark the status as a gate run's
        for result in evaluation.steps:
            if result.key not in keep:
                lines.append(self._status(result, self.found.commit, url, dry_run))
        return [line for line in lines if line]

    def _status(self, result: StepResult, commit: str, url: str | None, dry_run: bool) -> str:
        if result.state == "done":
            state = "success"
        elif result.state in ("rejected", "failed"):
            state = "failure"
        else:
            state = "pending"
        reasons = [reason for reason in result.reasons if reason not in result.emergency]
        reason = f"{result.state}: {reasons[0]}" if reasons else result.state
        if result.emergency:  # loud on the commit too, as the gate's own status is
            reason = f"{result.emergency[0]}; {reason}"
        payload = {
            "state": state,
            "description": one_line(reason, MAX_DESCRIPTION),
            "context": f"{CONTEXT}{result.key}",
        }
        if url:
            payload["target_url"] = url
        return self.publisher.status(payload, commit, dry_run)
