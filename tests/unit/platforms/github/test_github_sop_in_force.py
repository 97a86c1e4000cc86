"""The SOP in force is read through GitHub's API on every event, never from the checkout
(DESIGN.md, Trust): the base of a pull request, the deployed commit on the default or a
protected branch, else the base of the open pull request holding the commit, else the
default branch."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import responses
from conftest import (  # type: ignore[import-not-found]
    BASE_TIP,
    FIXTURES,
    HEAD,
    MERGE,
    REPO,
    add_pr_answers,
    load,
)

from sopgate import commands
from sopgate.errors import PlatformError
from sopgate.platforms.github import GitHubAdapter

Make = Callable[..., GitHubAdapter]
BASE_SOP = (FIXTURES / "sopgate.yml").read_text()
WEAK_SOP = BASE_SOP.replace("approvals: [{role: security, count: 1}]", "approvals: []")
SOP_URL = f"{REPO}/contents/.sopgate.yml"
NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}


def contents(text: str) -> dict[str, Any]:
    """A contents answer for ``.sopgate.yml`` holding ``text``, shaped as GitHub sends it."""
    answer: dict[str, Any] = load("contents-base.json")
    answer.update(content=base64.encodebytes(text.encode()).decode(), size=len(text))
    return answer


def weaken_checkout(checkout: Path) -> None:
    """The branch's own file, which must never decide."""
    (checkout / ".sopgate.yml").write_text(WEAK_SOP)


# -- pull request events -----------------------------------------------------------------------


def test_pull_request_base_decides_not_the_checkout(
    make_adapter: Make, mocked: responses.RequestsMock, checkout: Path
) -> None:
    weaken_checkout(checkout)
    add_pr_answers(mocked)
    gathered = make_adapter().gather(sop_path=".sopgate.yml")
    assert gathered.sop_text == BASE_SOP
    assert gathered.proposed_sop_text is not None and "sec-dan" in gathered.proposed_sop_text
    assert not gathered.sop_deleted


def test_deleting_the_sop_is_a_change_to_it(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    mocked.replace(responses.GET, f"{SOP_URL}?ref={HEAD}", status=404, json=NOT_FOUND)
    gathered = make_adapter().gather(sop_path=".sopgate.yml")
    assert (gathered.sop_text, gathered.proposed_sop_text) == (BASE_SOP, None)
    assert gathered.sop_deleted
    assert (
        "this change deletes or moves .sopgate.yml: a change to the SOP, so its owners must "
        "approve it" in gathered.facts.notes
    )


def test_a_deleted_sop_needs_its_owners_through_the_cli_source(
    make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_pr_answers(mocked)
    mocked.replace(responses.GET, f"{SOP_URL}?ref={HEAD}", status=404, json=NOT_FOUND)
    source = commands.Source(
        commands.CheckOptions(step=None, sop_path=".sopgate.yml", facts_path="unused")
    )
    source.adapter = make_adapter()
    evaluation = commands._evaluate(source, "security-review", infer=False)
    assert evaluation.facts.sop_changed
    assert evaluation.decision == "closed"
    assert (
        "this change edits the SOP: needs 1 approval from ml-platform (mona); has 0"
        in evaluation.by_key["security-review"].reasons
    )


def test_a_change_adds_the_sop_only_when_the_base_tree_lacks_it(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    mocked.replace(responses.GET, f"{SOP_URL}?ref={BASE_TIP}", status=404, json=NOT_FOUND)
    base_tree = dict(load("tree.json"), tree=load("tree.json")["tree"][1:])  # no .sopgate.yml
    tree = mocked.get(f"{REPO}/git/trees/{BASE_TIP}?recursive=1", json=base_tree)
    gathered = make_adapter().gather(sop_path=".sopgate.yml")
    head_text = gathered.proposed_sop_text
    assert head_text is not None and "sec-dan" in head_text
    assert gathered.sop_text == head_text  # nothing else exists; its owners must approve
    assert tree.call_count == 1
    assert (
        "main has no .sopgate.yml: this change adds it, so its owners must approve it"
        in gathered.facts.notes
    )


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"status": 404, "json": NOT_FOUND}, "HTTP 404"),
        ({"status": 403, "json": {"message": "Resource not accessible"}}, "HTTP 403"),
        ({"json": dict(load("tree.json"), tree=[], truncated=True)}, "the tree is incomplete"),
    ],
    ids=["tree-404", "tree-403", "tree-truncated"],
)
def test_a_base_404_with_an_unreadable_tree_fails_closed(
    make_adapter: Make, mocked: responses.RequestsMock, answer: dict[str, Any], why: str
) -> None:
    add_pr_answers(mocked)
    mocked.replace(responses.GET, f"{SOP_URL}?ref={BASE_TIP}", status=404, json=NOT_FOUND)
    mocked.get(f"{REPO}/git/trees/{BASE_TIP}?recursive=1", **answer)
    with pytest.raises(PlatformError) as caught:
        make_adapter().gather(sop_path=".sopgate.yml")
    assert str(caught.value) == (
        "GitHub answered 404 for .sopgate.yml on main, and the tree of main cannot confirm "
        f"it is absent ({why}): refusing to decide without the SOP in force"
    )


def test_a_base_404_for_a_file_the_tree_has_fails_closed(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    mocked.replace(responses.GET, f"{SOP_URL}?ref={BASE_TIP}", status=404, json=NOT_FOUND)
    mocked.get(f"{REPO}/git/trees/{BASE_TIP}?recursive=1", json=load("tree.json"))
    with pytest.raises(PlatformError, match="but the tree of main has it: refusing to decide"):
        make_adapter().gather(sop_path=".sopgate.yml")


def test_no_sop_anywhere_fails_closed(make_adapter: Make, mocked: responses.RequestsMock) -> None:
    add_pr_answers(mocked)
    for ref in (BASE_TIP, HEAD):
        mocked.replace(responses.GET, f"{SOP_URL}?ref={ref}", status=404, json=NOT_FOUND)
    mocked.get(f"{REPO}/git/trees/{BASE_TIP}?recursive=1", json=dict(load("tree.json"), tree=[]))
    with pytest.raises(PlatformError) as caught:
        make_adapter().gather(sop_path=".sopgate.yml")
    assert str(caught.value) == (
        "no SOP in force: .sopgate.yml exists neither on main nor at 4b825dc642cb"
    )


# -- pushes and other events ---------------------------------------------------------------


def test_default_branch_uses_the_sop_at_the_deployed_commit(
    make_adapter: Make, mocked: responses.RequestsMock, checkout: Path
) -> None:
    weaken_checkout(checkout)
    add_pr_answers(mocked, commit=MERGE)
    mocked.get(f"{REPO}/commits/{MERGE}/pulls?per_page=100", json=load("commit-pulls.json"))
    mocked.replace(responses.GET, f"{SOP_URL}?ref={MERGE}", json=contents(BASE_SOP + "# merged\n"))
    gathered = make_adapter("push").gather(sop_path=".sopgate.yml")
    assert (gathered.sop_text, gathered.proposed_sop_text) == (BASE_SOP + "# merged\n", None)
    asked = [c.request.url for c in mocked.calls]
    assert f"{REPO}/branches/main" not in asked  # the default branch needs no protection
    assert f"{SOP_URL}?ref={BASE_TIP}" not in asked


def test_default_branch_without_sop_fails_closed(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked, commit=MERGE)
    mocked.get(f"{REPO}/commits/{MERGE}/pulls?per_page=100", json=[])
    mocked.replace(responses.GET, f"{SOP_URL}?ref={MERGE}", status=404, json=NOT_FOUND)
    with pytest.raises(PlatformError) as caught:
        make_adapter("push").gather(sop_path=".sopgate.yml")
    assert str(caught.value) == (
        "no SOP in force: .sopgate.yml does not exist at 9f0c2a7e5b1d on the default branch main"
    )


def test_protected_branch_uses_the_sop_at_the_deployed_commit(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked, commit=MERGE)
    mocked.get(f"{REPO}/commits/{MERGE}/pulls?per_page=100", json=[])
    mocked.get(f"{REPO}/branches/release%2F2026-12", json=load("branch-protected.json"))
    mocked.replace(responses.GET, f"{SOP_URL}?ref={MERGE}", json=contents(WEAK_SOP))
    adapter = make_adapter("push", GITHUB_REF="refs/heads/release/2026-12")
    gathered = adapter.gather(sop_path=".sopgate.yml")
    assert (gathered.sop_text, gathered.proposed_sop_text) == (WEAK_SOP, None)


def _branch_push(mocked: responses.RequestsMock, pulls: list[Any]) -> None:
    """A run on the unprotected branch ``retrain`` whose tip is HEAD, which weakens the SOP."""
    add_pr_answers(mocked)
    mocked.get(f"{REPO}/commits/{HEAD}/pulls?per_page=100", json=pulls)
    mocked.get(
        f"{REPO}/branches/retrain", json=dict(load("branch-protected.json"), protected=False)
    )
    mocked.replace(responses.GET, f"{SOP_URL}?ref={HEAD}", json=contents(WEAK_SOP))


@pytest.mark.parametrize(
    "event", ["push", "workflow_dispatch", "schedule", "repository_dispatch", "merge_group"]
)
def test_other_branch_uses_the_base_of_its_open_pull_request(
    event: str, make_adapter: Make, mocked: responses.RequestsMock, checkout: Path
) -> None:
    weaken_checkout(checkout)
    pr = load("event-pull_request.json")["pull_request"]
    _branch_push(mocked, [dict(pr, base=dict(pr["base"], ref="main"))])
    adapter = make_adapter(
        event,
        GITHUB_EVENT_PATH=str(FIXTURES / "event-push.json"),
        GITHUB_SHA=HEAD,
        GITHUB_REF="refs/heads/retrain",
    )
    gathered = adapter.gather(sop_path=".sopgate.yml")
    assert (gathered.sop_text, gathered.proposed_sop_text) == (BASE_SOP, WEAK_SOP)
    assert gathered.facts.change is not None and gathered.facts.change.id == 42
    assert (
        "the SOP in force is the one of main, the base of pull request #42 holding "
        "4b825dc642cb" in gathered.facts.notes
    )


def test_other_branch_without_pull_request_uses_the_default_branch(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    closed = dict(load("event-pull_request.json")["pull_request"], state="closed")
    _branch_push(mocked, [closed])  # a closed pull request holds the commit: not the change
    adapter = make_adapter("push", GITHUB_SHA=HEAD, GITHUB_REF="refs/heads/retrain")
    gathered = adapter.gather(sop_path=".sopgate.yml")
    assert (gathered.sop_text, gathered.proposed_sop_text) == (BASE_SOP, WEAK_SOP)
    assert gathered.facts.change is None and gathered.facts.approvals == ()
    assert (
        "the SOP in force is the one of the default branch main: refs/heads/retrain is "
        "neither the default nor a protected branch, and no open pull request holds "
        "4b825dc642cb" in gathered.facts.notes
    )


def test_a_tag_is_never_trusted_as_a_branch(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    _branch_push(mocked, [])
    mocked.get(f"{SOP_URL}?ref=main", json=contents(WEAK_SOP))  # this tag's own SOP
    adapter = make_adapter("push", GITHUB_SHA=HEAD, GITHUB_REF="refs/tags/main")
    gathered = adapter.gather(sop_path=".sopgate.yml")
    assert (gathered.sop_text, gathered.proposed_sop_text) == (BASE_SOP, WEAK_SOP)
    # No protection lookup for the tag's name: the one branch asked for is the default
    # branch, for its commit, where its SOP is read.
    asked = [str(c.request.url) for c in mocked.calls]
    assert [u for u in asked if "/branches/" in u] == [f"{REPO}/branches/main"]
    assert f"{SOP_URL}?ref={BASE_TIP}" in asked


def test_the_checkout_file_is_never_read(
    make_adapter: Make, mocked: responses.RequestsMock, checkout: Path, tmp_path: Path
) -> None:
    (checkout / ".sopgate.yml").unlink()
    add_pr_answers(mocked)
    source = commands.Source(
        commands.CheckOptions(step=None, sop_path=".sopgate.yml", facts_path="unused")
    )
    source.adapter = make_adapter()
    loaded, facts, proposed = source.gather()
    assert loaded.sop.name == "Fraud-scoring model release"
    assert facts.sop_changed and proposed is not None
    assert json.loads(json.dumps(facts.to_data()))["sop_changed"] is True


def test_the_open_pull_request_from_this_branch_comes_first(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    pr = load("event-pull_request.json")["pull_request"]
    other = dict(pr, number=43, head=dict(pr["head"], ref="elsewhere"))
    other["base"] = dict(pr["base"], ref="weak-base")
    _branch_push(mocked, [other, pr])
    adapter = make_adapter("push", GITHUB_SHA=HEAD, GITHUB_REF="refs/heads/retrain")
    gathered = adapter.gather(sop_path=".sopgate.yml")
    assert gathered.sop_text == BASE_SOP  # main, the base of #42 from retrain
    assert not any("ref=weak-base" in str(c.request.url) for c in mocked.calls)


def test_a_merged_pull_request_is_not_the_change_of_its_head_pushed_elsewhere(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    # #42 was merged as MERGE; its head HEAD is pushed again (another branch, a tag): the
    # merged pull request's approvals are not approvals of this run.
    _branch_push(mocked, load("commit-pulls.json"))
    adapter = make_adapter("push", GITHUB_SHA=HEAD, GITHUB_REF="refs/heads/retrain")
    facts = adapter.gather(sop_path=".sopgate.yml").facts
    assert (facts.change, facts.approvals) == (None, ())


# -- the base branch is read at its commit, never by its name ----------------------------------


def test_a_tag_named_like_the_base_branch_cannot_stand_in_for_it(
    make_adapter: Make, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    """Someone who may push tags pushes a tag ``main`` at a commit with the weakened SOP, and
    the pull request carries the same file: read by name (git prefers refs/tags/main), both
    would agree and the change would need no owner. The base branch's commit decides."""
    add_pr_answers(mocked)
    mocked.get(f"{SOP_URL}?ref=main", json=contents(WEAK_SOP))  # the tag's
    mocked.replace(responses.GET, f"{SOP_URL}?ref={HEAD}", json=contents(WEAK_SOP))
    source = commands.Source(
        commands.CheckOptions(step=None, sop_path=".sopgate.yml", facts_path="unused")
    )
    source.adapter = make_adapter()
    evaluation = commands._evaluate(source, "security-review", infer=False)
    assert evaluation.facts.sop_changed
    assert evaluation.decision == "closed"
    assert (
        "this change edits the SOP: needs 1 approval from ml-platform (mona); has 0"
        in evaluation.by_key["security-review"].reasons
    )
    asked = [c.request.url for c in mocked.calls]
    assert f"{REPO}/branches/main" in asked
    assert f"{SOP_URL}?ref={BASE_TIP}" in asked
    assert f"{SOP_URL}?ref=main" not in asked


def test_a_tag_named_like_the_default_branch_cannot_stand_in_for_it(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    _branch_push(mocked, [])
    mocked.get(f"{SOP_URL}?ref=main", json=contents(WEAK_SOP))  # the tag's
    adapter = make_adapter("push", GITHUB_SHA=HEAD, GITHUB_REF="refs/heads/retrain")
    gathered = adapter.gather(sop_path=".sopgate.yml")
    assert (gathered.sop_text, gathered.proposed_sop_text) == (BASE_SOP, WEAK_SOP)
    assert f"{SOP_URL}?ref=main" not in [c.request.url for c in mocked.calls]


def test_a_tag_named_like_the_base_branch_cannot_add_the_sop(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    """The base branch has no SOP and its tree (at its commit) lacks it: the change adds it,
    whatever a tag of the same name holds."""
    add_pr_answers(mocked)
    mocked.get(f"{SOP_URL}?ref=main", json=contents(WEAK_SOP))  # the tag's
    mocked.replace(responses.GET, f"{SOP_URL}?ref={BASE_TIP}", status=404, json=NOT_FOUND)
    base_tree = dict(load("tree.json"), tree=load("tree.json")["tree"][1:])  # no .sopgate.yml
    tree = mocked.get(f"{REPO}/git/trees/{BASE_TIP}?recursive=1", json=base_tree)
    gathered = make_adapter().gather(sop_path=".sopgate.yml")
    assert gathered.sop_text == gathered.proposed_sop_text != WEAK_SOP
    assert tree.call_count == 1


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"status": 404, "json": NOT_FOUND}, "HTTP 404"),
        ({"json": {"name": "main"}}, "the answer names no commit"),
        ({"json": {"name": "main", "commit": {"sha": "main"}}}, "the answer names no commit"),
        ({"json": ["main"]}, "the answer names no commit"),
    ],
    ids=["404", "no-commit", "not-a-commit", "not-an-object"],
)
def test_a_base_branch_github_cannot_resolve_fails_closed(
    make_adapter: Make, mocked: responses.RequestsMock, answer: dict[str, Any], why: str
) -> None:
    add_pr_answers(mocked)
    mocked.replace(responses.GET, f"{REPO}/branches/main", **answer)
    with pytest.raises(PlatformError) as caught:
        make_adapter().gather(sop_path=".sopgate.yml")
    assert caught.value.exit_code == 3
    assert str(caught.value) == (
        f"GitHub cannot resolve the branch main to a commit through its branches API ({why}): "
        "no SOP in force can be read"
    )


def test_a_default_branch_github_cannot_resolve_fails_closed(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    _branch_push(mocked, [])
    mocked.replace(responses.GET, f"{REPO}/branches/main", status=404, json=NOT_FOUND)
    adapter = make_adapter("push", GITHUB_SHA=HEAD, GITHUB_REF="refs/heads/retrain")
    with pytest.raises(PlatformError) as caught:
        adapter.gather(sop_path=".sopgate.yml")
    assert caught.value.exit_code == 3
    assert "cannot resolve the branch main to a commit" in str(caught.value)


def test_a_failing_base_branch_lookup_fails_closed(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    mocked.replace(responses.GET, f"{REPO}/branches/main", status=403, json={"message": "No"})
    with pytest.raises(PlatformError) as caught:
        make_adapter().gather(sop_path=".sopgate.yml")
    assert caught.value.exit_code == 3
    assert "/branches/main" in str(caught.value) and "403" in str(caught.value)
