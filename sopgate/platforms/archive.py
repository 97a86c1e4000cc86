"""The records of one commit, downloaded from a platform for ``sopgate audit --platform``.

Both adapters find a commit's records in its CI artifacts (:mod:`.github.artifacts`,
:mod:`.gitlab.artifacts`); this module holds what they share:

- :func:`fetch_blob`: an artifact's bytes from the host the API redirected to (a signed URL
  on blob or object storage). That host is not the API, so the request carries no
  credential at all (no ``Authorization``, ``PRIVATE-TOKEN``, ``JOB-TOKEN`` or cookie, not
  even one ``requests`` would take from ``~/.netrc``), goes only over ``https://`` (plain
  ``http://`` only to a loopback host, or with ``SOPGATE_ALLOW_HTTP=1``, as for the API),
  follows no further redirect, and is capped in size and time. Messages name its origin
  only: the rest of a signed URL is a credential of its own.
- :func:`records_in_zip`: the records inside an artifact, read in memory. Only members named
  ``sopgate-report.json`` (at any depth) and the attestation files beside them are read,
  each under a size cap checked before and while decompressing; nothing of the archive's
  own paths is ever used to write a file.
- :func:`keep`: the records written where ``audit`` reads them, one folder per record,
  named by sopgate (never by the archive).
- :func:`download_records` and :func:`audit_platform`: the command itself, wired from the
  environment as ``check`` is.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sopgate import __version__
from sopgate.attest import ATTESTATION_DSSE, ATTESTATION_JSON
from sopgate.errors import PlatformError, UsageError
from sopgate.platforms.transport import (
    REQUEST_DEADLINE,
    Deadline,
    TooLarge,
    describe_origin,
    read_body,
    unsafe_url,
)
from sopgate.report import REPORT_JSON

if TYPE_CHECKING:
    import requests

#: Bytes one artifact may have, as downloaded (compressed).
MAX_ARTIFACT = 20 * 1024 * 1024
#: Bytes one file of a record may have once unpacked (a zip bomb stops here).
MAX_MEMBER = 8 * 1024 * 1024
#: The files of one record: the report, and the attestation files written beside it.
RECORD_FILES = (REPORT_JSON, ATTESTATION_JSON, ATTESTATION_DSSE)
#: Written into the folder of downloaded records, so that a later run may replace it.
MARKER = ".sopgate-downloaded"
#: Headers that carry a credential; none of them may reach a host that is not the API.
CREDENTIAL_HEADERS = ("Authorization", "PRIVATE-TOKEN", "JOB-TOKEN", "Cookie")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Record:
    """One record found in a platform's artifacts.

    ``label`` names its folder (safe characters only, unique within one download);
    ``source`` says where it came from, for messages; ``files`` maps the names in
    :data:`RECORD_FILES` that were found to their bytes (the report always among them).
    """

    label: str
    source: str
    files: Mapping[str, bytes]


@dataclass(frozen=True)
class Downloaded:
    """What a platform held for one commit: its records and what could not be read."""

    commit: str
    records: tuple[Record, ...]
    notes: tuple[str, ...] = ()
    looked_at: str = ""  # e.g. "3 workflow runs, 5 sopgate-report artifacts"


@dataclass
class Labels:
    """Hands out folder names: ``base`` made safe, with ``-2``, ``-3``... on a repeat."""

    taken: set[str] = field(default_factory=set)

    def __call__(self, base: str) -> str:
        safe = _UNSAFE.sub("_", base).strip("._-")[:120] or "record"
        label, number = safe, 1
        while label in self.taken:
            number += 1
            label = f"{safe}-{number}"
        self.taken.add(label)
        return label


class _NoCredentials:
    """A ``requests`` auth hook that removes every credential header from a request, so
    that neither a session default nor ``~/.netrc`` can add one."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        for name in CREDENTIAL_HEADERS:
            request.headers.pop(name, None)
        return request


def require_safe_blob_url(url: str, env: Mapping[str, str], *, what: str) -> None:
    """Refuse a download URL that is not ``https://`` (``http://`` only to a loopback host,
    or with ``SOPGATE_ALLOW_HTTP=1``: the API's own rule)."""
    problem = unsafe_url(url, env)
    if problem == "unusable":
        raise PlatformError(f"{what}: the download address is not an http(s) URL: refused")
    if problem == "clear text":
        raise PlatformError(
            f"{what}: the download is offered over plain http ({describe_origin(url)}): "
            "refused, only https:// is accepted"
        )


def fetch_blob(
    url: str,
    *,
    env: Mapping[str, str],
    budget: Deadline,
    what: str,
    max_bytes: int = MAX_ARTIFACT,
    timeout: float = 30.0,
) -> bytes:
    """GET ``url`` with no credential, under ``budget`` (the whole download's deadline) and
    :data:`~sopgate.platforms.transport.REQUEST_DEADLINE`; at most ``max_bytes``.

    Any failure raises :class:`PlatformError` (exit 3), naming ``what`` and the host's
    origin, never the URL (its query is a signature)."""
    import requests
    import urllib3

    require_safe_blob_url(url, env, what=what)
    where = describe_origin(url)
    deadline = Deadline(REQUEST_DEADLINE, f"downloading {what}", parent=budget)
    deadline.check()
    wait = max(0.001, min(timeout, deadline.remaining()))
    with requests.Session() as session:
        session.headers.clear()
        session.headers["User-Agent"] = f"sopgate/{__version__}"
        try:
            response = session.get(
                url, auth=_NoCredentials(), timeout=wait, stream=True, allow_redirects=False
            )
            status = response.status_code
            if status != 200:
                response.close()
                kind = "a redirect" if 300 <= status < 400 else "an error"
                raise PlatformError(
                    f"{what}: the download host {where} answered HTTP {status} ({kind}): refused"
                )
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                response.close()
                raise PlatformError(_too_large(what, max_bytes))
            try:
                return read_body(response, deadline, max_bytes=max_bytes)
            except TooLarge:
                raise PlatformError(_too_large(what, max_bytes)) from None
        except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError):
            raise PlatformError(f"{what}: {where} did not answer within {wait:.3g} s") from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise PlatformError(f"{what}: cannot reach {where} ({type(exc).__name__})") from None


def _too_large(what: str, max_bytes: int) -> str:
    return f"{what} is larger than {max_bytes // (1024 * 1024)} MiB: refused"


def records_in_zip(data: bytes, *, what: str, label: str, labels: Labels) -> list[Record]:
    """The records in the zip archive ``data`` (one per ``sopgate-report.json``, at any
    depth, with the attestation files of its folder), in the archive's order.

    A file that is not a zip archive, an encrypted record, or a record file larger than
    :data:`MAX_MEMBER` once unpacked raise :class:`PlatformError`: an artifact that cannot
    be read whole is not silently left out of an audit."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise PlatformError(f"{what} is not a readable zip archive: refused") from None
    with archive:
        folders: dict[str, dict[str, zipfile.ZipInfo]] = {}
        for info in archive.infolist():
            if info.is_dir():
                continue
            folder, _, name = info.filename.replace("\\", "/").rpartition("/")
            if name in RECORD_FILES:
                folders.setdefault(folder, {}).setdefault(name, info)
        found = []
        for folder, members in folders.items():
            if REPORT_JSON not in members:
                continue
            files = {name: _member(archive, info, what) for name, info in members.items()}
            place = f"{what}, {folder}/{REPORT_JSON}" if folder else what
            found.append(Record(labels(label), place, files))
        return found


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> bytes:
    limit = f"more than the {MAX_MEMBER // (1024 * 1024)} MiB a record file may have: refused"
    shown = info.filename[:200]
    if info.flag_bits & 0x1:
        raise PlatformError(f"{what}: {shown!r} is encrypted: refused")
    if info.file_size > MAX_MEMBER:
        raise PlatformError(f"{what}: {shown!r} unpacks to {info.file_size} bytes, {limit}")
    try:
        with archive.open(info) as handle:
            content = handle.read(MAX_MEMBER + 1)
    except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError, EOFError) as exc:
        # NotImplementedError is zipfile's answer to a compression method it lacks
        raise PlatformError(f"{what}: {shown!r} cannot be unpacked ({exc})") from None
    if len(content) > MAX_MEMBER:
        raise PlatformError(f"{what}: {shown!r} unpacks to {limit}")
    return content


def make_room(folder: Path) -> None:
    """Make sure :func:`keep` may write ``folder``: a folder written by an earlier download
    (it holds :data:`MARKER`) is removed; any other existing one is refused (exit 2), as it
    may hold records that are not this commit's. Called before anything is downloaded."""
    if folder.exists() or folder.is_symlink():
        if folder.is_symlink() or not (folder / MARKER).is_file():
            raise UsageError(
                f"{folder} exists and was not written by sopgate audit --platform: remove it "
                "or choose another --output"
            )
        shutil.rmtree(folder)


def keep(records: tuple[Record, ...], folder: Path) -> Path:
    """Write each record into ``folder/LABEL/`` under the fixed names of
    :data:`RECORD_FILES` (see :func:`make_room`), and return ``folder``."""
    make_room(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("records downloaded by sopgate audit --platform\n")
    for record in records:
        target = folder / record.label
        target.mkdir()
        for name, content in record.files.items():
            if name in RECORD_FILES:
                (target / name).write_bytes(content)
    return folder


_COMMIT = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


def download_records(
    platform: str, env: Mapping[str, str], *, commit: str | None, token_env: str | None
) -> Downloaded:
    """The records of ``commit`` (default: the CI job's own, ``GITHUB_SHA`` or
    ``CI_COMMIT_SHA``) in the artifacts of ``platform`` ("auto", "github" or "gitlab"),
    configured from ``env`` as ``check`` is (API URL, repository or project, token)."""
    from sopgate.platforms import detect
    from sopgate.platforms.transport import budget_from_env

    name = detect(env) if platform == "auto" else platform
    variable = {"github": "GITHUB_SHA", "gitlab": "CI_COMMIT_SHA"}.get(name)
    if variable is None:
        raise UsageError(f"unknown platform '{platform}'; allowed: auto, github, gitlab")
    sha = (commit or env.get(variable, "")).strip().lower()
    if not sha:
        raise UsageError(f"no commit to audit: {variable} is not set; pass --commit SHA")
    if not _COMMIT.fullmatch(sha):
        given = "--commit" if commit else variable
        raise UsageError(f"{given} {sha[:80]!r} is not a full commit id (40 hex digits)")
    if name == "github":
        from sopgate.platforms.github import settings_from_env as github_settings
        from sopgate.platforms.github.api import Api as GitHubApi
        from sopgate.platforms.github.artifacts import download as from_github

        settings = github_settings(env, token_env=token_env)
        api = GitHubApi(settings.api_url, settings.token, deadline=budget_from_env(env))
        return from_github(api, settings, sha, env)
    from sopgate.platforms.gitlab import settings_from_env as gitlab_settings
    from sopgate.platforms.gitlab.artifacts import download as from_gitlab
    from sopgate.platforms.gitlab.client import Api as GitLabApi

    lab = gitlab_settings({**env, "CI_COMMIT_SHA": sha}, token_env=token_env)
    client = GitLabApi(url=lab.server_url, token=lab.token, budget=lab.budget)
    return from_gitlab(client, lab, sha, env)


def audit_platform(
    platform: str, outdir: str, *, commit: str | None, token_env: str | None, key: str | None
) -> int:
    """``sopgate audit --platform``: download the records of one commit into
    ``OUTDIR/records``, then audit them as local folders are (:func:`sopgate.audit.run`).
    Exit 1, with nothing audited, when the commit has no record at all."""
    import os

    from sopgate.audit import run
    from sopgate.output import say

    folder = Path(outdir) / "records"
    make_room(folder)  # before any request: a folder that cannot be written is a usage error
    found = download_records(platform, os.environ, commit=commit, token_env=token_env)
    for note in found.notes:
        say(f"note: {note}", err=True)
    say(f"downloaded {len(found.records)} records of {found.commit} ({found.looked_at})", err=True)
    if not found.records:
        say(f"no sopgate record of commit {found.commit} was found: nothing to audit", err=True)
        return 1
    return run([str(keep(found.records, folder))], outdir, key=key)
