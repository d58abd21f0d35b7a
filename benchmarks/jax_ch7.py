"""Reference: chapter 7's SimpleConvNet training step in idiomatic JAX: ``jax.jit`` over ``lax.scan``.

``lax.conv_general_dilated`` (NCHW images, OIHW filters), ``lax.reduce_window`` for the 2x2
max pooling, ``jax.value_and_grad`` of a ``log_softmax`` cross-entropy, Adam by hand
(``jax_ch6.adam``), and a block of 100 steps as one ``lax.scan`` inside ``jax.jit``, compiled
ahead of the timed blocks; the uint8 images and the host-drawn batch indices are arguments.
The weights start from xpnet's draws and the batches are xpnet's (``draws.py``).

A yardstick for ``benchmarks/bench_chapters.py --job ch7``, independent of xpnet: it takes host
NumPy arrays and imports nothing from the package. XLA runs on its own threads.
"""

from __future__ import annotations

import time

import numpy as np
from draws import BLOCK, batch_blocks, convnet
from jax_ch6 import adam
from jax_jit import jax_device


def _chunk(dt, scale, lr):
    """``chunk(params, opt, pixels, labels, idx)``: one ``lax.scan`` of Adam steps over the rows of ``idx``."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    def predict(p, x):
        y = lax.conv_general_dilated(x, p["W1"], (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW"))
        y = jax.nn.relu(y + p["b1"][:, None, None])
        y = lax.reduce_window(y, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        y = jax.nn.relu(y.reshape(y.shape[0], -1) @ p["W2"] + p["b2"])
        return y @ p["W3"] + p["b3"]

    def loss_fn(p, x, t):
        logp = jax.nn.log_softmax(predict(p, x))
        return -jnp.mean(jnp.take_along_axis(logp, t[:, None], axis=1))

    update = adam(lr)

    def chunk(p, opt, pixels, labels, idx):
        def step(carry, i):
            p, opt = carry
            x = jnp.take(pixels, i, axis=0).astype(dt) * scale
            loss, g = jax.value_and_grad(loss_fn)(p, x, jnp.take(labels, i, axis=0))
            return update(g, opt, p), loss

        return lax.scan(step, (p, opt), idx)

    return jax.jit(chunk)


def run(x_train, t_train, *, steps=400, batch_size=100, lr=0.001, dtype="float32", seed=0, device="cpu",
        train_threads=None, eval_threads=None):
    """Train SimpleConvNet for ``steps`` Adam steps in compiled blocks of 100 and time every block.

    Parameters and returned keys as ``torch_ch7.run``; ``compile_time`` is the time compiling
    ahead of the blocks; ``device`` is "cpu", "gpu" or "cuda:N".
    """
    import jax

    dev, dt = jax_device(device), np.dtype(dtype)
    pixels = jax.device_put(np.asarray(x_train), dev)
    labels = jax.device_put(np.asarray(t_train).astype(np.int32), dev)
    params = jax.device_put({k: v.astype(dt) for k, v in convnet(seed).items()}, dev)
    opt = jax.device_put((jax.tree.map(np.zeros_like, params), jax.tree.map(np.zeros_like, params), np.int32(0)), dev)
    chunk = _chunk(dt, 1 / 255 if pixels.dtype == np.uint8 else 1.0, lr)
    lengths = [min(BLOCK, steps - s) for s in range(0, steps, BLOCK)]
    tic = time.perf_counter()
    compiled = {k: chunk.lower(params, opt, pixels, labels, np.zeros((k, batch_size), np.int32)).compile()
                for k in sorted(set(lengths))}
    compile_time = time.perf_counter() - tic
    draws, losses, blocks = batch_blocks(seed, len(x_train), batch_size), [], []
    for k in lengths:
        tic = time.perf_counter()
        idx = jax.device_put(next(draws)[:k].astype(np.int32), dev)
        (params, opt), block_losses = compiled[k](params, opt, pixels, labels, idx)
        losses.extend(np.asarray(block_losses).tolist())  # one read-back per block
        blocks.append([k, time.perf_counter() - tic])
    return {"blocks": blocks, "losses": losses[:3], "late_loss": float(np.mean(losses[-100:])),
            "compile_time": compile_time, "dtype": dtype}
