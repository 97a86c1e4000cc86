"""What the CLI prints cannot drive the CI log, every gather ends, and options that cannot
mean anything are refused (issues 7 and 8)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from sopgate import commands
from sopgate.cli import main
from sopgate.errors import PlatformError
from sopgate.facts import parse_facts
from sopgate.output import clean, clean_line, machine

SOP = "examples/.sopgate.yml"
WAITING = Path("examples/facts/waiting.yml")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("data-x\r::warning::INJECTED", "data-x\n: :warning::INJECTED"),
        ("::error::x", ": :error::x"),
        ("   ::add-mask::x", "   : :add-mask::x"),
        ("see ##[set-output name=a]b", "see ## [set-output name=a]b"),
        ("bell\x07 escape\x1b[31m", "bell  escape [31m"),
        ("tab\there", "tab    here"),
        ("plain a::b", "plain a::b"),
    ],
)
def test_every_line_is_made_inert(line: str, expected: str) -> None:
    assert clean(line) == expected


def test_machine_formats_keep_their_meaning() -> None:
    text = json.dumps({"name": "x##[set-output]"})
    assert json.loads(machine(text, "json")) == {"name": "x##[set-output]"}
    assert "##[" not in machine(text, "json")
    assert "##[" not in machine("<a>##[x</a>", "junit")
    assert clean_line("ok") == "ok"


def _injecting_facts(tmp_path: Path) -> Path:
    text = WAITING.read_text().replace(
        "checks:\n",
        'checks:\n  - {name: "data-x\\r::warning::INJECTED", app: status, state: pending}\n',
    )
    path = tmp_path / "facts.yml"
    path.write_text(text)
    assert any("\r" in c.name for c in parse_facts(text, path="f").checks or ())
    return path


def test_wait_prints_final_reasons_cleaned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A check named ``data-x\\r::warning::INJECTED`` reached stdout with its CR."""
    sop = tmp_path / "sop.yml"
    sop.write_text(
        Path(SOP).read_text().replace("checks: [data-validation]", "checks: ['data-x*']", 1)
    )
    options = commands.CheckOptions(
        step="data-readiness",
        sop_path=str(sop),
        facts_path=str(_injecting_facts(tmp_path)),
        wait=True,
        timeout=60,
        interval=30,
    )
    sleeps: list[float] = []
    assert commands.check(options, sleep=sleeps.append, clock=lambda: sum(sleeps)) == 1
    out, err = capsys.readouterr()
    for line in (out + err).splitlines():
        assert not line.lstrip().startswith("::"), line
    assert "\r" not in out + err
    assert "timed out after 60s; data-readiness is still waiting" in err
    assert "INJECTED" in err  # shown, but inert


def test_check_text_output_is_cleaned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sop = tmp_path / "sop.yml"
    sop.write_text(
        Path(SOP).read_text().replace("checks: [data-validation]", "checks: ['data-x*']", 1)
    )
    facts = _injecting_facts(tmp_path)
    for fmt in ("text", "markdown", "json"):
        code, out, err = run(
            capsys, "check", "data-readiness", "--sop", str(sop), "--facts", str(facts),
            "--format", fmt,
        )  # fmt: skip
        assert code == 1
        assert "\r" not in out + err, fmt
        assert all(not line.lstrip().startswith("::") for line in out.splitlines()), fmt


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--wait", "--interval", "2s"], "must be at least 5s"),
        (["--timeout", "10m"], "--timeout and --interval only apply with --wait"),
        (["--interval", "30s"], "--timeout and --interval only apply with --wait"),
        (["--wait", "--timeout", "0"], "must be longer than 0s"),
    ],
)
def test_wait_options_that_mean_nothing_are_refused(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _out, err = run(capsys, "check", "go-no-go", "--sop", SOP, "--facts", str(WAITING), *args)
    assert code == 2
    assert message in err


def test_report_dir_that_is_a_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "report"
    target.write_text("not a directory")
    code, _out, err = run(
        capsys, "check", "go-no-go", "--sop", SOP, "--facts", str(WAITING), "--report-dir",
        str(target),
    )  # fmt: skip
    assert code == 2
    assert "exists and is not a directory" in err
    assert "internal error" not in err


class _Hanging:
    name = "github"

    def __init__(self) -> None:
        self.release = threading.Event()

    def gather(self, *, sop_path: str) -> object:
        self.release.wait(30)
        raise AssertionError("released")


def test_a_hanging_gather_ends_in_exit_3() -> None:
    adapter = _Hanging()
    try:
        with pytest.raises(PlatformError) as caught:
            commands.gather_within(adapter, ".sopgate.yml", 0.2, slack=0.0)  # type: ignore[arg-type]
    finally:
        adapter.release.set()
    assert caught.value.exit_code == 3
    assert str(caught.value) == (
        "github did not finish answering within 0.2 s (SOPGATE_API_TIMEOUT): the gate stays closed"
    )


@pytest.mark.parametrize(
    ("value", "expected"), [("", 120.0), ("30", 30.0), ("2.5", 2.5), (" 3600 ", 3600.0)]
)
def test_gather_deadline_from_the_environment(value: str, expected: float) -> None:
    assert commands.gather_deadline({"SOPGATE_API_TIMEOUT": value}) == expected
    assert commands.gather_deadline({"SOPGATE_TIMEOUT": "2h"}) == 120.0  # the --wait timeout


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan"])
def test_gather_deadline_must_be_sane(value: str) -> None:
    with pytest.raises(PlatformError, match="is not a number of seconds greater than 0"):
        commands.gather_deadline({"SOPGATE_API_TIMEOUT": value})
