"""The facts snapshot (DESIGN.md, "The facts snapshot"): what the platform says about one
commit, gathered once. Frozen values; read from and written to YAML or JSON files.

The classes are those of ``sopgate/facts_spec.py`` (the pydantic models that specify the
format), built from their compiled core schema (``sopgate/compiled.py``)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic_core import ValidationError

from sopgate import _schemas
from sopgate.compiled import build
from sopgate.errors import Diagnostic, InputError
from sopgate.sop import issues
from sopgate.sop.model import REGION_ID, STEP_ID
from sopgate.yamlsrc import load, read_text

MAX_FACTS_BYTES = 64 * 1024 * 1024
#: YAML facts are read with position tracking, which costs far more memory per byte than
#: JSON: a larger snapshot must be written as JSON.
MAX_YAML_FACTS_BYTES = 16 * 1024 * 1024
#: Up to this size an invalid JSON snapshot is re-read with positions for its error lines.
_POSITIONS_BYTES = 2 * 1024 * 1024

Platform = Literal["github", "gitlab", "local"]
CheckState = Literal["success", "failure", "pending", "skipped", "cancelled"]
ApprovalState = Literal["approved", "rejected", "dismissed"]
Source = Literal["review", "signoff", "deployment", "emergency"]

#: The CI app whose check entries count as a step's ``jobs`` on each platform.
CI_APP: dict[str, str] = {"github": "github-actions", "gitlab": "gitlab-ci", "local": "ci"}


def _no_numbers(value: Any) -> Any:
    # pydantic would read 5 as 1970-01-01T00:00:05Z; a timestamp must be written as one.
    if isinstance(value, int | float):
        raise ValueError("expected a timestamp such as 2026-11-26T10:00:00Z")
    return value


#: A plan key: a step id, or a region instance such as ``production[eu-west]``.
STEP_KEY = re.compile(STEP_ID.removesuffix("$") + r"(\[" + REGION_ID[1:-1] + r"\])?$")
#: A record's ``report_digest``: the sha256 of its canonical JSON, as lowercase hex.
DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _step_key(value: Any) -> Any:
    if isinstance(value, str) and not STEP_KEY.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a step key: expected a step id or a region instance such as "
            "production[eu-west]"
        )
    return value


def _record_digest(value: Any) -> Any:
    if isinstance(value, str) and not DIGEST.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a record digest: expected the report_digest of a "
            "sopgate-report.json (64 lowercase hex characters)"
        )
    return value


def _null_is_empty(value: Any) -> Any:
    # "A platform that cannot tell a value writes null": for a mapping whose absent entries
    # already mean unknown (groups, documents), null is the same as empty.
    return {} if value is None else value


class ChangeMethods:
    """What a change knows beyond its fields (for the spec model and the built class)."""

    if TYPE_CHECKING:
        pushed_at: datetime | None

        @property
        def model_fields_set(self) -> set[str]: ...

    @property
    def push_unknown(self) -> bool:
        """True when the platform wrote ``pushed_at: null`` (unknown, never favourable)."""
        return self.pushed_at is None and "pushed_at" in self.model_fields_set


class FactsMethods:
    """What a snapshot knows beyond its fields (for the spec model and the built class)."""

    if TYPE_CHECKING:
        platform: Platform
        change: Change | None
        records: dict[str, str]

        def model_dump(self, *, mode: str, exclude_none: bool) -> dict[str, Any]: ...

    @property
    def ci_app(self) -> str:
        return CI_APP[self.platform]

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-ready data, the same shape as a facts file.

        ``change.pushed_at`` is written only when it was given (absent and null differ);
        ``records`` only when there are some, so older snapshots keep their digest.
        """
        data = self.model_dump(mode="json", exclude_none=False)
        if not self.records:
            del data["records"]
        if self.change is not None and "pushed_at" not in self.change.model_fields_set:
            del data["change"]["pushed_at"]
        return data

    def digest(self) -> str:
        """sha256 of the canonical JSON form: equal snapshots have equal digests."""
        import hashlib
        import json

        canonical = json.dumps(self.to_data(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


if TYPE_CHECKING:
    from sopgate.facts_spec import (  # the types of the built classes
        Approval,
        Change,
        Check,
        Commit,
        Facts,
    )
else:
    _built = build(
        _schemas.facts,
        module=__name__,
        functions=globals(),
        bases={"Change": ChangeMethods, "Facts": FactsMethods},
    )
    Approval = _built("Approval")
    Change = _built("Change")
    Check = _built("Check")
    Commit = _built("Commit")
    Facts = _built("Facts")


def dump_facts(facts: Facts, *, as_json: bool) -> str:
    data = facts.to_data()
    if as_json:
        import json

        return json.dumps(data, indent=2) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def read_facts(path: str) -> Facts:
    """Read a facts file (YAML or JSON); bad input raises :class:`InputError` (exit 2).

    A ``.json`` file is parsed as JSON only: a malformed one is an error, never a reason to
    try the (slower, hungrier) YAML path.
    """
    as_json = path.lower().endswith(".json")
    limit = MAX_FACTS_BYTES if as_json else MAX_YAML_FACTS_BYTES
    text = read_text(path, max_bytes=limit, what="facts", missing="no such facts file")
    return parse_facts(text, path=path, as_json=as_json)


def parse_facts(text: str, *, path: str, as_json: bool | None = None) -> Facts:
    """Facts from ``text``: JSON when ``as_json`` (or, when None, when it starts with ``{``
    and parses as JSON), else YAML."""
    if as_json or (as_json is None and text.lstrip().startswith("{")):
        import json  # here: YAML facts never need it

        try:
            data = json.loads(text, object_pairs_hook=_no_duplicates)
        except ValueError as exc:
            if as_json:
                raise InputError([_json_error(exc, path)]) from None
        else:
            try:
                if not isinstance(data, dict):
                    raise InputError([Diagnostic(1, 1, _NOT_MAPPING + issues.describe(data), path)])
                return Facts.model_validate_json(text)
            except ValidationError as exc:
                if len(text) > _POSITIONS_BYTES:
                    raise InputError(_json_diagnostics(exc, path)) from None
                # small enough: fall through to the YAML path for exact positions
    if len(text) > MAX_YAML_FACTS_BYTES:
        raise InputError(
            [Diagnostic(1, 1, "YAML facts over 16 MiB are not read: write them as JSON", path)]
        )
    # Positions are recorded only to word errors: valid facts (the usual case, and large
    # snapshots) are read without them, invalid ones read again with them.
    doc = load(text, path=path, max_bytes=MAX_FACTS_BYTES, what="facts", positions=False)
    if isinstance(doc.data, dict):
        try:
            return Facts.model_validate(doc.data)
        except ValidationError:
            pass
    doc = load(text, path=path, max_bytes=MAX_FACTS_BYTES, what="facts")
    if not isinstance(doc.data, dict):
        raise InputError([doc.error((), _NOT_MAPPING + issues.describe(doc.data))])
    try:
        return Facts.model_validate(doc.data)
    except ValidationError as exc:
        from sopgate import facts_spec  # the spec names the allowed keys (errors only)

        raise InputError(issues.diagnostics(exc, doc, facts_spec.Facts)) from None


_NOT_MAPPING = "a facts file must be a mapping starting with 'facts: 1', got "


def _json_error(exc: ValueError, path: str) -> Diagnostic:
    from json import JSONDecodeError

    if isinstance(exc, JSONDecodeError):
        return Diagnostic(exc.lineno, exc.colno, f"invalid JSON: {exc.msg}", path)
    return Diagnostic(1, 1, f"invalid JSON: {exc}", path)


def _json_diagnostics(exc: ValidationError, path: str) -> list[Diagnostic]:
    """Errors of a large JSON snapshot, located by their path in the document."""
    found = []
    for error in exc.errors()[:50]:
        where = ".".join(str(part) for part in error["loc"]) or "(top)"
        found.append(Diagnostic(1, 1, f"{where}: {error['msg']}", path))
    return found


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def now_utc() -> datetime:
    """The wall clock, used only when gathering live facts (never by the evaluator)."""
    from datetime import UTC

    return datetime.now(UTC)
