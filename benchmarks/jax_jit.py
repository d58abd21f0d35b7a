"""Reference: the book's chapter-5 MNIST job in idiomatic JAX: ``jax.jit`` over ``lax.scan``.

Parameters in a dict pytree, ``jax.value_and_grad`` of a ``log_softmax`` cross-entropy,
the SGD update with ``jax.tree.map``, and a chunk of steps as one ``lax.scan`` inside
``jax.jit``. Batch indices are drawn on the host (``numpy.random.default_rng``) a chunk at
a time and passed in; the data set is an argument of the jitted functions, never a
closed-over constant (a captured 188 MB array becomes a compile-time constant). Chunks end
at the evaluation points, so the job compiles two chunk lengths (600 and the last 400
steps); evaluation is ``jax.jit`` of ``lax.map`` over blocks of 10,000 images. Every
function is compiled ahead of the timed loop (``jit(...).lower(...).compile()``) and the
compile time is reported on its own.

It is a yardstick for ``benchmarks/bench.py`` and independent of xpnet: it takes host
NumPy arrays and imports nothing from the package. XLA runs on its own thread pool, so
``train_threads``/``eval_threads`` are accepted and ignored.
"""

from __future__ import annotations

import time

import numpy as np

EVAL_BLOCK = 10_000


def jax_device(device):
    """The JAX device named by "cpu", "gpu", "cuda:N" or "gpu:N"."""
    import jax

    kind = "gpu" if str(device).startswith(("cuda", "gpu")) else "cpu"
    idx = int(str(device).partition(":")[2] or 0)
    return jax.devices(kind)[idx]


def labels_of(t):
    """Integer labels from labels (N,) or one-hot rows (N, K)."""
    t = np.asarray(t)
    return t.argmax(axis=1) if t.ndim == 2 else t


def eval_blocks(x, t):
    """Images (N, ...) and labels padded to whole blocks of ``EVAL_BLOCK`` rows (label -1 never matches)."""
    n = x.shape[0]
    size = min(EVAL_BLOCK, n)
    pad = -n % size
    x = np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)]) if pad else x
    t = np.concatenate([t, np.full(pad, -1, t.dtype)]) if pad else t
    return x.reshape(-1, size, *x.shape[1:]), t.reshape(-1, size)


def _model(dt, scale, lr):
    """The job's two jitted functions: ``chunk(params, pixels, labels, idx)`` (a ``lax.scan`` of SGD steps) and
    ``hits(params, blocks, block_labels)`` (correct predictions over blocks of a set)."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    def predict(p, x):
        return jax.nn.relu(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]

    def loss_fn(p, x, t):
        logp = jax.nn.log_softmax(predict(p, x))
        return -jnp.mean(jnp.take_along_axis(logp, t[:, None], axis=1))

    def chunk(p, pixels, labels, idx):
        def step(p, i):
            x = jnp.take(pixels, i, axis=0).astype(dt) * scale
            loss, g = jax.value_and_grad(loss_fn)(p, x, jnp.take(labels, i, axis=0))
            return jax.tree.map(lambda w, dw: w - lr * dw, p, g), loss

        return lax.scan(step, p, idx)

    def hits(p, xs, ts):
        return jnp.sum(lax.map(lambda b: jnp.sum(jnp.argmax(predict(p, b[0].astype(dt) * scale), axis=1) == b[1]), (xs, ts)))

    return jax.jit(chunk), jax.jit(hits)


def run(x_train, t_train, x_test, t_test, *, iters=10_000, dtype="float32", seed=0, eval_every=600,
        hidden=50, batch_size=100, lr=0.1, device="cpu", train_threads=None, eval_threads=None):
    """Train TwoLayerNet(784, hidden, 10) with ReLU and SGD in compiled chunks, and time it.

    Parameters
    ----------
    x_train, x_test : ndarray, shape (N, 784), uint8 pixels or floats in [0, 1]
    t_train, t_test : ndarray, labels (N,) or one-hot (N, 10)
    iters, eval_every, hidden, batch_size, lr
        The job; the book's is 10,000 steps, evaluation every 600, hidden 50, batch 100, lr 0.1.
    dtype : str
        "float32" or "float64" (float64 switches on JAX's 64-bit mode).
    seed : int
        Seeds the host generator of the initial weights and the batch indices.
    device : str
        "cpu", "gpu", "cuda:N".

    Returns
    -------
    dict
        ``train_time``, ``eval_time``, ``compile_time``, ``total_time`` (seconds; the first
        two exclude compiling), ``test_acc``, ``train_acc`` (final), ``evals``, ``iters``,
        ``first_loss``, ``last_loss``.
    """
    import jax

    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    start = time.perf_counter()
    dev, dt = jax_device(device), np.dtype(dtype)
    x_tr = np.asarray(x_train).reshape(len(x_train), -1)
    pixels = jax.device_put(x_tr, dev)
    labels = jax.device_put(labels_of(t_train).astype(np.int32), dev)
    sets = [jax.device_put(eval_blocks(np.asarray(x).reshape(len(x), -1), labels_of(t).astype(np.int32)), dev)
            for x, t in ((x_train, t_train), (x_test, t_test))]
    rng = np.random.default_rng(seed)
    d, k = x_tr.shape[1], 10
    params = jax.device_put({  # drawn on the host: eager jax.random calls would each compile first
        "W1": (0.01 * rng.standard_normal((d, hidden))).astype(dt), "b1": np.zeros(hidden, dt),
        "W2": (0.01 * rng.standard_normal((hidden, k))).astype(dt), "b2": np.zeros(k, dt),
    }, dev)
    chunk, hits = _model(dt, 1 / 255 if x_tr.dtype == np.uint8 else 1.0, lr)
    lengths = [min(eval_every, iters - i) for i in range(0, iters, eval_every)]
    tic = time.perf_counter()
    steps = {n: chunk.lower(params, pixels, labels, np.zeros((n, batch_size), np.int32)).compile() for n in sorted(set(lengths))}
    count = [hits.lower(params, *s).compile() for s in sets]
    compile_time = time.perf_counter() - tic

    losses, acc = [], []
    train_time = eval_time = 0.0
    for n in lengths:
        tic = time.perf_counter()
        idx = jax.device_put(rng.integers(0, len(x_tr), size=(n, batch_size)).astype(np.int32), dev)
        params, chunk_losses = steps[n](params, pixels, labels, idx)
        losses.extend(np.asarray(chunk_losses).tolist())  # one read-back per chunk
        toc = time.perf_counter()
        train_time += toc - tic
        acc.append([int(c(params, *s)) / len(x) for c, s, x in zip(count, sets, (x_train, x_test))])
        eval_time += time.perf_counter() - toc
    return {
        "train_time": train_time,
        "eval_time": eval_time,
        "compile_time": compile_time,
        "total_time": time.perf_counter() - start,
        "test_acc": acc[-1][1] if acc else None,
        "train_acc": acc[-1][0] if acc else None,
        "evals": len(acc),
        "iters": iters,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "dtype": dtype,
    }
