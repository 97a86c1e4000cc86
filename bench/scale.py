"""Whole-process figures for sopgate's core, printed (never asserted: machines are noisy).

    .venv/bin/python bench/scale.py             # all figures
    .venv/bin/python bench/scale.py --runs 11   # more runs per figure

1. ``sopgate validate`` on the example SOP: wall time, and the same file checked by
   ``check-jsonschema --schemafile`` against ``sopgate schema`` (if installed: pip install
   check-jsonschema); also whether PyGithub, python-gitlab or requests were imported.
2. A generated SOP of 2,000 steps and 20,000 facts entries that uses the format 1 additions
   (waves, per-region roles and windows, ``max_age``, ``run_by``, evidence ``require``
   thresholds over facts ``documents``, scoped freezes, emergency): validate alone, and
   validate + evaluate (``status``) with JSON and with YAML facts; wall time and peak RSS of
   the process. The goal for validate + evaluate with JSON facts: under 2 s and 200 MB.

sopgate's modules are byte-compiled first, as an install does.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generate import facts_data, sop_text  # noqa: E402

PROBE = """
import resource, sys
from sopgate.cli import main
code = main(sys.argv[1:])
heavy = [m for m in ("github", "gitlab", "requests") if m in sys.modules]
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime
print(f"PROBE {code} {usage.ru_maxrss} {','.join(heavy) or '-'} {cpu}", file=sys.stderr)
"""


def timed(command: list[str], runs: int) -> tuple[float, str]:
    times = []
    stderr = ""
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
        stderr = done.stderr
    return statistics.median(times), stderr


#: The floor for YAML facts: a process that only parses the SOP and facts with libyaml.
FLOOR = """
import sys, yaml
for name in sys.argv[1:]:
    with open(name, encoding="utf-8") as handle:
        yaml.load(handle.read(), Loader=yaml.CSafeLoader)
"""


#: The same floor with Python's cyclic collector paused, as sopgate pauses it for one run.
FLOOR_NO_GC = "import gc\ngc.disable()\n" + FLOOR


def child(command: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def interleaved(commands: list[list[str]], runs: int) -> tuple[list[float], list[float]]:
    """Median wall and median CPU seconds of each command, run in turn round after round, so
    all see the same load."""
    walls: list[list[float]] = [[] for _ in commands]
    cpus: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for i, command in enumerate(commands):
            wall, cpu = child(command)
            walls[i].append(wall)
            cpus[i].append(cpu)
    return [statistics.median(w) for w in walls], [statistics.median(c) for c in cpus]


def probe(args: list[str], runs: int) -> tuple[float, int, int, str, float]:
    """Median wall time, exit code, peak RSS (KiB), heavy modules, and median CPU time
    (user + system) of the process: CPU time barely moves when other jobs share the cores."""
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(runs):
        seconds, stderr = timed([sys.executable, "-c", PROBE, *args], 1)
        line = next(x for x in stderr.splitlines() if x.startswith("PROBE "))
        _tag, code, rss, heavy, cpu = line.split()
        walls.append(seconds)
        cpus.append(float(cpu))
    return statistics.median(walls), int(code), int(rss), heavy, statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = args.runs
    example = str(ROOT / "examples" / ".sopgate.yml")
    sopgate = str(Path(sys.executable).parent / "sopgate")

    # as an install does (the libraries compared against are compiled in site-packages)
    compileall.compile_dir(str(ROOT / "sopgate"), quiet=1)
    print(f"python {sys.version.split()[0]}, median of {runs} runs, whole processes")
    seconds, _ = timed([sopgate, "validate", "--sop", example], runs)
    print(f"sopgate validate (example, console script)     {seconds * 1000:7.0f} ms")
    _s, code, rss, heavy, _cpu = probe(["validate", "--sop", example], 1)
    print(f"  exit {code}, peak RSS {rss / 1024:.0f} MB, platform modules imported: {heavy}")
    checker = shutil.which(
        "check-jsonschema", path=str(Path(sys.executable).parent)
    ) or shutil.which("check-jsonschema")
    with tempfile.TemporaryDirectory() as tmp:
        schema = Path(tmp) / "schema.json"
        schema.write_text(
            subprocess.run([sopgate, "schema"], capture_output=True, text=True, check=True).stdout
        )
        if checker:
            (ours, theirs), (ours_cpu, theirs_cpu) = interleaved(
                [
                    [sopgate, "validate", "--sop", example],
                    [checker, "--schemafile", str(schema), example],
                ],
                runs,
            )
            print(f"check-jsonschema --schemafile (same file)       {theirs * 1000:7.0f} ms")
            print(
                f"  pair by pair: validate {ours * 1000:.0f} ms vs check-jsonschema "
                f"{theirs * 1000:.0f} ms = {ours / theirs:.2f}x wall, cpu {ours_cpu * 1000:.0f} "
                f"vs {theirs_cpu * 1000:.0f} ms = {ours_cpu / theirs_cpu:.2f}x (goal <= 0.6x)"
            )
        else:
            print("check-jsonschema: not installed (pip install check-jsonschema)")

        folder = Path(tmp)
        (folder / "sop.yml").write_text(sop_text(2000))
        data = facts_data(2000, 20000)
        (folder / "facts.json").write_text(json.dumps(data))
        import yaml

        (folder / "facts.yml").write_text(yaml.safe_dump(data, sort_keys=False))
        sop = str(folder / "sop.yml")
        print()
        print(
            "generated: 2,000 steps "
            f"({(folder / 'sop.yml').stat().st_size // 1024} KiB), "
            f"{len(data['approvals']) + len(data['checks']):,} facts entries "
            f"({(folder / 'facts.json').stat().st_size // 1024} KiB JSON)"
        )
        print(f"  {features(sop_text(2000))}")
        cases = [
            ("validate", ["validate", "--sop", sop]),
            (
                "validate + evaluate, JSON facts",
                ["status", "--sop", sop, "--facts", str(folder / "facts.json"), "--format", "json"],
            ),
            (
                "validate + evaluate, YAML facts",
                ["status", "--sop", sop, "--facts", str(folder / "facts.yml"), "--format", "json"],
            ),
        ]
        for label, command in cases:
            seconds, code, rss, _heavy, cpu = probe(command, runs)
            print(
                f"{label:<32} {seconds * 1000:7.0f} ms   cpu {cpu * 1000:6.0f} ms"
                f"   peak RSS {rss / 1024:5.0f} MB   exit {code}"
            )
        print("goal: validate + evaluate with JSON facts under 2,000 ms and 200 MB")
        status_yaml = [sys.executable, "-m", "sopgate", *cases[2][1]]
        floor = [sys.executable, "-c", FLOOR, sop, str(folder / "facts.yml")]
        floor_no_gc = [sys.executable, "-c", FLOOR_NO_GC, sop, str(folder / "facts.yml")]
        walls, cpus = interleaved([status_yaml, floor, floor_no_gc], runs)
        print(
            f"YAML facts: status {walls[0] * 1000:.0f} ms (cpu {cpus[0] * 1000:.0f}) vs parsing "
            f"the same SOP and facts with libyaml only {walls[1] * 1000:.0f} ms "
            f"(cpu {cpus[1] * 1000:.0f}) = {walls[0] / walls[1]:.2f}x wall, "
            f"{cpus[0] / cpus[1]:.2f}x cpu (goal <= 1.3x, < 2 s)"
        )
        print(
            f"  the same parse with the cyclic collector paused {walls[2] * 1000:.0f} ms "
            f"(cpu {cpus[2] * 1000:.0f}): status = {walls[0] / walls[2]:.2f}x wall, "
            f"{cpus[0] / cpus[2]:.2f}x cpu"
        )
        load = os.getloadavg()[0]
        print(f"load average at the end: {load:.1f} on {os.cpu_count()} cores")


def features(text: str) -> str:
    """How much of the generated SOP exercises the additions (so a figure says what it timed)."""
    counts = {
        "wave rollouts": text.count("rollout: [["),
        "region-role rules": text.count("approvers-{region}"),
        "require rules": text.count("require: {"),
        "run_by": text.count("run_by:"),
        "instance needs": text.count("[us-east]']"),
        "max_age rules": text.count("max_age:"),
    }
    return ", ".join(f"{count} {what}" for what, count in counts.items())


if __name__ == "__main__":
    main()
