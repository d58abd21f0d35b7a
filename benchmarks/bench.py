"""``python benchmarks/bench.py``: the book's MNIST training timed against reference implementations in one run.

The job is the book's chapter-5 run: TwoLayerNet(784, 50, 10) with ReLU, SGD at lr 0.1,
batches of 100 drawn with replacement, 10,000 steps, accuracy on all 60,000 training and
10,000 test images every 600 steps and after the last (17 evaluations). Implementations:
``xpnet`` (:class:`xpnet.Trainer`), ``book`` (``benchmarks/book_numpy.py``: the book's
own code, imported from the checkout of its repository that ``$DLFS_BOOK_DIR`` names, with
its own dtypes: float64 arithmetic; skipped where the variable is unset), ``book-dtype`` (the same code with
images, labels and weights in the job's dtype; by default only for float32 jobs),
``torch`` (``benchmarks/torch_eager.py``, idiomatic eager PyTorch), ``jax``
(``benchmarks/jax_jit.py``, idiomatic ``jax.jit`` over ``lax.scan``; by default with
``--backend jax``, which leaves out the NumPy book references) and ``xpnet-eager`` (xpnet
with ``compiled=False``: the step op by op; only when asked for). Each repeat runs them in
turn (A B C A B C ...), each in a fresh process whose peak RSS is its peak memory and whose
wall time, start-up and imports included, is its process time; the ``xpnet train`` process
is timed in the same rounds. The benchmark and its references live in this ``benchmarks/`` folder of the
repository, not in the installed package: run it from a checkout, with xpnet installed or not
(the checkout's ``xpnet/`` comes first on the children's path).

Also printed: the job's matmul FLOPs, the "floor" (the same matmuls timed alone in NumPy),
the time of the whole ``xpnet train`` process, and with ``--numgrad`` the batched and loop
numerical gradients against backprop. Only ratios from one invocation mean much: other
processes on the machine change absolute times.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from book_code import BOOK_ENV, book_dir_from_env, has_book
from chapters import load_reference
from job import D, Job, K, flops, matmul_floor, xpnet_threads
from numgrad import numgrad_bench
from report import print_numgrad, print_report
from rounds import MARK, child_env, compile_bytecode, load_average, machine, rss_mb, run_child, save_json, spread_notes

__all__ = ["main"]

BENCHMARKS = Path(__file__).resolve().parent
REFERENCES = {"book": "book_numpy.py", "book-dtype": "book_numpy.py", "torch": "torch_eager.py", "jax": "jax_jit.py"}
IMPLS = ("xpnet", "xpnet-eager", "book", "book-dtype", "torch", "jax")
LIBRARIES = {"torch": "torch", "jax": "jax"}  # references that need a library installed


# --- one run, in a child process ---------------------------------------------------------
def _load_reference(impl: str) -> Any:
    return load_reference(REFERENCES[impl], impl)


def _data(job: Job) -> tuple[np.ndarray, ...]:
    from xpnet.datasets.mnist import load_mnist_uint8

    (x_tr, t_tr), (x_te, t_te) = load_mnist_uint8()
    return x_tr[: job.n_train], t_tr[: job.n_train], x_te[: job.n_test], t_te[: job.n_test]


def _run_xpnet(job: Job, data: tuple[np.ndarray, ...], compiled: bool | None = None) -> dict[str, Any]:
    from xpnet.nets import TwoLayerNet
    from xpnet.training import Trainer

    if job.backend == "jax" and job.dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)
    net = TwoLayerNet(D, job.hidden, K, backend=job.backend, device=job.device, dtype=job.dtype, seed=job.seed)
    trainer = Trainer(net, data[:2], data[2:], batch_size=job.batch_size, lr=job.lr, seed=job.seed, eval_every=job.eval_every,
                      compiled=compiled)
    tic = time.perf_counter()
    h = trainer.run(job.iters)
    total = time.perf_counter() - tic
    return {
        "train_time": h.train_time, "eval_time": h.eval_time, "total_time": total, "test_acc": h.final_test_acc,
        "train_acc": h.train_acc[-1], "evals": len(h.test_acc), "iters": h.iterations,
        "first_loss": h.train_loss[0], "last_loss": h.train_loss[-1], "dtype": job.dtype,
        "eval_async": h.config["eval_async"], "compile_time": h.compile_time, "compiled": trainer.compiled,
    }


def _child(impl: str, job: Job) -> dict[str, Any]:
    data = _data(job)
    rss_start = rss_mb(peak=False)
    if impl.startswith("xpnet"):
        out = _run_xpnet(job, data, compiled=False if impl == "xpnet-eager" else None)
    else:
        kw = dict(iters=job.iters, dtype=None if impl == "book" else job.dtype, seed=job.seed, eval_every=job.eval_every,
                  hidden=job.hidden, batch_size=job.batch_size, lr=job.lr)
        if job.ref_threads == "matched":
            kw.update(zip(("train_threads", "eval_threads"), xpnet_threads()))
        if impl in ("torch", "jax"):
            kw["device"] = job.torch_device if impl == "torch" else job.jax_device
        else:
            kw["book_dir"] = book_dir_from_env()
        out = _load_reference(impl).run(*data, **kw)
    out.update(start_rss_mb=rss_start, peak_rss_mb=rss_mb(peak=True))
    return out




def _run_once(impl: str, job: Job) -> dict[str, Any]:
    return run_child("bench.py", ["--child", impl, "--job", json.dumps(asdict(job))], impl)


# --- statistics, the xpnet train process ---------------------------------------------------
def _summary(runs: list[dict[str, Any]], job: Job) -> dict[str, Any]:
    med = {k: statistics.median(r[k] for r in runs) for k in ("total_time", "train_time", "eval_time", "process_time")}
    return {
        "process_time": med["process_time"], "compile_time": statistics.median(r.get("compile_time") or 0.0 for r in runs),
        "median_time": med["total_time"], "min_time": min(r["total_time"] for r in runs),
        "train_time": med["train_time"], "eval_time": med["eval_time"], "iters_per_sec": job.iters / med["train_time"],
        "test_acc": statistics.median(r["test_acc"] for r in runs), "test_acc_min": min(r["test_acc"] for r in runs),
        "peak_rss_mb": max((r["peak_rss_mb"] or 0.0) for r in runs), "dtype": runs[0].get("dtype", job.dtype),
        "start_rss_mb": statistics.median((r["start_rss_mb"] or 0.0) for r in runs), "runs": runs,
    }


def _ratio(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
    rounds = [ra["total_time"] / rb["total_time"] for ra, rb in zip(a["runs"], b["runs"])]
    return {
        "total": a["median_time"] / b["median_time"], "total_round_median": statistics.median(rounds),
        "train": a["train_time"] / b["train_time"], "eval": a["eval_time"] / b["eval_time"],
        "process": a["process_time"] / b["process_time"],
    }


def time_cli(job: Job) -> dict[str, Any]:
    """Wall time of one whole ``xpnet train --iters N --quiet`` process (``{"skipped": why}`` when it cannot run)."""
    if importlib.util.find_spec("xpnet.cli") is None or importlib.util.find_spec("xpnet.__main__") is None:
        return {"skipped": "xpnet.cli not found: no `xpnet train` command to time"}
    args = ["train", "--iters", str(job.iters), "--quiet", "--backend", job.backend, "--dtype", job.dtype, "--seed", str(job.seed),
            "--hidden-size", str(job.hidden), "--batch-size", str(job.batch_size), "--eval-every", str(job.eval_every)]
    args += ["--device", job.device] if job.device else []
    with tempfile.TemporaryDirectory() as cwd:  # anything the command writes lands here
        tic = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "xpnet", *args], capture_output=True, text=True, env=child_env(), cwd=cwd)
        wall = time.perf_counter() - tic
    if proc.returncode != 0:
        return {"skipped": f"`xpnet {' '.join(args)}` exited with {proc.returncode}: {proc.stderr.strip()[-500:]}"}
    return {"command": "xpnet " + " ".join(args), "wall_time": wall}


def _cli_summary(runs: list[dict[str, Any]], results: dict[str, Any], floor: dict[str, float], job: Job) -> dict[str, Any]:
    """The ``xpnet train`` process over the rounds: median wall time, against the matmul floor and each process."""
    if not runs or "skipped" in runs[0]:
        return runs[0] if runs else {"skipped": "not run"}
    wall = statistics.median(r["wall_time"] for r in runs)
    floor_s = floor["train_step_s"] * job.iters + floor["eval_image_s"] * 70_000 * job.evals  # all of MNIST
    per_round = {k: statistics.median(c["wall_time"] / r["process_time"] for c, r in zip(runs, v["runs"])) for k, v in results.items()}
    return {"command": runs[0]["command"], "wall_time": wall, "times": [r["wall_time"] for r in runs], "floor_s": floor_s,
            "x_floor": wall / floor_s, "vs_process": {k: wall / v["process_time"] for k, v in results.items()},
            "vs_process_round_median": per_round}


# --- command line -------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    from xpnet.cli.common import OneLineParser  # errors in one line, exit status 2

    p = OneLineParser(prog="benchmarks/bench.py", description="Time the book's MNIST training: xpnet against reference "
                                "implementations (the book's NumPy code, eager PyTorch), in one run.")
    p.add_argument("--backend", default="numpy", help="xpnet's array backend (default numpy)")
    p.add_argument("--device", default=None, help="xpnet's device, e.g. cuda:0 (PyTorch then runs on CUDA too)")
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"), help="default float32 (the book: float64)")
    p.add_argument("--iters", type=int, default=None, help="training steps (default 10000; --short 300, --large 500)")
    p.add_argument("--repeats", type=int, default=None, help="runs of each implementation (default 5; --short 2, --large 3)")
    p.add_argument("--impl", default=None, help="comma-separated subset of xpnet,xpnet-eager,book,book-dtype,torch,jax (default: "
                   "those available of xpnet, book, book-dtype (float32 only) and torch; with --backend jax: xpnet, torch and jax)")
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
    jax_job = args.backend == "jax"
    for name in IMPLS:
        default_off = (name == "xpnet-eager" or name == "jax" and not jax_job or name.startswith("book") and (args.large or jax_job)
                       or name == "book-dtype" and args.dtype == "float64")
        if asked is not None and name not in asked or asked is None and default_off:
            continue
        library = LIBRARIES.get(name)
        if not name.startswith("xpnet") and not (BENCHMARKS / REFERENCES[name]).is_file():
            notes.append(f"{name} skipped: no {BENCHMARKS / REFERENCES[name]} (the references live in the repository)")
        elif library is not None and importlib.util.find_spec(library) is None:
            notes.append(f"{name} skipped: {library} is not installed")
        elif name.startswith("book") and not has_book(book_dir_from_env(), "ch05/two_layer_net.py"):
            notes.append(f"{name} skipped: no checkout of the book's repository (set ${BOOK_ENV} to one)")
        else:
            chosen.append(name)
    if "xpnet" not in chosen:
        parser.error("--impl must include xpnet (every figure is relative to it)")
    return chosen


def _check_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Refuse an unusable backend or device and an unwritable ``--json`` before any work (one line, exit 2)."""
    from xpnet.backends import get_backend
    from xpnet.errors import BackendError
    from xpnet._files.atomic import OutputError, check_output

    try:
        get_backend(args.backend, args.device)
    except (ValueError, TypeError, BackendError) as exc:
        parser.error(f"--backend {args.backend}: {exc}")
    if args.json is not None:
        try:
            check_output(args.json)
        except OutputError as exc:
            parser.error(f"--json {exc}")


def run_bench(job: Job, impls: list[str], repeats: int, *, floor_time: float = 0.2) -> dict[str, Any]:
    """Run every implementation ``repeats`` times, alternating, and gather the report (a JSON-able dict)."""
    load = load_average()
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in impls}
    cli_runs: list[dict[str, Any]] = []
    compile_bytecode()
    for _ in range(repeats):
        for name in impls:
            runs[name].append(_run_once(name, job))
        if not cli_runs or "skipped" not in cli_runs[0]:
            cli_runs.append(time_cli(job))
    results = {k: _summary(v, job) for k, v in runs.items()}
    notes = spread_notes(runs, ("train_time", "eval_time"))
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
        "cli": _cli_summary(cli_runs, results, floor, job),
        "machine": machine(load),
        "notes": notes + (["the matmul floor is NumPy on the CPU, whatever xpnet's backend"] if job.backend != "numpy" else []),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark with command-line arguments ``argv``; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.child:
        print(MARK + json.dumps(_child(args.child, Job(**json.loads(args.job)))))
        return 0
    _check_args(args, parser)
    if args.numgrad:
        rep = numgrad_bench(args.backend, args.device, w1_elements=200 if args.short else 2000, full=args.full_numgrad)
        print_numgrad(rep)
        save_json(args.json, {"numgrad": rep})
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
        print(f"benchmarks/bench.py: {exc}", file=sys.stderr)
        return 1
    rep["notes"] += notes
    print_report(rep)
    save_json(args.json, rep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
