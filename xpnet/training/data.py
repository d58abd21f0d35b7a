"""The trainer's data: labelled sets resident on the device, and the training batches gathered from them.

Batches are gathered a chunk of steps at a time (one gather and one conversion for 25 steps)
through the backend's data operations (NumPy's write into two reused buffers), and where the
backend computes on the host's cores (its row's ``background_threads``) the next chunk is gathered
on a worker thread while the current one trains: ``np.take`` and the conversion release the GIL.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from .._array import compat
from .._array.labels import to_labels
from .._array.ops import ops_for
from .._array.registry import dtype_name, to_numpy

Array = Any


def host_labels(t: Any, n_classes: int, name: str, where: str = "train") -> np.ndarray:
    """Labels (N,) or one-hot (N, K) as int64 host labels (N,), checked to lie in ``0..K-1``.

    The one rule of :func:`xpnet._array.labels.to_labels`: one-hot rows must hold a single 1 and
    zeros elsewhere (a row of zeros, a soft or non-finite row would otherwise become a class silently).
    """
    t = np.asarray(to_numpy(t))
    if t.dtype.kind in "USO":
        raise TypeError(f"{where}: {name} must be integer class indices, got strings or objects (dtype {t.dtype}); "
                        "map them to 0..K-1 first, e.g. np.unique(t, return_inverse=True)[1]")
    if t.ndim == 1 and not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"{where}: {name} must be integer class indices, got dtype {t.dtype}; "
                        "convert whole-number labels with t.astype(np.int64)")
    labels = to_labels(compat.NUMPY, t, n_classes, where, name=name)
    return np.asarray(labels).astype(np.int64, copy=False)


def host_images(x: Any, width: int, name: str, where: str = "train") -> np.ndarray:
    """Images (N, width) or (N, ...) of uint8 pixels or finite floats, as a host array (N, width).

    NaN or infinite values are refused here, at the boundary, naming the first bad index: they
    would otherwise surface many steps later as a diverged loss.
    """
    x = np.asarray(to_numpy(x))
    if x.ndim < 2 or int(np.prod(x.shape[1:])) != width:
        raise ValueError(f"{where}: {name} must have shape (N, {width}) or (N, ...) with {width} values per sample, got {x.shape}")
    if not (x.dtype == np.uint8 or np.issubdtype(x.dtype, np.floating)):
        raise TypeError(f"{where}: {name} must be uint8 pixels or floats, got dtype {x.dtype}")
    if x.shape[0] == 0:
        raise ValueError(f"{where}: {name} is empty")
    if x.dtype != np.uint8:
        finite = np.isfinite(x)
        if not finite.all():
            first = tuple(int(i) for i in np.unravel_index(int(np.argmin(finite)), x.shape))
            bad = int(x.size - np.count_nonzero(finite))
            raise ValueError(
                f"{where}: {name} contain {x[first]} at index {first} ({bad} non-finite value(s) in all); "
                "clean or drop those samples before training"
            )
    return x.reshape(x.shape[0], width)

#: Rows of uint8 pixels converted at a time for evaluation (6 MB of float32: big enough that the
#: per-block Python work stays small, small enough to stay in cache).
PIXEL_BLOCK = 2_000


class DeviceSet:
    """A labelled set resident on the device: its images as given (uint8 pixels, or floats in the network's dtype)
    and its int64 labels. No float copy of a pixel set is ever built: batches and evaluation blocks are
    converted as they are used (:meth:`chunks`, :func:`gather_rows`).

    Parameters
    ----------
    backend : Backend
        Where the arrays live. A backend whose arrays are host memory uses the host arrays as they are.
    dtype_name : str
        The network's dtype.
    x : ndarray, shape (N, D), uint8 or floating (host)
    t : ndarray, shape (N,), int64 (host)

    Attributes
    ----------
    images : array, shape (N, D), uint8 or the network's dtype, on the device
    t : array, shape (N,), int64, on the device
    labels : ndarray, shape (N,), int64 (host copy of ``t``)
    n, width : int
    pixels : bool
        True when ``images`` are uint8 pixels (scaled to [0, 1] when converted).
    """

    def __init__(self, backend: Any, dtype_name: str, x: np.ndarray, t: np.ndarray) -> None:
        self.backend, self.ops = backend, ops_for(backend.xp)
        self.dtype = backend.dtype(dtype_name)
        self.pixels = x.dtype == np.uint8
        if not self.pixels and x.dtype != np.dtype(dtype_name):
            x = x.astype(dtype_name)
        shared = backend.row.host_memory  # the (read-only) host arrays serve as they are
        self.images = backend.asarray(x, copy=not shared)
        self.n, self.width = int(x.shape[0]), int(x.shape[1])
        self.labels = t
        self.t = backend.asarray(t, copy=not shared)

    def chunks(self, size: int) -> Iterator[tuple[int, int, Array]]:
        """``(lo, hi, images[lo:hi])`` in the network's dtype, ``size`` rows at a time (at most ``PIXEL_BLOCK`` from pixels).

        Where the backend reuses buffers, each block is converted into one buffer: the caller must
        be done with a block before asking for the next.
        """
        step = min(size, PIXEL_BLOCK) if self.pixels else size
        buf = self.ops.buffer((min(step, self.n), self.width), self.dtype) if self.pixels else None
        for lo in range(0, self.n, step):
            hi = min(lo + step, self.n)  # array_api_strict rejects out-of-bounds slice stops
            yield lo, hi, self.ops.to_float(self.images[lo:hi, ...], self.dtype, out=buf)

    def head(self, n: int | None) -> "DeviceSet":
        """The first ``n`` samples (the whole set when ``n`` is None or not smaller), sharing this set's arrays."""
        if n is None or n >= self.n:
            return self
        part = copy.copy(self)
        part.images, part.t, part.labels, part.n = self.images[:n, ...], self.t[:n], self.labels[:n], int(n)
        return part

    def onehot(self, n_classes: int) -> Array:
        """One-hot targets on the device: shape (N, K), the network's dtype."""
        out = np.zeros((self.n, n_classes), np.dtype(dtype_name(self.dtype)))
        out[np.arange(self.n), self.labels] = 1
        return self.backend.asarray(out, copy=False)

    def scale(self) -> float:
        """Largest |x| of the images as the network sees them (1.0 or less for pixels); one host read."""
        if self.pixels:
            return 1.0
        xp = self.backend.xp
        return float(xp.max(xp.abs(self.images)))


def gather_rows(xp: Any, images: Array, idx: Array, dtype: Any) -> Array:
    """Rows ``idx`` (M,) of ``images`` (N, D) in ``dtype``: uint8 pixels are scaled after the gather.

    The one gather of a training batch inside a compiled step (on the data set passed as an argument).
    """
    return ops_for(xp).to_float(xp.take(images, idx, axis=0), dtype)


#: Steps whose batches are gathered together.
CHUNK = 25


class Batches:
    """The training batches of a run, gathered ``CHUNK`` steps at a time, the next chunk ahead on a worker.

    Parameters
    ----------
    data : DeviceSet
        The training set.
    onehot : array, shape (N, K)
        Its one-hot targets on the device.
    batch_size : int
    background : bool
        Gather the next chunk on a worker thread (NumPy with a spare core).
    """

    def __init__(self, data: DeviceSet, onehot: Array, batch_size: int, *, background: bool) -> None:
        self._data, self._onehot, self._b = data, onehot, batch_size
        self._slots = [self._buffers() for _ in range(2)]  # one trains, the other fills (where buffers are reused)
        self._free = 0  # the slot the next gather writes into
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="xpnet-batches") if background else None
        self._cur: tuple[np.ndarray, int, int, Any] | None = None  # block, first and end step, (x, t)
        self._ahead: tuple[np.ndarray, int, int, Future] | None = None

    @staticmethod
    def for_run(data: DeviceSet, n_classes: int, batch_size: int) -> "Batches":
        """Batches of ``data``, gathered ahead on a worker thread where the backend computes on the host's cores
        (and there is a spare one)."""
        background = data.backend.row.background_threads and (os.cpu_count() or 1) >= 2
        return Batches(data, data.onehot(n_classes), batch_size, background=background)

    def _buffers(self) -> tuple[Array | None, Array | None, Array | None]:
        """Buffers (gathered pixels, images, one-hot rows) for CHUNK steps, where the backend's operations reuse them."""
        rows, width, k = CHUNK * self._b, self._data.width, int(self._onehot.shape[1])
        ops, dt = self._data.ops, self._data.dtype
        raw = ops.buffer((rows, width), self._data.images.dtype) if self._data.pixels else None
        return raw, ops.buffer((rows, width), dt), ops.buffer((rows, k), dt)

    def _gather(self, block: np.ndarray, lo: int, hi: int) -> tuple[Array, Array]:
        idx = block[lo:hi].reshape(-1)
        raw, x, t = self._slots[self._free]
        self._free = 1 - self._free
        ops, data = self._data.ops, self._data
        if data.pixels:
            images = ops.to_float(ops.take_rows(data.images, idx, out=raw), data.dtype, out=x)
        else:
            images = ops.take_rows(data.images, idx, out=x)
        return images, ops.take_rows(self._onehot, idx, out=t)

    def batch(self, block: np.ndarray, pos: int, upcoming: np.ndarray | None) -> tuple[Array, Array]:
        """Images (B, D) and one-hot targets (B, K) of step ``pos`` of ``block`` (the rows ``block[pos]``)."""
        cur = self._cur
        if cur is None or cur[0] is not block or not cur[1] <= pos < cur[2]:
            cur = self._switch(block, pos, upcoming)
        j = (pos - cur[1]) * self._b
        x, t = cur[3]
        return x[j : j + self._b, ...], t[j : j + self._b, ...]

    def _switch(self, block: np.ndarray, pos: int, upcoming: np.ndarray | None) -> tuple[np.ndarray, int, int, Any]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] is block and ahead[1] == pos:
            cur = (*ahead[:3], ahead[3].result())  # re-raises the worker's exception
        else:
            if ahead is not None:
                ahead[3].result()
            hi = min(pos - pos % CHUNK + CHUNK, len(block))
            cur = (block, pos, hi, self._gather(block, pos, hi))
        self._cur = cur
        hi = cur[2]
        nxt = (block, hi, min(hi + CHUNK, len(block))) if hi < len(block) else None
        if nxt is None and upcoming is not None:
            nxt = (upcoming, 0, min(CHUNK, len(upcoming)))
        if nxt is not None and self._pool is not None:
            self._ahead = (*nxt, self._pool.submit(self._gather, *nxt))
        return cur

    def close(self) -> None:
        """Wait for the worker and stop it."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
