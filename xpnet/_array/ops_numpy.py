"""NumPy's operations: windows as strided views, convolutions as batched BLAS products, sums in place.

The same numbers as the portable :class:`~xpnet._array.ops.Ops` (to rounding), faster on NumPy:

* windows are views (``sliding_window_view``), copied once into the layout the product needs;
* a convolution keeps each sample's columns as (C*FH*FW, out_h*out_w), so ``W @ col`` gives
  the output (N, FN, out_h, out_w) contiguous, with no transpose, and the weight gradient is a
  batched product too; nothing is computed in a wider dtype than the inputs';
* ``col2im`` adds each offset's window into a fresh array of its own;
* pooling keeps each window's first maximum as it goes (the book's ``argmax``, ties included)
  and routes ``dout`` with products instead of ``where`` (a branch per element is slow in NumPy).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .ops import ConvCache, Ops, PoolCache, window_output_size
from .ops_data import NumpyDataOps
from .ops_norm import NumpyNormOps

__all__ = ["NumpyOps"]

Array = Any


def _padded(x: np.ndarray, pad: int) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x


def _patches(x: np.ndarray, fh: int, fw: int, stride: int, pad: int) -> np.ndarray:
    """View (N, C, out_h, out_w, fh, fw) of the windows of the padded ``x``."""
    view = sliding_window_view(_padded(x, pad), (fh, fw), axis=(2, 3))
    return view[:, :, ::stride, ::stride] if stride > 1 else view


def _add_windows(win: np.ndarray, shape: tuple[int, ...], stride: int, pad: int) -> np.ndarray:
    """(N, C, H, W): the windows ``win`` (N, C, fh, fw, out_h, out_w) added back where they were taken."""
    n, c, h, w = shape
    fh, fw, oh, ow = win.shape[2:]
    img = np.zeros((n, c, h + 2 * pad + stride - 1, w + 2 * pad + stride - 1), dtype=win.dtype)
    for i in range(fh):
        for j in range(fw):
            img[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += win[:, :, i, j]
    return img[:, :, pad:pad + h, pad:pad + w]


class NumpyOps(NumpyDataOps, NumpyNormOps, Ops):
    """:class:`~xpnet._array.ops.Ops` for NumPy arrays."""

    def im2col(self, x: Array, fh: int, fw: int, stride: int, pad: int) -> Array:
        """The book's ``im2col`` layout, copied once from a strided view."""
        view = _patches(x, fh, fw, stride, pad)
        n, c, oh, ow = view.shape[:4]
        col = view.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * fh * fw)
        return col if col.flags.writeable else col.copy()  # a fresh array even where the reshape is a view

    def col2im(self, col: Array, input_shape: tuple[int, ...], fh: int, fw: int, stride: int, pad: int) -> Array:
        """The book's ``col2im``, adding into a fresh array."""
        n, c, h, w = input_shape
        oh, ow = window_output_size(h, fh, stride, pad), window_output_size(w, fw, stride, pad)
        win = col.reshape(n, oh, ow, c, fh, fw).transpose(0, 3, 4, 5, 1, 2)
        return _add_windows(win, input_shape, stride, pad)

    def conv2d(self, x: Array, W: Array, b: Array | float, stride: int, pad: int) -> tuple[Array, ConvCache]:
        """Convolution as one batched product ``W (FN, C*FH*FW) @ col (N, C*FH*FW, out_h*out_w)``."""
        dtype = np.result_type(x, W, b)
        x, W = x.astype(dtype, copy=False), W.astype(dtype, copy=False)
        fn, c, fh, fw = W.shape
        view = _patches(x, fh, fw, stride, pad)
        n, _, oh, ow = view.shape[:4]
        col = view.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * fh * fw, oh * ow)
        W2 = W.reshape(fn, -1)
        out = np.matmul(W2, col)
        out += np.reshape(b, (fn, 1)) if isinstance(b, np.ndarray) else b
        return out.reshape(n, fn, oh, ow), ConvCache(x, W, stride, pad, None, W2.T, col)

    def conv2d_backward(self, dout: Array, cache: ConvCache, *, compute_dx: bool = True
                        ) -> tuple[Array | None, Array, Array]:
        """``dW`` and ``dx`` as batched products over the samples; ``db`` one reduction."""
        col, W = cache.state, cache.W
        dtype = np.result_type(dout, col)
        fn, c, fh, fw = W.shape
        n = dout.shape[0]
        d = dout.astype(dtype, copy=False).reshape(n, fn, -1)
        db = np.add.reduce(d, axis=(0, 2))
        dW = np.add.reduce(np.matmul(d, col.astype(dtype, copy=False).transpose(0, 2, 1)), axis=0).reshape(W.shape)
        if not compute_dx:
            return None, dW, db
        dcol = np.matmul(W.reshape(fn, -1).T.astype(dtype, copy=False), d)  # (N, C*FH*FW, out_h*out_w)
        oh, ow = dout.shape[2:]
        dx = _add_windows(dcol.reshape(n, c, fh, fw, oh, ow), cache.x.shape, cache.stride, cache.pad)
        return dx, dW, db

    def max_pool(self, x: Array, ph: int, pw: int, stride: int, pad: int) -> tuple[Array, PoolCache]:
        """Running maximum over the window offsets; ``arg_max`` moves only on a strictly larger value."""
        wins = self._views(x, ph, pw, stride, pad)
        out = wins[0].copy()
        small = np.int8 if len(wins) <= 127 else np.intp  # the offsets, in as few bytes as they fit
        arg = np.zeros(out.shape, dtype=small)
        for k in range(1, len(wins)):
            np.maximum(arg, np.multiply(wins[k] > out, small(k)), out=arg)  # offsets only grow: a larger one is later
            np.maximum(out, wins[k], out=out)
        n, c, h, w = x.shape
        return out, PoolCache((n, c, h, w), ph, pw, stride, pad, arg.astype(np.intp), arg)

    def max_pool_backward(self, dout: Array, cache: PoolCache) -> Array:
        """Each window's ``dout`` times the indicator of its first maximum, written into a fresh image.

        A cache from the portable ``max_pool`` (no ``state``) is read through its ``arg_max``.
        """
        n, c, h, w = cache.x_shape
        arg = cache.arg_max if cache.state is None else cache.state
        ph, pw, s, pad = cache.pool_h, cache.pool_w, cache.stride, cache.pad
        oh, ow = dout.shape[2:]
        shape = (n, c, h + 2 * pad + s - 1, w + 2 * pad + s - 1)
        tiled = ph == pw == s and s * oh == h + 2 * pad and s * ow == w + 2 * pad  # each pixel in one window
        img = np.empty(shape, dtype=dout.dtype) if tiled else np.zeros(shape, dtype=dout.dtype)
        finite = bool(np.isfinite(dout).all())  # dout * False is NaN for an infinite dout: route those with where
        for k in range(ph * pw):
            i, j = divmod(k, pw)
            first, view = arg == k, img[:, :, i:i + s * oh:s, j:j + s * ow:s]
            part = dout * first if finite else np.where(first, dout, 0.0)
            if tiled:
                view[...] = part
            else:
                view += part
        return img[:, :, pad:pad + h, pad:pad + w]

    def _views(self, x: Array, ph: int, pw: int, stride: int, pad: int) -> list[Array]:
        """The (N, C, out_h, out_w) views of the padded ``x`` at each window offset, row-major over (ph, pw)."""
        view = _patches(x, ph, pw, stride, pad)
        return [view[:, :, :, :, i, j] for i in range(ph) for j in range(pw)]
