"""A small JSON client for GitHub's REST API: the one place that sends sopgate's requests
to GitHub, reads and writes alike.

Why not PyGithub: gathering needs conditional requests (an ETag cache per URL so that a
``--wait`` loop re-asks cheaply), one request counter, and a retry policy bounded in count and
total time; and every request must obey the trust rules of DESIGN.md: credentials only to
the exact API origin (next-page links and redirects elsewhere are refused), writes follow no
redirect, an overall deadline per request and per gather that counts transfer time, a cap on
answer size. PyGithub follows a 301 of a POST to any path, takes a 307 for success, and reads
bodies without a deadline, so :mod:`.publish` writes through this client too.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urljoin

import requests
import urllib3

from sopgate import __version__
from sopgate.errors import PlatformError
from sopgate.platforms.retry import retry_after
from sopgate.platforms.transport import (
    GATHER_DEADLINE,
    MAX_BODY,
    MAX_PAGES,
    REQUEST_DEADLINE,
    Deadline,
    PageGuard,
    describe_origin,
    read_body,
    same_origin,
)

JSON = Any

#: Statuses whose answer is worth asking again after a pause.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Redirects a GET follows within the API origin (GitHub answers 301 for a renamed repository).
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 3
#: The shortest token :meth:`Api.redact_data` blanks out of answers (as the CLI's redact).
MIN_REDACTED = 8


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


class HttpError(PlatformError):
    """A request that failed; ``retryable`` says whether asking again later may help, and
    ``retry_after`` how long GitHub asked to wait (seconds), when it said."""

    def __init__(
        self, message: str, *, retryable: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


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
    """JSON access to one API origin: pagination, an ETag cache, bounded retries, writes.

    The cache lives as long as the instance: a second :meth:`get` of the same URL sends
    ``If-None-Match`` and, on ``304 Not Modified``, returns the cached body.
    ``requests_made`` counts every HTTP request, ``not_modified`` the 304 answers.

    Time: ``timeout`` bounds each socket wait, ``request_deadline`` one request from sending
    to its last byte, ``deadline`` everything between two :meth:`begin` calls (one gather,
    one publish: requests, transfers and retry pauses). ``max_body`` bytes per answer and
    ``max_pages`` pages per listing; past these the answer is refused, never cut.
    """

    base_url: str
    token: str | None = field(repr=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 30.0
    deadline: float = GATHER_DEADLINE
    request_deadline: float = REQUEST_DEADLINE
    max_body: int = MAX_BODY
    max_pages: int = MAX_PAGES
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    requests_made: int = 0
    not_modified: int = 0
    _cache: dict[str, _Cached] = field(default_factory=dict, repr=False)
    _budget: Deadline | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": f"sopgate/{__version__}",
            }
        )

    def begin(self) -> None:
        """Start the overall deadline anew (each gather, each publish)."""
        self._budget = Deadline(self.deadline, "asking GitHub", clock=self.retry.clock)

    def budget(self) -> Deadline:
        if self._budget is None:
            self.begin()
        assert self._budget is not None
        return self._budget

    def url(self, path: str, **params: str | int) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.base_url}{path}{query}"

    def redact(self, text: str) -> str:
        """``text`` with the token replaced: safe for messages and reports."""
        return text.replace(self.token, "***") if self.token else text

    def redact_data(self, data: bytes) -> bytes:
        """An answer's bytes with the token replaced: a server that echoes it (in an error,
        a URL, a name) must not get it into messages, facts, reports or the comment sopgate
        posts. Tokens shorter than :data:`MIN_REDACTED` are no real token and left alone,
        since replacing them would garble ordinary text ("t" in "true")."""
        if not self.token or len(self.token) < MIN_REDACTED:
            return data
        return data.replace(self.token.encode(), b"***")

    def get(self, path: str, *, allow: frozenset[int] = frozenset(), **params: str | int) -> Page:
        """One GET; statuses in ``allow`` are returned, other failures raise PlatformError."""
        return self._get(self.url(path, **params), allow=allow, what=path)

    def get_all(
        self,
        path: str,
        *,
        key: str | None = None,
        allow: frozenset[int] = frozenset(),
        **params: str | int,
    ) -> tuple[int, list[JSON]]:
        """Every item of a paginated listing (``per_page=100`` and ``params`` in the query,
        following ``Link: next``).

        ``key`` names the array inside an object answer (``check_runs``). Returns the status
        of the first page (an allowed error status gives an empty list) and the items in the
        order GitHub lists them. A next link to another origin, one that repeats a page, or
        more than ``max_pages`` pages raise PlatformError: a listing is whole or refused.
        """
        guard = PageGuard(self.base_url, "GitHub", path, max_pages=self.max_pages)
        items: list[JSON] = []
        url: str | None = self.url(path, **params, per_page=100)
        status = 200
        first = True
        while url:
            guard.visit(url)
            page = self._get(url, allow=allow, what=path)
            if page.status >= 400:
                if not first:  # an allowed answer to the first page only: whole or refused
                    raise PlatformError(
                        f"GitHub answered {path} with HTTP {page.status} on a later page: "
                        "the listing is incomplete: refused"
                    )
                return page.status, []
            if first:
                status = page.status
                first = False
            chunk = page.data.get(key) if key and isinstance(page.data, dict) else page.data
            if not isinstance(chunk, list):
                raise PlatformError(
                    f"GitHub answered {path} with unexpected JSON "
                    f"(expected a list{f' in {key!r}' if key else ''})"
                )
            items.extend(chunk)
            url = page.next_url
        return status, items

    def locate(self, path: str, *, allow: frozenset[int] = frozenset()) -> Page:
        """One GET answered by a redirect, which is not followed: an artifact's download,
        whose ``Location`` is a signed URL on another host where the token must not go.

        Returns ``Page(status, location, None)`` with the ``Location`` made absolute; a
        status in ``allow`` gives ``Page(status, None, None)``. Any other answer raises
        :class:`PlatformError`. Retried as :meth:`get` is."""
        url = self.url(path)
        response = self._send(url, {}, path)
        status = response.status_code
        if status in REDIRECT_STATUSES:
            location = response.headers.get("Location")
            if not location:
                raise PlatformError(f"GitHub answered {path} with HTTP {status} and no Location")
            return Page(status, urljoin(url, location), None)
        if status in allow:
            return Page(status, None, None)
        if status >= 400:
            raise PlatformError(self._failure(response, path))
        raise PlatformError(
            f"GitHub answered {path} with HTTP {status}, not with a redirect to the download: "
            "refused"
        )

    def write(self, method: str, path: str, body: JSON = None) -> JSON:
        """One write (``POST``, ``PATCH``, ``DELETE``) to ``path``, sent exactly once.

        No redirect is followed, to another origin or this one: a 3xx answer means the write
        did not happen. No retry either (a write may not be idempotent): failures raise
        :class:`HttpError` whose ``retryable`` tells the caller whether to try again.
        Returns the answer's JSON (None for an empty answer).
        """
        what = f"{method} {path}"
        response = self._once(method, self.url(path), {}, what, body)
        status = response.status_code
        if 300 <= status < 400:
            raise HttpError(f"HTTP {status}: a redirect; writes follow none")
        if status >= 400:
            retryable = status in RETRY_STATUSES or is_rate_limited(
                status, response.headers, response.text
            )
            message = _message(response)
            raise HttpError(
                self.redact(f"HTTP {status}" + (f": {message}" if message else "")),
                retryable=retryable,
                retry_after=_retry_after(response) if retryable else None,
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise HttpError(f"HTTP {status} with malformed JSON") from None

    # -- one request, retried ---------------------------------------------------------------

    def _get(self, url: str, *, allow: frozenset[int], what: str) -> Page:
        cached = self._cache.get(url)
        headers = {"If-None-Match": cached.etag} if cached else {}
        response = self._follow(url, headers, what)
        if response.status_code == 304 and cached:
            self.not_modified += 1
            return Page(200, cached.data, cached.next_url)
        if 300 <= response.status_code < 400:
            raise PlatformError(f"GitHub answered {what} with HTTP {response.status_code}: refused")
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
        if next_url is not None:
            next_url = urljoin(response.url or url, next_url)
        etag = response.headers.get("ETag")
        if etag:
            self._cache[url] = _Cached(etag, data, next_url)
        return Page(response.status_code, data, next_url)

    def _follow(self, url: str, headers: dict[str, str], what: str) -> requests.Response:
        """GET ``url``, following redirects only within the API origin, at most
        :data:`MAX_REDIRECTS` times."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(url, headers, what)
            if response.status_code not in REDIRECT_STATUSES:
                return response
            location = response.headers.get("Location")
            if not location:
                raise PlatformError(
                    f"GitHub answered {what} with HTTP {response.status_code} and no "
                    "Location: refused"
                )
            url = urljoin(url, location)
            if not same_origin(url, self.base_url):
                raise PlatformError(
                    f"GitHub redirected {what} to another host ({describe_origin(url)}): refused"
                )
        raise PlatformError(f"GitHub redirected {what} more than {MAX_REDIRECTS} times: refused")

    def _send(self, url: str, headers: dict[str, str], what: str) -> requests.Response:
        policy = self.retry
        started = policy.clock()
        attempt = 0
        while True:
            attempt += 1
            response: requests.Response | None = None
            try:
                response = self._once("GET", url, headers, what)
            except HttpError as exc:
                problem = str(exc)
            else:
                retryable = response.status_code in RETRY_STATUSES or is_rate_limited(
                    response.status_code, response.headers, response.text
                )
                if not retryable:
                    return response
                problem = self._failure(response, what)
            wait = policy.delay(attempt, response)
            spent = policy.clock() - started
            if (
                attempt >= policy.attempts
                or spent + wait > policy.budget
                or wait >= self.budget().remaining()
            ):
                raise PlatformError(
                    self.redact(
                        f"{problem} (gave up after {attempt} "
                        f"{'try' if attempt == 1 else 'tries'} in {spent:.0f} s)"
                    )
                )
            policy.sleep(wait)

    def _once(
        self, method: str, url: str, headers: dict[str, str], what: str, body: JSON = None
    ) -> requests.Response:
        """Send one request and read its whole answer under the deadlines. Credentials go
        only to the API origin; redirects are returned, never followed. Network failures
        raise :class:`HttpError` (retryable); a spent deadline or an oversized answer raise
        :class:`PlatformError`."""
        if not same_origin(url, self.base_url):  # callers check first; this is the last guard
            raise PlatformError(f"refused to send a request to {describe_origin(url)}")
        deadline = Deadline(
            self.request_deadline, f"GitHub's answer to {what}", parent=self.budget()
        )
        deadline.check()
        wait = max(0.001, min(self.timeout, deadline.remaining()))
        sent = dict(headers)
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        try:
            prepared = self.session.prepare_request(
                requests.Request(method, url, headers=sent, json=body)
            )
        except (requests.RequestException, ValueError):
            prepared = None
        # The address requests will really use, as it will read it: the token goes there.
        if prepared is None or not same_origin(prepared.url or "", self.base_url):
            raise PlatformError(f"refused to send a request to {describe_origin(url)}")
        options = self.session.merge_environment_settings(prepared.url, {}, True, None, None)
        if not url.lower().startswith("https://"):
            # A proxy sees a clear-text request whole, token included: the API's origin only.
            options["proxies"] = {}
        self.requests_made += 1
        try:
            response = self.session.send(prepared, timeout=wait, allow_redirects=False, **options)
            if 300 <= response.status_code < 400:
                response.close()  # a redirect's body is of no use
                response._content = b""
            else:
                body_read = read_body(response, deadline, max_bytes=self.max_body)
                response._content = self.redact_data(body_read)
        except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError):
            raise HttpError(
                f"GitHub did not answer {what} within {wait:.3g} s", retryable=True
            ) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise HttpError(
                f"cannot reach GitHub for {what}: {type(exc).__name__}", retryable=True
            ) from None
        return response

    def _failure(self, response: requests.Response, what: str) -> str:
        status = response.status_code
        message = _message(response)
        hint = {
            401: "the token is missing, expired or invalid",
            403: "the token lacks a permission, or a rate limit was hit",
            404: "not found, or the token cannot see it",
        }.get(status, "")
        parts = [f"GitHub answered {what} with HTTP {status}"]
        parts += [p for p in (message, hint) if p]
        return self.redact(
            ": ".join(parts[:1]) + (f": {'; '.join(parts[1:])}" if len(parts) > 1 else "")
        )


def _message(response: requests.Response) -> str:
    """GitHub's ``message`` of an error answer (at most 200 characters), or empty."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:200]  # the body is redacted before it is cut (_once)
    return ""


_LINK = re.compile(r"<([^>]*)>([^<]*)")
_LINK_PARAM = re.compile(r';\s*([A-Za-z*-]+)\s*=\s*(?:"([^"]*)"|([^;,\s]*))')


def _next_link(header: str) -> str | None:
    """The target of ``rel="next"`` in a ``Link`` header (RFC 8288: ``rel`` anywhere among
    the parameters, quoted or not, in any case, one of several relations). A next link
    missed would end a listing early, and the reviews it drops may hold a rejection."""
    for target, params in _LINK.findall(header):
        for name, quoted, bare in _LINK_PARAM.findall(params):
            relations = (quoted or bare).lower().split()
            if name.lower() == "rel" and "next" in relations:
                return str(target).strip()  # "" is this very page: a repeat, refused
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
    """An event payload: a JSON object, or PlatformError (never silently ``{}``)."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise PlatformError("the event payload is not a JSON object: refused")
    return data
