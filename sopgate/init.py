"""``sopgate init``: write a commented starter ``.sopgate.yml`` and gate tests for it.

Four templates, one per seed case, ship as package data under ``sopgate/templates/NAME/``
(``sopgate.yml`` and ``tests.yml``). ``__TODAY__`` in a template becomes today's date, so a
fresh SOP's review is not overdue.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

from sopgate.errors import UsageError

TEMPLATES: dict[str, str] = {
    "startup": "a light SOP for a small team: tests, an evaluation threshold, staging, one "
    "approval, production",
    "enterprise": "a platform rolled out to business units in waves: security and architecture "
    "reviews, a change-advisory board of two, per-unit approvers and local hours",
    "regulated": "a regulated financial-services model: four eyes, thresholds, a 24-hour "
    "go/no-go, release managers start production, a production freeze, an emergency path",
    "global": "a multi-region release: per-region canaries and approvers, a go/no-go, "
    "production in waves inside each region's local hours",
}
SOP_PATH = ".sopgate.yml"
TESTS_DIR = Path(".sopgate") / "tests"


@dataclass(frozen=True)
class Answers:
    """The three questions that choose a template."""

    regions: bool  # deploys to more than one region
    regulated: bool  # a regulated setting (finance, health, ...)
    team_size: int  # people who take part in a release


def choose(answers: Answers) -> str:
    """Regulated settings need strict sign-offs whatever their size; several regions need a
    rollout plan; a large team needs business sign-offs; else the light SOP."""
    if answers.regulated:
        return "regulated"
    if answers.regions:
        return "global"
    return "enterprise" if answers.team_size >= 20 else "startup"


def template_text(name: str, part: str, *, today: date) -> str:
    """The text of ``part`` (``sopgate.yml`` or ``tests.yml``) of template ``name``."""
    if name not in TEMPLATES:
        raise UsageError(f"unknown template '{name}'; templates: {', '.join(TEMPLATES)}")
    source = resources.files("sopgate") / "templates" / name / part
    return source.read_text(encoding="utf-8").replace("__TODAY__", today.isoformat())


def write_template(name: str, root: Path, *, force: bool, today: date) -> list[Path]:
    """Write the template's SOP and tests under ``root``; refuses to overwrite an existing
    file unless ``force`` (a usage error, exit 2). Returns the files written."""
    targets = {
        root / SOP_PATH: template_text(name, "sopgate.yml", today=today),
        root / TESTS_DIR / f"{name}.yml": template_text(name, "tests.yml", today=today),
    }
    existing = [path for path in targets if path.exists()]
    if existing and not force:
        listing = ", ".join(str(path.relative_to(root)) for path in existing)
        them = "it" if len(existing) == 1 else "them"
        raise UsageError(f"refusing to overwrite {listing}; pass --force to replace {them}")
    for path, text in targets.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            where = path.relative_to(root)
            raise UsageError(f"cannot write {where}: {exc.strerror or exc}") from None
    return list(targets)


def is_terminal() -> bool:
    """Questions are asked only when a person can answer them."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def ask(confirm: Callable[[str], bool], number: Callable[[str], int]) -> Answers:
    """The three questions, through the given prompt functions (click's in the CLI)."""
    return Answers(
        regions=confirm("Do you deploy to more than one region?"),
        regulated=confirm("Is this a regulated setting (finance, health, safety)?"),
        team_size=number("How many people take part in a release?"),
    )
