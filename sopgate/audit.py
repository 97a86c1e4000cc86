"""``sopgate audit``: the audit trail of one deployment, checked and written as one dossier.

It gathers the records (``sopgate-report.json``) of one commit from files and folders of
downloaded artifacts, replays each, and checks that the trail is whole: every step that has
pipeline jobs has a record of an open gate, every open gate came after the open gates of the
steps it needed, the digests a record names for its needed records (``needs_records``, from
the facts' ``records``) are those of the records of those steps in the trail, and all records
speak of the same commit and SOP. Anything else is a finding, and any finding makes the
audit exit 1: a dossier that hides a gap would be worse than none. A record that names no
digest for a need that has a record is "not chained": a note, not a finding (the times still
order them, and records gathered without digests, from files or an older sopgate, are common).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sopgate.errors import SopgateError, UsageError
from sopgate.evaluate import Evaluation
from sopgate.output import say
from sopgate.report import REPORT_JSON, load_record, replay
from sopgate.sop.plan import Plan

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    """One record found: its data, and its replayed evaluation unless it failed to replay."""

    path: Path
    data: dict[str, Any]
    evaluation: Evaluation | None
    problem: str | None  # why it does not replay

    @property
    def step(self) -> str | None:
        step = self.data.get("step")
        return step if isinstance(step, str) else None

    @property
    def commit(self) -> str | None:
        commit = self.data.get("commit")
        return commit if isinstance(commit, str) else None

    @property
    def is_open(self) -> bool:
        return self.data.get("decision") == "open"

    @property
    def digest(self) -> str | None:
        digest = self.data.get("report_digest")
        return digest if isinstance(digest, str) else None

    @property
    def observed_at(self) -> datetime | None:
        facts = self.data.get("facts")
        value = facts.get("observed_at") if isinstance(facts, dict) else None
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return None
        # A time without a zone cannot be ordered against the others: treat it as unknown.
        return moment if moment.tzinfo is not None else None

    @property
    def when(self) -> str:
        facts = self.data.get("facts")
        return str(facts.get("observed_at")) if isinstance(facts, dict) else "unknown time"


@dataclass(frozen=True)
class Trail:
    """The records of one deployment and what is wrong with them."""

    entries: tuple[Entry, ...]  # in observed_at order
    commit: str | None
    final: Entry | None  # the latest record that replays: the last known state
    findings: tuple[str, ...]
    unreadable: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # what a reader should know that is no finding

    @property
    def good(self) -> tuple[Entry, ...]:
        """Records of the audited commit that replay."""
        return tuple(
            e for e in self.entries if e.evaluation is not None and e.commit == self.commit
        )


def find_reports(paths: list[str]) -> list[Path]:
    """Every ``sopgate-report.json`` under the given folders, plus the files given."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(path.rglob(REPORT_JSON)))
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{name}: no such file or folder")
    if not found:
        raise UsageError(f"no {REPORT_JSON} found under {', '.join(paths)}")
    return list(dict.fromkeys(found))


def gather(paths: list[str], *, key: str | None = None) -> Trail:
    """Read and replay every record; check the trail they form."""
    entries: list[Entry] = []
    unreadable: list[str] = []
    for path in find_reports(paths):
        try:
            data = load_record(str(path))
        except UsageError as exc:
            unreadable.append(f"{path}: unreadable record: {exc}")
            continue
        try:
            evaluation, _message = replay(str(path), key=key)
            entries.append(Entry(path, data, evaluation, None))
        except SopgateError as exc:
            entries.append(Entry(path, data, None, str(exc)))
        except Exception as exc:  # a malformed artifact is a finding, not the end of the audit
            problem = f"{path}: the record is malformed ({type(exc).__name__}: {exc})"
            entries.append(Entry(path, data, None, problem))
    entries.sort(key=lambda e: (e.observed_at is None, e.observed_at or _EPOCH, str(e.path)))
    commits = Counter(e.commit for e in entries if e.commit)
    commit = commits.most_common(1)[0][0] if commits else None
    good = [e for e in entries if e.evaluation is not None and e.commit == commit]
    final = good[-1] if good else None
    trail = Trail(tuple(entries), commit, final, (), tuple(unreadable))
    notes = tuple(_notes(trail.good))
    return Trail(trail.entries, commit, final, tuple(_findings(trail)), trail.unreadable, notes)


def _findings(trail: Trail) -> list[str]:
    findings = list(trail.unreadable)
    for entry in trail.entries:
        if entry.problem is not None:
            findings.append(f"record does not replay: {one_line(entry.problem)}")
        if entry.observed_at is None:
            findings.append(f"{entry.path}: the record has no valid observed_at")
    commits = Counter(e.commit for e in trail.entries)
    if len(commits) > 1:
        listing = "; ".join(
            f"{str(c)[:12]}: {', '.join(str(e.path) for e in trail.entries if e.commit == c)}"
            for c in commits
        )
        findings.append(f"records of different commits ({listing})")
    good = trail.good
    sops = Counter(e.data["sop"]["sha256"] for e in good)
    if len(sops) > 1:
        listing = "; ".join(
            f"{sha[:12]}: {', '.join(str(e.step) for e in good if e.data['sop']['sha256'] == sha)}"
            for sha in sops
        )
        findings.append(f"records judged under different SOP versions ({listing})")
    if trail.final is None:
        findings.append("no record of the commit replays: the trail cannot be checked")
        return findings
    assert trail.final.evaluation is not None
    findings.extend(_missing(trail.final.evaluation, good))
    findings.extend(_chain(good))
    return findings


def one_line(text: str) -> str:
    """A multi-line replay message (a head line, then ``  - item`` lines) as one line."""
    head, *items = text.splitlines()
    rest = "; ".join(item.strip().removeprefix("- ") for item in items if item.strip())
    return f"{head} {rest}" if rest else head


def _missing(final: Evaluation, good: tuple[Entry, ...]) -> list[str]:
    """Steps with pipeline jobs that have no record of an open gate."""
    found = []
    for node in final.plan.nodes:
        if not node.step.jobs:
            continue
        mine = [e for e in good if e.step == node.key]
        if any(e.is_open for e in mine):
            continue
        jobs = ", ".join(node.expand(j) for j in node.step.jobs)
        state = final.by_key[node.key].state
        if mine:
            found.append(
                f"{node.key} has {len(mine)} record(s) but none of an open gate "
                f"(jobs: {jobs}; state at the last record: {state})"
            )
        else:
            found.append(
                f"no record of {node.key}, a step with jobs ({jobs}); "
                f"state at the last record: {state}"
            )
    return found


def gated_needs(plan: Plan, key: str, opened: frozenset[str] = frozenset()) -> list[str]:
    """The nearest steps before ``key`` that have pipeline jobs (and so must have records)
    or that have a record of an open gate anyway (``opened``). Other steps (decisions and
    check-only steps nobody gated) are looked through: the record of the step that needed
    them shows they were done."""
    found: list[str] = []
    seen: set[str] = set()
    queue = list(plan.by_key[key].needs)
    while queue:
        need = queue.pop(0)
        if need in seen or need not in plan.by_key:
            continue
        seen.add(need)
        node = plan.by_key[need]
        if node.step.jobs or need in opened:
            found.append(need)
        else:
            queue.extend(node.needs)
    return found


def _chain(good: tuple[Entry, ...]) -> list[str]:
    """Order and digests: each open gate came after the open gates of what it needed."""
    found = []
    opened_steps = frozenset(e.step for e in good if e.is_open and e.step)
    for entry in good:
        if not entry.is_open or entry.step is None or entry.evaluation is None:
            continue
        at = entry.observed_at
        for need in gated_needs(entry.evaluation.plan, entry.step, opened_steps):
            opened = [e for e in good if e.step == need and e.is_open and e.observed_at]
            earlier = [e for e in opened if at is not None and e.observed_at and e.observed_at < at]
            if earlier:
                continue
            if opened:
                found.append(
                    f"out of order: {entry.step} opened at {entry.when} ({entry.path}) before "
                    f"{need}, which it needs, opened at {opened[0].when} ({opened[0].path})"
                )
            else:
                found.append(
                    f"broken chain: {entry.step} opened at {entry.when} ({entry.path}) with no "
                    f"record of an open gate of {need}, which it needs"
                )
        found.extend(_named(entry, good))
    return found


def _named(entry: Entry, good: tuple[Entry, ...]) -> list[str]:
    """Each digest an open gate's record names (``needs_records``: what the needed gates'
    commit statuses carried) must be that of a record of that step in the trail, of an open
    gate observed before it. A record rewritten so that it still replays has another digest:
    only this tells it from the one the gate wrote."""
    found = []
    for need, digest in _needs_records(entry).items():
        if digest is None:
            continue
        match = next((e for e in good if e.digest == digest), None)
        if match is not None and match.step == need:
            if not match.is_open:
                found.append(
                    f"broken chain: the record of {entry.step} ({entry.path}) names a record "
                    f"of {need} whose gate did not open ({match.path})"
                )
            elif not (match.observed_at and entry.observed_at) or (
                match.observed_at >= entry.observed_at
            ):
                found.append(
                    f"out of order: the record of {entry.step} ({entry.path}), observed at "
                    f"{entry.when}, names a record of {need} observed at {match.when} "
                    f"({match.path})"
                )
            continue
        theirs = [e for e in good if e.step == need]
        if theirs:
            listing = ", ".join(f"{str(e.digest)[:12]} ({e.path})" for e in theirs)
            plural = "s" if len(theirs) > 1 else ""
            found.append(
                f"broken chain: the record of {entry.step} ({entry.path}) names a record of "
                f"{need} with digest {digest[:12]}, but the trail's record{plural} of {need} "
                f"{'have' if plural else 'has'} digest{plural} {listing}"
            )
        else:
            found.append(
                f"broken chain: the record of {entry.step} ({entry.path}) names a record of "
                f"{need} (digest {digest[:12]}) that is not in the trail"
            )
    return found


def _needs_records(entry: Entry) -> dict[str, str | None]:
    named = entry.data.get("needs_records")
    if not isinstance(named, dict):
        return {}
    return {str(k): v if isinstance(v, str) else None for k, v in named.items()}


def _notes(good: tuple[Entry, ...]) -> list[str]:
    """Open gates whose record names no digest for needed steps that do have a record of an
    open gate in the trail: not a finding (the times still order them), but not chained."""
    notes = []
    opened = {e.step for e in good if e.is_open}
    for entry in good:
        if not entry.is_open or entry.evaluation is None or entry.step is None:
            continue
        named = _needs_records(entry)
        needs = entry.evaluation.by_key[entry.step].needs
        loose = [n for n in needs if n in opened and named.get(n) is None]
        if loose:
            notes.append(
                f"not chained: the record of {entry.step} ({entry.path}) names no digest for "
                f"the records of {', '.join(loose)} (its facts carried none); only their times "
                "order them"
            )
    return notes


def run(paths: list[str], outdir: str, *, key: str | None = None) -> int:
    """Gather, check and write the dossier; exit 0 when the trail is whole, else 1."""
    from sopgate.dossier import build, write

    trail = gather(paths, key=key)
    written = write(build(trail), Path(outdir))
    good = len(trail.good)
    say(
        f"audit of commit {trail.commit or 'unknown'}: {len(trail.entries)} records "
        f"({good} replay), {len(trail.findings)} findings"
    )
    for finding in trail.findings:
        say(f"  - {finding}", err=True)
    for note in trail.notes:
        say(f"  note: {note}", err=True)
    for path in written:
        say(f"wrote {path}", err=True)
    return 1 if trail.findings else 0
