"""The data operations the trainer and the data sets call: gathering rows and turning pixels into floats.

:class:`DataOps` holds the portable versions; :class:`NumpyDataOps` is NumPy's override, which
writes into buffers it is given (host memory the trainer reuses from step to step) instead of
allocating, and gathers with ``numpy.take`` straight from host indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import compat

__all__ = ["PIXEL_SCALE", "DataOps", "NumpyDataOps", "TablePixelOps"]

Array = Any

#: uint8 pixels are divided by this to lie in [0, 1], as the book's ``load_mnist(normalize=True)`` does.
PIXEL_SCALE = 255.0


class DataOps:
    """Portable data operations for namespace ``xp``."""

    xp: Any

    def buffer(self, shape: tuple[int, ...], dtype: Any) -> Array | None:
        """A reusable output buffer of ``shape`` and ``dtype`` for the ``out=`` of the operations below, or None (allocate)."""
        return None

    def take_rows(self, a: Array, idx: np.ndarray, out: Array | None = None) -> Array:
        """Rows ``idx`` (host int64, shape (M,)) of ``a`` (N, ...) on ``a``'s device: shape (M, ...)."""
        xp = self.xp
        return xp.take(a, xp.asarray(idx, device=compat.device(a)), axis=0)

    def masked(self, x: Array, keep: Array) -> Array:
        """``x`` where ``keep`` (a boolean array of ``x``'s shape) is True, 0 elsewhere: ReLU's and Dropout's gradient gate."""
        return self.xp.where(keep, x, 0.0)

    def to_float(self, images: Array, dtype: Any, out: Array | None = None) -> Array:
        """``images`` in floating ``dtype``: integer pixels divided by 255 (the one pixel scaling), floats converted."""
        xp = self.xp
        if images.dtype == dtype:
            return images
        if xp.isdtype(images.dtype, "integral"):
            return xp.astype(images, dtype) / PIXEL_SCALE
        return xp.astype(images, dtype)


class NumpyDataOps(DataOps):
    """NumPy's data operations: into the caller's buffers, with no temporary arrays; gates by a product."""

    def masked(self, x: Array, keep: Array) -> Array:
        """``x * keep``: NumPy's ``where`` on an irregular mask is eight times slower than a product (a branch an element).

        Equal to the portable ``where`` for finite ``x``; an infinite or NaN entry of ``x`` where
        ``keep`` is False gives NaN instead of 0.
        """
        return x * keep

    def buffer(self, shape: tuple[int, ...], dtype: Any) -> Array | None:
        return np.empty(shape, dtype)

    def take_rows(self, a: Array, idx: np.ndarray, out: Array | None = None) -> Array:
        if out is None:
            return np.take(a, idx, axis=0)
        return np.take(a, idx, axis=0, out=out[: idx.shape[0]], mode="clip")

    def to_float(self, images: Array, dtype: Any, out: Array | None = None) -> Array:
        if images.dtype == dtype:
            return images
        target = out[: images.shape[0]] if out is not None else None
        if images.dtype.kind in "iub":
            return np.divide(images, np.asarray(PIXEL_SCALE, dtype), out=target, dtype=dtype)
        if target is None:
            return images.astype(dtype)
        target[...] = images
        return target


class TablePixelOps(DataOps):
    """Pixels turned into floats through a 256-entry table of the exact quotients ``i / 255``.

    For a library whose division by a constant is not correctly rounded (XLA multiplies by the
    reciprocal: a quarter of the float32 pixels come out one unit in the last place off): a
    gather from the host-computed table gives exactly the book's ``load_mnist(normalize=True)``
    values, and costs no more than the division.
    """

    def to_float(self, images: Array, dtype: Any, out: Array | None = None) -> Array:
        xp = self.xp
        if images.dtype != xp.uint8:
            return super().to_float(images, dtype, out)
        table = np.arange(256, dtype=np.float64).astype(_host_dtype(dtype)) / _host_dtype(dtype).type(PIXEL_SCALE)
        table_d = xp.asarray(table, device=compat.device(images))
        flat = xp.reshape(xp.astype(images, xp.int32), (-1,))
        return xp.reshape(xp.take(table_d, flat, axis=0), tuple(images.shape))


def _host_dtype(dtype: Any) -> np.dtype:
    """The NumPy dtype of the same name as a floating dtype of any library."""
    from .registry import dtype_name

    return np.dtype(dtype_name(dtype))
