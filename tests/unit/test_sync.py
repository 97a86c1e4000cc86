"""``sopgate sync``: the run triggered by the last sign-off counts that sign-off, and
re-runs exactly the gate runs whose gate is now open (issue 8, item 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sopgate import commands
from sopgate.evaluate import Evaluation, evaluate
from sopgate.facts import Check, Facts, read_facts
from sopgate.sop.load import read_sop
from sopgate.sync import RunActors, RunRef, plan_sync, run_sync

SOP = "examples/.sopgate.yml"
GREEN = "examples/facts/green.yml"
WAITING = "examples/facts/waiting.yml"
RUN = "https://github.example/acme/fraud-model/actions/runs/"


class FakeAdapter:
    """The sync primitives, recording what was asked."""

    name = "github"

    def __init__(self, actors: dict[int, RunActors] | None = None) -> None:
        self.actors = actors or {}
        self.reruns: list[tuple[int, bool]] = []
        self.published: list[frozenset[str]] = []
        self.asked: list[int] = []

    def gate_run(self, url: str | None) -> RunRef | None:
        if url and url.startswith(RUN):
            return RunRef(int(url[len(RUN) :]), url)
        return None

    def run_actors(self, run: RunRef) -> RunActors:
        self.asked.append(run.id)
        return self.actors.get(run.id, RunActors("dave", None))

    def rerun(self, run: RunRef, *, dry_run: bool) -> str:
        self.reruns.append((run.id, dry_run))
        return f"re-ran run {run.id}"

    def publish_sync(
        self, evaluation: Evaluation, *, keep: frozenset[str], dry_run: bool
    ) -> list[str]:
        self.published.append(keep)
        return [f"statuses: {len(evaluation.steps) - len(keep)} set"]


def gate_statuses(facts: Facts, *items: tuple[str, str, str | None]) -> Facts:
    """``facts`` with ``sopgate/KEY`` statuses (key, state, url) added."""
    extra = tuple(
        Check(name=f"sopgate/{key}", app="status", state=state, url=url)
        for key, state, url in items
    )
    return facts.model_copy(update={"checks": (*(facts.checks or ()), *extra)})


def test_the_sign_off_that_triggers_the_run_counts() -> None:
    """bob's `/sop approve go-no-go` triggers the run: as initiator he would be excluded."""
    loaded = read_sop(SOP)
    facts = read_facts(GREEN).model_copy(update={"initiator": "bob"})
    assert not evaluate(loaded, facts, "go-no-go").by_key["go-no-go"].gate_open
    facts = gate_statuses(facts, ("go-no-go", "pending", f"{RUN}7"))
    adapter = FakeAdapter()
    evaluation, lines = run_sync(loaded, facts, adapter, dry_run=False)
    assert evaluation.by_key["go-no-go"].state == "done"
    assert adapter.reruns == [(7, False)]
    assert "go-no-go: gate open now; re-ran run 7" in lines


def test_a_gate_that_stays_closed_is_not_re_run_and_keeps_its_status() -> None:
    loaded = read_sop(SOP)
    facts = gate_statuses(read_facts(WAITING), ("go-no-go", "pending", f"{RUN}7"))
    adapter = FakeAdapter()
    _evaluation, lines = run_sync(loaded, facts, adapter, dry_run=False)
    assert adapter.reruns == []
    assert adapter.asked == []  # no request about a run that stays shut
    assert adapter.published == [frozenset({"go-no-go"})]
    assert "no closed gate can open now: nothing to re-run" in lines


def test_one_run_is_re_run_once_for_all_the_gates_it_opens() -> None:
    loaded = read_sop(SOP)
    facts = gate_statuses(
        read_facts(GREEN),
        ("go-no-go", "pending", f"{RUN}7"),
        ("production[eu-west]", "failure", f"{RUN}7"),
    )
    adapter = FakeAdapter()
    _evaluation, lines = run_sync(loaded, facts, adapter, dry_run=True)
    assert adapter.reruns == [(7, True)]
    assert adapter.asked == [7]
    assert "go-no-go, production[eu-west]: gate open now; re-ran run 7" in lines


@pytest.mark.parametrize(
    ("state", "url"),
    [
        ("success", f"{RUN}7"),  # the gate already opened: nothing to re-run
        ("pending", "https://github.example/acme/fraud-model/pull/42"),  # not a run
        ("pending", None),
    ],
)
def test_only_closed_gate_runs_are_re_run(state: str, url: str | None) -> None:
    loaded = read_sop(SOP)
    facts = gate_statuses(read_facts(GREEN), ("go-no-go", state, url))
    adapter = FakeAdapter()
    run_sync(loaded, facts, adapter, dry_run=False)
    assert adapter.reruns == []


def test_a_run_is_judged_as_its_own_actor_would_be() -> None:
    """bob started the gate run and also signed off: the re-run would exclude him again."""
    loaded = read_sop(SOP)
    facts = gate_statuses(read_facts(GREEN), ("go-no-go", "pending", f"{RUN}7"))
    adapter = FakeAdapter({7: RunActors("bob", None)})
    evaluation = evaluate(loaded, facts.model_copy(update={"initiator": None}), None)
    plan = plan_sync(loaded, facts, evaluation, adapter)
    assert plan.reruns == ()
    assert plan.keep == frozenset({"go-no-go"})
    assert len(plan.notes) == 1
    assert plan.notes[0].startswith("go-no-go: not re-run; as started by bob: ")
    assert "sre" in plan.notes[0]


def test_the_re_runner_is_excluded_too() -> None:
    loaded = read_sop(SOP)
    facts = gate_statuses(read_facts(GREEN), ("go-no-go", "pending", f"{RUN}7"))
    adapter = FakeAdapter({7: RunActors("dave", "bob")})
    _evaluation, _lines = run_sync(loaded, facts, adapter, dry_run=False)
    assert adapter.reruns == []


def test_sync_needs_a_platform(capsys: pytest.CaptureFixture[str]) -> None:
    from sopgate.cli import main

    assert main(["sync", "--sop", SOP, "--platform", "github"]) == 3  # no GITHUB_REPOSITORY
    assert "GITHUB_REPOSITORY" in capsys.readouterr().err


def test_sync_command_prints_what_it_did(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sopgate.platforms import Gathered

    facts = gate_statuses(
        read_facts(GREEN).model_copy(update={"initiator": "bob"}),
        ("go-no-go", "pending", f"{RUN}9"),
    )

    class Live(FakeAdapter):
        def gather(self, *, sop_path: str) -> Gathered:
            return Gathered(facts, Path(sop_path).read_text())

        def publish(self, evaluation: Evaluation, *, dry_run: bool) -> list[str]:
            raise AssertionError("sync publishes through publish_sync")

    adapter = Live()
    options = commands.CheckOptions(step=None, sop_path=SOP, platform="github", dry_run=True)
    assert commands.sync(options, adapter) == 0
    out, err = capsys.readouterr()
    assert adapter.reruns == [(9, True)]
    assert "go-no-go: gate open now; re-ran run 9" in err
    assert "[done]" in out and "go-no-go" in out
