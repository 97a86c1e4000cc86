"""Cross-reference rules of the SOP, checked on the raw document so that every error is
reported at once, even when pydantic also finds type errors elsewhere in the file."""

from __future__ import annotations

import itertools
from typing import Any

from sopgate.errors import Diagnostic
from sopgate.sop.plan import split_instance
from sopgate.sop.raw import check_timezone, list_of, region_ids, strings
from sopgate.sop.rules_additions import check_additions
from sopgate.yamlsrc import Document, Path

REGION = "{region}"


def check_references(doc: Document) -> list[Diagnostic]:
    data: dict[str, Any] = doc.data
    found: list[Diagnostic] = []

    def fail(loc: Path, message: str, *, at_key: bool = False) -> None:
        found.append(doc.error(loc, message, at_key=at_key))

    roles = data.get("roles")
    role_names = [k for k in roles if isinstance(k, str)] if isinstance(roles, dict) else []
    scope_data = data.get("scope")
    scope: dict[str, Any] = scope_data if isinstance(scope_data, dict) else {}
    environments = strings(scope.get("environments"))
    regions = region_ids(scope.get("regions"))
    for key, values in (("environments", environments), ("regions", regions)):
        seen: set[str] = set()
        for i, value in values:
            if value in seen:
                where: Path = ("scope", key, i)
                if isinstance(scope[key][i], dict):
                    where = (*where, "id")
                fail(where, f"duplicate {key[:-1]} '{value}' in scope.{key}")
            seen.add(value)

    def known_role(loc: Path, name: Any, what: str) -> None:
        if isinstance(name, str) and role_names and name not in role_names:
            fail(loc, f"unknown role '{name}' in {what}; roles: {', '.join(role_names)}")

    for i, name in strings(data.get("owners")):
        known_role(("owners", i), name, "owners")

    steps = [(i, s) for i, s in enumerate(list_of(data.get("steps"))) if isinstance(s, dict)]
    ids: dict[str, int] = {}
    for i, step in steps:
        sid = step.get("id")
        if not isinstance(sid, str):
            continue
        if sid in ids:
            line = doc.value_pos(("steps", ids[sid], "id"))[0]
            fail(("steps", i, "id"), f"duplicate step id '{sid}' (first used at line {line})")
        else:
            ids[sid] = i
    step_ids = list(ids)

    def known_step(loc: Path, name: str, what: str) -> bool:
        if name in ids:
            return True
        fail(loc, f"unknown step '{name}' in {what}; steps: {', '.join(step_ids)}")
        return False

    for i, step in steps:
        at: Path = ("steps", i)
        sid = step.get("id", f"#{i + 1}")
        known_role((*at, "owner"), step.get("owner"), f"owner of step '{sid}'")
        for j, rule in enumerate(list_of(step.get("approvals"))):
            role = rule.get("role") if isinstance(rule, dict) else None
            if not (isinstance(role, str) and REGION in role):  # per instance: rules_additions
                known_role((*at, "approvals", j, "role"), role, f"approvals of step '{sid}'")
        for j, name in strings(step.get("run_by")):
            known_role((*at, "run_by", j), name, f"run_by of step '{sid}'")
        for key in ("needs", "separate_from"):
            for j, written in strings(step.get(key)):
                # An instance reference (canary[us-east]) is checked further in rules_additions.
                name = split_instance(written)[0] if key == "needs" else written
                if known_step((*at, key, j), name, f"{key} of step '{sid}'") and name == sid:
                    what = "need itself" if key == "needs" else "be separate from itself"
                    fail((*at, key, j), f"step '{sid}' cannot {what}")
        env = step.get("environment")
        if isinstance(env, str) and env not in [e for _, e in environments]:
            listing = ", ".join(e for _, e in environments) or "none (add scope.environments)"
            fail(
                (*at, "environment"),
                f"unknown environment '{env}' for step '{sid}'; environments: {listing}",
            )
        for_each = step.get("for_each")
        if for_each == "region" and not regions:
            fail(
                (*at, "for_each"),
                f"step '{sid}' has for_each: region but scope.regions is empty or missing",
            )
        if "rollout" in step and for_each is None:
            fail((*at, "rollout"), f"step '{sid}' has rollout but no for_each", at_key=True)
        if step.get("type") == "decision":
            if "approvals" not in step:
                fail(
                    at,
                    f"decision step '{sid}' must have approvals (a go/no-go needs someone "
                    "to decide)",
                )
            elif step["approvals"] == []:
                fail((*at, "approvals"), f"decision step '{sid}' must have approvals")
            if "jobs" in step:
                fail(
                    (*at, "jobs"),
                    f"decision step '{sid}' has no pipeline work: remove jobs",
                    at_key=True,
                )
        if for_each != "region":
            for loc, text in _patterns(step, at):
                if REGION in text:
                    fail(loc, "'{region}' is only expanded in steps with for_each: region")
        window = step.get("window")
        if isinstance(window, dict):
            if window.get("timezone") != "region":  # per region: rules_additions
                check_timezone(window, (*at, "window"), fail)
            if window.get("start", "00:00") == window.get("end"):
                fail((*at, "window", "end"), "window start and end are equal: it would never open")
            if window.get("days") == []:
                fail(
                    (*at, "window", "days"),
                    "window days is empty: it would never open; omit days for every day",
                )
    for i, freeze in enumerate(list_of(data.get("freezes"))):
        if isinstance(freeze, dict):
            check_timezone(freeze, ("freezes", i), fail)
            start, end = freeze.get("from"), freeze.get("to")
            if start is not None and end is not None and type(start) is type(end) and start > end:
                fail(("freezes", i, "to"), f"freeze ends ({end}) before it starts ({start})")
    for i, entry in enumerate(list_of(scope.get("regions"))):
        if isinstance(entry, dict):
            check_timezone(entry, ("scope", "regions", i), fail)
    found.extend(check_additions(doc, steps, role_names, regions))
    found.extend(_cycles(doc, steps))
    return found


def _patterns(step: dict[str, Any], at: Path) -> list[tuple[Path, str]]:
    """Where ``{region}`` may stand in a step: jobs, check names, evidence paths, roles."""
    found: list[tuple[Path, str]] = [((*at, "jobs", j), t) for j, t in strings(step.get("jobs"))]
    for key, field in (("checks", "name"), ("evidence", "path"), ("approvals", "role")):
        for j, entry in enumerate(list_of(step.get(key))):
            if isinstance(entry, str):
                found.append(((*at, key, j), entry))
            elif isinstance(entry, dict) and isinstance(entry.get(field), str):
                found.append(((*at, key, j, field), entry[field]))
    return found


def _cycles(doc: Document, steps: list[tuple[int, dict[str, Any]]]) -> list[Diagnostic]:
    """Find needs cycles (implicit needs included) and name each one once."""
    edges: dict[str, list[tuple[str, Path | None]]] = {}
    previous: str | None = None
    for i, step in steps:
        sid = step.get("id")
        if not isinstance(sid, str) or sid in edges:
            continue
        if "needs" in step:
            # A step-level cycle through instance references is an instance-level cycle too:
            # every instance of a step needs some instance of each step it needs.
            written = [(split_instance(n)[0], j) for j, n in strings(step["needs"])]
            edges[sid] = [
                (n, ("steps", i, "needs", j)) for n, j in written if n != sid
            ]  # a self-need is reported on its own
        else:
            edges[sid] = [(previous, None)] if previous else []
        previous = sid
    found: list[Diagnostic] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    reported: set[frozenset[str]] = set()
    for start in edges:
        if state.get(start):
            continue
        path: list[str] = [start]
        iters = [iter(edges[start])]
        state[start] = 1
        while iters:
            try:
                target, _ = next(iters[-1])
            except StopIteration:
                state[path.pop()] = 2
                iters.pop()
                continue
            if target not in edges:
                continue
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    spot = _written_edge(cycle, edges)
                    found.append(doc.error(spot, "needs cycle: " + " -> ".join(cycle)))
            elif not state.get(target):
                state[target] = 1
                path.append(target)
                iters.append(iter(edges[target]))
    return found


def _written_edge(cycle: list[str], edges: dict[str, list[tuple[str, Path | None]]]) -> Path:
    """The first written ``needs`` entry along ``cycle``. Every cycle has one: a step without
    ``needs`` only needs the step before it, and steps before steps never close a loop."""
    return next(
        loc
        for here, there in itertools.pairwise(cycle)
        for target, loc in edges[here]
        if target == there and loc is not None
    )
