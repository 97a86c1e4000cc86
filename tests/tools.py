"""Node tools the tests need (tests/node/package.json), installed on first use.

Tests call :func:`node_tools` and skip, saying how to install, only when npm itself is
missing; CI and the README's test command install them through this same function.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

NODE = Path(__file__).parent / "node"


@cache
def _install() -> str | None:
    """Run ``npm ci`` once per session when needed; return an error text, or None."""
    if (NODE / "node_modules" / ".package-lock.json").exists():
        return None
    if shutil.which("npm") is None:
        return "npm is not installed (the tests need Node 20 and npm: apt-get install npm)"
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(NODE)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"npm ci --prefix tests/node failed:\n{done.stderr[-2000:]}")
    return None


def node_tools() -> Path:
    """``tests/node/node_modules``, installed if npm is available; skips otherwise."""
    problem = _install()
    if problem:
        pytest.skip(problem)
    return NODE / "node_modules"
