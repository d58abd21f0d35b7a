"""Reference: the chapter 6 job in idiomatic JAX: ``jax.jit`` over ``lax.scan``, Adam written by hand.

Parameters and the Batch Normalization running statistics in dict pytrees, the network as a
function ``forward(params, stats, x, train)``, ``jax.value_and_grad(..., has_aux=True)`` (the new
statistics are the auxiliary output), Adam in its usual bias-corrected form (``m``, ``v`` and the
step count carried with the parameters; optax is not installed), and a chunk of steps as one
``lax.scan`` inside ``jax.jit``. As ``benchmarks/jax_jit.py``: the uint8 data set and the
host-drawn batch indices are arguments, chunks end at the evaluation points, every function is
compiled ahead of the timed loop, and evaluation is ``lax.map`` over blocks of 10,000 images.
Batch Normalization keeps the book's constants (momentum 0.9, 1e-6 under the square root).
The weights start from xpnet's draws and the batches are xpnet's (``draws.py``).

A yardstick for ``benchmarks/bench_chapters.py``, independent of xpnet: it takes host NumPy
arrays and imports nothing from the package. XLA runs on its own threads: ``train_threads`` and
``eval_threads`` are accepted and ignored.
"""

from __future__ import annotations

import time

import numpy as np
from draws import he_mlp, take_steps
from jax_jit import eval_blocks, jax_device

BN_MOMENTUM, BN_EPS = 0.9, 1e-6


def adam(lr, b1=0.9, b2=0.999, eps=1e-8):
    """``update(grads, (m, v, t), params) -> params, (m, v, t)``: Adam (arXiv:1412.6980) over pytrees."""
    import jax
    import jax.numpy as jnp

    def update(grads, state, params):
        m, v, t = state
        t = t + 1
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        tf = t.astype(jnp.float32)
        c1, c2 = 1 - b1**tf, 1 - b2**tf
        params = jax.tree.map(lambda p, m, v: p - (lr * (m / c1) / (jnp.sqrt(v / c2) + eps)).astype(p.dtype), params, m, v)
        return params, (m, v, t)

    return update


def _model(depth, dt, scale, lr):
    """``chunk(params, stats, opt, pixels, labels, idx)`` (a ``lax.scan`` of Adam steps) and ``hits(params, stats, xs, ts)``."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    def forward(p, s, x, train):
        h, new = x, {}
        for i in range(1, depth + 1):
            h = h @ p[f"W{i}"] + p[f"b{i}"]
            if train:
                mu, var = jnp.mean(h, axis=0), jnp.var(h, axis=0)
                new[f"mean{i}"] = BN_MOMENTUM * s[f"mean{i}"] + (1 - BN_MOMENTUM) * mu
                new[f"var{i}"] = BN_MOMENTUM * s[f"var{i}"] + (1 - BN_MOMENTUM) * var
            else:
                mu, var = s[f"mean{i}"], s[f"var{i}"]
            h = jax.nn.relu(p[f"gamma{i}"] * (h - mu) / jnp.sqrt(var + BN_EPS) + p[f"beta{i}"])
        return h @ p[f"W{depth + 1}"] + p[f"b{depth + 1}"], new

    def loss_fn(p, s, x, t):
        logits, new = forward(p, s, x, True)
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, t[:, None], axis=1)), new

    update = adam(lr)

    def chunk(p, s, opt, pixels, labels, idx):
        def step(carry, i):
            p, s, opt = carry
            x = jnp.take(pixels, i, axis=0).astype(dt) * scale
            (loss, s), g = jax.value_and_grad(loss_fn, has_aux=True)(p, s, x, jnp.take(labels, i, axis=0))
            p, opt = update(g, opt, p)
            return (p, s, opt), loss

        return lax.scan(step, (p, s, opt), idx)

    def hits(p, s, xs, ts):
        def block(b):
            return jnp.sum(jnp.argmax(forward(p, s, b[0].astype(dt) * scale, False)[0], axis=1) == b[1])

        return jnp.sum(lax.map(block, (xs, ts)))

    return jax.jit(chunk), jax.jit(hits)


def run(x_train, t_train, x_test, t_test, *, iters=2000, hidden=100, depth=5, batch_size=128, lr=0.001, eval_every=500,
        eval_samples=10_000, dtype="float32", seed=0, device="cpu", train_threads=None, eval_threads=None):
    """Train the chapter 6 network with Adam in compiled chunks, and time it.

    Parameters and returned keys as ``torch_ch6.run``, plus ``compile_time`` (s; left out of
    ``train_time`` and ``eval_time``); ``device`` is "cpu", "gpu" or "cuda:N".
    """
    import jax

    dev, dt = jax_device(device), np.dtype(dtype)  # JAX imported and its device found before the clock starts
    start = time.perf_counter()
    x_tr, n = np.asarray(x_train).reshape(len(x_train), -1), len(x_train)
    pixels, labels = jax.device_put(x_tr, dev), jax.device_put(np.asarray(t_train).astype(np.int32), dev)
    heads = [(x[:eval_samples], t[:eval_samples]) for x, t in ((x_train, t_train), (x_test, t_test))]
    sets = [jax.device_put(eval_blocks(np.asarray(x).reshape(len(x), -1), np.asarray(t).astype(np.int32)), dev)
            for x, t in (*heads, (x_train, t_train), (x_test, t_test))]
    params = jax.device_put({k: v.astype(dt) for k, v in he_mlp(seed, x_tr.shape[1], [hidden] * depth, 10, True).items()}, dev)
    stats = jax.device_put({f"{s}{i}": np.full(hidden, 0.0, dt) for i in range(1, depth + 1) for s in ("mean", "var")}, dev)
    opt = jax.device_put((jax.tree.map(np.zeros_like, params), jax.tree.map(np.zeros_like, params), np.int32(0)), dev)
    chunk, hits = _model(depth, dt, 1 / 255 if x_tr.dtype == np.uint8 else 1.0, lr)
    lengths = [min(eval_every, iters - i) for i in range(0, iters, eval_every)]
    tic = time.perf_counter()
    steps = {k: chunk.lower(params, stats, opt, pixels, labels, np.zeros((k, batch_size), np.int32)).compile()
             for k in sorted(set(lengths))}
    count = {s[0].shape: hits.lower(params, stats, *s).compile() for s in sets}
    compile_time = time.perf_counter() - tic

    draws = take_steps(seed, n, batch_size)
    next(draws)
    losses, acc = [], []
    train_time = eval_time = 0.0
    for k in lengths:
        tic = time.perf_counter()
        idx = jax.device_put(draws.send(k).astype(np.int32), dev)
        (params, stats, opt), chunk_losses = steps[k](params, stats, opt, pixels, labels, idx)
        losses.extend(np.asarray(chunk_losses).tolist())  # one read-back per chunk
        toc = time.perf_counter()
        train_time += toc - tic
        acc.append([int(count[s[0].shape](params, stats, *s)) / len(x) for s, (x, _) in zip(sets[:2], heads)])
        eval_time += time.perf_counter() - toc
    toc = time.perf_counter()
    full = [int(count[s[0].shape](params, stats, *s)) / len(x) for s, x in zip(sets[2:], (x_train, x_test))]
    eval_time += time.perf_counter() - toc
    return {
        "train_time": train_time, "eval_time": eval_time, "compile_time": compile_time,
        "total_time": time.perf_counter() - start, "iters": iters, "losses": losses[:3],
        "late_loss": float(np.mean(losses[-100:])), "train_acc": [a[0] for a in acc], "test_acc": [a[1] for a in acc],
        "full_train_acc": full[0], "full_test_acc": full[1], "dtype": dtype,
    }
