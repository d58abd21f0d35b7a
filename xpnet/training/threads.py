"""Per-phase BLAS/OpenMP thread limits (threadpoolctl when installed, otherwise no-ops)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def thread_limit(n: int | None) -> Iterator[None]:
    """Limit native thread pools (OpenBLAS, MKL, OpenMP) to ``n`` threads inside the block; None: no limit.

    Small training matmuls gain nothing from a second thread and slow down badly when the
    machine is busy; large evaluation matmuls do gain. Without threadpoolctl this does nothing.
    """
    if n is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=n):
        yield
