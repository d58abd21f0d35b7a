"""Activation layers of chapter 5.5: ``Relu`` and ``Sigmoid``."""

from __future__ import annotations

from typing import Any

from .._array import compat
from .._array.checks import float_input, require_dout
from .._array.ops import ops_for
from ..functions import sigmoid
from ._contract import require_forward

__all__ = ["Relu", "Sigmoid"]

Array = Any


class Relu:
    """ReLU layer: ``forward`` is ``max(x, 0)``; ``backward`` blocks ``dout`` where ``x <= 0``.

    Attributes
    ----------
    mask : array of bool, the forward input's shape
        True where the last ``forward`` input was not positive (the book's ``mask``).
    """

    row_wise = True

    def __init__(self) -> None:
        self._keep: Array = None  # set by forward: x > 0

    def forward(self, x: Array) -> Array:
        """``x`` : array, any shape, real floating. Returns ``max(x, 0)``, same shape and dtype."""
        xp = float_input(x, "Relu.forward")
        self._keep = x > 0
        return xp.maximum(x, 0.0)

    def backward(self, dout: Array) -> Array:
        """``dout`` : floating array of the forward input's shape. Returns ``dout`` with 0 where ``x <= 0``."""
        require_forward(self, self._keep)
        xp = require_dout(dout, self._keep, tuple(self._keep.shape), "Relu.backward")
        return ops_for(xp).masked(dout, self._keep)

    @property
    def mask(self) -> Array | None:
        """True where the last ``forward`` input was not positive (the book's ``mask``); None before ``forward``."""
        if self._keep is None:
            return None
        return compat.namespace_of(self._keep).logical_not(self._keep)

    def __repr__(self) -> str:
        return "Relu()"


class Sigmoid:
    """Sigmoid layer: ``forward`` is :func:`xpnet.functions.sigmoid`, ``backward`` is ``dout * (1 - y) * y``."""

    row_wise = True

    def __init__(self) -> None:
        self.out: Array = None  # set by forward

    def forward(self, x: Array) -> Array:
        """``x`` : array, any shape, real floating. Returns ``sigmoid(x)`` (checked there)."""
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout: Array) -> Array:
        """``dout`` : floating array of the forward output's shape. Returns ``dout * (1 - y) * y``."""
        require_forward(self, self.out)
        require_dout(dout, self.out, tuple(self.out.shape), "Sigmoid.backward")
        return dout * (1.0 - self.out) * self.out

    def __repr__(self) -> str:
        return "Sigmoid()"
