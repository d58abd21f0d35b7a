"""Operations the layers and the trainer call, written once for any array-API namespace; a backend may override one.

Like thinc's ``Ops``: :class:`Ops` holds the portable versions, in array-API code that every
namespace runs; a backend's registry row may name a subclass that overrides single
operations with the library's own (NumPy's strided views, PyTorch's ``conv2d``, JAX's
``lax.conv_general_dilated``). The portable version stays the reference the tests compare
every override against. Never a whole layer or network per backend: only operations.

The portable operations never write into an array (JAX's are immutable), read nothing back to
the host and take every size from shapes, so they trace under ``jax.jit``; they loop over the
offsets of a window, never over the batch. Their arguments are checked by the caller (the
public functions of :mod:`xpnet.util` and the layers), not here.

``ops_for(xp)`` gives the namespace's operations (one instance per namespace).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, NamedTuple

from . import compat
from .ops_data import DataOps
from .ops_norm import NormOps

__all__ = ["ConvCache", "Ops", "PoolCache", "ops_for", "window_output_size"]

Array = Any


def window_output_size(size: int, window: int, stride: int, pad: int) -> int:
    """Number of window positions along an axis of ``size`` padded by ``pad`` on each side (the book's ``out_h``)."""
    return (size + 2 * pad - window) // stride + 1


class ConvCache(NamedTuple):
    """What ``conv2d`` keeps for ``conv2d_backward``.

    ``col`` (N*out_h*out_w, C*FH*FW) and ``col_W`` (C*FH*FW, FN) are the book's arrays where the
    operations build them, else None; ``state`` is an override's own.
    """

    x: Array
    W: Array
    stride: int
    pad: int
    col: Array | None
    col_W: Array | None
    state: Any = None


class PoolCache(NamedTuple):
    """What ``max_pool`` keeps for ``max_pool_backward``.

    ``arg_max`` (N, C, out_h, out_w): the position of each window's first maximum, counted
    row-major over (pool_h, pool_w) (the book's ``arg_max`` values), where the operations
    compute it, else None; ``state`` is an override's own.
    """

    x_shape: tuple[int, int, int, int]
    pool_h: int
    pool_w: int
    stride: int
    pad: int
    arg_max: Array | None
    state: Any = None


class Ops(NormOps, DataOps):
    """The portable operations, for namespace ``xp``.

    Parameters
    ----------
    xp : module
        The array namespace (the compat wrapper where one is needed).
    """

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self.xp, '__name__', self.xp)!r})"

    # --- windows: the chapter 7 layouts -----------------------------------------------------
    def _zeros(self, like: Array, shape: tuple[int, ...]) -> Array:
        return self.xp.zeros(shape, dtype=like.dtype, device=compat.device(like))

    def _pad_hw(self, x: Array, top: int, bottom: int, left: int, right: int) -> Array:
        """``x`` (N, C, H, W) with zero rows above and below and zero columns left and right (a fresh array)."""
        xp = self.xp
        n, c, h, w = (int(s) for s in x.shape)
        if left or right:
            x = xp.concat([p for p in (self._zeros(x, (n, c, h, left)) if left else None, x,
                                       self._zeros(x, (n, c, h, right)) if right else None) if p is not None], axis=3)
            w += left + right
        if top or bottom:
            x = xp.concat([p for p in (self._zeros(x, (n, c, top, w)) if top else None, x,
                                       self._zeros(x, (n, c, bottom, w)) if bottom else None) if p is not None], axis=2)
        return x

    def _windows(self, x: Array, fh: int, fw: int, stride: int, pad: int) -> list[Array]:
        """The (N, C, out_h, out_w) views of the padded ``x`` at each window offset, row-major over (fh, fw)."""
        n, c, h, w = (int(s) for s in x.shape)
        oh, ow = window_output_size(h, fh, stride, pad), window_output_size(w, fw, stride, pad)
        img = self._pad_hw(x, pad, pad, pad, pad) if pad else x
        return [img[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
                for i in range(fh) for j in range(fw)]

    def _scatter(self, part: Callable[[int], Array], shape: tuple[int, ...], fh: int, fw: int, stride: int,
                 pad: int) -> Array:
        """(N, C, H, W): the sum of the windows ``part(k)`` (N, C, out_h, out_w) put back where ``_windows`` took them.

        Written without writes: the offsets ``(i, j)`` with the same remainders modulo ``stride``
        land on one coarse grid, shifted by ``(i // stride, j // stride)`` (zero padding, then a
        sum); the ``stride**2`` grids interleave into the padded image, which is cropped.
        """
        xp, s = self.xp, stride
        n, c, h, w = shape
        oh, ow = window_output_size(h, fh, s, pad), window_output_size(w, fw, s, pad)
        qh, qw = (fh - 1) // s, (fw - 1) // s
        grids = [[self._phase(part, rh, rw, fh, fw, s, (oh, ow, qh, qw)) for rw in range(s)] for rh in range(s)]
        like = next(g for row in grids for g in row if g is not None)
        hc, wc = oh + qh, ow + qw
        grids = [[self._zeros(like, (n, c, hc, wc)) if g is None else g for g in row] for row in grids]
        if s == 1:
            img = grids[0][0]
        else:
            rows = [xp.reshape(xp.stack(row, axis=4), (n, c, hc, wc * s)) for row in grids]
            img = xp.reshape(xp.stack(rows, axis=3), (n, c, hc * s, wc * s))
        img = self._pad_hw(img, 0, max(0, pad + h - hc * s), 0, max(0, pad + w - wc * s))
        return img[:, :, pad:pad + h, pad:pad + w]

    def _phase(self, part: Callable[[int], Array], rh: int, rw: int, fh: int, fw: int, s: int,
               sizes: tuple[int, int, int, int]) -> Array | None:
        """Coarse grid (N, C, out_h + qh, out_w + qw) of the offsets ``(i, j) = (rh, rw)`` modulo ``s``; None if none."""
        oh, ow, qh, qw = sizes
        total = None
        for i in range(rh, fh, s):
            line = None
            for j in range(rw, fw, s):
                p = self._pad_hw(part(i * fw + j), 0, 0, j // s, qw - j // s)
                line = p if line is None else line + p
            if line is not None:
                line = self._pad_hw(line, i // s, qh - i // s, 0, 0)
                total = line if total is None else total + line
        return total

    def im2col(self, x: Array, fh: int, fw: int, stride: int, pad: int) -> Array:
        """The book's ``im2col``: ``x`` (N, C, H, W) to (N*out_h*out_w, C*fh*fw), rows (n, y, x), columns (c, i, j)."""
        xp = self.xp
        n, c = int(x.shape[0]), int(x.shape[1])
        win = xp.stack(self._windows(x, fh, fw, stride, pad), axis=2)  # (N, C, fh*fw, out_h, out_w)
        oh, ow = int(win.shape[3]), int(win.shape[4])
        return xp.reshape(xp.permute_dims(win, (0, 3, 4, 1, 2)), (n * oh * ow, c * fh * fw))

    def col2im(self, col: Array, input_shape: tuple[int, ...], fh: int, fw: int, stride: int, pad: int) -> Array:
        """The book's ``col2im`` (the adjoint of ``im2col``): (N*out_h*out_w, C*fh*fw) to ``input_shape`` (N, C, H, W)."""
        xp = self.xp
        n, c, h, w = input_shape
        oh, ow = window_output_size(h, fh, stride, pad), window_output_size(w, fw, stride, pad)
        win = xp.permute_dims(xp.reshape(col, (n, oh, ow, c, fh * fw)), (0, 3, 4, 1, 2))  # (N, C, fh*fw, oh, ow)
        return self._scatter(lambda k: win[:, :, k, :, :], (n, c, h, w), fh, fw, stride, pad)

    # --- convolution and pooling (chapter 7.4) ----------------------------------------------
    def conv2d(self, x: Array, W: Array, b: Array | float, stride: int, pad: int) -> tuple[Array, ConvCache]:
        """Convolution of ``x`` (N, C, H, W) with filters ``W`` (FN, C, FH, FW) plus ``b`` (FN,) or a number.

        Returns the output (N, FN, out_h, out_w) and the cache for :meth:`conv2d_backward`.
        """
        xp = self.xp
        fn, _, fh, fw = (int(s) for s in W.shape)
        n = int(x.shape[0])
        col = self.im2col(x, fh, fw, stride, pad)
        col_W = xp.reshape(W, (fn, -1)).T
        out = xp.matmul(col, col_W) + b
        oh = window_output_size(int(x.shape[2]), fh, stride, pad)
        out = xp.permute_dims(xp.reshape(out, (n, oh, -1, fn)), (0, 3, 1, 2))
        return out, ConvCache(x, W, stride, pad, col, col_W)

    def conv2d_backward(self, dout: Array, cache: ConvCache, *, compute_dx: bool = True
                        ) -> tuple[Array | None, Array, Array]:
        """Gradients ``(dx or None, dW, db)`` of :meth:`conv2d` for ``dout`` (N, FN, out_h, out_w)."""
        xp = self.xp
        W, col, col_W = cache.W, cache.col, cache.col_W
        if col is None or col_W is None:
            raise ValueError(f"{type(self).__name__}.conv2d_backward: the cache holds no columns (made by another Ops)")
        fn, _, fh, fw = (int(s) for s in W.shape)
        d = xp.reshape(xp.permute_dims(dout, (0, 2, 3, 1)), (-1, fn))
        db = xp.sum(d, axis=0)
        dW = xp.reshape(xp.matmul(col.T, d).T, tuple(W.shape))
        if not compute_dx:
            return None, dW, db
        dcol = xp.matmul(d, col_W.T)
        shape = tuple(int(s) for s in cache.x.shape)
        return self.col2im(dcol, shape, fh, fw, cache.stride, cache.pad), dW, db

    def max_pool(self, x: Array, ph: int, pw: int, stride: int, pad: int) -> tuple[Array, PoolCache]:
        """Max pooling of ``x`` (N, C, H, W) over ``ph`` x ``pw`` windows (zero padding, as the book pads).

        Returns the output (N, C, out_h, out_w) and the cache for :meth:`max_pool_backward`.
        """
        xp = self.xp
        win = xp.stack(self._windows(x, ph, pw, stride, pad), axis=2)  # (N, C, ph*pw, out_h, out_w)
        n, c, h, w = (int(s) for s in x.shape)
        return xp.max(win, axis=2), PoolCache((n, c, h, w), ph, pw, stride, pad, xp.argmax(win, axis=2))

    def max_pool_backward(self, dout: Array, cache: PoolCache) -> Array:
        """Gradient (N, C, H, W) of :meth:`max_pool`: each window's ``dout`` goes to its first maximum."""
        xp, arg = self.xp, cache.arg_max
        return self._scatter(lambda k: xp.where(arg == k, dout, 0.0), cache.x_shape, cache.pool_h, cache.pool_w,
                             cache.stride, cache.pad)


_OPS: dict[int, Ops] = {}  # by id of the namespace


def ops_for(xp: Any) -> Ops:
    """The operations of namespace ``xp``: its row's subclass of :class:`Ops`, or the portable ones (one instance per namespace)."""
    ops = _OPS.get(id(xp))
    if ops is None:
        from .registry import row_for

        path = row_for(xp).ops
        cls: type[Ops] = Ops
        if path is not None:
            module, _, name = path.partition(":")
            cls = getattr(importlib.import_module(module, __package__), name)
        ops = _OPS[id(xp)] = cls(xp)
    return ops
