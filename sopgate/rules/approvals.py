"""Approval rules of one node: who counts, who does not and why, and who rejected it.

One entry point, :meth:`ApprovalRules.judge`. An approval counts for a rule when its giver
holds the rule's role (``{region}`` expanded per instance), is not a bot, is not excluded
(author, initiator, re-runner; contributors unless ``allow_contributor``), was not counted for
a step this one is separate from, and the approval is fresh (``fresh``, ``after``,
``max_age``). Rejections cross sources (DESIGN.md, "Rejections across sources").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sopgate import gates
from sopgate.facts import Approval, Facts
from sopgate.rules.people import AUTHOR, UNKNOWN_COMMITS, Contributors, Excluded, People, login
from sopgate.sop.model import ApprovalRule, Sop, parse_duration
from sopgate.sop.plan import Node

_NOUN = {"review": "approval", "signoff": "sign-off", "deployment": "deployment approval"}
_AGAIN = {"review": "approve again", "signoff": "sign off again"}


@dataclass(frozen=True)
class ApprovalFinding:
    """What the approval rules of one node found."""

    counted: frozenset[str]  # logins whose approvals filled a rule
    times: tuple[datetime, ...]  # when the counted approvals were given
    waiting: tuple[str, ...]  # reasons for unmet rules, naming who may act
    rejected: tuple[str, ...]  # counted rejections


@dataclass(frozen=True)
class Timing:
    """What a sign-off must come after: the needs' done time, and needs not done yet."""

    needs_done: datetime | None
    pending: tuple[str, ...]
    key: str = ""  # the node's key, for reasons


class ApprovalRules:
    def __init__(
        self,
        sop: Sop,
        facts: Facts,
        people: People,
        excluded: Excluded,
        contributors: Contributors,
    ) -> None:
        self.sop = sop
        self.facts = facts
        self.people = people
        self.excluded = excluded
        self.contributors = contributors
        self.index = gates.ApprovalIndex(facts.approvals or ())

    def judge(self, node: Node, timing: Timing, separated: set[str]) -> ApprovalFinding:
        step = node.step
        if not step.approvals:
            return ApprovalFinding(frozenset(), (), (), ())
        if self.facts.approvals is None:
            unknown = ("approvals are unknown: the platform could not list them",)
            return ApprovalFinding(frozenset(), (), unknown, ())
        eligible: list[tuple[ApprovalRule, set[str]]] = []
        given: dict[str, datetime] = {}
        notes: list[list[str]] = []
        for rule in step.approvals:
            role = node.role(rule)
            scopes = gates.rule_scopes(rule.source, step.id, node.key, step.environment)
            people: set[str] = set()
            why_not: list[str] = []
            for entry in self.index.entries(rule.source, scopes):
                if entry.state != "approved" or not self.people.holds(entry.user, role):
                    continue
                problem = self._not_counted(entry, rule, timing, separated)
                if problem:
                    why_not.append(problem)
                    continue
                user = login(entry.user)
                people.add(user)
                at = entry.at or gates.UNKNOWN_TIME
                given[user] = max(given.get(user, at), at)
            eligible.append((rule, people))
            notes.append(why_not)
        counted = gates.match_rules(eligible)
        times: list[datetime] = []
        waiting: list[str] = []
        for i, (rule, people) in enumerate(eligible):
            got = counted[i]
            times.extend(given[user] for user in got)
            if len(got) < rule.count:
                waiting.extend(self._unmet(rule, node, timing, people, separated, len(got)))
                waiting.extend(dict.fromkeys(notes[i]))
        return ApprovalFinding(
            counted=frozenset().union(*counted),
            times=tuple(times),
            waiting=tuple(dict.fromkeys(waiting)),
            rejected=tuple(self._rejections(node)),
        )

    def approving(self, nodes: Iterable[Node]) -> set[str]:
        """Everyone whose approval could count for ``nodes`` (for ``separate_from`` on a
        step evaluated later in plan order: may exclude too many, never too few)."""
        found: set[str] = set()
        for node in nodes:
            step = node.step
            for rule in step.approvals:
                role = node.role(rule)
                scopes = gates.rule_scopes(rule.source, step.id, node.key, step.environment)
                for entry in self.index.entries(rule.source, scopes):
                    if entry.state == "approved" and self.people.holds(entry.user, role):
                        found.add(login(entry.user))
        return found

    # -- one entry ---------------------------------------------------------------------------

    def _not_counted(
        self, entry: Approval, rule: ApprovalRule, timing: Timing, separated: set[str]
    ) -> str | None:
        user = login(entry.user)
        why = self.excluded.why(entry.user)
        if why and not rule.allow_author:
            return f"{entry.user} is {why} and cannot approve it (allow_author: false)"
        if not rule.allow_contributor and not (rule.allow_author and why == AUTHOR):
            if not self.contributors.known:
                return UNKNOWN_COMMITS
            if user in self.contributors.people:
                return (
                    f"{entry.user} authored or committed a commit of the change and cannot "
                    "approve it (allow_contributor: false)"
                )
        if user in separated:
            return f"{entry.user} approved a step this one must be separate from (separate_from)"
        if entry.source == "review" and rule.fresh and entry.sha != self.facts.commit:
            on = f"commit {entry.sha[:12]}" if entry.sha else "an unknown commit"
            return (
                f"{entry.user}'s approval is on {on}, not the deployed "
                f"{self.facts.commit[:12]}: approve again"
            )
        if entry.source == "signoff":
            problem = self._signoff_timing(entry, rule, timing)
            if problem:
                return problem
        return self._age(entry, rule)

    def _signoff_timing(self, entry: Approval, rule: ApprovalRule, timing: Timing) -> str | None:
        if entry.edited is not False:
            return f"{entry.user}'s sign-off comment was edited, so it does not count"
        if entry.at is None:
            return f"{entry.user}'s sign-off has no known time, so it does not count"
        never = self._no_signoff_counts(rule, timing)
        if never:
            return never
        if rule.after == "needs":
            if timing.pending:
                return (
                    f"{entry.user}'s sign-off does not count yet: sign off after "
                    f"{_done(timing.pending)}"
                )
            if timing.needs_done is not None and entry.at <= timing.needs_done:
                return (
                    f"{entry.user} signed off at {stamp(entry.at)}, before the steps it "
                    f"needs were done ({stamp(timing.needs_done)}): sign off again"
                )
        pushed = self.facts.change.pushed_at if self.facts.change else None
        if rule.fresh and pushed is not None and entry.at <= pushed:
            return (
                f"{entry.user} signed off at {stamp(entry.at)}, before the change's latest "
                f"push ({stamp(pushed)}): sign off again"
            )
        return None

    def _no_signoff_counts(self, rule: ApprovalRule, timing: Timing) -> str | None:
        """Why no sign-off can count for ``rule`` whenever it is given: a fact it must come
        after is unknown. Reasons then name that fact and invite no sign-off."""
        change = self.facts.change
        if rule.fresh and change is not None and change.push_unknown:
            return (
                "when the change was last pushed is unknown (pushed_at: null), so no "
                "sign-off counts where fresh: true"
            )
        if rule.after == "needs" and timing.needs_done == gates.UNKNOWN_TIME:
            return (
                f"the steps {timing.key} needs were done at an unknown time (an entry without "
                "a time), so no sign-off counts after them"
            )
        return None

    def _age(self, entry: Approval, rule: ApprovalRule) -> str | None:
        if rule.max_age is None:
            return None
        noun = _NOUN[entry.source]
        if entry.at is None:
            return (
                f"{entry.user}'s {noun} has no known time, so it cannot be younger than "
                f"max_age {rule.max_age}"
            )
        age = self.facts.observed_at - entry.at
        if age <= parse_duration(rule.max_age):
            return None
        again = _AGAIN.get(entry.source, "approve the deployment again")
        return f"{entry.user}'s {noun} is {_age_text(age)} old; max {rule.max_age}: {again}"

    # -- reasons -----------------------------------------------------------------------------

    def _unmet(
        self,
        rule: ApprovalRule,
        node: Node,
        timing: Timing,
        unavailable: set[str],
        separated: set[str],
        has: int,
    ) -> list[str]:
        role = node.role(rule)
        if role not in self.sop.roles:
            return [f"role {role} is not defined in roles, so nobody can approve {node.key}"]
        skip = unavailable | separated
        if not rule.allow_author:
            skip |= self.excluded.keys
        if not rule.allow_contributor:
            skip |= self.contributors.people
        listing = self.people.candidates(role, skip)
        noun = _NOUN[rule.source]
        text = f"needs {gates.plural(rule.count, noun)} from {role} ({listing}); has {has}"
        # When no sign-off can count, the reason says why instead of inviting one.
        never = self._no_signoff_counts(rule, timing) if rule.source == "signoff" else None
        if rule.source == "signoff" and never is None:
            if rule.after == "needs" and timing.pending:
                text += f" (sign off after {_done(timing.pending)})"
            else:
                text += f" (comment '/sop approve {node.key}')"
        elif rule.source == "deployment" and node.step.environment is None:
            text += (
                " (a deployment approval counts only for a step with that environment, and "
                f"{node.key} has none)"
            )
        elif rule.source == "deployment":
            text += f" (approve the {node.step.environment} deployment)"
        found = [text] if never is None else [text, never]
        if not rule.allow_contributor and not self.contributors.known:
            found.append(UNKNOWN_COMMITS)
        for group in self.people.unknown_groups[role]:
            found.append(f"membership of {group} is unknown, so nobody holds {role} through it")
        note = self.contributors.note()
        if note and not rule.allow_contributor:
            found.append(note)
        return found

    def _rejections(self, node: Node) -> list[str]:
        """A rejection by a holder of any role the node's rules name rejects the node,
        whatever the rules' sources: a changes-requested review, ``/sop reject``, or a
        rejected deployment of the node's environment."""
        step = node.step
        roles = list(dict.fromkeys(node.role(rule) for rule in step.approvals))
        entries = [
            *self.index.entries("review", [None]),
            *self.index.entries("signoff", [step.id, node.key]),
        ]
        if step.environment:  # the platform's own veto on deploying to that environment
            entries += self.index.entries("deployment", [step.environment])
        found: list[str] = []
        for entry in entries:
            if entry.state != "rejected":
                continue
            role = self.people.holds_any(entry.user, roles)
            if role is None:
                continue
            text = f"rejected by {entry.user} ({role}, {entry.source})"
            text += f": {entry.reason}" if entry.reason else ""
            text += f"; {entry.user} can lift it {_lift(entry)}"
            found.append(text)
        return list(dict.fromkeys(found))


def _done(pending: tuple[str, ...]) -> str:
    return f"{' and '.join(pending)} {'is' if len(pending) == 1 else 'are'} done"


def _lift(entry: Approval) -> str:
    """How the person who rejected can withdraw it (their later approval is the latest)."""
    if entry.source == "signoff":
        return f"with '/sop approve {entry.step}'"
    return "by approving the change" if entry.source == "review" else "by approving the deployment"


def _age_text(age: timedelta) -> str:
    """Whole minutes under an hour, whole hours under three days, then whole days."""
    seconds = int(age.total_seconds())
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h" if seconds < 72 * 3600 else f"{seconds // 86400}d"


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%SZ") if at.utcoffset() == timedelta(0) else at.isoformat()
