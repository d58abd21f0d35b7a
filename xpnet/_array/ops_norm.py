"""The backward pass of Batch Normalization as an operation: the book's lines, and NumPy's closed form.

:class:`NormOps` holds the book's computational graph, node by node (``dxn``, ``dxc``, ``dstd``,
``dvar``, ``dmu``). :class:`NumpyNormOps` computes the same gradient in its closed form,
``dx = gamma / (N std) * (N dout - dbeta - xn * dgamma)``, with eight passes over the batch
instead of thirteen (each NumPy call costs more than its arithmetic at a hidden layer's size).
They agree to rounding (the closed form uses ``sum(xn) == 0``, exact up to rounding).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["NormOps", "NumpyNormOps"]

Array = Any


class NormOps:
    """The portable backward pass of Batch Normalization (the book's ``__backward``)."""

    xp: Any

    def batch_norm_backward(self, dout: Array, xn: Array, xc: Array, std: Array, gamma: Array,
                            batch_size: int) -> tuple[Array, Array, Array]:
        """``(dx, dgamma, dbeta)`` of a training forward that kept ``xn``, ``xc`` (N, D) and ``std`` (D,); ``dout`` (N, D)."""
        xp = self.xp
        dbeta = xp.sum(dout, axis=0)
        dgamma = xp.sum(xn * dout, axis=0)
        dxn = gamma * dout
        dxc = dxn / std
        dstd = -xp.sum((dxn * xc) / (std * std), axis=0)
        dvar = 0.5 * dstd / std
        dxc = dxc + (2.0 / batch_size) * xc * dvar
        dmu = xp.sum(dxc, axis=0)
        dx = dxc - dmu / batch_size
        return dx, dgamma, dbeta


class NumpyNormOps(NormOps):
    """NumPy's backward pass of Batch Normalization: the closed form, in place on its own temporaries."""

    def batch_norm_backward(self, dout: Array, xn: Array, xc: Array, std: Array, gamma: Array,
                            batch_size: int) -> tuple[Array, Array, Array]:
        dbeta = np.add.reduce(dout, axis=0)
        dgamma = np.add.reduce(xn * dout, axis=0)
        correction = xn * dgamma
        correction += dbeta
        dx = dout * float(batch_size)
        dx -= correction
        dx *= gamma / (std * float(batch_size))
        return dx, dgamma, dbeta
