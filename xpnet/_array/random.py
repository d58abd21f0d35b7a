"""Seeded host random numbers, moved once onto any backend and device."""

from __future__ import annotations

from typing import Any

import numpy as np

from .registry import Backend

__all__ = ["batch_indices", "default_rng", "normal"]



def default_rng(seed: int | None | np.random.Generator = None) -> np.random.Generator:
    """A host NumPy generator: ``seed`` may be an int, None (fresh entropy) or a Generator (returned as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
    return np.random.default_rng(seed)


def normal(
    rng: np.random.Generator, shape: tuple[int, ...], *, scale: float = 1.0, backend: Backend, dtype: Any = "float64"
) -> Any:
    """``scale`` times standard-normal draws of ``shape``, drawn in float64 on the host.

    The same generator state gives bit-identical float64 values on every backend; float32
    values are the correctly rounded float64 ones.
    """
    host = rng.standard_normal(shape) * scale
    return backend.asarray(host, dtype=dtype)


def batch_indices(rng: np.random.Generator, n: int, batch_size: int) -> np.ndarray:
    """``batch_size`` indices drawn uniformly from ``range(n)`` with replacement, shape (batch_size,), int64.

    Like the book's ``np.random.choice(train_size, batch_size)``.
    """
    return rng.integers(0, n, size=batch_size, dtype=np.int64)
