"""The pure evaluator: ``evaluate(loaded_sop, facts, step) -> Evaluation``.

No I/O and no clock but ``facts.observed_at``. Every rule of DESIGN.md's evaluation section
lives here or in :mod:`sopgate.rules`; each step result carries the reasons that explain it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Literal

from sopgate import gates
from sopgate.facts import Approval, Check, Facts
from sopgate.sop.load import LoadedSop
from sopgate.sop.model import ApprovalRule
from sopgate.sop.plan import Node, Plan, build_plan

State = Literal["rejected", "failed", "blocked", "waiting", "ready", "done"]
STATES: tuple[State, ...] = ("rejected", "failed", "blocked", "waiting", "ready", "done")
Decision = Literal["open", "closed"]


@dataclass(frozen=True)
class StepResult:
    """The state of one node of the plan (a step or a region instance) and why."""

    key: str  # "staging" or "production[eu-west]"
    step_id: str
    name: str
    owner: str
    type: Literal["task", "decision"]
    region: str | None
    needs: tuple[str, ...]
    line: int  # the step's line in the SOP file
    state: State
    gate_open: bool
    reasons: tuple[str, ...]  # empty only when done
    done_at: datetime | None  # None when not done, or done with no dated entry
    approvers: tuple[str, ...]  # people whose approvals counted, sorted


@dataclass(frozen=True)
class Proposed:
    """The SOP as the change proposes it: its evaluation, or why it is invalid."""

    evaluation: Evaluation | None
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evaluation:
    """The whole sequence evaluated against one facts snapshot."""

    loaded: LoadedSop
    facts: Facts
    plan: Plan
    steps: tuple[StepResult, ...]  # plan order
    target: str | None  # the node key asked about by ``check``, None for ``status``
    proposed: Proposed | None = None  # how the change's own SOP would decide, if it edits it

    @cached_property
    def by_key(self) -> dict[str, StepResult]:
        return {result.key: result for result in self.steps}

    @property
    def decision(self) -> Decision | None:
        if self.target is None:
            return None
        return "open" if self.by_key[self.target].gate_open else "closed"

    @property
    def next(self) -> tuple[str, ...]:
        """Actions that would move the sequence forward, each naming who must act."""
        return tuple(
            f"{result.key}: {reason}"
            for result in self.steps
            if result.state in ("rejected", "failed", "waiting", "ready")
            for reason in result.reasons
        )


def evaluate(loaded: LoadedSop, facts: Facts, target: str | None = None) -> Evaluation:
    """Evaluate every node of the SOP's plan against ``facts``.

    ``target`` is a node key or a plain step id; a fanned-out step id raises
    :class:`~sopgate.errors.UsageError` listing its instances.
    """
    plan = build_plan(loaded.sop)
    target_key = plan.resolve(target).key if target is not None else None
    judge = _Judge(loaded, facts, plan)
    for node in plan.nodes:
        judge.results[node.key] = judge.node(node)
    return Evaluation(loaded, facts, plan, tuple(judge.results.values()), target_key)


class _Judge:
    def __init__(self, loaded: LoadedSop, facts: Facts, plan: Plan) -> None:
        self.loaded = loaded
        self.sop = loaded.sop
        self.facts = facts
        self.plan = plan
        self.people = gates.People(self.sop, facts)
        self.approvals = gates.ApprovalIndex(facts.approvals or ())
        self.checks = gates.CheckIndex(facts.checks or ())
        self.files = facts.files
        excluded = [facts.change.author if facts.change else None, facts.initiator]
        self.excluded = {user.casefold() for user in excluded if user}
        self.results: dict[str, StepResult] = {}
        self.sop_change = self._sop_change() if facts.sop_changed else []

    # -- one node --------------------------------------------------------------------------

    def node(self, node: Node) -> StepResult:
        step = node.step
        waiting: list[str] = []
        blocked: list[str] = []
        failed: list[str] = []
        job_failed: list[str] = []
        rejected: list[str] = []
        times: list[datetime] = []

        needs_done: datetime | None = None
        for need in node.needs:
            other = self.results[need]
            if other.state != "done":
                blocked.append(f"waits for {need} ({other.state}; owner {other.owner})")
            elif other.done_at is not None:
                needs_done = max(needs_done or other.done_at, other.done_at)
        waiting.extend(self.sop_change)
        approvers = self._approvals(node, needs_done, waiting, rejected, times)
        self._checks(node, waiting, failed, times)
        self._evidence(node, waiting)
        timing = self._timing(node)
        jobs_state = self._jobs(node, job_failed, times)

        requirements_met = not (waiting or failed or rejected or blocked)
        gate_open = requirements_met and not timing
        if rejected:
            state: State = "rejected"
        elif failed or job_failed:
            state = "failed"
        elif blocked:
            state = "blocked"
        elif waiting or (timing and jobs_state != "success"):
            state = "waiting"
        elif step.jobs and jobs_state != "success":
            state = "ready"
        else:
            state = "done"
        reasons = [*rejected, *failed, *job_failed, *blocked, *waiting]
        if state != "done":
            reasons.extend(timing)
        if state == "ready":
            jobs = ", ".join(node.expand(job) for job in step.jobs)
            reasons.append(f"gate open: run {jobs} (owner {step.owner})")
        elif state == "failed" and gate_open:
            reasons.append(f"gate open: the job may be retried (owner {step.owner})")
        done_at = None
        if state == "done":
            done_at = max(times) if times else needs_done
        return StepResult(
            key=node.key,
            step_id=step.id,
            name=step.title if node.region is None else f"{step.title} ({node.region})",
            owner=step.owner,
            type=step.type,
            region=node.region,
            needs=node.needs,
            line=self.loaded.lines[step.id],
            state=state,
            gate_open=gate_open,
            reasons=tuple(reasons),
            done_at=done_at,
            approvers=tuple(sorted(self.people.name(u) for u in approvers)),
        )

    # -- approvals ---------------------------------------------------------------------------

    def _sop_change(self) -> list[str]:
        """A change that edits the SOP needs a fresh review approval from every owners role
        (DESIGN.md, Trust): without it, no gate of the change opens."""
        if not self.sop.owners:
            return ["this change edits the SOP, which names no owners to approve it"]
        missing = []
        reviews = self.approvals.entries("review", [None])
        for role in self.sop.owners:
            approved = any(
                entry.state == "approved"
                and entry.sha == self.facts.commit
                and self.people.holds(entry.user, role)
                and entry.user.casefold() not in self.excluded
                for entry in reviews
            )
            if not approved:
                who = self._candidates(role, self.excluded)
                missing.append(
                    f"this change edits the SOP: needs 1 approval from {role} ({who}); has 0"
                )
        return missing

    def _approvals(
        self,
        node: Node,
        needs_done: datetime | None,
        waiting: list[str],
        rejected: list[str],
        times: list[datetime],
    ) -> set[str]:
        step = node.step
        if not step.approvals:
            return set()
        if self.facts.approvals is None:
            waiting.append("approvals are unknown: the platform could not list them")
            return set()
        separated = self._separated(node)
        eligible: list[tuple[ApprovalRule, set[str]]] = []
        given: dict[str, datetime] = {}
        notes: list[list[str]] = []
        for rule in step.approvals:
            scopes = gates.rule_scopes(rule.source, step.id, node.key, step.environment)
            people: set[str] = set()
            why_not: list[str] = []
            for entry in self.approvals.entries(rule.source, scopes):
                if not self.people.holds(entry.user, rule.role):
                    continue
                if entry.state == "rejected":
                    text = f"rejected by {entry.user} ({rule.role}, {entry.source})"
                    text += f": {entry.reason}" if entry.reason else ""
                    text += f"; {entry.user} can lift it {_lift(entry)}"
                    if text not in rejected:
                        rejected.append(text)
                    continue
                if entry.state != "approved":
                    continue
                problem = self._not_counted(entry, rule, needs_done, separated)
                if problem:
                    why_not.append(problem)
                    continue
                user = entry.user.casefold()
                people.add(user)
                at = entry.at or gates.UNKNOWN_TIME
                given[user] = max(given.get(user, at), at)
            eligible.append((rule, people))
            notes.append(why_not)
        counted = gates.match_rules(eligible)
        for (rule, people), got, why_not in zip(eligible, counted, notes, strict=True):
            times.extend(given[user] for user in got)
            if len(got) < rule.count:
                waiting.append(self._missing(rule, node, got | people, separated, len(got)))
                waiting.extend(dict.fromkeys(why_not))
                for group in self.people.unknown_groups[rule.role]:
                    waiting.append(
                        f"membership of {group} is unknown, so nobody holds {rule.role} through it"
                    )
        return set().union(*counted)

    def _not_counted(
        self, entry: Approval, rule: ApprovalRule, needs_done: datetime | None, separated: set[str]
    ) -> str | None:
        user = entry.user.casefold()
        if user in self.excluded and not rule.allow_author:
            who = (
                "author"
                if self.facts.change
                and self.facts.change.author
                and self.facts.change.author.casefold() == user
                else "initiator"
            )
            return f"{entry.user} is the change's {who} and cannot approve it (allow_author: false)"
        if user in separated:
            return f"{entry.user} approved a step this one must be separate from (separate_from)"
        if entry.source == "review" and rule.fresh and entry.sha != self.facts.commit:
            on = f"commit {entry.sha[:12]}" if entry.sha else "an unknown commit"
            return (
                f"{entry.user}'s approval is on {on}, not the deployed "
                f"{self.facts.commit[:12]}: approve again"
            )
        if entry.source == "signoff":
            if entry.edited is not False:
                return f"{entry.user}'s sign-off comment was edited, so it does not count"
            if entry.at is None:
                return f"{entry.user}'s sign-off has no known time, so it does not count"
            if needs_done is not None and entry.at <= needs_done:
                return (
                    f"{entry.user} signed off at {_stamp(entry.at)}, before the steps it "
                    f"needs were done ({_stamp(needs_done)}): sign off again"
                )
        return None

    def _missing(
        self, rule: ApprovalRule, node: Node, unavailable: set[str], separated: set[str], has: int
    ) -> str:
        skip = unavailable | separated
        if not rule.allow_author:
            skip |= self.excluded
        listing = self._candidates(rule.role, skip)
        noun = (
            "approval"
            if rule.source == "review"
            else ("sign-off" if rule.source == "signoff" else "deployment approval")
        )
        text = f"needs {gates.plural(rule.count, noun)} from {rule.role} ({listing}); has {has}"
        if rule.source == "signoff":
            text += f" (comment '/sop approve {node.key}')"
        elif rule.source == "deployment":
            text += f" (approve the {node.step.environment} deployment)"
        return text

    def _candidates(self, role: str, skip: set[str]) -> str:
        """Who could still act for ``role``, for a reason's parenthesis."""
        who = [self.people.name(u) for u in self.people.ordered(role) if u not in skip]
        who += [f"members of {g}" for g in self.people.unknown_groups[role]]
        return ", ".join(who) if who else "nobody eligible"

    def _separated(self, node: Node) -> set[str]:
        """People whose approval counted for a step this one must be separate from."""
        found: set[str] = set()
        for other in node.step.separate_from:
            keys = self.plan.instances.get(other, ())
            done = [self.results.get(k) for k in keys]
            if all(r is not None for r in done):
                found.update(u.casefold() for r in done if r for u in r.approvers)
            else:
                found.update(self._anyone_approving(other))
        return found

    def _anyone_approving(self, step_id: str) -> set[str]:
        # That step is evaluated later in plan order: count everyone who approved it,
        # which may exclude too many but never too few.
        step = next(s for s in self.sop.steps if s.id == step_id)
        keys = self.plan.instances.get(step_id, (step_id,))
        found: set[str] = set()
        for rule in step.approvals:
            scopes = [
                s
                for key in keys
                for s in gates.rule_scopes(rule.source, step_id, key, step.environment)
            ]
            for entry in self.approvals.entries(rule.source, scopes):
                if entry.state == "approved" and self.people.holds(entry.user, rule.role):
                    found.add(entry.user.casefold())
        return found

    # -- checks, jobs, evidence, timing -------------------------------------------------------

    def _checks(
        self, node: Node, waiting: list[str], failed: list[str], times: list[datetime]
    ) -> None:
        step = node.step
        if not step.checks:
            return
        if self.facts.checks is None:
            waiting.append("check results are unknown: the platform could not list them")
            return
        for rule in step.checks:
            pattern = node.expand(rule.name)
            label = f"{pattern} ({rule.app})" if rule.app else pattern
            entries = self.checks.matching(pattern, rule.app)
            if not entries:
                waiting.append(f"check {label} has not reported (owner {step.owner})")
                continue
            bad = [e.name for e in entries if e.state == "failure"]
            if bad:
                failed.append(f"check {', '.join(bad)} failed (owner {step.owner})")
                continue
            open_ = [e for e in entries if e.state != "success"]
            for entry in open_:
                waiting.append(f"check {entry.name} is {entry.state} (owner {step.owner})")
            if not open_:
                times.extend(e.at or gates.UNKNOWN_TIME for e in entries)

    def _jobs(self, node: Node, failed: list[str], times: list[datetime]) -> str:
        """``success`` when every pattern matched a job and all latest runs succeeded."""
        step = node.step
        if not step.jobs:
            return "none"
        if self.facts.checks is None:
            return "unknown"
        found: list[Check] = []
        missing = False
        for pattern in step.jobs:
            entries = self.checks.matching(node.expand(pattern), self.facts.ci_app)
            missing = missing or not entries
            found.extend(entries)
        bad = [e.name for e in found if e.state == "failure"]
        if bad:
            failed.append(f"job {', '.join(bad)} failed (owner {step.owner})")
            return "failure"
        if missing or any(e.state != "success" for e in found):
            return "pending"
        times.extend(e.at or gates.UNKNOWN_TIME for e in found)
        return "success"

    def _evidence(self, node: Node, waiting: list[str]) -> None:
        step = node.step
        if not step.evidence:
            return
        if self.files is None:
            waiting.append("which evidence files exist at the commit is unknown")
            return
        for rule in step.evidence:
            path = node.expand(rule.path)
            if not self._files.matching(path, paths=True):
                waiting.append(f"needs evidence {path} at the commit (owner {step.owner})")

    @cached_property
    def _files(self) -> gates.NameIndex:
        return gates.NameIndex(self.files or ())

    def _timing(self, node: Node) -> list[str]:
        step = node.step
        now = self.facts.observed_at
        found: list[str] = []
        if step.window and not gates.in_window(step.window, now):
            text = f"outside its change window ({gates.describe_window(step.window)})"
            opening = gates.next_opening(step.window, now)
            if opening:
                text += f"; opens next {opening:%a %Y-%m-%d %H:%M} {step.window.timezone}"
            found.append(text)
        if step.environment:
            freeze = gates.active_freeze(self.sop.freezes, now)
            if freeze:
                why = f": {freeze.reason}" if freeze.reason else ""
                found.append(f"change freeze from {freeze.from_} to {freeze.to}{why}")
        return found


def _lift(entry: Approval) -> str:
    """How the person who rejected can withdraw it (their later approval is the latest)."""
    if entry.source == "signoff":
        return f"with '/sop approve {entry.step}'"
    return "by approving the change" if entry.source == "review" else "by approving the deployment"


def _stamp(at: datetime) -> str:
    if at == gates.UNKNOWN_TIME:
        return "an unknown time"
    return at.strftime("%Y-%m-%d %H:%M:%SZ") if at.utcoffset() == timedelta(0) else at.isoformat()
