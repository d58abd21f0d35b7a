"""Where a training step of xpnet's Trainer spends its time, in microseconds per step.

Usage: ``python benchmarks/profile_train.py [--iters 2000] [--dtype float32] [--backend numpy]``

0. The NumPy fast path (``xpnet/_fused.py``, what the Trainer runs on NumPy): a step with
   the batches gathered on a worker thread and without, the step's five matmuls alone in
   their fastest layouts, and what gathering costs the worker per step.
1. The portable step's phases, timed by hand on one BLAS thread: batch (index draw,
   gather, uint8 -> float), forward (``net.loss``), backward (``last_layer.backward`` and
   the layers), update (``SGD.update`` into ``Params``), each next to the same math in bare
   NumPy (no checks, no namespace look-ups) on the NumPy backend. The difference is the
   cost of xpnet's validation and dispatch.
2. The same steps under cProfile: the functions with the most own time, per step.
3. One evaluation split into the uint8 -> float conversion, the first matmul and the rest,
   on all cores (the Trainer's default) and on one.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time

import numpy as np

import xpnet._fused as fused
from xpnet.training.batches import BatchDraws
from xpnet._bench_job import Job, best_time, matmul_floor
from xpnet._steps import make_step
from xpnet.training.threads import thread_limit
from xpnet.datasets.mnist import load_mnist_uint8
from xpnet.layers import Affine
from xpnet.nets import TwoLayerNet
from xpnet.training import Trainer

PHASES = ("batch", "forward", "backward", "update")  # of one training step, in order


def xpnet_phases(trainer: Trainer, iters: int) -> dict[str, float]:
    """Seconds per step in each phase of the Trainer's own step, on its own objects."""
    net, opt, n = trainer.network, trainer.optimizer, trainer.train_set.n
    acc = dict.fromkeys(PHASES, 0.0)
    layers = list(net.layers.values())
    for _ in range(iters):
        t0 = time.perf_counter()
        xb, tb = trainer._batch(trainer.rng.integers(0, n, size=trainer.batch_size))
        t1 = time.perf_counter()
        net.loss(xb, tb, validate=False)
        t2 = time.perf_counter()
        dout = net.last_layer.backward(1)
        for layer in reversed(layers[1:]):
            dout = layer.backward(dout)
        layers[0].backward(dout, compute_dx=False)
        grads = {}
        for layer in layers:
            if isinstance(layer, Affine):
                grads[layer.keys[0]], grads[layer.keys[1]] = layer.dW, layer.db
        t3 = time.perf_counter()
        opt.update(net.params, grads)
        t4 = time.perf_counter()
        for key, dt in zip(acc, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            acc[key] += dt
    return {k: v / iters for k, v in acc.items()}


def fused_profile(make_trainer, dtype: str, iters: int, rounds: int) -> None:
    """Section 0: the fast path's step against its matmuls and its gathering."""
    times = {True: [], False: []}
    with thread_limit(1):
        for _ in range(rounds):
            for prefetch in (True, False):
                fused.PREFETCH = prefetch
                tr = make_trainer()
                step = make_step(tr, 100, True)
                draws = BatchDraws(np.random.default_rng(0), tr.train_set.n, tr.batch_size, 100)
                tic = time.perf_counter()
                for it in range(iters):
                    step(*draws.at(it, iters), draws.upcoming)
                    if step.pending == 100:
                        step.losses()
                times[prefetch].append((time.perf_counter() - tic) / iters)
                step.close()
        fused.PREFETCH = True
        floor = matmul_floor(Job(dtype=dtype), 0.2)
        tr = make_trainer()
        gather = fused._Batches(tr.train_set.pixels, tr.train_set.onehot(10), 100, np.dtype(dtype), background=False)
        block = np.random.default_rng(1).integers(0, tr.train_set.n, size=(100, 100))
        per_chunk = best_time(lambda: gather._fill(0, block, 0, fused.CHUNK), 0.2)
    with_pf, without = min(times[True]), min(times[False])
    mm = floor["train_step_s"]
    print(f"NumPy fast path, {dtype}, best of {rounds} rounds of {iters} steps, 1 BLAS thread, us per step:")
    print(f"  step, batches gathered on a worker thread  {with_pf * 1e6:7.1f}  ({100 * mm / with_pf:.0f}% of the matmul floor)")
    print(f"  step, batches gathered inline              {without * 1e6:7.1f}")
    print(f"  matmuls alone (floor), fastest layouts     {mm * 1e6:7.1f}  "
          + ", ".join(f"{k} {v * 1e6:.1f}" for k, v in floor["products_s"].items()))
    print(f"  gathering + conversion, on the worker      {per_chunk / fused.CHUNK * 1e6:7.1f}")
    print(f"  the rest: ~25 element-wise NumPy calls     {(with_pf - mm) * 1e6:7.1f}  (bias, ReLU, softmax, updates; "
          "dispatch dominates at these sizes)\n")


def bare_phases(x: np.ndarray, t: np.ndarray, dtype: str, iters: int, lr: float = 0.1) -> dict[str, float]:
    """The same step in plain NumPy: same operations and dtypes, nothing else.

    ``x`` as the Trainer holds it: uint8 pixels (converted per batch) or floats (gathered).
    """
    dt = np.dtype(dtype)
    rng = np.random.default_rng(0)
    w1, b1 = (0.01 * rng.standard_normal((784, 50))).astype(dt), np.zeros(50, dt)
    w2, b2 = (0.01 * rng.standard_normal((50, 10))).astype(dt), np.zeros(10, dt)
    classes = np.arange(10)
    n = x.shape[0]
    acc = dict.fromkeys(PHASES, 0.0)
    for _ in range(iters):
        t0 = time.perf_counter()
        idx = rng.integers(0, n, size=100)
        xb = np.take(x, idx, axis=0)
        if xb.dtype == np.uint8:
            xb = xb.astype(dt) * (1.0 / 255.0)
        tb = np.take(t, idx, axis=0)
        t1 = time.perf_counter()
        a1 = xb @ w1 + b1
        mask = a1 <= 0
        h = np.where(mask, 0.0, a1)
        s = h @ w2 + b2
        shifted = s - np.max(s, axis=-1, keepdims=True)
        log_y = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
        y = np.exp(log_y)
        onehot = (tb[:, None] == classes).astype(dt)
        loss = -np.sum(onehot * log_y) / 100
        t2 = time.perf_counter()
        d = (y - onehot) * (1.0 / 100)
        dw2, db2 = h.T @ d, np.sum(d, axis=0)
        dh = np.where(mask, 0.0, d @ w2.T)
        dw1, db1 = xb.T @ dh, np.sum(dh, axis=0)
        t3 = time.perf_counter()
        w1, b1, w2, b2 = w1 - lr * dw1, b1 - lr * db1, w2 - lr * dw2, b2 - lr * db2
        t4 = time.perf_counter()
        for key, dt_ in zip(acc, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            acc[key] += dt_
    del loss
    return {k: v / iters for k, v in acc.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=2000)
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--backend", default="numpy")
    p.add_argument("--top", type=int, default=18)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    (x_tr, t_tr), (x_te, t_te) = load_mnist_uint8()

    def trainer() -> Trainer:
        net = TwoLayerNet(784, 50, 10, backend=args.backend, dtype=args.dtype, seed=0)
        return Trainer(net, (x_tr, t_tr), (x_te, t_te), seed=0)

    if args.backend == "numpy":
        fused_profile(trainer, args.dtype, args.iters, args.rounds)
    tr = trainer()
    # what a batch is gathered from, as the Trainer keeps it: uint8 pixels or floats
    held = getattr(tr.train_set, "pixels", None)
    x_held = np.asarray(tr.train_set.x if held is None else held) if args.backend == "numpy" else x_tr
    ours, bare = {}, {}
    with thread_limit(1):
        xpnet_phases(trainer(), 200), bare_phases(x_held, t_tr, args.dtype, 200)  # warm up
        for _ in range(args.rounds):  # alternating; the fastest round of each phase counts
            for got, new in ((ours, xpnet_phases(trainer(), args.iters)), (bare, bare_phases(x_held, t_tr, args.dtype, args.iters))):
                got.update({k: min(v, got.get(k, v)) for k, v in new.items()})
    print(f"portable step, per step, {args.dtype}, {args.backend}, best of {args.rounds} rounds of {args.iters} steps, 1 BLAS thread; "
          f"batches are gathered from {x_held.dtype} images")
    print(f"{'phase':10s} {'xpnet us':>9s} {'bare NumPy us':>14s} {'overhead us':>12s}")
    for key in ours:
        print(f"{key:10s} {ours[key] * 1e6:9.1f} {bare[key] * 1e6:14.1f} {(ours[key] - bare[key]) * 1e6:12.1f}")
    total_o, total_b = sum(ours.values()), sum(bare.values())
    print(f"{'total':10s} {total_o * 1e6:9.1f} {total_b * 1e6:14.1f} {(total_o - total_b) * 1e6:12.1f}")

    n = tr.train_set.n
    prof = cProfile.Profile()
    with thread_limit(1):
        prof.enable()
        for _ in range(args.iters):
            tr._step(*tr._batch(tr.rng.integers(0, n, size=tr.batch_size)))
        prof.disable()
    print(f"\n{args.iters} training steps (Trainer._batch + Trainer._step) under cProfile; own time per step "
          "(the profiler inflates Python-heavy functions):")
    rows = sorted(pstats.Stats(prof).stats.items(), key=lambda kv: kv[1][2], reverse=True)[: args.top]
    print(f"{'us/step':>8s} {'calls/step':>10s}  function")
    for (file, line, name), (_, nc, tt, _, _) in rows:
        where = "/".join(file.rsplit("/", 2)[-2:])
        print(f"{tt / args.iters * 1e6:8.1f} {nc / args.iters:10.1f}  {where}:{line} {name}")
    evaluation(tr, args.dtype)


def evaluation(tr: Trainer, dtype: str) -> None:
    """One evaluation (training and test sets) split into conversion, first matmul and the rest."""
    net, xp = tr.network, tr.backend.xp
    sets = [tr.train_set, tr.test]
    w1 = net.params["W1"]

    def best(fn, reps: int = 5) -> float:
        fn()
        times = []
        for _ in range(reps):
            tic = time.perf_counter()
            fn()
            times.append(time.perf_counter() - tic)
        return min(times) * 1e3

    def chunks(s):
        return [s.x[lo : lo + tr.eval_batch_size, ...] for lo in range(0, s.n, tr.eval_batch_size)]

    raw = [c for s in sets for c in chunks(s)]
    held_u8 = raw[0].dtype not in (xp.float32, xp.float64)
    floats = [xp.astype(c, net.dtype) * (1 / 255.0) for c in raw] if held_u8 else raw
    print(f"\none evaluation ({sum(s.n for s in sets):,} images, chunks of {tr.eval_batch_size:,}), {dtype}, ms:")
    print(f"{'threads':>7s} {'accuracy()':>10s} {'uint8->float':>12s} {'x@W1 only':>10s} {'predict':>8s}")
    for threads in (os.cpu_count(), 1):
        with thread_limit(threads):
            total = best(lambda: [tr.accuracy(s) for s in sets])
            conv = best(lambda: [xp.astype(c, net.dtype) * (1 / 255.0) for c in raw]) if held_u8 else 0.0
            mm = best(lambda: [c @ w1 for c in floats])
            pred = best(lambda: [net.predict(c) for c in floats])
        print(f"{threads:7d} {total:10.1f} {conv:12.1f} {mm:10.1f} {pred:8.1f}")


if __name__ == "__main__":
    main()
