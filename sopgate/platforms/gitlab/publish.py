"""Publishing to GitLab after evaluation: sticky MR note, commit status, dotenv and JUnit;
for ``sopgate sync``, the note and one commit status per step.

Best effort: every publication returns one line saying what happened, failures included;
nothing here raises, so publishing can never change the decision or the exit code.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from sopgate.errors import PlatformError, SopgateError
from sopgate.platforms.gitlab.client import Api, ApiError, path_id
from sopgate.platforms.records import gate_url
from sopgate.platforms.signoff import MARKER, is_sopgate

if TYPE_CHECKING:
    from sopgate.evaluate import Evaluation, StepResult
    from sopgate.platforms.gitlab import Settings
    from sopgate.platforms.gitlab.gather import MergeRequest

ENV_FILE = "sopgate.env"
JUNIT_FILE = "sopgate-junit.xml"
NOTE_LIMIT = 1_000_000  # GitLab rejects longer notes
DESCRIPTION_LIMIT = 255
#: A step's state as a commit status of a sync run (GitLab: pending, running, success,
#: failed, canceled): done is success, a vetoed or failed step is failed, the rest pending.
SYNC_STATES = {"done": "success", "rejected": "failed", "failed": "failed"}


def cut(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def description(result: StepResult, lead: str) -> str:
    """A commit status description: ``lead`` and the step's first reason; an emergency
    override's line first, so the override is loud on the commit too."""
    reasons = [reason for reason in result.reasons if reason not in result.emergency]
    text = f"{lead}: {reasons[0]}" if reasons else lead
    if result.emergency:
        text = f"{result.emergency[0]}; {text}"
    return cut(" ".join(text.split()))


def dotenv(evaluation: Evaluation) -> str:
    """``sopgate.env`` for ``artifacts:reports:dotenv``: the decision for later jobs, and
    whether it opened only because of an emergency override."""
    target = evaluation.target
    state = evaluation.by_key[target].state if target else ""
    emergency = "true" if evaluation.emergency else "false"
    return (
        f"SOPGATE_DECISION={evaluation.decision or ''}\n"
        f"SOPGATE_STATE={state}\nSOPGATE_STEP={target or ''}\n"
        f"SOPGATE_EMERGENCY={emergency}\n"
    )


def note_body(evaluation: Evaluation) -> str:
    from sopgate.render import render

    body = f"{MARKER}\n{render('markdown', evaluation)}"
    if len(body) > NOTE_LIMIT:
        body = body[: NOTE_LIMIT - 40] + "\n\n… (cut: the full report is in the job log)"
    return body


class Publisher:
    def __init__(
        self, api: Api, settings: Settings, *, workdir: str, mr: MergeRequest | None
    ) -> None:
        self.api = api
        self.settings = settings
        self.workdir = Path(workdir)
        self.mr = mr
        self.project = f"/projects/{path_id(settings.project_id)}"

    def publish(self, evaluation: Evaluation, *, dry_run: bool) -> list[str]:
        actions: list[tuple[str, Callable[[Evaluation, bool], str]]] = [
            ("MR note", self._note),
            ("commit status", self._status),
            (ENV_FILE, self._env_file),
            (JUNIT_FILE, self._junit_file),
        ]
        lines = []
        for what, action in actions:
            try:
                lines.append(action(evaluation, dry_run))
            except (SopgateError, OSError) as exc:
                lines.append(f"{what}: not published: {exc}")
            except Exception as exc:  # best effort by contract: report, never raise
                lines.append(f"{what}: not published: {type(exc).__name__}: {exc}")
        return [self._redact(line) for line in lines]

    def publish_sync(
        self, evaluation: Evaluation, *, keep: frozenset[str], dry_run: bool
    ) -> list[str]:
        """The sticky note, then one commit status ``sopgate/KEY`` per step on the MR's
        head except the keys in ``keep``. One line each; failures are lines."""
        self.api.restart_budget()
        lines = [self._guarded("MR note", lambda: self._note(evaluation, dry_run))]
        for result in evaluation.steps:
            name = f"sopgate/{result.key}"
            if result.key in keep:
                lines.append(f"commit status {name}: kept (it points at a gate job)")
                continue
            lines.append(
                self._guarded(f"commit status {name}", partial(self._step_status, result, dry_run))
            )
        return [self._redact(line) for line in lines]

    def _guarded(self, what: str, action: Callable[[], str]) -> str:
        try:
            return action()
        except (SopgateError, OSError) as exc:
            return f"{what}: not published: {exc}"
        except Exception as exc:  # best effort by contract: report, never raise
            return f"{what}: not published: {type(exc).__name__}: {exc}"

    def _step_status(self, result: StepResult, dry_run: bool) -> str:
        state = SYNC_STATES.get(result.state, "pending")
        name = f"sopgate/{result.key}"
        data: dict[str, object] = {
            "state": state,
            "name": name,
            "description": description(result, result.state),
        }
        if self.settings.pipeline_id is not None:
            data["pipeline_id"] = self.settings.pipeline_id
        url = self._mr_url()
        if url:
            data["target_url"] = url  # never a job URL: that marks a gate run to retry
        return self._post_status(data, dry_run)

    def _mr_url(self) -> str | None:
        if self.mr is not None and self.mr.url:
            return self.mr.url
        s = self.settings
        if s.mr_iid is not None and s.project_path:
            return f"{s.server_url}/{s.project_path}/-/merge_requests/{s.mr_iid}"
        return None

    def _redact(self, text: str) -> str:
        token = self.settings.token
        return text.replace(token, "[token]") if token else text

    def _note(self, evaluation: Evaluation, dry_run: bool) -> str:
        if self.mr is None:
            return "MR note: skipped, no merge request"
        base = f"{self.project}/merge_requests/{self.mr.iid}/notes"
        body = note_body(evaluation)
        existing = self._sticky(base)
        where = f"!{self.mr.iid}"
        if dry_run:
            verb = f"update note {existing}" if existing else "add a note"
            return f"MR note: would {verb} on {where} ({len(body)} characters)"
        if existing is not None:
            self.api.put(f"{base}/{existing}", {"body": body})
            return f"MR note: updated note {existing} on {where}"
        try:
            created = self.api.post(base, {"body": body})
        except ApiError as exc:
            if exc.status is not None and exc.status < 500:
                raise
            # The POST may have been applied before the error: look again rather than
            # posting a second sticky note blindly.
            existing = self._sticky(base)
            if existing is not None:
                self.api.put(f"{base}/{existing}", {"body": body})
                return f"MR note: updated note {existing} on {where}"
            created = self.api.post(base, {"body": body})
        return f"MR note: added note {created.get('id')} on {where}"

    def _sticky(self, base: str) -> int | None:
        """sopgate's own note: the oldest non-system note carrying the marker whose author
        is the token's own user. Anyone can write the marker; a note by someone else is
        never taken (its PUT would fail, or overwrite their words)."""
        candidates = [
            note
            for note in self.api.list(base, sort="asc", order_by="created_at")
            if not note.get("system")
            and isinstance(note.get("body"), str)
            and is_sopgate(note["body"])
        ]
        if not candidates:
            return None
        try:
            me = self.api.current_user()["id"]
        except ApiError as exc:
            raise PlatformError(
                f"cannot tell which notes are sopgate's own ({exc}), so no note was added or "
                "changed"
            ) from None
        for note in candidates:
            author = note.get("author")
            note_id = note.get("id")
            if isinstance(author, dict) and author.get("id") == me and isinstance(note_id, int):
                return note_id
        return None

    def _status(self, evaluation: Evaluation, dry_run: bool) -> str:
        target = evaluation.target
        if target is None:
            return "commit status: skipped, no step was checked"
        result = evaluation.by_key[target]
        state = "success" if result.gate_open else "failed"
        name = f"sopgate/{target}"
        data: dict[str, object] = {
            "state": state,
            "name": name,
            "description": description(result, f"gate {evaluation.decision}, {result.state}"),
        }
        if self.settings.pipeline_id is not None:
            data["pipeline_id"] = self.settings.pipeline_id
        if self.settings.job_url:  # the gate job (sync retries it), naming the job's record
            data["target_url"] = gate_url(self.settings.job_url, evaluation)
        return self._post_status(data, dry_run)

    def _post_status(self, data: dict[str, object], dry_run: bool) -> str:
        """Post one commit status on the deployed commit; the line says what happened.

        A 5xx is posted once more (posting a status twice is harmless); GitLab's 400 "cannot
        transition status" means it keeps the state it has, which is not a failure."""
        sha = self.settings.commit
        what = f"commit status {data['name']}={data['state']} on {sha[:12]}"
        if dry_run:
            return f"commit status: would post {data['name']}={data['state']} on {sha[:12]}"
        path = f"{self.project}/statuses/{sha}"
        try:
            self.api.post(path, data)
        except ApiError as exc:
            if exc.status == 400 and "cannot transition status" in str(exc).lower():
                return f"{what}: unchanged (already {data['state']})"
            if exc.status is None or exc.status < 500:
                raise
            self.api.post(path, data)
        return f"{what}: posted"

    def _env_file(self, evaluation: Evaluation, dry_run: bool) -> str:
        text = dotenv(evaluation)
        path = self.workdir / ENV_FILE
        if dry_run:
            return f"{ENV_FILE}: would write {' '.join(text.split())}"
        path.write_text(text, encoding="utf-8")
        return f"{ENV_FILE}: wrote {path}"

    def _junit_file(self, evaluation: Evaluation, dry_run: bool) -> str:
        from sopgate.render import render

        path = self.workdir / JUNIT_FILE
        if dry_run:
            return f"{JUNIT_FILE}: would write {len(evaluation.steps)} test cases"
        path.write_text(render("junit", evaluation), encoding="utf-8")
        return f"{JUNIT_FILE}: wrote {path}"
