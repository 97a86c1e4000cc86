"""The GitLab v4 REST API through python-gitlab, with sopgate's retry policy and errors.

python-gitlab's own retries are switched off: they sleep for whatever ``Retry-After`` says
and retry up to ten times, with no bound on the total time. Instead :class:`RetryingSession`
(the ``requests`` session python-gitlab sends through) retries transient answers itself,
bounded in attempts and in total sleep, and gives up with one line of cause.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar
from urllib.parse import (
    parse_qsl,
    quote,
    unquote,
    urlencode,
    urljoin,
    urlsplit,
    urlunsplit,
)

import requests
from urllib3.exceptions import HTTPError

from sopgate.errors import PlatformError
from sopgate.platforms import one_line
from sopgate.platforms.retry import retry_after
from sopgate.platforms.transport import (
    GATHER_DEADLINE,
    MAX_PAGES,
    REQUEST_DEADLINE,
    Deadline,
    PageGuard,
    describe_origin,
    read_body,
    same_origin,
)

#: Answers that say "try again": the request was not (or not fully) served.
TRANSIENT = frozenset({429, 500, 502, 503, 504, *range(520, 531)})
#: Methods that are safe to repeat after a 5xx or a dropped connection. A POST that got a
#: 5xx may still have been applied (a duplicate note), so it is retried only on 429 and on
#: GitLab's 409 "Resource lock", which say the request was not processed at all.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
#: Redirects a read may follow within the API's origin (GitLab redirects renamed projects).
MAX_REDIRECTS = 5
_PAGE = re.compile(r"[0-9]+")
#: One page of a listing (named here: inside :class:`Api`, ``list`` is a method).
Items = list[dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Bounded retries: at most ``attempts`` tries and ``budget`` seconds of sleep in all.

    The first wait is ``backoff`` seconds, doubling, each capped at ``max_wait``; a
    ``Retry-After`` header replaces the computed wait. Tests pass ``sleep`` to run instantly.
    """

    attempts: int = 4
    backoff: float = 1.0
    max_wait: float = 30.0
    budget: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


class ApiError(PlatformError):
    """GitLab answered with an error status (exit 3 unless the caller handles it)."""

    def __init__(
        self, message: str, *, status: int | None = None, location: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.location = location  # a redirect to another host (not followed): where


class GaveUp(Exception):
    """Raised inside the session when the retry budget is spent; python-gitlab lets it
    through untouched (it only catches ``requests`` exceptions)."""


def _is_lock(response: requests.Response) -> bool:
    return response.status_code == 409 and "resource lock" in (
        f"{response.reason} {response.text[:500]}".lower()
    )


class Refused(Exception):
    """Raised inside the session for an answer sopgate will not follow (a redirect to
    another host, or any redirect of a write); like :class:`GaveUp`, python-gitlab lets it
    through untouched."""

    def __init__(
        self, message: str, *, status: int | None = None, location: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.location = location  # a redirect to another host: where (not followed)


class RetryingSession(requests.Session):
    """The ``requests`` session python-gitlab sends through, and the one place where the
    GitLab transport rules hold (DESIGN.md, "Trust"):

    - a request goes only to the exact origin of ``base`` (the token rides on every one);
    - no redirect is followed for a write; a read follows at most ``MAX_REDIRECTS``
      redirects, and only within the API's origin; any other redirect is refused;
    - each request has a deadline (``request_deadline`` seconds) that counts the transfer
      of the body too, and all requests and retry sleeps together have ``budget`` seconds
      from the last :meth:`restart_budget`;
    - transient answers are retried under a :class:`RetryPolicy`;
    - an answer that carries ``secret`` (the token, echoed back) carries ``[token]``
      instead, so no fact, report or summary built from it can show the token.

    It counts every request it sends (``sent``), for the benchmark and the tests.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        base: str,
        budget: float = GATHER_DEADLINE,
        request_deadline: float = REQUEST_DEADLINE,
        read_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.policy = policy
        self.base = base
        self.budget = budget
        self.request_deadline = request_deadline
        self.read_timeout = read_timeout
        self.clock = clock
        self.sent = 0
        #: Bytes no answer may carry on: the token, should GitLab echo it back in its data.
        self.secret = b""
        self._api_path = urlsplit(base).path.rstrip("/") + "/api/v4"
        self._budget_start = clock()

    def restart_budget(self) -> None:
        """Start a new overall budget (one per gather and per publish)."""
        self._budget_start = self.clock()

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        verb = (method.decode() if isinstance(method, bytes) else method).upper()
        url = url.decode() if isinstance(url, bytes) else url
        where = f"{verb} {self._path(url)}"
        if not same_origin(url, self.base):
            raise Refused(f"sopgate will not send {where} to {describe_origin(url)}: not the API")
        kwargs.update(allow_redirects=False, stream=True)
        if not url.lower().startswith("https://"):
            # A proxy sees a clear-text request whole, token included: the API's origin only.
            # (None removes what the environment's HTTP_PROXY/ALL_PROXY would add.)
            kwargs["proxies"] = dict.fromkeys(("http", "https", "all"))
        policy = self.policy
        slept = 0.0
        attempt = 0
        hops = 0
        while True:
            attempt += 1
            deadline = self._deadline(where)
            deadline.check()
            left = max(deadline.remaining(), 0.01)
            kwargs["timeout"] = (min(10.0, left), min(self.read_timeout, left))
            self.sent += 1
            try:
                response = super().request(method, url, *args, **kwargs)
                if response.is_redirect or 300 <= response.status_code < 400:
                    url = self._redirect(response, verb, where, hops)
                    kwargs["params"] = None  # the Location carries its own query
                    hops += 1
                    attempt -= 1
                    continue
                body = read_body(response, deadline)
                if self.secret and self.secret in body:
                    response._content = body.replace(self.secret, b"[token]")
            except (requests.ConnectionError, requests.Timeout, HTTPError) as exc:
                if deadline.remaining() < 0.05:
                    raise PlatformError(
                        f"{deadline.what} took longer than {deadline.seconds:g} s: gave up"
                    ) from None
                if verb not in IDEMPOTENT or attempt >= policy.attempts:
                    if isinstance(exc, HTTPError):
                        raise requests.ConnectionError(type(exc).__name__) from None
                    raise
                cause = type(exc).__name__
                wait = None
            else:
                retryable = _is_lock(response) or response.status_code == 429
                if verb in IDEMPOTENT:
                    retryable = retryable or response.status_code in TRANSIENT
                if not retryable:
                    return response
                cause = f"{response.status_code} {response.reason}".strip()
                wait = retry_after(response.headers)
                if attempt >= policy.attempts:
                    raise GaveUp(f"{cause}, still after {attempt} attempts")
            if wait is None:
                wait = min(policy.backoff * 2 ** (attempt - 1), policy.max_wait)
            elif wait > policy.max_wait:
                raise GaveUp(
                    f"{cause}; GitLab asked to retry after {wait:.0f}s, more than the "
                    f"{policy.max_wait:.0f}s sopgate waits"
                )
            if wait >= self._budget_left():
                raise GaveUp(
                    f"{cause}; waiting {wait:.0f}s more would pass sopgate's {self.budget:g}s "
                    "budget (SOPGATE_API_TIMEOUT)"
                )
            if slept + wait > policy.budget:
                raise GaveUp(f"{cause}, still after {attempt} attempts in {slept:.0f}s")
            policy.sleep(wait)
            slept += wait

    def _path(self, url: str) -> str:
        path = urlsplit(url).path
        return path.removeprefix(self._api_path) if path.startswith(self._api_path) else path

    def _budget_left(self) -> float:
        return self.budget - (self.clock() - self._budget_start)

    def _deadline(self, where: str) -> Deadline:
        """The request's own deadline or what is left of the budget, whichever ends first."""
        own = Deadline(self.request_deadline, f"GitLab {where}", clock=self.clock)
        if own.remaining() <= self._budget_left():
            return own
        overall = Deadline(
            self.budget, f"GitLab {where}: all requests to GitLab together", clock=self.clock
        )
        overall.start = self._budget_start
        return overall

    def _redirect(self, response: requests.Response, verb: str, where: str, hops: int) -> str:
        """Where a read may follow ``response`` (a 3xx) to; anything else is refused."""
        status = response.status_code
        location = response.headers.get("Location")
        response.close()
        if verb not in ("GET", "HEAD"):
            raise Refused(
                f"GitLab answered {where} with a redirect ({status}): refused, sopgate follows "
                "no redirect for a write",
                status=status,
            )
        if not location:
            raise Refused(f"GitLab answered {where} with {status} and no Location", status=status)
        target = urljoin(response.url, location)
        if not same_origin(target, self.base):
            raise Refused(
                f"GitLab redirected {where} to another host: refused "
                f"({describe_origin(target)} is not the API)",
                status=status,
                location=target,
            )
        if hops >= MAX_REDIRECTS:
            raise Refused(
                f"GitLab redirected {where} more than {MAX_REDIRECTS} times: refused",
                status=status,
            )
        return target


def _shown(url: str) -> str:
    """``url`` as messages show it: without a ``user:password@`` part."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def path_id(value: str) -> str:
    """A project or group id or full path, encoded for a URL segment."""
    return quote(value, safe="")


class Api:
    """A thin, typed face of python-gitlab's HTTP layer: every listing is read to its last
    page (sopgate pages itself, under a :class:`PageGuard`), every failure becomes an
    :class:`ApiError` with one line of cause, and the token appears in no message.

    ``budget`` seconds bound all requests and retry sleeps together from the last
    :meth:`restart_budget` (``SOPGATE_API_TIMEOUT``); ``request_deadline`` bounds each request,
    the transfer of its answer included; ``timeout`` is the socket timeout.
    """

    def __init__(
        self,
        *,
        url: str,
        token: str,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
        budget: float = GATHER_DEADLINE,
        request_deadline: float = REQUEST_DEADLINE,
        max_pages: int = MAX_PAGES,
    ) -> None:
        import gitlab  # only commands that talk to GitLab load python-gitlab

        self.url = url
        self.budget_seconds = budget
        self.max_pages = max_pages
        self._token = token
        self._user: dict[str, Any] | None = None
        self.session = RetryingSession(
            policy or RetryPolicy(),
            base=url,
            budget=budget,
            request_deadline=request_deadline,
            read_timeout=timeout,
        )
        self.session.secret = token.encode("utf-8", "replace")
        self._gl = gitlab.Gitlab(
            url=url,
            private_token=token,
            session=self.session,
            timeout=timeout,
            retry_transient_errors=False,
            keep_base_url=True,
            user_agent="sopgate",
        )

    @property
    def sent(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self.session.sent

    def restart_budget(self) -> None:
        """Give the next requests a fresh overall budget (call once per gather/publish)."""
        self.session.restart_budget()

    def get(self, path: str, **query: Any) -> Any:
        """One object (a JSON mapping), or raw text with ``raw=True``."""
        raw = bool(query.pop("raw", False))
        result = self._call("GET", path, lambda: self._gl.http_get(path, query_data=query, raw=raw))
        if raw:
            return result.content.decode("utf-8", "replace")
        return result

    def get_file(self, path: str) -> requests.Response:
        """One GET whose answer is a file, not JSON (a job's artifact): the response, its
        body read. A redirect to another host is not followed: the :class:`ApiError` names
        its ``location``, which the caller may fetch without the token."""
        response: requests.Response = self._call(
            "GET", path, lambda: self._gl.http_get(path, raw=True)
        )
        return response

    def current_user(self) -> dict[str, Any]:
        """The token's own user (``GET /user``), read once and kept."""
        if self._user is None:
            user = self.get("/user")
            if not isinstance(user, dict) or not isinstance(user.get("id"), int):
                raise ApiError("GitLab answered unusably to GET /user: no user id")
            self._user = user
        return self._user

    def first_page(self, path: str, **query: Any) -> list[dict[str, Any]]:
        """The first page (up to 100 items) of a listing, for listings sorted so that what
        matters comes first; the pagination links are not followed."""
        return self._listing(path, query, every_page=False)

    def list(self, path: str, **query: Any) -> list[dict[str, Any]]:
        """Every item of a listing, following GitLab's pagination to the last page.

        The next page is the ``Link: rel="next"`` URL or, without one, the page number in
        ``X-Next-Page``; when both are sent they must agree. A next page on another origin,
        a page seen before, or more than ``max_pages`` pages are refused (:class:`ApiError`).
        """
        return self._listing(path, query, every_page=True)

    def post(self, path: str, data: dict[str, Any]) -> Any:
        return self._call("POST", path, lambda: self._gl.http_post(path, post_data=data))

    def put(self, path: str, data: dict[str, Any]) -> Any:
        return self._call("PUT", path, lambda: self._gl.http_put(path, post_data=data))

    def _listing(self, path: str, query: dict[str, Any], *, every_page: bool) -> Items:
        where = f"GET {path.split('?')[0]}"
        guard = PageGuard(base=self.url, platform="GitLab", what=where, max_pages=self.max_pages)
        params = urlencode({**{k: str(v) for k, v in query.items()}, "per_page": "100"})
        url: str | None = f"{self._gl.api_url}{path}{'&' if '?' in path else '?'}{params}"
        items: Items = []
        while url is not None:
            try:
                guard.visit(_page_key(url))
            except PlatformError as exc:
                raise ApiError(str(exc)) from None
            page, response = self._call("GET", path, partial(self._page, url))
            items.extend(page)
            url = _next_page(response, url, where) if every_page else None
        return items

    def _page(self, url: str) -> tuple[Items, requests.Response]:
        response = self._gl.http_request("get", url)
        page = json.loads(response.content)
        if not isinstance(page, list):
            raise ValueError(f"a listing that is a JSON {type(page).__name__}, not a list")
        return page, response

    def _call(self, verb: str, path: str, send: Callable[[], Any]) -> Any:
        import gitlab

        where = f"{verb} {path.split('?')[0]}"
        try:
            return send()
        except gitlab.exceptions.GitlabError as exc:
            status = exc.response_code
            # Redacted before it is cut: a cut could leave a piece of the token behind.
            detail = one_line(self._redact(str(exc.error_message)))
            if status is None:
                raise ApiError(
                    self._redact(f"GitLab answered unusably to {where}: {detail}"), status=status
                ) from None
            raise ApiError(
                self._redact(f"GitLab answered {status} to {where}: {detail}"), status=status
            ) from None
        except Refused as exc:
            location = exc.location
            if location and self._token and self._token in unquote(location):
                # Fetching it without the token would still hand the token to that host.
                location = None
            raise ApiError(self._redact(str(exc)), status=exc.status, location=location) from None
        except GaveUp as exc:
            raise ApiError(self._redact(f"GitLab kept failing {where}: {exc}")) from None
        except requests.RequestException as exc:
            raise ApiError(
                self._redact(
                    f"cannot reach GitLab at {_shown(self.url)} ({where}): {type(exc).__name__}"
                )
            ) from None
        except ValueError as exc:  # JSON that does not parse
            detail = one_line(self._redact(str(exc)))
            raise ApiError(f"GitLab answered unusably to {where}: {detail}") from None

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "[token]") if self._token else text


def _page_key(url: str) -> str:
    """``url`` with its query sorted and page 1 made explicit: two links to the same page
    compare equal however GitLab spells them."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.setdefault("page", "1")
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path, urlencode(sorted(query.items())), "")
    )


def _next_page(response: requests.Response, url: str, where: str) -> str | None:
    """The URL of the page after ``response`` (requested as ``url``), or None at the end."""
    link = response.links.get("next", {}).get("url")
    header = (response.headers.get("X-Next-Page") or "").strip()
    if header and not _PAGE.fullmatch(header):
        raise ApiError(f"GitLab's X-Next-Page {header!r} for {where} is not a page number: refused")
    if link:
        target = urljoin(response.url or url, link)
        linked = dict(parse_qsl(urlsplit(target).query)).get("page")
        if header and linked != header:
            raise ApiError(
                f"GitLab's pagination headers disagree for {where}: Link says "
                f"{f'page {linked}' if linked else 'no page'}, X-Next-Page says {header}: refused"
            )
        return target
    if header:
        parts = urlsplit(url)
        query = {**dict(parse_qsl(parts.query, keep_blank_values=True)), "page": header}
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    return None


#: Answers meaning "this tier or this token cannot see that": unknown, not a failure.
NOT_VISIBLE = (403, 404)
_T = TypeVar("_T")


def visible(
    notes: list[str], what: str, consequence: str, request: Callable[..., _T], *args: Any, **kw: Any
) -> _T | None:
    """``request(*args, **kw)``'s answer, or None with the note "GitLab answered STATUS to
    WHAT: CONSEQUENCE" when GitLab will not show it (403/404: another tier, or a token
    without access); any other error goes on up."""
    try:
        return request(*args, **kw)
    except ApiError as exc:
        if exc.status not in NOT_VISIBLE:
            raise
        notes.append(f"GitLab answered {exc.status} to {what}: {consequence}")
        return None
