"""Who is who: logins, role holders, bots, the change's contributors and exclusions.

Logins compare by ASCII lowercasing only (DESIGN.md, "Precise readings"): Unicode case
folding would make ``\u017fec-bob`` (a long s) the same person as ``sec-bob``.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass, field

from sopgate.facts import Facts
from sopgate.sop.model import Sop

_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
#: GitHub's committer login for commits made in its web interface (merges, suggestions).
WEB_FLOW = "web-flow"


def login(user: str) -> str:
    """The comparison key of a login: ASCII letters lowercased, nothing else changed."""
    return user.translate(_LOWER)


def is_bot(user: str) -> bool:
    """Logins ending in ``[bot]`` (any case) are apps; they never count as people."""
    return login(user).endswith("[bot]")


def _machine(user: str, platform: str) -> bool:
    """Bots, and on GitHub (or facts replayed locally) its web-flow committer; on GitLab
    ``web-flow`` is an ordinary login."""
    return is_bot(user) or (platform != "gitlab" and login(user) == WEB_FLOW)


@dataclass
class People:
    """Who holds each role, precomputed once per evaluation (keys are :func:`login`)."""

    sop: Sop
    facts: Facts
    members: dict[str, set[str]] = field(default_factory=dict)
    display: dict[str, str] = field(default_factory=dict)
    unknown_groups: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        groups = {login(name): listed for name, listed in self.facts.groups.items()}
        for name, role in self.sop.roles.items():
            found: set[str] = set()
            for user in role.users:
                self._add(found, user)
            unknown = []
            for group in role.groups:
                listed = groups.get(login(group))
                if listed is None:
                    unknown.append(group)
                    continue
                for user in listed:
                    self._add(found, user)
            self.members[name] = found
            self.unknown_groups[name] = unknown

    def _add(self, found: set[str], user: str) -> None:
        key = login(user)
        found.add(key)
        self.display.setdefault(key, user)

    def holds(self, user: str, role: str) -> bool:
        """True when ``user`` (not a bot) is listed in ``role`` or in one of its known groups;
        an undefined role has no holders."""
        return not is_bot(user) and login(user) in self.members.get(role, ())

    def holds_any(self, user: str, roles: Iterable[str]) -> str | None:
        """The first of ``roles`` that ``user`` holds, if any."""
        return next((role for role in roles if self.holds(user, role)), None)

    def name(self, key: str) -> str:
        """How the SOP or the facts spell a role holder's login (``key`` holds a role)."""
        return self.display[key]

    def ordered(self, role: str) -> list[str]:
        """Members of ``role``: listed users in SOP order, then group members by name."""
        if role not in self.sop.roles:
            return []
        listed = [login(u) for u in self.sop.roles[role].users]
        rest = sorted(self.members[role] - set(listed))
        return [u for u in dict.fromkeys(listed + rest) if not is_bot(u)]

    def candidates(self, role: str, skip: set[str]) -> str:
        """Who could still act for ``role`` (a defined role), for a reason's parenthesis."""
        who = [self.name(u) for u in self.ordered(role) if u not in skip]
        who += [f"members of {g}" for g in self.unknown_groups[role]]
        return ", ".join(who) if who else "nobody eligible"


@dataclass(frozen=True)
class Contributors:
    """People who authored or committed a commit of the change (facts ``commits``).

    ``known`` is False when the platform could not list the commits (``commits: null``):
    then every rule that excludes contributors counts nobody. A commit whose author or
    committer login is null excludes nobody; ``unmapped`` names those commits.
    """

    known: bool
    people: frozenset[str]
    unmapped: tuple[str, ...]

    @classmethod
    def of(cls, facts: Facts) -> Contributors:
        if facts.commits is None:
            return cls(known=False, people=frozenset(), unmapped=())
        people: set[str] = set()
        unmapped: list[str] = []
        for commit in facts.commits:
            for user in (commit.author, commit.committer):
                if user is None:
                    unmapped.append(commit.sha[:12] if commit.sha else "of unknown sha")
                elif not _machine(user, facts.platform):
                    people.add(login(user))
        return cls(known=True, people=frozenset(people), unmapped=tuple(dict.fromkeys(unmapped)))

    def note(self) -> str | None:
        """Why some contributors may be unknown, for reasons that refuse nobody by name."""
        if not self.unmapped:
            return None
        return (
            f"commit {', '.join(self.unmapped)} has an author or committer the platform could "
            "not map to a login, so they are not excluded as contributors"
        )


AUTHOR = "the change's author"
UNKNOWN_COMMITS = (
    "the change's commits are unknown (commits: null), so nobody counts where "
    "contributors are excluded"
)


@dataclass(frozen=True)
class Excluded:
    """People who never count for their own change: the author, the initiator and who
    re-ran the run (re-running a deployment is starting it)."""

    roles: dict[str, str]  # login -> "the change's author", "the run's initiator", ...

    @classmethod
    def of(cls, facts: Facts) -> Excluded:
        found: dict[str, str] = {}
        who = [
            (facts.change.author if facts.change else None, AUTHOR),
            (facts.initiator, "the run's initiator"),
            (facts.rerun_by, "the run's re-runner"),
        ]
        for user, what in who:
            if user:
                found.setdefault(login(user), what)
        return cls(found)

    @property
    def keys(self) -> set[str]:
        return set(self.roles)

    def why(self, user: str) -> str | None:
        return self.roles.get(login(user))
