"""The JSON fixtures have the shape GitHub documents, checked against the official OpenAPI
description from the npm package ``@octokit/openapi`` (installed by
``tests.tools.node_tools``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import load  # type: ignore[import-not-found]

from tests.tools import node_tools

SPEC = Path("@octokit") / "openapi" / "generated" / "api.github.com.json"

ANSWERS = [  # (fixture, path, method, status)
    ("reviews-page1.json", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "get", "200"),
    ("reviews-page2.json", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "get", "200"),
    ("comments.json", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "get", "200"),
    ("check-runs.json", "/repos/{owner}/{repo}/commits/{ref}/check-runs", "get", "200"),
    ("statuses.json", "/repos/{owner}/{repo}/commits/{ref}/statuses", "get", "200"),
    ("tree.json", "/repos/{owner}/{repo}/git/trees/{tree_sha}", "get", "200"),
    ("contents-base.json", "/repos/{owner}/{repo}/contents/{path}", "get", "200"),
    ("contents-head.json", "/repos/{owner}/{repo}/contents/{path}", "get", "200"),
    ("team-sre.json", "/orgs/{org}/teams/{team_slug}/members", "get", "200"),
    ("team-ml-platform.json", "/orgs/{org}/teams/{team_slug}/members", "get", "200"),
    ("repo.json", "/repos/{owner}/{repo}", "get", "200"),
    ("branch-protected.json", "/repos/{owner}/{repo}/branches/{branch}", "get", "200"),
    ("pull-commits.json", "/repos/{owner}/{repo}/pulls/{pull_number}/commits", "get", "200"),
    ("check-suites.json", "/repos/{owner}/{repo}/commits/{ref}/check-suites", "get", "200"),
    ("timeline.json", "/repos/{owner}/{repo}/issues/{issue_number}/timeline", "get", "200"),
    ("run-approvals.json", "/repos/{owner}/{repo}/actions/runs/{run_id}/approvals", "get", "200"),
    ("check-run.json", "/repos/{owner}/{repo}/check-runs/{check_run_id}", "get", "200"),
    ("status-created.json", "/repos/{owner}/{repo}/statuses/{sha}", "post", "201"),
    ("comment-created.json", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "post", "201"),
]


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable`` spelled as JSON Schema (2020-12) types."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items()}
    if out.pop("nullable", False) is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "$ref" in out or "allOf" in out or "oneOf" in out or "anyOf" in out:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


@cache
def _spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((node_tools() / SPEC).read_text())
    return data


@cache
def _components() -> Any:
    return _json_schema(_spec()["components"])


@pytest.mark.parametrize(
    ("fixture", "path", "method", "status"), ANSWERS, ids=[a[0] for a in ANSWERS]
)
def test_fixture_matches_openapi(fixture: str, path: str, method: str, status: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    answer = _spec()["paths"][path][method]["responses"][status]
    schema = _json_schema(answer["content"]["application/json"]["schema"])
    root = {"components": _components(), **schema}
    validator = jsonschema.Draft202012Validator(root)
    errors = sorted(validator.iter_errors(load(fixture)), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:5])
