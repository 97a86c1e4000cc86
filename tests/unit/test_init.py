"""``sopgate init``: each starter validates without warnings and passes its own gate tests."""

from __future__ import annotations

import io
import tomllib
from datetime import date
from pathlib import Path

import pytest

from sopgate import init as starter
from sopgate.cli import main
from sopgate.init import Answers, choose, template_text


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOPGATE_SOP", raising=False)
    monkeypatch.setattr(starter, "is_terminal", lambda: False)
    return tmp_path


@pytest.mark.parametrize("name", ["enterprise", "regulated", "startup", "global"])
def test_each_template_validates_cleanly_and_passes_its_tests(
    capsys: pytest.CaptureFixture[str], workdir: Path, name: str
) -> None:
    code, out, err = run(capsys, "init", "--template", name)
    assert (code, err) == (0, "")
    assert out.startswith(f"sopgate init: wrote the {name} starter (")
    assert f"\n  .sopgate.yml\n  .sopgate/tests/{name}.yml\n" in out
    text = (workdir / ".sopgate.yml").read_text(encoding="utf-8")
    assert text.startswith(f'# sopgate SOP, "{name}" starter: ')
    assert f"last_reviewed: {date.today().isoformat()}" in text
    assert "__TODAY__" not in text

    code, out, err = run(capsys, "validate")
    assert code == 0
    assert err == ""  # no warnings at all: none needs explaining
    assert out.endswith(" warnings)\n") and "0 warnings" in out

    code, out, err = run(capsys, "test")
    assert (code, err) == (0, "")
    cases = out.count("\nok    ") + out.startswith("ok    ")
    assert cases >= 3
    assert out.endswith(f"\n{cases} cases: {cases} passed, 0 failed\n")


def test_refuses_to_overwrite_without_force(
    capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    (workdir / ".sopgate.yml").write_text("mine\n", encoding="utf-8")
    code, out, err = run(capsys, "init", "--template", "global")
    assert (code, out) == (2, "")
    assert err == "refusing to overwrite .sopgate.yml; pass --force to replace it\n"
    assert (workdir / ".sopgate.yml").read_text(encoding="utf-8") == "mine\n"
    assert not (workdir / ".sopgate").exists()

    assert run(capsys, "init", "--template", "global", "--force")[0] == 0
    assert "Global search-ranking release" in (workdir / ".sopgate.yml").read_text(encoding="utf-8")
    code, _out, err = run(capsys, "init", "--template", "global")
    assert code == 2
    assert err == (
        "refusing to overwrite .sopgate.yml, .sopgate/tests/global.yml; pass --force to "
        "replace them\n"
    )


def test_without_a_terminal_the_default_is_startup(
    capsys: pytest.CaptureFixture[str], workdir: Path
) -> None:
    code, out, _err = run(capsys, "init")
    assert code == 0
    assert out.startswith("sopgate init: wrote the startup starter (")
    assert (workdir / ".sopgate" / "tests" / "startup.yml").is_file()


def test_on_a_terminal_three_questions_choose(
    capsys: pytest.CaptureFixture[str], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(starter, "is_terminal", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\nn\n12\n"))
    code, out, _err = run(capsys, "init")
    assert code == 0
    assert "Do you deploy to more than one region? [y/N]: " in out
    assert "Is this a regulated setting (finance, health, safety)? [y/N]: " in out
    assert "How many people take part in a release? [5]: " in out
    assert "sopgate init: wrote the global starter (" in out


@pytest.mark.parametrize(
    ("answers", "template"),
    [
        (Answers(regions=False, regulated=False, team_size=4), "startup"),
        (Answers(regions=False, regulated=False, team_size=19), "startup"),
        (Answers(regions=False, regulated=False, team_size=20), "enterprise"),
        (Answers(regions=True, regulated=False, team_size=3), "global"),
        (Answers(regions=True, regulated=True, team_size=3), "regulated"),
        (Answers(regions=False, regulated=True, team_size=200), "regulated"),
    ],
)
def test_choose(answers: Answers, template: str) -> None:
    assert choose(answers) == template


def test_templates_ship_as_package_data() -> None:
    pyproject = tomllib.loads(
        (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text("utf-8")
    )
    # uv_build ships every file of the module directory but bytecode, unless excluded.
    assert pyproject["build-system"]["build-backend"] == "uv_build"
    backend = pyproject["tool"]["uv"]["build-backend"]
    assert backend["module-name"] == "sopgate" and backend["module-root"] == ""
    assert not {"source-exclude", "wheel-exclude", "data"} & set(backend)
    root = Path(starter.__file__).parent / "templates"
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(starter.TEMPLATES)
    for name in starter.TEMPLATES:
        assert sorted(p.name for p in (root / name).iterdir()) == ["sopgate.yml", "tests.yml"]


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        (
            "regulated",
            [
                "run_by:",
                "max_age: 24h",
                "environments: [production]",
                "count: 2",
                "separate_from:",
                "emergency:",
                "require:",
            ],
        ),
        (
            "global",
            [
                "rollout: [[",
                'role: "approvers-{region}"',
                "timezone: region",
                '"canary[eu-west]"',
                "require:",
            ],
        ),
    ],
)
def test_the_richer_templates_use_the_new_format_fields(name: str, fields: list[str]) -> None:
    """The seed cases need the format additions; each is explained in the header comments."""
    text = template_text(name, "sopgate.yml", today=date(2026, 11, 26))
    for field in fields:
        assert field in text, f"{name} template lacks {field}"
