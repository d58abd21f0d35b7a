"""Chapter 7's step for ``benchmarks/bench_chapters.py --job ch7``: one Adam step of SimpleConvNet at batch 100.

The book's ``SimpleConvNet()`` (conv 30x5x5 - ReLU - 2x2 max pool - affine 100 - ReLU - affine
10), Adam at lr 0.001, batches of 100 drawn with replacement from the first 5,000 MNIST training
images, float32. Each process trains 400 steps in blocks of 100, timing every block; a step's
time is the median over the blocks after the first (which holds compiling and warming up). xpnet
runs it as ``xpnet.Trainer(net, ..., optimizer="adam")`` (the blocks are its progress reports);
the references (``torch_ch7.py``, ``jax_ch7.py``, ``book_ch7.py``: the book's own code) start
from the same weights and draw the same batches.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from chapters import Pair, load_reference, mnist, pair_rows, ref_threads, verdict, where
from report import table
from rounds import median_of

__all__ = ["DEFAULTS", "Job", "PAIRS", "REFERENCES", "SHORT", "child", "print_report", "ratios", "step_time", "summary"]

REFERENCES = {"torch": "torch_ch7.py", "jax": "jax_ch7.py", "book": "book_ch7.py"}
DEFAULTS = {False: ["xpnet-numpy", "torch", "book", "xpnet-jax", "jax"], True: ["xpnet-cupy", "xpnet-torch", "xpnet-jax", "torch", "jax"]}
PAIRS: dict[bool, list[Pair]] = {
    False: [("xpnet-numpy", "torch", 2.0), ("xpnet-numpy", "book", 0.5), ("xpnet-jax", "jax", 1.15), ("xpnet-torch", "torch", None)],
    True: [("xpnet-cupy", "torch", 1.0), ("xpnet-torch", "torch", 1.0), ("xpnet-jax", "torch", 1.0), ("xpnet-jax", "jax", None)],
}


@dataclass(frozen=True)
class Job:
    """What one run trains: steps, batch, data subset, dtype and where."""

    steps: int = 400
    batch_size: int = 100
    lr: float = 0.001
    n_train: int = 5000
    dtype: str = "float32"
    seed: int = 0
    gpu: bool = False
    ref_threads: str = "matched"
    book_dir: str | None = None


#: ``--short``: a few steps on a slice of MNIST (CI).
SHORT = {"steps": 3, "n_train": 500}


def step_time(blocks: list[list[float]]) -> float:
    """Seconds per step: the median over the blocks ``[steps, seconds]`` after the first (the only one, if alone)."""
    timed = blocks[1:] or blocks
    return statistics.median(seconds / steps for steps, seconds in timed)


def _xpnet(job: Job, data: tuple[np.ndarray, ...], impl: str) -> dict[str, Any]:
    import xpnet
    from xpnet.nets import SimpleConvNet

    backend, device = where(impl, job.gpu)
    net = SimpleConvNet(backend=backend, device=device, dtype=job.dtype, seed=job.seed)
    trainer = xpnet.Trainer(net, data[:2], None, batch_size=job.batch_size, optimizer="adam", lr=job.lr, seed=job.seed,
                            eval_every=job.steps)
    marks = [(0, time.perf_counter())]
    h = trainer.run(job.steps, on_progress=lambda it, _loss: marks.append((it, time.perf_counter())))
    blocks = [[b[0] - a[0], b[1] - a[1]] for a, b in zip(marks, marks[1:]) if b[0] > a[0]]
    return {"blocks": blocks, "losses": h.train_loss[:3], "late_loss": float(np.mean(h.train_loss[-100:])),
            "compile_time": h.compile_time, "dtype": job.dtype, "compiled": h.config["compiled"]}


def child(impl: str, job: Job) -> dict[str, Any]:
    """One run of ``impl`` in this process (a fresh child of the runner), with its time per step."""
    data = mnist(job.n_train, 0, (1, 28, 28))
    if impl.startswith("xpnet"):
        out = _xpnet(job, data, impl)
    else:
        kw: dict[str, Any] = dict(steps=job.steps, batch_size=job.batch_size, lr=job.lr, seed=job.seed, **ref_threads(job.ref_threads))
        if impl == "book":
            kw["book_dir"] = job.book_dir  # the book's own dtypes
        else:
            kw.update(dtype=job.dtype, device=("cuda" if impl == "torch" else "gpu") if job.gpu else "cpu")
        out = load_reference(REFERENCES[impl], impl).run(*data[:2], **kw)
    return {**out, "step_time": step_time(out["blocks"])}


def summary(runs: list[dict[str, Any]], job: Job) -> dict[str, Any]:
    """Medians over the rounds of one implementation."""
    out = {k: median_of(runs, k) for k in ("step_time", "compile_time", "process_time")}
    return {**out, "min_step_time": min(r["step_time"] for r in runs), "losses": runs[0]["losses"],
            "late_loss": statistics.median(r["late_loss"] for r in runs), "dtype": runs[0]["dtype"],
            "peak_rss_mb": max(r.get("peak_rss_mb") or 0 for r in runs)}


def print_report(rep: dict[str, Any]) -> None:
    """Print the report of ``bench_chapters.run`` for this job."""
    job, res, m = Job(**rep["job"]), rep["results"], rep["machine"]
    print(f"benchmark ch7: one training step of SimpleConvNet (conv 30x5x5, pool 2x2, 100, 10), Adam lr {job.lr}, batch "
          f"{job.batch_size}, {job.dtype}; {job.steps} steps a process in blocks of 100, batches from the first "
          f"{job.n_train:,} training images")
    print(f"{'GPU' if job.gpu else 'CPU'}; references' threads: {job.ref_threads}; {rep['repeats']} rounds alternating; "
          f"{m['cpus']} CPUs, load {m['load_before']:.1f} -> {m['load_after']:.1f}\n")
    rows = [[k, r["dtype"], r["step_time"] * 1e3, r["min_step_time"] * 1e3, 1 / r["step_time"], r["compile_time"],
             r["process_time"], " ".join(f"{v:.5f}" for v in r["losses"]), r["late_loss"], r["peak_rss_mb"]]
            for k, r in res.items()]
    print(table(["impl", "arithmetic", "ms/step", "min ms/step", "steps/s", "compile s", "process s", "first losses",
                 "late loss", "peak RSS MB"], rows))
    print("ms/step: median over the rounds of each process's median block (the first block, with compiling and warm-up, "
          "left out); late loss: mean of the last 100 steps' losses")
    if any(len(r["blocks"]) == 1 for v in rep["runs"].values() for r in v):
        print("one block only (a short run): its time holds the warm-up, and xpnet's compiling on JAX (the jax reference "
              "compiles ahead, outside its blocks); only runs of several blocks compare steps")
    if "book" in res:
        print("the book's im2col allocates float64 columns, so its convolution runs in float64 (and its weights are float64)")
    rows = [[p["pair"], p["step"], p["rounds"], verdict(p["step"], p["target"])] for p in rep["ratios"]]
    if rows:
        print("\nratios: time per step of xpnet / of the reference (below 1: xpnet is faster)")
        print(table(["", "step (of medians)", "step (median of rounds)", "target"], rows))
    for note in rep["notes"]:
        print(f"note: {note}")


def ratios(pairs: list[Pair], runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The step's ratios: of the median time per step."""
    return pair_rows(pairs, runs, {"step": "step_time"})
