"""A small JSON client for GitHub's REST API used to gather facts.

Why not PyGithub here: gathering needs conditional requests (an ETag cache per URL so that a
``--wait`` loop re-asks cheaply), one request counter, and a retry policy bounded in count and
total time. PyGithub's objects hide the response headers those need, so listings go through
``requests`` directly; PyGithub is used for the writes in :mod:`.publish`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import requests

from sopgate import __version__
from sopgate.errors import PlatformError
from sopgate.platforms.retry import retry_after

JSON = Any

#: Statuses whose answer is worth asking again after a pause.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: at most ``attempts`` tries and ``budget`` seconds of waiting in all.

    ``sleep`` and ``clock`` are injectable so tests run instantly.
    """

    attempts: int = 4
    budget: float = 60.0
    backoff: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def delay(self, attempt: int, response: requests.Response | None) -> float:
        """Seconds to wait before try ``attempt + 1``: Retry-After, a rate-limit reset, or
        exponential backoff."""
        if response is not None:
            after = _retry_after(response)
            if after is not None:
                return after
        return float(self.backoff * 2 ** (attempt - 1))


def _retry_after(response: requests.Response) -> float | None:
    after = retry_after(response.headers)
    if after is not None:
        return after
    if response.headers.get("X-RateLimit-Remaining") == "0":
        reset = response.headers.get("X-RateLimit-Reset", "")
        if reset.isdigit():
            return max(0.0, float(reset) - time.time())
    return None


def is_rate_limited(status: int, headers: Any, body: str) -> bool:
    """GitHub answers 429, or 403 for primary and secondary rate limits."""
    if status == 429:
        return True
    if status != 403:
        return False
    text = body.lower()
    return (
        "retry-after" in {k.lower() for k in headers}
        or headers.get("X-RateLimit-Remaining") == "0"
        or "rate limit" in text
    )


@dataclass
class Page:
    status: int
    data: JSON
    next_url: str | None


@dataclass
class _Cached:
    etag: str
    data: JSON
    next_url: str | None


@dataclass
class Api:
    """GET-only JSON access with pagination, an ETag cache and bounded retries.

    The cache lives as long as the instance: a second :meth:`get` of the same URL sends
    ``If-None-Match`` and, on ``304 Not Modified``, returns the cached body.
    ``requests_made`` counts every HTTP request, ``not_modified`` the 304 answers.
    """

    base_url: str
    token: str | None = field(repr=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 30.0
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    requests_made: int = 0
    not_modified: int = 0
    _cache: dict[str, _Cached] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": f"sopgate/{__version__}",
            }
        )
        if self.token:
            self.session.headers["Authorization"] = f"Bearer {self.token}"

    def url(self, path: str, **params: str | int) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.base_url}{path}{query}"

    def redact(self, text: str) -> str:
        """``text`` with the token replaced: safe for messages and reports."""
        return text.replace(self.token, "***") if self.token else text

    def get(self, path: str, *, allow: frozenset[int] = frozenset(), **params: str | int) -> Page:
        """One GET; statuses in ``allow`` are returned, other failures raise PlatformError."""
        return self._get(self.url(path, **params), allow=allow, what=path)

    def get_all(
        self, path: str, *, key: str | None = None, allow: frozenset[int] = frozenset()
    ) -> tuple[int, list[JSON]]:
        """Every item of a paginated listing (``per_page=100``, following ``Link: next``).

        ``key`` names the array inside an object answer (``check_runs``). Returns the status
        of the first page (an allowed error status gives an empty list) and the items in the
        order GitHub lists them.
        """
        items: list[JSON] = []
        url: str | None = self.url(path, per_page=100)
        status = 200
        first = True
        while url:
            page = self._get(url, allow=allow, what=path)
            if first:
                status = page.status
                first = False
            if page.status >= 400:
                return status, []
            chunk = page.data.get(key) if key and isinstance(page.data, dict) else page.data
            if not isinstance(chunk, list):
                raise PlatformError(
                    f"GitHub answered {path} with unexpected JSON "
                    f"(expected a list{f' in {key!r}' if key else ''})"
                )
            items.extend(chunk)
            url = page.next_url
        return status, items

    # -- one request, retried ---------------------------------------------------------------

    def _get(self, url: str, *, allow: frozenset[int], what: str) -> Page:
        cached = self._cache.get(url)
        headers = {"If-None-Match": cached.etag} if cached else {}
        response = self._send(url, headers, what)
        if response.status_code == 304 and cached:
            self.not_modified += 1
            return Page(200, cached.data, cached.next_url)
        if response.status_code >= 400:
            if response.status_code in allow:
                return Page(response.status_code, None, None)
            raise PlatformError(self._failure(response, what))
        try:
            data = response.json()
        except ValueError:
            raise PlatformError(
                f"GitHub answered {what} with malformed JSON (HTTP {response.status_code})"
            ) from None
        next_url = _next_link(response.headers.get("Link", ""))
        etag = response.headers.get("ETag")
        if etag:
            self._cache[url] = _Cached(etag, data, next_url)
        return Page(response.status_code, data, next_url)

    def _send(self, url: str, headers: dict[str, str], what: str) -> requests.Response:
        policy = self.retry
        started = policy.clock()
        attempt = 0
        while True:
            attempt += 1
            response: requests.Response | None = None
            problem: str
            try:
                self.requests_made += 1
                response = self.session.get(url, headers=headers, timeout=self.timeout)
            except requests.Timeout:
                problem = f"GitHub did not answer {what} within {self.timeout:g} s"
            except requests.RequestException as exc:
                problem = f"cannot reach GitHub for {what}: {type(exc).__name__}"
            else:
                retryable = response.status_code in RETRY_STATUSES or is_rate_limited(
                    response.status_code, response.headers, response.text
                )
                if not retryable:
                    return response
                problem = self._failure(response, what)
            wait = policy.delay(attempt, response)
            spent = policy.clock() - started
            if attempt >= policy.attempts or spent + wait > policy.budget:
                raise PlatformError(
                    self.redact(
                        f"{problem} (gave up after {attempt} "
                        f"{'try' if attempt == 1 else 'tries'} in {spent:.0f} s)"
                    )
                )
            policy.sleep(wait)

    def _failure(self, response: requests.Response, what: str) -> str:
        status = response.status_code
        message = ""
        try:
            body = response.json()
            if isinstance(body, dict) and isinstance(body.get("message"), str):
                message = body["message"]
        except ValueError:
            pass
        hint = {
            401: "the token is missing, expired or invalid",
            403: "the token lacks a permission, or a rate limit was hit",
            404: "not found, or the token cannot see it",
        }.get(status, "")
        parts = [f"GitHub answered {what} with HTTP {status}"]
        parts += [p for p in (message[:200], hint) if p]
        return self.redact(
            ": ".join(parts[:1]) + (f": {'; '.join(parts[1:])}" if len(parts) > 1 else "")
        )


def _next_link(header: str) -> str | None:
    for part in header.split(","):
        match = re.match(r'\s*<([^>]+)>\s*;\s*rel="next"', part)
        if match:
            return match.group(1)
    return None


def parse_time(value: JSON) -> datetime | None:
    """GitHub's ISO 8601 timestamps (``2026-11-25T09:00:00Z``); anything else is unknown."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def iter_dicts(items: list[JSON]) -> Iterator[dict[str, JSON]]:
    for item in items:
        if isinstance(item, dict):
            yield item


def loads_event(text: str) -> dict[str, JSON]:
    data = json.loads(text)
    return data if isinstance(data, dict) else {}
