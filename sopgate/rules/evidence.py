"""Evidence files and their content requirements (DESIGN.md, "Evidence with content").

One entry point, :func:`missing_evidence`. A path or glob must match a file at the commit.
With ``require``, each matched file's parsed document (facts ``documents``) must satisfy
every ``QUERY: "OP VALUE"``: the query is JMESPath, VALUE is read as a YAML scalar, and values
of different types never compare (the requirement fails). Anything unknown fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from sopgate.gates import NameIndex
from sopgate.sop.model import EvidenceRule

_REQUIREMENT = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*(.*?)\s*\Z", re.DOTALL)
_ORDERED = {">=", ">", "<=", "<"}
_ABSENT = object()


@dataclass(frozen=True)
class Requirement:
    """One parsed ``"OP VALUE"``; ``text`` is how the SOP wrote it."""

    op: str
    value: Any
    text: str


@lru_cache(maxsize=1024)
def parse_requirement(text: str) -> Requirement | None:
    """``">= 0.82"`` -> Requirement(">=", 0.82); None when it is not one."""
    found = _REQUIREMENT.match(text)
    if not found:
        return None
    try:
        value = yaml.safe_load(found.group(2)) if found.group(2) else None
    except yaml.YAMLError:
        return None
    if not isinstance(value, bool | int | float | str):
        return None
    return Requirement(found.group(1), value, f"{found.group(1)} {found.group(2)}")


@lru_cache(maxsize=1024)
def _compiled(query: str) -> Any:
    import jmespath  # here: only SOPs with require queries pay for it at start

    return jmespath.compile(query)


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _holds(actual: Any, requirement: Requirement) -> bool:
    kind = _kind(actual)
    if kind is None or kind != _kind(requirement.value):
        return False
    if requirement.op in _ORDERED and kind == "boolean":
        return False
    expected = requirement.value
    result: bool = {
        ">=": lambda: actual >= expected,
        ">": lambda: actual > expected,
        "<=": lambda: actual <= expected,
        "<": lambda: actual < expected,
        "==": lambda: actual == expected,
        "!=": lambda: actual != expected,
    }[requirement.op]()
    return result


def _shown(value: Any, requirement: Requirement) -> str:
    kind = _kind(value)
    import json  # here: only a failed requirement is shown

    text = json.dumps(value)
    if kind == _kind(requirement.value):
        return text
    return f"{text} (a {kind or 'list or object'}, not a {_kind(requirement.value)})"


def check_document(path: str, document: Any, require: Mapping[str, str]) -> list[str]:
    """Reasons why ``document`` (read from ``path``) fails ``require``; empty when it holds."""
    from jmespath.exceptions import JMESPathError

    found: list[str] = []
    for query, text in require.items():
        requirement = parse_requirement(text)
        if requirement is None:
            found.append(f"{path}: requirement {query}: {text!r} is not 'OP VALUE'")
            continue
        try:
            actual = _compiled(query).search(document)
        except JMESPathError as exc:
            found.append(f"{path}: {query} cannot be evaluated ({exc}); needs {requirement.text}")
            continue
        if actual is None:
            found.append(f"{path}: {query} is missing; needs {requirement.text}")
        elif not _holds(actual, requirement):
            found.append(
                f"{path}: {query} is {_shown(actual, requirement)}; needs {requirement.text}"
            )
    return found


def missing_evidence(
    rules: tuple[EvidenceRule, ...],
    expand: Callable[[str], str],
    files: NameIndex | None,
    documents: Mapping[str, Any],
    notes: tuple[str, ...],
    owner: str,
) -> list[str]:
    """Reasons the evidence of one node is not satisfied; empty when it is.

    ``expand`` substitutes ``{region}``; ``files`` is None when the platform could not list
    the files at the commit; ``notes`` are the facts' notes, quoted for unreadable documents.
    """
    if not rules:
        return []
    if files is None:
        return ["which evidence files exist at the commit is unknown"]
    found: list[str] = []
    for rule in rules:
        path = expand(rule.path)
        matched = files.matching(path, paths=True)
        if not matched:
            found.append(f"needs evidence {path} at the commit (owner {owner})")
            continue
        if not rule.require:
            continue
        for name in matched:
            document = documents.get(name, _ABSENT)
            if document is _ABSENT:
                found.append(f"{name}: its content is unknown (not read into the facts)")
            elif document is None:
                told = [note for note in notes if name in note]
                found.append(
                    f"{name}: its content could not be read"
                    + (f" ({'; '.join(told)})" if told else " (unreadable, too large or invalid)")
                )
            else:
                found.extend(check_document(name, document, rule.require))
    return found
