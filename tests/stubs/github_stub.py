"""A small stand-in for GitHub's REST API on 127.0.0.1, for end-to-end tests and the bench.

Standard library only: ``http.server`` in a thread. It answers the requests sopgate makes
from :class:`GitHubState`, paginates with ``Link`` headers, supports ETags (``304``), can add
latency, and records every request and every posted status and comment.

Hostile answers (``GitHubState.tricks``) let tests attack the client offline: next-page links
to another listener or to the page itself, redirects, a body dripped byte by byte, a slow
endpoint. :class:`Listener` is a second server on 127.0.0.1 that records every request it
gets (headers and body), so a test can assert that no credential ever reaches it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    conditional: bool
    authorized: bool


@dataclass(frozen=True)
class Trick:
    """A hostile answer to the requests whose path (without ``/api/v3``) matches ``path``
    (a regular expression, searched) and whose method is ``method``.

    ``kind``: ``next`` adds ``Link: <to>; rel="next"`` to the normal answer; ``self`` adds a
    next link to the request's own URL; ``redirect`` answers ``status`` (301, 302, 307, 308)
    with ``Location: to``, ``{path}`` in ``to`` standing for the request's path and query;
    ``drip`` sends the normal answer one byte every ``seconds``; ``slow`` waits ``seconds``
    before answering normally.
    """

    path: str
    kind: str
    method: str = "GET"
    to: str = ""
    status: int = 302
    seconds: float = 1.0


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
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)  # actions/runs/{id}
    reruns: list[int] = field(default_factory=list)  # ids POSTed to rerun-failed-jobs
    workflow_runs: list[dict[str, Any]] = field(default_factory=list)  # actions/runs
    artifacts: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # per run
    token_login: str = "github-actions[bot]"  # who the token writes as (the job token)
    latency: float = 0.0
    tricks: list[Trick] = field(default_factory=list)
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

    def do_DELETE(self) -> None:
        self._serve("DELETE")

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
            trick = next(
                (t for t in state.tricks if t.method == method and re.search(t.path, path)), None
            )
            if not (trick and trick.kind == "redirect"):  # a redirected write does not happen
                status, data, paged = self._route(method, path, query, body)
        if trick and trick.kind == "redirect":
            self._answer(trick.status, b"", {"Location": trick.to.replace("{path}", self.path)})
            return
        if trick and trick.kind == "slow":
            time.sleep(trick.seconds)
        if paged and isinstance(data, list):
            per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
            chunk = data[(page - 1) * per_page : page * per_page]
            more = page * per_page < len(data)
            kept = {**query, "per_page": per_page, "page": page + 1}  # filters stay on
            link = (
                f'<http://{self.headers["Host"]}{url.path}?{urlencode(kept)}>; rel="next"'
                if more
                else ""
            )
            data = chunk if paged is True else {paged: chunk, "total_count": len(data)}
        else:
            link = ""
        if trick and trick.kind == "next":
            link = f'<{trick.to}>; rel="next"'
        if trick and trick.kind == "self":
            link = f'<http://{self.headers["Host"]}{self.path}>; rel="next"'
        raw = b"" if status == 204 else json.dumps(data).encode()
        etag = f'W/"{hashlib.sha1(raw).hexdigest()}"'
        if method == "GET" and status == 200 and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if method == "GET":
            headers["ETag"] = etag
        if link:
            headers["Link"] = link
        self._answer(
            status, raw, headers, drip=trick.seconds if trick and trick.kind == "drip" else 0
        )

    def _answer(self, status: int, raw: bytes, headers: dict[str, str], drip: float = 0) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            if not drip:
                self.wfile.write(raw)
                return
            for index in range(len(raw)):
                self.wfile.write(raw[index : index + 1])
                self.wfile.flush()
                time.sleep(drip)
        except OSError:  # the client gave up (a deadline passed), as it should
            pass

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
                tip = hashlib.sha1(f"tip of {name}".encode()).hexdigest()  # its commit
                branch = {
                    "name": name,
                    "protected": name in state.protected,
                    "commit": {"sha": tip},
                }
                return 200, branch, False
            if re.fullmatch(rf"{repo}/pulls/\d+/commits", path):
                return 200, state.commits, True
            if re.fullmatch(rf"{repo}/commits/\w+/check-suites", path):
                return 200, state.check_suites, "check_suites"
            if re.fullmatch(rf"{repo}/issues/\d+/timeline", path):
                return 200, state.timeline, True
            if path == f"{repo}/actions/runs":  # filtered by head_sha, as GitHub does
                sha = query.get("head_sha")
                runs = [r for r in state.workflow_runs if sha is None or r["head_sha"] == sha]
                return 200, runs, "workflow_runs"
            match = re.fullmatch(rf"{repo}/actions/runs/(\d+)/artifacts", path)
            if match:
                return 200, state.artifacts.get(int(match.group(1)), []), "artifacts"
            if re.fullmatch(rf"{repo}/actions/runs/\d+/approvals", path):
                return 200, state.approvals, False
            match = re.fullmatch(rf"{repo}/actions/runs/(\d+)", path)
            if match:
                run = state.runs.get(int(match.group(1)))
                return (200, run, False) if run else (404, {"message": "Not Found"}, False)
            match = re.fullmatch(rf"{repo}/pulls/(\d+)", path)
            if match:
                pull = next(
                    (p for p in state.pulls if p.get("number") == int(match.group(1))), None
                )
                return (200, pull, False) if pull else (404, {"message": "Not Found"}, False)
            if re.fullmatch(rf"{repo}/issues/\d+/comments", path):
                for comment in state.comments:  # URLs on this server, as GitHub's are
                    comment["url"] = f"{base}{repo}/issues/comments/{comment['id']}"
                return 200, state.comments, True
            if re.fullmatch(rf"{repo}/commits/\w+/check-runs", path):
                return 200, state.check_runs, "check_runs"
            match = re.fullmatch(rf"{repo}/commits/(\w+)/statuses", path)
            if match:  # newest first, of this commit (a seeded status without sha: any)
                sha = match.group(1)
                of = [s for s in reversed(state.statuses) if s.get("sha", sha) == sha]
                return 200, of, True
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
            match = re.fullmatch(rf"{repo}/actions/runs/(\d+)/rerun-failed-jobs", path)
            if match:
                run = state.runs.get(int(match.group(1)))
                if run is None:
                    return 404, {"message": "Not Found"}, False
                if run.get("status") != "completed":
                    return 403, {"message": "This workflow run is not completed"}, False
                state.reruns.append(int(match.group(1)))
                return 201, {}, False
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
                number = max((c["id"] for c in state.comments), default=0) + 1
                comment = {
                    "id": number,
                    "body": body["body"],
                    "user": state.user(state.token_login),
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
        if method == "DELETE":
            match = re.fullmatch(rf"{repo}/issues/comments/(\d+)", path)
            if match:
                state.comments[:] = [c for c in state.comments if c["id"] != int(match.group(1))]
                return 204, None, False
        return 404, {"message": "Not Found"}, False


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: GitHubState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


@dataclass
class Heard:
    method: str
    path: str
    headers: dict[str, str]
    body: str


class _ListenerHandler(BaseHTTPRequestHandler):
    server: _ListenerServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        with self.server.lock:
            self.server.heard.append(Heard(self.command, self.path, dict(self.headers), body))
        served = self.server.files.get(urlsplit(self.path).path)
        if self.command == "GET" and served is not None:
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(served)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client stopped reading (a size cap)
                self.wfile.write(served)
            return
        raw = b"[]" if self.command == "GET" else b"{}"
        self.send_response(200 if self.command == "GET" else 201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _record


class _ListenerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _ListenerHandler)
        self.files = files
        self.heard: list[Heard] = []
        self.lock = threading.Lock()


class Listener:
    """A second server on 127.0.0.1 (another origin than the stub) that records every
    request, headers and body included, and answers ``[]`` or ``{}``; a GET of a path in
    ``files`` is answered with those bytes (blob storage serving a download).

    ``with Listener() as other: ... other.url ... other.heard``
    """

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files = {} if files is None else files
        self._server = _ListenerServer(self.files)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def heard(self) -> list[Heard]:
        with self._server.lock:
            return list(self._server.heard)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class GitHubStub:
    """``with GitHubStub(state) as stub: ... stub.url ...`` serves on a free port."""

    def __init__(self, state: GitHubState) -> None:
        self.state = state
        self._server = _Server(state)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

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
