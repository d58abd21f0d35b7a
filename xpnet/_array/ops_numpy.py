"""NumPy's operations: the portable ones with NumPy's own where they are faster."""

from __future__ import annotations

from .ops import Ops
from .ops_data import NumpyDataOps

__all__ = ["NumpyOps"]


class NumpyOps(NumpyDataOps, Ops):
    """Operations on NumPy arrays: buffers reused by the trainer, gathers straight from host indices."""
