"""Publish an evaluation on GitHub: job summary, outputs, annotations, a commit status and
one sticky pull request comment. Every failure becomes a returned line, never an exception:
publishing never changes the decision.

The writes go through the same client as the reads (:class:`~.api.Api`): credentials only
to the API origin, no redirect followed (an answer 3xx is "not posted"), a deadline per
request and per publish. :meth:`Publisher._attempt` bounds the retries of each whole action.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sopgate.errors import PlatformError
from sopgate.platforms import one_line
from sopgate.platforms.github.api import JSON, Api, HttpError, iter_dicts
from sopgate.platforms.github.gather import Found, Settings
from sopgate.platforms.github.shapes import dig, is_bot, same_login, text
from sopgate.platforms.records import gate_url
from sopgate.platforms.signoff import MARKER, is_sopgate

if TYPE_CHECKING:
    from sopgate.evaluate import Evaluation, StepResult

MAX_DESCRIPTION = 140
MAX_COMMENT = 65_000  # GitHub refuses comment bodies over 65,536 characters
EMERGENCY_TITLE = "sopgate emergency override"


#: The login of GitHub Actions' job token (GITHUB_TOKEN): comments it posts are sopgate's.
ACTIONS_BOT = "github-actions[bot]"
#: What :meth:`Publisher._token_user` answers for a token that is no user (an App's).
INSTALLATION = "(an installation token)"


@dataclass
class Publisher:
    settings: Settings
    api: Api
    markdown: Callable[[Evaluation], str]
    _who: str | None = field(default=None, init=False, repr=False)
    _who_asked: bool = field(default=False, init=False, repr=False)

    def publish(self, evaluation: Evaluation, found: Found | None, *, dry_run: bool) -> list[str]:
        lines: list[str] = []
        try:
            body = self.markdown(evaluation)
        except Exception as exc:  # a renderer bug must not hide the decision
            body = None
            lines.append(self._redact(f"summary: cannot render Markdown: {exc}"))
        if body is not None:
            lines.append(self._summary(body, dry_run))
        lines.extend(self._outputs(evaluation, dry_run))
        lines.extend(self._annotations(evaluation, dry_run))
        if evaluation.target is not None and found is not None:
            lines.append(self._status(evaluation, found, dry_run))
        if body is not None:
            lines.append(self.comment(body, found, dry_run))
        return [line for line in lines if line]

    # -- files of the runner -----------------------------------------------------------------

    def _summary(self, body: str, dry_run: bool) -> str:
        path = os.environ.get("GITHUB_STEP_SUMMARY")
        if not path:
            return ""
        if dry_run:
            return (
                f"dry run: would append the summary ({len(body)} characters) to "
                "$GITHUB_STEP_SUMMARY"
            )
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(body.rstrip("\n") + "\n")
        except OSError as exc:
            return f"summary: cannot write $GITHUB_STEP_SUMMARY: {exc.strerror}"
        return "summary: appended to $GITHUB_STEP_SUMMARY"

    def _outputs(self, evaluation: Evaluation, dry_run: bool) -> list[str]:
        path = os.environ.get("GITHUB_OUTPUT")
        if not path:
            return []
        target = evaluation.by_key[evaluation.target] if evaluation.target else None
        values = {
            "decision": evaluation.decision or "",
            "step": target.key if target else "",
            "state": target.state if target else "",
            "emergency": "true" if evaluation.emergency else "false",
        }
        text = "".join(f"{k}={_one_line(v)}\n" for k, v in values.items())
        shown = " ".join(f"{k}={v}" for k, v in values.items())
        if dry_run:
            return [f"dry run: would write {shown} to $GITHUB_OUTPUT"]
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            return [f"outputs: cannot write $GITHUB_OUTPUT: {exc.strerror}"]
        return [f"outputs: {shown}"]

    def _annotations(self, evaluation: Evaluation, dry_run: bool) -> list[str]:
        """A ``::warning`` per active emergency override, then ``::error`` workflow commands
        for the target step and the needed steps that block it; returned (not printed) so
        the CLI prints them on stdout with its other lines."""
        found = []
        for result in evaluation.steps:
            for line in result.emergency:
                command = (
                    f"::warning title={_property(EMERGENCY_TITLE)}::"
                    f"{_data(f'{line} ({result.key})')}"
                )
                found.append(f"dry run: would annotate {command[2:]}" if dry_run else command)
        if evaluation.target is None:
            return found
        target = evaluation.by_key[evaluation.target]
        if target.gate_open:
            return found
        blocking: list[StepResult] = [target]
        blocking += [
            evaluation.by_key[k] for k in target.needs if evaluation.by_key[k].state != "done"
        ]
        path = self._repo_path(evaluation.loaded.path)
        for result in blocking:
            # The step asked about is the error; a needed step that is not done yet only
            # explains it (its own gate may well be open).
            level = "error" if result is target else "warning"
            what = result.state if result is target else f"{result.state}, not done yet"
            message = f"{result.key} is {what}: " + "; ".join(result.reasons)
            command = (
                f"::{level} file={_property(path)},line={result.line},"
                f"title={_property('sopgate: ' + result.key)}::{_data(message)}"
            )
            found.append(f"dry run: would annotate {command[2:]}" if dry_run else command)
        return found

    def _repo_path(self, path: str) -> str:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(self.settings.workspace))
        return path if rel.startswith("..") else rel.replace(os.sep, "/")

    # -- GitHub ------------------------------------------------------------------------------

    def _status(self, evaluation: Evaluation, found: Found, dry_run: bool) -> str:
        target = evaluation.by_key[evaluation.target or ""]
        reasons = [reason for reason in target.reasons if reason not in target.emergency]
        if target.gate_open:
            state, why = "success", f"gate open ({target.state})"
        else:
            state = "failure" if target.state in ("rejected", "failed") else "pending"
            why = f"{target.state}: {reasons[0]}" if reasons else target.state
        if target.emergency:  # the description starts with it: loud on the commit too
            why = f"{target.emergency[0]}; {why}"
        payload = {
            "state": state,
            "description": one_line(why, MAX_DESCRIPTION),
            "context": f"sopgate/{target.key}",
        }
        run = self._run_url()
        if run:  # what marks a gate run: sync re-runs it from here; it names the run's record
            payload["target_url"] = gate_url(run, evaluation)
        return self.status(payload, found.commit, dry_run)

    def status(self, payload: dict[str, str], commit: str, dry_run: bool) -> str:
        """Set one commit status (``state``, ``description``, ``context``, ``target_url``)."""
        state, context = payload["state"], payload["context"]
        where = f"commit status {context} on {commit[:12]}"
        if dry_run:
            return f"dry run: would set {where} to {state}: {payload['description']}"

        def post() -> None:
            self.api.write("POST", f"{self._repo}/statuses/{commit}", payload)

        problem = self._attempt(post)
        return f"status: {where} not set: {problem}" if problem else f"status: {where}: {state}"

    def comment(self, body: str, found: Found | None, dry_run: bool) -> str:
        """Create or update the sticky comment on the pull request (the one sopgate wrote)."""
        if not self.settings.comment:
            return ""
        if found is None or found.pr_number is None:
            return "comment: no pull request for this commit"
        number = found.pr_number
        text = f"{MARKER}\n{body}"
        if len(text) > MAX_COMMENT:
            text = text[:MAX_COMMENT] + "\n\n… (cut: see the job summary)"
        if dry_run:
            return f"dry run: would create or update the sopgate comment on #{number}"
        outcome: list[str] = []

        listing = f"{self._repo}/issues/{number}/comments"

        def ours() -> list[dict[str, JSON]]:
            _, items = self.api.get_all(listing)
            return [
                c
                for c in iter_dicts(items)
                if isinstance(c.get("body"), str)
                and is_sopgate(c["body"])
                and isinstance(c.get("id"), int)
                and self._mine(c)
            ]

        def edit(comment: dict[str, JSON]) -> None:
            # The comment's id, never its "url": the URL the client builds stays on the API.
            self.api.write("PATCH", f"{self._repo}/issues/comments/{comment['id']}", {"body": text})

        def post() -> None:
            # Found again on every try: a retry after a lost answer edits, never duplicates.
            found_ours = ours()
            if found_ours:
                edit(found_ours[0])
                outcome[:] = [f"updated {_html_url(found_ours[0])}"]
                return
            created = self.api.write("POST", listing, {"body": text})
            outcome[:] = [f"created {_html_url(created)}"]
            # Two gate jobs of one pull request may both have found no comment and both
            # created one: keep the oldest, so at most one survives.
            again = ours()
            if len(again) > 1:
                keep = min(again, key=lambda c: int(c["id"]))
                edit(keep)
                for extra in again:
                    if extra["id"] != keep["id"]:
                        self.api.write("DELETE", f"{self._repo}/issues/comments/{extra['id']}")
                outcome[:] = [f"updated {_html_url(keep)} (removed {len(again) - 1} duplicate)"]

        problem = self._attempt(post)
        if problem:
            return f"comment: not posted on #{number}: {problem}"
        return f"comment: {outcome[0]}"

    def _mine(self, comment: dict[str, JSON]) -> bool:
        """Whether a comment carrying the marker is sopgate's own, written with this token:
        anyone can start a comment with the marker, and sopgate must never edit (nor delete
        as a duplicate) someone else's. When unsure, it is not: sopgate then posts its own.

        ``github-actions[bot]`` (the job token of this repository's workflows) is always
        sopgate; a personal token's user is the login ``GET /user`` names; an installation
        token (``GET /user`` answers 403) writes as an App, and a comment an App performed
        (``performed_via_github_app``, by ``SLUG[bot]``: only Apps the repository's admins
        installed can comment there) is taken as sopgate's."""
        login = text(dig(comment, "user", "login"))
        if not login:
            return False
        if same_login(login, ACTIONS_BOT):
            return True
        who = self._token_user()
        if who is None:
            return False
        if who is INSTALLATION:
            slug = text(dig(comment, "performed_via_github_app", "slug"))
            return bool(slug) and is_bot(login) and same_login(login, f"{slug}[bot]")
        return same_login(login, who)

    def _token_user(self) -> str | None:
        """The token's login (``GET /user``, once per publish), :data:`INSTALLATION` when
        GitHub says the token is no user (403), None when it cannot be told."""
        if not self._who_asked:
            self._who_asked = True
            try:
                page = self.api.get("/user", allow=frozenset({401, 403, 404}))
            except PlatformError:
                return None
            login = text(dig(page.data, "login")) if page.status == 200 else ""
            self._who = INSTALLATION if page.status == 403 else (login or None)
        return self._who

    def _attempt(self, action: Callable[[], None]) -> str | None:
        """Run ``action`` with bounded retries; the failure as text, or None.

        Only a retryable :class:`HttpError` of a write is retried here (reads retry inside
        the client); every retry pause must fit in the publish deadline."""
        policy = self.api.retry
        started = policy.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                action()
                return None
            except HttpError as exc:
                if not exc.retryable:
                    return self._redact(str(exc))
                message = str(exc)
                wait = exc.retry_after or policy.backoff * 2 ** (attempt - 1)
            except PlatformError as exc:
                return self._redact(str(exc))
            spent = policy.clock() - started
            if (
                attempt >= policy.attempts
                or spent + wait > policy.budget
                or wait >= self.api.budget().remaining()
            ):
                return self._redact(message)
            policy.sleep(wait)

    @property
    def _repo(self) -> str:
        return f"/repos/{self.settings.repository}"

    def _run_url(self) -> str | None:
        if not self.settings.run_id:
            return None
        return (
            f"{self.settings.server_url.rstrip('/')}/{self.settings.repository}"
            f"/actions/runs/{self.settings.run_id}"
        )

    def _redact(self, text: str) -> str:
        token = self.settings.token
        return text.replace(token, "***") if token else text


def _html_url(comment: JSON) -> str:
    url = comment.get("html_url") if isinstance(comment, dict) else None
    return one_line(url, 300) if isinstance(url, str) else "(no URL given)"


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
