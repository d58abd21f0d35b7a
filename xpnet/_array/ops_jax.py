"""JAX's operations: the convolution by ``lax.conv_general_dilated``, its gradients by transposing it.

The convolution is linear in the input and in the filters, so ``jax.linear_transpose`` gives
``dx`` and ``dW`` without recomputing the forward pass. Windows (``im2col``, ``col2im``) and max
pooling are the portable operations (plain slices that XLA fuses, with the book's
first-maximum rule on every device). Each operation runs as one compiled function, so eager
calls dispatch once instead of once per slice; where a caller compiles the whole step with
``jax.jit``, they are inlined into it.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from .ops import ConvCache, Ops, PoolCache
from .ops_data import TablePixelOps

__all__ = ["JaxOps"]

Array = Any

_LAYOUT = ("NCHW", "OIHW", "NCHW")


def _conv(x: Array, W: Array, stride: int, pad: int) -> Array:
    return lax.conv_general_dilated(x, W, (stride, stride), [(pad, pad), (pad, pad)], dimension_numbers=_LAYOUT)


@partial(jax.jit, static_argnames=("stride", "pad"))
def _conv_forward(x: Array, W: Array, b: Array, *, stride: int, pad: int) -> Array:
    return _conv(x, W, stride, pad) + (jnp.reshape(b, (-1, 1, 1)) if b.ndim == 1 else b)


@partial(jax.jit, static_argnames=("stride", "pad", "compute_dx"))
def _conv_grads(dout: Array, x: Array, W: Array, *, stride: int, pad: int, compute_dx: bool
                ) -> tuple[Array | None, Array, Array]:
    (dW,) = jax.linear_transpose(lambda w: _conv(x, w, stride, pad), W)(dout)
    dx = jax.linear_transpose(lambda a: _conv(a, W, stride, pad), x)(dout)[0] if compute_dx else None
    return dx, dW, jnp.sum(dout, axis=(0, 2, 3))


def _pool(ops: Ops, x: Array, ph: int, pw: int, stride: int, pad: int) -> tuple[Array, Array]:
    out, cache = ops.max_pool(x, ph, pw, stride, pad)
    return out, cache.arg_max


def _unpool(ops: Ops, dout: Array, arg_max: Array, x_shape: tuple[int, int, int, int], ph: int, pw: int, stride: int,
            pad: int) -> Array:
    return ops.max_pool_backward(dout, PoolCache(x_shape, ph, pw, stride, pad, arg_max))


class JaxOps(TablePixelOps, Ops):
    """:class:`~xpnet._array.ops.Ops` for JAX arrays (eager or traced by ``jax.jit``)."""

    def __init__(self, xp: Any) -> None:
        super().__init__(xp)
        portable = Ops(xp)
        self._im2col = jax.jit(portable.im2col, static_argnums=(1, 2, 3, 4))
        self._col2im = jax.jit(portable.col2im, static_argnums=(1, 2, 3, 4, 5))
        self._pool = jax.jit(partial(_pool, portable), static_argnums=(1, 2, 3, 4))
        self._unpool = jax.jit(partial(_unpool, portable), static_argnums=(2, 3, 4, 5, 6))

    def im2col(self, x: Array, fh: int, fw: int, stride: int, pad: int) -> Array:
        """The portable ``im2col``, compiled."""
        return self._im2col(x, fh, fw, stride, pad)

    def col2im(self, col: Array, input_shape: tuple[int, ...], fh: int, fw: int, stride: int, pad: int) -> Array:
        """The portable ``col2im``, compiled."""
        return self._col2im(col, tuple(input_shape), fh, fw, stride, pad)

    def conv2d(self, x: Array, W: Array, b: Array | float, stride: int, pad: int) -> tuple[Array, ConvCache]:
        """``lax.conv_general_dilated`` in the layout NCHW / OIHW, plus ``b``."""
        dtype = jnp.result_type(x, W, b)
        x, W = x.astype(dtype), W.astype(dtype)
        out = _conv_forward(x, W, jnp.asarray(b, dtype=dtype), stride=stride, pad=pad)
        return out, ConvCache(x, W, stride, pad, None, None)

    def conv2d_backward(self, dout: Array, cache: ConvCache, *, compute_dx: bool = True
                        ) -> tuple[Array | None, Array, Array]:
        """``dx`` (unless skipped) and ``dW`` by transposing the convolution; ``db`` a sum."""
        dtype = jnp.result_type(dout, cache.x)
        x, W = cache.x.astype(dtype), cache.W.astype(dtype)
        return _conv_grads(dout.astype(dtype), x, W, stride=cache.stride, pad=cache.pad, compute_dx=compute_dx)

    def max_pool(self, x: Array, ph: int, pw: int, stride: int, pad: int) -> tuple[Array, PoolCache]:
        """The portable max pooling, compiled."""
        out, arg = self._pool(x, ph, pw, stride, pad)
        n, c, h, w = (int(s) for s in x.shape)
        return out, PoolCache((n, c, h, w), ph, pw, stride, pad, arg)

    def max_pool_backward(self, dout: Array, cache: PoolCache) -> Array:
        """The portable max-pooling backward, compiled."""
        window = (cache.x_shape, cache.pool_h, cache.pool_w, cache.stride, cache.pad)
        return self._unpool(dout, cache.arg_max, *window)
