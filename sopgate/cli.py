"""The command line: parse options, wire the pieces, return an exit code.

Exit codes (DESIGN.md): 0 gate open / valid, 1 gate closed, 2 invalid SOP, facts or usage,
3 the platform could not be asked or answered unusably.
"""

from __future__ import annotations

import gc
import os
import re
import sys
from collections.abc import Callable
from typing import Any

# pydantic scans every installed distribution's entry points for plugins when it builds the
# first model (about 10 ms); sopgate uses none. An explicit setting is kept.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import click

from sopgate import __version__
from sopgate.errors import SopgateError
from sopgate.output import say

_LOADER = "pydantic.plugin._loader"


def _skip_plugin_loader() -> None:
    """With plugins disabled, pydantic's plugin loader finds none, but importing it still
    imports ``importlib.metadata`` and the ``email`` package (about 20 ms, a fifth of the
    floor). Stand in for it with a loader that returns no plugins, as the real one does for
    these settings; any other setting keeps the real loader. Any other name a pydantic
    version asks of it comes from the real loader, loaded then."""
    if os.environ.get("PYDANTIC_DISABLE_PLUGINS") not in ("__all__", "1", "true"):
        return
    if _LOADER not in sys.modules:
        import types

        loader = types.ModuleType(_LOADER, "sopgate: no pydantic plugins (disabled)")
        loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
        loader.__getattr__ = _real_loader_attribute  # type: ignore[method-assign]
        sys.modules[_LOADER] = loader


def _real_loader_attribute(name: str) -> Any:
    if name.startswith("__"):  # the import system's probes (__path__, __file__, ...)
        raise AttributeError(name)
    import importlib.util
    from importlib.machinery import PathFinder

    import pydantic.plugin

    spec = PathFinder.find_spec(_LOADER, pydantic.plugin.__path__)
    if spec is None or spec.loader is None:
        raise AttributeError(name)
    real = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(real)
    return getattr(real, name)


_skip_plugin_loader()

SOP_HELP = "SOP file [env SOPGATE_SOP; default .sopgate.yml]"
FORMATS = ["text", "markdown", "json", "junit"]
FORMAT_HELP = "text for people, markdown (the summary), json for tools, junit (one case per step)."
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help=FORMAT_HELP,
)


class Duration(click.ParamType):  # type: ignore[type-arg]
    """``90``, ``30s``, ``15m``, ``2h``, ``1h30m`` -> seconds."""

    name = "duration"
    _part = re.compile(r"(\d+)([hms]?)")

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        text = str(value).strip()
        parts = self._part.findall(text)
        if not text or "".join(n + u for n, u in parts) != text:
            self.fail(f"{value!r} is not a duration such as 30s, 15m, 2h or 1h30m", param, ctx)
        scale = {"h": 3600, "m": 60, "s": 1, "": 1}
        return float(sum(int(n) * scale[u] for n, u in parts))


def sop_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--sop",
        "sop_path",
        envvar="SOPGATE_SOP",
        default=".sopgate.yml",
        metavar="PATH",
        help=SOP_HELP,
    )(func)


def source_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--token-env",
        metavar="NAME",
        help="Environment variable holding the API token [default GITHUB_TOKEN or GITLAB_TOKEN].",
    )(func)
    func = click.option(
        "--platform",
        type=click.Choice(["auto", "github", "gitlab"]),
        default=None,
        help="Gather live facts from this platform [default auto when no --facts].",
    )(func)
    return click.option(
        "--facts",
        "facts_path",
        metavar="FILE",
        help="Evaluate against a facts snapshot (YAML/JSON): a dry run, no network.",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sopgate")
def cli() -> None:
    """sopgate enforces a deployment SOP (.sopgate.yml) as a CI gate.

    \b
    Exit codes: 0 gate open / valid, 1 gate closed, 2 invalid SOP, facts or usage,
                3 the platform could not be asked (fail closed).
    Dry run locally:  sopgate check STEP --facts facts.yml
    """


@cli.command()
@sop_option
def validate(sop_path: str) -> None:
    """Validate the SOP file: exit 0 when valid (warnings on stderr), 2 when not."""
    from sopgate import commands

    commands.validate(sop_path)


@cli.command()
@sop_option
def plan(sop_path: str) -> None:
    """Print the resolved sequence: order, parallel groups, owners and each step's gate.

    Exit 0, or 2 when the SOP is invalid.
    """
    from sopgate import commands

    commands.plan(sop_path)


@cli.command()
@sop_option
@click.option(
    "--facts",
    "facts_path",
    metavar="FILE",
    help="Colour the steps by their state in this snapshot.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot"]),
    default="mermaid",
    show_default=True,
    help="Mermaid flowchart (renders on GitHub and GitLab) or Graphviz DOT.",
)
def diagram(sop_path: str, facts_path: str | None, fmt: str) -> None:
    """Print the SOP as a Mermaid flowchart or Graphviz DOT graph: one node per step (and
    region instance) with its owner, an edge per need; with --facts, coloured by state.

    Exit 0, or 2 when the SOP or the facts file is invalid.
    """
    from sopgate import commands

    commands.diagram(sop_path, facts_path, fmt)


@cli.command()
@click.argument("step", required=False)
@sop_option
@source_options
@click.option(
    "--dry-run", is_flag=True, help="Read only: write and post nothing; print what would be posted."
)
@click.option(
    "--wait",
    is_flag=True,
    help="Re-gather the facts until the gate opens, a "
    "terminal state is reached, or --timeout passes.",
)
@click.option(
    "--timeout",
    type=Duration(),
    default=None,
    help="With --wait: give up (gate closed) after this long  [default: 2h]",
)
@click.option(
    "--interval",
    type=Duration(),
    default=None,
    help="With --wait: look again this often, at least 5s  [default: 30s]",
)
@format_option
@click.option(
    "--report-dir",
    metavar="DIR",
    help="Write the audit record (sopgate-report.json and .md) and its in-toto attestation here.",
)
@click.option(
    "--sign-key",
    metavar="KEY.pem",
    envvar="SOPGATE_SIGNING_KEY",
    help="Also sign the attestation (DSSE, Ed25519 or ECDSA PEM key) [env SOPGATE_SIGNING_KEY].",
)
def check(
    step: str | None,
    sop_path: str,
    facts_path: str | None,
    platform: str | None,
    token_env: str | None,
    dry_run: bool,
    wait: bool,
    timeout: float | None,
    interval: float | None,
    fmt: str,
    report_dir: str | None,
    sign_key: str | None,
) -> None:
    """Gate STEP: exit 0 when the SOP allows it to run now, 1 when not.

    STEP is a step id, or a region instance such as production[eu-west]. Without STEP it is
    inferred from the current job (GITHUB_JOB, CI_JOB_NAME) through the steps' jobs.

    \b
    Exit 0 gate open, 1 gate closed, 2 invalid SOP, facts or usage (an unknown step),
    3 the platform could not be asked or answered unusably (the gate stays closed).
    In CI it publishes the summary, outputs, annotations, a commit status and a sticky
    PR/MR comment; --dry-run writes nothing and prints what it would post.
    """
    from sopgate import commands

    if wait:
        gc.enable()  # polls for up to hours: collect what each look leaves behind
    if not wait and (timeout is not None or interval is not None):
        raise click.UsageError("--timeout and --interval only apply with --wait")
    source = click.get_current_context().get_parameter_source("sign_key")
    if report_dir is None and source == click.core.ParameterSource.ENVIRONMENT:
        sign_key = None  # a key set for every job signs only where a record is written
    if interval is not None and interval < 5:
        raise click.BadParameter(
            "must be at least 5s (each look costs API requests)", param_hint="--interval"
        )
    if timeout is not None and timeout <= 0:
        raise click.BadParameter("must be longer than 0s", param_hint="--timeout")
    if report_dir is not None and os.path.exists(report_dir) and not os.path.isdir(report_dir):
        raise click.BadParameter(
            f"{report_dir} exists and is not a directory", param_hint="--report-dir"
        )
    options = commands.CheckOptions(
        step=step,
        sop_path=sop_path,
        facts_path=facts_path,
        platform=platform,
        token_env=token_env,
        dry_run=dry_run,
        wait=wait,
        timeout=7200.0 if timeout is None else timeout,
        interval=30.0 if interval is None else interval,
        fmt=fmt,
        report_dir=report_dir,
        sign_key=sign_key,
    )
    raise SystemExit(commands.check(options))


@cli.command()
@sop_option
@source_options
@format_option
def status(
    sop_path: str, facts_path: str | None, platform: str | None, token_env: str | None, fmt: str
) -> None:
    """Print the state of the whole sequence (decision and step are null in JSON).

    Exit 0, 2 when the SOP, the facts or the usage is bad, 3 when the platform could not
    be asked.
    """
    from sopgate import commands

    options = commands.CheckOptions(
        step=None,
        sop_path=sop_path,
        facts_path=facts_path,
        platform=platform,
        token_env=token_env,
        fmt=fmt,
    )
    raise SystemExit(commands.status(options))


@cli.command()
@sop_option
@click.option(
    "--platform",
    type=click.Choice(["auto", "github", "gitlab"]),
    default="auto",
    show_default=True,
    help="The platform whose change to sync.",
)
@click.option("--token-env", metavar="NAME", help="Environment variable holding the token.")
@click.option("--dry-run", is_flag=True, help="Post and re-run nothing; print what would be done.")
@format_option
def sync(sop_path: str, platform: str, token_env: str | None, dry_run: bool, fmt: str) -> None:
    """Refresh the summary and statuses; re-run gates that can now open.

    \b
    Runs on events that change the facts but must not deploy: reviews, /sop comments,
    finished checks (GitHub), a scheduled or triggered pipeline (GitLab). Evaluates the
    change's head with no initiator, sets one commit status sopgate/STEP per step, updates
    the sticky summary, and re-runs each failed gate run whose gate is now open. Exit 0,
    or 3 when the platform could not be asked.
    """
    from sopgate import commands

    options = commands.CheckOptions(
        step=None,
        sop_path=sop_path,
        platform=platform,
        token_env=token_env,
        dry_run=dry_run,
        fmt=fmt,
    )
    raise SystemExit(commands.sync(options))


@cli.command()
@sop_option
@click.option(
    "--platform", type=click.Choice(["auto", "github", "gitlab"]), default="auto", show_default=True
)
@click.option("--token-env", metavar="NAME", help="Environment variable holding the token.")
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write here (.json for JSON, else YAML) instead of stdout.",
)
def facts(sop_path: str, platform: str, token_env: str | None, output: str | None) -> None:
    """Snapshot the live facts of the current commit (reads the platform, posts nothing):
    the file that check --facts, status --facts and gate tests replay.

    Exit 0, 2 on bad usage, 3 when the platform could not be asked or answered unusably.
    """
    from sopgate import commands

    commands.snapshot(sop_path, platform, token_env, output)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the SOP file (for editors and check-jsonschema). Exit 0."""
    import json

    from sopgate.sop.spec import Sop

    click.echo(json.dumps(Sop.model_json_schema(by_alias=True), indent=2))


@cli.command()
@click.argument("report", metavar="REPORT.json")
@click.option(
    "--key",
    metavar="PUB.pem",
    help="Also verify sopgate-attestation.dsse.json next to the report with this public key.",
)
def replay(report: str, key: str | None) -> None:
    """Re-evaluate a saved audit record (sopgate-report.json) and check the attestation
    next to it.

    Exit 0 when it confirms the recorded decision, 1 when it does not (an edited record,
    SOP, facts or attestation), 2 when the file is not a sopgate report.
    """
    from sopgate.report import replay as run_replay

    _evaluation, message = run_replay(report, key=key)
    say(message)


@cli.command()
@click.argument("paths", nargs=-1, metavar="[REPORT_OR_DIR]...")
@click.option(
    "-o",
    "--output",
    "outdir",
    metavar="OUTDIR",
    default="sopgate-dossier",
    show_default=True,
    help="Write dossier.md, dossier.html and dossier.json here.",
)
@click.option(
    "--key", metavar="PUB.pem", help="Also verify every record's signed attestation with this key."
)
@click.option(
    "--platform",
    type=click.Choice(["auto", "github", "gitlab"]),
    default=None,
    help="Download the commit's records from this platform's CI artifacts instead of "
    "reading REPORT_OR_DIR (kept in OUTDIR/records).",
)
@click.option(
    "--commit",
    metavar="SHA",
    help="With --platform: the commit to audit [default GITHUB_SHA or CI_COMMIT_SHA].",
)
@click.option(
    "--token-env",
    metavar="NAME",
    help="With --platform: environment variable holding the API token "
    "[default GITHUB_TOKEN or GITLAB_TOKEN].",
)
def audit(
    paths: tuple[str, ...],
    outdir: str,
    key: str | None,
    platform: str | None,
    commit: str | None,
    token_env: str | None,
) -> None:
    """Check the records of one deployment and write its dossier; exit 1 on any finding.

    Finds every sopgate-report.json under the given folders (downloaded artifacts), replays
    each, and checks that every step with jobs has a record of an open gate, in order.

    \b
    With --platform, the records of one commit are downloaded first:
    github  the sopgate-report-* artifacts of the commit's workflow runs
            (the token needs actions: read)
    gitlab  sopgate-report/ in the job artifacts of the commit's pipelines
    Exit 3 when the platform cannot be asked or answers unusably.
    """
    from sopgate.audit import run

    if platform is None:
        if commit is not None or token_env is not None:
            raise click.UsageError("--commit and --token-env apply only with --platform")
        if not paths:
            raise click.UsageError("give REPORT_OR_DIR... or --platform github|gitlab")
        raise SystemExit(run(list(paths), outdir, key=key))
    if paths:
        raise click.UsageError("give either REPORT_OR_DIR... or --platform, not both")
    from sopgate.platforms.archive import audit_platform

    raise SystemExit(audit_platform(platform, outdir, commit=commit, token_env=token_env, key=key))


@cli.command()
@click.option(
    "--template",
    type=click.Choice(["enterprise", "regulated", "startup", "global"]),
    help="Starter to write [default: asked on a terminal, else startup].",
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def init(template: str | None, force: bool) -> None:
    """Write a commented starter .sopgate.yml and gate tests for it (.sopgate/tests/).

    Exit 0, or 2 when a file exists (pass --force to replace it).

    \b
    startup     a light SOP for a small team
    enterprise  an AI platform across business units
    regulated   a regulated financial-services model with strict role-bound approvals
    global      a multi-region release
    """
    from sopgate import commands

    commands.init(template, force)


@cli.command(name="test")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@sop_option
def gate_test(paths: tuple[str, ...], sop_path: str) -> None:
    """Run declarative gate tests (default .sopgate/tests/*.yml): exit 0 when every case
    passes, 1 when one fails, 2 when a test file is invalid.

    \b
    A test file:  cases: [{name, sop, facts, expect: {STEP: open|closed|STATE}}]
    sop and facts paths are relative to the test file; sop defaults to --sop.
    """
    from sopgate import commands

    raise SystemExit(commands.gate_test(paths, sop_path))


def redact(text: str, env: dict[str, str] | None = None) -> str:
    """Blank out the value of every token-like environment variable found in ``text``.

    Adapters never put tokens in messages; this is the last line of defence for text that
    came from a library (an exception message quoting a URL or a header).
    """
    env = dict(os.environ) if env is None else env
    for name, value in env.items():
        upper = name.upper()
        if len(value) >= 8 and ("TOKEN" in upper or "SECRET" in upper or "PASSWORD" in upper):
            text = text.replace(value, "***")
    return text


def main(argv: list[str] | None = None) -> int:
    """Entry point: the one place where sopgate's errors become messages and exit codes."""
    collecting = gc.isenabled()
    # One decision is a short run whose objects are freed by reference counting; the cyclic
    # collector would only walk them again and again (it took most of the time of reading
    # 20,000 YAML facts, and some of the imports). ``check --wait`` turns it back on.
    gc.disable()
    try:
        return _run(argv)
    finally:
        if collecting:
            gc.enable()


def _run(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="sopgate", standalone_mode=False)
    except SopgateError as exc:
        say(redact(exc.diagnostics()), err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return 2 if exc.exit_code in (1, 2) else exc.exit_code
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except KeyboardInterrupt:
        click.echo("interrupted: the gate stays closed", err=True)
        return 1
    except Exception as exc:  # fail closed on anything unforeseen, without a traceback
        message = (
            f"sopgate: internal error ({type(exc).__name__}: {exc}); the gate stays "
            "closed. Set SOPGATE_DEBUG=1 for a traceback."
        )
        click.echo(redact(message), err=True)
        if os.environ.get("SOPGATE_DEBUG"):
            import traceback

            click.echo(redact(traceback.format_exc()), err=True)
        return 3
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
