"""The printed reports of ``benchmarks/bench.py``: the timing run's tables and summary lines, and ``--numgrad``'s."""

from __future__ import annotations

from typing import Any

from job import D, Job, K, flops, xpnet_threads


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """Rows under ``headers`` in aligned columns: the first left, the rest right; floats to 4 significant digits."""
    rows = [headers, *[[f"{c:,.4g}" if isinstance(c, float) else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows)


def _si(value: float, unit: str) -> str:
    """``value`` with an SI prefix and 3 significant digits: 1.6e11 FLOP -> "160 GFLOP"."""
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "u")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def print_report(rep: dict[str, Any]) -> None:
    """Print the report of ``bench.run_bench`` (a JSON-able dict)."""
    job, res, f, fl = Job(**rep["job"]), rep["results"], rep["flops"], rep["floor"]
    print(f"benchmark: TwoLayerNet({D}, {job.hidden}, {K}) ReLU, SGD lr {job.lr}, batch {job.batch_size}, {job.iters:,} steps, "
          f"{job.evals} evaluations of {job.n_train:,} + {job.n_test:,} images")
    m = rep["machine"]
    tt, te = xpnet_threads()
    threads = f"{tt or 'default'} for training, {te} for evaluation, as xpnet" if job.ref_threads == "matched" else "library defaults"
    print(f"{job.dtype}, xpnet on {job.backend} ({job.device or 'default device'}); references' threads: {threads}; {rep['repeats']} repeats "
          f"alternating; {m['cpus']} CPUs, load {m['load_before']:.1f} -> {m['load_after']:.1f}\n")
    rows = [[k, r["dtype"], r["median_time"], r["min_time"], r["train_time"], r["eval_time"], r["compile_time"], r["process_time"],
             r["iters_per_sec"], r["test_acc"], r["test_acc_min"], r["peak_rss_mb"], r["start_rss_mb"]] for k, r in res.items()]
    print(table(["impl", "arithmetic", "median s", "min s", "train s", "eval s", "compile s", "process s", "steps/s", "test acc",
                  "min acc", "peak RSS MB", "RSS at start MB"], rows))
    print("median s: the job inside its process; train s and eval s leave out compiling (compile s); process s: the whole "
          "process, start-up, imports and loading included")
    first = res["xpnet"]["runs"][0]
    if first.get("eval_async"):
        print("xpnet evaluates on a background thread while training goes on: its eval s overlaps its train s")
    if rep["ratios"]:
        print("\nratios: time of xpnet / time of the other (below 1: xpnet is faster)")
        rows = [[k, r["total"], r["total_round_median"], r["train"], r["eval"], r["process"]] for k, r in rep["ratios"].items()]
        print(table(["", "job (of medians)", "job (median of rounds)", "training", "evaluation", "process"], rows))
    print(f"\nFLOPs (matmuls, xpnet's count): training {_si(f['train'], 'FLOP')} ({_si(f['train'] / job.iters, 'FLOP')} a step), "
          f"evaluation {_si(f['eval'], 'FLOP')}, job {_si(f['total'], 'FLOP')}")
    if any(k.startswith("book") for k in res):
        print(f"  the book's code does {flops(job, 'book')['train'] / f['train']:.2f}x the training FLOPs (dx of layer 1, a second forward)")
    g = rep["xpnet_gflops"]
    print(f"xpnet achieved: training {g['train']:.1f} GFLOP/s, evaluation {g['eval']:.1f} GFLOP/s, job {g['total']:.1f} GFLOP/s")
    print(f"matmul floor (NumPy alone; 1 thread for training shapes, {m['cpus']} for evaluation): step {_si(fl['train_step_s'], 's')} "
          f"({fl['train_gflops']:.1f} GFLOP/s), evaluation {_si(fl['eval_pass_s'], 's')} ({fl['eval_gflops']:.1f} GFLOP/s), "
          f"job {_si(fl['job_s'], 's')}")
    pct = rep["floor_fraction"]
    where = " (on one background thread, against the floor's all-core evaluation)" if first.get("eval_async") else ""
    print(f"xpnet reaches {pct['train']:.0f}% of the floor's throughput in training steps, {pct['eval']:.0f}% in evaluation{where}, "
          f"{pct['job']:.0f}% over the job")
    cli = rep["cli"]
    if "skipped" in cli:
        print(f"xpnet train process: skipped ({cli['skipped']})")
    else:
        print(f"xpnet train process: {cli['wall_time']:.2f} s (median of {len(cli['times'])}, in the same rounds) for `{cli['command']}` "
              f"= {cli['x_floor']:.1f}x its matmul floor")
        against = ", ".join(f"{v:.3f}x the {k} process ({cli['vs_process_round_median'][k]:.3f}x as the median of rounds)"
                            for k, v in cli["vs_process"].items())
        print(f"  that is {against}")
    for note in rep["notes"]:
        print(f"note: {note}")


def print_numgrad(r: dict[str, Any]) -> None:
    """Print the report of :func:`xpnet._bench_numgrad.numgrad_bench`."""
    print(f"numerical gradient of TwoLayerNet({D}, 50, {K}) on 3 images, float64, {r['backend']}, {r['params']:,} parameters")
    bp = r["backprop_s"]
    print(f"  backprop  {bp * 1e3:12.3f} ms")
    print(f"  batched   {r['batched_s'] * 1e3:12.3f} ms  {r['batched_s'] / bp:,.0f}x backprop")
    print(f"  loop      {r['loop_s'] * 1e3:12.3f} ms  {r['loop_s'] / bp:,.0f}x backprop, {r['loop_s'] / r['batched_s']:,.0f}x batched "
          f"({r['loop_how']})")
    verdict = "agree within 1e-9" if r["agree"] else "DISAGREE (more than 1e-9)"
    print(f"  loop vs batched: max |difference| {r['max_diff_loop_batched']:.2e}, {verdict}")
    print(f"  backprop vs batched: max |difference| {r['max_diff_backprop_batched']:.2e}")
