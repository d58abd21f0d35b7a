"""The trainer's data: labelled sets resident on the device, and the training batches gathered from them.

Batches are gathered a chunk of steps at a time (one gather and one conversion for 25
steps), and on NumPy with a spare core the next chunk is gathered on a worker thread while
the current one trains: ``np.take`` and the uint8 conversion release the GIL.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from .._array import compat
from .._array.labels import to_labels
from .._array.registry import to_numpy

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
    """A labelled set resident on the device: images in the network's dtype and int64 labels.

    Parameters
    ----------
    backend : Backend
        Where the arrays live.
    dtype_name : str
        The network's dtype; uint8 pixels are scaled to [0, 1] in it.
    x : ndarray, shape (N, D), uint8 or floating (host)
    t : ndarray, shape (N,), int64 (host)
    for_batches : bool
        Keep the uint8 pixels too (a training set): gathering 100 random rows of them and
        converting those is faster than gathering float rows, whose cache misses dominate.
    keep_pixels : bool
        Keep uint8 pixels on the device and convert them only when :attr:`x` is asked for
        (on the device): a compiled step and evaluation read :attr:`images` and convert
        inside their program, so no float copy of the set is ever built.

    Attributes
    ----------
    x : array, shape (N, D), the network's dtype
        On NumPy, uint8 pixels are converted only if asked for: evaluation reads them through
        :meth:`chunks`, which converts a cache-sized block at a time (a quarter of the memory
        traffic of a float copy, and no float copy to build). Other backends convert at once,
        unless ``keep_pixels``.
    t : array, shape (N,), int64
    labels : ndarray, shape (N,), int64 (host copy of ``t``)
    pixels : array, shape (N, D), uint8, or None
    """

    def __init__(self, backend: Any, dtype_name: str, x: np.ndarray, t: np.ndarray, *, for_batches: bool = False,
                 keep_pixels: bool = False) -> None:
        self._dtype = np.dtype(dtype_name)
        self.backend = backend
        numpy = backend.name == "numpy"  # NumPy may share the (read-only) host array; others get a copy
        u8 = x.dtype == np.uint8
        self.pixels = backend.asarray(x, copy=not numpy) if (for_batches or keep_pixels) and u8 else None
        self.n, self.width = int(x.shape[0]), int(x.shape[1])
        self.labels = t
        self.t = backend.asarray(t, copy=False)
        self._lock = threading.Lock()
        self._u8 = x if numpy and u8 else None
        self._x: Array | None = None
        if self._u8 is None and not (keep_pixels and u8):
            self._convert(x)

    def _convert(self, x: np.ndarray) -> None:
        if x.dtype == np.uint8:
            x = np.multiply(x, self._dtype.type(1.0 / 255.0), dtype=self._dtype)
        elif x.dtype != self._dtype:
            x = x.astype(self._dtype)
        self._x = self.backend.asarray(x, copy=False)

    @property
    def x(self) -> Array:
        if self._x is None:
            self.prepare()
        return self._x

    def prepare(self) -> None:
        """Convert the images to the network's dtype now, if not yet done (thread-safe)."""
        with self._lock:
            if self._x is None and self._u8 is not None:
                self._convert(self._u8)
            elif self._x is None:  # pixels kept on the device: convert there
                self._x = scaled(self.backend.xp, self.pixels, self.backend.dtype(self._dtype.name))

    def chunks(self, size: int) -> Iterator[tuple[int, int, Array]]:
        """``(lo, hi, images[lo:hi])`` in the network's dtype, ``size`` rows at a time (fewer from uint8 pixels).

        From NumPy uint8 pixels each block is converted into one reused buffer of at most
        ``PIXEL_BLOCK`` rows: the caller must be done with a block before asking for the next.
        """
        if self._u8 is None or self._x is not None:
            for lo in range(0, self.n, size):
                hi = min(lo + size, self.n)  # array_api_strict rejects out-of-bounds slice stops
                yield lo, hi, self.x[lo:hi, ...]
            return
        step = min(size, PIXEL_BLOCK)
        buf = np.empty((min(step, self.n), self._u8.shape[1]), self._dtype)
        scale = self._dtype.type(1.0 / 255.0)
        for lo in range(0, self.n, step):
            hi = min(lo + step, self.n)
            out = buf[: hi - lo]
            np.multiply(self._u8[lo:hi], scale, out=out, dtype=self._dtype)
            yield lo, hi, out

    def onehot(self, n_classes: int) -> Array:
        """One-hot targets on the device: shape (N, K), the network's dtype."""
        out = np.zeros((self.n, n_classes), self._dtype)
        out[np.arange(self.n), self.labels] = 1
        return self.backend.asarray(out, copy=False)

    def rows(self, idx: np.ndarray, out: tuple[np.ndarray, np.ndarray] | None = None) -> Array:
        """Images of host rows ``idx`` (M,) in the network's dtype, shape (M, D): one gather on the device.

        On NumPy, ``out = (raw, x)`` are buffers of shape (M, D) (uint8 and the network's dtype)
        to gather and convert into, so no memory is allocated.
        """
        if out is not None:
            raw, x = out
            if self._u8 is None:
                return np.take(self.x, idx, axis=0, out=x, mode="clip")
            return np.multiply(np.take(self._u8, idx, axis=0, out=raw, mode="clip"), self._dtype.type(1.0 / 255.0), out=x)
        xp = self.backend.xp
        idx_d = xp.asarray(idx, device=self.backend.device)
        return gather_rows(xp, self.images, idx_d, self.backend.dtype(self._dtype.name))

    @property
    def images(self) -> Array:
        """What batches are gathered from: the uint8 pixels where kept, else the images in the network's dtype."""
        return self.pixels if self.pixels is not None else self.x


def gather_rows(xp: Any, images: Array, idx: Array, dtype: Any) -> Array:
    """Rows ``idx`` (M,) of ``images`` (N, D) in ``dtype``: uint8 pixels are scaled by 1/255 after the gather.

    The one gather of a training batch: the eager step calls it on device arrays, a compiled
    step inside the traced function, on the data set passed as an argument.
    """
    return scaled(xp, xp.take(images, idx, axis=0), dtype)


def scaled(xp: Any, images: Array, dtype: Any) -> Array:
    """``images`` in ``dtype``: uint8 pixels times 1/255, floats converted (returned as they are when already ``dtype``)."""
    if images.dtype == dtype:
        return images
    if xp.isdtype(images.dtype, "integral"):
        return xp.astype(images, dtype) * (1.0 / 255.0)
    return xp.astype(images, dtype)


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
        self._slots = self._buffers() if data.backend.name == "numpy" else None
        self._free = 0  # the slot the next gather writes into
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="xpnet-batches") if background else None
        self._cur: tuple[np.ndarray, int, int, Any] | None = None  # block, first and end step, (x, t)
        self._ahead: tuple[np.ndarray, int, int, Future] | None = None

    @staticmethod
    def for_run(data: DeviceSet, n_classes: int, batch_size: int, backend_name: str) -> "Batches":
        """Batches of ``data``, gathered ahead on a worker thread where that helps (NumPy, two or more cores)."""
        background = backend_name == "numpy" and (os.cpu_count() or 1) >= 2
        return Batches(data, data.onehot(n_classes), batch_size, background=background)

    def _buffers(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Two sets of NumPy buffers (raw pixels, images, one-hot rows) for CHUNK steps: one trains, one fills."""
        rows, width, k = CHUNK * self._b, self._data.width, int(self._onehot.shape[1])
        dt = self._onehot.dtype
        return [(np.empty((rows, width), np.uint8), np.empty((rows, width), dt), np.empty((rows, k), dt)) for _ in range(2)]

    def _gather(self, block: np.ndarray, lo: int, hi: int) -> tuple[Array, Array]:
        idx = block[lo:hi].reshape(-1)
        if self._slots is not None:  # NumPy: into the free slot (the training loop reads the other one)
            raw, x, t = (buf[: idx.shape[0]] for buf in self._slots[self._free])
            self._free = 1 - self._free
            return self._data.rows(idx, out=(raw, x)), np.take(self._onehot, idx, axis=0, out=t, mode="clip")
        xp = self._data.backend.xp
        t = xp.take(self._onehot, xp.asarray(idx, device=self._data.backend.device), axis=0)
        return self._data.rows(idx), t

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
