"""Issue 7, GitHub transport: the token goes only to the API origin, writes follow no
redirect, every call ends. Real HTTP against the stub on 127.0.0.1 and a second listener
(another origin) that records every request it gets, so each test can show that the canary
token never reached it."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from conftest import CANARY, FIXTURES, HEAD, load  # type: ignore[import-not-found]

from sopgate.cli import main
from sopgate.errors import PlatformError
from sopgate.evaluate import Evaluation, evaluate
from sopgate.platforms.github import GitHubAdapter, RetryPolicy, from_env, settings_from_env
from sopgate.platforms.github.api import Api
from sopgate.sop.load import parse_sop

sys.path.insert(0, str(Path(__file__).parents[3] / "stubs"))
from github_stub import GitHubState, GitHubStub, Listener, Trick  # type: ignore[import-not-found]

REPO = "/repos/acme/fraud-model"
REVIEWS = f"{REPO}/pulls/42/reviews"
NO_RETRY = RetryPolicy(attempts=1)


def never_reached(other: Listener) -> None:
    """The second listener heard nothing at all, so certainly not the token."""
    assert not any(CANARY in json.dumps([h.headers, h.body]) for h in other.heard)
    assert other.heard == []


@pytest.fixture
def state() -> GitHubState:
    sop = (FIXTURES / "sopgate.yml").read_text()
    return GitHubState(
        files={".sopgate.yml": sop, "docs/model-card.md": "card"},
        teams={"acme/sre": ["alice", "bob"]},
        reviews=load("reviews-page1.json"),
        comments=load("comments.json")[:2],
        check_runs=load("check-runs.json")["check_runs"],
    )


@pytest.fixture
def stub(state: GitHubState) -> Iterator[GitHubStub]:
    with GitHubStub(state) as served:
        yield served


@pytest.fixture
def other() -> Iterator[Listener]:
    with Listener() as listening:
        yield listening


def api(stub: GitHubStub, **options: float) -> Api:
    return Api(stub.url, CANARY, retry=NO_RETRY, **options)  # type: ignore[arg-type]


# -- reads: next-page links -------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_next_link_to_another_origin_is_refused_and_never_followed(
    stub: GitHubStub, other: Listener, state: GitHubState, host: str
) -> None:
    port = other.url.rsplit(":", 1)[1]
    state.tricks.append(Trick(REVIEWS, "next", to=f"http://{host}:{port}{REVIEWS}?page=2"))
    with pytest.raises(PlatformError) as caught:
        api(stub).get_all(REVIEWS)
    assert str(caught.value) == (
        f"GitHub sent a next-page link to another host for {REVIEWS}: refused "
        f"(http://{host}:{port} is not the API)"
    )
    assert caught.value.exit_code == 3
    never_reached(other)


def test_a_next_link_with_another_scheme_is_refused(stub: GitHubStub, state: GitHubState) -> None:
    port = stub.url.rsplit(":", 1)[1]
    state.tricks.append(Trick(REVIEWS, "next", to=f"https://127.0.0.1:{port}{REVIEWS}?page=2"))
    with pytest.raises(PlatformError, match="next-page link to another host"):
        api(stub).get_all(REVIEWS)
    assert len(state.requests) == 1


def test_a_self_link_is_refused_after_one_request(stub: GitHubStub, state: GitHubState) -> None:
    state.tricks.append(Trick(REVIEWS, "self"))
    with pytest.raises(PlatformError) as caught:
        api(stub).get_all(REVIEWS)
    assert str(caught.value) == (
        f"GitHub sent a next-page link for {REVIEWS} that repeats an earlier page: refused "
        "(the listing would never end)"
    )
    assert len(state.requests) == 1


def test_a_listing_longer_than_max_pages_is_refused() -> None:
    def endless(request: object) -> tuple[int, dict[str, str], str]:
        page = int(str(getattr(request, "url", "")).rsplit("page=", 1)[1])
        nxt = f"https://api.github.com{REVIEWS}?per_page=100&page={page + 1}"
        return 200, {"Link": f'<{nxt}>; rel="next"'}, "[]"

    with responses.RequestsMock() as mocked:
        mocked.get(
            f"https://api.github.com{REVIEWS}?per_page=100",
            json=[],
            headers={"Link": f'<https://api.github.com{REVIEWS}?per_page=100&page=2>; rel="next"'},
        )
        mocked.add_callback(
            responses.GET,
            f"https://api.github.com{REVIEWS}",
            callback=endless,
            match=[responses.matchers.query_param_matcher({"per_page": "100"}, strict_match=False)],
        )
        client = Api("https://api.github.com", CANARY, retry=NO_RETRY, max_pages=5)
        with pytest.raises(PlatformError) as caught:
            client.get_all(REVIEWS)
        assert str(caught.value) == f"GitHub listed more than 5 pages for {REVIEWS}: refused"
        assert len(mocked.calls) == 5


# -- reads: redirects -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_origin_is_refused_and_never_followed(
    stub: GitHubStub, other: Listener, state: GitHubState, status: int
) -> None:
    state.tricks.append(Trick(REVIEWS, "redirect", status=status, to=f"{other.url}{{path}}"))
    with pytest.raises(PlatformError) as caught:
        api(stub).get_all(REVIEWS)
    assert str(caught.value) == (
        f"GitHub redirected {REVIEWS} to another host ({other.url}): refused"
    )
    never_reached(other)


def test_a_same_origin_redirect_is_followed_as_for_a_renamed_repository(
    stub: GitHubStub, state: GitHubState
) -> None:
    old = "/repos/acme/old-name/pulls/42/reviews"
    state.tricks.append(Trick(old, "redirect", status=301, to=f"{stub.url}{REVIEWS}?per_page=100"))
    status, items = api(stub).get_all(old)
    assert (status, len(items)) == (200, len(state.reviews))
    assert [r.path for r in state.requests] == [old, REVIEWS]
    assert all(r.authorized for r in state.requests)


def test_endless_same_origin_redirects_are_refused(stub: GitHubStub, state: GitHubState) -> None:
    state.tricks.append(Trick(REVIEWS, "redirect", status=302, to=f"{stub.url}{{path}}"))
    with pytest.raises(PlatformError) as caught:
        api(stub).get_all(REVIEWS)
    assert str(caught.value) == f"GitHub redirected {REVIEWS} more than 3 times: refused"
    assert len(state.requests) == 4


def test_a_redirect_without_location_is_refused(stub: GitHubStub, state: GitHubState) -> None:
    with responses.RequestsMock() as mocked:
        mocked.get(f"https://api.github.com{REVIEWS}?per_page=100", status=302)
        client = Api("https://api.github.com", CANARY, retry=NO_RETRY)
        with pytest.raises(PlatformError) as caught:
            client.get_all(REVIEWS)
    assert str(caught.value) == f"GitHub answered {REVIEWS} with HTTP 302 and no Location: refused"


# -- reads: every call ends -------------------------------------------------------------------


def test_a_dripped_body_ends_within_the_deadline(stub: GitHubStub, state: GitHubState) -> None:
    state.tricks.append(Trick(REVIEWS, "drip", seconds=0.2))
    started = time.monotonic()
    with pytest.raises(PlatformError) as caught:
        api(stub, deadline=1.5).get_all(REVIEWS)
    assert time.monotonic() - started < 3.5
    assert "took longer than 1.5 s: gave up" in str(caught.value)


def test_a_slow_endpoint_ends_within_the_deadline(stub: GitHubStub, state: GitHubState) -> None:
    state.tricks.append(Trick(REVIEWS, "slow", seconds=4))
    started = time.monotonic()
    with pytest.raises(PlatformError) as caught:
        Api(stub.url, CANARY, deadline=1.5).get_all(REVIEWS)  # retries allowed, budget not
    assert time.monotonic() - started < 3.5
    assert str(caught.value).startswith(f"GitHub did not answer {REVIEWS} within 1.5 s")


def test_an_oversized_answer_is_refused(stub: GitHubStub, state: GitHubState) -> None:
    state.files["big.json"] = "x" * (2 * 1024 * 1024)
    with pytest.raises(PlatformError) as caught:
        api(stub, max_body=1024 * 1024).get(f"{REPO}/contents/big.json")
    assert "the answer is larger than 1 MiB: refused" in str(caught.value)


def test_a_drip_makes_the_cli_exit_3_within_the_configured_deadline(
    stub: GitHubStub,
    state: GitHubState,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".sopgate.yml").write_text(state.files[".sopgate.yml"])
    for name, value in stub_env(stub, tmp_path, SOPGATE_API_TIMEOUT="2").items():
        monkeypatch.setenv(name, value)
    state.tricks.append(Trick("/git/trees/", "drip", seconds=0.3))
    started = time.monotonic()
    code = main(["facts", "--platform", "github"])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 3
    assert elapsed < 5
    assert "took longer than 2 s: gave up" in err
    assert CANARY not in err


# -- settings ---------------------------------------------------------------------------------


def stub_env(stub: GitHubStub, workspace: Path, **extra: str) -> dict[str, str]:
    env = {
        "GITHUB_API_URL": f"{stub.url}/api/v3",
        "GITHUB_REPOSITORY": "acme/fraud-model",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(FIXTURES / "event-pull_request.json"),
        "GITHUB_SHA": HEAD,
        "GITHUB_TOKEN": CANARY,
        "GITHUB_WORKSPACE": str(workspace),
    }
    env.update(extra)
    return env


BASE_ENV = {"GITHUB_REPOSITORY": "acme/fraud-model", "GITHUB_TOKEN": CANARY}


@pytest.mark.parametrize(
    "url", ["http://github.example.com/api/v3", "http://10.0.0.7:8080/api/v3", "ftp://x/api"]
)
def test_a_clear_text_api_url_is_refused(url: str) -> None:
    with pytest.raises(PlatformError) as caught:
        settings_from_env({**BASE_ENV, "GITHUB_API_URL": url})
    assert caught.value.exit_code == 3
    assert "GITHUB_API_URL" in str(caught.value)


def test_clear_text_needs_an_explicit_opt_in() -> None:
    env = {**BASE_ENV, "GITHUB_API_URL": "http://github.example.com/api/v3"}
    with pytest.raises(PlatformError) as caught:
        settings_from_env(env)
    assert str(caught.value) == (
        "GITHUB_API_URL is http:// (github.example.com): the token would travel in clear "
        "text; use https://, or set SOPGATE_ALLOW_HTTP=1 if this is intended"
    )
    allowed = settings_from_env({**env, "SOPGATE_ALLOW_HTTP": "1"})
    assert allowed.api_url == "http://github.example.com/api/v3"


@pytest.mark.parametrize(
    "url", ["https://api.github.com", "http://127.0.0.1:8080/api/v3", "http://localhost:1"]
)
def test_https_and_loopback_urls_are_accepted(url: str) -> None:
    assert settings_from_env({**BASE_ENV, "GITHUB_API_URL": url}).api_url == url


@pytest.mark.parametrize("payload", ["[]", '["pull_request"]', '"x"', "42", "null"])
def test_an_event_payload_that_is_not_an_object_is_refused(tmp_path: Path, payload: str) -> None:
    event = tmp_path / "event.json"
    event.write_text(payload)
    with pytest.raises(PlatformError) as caught:
        settings_from_env({**BASE_ENV, "GITHUB_EVENT_PATH": str(event)})
    assert str(caught.value) == (
        f"the event payload $GITHUB_EVENT_PATH ({event}) is not a JSON object: refused"
    )


@pytest.mark.parametrize("value", ["2h", "0", "-1", "nan", "inf", "x"])
def test_a_bad_api_timeout_is_refused(value: str) -> None:
    with pytest.raises(PlatformError) as caught:
        from_env({**BASE_ENV, "SOPGATE_API_TIMEOUT": value})
    assert str(caught.value) == (
        f"SOPGATE_API_TIMEOUT={value.strip()!r} is not a number of seconds greater than 0"
    )


def test_the_api_timeout_is_read_from_the_environment() -> None:
    assert from_env({**BASE_ENV, "SOPGATE_API_TIMEOUT": "7.5"}).api.deadline == 7.5
    assert from_env(BASE_ENV).api.deadline == 120.0


# -- writes -----------------------------------------------------------------------------------


@pytest.fixture
def gathered(
    stub: GitHubStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[GitHubAdapter, Evaluation]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    adapter = from_env(stub_env(stub, tmp_path, SOPGATE_API_TIMEOUT="2"), retry=NO_RETRY)
    adapter.markdown = lambda e: "## sopgate\n"
    found = adapter.gather(sop_path=".sopgate.yml")
    loaded = parse_sop(found.sop_text or "", path=".sopgate.yml")
    return adapter, evaluate(loaded, found.facts, "staging")


Publish = tuple[GitHubAdapter, Evaluation]


def publish(gathered: Publish) -> list[str]:
    adapter, evaluation = gathered
    return adapter.publish(evaluation, dry_run=False)


def status_line(lines: list[str]) -> str:
    return next(line for line in lines if line.startswith("status: "))


def comment_line(lines: list[str]) -> str:
    return next(line for line in lines if line.startswith("comment: "))


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_status_post_answered_with_a_redirect_is_not_posted_and_not_followed(
    gathered: Publish, state: GitHubState, other: Listener, status: int
) -> None:
    state.tricks.append(
        Trick(
            f"{REPO}/statuses/", "redirect", method="POST", status=status, to=f"{other.url}{{path}}"
        )
    )
    lines = publish(gathered)
    assert status_line(lines) == (
        f"status: commit status sopgate/staging on {HEAD[:12]} not set: HTTP {status}: "
        "a redirect; writes follow none"
    )
    assert state.statuses == []
    never_reached(other)
    assert all(CANARY not in line for line in lines)


def test_a_same_origin_redirect_of_a_write_is_not_followed_either(
    gathered: Publish, state: GitHubState, stub: GitHubStub
) -> None:
    state.tricks.append(
        Trick(f"{REPO}/statuses/", "redirect", method="POST", status=307, to=f"{stub.url}/x")
    )
    lines = publish(gathered)
    assert "not set: HTTP 307: a redirect; writes follow none" in status_line(lines)
    assert not any(r.path == "/x" for r in state.requests)


def test_a_comment_post_answered_307_is_not_posted_and_not_followed(
    gathered: Publish, state: GitHubState, other: Listener
) -> None:
    state.tricks.append(
        Trick(
            r"/issues/42/comments$",
            "redirect",
            method="POST",
            status=307,
            to=f"{other.url}{{path}}",
        )
    )
    lines = publish(gathered)
    assert (
        comment_line(lines)
        == "comment: not posted on #42: HTTP 307: a redirect; writes follow none"
    )
    never_reached(other)


def test_a_comment_patch_answered_308_is_not_posted_and_not_followed(
    gathered: Publish, state: GitHubState, other: Listener
) -> None:
    state.comments.append(dict(load("comment-created.json"), id=99))
    state.tricks.append(
        Trick(
            r"/issues/comments/99$",
            "redirect",
            method="PATCH",
            status=308,
            to=f"{other.url}{{path}}",
        )
    )
    lines = publish(gathered)
    assert (
        comment_line(lines)
        == "comment: not posted on #42: HTTP 308: a redirect; writes follow none"
    )
    never_reached(other)


def test_the_comment_listing_refuses_a_foreign_next_link(
    gathered: Publish, state: GitHubState, other: Listener
) -> None:
    state.tricks.append(Trick(r"/issues/42/comments$", "next", to=f"{other.url}/steal"))
    lines = publish(gathered)
    assert comment_line(lines).startswith(
        "comment: not posted on #42: GitHub sent a next-page link to another host"
    )
    never_reached(other)


def test_a_dripped_write_answer_ends_within_the_deadline(
    gathered: Publish, state: GitHubState
) -> None:
    state.tricks.append(Trick(f"{REPO}/statuses/", "drip", method="POST", seconds=0.3))
    started = time.monotonic()
    lines = publish(gathered)
    assert time.monotonic() - started < 5
    assert "took longer than 2 s: gave up" in status_line(lines)


def test_writes_reach_the_stub_with_the_token_and_nothing_else(
    gathered: Publish, state: GitHubState
) -> None:
    lines = publish(gathered)
    assert status_line(lines) == f"status: commit status sopgate/staging on {HEAD[:12]}: pending"
    assert comment_line(lines).startswith("comment: created https://github.invalid/")
    writes = [r for r in state.requests if r.method != "GET"]
    assert [r.method for r in writes] == ["POST", "POST"]
    assert all(r.authorized for r in writes)
