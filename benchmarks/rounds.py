"""The runner the benchmark scripts share: fresh child processes in alternating rounds, medians, the machine's state.

Each run of an implementation is a fresh ``python <script> --child NAME ...`` process with this
checkout's ``xpnet`` first on its path; it prints one result line (``MARK`` + JSON) and its wall
time, start-up and imports included, is its process time. Rounds alternate the implementations
(A B C A B C ...) so a change in the machine's load falls on all of them alike. Before the
rounds, the bytecode of this checkout's ``xpnet`` and of the scripts here is compiled once, as
``pip install`` does for an installed package: where ``PYTHONDONTWRITEBYTECODE`` is set, each
process would otherwise compile xpnet's sources again (about 70 ms of its start-up).
"""

from __future__ import annotations

import compileall
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MARK", "ROOT", "alternate", "child_env", "compile_bytecode", "load_average", "machine", "median_of", "rss_mb", "run_child",
           "save_json", "spread_notes"]

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent  # the repository: its xpnet comes first for child processes
MARK = "XPNET-BENCH-RESULT "


def child_env() -> dict[str, str]:
    """The environment for child processes, with this copy of xpnet first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def run_child(script: str, args: Sequence[str], what: str) -> dict[str, Any]:
    """Run ``benchmarks/<script> *args`` in a fresh process; its result line as a dict, plus ``process_time`` (s)."""
    cmd = [sys.executable, str(BENCHMARKS / script), *args]
    tic = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env())
    wall = time.perf_counter() - tic
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"the {what} run failed (exit code {proc.returncode}):\n{proc.stderr[-3000:]}")
    return {**json.loads(lines[-1][len(MARK):]), "process_time": wall}


def alternate(names: Sequence[str], run_one: Callable[[str], dict[str, Any]], repeats: int) -> dict[str, list[dict[str, Any]]]:
    """``repeats`` rounds of ``run_one(name)`` for every name in turn; the runs of each name, in round order."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    compile_bytecode()
    for _ in range(repeats):
        for name in names:
            runs[name].append(run_one(name))
    return runs


def compile_bytecode() -> None:
    """Compile this checkout's ``xpnet`` and ``benchmarks`` to bytecode (``__pycache__``), as an installed package has it."""
    for folder in (ROOT / "xpnet", BENCHMARKS):
        compileall.compile_dir(folder, quiet=2)


def median_of(runs: Sequence[dict[str, Any]], key: str) -> float:
    """The median of ``run[key]`` over ``runs`` (a missing or None value counts as 0)."""
    return statistics.median(float(r.get(key) or 0.0) for r in runs)


def spread_notes(runs: dict[str, list[dict[str, Any]]], keys: Sequence[str], limit: float = 1.3) -> list[str]:
    """A note for each implementation and key whose times vary more than ``limit`` times across rounds."""
    notes = []
    for name, v in runs.items():
        for key in keys:
            times = [r[key] for r in v if r.get(key)]
            if times and max(times) > limit * min(times):
                notes.append(f"{name} {key} varies {max(times) / min(times):.1f}x across rounds: the machine is busy "
                             "(medians and ratios hold up best)")
    return notes


def rss_mb(peak: bool) -> float | None:
    """This process's resident memory now, or its peak so far (``getrusage``), in MiB; None where unknown."""
    try:
        if not peak:
            return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    except (OSError, ImportError, IndexError, ValueError):
        return None


def load_average() -> float:
    """The machine's 1-minute load average; NaN where the platform has none."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def machine(load_before: float) -> dict[str, Any]:
    """Cores, platform, versions, and the load average before and after the rounds."""
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "load_before": load_before, "load_after": load_average()}


def save_json(path: str | None, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` (``--json``), atomically; nothing when no path was given."""
    from xpnet._files.atomic import atomic_write_bytes

    if path:
        atomic_write_bytes(path, json.dumps(data, indent=1).encode())
