"""Evidence documents: the parsed content of the files that an ``evidence`` entry with
``require`` names, read at the deployed commit through the files API.

One request per file (``/repository/files/:path/raw?ref=SHA``), at most
:data:`MAX_DOCUMENTS` files and :data:`MAX_DOCUMENT_BYTES` each. A file that is too large,
unreadable or not JSON/YAML is written as None (unknown: its ``require`` fails) with a note.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sopgate.errors import InputError
from sopgate.platforms.gitlab.client import Api, ApiError, path_id

if TYPE_CHECKING:
    from sopgate.sop.model import Sop

MAX_DOCUMENT_BYTES = 1024 * 1024
#: Documents read per gather; files past it are unknown (their requirements fail).
MAX_DOCUMENTS = 50


def required_paths(sops: list[Sop], files: tuple[str, ...]) -> tuple[str, ...]:
    """The files of ``files`` (blobs of the tree) that an ``evidence`` entry with
    ``require`` names in any of ``sops``: ``{region}`` expanded over the scope's regions,
    globs matched as paths (``*`` within a folder, ``**`` across folders)."""
    from sopgate.gates import glob_regex

    patterns: set[str] = set()
    for sop in sops:
        for step in sop.steps:
            for rule in step.evidence:
                if not rule.require:
                    continue
                if "{region}" in rule.path:
                    patterns |= {rule.path.replace("{region}", r) for r in sop.regions}
                else:
                    patterns.add(rule.path)
    regexes = [glob_regex(p, paths=True) for p in sorted(patterns)]
    return tuple(f for f in files if any(r.match(f) for r in regexes))


def read_documents(
    api: Api, project: str, *, paths: tuple[str, ...], ref: str, notes: list[str]
) -> dict[str, Any]:
    """``{path: parsed content or None}`` for ``paths`` at ``ref``."""
    documents: dict[str, Any] = {}
    if len(paths) > MAX_DOCUMENTS:
        skipped = paths[MAX_DOCUMENTS:]
        notes.append(
            f"{len(paths)} evidence documents have requirements; the first {MAX_DOCUMENTS} "
            f"were read, {len(skipped)} are unknown: {', '.join(skipped[:5])}"
            + (", ..." if len(skipped) > 5 else "")
        )
        documents.update(dict.fromkeys(skipped))
    for path in paths[:MAX_DOCUMENTS]:
        documents[path] = _document(api, project, path, ref, notes)
    return documents


def _document(api: Api, project: str, path: str, ref: str, notes: list[str]) -> Any:
    try:
        text = str(api.get(f"{project}/repository/files/{path_id(path)}/raw", ref=ref, raw=True))
    except ApiError as exc:
        if exc.status not in (403, 404):
            raise
        notes.append(f"evidence document {path}: GitLab answered {exc.status}; unknown")
        return None
    size = len(text.encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        notes.append(
            f"evidence document {path} is {size:,} bytes, more than the "
            f"{MAX_DOCUMENT_BYTES:,} read; unknown"
        )
        return None
    try:
        return parse_document(text, path=path)
    except ValueError as exc:
        notes.append(f"evidence document {path} is not valid JSON or YAML ({exc}); unknown")
        return None


def parse_document(text: str, *, path: str) -> Any:
    """A document's content as plain JSON values: ``.json`` files as JSON only, others as
    YAML (aliases bounded, dates written as ISO strings). Raises ValueError."""
    if path.lower().endswith(".json"):
        try:
            return json.loads(text, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {exc.lineno}: {exc.msg}") from None
    from sopgate.yamlsrc import load

    try:
        data = load(text, path=path, max_bytes=MAX_DOCUMENT_BYTES, what="evidence").data
    except InputError as exc:
        first = exc.items[0] if exc.items else None
        where = f"line {first.line}: {first.message}" if first else "invalid"
        raise ValueError(where) from None
    return _plain(data)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
