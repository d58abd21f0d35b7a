"""Chapter 6's job for ``benchmarks/bench_chapters.py --job ch6``: MultiLayerNetExtend with Batch Normalization and Adam.

``MultiLayerNetExtend(784, [100] * 5, 10, use_batchnorm=True)`` (He's initial weights), 2,000
Adam steps at lr 0.001 on batches of 128 drawn with replacement from the 60,000 MNIST training
images, float32; every 500 steps and after the last, accuracy on the first 10,000 training and
10,000 test images, and after the last step on the whole sets once more. xpnet runs it as
``xpnet.train(net, ..., optimizer="adam", eval_samples=10_000)``; the references
(``torch_ch6.py``, ``jax_ch6.py``) start from the same weights and draw the same batches.
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

__all__ = ["DEFAULTS", "Job", "PAIRS", "REFERENCES", "SHORT", "child", "print_report", "ratios", "summary"]

REFERENCES = {"torch": "torch_ch6.py", "jax": "jax_ch6.py"}
DEFAULTS = {False: ["xpnet-numpy", "torch", "xpnet-jax", "jax"], True: ["xpnet-cupy", "xpnet-torch", "xpnet-jax", "torch", "jax"]}
PAIRS: dict[bool, list[Pair]] = {
    False: [("xpnet-numpy", "torch", 0.6), ("xpnet-jax", "jax", 1.15), ("xpnet-torch", "torch", None)],
    True: [("xpnet-cupy", "torch", 1.0), ("xpnet-torch", "torch", 1.0), ("xpnet-jax", "torch", 1.0), ("xpnet-jax", "jax", None)],
}


@dataclass(frozen=True)
class Job:
    """What one run trains: sizes, schedule, data subset, dtype and where."""

    iters: int = 2000
    hidden: int = 100
    depth: int = 5
    batch_size: int = 128
    lr: float = 0.001
    eval_every: int = 500
    eval_samples: int = 10_000
    n_train: int = 60_000
    n_test: int = 10_000
    dtype: str = "float32"
    seed: int = 0
    gpu: bool = False
    ref_threads: str = "matched"


#: ``--short``: a few steps on a slice of MNIST (CI).
SHORT = {"iters": 30, "eval_every": 15, "eval_samples": 500, "n_train": 2000, "n_test": 500}


def _xpnet(job: Job, data: tuple[np.ndarray, ...], impl: str) -> dict[str, Any]:
    import xpnet
    from xpnet.nets import MultiLayerNetExtend

    backend, device = where(impl, job.gpu)
    xpnet.get_backend(backend, device)  # its library imported and its device found before the clock starts, as the references'
    tic = time.perf_counter()
    net = MultiLayerNetExtend(784, [job.hidden] * job.depth, 10, use_batchnorm=True, backend=backend, device=device,
                              dtype=job.dtype, seed=job.seed)
    h = xpnet.train(net, data[:2], data[2:], iters=job.iters, batch_size=job.batch_size, optimizer="adam", lr=job.lr,
                    seed=job.seed, eval_every=job.eval_every, eval_samples=job.eval_samples)
    return {
        "train_time": h.train_time, "eval_time": h.eval_time, "compile_time": h.compile_time,
        "total_time": time.perf_counter() - tic, "iters": h.iterations, "losses": h.train_loss[:3],
        "late_loss": float(np.mean(h.train_loss[-100:])), "train_acc": list(h.train_acc), "test_acc": list(h.test_acc),
        "full_train_acc": h.full_train_acc, "full_test_acc": h.full_test_acc, "dtype": job.dtype,
        "eval_async": h.config["eval_async"], "compiled": h.config["compiled"],
    }


def child(impl: str, job: Job) -> dict[str, Any]:
    """One run of ``impl`` in this process (a fresh child of the runner)."""
    data = mnist(job.n_train, job.n_test, (784,))
    if impl.startswith("xpnet"):
        return _xpnet(job, data, impl)
    kw = dict(iters=job.iters, hidden=job.hidden, depth=job.depth, batch_size=job.batch_size, lr=job.lr,
              eval_every=job.eval_every, eval_samples=job.eval_samples, dtype=job.dtype, seed=job.seed,
              device=("cuda" if impl == "torch" else "gpu") if job.gpu else "cpu", **ref_threads(job.ref_threads))
    return load_reference(REFERENCES[impl], impl).run(*data, **kw)


def summary(runs: list[dict[str, Any]], job: Job) -> dict[str, Any]:
    """Medians over the rounds of one implementation, and what every round learned."""
    out = {k: median_of(runs, k) for k in ("total_time", "train_time", "eval_time", "compile_time", "process_time")}
    return {**out, "min_time": min(r["total_time"] for r in runs), "steps_per_s": job.iters / out["train_time"],
            "losses": runs[0]["losses"], "late_loss": statistics.median(r["late_loss"] for r in runs),
            "test_acc": runs[0]["test_acc"], "full_test_acc": statistics.median(r["full_test_acc"] for r in runs),
            "full_test_acc_min": min(r["full_test_acc"] for r in runs), "peak_rss_mb": max(r.get("peak_rss_mb") or 0 for r in runs)}


def print_report(rep: dict[str, Any]) -> None:
    """Print the report of ``bench_chapters.run`` for this job."""
    job, res, m = Job(**rep["job"]), rep["results"], rep["machine"]
    print(f"benchmark ch6: MultiLayerNetExtend(784, [{job.hidden}] * {job.depth}, 10, use_batchnorm=True), Adam lr {job.lr}, "
          f"batch {job.batch_size}, {job.iters:,} steps, {job.dtype}; accuracy every {job.eval_every} steps on the first "
          f"{job.eval_samples:,} of {job.n_train:,} training and {job.n_test:,} test images, then on the whole sets")
    print(f"{'GPU' if job.gpu else 'CPU'}; references' threads: {job.ref_threads}; {rep['repeats']} rounds alternating; "
          f"{m['cpus']} CPUs, load {m['load_before']:.1f} -> {m['load_after']:.1f}\n")
    rows = [[k, r["total_time"], r["min_time"], r["train_time"], r["eval_time"], r["compile_time"], r["process_time"],
             r["steps_per_s"], " ".join(f"{v:.4f}" for v in r["losses"]), r["late_loss"], r["full_test_acc"],
             r["full_test_acc_min"], r["peak_rss_mb"]] for k, r in res.items()]
    print(table(["impl", "job s", "min s", "train s", "eval s", "compile s", "process s", "steps/s", "first losses",
                 "late loss", "test acc", "min acc", "peak RSS MB"], rows))
    print("job s: the job inside its process (building, compiling, training, evaluating), median of the rounds; process s: "
          "the whole process, start-up, imports and loading included; late loss: mean of the last 100 steps' losses; "
          "test acc: the whole test set after the last step")
    print("xpnet evaluates on a background thread while training goes on (its eval s overlaps its train s); its train s "
          "includes compiling the step (compiled JAX)")
    rows = [[p["pair"], p["job"], p["rounds"], p["train"], p["process"], verdict(p["job"], p["target"]),
             verdict(p["process"], p["target"])] for p in rep["ratios"]]
    if rows:
        print("\nratios: time of xpnet / time of the reference (below 1: xpnet is faster)")
        print(table(["", "job (of medians)", "job (median of rounds)", "training", "process", "job target", "process target"],
                    rows))
    for note in rep["notes"]:
        print(f"note: {note}")


def ratios(pairs: list[Pair], runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The job's ratios: of the job's time inside its process, of its training steps, and of the whole process."""
    return pair_rows(pairs, runs, {"job": "total_time", "train": "train_time", "process": "process_time"})
