"""Gate tests (DESIGN.md "Gate tests"): a repository's own declarative tests of its SOP.

A test file holds ``cases: [{name, sop, facts, expect}]``. ``sop`` and ``facts`` paths are
relative to the test file; ``sop`` defaults to the SOP in force; ``facts`` is a facts file or
an inline facts mapping; ``expect`` maps a step (a node key such as ``production[eu-west]``,
or a fanned-out step id meaning every instance) to ``open``, ``closed`` or a state. An
invalid test file is an :class:`~sopgate.errors.InputError` (exit 2) placed at
``PATH:LINE:COL`` like the SOP loader's.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from sopgate import facts_spec
from sopgate.errors import Diagnostic, InputError, UsageError
from sopgate.evaluate import STATES, Evaluation, evaluate
from sopgate.facts import Facts, read_facts
from sopgate.render.text import clean, wrap
from sopgate.sop import issues
from sopgate.sop.load import LoadedSop, read_sop
from sopgate.yamlsrc import Document, load, read_text

#: Where ``sopgate test`` looks when given no path.
DEFAULT_GLOBS = (".sopgate/tests/*.yml", ".sopgate/tests/*.yaml")
MAX_TEST_BYTES = 8 * 1024 * 1024

Expected = Literal["open", "closed", "rejected", "failed", "blocked", "waiting", "ready", "done"]
Text = Annotated[str, StringConstraints(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CaseSpec(_Model):
    """One case as written in the file."""

    name: Text
    sop: Text | None = None
    facts: Text | dict[str, Any]
    expect: Annotated[dict[Text, Expected], Field(min_length=1)]


class GateTestFile(_Model):
    """A gate-test file: ``cases``, at least one."""

    cases: Annotated[tuple[CaseSpec, ...], Field(min_length=1)]


class GateTestErrors(InputError):
    """Findings in several test files, listed file by file, then by line."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(diagnostics)
        self.items = sorted(diagnostics, key=lambda d: (d.path, d.line, d.col, d.message))
        self.args = ("\n".join(str(d) for d in self.items),)


@dataclass(frozen=True)
class Mismatch:
    """One expectation a case did not meet."""

    step: str
    expected: str
    actual: str  # "closed (waiting)" for gate expectations, the state otherwise
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CaseResult:
    """A case run: where it is written, and what it did not meet (empty: it passed)."""

    path: str
    line: int
    name: str
    mismatches: tuple[Mismatch, ...]

    @property
    def passed(self) -> bool:
        return not self.mismatches


def find_files(paths: tuple[str, ...]) -> list[str]:
    """The test files named by ``paths`` (files, directories of ``*.yml``/``*.yaml``, or
    glob patterns such as ``'.sopgate/tests/*.yml'``); with no paths, :data:`DEFAULT_GLOBS`.
    Nothing to run is a usage error."""
    found: list[str] = []
    if not paths:
        found = sorted(p for pattern in DEFAULT_GLOBS for p in glob.glob(pattern))
        if not found:
            raise UsageError(
                "no gate tests found at .sopgate/tests/*.yml; write some (sopgate init "
                "starts with examples) or pass PATH"
            )
        return found
    for path in paths:
        if os.path.isdir(path):
            inside = sorted(str(p) for p in Path(path).iterdir() if p.suffix in (".yml", ".yaml"))
            if not inside:
                raise UsageError(f"{path}: no *.yml gate-test files in this directory")
            found.extend(inside)
        elif not os.path.exists(path) and glob.has_magic(path):  # a pattern no shell expanded
            matched = sorted(glob.glob(path))
            if not matched:
                raise UsageError(f"{path}: no gate-test files match this pattern")
            found.extend(matched)
        else:
            found.append(path)
    return found


def run_files(paths: list[str], *, default_sop: str) -> list[CaseResult]:
    """Run every case of every file, in order. Invalid files raise one
    :class:`InputError` with the findings of all of them, before any case runs."""
    results: list[CaseResult] = []
    errors: list[Diagnostic] = []
    sops: dict[str, LoadedSop] = {}
    for path in paths:
        try:
            results.extend(run_file(path, default_sop=default_sop, sops=sops))
        except InputError as exc:
            errors.extend(exc.items)
    if errors:
        raise GateTestErrors(errors)
    return results


def run_file(
    path: str, *, default_sop: str, sops: dict[str, LoadedSop] | None = None
) -> list[CaseResult]:
    """Run the cases of one file; ``sops`` caches SOPs read by path across files."""
    sops = {} if sops is None else sops
    text = read_text(
        path, max_bytes=MAX_TEST_BYTES, what="gate-test", missing="no such gate-test file"
    )
    doc = load(text, path=path, max_bytes=MAX_TEST_BYTES, what="gate-test")
    if not isinstance(doc.data, dict):
        found = issues.describe(doc.data)
        raise InputError(
            [doc.error((), f"a gate-test file must be a mapping 'cases: [...]', got {found}")]
        )
    try:
        spec = GateTestFile.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(issues.diagnostics(exc, doc, GateTestFile)) from None
    errors: list[Diagnostic] = []
    prepared: list[tuple[int, CaseSpec, LoadedSop, Facts]] = []
    seen: dict[str, int] = {}
    for i, case in enumerate(spec.cases):
        line = doc.value_pos(("cases", i))[0]
        if case.name in seen:
            message = f"duplicate case name '{case.name}' (first at line {seen[case.name]})"
            errors.append(doc.error(("cases", i, "name"), message))
        seen.setdefault(case.name, line)
        try:
            loaded = _sop(doc, i, case, default_sop, sops)
        except InputError as exc:
            errors.extend(exc.items)
            continue
        errors.extend(_unknown_steps(doc, i, case, loaded))
        try:
            prepared.append((line, case, loaded, _facts(doc, i, case)))
        except InputError as exc:
            errors.extend(exc.items)
    if errors:
        raise InputError(errors)
    return [
        CaseResult(path, line, case.name, _judge(case, evaluate(loaded, facts)))
        for line, case, loaded, facts in prepared
    ]


def _relative(doc: Document, value: str) -> str:
    return os.path.normpath(os.path.join(os.path.dirname(doc.path), value))


def _sop(
    doc: Document, i: int, case: CaseSpec, default_sop: str, sops: dict[str, LoadedSop]
) -> LoadedSop:
    if case.sop is None:
        path = default_sop
    else:
        path = _relative(doc, case.sop)
        if not os.path.isfile(path):
            message = f"no SOP file {path} (relative to the test file)"
            raise InputError([doc.error(("cases", i, "sop"), message)])
    if path not in sops:
        sops[path] = read_sop(path)
    return sops[path]


def _facts(doc: Document, i: int, case: CaseSpec) -> Facts:
    loc = ("cases", i, "facts")
    if isinstance(case.facts, str):
        path = _relative(doc, case.facts)
        if not os.path.isfile(path):
            where = doc.error(loc, f"no facts file {path} (relative to the test file)")
            raise InputError([where])
        return read_facts(path)
    inner = Document(
        doc.path,
        case.facts,
        {key[3:]: pos for key, pos in doc.values.items() if key[:3] == loc},
        {key[3:]: pos for key, pos in doc.keys.items() if key[:3] == loc},
    )
    try:
        return Facts.model_validate(case.facts)
    except ValidationError as exc:
        found = issues.diagnostics(exc, inner, facts_spec.Facts)
        raise InputError([_under(d, "facts") for d in found]) from None


def _under(diagnostic: Diagnostic, prefix: str) -> Diagnostic:
    return Diagnostic(
        diagnostic.line, diagnostic.col, f"{prefix}: {diagnostic.message}", diagnostic.path
    )


def _unknown_steps(doc: Document, i: int, case: CaseSpec, loaded: LoadedSop) -> list[Diagnostic]:
    from sopgate.sop.plan import build_plan

    plan = build_plan(loaded.sop)
    known = list(plan.by_key) + [sid for sid in plan.instances if sid not in plan.by_key]
    return [
        doc.error(
            ("cases", i, "expect", step),
            f"unknown step '{step}' in {loaded.path}; steps: {', '.join(known)}",
            at_key=True,
        )
        for step in case.expect
        if step not in plan.by_key and step not in plan.instances
    ]


def _judge(case: CaseSpec, evaluation: Evaluation) -> tuple[Mismatch, ...]:
    found: list[Mismatch] = []
    for step, expected in case.expect.items():
        keys = evaluation.plan.instances.get(step, (step,))
        if step in evaluation.by_key:
            keys = (step,)
        for key in keys:
            result = evaluation.by_key[key]
            actual: str = result.state
            if expected in STATES:
                ok = actual == expected
            else:
                gate = "open" if result.gate_open else "closed"
                actual = f"{gate} ({result.state})"
                ok = gate == expected
            if not ok:
                found.append(Mismatch(key, expected, actual, result.reasons))
    return tuple(found)


def report(results: list[CaseResult]) -> str:
    """One line per case (``ok`` or ``FAIL``), each failing expectation with the step's
    reasons below it, and a count; every line cleaned and at most 100 columns."""
    out: list[str] = []
    for result in results:
        where = f"{result.path}:{result.line}"
        if result.passed:
            out += wrap(f"ok    {where}: {result.name}", "", "      ")
            continue
        out += wrap(f"FAIL  {where}: {result.name}", "", "      ")
        for miss in result.mismatches:
            out += wrap(
                f"{miss.step}: expected {miss.expected}, got {miss.actual}", "      ", "        "
            )
            for reason in miss.reasons:
                out += wrap(reason, "        - ", "          ")
    failed = sum(not r.passed for r in results)
    noun = "case" if len(results) == 1 else "cases"
    out += ["", f"{len(results)} {noun}: {len(results) - failed} passed, {failed} failed"]
    return "\n".join(clean(line) for line in out) + "\n"


def run(paths: tuple[str, ...], *, default_sop: str) -> tuple[int, str]:
    """``sopgate test``: (exit code, report). 0 every case passed, 1 one failed; invalid
    files raise (exit 2)."""
    results = run_files(find_files(paths), default_sop=default_sop)
    return (0 if all(r.passed for r in results) else 1), report(results)
