"""Who contributed to a merge request, and when its head was pushed.

GitLab's MR commits carry e-mails, not users. An e-mail becomes a username only when
``GET /users?search=EMAIL`` finds exactly one user (GitLab matches public e-mails for
ordinary tokens, every e-mail for admin tokens); otherwise the login is null, which excludes
nobody, and a note names the commit. One search per distinct e-mail, cached for the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sopgate.facts import Commit
from sopgate.platforms.gitlab import mapping
from sopgate.platforms.gitlab.client import NOT_VISIBLE, Api, ApiError, visible


class Contributors:
    """Reads an MR's commits and the time its head was pushed; e-mail lookups are cached
    on the instance (one per distinct e-mail for the whole run, ``--wait`` included)."""

    def __init__(self, api: Api, project: str) -> None:
        self.api = api
        self.project = project
        self._users: dict[str, tuple[str | None, str]] = {}

    def commits(self, iid: int, notes: list[str]) -> tuple[Commit, ...] | None:
        """The MR's commits (``/merge_requests/:iid/commits``), logins mapped from their
        author and committer e-mails; None (unknown) when GitLab will not list them."""
        listing = visible(
            notes,
            f"the commits of !{iid}",
            "the change's contributors are unknown, so rules that exclude contributors count "
            "nobody",
            self.api.list,
            f"{self.project}/merge_requests/{iid}/commits",
        )
        if listing is None:
            return None
        found: list[Commit] = []
        unmapped: list[str] = []
        for entry in listing:
            sha = entry.get("id")
            sha = sha if isinstance(sha, str) and mapping.SHA.match(sha) else None
            author, why_author = self._login(entry.get("author_email"))
            committer, why_committer = self._login(entry.get("committer_email"))
            for login, why, role in (
                (author, why_author, "author"),
                (committer, why_committer, "committer"),
            ):
                if login is None:
                    unmapped.append(f"{(sha or '?')[:12]} ({role}: {why})")
            found.append(
                Commit(
                    sha=sha,
                    author=author,
                    committer=committer,
                    at=mapping.timestamp(entry.get("committed_date"))
                    or mapping.timestamp(entry.get("created_at")),
                )
            )
        if unmapped:
            notes.append(
                "commit e-mails not matched to exactly one GitLab user, so they exclude "
                f"nobody: {', '.join(unmapped)}"
            )
        return tuple(found)

    def _login(self, email: Any) -> tuple[str | None, str]:
        """The username of ``email`` and, when there is none, why."""
        if not isinstance(email, str) or "@" not in email:
            return None, "no e-mail"
        key = mapping.fold(email.strip())
        if key not in self._users:
            self._users[key] = self._search(key)
        return self._users[key]

    def _search(self, email: str) -> tuple[str | None, str]:
        try:
            users = self.api.first_page("/users", search=email)
        except ApiError as exc:
            if exc.status not in NOT_VISIBLE:
                raise
            return None, f"GitLab answered {exc.status} to the user search"
        if len(users) != 1:
            return None, f"{len(users)} users found"
        name = mapping.username(users[0])
        return (name, "") if name else (None, "a user without a username")

    def versions(self, iid: int, head: str, notes: list[str]) -> list[Mapping[str, Any]] | None:
        """The MR's diff versions (``/merge_requests/:iid/versions``, newest first): one per
        push to its source branch; None (unknown) when GitLab will not list them."""
        listing = visible(
            notes,
            f"the diff versions of !{iid}",
            f"when {head[:12]} was pushed is unknown, so fresh sign-offs count nobody",
            self.api.list,
            f"{self.project}/merge_requests/{iid}/versions",
        )
        if listing is None:
            return None
        return [version for version in listing if isinstance(version, Mapping)]

    @staticmethod
    def pushed_at(
        versions: list[Mapping[str, Any]] | None, iid: int, head: str, notes: list[str]
    ) -> datetime | None:
        """When ``head`` was pushed to the MR: the ``created_at`` of the newest diff
        version (:meth:`versions`) whose ``head_commit_sha`` is ``head``; None (unknown)
        when there is none or GitLab would not list them."""
        if versions is None:
            return None
        times = [
            at
            for version in versions
            if version.get("head_commit_sha") == head
            and (at := mapping.timestamp(version.get("created_at"))) is not None
        ]
        if not times:
            notes.append(
                f"no diff version of !{iid} has head {head[:12]}: when it was pushed is "
                "unknown, so fresh sign-offs count nobody"
            )
            return None
        return max(times)
