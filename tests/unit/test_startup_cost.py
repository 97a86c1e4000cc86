"""What a run skips to start faster, and what it must keep: pydantic's plugin loader is
replaced only when plugins are disabled, and the cyclic collector is paused for one
decision only (a ``--wait`` poll keeps it)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sopgate import commands
from sopgate.cli import main

SOP = "examples/.sopgate.yml"
FACTS = "examples/facts/green.yml"

PROBE = (
    "import os, sys; {setup}"
    "from sopgate.cli import main; "
    f"code = main(['check', 'go-no-go', '--sop', {SOP!r}, '--facts', {FACTS!r}]); "
    "loader = sys.modules.get('pydantic.plugin._loader'); "
    "print('metadata', 'importlib.metadata' in sys.modules); "
    "print('unneeded', [m for m in ('jmespath', 'json', 'difflib') if m in sys.modules]); "
    "print('loader', getattr(loader, '__doc__', None)); "
    "print('model layer', 'pydantic.main' in sys.modules); sys.exit(code)"
)


def probe(setup: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(setup=setup)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert done.returncode == 0, done.stderr
    assert "Decision for go-no-go: OPEN" in done.stdout
    return done.stdout


@pytest.mark.parametrize("setting", [None, "__all__", "1", "true"])
def test_with_plugins_disabled_no_package_metadata_is_read(setting: str | None) -> None:
    setup = "os.environ.pop('PYDANTIC_DISABLE_PLUGINS', None); "
    if setting is not None:
        setup = f"os.environ['PYDANTIC_DISABLE_PLUGINS'] = {setting!r}; "
    out = probe(setup)
    assert "metadata False" in out
    assert "loader sopgate: no pydantic plugins (disabled)" in out
    # no require queries to compile, no JSON to read, no unknown key to suggest a name for
    assert "unneeded []" in out


def test_a_plugin_setting_of_the_user_keeps_pydantics_own_loader() -> None:
    out = probe("os.environ['PYDANTIC_DISABLE_PLUGINS'] = 'some-plugin'; ")
    assert "loader sopgate" not in out
    # a check builds no pydantic model at all, so pydantic's loader is never asked
    assert "loader None" in out
    assert "metadata False" in out


def test_a_check_does_not_import_pydantics_model_layer() -> None:
    """The SOP and the facts are validated by pydantic-core from the compiled schema:
    pydantic's model layer (about 60 ms to import and build) is not loaded."""
    assert "model layer False" in probe("")


def test_the_stand_in_loader_still_serves_the_spec_models(tmp_path: Path) -> None:
    """An invalid SOP is worded from the spec models, which pydantic builds then: with
    plugins disabled that still reads no package metadata."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "sopgate: 1\nname: x\nroles: {r: {users: [a]}}\nsteps: [{id: a, owner: r, aprovals: []}]\n"
    )
    code = (
        "import sys; from sopgate.cli import main; "
        f"code = main(['validate', '--sop', {str(bad)!r}]); "
        "print('metadata', 'importlib.metadata' in sys.modules); "
        "print('model layer', 'pydantic.main' in sys.modules); sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert "unknown key 'aprovals'" in done.stderr
    assert "model layer True" in done.stdout
    assert "metadata False" in done.stdout


def test_a_run_pauses_the_cyclic_collector_and_restores_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(commands, "validate", lambda _path: seen.append(gc.isenabled()))
    assert gc.isenabled()
    assert main(["validate", "--sop", SOP]) == 0
    assert seen == [False]
    assert gc.isenabled()
    gc.disable()
    try:
        assert main(["validate", "--sop", SOP]) == 0
        assert not gc.isenabled()  # a caller's own setting is kept
    finally:
        gc.enable()


def test_a_run_that_fails_restores_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(_path: str) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(commands, "validate", explode)
    assert main(["validate", "--sop", SOP]) == 3
    assert gc.isenabled()


def test_check_wait_collects_while_it_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    def fake_check(options: commands.CheckOptions) -> int:
        seen.append(gc.isenabled())
        return 0

    monkeypatch.setattr(commands, "check", fake_check)
    assert main(["check", "go-no-go", "--sop", SOP, "--facts", FACTS]) == 0
    assert main(["check", "go-no-go", "--sop", SOP, "--facts", FACTS, "--wait"]) == 0
    assert seen == [False, True]
    assert gc.isenabled()


def test_the_stand_in_loader_gives_any_other_name_from_pydantics_own() -> None:
    """A pydantic version that asks the loader for more than get_plugins still gets it."""
    probe = (
        "import sys; import sopgate.cli; "
        "from pydantic.plugin._loader import PYDANTIC_ENTRY_POINT_GROUP, get_plugins; "
        "print(PYDANTIC_ENTRY_POINT_GROUP, list(get_plugins()), "
        "sys.modules['pydantic.plugin._loader'].__doc__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": os.getcwd(), "PYDANTIC_DISABLE_PLUGINS": "__all__"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "pydantic [] sopgate: no pydantic plugins (disabled)"
