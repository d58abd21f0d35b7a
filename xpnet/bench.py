"""``xpnet bench``: the book's MNIST training timed against reference implementations in one run.

The job is the book's chapter-5 run: TwoLayerNet(784, 50, 10) with ReLU, SGD at lr 0.1,
batches of 100 drawn with replacement, 10,000 steps, accuracy on all 60,000 training and
10,000 test images every 600 steps and after the last (17 evaluations). Implementations:
``xpnet`` (:class:`xpnet.train.Trainer`), ``book`` (``benchmarks/book_numpy.py``, the book's
own code) and ``torch`` (``benchmarks/torch_eager.py``, idiomatic eager PyTorch). Each
repeat runs them in turn (A B C A B C ...), each in a fresh process whose peak RSS is its
peak memory. The references live in the repository's ``benchmarks/`` folder, not in the
installed package; without it they are skipped with a note.

Also printed: the job's matmul FLOPs, the "floor" (the same matmuls timed alone in NumPy),
the time of the whole ``xpnet train`` process, and with ``--numgrad`` the batched and loop
numerical gradients against backprop. Only ratios from one invocation mean much: other
processes on the machine change absolute times.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ._threads import thread_limit

__all__ = ["main"]

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
REFERENCES = {"book": "book_numpy.py", "torch": "torch_eager.py"}
IMPLS = ("xpnet", "book", "torch")
D, K = 784, 10  # MNIST input and output widths
EVAL_CHUNK = 10_000  # xpnet's default eval_batch_size
_MARK = "XPNET-BENCH-RESULT "


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


def flops(job: Job, impl: str = "xpnet") -> dict[str, float]:
    """Matmul FLOPs of the job as ``impl`` computes it (2*m*n*k per product).

    Per step xpnet and PyTorch do x@W1, h@W2, dW2 = h.T@d, dh = d@W2.T, dW1 = x.T@dh; the
    book also computes dx = dh@W1.T (unused) and runs a second forward pass to log the loss.
    """
    b, h = job.batch_size, job.hidden
    fwd = 2 * b * (D * h + h * K)
    step = fwd + 2 * b * D * h + 4 * b * h * K  # forward, dW1, dW2 and dh: 4bDh + 6bhK
    if impl == "book":
        step += 2 * b * D * h + fwd  # dx of the first layer, and the logging forward pass
    evaluation = job.evals * (job.n_train + job.n_test) * 2 * (D * h + h * K)
    return {"train": float(step * job.iters), "eval": float(evaluation), "total": float(step * job.iters + evaluation)}


# --- one run, in a child process ---------------------------------------------------------
def _load_reference(impl: str) -> Any:
    path = BENCHMARKS / REFERENCES[impl]
    spec = importlib.util.spec_from_file_location(f"xpnet_bench_{impl}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _data(job: Job) -> tuple[np.ndarray, ...]:
    from .datasets.mnist import load_mnist_uint8

    (x_tr, t_tr), (x_te, t_te) = load_mnist_uint8()
    return x_tr[: job.n_train], t_tr[: job.n_train], x_te[: job.n_test], t_te[: job.n_test]


def _run_xpnet(job: Job, data: tuple[np.ndarray, ...]) -> dict[str, Any]:
    from .nets import TwoLayerNet
    from .train import Trainer

    if job.backend == "jax" and job.dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)
    net = TwoLayerNet(D, job.hidden, K, backend=job.backend, device=job.device, dtype=job.dtype, seed=job.seed)
    trainer = Trainer(net, data[:2], data[2:], batch_size=job.batch_size, lr=job.lr, seed=job.seed, eval_every=job.eval_every)
    tic = time.perf_counter()
    h = trainer.run(job.iters)
    total = time.perf_counter() - tic
    return {
        "train_time": h.train_time, "eval_time": h.eval_time, "total_time": total, "test_acc": h.final_test_acc,
        "train_acc": h.train_acc[-1], "evals": len(h.test_acc), "iters": h.iterations,
        "first_loss": h.train_loss[0], "last_loss": h.train_loss[-1],
    }


def _child(impl: str, job: Job) -> dict[str, Any]:
    data = _data(job)
    rss_start = _rss_mb(peak=False)
    if impl == "xpnet":
        out = _run_xpnet(job, data)
    else:
        kw = dict(iters=job.iters, dtype=job.dtype, seed=job.seed, eval_every=job.eval_every, hidden=job.hidden,
                  batch_size=job.batch_size, lr=job.lr)
        if job.ref_threads == "matched":
            kw.update(zip(("train_threads", "eval_threads"), _xpnet_threads()))
        if impl == "torch":
            kw["device"] = job.torch_device
        out = _load_reference(impl).run(*data, **kw)
    out.update(start_rss_mb=rss_start, peak_rss_mb=_rss_mb(peak=True))
    return out


def _xpnet_threads() -> tuple[int | None, int | None]:
    """Native threads xpnet's Trainer uses by default for training steps and for evaluation."""
    from .train import Trainer

    params = inspect.signature(Trainer).parameters
    return params["train_threads"].default, params["eval_threads"].default or os.cpu_count()


def _rss_mb(peak: bool) -> float | None:
    """This process's resident memory now, or its peak so far (``getrusage``), in MiB; None where unknown."""
    try:
        if not peak:
            return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
    except (OSError, ImportError, IndexError, ValueError):
        return None


def _env() -> dict[str, str]:
    """The environment for child processes, with this copy of xpnet first on the path."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _run_once(impl: str, job: Job) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "xpnet.bench", "--child", impl, "--job", json.dumps(asdict(job))]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"the {impl} run failed (exit code {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len(_MARK):])


# --- statistics, floor, CLI ----------------------------------------------------------------
def _summary(runs: list[dict[str, Any]], job: Job) -> dict[str, Any]:
    med = {k: statistics.median(r[k] for r in runs) for k in ("total_time", "train_time", "eval_time")}
    return {
        "median_time": med["total_time"], "min_time": min(r["total_time"] for r in runs),
        "train_time": med["train_time"], "eval_time": med["eval_time"], "iters_per_sec": job.iters / med["train_time"],
        "test_acc": statistics.median(r["test_acc"] for r in runs), "test_acc_min": min(r["test_acc"] for r in runs),
        "peak_rss_mb": max((r["peak_rss_mb"] or 0.0) for r in runs),
        "start_rss_mb": statistics.median((r["start_rss_mb"] or 0.0) for r in runs), "runs": runs,
    }


def _ratio(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
    rounds = [ra["total_time"] / rb["total_time"] for ra, rb in zip(a["runs"], b["runs"])]
    return {
        "total": a["median_time"] / b["median_time"], "total_round_median": statistics.median(rounds),
        "train": a["train_time"] / b["train_time"], "eval": a["eval_time"] / b["eval_time"],
    }


def _best_time(fn: Any, min_time: float, blocks: int = 5) -> float:
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
    """The job's matmuls alone in NumPy: training shapes on one BLAS thread, evaluation on all cores."""
    rng = np.random.default_rng(0)
    b, h, dt = job.batch_size, job.hidden, np.dtype(job.dtype)
    x, w1, hid = rng.random((b, D), dt), rng.random((D, h), dt), rng.random((b, h), dt)
    w2, d, dh = rng.random((h, K), dt), rng.random((b, K), dt), rng.random((b, h), dt)

    def step() -> None:
        x @ w1, hid @ w2, hid.T @ d, d @ w2.T, x.T @ dh

    chunks = [min(EVAL_CHUNK, n - lo) for n in (job.n_train, job.n_test) for lo in range(0, n, EVAL_CHUNK)]
    xe, he = rng.random((max(chunks), D), dt), rng.random((max(chunks), h), dt)

    def evaluation() -> None:
        for c in chunks:
            xe[:c] @ w1, he[:c] @ w2

    with thread_limit(1):
        t_step = _best_time(step, min_time)
    with thread_limit(os.cpu_count()):
        t_eval = _best_time(evaluation, min_time, blocks=3)
    f = flops(job)
    return {
        "train_step_s": t_step, "train_gflops": f["train"] / job.iters / t_step / 1e9, "eval_pass_s": t_eval,
        "eval_gflops": f["eval"] / job.evals / t_eval / 1e9, "job_s": t_step * job.iters + t_eval * job.evals,
        "eval_image_s": t_eval / (job.n_train + job.n_test),
    }


def time_cli(job: Job, floor: dict[str, float]) -> dict[str, Any]:
    """Wall time of the whole ``xpnet train --iters N --quiet`` process, against the matmul floor."""
    if importlib.util.find_spec("xpnet.cli") is None or importlib.util.find_spec("xpnet.__main__") is None:
        return {"skipped": "xpnet.cli not found: no `xpnet train` command to time"}
    args = ["train", "--iters", str(job.iters), "--quiet", "--backend", job.backend, "--dtype", job.dtype, "--seed", str(job.seed),
            "--hidden-size", str(job.hidden), "--batch-size", str(job.batch_size), "--eval-every", str(job.eval_every)]
    args += ["--device", job.device] if job.device else []
    with tempfile.TemporaryDirectory() as cwd:  # anything the command writes lands here
        tic = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "xpnet", *args], capture_output=True, text=True, env=_env(), cwd=cwd)
        wall = time.perf_counter() - tic
    if proc.returncode != 0:
        return {"skipped": f"`xpnet {' '.join(args)}` exited with {proc.returncode}: {proc.stderr.strip()[-500:]}"}
    floor_s = floor["train_step_s"] * job.iters + floor["eval_image_s"] * 70_000 * job.evals  # all of MNIST
    return {"command": "xpnet " + " ".join(args), "wall_time": wall, "floor_s": floor_s, "x_floor": wall / floor_s}


# --- numerical gradients -------------------------------------------------------------------
def _loop_elements(net: Any, x: Any, onehot: Any, key: str, indices: list[int], h: float = 1e-4) -> np.ndarray:
    """The loop method's central differences for some elements of ``params[key]`` (its loop body, unchanged)."""
    from ._numgrad import scores_with, stacked_loss

    xp, p = net.backend.xp, net.params[key]
    shape, n, dev = tuple(p.shape), math.prod(p.shape), net.backend.device
    flat, ids = xp.reshape(p, (n,)), xp.arange(n, device=dev)
    step, zero = xp.asarray(h, dtype=p.dtype, device=dev), xp.asarray(0.0, dtype=p.dtype, device=dev)
    out = []
    for i in indices:
        e = xp.where(ids == i, step, zero)
        f1 = stacked_loss(scores_with(net, x, {key: xp.reshape(flat + e, shape)}), onehot)
        f2 = stacked_loss(scores_with(net, x, {key: xp.reshape(flat - e, shape)}), onehot)
        out.append((f1 - f2) / (2 * h))
    return np.asarray([float(v) for v in out])


def numgrad_bench(backend: str, device: str | None, *, w1_elements: int, full: bool) -> dict[str, Any]:
    """Time TwoLayerNet(784, 50, 10).numerical_gradient on 3 images, batched vs loop, next to backprop."""
    from . import _compat
    from .datasets.mnist import load_mnist_uint8
    from .nets import TwoLayerNet

    (x, t), _ = load_mnist_uint8()
    net = TwoLayerNet(D, 50, K, backend=backend, device=device, dtype="float64", seed=0)
    be, xp, host = net.backend, net.backend.xp, _compat.to_numpy
    xb, tb = be.asarray(x[:3] / 255.0, dtype="float64"), be.asarray(t[:3])
    onehot = xp.astype(tb[:, None] == xp.arange(K, device=be.device), xp.float64)
    t_bp = _best_time(lambda: host(net.loss_and_gradient(xb, tb)[1]["W1"]), 0.2)
    batched = {k: host(v) for k, v in net.numerical_gradient(xb, tb, method="batched").items()}
    t_batched = _best_time(lambda: host(net.numerical_gradient(xb, tb, method="batched")["b2"]), 0.3, 3)
    bp_diff = max(float(np.max(np.abs(host(v) - batched[k]))) for k, v in net.gradient(xb, tb).items())
    if full:
        tic = time.perf_counter()
        loop = {k: host(v) for k, v in net.numerical_gradient(xb, tb, method="loop").items()}
        t_loop, how = time.perf_counter() - tic, "in full"
        diff = max(float(np.max(np.abs(loop[k] - batched[k]))) for k in loop)
    else:
        # W1 elements of pixels that some image lights up (the others have zero gradients)
        lit = (np.flatnonzero(np.any(x[:3] > 0, axis=0))[:, None] * 50 + np.arange(50)).ravel()
        w1 = np.sort(np.random.default_rng(0).choice(lit, size=min(w1_elements, lit.size), replace=False))
        t_loop, diff = 0.0, 0.0
        for key, ref in batched.items():
            idx = w1.tolist() if key == "W1" else list(range(ref.size))
            tic = time.perf_counter()
            part = _loop_elements(net, xb, onehot, key, idx)
            t_loop += (time.perf_counter() - tic) * ref.size / len(idx)
            diff = max(diff, float(np.max(np.abs(part - ref.reshape(-1)[idx]))))
        how = f"estimated: {len(w1)} of {D * 50:,} W1 elements scaled up, b1/W2/b2 in full"
    return {
        "backend": str(be), "params": sum(v.size for v in batched.values()), "backprop_s": t_bp, "batched_s": t_batched,
        "loop_s": t_loop, "loop_how": how, "max_diff_loop_batched": diff, "agree": diff <= 1e-9,
        "max_diff_backprop_batched": bp_diff,
    }


# --- report ---------------------------------------------------------------------------------
def _table(headers: list[str], rows: list[list[Any]]) -> str:
    rows = [headers, *[[f"{c:,.4g}" if isinstance(c, float) else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows)


def _si(value: float, unit: str) -> str:
    """``value`` with an SI prefix and 3 significant digits: 1.6e11 FLOP -> "160 GFLOP"."""
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "u")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def _print_report(rep: dict[str, Any]) -> None:
    job, res, f, fl = Job(**rep["job"]), rep["results"], rep["flops"], rep["floor"]
    print(f"xpnet bench: TwoLayerNet({D}, {job.hidden}, {K}) ReLU, SGD lr {job.lr}, batch {job.batch_size}, {job.iters:,} steps, "
          f"{job.evals} evaluations of {job.n_train:,} + {job.n_test:,} images")
    m = rep["machine"]
    tt, te = _xpnet_threads()
    threads = f"{tt or 'default'} for training, {te} for evaluation, as xpnet" if job.ref_threads == "matched" else "library defaults"
    print(f"{job.dtype}, xpnet on {job.backend} ({job.device or 'default device'}); references' threads: {threads}; {rep['repeats']} repeats "
          f"alternating; {m['cpus']} CPUs, load {m['load_before']:.1f} -> {m['load_after']:.1f}\n")
    rows = [[k, r["median_time"], r["min_time"], r["train_time"], r["eval_time"], r["iters_per_sec"], r["test_acc"],
             r["test_acc_min"], r["peak_rss_mb"], r["start_rss_mb"]] for k, r in res.items()]
    print(_table(["impl", "median s", "min s", "train s", "eval s", "steps/s", "test acc", "min acc", "peak RSS MB",
                  "RSS at start MB"], rows))
    if rep["ratios"]:
        print("\nratios: time of xpnet / time of the other (below 1: xpnet is faster)")
        rows = [[k, r["total"], r["total_round_median"], r["train"], r["eval"]] for k, r in rep["ratios"].items()]
        print(_table(["", "job (of medians)", "job (median of rounds)", "training", "evaluation"], rows))
    print(f"\nFLOPs (matmuls, xpnet's count): training {_si(f['train'], 'FLOP')} ({_si(f['train'] / job.iters, 'FLOP')} a step), "
          f"evaluation {_si(f['eval'], 'FLOP')}, job {_si(f['total'], 'FLOP')}")
    if "book" in res:
        print(f"  the book's code does {flops(job, 'book')['train'] / f['train']:.2f}x the training FLOPs (dx of layer 1, a second forward)")
    g = rep["xpnet_gflops"]
    print(f"xpnet achieved: training {g['train']:.1f} GFLOP/s, evaluation {g['eval']:.1f} GFLOP/s, job {g['total']:.1f} GFLOP/s")
    print(f"matmul floor (NumPy alone; 1 thread for training shapes, {m['cpus']} for evaluation): step {_si(fl['train_step_s'], 's')} "
          f"({fl['train_gflops']:.1f} GFLOP/s), evaluation {_si(fl['eval_pass_s'], 's')} ({fl['eval_gflops']:.1f} GFLOP/s), "
          f"job {_si(fl['job_s'], 's')}")
    pct = rep["floor_fraction"]
    print(f"xpnet reaches {pct['train']:.0f}% of the floor's throughput in training steps, {pct['eval']:.0f}% in evaluation, "
          f"{pct['job']:.0f}% over the job")
    cli = rep["cli"]
    if "skipped" in cli:
        print(f"xpnet train process: skipped ({cli['skipped']})")
    else:
        print(f"xpnet train process: {cli['wall_time']:.2f} s for `{cli['command']}` = {cli['x_floor']:.1f}x its matmul floor")
    for note in rep["notes"]:
        print(f"note: {note}")


def _print_numgrad(r: dict[str, Any]) -> None:
    print(f"numerical gradient of TwoLayerNet({D}, 50, {K}) on 3 images, float64, {r['backend']}, {r['params']:,} parameters")
    bp = r["backprop_s"]
    print(f"  backprop  {bp * 1e3:12.3f} ms")
    print(f"  batched   {r['batched_s'] * 1e3:12.3f} ms  {r['batched_s'] / bp:,.0f}x backprop")
    print(f"  loop      {r['loop_s'] * 1e3:12.3f} ms  {r['loop_s'] / bp:,.0f}x backprop, {r['loop_s'] / r['batched_s']:,.0f}x batched "
          f"({r['loop_how']})")
    verdict = "agree within 1e-9" if r["agree"] else "DISAGREE (more than 1e-9)"
    print(f"  loop vs batched: max |difference| {r['max_diff_loop_batched']:.2e}, {verdict}")
    print(f"  backprop vs batched: max |difference| {r['max_diff_backprop_batched']:.2e}")


# --- command line -------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xpnet bench", description="Time the book's MNIST training: xpnet against reference "
                                "implementations (the book's NumPy code, eager PyTorch), in one run.")
    p.add_argument("--backend", default="numpy", help="xpnet's array backend (default numpy)")
    p.add_argument("--device", default=None, help="xpnet's device, e.g. cuda:0 (PyTorch then runs on CUDA too)")
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"), help="default float32 (the book: float64)")
    p.add_argument("--iters", type=int, default=None, help="training steps (default 10000; --short 300, --large 500)")
    p.add_argument("--repeats", type=int, default=None, help="runs of each implementation (default 5; --short 2, --large 3)")
    p.add_argument("--impl", default=None, help="comma-separated subset of xpnet,book,torch (default: all available)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and batches (default 0)")
    p.add_argument("--ref-threads", default="matched", choices=("matched", "default"),
                   help="references' CPU threads: 'matched' to xpnet's (1 for training, all for evaluation) or library defaults")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--short", action="store_true", help="CI mode: 300 steps, eval every 100, 10,000 + 2,000 images, 2 repeats")
    mode.add_argument("--large", action="store_true", help="for GPUs: hidden 4096, batch 8192, 500 steps, eval every 250")
    p.add_argument("--numgrad", action="store_true", help="time numerical gradients (batched, loop) against backprop instead")
    p.add_argument("--full-numgrad", action="store_true", help="with --numgrad: run the loop over all 39,760 parameters")
    p.add_argument("--json", metavar="PATH", default=None, help="also write the results as JSON to PATH")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--job", default=None, help=argparse.SUPPRESS)
    return p


def _select(args: argparse.Namespace, parser: argparse.ArgumentParser, notes: list[str]) -> list[str]:
    asked = args.impl.split(",") if args.impl else None
    for name in asked or []:
        if name not in IMPLS:
            parser.error(f"--impl: unknown implementation {name!r}; choose from {', '.join(IMPLS)}")
    chosen = []
    for name in IMPLS:
        if asked is not None and name not in asked or asked is None and args.large and name == "book":
            continue
        if name != "xpnet" and not (BENCHMARKS / REFERENCES[name]).is_file():
            notes.append(f"{name} skipped: no {BENCHMARKS / REFERENCES[name]} (the references live in the repository)")
        elif name == "torch" and importlib.util.find_spec("torch") is None:
            notes.append("torch skipped: PyTorch is not installed")
        else:
            chosen.append(name)
    if "xpnet" not in chosen:
        parser.error("--impl must include xpnet (every figure is relative to it)")
    return chosen


def run_bench(job: Job, impls: list[str], repeats: int, *, floor_time: float = 0.2) -> dict[str, Any]:
    """Run every implementation ``repeats`` times, alternating, and gather the report (a JSON-able dict)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in impls}
    for _ in range(repeats):
        for name in impls:
            runs[name].append(_run_once(name, job))
    results = {k: _summary(v, job) for k, v in runs.items()}
    notes = []
    for name, v in runs.items():
        for phase in ("train", "eval"):
            times = [r[f"{phase}_time"] for r in v]
            if max(times) > 1.3 * min(times):
                notes.append(f"{name} {phase} times vary {max(times) / min(times):.1f}x across repeats: the machine is busy "
                             "(medians and ratios hold up best)")
    floor, f, x = matmul_floor(job, floor_time), flops(job), results["xpnet"]
    return {
        "job": asdict(job), "repeats": repeats, "results": results, "flops": f, "floor": floor,
        "flops_by_impl": {k: flops(job, k) for k in impls},
        "ratios": {f"xpnet/{k}": _ratio(x, results[k]) for k in impls if k != "xpnet"},
        "xpnet_gflops": {"train": f["train"] / x["train_time"] / 1e9, "eval": f["eval"] / x["eval_time"] / 1e9,
                         "total": f["total"] / x["median_time"] / 1e9},
        "floor_fraction": {"train": 100 * floor["train_step_s"] * job.iters / x["train_time"],
                           "eval": 100 * floor["eval_pass_s"] * job.evals / x["eval_time"],
                           "job": 100 * floor["job_s"] / x["median_time"]},
        "cli": time_cli(job, floor),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "numpy": np.__version__, "load_before": load,
                    "load_after": os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")},
        "notes": notes + (["the matmul floor is NumPy on the CPU, whatever xpnet's backend"] if job.backend != "numpy" else []),
    }


def main(argv: list[str] | None = None) -> int:
    """Run ``xpnet bench`` with command-line arguments ``argv``; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.child:
        print(_MARK + json.dumps(_child(args.child, Job(**json.loads(args.job)))))
        return 0
    if args.numgrad:
        rep = numgrad_bench(args.backend, args.device, w1_elements=200 if args.short else 2000, full=args.full_numgrad)
        _print_numgrad(rep)
        if args.json:
            Path(args.json).write_text(json.dumps({"numgrad": rep}, indent=1))
        return 0 if rep["agree"] else 1
    job = Job(dtype=args.dtype, backend=args.backend, device=args.device, seed=args.seed, ref_threads=args.ref_threads)
    repeats = 5
    if args.short:
        job, repeats = replace(job, iters=300, eval_every=100, n_train=10_000, n_test=2_000), 2
    elif args.large:
        job, repeats = replace(job, hidden=4096, batch_size=8192, iters=500, eval_every=250), 3
    if (args.iters is not None and args.iters < 1) or (args.repeats is not None and args.repeats < 1):
        parser.error("--iters and --repeats must be positive")
    job, repeats = replace(job, iters=args.iters or job.iters), args.repeats or repeats
    notes: list[str] = []
    impls = _select(args, parser, notes)
    try:
        rep = run_bench(job, impls, repeats, floor_time=0.05 if args.short else 0.2)
    except RuntimeError as exc:
        print(f"xpnet bench: {exc}", file=sys.stderr)
        return 1
    rep["notes"] += notes
    _print_report(rep)
    if args.json:
        Path(args.json).write_text(json.dumps(rep, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
