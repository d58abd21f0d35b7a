"""Where a training step of chapter 6's or chapter 7's network spends its time in xpnet, per layer, in microseconds.

Usage: ``python benchmarks/profile_layers.py --job ch6|ch7 [--steps 200] [--backend numpy] [--profile]``

1. One step taken apart on the Trainer's own network and optimizer, inside ``trusted()`` as the
   step runs it, on one BLAS thread: each layer's ``forward`` (training mode) and ``backward``,
   the loss layer, and the optimizer's update; the median over ``--steps`` batches.
2. With ``--profile``: ``Trainer.run`` over the same number of steps under cProfile, the
   functions with the most own time.
The networks and batches are those of ``bench_chapters.py``'s jobs (``ch6.py``, ``ch7.py``).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from typing import Any

import numpy as np
from chapters import mnist

from xpnet._array.trust import trusted
from xpnet.nets import MultiLayerNetExtend, SimpleConvNet
from xpnet.optim import Adam
from xpnet.training import Trainer
from xpnet.training.threads import thread_limit


def _network(job: str, backend: str) -> tuple[Any, tuple[np.ndarray, ...], int]:
    if job == "ch6":
        net = MultiLayerNetExtend(784, [100] * 5, 10, use_batchnorm=True, backend=backend, dtype="float32", seed=0)
        return net, mnist(60_000, 0, (784,))[:2], 128
    return SimpleConvNet(backend=backend, dtype="float32", seed=0), mnist(5000, 0, (1, 28, 28))[:2], 100


def _timed(times: dict[str, list[float]], name: str, fn: Any, *args: Any, **kw: Any) -> Any:
    tic = time.perf_counter()
    out = fn(*args, **kw)
    times.setdefault(name, []).append(time.perf_counter() - tic)
    return out


def step_parts(net: Any, opt: Any, x: Any, t: Any, times: dict[str, list[float]]) -> None:
    """One training step (as ``LayerNet.loss_and_gradient`` and the optimizer run it), each part timed into ``times``."""
    layers = list(net.layers.items())
    with trusted():
        h = x
        for name, layer in layers:
            train = getattr(layer, "takes_train_flg", False)
            h = _timed(times, f"{name}.forward", layer.forward, *((h, True) if train else (h,)))
        _timed(times, "SoftmaxWithLoss.forward", net.last_layer.forward, h, t, validate=False)
        dout = _timed(times, "SoftmaxWithLoss.backward", net.last_layer.backward, 1)
        for name, layer in reversed(layers[1:]):
            dout = _timed(times, f"{name}.backward", layer.backward, dout)
        name, first = layers[0]
        kw = {"compute_dx": False} if getattr(first, "takes_compute_dx", False) else {}
        _timed(times, f"{name}.backward", first.backward, dout, **kw)
        grads: dict[str, Any] = {}
        for _, layer in layers:
            grads.update(getattr(layer, "grads", {}))
        _timed(times, f"{type(opt).__name__}.update", opt.update, net.params, {k: grads[k] for k in net.params})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--job", required=True, choices=("ch6", "ch7"))
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--backend", default="numpy")
    p.add_argument("--profile", action="store_true", help="also run Trainer.run under cProfile")
    args = p.parse_args()
    net, data, batch = _network(args.job, args.backend)
    trainer = Trainer(net, data, None, batch_size=batch, optimizer="adam", lr=0.001, seed=0, eval_every=10**9, eval_async=False)
    trainer.run(20)  # warm up
    opt, rng = Adam(lr=0.001), np.random.default_rng(1)
    xs, ts = trainer.train_set.images, trainer.train_set.onehot(10)
    xp = net.backend.xp
    times: dict[str, list[float]] = {}
    with thread_limit(1):
        for _ in range(args.steps):
            idx = xp.asarray(rng.integers(0, trainer.train_set.n, batch))
            x = xp.reshape(xp.astype(xp.take(xs, idx, axis=0), net.dtype) / 255.0, (batch, *net.sample_shape))
            step_parts(net, opt, x, xp.take(ts, idx, axis=0), times)
    med = {k: statistics.median(v) * 1e6 for k, v in times.items()}
    total = sum(med.values())
    print(f"{args.job} on {args.backend}, float32, batch {batch}: one step's parts, median of {args.steps} steps, one BLAS thread")
    print(f"{'part':28s} {'us':>9s} {'share':>6s}")
    for k, v in med.items():
        print(f"{k:28s} {v:9.1f} {100 * v / total:5.1f}%")
    print(f"{'total':28s} {total:9.1f}")
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(trainer.run, 20 + args.steps)
        pstats.Stats(prof).sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    main()
