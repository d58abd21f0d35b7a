"""The trainer's data: host-side checks of images and labels, and labelled sets resident on the device."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import _compat

Array = Any

#: Rows of uint8 pixels converted at a time for evaluation (6 MB of float32: big enough that the
#: per-block Python work stays small, small enough to stay in cache).
PIXEL_BLOCK = 2_000


def host_labels(t: Any, n_classes: int, name: str) -> np.ndarray:
    """Labels (N,) or one-hot (N, K) as int64 host labels (N,), checked to lie in ``0..K-1``."""
    t = np.asarray(_compat.to_numpy(t))
    if t.ndim == 2:
        if t.shape[1] != n_classes:
            raise ValueError(f"train: {name} one-hot width {t.shape[1]} does not match the network's {n_classes} outputs")
        t = np.argmax(t, axis=1)
    if t.ndim != 1:
        raise ValueError(f"train: {name} must be labels (N,) or one-hot (N, {n_classes}), got shape {t.shape}")
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"train: {name} labels must be integers, got dtype {t.dtype}")
    if t.size and (t.min() < 0 or t.max() >= n_classes):
        raise ValueError(f"train: {name} labels must lie in 0..{n_classes - 1}, got values in {t.min()}..{t.max()}")
    return t.astype(np.int64, copy=False)


def host_images(x: Any, width: int, name: str) -> np.ndarray:
    """Images (N, width) or (N, ...) of uint8 pixels or floats, as a host array (N, width)."""
    x = np.asarray(_compat.to_numpy(x))
    if x.ndim < 2 or int(np.prod(x.shape[1:])) != width:
        raise ValueError(f"train: {name} must have shape (N, {width}) or (N, ...) with {width} values per sample, got {x.shape}")
    if not (x.dtype == np.uint8 or np.issubdtype(x.dtype, np.floating)):
        raise TypeError(f"train: {name} must be uint8 pixels or floats, got dtype {x.dtype}")
    if x.shape[0] == 0:
        raise ValueError(f"train: {name} is empty")
    return x.reshape(x.shape[0], width)


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

    Attributes
    ----------
    x : array, shape (N, D), the network's dtype
        On NumPy, uint8 pixels are converted only if asked for: evaluation reads them through
        :meth:`chunks`, which converts a cache-sized block at a time (a quarter of the memory
        traffic of a float copy, and no float copy to build). Other backends convert at once.
    t : array, shape (N,), int64
    labels : ndarray, shape (N,), int64 (host copy of ``t``)
    pixels : array, shape (N, D), uint8, or None
    """

    def __init__(self, backend: Any, dtype_name: str, x: np.ndarray, t: np.ndarray, *, for_batches: bool = False) -> None:
        self._dtype = np.dtype(dtype_name)
        self._backend = backend
        numpy = backend.name == "numpy"  # NumPy may share the (read-only) host array; others get a copy
        self.pixels = backend.asarray(x, copy=not numpy) if for_batches and x.dtype == np.uint8 else None
        self.n = int(x.shape[0])
        self.labels = t
        self.t = backend.asarray(t, copy=False)
        self._lock = threading.Lock()
        self._u8 = x if numpy and x.dtype == np.uint8 else None
        self._x: Array | None = None
        if self._u8 is None:
            self._convert(x)

    def _convert(self, x: np.ndarray) -> None:
        if x.dtype == np.uint8:
            x = np.multiply(x, self._dtype.type(1.0 / 255.0), dtype=self._dtype)
        elif x.dtype != self._dtype:
            x = x.astype(self._dtype)
        self._x = self._backend.asarray(x, copy=False)

    @property
    def x(self) -> Array:
        if self._x is None:
            self.prepare()
        return self._x

    def prepare(self) -> None:
        """Convert the images to the network's dtype now, if not yet done (thread-safe)."""
        with self._lock:
            if self._x is None:
                self._convert(self._u8)

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

    def onehot(self, n_classes: int) -> np.ndarray:
        """Host one-hot targets: shape (N, K), the network's dtype."""
        out = np.zeros((self.n, n_classes), self._dtype)
        out[np.arange(self.n), self.labels] = 1
        return out
