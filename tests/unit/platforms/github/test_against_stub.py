"""Gather and publish through real HTTP against the local stub server (127.0.0.1 only):
covers the writes on a non-default API URL, as on GitHub Enterprise Server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, HEAD, load  # type: ignore[import-not-found]

from sopgate.evaluate import evaluate
from sopgate.platforms.github import RetryPolicy, from_env
from sopgate.sop.load import parse_sop

sys.path.insert(0, str(Path(__file__).parents[3] / "stubs"))
from github_stub import GitHubState, GitHubStub  # type: ignore[import-not-found]


def test_gather_and_publish_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sop = (FIXTURES / "sopgate.yml").read_text()
    (tmp_path / ".sopgate.yml").write_text(sop)
    monkeypatch.chdir(tmp_path)
    state = GitHubState(
        files={".sopgate.yml": sop, "docs/model-card.md": "card"},
        teams={"acme/sre": ["alice", "bob"]},
        reviews=load("reviews-page1.json"),
        comments=load("comments.json")[:2],
        check_runs=load("check-runs.json")["check_runs"],
    )
    with GitHubStub(state) as stub:
        env = {
            "GITHUB_API_URL": f"{stub.url}/api/v3",
            "GITHUB_REPOSITORY": state.repository,
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(FIXTURES / "event-pull_request.json"),
            "GITHUB_SHA": HEAD,
            "GITHUB_TOKEN": "stub-token",
            "GITHUB_WORKSPACE": str(tmp_path),
        }
        for _ in range(2):
            adapter = from_env(env, retry=RetryPolicy(attempts=1))
            adapter.markdown = lambda e: "## sopgate\n"
            gathered = adapter.gather(sop_path=".sopgate.yml")
            assert gathered.facts.groups == {
                "acme/ds": None,
                "acme/ml-platform": None,
                "acme/sre": ("alice", "bob"),
            }
            loaded = parse_sop(gathered.sop_text or "", path=".sopgate.yml")
            lines = adapter.publish(evaluate(loaded, gathered.facts, "staging"), dry_run=False)
            assert not any("not set" in line or "not posted" in line for line in lines), lines
    sticky = [c for c in state.comments if c["body"].startswith("<!-- sopgate -->")]
    assert len(sticky) == 1  # created once, then edited in place
    assert [s["context"] for s in state.statuses] == ["sopgate/staging"] * 2
    assert all(r.authorized for r in state.requests)
    assert json.dumps(state.statuses[0]).count("stub-token") == 0
