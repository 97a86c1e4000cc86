"""The SOP in force on GitLab is read through the API on every pipeline source, never from
the checkout (DESIGN.md, "Trust"): a branch, a closed MR or a deleted SOP cannot weaken its
own gate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses

from sopgate.errors import PlatformError
from sopgate.evaluate import Evaluation, evaluate
from sopgate.platforms import Gathered
from sopgate.platforms.gitlab import RetryPolicy, from_env
from sopgate.sop.load import parse_sop
from tests.unit.platforms.gitlab.gitlab_fixtures import (
    BASE,
    HEAD,
    MERGE,
    Situation,
    register,
    tip,
)

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

# The SOP in force: staging needs an SRE's review approval.
STRICT = """\
sopgate: 1
name: Fraud-scoring model release
scope: {system: fraud-scoring, environments: [staging]}
owners: [sre]
roles:
  sre: {users: [sre-sam]}
steps:
  - id: staging
    owner: sre
    needs: []
    environment: staging
    approvals: [{role: sre}]
    rollback: Redeploy the previous model.
"""
# What a branch would like to be judged by: no approvals at all.
WEAK = STRICT.replace("    approvals: [{role: sre}]\n", "")
NEEDS_SAM = "needs 1 approval from sre (sre-sam); has 0"


def run(
    situation: Situation,
    tmp_path: Path,
    *,
    checkout: str | None = WEAK,
    patch: Callable[[responses.RequestsMock], None] | None = None,
) -> tuple[Gathered, list[str]]:
    """Gather with ``checkout`` (by default the weakened SOP) as the checkout's file;
    ``patch`` changes the registered answers."""
    sop = tmp_path / ".sopgate.yml"
    if checkout is not None:
        sop.write_text(checkout)
    env = {**situation.env(), "CI_PROJECT_DIR": str(tmp_path)}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register(rsps, situation)
        if patch is not None:
            patch(rsps)
        adapter = from_env(env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: NOW)
        gathered = adapter.gather(sop_path=str(sop))
        sent = [str(c.request.url).removeprefix(f"{BASE}/api/v4") for c in rsps.calls]
    return gathered, sent


def judged(gathered: Gathered) -> Evaluation:
    return evaluate(
        parse_sop(gathered.sop_text or "", path=".sopgate.yml"), gathered.facts, "staging"
    )


def raw_reads(sent: list[str]) -> list[str]:
    return [u.split("?ref=")[1] for u in sent if "/repository/files/.sopgate.yml/raw" in u]


def closed_for_want_of_sam(evaluation: Evaluation) -> None:
    assert evaluation.decision == "closed"
    assert NEEDS_SAM in evaluation.by_key["staging"].reasons


@pytest.mark.parametrize("state", ["opened", "closed", "locked", "merged"])
def test_a_merge_request_pipeline_takes_the_target_branch_sop_whatever_the_state(
    tmp_path: Path, state: str
) -> None:
    """A retried or manual job after closing the MR still takes the target's SOP."""
    gathered, sent = run(Situation(sop_text=STRICT, head_sop=WEAK, mr_state=state), tmp_path)
    assert gathered.sop_text == STRICT
    assert gathered.proposed_sop_text == WEAK
    assert gathered.facts.sop_changed is True
    suffix = "" if state == "opened" else f" ({state})"
    assert f"!42{suffix} changes .sopgate.yml: the SOP of main decides" in gathered.facts.notes
    assert raw_reads(sent) == [tip("main"), HEAD]
    closed_for_want_of_sam(judged(gathered))


def test_the_checkout_is_never_read_for_the_sop(tmp_path: Path) -> None:
    """Same SOP at the target and the head: the checkout's weakened file changes nothing."""
    gathered, _ = run(Situation(sop_text=STRICT), tmp_path, checkout=WEAK)
    assert (gathered.sop_text, gathered.proposed_sop_text) == (STRICT, None)
    assert gathered.facts.sop_changed is False
    closed_for_want_of_sam(judged(gathered))


def test_no_checkout_at_all(tmp_path: Path) -> None:
    gathered, _ = run(Situation(sop_text=STRICT), tmp_path, checkout=None)
    assert gathered.sop_text == STRICT


def test_deleting_the_sop_is_a_change_to_it(tmp_path: Path) -> None:
    gathered, _ = run(Situation(sop_text=STRICT, head_sop=None), tmp_path)
    assert gathered.sop_text == STRICT
    assert gathered.proposed_sop_text is None
    assert gathered.sop_deleted is True
    assert gathered.facts.sop_changed is True  # the owners must approve the change
    assert gathered.facts.notes[0] == (
        "!42 deletes or moves .sopgate.yml: the SOP of main decides, and its owners must approve"
    )
    evaluation = judged(gathered)
    assert evaluation.decision == "closed"
    assert (
        "this change edits the SOP: needs 1 approval from sre (sre-sam); has 0"
        in evaluation.by_key["staging"].reasons
    )


def test_a_change_that_adds_the_sop_when_the_target_tree_lacks_it(tmp_path: Path) -> None:
    gathered, sent = run(Situation(sop_text=None, head_sop=STRICT), tmp_path)
    assert (gathered.sop_text, gathered.proposed_sop_text) == (STRICT, STRICT)
    assert gathered.facts.sop_changed is True
    assert gathered.facts.notes[0] == "the target branch main has no .sopgate.yml: !42 adds it"
    assert f"/projects/7/repository/tree?ref={tip('main')}&per_page=100" in sent


@pytest.mark.parametrize("status", [403, 404])
def test_a_missing_target_sop_with_an_unreadable_tree_fails_closed(
    tmp_path: Path, status: int
) -> None:
    """A 404 for the file is "the change adds it" only when the tree says so."""
    with pytest.raises(PlatformError) as raised:
        run(Situation(sop_text=None, head_sop=STRICT, target_tree_status=status), tmp_path)
    assert str(raised.value) == (
        "GitLab answered 404 to .sopgate.yml on branch main, and the branch's tree could "
        "not be read to tell whether it has none: no SOP in force"
    )


def test_a_target_tree_that_has_the_file_but_no_content_fails_closed(tmp_path: Path) -> None:
    situation = Situation(sop_text=None, head_sop=STRICT)
    situation.files = []

    def tree_with_sop(ref: str | None = None, folder: str = "") -> list[dict[str, Any]]:
        return [{"id": "a", "name": ".sopgate.yml", "type": "blob", "path": ".sopgate.yml"}]

    situation.tree = tree_with_sop  # type: ignore[method-assign]
    with pytest.raises(PlatformError, match="could not be read to tell"):
        run(situation, tmp_path)


def test_no_sop_anywhere_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(PlatformError) as raised:
        run(Situation(sop_text=None, head_sop=None), tmp_path)
    assert str(raised.value) == (
        f"no SOP in force: neither branch main nor commit {HEAD[:12]} has .sopgate.yml"
    )


def test_a_server_error_on_the_sop_fails_closed(tmp_path: Path) -> None:
    situation = Situation(sop_text=STRICT)
    routes = situation.routes()
    path = situation.raw_path(".sopgate.yml")
    assert ("GET", path) in routes

    def failing(ref: str) -> tuple[int, Any]:
        return 500, {"message": "500 Internal Server Error"}

    situation.sop_at = failing  # type: ignore[method-assign]
    with pytest.raises(PlatformError, match=r"GitLab kept failing GET /projects/7/repository"):
        run(situation, tmp_path)


def test_on_the_default_branch_the_sop_at_the_deployed_commit(tmp_path: Path) -> None:
    """After the merge, the merge commit's SOP decides (the MR's owners approved it)."""
    situation = Situation(
        branch="main",
        merged_results=True,  # CI_COMMIT_SHA is the merge commit
        mr_state="merged",
        sop_text=WEAK,  # main's tip moved on; the deployed commit holds STRICT
        head_sop=STRICT,
    )
    gathered, sent = run(situation, tmp_path)
    assert gathered.sop_text == STRICT
    assert gathered.proposed_sop_text is None and gathered.facts.sop_changed is False
    assert raw_reads(sent) == [MERGE]
    assert "/projects/7/repository/branches/main" in sent


def test_on_a_protected_branch_the_sop_at_the_deployed_commit(tmp_path: Path) -> None:
    situation = Situation(branch="release-1", protected=True, sop_text=WEAK, head_sop=STRICT)
    gathered, sent = run(situation, tmp_path)
    assert gathered.sop_text == STRICT
    assert raw_reads(sent) == [HEAD]


def test_on_a_protected_tag_the_sop_at_the_deployed_commit(tmp_path: Path) -> None:
    situation = Situation(tag="v1.4.0", protected=True, sop_text=WEAK, head_sop=STRICT)
    gathered, sent = run(situation, tmp_path)
    assert gathered.sop_text == STRICT
    assert "/projects/7/repository/tags/v1.4.0" in sent


def test_a_protected_ref_without_the_sop_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(PlatformError) as raised:
        run(Situation(branch="main", head_sop=None, sop_text=STRICT), tmp_path)
    assert str(raised.value) == (
        f"no SOP in force: .sopgate.yml does not exist at commit {HEAD[:12]} on the default "
        "branch main (read through the GitLab API)"
    )


@pytest.mark.parametrize("state", ["opened", "closed", "locked", "merged"])
def test_on_an_unprotected_branch_the_sop_of_the_target_of_its_mr(
    tmp_path: Path, state: str
) -> None:
    """A push pipeline on the MR's own branch cannot weaken its gate, whatever the MR's
    state."""
    situation = Situation(branch="retrain-2026-11", mr_state=state, sop_text=STRICT, head_sop=WEAK)
    gathered, sent = run(situation, tmp_path)
    assert gathered.sop_text == STRICT
    assert gathered.proposed_sop_text == WEAK
    assert gathered.facts.sop_changed is True
    assert raw_reads(sent) == [tip("main"), HEAD]
    closed_for_want_of_sam(judged(gathered))


def test_on_an_unprotected_tag_the_sop_of_the_target_of_its_mr(tmp_path: Path) -> None:
    situation = Situation(tag="try-1", sop_text=STRICT, head_sop=WEAK)
    gathered, _ = run(situation, tmp_path)
    assert gathered.sop_text == STRICT


def test_a_branch_gitlab_no_longer_knows_is_not_protected(tmp_path: Path) -> None:
    situation = Situation(branch="gone", ref_status=404, sop_text=STRICT, head_sop=WEAK)
    gathered, _ = run(situation, tmp_path)
    assert gathered.sop_text == STRICT


def test_a_branch_lookup_that_fails_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(
        PlatformError, match="GitLab answered 403 to GET /projects/7/repository/branches/x"
    ):
        run(Situation(branch="x", ref_status=403, sop_text=STRICT), tmp_path)


def test_without_a_merge_request_the_default_branch_sop(tmp_path: Path) -> None:
    situation = Situation(
        branch="experiment", mr_iid=None, default_branch="main", sop_text=STRICT, head_sop=WEAK
    )
    gathered, sent = run(situation, tmp_path)
    assert gathered.sop_text == STRICT
    assert gathered.proposed_sop_text == WEAK
    assert gathered.facts.sop_changed is True
    assert "/projects/7" in sent  # the project names its default branch
    assert gathered.facts.notes[:2] == (
        f"no merge request contains commit {HEAD[:12]}: no review approvals or sign-offs",
        f"no merge request holds commit {HEAD[:12]} of experiment: the SOP of the default "
        "branch main decides",
    )
    closed_for_want_of_sam(judged(gathered))


def test_a_scheduled_pipeline_on_an_unknown_ref_takes_the_default_branch_sop(
    tmp_path: Path,
) -> None:
    """No branch or tag variable (a trigger or schedule without one): the protected
    choice, the default branch's SOP."""
    gathered, _ = run(Situation(mr_iid=None, sop_text=STRICT, head_sop=WEAK), tmp_path)
    assert gathered.sop_text == STRICT


def test_a_sop_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "ops").mkdir()
    situation = Situation(sop_path="ops/sop.yml", sop_text=None, head_sop=STRICT)
    env = {**situation.env(), "CI_PROJECT_DIR": str(tmp_path)}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register(rsps, situation)
        adapter = from_env(env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: NOW)
        gathered = adapter.gather(sop_path=str(tmp_path / "ops" / "sop.yml"))
        sent = [str(c.request.url) for c in rsps.calls]
    assert gathered.sop_text == STRICT
    assert gathered.facts.notes[0] == "the target branch main has no ops/sop.yml: !42 adds it"
    assert any(f"/repository/files/ops%2Fsop.yml/raw?ref={tip('main')}" in u for u in sent)
    assert any(f"/repository/tree?path=ops&ref={tip('main')}" in u for u in sent), sent


# -- the branch is read at its commit, never by its name ----------------------------------


def test_a_tag_named_like_the_target_branch_cannot_stand_in_for_it(tmp_path: Path) -> None:
    """A developer who may push tags pushes a tag ``main`` at a commit with the weakened
    SOP, and the MR carries the same file: read by name (git prefers refs/tags/main), both
    would agree and nothing would need the owners. The branch's commit decides."""
    situation = Situation(sop_text=STRICT, head_sop=WEAK, tag_sop=WEAK)
    gathered, sent = run(situation, tmp_path)
    assert (gathered.sop_text, gathered.proposed_sop_text) == (STRICT, WEAK)
    assert gathered.facts.sop_changed is True
    assert "!42 changes .sopgate.yml: the SOP of main decides" in gathered.facts.notes
    closed_for_want_of_sam(judged(gathered))
    assert "/projects/7/repository/branches/main" in sent
    assert raw_reads(sent) == [tip("main"), HEAD]


def test_a_tag_named_like_the_default_branch_cannot_stand_in_for_it(tmp_path: Path) -> None:
    situation = Situation(
        branch="experiment", mr_iid=None, sop_text=STRICT, head_sop=WEAK, tag_sop=WEAK
    )
    gathered, sent = run(situation, tmp_path)
    assert (gathered.sop_text, gathered.proposed_sop_text) == (STRICT, WEAK)
    closed_for_want_of_sam(judged(gathered))
    assert raw_reads(sent) == [tip("main"), HEAD]


def test_a_tag_named_like_the_branch_cannot_add_the_sop(tmp_path: Path) -> None:
    """The target branch has no SOP, its tree (read at its commit) lacks it: the change
    adds it, whatever a tag of the same name holds."""
    situation = Situation(sop_text=None, head_sop=STRICT, tag_sop=WEAK)
    gathered, sent = run(situation, tmp_path)
    assert (gathered.sop_text, gathered.proposed_sop_text) == (STRICT, STRICT)
    assert f"/projects/7/repository/tree?ref={tip('main')}&per_page=100" in sent


def test_a_target_branch_gitlab_does_not_know_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(PlatformError) as raised:
        run(Situation(sop_text=STRICT, head_sop=WEAK, tip_status=404), tmp_path)
    assert raised.value.exit_code == 3
    assert str(raised.value) == (
        "GitLab cannot resolve the branch main to a commit through its branches API (HTTP "
        "404): no SOP in force can be read"
    )


def test_a_default_branch_gitlab_does_not_know_fails_closed(tmp_path: Path) -> None:
    situation = Situation(branch="experiment", mr_iid=None, sop_text=STRICT, tip_status=404)
    with pytest.raises(PlatformError) as raised:
        run(situation, tmp_path)
    assert raised.value.exit_code == 3
    assert "cannot resolve the branch main to a commit" in str(raised.value)


def test_a_failing_branch_lookup_for_the_target_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(PlatformError) as raised:
        run(Situation(sop_text=STRICT, tip_status=403), tmp_path)
    assert raised.value.exit_code == 3
    assert "GitLab answered 403 to GET /projects/7/repository/branches/main" in str(raised.value)


@pytest.mark.parametrize(
    "answer",
    [{"name": "main"}, {"name": "main", "commit": {"id": "main"}}, ["main"]],
    ids=["no-commit", "not-a-commit-id", "not-an-object"],
)
def test_an_unusable_branch_answer_fails_closed(tmp_path: Path, answer: Any) -> None:
    url = f"{BASE}/api/v4/projects/7/repository/branches/main"

    def patch(rsps: responses.RequestsMock) -> None:
        rsps.replace(responses.GET, url, json=answer)

    with pytest.raises(PlatformError) as raised:
        run(Situation(sop_text=STRICT, head_sop=WEAK), tmp_path, patch=patch)
    assert raised.value.exit_code == 3
    assert str(raised.value) == (
        "GitLab cannot resolve the branch main to a commit through its branches API (its "
        "answer names no commit id): no SOP in force can be read"
    )


def test_a_target_branch_with_a_slash_is_resolved_by_its_encoded_name(tmp_path: Path) -> None:
    situation = Situation(target_branch="release/2", sop_text=STRICT, head_sop=WEAK)
    gathered, sent = run(situation, tmp_path)
    assert "/projects/7/repository/branches/release%2F2" in sent
    assert raw_reads(sent) == [tip("release/2"), HEAD]
    assert gathered.sop_text == STRICT
