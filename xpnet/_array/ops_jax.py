"""JAX's operations: the portable ones, with pixels scaled through an exact table (XLA's division is not correctly rounded)."""

from __future__ import annotations

from .ops import Ops
from .ops_data import TablePixelOps

__all__ = ["JaxOps"]


class JaxOps(TablePixelOps, Ops):
    """Operations on JAX arrays (eager or traced)."""
