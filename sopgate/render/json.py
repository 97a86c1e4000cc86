"""The ``--format json`` object of DESIGN.md, the shape tools rely on."""

from __future__ import annotations

import json
from typing import Any

from sopgate import __version__
from sopgate.evaluate import Evaluation


def json_data(evaluation: Evaluation) -> dict[str, Any]:
    """``{"sopgate", "decision", "step", "commit", "steps", "next"}``, in that order;
    ``steps`` in plan order with region instances as their own entries. ``"emergency": true``
    is added at the end when the asked-about step's gate opened only because of an emergency
    override (DESIGN.md, "Emergency")."""
    data: dict[str, Any] = {
        "sopgate": __version__,
        "decision": evaluation.decision,
        "step": evaluation.target,
        "commit": evaluation.facts.commit,
        "steps": [
            {
                "id": result.key,
                "name": result.name,
                "owner": result.owner,
                "state": result.state,
                "reasons": list(result.reasons),
                "line": result.line,
            }
            for result in evaluation.steps
        ],
        "next": list(evaluation.next),
    }
    if evaluation.emergency:
        data["emergency"] = True
    return data


def render_json(evaluation: Evaluation) -> str:
    """:func:`json_data` as indented JSON with a trailing newline."""
    return json.dumps(json_data(evaluation), indent=2) + "\n"
