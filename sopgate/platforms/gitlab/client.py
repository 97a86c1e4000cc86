"""The GitLab v4 REST API through python-gitlab, with sopgate's retry policy and errors.

python-gitlab's own retries are switched off: they sleep for whatever ``Retry-After`` says
and retry up to ten times, with no bound on the total time. Instead :class:`RetryingSession`
(the ``requests`` session python-gitlab sends through) retries transient answers itself,
bounded in attempts and in total sleep, and gives up with one line of cause.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import quote

import requests

from sopgate.errors import PlatformError
from sopgate.platforms import one_line
from sopgate.platforms.retry import retry_after

#: Answers that say "try again": the request was not (or not fully) served.
TRANSIENT = frozenset({429, 500, 502, 503, 504, *range(520, 531)})
#: Methods that are safe to repeat after a 5xx or a dropped connection. A POST that got a
#: 5xx may still have been applied (a duplicate note), so it is retried only on 429 and on
#: GitLab's 409 "Resource lock", which say the request was not processed at all.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


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

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class GaveUp(Exception):
    """Raised inside the session when the retry budget is spent; python-gitlab lets it
    through untouched (it only catches ``requests`` exceptions)."""


def _is_lock(response: requests.Response) -> bool:
    return response.status_code == 409 and "resource lock" in (
        f"{response.reason} {response.text[:500]}".lower()
    )


class RetryingSession(requests.Session):
    """A ``requests`` session that retries transient answers under a :class:`RetryPolicy`
    and counts every request it sends (``sent``), for the benchmark and the tests."""

    def __init__(self, policy: RetryPolicy) -> None:
        super().__init__()
        self.policy = policy
        self.sent = 0

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        verb = (method.decode() if isinstance(method, bytes) else method).upper()
        policy = self.policy
        slept = 0.0
        attempt = 0
        while True:
            attempt += 1
            self.sent += 1
            try:
                response = super().request(method, url, *args, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if verb not in IDEMPOTENT or attempt >= policy.attempts:
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
            if slept + wait > policy.budget:
                raise GaveUp(f"{cause}, still after {attempt} attempts in {slept:.0f}s")
            policy.sleep(wait)
            slept += wait


def path_id(value: str) -> str:
    """A project or group id or full path, encoded for a URL segment."""
    return quote(value, safe="")


class Api:
    """A thin, typed face of python-gitlab's HTTP layer: every listing is read to its last
    page, every failure becomes an :class:`ApiError` with one line of cause, and the token
    appears in no message."""

    def __init__(
        self, *, url: str, token: str, policy: RetryPolicy | None = None, timeout: float = 30.0
    ) -> None:
        import gitlab  # only commands that talk to GitLab load python-gitlab

        self.url = url
        self._token = token
        self.session = RetryingSession(policy or RetryPolicy())
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

    def get(self, path: str, **query: Any) -> Any:
        """One object (a JSON mapping), or raw text with ``raw=True``."""
        raw = bool(query.pop("raw", False))
        result = self._call("GET", path, lambda: self._gl.http_get(path, query_data=query, raw=raw))
        if raw:
            return cast(requests.Response, result).content.decode("utf-8", "replace")
        return result

    def first_page(self, path: str, **query: Any) -> list[dict[str, Any]]:
        """The first page (up to 100 items) of a listing, for listings sorted so that what
        matters comes first; the pagination links are not followed."""
        result = self._call(
            "GET",
            path,
            lambda: self._gl.http_list(path, query_data=query, get_all=False, per_page=100),
        )
        return cast(list[dict[str, Any]], list(result))

    def list(self, path: str, **query: Any) -> list[dict[str, Any]]:
        """Every item of a listing, following the pagination links to the last page."""
        result = self._call(
            "GET",
            path,
            lambda: self._gl.http_list(path, query_data=query, get_all=True, per_page=100),
        )
        return cast(list[dict[str, Any]], list(result))

    def post(self, path: str, data: dict[str, Any]) -> Any:
        return self._call("POST", path, lambda: self._gl.http_post(path, post_data=data))

    def put(self, path: str, data: dict[str, Any]) -> Any:
        return self._call("PUT", path, lambda: self._gl.http_put(path, post_data=data))

    def _call(self, verb: str, path: str, send: Callable[[], Any]) -> Any:
        import gitlab

        where = f"{verb} {path.split('?')[0]}"
        try:
            return send()
        except gitlab.exceptions.GitlabError as exc:
            status = exc.response_code
            detail = one_line(str(exc.error_message))
            if status is None:
                raise ApiError(
                    self._redact(f"GitLab answered unusably to {where}: {detail}"), status=status
                ) from None
            raise ApiError(
                self._redact(f"GitLab answered {status} to {where}: {detail}"), status=status
            ) from None
        except GaveUp as exc:
            raise ApiError(self._redact(f"GitLab kept failing {where}: {exc}")) from None
        except requests.RequestException as exc:
            raise ApiError(
                self._redact(f"cannot reach GitLab at {self.url} ({where}): {type(exc).__name__}")
            ) from None
        except ValueError as exc:  # JSON that does not parse
            raise ApiError(f"GitLab answered unusably to {where}: {one_line(str(exc))}") from None

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "[token]") if self._token else text
