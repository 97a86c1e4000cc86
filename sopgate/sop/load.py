"""Load ``.sopgate.yml``: parse, validate every rule of DESIGN.md, and collect warnings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pydantic_core import ValidationError

from sopgate.errors import Diagnostic, InputError
from sopgate.sop import issues
from sopgate.sop.model import Sop
from sopgate.sop.rules import check_references
from sopgate.yamlsrc import Document, load, read_text

MAX_SOP_BYTES = 1024 * 1024


@dataclass(frozen=True)
class LoadedSop:
    """A valid SOP with where it came from: path, text, sha256 and each step's line."""

    sop: Sop
    path: str
    text: str
    lines: dict[str, int]
    warnings: tuple[Diagnostic, ...]

    @property
    def sha256(self) -> str:
        """sha256 of the text, as hex: computed when a record needs it (loading OpenSSL's
        hashes costs a start about 3 ms, and ``validate`` or a plain check needs none)."""
        import hashlib

        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def read_sop(path: str, *, today: date | None = None) -> LoadedSop:
    """Read and validate the SOP at ``path`` (errors: :class:`InputError`, exit 2)."""
    text = read_text(
        path,
        max_bytes=MAX_SOP_BYTES,
        what="SOP",
        missing="no SOP file here; pass --sop PATH or set SOPGATE_SOP",
    )
    return parse_sop(text, path=path, today=today)


def parse_sop(text: str, *, path: str, today: date | None = None) -> LoadedSop:
    """Validate SOP ``text``; ``today`` judges the review schedule (default: the real date)."""
    doc = load(text, path=path, max_bytes=MAX_SOP_BYTES, what="SOP", collect=True)
    if not isinstance(doc.data, dict):
        message = (
            "the SOP must be a mapping of keys (sopgate, name, roles, steps, ...), "
            f"got {issues.describe(doc.data)}"
        )
        raise InputError(_with_problems(doc, [doc.error((), message)]))
    errors = check_references(doc)
    sop: Sop | None = None
    try:
        sop = Sop.model_validate(doc.data)
    except ValidationError as exc:
        from sopgate.sop import spec  # the spec names the allowed keys (errors only)

        errors.extend(issues.diagnostics(exc, doc, spec.Sop))
    errors = _with_problems(doc, errors)
    if errors or sop is None:
        raise InputError(_unique(errors))
    lines = {step.id: doc.value_pos(("steps", i))[0] for i, step in enumerate(sop.steps)}
    return LoadedSop(
        sop=sop,
        path=path,
        text=text,
        lines=lines,
        warnings=tuple(sorted(_warnings(sop, doc, today or date.today()))),
    )


def _with_problems(doc: Document, errors: list[Diagnostic]) -> list[Diagnostic]:
    """The YAML's own errors (duplicate keys, tags) with the rest: every error at once. What
    validation finds where the YAML already failed (a value dropped for its tag) would only
    repeat it."""
    spots = {(d.line, d.col) for d in doc.problems}
    return [*doc.problems, *(d for d in errors if (d.line, d.col) not in spots)]


def _unique(found: list[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(found))


def _warnings(sop: Sop, doc: Document, today: date) -> list[Diagnostic]:
    found: list[Diagnostic] = []

    def warn(loc: tuple[str | int, ...], message: str, *, at_key: bool = False) -> None:
        line, col = doc.key_pos(loc) if at_key else doc.value_pos(loc)
        found.append(Diagnostic(line, col, message, doc.path, warning=True))

    for i, step in enumerate(sop.steps):
        if step.environment and not step.rollback:
            warn(
                ("steps", i),
                f"step '{step.id}' deploys to {step.environment} but has no "
                "rollback criteria; add 'rollback:'",
            )
    if sop.review:
        try:
            due = sop.review.last_reviewed + timedelta(days=sop.review.every_days)
        except OverflowError:  # due after the year 9999: not overdue today
            due = date.max
        if due < today:
            warn(
                ("review", "last_reviewed"),
                f"SOP review is overdue: last reviewed "
                f"{sop.review.last_reviewed}, due every {sop.review.every_days} days "
                f"(since {due})",
            )
    by_id = {step.id: step for step in sop.steps}
    for i, step in enumerate(sop.steps):
        for j, other in enumerate(step.separate_from):
            if other in by_id and not by_id[other].approvals:
                warn(
                    ("steps", i, "separate_from", j),
                    f"step '{step.id}' is separate from '{other}', which has no approvals, so "
                    "nobody is kept apart; name a step with approvals or remove it",
                )
    used = set(sop.owners)
    if sop.emergency:
        used.add(sop.emergency.role)
    for step in sop.steps:
        used.add(step.owner)
        used.update(step.run_by)
        for rule in step.approvals:
            regions = sop.regions if step.for_each == "region" else ()
            used.update(rule.role.replace("{region}", r) for r in regions)
            used.add(rule.role)
    for name, role in sop.roles.items():
        if name not in used:
            warn(
                ("roles", name), f"role '{name}' is not used by any step or by owners", at_key=True
            )
        elif not role.users and not role.groups:
            warn(
                ("roles", name),
                f"role '{name}' has no users or groups: nobody can act for it",
                at_key=True,
            )
    return found
