"""Which SOP is in force on GitHub, for the cases the mutation run found untested
(docs/mutation.md): a base named only by its sha, branch names with a slash, a deleted
branch, an empty repository's tree, and the exact errors (exit 3) and notes."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import pytest
import responses
from conftest import API, HEAD, REPO, branch, load, tip  # type: ignore[import-not-found]

from sopgate.errors import PlatformError
from sopgate.platforms.github.api import Api, RetryPolicy
from sopgate.platforms.github.sop_source import SopSource, SopTexts

SOP_URL = f"{REPO}/contents/.sopgate.yml"
BASE_SHA = "3" * 40
NOT_FOUND = {"message": "Not Found"}


def _source() -> SopSource:
    api = Api(API, "t", retry=RetryPolicy(attempts=1, sleep=lambda _: None))
    return SopSource(api, "/repos/acme/fraud-model", [])


def _contents(text: str) -> dict[str, Any]:
    answer: dict[str, Any] = load("contents-base.json")
    answer.update(content=base64.encodebytes(text.encode()).decode(), size=len(text))
    return answer


def _sop(mocked: responses.RequestsMock, ref: str, text: str | None) -> None:
    """Serve ``text`` at ``ref``: a commit, or a branch (read at its commit, ``tip(ref)``)."""
    if ref not in (HEAD, BASE_SHA):
        mocked.get(f"{REPO}/branches/{quote(ref, safe='')}", json=branch(ref))
        ref = tip(ref)
    if text is None:
        mocked.get(f"{SOP_URL}?ref={ref}", status=404, json=NOT_FOUND)
    else:
        mocked.get(f"{SOP_URL}?ref={ref}", json=_contents(text))


# -- pull request events -----------------------------------------------------------------------


def test_a_base_named_only_by_its_sha_decides(mocked: responses.RequestsMock) -> None:
    _sop(mocked, BASE_SHA, "base: 1\n")
    _sop(mocked, HEAD, "head: 1\n")
    pr = {"base": {"sha": BASE_SHA}, "head": {"sha": HEAD}}
    texts = _source().on_change(".sopgate.yml", pr, HEAD)
    assert texts == SopTexts("base: 1\n", proposed="head: 1\n")


def test_a_pull_request_without_base_fails_closed(mocked: responses.RequestsMock) -> None:
    with pytest.raises(PlatformError) as caught:
        _source().on_change(".sopgate.yml", {"base": {}, "head": {"sha": HEAD}}, HEAD)
    assert str(caught.value) == "the pull request names no base branch: no SOP can be read"
    assert len(mocked.calls) == 0


def test_a_base_branch_with_a_slash_is_one_path_segment_of_the_tree(
    mocked: responses.RequestsMock,
) -> None:
    """The branch is looked up as ``release%2F2`` (one segment); the tree that confirms the
    SOP is absent is the one of its commit."""
    _sop(mocked, "release/2", None)
    _sop(mocked, HEAD, "head: 1\n")
    tree = mocked.get(
        f"{REPO}/git/trees/{tip('release/2')}?recursive=1", json={"tree": [], "truncated": False}
    )
    source = _source()
    texts = source.on_change(".sopgate.yml", {"base": {"ref": "release/2"}}, HEAD)
    assert texts == SopTexts("head: 1\n", proposed="head: 1\n")
    assert tree.call_count == 1
    assert f"{REPO}/branches/release%2F2" in [c.request.url for c in mocked.calls]
    assert source.notes == [
        "release/2 has no .sopgate.yml: this change adds it, so its owners must approve it"
    ]


@pytest.mark.parametrize("status", [403, 404, 409])
def test_a_base_tree_github_refuses_cannot_confirm_the_sop_is_absent(
    status: int, mocked: responses.RequestsMock
) -> None:
    """409 is GitHub's answer for the tree of an empty repository: exit 3 with its reason."""
    _sop(mocked, "main", None)
    _sop(mocked, HEAD, "head: 1\n")
    mocked.get(f"{REPO}/git/trees/{tip('main')}?recursive=1", status=status, json=NOT_FOUND)
    with pytest.raises(PlatformError) as caught:
        _source().on_change(".sopgate.yml", {"base": {"ref": "main"}}, HEAD)
    assert str(caught.value) == (
        f"GitHub answered 404 for .sopgate.yml on main, and the tree of main cannot confirm "
        f"it is absent (HTTP {status}): refusing to decide without the SOP in force"
    )


@pytest.mark.parametrize("tree", [None, {}, "x"])
def test_a_base_tree_that_is_not_a_list_cannot_confirm_the_sop_is_absent(
    tree: object, mocked: responses.RequestsMock
) -> None:
    _sop(mocked, "main", None)
    _sop(mocked, HEAD, "head: 1\n")
    mocked.get(
        f"{REPO}/git/trees/{tip('main')}?recursive=1", json={"tree": tree, "truncated": False}
    )
    with pytest.raises(PlatformError) as caught:
        _source().on_change(".sopgate.yml", {"base": {"ref": "main"}}, HEAD)
    assert str(caught.value) == (
        "GitHub answered 404 for .sopgate.yml on main, and the tree of main cannot confirm "
        "it is absent (the tree is incomplete): refusing to decide without the SOP in force"
    )


def test_a_base_404_for_a_file_its_tree_has_names_the_refusal(
    mocked: responses.RequestsMock,
) -> None:
    _sop(mocked, "main", None)
    _sop(mocked, HEAD, "head: 1\n")
    mocked.get(
        f"{REPO}/git/trees/{tip('main')}?recursive=1",
        json={"tree": [{"path": ".sopgate.yml", "type": "blob"}], "truncated": False},
    )
    with pytest.raises(PlatformError) as caught:
        _source().on_change(".sopgate.yml", {"base": {"ref": "main"}}, HEAD)
    assert str(caught.value) == (
        "GitHub answered 404 for .sopgate.yml on main, but the tree of main has it: "
        "refusing to decide without the SOP in force"
    )


# -- other events ------------------------------------------------------------------------------


def _repo(mocked: responses.RequestsMock, default: str = "main") -> None:
    mocked.get(REPO, json=dict(load("repo.json"), default_branch=default))


def test_a_protected_branch_without_sop_names_its_kind(mocked: responses.RequestsMock) -> None:
    _repo(mocked)
    mocked.get(f"{REPO}/branches/release", json={"name": "release", "protected": True})
    _sop(mocked, HEAD, None)
    with pytest.raises(PlatformError) as caught:
        _source().elsewhere(".sopgate.yml", "refs/heads/release", HEAD, [])
    assert str(caught.value) == (
        "no SOP in force: .sopgate.yml does not exist at 4b825dc642cb on the protected "
        "branch release"
    )


def test_a_branch_with_a_slash_is_looked_up_as_one_segment(
    mocked: responses.RequestsMock,
) -> None:
    _repo(mocked)
    lookup = mocked.get(
        f"{REPO}/branches/release%2F2", json={"name": "release/2", "protected": True}
    )
    _sop(mocked, HEAD, "head: 1\n")
    source = _source()
    texts = source.elsewhere(".sopgate.yml", "refs/heads/release/2", HEAD, [])
    assert texts == SopTexts("head: 1\n")
    assert lookup.call_count == 1
    assert source.notes == []


def test_a_branch_github_does_not_know_is_not_protected(mocked: responses.RequestsMock) -> None:
    """A deleted branch (404) is neither default nor protected: the default branch decides."""
    _repo(mocked)
    mocked.get(f"{REPO}/branches/gone", status=404, json=NOT_FOUND)
    _sop(mocked, "main", "base: 1\n")
    _sop(mocked, HEAD, "base: 1\n")
    source = _source()
    texts = source.elsewhere(".sopgate.yml", "refs/heads/gone", HEAD, [])
    assert texts == SopTexts("base: 1\n")
    assert source.notes == [
        "the SOP in force is the one of the default branch main: refs/heads/gone is neither "
        "the default nor a protected branch, and no open pull request holds 4b825dc642cb"
    ]


def test_without_a_ref_the_note_says_this_ref(mocked: responses.RequestsMock) -> None:
    _repo(mocked)
    _sop(mocked, "main", "base: 1\n")
    _sop(mocked, HEAD, "base: 1\n")
    source = _source()
    source.elsewhere(".sopgate.yml", "", HEAD, [])
    assert source.notes == [
        "the SOP in force is the one of the default branch main: this ref is neither the "
        "default nor a protected branch, and no open pull request holds 4b825dc642cb"
    ]


def test_an_open_pull_request_without_a_base_leaves_the_default_branch_in_force(
    mocked: responses.RequestsMock,
) -> None:
    """A holder whose base GitHub does not name must not make an empty ref the base."""
    _repo(mocked)
    _sop(mocked, "main", "base: 1\n")
    _sop(mocked, HEAD, "head: 1\n")
    pulls: list[dict[str, Any]] = [{"number": 5, "state": "open", "head": {"ref": "x"}}]
    source = _source()
    texts = source.elsewhere(".sopgate.yml", "", HEAD, pulls)
    assert texts == SopTexts("base: 1\n", proposed="head: 1\n")
    assert source.notes[0].startswith("the SOP in force is the one of the default branch main")


def test_the_first_open_pull_request_holds_the_commit_off_its_branch(
    mocked: responses.RequestsMock,
) -> None:
    _repo(mocked)
    _sop(mocked, "release", "release: 1\n")
    _sop(mocked, HEAD, "head: 1\n")
    pulls: list[dict[str, Any]] = [
        {"number": 7, "state": "closed", "base": {"ref": "closed-base"}},
        {"number": 8, "state": "open", "head": {"ref": "a"}, "base": {"ref": "release"}},
        {"number": 9, "state": "open", "head": {"ref": "b"}, "base": {"ref": "other"}},
    ]
    source = _source()
    texts = source.elsewhere(".sopgate.yml", "", HEAD, pulls)
    assert texts == SopTexts("release: 1\n", proposed="head: 1\n")
    assert source.notes == [
        "the SOP in force is the one of release, the base of pull request #8 holding 4b825dc642cb"
    ]


def test_a_repository_answer_without_default_branch_fails_closed(
    mocked: responses.RequestsMock,
) -> None:
    mocked.get(REPO, json={"name": "fraud-model"})
    with pytest.raises(PlatformError) as caught:
        _source().elsewhere(".sopgate.yml", "refs/heads/main", HEAD, [])
    assert str(caught.value) == "GitHub's answer about the repository names no default branch"


@pytest.mark.parametrize(
    "answer",
    [
        [{"type": "file", "path": ".sopgate.yml/x"}],  # a directory: GitHub lists it
        {"type": "symlink", "target": "elsewhere.yml"},
        {"type": "submodule"},
    ],
)
def test_a_sop_that_is_not_a_file_fails_closed(
    answer: object, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{SOP_URL}?ref=main", json=answer)
    with pytest.raises(PlatformError) as caught:
        _source().read(".sopgate.yml", "main")
    assert str(caught.value) == "GitHub's contents of .sopgate.yml at main are not a file"


def test_a_sop_github_cannot_decode_names_the_encoding(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{SOP_URL}?ref=main", json=_contents("x") | {"encoding": "none", "content": ""})
    with pytest.raises(PlatformError) as caught:
        _source().read(".sopgate.yml", "main")
    assert (
        str(caught.value) == "cannot decode the contents of .sopgate.yml at main (encoding 'none')"
    )


def test_a_sop_that_is_not_utf8_fails_closed(mocked: responses.RequestsMock) -> None:
    body = base64.encodebytes(b"name: \xff\n").decode()
    mocked.get(f"{SOP_URL}?ref=main", json=_contents("x") | {"content": body})
    with pytest.raises(PlatformError) as caught:
        _source().read(".sopgate.yml", "main")
    assert str(caught.value) == (
        "cannot decode the contents of .sopgate.yml at main (encoding 'base64')"
    )


def test_a_base_named_only_by_its_sha_is_named_by_it_when_it_lacks_the_sop(
    mocked: responses.RequestsMock,
) -> None:
    _sop(mocked, BASE_SHA, None)
    _sop(mocked, HEAD, "head: 1\n")
    mocked.get(f"{REPO}/git/trees/{BASE_SHA}?recursive=1", json={"tree": [], "truncated": False})
    source = _source()
    pr = {"base": {"sha": BASE_SHA}, "head": {"sha": HEAD}}
    assert source.on_change(".sopgate.yml", pr, HEAD) == SopTexts("head: 1\n", proposed="head: 1\n")
    assert source.notes == [
        f"{BASE_SHA} has no .sopgate.yml: this change adds it, so its owners must approve it"
    ]


def test_a_branch_lookup_that_is_not_answered_200_names_no_tip(
    mocked: responses.RequestsMock,
) -> None:
    """Only a 200 answer of the branches API names the branch's commit: a 404 whose body
    carries a commit id (a proxy's, a hostile server's) is still 'no such branch'."""
    mocked.get(f"{REPO}/branches/main", status=404, json={"commit": {"sha": "a" * 40}})
    with pytest.raises(PlatformError) as caught:
        _source().on_change(".sopgate.yml", {"base": {"ref": "main"}}, HEAD)
    assert str(caught.value) == (
        "GitHub cannot resolve the branch main to a commit through its branches API "
        "(HTTP 404): no SOP in force can be read"
    )
