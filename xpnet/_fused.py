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

from typing import Any

import numpy as np

__all__ = ["FusedSGDStep", "fused_step_for"]

KEYS = ("W1", "b1", "W2", "b2")


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
        d, h, k, b = network.input_size, network.hidden_size, network.output_size, batch_size
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
            self._target_scale = float(dt.type(lr / b))
            self._step = _make_step(self.params, network.activation, lr, images, onehot, b, d, h, k, dt,
                                    self._lse, self._target)

    def __call__(self, idx: np.ndarray) -> None:
        """One step on the rows ``idx`` (int64, shape (batch_size,), each in ``0..N-1``)."""
        self._step(idx, self._pending)
        self._pending += 1

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


def _make_step(params: dict[str, np.ndarray], activation: str, lr: float, images: np.ndarray, onehot: np.ndarray,
               b: int, d: int, h: int, k: int, dt: np.dtype, lse: np.ndarray, target: np.ndarray) -> Any:
    """The step as a closure over its buffers (local names keep the per-call overhead low)."""
    W1, b1, W2, b2 = (params[key] for key in KEYS)
    w1_rows = not W1.flags.c_contiguous  # stored (H, D): update its transpose, which is contiguous
    W1_store = W1.T if w1_rows else W1
    b2_col = b2.reshape(k, 1)
    W2_T = W2.T
    pixels = images.dtype == np.uint8
    scale = dt.type(1.0 / 255.0)
    rate = dt.type(lr / b)
    onehot_rate = onehot * rate  # targets pre-scaled by lr / B (see target_scale)
    x_raw = np.empty((b, d), images.dtype)
    x = np.empty((b, d), dt) if pixels else x_raw
    x_T = x.T
    a1 = np.empty((b, h), dt)  # pre-activation, then activation, of the hidden layer
    a1_T = a1.T
    local = np.empty((b, h), dt)  # the activation's local derivative (ReLU: its mask)
    scores = np.empty((k, b), dt)  # output layer, transposed: one row per class
    scores_T = scores.T
    t_rows = np.empty((b, k), dt)  # gathered (one cache line a row), used transposed
    t = t_rows.T
    tmp = np.empty((k, b), dt)
    col = np.empty(b, dt)
    zero = dt.type(0)
    inv = np.empty(b, dt)
    ones_b, ones_k = np.ones(b, dt), np.ones(k, dt)  # sums as dot products (faster than np.sum here)
    dW1, db1 = np.empty(W1_store.shape, dt), np.empty(h, dt)
    dW2, db2 = np.empty((h, k), dt), np.empty(k, dt)
    dh = np.empty((b, h), dt)
    dh_T = dh.T
    take, matmul, dot, add, sub, mul, exp = np.take, np.matmul, np.dot, np.add, np.subtract, np.multiply, np.exp
    relu = activation == "relu"

    def step(idx: np.ndarray, slot: int) -> None:
        take(images, idx, axis=0, out=x_raw, mode="clip")
        take(onehot_rate, idx, axis=0, out=t_rows, mode="clip")
        if pixels:
            np.copyto(x, x_raw, casting="unsafe")
            matmul(x, W1, out=a1)
            mul(a1, scale, out=a1)
        else:
            matmul(x, W1, out=a1)
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
            matmul(x_T, dh, out=dW1)
        sub(W1_store, dW1, out=W1_store)
        sub(b1, db1, out=b1)
        sub(W2, dW2, out=W2)
        sub(b2, db2, out=b2)

    return step
