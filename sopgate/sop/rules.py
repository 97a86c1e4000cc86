"""Cross-reference rules of the SOP, checked on the raw document so that every error is
reported at once, even when pydantic also finds type errors elsewhere in the file."""

from __future__ import annotations

import itertools
import zoneinfo
from typing import Any

from sopgate.errors import Diagnostic
from sopgate.yamlsrc import Document, Path


def check_references(doc: Document) -> list[Diagnostic]:
    data: dict[str, Any] = doc.data
    found: list[Diagnostic] = []

    def fail(loc: Path, message: str, *, at_key: bool = False) -> None:
        found.append(doc.error(loc, message, at_key=at_key))

    roles = data.get("roles")
    role_names = [k for k in roles if isinstance(k, str)] if isinstance(roles, dict) else []
    scope_data = data.get("scope")
    scope: dict[str, Any] = scope_data if isinstance(scope_data, dict) else {}
    environments = _strings(scope.get("environments"))
    regions = _strings(scope.get("regions"))
    for key, values in (("environments", environments), ("regions", regions)):
        seen: set[str] = set()
        for i, value in values:
            if value in seen:
                fail(("scope", key, i), f"duplicate {key[:-1]} '{value}' in scope.{key}")
            seen.add(value)

    def known_role(loc: Path, name: Any, what: str) -> None:
        if isinstance(name, str) and role_names and name not in role_names:
            fail(loc, f"unknown role '{name}' in {what}; roles: {', '.join(role_names)}")

    for i, name in _strings(data.get("owners")):
        known_role(("owners", i), name, "owners")

    steps = [(i, s) for i, s in enumerate(_list(data.get("steps"))) if isinstance(s, dict)]
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
        for j, rule in enumerate(_list(step.get("approvals"))):
            if isinstance(rule, dict):
                known_role(
                    (*at, "approvals", j, "role"), rule.get("role"), f"approvals of step '{sid}'"
                )
        for key in ("needs", "separate_from"):
            for j, name in _strings(step.get(key)):
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
            for key in ("jobs", "evidence"):
                for j, text in _strings(step.get(key)):
                    if "{region}" in text:
                        fail(
                            (*at, key, j),
                            "'{region}' is only expanded in steps with for_each: region",
                        )
        window = step.get("window")
        if isinstance(window, dict):
            _check_timezone(window, (*at, "window"), fail)
            if window.get("start", "00:00") == window.get("end"):
                fail((*at, "window", "end"), "window start and end are equal: it would never open")
    for i, freeze in enumerate(_list(data.get("freezes"))):
        if isinstance(freeze, dict):
            _check_timezone(freeze, ("freezes", i), fail)
            start, end = freeze.get("from"), freeze.get("to")
            if start is not None and end is not None and type(start) is type(end) and start > end:
                fail(("freezes", i, "to"), f"freeze ends ({end}) before it starts ({start})")
    found.extend(_cycles(doc, steps))
    return found


def _check_timezone(table: dict[str, Any], at: Path, fail: Any) -> None:
    name = table.get("timezone")
    if not isinstance(name, str):
        return
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        fail(
            (*at, "timezone"),
            f"unknown time zone '{name}'; use an IANA name such as Europe/Berlin or UTC",
        )


def _cycles(doc: Document, steps: list[tuple[int, dict[str, Any]]]) -> list[Diagnostic]:
    """Find needs cycles (implicit needs included) and name each one once."""
    index: dict[str, int] = {}
    edges: dict[str, list[tuple[str, Path | None]]] = {}
    previous: str | None = None
    for i, step in steps:
        sid = step.get("id")
        if not isinstance(sid, str) or sid in index:
            continue
        index[sid] = i
        if "needs" in step:
            edges[sid] = [
                (n, ("steps", i, "needs", j)) for j, n in _strings(step["needs"]) if n != sid
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
                target, loc = next(iters[-1])
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
                    spot = _explicit_edge(cycle, edges) or loc or ("steps", index[target])
                    found.append(doc.error(spot, "needs cycle: " + " -> ".join(cycle)))
            elif not state.get(target):
                state[target] = 1
                path.append(target)
                iters.append(iter(edges[target]))
    return found


def _explicit_edge(
    cycle: list[str], edges: dict[str, list[tuple[str, Path | None]]]
) -> Path | None:
    for here, there in itertools.pairwise(cycle):
        for target, loc in edges[here]:
            if target == there and loc is not None:
                return loc
    return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[tuple[int, str]]:
    return [(i, v) for i, v in enumerate(_list(value)) if isinstance(v, str)]
