"""The convolution layer of chapter 7.4: ``Convolution``, filters slid over images as one matrix product."""

from __future__ import annotations

import numbers
from collections.abc import MutableMapping
from typing import Any

from .._array import compat
from .._array.checks import describe, require_array, require_dout, require_floating
from .._array.numbers import require_non_negative_int, require_positive_int
from .._array.ops import ConvCache, ops_for
from .._array.trust import is_trusted
from ..util import conv_output_size
from ._contract import own_parameters, parameter, require_forward

__all__ = ["Convolution"]

Array = Any


def _check_params(W: Any, b: Any, where: str) -> None:
    """``W`` (FN, C, FH, FW) floating; ``b`` (FN,) floating of ``W``'s backend and device, or a Python number."""
    require_array(W, where, "W")
    if compat.is_array(b):
        xp = compat.namespace(W, b, where=where)
        require_floating(xp, b, where, "b")
        if b.ndim != 1 or b.shape[0] != W.shape[0]:
            raise ValueError(f"{where}: b must have shape (FN,) = ({W.shape[0]},) for W {tuple(W.shape)}, got {tuple(b.shape)}")
    elif isinstance(b, bool) or not isinstance(b, numbers.Real):
        raise TypeError(f"{where}: b must be an array of shape (FN,) or a number, got {describe(b)}")
    else:
        xp = compat.namespace(W, where=where)
    require_floating(xp, W, where, "W")
    if W.ndim != 4:
        raise ValueError(f"{where}: W must have shape (FN, C, FH, FW), got {tuple(W.shape)}")


def _check_input(x: Any, W: Array, b: Array | float, stride: int, pad: int, where: str) -> Any:
    """Namespace of ``x``: a floating (N, C, H, W) batch of ``W``'s backend and device, with W's C, the filter fitting."""
    if is_trusted():
        return compat.namespace_of(x)
    require_array(x, where, "x")
    xp = compat.namespace(x, W, b, where=where)
    require_floating(xp, x, where, "x")
    if x.ndim != 4 or x.shape[1] != W.shape[1]:
        raise ValueError(f"{where}: x must have shape (N, C, H, W) with C = {W.shape[1]} (W is {tuple(W.shape)}), "
                         f"got {tuple(x.shape)}")
    conv_output_size(int(x.shape[2]), int(W.shape[2]), stride, pad, where=f"{where} (height)")
    conv_output_size(int(x.shape[3]), int(W.shape[3]), stride, pad, where=f"{where} (width)")
    return xp


class Convolution:
    """Convolution layer: ``out[n, f] = sum over c, i, j of W[f, c, i, j] * x_padded[n, c, y*stride + i, x*stride + j] + b[f]``.

    Parameters
    ----------
    W : array, shape (FN, C, FH, FW), real floating
        The filters.
    b : array, shape (FN,), real floating, or a number
        One bias per filter (a number adds the same to every output, as the book's
        ``ch07/apply_filter.py`` does with ``b = 0``).
    stride : int, positive
    pad : int, non-negative
        Zeros added on each side of H and W.
    params, keys : optional
        Instead of ``W`` and ``b``: read them from ``params[keys[0]]`` and ``params[keys[1]]``, so a
        network owns its parameters (an optimizer that replaces ``params["W1"]`` is seen at once).
    name : str, optional
        For error messages (``"Conv1"``).

    Attributes
    ----------
    x : array, shape (N, C, H, W)
        The last input.
    col : array, shape (N*out_h*out_w, C*FH*FW), or None
        The last input's windows in the book's ``im2col`` layout, where the backend's operations
        build it (the portable ones); None where they keep another (NumPy, PyTorch, JAX).
    col_W : array, shape (C*FH*FW, FN), or None
        The filters as columns, where the operations keep them.
    dW, db : arrays of shapes (FN, C, FH, FW) and (FN,)
        The parameter gradients after ``backward``.

    Notes
    -----
    Output size: ``out_h = (H + 2*pad - FH) // stride + 1`` (likewise ``out_w``). Mixed float
    dtypes promote as the standard says (float32 images and float64 filters give float64).
    """

    _params: MutableMapping[str, Any]
    keys: tuple[str, ...]
    name: str
    W = parameter(0, "Filters, shape (FN, C, FH, FW).")
    b = parameter(1, "Biases, shape (FN,), or a number.")

    def __init__(
        self, W: Array | None = None, b: Array | float | None = None, stride: int = 1, pad: int = 0, *,
        params: MutableMapping[str, Any] | None = None, keys: tuple[str, str] = ("W", "b"), name: str | None = None,
    ) -> None:
        own_parameters(self, {"W": W, "b": b}, params, keys, name)
        _check_params(self.W, self.b, self.name)
        self.stride = require_positive_int(stride, self.name, "stride")
        self.pad = require_non_negative_int(pad, self.name, "pad")
        self.x: Array = None  # set by forward
        self.dW: Array | None = None
        self.db: Array | None = None
        self._cache: ConvCache | None = None
        self._out_shape: tuple[int, ...] = ()

    @property
    def col(self) -> Array | None:
        """The last ``forward``'s ``im2col`` columns (N*out_h*out_w, C*FH*FW), where the backend's operations keep them."""
        return self._cache.col if self._cache is not None else None

    @property
    def col_W(self) -> Array | None:
        """The last ``forward``'s filters as columns (C*FH*FW, FN), where the backend's operations keep them."""
        return self._cache.col_W if self._cache is not None else None

    #: ``backward`` may skip the input gradient (``compute_dx=False``), as a network's first layer does.
    takes_compute_dx = True

    @property
    def grads(self) -> dict[str, Array]:
        """The parameter gradients of the last ``backward`` by the keys of ``params``: ``dW`` and ``db``."""
        return {self.keys[0]: self.dW, self.keys[1]: self.db}

    def forward(self, x: Array) -> Array:
        """Convolve a batch ``x`` (N, C, H, W); returns (N, FN, out_h, out_w)."""
        W, b = self.W, self.b
        xp = _check_input(x, W, b, self.stride, self.pad, f"{self.name}.forward")
        out, cache = ops_for(xp).conv2d(x, W, b, self.stride, self.pad)
        self.x, self._cache = x, cache
        self._out_shape = tuple(int(s) for s in out.shape)
        return out

    def backward(self, dout: Array, *, compute_dx: bool = True) -> Array | None:
        """Gradients of the last ``forward``: ``dW``, ``db``, and ``dx`` (N, C, H, W) returned.

        Parameters
        ----------
        dout : array, shape (N, FN, out_h, out_w), real floating
        compute_dx : bool
            False skips ``dx`` (a network's first layer needs no input gradient) and returns None.
        """
        require_forward(self, self._cache)
        cache: ConvCache = self._cache  # type: ignore[assignment]
        xp = require_dout(dout, cache.W, self._out_shape, f"{self.name}.backward")
        dx, self.dW, self.db = ops_for(xp).conv2d_backward(dout, cache, compute_dx=compute_dx)
        return dx

    def __repr__(self) -> str:
        b = tuple(self.b.shape) if compat.is_array(self.b) else self.b
        return f"{self.name}(W={tuple(self.W.shape)}, b={b}, stride={self.stride}, pad={self.pad})"
