"""Validation of the format 1 additions (DESIGN.md, "Additions to format 1"): region roles
and time zones, rollout waves, instance references in ``needs``, evidence requirements,
scoped freezes and the emergency section. Runs on the raw document, like ``rules``."""

from __future__ import annotations

from typing import Any

from sopgate.errors import Diagnostic
from sopgate.sop.plan import split_instance
from sopgate.sop.raw import Fail, list_of, strings
from sopgate.yamlsrc import Document, Path

REGION = "{region}"


def check_additions(
    doc: Document,
    steps: list[tuple[int, dict[str, Any]]],
    role_names: list[str],
    regions: list[tuple[int, str]],
) -> list[Diagnostic]:
    """Every error of the additions in ``doc``; ``steps`` are the (index, mapping) pairs."""
    data: dict[str, Any] = doc.data
    found: list[Diagnostic] = []

    def fail(loc: Path, message: str, *, at_key: bool = False) -> None:
        found.append(doc.error(loc, message, at_key=at_key))

    scope_data = data.get("scope")
    scope: dict[str, Any] = scope_data if isinstance(scope_data, dict) else {}
    entries = list_of(scope.get("regions"))
    ids = [rid for _, rid in regions]
    zones = {rid: _zone(entries[k]) for k, rid in regions}
    environments = [e for _, e in strings(scope.get("environments"))]
    roles = ", ".join(role_names)
    known = set(role_names)
    step_ids = {s["id"]: s for _, s in steps if isinstance(s.get("id"), str)}
    fanned = {sid for sid, s in step_ids.items() if s.get("for_each") == "region"}
    for i, step in steps:
        at: Path = ("steps", i)
        sid = step.get("id", f"#{i + 1}")
        per_region = step.get("for_each") == "region"
        if per_region:
            for j, rule in enumerate(list_of(step.get("approvals"))):
                role = rule.get("role") if isinstance(rule, dict) else None
                if not (isinstance(role, str) and REGION in role and role_names):
                    continue
                for rid in ids:
                    expanded = role.replace(REGION, rid)
                    if expanded not in known:
                        fail(
                            (*at, "approvals", j, "role"),
                            f"approvals of step '{sid}' expand to role '{expanded}' for "
                            f"instance {sid}[{rid}], which is not defined; roles: {roles}",
                        )
            _waves(step.get("rollout"), at, sid, ids, fail)
        _window_zone(step.get("window"), at, sid, per_region, zones, fail)
        for j, written in strings(step.get("needs")):
            base, region = split_instance(written)
            if region is None or base not in step_ids:
                continue  # plain needs and unknown steps: rules.check_references
            if base not in fanned:
                fail(
                    (*at, "needs", j),
                    f"step '{base}' runs once, not per region: write '{base}' instead of "
                    f"'{written}' in needs of step '{sid}'",
                )
            elif region not in ids:
                fail(
                    (*at, "needs", j),
                    f"unknown region '{region}' in '{written}' (needs of step '{sid}'); "
                    f"regions: {', '.join(ids)}",
                )
        for j, entry in enumerate(list_of(step.get("evidence"))):
            require = entry.get("require") if isinstance(entry, dict) else None
            for query in require if isinstance(require, dict) else ():
                problem = _query_problem(query)
                if problem:
                    fail((*at, "evidence", j, "require", query), problem, at_key=True)
    for i, freeze in enumerate(list_of(data.get("freezes"))):
        if not isinstance(freeze, dict):
            continue
        for key, defined in (("environments", environments), ("regions", ids)):
            for j, name in strings(freeze.get(key)):
                if name not in defined:
                    listing = ", ".join(defined) or f"none (add scope.{key})"
                    fail(
                        ("freezes", i, key, j),
                        f"unknown {key[:-1]} '{name}' in freezes[{i}].{key}; {key}: {listing}",
                    )
    emergency = data.get("emergency")
    role = emergency.get("role") if isinstance(emergency, dict) else None
    if isinstance(role, str) and known and role not in known:
        fail(("emergency", "role"), f"unknown role '{role}' in emergency; roles: {roles}")
    return found


def _zone(entry: Any) -> str | None:
    zone = entry.get("timezone") if isinstance(entry, dict) else None
    return zone if isinstance(zone, str) else None


def _waves(rollout: Any, at: Path, sid: str, ids: list[str], fail: Fail) -> None:
    """A list of waves names every region of the scope exactly once."""
    if not (isinstance(rollout, list) and all(isinstance(w, list) for w in rollout)):
        return  # a keyword, or a shape error that the model reports
    seen: dict[str, int] = {}
    for w, wave in enumerate(rollout):
        if not wave:
            fail((*at, "rollout", w), f"wave {w + 1} of step '{sid}' is empty; remove it")
        for k, rid in strings(wave):
            loc = (*at, "rollout", w, k)
            if rid not in ids:
                fail(
                    loc,
                    f"unknown region '{rid}' in the rollout of step '{sid}'; "
                    f"regions: {', '.join(ids)}",
                )
            elif rid in seen:
                fail(
                    loc,
                    f"region '{rid}' is already in wave {seen[rid]} of the rollout of step "
                    f"'{sid}'; put each region in exactly one wave",
                )
            else:
                seen[rid] = w + 1
    missing = [rid for rid in ids if rid not in seen]
    if missing:
        noun = "regions" if len(missing) > 1 else "region"
        fail(
            (*at, "rollout"),
            f"the rollout of step '{sid}' leaves out {noun} {', '.join(missing)}; put every "
            "region of scope.regions in exactly one wave",
        )


def _window_zone(
    window: Any, at: Path, sid: str, per_region: bool, zones: dict[str, str | None], fail: Fail
) -> None:
    """``timezone: region`` needs a fanned-out step and a time zone on every region."""
    if not (isinstance(window, dict) and window.get("timezone") == "region"):
        return
    loc = (*at, "window", "timezone")
    if not per_region:
        fail(
            loc,
            f"step '{sid}' has timezone: region but no for_each: region; name an IANA time "
            "zone such as Europe/Berlin or UTC",
        )
        return
    for rid, zone in zones.items():
        if zone is None:
            fail(
                loc,
                f"the window of step '{sid}' uses timezone: region, but region '{rid}' has no "
                f"timezone; write it as {{id: {rid}, timezone: AREA/CITY}} in scope.regions",
            )


def _query_problem(query: Any) -> str | None:
    """Why ``query`` is no JMESPath query (None when it compiles, or is not a non-empty str)."""
    if not isinstance(query, str) or not query:
        return None  # the model reports the type
    import jmespath  # here: only SOPs with require queries pay for it at start
    from jmespath.exceptions import JMESPathError

    try:
        jmespath.compile(query)
    except JMESPathError as exc:
        detail = str(exc).split("\n", 1)[0].removesuffix(", for expression:").rstrip(": ")
        return (
            f"'{query}' is not a valid JMESPath query ({detail}); write a query such as "
            "metrics.auc or results[0].score"
        )
    return None
