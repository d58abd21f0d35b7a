"""Batch indices of a training run: drawn a block of steps at a time, and one block ahead for prefetching."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["BatchDraws"]


class BatchDraws:
    """Rows of every step's batch, uniform with replacement, from a seeded host generator.

    One ``integers`` call draws a block of ``block`` steps (cheaper than one call a step);
    blocks start at multiples of ``block`` in the run's step count, so a resumed run draws
    the same blocks. The next block is drawn when the current one starts, so a step that
    prefetches can gather it early.

    Parameters
    ----------
    rng : numpy.random.Generator
        The run's batch generator (its state is what checkpoints store).
    n : int
        Rows to draw from.
    batch : int
        Rows per step.
    block : int
        Steps per draw.
    """

    def __init__(self, rng: np.random.Generator, n: int, batch: int, block: int) -> None:
        self.rng, self.n, self.batch, self.block = rng, n, batch, block
        self._current: tuple[Mapping[str, Any], np.ndarray] | None = None  # (state before drawing, indices)
        self._next: tuple[Mapping[str, Any], np.ndarray] | None = None

    def _draw(self) -> tuple[Mapping[str, Any], np.ndarray]:
        state = self.rng.bit_generator.state
        return state, self.rng.integers(0, self.n, size=(self.block, self.batch))

    def at(self, it: int, iters: int) -> tuple[np.ndarray, int]:
        """The block holding step ``it`` (0-based) and the step's row in it; draws as needed."""
        pos = it % self.block
        if pos == 0 or self._current is None:
            self._current = self._next if pos == 0 and self._next is not None else self._draw()
            start = it - pos
            self._next = self._draw() if start + self.block < iters else None
        return self._current[1], pos

    @property
    def upcoming(self) -> np.ndarray | None:
        """The block after the current one, when the run goes on past it."""
        return None if self._next is None else self._next[1]

    def resume_state(self, iterations: int) -> Mapping[str, Any]:
        """The generator state a run resumed after ``iterations`` steps must start from."""
        if self._current is not None and iterations % self.block != 0:
            return self._current[0]  # stopped inside a block: draw it again
        if self._next is not None:
            return self._next[0]  # drawn ahead but not started
        return self.rng.bit_generator.state

    def restart(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state`` (of :meth:`resume_state`), forgetting the blocks drawn so far."""
        self.rng.bit_generator.state = state
        self._current = self._next = None
