"""What each CLI command does, separated from option parsing (check-jsonschema's split)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from sopgate.errors import PlatformError, UsageError
from sopgate.output import annotation, machine, say
from sopgate.sop.load import LoadedSop, read_sop

if TYPE_CHECKING:
    from sopgate.attest import PrivateKey
    from sopgate.evaluate import Evaluation, Proposed
    from sopgate.facts import Facts
    from sopgate.platforms import Adapter, Gathered
    from sopgate.sop.plan import Plan

TERMINAL = ("rejected", "failed")


def _warn(loaded: LoadedSop) -> None:
    for warning in loaded.warnings:
        say(str(warning), err=True)


def validate(sop_path: str) -> None:
    loaded = read_sop(sop_path)
    _warn(loaded)
    steps = len(loaded.sop.steps)
    say(
        f"{sop_path}: valid SOP '{loaded.sop.name}' ({steps} steps, "
        f"{len(loaded.warnings)} warnings)"
    )


def plan(sop_path: str) -> None:
    from sopgate.sop.describe import describe_plan
    from sopgate.sop.plan import build_plan

    loaded = read_sop(sop_path)
    _warn(loaded)
    say(describe_plan(build_plan(loaded.sop)), nl=False)


def diagram(sop_path: str, facts_path: str | None, fmt: str) -> None:
    from sopgate.render.dot import dot_for_plan
    from sopgate.render.mermaid import mermaid_for_plan
    from sopgate.sop.plan import build_plan

    loaded = read_sop(sop_path)
    _warn(loaded)
    the_plan: Plan = build_plan(loaded.sop)
    results = None
    if facts_path:
        from sopgate.evaluate import evaluate
        from sopgate.facts import read_facts

        evaluation = evaluate(loaded, read_facts(facts_path))
        the_plan, results = evaluation.plan, evaluation.by_key
    draw = mermaid_for_plan if fmt == "mermaid" else dot_for_plan
    say(draw(the_plan, results), nl=False)


@dataclass(frozen=True)
class CheckOptions:
    step: str | None
    sop_path: str
    facts_path: str | None = None
    platform: str | None = None
    token_env: str | None = None
    dry_run: bool = False
    wait: bool = False
    timeout: float = 7200.0
    interval: float = 30.0
    fmt: str = "text"
    report_dir: str | None = None
    sign_key: str | None = None


class Source:
    """Where facts come from: a file (re-read on every poll) or a platform adapter."""

    def __init__(self, options: CheckOptions, adapter: Adapter | None = None) -> None:
        self.options = options
        if options.facts_path and options.platform:
            raise UsageError("use either --facts FILE or --platform, not both")
        self.adapter: Adapter | None = adapter
        if adapter is None and not options.facts_path:
            from sopgate.platforms import get_adapter

            self.adapter = get_adapter(options.platform or "auto", token_env=options.token_env)

    def gather(self) -> tuple[LoadedSop, Facts, str | None]:
        """The SOP in force, the facts, and the change's own SOP text when it edits it."""
        if self.adapter is None:
            from sopgate.facts import read_facts

            assert self.options.facts_path is not None
            return read_sop(self.options.sop_path), read_facts(self.options.facts_path), None
        from sopgate.sop.load import parse_sop

        gathered = gather_within(self.adapter, self.options.sop_path, gather_deadline())
        facts = gathered.facts
        if gathered.proposed_sop_text is not None or gathered.sop_deleted:
            # Trust: the change edits, adds, deletes or moves the SOP; its owners must approve.
            facts = facts.model_copy(update={"sop_changed": True})
        if gathered.sop_text is not None:
            loaded = parse_sop(gathered.sop_text, path=self.options.sop_path)
        else:
            loaded = read_sop(self.options.sop_path)
        return loaded, facts, gathered.proposed_sop_text

    def job_names(self) -> tuple[str, ...] | None:
        """The names the current job goes by, as the adapter tells them (GitHub: the job id
        and its display name); None: the environment's GITHUB_JOB or CI_JOB_NAME."""
        names = getattr(self.adapter, "job_names", None)
        return tuple(names()) if callable(names) else None


def gather_deadline(env: dict[str, str] | None = None) -> float:
    """The overall deadline of one gather: ``SOPGATE_API_TIMEOUT`` seconds (default 120),
    the same budget the adapters' transports spend."""
    from sopgate.platforms.transport import budget_from_env

    return budget_from_env(dict(os.environ) if env is None else env)


def gather_within(
    adapter: Adapter, sop_path: str, seconds: float, *, slack: float = 5.0
) -> Gathered:
    """``adapter.gather`` under an overall deadline that no answer can stretch.

    The adapters bound each request and their retries themselves; this watchdog is the last
    line: whatever hangs (a dripped body, a library that retries on its own), the gate gives
    up after ``seconds`` (plus a little slack for the adapter's own, clearer message) and
    stays closed (exit 3). The gathering thread is abandoned as a daemon.
    """
    import threading

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["gathered"] = adapter.gather(sop_path=sop_path)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=run, name="sopgate-gather", daemon=True)
    worker.start()
    worker.join(seconds + slack)
    if worker.is_alive():
        raise PlatformError(
            f"{adapter.name} did not finish answering within {seconds:g} s "
            "(SOPGATE_API_TIMEOUT): the gate stays closed"
        )
    if "error" in box:
        raise box["error"]
    gathered: Gathered = box["gathered"]
    return gathered


def infer_step(
    loaded: LoadedSop, names: tuple[str, ...] | None = None, env: dict[str, str] | None = None
) -> str:
    """The step whose ``jobs`` match the current CI job under any of its ``names`` (the
    adapter's: GitHub's job id and display name), else GITHUB_JOB or CI_JOB_NAME."""
    from sopgate.gates import glob_regex
    from sopgate.sop.plan import build_plan

    env = dict(os.environ) if env is None else env
    if not names:
        job = env.get("GITHUB_JOB") or env.get("CI_JOB_NAME")
        names = (job,) if job else ()
    if not names:
        raise UsageError(
            "no STEP given and no CI job to infer it from (GITHUB_JOB and "
            "CI_JOB_NAME are unset); run: sopgate check STEP"
        )
    matches = [
        node.key
        for node in build_plan(loaded.sop).nodes
        if any(glob_regex(node.expand(p)).match(n) for p in node.step.jobs for n in names)
    ]
    if len(matches) != 1:
        found = ", ".join(matches) if matches else "none"
        job = f"'{names[0]}'" + "".join(f" (named '{n}')" for n in names[1:])
        raise UsageError(
            f"cannot infer the step from job {job}: steps whose jobs match: "
            f"{found}; run: sopgate check STEP"
        )
    return matches[0]


def _evaluate(source: Source, step: str | None, *, infer: bool) -> Evaluation:
    from dataclasses import replace

    from sopgate.evaluate import evaluate

    loaded, facts, proposed_text = source.gather()
    target = step if step is not None or not infer else infer_step(loaded, source.job_names())
    evaluation = evaluate(loaded, facts, target)
    if proposed_text is not None:
        evaluation = replace(evaluation, proposed=_proposed(proposed_text, loaded, facts, target))
    return evaluation


def _proposed(text: str, loaded: LoadedSop, facts: Facts, target: str | None) -> Proposed:
    """How the change's own SOP would decide (shown, never used for the decision)."""
    from sopgate.errors import InputError
    from sopgate.evaluate import Proposed, evaluate
    from sopgate.sop.load import parse_sop

    try:
        proposed = parse_sop(text, path=loaded.path)
    except InputError as exc:
        return Proposed(None, tuple(str(item) for item in exc.items))
    try:
        return Proposed(evaluate(proposed, facts, target))
    except UsageError as exc:
        return Proposed(evaluate(proposed, facts, None), (str(exc),))


def _show(evaluation: Evaluation, fmt: str) -> None:
    from sopgate.render import render

    color = fmt == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    text = render(fmt, evaluation, color=color)
    # colour codes are sopgate's own; everything else is cleaned like any other line
    click.echo(text if color else machine(text, fmt), nl=False)


def status(options: CheckOptions) -> int:
    source = Source(options)
    evaluation = _evaluate(source, None, infer=False)
    _warn(evaluation.loaded)
    _show(evaluation, options.fmt)
    return 0


def check(
    options: CheckOptions,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    key = _signing_key(options)
    source = Source(options)
    evaluation = _evaluate(source, options.step, infer=True)
    _warn(evaluation.loaded)
    if options.wait:
        deadline = clock() + options.timeout
        _publish(source, evaluation, options)
        while not _settled(evaluation):
            remaining = deadline - clock()
            if remaining <= 0:
                break
            target = evaluation.by_key[evaluation.target or ""]
            say(
                f"waiting for {target.key} ({target.state}); next look in "
                f"{min(options.interval, remaining):.0f}s",
                err=True,
            )
            sleep(min(options.interval, remaining))
            evaluation = _evaluate(source, evaluation.target, infer=False)
    _show(evaluation, options.fmt)
    if options.report_dir:  # first: a record that cannot be written posts no verdict
        _write_report(evaluation, options, key)
    _publish(source, evaluation, options)
    if options.wait and not _settled(evaluation):
        result = evaluation.by_key[evaluation.target or ""]
        say(
            f"timed out after {options.timeout:.0f}s; {result.key} is still "
            f"{result.state}: {'; '.join(result.reasons)}",
            err=True,
        )
    return 0 if evaluation.decision == "open" else 1


def _settled(evaluation: Evaluation) -> bool:
    result = evaluation.by_key[evaluation.target or ""]
    return result.gate_open or result.state in TERMINAL


def _publish(source: Source, evaluation: Evaluation, options: CheckOptions) -> None:
    """Print what the adapter posted. sopgate's own workflow commands (``::error ...``) go to
    stdout with the text report, else to stderr, so that a JSON, JUnit or Markdown stdout
    (often redirected to a file) carries that document alone: the runner reads both."""
    if source.adapter is None:
        return
    document = options.fmt != "text"
    for line in source.adapter.publish(evaluation, dry_run=options.dry_run):
        if line.startswith("::"):
            annotation(line, err=document)
        else:
            say(line, err=True)


def _signing_key(options: CheckOptions) -> PrivateKey | None:
    """The DSSE signing key, loaded before anything is gathered so a bad key fails first."""
    if not options.sign_key:
        return None
    if not options.report_dir:
        raise UsageError("--sign-key (or SOPGATE_SIGNING_KEY) needs --report-dir")
    from sopgate.attest import load_private_key

    return load_private_key(options.sign_key)


def _write_report(evaluation: Evaluation, options: CheckOptions, key: PrivateKey | None) -> None:
    from sopgate.attest import ATTESTATION_JSON
    from sopgate.report import REPORT_JSON, REPORT_MD, write_report

    assert options.report_dir is not None
    if options.dry_run:
        say(
            f"dry run: would write {REPORT_JSON}, {REPORT_MD} and {ATTESTATION_JSON}"
            f"{' (and its signed envelope)' if key else ''} to {options.report_dir}",
            err=True,
        )
        return
    try:
        written = write_report(evaluation, options.report_dir, sign_key=key)
    except OSError as exc:
        raise UsageError(
            f"--report-dir: cannot write the audit record to {options.report_dir} "
            f"({exc.strerror or exc}); the gate stays closed"
        ) from None
    for path in written:
        say(f"wrote {path}", err=True)


def snapshot(sop_path: str, platform: str, token_env: str | None, output: str | None) -> None:
    from pathlib import Path

    from sopgate.facts import dump_facts
    from sopgate.platforms import get_adapter

    adapter = get_adapter(platform, token_env=token_env)
    gathered = adapter.gather(sop_path=sop_path)
    as_json = bool(output and output.endswith(".json"))
    text = dump_facts(gathered.facts, as_json=as_json)
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"-o: cannot write {output} ({exc.strerror or exc})") from None
        say(f"wrote {output}", err=True)
    else:
        click.echo(machine(text, "json") if as_json else machine(text, "text"), nl=False)


def sync(options: CheckOptions, adapter: Adapter | None = None) -> int:
    """Refresh the summary and statuses of the change's head and re-run the gate runs whose
    gate is now open (see :mod:`sopgate.sync`). Exit 0 unless the platform could not be
    asked (3) or the input is bad (2); a closed gate is not a failure of a sync run."""
    from sopgate.sync import SyncAdapter, run_sync

    source = Source(options, adapter)
    syncing = source.adapter
    if syncing is None or not isinstance(syncing, SyncAdapter):
        raise UsageError("sopgate sync needs a platform (--platform github|gitlab), not --facts")
    for_sync = getattr(syncing, "for_sync", None)
    if for_sync is not None:
        for_sync()  # GitLab: the MR named by SOPGATE_MR_IID or the trigger's event, at its head
    loaded, facts, _proposed_text = source.gather()
    _warn(loaded)
    evaluation, lines = run_sync(loaded, facts, syncing, dry_run=options.dry_run)
    for line in lines:
        say(line, err=True)
    _show(evaluation, options.fmt)
    return 0


def gate_test(paths: tuple[str, ...], sop_path: str) -> int:
    from sopgate import gatetest

    code, text = gatetest.run(paths, default_sop=sop_path)
    say(text, nl=False)
    return code


def init(template: str | None, force: bool) -> None:
    from datetime import date
    from pathlib import Path

    from sopgate import init as starter

    if template is None:
        if starter.is_terminal():
            answers = starter.ask(
                lambda text: bool(click.confirm(text, default=False)),
                lambda text: int(click.prompt(text, type=click.IntRange(min=1), default=5)),
            )
            template = starter.choose(answers)
        else:
            template = "startup"
    written = starter.write_template(template, Path.cwd(), force=force, today=date.today())
    say(f"sopgate init: wrote the {template} starter ({starter.TEMPLATES[template]}):")
    for path in written:
        say(f"  {path.relative_to(Path.cwd())}")
    say("Next: edit the roles and check names, then run sopgate validate and sopgate test.")
