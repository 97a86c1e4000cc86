"""The GitLab transport against hostile answers (issue 7): the token goes only to the API's
exact origin, writes follow no redirect, every listing and every request ends.

Each test runs the client against a stub GitLab on 127.0.0.1 and, where something could
leak, a second listener (``foreign``) that records every request it receives: the canary
token must never reach it, and nothing it would answer may be used.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import responses

from sopgate.errors import PlatformError
from sopgate.platforms.gitlab import from_env, settings_from_env
from sopgate.platforms.gitlab.client import Api, RetryPolicy
from sopgate.platforms.signoff import MARKER
from tests.stubs.gitlab_stub import GitLabStub, serve
from tests.unit.platforms.gitlab.gitlab_fixtures import BASE, TOKEN, fixture
from tests.unit.platforms.gitlab.test_gitlab_publish import setup

PROJECT = "/projects/7"
NOTES = "/projects/7/merge_requests/42/notes"
STATUS = "/projects/7/statuses/" + "a" * 40
V4 = "/api/v4"


def note(note_id: int) -> dict[str, Any]:
    return fixture("note", id=note_id, body=f"note {note_id}")


def api(stub: GitLabStub, **limits: Any) -> Api:
    return Api(
        url=stub.url, token=TOKEN, policy=RetryPolicy(sleep=lambda _: None, attempts=2), **limits
    )


@pytest.fixture
def stub() -> Iterator[GitLabStub]:
    routes: dict[tuple[str, str], tuple[int, Any]] = {
        ("GET", V4 + PROJECT): (200, {"id": 7, "path_with_namespace": "acme/fraud-model"}),
        ("GET", V4 + NOTES): (200, [note(i) for i in range(1, 151)]),
    }
    with serve(GitLabStub(routes=routes, token=TOKEN)) as served:
        yield served


@pytest.fixture
def foreign() -> Iterator[GitLabStub]:
    """Another host (another port of 127.0.0.1) that answers everything with 200 and an
    empty list, and records what it was sent."""
    with serve(GitLabStub(fallback=(200, []))) as served:
        yield served


def leaked(listener: GitLabStub) -> list[str]:
    """What reached the foreign listener: the requests, and whether they held the token."""
    return [
        f"{r.method} {r.path} token={TOKEN in str(r.headers) or TOKEN in str(r.body)}"
        for r in listener.requests
    ]


# -- pagination --------------------------------------------------------------------------


@pytest.mark.parametrize("path", [V4 + NOTES, "/steal", "/api4/notes"])
def test_a_next_link_to_another_host_is_refused_and_never_requested(
    stub: GitLabStub, foreign: GitLabStub, path: str
) -> None:
    stub.next_links[V4 + NOTES] = f"{foreign.url}{path}?page=2&per_page=100"
    with pytest.raises(PlatformError) as raised:
        api(stub).list(NOTES)
    port = foreign.url.rsplit(":", 1)[1]
    assert str(raised.value) == (
        f"GitLab sent a next-page link to another host for GET {NOTES}: refused "
        f"(http://127.0.0.1:{port} is not the API)"
    )
    assert raised.value.exit_code == 3
    assert leaked(foreign) == []


def _free_pair() -> tuple[int, int]:
    """Two free ports P and Q of 127.0.0.1 where Q's digits are P's plus one more
    (5001 and 50011): an origin check by string prefix takes Q for P."""
    for port in range(5001, 6553, 7):
        pair = (port, int(f"{port}1"))
        try:
            for candidate in pair:
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return pair
    pytest.skip("no free pair of lookalike ports")


def test_a_next_link_to_a_lookalike_port_is_refused() -> None:
    api_port, lookalike_port = _free_pair()
    with ExitStack() as stack:
        stub = stack.enter_context(
            serve(GitLabStub(routes={("GET", V4 + NOTES): (200, [note(1)])}), port=api_port)
        )
        foreign = stack.enter_context(serve(GitLabStub(fallback=(200, [])), port=lookalike_port))
        assert foreign.url.startswith(stub.url)
        stub.next_links[V4 + NOTES] = f"{foreign.url}{V4}{NOTES}?page=2"
        with pytest.raises(PlatformError, match=r"^GitLab sent a next-page link to another host"):
            api(stub).list(NOTES)
    assert leaked(foreign) == []


def test_a_next_link_to_the_same_page_is_refused_at_once(stub: GitLabStub) -> None:
    stub.next_links[V4 + NOTES] = f"{stub.url}{V4}{NOTES}?per_page=100&page=1&sort=asc"
    stub.next_pages[V4 + NOTES] = "1"
    with pytest.raises(PlatformError) as raised:
        api(stub).list(NOTES, sort="asc")
    assert str(raised.value) == (
        f"GitLab sent a next-page link for GET {NOTES} that repeats an earlier page: refused "
        "(the listing would never end)"
    )
    assert len(stub.requests) == 1


def test_a_listing_that_comes_back_to_an_earlier_page_is_refused(stub: GitLabStub) -> None:
    stub.next_pages[V4 + NOTES] = "1"
    stub.header_pages_only = True
    with pytest.raises(PlatformError, match=r"repeats an earlier page: refused"):
        api(stub).list(NOTES)
    assert len(stub.requests) == 1


def test_a_listing_longer_than_the_page_cap_is_refused(stub: GitLabStub) -> None:
    stub.routes[("GET", V4 + NOTES)] = (200, [note(i) for i in range(1, 351)])
    with pytest.raises(PlatformError) as raised:
        api(stub, max_pages=3).list(NOTES)
    assert str(raised.value) == f"GitLab listed more than 3 pages for GET {NOTES}: refused"
    assert len(stub.requests) == 3


def test_pagination_by_x_next_page_alone_reads_every_page(stub: GitLabStub) -> None:
    stub.header_pages_only = True
    notes = api(stub).list(NOTES, sort="asc")
    assert [n["id"] for n in notes] == list(range(1, 151))
    assert [r.query.get("page") for r in stub.requests] == [None, ["2"]]
    assert all(r.query["sort"] == ["asc"] for r in stub.requests)


def test_link_and_x_next_page_that_disagree_are_refused(stub: GitLabStub) -> None:
    stub.next_pages[V4 + NOTES] = "3"
    with pytest.raises(PlatformError) as raised:
        api(stub).list(NOTES)
    assert str(raised.value) == (
        f"GitLab's pagination headers disagree for GET {NOTES}: Link says page 2, "
        "X-Next-Page says 3: refused"
    )


def test_an_x_next_page_that_is_no_number_is_refused(stub: GitLabStub) -> None:
    stub.header_pages_only = True
    stub.next_pages[V4 + NOTES] = "2; http://elsewhere"
    with pytest.raises(PlatformError) as raised:
        api(stub).list(NOTES)
    assert str(raised.value) == (
        f"GitLab's X-Next-Page '2; http://elsewhere' for GET {NOTES} is not a page number: refused"
    )


def test_the_first_page_follows_no_link(stub: GitLabStub, foreign: GitLabStub) -> None:
    stub.next_links[V4 + NOTES] = f"{foreign.url}{V4}{NOTES}?page=2"
    assert len(api(stub).first_page(NOTES)) == 100
    assert leaked(foreign) == []


# -- redirects ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("path", [PROJECT, NOTES])
def test_a_read_redirected_to_another_host_is_refused(
    stub: GitLabStub, foreign: GitLabStub, code: int, path: str
) -> None:
    stub.redirects[("GET", V4 + path)] = (code, f"{foreign.url}{V4}{path}")
    client = api(stub)
    with pytest.raises(PlatformError) as raised:
        client.list(path) if path == NOTES else client.get(path)
    port = foreign.url.rsplit(":", 1)[1]
    assert str(raised.value) == (
        f"GitLab redirected GET {path} to another host: refused "
        f"(http://127.0.0.1:{port} is not the API)"
    )
    assert raised.value.exit_code == 3
    assert leaked(foreign) == []


def test_a_read_redirected_within_the_api_is_followed(stub: GitLabStub) -> None:
    stub.redirects[("GET", V4 + "/projects/acme%2Fold-name")] = (301, V4 + PROJECT)
    assert api(stub).get("/projects/acme%2Fold-name")["id"] == 7
    assert [r.path for r in stub.requests] == [V4 + "/projects/acme%2Fold-name", V4 + PROJECT]


def test_redirects_that_loop_within_the_api_end(stub: GitLabStub) -> None:
    stub.redirects[("GET", V4 + PROJECT)] = (302, V4 + PROJECT)
    with pytest.raises(PlatformError, match=r"^GitLab redirected GET /projects/7 more than 5 "):
        api(stub).get(PROJECT)
    assert len(stub.requests) == 6


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("elsewhere", [True, False])
def test_a_write_follows_no_redirect(
    stub: GitLabStub, foreign: GitLabStub, code: int, method: str, elsewhere: bool
) -> None:
    path = NOTES if method == "POST" else f"{NOTES}/1"
    target = f"{foreign.url if elsewhere else stub.url}{V4}{path}"
    stub.redirects[(method, V4 + path)] = (code, target)
    client = api(stub)
    send = client.post if method == "POST" else client.put
    with pytest.raises(PlatformError) as raised:
        send(path, {"body": "secret summary"})
    assert str(raised.value) == (
        f"GitLab answered {method} {path} with a redirect ({code}): refused, "
        "sopgate follows no redirect for a write"
    )
    assert leaked(foreign) == []
    assert [r.method for r in stub.requests] == [method]


def test_publishing_through_redirects_sends_nothing_elsewhere(
    tmp_path: Path, stub: GitLabStub, foreign: GitLabStub
) -> None:
    adapter, evaluation = setup(tmp_path)
    adapter.api = api(stub)
    commit = adapter.settings.commit
    stub.routes[("GET", V4 + NOTES)] = (200, [])
    stub.redirects[("POST", V4 + NOTES)] = (307, f"{foreign.url}{V4}{NOTES}")
    stub.redirects[("POST", f"{V4}{PROJECT}/statuses/{commit}")] = (307, foreign.url)
    lines = adapter.publish(evaluation, dry_run=False)
    assert lines[0] == (
        f"MR note: not published: GitLab answered POST {NOTES} with a redirect (307): "
        "refused, sopgate follows no redirect for a write"
    )
    assert lines[1] == (
        f"commit status: not published: GitLab answered POST {PROJECT}/statuses/{commit} "
        "with a redirect (307): refused, sopgate follows no redirect for a write"
    )
    assert leaked(foreign) == []
    assert [r.method for r in stub.requests] == ["GET", "POST", "POST"]


def test_publishing_updates_through_a_redirect_sends_nothing_elsewhere(
    tmp_path: Path, stub: GitLabStub, foreign: GitLabStub
) -> None:
    adapter, evaluation = setup(tmp_path)
    adapter.api = api(stub)
    mine = fixture("note", id=5, body=f"{MARKER}\nold", author={"id": 1, "username": "bot"})
    stub.routes[("GET", V4 + NOTES)] = (200, [mine])
    stub.routes[("GET", V4 + "/user")] = (200, {"id": 1, "username": "bot"})
    stub.redirects[("PUT", f"{V4}{NOTES}/5")] = (308, f"{foreign.url}{V4}{NOTES}/5")
    lines = adapter.publish(evaluation, dry_run=False)
    assert lines[0].startswith(f"MR note: not published: GitLab answered PUT {NOTES}/5 with a ")
    assert leaked(foreign) == []


# -- deadlines ---------------------------------------------------------------------------


def test_a_dripped_body_ends_at_the_request_deadline(stub: GitLabStub) -> None:
    stub.drips[V4 + PROJECT] = 0.2
    started = time.monotonic()
    with pytest.raises(PlatformError) as raised:
        api(stub, request_deadline=1.0).get(PROJECT)
    assert time.monotonic() - started < 3.0
    assert str(raised.value) == "GitLab GET /projects/7 took longer than 1 s: gave up"


def test_a_slow_endpoint_ends_at_the_overall_budget(stub: GitLabStub) -> None:
    stub.delays[V4 + PROJECT] = 5.0
    started = time.monotonic()
    with pytest.raises(PlatformError) as raised:
        api(stub, budget=1.0).get(PROJECT)
    assert time.monotonic() - started < 3.0
    assert str(raised.value) == (
        "GitLab GET /projects/7: all requests to GitLab together took longer than 1 s: gave up"
    )
    assert len(stub.requests) == 1  # the budget is spent: no retry


def test_the_budget_counts_every_request(stub: GitLabStub) -> None:
    stub.delays[V4 + PROJECT] = 0.4
    client = api(stub, budget=1.0)
    with pytest.raises(PlatformError) as raised:
        for _ in range(4):
            client.get(PROJECT)
    assert str(raised.value).endswith(
        ": all requests to GitLab together took longer than 1 s: gave up"
    )
    assert 2 <= len(stub.requests) <= 3


def test_a_body_cut_short_is_an_error_not_a_shorter_answer(stub: GitLabStub) -> None:
    stub.cuts.add(V4 + NOTES)
    with pytest.raises(PlatformError) as raised:
        api(stub).list(NOTES)
    assert str(raised.value) == (
        f"cannot reach GitLab at {stub.url} (GET {NOTES}): ConnectionError"
    )
    assert len(stub.requests) == 2  # a read is retried once (attempts=2), then given up


def test_the_budget_counts_retry_sleeps() -> None:
    slept: list[float] = []
    client = Api(url=BASE, token=TOKEN, policy=RetryPolicy(sleep=slept.append), budget=10.0)
    with responses.RequestsMock() as rsps:
        rsps.add("GET", f"{BASE}{V4}{PROJECT}", status=503, headers={"Retry-After": "12"})
        with pytest.raises(PlatformError) as raised:
            client.get(PROJECT)
    assert slept == []
    assert str(raised.value) == (
        f"GitLab kept failing GET {PROJECT}: 503 Service Unavailable; waiting 12s more would "
        "pass sopgate's 10s budget (SOPGATE_API_TIMEOUT)"
    )


def test_the_budget_restarts_for_each_gather_or_publish(stub: GitLabStub) -> None:
    stub.delays[V4 + PROJECT] = 0.3
    client = api(stub, budget=1.0)
    for _ in range(2):  # 1.2 s in all: past one budget, within each
        client.restart_budget()
        client.get(PROJECT)
        client.get(PROJECT)


# -- settings ----------------------------------------------------------------------------


def env(**changes: str) -> dict[str, str]:
    return {
        "GITLAB_TOKEN": TOKEN,
        "CI_API_V4_URL": "https://gitlab.example.com/api/v4",
        "CI_PROJECT_ID": "7",
        "CI_COMMIT_SHA": "a" * 40,
        **changes,
    }


@pytest.mark.parametrize("name", ["CI_API_V4_URL", "CI_SERVER_URL"])
def test_a_clear_text_api_url_is_refused(name: str) -> None:
    url = "http://gitlab.example.com" + ("/api/v4" if name == "CI_API_V4_URL" else "")
    values = env(**{"CI_API_V4_URL": "", name: url})
    with pytest.raises(PlatformError) as raised:
        settings_from_env(values)
    assert str(raised.value) == (
        f"{name} is http:// (gitlab.example.com): the token would travel in clear text; use "
        "https://, or set SOPGATE_ALLOW_HTTP=1 if this is intended"
    )


@pytest.mark.parametrize(
    ("url", "extra"),
    [
        ("http://gitlab.example.com/api/v4", {"SOPGATE_ALLOW_HTTP": "1"}),
        ("http://127.0.0.1:5001/api/v4", {}),
        ("http://localhost/api/v4", {}),
        ("https://gitlab.example.com/api/v4", {}),
    ],
)
def test_https_loopback_or_an_explicit_opt_in_is_accepted(url: str, extra: dict[str, str]) -> None:
    assert settings_from_env(env(CI_API_V4_URL=url, **extra)).server_url == url[: -len("/api/v4")]


def test_sopgate_api_timeout_sets_the_budget() -> None:
    assert from_env(env()).api.budget_seconds == 120.0
    # the template's wait timeout, set in the same job, is another setting
    assert from_env(env(SOPGATE_TIMEOUT="2h")).api.budget_seconds == 120.0
    assert from_env(env(SOPGATE_API_TIMEOUT="7.5")).api.budget_seconds == 7.5
    for bad in ("soon", "0", "-3", "nan", "inf"):
        with pytest.raises(PlatformError) as raised:
            from_env(env(SOPGATE_API_TIMEOUT=bad))
        assert str(raised.value) == (
            f"SOPGATE_API_TIMEOUT={bad!r} is not a number of seconds greater than 0"
        )
