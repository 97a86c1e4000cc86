"""The pure evaluator: ``evaluate(loaded_sop, facts, step) -> Evaluation``.

No I/O and no clock but ``facts.observed_at``. :class:`_Judge` orchestrates one node at a
time (needs -> approvals -> checks -> evidence -> timing -> state); each rule family lives in
its own module of :mod:`sopgate.rules`. Each step result carries the reasons that explain it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Literal

from sopgate import gates
from sopgate.facts import Check, Facts
from sopgate.rules import emergency
from sopgate.rules.approvals import ApprovalRules, Timing
from sopgate.rules.evidence import missing_evidence
from sopgate.rules.people import Contributors, Excluded, People, login
from sopgate.rules.starting import who_may_start
from sopgate.rules.timing import timing
from sopgate.sop.load import LoadedSop
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
    reasons: tuple[str, ...]  # empty only when done with an open gate (or its override lines)
    done_at: datetime | None  # None when not done, or done with no dated entry
    approvers: tuple[str, ...]  # people whose approvals counted, sorted
    emergency: tuple[str, ...] = ()  # "EMERGENCY OVERRIDE by olga: reason" of an active override
    overridden: bool = False  # the gate is open only because of an emergency override


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
    def emergency(self) -> bool:
        """True when the asked-about step's gate opened only because of an override."""
        return self.target is not None and self.by_key[self.target].overridden

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
        self.people = People(self.sop, facts)
        self.excluded = Excluded.of(facts)
        self.contributors = Contributors.of(facts)
        self.approvals = ApprovalRules(
            self.sop, facts, self.people, self.excluded, self.contributors
        )
        self.checks = gates.CheckIndex(facts.checks or ())
        self.files = gates.NameIndex(facts.files) if facts.files is not None else None
        self.results: dict[str, StepResult] = {}
        self.sop_change = self._sop_change() if facts.sop_changed else []

    # -- one node --------------------------------------------------------------------------

    def node(self, node: Node) -> StepResult:
        step = node.step
        # needs
        blocked: list[str] = []
        pending: list[str] = []
        needs_done: datetime | None = None
        for need in node.needs:
            other = self.results[need]
            if other.state != "done":
                blocked.append(f"waits for {need} ({other.state}; owner {other.owner})")
                pending.append(need)
            elif other.done_at is not None:
                needs_done = max(needs_done or other.done_at, other.done_at)
        # approvals, checks, evidence
        found = self.approvals.judge(
            node, Timing(needs_done, tuple(pending), node.key), self._separated(node)
        )
        check_waiting, failed, check_times = self._checks(node)
        evidence = missing_evidence(
            step.evidence,
            node.expand,
            self.files,
            self.facts.documents,
            self.facts.notes,
            step.owner,
        )
        # timing, who starts it, break-glass
        when = timing(self.sop, node, self.facts.observed_at)
        starting = who_may_start(node, self.facts, self.people)
        job_failed, jobs_done, job_times = self._jobs(node)
        override = emergency.override(
            self.sop, node, self.approvals.index, self.people, self.excluded, self.contributors
        )
        bypass = override.bypass

        def unless(what: str, reasons: tuple[str, ...] | list[str]) -> list[str]:
            return [] if what in bypass else list(reasons)

        # state
        waiting = [
            *self.sop_change,
            *unless("approvals", found.waiting),
            *unless("checks", check_waiting),
            *evidence,
        ]
        closing = [*unless("window", when.window), *unless("freeze", when.freeze), *starting]
        rejected = list(found.rejected)
        gate_open = not (waiting or failed or rejected or blocked or closing)
        plain = [*self.sop_change, *found.waiting, *check_waiting, *evidence, *when.window]
        overridden = gate_open and bool(plain or when.freeze)
        if rejected:
            state: State = "rejected"
        elif failed or job_failed:
            state = "failed"
        elif blocked:
            state = "blocked"
        elif waiting or (closing and not jobs_done):
            state = "waiting"
        elif step.jobs and not jobs_done:
            state = "ready"
        else:
            state = "done"
        reasons = [*override.lines, *rejected, *failed, *job_failed, *blocked, *waiting]
        if not gate_open:
            reasons.extend([*closing, *override.refused])
        if state == "ready":
            jobs = ", ".join(node.expand(job) for job in step.jobs)
            reasons.append(f"gate open: run {jobs} (owner {step.owner})")
        elif state == "failed" and gate_open:
            reasons.append(f"gate open: the job may be retried (owner {step.owner})")
        times = [*found.times, *check_times, *job_times, *override.times]
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
            reasons=tuple(dict.fromkeys(reasons)),
            done_at=done_at,
            approvers=tuple(sorted(self.people.name(u) for u in found.counted)),
            emergency=override.lines,
            overridden=overridden,
        )

    # -- approvals ---------------------------------------------------------------------------

    def _sop_change(self) -> list[str]:
        """A change that edits the SOP needs a fresh review approval from every owners role
        (DESIGN.md, Trust): without it, no gate of the change opens."""
        if not self.sop.owners:
            return ["this change edits the SOP, which names no owners to approve it"]
        missing = []
        reviews = self.approvals.index.entries("review", [None])
        for role in self.sop.owners:
            approved = any(
                entry.state == "approved"
                and entry.sha == self.facts.commit
                and self.people.holds(entry.user, role)
                and self.excluded.why(entry.user) is None
                for entry in reviews
            )
            if not approved:
                who = self.people.candidates(role, self.excluded.keys)
                missing.append(
                    f"this change edits the SOP: needs 1 approval from {role} ({who}); has 0"
                )
        return missing

    def _separated(self, node: Node) -> set[str]:
        """People whose approval counted for a step this one must be separate from; for
        instances not evaluated yet (later in plan order), everyone approving them."""
        found: set[str] = set()
        for other in node.step.separate_from:
            later: list[Node] = []
            for key in self.plan.instances[other]:
                result = self.results.get(key)
                if result is None:
                    later.append(self.plan.by_key[key])
                else:
                    found.update(login(u) for u in result.approvers)
            found |= self.approvals.approving(later)
        return found

    # -- checks and jobs ---------------------------------------------------------------------

    def _checks(self, node: Node) -> tuple[list[str], list[str], list[datetime]]:
        """Reasons a check is missing or pending, failed checks, and the passing checks' times."""
        step = node.step
        waiting: list[str] = []
        failed: list[str] = []
        times: list[datetime] = []
        if not step.checks:
            return waiting, failed, times
        if self.facts.checks is None:
            return ["check results are unknown: the platform could not list them"], failed, times
        for rule in step.checks:
            pattern = node.expand(rule.name)
            label = f"{pattern} ({rule.app})" if rule.app else pattern
            matched = self.checks.matching(pattern, rule.app)
            entries = [e for e in matched if not self._own_job(node, e)]
            if not entries:
                waiting.append(
                    f"check {label} matches only this step's own jobs, which do not enter its "
                    f"gate: it can never pass (owner {step.owner})"
                    if matched
                    else f"check {label} has not reported (owner {step.owner})"
                )
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
        return waiting, failed, times

    def _own_job(self, node: Node, entry: Check) -> bool:
        """Whether ``entry`` is a run of one of ``node``'s own jobs: those never enter its
        gate, not even through a check pattern that also matches them (DESIGN.md, "The gate
        of a step")."""
        return entry.app == self.facts.ci_app and any(
            gates.glob_regex(node.expand(pattern)).match(entry.name) for pattern in node.step.jobs
        )

    def _jobs(self, node: Node) -> tuple[list[str], bool, list[datetime]]:
        """Failed jobs, whether the jobs succeeded (every pattern matched a job and every
        latest run of them succeeded), and their times when they did."""
        step = node.step
        if not step.jobs or self.facts.checks is None:
            return [], False, []
        found: list[Check] = []
        every_pattern = True
        for pattern in step.jobs:
            entries = self.checks.matching(node.expand(pattern), self.facts.ci_app)
            every_pattern = every_pattern and bool(entries)
            found.extend(entries)
        bad = [e.name for e in found if e.state == "failure"]
        if bad:
            return [f"job {', '.join(bad)} failed (owner {step.owner})"], False, []
        if not every_pattern or any(e.state != "success" for e in found):
            return [], False, []
        return [], True, [e.at or gates.UNKNOWN_TIME for e in found]
