"""The fully connected layer of chapter 5.6: ``Affine``, ``out = x @ W + b``."""

from __future__ import annotations

import math
from collections.abc import MutableMapping
from typing import Any

from .._array import compat
from .._array.checks import floating_arrays, require_array, require_dout, require_floating
from .._array.trust import is_trusted
from ._contract import own_parameters, parameter, require_forward

__all__ = ["Affine"]

Array = Any


def _check_params(W: Any, b: Any, where: str) -> None:
    """``W`` (D, M) and ``b`` (M,): floating arrays of one backend and device."""
    floating_arrays(where, W=W, b=b)
    if W.ndim != 2 or b.ndim != 1 or b.shape[0] != W.shape[1]:
        raise ValueError(f"{where}: W must be (D, M) and b (M,), got W {tuple(W.shape)} and b {tuple(b.shape)}")


def _check_input(x: Any, W: Array, b: Array, where: str) -> Any:
    """Namespace of the input ``x``: a floating batch (N, D) or (N, d1, d2, ...) with ``d1*d2*... == D``."""
    if is_trusted():
        return compat.namespace_of(x)
    require_array(x, where, "x")
    xp = compat.namespace(x, W, b, where=where)
    require_floating(xp, x, where, "x")
    if x.ndim < 1:
        raise ValueError(f"{where}: x must have a batch axis, got a 0-d array")
    d = math.prod(int(s) for s in x.shape[1:])
    if d != W.shape[0]:
        raise ValueError(
            f"{where}: input of shape {tuple(x.shape)} has {d} features per sample, "
            f"but W has shape {tuple(W.shape)} and expects {W.shape[0]}"
        )
    return xp


class Affine:
    """Fully connected layer ``out = x @ W + b``.

    Parameters
    ----------
    W : array, shape (D, M), real floating
    b : array, shape (M,), real floating
    params, keys : optional
        Instead of ``W`` and ``b``: read them from ``params[keys[0]]`` and ``params[keys[1]]``.
        A network passes its own ``params`` this way, so replacing ``params["W1"]`` (an
        optimizer step) is seen at once: the network owns each parameter.

    Attributes
    ----------
    x : array, shape (N, D)
        The last input, flattened to 2-D (the book's ``x``).
    original_x_shape : tuple
        Its shape before flattening.
    dW, db : arrays of shapes (D, M) and (M,)
        The parameter gradients after ``backward``.

    Notes
    -----
    An input of another float dtype promotes as the standard says (float32 ``x`` and float64
    ``W`` give float64 outputs and gradients).
    """

    _params: MutableMapping[str, Any]
    keys: tuple[str, ...]
    name: str

    #: Each output row depends on its input row only (a network's batched numerical gradient relies on it).
    row_wise = True
    #: ``backward`` may skip the input gradient (``compute_dx=False``), as a network's first layer does.
    takes_compute_dx = True

    def __init__(
        self, W: Array | None = None, b: Array | None = None, *,
        params: MutableMapping[str, Array] | None = None, keys: tuple[str, str] = ("W", "b"), name: str | None = None,
    ) -> None:
        own_parameters(self, {"W": W, "b": b}, params, keys, name)
        _check_params(self.W, self.b, self.name)
        self.x: Array = None  # set by forward
        self.original_x_shape: tuple[int, ...] = ()
        self.dW: Array | None = None
        self.db: Array | None = None

    W = parameter(0, "Weight matrix, shape (D, M).")
    b = parameter(1, "Bias vector, shape (M,).")

    @property
    def grads(self) -> dict[str, Array]:
        """The parameter gradients of the last ``backward`` by the keys of ``params``: ``dW`` and ``db``."""
        return {self.keys[0]: self.dW, self.keys[1]: self.db}

    def forward(self, x: Array) -> Array:
        """Affine map of a batch ``x`` (N, D) or (N, d1, d2, ...) with ``d1*d2*... == D``; returns (N, M)."""
        W, b = self.W, self.b
        xp = _check_input(x, W, b, f"{self.name}.forward")
        self.original_x_shape = tuple(x.shape)
        if x.ndim != 2:
            x = xp.reshape(x, (x.shape[0], -1))
        self.x = x
        return xp.matmul(x, W) + b

    def backward(self, dout: Array, *, compute_dx: bool = True) -> Array | None:
        """Gradients of the last ``forward``: ``dW``, ``db``, and ``dx`` (the forward input's shape) returned.

        Parameters
        ----------
        dout : array, shape (N, M), real floating
        compute_dx : bool
            False skips ``dx`` (a network's first layer needs no input gradient) and returns None.
        """
        require_forward(self, self.x)
        W = self.W
        xp = require_dout(dout, W, (int(self.x.shape[0]), int(W.shape[1])), f"{self.name}.backward")
        self.dW = xp.matmul(self.x.T, dout)
        self.db = xp.sum(dout, axis=0)
        if not compute_dx:
            return None
        dx = xp.matmul(dout, W.T)
        return xp.reshape(dx, self.original_x_shape) if len(self.original_x_shape) != 2 else dx

    def __repr__(self) -> str:
        return f"{self.name}(W={tuple(self.W.shape)}, b={tuple(self.b.shape)})"
