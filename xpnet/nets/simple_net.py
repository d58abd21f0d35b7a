"""The book's ``simpleNet`` (chapter 4.4.2): one 2x3 weight matrix, softmax and cross-entropy."""

from __future__ import annotations

from typing import Any

from .._array import compat as _compat
from .._array.checks import require_array, require_floating
from .._array.numbers import named_errors
from .._array.registry import get_backend
from ..functions import cross_entropy_error, softmax
from ..gradient import numerical_gradient
from .._array.random import default_rng, normal

__all__ = ["SimpleNet"]

Array = Any


class SimpleNet:
    """The book's 2x3 ``simpleNet``: one weight matrix, softmax and cross-entropy.

    Parameters
    ----------
    W : array, shape (2, 3), optional
        Initial weights; default: standard-normal draws from ``seed``.
    backend, device, dtype, seed
        Where to create ``W`` when it is not given (see :func:`xpnet.backends.get_backend`).
    """

    def __init__(
        self, W: Array | None = None, *, backend: Any = "numpy", device: Any = None, dtype: Any = "float64", seed: int | None = None
    ) -> None:
        if W is None:
            with named_errors("SimpleNet"):
                be = get_backend(backend, device)
                W = normal(default_rng(seed), (2, 3), backend=be, dtype=dtype)
        require_array(W, "SimpleNet", "W")
        require_floating(_compat.namespace(W), W, "SimpleNet", "W")
        if tuple(W.shape) != (2, 3):
            raise ValueError(f"SimpleNet: W must have shape (2, 3), got {tuple(W.shape)}")
        self.W = W

    def _input(self, x: Array, W: Array, where: str) -> Array:
        """``x`` checked against ``W`` (backend, device, floating dtype, width) and converted to ``W``'s dtype."""
        require_array(x, where, "x")
        require_array(W, where, "W")
        xp = _compat.namespace(x, W, where=where)
        require_floating(xp, x, where, "x")
        if x.ndim not in (1, 2) or int(x.shape[-1]) != 2 or tuple(W.shape) != (2, 3):
            raise ValueError(
                f"{where}: x must have shape (2,) or (N, 2) for W of shape (2, 3), "
                f"got x {tuple(x.shape)} and W {tuple(W.shape)}"
            )
        return x if x.dtype == W.dtype else xp.astype(x, W.dtype)

    def predict(self, x: Array, *, W: Array | None = None) -> Array:
        """Scores ``x @ W``; ``x`` shape (2,) or (N, 2), result (3,) or (N, 3).

        ``x`` of another floating dtype is converted to ``W``'s dtype.
        """
        W = self.W if W is None else W
        return self._input(x, W, "SimpleNet.predict") @ W

    def loss(self, x: Array, t: Array, *, W: Array | None = None) -> Array:
        """Cross-entropy of ``softmax(predict(x))`` against ``t`` (0-d array); ``W`` overrides the weights."""
        W = self.W if W is None else W
        return cross_entropy_error(softmax(self._input(x, W, "SimpleNet.loss") @ W), t)

    def numerical_gradient(self, x: Array, t: Array) -> Array:
        """``dL/dW`` by central differences, shape (2, 3), with ``W`` substituted into the loss."""
        return numerical_gradient(lambda W: self.loss(x, t, W=W), self.W)

    def __repr__(self) -> str:
        return f"SimpleNet(W={tuple(self.W.shape)} {self.W.dtype})"
