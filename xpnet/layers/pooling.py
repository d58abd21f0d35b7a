"""The pooling layer of chapter 7.5: ``Pooling``, the maximum of each window."""

from __future__ import annotations

from typing import Any

from .._array.checks import float_input, require_dout
from .._array.numbers import require_non_negative_int, require_positive_int
from .._array.ops import PoolCache, ops_for
from .._array.trust import is_trusted
from ..util import conv_output_size
from ._contract import require_forward

__all__ = ["Pooling"]

Array = Any


def _check_input(x: Any, pool_h: int, pool_w: int, stride: int, pad: int, where: str) -> Any:
    """Namespace of ``x``: a floating (N, C, H, W) batch that the padded window fits in."""
    xp = float_input(x, where)
    if is_trusted():
        return xp
    if x.ndim != 4:
        raise ValueError(f"{where}: x must have shape (N, C, H, W), got {tuple(x.shape)}")
    conv_output_size(int(x.shape[2]), pool_h, stride, pad, where=f"{where} (height)", window="pooling window")
    conv_output_size(int(x.shape[3]), pool_w, stride, pad, where=f"{where} (width)", window="pooling window")
    return xp


class Pooling:
    """Max pooling: each ``pool_h`` x ``pool_w`` window of each channel becomes its maximum.

    Parameters
    ----------
    pool_h, pool_w : int, positive
        The window.
    stride : int, positive
        Step between windows (the book's default 2).
    pad : int, non-negative
        Zeros added on each side of H and W (they take part in the maximum, as in the book).
    name : str, optional
        For error messages (``"Pool1"``).

    Attributes
    ----------
    x : array, shape (N, C, H, W)
        The last input.
    arg_max : int array, shape (N, C, out_h, out_w), or None
        Where each window's first maximum is, counted row-major over (pool_h, pool_w) (the
        book's ``arg_max`` values), where the backend's operations keep it (PyTorch keeps its own).

    Notes
    -----
    ``backward`` sends each window's gradient to its first maximum, as the book's ``argmax``
    does: ties are common after ReLU (windows of zeros). Output size:
    ``out_h = (H + 2*pad - pool_h) // stride + 1`` (likewise ``out_w``). ``backward`` returns
    ``dout``'s dtype.
    """

    def __init__(self, pool_h: int, pool_w: int, stride: int = 2, pad: int = 0, *, name: str | None = None) -> None:
        self.name = name or "Pooling"
        self.pool_h = require_positive_int(pool_h, self.name, "pool_h")
        self.pool_w = require_positive_int(pool_w, self.name, "pool_w")
        self.stride = require_positive_int(stride, self.name, "stride")
        self.pad = require_non_negative_int(pad, self.name, "pad")
        self.x: Array = None  # set by forward
        self._cache: PoolCache | None = None
        self._out_shape: tuple[int, ...] = ()

    @property
    def arg_max(self) -> Array | None:
        """The last ``forward``'s first maximum of each window, where the backend's operations keep it."""
        return self._cache.arg_max if self._cache is not None else None

    def forward(self, x: Array) -> Array:
        """Pool a batch ``x`` (N, C, H, W); returns (N, C, out_h, out_w), ``x``'s dtype."""
        xp = _check_input(x, self.pool_h, self.pool_w, self.stride, self.pad, f"{self.name}.forward")
        out, cache = ops_for(xp).max_pool(x, self.pool_h, self.pool_w, self.stride, self.pad)
        self.x, self._cache = x, cache
        self._out_shape = tuple(int(s) for s in out.shape)
        return out

    def backward(self, dout: Array) -> Array:
        """``dout`` (N, C, out_h, out_w) sent to each window's first maximum; returns (N, C, H, W)."""
        require_forward(self, self._cache)
        cache: PoolCache = self._cache  # type: ignore[assignment]
        xp = require_dout(dout, self.x, self._out_shape, f"{self.name}.backward")
        return ops_for(xp).max_pool_backward(dout, cache)

    def __repr__(self) -> str:
        return f"{self.name}(pool_h={self.pool_h}, pool_w={self.pool_w}, stride={self.stride}, pad={self.pad})"
