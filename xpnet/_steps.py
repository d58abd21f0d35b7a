"""Training steps as the trainer drives them: the portable step, or the NumPy fast path when a run qualifies.

Both take a batch as host row indices, keep each step's loss pending until :meth:`losses`
reads them all back at once, and expose :meth:`publish` / :meth:`adopt_if_replaced` so the
trainer can hand the network its current parameters at every flush point.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _compat
from ._fused import FusedSGDStep, fused_step_for

__all__ = ["FusedSGDStep", "PortableStep", "make_step"]


class PortableStep:
    """The backend-agnostic step: gather, ``loss_and_gradient`` (or numerical gradients), optimizer update.

    Parameters
    ----------
    trainer : Trainer
        Supplies ``_batch(idx) -> (x, t)`` and ``_step(x, t) -> loss`` (0-d device array).
    """

    def __init__(self, trainer: Any) -> None:
        self._trainer = trainer
        self._pending: list[Any] = []

    def __call__(self, block: np.ndarray, pos: int, upcoming: np.ndarray | None = None) -> None:
        """One step on the training rows ``block[pos]`` (host int64, shape (batch_size,))."""
        self._pending.append(self._trainer._step(*self._trainer._batch(block[pos])))

    @property
    def pending(self) -> int:
        """Steps whose losses have not been read yet."""
        return len(self._pending)

    def losses(self) -> np.ndarray:
        """The pending losses as float64 host values (one device-to-host transfer); clears them."""
        if not self._pending:
            return np.zeros(0)
        xp = self._trainer.backend.xp
        values = np.asarray(_compat.to_numpy(xp.stack(self._pending)), dtype=np.float64)
        self._pending.clear()
        return values

    def publish(self) -> None:
        """Nothing to do: the optimizer already replaced the network's arrays."""

    def adopt_if_replaced(self) -> None:
        """Nothing to do: every step reads the network's parameters afresh."""

    def close(self) -> None:
        """Nothing to release."""


def make_step(trainer: Any, capacity: int, fast_path: bool) -> FusedSGDStep | PortableStep:
    """The step for ``trainer``'s run: the fused NumPy step when allowed and the run qualifies, else portable.

    ``capacity`` is the largest number of steps whose losses may be pending between reads.
    """
    if fast_path and trainer.gradient == "backprop":
        s = trainer.train_set
        images = s.pixels if s.pixels is not None else s.x
        fused = fused_step_for(trainer.network, trainer.optimizer, images, s.onehot(trainer.network.output_size),
                               trainer.batch_size, capacity)
        if fused is not None:
            return fused
    return PortableStep(trainer)
