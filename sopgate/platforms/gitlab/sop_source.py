"""The SOP in force on GitLab, always read through the API, never from the checkout.

Which SOP decides depends on where the pipeline runs (DESIGN.md, "Trust"):

- a merge request pipeline (``CI_MERGE_REQUEST_IID``), whatever the MR's state (opened,
  closed, locked, merged: a retried or manual job after closing is no exception): the SOP of
  the MR's target branch;
- a branch or tag pipeline on the default branch or on a protected branch or tag, as the
  API reports it: the SOP at the deployed commit;
- any other ref: the SOP of the target branch of a merge request holding the commit (any
  state), else the default branch's.

Where the change's own version differs from the SOP in force, it is the proposed SOP; a
change that deletes or moves the SOP changes it too. A 404 for the SOP in force means "the
change adds it" only when that branch's tree is readable and lacks the file; otherwise, and
whenever no SOP can be read, the gather fails (exit 3).

A branch's SOP is read at the branch's commit, resolved through the branches API, never by
the branch's name: git resolves ``ref=main`` to a tag ``main`` before the branch, and tags
are not protected by default, so a tag of the same name would otherwise stand in for it. A
branch that cannot be resolved fails the gather (exit 3).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sopgate.errors import PlatformError
from sopgate.platforms.gitlab.client import Api, ApiError, path_id

if TYPE_CHECKING:
    from sopgate.platforms.gitlab import Settings

#: A commit id: SHA-1, or SHA-256 in a repository that uses it.
COMMIT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


@dataclass(frozen=True)
class SopInForce:
    """``text`` decides; ``proposed`` is the change's own differing version (or the SOP it
    adds); ``deleted`` says the change deletes or moves it. ``notes`` say which was read."""

    text: str
    proposed: str | None = None
    deleted: bool = False
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """The change edits, adds, deletes or moves the SOP: its owners must approve."""
        return self.proposed is not None or self.deleted


@dataclass(frozen=True)
class Holder:
    """The merge request whose target branch decides for a ref that is not protected."""

    iid: int
    target_branch: str | None
    state: str


class SopSource:
    """Reads the SOP in force for one pipeline (see the module's docstring)."""

    def __init__(self, api: Api, project: str, settings: Settings, *, path: str) -> None:
        self.api = api
        self.project = project
        self.settings = settings
        self.path = path  # the SOP's path in the repository

    def read(self, *, holder: Holder | None, head: str) -> SopInForce:
        """The SOP in force; ``holder`` is the merge request of the pipeline (or one that
        holds the commit), ``head`` the commit the change's own version is read at."""
        s = self.settings
        if s.mr_iid is None:
            protected = self._protected_ref()
            if protected is not None:
                return self._at_commit(protected)
        if holder is not None:
            branch = holder.target_branch or (s.target_branch if s.mr_iid is not None else None)
            if not branch:
                raise PlatformError(f"merge request !{holder.iid} names no target branch")
            state = "" if holder.state == "opened" else f" ({holder.state})"
            return self._of_branch(branch, head, change=f"!{holder.iid}{state}")
        branch = self._default_branch()
        of = f" of {s.ref_name}" if s.ref_name else ""
        return self._of_branch(
            branch,
            head,
            change=f"commit {head[:12]}",
            lead=(
                f"no merge request holds commit {head[:12]}{of}: the SOP of the default "
                f"branch {branch} decides"
            ),
        )

    def _protected_ref(self) -> str | None:
        """A description of the ref ("the default branch main", "protected tag v1") when
        the API reports it default or protected, else None. A ref GitLab no longer knows
        (deleted since) is not protected."""
        s = self.settings
        if s.tag:
            what, found = "tag", self._ref("tags", s.tag)
        elif s.branch:
            what, found = "branch", self._ref("branches", s.branch)
        else:
            return None
        if found is None:
            return None
        name = s.tag or s.branch
        if found.get("default") is True:
            return f"the default branch {name}"
        if found.get("protected") is True:
            return f"protected {what} {name}"
        return None

    def _ref(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            found = self.api.get(f"{self.project}/repository/{kind}/{path_id(name)}")
        except ApiError as exc:
            if exc.status != 404:
                raise
            return None
        return found if isinstance(found, dict) else None

    def _default_branch(self) -> str:
        project = self.api.get(self.project)
        branch = project.get("default_branch") if isinstance(project, dict) else None
        if not isinstance(branch, str) or not branch:
            raise PlatformError(
                "GitLab names no default branch for the project: no SOP in force can be read"
            )
        return branch

    def _at_commit(self, ref: str) -> SopInForce:
        commit = self.settings.commit
        text = self._raw(commit)
        if text is None:
            raise PlatformError(
                f"no SOP in force: {self.path} does not exist at commit {commit[:12]} "
                f"on {ref} (read through the GitLab API)"
            )
        return SopInForce(text=text)

    def _of_branch(
        self, branch: str, head: str, *, change: str, lead: str | None = None
    ) -> SopInForce:
        notes = [lead] if lead else []
        tip = self._tip(branch)
        base = self._raw(tip)
        own = self._raw(head)
        if base is None:
            if not self._tree_lacks(tip):
                raise PlatformError(
                    f"GitLab answered 404 to {self.path} on branch {branch}, and the "
                    f"branch's tree could not be read to tell whether it has none: no SOP "
                    "in force"
                )
            if own is None:
                raise PlatformError(
                    f"no SOP in force: neither branch {branch} nor commit {head[:12]} "
                    f"has {self.path}"
                )
            notes.append(f"the target branch {branch} has no {self.path}: {change} adds it")
            return SopInForce(text=own, proposed=own, notes=tuple(notes))
        if own is None:
            notes.append(
                f"{change} deletes or moves {self.path}: the SOP of {branch} decides, and "
                "its owners must approve"
            )
            return SopInForce(text=base, deleted=True, notes=tuple(notes))
        if own != base:
            notes.append(f"{change} changes {self.path}: the SOP of {branch} decides")
            return SopInForce(text=base, proposed=own, notes=tuple(notes))
        return SopInForce(text=base, notes=tuple(notes))

    def _tip(self, branch: str) -> str:
        """The commit id of ``branch``'s tip, from the branches API (never a tag of the same
        name); a branch GitLab does not know, or an answer without a commit id, fails."""
        try:
            found = self.api.get(f"{self.project}/repository/branches/{path_id(branch)}")
        except ApiError as exc:
            if exc.status != 404:
                raise
            why = "HTTP 404"
        else:
            commit = found.get("commit") if isinstance(found, dict) else None
            sha = commit.get("id") if isinstance(commit, dict) else None
            if isinstance(sha, str) and COMMIT_ID.fullmatch(sha):
                return sha
            why = "its answer names no commit id"
        raise PlatformError(
            f"GitLab cannot resolve the branch {branch} to a commit through its branches API "
            f"({why}): no SOP in force can be read"
        )

    def _raw(self, ref: str) -> str | None:
        """The SOP's text at ``ref``, None when GitLab answers 404; other errors go up."""
        try:
            return str(
                self.api.get(
                    f"{self.project}/repository/files/{path_id(self.path)}/raw",
                    ref=ref,
                    raw=True,
                )
            )
        except ApiError as exc:
            if exc.status != 404:
                raise
            return None

    def _tree_lacks(self, commit: str, path: str | None = None) -> bool:
        """True when the tree at ``commit`` (a branch's tip) could be read and has no file
        at ``path`` (the SOP's); False when it could not be read (GitLab answered 404 or
        403). GitLab answers 404 for a folder that does not exist too: then the folder's
        absence from its own readable folder proves the file's."""
        path = self.path if path is None else path
        folder = posixpath.dirname(path)
        # ``path`` is both the listing's query parameter and Api.list's own argument.
        listing = f"{self.project}/repository/tree"
        if folder:
            listing += f"?path={quote(folder, safe='')}"
        try:
            tree = self.api.list(listing, ref=commit)
        except ApiError as exc:
            if exc.status not in (403, 404):
                raise
            return exc.status == 404 and bool(folder) and self._tree_lacks(commit, folder)
        return not any(item.get("path") == path for item in tree)
