"""A fresh-eyes audit of the GitHub adapter against DESIGN.md, "Trust" and "Where the new
facts come from": each test shows one way the gate could be talked open or the token could
leak, as it was found, and pins the fixed behaviour (decision and reason text).

Real HTTP only to 127.0.0.1 (the stub and a second listener); the rest with ``responses``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import responses
from conftest import API, CANARY, REPO, add_pr_answers, load  # type: ignore[import-not-found]

from sopgate.errors import PlatformError
from sopgate.platforms.github import GitHubAdapter, RetryPolicy
from sopgate.platforms.github.api import Api
from sopgate.platforms.signoff import command_lines
from sopgate.platforms.transport import PageGuard, same_origin

sys.path.insert(0, str(Path(__file__).parents[3] / "stubs"))
from github_stub import GitHubState, GitHubStub, Listener, Trick  # type: ignore[import-not-found]

Make = Callable[..., GitHubAdapter]
STUB_REPO = "/repos/acme/fraud-model"
REVIEWS = f"{STUB_REPO}/pulls/42/reviews"
NO_RETRY = RetryPolicy(attempts=1)


@pytest.fixture
def state() -> GitHubState:
    return GitHubState(reviews=load("reviews-page1.json"))


@pytest.fixture
def stub(state: GitHubState) -> Iterator[GitHubStub]:
    with GitHubStub(state) as served:
        yield served


@pytest.fixture
def other() -> Iterator[Listener]:
    with Listener() as listening:
        yield listening


def disguised(other: Listener, stub: GitHubStub) -> str:
    """``http://OTHER\\@STUB``: Python's ``urlsplit`` reads the stub's host and port, while
    ``requests`` (urllib3) sends the request to OTHER."""
    return f"{other.url}\\@{stub.url.removeprefix('http://')}"


# -- credentials only to the exact API origin ------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example\\@api.github.com/repos",  # urllib3 sends to evil.example
        "https://evil.example\t@api.github.com/repos",  # urlsplit drops the tab
        "https://user:pass@api.github.com/repos",  # credentials of another kind
        "https://api.github.com\\/repos",
        "https://api.github.com /repos",
    ],
)
def test_a_url_the_two_parsers_read_differently_is_no_origin_of_the_api(url: str) -> None:
    assert not same_origin(url, "https://api.github.com")


def test_explicit_and_implicit_default_ports_are_one_origin_also_behind_a_path() -> None:
    assert same_origin("https://ghes.example:443/api/v3/x?page=2", "https://ghes.example/api/v3")
    assert same_origin("https://GHES.example/api/v3/x", "https://ghes.example:443/api/v3")
    assert not same_origin("https://ghes.example:8443/api/v3/x", "https://ghes.example/api/v3")
    assert not same_origin("http://ghes.example/api/v3/x", "https://ghes.example/api/v3")


def test_a_page_guard_refuses_a_disguised_next_link_without_naming_more_than_its_origin() -> None:
    guard = PageGuard("https://api.github.com", "GitHub", "/repos/a/b/pulls/1/reviews")
    with pytest.raises(PlatformError) as caught:
        guard.visit("https://evil.example\\@api.github.com/repos/a/b/pulls/1/reviews?page=2")
    assert "next-page link to another host" in str(caught.value)
    assert "refused" in str(caught.value)


def test_a_disguised_next_link_is_refused_and_the_token_never_leaves(
    stub: GitHubStub, other: Listener, state: GitHubState
) -> None:
    state.tricks.append(Trick(REVIEWS, "next", to=f"{disguised(other, stub)}{REVIEWS}?page=2"))
    with pytest.raises(PlatformError) as caught:
        Api(stub.url, CANARY, retry=NO_RETRY).get_all(REVIEWS)
    assert str(caught.value).startswith(
        f"GitHub sent a next-page link to another host for {REVIEWS}: refused"
    )
    assert other.heard == []


def test_a_disguised_redirect_is_refused_and_the_token_never_leaves(
    stub: GitHubStub, other: Listener, state: GitHubState
) -> None:
    state.tricks.append(Trick(REVIEWS, "redirect", to=f"{disguised(other, stub)}{{path}}"))
    with pytest.raises(PlatformError) as caught:
        Api(stub.url, CANARY, retry=NO_RETRY).get_all(REVIEWS)
    assert str(caught.value).startswith(f"GitHub redirected {REVIEWS} to another host")
    assert str(caught.value).endswith(": refused")
    assert other.heard == []


def test_the_last_guard_checks_the_url_requests_will_really_use(
    stub: GitHubStub, other: Listener
) -> None:
    api = Api(stub.url, CANARY, retry=NO_RETRY)
    with pytest.raises(PlatformError, match=r"^refused to send a request to "):
        api._once("GET", f"{disguised(other, stub)}{REVIEWS}", {}, REVIEWS)
    assert other.heard == []


# -- the token never in messages or facts, also when the server echoes it ----------------------


def test_an_echoed_token_is_not_cut_in_half_by_the_message_limit() -> None:
    api = Api("https://api.github.com", CANARY, retry=NO_RETRY)
    message = "Bad credentials: " + "x" * (190 - len("Bad credentials: ")) + CANARY
    with responses.RequestsMock() as mocked:
        mocked.get(f"{API}/user", status=401, json={"message": message})
        with pytest.raises(PlatformError) as caught:
            api.get("/user")
    text = str(caught.value)
    assert CANARY[:6] not in text
    assert text.startswith("GitHub answered /user with HTTP 401: Bad credentials: xxx")
    assert text.endswith("the token is missing, expired or invalid")


def test_an_echoed_token_never_reaches_the_facts(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    reviews = load("reviews-page1.json")
    reviews[0]["html_url"] = f"https://github.com/acme/fraud-model/pull/42?t={CANARY}"
    mocked.get(f"{REPO}/pulls/42/reviews?per_page=100", json=reviews)
    comments = load("comments.json")
    comments[0]["html_url"] = f"https://github.com/x#{CANARY}"
    mocked.get(f"{REPO}/issues/42/comments?per_page=100", json=comments)
    mocked.get(f"{REPO}/pulls/42/reviews?per_page=100&page=2", json=[])
    add_pr_answers(mocked)
    facts = make_adapter().gather(sop_path=".sopgate.yml").facts
    dumped = facts.model_dump_json()
    assert CANARY not in dumped
    assert "t=***" in dumped


def test_an_echoed_token_in_the_created_comment_url_is_not_printed(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    from sopgate.platforms.github.gather import Found
    from sopgate.platforms.github.publish import Publisher

    adapter = make_adapter()
    mocked.get(f"{REPO}/issues/42/comments?per_page=100", json=[])
    mocked.post(
        f"{REPO}/issues/42/comments",
        status=201,
        json={"id": 5, "html_url": f"https://github.com/c/5?{CANARY}"},
    )
    publisher = Publisher(adapter.settings, adapter.api, lambda _e: "body")
    line = publisher.comment("body", Found("a" * 40, 42), dry_run=False)
    assert line == "comment: created https://github.com/c/5?***"


# -- a listing is whole or refused -------------------------------------------------------------


def test_a_later_page_answering_an_allowed_error_refuses_the_listing() -> None:
    api = Api("https://api.github.com", CANARY, retry=NO_RETRY)
    first = f"{API}/orgs/acme/teams/sre/members?per_page=100"
    second = f"{first}&page=2"
    with responses.RequestsMock() as mocked:
        mocked.get(first, json=[{"login": "alice"}], headers={"Link": f'<{second}>; rel="next"'})
        mocked.get(second, status=404, json={"message": "Not Found"})
        with pytest.raises(PlatformError) as caught:
            api.get_all("/orgs/acme/teams/sre/members", allow=frozenset({404}))
    assert str(caught.value) == (
        "GitHub answered /orgs/acme/teams/sre/members with HTTP 404 on a later page: "
        "the listing is incomplete: refused"
    )


# -- sign-offs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "<details>\n<summary>log</summary>\n\n/sop approve deploy\n\n</details>",
        "<details><summary>x</summary>\n\n/sop approve deploy\n</details>",
        "<div>\n\n/sop reject deploy not yet\n\n</div>",
        "<blockquote>\n\n/sop approve deploy\n\n</blockquote>",
        "<details>\n\n<div>\n\n</div>\n\n/sop approve deploy\n\n</details>",
        "| a |\n|---|\n/sop approve deploy",
        "| a | b |\n| - | - |\n| x | y |\n/sop emergency deploy outage",
    ],
)
def test_a_command_inside_an_html_block_or_a_table_is_none(body: str) -> None:
    assert list(command_lines(body)) == []


def test_a_command_after_a_closed_html_block_counts() -> None:
    body = "<details>\n<summary>log</summary>\n\nstuff\n\n</details>\n\n/sop approve deploy"
    assert list(command_lines(body)) == [("approve", "deploy", "")]


def test_a_void_or_self_closed_tag_opens_no_block() -> None:
    body = '<img src="x.png">\n\n/sop approve deploy\n\n<br/>\n\n/sop reject build flaky'
    assert list(command_lines(body)) == [
        ("approve", "deploy", ""),
        ("reject", "build", "flaky"),
    ]


def test_a_rejection_of_a_region_whose_id_has_a_space_is_read() -> None:
    # REGION_ID allows inner spaces ("us east"): the rejection must not be lost.
    assert list(command_lines("/sop reject production[us east] latency up")) == [
        ("reject", "production[us east]", "latency up")
    ]
    assert list(command_lines("/sop approve production[us east]")) == [
        ("approve", "production[us east]", "")
    ]
    assert list(command_lines("/sop approve production[us east] not yet")) == []


@pytest.mark.parametrize(
    "link",
    [
        "<{url}>; rel=next",  # RFC 8288: a token needs no quotes
        '<{url}>; type="application/json"; rel="next"',  # rel need not come first
        '<{first}>; rel="first", <{url}>; rel="next last"',  # several relations
        '<{url}>; REL="next"',  # parameter names are case-insensitive
    ],
)
def test_every_form_of_a_next_link_is_followed_so_no_page_is_silently_dropped(link: str) -> None:
    # A second page not read would drop its reviews: a rejection there would be lost.
    api = Api("https://api.github.com", CANARY, retry=NO_RETRY)
    first = f"{API}/repos/a/b/pulls/1/reviews?per_page=100"
    second = f"{first}&page=2"
    with responses.RequestsMock() as mocked:
        mocked.get(first, json=[{"id": 1}], headers={"Link": link.format(url=second, first=first)})
        mocked.get(second, json=[{"id": 2, "state": "CHANGES_REQUESTED"}])
        _, items = api.get_all("/repos/a/b/pulls/1/reviews")
    assert items == [{"id": 1}, {"id": 2, "state": "CHANGES_REQUESTED"}]


def test_a_prev_link_is_no_next_link() -> None:
    api = Api("https://api.github.com", CANARY, retry=NO_RETRY)
    first = f"{API}/repos/a/b/pulls/1/reviews?per_page=100"
    with responses.RequestsMock() as mocked:
        mocked.get(first, json=[{"id": 1}], headers={"Link": f'<{first}>; rel="prev"'})
        _, items = api.get_all("/repos/a/b/pulls/1/reviews")
    assert items == [{"id": 1}]


def test_an_empty_next_link_is_a_repeated_page_and_refused() -> None:
    api = Api("https://api.github.com", CANARY, retry=NO_RETRY)
    first = f"{API}/repos/a/b/pulls/1/reviews?per_page=100"
    with responses.RequestsMock() as mocked:
        mocked.get(first, json=[{"id": 1}], headers={"Link": '<>; rel="next"'})
        with pytest.raises(PlatformError) as caught:
            api.get_all("/repos/a/b/pulls/1/reviews")
    assert str(caught.value) == (
        "GitHub sent a next-page link for /repos/a/b/pulls/1/reviews that repeats an earlier "
        "page: refused (the listing would never end)"
    )


def test_an_echoed_token_in_a_base64_file_never_reaches_the_facts() -> None:
    import base64

    from sopgate.platforms.github.extras import Extras
    from sopgate.platforms.github.sop_source import SopSource
    from sopgate.sop.load import parse_sop

    sop = parse_sop(
        "sopgate: 1\nname: d\nroles: {sre: {users: [alice]}}\nsteps:\n  - id: release\n"
        '    owner: sre\n    evidence: [{path: "r.json", require: {ok: "== true"}}]\n',
        path="sop",
    ).sop
    api = Api("https://api.github.com", CANARY, retry=NO_RETRY)

    def answer(raw: bytes) -> dict[str, str]:
        return {"type": "file", "encoding": "base64", "content": base64.b64encode(raw).decode()}

    with responses.RequestsMock() as mocked:
        mocked.get(
            f"{API}/repos/a/b/contents/r.json?ref={'c' * 40}",
            json=answer(f'{{"ok": true, "by": "{CANARY}"}}'.encode()),
        )
        mocked.get(
            f"{API}/repos/a/b/contents/.sopgate.yml?ref=main",
            json=answer(f"# {CANARY}\n".encode()),
        )
        documents = Extras(api, "/repos/a/b", []).documents(sop, "c" * 40, ("r.json",), {})
        text = SopSource(api, "/repos/a/b").read(".sopgate.yml", "main")
    assert documents == {"r.json": {"ok": True, "by": "***"}}
    assert text == "# ***\n"


@pytest.mark.parametrize("group", ["acme/..", "acme/.", "../sre", "./sre"])
def test_a_dot_segment_in_a_group_never_lists_another_resource(
    make_adapter: Make, mocked: responses.RequestsMock, group: str
) -> None:
    # "/orgs/acme/teams/../members" is sent as "/orgs/acme/members": every member of the org.
    from sopgate.platforms.github.gather import Gatherer

    adapter = make_adapter()
    mocked.get(f"{API}/orgs/acme/members?per_page=100", json=[{"login": "mallory"}])
    gatherer = Gatherer(adapter.api, adapter.settings, lambda: None)  # type: ignore[arg-type,return-value]
    assert gatherer._members(group) is None
    assert gatherer.notes == [f"group {group} is not a GitHub org/team: membership unknown"]
    assert len(mocked.calls) == 0


@pytest.mark.parametrize("name", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_clear_text_request_never_goes_through_a_proxy(
    stub: GitHubStub, other: Listener, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # Through a proxy, plain http hands the whole request, token included, to another host.
    for variable in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv(name, other.url)
    _, items = Api(stub.url, CANARY, retry=NO_RETRY).get_all(REVIEWS)
    assert [item["id"] for item in items] == [item["id"] for item in load("reviews-page1.json")]
    assert other.heard == []


def _signoff_edited(
    mocked: responses.RequestsMock, adapter: GitHubAdapter, **times: object
) -> object:
    from sopgate.platforms.github.gather import Gatherer

    comment = {
        "id": 1,
        "user": {"login": "rita", "type": "User"},
        "body": "/sop approve go-no-go",
        "html_url": "https://github.com/acme/fraud-model/pull/42#issuecomment-1",
        **times,
    }
    mocked.get(f"{REPO}/issues/42/comments?per_page=100", json=[comment])
    gatherer = Gatherer(adapter.api, adapter.settings, lambda: None)  # type: ignore[arg-type,return-value]
    (approval,) = gatherer._signoffs(42)
    return approval.edited


@pytest.mark.parametrize(
    ("times", "edited"),
    [
        ({"created_at": "2026-11-26T08:00:00Z", "updated_at": "2026-11-26T08:00:00Z"}, False),
        # one instant written two ways: not an edit
        ({"created_at": "2026-11-26T08:00:00Z", "updated_at": "2026-11-26T08:00:00.000Z"}, False),
        ({"created_at": "2026-11-26T08:00:00Z", "updated_at": "2026-11-26T08:00:01Z"}, True),
        ({"created_at": "2026-11-26T08:00:00Z", "updated_at": None}, True),
        ({"created_at": "2026-11-26T08:00:00Z"}, True),
        ({"created_at": "2026-11-26T08:00:00Z", "updated_at": "yesterday"}, True),
        ({"created_at": None, "updated_at": None}, True),
        ({"created_at": "soon", "updated_at": "soon"}, True),
    ],
)
def test_a_sign_off_is_unedited_only_when_both_times_are_the_same_known_instant(
    make_adapter: Make, mocked: responses.RequestsMock, times: dict[str, object], edited: bool
) -> None:
    assert _signoff_edited(mocked, make_adapter(), **times) is edited


def test_an_api_url_with_credentials_is_refused_without_repeating_them() -> None:
    from sopgate.platforms.github import settings_from_env

    env = {
        "GITHUB_API_URL": f"https://x-access-token:{CANARY}@ghes.example/api/v3",
        "GITHUB_REPOSITORY": "acme/fraud-model",
        "GITHUB_TOKEN": "t" * 40,
    }
    with pytest.raises(PlatformError) as caught:
        settings_from_env(env)
    assert str(caught.value) == (
        "GITHUB_API_URL is not a usable GitHub API URL: 'https://***@ghes.example/api/v3'"
    )


def test_a_ghes_api_behind_a_path_prefix_pages_within_its_origin(
    stub: GitHubStub, other: Listener, state: GitHubState
) -> None:
    state.reviews = [dict(load("reviews-page1.json")[0], id=n) for n in range(250)]
    api = Api(f"{stub.url}/api/v3/", CANARY, retry=NO_RETRY)
    _, items = api.get_all(REVIEWS)
    assert [item["id"] for item in items] == list(range(250))
    assert [r.path for r in state.requests] == [REVIEWS] * 3
    assert all(r.authorized for r in state.requests)
    assert other.heard == []
