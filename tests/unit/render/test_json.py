from __future__ import annotations

import json

import sopgate
from sopgate.render.json import json_data, render_json

from .builders import COMMIT, evaluation


def test_check_shape_and_key_order() -> None:
    ev = evaluation({"production[eu-west]": "ready"}, target="production[eu-west]")
    text = render_json(ev)
    assert text.endswith("}\n")
    assert text.startswith('{\n  "sopgate": ')
    data = json.loads(text)
    assert data == json_data(ev)
    assert list(data) == ["sopgate", "decision", "step", "commit", "steps", "next"]
    assert data["sopgate"] == sopgate.__version__
    assert data["decision"] == "open"
    assert data["step"] == "production[eu-west]"
    assert data["commit"] == COMMIT
    assert [step["id"] for step in data["steps"]] == [node.key for node in ev.plan.nodes]
    assert data["steps"][7] == {
        "id": "production[eu-west]",
        "name": "Production rollout",
        "owner": "sre",
        "state": "ready",
        "reasons": ["gate open; run the job deploy-production (eu-west)"],
        "line": 82,
    }
    keys = ["id", "name", "owner", "state", "reasons", "line"]
    assert all(list(step) == keys for step in data["steps"])
    assert data["next"] == [
        "production[eu-west]: gate open; run the job deploy-production (eu-west)"
    ]


def test_status_has_null_decision_and_step() -> None:
    data = json.loads(render_json(evaluation({"go-no-go": "waiting"})))
    assert data["decision"] is None
    assert data["step"] is None
    assert data["next"] == ["go-no-go: needs 1 approval from security (sec-bob, sec-carol); has 0"]


def test_closed_decision() -> None:
    ev = evaluation({"build": "failed"}, target="build")
    assert json_data(ev)["decision"] == "closed"
