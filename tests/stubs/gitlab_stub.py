"""A local stand-in for the GitLab v4 REST API, for end-to-end tests and the benchmark.

Standard library only: ``http.server`` in a thread on 127.0.0.1. It serves canned JSON per
``(METHOD, path)`` (paths as sent, ``/api/v4/...``), paginates every list the way GitLab does
(``page``/``per_page``, ``Link`` and ``X-Next-Page`` headers), records every request, and
keeps the notes and commit statuses that clients post so tests can assert on them.
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
_DEPLOYMENTS = re.compile(r"^/api/v4/projects/([^/]+)/deployments$")


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
    requests: list[Recorded] = field(default_factory=list)
    posted_statuses: list[dict[str, Any]] = field(default_factory=list)
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
            if method == "GET":
                return self._get(path, query)
            match = _NOTES.match(path)
            if match and method in ("POST", "PUT"):
                return self._note(method, path, match, body)
            match = _STATUS.match(path)
            if match and method == "POST":
                return self._status(match, body)
            status, canned = self.routes.get((method, path), (404, {"message": "404 Not Found"}))
            return status, canned, {}

    def _get(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
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
            headers["Link"] = f'<{link}>; rel="next"'
            headers["X-Next-Page"] = str(page + 1)
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
            "author": {"id": 1, "username": "project_7_bot", "name": "sopgate"},
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
        return 201, entry, {}


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
            if stub.latency:
                time.sleep(stub.latency)
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
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler


@contextmanager
def serve(stub: GitLabStub) -> Iterator[GitLabStub]:
    """Run ``stub`` on a free port of 127.0.0.1 for the ``with`` block; ``stub.url`` is
    its base (``http://127.0.0.1:PORT``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    server.daemon_threads = True
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
