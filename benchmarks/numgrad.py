"""``benchmarks/bench.py --numgrad``: batched and loop numerical gradients of TwoLayerNet timed against backprop."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from job import D, K, best_time


def _max_abs_diff(a: Any, b: Any) -> float:
    """Largest absolute elementwise difference of two host arrays, as a float."""
    return float(np.max(np.abs(a - b)))


def _loop_elements(net: Any, x: Any, onehot: Any, key: str, indices: list[int], h: float = 1e-4) -> np.ndarray:
    """The loop method's central differences for some elements of ``params[key]``."""
    from xpnet._array.trust import trusted
    from xpnet._numgrad import mean_losses
    from xpnet.gradient import central_differences

    work = net.with_params(dict(net.params))

    def f(value: Any) -> Any:
        work.params[key] = value
        return mean_losses(work.predict(x), onehot)

    with trusted():
        return np.asarray([float(v) for v in central_differences(f, net.params[key], indices, h)])


def numgrad_bench(backend: str, device: str | None, *, w1_elements: int, full: bool) -> dict[str, Any]:
    """Time TwoLayerNet(784, 50, 10).numerical_gradient on 3 images, batched vs loop, next to backprop."""
    from xpnet._array.registry import to_numpy
    from xpnet.datasets.mnist import load_mnist_uint8
    from xpnet.nets import TwoLayerNet

    (x, t), _ = load_mnist_uint8()
    net = TwoLayerNet(D, 50, K, backend=backend, device=device, dtype="float64", seed=0)
    be, xp, host = net.backend, net.backend.xp, to_numpy
    xb, tb = be.asarray(x[:3] / 255.0, dtype="float64"), be.asarray(t[:3])
    onehot = xp.astype(tb[:, None] == xp.arange(K, device=be.device), xp.float64)
    t_bp = best_time(lambda: host(net.loss_and_gradient(xb, tb)[1]["W1"]), 0.2)
    batched = {k: host(v) for k, v in net.numerical_gradient(xb, tb, method="batched").items()}
    t_batched = best_time(lambda: host(net.numerical_gradient(xb, tb, method="batched")["b2"]), 0.3, 3)
    bp_diff = max(_max_abs_diff(host(v), batched[k]) for k, v in net.gradient(xb, tb).items())
    if full:
        tic = time.perf_counter()
        loop = {k: host(v) for k, v in net.numerical_gradient(xb, tb, method="loop").items()}
        t_loop, how = time.perf_counter() - tic, "in full"
        diff = max(_max_abs_diff(loop[k], batched[k]) for k in loop)
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
            diff = max(diff, _max_abs_diff(part, ref.reshape(-1)[idx]))
        how = f"estimated: {len(w1)} of {D * 50:,} W1 elements scaled up, b1/W2/b2 in full"
    return {
        "backend": str(be), "params": sum(v.size for v in batched.values()), "backprop_s": t_bp, "batched_s": t_batched,
        "loop_s": t_loop, "loop_how": how, "max_diff_loop_batched": diff, "agree": diff <= 1e-9,
        "max_diff_backprop_batched": bp_diff,
    }
