"""Evaluation points of a training run, measured in order, inline or on one background thread.

On a machine with a spare core the NumPy trainer measures the accuracies of each
evaluation point on a background thread, from a snapshot of the parameters taken at that
step, while the training loop goes on: NumPy releases the GIL inside its large kernels, so
the two overlap. Results are handed back in order, the caller bounds how many are in flight,
and the numbers are the same as measuring inline (the snapshot is never written to).
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .._array.trust import trusted

__all__ = ["EagerCounter", "Evaluations"]

#: (train accuracy, test accuracy or None, validation accuracy or None, seconds spent)
Result = tuple[float, "float | None", "float | None", float]


class Evaluations:
    """A queue of evaluation points.

    Parameters
    ----------
    measure : callable
        ``measure(params, background) -> Result``: accuracies of the network with parameters
        ``params``; ``background`` says it runs on the worker thread.
    background : bool
        Measure on one worker thread (True) or inline, at submission (False).
    """

    def __init__(self, measure: Callable[[Any, bool], Result], background: bool) -> None:
        self._measure = measure
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="xpnet-eval", initializer=_lower_priority) if background else None
        self._queue: deque[tuple[int, Any, Future | Result]] = deque()

    def submit(self, done: int, params: Any, *, inline: bool = False) -> None:
        """Measure the parameters of evaluation point ``done`` (background unless ``inline``)."""
        if self._pool is None or inline:
            self._queue.append((done, params, self._measure(params, False)))
        else:
            self._queue.append((done, params, self._pool.submit(self._measure, params, True)))

    def finished(self) -> bool:
        """True when the oldest background evaluation has finished and waits to be taken (cheap: once per step)."""
        return bool(self._queue) and isinstance(self._queue[0][2], Future) and self._queue[0][2].done()

    def ready(self, *, keep: int | None = None) -> list[tuple[int, Any, Result]]:
        """Finished evaluations in submission order.

        With ``keep`` set, first wait until at most ``keep`` submissions are unfinished (0:
        all of them); with None, take only what has finished.
        """
        out = []
        while self._queue:
            done, params, item = self._queue[0]
            if isinstance(item, Future):
                if not (item.done() or (keep is not None and len(self._queue) > keep)):
                    break
                item = item.result()  # re-raises the worker's exception
            self._queue.popleft()
            if done >= 0:
                out.append((done, params, item))
        return out

    def close(self) -> None:
        """Stop the worker after what it is running (nothing more is measured)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _lower_priority() -> None:
    """Let the training loop's threads go first when this worker competes with them for a core (Linux: per thread)."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except OSError:  # not permitted here: evaluation runs at normal priority
            pass


class EagerCounter:
    """Correct predictions of a network over a device-resident set, ``block`` rows at a time, op by op.

    The set was checked once, at the trainer's constructor, so each block goes through the
    network's unchecked ``count_correct``; the counts are added on the device and read once.
    """

    compile_time = 0.0  # nothing is compiled

    def __init__(self, block: int) -> None:
        self._block = block

    def __call__(self, network: Any, data: Any) -> int:
        """Correct predictions of ``network`` on ``data`` (a :class:`~xpnet.training.data.DeviceSet`)."""
        with trusted():
            hits, _ = network.count_all((x, data.t[lo:hi]) for lo, hi, x in data.chunks(self._block))
        return int(hits)
