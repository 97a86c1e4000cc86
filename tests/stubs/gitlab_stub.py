"""A local stand-in for the GitLab v4 REST API, for end-to-end tests and the benchmark.

Standard library only: ``http.server`` in a thread on 127.0.0.1. It serves canned JSON per
``(METHOD, path)`` (paths as sent, ``/api/v4/...``), paginates every list the way GitLab does
(``page``/``per_page``, ``Link`` and ``X-Next-Page`` headers), records every request, and
keeps the notes and commit statuses that clients post so tests can assert on them (a posted
status is also listed among the commit's statuses, when that listing is served). A job
served at ``GET /projects/:id/jobs/:job_id`` can be retried (``POST .../retry``): the retry is a
new job (id, ``user`` the token's own, status ``pending``) served at its own path, the retried
job no longer retryable, as GitLab does.

Hostile modes, for the transport tests (issue 7): ``next_links`` replaces a listing's
``Link: rel="next"`` (to another host, a lookalike port, the page itself), ``next_pages``
replaces its ``X-Next-Page``, ``header_pages_only`` drops the ``Link`` header and keeps
``X-Next-Page``, ``redirects`` answers a request with a 3xx to any ``Location``, ``delays``
holds an answer back, ``drips`` sends its body one byte at a time and ``cuts`` sends only half
of it. A second stub with a ``fallback`` answer serves as the foreign listener that records
what would leak to it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

_NOTES = re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes(?:/(\d+))?$")
_STATUS = re.compile(r"^/api/v4/projects/([^/]+)/statuses/([0-9a-f]{40})$")
_RETRY = re.compile(r"^/api/v4/projects/([^/]+)/jobs/(\d+)/retry$")
_DEPLOYMENTS = re.compile(r"^/api/v4/projects/([^/]+)/deployments$")
BOT = {"id": 1, "username": "project_7_bot", "name": "sopgate", "bot": True}


def filtered(path: str, query: dict[str, str], items: list[Any]) -> list[Any]:
    """``items`` of the listing at ``path`` as GitLab filters them by ``query``: the
    deployments listing by ``environment`` name (other filters and orders are not served:
    canned lists are given in the order asked for)."""
    environment = query.get("environment")
    if _DEPLOYMENTS.match(path) and environment is not None:
        return [
            item
            for item in items
            if isinstance(item.get("environment"), dict)
            and item["environment"].get("name") == environment
        ]
    return items


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class GitLabStub:
    """``routes`` maps ``(METHOD, path)`` to ``(status, body)``; a ``str`` body is sent as
    text/plain (raw files), anything else as JSON. ``latency`` seconds delay every answer."""

    routes: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    latency: float = 0.0
    token: str | None = None  # when set, requests without it get 401
    fallback: tuple[int, Any] | None = None  # the answer to a request no route matches
    next_links: dict[str, str] = field(default_factory=dict)  # path -> Link next URL
    next_pages: dict[str, str] = field(default_factory=dict)  # path -> X-Next-Page
    header_pages_only: bool = False  # paginate by X-Next-Page alone, without Link
    redirects: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)  # path -> seconds before answering
    drips: dict[str, float] = field(default_factory=dict)  # path -> seconds between bytes
    cuts: set[str] = field(default_factory=set)  # paths whose body stops halfway
    requests: list[Recorded] = field(default_factory=list)
    posted_statuses: list[dict[str, Any]] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)  # job ids retried, in order
    url: str = ""
    _next_id: int = 9000
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def notes(self, project: str, iid: int) -> list[dict[str, Any]]:
        """The MR's notes as the stub holds them (canned plus posted)."""
        path = f"/api/v4/projects/{project}/merge_requests/{iid}/notes"
        status, body = self.routes.get(("GET", path), (200, []))
        return list(body) if status == 200 else []

    def answer(self, method: str, raw_path: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        split = urlsplit(raw_path)
        path, query = split.path, parse_qs(split.query)
        with self._lock:
            if (method, path) in self.redirects:
                status, location = self.redirects[(method, path)]
                return status, {"message": "moved"}, {"Location": location}
            if self.fallback is not None and (method, path) not in self.routes:
                return *self.fallback, {}
            if method == "GET":
                return self._get(path, query)
            match = _NOTES.match(path)
            if match and method in ("POST", "PUT"):
                return self._note(method, path, match, body)
            match = _STATUS.match(path)
            if match and method == "POST":
                return self._status(match, body)
            match = _RETRY.match(path)
            if match and method == "POST" and (method, path) not in self.routes:
                return self._retry(match)
            status, canned = self.routes.get((method, path), (404, {"message": "404 Not Found"}))
            return status, canned, {}

    def _get(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        if path == "/api/v4/user" and ("GET", path) not in self.routes:
            return 200, BOT, {}  # the token's own user: the author of the notes it posts
        status, body = self.routes.get(("GET", path), (404, {"message": "404 Not Found"}))
        if status != 200 or not isinstance(body, list):
            return status, body, {}
        body = filtered(path, {k: v[0] for k, v in query.items()}, body)
        per_page = int(query.get("per_page", ["20"])[0])
        page = int(query.get("page", ["1"])[0])
        pages = max(1, -(-len(body) // per_page))
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Total": str(len(body)),
            "X-Total-Pages": str(pages),
        }
        if page < pages:
            flat = {k: v[0] for k, v in query.items()}
            link = f"{self.url}{path}?{urlencode({**flat, 'page': page + 1})}"
            if not self.header_pages_only:
                headers["Link"] = f'<{link}>; rel="next"'
            headers["X-Next-Page"] = str(page + 1)
        if path in self.next_links:
            headers["Link"] = f'<{self.next_links[path]}>; rel="next"'
        if path in self.next_pages:
            headers["X-Next-Page"] = self.next_pages[path]
        return 200, body[(page - 1) * per_page : page * per_page], headers

    def _note(
        self, method: str, path: str, match: re.Match[str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        listing = path if method == "POST" else path.rsplit("/", 1)[0]
        notes = self.routes.setdefault(("GET", listing), (200, []))[1]
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        if method == "PUT":
            for note in notes:
                if str(note["id"]) == match.group(3):
                    note.update(body=body.get("body"), updated_at=now)
                    return 200, note, {}
            return 404, {"message": "404 Note Not Found"}, {}
        self._next_id += 1
        note = {
            "id": self._next_id,
            "type": None,
            "body": body.get("body"),
            "author": dict(BOT),
            "created_at": now,
            "updated_at": now,
            "system": False,
            "noteable_iid": int(match.group(2)),
            "noteable_type": "MergeRequest",
            "resolvable": False,
        }
        notes.append(note)
        return 201, note, {}

    def _status(self, match: re.Match[str], body: Any) -> tuple[int, Any, dict[str, str]]:
        self._next_id += 1
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        entry = {
            "id": self._next_id,
            "sha": match.group(2),
            "status": body.get("state"),
            "name": body.get("name"),
            "description": body.get("description"),
            "target_url": body.get("target_url"),
            "pipeline_id": body.get("pipeline_id"),
        }
        self.posted_statuses.append(entry)
        # As GitLab does, the commit's statuses listing shows it from now on (when the stub
        # serves that listing), with GitLab's times: a finished state has its finish.
        listing = f"/api/v4/projects/{match.group(1)}/repository/commits/{match.group(2)}/statuses"
        status, listed = self.routes.get(("GET", listing), (404, None))
        if status == 200 and isinstance(listed, list):
            finished = now if entry["status"] in ("success", "failed", "canceled") else None
            listed.append(
                {
                    **entry,
                    "ref": None,
                    "created_at": now,
                    "started_at": now if entry["status"] != "pending" else None,
                    "finished_at": finished,
                    "allow_failure": False,
                    "coverage": None,
                    "author": dict(BOT),
                }
            )
        return 201, entry, {}

    def _retry(self, match: re.Match[str]) -> tuple[int, Any, dict[str, str]]:
        job_path = f"/api/v4/projects/{match.group(1)}/jobs/{match.group(2)}"
        status, job = self.routes.get(("GET", job_path), (404, None))
        if status != 200 or not isinstance(job, dict):
            return 404, {"message": "404 Job Not Found"}, {}
        if job.get("retried") or job.get("status") not in ("failed", "canceled", "success"):
            return 403, {"message": "403 Forbidden - Job is not retryable"}, {}
        self._next_id += 1
        new = {**job, "id": self._next_id, "status": "pending", "user": dict(BOT)}
        new["web_url"] = str(job.get("web_url", "")).rsplit("/", 1)[0] + f"/{self._next_id}"
        new.pop("retried", None)
        job["retried"] = True
        self.routes[("GET", job_path.rsplit("/", 1)[0] + f"/{self._next_id}")] = (200, new)
        self.retried.append(int(match.group(2)))
        return 201, new, {}


def _handler(stub: GitLabStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = parse_qs(raw.decode())
            split = urlsplit(self.path)
            stub.requests.append(
                Recorded(
                    self.command,
                    split.path,
                    parse_qs(split.query),
                    dict(self.headers.items()),
                    body,
                )
            )
            if stub.latency or split.path in stub.delays:
                time.sleep(stub.latency + stub.delays.get(split.path, 0.0))
            if stub.token is not None and self.headers.get("PRIVATE-TOKEN") != stub.token:
                status, answer = 401, {"message": "401 Unauthorized"}
                headers: dict[str, str] = {}
            else:
                status, answer, headers = stub.answer(self.command, self.path, body)
            text = answer if isinstance(answer, str) else json.dumps(answer)
            data = text.encode()
            self.send_response(status)
            kind = "text/plain" if isinstance(answer, str) else "application/json"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            drip = stub.drips.get(split.path)
            try:
                if split.path in stub.cuts:
                    self.wfile.write(data[: len(data) // 2])
                    self.close_connection = True
                    return
                if drip is None:
                    self.wfile.write(data)
                    return
                for byte in data:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(drip)
            except OSError:
                pass  # the client gave up: what the drip tests expect

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler


@contextmanager
def serve(stub: GitLabStub, *, port: int = 0) -> Iterator[GitLabStub]:
    """Run ``stub`` on ``port`` (by default a free one) of 127.0.0.1 for the ``with`` block;
    ``stub.url`` is its base (``http://127.0.0.1:PORT``)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(stub))
    server.daemon_threads = True
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
