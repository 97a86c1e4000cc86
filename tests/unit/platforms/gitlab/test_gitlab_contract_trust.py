"""A fresh-eyes audit of the GitLab adapter against DESIGN.md ("Trust", the facts' rules and
"Where the new facts come from"): each test pins one place where the adapter deviated, could
be talked open or could leak the token, plus the shapes and rules it was checked against.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from sopgate.errors import PlatformError
from sopgate.evaluate import evaluate
from sopgate.facts import Approval, Facts
from sopgate.platforms import Gathered
from sopgate.platforms.gitlab import RetryPolicy, from_env, mapping, settings_from_env
from sopgate.platforms.gitlab.client import Api, ApiError
from sopgate.sop.load import parse_sop
from tests.unit.platforms.gitlab.gitlab_fixtures import (
    BASE,
    HEAD,
    TOKEN,
    Signoff,
    Situation,
    fixture,
    register,
    tip,
)

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
OLD = "1234567890abcdef1234567890abcdef12345678"
NEWER = "fedcba0987654321fedcba0987654321fedcba09"
SOP = """\
sopgate: 1
name: Audit
roles:
  security: {users: [sec-bob]}
steps:
  - id: security-review
    owner: security
    approvals: [{role: security, count: 1}]
"""


def run(situation: Situation, tmp_path: Path) -> Gathered:
    env = {**situation.env(), "CI_PROJECT_DIR": str(tmp_path)}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register(rsps, situation)
        adapter = from_env(env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: NOW)
        return adapter.gather(sop_path=str(tmp_path / ".sopgate.yml"))


def case(**changes: Any) -> Situation:
    options: dict[str, Any] = {"sop_text": SOP, "groups": {}}
    options.update(changes)
    return Situation(**options)


def approvals(gathered: Gathered) -> tuple[Approval, ...]:
    assert gathered.facts.approvals is not None
    return gathered.facts.approvals


def decide(facts: Facts, step: str) -> tuple[str, tuple[str, ...]]:
    result = evaluate(parse_sop(SOP, path=".sopgate.yml"), facts, step).by_key[step]
    return result.state, result.reasons


# -- review approvals: the commit they are on ---------------------------------------------
#
# GitLab's approvals carry no commit. With reset_approvals_on_push GitLab removes them when
# commits are pushed, but it keeps them over a rebase from the UI (the Rebase button,
# /rebase): the head changes and the approvals stay. An approval is on the head only when
# it was given after the head was pushed (the newest diff version), or when the MR never
# had another head.

REBASED = [(HEAD, "2026-11-25T12:00:00.000Z"), (OLD, "2026-11-24T08:00:00.000Z")]


def test_an_approval_kept_over_a_ui_rebase_is_not_on_the_rebased_head(tmp_path: Path) -> None:
    gathered = run(
        case(versions=REBASED, approvals=[("sec-bob", "2026-11-25T09:00:00.000Z")]), tmp_path
    )
    (approval,) = approvals(gathered)
    assert (approval.user, approval.sha) == ("sec-bob", None)
    assert gathered.facts.notes == (
        f"review approvals given before {HEAD[:12]} was pushed to !42, or at an unknown "
        "time, carry no commit (GitLab keeps approvals over a rebase): fresh rules do not "
        "count sec-bob",
    )
    state, reasons = decide(gathered.facts, "security-review")
    assert state == "waiting"
    assert reasons[0].startswith("needs 1 approval from security (sec-bob); has 0")


def test_an_approval_of_unknown_time_after_a_rebase_carries_no_commit(tmp_path: Path) -> None:
    gathered = run(case(versions=REBASED, approvals=[("sec-bob", None)]), tmp_path)
    assert approvals(gathered)[0].sha is None


def test_an_approval_given_after_the_head_was_pushed_is_on_the_head(tmp_path: Path) -> None:
    gathered = run(
        case(versions=REBASED, approvals=[("sec-bob", "2026-11-25T12:30:00.000Z")]), tmp_path
    )
    assert approvals(gathered)[0].sha == HEAD
    assert gathered.facts.notes == ()
    assert decide(gathered.facts, "security-review") == ("done", ())


def test_an_mr_that_never_had_another_head_needs_no_approval_time(tmp_path: Path) -> None:
    gathered = run(case(approvals=[("sec-bob", None)]), tmp_path)
    assert approvals(gathered)[0].sha == HEAD


def test_a_push_after_the_mr_was_read_leaves_approvals_without_a_commit(tmp_path: Path) -> None:
    # The MR said HEAD; by the time the versions were read, NEWER had been pushed: the
    # approvals GitLab listed may be those given on NEWER.
    versions = [(NEWER, "2026-11-26T09:59:00.000Z"), *REBASED]
    gathered = run(
        case(versions=versions, approvals=[("sec-bob", "2026-11-26T09:59:30.000Z")]), tmp_path
    )
    assert approvals(gathered)[0].sha is None


# -- sign-offs: GitLab Flavored Markdown ---------------------------------------------------
#
# "A sign-off is a comment line of its own ... outside code spans, code blocks, quotes and
# HTML comments". GitLab renders two blocks CommonMark does not know: the multiline quote
# (>>> ... >>>) and display math ($$ ... $$). Quoting someone's sign-off in them is not
# giving one.

QUOTED = [
    ">>>\n/sop approve go-no-go\n>>>",
    "Rita asked for this:\n\n>>>\nrita wrote:\n\n/sop approve go-no-go\n>>>\n\nnot from me yet",
    ">>>>\n/sop approve go-no-go\n>>>>",
    ">>>\nan unclosed quote runs to the end\n/sop approve go-no-go",
    "$$\n/sop approve go-no-go\n$$",
]


@pytest.mark.parametrize("body", QUOTED)
def test_a_command_in_a_gitlab_multiline_quote_or_math_block_is_no_sign_off(
    tmp_path: Path, body: str
) -> None:
    gathered = run(case(signoffs=[Signoff("mallory", body, "2026-11-26T08:00:00.000Z")]), tmp_path)
    assert approvals(gathered) == ()


@pytest.mark.parametrize(
    "body",
    [
        ">>>\nquoted\n>>>\n/sop reject go-no-go latency",
        "```\n>>>\n```\n/sop reject go-no-go latency",
        ">>>\n```\n>>>\n```\nstill quoted\n>>>\n/sop reject go-no-go latency",
    ],
)
def test_a_command_after_a_closed_quote_or_a_fence_in_code_counts(
    tmp_path: Path, body: str
) -> None:
    gathered = run(case(signoffs=[Signoff("rob", body, "2026-11-26T08:00:00.000Z")]), tmp_path)
    assert [(a.user, a.state, a.step, a.reason) for a in approvals(gathered)] == [
        ("rob", "rejected", "go-no-go", "latency")
    ]


# -- the token never in output -------------------------------------------------------------


def fragments(text: str) -> list[str]:
    """Every 10-character piece of the token found in ``text``."""
    return [TOKEN[i : i + 10] for i in range(len(TOKEN) - 9) if TOKEN[i : i + 10] in text]


@pytest.mark.parametrize("padding", [0, 262, 270, 275])
def test_an_error_body_that_echoes_the_token_is_redacted_before_it_is_cut(padding: int) -> None:
    client = Api(url=BASE, token=TOKEN, policy=RetryPolicy(sleep=lambda _: None))
    with responses.RequestsMock() as rsps:
        body = {"message": "x" * padding + f"bad token {TOKEN} for you"}
        rsps.add("GET", f"{BASE}/api/v4/projects/7", json=body, status=400)
        with pytest.raises(PlatformError) as raised:
            client.get("/projects/7")
    assert fragments(str(raised.value)) == []
    assert str(raised.value).startswith("GitLab answered 400 to GET /projects/7: ")


def test_the_settings_never_show_the_token() -> None:
    settings = settings_from_env(Situation().env())
    assert fragments(repr(settings)) == []
    assert fragments(str(settings)) == []


def test_credentials_in_the_api_url_are_not_shown_when_gitlab_cannot_be_reached() -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = Api(
        url=f"http://ci:s3cret-password@127.0.0.1:{port}",
        token=TOKEN,
        policy=RetryPolicy(sleep=lambda _: None, attempts=1),
    )
    with pytest.raises(PlatformError) as raised:
        client.get("/projects/7")
    # an address with credentials in it has no clean origin: nothing is sent to it at all
    assert str(raised.value) == (
        f"sopgate will not send GET /projects/7 to http://127.0.0.1:{port}: not the API"
    )
    assert "s3cret" not in str(raised.value)


# -- where the token goes, and in which header ----------------------------------------------


def test_a_gitlab_under_a_path_prefix_gets_every_request_there_with_the_private_token(
    tmp_path: Path,
) -> None:
    prefixed = f"{BASE}/gitlab"
    situation = case(
        approvals=[("sec-bob", "2026-11-25T09:00:00.000Z")],
        signoffs=[Signoff("rita", "/sop approve go-no-go", "2026-11-26T08:00:00.000Z")],
        jobs=[("deploy-staging", "success", "2026-11-26T07:30:00.000Z")],
    )
    env = {**situation.env(url=prefixed), "CI_PROJECT_DIR": str(tmp_path)}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register(rsps, situation, base=prefixed)
        adapter = from_env(env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: NOW)
        gathered = adapter.gather(sop_path=str(tmp_path / ".sopgate.yml"))
        calls = list(rsps.calls)
    assert [a.user for a in approvals(gathered)] == ["sec-bob", "rita"]
    # MR, the target branch (its commit), SOP twice, settings, notes, approvals, commits,
    # user, versions, jobs, bridges, statuses
    assert len(calls) == 13
    for call in calls:
        assert str(call.request.url).startswith(f"{prefixed}/api/v4/")
        headers = {k.lower(): v for k, v in call.request.headers.items()}
        assert headers["private-token"] == TOKEN
        assert "authorization" not in headers
        assert "job-token" not in headers
        assert "job-token-not-usable" not in str(call.request.headers)
        assert TOKEN not in str(call.request.url)


# -- merge_requests_disable_committers_approval ------------------------------------------


def test_hidden_approval_settings_are_noted_like_committers_approval_off(tmp_path: Path) -> None:
    # "sopgate also reads the project's 'prevent approvals by users who add commits'
    # setting ... and notes when it is off": unknown (Free tier, 404) is not on.
    gathered = run(case(reset_on_push=None), tmp_path)
    assert gathered.facts.notes == (
        "GitLab answered 404 to the project's approval settings (a Premium feature): "
        "approvals are taken as not reset on push",
        "the project may let people who added commits approve the merge request "
        "(merge_requests_disable_committers_approval is unknown: the settings are hidden), "
        "and sopgate recognises contributors only through their e-mails; turn on "
        '"Prevent approvals by users who add commits" in Settings > Merge requests',
    )


# -- the SOP in force ----------------------------------------------------------------------


def test_a_sop_in_a_folder_the_target_branch_lacks_is_added_by_the_change(
    tmp_path: Path,
) -> None:
    # "A base SOP that cannot be read is exit 3, unless the base tree is readable and lacks
    # it". GitLab answers 404 for the tree of a folder that does not exist (since 16.6):
    # the folder's absence from the readable root proves the SOP's.
    situation = case(sop_path="deploy/.sopgate.yml", sop_text=None, head_sop=SOP)
    tree = f"{BASE}/api/v4/projects/7/repository/tree"

    def folder_tree(request: Any) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlsplit(request.url).query)
        if query.get("path") == ["deploy"]:
            return 404, {}, json.dumps({"message": "404 invalid revision or path Not Found"})
        assert query["ref"] == [tip("main")] and "path" not in query
        return 200, {}, json.dumps([fixture("tree_item", path="README.md", name="README.md")])

    env = {**situation.env(), "CI_PROJECT_DIR": str(tmp_path)}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register(rsps, situation)
        rsps.replace(responses.CallbackResponse("GET", tree, callback=folder_tree))
        adapter = from_env(env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: NOW)
        gathered = adapter.gather(sop_path=str(tmp_path / "deploy" / ".sopgate.yml"))
    assert (gathered.sop_text, gathered.proposed_sop_text) == (SOP, SOP)
    assert gathered.facts.notes[0] == (
        "the target branch main has no deploy/.sopgate.yml: !42 adds it"
    )


@pytest.mark.parametrize("root", [404, "has deploy"])
def test_a_missing_folder_proves_nothing_when_its_parent_is_unreadable_or_has_it(
    tmp_path: Path, root: int | str
) -> None:
    situation = case(sop_path="deploy/.sopgate.yml", sop_text=None, head_sop=SOP)

    def folder_tree(request: Any) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlsplit(request.url).query)
        if query.get("path") == ["deploy"] or root == 404:
            return 404, {}, json.dumps({"message": "404 Tree Not Found"})
        return 200, {}, json.dumps([fixture("tree_item", path="deploy", type="tree")])

    env = {**situation.env(), "CI_PROJECT_DIR": str(tmp_path)}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register(rsps, situation)
        tree = f"{BASE}/api/v4/projects/7/repository/tree"
        rsps.replace(responses.CallbackResponse("GET", tree, callback=folder_tree))
        adapter = from_env(env, policy=RetryPolicy(sleep=lambda _: None), clock=lambda: NOW)
        with pytest.raises(PlatformError) as raised:
            adapter.gather(sop_path=str(tmp_path / "deploy" / ".sopgate.yml"))
    assert raised.value.exit_code == 3
    assert str(raised.value) == (
        "GitLab answered 404 to deploy/.sopgate.yml on branch main, and the branch's tree "
        "could not be read to tell whether it has none: no SOP in force"
    )


# -- pagination ----------------------------------------------------------------------------

NOTES = f"{BASE}/api/v4/projects/7/merge_requests/42/notes"


def keyset_page(link: str | None, ids: list[int]) -> Any:
    headers = {"Link": f'<{link}>; rel="next"'} if link else {}
    return {"json": [{"id": i} for i in ids], "headers": headers}


def test_keyset_pagination_is_followed_by_its_link() -> None:
    nxt = f"{NOTES}?cursor=eyJpZCI6IjIifQ&pagination=keyset&per_page=100"
    client = Api(url=BASE, token=TOKEN, policy=RetryPolicy(sleep=lambda _: None))
    with responses.RequestsMock() as rsps:
        rsps.add("GET", NOTES, **keyset_page(nxt, [1, 2]))
        rsps.add("GET", NOTES, **keyset_page(None, [3]))
        assert [n["id"] for n in client.list("/projects/7/merge_requests/42/notes")] == [1, 2, 3]
        assert "cursor=eyJpZCI6IjIifQ" in str(rsps.calls[1].request.url)


@pytest.mark.parametrize(
    "link",
    [
        "https://gitlab.example.com:8443/api/v4/projects/7/merge_requests/42/notes?cursor=x",
        "http://gitlab.example.com/api/v4/projects/7/merge_requests/42/notes?cursor=x",
        "//evil.example.com/api/v4/projects/7/merge_requests/42/notes?cursor=x",
        "https://gitlab.example.com.evil.example.com/api/v4/notes?cursor=x",
        "https://gitlab.example.com@evil.example.com/api/v4/notes?cursor=x",
    ],
)
def test_a_keyset_link_to_another_origin_is_refused(link: str) -> None:
    client = Api(url=BASE, token=TOKEN, policy=RetryPolicy(sleep=lambda _: None))
    with responses.RequestsMock() as rsps:
        rsps.add("GET", NOTES, **keyset_page(link, [1]))
        with pytest.raises(PlatformError) as raised:
            client.list("/projects/7/merge_requests/42/notes")
        assert len(rsps.calls) == 1
    assert str(raised.value).startswith(
        "GitLab sent a next-page link to another host for GET "
        "/projects/7/merge_requests/42/notes: refused ("
    )


def test_a_keyset_cursor_that_repeats_is_refused() -> None:
    nxt = f"{NOTES}?cursor=abc&pagination=keyset&per_page=100"
    client = Api(url=BASE, token=TOKEN, policy=RetryPolicy(sleep=lambda _: None))
    with responses.RequestsMock() as rsps:
        rsps.add("GET", NOTES, **keyset_page(nxt, [1]))
        rsps.add("GET", NOTES, **keyset_page(nxt, [2]))
        with pytest.raises(PlatformError, match="repeats an earlier page: refused"):
            client.list("/projects/7/merge_requests/42/notes")
        assert len(rsps.calls) == 2


def test_a_token_that_gitlab_echoes_in_its_data_reaches_no_fact(tmp_path: Path) -> None:
    # A hostile or broken API that puts the token it was sent into what it answers (a note,
    # a job name, a status URL) must not get it into the facts, the report or the summary.
    gathered = run(
        case(
            signoffs=[
                Signoff("rob", f"/sop reject go-no-go saw {TOKEN}", "2026-11-26T08:00:00.000Z")
            ],
            jobs=[(f"deploy-{TOKEN}", "success", "2026-11-26T07:30:00.000Z")],
        ),
        tmp_path,
    )
    dumped = gathered.facts.model_dump_json()
    assert "go-no-go" in dumped and "deploy-" in dumped
    assert fragments(dumped) == []
    assert approvals(gathered)[0].reason == "saw [token]"


def test_a_download_redirect_that_carries_the_token_is_not_followed() -> None:
    # GitLab may redirect an artifact download to object storage, which sopgate fetches
    # without the token; a Location that holds the token would hand it to that host.
    client = Api(url=BASE, token=TOKEN, policy=RetryPolicy(sleep=lambda _: None))
    path = "/projects/7/jobs/5/artifacts/sopgate-report/sopgate-report.json"
    with responses.RequestsMock() as rsps:
        where = f"https://storage.example.com/a?X-Token={TOKEN}"
        rsps.add("GET", f"{BASE}/api/v4{path}", status=302, headers={"Location": where})
        with pytest.raises(ApiError) as raised:
            client.get_file(path)
    assert raised.value.location is None
    assert fragments(str(raised.value)) == []


def test_a_download_redirect_elsewhere_is_named_for_a_fetch_without_the_token() -> None:
    client = Api(url=BASE, token=TOKEN, policy=RetryPolicy(sleep=lambda _: None))
    path = "/projects/7/jobs/5/artifacts/sopgate-report/sopgate-report.json"
    with responses.RequestsMock() as rsps:
        where = "https://storage.example.com/a?X-Amz-Signature=abc"
        rsps.add("GET", f"{BASE}/api/v4{path}", status=302, headers={"Location": where})
        with pytest.raises(ApiError) as raised:
            client.get_file(path)
    assert raised.value.location == where


def version(head: str, at: str | None) -> dict[str, Any]:
    return fixture("mr_version", head_commit_sha=head, created_at=at)


AFTER = datetime(2026, 11, 25, 13, tzinfo=UTC)


@pytest.mark.parametrize(
    ("versions", "head", "at", "sha"),
    [
        (
            [version(HEAD, "2026-11-25T12:00:00Z"), version(OLD, "2026-11-24T08:00:00Z")],
            HEAD,
            AFTER,
            HEAD,
        ),
        (
            [version(HEAD, "2026-11-25T13:00:00Z"), version(OLD, "2026-11-24T08:00:00Z")],
            HEAD,
            AFTER,
            None,
        ),
        ([version(HEAD, "2026-11-25T12:00:00Z"), version(OLD, None)], HEAD, AFTER, None),
        (
            [version(HEAD, "2026-11-25T12:00:00Z"), version(HEAD, "2026-11-24T08:00:00Z")],
            HEAD,
            None,
            HEAD,
        ),
        ([version(HEAD, "2026-11-25T12:00:00Z")], "not-a-commit", AFTER, None),
        # a head that is no commit id proves nothing, even when a version names it
        ([version("not-a-commit", "2026-11-25T12:00:00Z")], "not-a-commit", AFTER, None),
        ([version(HEAD, "2026-11-25T12:00:00Z")], None, AFTER, None),
        # the newest version is the newest by time, not by the order of its sha: the head
        # pushed first was replaced, and an approval after its push is not on the new head
        (
            [version("f" * 40, "2026-11-24T08:00:00Z"), version("0" * 40, "2026-11-25T12:00:00Z")],
            "f" * 40,
            AFTER,
            None,
        ),
        # versions of the same time: GitLab's order (newest first) decides, never the sha
        (
            [version("0" * 40, "2026-11-25T12:00:00Z"), version("f" * 40, "2026-11-25T12:00:00Z")],
            "f" * 40,
            AFTER,
            None,
        ),
        ([], HEAD, AFTER, None),
        (None, HEAD, AFTER, None),
    ],
)
def test_head_since_puts_an_approval_on_the_head_only_when_the_versions_prove_it(
    versions: list[dict[str, Any]] | None, head: str, at: datetime | None, sha: str | None
) -> None:
    assert mapping.HeadSince(versions, head).sha(at) == sha


@pytest.mark.parametrize("name", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
def test_a_clear_text_request_never_goes_through_a_proxy(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Through a proxy, plain http hands the whole request, token included, to another
    host: a loopback stub (or SOPGATE_ALLOW_HTTP=1) is asked directly."""
    from tests.stubs.gitlab_stub import GitLabStub, serve

    for variable in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
    api = GitLabStub(routes={("GET", "/api/v4/projects/7"): (200, {"id": 7})})
    with serve(GitLabStub(fallback=(200, {"id": 666}))) as proxy, serve(api):
        monkeypatch.setenv(name, proxy.url)
        client = Api(url=api.url, token=TOKEN, policy=RetryPolicy(sleep=lambda _: None))
        assert client.get("/projects/7") == {"id": 7}
    assert proxy.requests == []
    assert [r.headers.get("PRIVATE-TOKEN") for r in api.requests] == [TOKEN]
