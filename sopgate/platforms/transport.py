"""What both adapters' transports share: where credentials may go, and when to give up.

Trust rules (DESIGN.md, "Trust"): credentials go only to the exact origin (scheme, host,
port) of the configured API; a pagination link or a redirect to any other origin is refused;
every request and every gather has an overall deadline; repeated pages are detected.
Each adapter's transport calls these helpers from the one place that sends its requests.
"""

from __future__ import annotations

import ipaddress
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from sopgate.errors import PlatformError

if TYPE_CHECKING:
    import requests

#: Seconds a whole gather may take, all requests, retries and transfers included.
GATHER_DEADLINE = 120.0
#: Seconds one request may take, from sending it to the last byte of its answer.
REQUEST_DEADLINE = 60.0
#: Pages one listing may have; past this the listing is refused, not cut.
MAX_PAGES = 500
#: Bytes one answer may have.
MAX_BODY = 32 * 1024 * 1024

Origin = tuple[str, str, int]


#: Characters that Python's ``urlsplit`` and urllib3 (which ``requests`` sends with) read
#: differently in an address: ``http://evil\@api/`` is ``api`` to one and ``evil`` to the
#: other, and ``urlsplit`` silently drops tabs and line breaks.
_AMBIGUOUS = re.compile(r"[\\\s\x00-\x1f\x7f]")
NO_ORIGIN: Origin = ("", "", -1)


def _split(url: str) -> Origin:
    """``(scheme, host, port)`` as Python's ``urlsplit`` reads ``url``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1  # a malformed port matches no origin
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme, -1)
    return scheme, (parts.hostname or "").lower(), port


def _read_alike(url: str, found: Origin) -> bool:
    """Whether urllib3, the parser ``requests`` sends with, reads the host and port of
    ``url`` as ``urlsplit`` did (``found``), with no character the two treat differently."""
    if _AMBIGUOUS.search(url):
        return False
    try:
        sent = parse_url(url)
    except LocationParseError:
        return False
    port = sent.port if sent.port is not None else found[2]
    return (sent.host or "").lower().strip("[]") == found[1].strip("[]") and port == found[2]


def origin(url: str) -> Origin:
    """``(scheme, host, port)`` of ``url``, lowercased, with the scheme's default port.

    An address that is not plainly one origin has none (:data:`NO_ORIGIN`, which matches
    nothing): one with credentials in it, a backslash, whitespace or a control character, or
    one that urllib3, the parser ``requests`` sends with, reads as another host or port."""
    found = _split(url)
    if "@" in urlsplit(url).netloc or not _read_alike(url, found):
        return NO_ORIGIN
    return found


def describe_origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, for messages (never carries a path or userinfo)."""
    found = _split(url)
    if not _read_alike(url, found):
        return "an address that names no one plain host"
    scheme, host, port = found
    return f"{scheme}://{host}:{port}"


def same_origin(url: str, base: str) -> bool:
    """True when ``url`` has exactly the scheme, host and port of ``base``."""
    return origin(url) == origin(base) and origin(base)[1] != ""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def unsafe_url(url: str, env: Mapping[str, str]) -> str | None:
    """Why sopgate may not send a request to ``url``, or None: ``"unusable"`` (not an
    http(s) URL with a host and a valid port) or ``"clear text"`` (``http://`` to a host that
    is not loopback, without ``SOPGATE_ALLOW_HTTP=1`` saying the operator accepts it). The one
    rule for the API and for the downloads it redirects to."""
    scheme, host, port = origin(url)
    if not host or port < 0 or scheme not in ("http", "https"):
        return "unusable"
    if scheme == "http" and not is_loopback(host) and env.get("SOPGATE_ALLOW_HTTP") != "1":
        return "clear text"
    return None


def require_safe_api_url(url: str, env: Mapping[str, str], *, platform: str, name: str) -> None:
    """Refuse an API URL that would send the token in clear text or nowhere sensible.

    ``https://`` is accepted; ``http://`` only for a loopback host (a local stub) or when
    ``SOPGATE_ALLOW_HTTP=1`` says the operator accepts clear text (:func:`unsafe_url`).
    """
    problem = unsafe_url(url, env)
    if problem == "unusable":
        shown = re.sub(r"(//)[^/?#]*@", r"\1***@", url)  # never repeat credentials in it
        raise PlatformError(f"{name} is not a usable {platform} API URL: {shown!r}")
    if problem == "clear text":
        host = origin(url)[1]
        raise PlatformError(
            f"{name} is http:// ({host}): the token would travel in clear text; use https://, "
            "or set SOPGATE_ALLOW_HTTP=1 if this is intended"
        )


def budget_from_env(env: Mapping[str, str]) -> float:
    """Seconds all of one gather's (or publish's) requests may take together:
    ``SOPGATE_API_TIMEOUT`` when set, else :data:`GATHER_DEADLINE`.

    Not ``SOPGATE_TIMEOUT``: the CI template and the Action already use that name for how
    long ``check --wait`` waits (``2h``), and both are set in the same job."""
    text = env.get("SOPGATE_API_TIMEOUT", "").strip()
    if not text:
        return GATHER_DEADLINE
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise PlatformError(
            f"SOPGATE_API_TIMEOUT={text!r} is not a number of seconds greater than 0"
        )
    return seconds


@dataclass
class Deadline:
    """A point in time after which no more waiting or reading is allowed.

    ``parent`` is an enclosing deadline (a request's within its gather's): this one ends
    when either does, and the message names the one that ended.
    """

    seconds: float
    what: str
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    start: float = field(default=0.0, init=False)
    parent: Deadline | None = field(default=None, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        self.start = self.clock()

    def remaining(self) -> float:
        own = self.seconds - (self.clock() - self.start)
        return own if self.parent is None else min(own, self.parent.remaining())

    def check(self) -> None:
        """Raise :class:`PlatformError` when the time is spent."""
        if self.parent is not None:
            self.parent.check()
        if self.remaining() <= 0:
            raise PlatformError(f"{self.what} took longer than {self.seconds:g} s: gave up")


@dataclass
class PageGuard:
    """Follows one paginated listing: refuses foreign next links, repeated pages and
    listings longer than ``max_pages``."""

    base: str
    platform: str
    what: str
    max_pages: int = MAX_PAGES
    seen: set[str] = field(default_factory=set)

    def visit(self, url: str) -> None:
        """Call before requesting each page (the first one included)."""
        if not same_origin(url, self.base):
            raise PlatformError(
                f"{self.platform} sent a next-page link to another host for {self.what}: "
                f"refused ({describe_origin(url)} is not the API)"
            )
        if url in self.seen:
            raise PlatformError(
                f"{self.platform} sent a next-page link for {self.what} that repeats an "
                "earlier page: refused (the listing would never end)"
            )
        if len(self.seen) >= self.max_pages:
            raise PlatformError(
                f"{self.platform} listed more than {self.max_pages} pages for {self.what}: refused"
            )
        self.seen.add(url)


class TooLarge(PlatformError):
    """An answer longer than the bytes :func:`read_body` may read."""


def read_body(
    response: requests.Response, deadline: Deadline, *, max_bytes: int = MAX_BODY
) -> bytes:
    """The whole body of a response sent with ``stream=True``, read under ``deadline``.

    Reads with ``read1`` (one socket read each), so a server that drips one byte at a time
    cannot stretch a read past the deadline by more than one socket timeout. The body is
    stored on the response (``response._content``) so that ``.json()`` and ``.text`` work.
    """
    chunks: list[bytes] = []
    size = 0
    raw = response.raw
    try:
        while True:
            deadline.check()
            chunk = raw.read1(65536, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge(
                    f"{deadline.what}: the answer is larger than {max_bytes // (1024 * 1024)} MiB: "
                    "refused"
                )
            chunks.append(chunk)
    finally:
        response.close()
    body = b"".join(chunks)
    response._content = body
    return body
