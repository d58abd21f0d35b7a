"""Per-phase BLAS/OpenMP thread limits (threadpoolctl, a dependency: the speed design relies on it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from threadpoolctl import threadpool_limits


@contextlib.contextmanager
def thread_limit(n: int | None) -> Iterator[None]:
    """Limit native thread pools (OpenBLAS, MKL, OpenMP) to ``n`` threads inside the block; None: no limit.

    Small training matmuls gain nothing from a second thread and slow down badly when the
    machine is busy; large evaluation matmuls do gain.
    """
    if n is None:
        yield
        return
    with threadpool_limits(limits=n):
        yield
