"""The output layer of chapter 5.6.3: ``SoftmaxWithLoss``, softmax then cross-entropy, gradient ``(y - t) / N``."""

from __future__ import annotations

import numbers
from typing import Any

from .._array import compat
from .._array.checks import describe, require_floating, require_same_dtype
from .._array.labels import scores_and_targets
from .._array.trust import is_trusted
from ..functions import softmax_cross_entropy
from ._contract import require_forward

__all__ = ["SoftmaxWithLoss"]

Array = Any


def _check_dout(dout: Any, y: Array, where: str) -> tuple[Any, Any]:
    """``(xp, dout)``: a real number (made a Python float), or a 0-d array of ``y``'s backend, device and dtype."""
    if isinstance(dout, numbers.Real) and not isinstance(dout, bool):
        return compat.namespace_of(y), float(dout)
    if is_trusted():
        return compat.namespace_of(y), dout
    if not compat.is_array(dout):
        raise TypeError(f"{where}: dout must be a number or a 0-d array, got {describe(dout)}")
    xp = compat.namespace(dout, y, where=where)
    require_floating(xp, dout, where, "dout")
    if dout.ndim != 0:
        raise ValueError(f"{where}: dout must be a scalar or 0-d array (the loss is a scalar), got shape {tuple(dout.shape)}")
    require_same_dtype(dout, y, where, "dout", "y")
    return xp, dout


class SoftmaxWithLoss:
    """Softmax followed by cross-entropy loss, with the gradient ``(y - t) / N``.

    The loss is :func:`xpnet.functions.softmax_cross_entropy`: exact and finite for any finite
    scores (no ``delta`` inside the log).

    Attributes
    ----------
    loss : 0-d array
    y : array, shape (N, K)
        The softmax output.
    t : array, shape (N, K)
        The targets as one-hot rows of ``y``'s dtype.
    """

    def __init__(self, *, name: str = "SoftmaxWithLoss") -> None:
        self.name = name
        self.loss: Array | None = None
        self.y: Array = None  # set by forward
        self.t: Array = None
        self._x_shape: tuple[int, ...] = ()

    def forward(self, x: Array, t: Array, *, validate: bool = True) -> Array:
        """Mean cross-entropy of ``softmax(x)`` against ``t``.

        Parameters
        ----------
        x : array, shape (N, K) or (K,), real floating
            Scores (logits).
        t : array
            One-hot targets of ``x``'s shape, or integer labels of shape (N,) (or () for 1-D ``x``).
        validate : bool
            Check that integer labels lie in ``0..K-1`` (one device-to-host read).

        Returns
        -------
        0-d array of ``x``'s dtype
        """
        _, x2, self.t = scores_and_targets(x, t, f"{self.name}.forward", validate=validate)
        self._x_shape = tuple(x.shape)
        self.y, self.loss = softmax_cross_entropy(x2, self.t)
        return self.loss

    def backward(self, dout: Any = 1) -> Array:
        """Gradient with respect to the scores, ``(y - t) / N * dout``, in the forward ``x``'s shape.

        ``dout`` : number, or 0-d array of the scores' dtype, backend and device (the loss is a scalar).
        """
        require_forward(self, self.y)
        xp, dout = _check_dout(dout, self.y, f"{self.name}.backward")
        batch_size = self.y.shape[0]
        dx = (self.y - self.t) * (dout / batch_size)
        return xp.reshape(dx, self._x_shape) if len(self._x_shape) == 1 else dx

    def __repr__(self) -> str:
        return f"{self.name}()"
