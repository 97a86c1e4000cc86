"""Gather one :class:`~sopgate.facts.Facts` snapshot from GitHub's REST API.

The number of requests does not depend on the SOP's steps: one paginated listing each for
reviews, comments, check runs, statuses, the change's commits, the head's check suites and
the pull request's timeline, one git tree, one listing per team, two contents reads for the
SOP in force (plus the repository and the branch's protection off pull request events, one
lookup of the change when the event does not carry it, and one git tree when the base has no
SOP), one read of the run's deployment approvals when the SOP has deployment rules, and one
contents read per evidence document a ``require`` reads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from sopgate.errors import PlatformError, SopgateError
from sopgate.facts import Approval, ApprovalState, Change, Check, CheckState, Commit, Facts
from sopgate.platforms import Gathered
from sopgate.platforms.github.api import JSON, Api, iter_dicts, parse_time
from sopgate.platforms.github.extras import Extras
from sopgate.platforms.github.shapes import SHA, dig, is_bot, same_login, text
from sopgate.platforms.github.sop_source import SopSource, SopTexts
from sopgate.platforms.records import gate_records
from sopgate.platforms.signoff import signoffs_in

if TYPE_CHECKING:
    from sopgate.sop.model import Sop

PR_EVENTS = frozenset(
    {"pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment"}
)
#: Events that change the facts but start no deployment: their runs are sync runs, whose
#: actor (a commenter, a reviewer) is never the initiator.
SYNC_EVENTS = frozenset(
    {
        "issue_comment",
        "pull_request_review",
        "pull_request_review_comment",
        "check_run",
        "check_suite",
        "workflow_run",
    }
)
#: Events about a commit rather than a pull request: the payload's object (named as the
#: event) carries ``head_sha`` and ``pull_requests``; ``GITHUB_SHA`` is the default branch's.
COMMIT_EVENTS = frozenset({"check_run", "check_suite", "workflow_run"})
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
    ref: str = ""  # GITHUB_REF
    triggering_actor: str | None = None  # GITHUB_TRIGGERING_ACTOR (who re-ran the run)
    check_run_id: str | None = None  # SOPGATE_CHECK_RUN_ID (job.check_run_id)


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
    sizes: dict[str, int] = field(default_factory=dict)  # blob sizes of the last git tree

    @property
    def repo(self) -> str:
        return f"/repos/{self.settings.repository}"

    def gather(self, sop_path: str) -> tuple[Gathered, Found]:
        self.notes = []
        sha, ref = self._subject()
        pr, on_change, pulls = self._change(sha, ref)
        # On a pull request event the deployed commit is the head; after a push it is the
        # pushed commit, whose pull request only supplies the reviews and sign-offs.
        commit = text(dig(pr, "head", "sha")) if on_change else sha
        if not SHA.match(commit or ""):
            raise PlatformError(
                f"cannot tell the deployed commit: {commit!r} is not a full "
                "commit sha (GITHUB_SHA or the pull request's head)"
            )
        number = pr.get("number") if pr else None
        number = number if isinstance(number, int) else None
        head = text(dig(pr, "head", "sha")) if pr else ""
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

        texts = self._sop_texts(sop_path, pr if on_change else None, commit, pulls, ref)
        sop = self._parsed(texts.in_force)
        groups = _groups([sop, self._parsed(texts.proposed)])

        extras = Extras(self.api, self.repo, self.notes)
        change, approvals = _change_of(pr), list[Approval]()
        commits: tuple[Commit, ...] | None = ()
        if pr is not None and number is not None:
            approvals += self._reviews(number, {head: commit} if merged else {})
            approvals += self._signoffs(number)
            commits = extras.commits(pr, number)
            change = self._pushed(extras, change, head, number)
        if sop is not None and _has_deployment_rules(sop):
            approvals.extend(extras.deployment_approvals(self.settings.run_id))
        files = self._files(commit)
        checks = (*self._check_runs(commit), *self._statuses(commit))
        members = {group: self._members(group) for group in groups}
        documents = extras.documents(sop, commit, files, self.sizes) if sop else {}
        facts = Facts(
            facts=1,
            platform="github",
            repository=self.settings.repository,
            commit=commit,
            change=change,
            initiator=self._initiator(),
            rerun_by=self._rerun_by(),
            observed_at=self.clock(),
            approvals=tuple(approvals),
            checks=checks,
            files=files,
            groups=members,
            commits=commits,
            documents=documents,
            notes=tuple(self.notes),
            records=gate_records(checks),
        )
        gathered = Gathered(facts, texts.in_force, texts.proposed, sop_deleted=texts.deleted)
        return gathered, Found(commit, number)

    def _pushed(
        self, extras: Extras, change: Change | None, head: str, number: int
    ) -> Change | None:
        """``change`` with ``pushed_at`` always written: None (unknown) when it cannot be told."""
        pushed = extras.pushed_at(head, number) if SHA.match(head) else None
        return change.model_copy(update={"pushed_at": pushed}) if change else None

    # -- who started the run -------------------------------------------------------------------

    def _initiator(self) -> str | None:
        """``GITHUB_ACTOR`` of a gate run; a sync run (a comment, a review, a finished
        check) has none, so whoever triggered it is never excluded for having done so."""
        if self.settings.event_name in SYNC_EVENTS:
            return None
        return self.settings.actor or None

    def _rerun_by(self) -> str | None:
        """Who re-ran a gate run, when it is not its original actor. A bot is never
        ``rerun_by``: ``sopgate sync`` re-runs with the job token, so the re-run of a gate
        that sync found open is triggered by github-actions[bot], which holds no role; the
        re-run is judged as started by its actor (who ``sync`` judged it as, too)."""
        again = self.settings.triggering_actor
        actor = self._initiator()
        if actor is None or not again or same_login(again, self.settings.actor):
            return None
        if is_bot(again):
            self.notes.append(f"re-run by {again} (sopgate sync): judged as started by {actor}")
            return None
        return again

    # -- the change and the SOP ------------------------------------------------------------

    def _subject(self) -> tuple[str, str]:
        """The commit the event is about and the ref it was run on: ``GITHUB_SHA`` and
        ``GITHUB_REF``, except on check_run, check_suite and workflow_run, where those are
        the default branch's: there the payload's ``head_sha``, with no ref (its
        ``head_branch`` is whatever the pusher named it, a fork's ``main`` included, so it
        never makes the commit's own SOP the one in force)."""
        name = self.settings.event_name
        if name not in COMMIT_EVENTS:
            return self.settings.sha, self.settings.ref
        sha = text(dig(self.settings.event, name, "head_sha"))
        if not SHA.match(sha):
            raise PlatformError(f"the {name} event names no commit (head_sha): refused")
        return sha, ""

    def _change(
        self, sha: str, ref: str
    ) -> tuple[dict[str, JSON] | None, bool, list[dict[str, JSON]]]:
        """The pull request, whether the event is about it (not a push after a merge), and
        the pull requests GitHub associates with ``sha`` (looked up off PR events)."""
        event, name = self.settings.event, self.settings.event_name
        if name in PR_EVENTS and isinstance(event.get("pull_request"), dict):
            pr: dict[str, JSON] = event["pull_request"]
            return pr, True, []
        issue = event.get("issue")
        number: JSON = None
        if name == "issue_comment" and isinstance(issue, dict) and issue.get("pull_request"):
            number = issue.get("number")
        elif name in COMMIT_EVENTS:
            number = listed_pull(self.settings)
        if isinstance(number, int) and not isinstance(number, bool):
            page = self.api.get(f"{self.repo}/pulls/{number}")
            if not isinstance(page.data, dict):
                raise PlatformError("GitHub answered the pull request with unexpected JSON")
            return page.data, True, []
        if not SHA.match(sha):
            return None, False, []
        _, listed = self.api.get_all(f"{self.repo}/commits/{sha}/pulls")
        candidates = list(iter_dicts(listed))
        # A merged pull request is the change only when GitHub merged it as this very commit.
        for pr in candidates:
            if pr.get("merge_commit_sha") == sha and pr.get("merged_at"):
                return pr, False, candidates
        # Else the open pull request whose head this is, the one from this branch first.
        branch = ref.removeprefix("refs/heads/")
        heads = [p for p in candidates if dig(p, "head", "sha") == sha]
        for pr in sorted(heads, key=lambda p: dig(p, "head", "ref") != branch):
            if pr.get("state") == "open":
                return pr, False, candidates
        return None, False, candidates

    def _sop_texts(
        self,
        sop_path: str,
        pr: dict[str, JSON] | None,
        commit: str,
        pulls: list[dict[str, JSON]],
        ref: str,
    ) -> SopTexts:
        source = SopSource(self.api, self.repo, self.notes)
        path = self._repo_path(sop_path)
        if pr is not None:
            return source.on_change(path, pr, commit)
        return source.elsewhere(path, ref, commit, pulls)

    def _repo_path(self, sop_path: str) -> str:
        full = os.path.abspath(sop_path)
        root = os.path.abspath(self.settings.workspace)
        rel = os.path.relpath(full, root)
        if rel.startswith(".."):
            raise PlatformError(f"{sop_path} is outside the repository checkout ({root})")
        return rel.replace(os.sep, "/")

    def _parsed(self, sop_text: str | None) -> Sop | None:
        from sopgate.sop.load import parse_sop

        if sop_text is None:
            return None
        try:
            return parse_sop(sop_text, path="sop").sop
        except SopgateError:
            return None  # the CLI reports an invalid SOP when it loads it

    # -- approvals ---------------------------------------------------------------------------

    def _reviews(self, number: int, merged_as: dict[str, str]) -> list[Approval]:
        """Reviews of the pull request; ``merged_as`` maps its final head to the merge commit."""
        _, items = self.api.get_all(f"{self.repo}/pulls/{number}/reviews")
        found = []
        for review in iter_dicts(items):
            state = REVIEW_STATES.get(text(review.get("state")))
            login = text(dig(review, "user", "login"))
            if state is None or not login:
                continue
            sha = text(review.get("commit_id"))
            sha = merged_as.get(sha, sha)
            found.append(
                Approval(
                    user=login,
                    source="review",
                    state=state,
                    sha=sha if SHA.match(sha) else None,
                    at=parse_time(review.get("submitted_at")),
                    url=text(review.get("html_url")) or None,
                )
            )
        return found

    def _signoffs(self, number: int) -> list[Approval]:
        _, items = self.api.get_all(f"{self.repo}/issues/{number}/comments")
        found = []
        for comment in iter_dicts(items):
            body = text(comment.get("body"))
            login = text(dig(comment, "user", "login"))
            if not login:
                continue
            created = parse_time(comment.get("created_at"))
            updated = parse_time(comment.get("updated_at"))
            found += signoffs_in(
                body,
                user=login,
                at=created,
                # Unedited only when both times are known and the same instant: an unknown
                # or unreadable time is an edit (unknown is never favourable).
                edited=created is None or updated is None or updated != created,
                url=text(comment.get("html_url")) or None,
            )
        return found

    # -- checks, files, teams ----------------------------------------------------------------

    def _check_runs(self, commit: str) -> list[Check]:
        _, items = self.api.get_all(f"{self.repo}/commits/{commit}/check-runs", key="check_runs")
        found = []
        for run in iter_dicts(items):
            name = text(run.get("name"))
            if not name:
                continue
            if run.get("status") == "completed":
                state: CheckState = CONCLUSIONS.get(text(run.get("conclusion")), "pending")
            else:
                state = "pending"
            found.append(
                Check(
                    name=name,
                    app=text(dig(run, "app", "slug")) or None,
                    state=state,
                    at=parse_time(run.get("completed_at")) or parse_time(run.get("started_at")),
                    url=text(run.get("html_url")) or None,
                )
            )
        return found

    def _statuses(self, commit: str) -> list[Check]:
        _, items = self.api.get_all(f"{self.repo}/commits/{commit}/statuses")
        latest: dict[str, Check] = {}
        for status in iter_dicts(items):  # newest first
            context = text(status.get("context"))
            at = parse_time(status.get("updated_at")) or parse_time(status.get("created_at"))
            seen = latest.get(context)
            if not context or (seen is not None and not _later(at, seen.at)):
                continue
            latest[context] = Check(
                name=context,
                app="status",
                state=STATUS_STATES.get(text(status.get("state")), "pending"),
                at=at,
                url=text(status.get("target_url")) or None,
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
        # Blobs only: a directory is not an evidence file.
        blobs = [e for e in iter_dicts(data["tree"]) if e.get("type") == "blob" and e.get("path")]
        self.sizes = {
            text(e.get("path")): e["size"] for e in blobs if isinstance(e.get("size"), int)
        }
        return tuple(text(e.get("path")) for e in blobs)

    def _members(self, group: str) -> tuple[str, ...] | None:
        org, _, team = group.partition("/")
        # A dot segment would be resolved away before sending ("acme/.." lists the org).
        if not org or not team or "/" in team or {org, team} & {".", ".."}:
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
        return tuple(text(m.get("login")) for m in iter_dicts(items) if m.get("login"))


def listed_pull(settings: Settings) -> JSON:
    """The number of the first pull request of this repository that a check_run,
    check_suite or workflow_run payload lists (GitHub lists pull requests of other
    repositories there too, a fork's upstream's), or None."""
    name = settings.event_name
    listed = dig(settings.event, name, "pull_requests")
    own = f"{settings.api_url.rstrip('/')}/repos/{settings.repository}/pulls/".lower()
    for entry in iter_dicts(listed if isinstance(listed, list) else []):
        number, url = entry.get("number"), entry.get("url")
        if isinstance(url, str) and url.lower() != f"{own}{number}":
            continue
        if isinstance(number, int) and not isinstance(number, bool):
            return number
    return None


def _change_of(pr: dict[str, JSON] | None) -> Change | None:
    if pr is None:
        return None
    number = pr.get("number")
    return Change(
        id=number if isinstance(number, int) else None,
        author=text(dig(pr, "user", "login")) or None,
        url=text(pr.get("html_url")) or None,
    )


def _later(at: datetime | None, than: datetime | None) -> bool:
    """Whether a status at ``at`` replaces one at ``than``: an entry with no time is the
    latest (unknown is never favourable: a pending re-run must not hide behind a success)."""
    if than is None:
        return False
    return at is None or at > than


def _groups(sops: list[Sop | None]) -> list[str]:
    """The groups the SOPs' roles name, in order, each once."""
    found: dict[str, None] = {}
    for sop in sops:
        for role in sop.roles.values() if sop else ():
            found.update(dict.fromkeys(role.groups))
    return list(found)


def _has_deployment_rules(sop: Sop) -> bool:
    return any(rule.source == "deployment" for step in sop.steps for rule in step.approvals)
