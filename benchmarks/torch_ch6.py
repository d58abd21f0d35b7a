"""Reference: the chapter 6 job in idiomatic eager PyTorch (CPU, or CUDA when asked).

``nn.Sequential`` of ``nn.Linear``, ``nn.BatchNorm1d`` and ``nn.ReLU`` blocks and a last
``nn.Linear``, ``F.cross_entropy``, ``torch.optim.Adam`` with its defaults (the for-loop kernel
on the CPU), ``model.train()`` / ``model.eval()`` around evaluation under ``torch.no_grad()``.
Batch Normalization keeps the book's constants: momentum 0.9 for the running statistics
(PyTorch's ``momentum=0.1``) and 1e-6 under the square root (``eps=1e-6``). The weights start
from the same draws as xpnet's network and the batches are xpnet's (``draws.py``), so the first
losses agree. Per-step losses stay on the device and are read back at evaluation points.

A yardstick for ``benchmarks/bench_chapters.py``, independent of xpnet: it takes host NumPy
arrays and imports nothing from the package.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from draws import BLOCK, batch_blocks, he_mlp
from torch import nn

EVAL_CHUNK = 10_000


def to_device(x, t, dtype, device):
    """Host pixels (N, ...) and labels (N,) as a float tensor in [0, 1] (the given shape) and an int64 tensor."""
    x = np.asarray(x)
    xt = torch.from_numpy(np.array(x, order="C")).to(device)  # a copy: from_numpy refuses read-only arrays
    xt = xt.to(dtype) / 255.0 if x.dtype == np.uint8 else xt.to(dtype)
    return xt, torch.from_numpy(np.asarray(t).astype(np.int64)).to(device)


def sync(device):
    """Wait for the device (CUDA) so that a time read after it covers the queued work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _model(hidden, depth, dtype, device, seed):
    init = he_mlp(seed, 784, [hidden] * depth, 10, batchnorm=True)
    sizes = [784] + [hidden] * depth + [10]
    layers = []
    for i in range(1, depth + 1):
        layers += [nn.Linear(sizes[i - 1], sizes[i]), nn.BatchNorm1d(sizes[i], eps=1e-6, momentum=0.1), nn.ReLU()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    model = nn.Sequential(*layers).to(device=device, dtype=dtype)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for i, lin in enumerate(linears, start=1):
            lin.weight.copy_(torch.from_numpy(init[f"W{i}"].T.copy()))  # nn.Linear stores (out, in)
            lin.bias.zero_()
    return model


@torch.no_grad()
def accuracy(model, x, t):
    """Fraction of correct predictions of ``model`` in test mode, ``EVAL_CHUNK`` rows at a time."""
    was = model.training
    model.eval()
    hits = sum(int((model(x[i:i + EVAL_CHUNK]).argmax(dim=1) == t[i:i + EVAL_CHUNK]).sum()) for i in range(0, len(x), EVAL_CHUNK))
    model.train(was)
    return hits / len(x)


def run(x_train, t_train, x_test, t_test, *, iters=2000, hidden=100, depth=5, batch_size=128, lr=0.001, eval_every=500,
        eval_samples=10_000, dtype="float32", seed=0, device="cpu", train_threads=None, eval_threads=None):
    """Train the chapter 6 network (``depth`` blocks of ``hidden`` with Batch Normalization) with Adam, and time it.

    Parameters
    ----------
    x_train, x_test : ndarray, shape (N, 784), uint8 pixels
    t_train, t_test : ndarray, shape (N,), labels
    iters, hidden, depth, batch_size, lr, eval_every, eval_samples
        The job. Each evaluation point measures the first ``eval_samples`` images of each set;
        after the last step the whole sets are measured once more.
    dtype, seed, device
        Data and parameter dtype; the seed of the weights and batches; "cpu" or "cuda[:N]".
    train_threads, eval_threads : int, optional
        CPU threads while training and while evaluating; None keeps PyTorch's default.

    Returns
    -------
    dict
        ``train_time``, ``eval_time``, ``total_time`` (s), ``losses`` (the first three), ``late_loss`` (the mean of the last 100),
        ``train_acc``/``test_acc`` (lists, one per evaluation point), ``full_train_acc``, ``full_test_acc``.
    """
    default_threads = torch.get_num_threads()
    train_threads, eval_threads = train_threads or default_threads, eval_threads or default_threads
    dev, dt = torch.device(device), getattr(torch, dtype)
    start = time.perf_counter()
    x_tr, t_tr = to_device(x_train, t_train, dt, dev)
    x_te, t_te = to_device(x_test, t_test, dt, dev)
    model = _model(hidden, depth, dt, dev, seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    blocks = batch_blocks(seed, len(x_tr), batch_size)
    losses, pending, train_acc, test_acc = [], [], [], []
    train_time = eval_time = 0.0
    sync(dev)
    torch.set_num_threads(train_threads)
    tic = time.perf_counter()
    for i in range(iters):
        if i % BLOCK == 0:
            block = torch.from_numpy(next(blocks)).to(dev)
        idx = block[i % BLOCK]
        loss = F.cross_entropy(model(x_tr[idx]), t_tr[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        pending.append(loss.detach())
        if (i + 1) % eval_every == 0 or i + 1 == iters:
            losses.extend(torch.stack(pending).cpu().tolist())  # one read-back per evaluation point
            pending.clear()
            toc = time.perf_counter()
            train_time += toc - tic
            torch.set_num_threads(eval_threads)
            train_acc.append(accuracy(model, x_tr[:eval_samples], t_tr[:eval_samples]))
            test_acc.append(accuracy(model, x_te[:eval_samples], t_te[:eval_samples]))
            torch.set_num_threads(train_threads)
            tic = time.perf_counter()
            eval_time += tic - toc
    torch.set_num_threads(eval_threads)
    toc = time.perf_counter()
    full = accuracy(model, x_tr, t_tr), accuracy(model, x_te, t_te)
    eval_time += time.perf_counter() - toc
    torch.set_num_threads(default_threads)
    return {
        "train_time": train_time, "eval_time": eval_time, "total_time": time.perf_counter() - start, "iters": iters,
        "losses": losses[:3], "late_loss": float(np.mean(losses[-100:])), "train_acc": train_acc, "test_acc": test_acc,
        "full_train_acc": full[0], "full_test_acc": full[1], "threads": [train_threads, eval_threads], "dtype": dtype,
    }
