"""NumPy fast path for the training step of a TwoLayerNet with plain SGD.

The portable step (layers, ``loss_and_gradient``, ``SGD.update``) costs about 40 NumPy
calls, each allocating its result; at the book's sizes (batch 100, 784-50-10) their
dispatch costs more than the five matmuls. This step computes the same thing with about
25 calls writing into buffers allocated once, and updates working copies of the
parameters in place:

* the batch is gathered from the uint8 pixels (``np.take`` with ``out=``) and converted
  without the 1/255 scale, which is applied to the (B, H) pre-activations and to ``dh``
  instead of the (B, 784) images;
* the output layer runs transposed, (K, B), so the softmax reductions run along the
  long axis;
* the learning rate and 1/B are folded into ``dy`` (through the gathered one-hot targets
  and the softmax normaliser), so the products are already the SGD updates;
* bias gradients and softmax sums are dot products with a vector of ones, which beat
  ``np.sum`` on these small axes;
* the loss of each step is kept as two rows (the log-sum-exp terms and the target
  scores) and turned into floats only when the trainer reads the losses.

The caller's parameter arrays are never written: the step owns its working copies and
:meth:`FusedSGDStep.publish` hands out fresh copies. ``tests/test_fused.py`` checks that
parameters and losses agree with the portable step to rounding.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = ["FusedSGDStep", "fused_step_for"]

KEYS = ("W1", "b1", "W2", "b2")
#: Steps whose batches are gathered together (on the worker thread, a chunk ahead of the step).
CHUNK = 25
#: Gather the next chunk on a worker thread when the machine has a second core.
PREFETCH = True


def fused_step_for(network: Any, optimizer: Any, images: np.ndarray, onehot: np.ndarray, batch_size: int,
                   capacity: int) -> FusedSGDStep | None:
    """A :class:`FusedSGDStep` when the run qualifies, else None (the portable step is used).

    It qualifies when the network is a :class:`~xpnet.nets.TwoLayerNet` of NumPy arrays, the
    optimizer is exactly :class:`~xpnet.optim.SGD`, and ``images`` is a NumPy array.
    """
    from .nets import TwoLayerNet
    from .optim import SGD

    if type(network) is not TwoLayerNet or type(optimizer) is not SGD or network.backend.name != "numpy":
        return None
    if not isinstance(images, np.ndarray) or network.activation not in ("relu", "sigmoid"):
        return None
    return FusedSGDStep(network, optimizer.lr, images, onehot, batch_size, capacity)


class FusedSGDStep:
    """One SGD step of a NumPy TwoLayerNet per call, on batches given as row indices.

    Parameters
    ----------
    network : TwoLayerNet
        NumPy backend; its current parameters are copied into the working buffers.
    lr : float
        Learning rate.
    images : ndarray, shape (N, D), uint8 pixels (scaled by 1/255) or the network's dtype
    onehot : ndarray, shape (N, K), the network's dtype
        One-hot targets.
    batch_size : int
        Rows per step.
    capacity : int
        Steps whose losses can be pending before :meth:`losses` must be called.
    """

    def __init__(self, network: Any, lr: float, images: np.ndarray, onehot: np.ndarray, batch_size: int,
                 capacity: int) -> None:
        self.network = network
        dt = np.dtype(network.dtype)
        h, k, b = network.hidden_size, network.output_size, batch_size
        # W1 is stored one row per hidden unit, (H, D), in float64: there, with OpenBLAS, dW1 as
        # dh.T @ x costs ~20% less than x.T @ dh and x @ W1 barely more; in float32 it is a loss
        self.params = {key: np.array(network.params[key], dtype=dt, order="C", copy=True) for key in KEYS}
        if dt == np.float64:
            self.params["W1"] = np.ascontiguousarray(self.params["W1"].T).T  # a (D, H) view of (H, D) storage
        self._published = {key: network.params[key] for key in KEYS}
        self._pending = 0
        self._lse = np.empty((capacity, b), dt)  # sum of exp(shifted scores) of each sample
        self._target = np.empty((capacity, b), dt)  # lr / B times the shifted score of each sample's class
        with np.errstate(over="ignore", invalid="ignore"):  # a huge lr overflows; the divergence check reports it
            rate = dt.type(lr / b)
            self._target_scale = float(rate)
            self._gather = _Batches(images, onehot * rate, b, dt, background=PREFETCH and (os.cpu_count() or 1) >= 2)
            self._step = _make_step(self.params, network.activation, rate, images.dtype == np.uint8, b, h, k, dt,
                                    self._lse, self._target)

    def __call__(self, block: np.ndarray, pos: int, upcoming: np.ndarray | None) -> None:
        """One step on the rows ``block[pos]``; ``upcoming`` is the block after ``block``, if any (prefetched)."""
        x, t = self._gather.batch(block, pos, upcoming)
        self._step(x, t, self._pending)
        self._pending += 1

    def close(self) -> None:
        """Stop the gathering thread."""
        self._gather.close()

    @property
    def pending(self) -> int:
        """Steps whose losses have not been read yet."""
        return self._pending

    def losses(self) -> np.ndarray:
        """Mean cross-entropy of each pending step's batch (float64, shape (pending,)); clears them."""
        n, self._pending = self._pending, 0
        with np.errstate(all="ignore"):
            per_sample = np.log(self._lse[:n].astype(np.float64)) - self._target[:n] / self._target_scale
        return per_sample.mean(axis=1)

    def publish(self) -> None:
        """Give the network copies of the working parameters (its arrays are never written in place)."""
        for key in KEYS:
            self._published[key] = self.params[key].copy()
        self.network.params = self._published

    def adopt_if_replaced(self) -> None:
        """Reload the working copies from the network if someone replaced its parameters since :meth:`publish`."""
        for key in KEYS:
            current = self.network.params[key]
            if current is not self._published[key]:
                np.copyto(self.params[key], current)
                self._published[key] = current


class _Batches:
    """Batches gathered ``CHUNK`` steps at a time into two buffers; a worker fills the next chunk ahead.

    ``images`` (uint8 or float rows) are gathered and converted to ``dt`` without the 1/255
    scale; ``onehot`` rows (N, K) are gathered beside them. ``np.take`` and the conversion
    release the GIL, so on a second core the gathering costs the training loop nothing.
    """

    def __init__(self, images: np.ndarray, onehot: np.ndarray, b: int, dt: np.dtype, *, background: bool) -> None:
        self._images, self._onehot = images, onehot
        d, k = images.shape[1], onehot.shape[1]
        self._x = [np.empty((CHUNK, b, d), dt) for _ in range(2)]
        self._t = [np.empty((CHUNK, b, k), dt) for _ in range(2)]
        self._raw = [np.empty((CHUNK * b, d), images.dtype) for _ in range(2)] if images.dtype != dt else None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="xpnet-batches") if background else None
        self._cur: tuple[np.ndarray, int, int, int] | None = None  # block, first and end step, buffer
        self._ahead: tuple[np.ndarray, int, int, int, Future] | None = None

    def _fill(self, i: int, block: np.ndarray, lo: int, hi: int) -> None:
        """Gather the batches of steps ``lo:hi`` of ``block`` into buffer ``i``."""
        idx = block[lo:hi].reshape(-1)
        rows = idx.shape[0]
        x = self._x[i][: hi - lo].reshape(rows, -1)
        if self._raw is None:
            np.take(self._images, idx, axis=0, out=x, mode="clip")
        else:
            raw = self._raw[i][:rows]
            np.take(self._images, idx, axis=0, out=raw, mode="clip")
            np.copyto(x, raw, casting="unsafe")
        np.take(self._onehot, idx, axis=0, out=self._t[i][: hi - lo].reshape(rows, -1), mode="clip")

    def batch(self, block: np.ndarray, pos: int, upcoming: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Images (B, D) and scaled one-hot rows (B, K) of step ``pos`` of ``block`` (views into a buffer)."""
        cur = self._cur
        if cur is None or cur[0] is not block or not cur[1] <= pos < cur[2]:
            cur = self._switch(block, pos, upcoming)
        j = pos - cur[1]
        return self._x[cur[3]][j], self._t[cur[3]][j]

    def _switch(self, block: np.ndarray, pos: int, upcoming: np.ndarray | None) -> tuple[np.ndarray, int, int, int]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] is block and ahead[1] == pos:
            ahead[4].result()  # re-raises the worker's exception
            cur = ahead[:4]
        else:
            if ahead is not None:
                ahead[4].result()  # let a fill nobody needs finish before its buffer is reused
            i = 0 if self._cur is None else 1 - self._cur[3]
            cur = (block, pos, min(pos - pos % CHUNK + CHUNK, len(block)), i)
            self._fill(i, *cur[:3])
        self._cur = cur
        hi = cur[2]
        nxt = (block, hi, min(hi + CHUNK, len(block))) if hi < len(block) else None
        if nxt is None and upcoming is not None:
            nxt = (upcoming, 0, min(CHUNK, len(upcoming)))
        if nxt is not None and self._pool is not None:
            i = 1 - cur[3]
            self._ahead = (*nxt, i, self._pool.submit(self._fill, i, *nxt))
        return cur

    def close(self) -> None:
        """Wait for the worker and stop it."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _make_step(params: dict[str, np.ndarray], activation: str, rate: Any, pixels: bool, b: int, h: int, k: int,
               dt: np.dtype, lse: np.ndarray, target: np.ndarray) -> Any:
    """The step as a closure over its buffers (local names keep the per-call overhead low)."""
    W1, b1, W2, b2 = (params[key] for key in KEYS)
    w1_rows = not W1.flags.c_contiguous  # stored (H, D): update its transpose, which is contiguous
    W1_store = W1.T if w1_rows else W1
    b2_col = b2.reshape(k, 1)
    W2_T = W2.T
    scale = dt.type(1.0 / 255.0)
    a1 = np.empty((b, h), dt)  # pre-activation, then activation, of the hidden layer
    a1_T = a1.T
    local = np.empty((b, h), dt)  # the activation's local derivative (ReLU: its mask)
    scores = np.empty((k, b), dt)  # output layer, transposed: one row per class
    scores_T = scores.T
    tmp = np.empty((k, b), dt)
    col = np.empty(b, dt)
    zero = dt.type(0)
    inv = np.empty(b, dt)
    ones_b, ones_k = np.ones(b, dt), np.ones(k, dt)  # sums as dot products (faster than np.sum here)
    dW1, db1 = np.empty(W1_store.shape, dt), np.empty(h, dt)
    dW2, db2 = np.empty((h, k), dt), np.empty(k, dt)
    dh = np.empty((b, h), dt)
    dh_T = dh.T
    matmul, dot, add, sub, mul, exp = np.matmul, np.dot, np.add, np.subtract, np.multiply, np.exp
    relu = activation == "relu"

    def step(x: np.ndarray, t_rows: np.ndarray, slot: int) -> None:
        """``x``: the batch (B, D), unscaled pixels if ``pixels``; ``t_rows``: one-hot rows times lr / B."""
        t = t_rows.T
        matmul(x, W1, out=a1)
        if pixels:
            mul(a1, scale, out=a1)
        add(a1, b1, out=a1)
        if relu:
            np.greater(a1, zero, out=local)
            np.maximum(a1, zero, out=a1)
        else:
            np.negative(a1, out=a1)
            exp(a1, out=a1)
            add(a1, 1, out=a1)
            np.reciprocal(a1, out=a1)
            sub(1, a1, out=local)
            mul(local, a1, out=local)
        matmul(W2_T, a1_T, out=scores)
        add(scores, b2_col, out=scores)
        np.maximum.reduce(scores, axis=0, out=col)
        sub(scores, col, out=scores)
        mul(scores, t, out=tmp)
        dot(ones_k, tmp, out=target[slot])  # (lr / B) * the target's shifted score
        exp(scores, out=scores)
        dot(ones_k, scores, out=lse[slot])
        np.divide(rate, lse[slot], out=inv)
        mul(scores, inv, out=scores)
        sub(scores, t, out=scores)  # dy * lr: the products below are the updates
        dot(scores, ones_b, out=db2)
        matmul(a1_T, scores_T, out=dW2)
        matmul(scores_T, W2_T, out=dh)
        mul(dh, local, out=dh)
        dot(ones_b, dh, out=db1)
        if pixels:
            mul(dh, scale, out=dh)
        if w1_rows:
            matmul(dh_T, x, out=dW1)
        else:
            matmul(x.T, dh, out=dW1)
        sub(W1_store, dW1, out=W1_store)
        sub(b1, db1, out=b1)
        sub(W2, dW2, out=W2)
        sub(b2, db2, out=b2)

    return step
