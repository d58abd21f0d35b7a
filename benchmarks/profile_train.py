"""Where a training step of xpnet's Trainer spends its time, in microseconds per step.

Usage: ``python benchmarks/profile_train.py [--iters 2000] [--dtype float32] [--backend numpy] [--profile]``

1. The Trainer's own loop (no evaluation), with the batches gathered ahead on a worker thread
   and without: wall time and the training thread's CPU time per step.
2. One step's phases, timed by hand on one BLAS thread on the Trainer's own objects: batch
   (``Batches.batch``), forward (``net.loss``), backward (the layers' ``backward``), update
   (``SGD.update`` into ``Params``), all inside ``trusted()`` as the step runs them; next to
   the same math in bare NumPy (no layers, no checks, no namespace look-ups) on the same
   batches. The difference is the cost of the layers' structure and dispatch.
3. The step's five matmuls alone, each in its fastest operand layout (the "floor").
4. With ``--profile``: the functions with the most own time, under cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time

import numpy as np
from job import Job, matmul_floor

from xpnet._array.trust import trusted
from xpnet.datasets.mnist import load_mnist_uint8
from xpnet.layers import Affine
from xpnet.nets import TwoLayerNet
from xpnet.training import Trainer
from xpnet.training.data import Batches
from xpnet.training.threads import thread_limit

PHASES = ("batch", "forward", "backward", "update")


def _trainer(data: tuple, args: argparse.Namespace) -> Trainer:
    net = TwoLayerNet(784, 50, 10, backend=args.backend, dtype=args.dtype, seed=0)
    return Trainer(net, data, None, seed=0, eval_every=10**9, eval_async=False)


def loop_times(data: tuple, args: argparse.Namespace, background: bool) -> tuple[float, float]:
    """(wall, training-thread CPU) microseconds per step of ``Trainer.run``, with or without the gathering worker."""
    real = os.cpu_count
    os.cpu_count = (lambda: real()) if background else (lambda: 1)  # the worker needs a second core
    try:
        trainer = _trainer(data, args)
        trainer.run(200)
        wall, cpu = time.perf_counter(), time.thread_time()
        trainer.run(200 + args.iters)
        return (time.perf_counter() - wall) / args.iters * 1e6, (time.thread_time() - cpu) / args.iters * 1e6
    finally:
        os.cpu_count = real


def xpnet_phases(trainer: Trainer, batches: Batches, draws: np.ndarray) -> dict[str, float]:
    """Seconds per step in each phase of the step, on the trainer's own network and optimizer."""
    net, opt = trainer.network, trainer.optimizer
    layers = list(net.layers.values())
    acc = dict.fromkeys(PHASES, 0.0)
    for i in range(len(draws)):
        t0 = time.perf_counter()
        xb, tb = batches.batch(draws, i, None)
        with trusted():
            t1 = time.perf_counter()
            net.loss(xb, tb, validate=False)
            t2 = time.perf_counter()
            dout = net.last_layer.backward(1)
            for layer in reversed(layers[1:]):
                dout = layer.backward(dout)
            layers[0].backward(dout, compute_dx=False)
            grads = {k: v for layer in layers if isinstance(layer, Affine) for k, v in zip(layer.keys, (layer.dW, layer.db))}
            t3 = time.perf_counter()
            opt.update(net.params, grads)
        t4 = time.perf_counter()
        for name, dt in zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            acc[name] += dt
    return {k: v / len(draws) for k, v in acc.items()}


def bare_phases(params: dict[str, np.ndarray], batches: Batches, draws: np.ndarray, lr: float) -> dict[str, float]:
    """The same step in bare NumPy: the layers' math written out, on the same batches."""
    p = {k: np.array(v) for k, v in params.items()}
    acc = dict.fromkeys(PHASES, 0.0)
    for i in range(len(draws)):
        t0 = time.perf_counter()
        x, t = batches.batch(draws, i, None)
        t1 = time.perf_counter()
        a = x @ p["W1"] + p["b1"]
        h = np.maximum(a, 0.0)
        s = h @ p["W2"] + p["b2"]
        shifted = s - np.max(s, axis=-1, keepdims=True)
        log_y = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
        np.sum(-np.sum(t * log_y, axis=-1)) / len(x)
        t2 = time.perf_counter()
        d = (np.exp(log_y) - t) / len(x)
        dh = np.where(a > 0, d @ p["W2"].T, 0.0)
        grads = {"W1": x.T @ dh, "b1": np.sum(dh, axis=0), "W2": h.T @ d, "b2": np.sum(d, axis=0)}
        t3 = time.perf_counter()
        for key, g in grads.items():
            p[key] = p[key] - lr * g
        t4 = time.perf_counter()
        for name, dt in zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            acc[name] += dt
    return {k: v / len(draws) for k, v in acc.items()}


def _print_phases(ours: dict[str, float], bare: dict[str, float]) -> None:
    print(f"{'phase':10s} {'xpnet us':>9s} {'bare NumPy us':>14s} {'difference us':>14s}")
    for name in (*PHASES, "total"):
        a = sum(ours.values()) if name == "total" else ours[name]
        b = sum(bare.values()) if name == "total" else bare[name]
        print(f"{name:10s} {a * 1e6:9.1f} {b * 1e6:14.1f} {(a - b) * 1e6:14.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=2000)
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--backend", default="numpy")
    p.add_argument("--profile", action="store_true", help="also run the loop under cProfile")
    args = p.parse_args()
    (x, t), _ = load_mnist_uint8()
    data = (x, t)
    print(f"TwoLayerNet(784, 50, 10) on {args.backend}, {args.dtype}, batch 100, {args.iters} steps, one BLAS thread")
    for background in (True, False):
        wall, cpu = loop_times(data, args, background)
        how = "batches gathered ahead on a worker" if background else "batches gathered inline"
        print(f"Trainer loop, {how}: {wall:.1f} us per step wall, {cpu:.1f} us training-thread CPU")
    trainer = _trainer(data, args)
    batches = Batches(trainer.train_set, trainer.train_set.onehot(10), 100, background=False)
    draws = np.random.default_rng(1).integers(0, trainer.train_set.n, size=(min(args.iters, 1000), 100))
    if args.backend == "numpy":
        with thread_limit(1):
            xpnet_phases(trainer, batches, draws[:100]), bare_phases(dict(trainer.network.params), batches, draws[:100], 0.1)
            _print_phases(xpnet_phases(trainer, batches, draws),
                          bare_phases(dict(trainer.network.params), batches, draws, 0.1))
    floor = matmul_floor(Job(dtype=args.dtype), 0.2)
    print(f"the step's five matmuls alone, fastest layouts: {floor['train_step_s'] * 1e6:.1f} us")
    if args.profile:
        prof = cProfile.Profile()
        trainer.run(100)
        prof.runcall(trainer.run, 100 + args.iters)
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    batches.close()


if __name__ == "__main__":
    main()
