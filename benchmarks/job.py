"""The job ``benchmarks/bench.py`` times: its sizes and schedule, its matmul FLOPs and their NumPy floor."""

from __future__ import annotations

import inspect
import math
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from xpnet.training.threads import thread_limit

D, K = 784, 10  # MNIST input and output widths
EVAL_CHUNK = 10_000  # xpnet's default eval_batch_size


@dataclass(frozen=True)
class Job:
    """What one run trains: sizes, schedule, data subset, dtype and where."""

    iters: int = 10_000
    hidden: int = 50
    batch_size: int = 100
    lr: float = 0.1
    eval_every: int = 600
    n_train: int = 60_000
    n_test: int = 10_000
    dtype: str = "float32"
    backend: str = "numpy"
    device: str | None = None
    seed: int = 0
    ref_threads: str = "matched"

    @property
    def evals(self) -> int:
        """Evaluations: every ``eval_every`` steps and after the last."""
        return math.ceil(self.iters / self.eval_every)

    @property
    def torch_device(self) -> str:
        """Where the PyTorch reference runs: CUDA when xpnet runs on a GPU, else the CPU."""
        gpu = self.backend == "cupy" or str(self.device or "").startswith(("cuda", "gpu"))
        return "cuda" if gpu else "cpu"

    @property
    def jax_device(self) -> str:
        """Where the JAX reference runs: xpnet's device when xpnet runs on JAX, a GPU when xpnet runs on one, else the CPU."""
        if self.backend == "jax" and self.device:
            return self.device
        return "gpu" if self.torch_device == "cuda" else "cpu"


def flops(job: Job, impl: str = "xpnet") -> dict[str, float]:
    """Matmul FLOPs of the job as ``impl`` computes it (2*m*n*k per product).

    Per step xpnet and PyTorch do x@W1, h@W2, dW2 = h.T@d, dh = d@W2.T, dW1 = x.T@dh; the
    book also computes dx = dh@W1.T (unused) and runs a second forward pass to log the loss.
    """
    b, h = job.batch_size, job.hidden
    fwd = 2 * b * (D * h + h * K)
    step = fwd + 2 * b * D * h + 4 * b * h * K  # forward, dW1, dW2 and dh: 4bDh + 6bhK
    if impl.startswith("book"):
        step += 2 * b * D * h + fwd  # dx of the first layer, and the logging forward pass
    evaluation = job.evals * (job.n_train + job.n_test) * 2 * (D * h + h * K)
    return {"train": float(step * job.iters), "eval": float(evaluation), "total": float(step * job.iters + evaluation)}


def xpnet_threads() -> tuple[int | None, int | None]:
    """Native threads xpnet's Trainer uses by default for training steps and for evaluation."""
    from xpnet.training import Trainer

    params = inspect.signature(Trainer).parameters
    return params["train_threads"].default, params["eval_threads"].default or os.cpu_count()


def best_time(fn: Any, min_time: float, blocks: int = 5) -> float:
    """Seconds per call of ``fn``: the fastest of ``blocks`` blocks of calls, each >= ``min_time``."""
    fn()
    tic = time.perf_counter()
    fn()
    n, best = max(1, int(min_time / max(time.perf_counter() - tic, 1e-7))), math.inf
    for _ in range(blocks):
        tic = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - tic) / n)
    return best


def matmul_floor(job: Job, min_time: float = 0.2) -> dict[str, float]:
    """The job's matmuls alone in NumPy: training shapes on one BLAS thread, evaluation on all cores.

    Each of a step's five products is timed in every operand layout a step could use (e.g.
    ``dW1 = x.T @ dh`` or its transpose ``dh.T @ x``) and the fastest counts, so the floor
    is the best these shapes get from this BLAS, whatever layout an implementation picks.
    """
    rng = np.random.default_rng(0)
    b, h, dt = job.batch_size, job.hidden, np.dtype(job.dtype)

    def r(*shape: int) -> np.ndarray:
        return rng.random(shape, dt)

    x, w1, w1t, hid, w2, w2t, d, dh = r(b, D), r(D, h), r(h, D), r(b, h), r(h, K), r(K, h), r(b, K), r(b, h)
    products = {  # name: layouts computing it (or its transpose)
        "x @ W1": (lambda: x @ w1, lambda: x @ w1t.T),
        "h @ W2": (lambda: hid @ w2, lambda: w2t @ hid.T),
        "dW2": (lambda: hid.T @ d, lambda: d.T @ hid),
        "dh": (lambda: d @ w2.T, lambda: w2 @ d.T),
        "dW1": (lambda: x.T @ dh, lambda: dh.T @ x),
    }
    chunks = [min(EVAL_CHUNK, n - lo) for n in (job.n_train, job.n_test) for lo in range(0, n, EVAL_CHUNK)]
    xe, he = r(max(chunks), D), r(max(chunks), h)

    def evaluation() -> None:
        for c in chunks:
            xe[:c] @ w1, he[:c] @ w2

    with thread_limit(1):
        best = {name: min(best_time(f, min_time / 4) for f in layouts) for name, layouts in products.items()}
    t_step = sum(best.values())
    with thread_limit(os.cpu_count()):
        t_eval = best_time(evaluation, min_time, blocks=3)
    f = flops(job)
    return {
        "train_step_s": t_step, "train_gflops": f["train"] / job.iters / t_step / 1e9, "eval_pass_s": t_eval,
        "eval_gflops": f["eval"] / job.evals / t_eval / 1e9, "job_s": t_step * job.iters + t_eval * job.evals,
        "eval_image_s": t_eval / (job.n_train + job.n_test), "products_s": best,
    }
