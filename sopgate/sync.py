"""``sopgate sync``: refresh what people see and re-run the gates that can now open.

The operating model (DESIGN.md, "How a pipeline runs sopgate"): gate runs fail at once when
their gate is closed, leaving a commit status ``sopgate/STEP`` that points at the run (or
job) that failed; sync runs come on events that change the facts (a review, a ``/sop``
comment, a finished check) and never deploy. A sync run gathers the facts of the change's
head, evaluates the whole sequence with no initiator (the person whose comment triggered the
run is never excluded for having triggered it), publishes the summary and one status per
step, and re-runs each gate run whose gate is now open — judged again as that run would
judge it, with the run's own actor as the initiator (``run_by``, author exclusions).

The decisions are made here, from facts and an evaluation; the adapters only provide the
primitives (:class:`SyncAdapter`): which status URL is a gate run of this repository, who
started it, re-run it, and publish per-step statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sopgate.evaluate import Evaluation
    from sopgate.facts import Facts
    from sopgate.sop.load import LoadedSop

#: Commit status context prefix of every gate: ``sopgate/production[eu-west]``.
CONTEXT = "sopgate/"


@dataclass(frozen=True)
class RunRef:
    """A gate run (GitHub: a workflow run; GitLab: a job) found behind a status URL."""

    id: int
    url: str


@dataclass(frozen=True)
class RunActors:
    """Who started a run and who re-ran it last (None when the platform does not say)."""

    actor: str | None
    rerun_by: str | None


@runtime_checkable
class SyncAdapter(Protocol):
    """What a platform adapter offers to ``sopgate sync``."""

    name: str

    def gate_run(self, url: str | None) -> RunRef | None:
        """The gate run a status's ``target_url`` points at, when it is a run (GitHub) or a
        job (GitLab) of this repository on this server; None for anything else. No request.
        """
        ...

    def run_actors(self, run: RunRef) -> RunActors:
        """Who started ``run`` (one request). Raises PlatformError when it cannot tell."""
        ...

    def rerun(self, run: RunRef, *, dry_run: bool) -> str:
        """Re-run the failed jobs of ``run`` (one write request, never repeated blindly);
        returns one line saying what was (or would be) done. Failures are returned, not
        raised."""
        ...

    def publish_sync(
        self, evaluation: Evaluation, *, keep: frozenset[str], dry_run: bool
    ) -> list[str]:
        """Update the sticky summary and set one commit status ``sopgate/KEY`` per step,
        except the keys in ``keep`` (statuses that point at a closed gate's run and must stay
        so that a later sync can re-run it). Lines as :meth:`Adapter.publish` returns them.
        """
        ...


@dataclass(frozen=True)
class Pending:
    """A gate run that left its gate closed: the latest ``sopgate/KEY`` status points at it."""

    key: str
    run: RunRef


def closed_gate_runs(facts: Facts, keys: list[str], adapter: SyncAdapter) -> list[Pending]:
    """For each plan key, the gate run behind its latest ``sopgate/KEY`` commit status when
    that status says the gate was not open (any state but ``success``)."""
    latest = {}
    for check in facts.checks or ():
        if check.app == "status" and check.name.startswith(CONTEXT):
            latest[check.name[len(CONTEXT) :]] = check  # statuses come one per context
    found = []
    for key in keys:
        status = latest.get(key)
        if status is None or status.state == "success":
            continue
        run = adapter.gate_run(status.url)
        if run is not None:
            found.append(Pending(key, run))
    return found


@dataclass(frozen=True)
class Plan:
    """What a sync run will do."""

    reruns: tuple[tuple[RunRef, tuple[str, ...]], ...]  # each run once, with the keys it opens
    keep: frozenset[str]  # statuses left as they are
    notes: tuple[str, ...]


def plan_sync(
    loaded: LoadedSop, facts: Facts, evaluation: Evaluation, adapter: SyncAdapter
) -> Plan:
    """Decide which gate runs to re-run: those whose gate is open now, judged with the run's
    own initiator. A run is re-run once, whatever number of its gates opened."""
    from sopgate.evaluate import evaluate

    pending = closed_gate_runs(facts, [result.key for result in evaluation.steps], adapter)
    keep: set[str] = set()
    opens: dict[int, list[str]] = {}
    runs: dict[int, RunRef] = {}
    notes: list[str] = []
    actors: dict[int, RunActors] = {}
    for item in pending:
        if not evaluation.by_key[item.key].gate_open:
            keep.add(item.key)  # still closed: keep pointing at the run to re-run later
            continue
        who = actors.get(item.run.id)
        if who is None:
            who = actors[item.run.id] = adapter.run_actors(item.run)
        as_run = facts.model_copy(update={"initiator": who.actor, "rerun_by": who.rerun_by})
        again = evaluate(loaded, as_run, item.key).by_key[item.key]
        if not again.gate_open:
            keep.add(item.key)
            reason = again.reasons[0] if again.reasons else again.state
            notes.append(f"{item.key}: not re-run; as started by {who.actor}: {reason}")
            continue
        runs[item.run.id] = item.run
        opens.setdefault(item.run.id, []).append(item.key)
        keep.add(item.key)  # the re-run gate posts its own status
    reruns = tuple((runs[rid], tuple(keys)) for rid, keys in opens.items())
    return Plan(reruns, frozenset(keep), tuple(notes))


def run_sync(
    loaded: LoadedSop, facts: Facts, adapter: SyncAdapter, *, dry_run: bool
) -> tuple[Evaluation, list[str]]:
    """Evaluate with no initiator, re-run the gates that opened, publish. Returns the
    evaluation and the lines to print."""
    from sopgate.evaluate import evaluate

    facts = facts.model_copy(update={"initiator": None, "rerun_by": None})
    evaluation = evaluate(loaded, facts, None)
    plan = plan_sync(loaded, facts, evaluation, adapter)
    lines = list(plan.notes)
    for run, keys in plan.reruns:
        lines.append(f"{', '.join(keys)}: gate open now; " + adapter.rerun(run, dry_run=dry_run))
    if not plan.reruns:
        lines.append("no closed gate can open now: nothing to re-run")
    lines += adapter.publish_sync(evaluation, keep=plan.keep, dry_run=dry_run)
    return evaluation, lines
