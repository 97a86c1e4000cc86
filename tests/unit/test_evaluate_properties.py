"""Invariants of the evaluator, checked with hypothesis over generated facts.

Removing evidence in favour of a gate never opens it. This holds for SOPs whose rules do not
depend on time: with sign-offs, DESIGN.md deliberately makes a later re-run of a needed step
invalidate earlier sign-offs, so removing that later run can make an earlier sign-off count
again. The sign-off SOP is therefore checked for determinism and order independence only.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sopgate.evaluate import Evaluation
from tests.unit.helpers import OLD, SHA, facts, run, sop

MONOTONE = sop("""
    sopgate: 1
    name: p
    scope: {system: s, environments: [prod], regions: [eu, us]}
    roles:
      sec: {users: [ann, ben], groups: [org/sec]}
      ops: {users: [ben, cat]}
    steps:
      - id: review
        owner: sec
        needs: []
        approvals: [{role: sec, count: 2}]
        checks: [scan, "lint-*"]
        evidence: [docs/card.md]
      - id: build
        owner: ops
        jobs: [build]
        approvals: [{role: ops}, {role: sec}]
      - id: prod
        owner: ops
        environment: prod
        rollback: redeploy
        for_each: region
        rollout: sequential
        jobs: ["deploy-{region}"]
        checks: [{name: "smoke-{region}", app: status}]
""")

TIMED = sop("""
    sopgate: 1
    name: p
    roles:
      ops: {users: [ann, ben, cat]}
    steps:
      - id: build
        owner: ops
        jobs: [build]
      - id: go
        type: decision
        owner: ops
        approvals: [{role: ops, source: signoff, count: 2}]
        separate_from: [build]
      - id: ship
        owner: ops
        checks: [scan]
""")

USERS = ["ann", "ben", "cat", "dan", "eve[bot]"]
CHECK_NAMES = [
    "scan",
    "lint-a",
    "lint-b",
    "build",
    "deploy-eu",
    "deploy-us",
    "smoke-eu",
    "smoke-us",
]
BASE = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def stamp(minutes: int) -> str:
    return (BASE + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


approvals = st.lists(
    st.fixed_dictionaries(
        {
            "user": st.sampled_from(USERS),
            "source": st.sampled_from(["review", "signoff"]),
            "state": st.sampled_from(["approved", "approved", "rejected", "dismissed"]),
            "step": st.sampled_from(["review", "build", "go", "prod"]),
            "sha": st.sampled_from([SHA, SHA, OLD, None]),
            "at": st.one_of(st.none(), st.integers(0, 300).map(stamp)),
        }
    ),
    max_size=12,
)

checks = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(CHECK_NAMES),
            "app": st.sampled_from(["ci", "status", "other"]),
            "state": st.sampled_from(["success", "success", "failure", "pending", "skipped"]),
            "at": st.one_of(st.none(), st.integers(0, 300).map(stamp)),
        }
    ),
    max_size=14,
)

files = st.one_of(st.none(), st.lists(st.sampled_from(["docs/card.md", "x.md"]), max_size=2))
NO_GROUPS: dict[str, list[str]] = {}
groups = st.one_of(st.just(NO_GROUPS), st.just({"org/sec": ["cat", "dan"]}))

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def closed_gates(evaluation: Evaluation) -> set[str]:
    return {r.key for r in evaluation.steps if not r.gate_open}


def evaluate_all(loaded: Any, **fields: Any) -> Evaluation:
    return run(loaded, facts(**fields))


@SETTINGS
@given(approvals, checks, files, groups, st.data())
def test_removing_an_approval_or_passing_check_never_opens_a_gate(
    approvals: list[dict[str, Any]],
    checks: list[dict[str, Any]],
    files: list[str] | None,
    groups: dict[str, list[str]],
    data: st.DataObject,
) -> None:
    full = evaluate_all(MONOTONE, approvals=approvals, checks=checks, files=files, groups=groups)
    helping = [("approvals", i) for i, a in enumerate(approvals) if a["state"] == "approved"]
    helping += [("checks", i) for i, c in enumerate(checks) if c["state"] == "success"]
    if not helping:
        return
    kind, index = data.draw(st.sampled_from(helping))
    fewer = {"approvals": list(approvals), "checks": list(checks)}
    del fewer[kind][index]
    less = evaluate_all(MONOTONE, files=files, groups=groups, **fewer)
    assert closed_gates(full) <= closed_gates(less)
    done_before = {r.key for r in full.steps if r.state == "done"}
    assert {r.key for r in less.steps if r.state == "done"} <= done_before


@SETTINGS
@given(approvals, checks, files, groups)
def test_adding_a_rejection_by_a_role_holder_never_opens_a_gate(
    approvals: list[dict[str, Any]],
    checks: list[dict[str, Any]],
    files: list[str] | None,
    groups: dict[str, list[str]],
) -> None:
    full = evaluate_all(MONOTONE, approvals=approvals, checks=checks, files=files, groups=groups)
    rejection = {"user": "ben", "source": "review", "state": "rejected", "at": stamp(999)}
    more = evaluate_all(
        MONOTONE, approvals=[*approvals, rejection], checks=checks, files=files, groups=groups
    )
    assert closed_gates(full) <= closed_gates(more)
    assert more.by_key["build"].state == "rejected"


@SETTINGS
@given(approvals, checks, st.randoms(use_true_random=False))
def test_evaluation_is_deterministic_and_independent_of_list_order(
    approvals: list[dict[str, Any]], checks: list[dict[str, Any]], rng: random.Random
) -> None:
    for loaded in (MONOTONE, TIMED):
        first = evaluate_all(loaded, approvals=approvals, checks=checks)
        assert evaluate_all(loaded, approvals=approvals, checks=checks).steps == first.steps
        # with distinct times, the order of the lists carries no meaning
        dated_a = [dict(a, at=stamp(i)) for i, a in enumerate(approvals)]
        dated_c = [dict(c, at=stamp(i)) for i, c in enumerate(checks)]
        ordered = evaluate_all(loaded, approvals=dated_a, checks=dated_c)
        rng.shuffle(dated_a)
        rng.shuffle(dated_c)
        shuffled = evaluate_all(loaded, approvals=dated_a, checks=dated_c)
        assert [(r.key, r.state, r.gate_open) for r in shuffled.steps] == [
            (r.key, r.state, r.gate_open) for r in ordered.steps
        ]


@SETTINGS
@given(approvals, checks)
def test_every_state_but_done_has_a_reason(
    approvals: list[dict[str, Any]], checks: list[dict[str, Any]]
) -> None:
    for loaded in (MONOTONE, TIMED):
        for result in evaluate_all(loaded, approvals=approvals, checks=checks).steps:
            assert (result.state == "done") == (result.reasons == ()), result


# -- this wave's additions: age, evidence thresholds, emergency overrides, vetoes ------------

ADDITIONS = sop("""
    sopgate: 1
    name: p
    scope: {system: s, environments: [prod], regions: [eu, us]}
    roles:
      sec: {users: [ann, ben]}
      ops: {users: [ben, cat]}
      ic: {users: [dan, eve]}
    emergency: {role: ic, bypass: [window, freeze, approvals]}
    steps:
      - id: review
        owner: sec
        needs: []
        approvals: [{role: sec, count: 2, max_age: 2h}]
        evidence: [{path: "reports/*.json", require: {auc: ">= 0.8", ok: "== true"}}]
      - id: go
        type: decision
        owner: ops
        approvals:
          - {role: ops, source: signoff, after: any, max_age: 3h}
          - {role: sec, source: signoff, after: any}
      - id: prod
        owner: ops
        environment: prod
        rollback: redeploy
        for_each: region
        jobs: ["deploy-{region}"]
        approvals: [{role: ops, source: signoff, after: any}]
        window: {days: [mon], start: "09:00", end: "10:00"}
""")

EARLY = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def early(minutes: int) -> str:
    return (EARLY + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


new_approvals = st.lists(
    st.fixed_dictionaries(
        {
            "user": st.sampled_from(["ann", "ben", "BEN", "cat", "dan", "eve", "x[bot]"]),
            "source": st.sampled_from(["review", "signoff", "signoff", "emergency"]),
            "state": st.sampled_from(["approved", "approved", "approved", "rejected", "dismissed"]),
            "step": st.sampled_from(["review", "go", "prod", "prod[eu]", "prod[us]"]),
            "sha": st.sampled_from([SHA, SHA, OLD]),
            "at": st.one_of(st.none(), st.integers(0, 300).map(early)),
            "reason": st.sampled_from([None, "INC-1"]),
        }
    ),
    max_size=12,
)
document = st.fixed_dictionaries(
    {},
    optional={
        "auc": st.sampled_from([0.7, 0.8, 0.85, "0.9", None]),
        "ok": st.sampled_from([True, False, "true"]),
    },
)
documents = st.dictionaries(
    st.sampled_from(["reports/a.json", "reports/b.json"]), st.one_of(st.none(), document)
)
new_checks = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["deploy-eu", "deploy-us"]),
            "app": st.just("ci"),
            "state": st.sampled_from(["success", "pending", "failure"]),
            "at": st.one_of(st.none(), st.integers(0, 300).map(early)),
        }
    ),
    max_size=3,
)
FILES = ["reports/a.json", "reports/b.json"]


def additions(
    approvals: list[dict[str, Any]], docs: dict[str, Any], checks: list[dict[str, Any]]
) -> Evaluation:
    return evaluate_all(ADDITIONS, approvals=approvals, documents=docs, files=FILES, checks=checks)


def passing(key: str, value: Any) -> bool:
    if key == "auc":
        return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0.8
    return value is True


@SETTINGS
@given(new_approvals, documents, new_checks, st.data())
def test_removing_an_approval_a_passing_value_or_an_override_never_opens_a_gate(
    approvals: list[dict[str, Any]],
    docs: dict[str, Any],
    checks: list[dict[str, Any]],
    data: st.DataObject,
) -> None:
    full = additions(approvals, docs, checks)
    helping: list[tuple[str, Any]] = [
        ("approval", i) for i, a in enumerate(approvals) if a["state"] == "approved"
    ]
    helping += [
        ("value", (path, key))
        for path, doc in docs.items()
        if doc is not None
        for key, value in doc.items()
        if passing(key, value)
    ]
    helping += [("document", path) for path, doc in docs.items() if doc is not None]
    if not helping:
        return
    kind, which = data.draw(st.sampled_from(helping))
    fewer_approvals, fewer_docs = list(approvals), dict(docs)
    if kind == "approval":
        del fewer_approvals[which]
    elif kind == "value":
        path, key = which
        fewer_docs[path] = {k: v for k, v in docs[path].items() if k != key}
    else:
        fewer_docs[which] = None
    less = additions(fewer_approvals, fewer_docs, checks)
    assert closed_gates(full) <= closed_gates(less)
    assert {r.key for r in less.steps if r.state == "done"} <= {
        r.key for r in full.steps if r.state == "done"
    }


@SETTINGS
@given(new_approvals, documents, new_checks, st.data())
def test_making_an_approval_older_never_opens_a_gate(
    approvals: list[dict[str, Any]],
    docs: dict[str, Any],
    checks: list[dict[str, Any]],
    data: st.DataObject,
) -> None:
    dated = [i for i, a in enumerate(approvals) if a["at"] is not None]
    if not dated:
        return
    index = data.draw(st.sampled_from(dated))
    minutes = data.draw(st.integers(1, 600))
    older = [dict(a) for a in approvals]
    at = datetime.fromisoformat(older[index]["at"].replace("Z", "+00:00"))
    older[index]["at"] = (at - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
    assert closed_gates(additions(approvals, docs, checks)) <= closed_gates(
        additions(older, docs, checks)
    )


@SETTINGS
@given(new_approvals, documents, new_checks, st.sampled_from(["review", "go", "prod"]))
def test_adding_a_rejection_across_sources_never_opens_a_gate(
    approvals: list[dict[str, Any]],
    docs: dict[str, Any],
    checks: list[dict[str, Any]],
    step: str,
) -> None:
    full = additions(approvals, docs, checks)
    for source in ("review", "signoff"):
        veto = {
            "user": "Ben",
            "source": source,
            "state": "rejected",
            "step": step,
            "at": early(999),
        }
        more = additions([*approvals, veto], docs, checks)
        assert closed_gates(full) <= closed_gates(more)
        rejected = {r.key for r in more.steps if r.state == "rejected"}
        assert rejected >= (
            {"review", "go"} if source == "review" else set(more.plan.instances[step])
        )
        assert not more.emergency


@SETTINGS
@given(
    new_approvals,
    documents,
    new_checks,
    st.sampled_from(["2026-11-26T10:00:00Z", "2026-11-30T09:30:00Z"]),
)
def test_every_closed_gate_has_a_reason(
    approvals: list[dict[str, Any]], docs: dict[str, Any], checks: list[dict[str, Any]], now: str
) -> None:
    snapshot = facts(
        approvals=approvals, documents=docs, files=FILES, checks=checks, observed_at=now
    )
    for result in run(ADDITIONS, snapshot).steps:
        if result.state != "done" or not result.gate_open:
            assert result.reasons, result
        else:
            assert result.reasons == result.emergency, result
