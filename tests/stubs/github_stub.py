"""A small stand-in for GitHub's REST API on 127.0.0.1, for end-to-end tests and the bench.

Standard library only: ``http.server`` in a thread. It answers the requests sopgate makes
from :class:`GitHubState`, paginates with ``Link`` headers, supports ETags (``304``), can add
latency, and records every request and every posted status and comment.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    conditional: bool
    authorized: bool


@dataclass
class GitHubState:
    """What the stub knows about one repository; lists hold GitHub-shaped JSON objects."""

    repository: str = "acme/fraud-model"
    files: dict[str, str] = field(default_factory=dict)  # path -> text, at every ref
    reviews: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    pulls: list[dict[str, Any]] = field(default_factory=list)  # commits/{sha}/pulls
    teams: dict[str, list[str]] = field(default_factory=dict)  # "org/team" -> logins
    default_branch: str = "main"
    protected: set[str] = field(default_factory=set)  # protected branch names
    commits: list[dict[str, Any]] = field(default_factory=list)  # pulls/{n}/commits
    check_suites: list[dict[str, Any]] = field(default_factory=list)  # of any commit
    timeline: list[dict[str, Any]] = field(default_factory=list)  # issues/{n}/timeline
    approvals: list[dict[str, Any]] = field(default_factory=list)  # actions/runs/{id}/approvals
    latency: float = 0.0
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def user(self, login: str) -> dict[str, Any]:
        return {"login": login, "id": abs(hash(login)) % 10**6, "type": "User"}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    prefix = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        state = self.server.state
        if state.latency:
            time.sleep(state.latency)
        url = urlsplit(self.path)
        path = re.sub(r"^/api/v3", "", url.path)
        self.prefix = url.path[: len(url.path) - len(path)]
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with state.lock:
            state.requests.append(
                Recorded(
                    method, path, "If-None-Match" in self.headers, "Authorization" in self.headers
                )
            )
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null") if length else None
            status, data, paged = self._route(method, path, query, body)
        if paged and isinstance(data, list):
            per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
            chunk = data[(page - 1) * per_page : page * per_page]
            more = page * per_page < len(data)
            link = (
                (
                    f"<http://{self.headers['Host']}{url.path}?per_page={per_page}"
                    f'&page={page + 1}>; rel="next"'
                )
                if more
                else ""
            )
            data = chunk if paged is True else {paged: chunk, "total_count": len(data)}
        else:
            link = ""
        raw = json.dumps(data).encode()
        etag = f'W/"{hashlib.sha1(raw).hexdigest()}"'
        if method == "GET" and status == 200 and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        if method == "GET":
            self.send_header("ETag", etag)
        if link:
            self.send_header("Link", link)
        self.end_headers()
        self.wfile.write(raw)

    def _route(
        self, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any, bool | str]:
        state = self.server.state
        repo = f"/repos/{state.repository}"
        base = f"http://{self.headers['Host']}{self.prefix}"
        if method == "GET":
            if path == f"{repo}/pulls/42/reviews" or re.fullmatch(
                rf"{repo}/pulls/\d+/reviews", path
            ):
                return 200, state.reviews, True
            if path == repo:
                return (
                    200,
                    {"full_name": state.repository, "default_branch": state.default_branch},
                    False,
                )
            match = re.fullmatch(rf"{repo}/branches/(.+)", path)
            if match:
                name = unquote(match.group(1))
                return 200, {"name": name, "protected": name in state.protected}, False
            if re.fullmatch(rf"{repo}/pulls/\d+/commits", path):
                return 200, state.commits, True
            if re.fullmatch(rf"{repo}/commits/\w+/check-suites", path):
                return 200, state.check_suites, "check_suites"
            if re.fullmatch(rf"{repo}/issues/\d+/timeline", path):
                return 200, state.timeline, True
            if re.fullmatch(rf"{repo}/actions/runs/\d+/approvals", path):
                return 200, state.approvals, False
            if re.fullmatch(rf"{repo}/issues/\d+/comments", path):
                for comment in state.comments:  # URLs on this server, as GitHub's are
                    comment["url"] = f"{base}{repo}/issues/comments/{comment['id']}"
                return 200, state.comments, True
            if re.fullmatch(rf"{repo}/commits/\w+/check-runs", path):
                return 200, state.check_runs, "check_runs"
            if re.fullmatch(rf"{repo}/commits/\w+/statuses", path):
                return 200, list(reversed(state.statuses)), True
            if re.fullmatch(rf"{repo}/commits/\w+/pulls", path):
                return 200, state.pulls, True
            match = re.fullmatch(rf"{repo}/git/trees/(\w+)", path)
            if match:
                tree = [{"path": p, "type": "blob", "mode": "100644"} for p in state.files]
                return 200, {"sha": match.group(1), "tree": tree, "truncated": False}, False
            match = re.fullmatch(rf"{repo}/contents/(.+)", path)
            if match:
                text = state.files.get(match.group(1))
                if text is None:
                    return 404, {"message": "Not Found"}, False
                content = base64.b64encode(text.encode()).decode()
                return (
                    200,
                    {
                        "type": "file",
                        "encoding": "base64",
                        "content": content,
                        "path": match.group(1),
                    },
                    False,
                )
            match = re.fullmatch(r"/orgs/([^/]+)/teams/([^/]+)/members", path)
            if match:
                members = state.teams.get(f"{match.group(1)}/{match.group(2)}")
                if members is None:
                    return 404, {"message": "Not Found"}, False
                return 200, [state.user(m) for m in members], True
        if method == "POST":
            match = re.fullmatch(rf"{repo}/statuses/(\w+)", path)
            if match:
                status = dict(
                    body,
                    id=len(state.statuses) + 1,
                    sha=match.group(1),
                    created_at="2026-11-26T10:00:00Z",
                    updated_at="2026-11-26T10:00:00Z",
                )
                state.statuses.append(status)
                return 201, status, False
            match = re.fullmatch(rf"{repo}/issues/(\d+)/comments", path)
            if match:
                number = len(state.comments) + 1
                comment = {
                    "id": number,
                    "body": body["body"],
                    "user": state.user("bot[bot]"),
                    "created_at": "2026-11-26T10:00:00Z",
                    "updated_at": "2026-11-26T10:00:00Z",
                    "url": f"{base}{repo}/issues/comments/{number}",
                    "html_url": f"https://github.invalid/{state.repository}/pull/"
                    f"{match.group(1)}#issuecomment-{number}",
                }
                state.comments.append(comment)
                return 201, comment, False
        if method == "PATCH":
            match = re.fullmatch(rf"{repo}/issues/comments/(\d+)", path)
            if match:
                for comment in state.comments:
                    if comment["id"] == int(match.group(1)):
                        comment["body"] = body["body"]
                        comment["updated_at"] = "2026-11-26T10:00:01Z"
                        return 200, comment, False
        return 404, {"message": "Not Found"}, False


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: GitHubState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class GitHubStub:
    """``with GitHubStub(state) as stub: ... stub.url ...`` serves on a free port."""

    def __init__(self, state: GitHubState) -> None:
        self.state = state
        self._server = _Server(state)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> GitHubStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
