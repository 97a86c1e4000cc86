"""Start-up cost of a ``--facts`` check against the libraries it stands on, printed (never
asserted: machines are noisy).

    .venv/bin/python bench/startup.py            # 21 interleaved pairs
    .venv/bin/python bench/startup.py --runs 41

Each round runs ``python -c "import pydantic, yaml, click"`` (the floor: the same interpreter
importing sopgate's three libraries), the same plus one two-field pydantic model built and
validated the way sopgate builds its models (what any start that validates with a pydantic
model costs at the least, for reference), and
``python -m sopgate check STEP --sop S --facts F``, back to back, so all see the same machine
load. Printed: the median wall time and the median CPU time (user + system of the child, from
``resource.getrusage``; it barely moves when other jobs share the cores) of each, and the
ratios to the floor. The goal of issue 11: the check within 1.5x of the floor.

sopgate's modules are byte-compiled first (``compileall``), as an install does: the floor's
libraries are compiled in site-packages, and a checkout run with ``PYTHONDONTWRITEBYTECODE``
would otherwise compile sopgate's sources on every start.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOP = str(ROOT / "examples" / ".sopgate.yml")
FACTS = str(ROOT / "examples" / "facts" / "green.yml")
#: The floor plus one pydantic model, built and validated as sopgate's are: plugins off and
#: pydantic's plugin loader replaced as sopgate.cli does, so no package metadata is read.
ONE_MODEL = """
import os, sys, types
os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
loader = types.ModuleType("pydantic.plugin._loader")
loader.get_plugins = lambda: ()
sys.modules[loader.__name__] = loader
import pydantic, yaml, click
from pydantic import BaseModel, ConfigDict, Field
class One(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    name: str = Field(min_length=1)
    count: int = Field(strict=True)
One.model_validate({"name": "a", "count": 1})
"""


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=False, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--step", default="production[eu-west]")
    args = parser.parse_args()
    compileall.compile_dir(str(ROOT / "sopgate"), quiet=1)
    commands = {
        "import pydantic, yaml, click": [sys.executable, "-c", "import pydantic, yaml, click"],
        "+ one pydantic model": [sys.executable, "-c", ONE_MODEL],
        "sopgate check --facts": [
            sys.executable,
            "-m",
            "sopgate",
            "check",
            args.step,
            "--sop",
            SOP,
            "--facts",
            FACTS,
        ],
    }
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            wall, cpu = run_once(command)
            walls[name].append(wall)
            cpus[name].append(cpu)
    print(f"python {sys.version.split()[0]}, median of {args.runs} interleaved runs")
    for name in commands:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(f"{name:<30} wall {wall * 1000:5.0f} ms   cpu {cpu * 1000:5.0f} ms")
    floor, one_model, ours = commands
    for name, label in ((one_model, "one model"), (ours, "check")):
        wall_ratio = statistics.median(walls[name]) / statistics.median(walls[floor])
        cpu_ratio = statistics.median(cpus[name]) / statistics.median(cpus[floor])
        print(f"ratio {label + ' / imports':<24}wall {wall_ratio:5.2f}x   cpu {cpu_ratio:5.2f}x")
    print(f"goal: within 1.5x; {'met' if max(wall_ratio, cpu_ratio) <= 1.5 else 'not met'}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
