"""Gather one :class:`~sopgate.facts.Facts` snapshot from GitHub's REST API.

The number of requests does not depend on the SOP's steps: one paginated listing each for
reviews, comments, check runs and statuses, one git tree, one listing per team, and up to
two contents reads for the SOP on a pull request (plus one lookup of the change when the
event does not carry it).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sopgate.errors import PlatformError, SopgateError
from sopgate.facts import Approval, ApprovalState, Change, Check, CheckState, Facts
from sopgate.platforms import Gathered
from sopgate.platforms.github.api import JSON, Api, iter_dicts, parse_time
from sopgate.platforms.signoff import signoffs_in

PR_EVENTS = frozenset(
    {"pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment"}
)
SHA = re.compile(r"^[0-9a-f]{40}$")
REVIEW_STATES: dict[str, ApprovalState] = {
    "APPROVED": "approved",
    "CHANGES_REQUESTED": "rejected",
    "DISMISSED": "dismissed",
}
# neutral counts as success, as GitHub's branch protection does; action_required and stale
# runs are not finished; timed_out and startup_failure are failures.
CONCLUSIONS: dict[str, CheckState] = {
    "success": "success",
    "neutral": "success",
    "failure": "failure",
    "timed_out": "failure",
    "startup_failure": "failure",
    "cancelled": "cancelled",
    "skipped": "skipped",
    "action_required": "pending",
    "stale": "pending",
}
STATUS_STATES: dict[str, CheckState] = {
    "success": "success",
    "failure": "failure",
    "error": "failure",
    "pending": "pending",
}
TEAM_PERMISSION = "read:org / members: read"


@dataclass(frozen=True)
class Settings:
    """The GitHub Actions context, read only from environment variables."""

    api_url: str
    repository: str
    event_name: str
    event: dict[str, JSON]
    sha: str
    job: str | None
    actor: str | None
    workspace: str
    server_url: str
    run_id: str | None
    comment: bool
    token: str | None = field(default=None, repr=False)


@dataclass
class Found:
    """What publishing needs to remember from the last gather."""

    commit: str
    pr_number: int | None


@dataclass
class Gatherer:
    api: Api
    settings: Settings
    clock: Callable[[], datetime]
    notes: list[str] = field(default_factory=list)

    @property
    def repo(self) -> str:
        return f"/repos/{self.settings.repository}"

    def gather(self, sop_path: str) -> tuple[Gathered, Found]:
        self.notes = []
        pr, on_change = self._change()
        # On a pull request event the deployed commit is the head; after a push it is the
        # pushed commit, whose pull request only supplies the reviews and sign-offs.
        commit = _text(_dig(pr, "head", "sha")) if on_change else self.settings.sha
        if not SHA.match(commit or ""):
            raise PlatformError(
                f"cannot tell the deployed commit: {commit!r} is not a full "
                "commit sha (GITHUB_SHA or the pull request's head)"
            )
        number = pr.get("number") if pr else None
        number = number if isinstance(number, int) else None
        head = _text(_dig(pr, "head", "sha")) if pr else ""
        # GitHub made the deployed merge commit from the pull request's head: an approval of
        # that head is an approval of what was merged, so it is fresh for the merge commit.
        merged = bool(pr and not on_change and pr.get("merge_commit_sha") == commit and head)
        if merged:
            self.notes.append(
                f"pull request #{number} was merged as {commit[:12]}: approvals of its final "
                f"head {head[:12]} count as approvals of the deployed commit"
            )
        elif head and head != commit:
            self.notes.append(
                f"pull request #{number} was reviewed at its head {head[:12]}; "
                f"the deployed commit is {commit[:12]}"
            )

        sop_text, proposed = (None, None)
        if pr is not None and on_change:
            sop_text, proposed = self._sop_texts(sop_path, pr, commit)
        groups = self._groups([sop_text, proposed] if sop_text else [proposed, _local(sop_path)])

        approvals: list[Approval] = []
        if number is not None:
            approvals.extend(self._reviews(number, {head: commit} if merged else {}))
            approvals.extend(self._signoffs(number))
        facts = Facts(
            facts=1,
            platform="github",
            repository=self.settings.repository,
            commit=commit,
            change=_change_of(pr),
            initiator=self.settings.actor or None,
            observed_at=self.clock(),
            approvals=tuple(approvals),
            checks=(*self._check_runs(commit), *self._statuses(commit)),
            files=self._files(commit),
            groups={group: self._members(group) for group in groups},
            notes=tuple(self.notes),
        )
        return Gathered(facts, sop_text, proposed), Found(commit, number)

    # -- the change and the SOP ------------------------------------------------------------

    def _change(self) -> tuple[dict[str, JSON] | None, bool]:
        """The pull request, and whether the event is about it (not a push after a merge)."""
        event, name = self.settings.event, self.settings.event_name
        if name in PR_EVENTS and isinstance(event.get("pull_request"), dict):
            pr: dict[str, JSON] = event["pull_request"]
            return pr, True
        issue = event.get("issue")
        if name == "issue_comment" and isinstance(issue, dict) and issue.get("pull_request"):
            page = self.api.get(f"{self.repo}/pulls/{int(issue['number'])}")
            if not isinstance(page.data, dict):
                raise PlatformError("GitHub answered the pull request with unexpected JSON")
            return page.data, True
        if not SHA.match(self.settings.sha):
            return None, False
        _, pulls = self.api.get_all(f"{self.repo}/commits/{self.settings.sha}/pulls")
        candidates = list(iter_dicts(pulls))
        for pr in candidates:
            if pr.get("merge_commit_sha") == self.settings.sha and pr.get("merged_at"):
                return pr, False
        for pr in candidates:
            if _dig(pr, "head", "sha") == self.settings.sha:
                return pr, False
        return None, False

    def _sop_texts(
        self, sop_path: str, pr: dict[str, JSON], commit: str
    ) -> tuple[str | None, str | None]:
        path = self._repo_path(sop_path)
        base_ref = _text(_dig(pr, "base", "ref")) or _text(_dig(pr, "base", "sha"))
        base = self._content(path, base_ref)
        head = self._content(path, commit)
        if base is None:
            self.notes.append(f"the base branch {base_ref} has no {path}: this change adds it")
            return None, head
        return base, head if head is not None and head != base else None

    def _repo_path(self, sop_path: str) -> str:
        full = os.path.abspath(sop_path)
        root = os.path.abspath(self.settings.workspace)
        rel = os.path.relpath(full, root)
        if rel.startswith(".."):
            raise PlatformError(f"{sop_path} is outside the repository checkout ({root})")
        return rel.replace(os.sep, "/")

    def _content(self, path: str, ref: str) -> str | None:
        page = self.api.get(f"{self.repo}/contents/{quote(path)}", allow=frozenset({404}), ref=ref)
        if page.status == 404:
            return None
        data = page.data
        if not isinstance(data, dict) or data.get("type") != "file":
            raise PlatformError(f"GitHub's contents of {path} at {ref} are not a file")
        try:
            return base64.b64decode(_text(data.get("content"))).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise PlatformError(
                f"cannot decode the contents of {path} at {ref} (encoding {data.get('encoding')!r})"
            ) from None

    def _groups(self, texts: list[str | None]) -> list[str]:
        from sopgate.sop.load import parse_sop

        found: dict[str, None] = {}
        for text in texts:
            if text is None:
                continue
            try:
                sop = parse_sop(text, path="sop").sop
            except SopgateError:
                continue  # the CLI reports an invalid SOP when it loads it
            for role in sop.roles.values():
                found.update(dict.fromkeys(role.groups))
            deployment = any(r.source == "deployment" for st in sop.steps for r in st.approvals)
            note = (
                "deployment approvals (source: deployment) are not read on GitHub yet: "
                "such rules count nobody"
            )
            if deployment and note not in self.notes:
                self.notes.append(note)
        return list(found)

    # -- approvals ---------------------------------------------------------------------------

    def _reviews(self, number: int, merged_as: dict[str, str]) -> list[Approval]:
        """Reviews of the pull request; ``merged_as`` maps its final head to the merge commit."""
        _, items = self.api.get_all(f"{self.repo}/pulls/{number}/reviews")
        found = []
        for review in iter_dicts(items):
            state = REVIEW_STATES.get(_text(review.get("state")))
            login = _text(_dig(review, "user", "login"))
            if state is None or not login:
                continue
            sha = _text(review.get("commit_id"))
            sha = merged_as.get(sha, sha)
            found.append(
                Approval(
                    user=login,
                    source="review",
                    state=state,
                    sha=sha if SHA.match(sha) else None,
                    at=parse_time(review.get("submitted_at")),
                    url=_text(review.get("html_url")) or None,
                )
            )
        return found

    def _signoffs(self, number: int) -> list[Approval]:
        _, items = self.api.get_all(f"{self.repo}/issues/{number}/comments")
        found = []
        for comment in iter_dicts(items):
            body = _text(comment.get("body"))
            login = _text(_dig(comment, "user", "login"))
            if not login:
                continue
            created, updated = comment.get("created_at"), comment.get("updated_at")
            found += signoffs_in(
                body,
                user=login,
                at=parse_time(created),
                edited=updated is not None and updated != created,
                url=_text(comment.get("html_url")) or None,
            )
        return found

    # -- checks, files, teams ----------------------------------------------------------------

    def _check_runs(self, commit: str) -> list[Check]:
        _, items = self.api.get_all(f"{self.repo}/commits/{commit}/check-runs", key="check_runs")
        found = []
        for run in iter_dicts(items):
            name = _text(run.get("name"))
            if not name:
                continue
            if run.get("status") == "completed":
                state: CheckState = CONCLUSIONS.get(_text(run.get("conclusion")), "pending")
            else:
                state = "pending"
            found.append(
                Check(
                    name=name,
                    app=_text(_dig(run, "app", "slug")) or None,
                    state=state,
                    at=parse_time(run.get("completed_at")) or parse_time(run.get("started_at")),
                    url=_text(run.get("html_url")) or None,
                )
            )
        return found

    def _statuses(self, commit: str) -> list[Check]:
        _, items = self.api.get_all(f"{self.repo}/commits/{commit}/statuses")
        latest: dict[str, Check] = {}
        for status in iter_dicts(items):  # newest first
            context = _text(status.get("context"))
            at = parse_time(status.get("updated_at")) or parse_time(status.get("created_at"))
            seen = latest.get(context)
            if not context or (
                seen is not None and (seen.at is None or at is None or seen.at >= at)
            ):
                continue
            latest[context] = Check(
                name=context,
                app="status",
                state=STATUS_STATES.get(_text(status.get("state")), "pending"),
                at=at,
                url=_text(status.get("target_url")) or None,
            )
        return list(latest.values())

    def _files(self, commit: str) -> tuple[str, ...] | None:
        page = self.api.get(f"{self.repo}/git/trees/{commit}", recursive=1)
        data = page.data
        if not isinstance(data, dict) or not isinstance(data.get("tree"), list):
            raise PlatformError(f"GitHub answered the git tree of {commit} with unexpected JSON")
        if data.get("truncated"):
            self.notes.append(
                f"the git tree of {commit[:12]} is too large for one request: "
                "which evidence files exist is unknown"
            )
            return None
        return tuple(
            _text(e.get("path"))
            for e in iter_dicts(data["tree"])
            if e.get("type") == "blob" and e.get("path")
        )

    def _members(self, group: str) -> tuple[str, ...] | None:
        org, _, team = group.partition("/")
        if not org or not team or "/" in team:
            self.notes.append(f"group {group} is not a GitHub org/team: membership unknown")
            return None
        status, items = self.api.get_all(
            f"/orgs/{quote(org)}/teams/{quote(team)}/members", allow=frozenset({403, 404})
        )
        if status in (403, 404):
            self.notes.append(
                f"team {group}: membership unknown (GitHub answered HTTP {status}); the token "
                f"needs {TEAM_PERMISSION} (the default GITHUB_TOKEN cannot read teams)"
            )
            return None
        return tuple(_text(m.get("login")) for m in iter_dicts(items) if m.get("login"))


def _change_of(pr: dict[str, JSON] | None) -> Change | None:
    if pr is None:
        return None
    number = pr.get("number")
    return Change(
        id=number if isinstance(number, int) else None,
        author=_text(_dig(pr, "user", "login")) or None,
        url=_text(pr.get("html_url")) or None,
    )


def _local(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def _dig(data: Any, *keys: str) -> JSON:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _text(value: JSON) -> str:
    return value if isinstance(value, str) else ""
