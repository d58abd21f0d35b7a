"""``python benchmarks/bench_chapters.py --job ch6|ch7``: chapter 6's job and chapter 7's step, xpnet against references.

``--job ch6``: MultiLayerNetExtend(784, [100] * 5, 10) with Batch Normalization, 2,000 Adam steps
of batch 128 (``ch6.py``). ``--job ch7``: one Adam step of SimpleConvNet at batch 100, timed over
blocks of 100 steps (``ch7.py``). On the CPU: xpnet on NumPy against eager PyTorch (and, for
ch7, the book's own code, ``--book-dir``), compiled xpnet on JAX against an idiomatic ``jax.jit``
version. With ``--gpu``: xpnet on CuPy, PyTorch CUDA and JAX GPU against PyTorch CUDA eager and
``jax.jit`` on the GPU. Every implementation runs in a fresh process, in alternating rounds
(``rounds.py``, as ``bench.py`` does), and the report gives medians, ratios against the targets,
and each implementation's first losses (they start from the same weights and batches).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, fields, replace
from typing import Any

import ch6
import ch7
from book_code import BOOK_ENV, book_dir_from_env, has_book
from chapters import XPNET, available
from rounds import MARK, alternate, load_average, machine, rss_mb, run_child, save_json, spread_notes

__all__ = ["main", "run"]

JOBS = {"ch6": ch6, "ch7": ch7}
IMPLS = (*XPNET, "torch", "jax", "book")


def _parser() -> argparse.ArgumentParser:
    from xpnet.cli.common import OneLineParser  # errors in one line, exit status 2

    p = OneLineParser(prog="benchmarks/bench_chapters.py", description="Time chapter 6's job or chapter 7's step: xpnet "
                                "against eager PyTorch, jax.jit and the book's code, in one run.")
    p.add_argument("--job", required=True, choices=tuple(JOBS), help="ch6: MultiLayerNetExtend + Adam; ch7: a SimpleConvNet step")
    p.add_argument("--gpu", action="store_true", help="run on the first GPU: xpnet on CuPy, torch CUDA and JAX GPU against "
                   "PyTorch CUDA eager and jax.jit")
    p.add_argument("--impl", default=None, help=f"comma-separated subset of {','.join(IMPLS)} (default: the job's, "
                   "those available)")
    p.add_argument("--repeats", type=int, default=None, help="rounds (default 5 for ch6, 3 for ch7; --short 1)")
    p.add_argument("--iters", type=int, default=None, help="training steps (default: ch6 2000, ch7 400)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and batches (default 0)")
    p.add_argument("--ref-threads", default="matched", choices=("matched", "default"),
                   help="references' CPU threads: 'matched' to xpnet's (1 for training, all for evaluation) or library defaults")
    p.add_argument("--book-dir", default=None, help=f"the book's repository (ch07/, common/) for ch7's book reference "
                   f"(default: ${BOOK_ENV})")
    p.add_argument("--short", action="store_true", help="CI mode: a few steps on a slice of MNIST, one round")
    p.add_argument("--json", metavar="PATH", default=None, help="also write the results as JSON to PATH")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--spec", default=None, help=argparse.SUPPRESS)
    return p


def _job(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Any:
    module = JOBS[args.job]
    job = module.Job(seed=args.seed, gpu=args.gpu, ref_threads=args.ref_threads)
    if args.short:
        job = replace(job, **module.SHORT)
    if args.iters is not None:
        if args.iters < 1:
            parser.error("--iters must be positive")
        job = replace(job, **{"iters" if args.job == "ch6" else "steps": args.iters})
    if args.job == "ch7":
        job = replace(job, book_dir=os.path.abspath(args.book_dir) if args.book_dir else book_dir_from_env())
    return job


def _select(args: argparse.Namespace, parser: argparse.ArgumentParser, job: Any, notes: list[str]) -> list[str]:
    asked = args.impl.split(",") if args.impl else JOBS[args.job].DEFAULTS[args.gpu]
    for name in asked:
        if name not in IMPLS or name == "book" and args.job != "ch7":
            parser.error(f"--impl: unknown implementation {name!r} for --job {args.job}; choose from "
                         f"{', '.join(n for n in IMPLS if n != 'book' or args.job == 'ch7')}")
        if args.gpu and name in ("xpnet-numpy", "book"):
            parser.error(f"--impl: {name} runs on the CPU only; leave it out with --gpu")

    def why(name: str) -> str | None:
        if name == "book" and not has_book(job.book_dir, "ch07/simple_convnet.py"):
            return f"no checkout of the book's repository (pass --book-dir or set ${BOOK_ENV})"
        return None

    chosen = available(asked, why, notes)
    if not chosen:
        parser.error("--impl: none of the implementations asked for can run here")
    return chosen


def _loss_notes(runs: dict[str, list[dict[str, Any]]]) -> tuple[dict[str, float], list[str]]:
    """How far apart the implementations' first losses are (the same weights and batches: the same numbers)."""
    firsts = {name: v[0]["losses"] for name, v in runs.items() if v and v[0].get("losses")}
    spread = {}
    for i in range(min((len(v) for v in firsts.values()), default=0)):
        values = [v[i] for v in firsts.values()]
        spread[f"step {i + 1}"] = max(values) - min(values)
    if not spread:
        return spread, []
    text = ", ".join(f"{k} {v:.1e}" for k, v in spread.items())
    return spread, [f"first losses of the {len(firsts)} implementations agree to within: {text} (same initial weights and "
                    "batches; later steps differ by the optimizers' epsilon and float rounding)"]


def run(job_name: str, job: Any, impls: list[str], repeats: int) -> dict[str, Any]:
    """Run every implementation ``repeats`` times, alternating, and gather the report (a JSON-able dict)."""
    module, load = JOBS[job_name], load_average()
    spec = json.dumps(asdict(job))
    runs = alternate(impls, lambda name: run_child("bench_chapters.py", ["--job", job_name, "--child", name, "--spec", spec],
                                                   name), repeats)
    keys = ("total_time", "train_time") if job_name == "ch6" else ("step_time",)
    spread, loss_notes = _loss_notes(runs)
    return {
        "job_name": job_name, "job": asdict(job), "repeats": repeats, "impls": impls,
        "results": {k: module.summary(v, job) for k, v in runs.items()}, "runs": runs,
        "ratios": module.ratios(module.PAIRS[job.gpu], runs), "first_loss_spread": spread,
        "machine": machine(load), "notes": loss_notes + spread_notes(runs, keys),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark with command-line arguments ``argv``; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.child:
        module = JOBS[args.job]
        spec = json.loads(args.spec)
        job = module.Job(**{f.name: spec[f.name] for f in fields(module.Job) if f.name in spec})
        out = module.child(args.child, job)
        print(MARK + json.dumps({**out, "peak_rss_mb": rss_mb(peak=True)}))
        return 0
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be positive")
    if args.json is not None:
        from xpnet._files.atomic import OutputError, check_output

        try:
            check_output(args.json)
        except OutputError as exc:
            parser.error(f"--json {exc}")
    job, notes = _job(args, parser), []
    impls = _select(args, parser, job, notes)
    repeats = args.repeats or (1 if args.short else 5 if args.job == "ch6" else 3)
    try:
        rep = run(args.job, job, impls, repeats)
    except RuntimeError as exc:
        print(f"benchmarks/bench_chapters.py: {exc}", file=sys.stderr)
        return 1
    rep["notes"] += notes
    JOBS[args.job].print_report(rep)
    save_json(args.json, rep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
