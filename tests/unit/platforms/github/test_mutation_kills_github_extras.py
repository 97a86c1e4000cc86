"""The wave's additional GitHub facts (the change's commits, deployment approvals, evidence
documents) for the cases the mutation run found untested (docs/mutation.md): each asserts
the fact read, the None written for an unknown, and the note that names why."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import responses
from conftest import API, HEAD, REPO, load  # type: ignore[import-not-found]

from sopgate.errors import PlatformError
from sopgate.platforms.github.api import Api, RetryPolicy
from sopgate.platforms.github.extras import MAX_DOCUMENT_BYTES, Extras
from sopgate.sop.load import parse_sop

SOP = """\
sopgate: 1
name: documents
roles: {sre: {users: [alice]}}
steps:
  - id: release
    owner: sre
    evidence: [{path: "reports/eval.json", require: {ok: "== true"}},
               {path: "reports/eval.yaml", require: {ok: "== true"}}]
"""


def _extras() -> Extras:
    api = Api(API, "t", retry=RetryPolicy(attempts=1, sleep=lambda _: None))
    return Extras(api, "/repos/acme/fraud-model", [])


def _answer(path: str, raw: bytes, **changes: Any) -> dict[str, Any]:
    answer: dict[str, Any] = dict(
        load("contents-base.json"),
        name=path.rsplit("/", 1)[-1],
        path=path,
        content=base64.encodebytes(raw).decode(),
        size=len(raw),
    )
    answer.update(changes)
    return answer


def _documents(
    mocked: responses.RequestsMock,
    answers: dict[str, tuple[int, Any]],
    sizes: dict[str, int] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    for path, (status, body) in answers.items():
        mocked.get(f"{REPO}/contents/{path}?ref={HEAD}", status=status, json=body)
    extras = _extras()
    sop = parse_sop(SOP, path="sop").sop
    files = ("reports/eval.json", "reports/eval.yaml")
    found = extras.documents(sop, HEAD, files, sizes or {})
    return found, extras.notes


# -- evidence documents ------------------------------------------------------------------------


def test_a_document_of_exactly_1_mib_is_read(mocked: responses.RequestsMock) -> None:
    body = b" " * (MAX_DOCUMENT_BYTES - 2) + b"{}"
    found, notes = _documents(
        mocked,
        {
            "reports/eval.json": (200, _answer("reports/eval.json", body)),
            "reports/eval.yaml": (200, _answer("reports/eval.yaml", b"ok: true\n")),
        },
        sizes={"reports/eval.json": MAX_DOCUMENT_BYTES},
    )
    assert found == {"reports/eval.json": {}, "reports/eval.yaml": {"ok": True}}
    assert notes == []


def test_a_document_github_does_not_find_is_unknown(mocked: responses.RequestsMock) -> None:
    found, notes = _documents(
        mocked,
        {
            "reports/eval.json": (404, {"message": "Not Found"}),
            "reports/eval.yaml": (200, _answer("reports/eval.yaml", b"ok: true\n")),
        },
    )
    assert found == {"reports/eval.json": None, "reports/eval.yaml": {"ok": True}}
    assert notes == [
        "evidence document reports/eval.json is not at 4b825dc642cb (GitHub answered 404): "
        "its content is unknown"
    ]


def test_a_document_github_answers_with_an_error_fails_closed(
    mocked: responses.RequestsMock,
) -> None:
    """Only 404 means "not there": any other refusal is no answer (exit 3), never absent."""
    with pytest.raises(PlatformError, match="HTTP 405"):
        _documents(mocked, {"reports/eval.json": (405, {"message": "Method Not Allowed"})})


@pytest.mark.parametrize(
    "changes",
    [{"type": "symlink"}, {"encoding": "none", "content": ""}, {"content": "!!not base64"}],
)
def test_a_document_without_content_is_unknown(
    changes: dict[str, Any], mocked: responses.RequestsMock
) -> None:
    answer = _answer("reports/eval.json", b'{"ok": true}', **changes)
    found, notes = _documents(
        mocked,
        {
            "reports/eval.json": (200, answer),
            "reports/eval.yaml": (200, _answer("reports/eval.yaml", b"ok: true\n")),
        },
    )
    assert found == {"reports/eval.json": None, "reports/eval.yaml": {"ok": True}}
    assert notes == [
        "evidence document reports/eval.json is not a file GitHub returns content for: its "
        "content is unknown"
    ]


def test_a_document_that_is_not_utf8_is_unknown(mocked: responses.RequestsMock) -> None:
    found, notes = _documents(
        mocked,
        {
            "reports/eval.json": (200, _answer("reports/eval.json", b'{"ok": "\xff"}')),
            "reports/eval.yaml": (200, _answer("reports/eval.yaml", b"ok: true\n")),
        },
    )
    assert found == {"reports/eval.json": None, "reports/eval.yaml": {"ok": True}}
    assert notes == [
        "evidence document reports/eval.json is not UTF-8 text: its content is unknown"
    ]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        # a control character: the reader's error carries no position
        (b"ok: \x07\n", "invalid YAML"),
        (b"ok: [1\n", "invalid YAML at line 2 column 1"),
        # a date as a key: JSON has no such key
        (b"2026-11-25: ok\n", "the YAML holds values JSON cannot carry"),
    ],
)
def test_a_yaml_document_that_cannot_be_read_is_unknown(
    body: bytes, why: str, mocked: responses.RequestsMock
) -> None:
    found, notes = _documents(
        mocked,
        {
            "reports/eval.json": (200, _answer("reports/eval.json", b'{"ok": true}')),
            "reports/eval.yaml": (200, _answer("reports/eval.yaml", body)),
        },
    )
    assert found == {"reports/eval.json": {"ok": True}, "reports/eval.yaml": None}
    assert notes == [
        f"evidence document reports/eval.yaml cannot be parsed: {why}: its content is unknown"
    ]


# -- the change's commits ------------------------------------------------------------------------


def _commit(sha: str, author: str | None, committer: str | None) -> dict[str, Any]:
    return {
        "sha": sha,
        "author": {"login": author} if author else None,
        "committer": {"login": committer} if committer else None,
        "commit": {"committer": {"date": "2026-11-25T07:00:00Z"}},
    }


def test_exactly_250_commits_are_listed(mocked: responses.RequestsMock) -> None:
    """GitHub lists up to 250 commits: a pull request of 250 still has known contributors."""
    mocked.get(
        f"{REPO}/pulls/42/commits?per_page=100",
        json=[_commit("1" * 40, "dave", "dave"), _commit(HEAD, "erin", "erin")],
    )
    extras = _extras()
    commits = extras.commits({"commits": 250}, 42)
    assert commits is not None
    assert [(c.sha, c.author) for c in commits] == [("1" * 40, "dave"), (HEAD, "erin")]
    assert extras.notes == []


def test_a_commit_without_a_full_sha_has_none(mocked: responses.RequestsMock) -> None:
    mocked.get(
        f"{REPO}/pulls/42/commits?per_page=100",
        json=[_commit("abc123", "dave", "dave"), _commit(HEAD, "erin", "erin")],
    )
    commits = _extras().commits({"commits": 2}, 42)
    assert commits is not None
    assert [(c.sha, c.author) for c in commits] == [(None, "dave"), (HEAD, "erin")]


def test_every_unmapped_commit_is_named(mocked: responses.RequestsMock) -> None:
    mocked.get(
        f"{REPO}/pulls/42/commits?per_page=100",
        json=[_commit("1" * 40, None, "dave"), _commit("2" * 40, "erin", None)],
    )
    extras = _extras()
    extras.commits({"commits": 2}, 42)
    assert extras.notes == [
        "commits whose author or committer GitHub maps to no account exclude nobody: "
        "111111111111, 222222222222"
    ]


# -- deployment approvals ----------------------------------------------------------------------


def _entry(state: str, login: str | None, comment: str = "", envs: Any = None) -> dict[str, Any]:
    environments = [{"name": "production"}] if envs is None else envs
    return {
        "state": state,
        "comment": comment,
        "environments": environments,
        "user": {"login": login} if login else None,
    }


def test_deployment_approvals_skip_malformed_entries_and_read_the_rest(
    mocked: responses.RequestsMock,
) -> None:
    mocked.get(
        f"{REPO}/actions/runs/7/approvals",
        json=[
            _entry("approved", None),  # no reviewer: not an approval
            _entry("approved", "amy", envs={"name": "production"}),  # not a list
            _entry("approved", "bea", envs=None) | {"environments": None},
            _entry("approved", "sam", comment="looks good"),
            _entry("rejected", "rob", comment="  error budget spent "),
        ],
    )
    found = _extras().deployment_approvals("7")
    assert [(a.user, a.environment, a.state, a.at, a.reason) for a in found] == [
        ("sam", "production", "approved", None, None),  # an approval carries no reason
        ("rob", "production", "rejected", None, "error budget spent"),
    ]


def test_the_run_id_is_one_path_segment(mocked: responses.RequestsMock) -> None:
    lookup = mocked.get(f"{REPO}/actions/runs/7%2F..%2F8/approvals", json=[])
    assert _extras().deployment_approvals("7/../8") == []
    assert lookup.call_count == 1


def test_deployment_approvals_that_are_not_a_list_fail_closed(
    mocked: responses.RequestsMock,
) -> None:
    mocked.get(f"{REPO}/actions/runs/7/approvals", json={"approvals": []})
    with pytest.raises(PlatformError) as caught:
        _extras().deployment_approvals("7")
    assert str(caught.value) == (
        "GitHub answered the run's deployment approvals with unexpected JSON"
    )


# -- which documents are read ------------------------------------------------------------------


def _wanted(
    mocked: responses.RequestsMock, path: str, files: tuple[str, ...] | None
) -> tuple[dict[str, Any], list[str]]:
    sop_text = SOP.replace(
        'evidence: [{path: "reports/eval.json", require: {ok: "== true"}},\n'
        '               {path: "reports/eval.yaml", require: {ok: "== true"}}]',
        f'evidence: [{{path: "{path}", require: {{ok: "== true"}}}}]',
    )
    assert path in sop_text
    for name in files or (path,):
        body = f'{{"ok": true, "name": "{name}"}}'.encode()
        mocked.get(f"{REPO}/contents/{name}?ref={HEAD}", json=_answer(name, body))
    extras = _extras()
    found = extras.documents(parse_sop(sop_text, path="sop").sop, HEAD, files, {})
    return found, extras.notes


def test_a_question_mark_matches_one_character_of_one_segment(
    mocked: responses.RequestsMock,
) -> None:
    files = ("reports/v1.json", "reports/v22.json", "reports/v/.json")
    found, notes = _wanted(mocked, "reports/v?.json", files)
    assert found == {"reports/v1.json": {"ok": True, "name": "reports/v1.json"}}
    assert notes == []


def test_a_star_stays_inside_one_folder(mocked: responses.RequestsMock) -> None:
    files = ("reports/a.json", "reports/old/b.json")
    found, _ = _wanted(mocked, "reports/*.json", files)
    assert found == {"reports/a.json": {"ok": True, "name": "reports/a.json"}}


def test_a_named_document_is_read_when_the_tree_is_incomplete(
    mocked: responses.RequestsMock,
) -> None:
    found, notes = _wanted(mocked, "reports/eval.json", None)
    assert found == {"reports/eval.json": {"ok": True, "name": "reports/eval.json"}}
    assert notes == []


def test_a_pattern_is_not_matched_against_an_incomplete_tree(
    mocked: responses.RequestsMock,
) -> None:
    found, notes = _wanted(mocked, "reports/*.json", None)
    assert found == {}
    assert notes == [
        "evidence reports/*.json: which files match is unknown (the git tree is incomplete), "
        "so their content is not read"
    ]
