"""The facts of this wave's additions, read from GitHub (DESIGN.md, "Where the new facts
come from"): the change's commits, when its head was pushed, deployment approvals of the
run, and the evidence documents a ``require`` reads.

Each is one listing (or one request per required document); unknown values are None and
named in the notes, never guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import yaml

from sopgate.errors import PlatformError
from sopgate.facts import Approval, ApprovalState, Commit
from sopgate.platforms.github.api import JSON, Api, iter_dicts, parse_time
from sopgate.platforms.github.shapes import SHA, dig, file_bytes, text

if TYPE_CHECKING:
    from sopgate.sop.model import Sop

#: GitHub lists at most this many commits of a pull request.
MAX_PULL_COMMITS = 250
#: Evidence documents larger than this are not read (their content is unknown).
MAX_DOCUMENT_BYTES = 1024 * 1024
#: libyaml when present: the pure-Python parser takes seconds per MiB and quadratic time on
#: deep nesting, which libyaml refuses past 1000 levels.
_YAML: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEPLOYMENT_STATES: dict[str, ApprovalState] = {"approved": "approved", "rejected": "rejected"}


@dataclass
class Extras:
    api: Api
    repo: str  # "/repos/OWNER/NAME"
    notes: list[str] = field(default_factory=list)

    def commits(self, pr: dict[str, JSON], number: int) -> tuple[Commit, ...] | None:
        """The pull request's commits, oldest first; None when GitHub cannot list them all."""
        count = pr.get("commits")
        if isinstance(count, int) and count > MAX_PULL_COMMITS:
            self._too_many(number, str(count))
            return None
        _, items = self.api.get_all(f"{self.repo}/pulls/{number}/commits")
        if not isinstance(count, int) and len(items) >= MAX_PULL_COMMITS:
            self._too_many(number, f"at least {MAX_PULL_COMMITS}")
            return None
        found = []
        for item in iter_dicts(items):
            sha = text(item.get("sha"))
            found.append(
                Commit(
                    sha=sha if SHA.match(sha) else None,
                    author=text(dig(item, "author", "login")) or None,
                    committer=text(dig(item, "committer", "login")) or None,
                    at=parse_time(dig(item, "commit", "committer", "date")),
                )
            )
        unmapped = [c.sha[:12] for c in found if c.sha and None in (c.author, c.committer)]
        if unmapped:
            self.notes.append(
                "commits whose author or committer GitHub maps to no account exclude "
                f"nobody: {', '.join(unmapped)}"
            )
        return tuple(found)

    def _too_many(self, number: int, count: str) -> None:
        self.notes.append(
            f"pull request #{number} has {count} commits and GitHub lists at most "
            f"{MAX_PULL_COMMITS}: its contributors are unknown (commits: null)"
        )

    def pushed_at(self, head: str, number: int) -> datetime | None:
        """When ``head`` was pushed to pull request ``number``: the later of its earliest
        check suite and the pull request's newest force push; None when neither exists."""
        _, suites = self.api.get_all(f"{self.repo}/commits/{head}/check-suites", key="check_suites")
        created = [t for s in iter_dicts(suites) if (t := parse_time(s.get("created_at")))]
        _, events = self.api.get_all(f"{self.repo}/issues/{number}/timeline")
        forced = [
            t
            for e in iter_dicts(events)
            if e.get("event") == "head_ref_force_pushed" and (t := parse_time(e.get("created_at")))
        ]
        signs = [t for t in (min(created, default=None), max(forced, default=None)) if t]
        if not signs:
            self.notes.append(
                f"when {head[:12]} was pushed to pull request #{number} is unknown (no check "
                "suite, no force push): fresh sign-offs count nobody"
            )
            return None
        return max(signs)

    def deployment_approvals(self, run_id: str | None) -> list[Approval]:
        """The review history of this workflow run's environments: one approval per
        environment a reviewer approved or rejected. GitHub gives no time (``at`` unknown)."""
        if not run_id:
            self.notes.append("GITHUB_RUN_ID is unset: deployment approvals are unknown")
            return []
        page = self.api.get(f"{self.repo}/actions/runs/{quote(run_id, safe='')}/approvals")
        if not isinstance(page.data, list):
            raise PlatformError(
                "GitHub answered the run's deployment approvals with unexpected JSON"
            )
        found = []
        for entry in iter_dicts(page.data):
            state = DEPLOYMENT_STATES.get(text(entry.get("state")))
            login = text(dig(entry, "user", "login"))
            comment = text(entry.get("comment")).strip()
            if state is None or not login:
                continue
            environments = entry.get("environments")
            for environment in iter_dicts(environments if isinstance(environments, list) else []):
                name = text(environment.get("name"))
                if name:
                    found.append(
                        Approval(
                            user=login,
                            source="deployment",
                            environment=name,
                            state=state,
                            at=None,
                            reason=comment if state == "rejected" and comment else None,
                        )
                    )
        return found

    def documents(
        self, sop: Sop, commit: str, files: tuple[str, ...] | None, sizes: dict[str, int]
    ) -> dict[str, Any]:
        """The parsed content of every evidence file a ``require`` of ``sop`` reads, at
        ``commit``: one contents request per file. A file that is too large, undecodable
        or unparseable is None (with a note); a file that does not exist is absent."""
        from sopgate.gates import glob_regex

        wanted: dict[str, None] = {}
        for step in sop.steps:
            for rule in step.evidence:
                if not rule.require:
                    continue
                patterns = (
                    [rule.path.replace("{region}", region) for region in sop.regions]
                    if "{region}" in rule.path
                    else [rule.path]
                )
                for pattern in patterns:
                    if "*" not in pattern and "?" not in pattern:
                        if files is None or pattern in files:
                            wanted[pattern] = None
                    elif files is None:
                        self.notes.append(
                            f"evidence {pattern}: which files match is unknown (the git "
                            "tree is incomplete), so their content is not read"
                        )
                    else:
                        regex = glob_regex(pattern, paths=True)
                        wanted.update(dict.fromkeys(f for f in files if regex.match(f)))
        return {path: self._document(path, commit, sizes.get(path)) for path in wanted}

    def _document(self, path: str, commit: str, size: int | None) -> Any:
        if size is not None and size > MAX_DOCUMENT_BYTES:
            return self._unknown(path, f"is {size} bytes, over the 1 MiB limit")
        page = self.api.get(
            f"{self.repo}/contents/{quote(path)}", allow=frozenset({404}), ref=commit
        )
        if page.status == 404:
            return self._unknown(path, f"is not at {commit[:12]} (GitHub answered 404)")
        raw = file_bytes(page.data)
        if raw is None:
            return self._unknown(path, "is not a file GitHub returns content for")
        if len(raw) > MAX_DOCUMENT_BYTES:
            return self._unknown(path, f"is {len(raw)} bytes, over the 1 MiB limit")
        try:
            content = self.api.redact_data(raw).decode("utf-8")  # base64 hid it from the client
        except UnicodeDecodeError:
            return self._unknown(path, "is not UTF-8 text")
        try:
            return _parse(path, content)
        except ValueError as exc:
            return self._unknown(path, f"cannot be parsed: {exc}")
        except RecursionError:
            return self._unknown(path, "cannot be parsed: nested too deeply")

    def _unknown(self, path: str, why: str) -> None:
        self.notes.append(f"evidence document {path} {why}: its content is unknown")
        return None


def _parse(path: str, content: str) -> Any:
    """JSON for ``.json`` files, else YAML; the value as JSON would carry it."""
    if path.lower().endswith(".json"):
        try:
            return json.loads(content)
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON at line {exc.lineno} column {exc.colno}") from None
    try:
        # Aliases could expand a small file into a huge value: refuse them outright.
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(content, Loader=_YAML)):
            raise ValueError("YAML aliases are not read in evidence documents")
        value = yaml.load(content, Loader=_YAML)  # a safe loader (CSafeLoader or SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ValueError(f"invalid YAML{where}") from None
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        raise ValueError("the YAML holds values JSON cannot carry") from None
