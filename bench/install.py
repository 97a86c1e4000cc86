"""How long installing sopgate takes, pip beside uv, cold and warm (printed, never asserted).

    .venv/bin/python bench/install.py            # 3 runs of each
    .venv/bin/python bench/install.py --runs 5

What each figure is (assumptions printed with the results):
- cold: a new virtual environment and an empty package cache (``pip --no-cache-dir``,
  ``uv --no-cache``): what a gate job pays on a fresh runner without the Actions cache.
- warm cache: a new virtual environment, the package cache already filled by an earlier run.
- restored environment: the action's warm path; the environment comes back from the Actions
  cache, so the job only starts sopgate (``sopgate --version``).
- build sopgate's wheel: the part of a cold install that builds sopgate itself from the
  action's path (``uv build --wheel --no-cache``; pyproject's backend is uv_build, which uv
  runs in-process: no build environment, nothing downloaded).
pip reads this machine's pip configuration (local wheel folders and PyPI); uv reads PyPI.
uv makes its venvs as the action does (``--relocatable``). The first line says which uv is
used (``python -m uv`` from the dev extras).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    subprocess.run(command, check=True, capture_output=True, env=env)


def _timed(prepare: Callable[[Path], None], act: Callable[[Path], None], runs: int) -> float:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="sopgate-install-") as tmp:
            where = Path(tmp)
            prepare(where)
            started = time.perf_counter()
            act(where)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def pip_install(cache: Path | None) -> Callable[[Path], None]:
    def act(where: Path) -> None:
        _run([sys.executable, "-m", "venv", str(where / "venv")])
        args = [str(where / "venv" / "bin" / "python"), "-m", "pip", "install", "-q"]
        args += ["--no-cache-dir"] if cache is None else ["--cache-dir", str(cache)]
        _run([*args, "--disable-pip-version-check", str(ROOT)])

    return act


def uv_install(uv: list[str], cache: Path | None) -> Callable[[Path], None]:
    def act(where: Path) -> None:
        venv = where / "venv"
        _run([*uv, "venv", "-q", "--relocatable", "--python", sys.executable, str(venv)])
        args = [*uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
        args += ["--no-cache"] if cache is None else ["--cache-dir", str(cache)]
        _run([*args, str(ROOT)])

    return act


def uv_build(uv: list[str]) -> Callable[[Path], None]:
    def act(where: Path) -> None:
        _run([*uv, "build", "-q", "--wheel", "--no-cache", "-o", str(where), str(ROOT)])

    return act


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    uv = [sys.executable, "-m", "uv"]
    has_uv = subprocess.run([*uv, "--version"], capture_output=True, text=True)
    print(f"python {sys.version.split()[0]}; uv: {has_uv.stdout.strip() or 'not installed'}")
    print(f"median of {runs} runs; each run a new virtual environment in a temporary folder")
    nothing: Callable[[Path], None] = lambda where: None  # noqa: E731
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="sopgate-cache-") as caches:
        pip_cache, uv_cache = Path(caches) / "pip", Path(caches) / "uv"
        rows.append(("pip, cold (no cache)", _timed(nothing, pip_install(None), runs)))
        _timed(nothing, pip_install(pip_cache), 1)  # fill the cache once
        rows.append(("pip, warm cache", _timed(nothing, pip_install(pip_cache), runs)))
        if has_uv.returncode == 0:
            rows.append(("uv, cold (no cache)", _timed(nothing, uv_install(uv, None), runs)))
            _timed(nothing, uv_install(uv, uv_cache), 1)
            rows.append(("uv, warm cache", _timed(nothing, uv_install(uv, uv_cache), runs)))
            rows.append(("uv, build sopgate's wheel", _timed(nothing, uv_build(uv), runs)))

    def restored(where: Path) -> None:
        pip_install(None)(where)

    def start(where: Path) -> None:
        _run([str(where / "venv" / "bin" / "sopgate"), "--version"])

    rows.append(("restored environment: sopgate --version", _timed(restored, start, runs)))
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"{name.ljust(width)}  {seconds:6.2f} s")
    figures = dict(rows)
    if "uv, cold (no cache)" in figures:
        ratio = figures["pip, cold (no cache)"] / figures["uv, cold (no cache)"]
        print(f"cold install, pip / uv: {ratio:.1f}x")


if __name__ == "__main__":
    main()
