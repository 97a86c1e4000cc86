"""Bounded retries, failure messages and token hygiene of the REST client."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
import responses
from conftest import CANARY, HEAD, MERGE, REPO, FakeTime, add_pr_answers  # type: ignore[import-not-found]

from sopgate.errors import PlatformError
from sopgate.platforms.github import GitHubAdapter
from sopgate.platforms.github.api import Api, RetryPolicy

Make = Callable[..., GitHubAdapter]
PULLS = f"{REPO}/commits/{MERGE}/pulls?per_page=100"


def test_retries_5xx_then_succeeds(
    make_adapter: Make, mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    add_pr_answers(mocked, commit=MERGE)
    mocked.get(PULLS, status=502, body="<html>bad gateway</html>")
    mocked.get(PULLS, status=503, json={"message": "unavailable"})
    mocked.get(PULLS, json=[])
    facts = make_adapter("push").gather(sop_path=".sopgate.yml").facts
    assert facts.change is None
    assert fake_time.sleeps == [1.0, 2.0]


def test_retry_after_is_honoured(
    make_adapter: Make, mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    add_pr_answers(mocked, commit=MERGE)
    mocked.get(
        PULLS,
        status=403,
        headers={"Retry-After": "7"},
        json={"message": "You have exceeded a secondary rate limit."},
    )
    mocked.get(PULLS, status=429, headers={"Retry-After": "3"}, json={"message": "slow down"})
    mocked.get(PULLS, json=[])
    make_adapter("push").gather(sop_path=".sopgate.yml")
    assert fake_time.sleeps == [7.0, 3.0]


def test_gives_up_after_four_tries(
    make_adapter: Make, mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    mocked.get(PULLS, status=500, json={"message": "Server Error"})
    with pytest.raises(PlatformError) as caught:
        make_adapter("push").gather(sop_path=".sopgate.yml")
    assert str(caught.value) == (
        f"GitHub answered /repos/acme/fraud-model/commits/{MERGE}/pulls with HTTP 500: "
        "Server Error (gave up after 4 tries in 7 s)"
    )
    assert len(mocked.calls) == 4


def test_long_retry_after_exceeds_budget(
    make_adapter: Make, mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    mocked.get(PULLS, status=429, headers={"Retry-After": "3600"}, json={"message": "wait"})
    with pytest.raises(PlatformError, match=r"HTTP 429: wait.*gave up after 1 try in 0 s"):
        make_adapter("push").gather(sop_path=".sopgate.yml")
    assert fake_time.sleeps == []


def test_primary_rate_limit_waits_for_reset_only_within_budget(
    make_adapter: Make, mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    mocked.get(
        PULLS,
        status=403,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "9999999999"},
        json={"message": "API rate limit exceeded"},
    )
    with pytest.raises(PlatformError, match="API rate limit exceeded"):
        make_adapter("push").gather(sop_path=".sopgate.yml")
    assert fake_time.sleeps == []


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            {"body": requests.ConnectionError("refused")},
            f"cannot reach GitHub for /repos/acme/fraud-model/commits/{MERGE}/pulls: "
            "ConnectionError (gave up after 4 tries in 7 s)",
        ),
        (
            {"body": requests.ReadTimeout("slow")},
            f"GitHub did not answer /repos/acme/fraud-model/commits/{MERGE}/pulls within 30 s "
            "(gave up after 4 tries in 7 s)",
        ),
        (
            {"body": "{not json", "status": 200},
            f"GitHub answered /repos/acme/fraud-model/commits/{MERGE}/pulls with malformed JSON "
            "(HTTP 200)",
        ),
        (
            {"json": {"message": "Not Found"}, "status": 404},
            f"GitHub answered /repos/acme/fraud-model/commits/{MERGE}/pulls with HTTP 404: "
            "Not Found; not found, or the token cannot see it",
        ),
        (
            {"json": {"message": "Resource not accessible by integration"}, "status": 403},
            f"GitHub answered /repos/acme/fraud-model/commits/{MERGE}/pulls with HTTP 403: "
            "Resource not accessible by integration; the token lacks a permission, or a rate "
            "limit was hit",
        ),
        (
            {"json": {"pulls": []}, "status": 200},
            f"GitHub answered /repos/acme/fraud-model/commits/{MERGE}/pulls with unexpected JSON "
            "(expected a list)",
        ),
    ],
)
def test_failures_are_one_line_platform_errors(
    make_adapter: Make, mocked: responses.RequestsMock, answer: dict[str, object], message: str
) -> None:
    mocked.get(PULLS, **answer)
    with pytest.raises(PlatformError) as caught:
        make_adapter("push").gather(sop_path=".sopgate.yml")
    assert str(caught.value) == message
    assert caught.value.exit_code == 3


def test_failed_team_listing_is_not_a_permission_note(
    make_adapter: Make, mocked: responses.RequestsMock
) -> None:
    add_pr_answers(mocked)
    mocked.replace(
        responses.GET,
        "https://api.github.com/orgs/acme/teams/sre/members?per_page=100",
        status=500,
        json={"message": "boom"},
    )
    with pytest.raises(PlatformError, match="teams/sre/members with HTTP 500"):
        make_adapter().gather(sop_path=".sopgate.yml")


def test_token_never_appears(
    make_adapter: Make, mocked: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    # A server that echoes the token back must not get it into our messages (the first
    # request of a gather: the base branch's commit).
    mocked.get(
        f"{REPO}/branches/main",
        status=401,
        json={"message": f"Bad credentials: Bearer {CANARY}"},
    )
    adapter = make_adapter()
    with pytest.raises(PlatformError) as caught:
        adapter.gather(sop_path=".sopgate.yml")
    sent = mocked.calls[0].request.headers["Authorization"]
    assert sent == f"Bearer {CANARY}"
    out = capsys.readouterr()
    texts = [
        str(caught.value),
        caught.value.diagnostics(),
        repr(caught.value),
        out.out,
        out.err,
        repr(adapter),
        repr(adapter.api),
        repr(adapter.settings),
    ]
    assert all(CANARY not in text for text in texts)
    assert "Bad credentials: Bearer ***" in str(caught.value)


def test_redact_and_link_parsing() -> None:
    api = Api("https://api.github.com/", CANARY, retry=RetryPolicy())
    assert api.redact(f"x {CANARY} y") == "x *** y"
    assert api.url("/a", per_page=100) == "https://api.github.com/a?per_page=100"
    assert HEAD not in api.url("/b")


def test_retry_pauses_count_against_the_overall_deadline(
    make_adapter: Make, mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    busy = {"status": 503, "headers": {"Retry-After": "3"}, "json": {"message": "busy"}}
    for _ in range(3):
        mocked.get(PULLS, **busy)
    with pytest.raises(PlatformError) as caught:
        make_adapter("push", SOPGATE_API_TIMEOUT="5").gather(sop_path=".sopgate.yml")
    # 3 s fit in the 5 s of the gather, a second pause of 3 s would not: give up at once.
    assert fake_time.sleeps == [3.0]
    assert str(caught.value) == (
        f"GitHub answered /repos/acme/fraud-model/commits/{MERGE}/pulls with HTTP 503: busy "
        "(gave up after 2 tries in 3 s)"
    )


def test_each_gather_has_its_own_deadline(
    make_adapter: Make, mocked: responses.RequestsMock, fake_time: FakeTime
) -> None:
    add_pr_answers(mocked, commit=MERGE)
    mocked.get(PULLS, json=[])
    adapter = make_adapter("push", SOPGATE_API_TIMEOUT="5")
    adapter.gather(sop_path=".sopgate.yml")
    fake_time.sleep(60)  # a --wait interval between two looks
    adapter.gather(sop_path=".sopgate.yml")  # a new gather, a new budget


def test_the_token_goes_only_to_the_api_origin() -> None:
    api = Api("https://api.github.com", CANARY, retry=RetryPolicy(attempts=1))
    with responses.RequestsMock() as mocked:
        with pytest.raises(PlatformError) as caught:
            api._once("GET", "https://api.github.com.evil.example/x", {}, "/x")
        assert len(mocked.calls) == 0
    assert (
        str(caught.value) == "refused to send a request to https://api.github.com.evil.example:443"
    )
