"""The training step: the network's layers forward and backward, then the optimizer's update.

Every backend trains through this one step, :func:`train_on_batch`: :class:`TrainStep` runs it
eagerly, one call a step, and :mod:`xpnet.training.compiled` hands it to a backend's compiler
(JAX). The trainer checked its data and settings once, at its constructor, so the step runs
inside :func:`xpnet._array.trust.trusted`: the layers, the network and ``Params`` skip their
per-call checks there. Losses stay on the device until :meth:`TrainStep.losses` reads all
pending ones back at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._array.lazy import settled
from .._array.trust import trusted
from .._array.registry import to_numpy
from .data import Batches

__all__ = ["TrainStep", "train_on_batch"]

Array = Any


def train_on_batch(network: Any, optimizer: Any, x: Array, t: Array, gradient: str = "backprop") -> Array:
    """The training step: the network's layers forward and backward on one batch, then the optimizer's update.

    Parameters
    ----------
    network : LayerNet
        Its ``params`` entries are updated (concrete arrays, or tracers when a compiler traces
        this function on ``network.bind(...)``); so are its buffers (running statistics, the
        random stream of Dropout).
    optimizer : an optimizer of :mod:`xpnet.optim`, or any object with ``update(params, grads)``
    x : array, shape (B, *sample_shape) or (B, D), the network's dtype
    t : array, shape (B, K), one-hot targets in the network's dtype
    gradient : {"backprop", "numerical"}

    Returns
    -------
    0-d array: the batch's loss before the update.
    """
    with trusted():  # the trainer checked its data once
        if gradient == "backprop":
            loss, grads = network.loss_and_gradient(x, t, validate=False)
        else:
            grads = network.numerical_gradient(x, t)
            loss = network.loss(x, t, validate=False)
        optimizer.update(network.params, grads)
    return loss


class TrainStep:
    """One training step per call, on a batch given as host row indices.

    Parameters
    ----------
    network : TwoLayerNet
        Trained in place: the optimizer replaces its ``params`` entries.
    optimizer : SGD or any object with ``update(params, grads)``
    batches : Batches
        Where each step's images and one-hot targets come from.
    gradient : {"backprop", "numerical"}
        Backprop (``loss_and_gradient``), or central differences (tiny networks only).
    """

    compile_time = 0.0  # nothing is compiled

    def __init__(self, network: Any, optimizer: Any, batches: Batches, gradient: str = "backprop") -> None:
        self.network, self.optimizer, self.batches, self.gradient = network, optimizer, batches, gradient
        self._pending: list[Array] = []

    def apply(self, x: Array, t: Array) -> Array:
        """Train on one batch: ``x`` (B, D) and one-hot ``t`` (B, K) in the network's dtype; returns the 0-d loss."""
        return train_on_batch(self.network, self.optimizer, x, t, self.gradient)

    def __call__(self, block: np.ndarray, pos: int, upcoming: np.ndarray | None = None) -> None:
        """One step on the rows ``block[pos]`` (host int64, shape (batch_size,)); ``upcoming`` is the next block."""
        self._pending.append(self.apply(*self.batches.batch(block, pos, upcoming)))

    def run(self, block: np.ndarray, pos: int, n: int, upcoming: np.ndarray | None, stopping: Callable[[], bool]) -> int:
        """Up to ``n`` steps on the rows ``block[pos:pos + n]``, one at a time; stops early when ``stopping()``.

        Returns the number of steps done. Afterwards the network and the optimizer hold concrete state
        (:meth:`settle`).
        """
        done = 0
        while done < n and not (done and stopping()):
            self(block, pos + done, upcoming)
            done += 1
        self.settle()
        return done

    def settle(self) -> None:
        """On a lazy backend (``row.settle``: dask, ndonnx), compute the parameters, buffers, optimizer state and
        pending losses now, in one go, so that the next steps start from values, not from a graph of every step so far."""
        settle = self.network.backend.row.settle
        if settle is None:
            return
        net, opt = self.network, self.optimizer
        state = opt.state() if hasattr(opt, "state") and hasattr(opt, "load_state") else {}
        params, buffers, state, self._pending = settled(settle, (dict(net.params), dict(net.buffers), state, self._pending))
        with trusted():
            net.params = params
            net.buffers.update(buffers)
            if state:
                opt.load_state(state)

    @property
    def pending(self) -> int:
        """Steps whose losses have not been read yet."""
        return len(self._pending)

    def losses(self) -> np.ndarray:
        """The pending losses as float64 host values (one device-to-host transfer); clears them."""
        if not self._pending:
            return np.zeros(0)
        xp = self.network.backend.xp
        values = np.asarray(to_numpy(xp.stack(self._pending)), dtype=np.float64)
        self._pending.clear()
        return values

    def close(self) -> None:
        """Stop the batch gathering."""
        self.batches.close()
