"""Bounded retries and one-line errors of the GitLab client."""

from __future__ import annotations

import pytest
import requests
import responses

from sopgate.errors import PlatformError
from sopgate.platforms.gitlab.client import Api, ApiError, RetryPolicy
from tests.unit.platforms.gitlab.gitlab_fixtures import BASE, TOKEN

URL = f"{BASE}/api/v4/projects/7/merge_requests/42"


def api(slept: list[float], **policy: float) -> Api:
    return Api(url=BASE, token=TOKEN, policy=RetryPolicy(sleep=slept.append, **policy))  # type: ignore[arg-type]


def test_transient_errors_are_retried_with_backoff() -> None:
    slept: list[float] = []
    with responses.RequestsMock() as rsps:
        rsps.add("GET", URL, status=502)
        rsps.add("GET", URL, status=503)
        rsps.add("GET", URL, json={"iid": 42})
        assert api(slept).get("/projects/7/merge_requests/42") == {"iid": 42}
    assert slept == [1.0, 2.0]


def test_rate_limits_honour_retry_after() -> None:
    slept: list[float] = []
    with responses.RequestsMock() as rsps:
        rsps.add("GET", URL, status=429, headers={"Retry-After": "7"})
        rsps.add("GET", URL, json={"iid": 42})
        api(slept).get("/projects/7/merge_requests/42")
    assert slept == [7.0]


def test_a_retry_after_beyond_the_bound_gives_up_at_once() -> None:
    slept: list[float] = []
    with responses.RequestsMock() as rsps:
        rsps.add("GET", URL, status=429, headers={"Retry-After": "3600"})
        with pytest.raises(PlatformError) as raised:
            api(slept).get("/projects/7/merge_requests/42")
    assert slept == []
    assert str(raised.value) == (
        "GitLab kept failing GET /projects/7/merge_requests/42: 429 Too Many Requests; GitLab "
        "asked to retry after 3600s, more than the 30s sopgate waits"
    )


def test_attempts_are_bounded() -> None:
    slept: list[float] = []
    with responses.RequestsMock() as rsps:
        rsps.add("GET", URL, status=500)
        with pytest.raises(PlatformError) as raised:
            api(slept).get("/projects/7/merge_requests/42")
        assert len(rsps.calls) == 4
    assert slept == [1.0, 2.0, 4.0]
    assert str(raised.value) == (
        "GitLab kept failing GET /projects/7/merge_requests/42: "
        "500 Internal Server Error, still after 4 attempts"
    )


def test_total_sleep_is_bounded() -> None:
    slept: list[float] = []
    with responses.RequestsMock() as rsps:
        rsps.add("GET", URL, status=503, headers={"Retry-After": "25"})
        with pytest.raises(PlatformError, match=r"still after 3 attempts in 50s$"):
            api(slept, budget=60.0).get("/projects/7/merge_requests/42")
    assert slept == [25.0, 25.0]


def test_resource_lock_is_retried_even_for_a_post() -> None:
    slept: list[float] = []
    with responses.RequestsMock() as rsps:
        rsps.add("POST", f"{URL}/notes", status=409, json={"message": "Resource lock"})
        rsps.add("POST", f"{URL}/notes", status=201, json={"id": 1})
        assert api(slept).post("/projects/7/merge_requests/42/notes", {"body": "x"}) == {"id": 1}
    assert slept == [1.0]


def test_a_post_is_not_repeated_blindly_after_a_server_error() -> None:
    slept: list[float] = []
    with responses.RequestsMock() as rsps:
        rsps.add("POST", f"{URL}/notes", status=502)
        with pytest.raises(ApiError) as raised:
            api(slept).post("/projects/7/merge_requests/42/notes", {"body": "x"})
        assert len(rsps.calls) == 1
    assert raised.value.status == 502


def test_a_conflict_that_is_not_a_lock_is_an_error() -> None:
    with responses.RequestsMock() as rsps:
        rsps.add("GET", URL, status=409, json={"message": "Conflict"})
        with pytest.raises(ApiError) as raised:
            api([]).get("/projects/7/merge_requests/42")
    assert raised.value.status == 409


def test_unreachable_server() -> None:
    slept: list[float] = []
    with responses.RequestsMock() as rsps:
        rsps.add("GET", URL, body=requests.ConnectionError(f"refused {TOKEN}"))
        with pytest.raises(PlatformError) as raised:
            api(slept).get("/projects/7/merge_requests/42")
    assert str(raised.value) == (
        "cannot reach GitLab at https://gitlab.example.com "
        "(GET /projects/7/merge_requests/42): ConnectionError"
    )
    assert slept == [1.0, 2.0, 4.0]


def test_html_instead_of_json_is_unusable() -> None:
    with responses.RequestsMock() as rsps:
        rsps.add("GET", URL, body="<html>login</html>", content_type="application/json")
        with pytest.raises(PlatformError, match=r"^GitLab answered unusably to GET "):
            api([]).list("/projects/7/merge_requests/42")


def test_the_token_never_appears_in_errors() -> None:
    with responses.RequestsMock() as rsps:
        rsps.add("GET", URL, status=403, json={"message": f"403 Forbidden for {TOKEN}"})
        with pytest.raises(PlatformError) as raised:
            api([]).get("/projects/7/merge_requests/42")
    assert TOKEN not in str(raised.value)
    assert TOKEN not in raised.value.diagnostics()
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
