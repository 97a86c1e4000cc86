"""Building blocks of the rules: globs, "latest" indexes of approvals and checks, the
four-eyes matching, window and freeze arithmetic.

Pure helpers used by :mod:`sopgate.evaluate` and :mod:`sopgate.rules`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sopgate.facts import Approval, Check
from sopgate.rules.people import login
from sopgate.sop.model import DAYS, ApprovalRule, Freeze, Window

#: Stands for "a time nobody can tell": later than anything, so nothing counts after it.
UNKNOWN_TIME = datetime.max.replace(tzinfo=UTC)
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@lru_cache(maxsize=4096)
def glob_regex(pattern: str, *, paths: bool = False) -> re.Pattern[str]:
    """``*`` and ``?`` wildcards only (job names such as "deploy: [eu]" contain brackets).

    With ``paths``, ``*`` stays inside one path segment and ``**`` crosses segments.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if paths and pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if paths and pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*" if paths else ".*")
        elif char == "?":
            out.append("[^/]" if paths else ".")
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def literal_prefix(pattern: str) -> str:
    """The part of a glob before its first wildcard."""
    cut = min((i for i in (pattern.find("*"), pattern.find("?")) if i >= 0), default=len(pattern))
    return pattern[:cut]


class NameIndex:
    """Sorted names, so a glob only tests the names that share its literal prefix: matching
    stays near-linear in the number of steps and facts instead of their product."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(set(names))
        self.exact = frozenset(self.names)

    def matching(self, pattern: str, *, paths: bool = False) -> list[str]:
        if not has_wildcard(pattern):
            return [pattern] if pattern in self.exact else []
        prefix = literal_prefix(pattern)
        start = bisect.bisect_left(self.names, prefix)
        candidates = []
        for name in self.names[start:]:
            if not name.startswith(prefix):
                break
            candidates.append(name)
        rest = pattern[len(prefix) :]
        if rest == "*" and not paths:
            return candidates
        regex = glob_regex(pattern, paths=paths)
        return [name for name in candidates if regex.match(name)]


def order_key(entry: Check) -> datetime:
    """ "Latest" orders checks by ``at``; on a tie the later entry in the list wins (the index
    compares with ``>=`` in list order). A check with no time sorts last (DESIGN.md, Trust: a
    queued re-run with no time yet beats an old success)."""
    return entry.at or UNKNOWN_TIME


#: How unfavourable an approval state is, to settle "latest" when a time is unknown.
_SEVERITY = {"approved": 0, "dismissed": 1, "rejected": 2}


class ApprovalIndex:
    """The latest approval entry per user and (source, step or environment).

    Dated entries order by ``at`` (a tie goes to the later entry in the list). An edited
    approval (or one whose edit is unknown) does not count, so it is no withdrawal of its
    giver's earlier rejection either: the rejection stays the latest. An entry with no time
    could be the latest or not, so it is never favourable: among the latest dated entry and
    every undated one of the same key, the most unfavourable state wins (a rejection over a
    dismissal over an approval).
    """

    def __init__(self, approvals: Iterable[Approval]) -> None:
        dated: dict[tuple[str, str, str | None], list[tuple[datetime, int, Approval]]] = {}
        undated: dict[tuple[str, str, str | None], list[Approval]] = {}
        for position, entry in enumerate(approvals):
            scope = entry.environment if entry.source == "deployment" else entry.step
            if entry.source == "review":
                scope = None
            key: tuple[str, str, str | None] = (login(entry.user), entry.source, scope)
            if entry.at is None:
                undated.setdefault(key, []).append(entry)
            else:
                dated.setdefault(key, []).append((entry.at, position, entry))
        self.by_scope: dict[tuple[str, str | None], list[Approval]] = {}
        for user_scope in dict.fromkeys([*dated, *undated]):
            candidates = undated.get(user_scope, [])
            if user_scope in dated:
                candidates = [_latest(sorted(dated[user_scope])), *candidates]
            latest = max(reversed(candidates), key=lambda e: _SEVERITY[e.state])
            self.by_scope.setdefault((user_scope[1], user_scope[2]), []).append(latest)

    def entries(self, source: str, scopes: Iterable[str | None]) -> list[Approval]:
        found: list[Approval] = []
        for scope in dict.fromkeys(scopes):
            found.extend(self.by_scope.get((source, scope), ()))
        return found


def _latest(ordered: list[tuple[datetime, int, Approval]]) -> Approval:
    """The latest of entries in (at, position) order; an edited approval never replaces a
    rejection."""
    latest = ordered[0][2]
    for _at, _position, entry in ordered[1:]:
        if latest.state == "rejected" and entry.state == "approved" and entry.edited is not False:
            continue
        latest = entry
    return latest


class CheckIndex:
    """The latest check entry per (name, app), findable by exact name or by glob."""

    def __init__(self, checks: Iterable[Check]) -> None:
        latest: dict[tuple[str, str | None], tuple[datetime, Check]] = {}
        for entry in checks:
            key = (entry.name, entry.app)
            rank = order_key(entry)
            if key not in latest or rank >= latest[key][0]:
                latest[key] = (rank, entry)
        self.by_name: dict[str, list[Check]] = {}
        for (name, _app), (_rank, entry) in latest.items():
            self.by_name.setdefault(name, []).append(entry)
        self.names = NameIndex(self.by_name)

    def matching(self, pattern: str, app: str | None) -> list[Check]:
        return [
            c
            for name in self.names.matching(pattern)
            for c in self.by_name[name]
            if app is None or c.app == app
        ]


def rule_scopes(source: str, step_id: str, key: str, environment: str | None) -> list[str | None]:
    if source == "review":
        return [None]
    if source == "deployment":
        return [environment] if environment else []
    return [step_id, key]


def match_rules(eligible: list[tuple[ApprovalRule, set[str]]]) -> list[set[str]]:
    """Assign people to rule slots so that one person fills at most one slot of the step.

    A maximum bipartite matching (Kuhn's augmenting paths), so a person who could serve
    two rules is placed where the step needs them.
    """
    # A rule never needs more slots than it has candidates: the rest stay empty anyway.
    slots = [
        i for i, (rule, people) in enumerate(eligible) for _ in range(min(rule.count, len(people)))
    ]
    owner: dict[str, int] = {}

    def place(slot: int, seen: set[str]) -> bool:
        for person in sorted(eligible[slots[slot]][1]):
            if person in seen:
                continue
            seen.add(person)
            if person not in owner or place(owner[person], seen):
                owner[person] = slot
                return True
        return False

    for slot in range(len(slots)):
        place(slot, set())
    counted: list[set[str]] = [set() for _ in eligible]
    for person, slot in owner.items():
        counted[slots[slot]].add(person)
    return counted


def in_window(window: Window, at: datetime, timezone: str | None = None) -> bool:
    """Whether ``at`` is inside ``window``; ``timezone`` replaces ``window.timezone`` (for
    ``timezone: region``, the instance's zone)."""
    local = at.astimezone(ZoneInfo(timezone or window.timezone))
    start = _minutes(window.start)
    now = local.hour * 60 + local.minute
    today = DAYS[local.weekday()]
    if window.end is None:  # until the end of the day
        return today in window.days and start <= now
    end = _minutes(window.end)
    if start <= end:  # start == end is an empty window, never "the whole day"
        return today in window.days and start <= now < end
    # Crosses midnight: the part after midnight belongs to the day the window opened.
    yesterday = DAYS[(local.weekday() - 1) % 7]
    return (today in window.days and now >= start) or (yesterday in window.days and now < end)


def next_opening(window: Window, at: datetime, timezone: str | None = None) -> datetime | None:
    tz = ZoneInfo(timezone or window.timezone)
    local = at.astimezone(tz)
    start = _minutes(window.start)
    for days in range(8):
        day = (local + timedelta(days=days)).date()
        if DAYS[day.weekday()] not in window.days:
            continue
        opening = datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=tz)
        if opening > local:
            return opening
    return None


def describe_window(window: Window, timezone: str | None = None) -> str:
    days = "every day" if set(window.days) == set(DAYS) else ", ".join(window.days)
    end = window.end or "24:00"
    return f"{days} {window.start}-{end} {timezone or window.timezone}"


def active_freeze(
    freezes: Iterable[Freeze], at: datetime, applies: Callable[[Freeze], bool] = lambda _: True
) -> Freeze | None:
    """The first freeze in force at ``at`` that ``applies`` to the step (its scope)."""
    for freeze in freezes:
        if not applies(freeze):
            continue
        day: date = at.astimezone(ZoneInfo(freeze.timezone)).date()
        if freeze.from_ <= day <= freeze.to:
            return freeze
    return None


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)
