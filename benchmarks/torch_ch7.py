"""Reference: chapter 7's SimpleConvNet training step in idiomatic eager PyTorch (CPU, or CUDA when asked).

``F.conv2d`` (30 filters of 5x5), ``F.relu``, ``F.max_pool2d`` (2x2), ``F.linear`` to 100 and to
10, ``F.cross_entropy``, autograd and ``torch.optim.Adam`` with its defaults, on plain parameter
tensors in the layouts the functions take (``F.linear``'s (out, in)). The weights start from
xpnet's draws and the batches are xpnet's (``draws.py``), so the first losses agree. Steps run
in blocks of 100, each timed and ended by reading its losses back (which waits for a GPU).

A yardstick for ``benchmarks/bench_chapters.py --job ch7``, independent of xpnet: it takes host
NumPy arrays and imports nothing from the package.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from draws import BLOCK, batch_blocks, convnet
from torch_ch6 import sync, to_device


def _params(seed, dtype, device):
    init = convnet(seed)
    layout = {"W2": init["W2"].T, "W3": init["W3"].T}  # F.linear's (out, in)
    return [torch.tensor(np.ascontiguousarray(layout.get(k, v)), dtype=dtype, device=device, requires_grad=True)
            for k, v in init.items()]


def predict(params, x):
    """Scores (N, 10) of images ``x`` (N, 1, 28, 28)."""
    W1, b1, W2, b2, W3, b3 = params
    h = F.max_pool2d(F.relu(F.conv2d(x, W1, b1)), 2)
    return F.linear(F.relu(F.linear(h.flatten(1), W2, b2)), W3, b3)


def run(x_train, t_train, *, steps=400, batch_size=100, lr=0.001, dtype="float32", seed=0, device="cpu",
        train_threads=None, eval_threads=None):
    """Train SimpleConvNet for ``steps`` Adam steps and time every block of 100.

    Parameters
    ----------
    x_train : ndarray, shape (N, 1, 28, 28), uint8 pixels
    t_train : ndarray, shape (N,), labels
    steps, batch_size, lr, dtype, seed, device
        The job; device "cpu" or "cuda[:N]".
    train_threads : int, optional
        CPU threads (None: PyTorch's default). ``eval_threads`` is accepted and unused.

    Returns
    -------
    dict
        ``blocks``: [steps, seconds] of each block; ``losses``: the first three; ``late_loss``:
        the mean of the last 100; ``compile_time``: 0.
    """
    default_threads = torch.get_num_threads()
    torch.set_num_threads(train_threads or default_threads)
    dev, dt = torch.device(device), getattr(torch, dtype)
    x, t = to_device(x_train, t_train, dt, dev)
    params = _params(seed, dt, dev)
    opt = torch.optim.Adam(params, lr=lr)
    draws, losses, blocks = batch_blocks(seed, len(x), batch_size), [], []
    sync(dev)
    for start in range(0, steps, BLOCK):
        tic = time.perf_counter()
        block, pending = torch.from_numpy(next(draws)).to(dev), []
        for idx in block[: min(BLOCK, steps - start)]:
            loss = F.cross_entropy(predict(params, x[idx]), t[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            pending.append(loss.detach())
        losses.extend(torch.stack(pending).cpu().tolist())
        blocks.append([len(pending), time.perf_counter() - tic])
    torch.set_num_threads(default_threads)
    return {"blocks": blocks, "losses": losses[:3], "late_loss": float(np.mean(losses[-100:])), "compile_time": 0.0,
            "dtype": dtype}
