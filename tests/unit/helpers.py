"""Builders for evaluator tests: a SOP from YAML text and facts from short dicts."""

from __future__ import annotations

import textwrap
from datetime import date
from typing import Any

from sopgate.evaluate import Evaluation, evaluate
from sopgate.facts import Facts
from sopgate.sop.load import LoadedSop, parse_sop

SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
OLD = "1111111111111111111111111111111111111111"
TODAY = date(2026, 11, 26)


def sop(text: str) -> LoadedSop:
    return parse_sop(textwrap.dedent(text), path=".sopgate.yml", today=TODAY)


def facts(**fields: Any) -> Facts:
    data: dict[str, Any] = {
        "facts": 1,
        "platform": "local",
        "commit": SHA,
        "observed_at": "2026-11-26T10:00:00Z",
    }
    data.update(fields)
    return Facts.model_validate(data)


def review(
    user: str,
    state: str = "approved",
    sha: str | None = SHA,
    at: str | None = "2026-11-26T09:00:00Z",
) -> dict[str, Any]:
    return {"user": user, "source": "review", "state": state, "sha": sha, "at": at}


def signoff(
    user: str, step: str, at: str | None, state: str = "approved", **extra: Any
) -> dict[str, Any]:
    return {"user": user, "source": "signoff", "step": step, "state": state, "at": at, **extra}


def check(
    name: str,
    state: str = "success",
    app: str | None = "ci",
    at: str | None = "2026-11-26T08:00:00Z",
) -> dict[str, Any]:
    return {"name": name, "app": app, "state": state, "at": at}


def run(loaded: LoadedSop, snapshot: Facts, step: str | None = None) -> Evaluation:
    return evaluate(loaded, snapshot, step)
