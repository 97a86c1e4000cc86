"""Platform adapters gather facts and publish results; they never decide.

Each adapter module (``github``, ``gitlab``) is imported only when a command talks to that
platform, so ``sopgate validate`` and ``--help`` never load PyGithub, python-gitlab or
requests.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sopgate.errors import UsageError
from sopgate.facts import Facts

if TYPE_CHECKING:
    from sopgate.evaluate import Evaluation


@dataclass(frozen=True)
class Gathered:
    """What an adapter found about the deployed commit.

    ``sop_text`` is the SOP in force, read through the API (DESIGN.md, Trust); None only
    from an adapter that does not read it yet (the checkout's file is used).
    ``proposed_sop_text`` is the change's own version when the change edits or adds the SOP,
    for the "how it would decide" summary. ``sop_deleted`` is true when the change deletes or
    moves the SOP: a change to it as much as an edit (its owners must approve).
    """

    facts: Facts
    sop_text: str | None = None
    proposed_sop_text: str | None = None
    sop_deleted: bool = False


class Adapter(Protocol):
    """The platform-facing shell around the pure evaluator.

    An adapter may also offer ``job_names() -> tuple[str, ...]``: the names the current job
    goes by (GitHub: its id and its display name), for ``check`` without STEP.
    """

    name: str

    def gather(self, *, sop_path: str) -> Gathered:
        """Snapshot the facts of the current commit, in a bounded number of requests.

        Raises :class:`~sopgate.errors.PlatformError` (exit 3) when the platform cannot be
        asked or answers unusably. Values it cannot tell are written as unknown (None).
        """
        ...

    def publish(self, evaluation: Evaluation, *, dry_run: bool) -> list[str]:
        """Post the results (summary, comment, status, files) and return one line per
        publication, saying what was (or, with ``dry_run``, would have been) posted.

        Failures are reported in the returned lines, never raised: publishing never
        changes the decision.
        """
        ...


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line with white space folded, cut to ``limit`` characters with "…"."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


ADAPTERS = {"github": "sopgate.platforms.github", "gitlab": "sopgate.platforms.gitlab"}


def detect(env: Mapping[str, str] | None = None) -> str:
    """The platform this process runs on, from the CI's own variables."""
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("GITLAB_CI") == "true":
        return "gitlab"
    raise UsageError(
        "--platform auto: neither GITHUB_ACTIONS nor GITLAB_CI is set; "
        "pass --platform github|gitlab, or --facts FILE for a dry run"
    )


def get_adapter(
    name: str, env: Mapping[str, str] | None = None, *, token_env: str | None = None
) -> Adapter:
    """Build the adapter for ``name`` ("auto", "github" or "gitlab") from the environment."""
    env = os.environ if env is None else env
    if name == "auto":
        name = detect(env)
    if name not in ADAPTERS:
        raise UsageError(f"unknown platform '{name}'; allowed: auto, github, gitlab")
    module = importlib.import_module(ADAPTERS[name])
    adapter: Adapter = module.from_env(env, token_env=token_env)
    return adapter
