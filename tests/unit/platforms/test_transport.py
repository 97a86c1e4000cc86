"""The transport rules both adapters share (DESIGN.md "Trust"): exact origins, clear-text
refusal, deadlines, page guards and bounded body reads."""

from __future__ import annotations

from typing import Any

import pytest

from sopgate.errors import PlatformError
from sopgate.platforms.transport import (
    Deadline,
    PageGuard,
    budget_from_env,
    describe_origin,
    origin,
    read_body,
    require_safe_api_url,
    same_origin,
)

API = "http://127.0.0.1:5001/api/v4"


@pytest.mark.parametrize(
    ("url", "same"),
    [
        ("http://127.0.0.1:5001/api/v4/projects?page=2", True),
        ("HTTP://127.0.0.1:5001/other/path", True),  # origin, not path: the path may differ
        ("http://127.0.0.1:50011/api/v4/projects", False),  # a port that only starts the same
        ("http://127.0.0.1:501/api/v4/projects", False),
        ("https://127.0.0.1:5001/api/v4/projects", False),
        ("http://localhost:5001/api/v4/projects", False),
        ("http://127.0.0.1:5001@evil.example/api/v4", False),  # userinfo, then another host
        ("http://127.0.0.1:notaport/api/v4", False),
        ("/api/v4/projects", False),  # relative: resolve against the page first
    ],
)
def test_same_origin_is_exact(url: str, same: bool) -> None:
    assert same_origin(url, API) is same


def test_default_ports_are_explicit() -> None:
    assert origin("https://API.GitHub.com/x") == ("https", "api.github.com", 443)
    assert same_origin("https://api.github.com:443/repos", "https://api.github.com")
    assert describe_origin("http://user:pw@example.com/x?y") == "http://example.com:80"


@pytest.mark.parametrize(
    "url",
    ["https://gitlab.example.com", "http://127.0.0.1:8080", "http://[::1]:80", "http://localhost"],
)
def test_https_and_loopback_are_safe(url: str) -> None:
    require_safe_api_url(url, {}, platform="GitLab", name="CI_API_V4_URL")


def test_clear_text_elsewhere_needs_the_opt_in() -> None:
    url = "http://gitlab.example.com/api/v4"
    with pytest.raises(PlatformError) as caught:
        require_safe_api_url(url, {}, platform="GitLab", name="CI_API_V4_URL")
    assert str(caught.value) == (
        "CI_API_V4_URL is http:// (gitlab.example.com): the token would travel in clear text; "
        "use https://, or set SOPGATE_ALLOW_HTTP=1 if this is intended"
    )
    require_safe_api_url(url, {"SOPGATE_ALLOW_HTTP": "1"}, platform="GitLab", name="X")


@pytest.mark.parametrize("url", ["", "gitlab.example.com", "file:///etc/passwd", "https://:80/"])
def test_unusable_api_urls_are_refused(url: str) -> None:
    with pytest.raises(PlatformError, match="is not a usable GitLab API URL"):
        require_safe_api_url(url, {}, platform="GitLab", name="CI_API_V4_URL")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_deadline_ends_with_its_parent_and_names_the_one_that_ended() -> None:
    clock = Clock()
    whole = Deadline(5, "asking GitLab", clock=clock)
    clock.now = 3
    one = Deadline(60, "GitLab's answer to /x", clock=clock, parent=whole)
    assert one.remaining() == 2
    clock.now = 5
    with pytest.raises(PlatformError) as caught:
        one.check()
    assert str(caught.value) == "asking GitLab took longer than 5 s: gave up"
    alone = Deadline(1, "GitLab's answer to /y", clock=clock)
    clock.now = 6
    with pytest.raises(PlatformError, match=r"^GitLab's answer to /y took longer than 1 s"):
        alone.check()


def test_a_page_guard_refuses_foreign_repeated_and_endless_listings() -> None:
    guard = PageGuard(API, "GitLab", "/projects/1/notes", max_pages=2)
    guard.visit(f"{API}/projects/1/notes?page=1")
    with pytest.raises(PlatformError) as foreign:
        guard.visit("http://127.0.0.1:50011/api/v4/projects/1/notes?page=2")
    assert str(foreign.value) == (
        "GitLab sent a next-page link to another host for /projects/1/notes: refused "
        "(http://127.0.0.1:50011 is not the API)"
    )
    with pytest.raises(PlatformError, match="repeats an earlier page: refused"):
        guard.visit(f"{API}/projects/1/notes?page=1")
    guard.visit(f"{API}/projects/1/notes?page=2")
    with pytest.raises(PlatformError) as endless:
        guard.visit(f"{API}/projects/1/notes?page=3")
    assert str(endless.value) == "GitLab listed more than 2 pages for /projects/1/notes: refused"


class Raw:
    """A response body that arrives one byte per read, each read taking ``step`` seconds."""

    def __init__(self, body: bytes, clock: Clock, step: float) -> None:
        self.body, self.clock, self.step = body, clock, step

    def read1(self, amount: int, decode_content: bool = True) -> bytes:
        self.clock.now += self.step
        chunk, self.body = self.body[:1], self.body[1:]
        return chunk


class Response:
    def __init__(self, raw: Raw) -> None:
        self.raw = raw
        self.closed = False
        self._content: Any = False

    def close(self) -> None:
        self.closed = True


def test_a_dripped_body_cannot_outlast_the_deadline() -> None:
    clock = Clock()
    response = Response(Raw(b"x" * 100, clock, step=1.0))
    with pytest.raises(PlatformError, match=r"^GitHub's answer to /x took longer than 10 s"):
        read_body(response, Deadline(10, "GitHub's answer to /x", clock=clock))  # type: ignore[arg-type]
    assert response.closed and clock.now == 10


def test_a_body_is_read_whole_and_stored() -> None:
    clock = Clock()
    response = Response(Raw(b'{"a": 1}', clock, step=0.0))
    assert read_body(response, Deadline(10, "x", clock=clock)) == b'{"a": 1}'  # type: ignore[arg-type]
    assert response._content == b'{"a": 1}'


def test_an_oversized_body_is_refused() -> None:
    clock = Clock()
    response = Response(Raw(b"x" * 10, clock, step=0.0))
    with pytest.raises(PlatformError, match="larger than"):
        read_body(response, Deadline(10, "x", clock=clock), max_bytes=5)  # type: ignore[arg-type]
    assert response.closed


@pytest.mark.parametrize(("value", "seconds"), [("", 120.0), ("2", 2.0), (" 0.5 ", 0.5)])
def test_the_deadline_comes_from_the_environment(value: str, seconds: float) -> None:
    assert budget_from_env({"SOPGATE_API_TIMEOUT": value}) == seconds


@pytest.mark.parametrize("value", ["2h", "0", "-3", "nan", "inf", "1e999"])
def test_a_deadline_that_is_not_a_positive_number_is_refused(value: str) -> None:
    with pytest.raises(PlatformError) as caught:
        budget_from_env({"SOPGATE_API_TIMEOUT": value})
    assert str(caught.value) == (
        f"SOPGATE_API_TIMEOUT={value.strip()!r} is not a number of seconds greater than 0"
    )
