"""Which SOP is in force for a GitHub run, always read through the API (DESIGN.md, Trust).

Never from the checkout: the checkout is the code under review, and a branch that edits its
own gate must not decide with the edit. On a pull request event the base branch's SOP
decides. On any other event (push, workflow_dispatch, schedule, repository_dispatch, ...)
the SOP at the deployed commit decides when the ref is the default branch or a branch GitHub
reports as protected; on any other ref the base branch of the open pull request holding the
commit decides, else the default branch.

A branch's SOP is read at the branch's commit, resolved through the branches API, never by
the branch's name: git resolves ``ref=main`` to a tag ``main`` before the branch, and tags
are not protected by default, so a tag of the same name would otherwise stand in for it.
The pull request's ``base.sha`` is not used while its ``base.ref`` is named: it is the base
as it was when the pull request was last updated, and a SOP merged to the base since must
be in force. A branch that cannot be resolved is exit 3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote

from sopgate.errors import PlatformError
from sopgate.platforms.github.api import JSON, Api, iter_dicts
from sopgate.platforms.github.shapes import dig, file_bytes, text

#: A commit id as GitHub names one (SHA-1).
COMMIT_ID = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class SopTexts:
    """``in_force`` decides; ``proposed`` is the change's own text when it differs (or
    adds the file); ``deleted`` when the change deletes or moves the file."""

    in_force: str
    proposed: str | None = None
    deleted: bool = False


@dataclass
class SopSource:
    api: Api
    repo: str  # "/repos/OWNER/NAME"
    notes: list[str] = field(default_factory=list)

    def on_change(self, path: str, pr: dict[str, JSON], commit: str) -> SopTexts:
        """A pull request event: the base branch's SOP (at the branch's commit now), against
        the head's; a base named only by its commit is read at that commit."""
        base = text(dig(pr, "base", "ref"))
        if base:
            return self._against(path, base, commit)
        sha = text(dig(pr, "base", "sha"))
        if not COMMIT_ID.fullmatch(sha):  # nothing, or a name a tag could stand in for
            raise PlatformError("the pull request names no base branch: no SOP can be read")
        return self._against(path, sha, commit, at=sha)

    def elsewhere(self, path: str, ref: str, commit: str, pulls: list[dict[str, JSON]]) -> SopTexts:
        """Any other event on ``ref`` (``GITHUB_REF``), deploying ``commit``; ``pulls`` are
        the pull requests GitHub associates with the commit."""
        default = self._default_branch()
        branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
        if branch is not None and (branch == default or self._protected(branch)):
            kind = "default" if branch == default else "protected"
            found = self.read(path, commit)
            if found is None:
                raise PlatformError(
                    f"no SOP in force: {path} does not exist at {commit[:12]} on the "
                    f"{kind} branch {branch}"
                )
            return SopTexts(found)
        holder = _open_pull(pulls, branch)
        base = text(dig(holder, "base", "ref")) if holder else ""
        if holder is not None and base:
            self.notes.append(
                f"the SOP in force is the one of {base}, the base of pull request "
                f"#{holder.get('number')} holding {commit[:12]}"
            )
            return self._against(path, base, commit)
        self.notes.append(
            f"the SOP in force is the one of the default branch {default}: "
            f"{ref or 'this ref'} is neither the default nor a protected branch, and no open "
            f"pull request holds {commit[:12]}"
        )
        return self._against(path, default, commit)

    def read(self, path: str, ref: str) -> str | None:
        """The text of ``path`` at ``ref``; None when GitHub answers 404."""
        page = self.api.get(f"{self.repo}/contents/{quote(path)}", allow=frozenset({404}), ref=ref)
        if page.status == 404:
            return None
        data = page.data
        if not isinstance(data, dict) or data.get("type") != "file":
            raise PlatformError(f"GitHub's contents of {path} at {ref} are not a file")
        raw = file_bytes(data)
        try:
            if raw is None:
                raise UnicodeError
            return self.api.redact_data(raw).decode("utf-8")  # base64 hid it from the client
        except UnicodeError:
            raise PlatformError(
                f"cannot decode the contents of {path} at {ref} (encoding {data.get('encoding')!r})"
            ) from None

    # -- helpers -------------------------------------------------------------------------------

    def _against(self, path: str, base: str, commit: str, *, at: str | None = None) -> SopTexts:
        """``base`` is a branch, read at its commit; ``at``, when given, is that commit."""
        tip = self._tip(base) if at is None else at
        in_force = self.read(path, tip)
        mine = self.read(path, commit)
        if in_force is None:
            self._confirm_absent(path, base, tip)
            if mine is None:
                raise PlatformError(
                    f"no SOP in force: {path} exists neither on {base} nor at {commit[:12]}"
                )
            self.notes.append(
                f"{base} has no {path}: this change adds it, so its owners must approve it"
            )
            return SopTexts(mine, proposed=mine)
        if mine is None:
            self.notes.append(
                f"this change deletes or moves {path}: a change to the SOP, so its owners "
                "must approve it"
            )
            return SopTexts(in_force, deleted=True)
        return SopTexts(in_force, proposed=mine if mine != in_force else None)

    def _confirm_absent(self, path: str, ref: str, tip: str) -> None:
        """Return only when the git tree of ``ref`` (at its commit ``tip``) is readable,
        complete and has no ``path``: only then is a 404 for the SOP "the change adds it";
        else raise (exit 3)."""
        page = self.api.get(
            f"{self.repo}/git/trees/{quote(tip, safe='')}",
            allow=frozenset({403, 404, 409}),
            recursive=1,
        )
        data = page.data
        tree = data.get("tree") if isinstance(data, dict) else None
        if page.status != 200 or not isinstance(tree, list) or data.get("truncated"):
            why = f"HTTP {page.status}" if page.status != 200 else "the tree is incomplete"
            raise PlatformError(
                f"GitHub answered 404 for {path} on {ref}, and the tree of {ref} cannot "
                f"confirm it is absent ({why}): refusing to decide without the SOP in force"
            )
        if any(text(entry.get("path")) == path for entry in iter_dicts(tree)):
            raise PlatformError(
                f"GitHub answered 404 for {path} on {ref}, but the tree of {ref} has it: "
                "refusing to decide without the SOP in force"
            )

    def _default_branch(self) -> str:
        page = self.api.get(self.repo)
        branch = text(dig(page.data, "default_branch"))
        if not branch:
            raise PlatformError("GitHub's answer about the repository names no default branch")
        return branch

    def _tip(self, branch: str) -> str:
        """The commit id of ``branch``'s tip, from the branches API (never a tag of the same
        name); a branch GitHub does not know, or an answer without a commit id, fails."""
        page = self.api.get(
            f"{self.repo}/branches/{quote(branch, safe='')}", allow=frozenset({404})
        )
        sha = text(dig(page.data, "commit", "sha")) if page.status == 200 else ""
        if COMMIT_ID.fullmatch(sha):
            return sha
        why = f"HTTP {page.status}" if page.status != 200 else "the answer names no commit"
        raise PlatformError(
            f"GitHub cannot resolve the branch {branch} to a commit through its branches API "
            f"({why}): no SOP in force can be read"
        )

    def _protected(self, branch: str) -> bool:
        page = self.api.get(
            f"{self.repo}/branches/{quote(branch, safe='')}", allow=frozenset({404})
        )
        return page.status == 200 and dig(page.data, "protected") is True


def _open_pull(pulls: list[dict[str, JSON]], branch: str | None) -> dict[str, JSON] | None:
    """The open pull request holding the commit: the one from ``branch`` first."""
    open_ones = [pr for pr in pulls if pr.get("state") == "open"]
    for pr in open_ones:
        if branch is not None and text(dig(pr, "head", "ref")) == branch:
            return pr
    return open_ones[0] if open_ones else None
