"""Reference: the book's chapter-5 MNIST job in idiomatic eager PyTorch (CPU, or CUDA when asked).

Plain parameter tensors with autograd, ``F.linear``/``relu``/``F.cross_entropy`` (the
kernels ``nn.Linear`` and ``nn.CrossEntropyLoss`` use), ``torch.optim.SGD``, batches of
indices drawn with replacement by ``torch.randint``, evaluation under ``torch.no_grad()``.
The per-step losses stay on the device and are read back at each evaluation, so a GPU is
not synchronised every step. PyTorch keeps its default thread settings unless
``train_threads``/``eval_threads`` are given (``torch.set_num_threads`` per phase).

It is a yardstick for ``benchmarks/bench.py`` and independent of xpnet: it takes host NumPy
arrays and imports nothing from the package.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F


def _to_device(x, t, dtype, device):
    x = np.asarray(x)
    x = x.reshape(x.shape[0], -1)
    xt = torch.from_numpy(np.array(x, order="C")).to(device)  # a copy: from_numpy refuses read-only arrays
    xt = xt.to(dtype) / 255.0 if x.dtype == np.uint8 else xt.to(dtype)
    t = np.asarray(t)
    if t.ndim == 2:
        t = t.argmax(axis=1)
    return xt, torch.from_numpy(t.astype(np.int64)).to(device)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(x_train, t_train, x_test, t_test, *, iters=10_000, dtype="float32", seed=0, eval_every=600,
        hidden=50, batch_size=100, lr=0.1, device="cpu", train_threads=None, eval_threads=None):
    """Train TwoLayerNet(784, hidden, 10) with ReLU and SGD, and time it.

    Parameters
    ----------
    x_train, x_test : ndarray, shape (N, 784), uint8 pixels or floats in [0, 1]
    t_train, t_test : ndarray, labels (N,) or one-hot (N, 10)
    iters, eval_every, hidden, batch_size, lr
        The job; the book's is 10,000 steps, evaluation every 600, hidden 50, batch 100, lr 0.1.
    dtype : str
        "float32" or "float64" (data and parameters).
    seed : int
        Seeds the generator of the initial weights and the batch indices.
    device : str
        "cpu" or "cuda[:N]".
    train_threads, eval_threads : int, optional
        CPU threads during training steps and during evaluation; None keeps PyTorch's default.

    Returns
    -------
    dict
        ``train_time``, ``eval_time``, ``total_time`` (seconds), ``test_acc``, ``train_acc``
        (final), ``evals``, ``iters``, ``first_loss``, ``last_loss``.
    """
    default_threads = torch.get_num_threads()
    train_threads, eval_threads = train_threads or default_threads, eval_threads or default_threads
    dev = torch.device(device)
    dt = getattr(torch, dtype)
    x_tr, t_tr = _to_device(x_train, t_train, dt, dev)
    x_te, t_te = _to_device(x_test, t_test, dt, dev)
    n, d = x_tr.shape
    k = 10
    gen = torch.Generator(device=dev).manual_seed(seed)
    # F.linear's layout (out, in), as nn.Linear stores its weight
    W1 = (0.01 * torch.randn(hidden, d, generator=gen, dtype=dt, device=dev)).requires_grad_()
    b1 = torch.zeros(hidden, dtype=dt, device=dev, requires_grad=True)
    W2 = (0.01 * torch.randn(k, hidden, generator=gen, dtype=dt, device=dev)).requires_grad_()
    b2 = torch.zeros(k, dtype=dt, device=dev, requires_grad=True)
    opt = torch.optim.SGD([W1, b1, W2, b2], lr=lr)

    def predict(x):
        return F.linear(torch.relu(F.linear(x, W1, b1)), W2, b2)

    @torch.no_grad()
    def accuracy(x, t):
        return (predict(x).argmax(dim=1) == t).sum().item() / x.shape[0]

    losses, pending, train_acc, test_acc = [], [], [], []
    train_time = eval_time = 0.0
    _sync(dev)
    torch.set_num_threads(train_threads)
    start = tic = time.perf_counter()
    for i in range(iters):
        idx = torch.randint(n, (batch_size,), generator=gen, device=dev)
        loss = F.cross_entropy(predict(x_tr[idx]), t_tr[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        pending.append(loss.detach())
        if (i + 1) % eval_every == 0 or i + 1 == iters:
            losses.extend(torch.stack(pending).cpu().tolist())  # one read-back per evaluation
            pending.clear()
            toc = time.perf_counter()
            train_time += toc - tic
            torch.set_num_threads(eval_threads)
            train_acc.append(accuracy(x_tr, t_tr))
            test_acc.append(accuracy(x_te, t_te))
            torch.set_num_threads(train_threads)
            tic = time.perf_counter()
            eval_time += tic - toc
    if pending:
        losses.extend(torch.stack(pending).cpu().tolist())
    _sync(dev)
    train_time += time.perf_counter() - tic
    torch.set_num_threads(default_threads)
    return {
        "train_time": train_time,
        "eval_time": eval_time,
        "total_time": time.perf_counter() - start,
        "test_acc": test_acc[-1] if test_acc else None,
        "train_acc": train_acc[-1] if train_acc else None,
        "evals": len(test_acc),
        "iters": iters,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "threads": [train_threads, eval_threads],
        "dtype": dtype,
    }
