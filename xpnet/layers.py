"""Computational-graph layers of chapter 5 with ``forward``/``backward``, for any array-API backend.

Each public method makes its input checks in one call, then does the book's math. No layer
writes into its inputs or into ``dout``; state cached by ``forward`` lives on the layer, and
``backward`` before ``forward`` raises ``RuntimeError``.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from ._array import checks, compat
from .functions import sigmoid, softmax_cross_entropy

__all__ = ["AddLayer", "Affine", "MulLayer", "Relu", "Sigmoid", "SoftmaxWithLoss"]

Array = Any


def _after_forward(layer: object, state: object) -> None:
    if state is None:
        raise RuntimeError(f"{type(layer).__name__}.backward called before forward")


class MulLayer:
    """Multiplication node ``out = x * y`` (Python numbers or arrays)."""

    def __init__(self) -> None:
        self.x: Any = None
        self.y: Any = None

    def forward(self, x: Any, y: Any) -> Any:
        """Return ``x * y`` and remember both factors."""
        self.x, self.y = x, y
        return x * y

    def backward(self, dout: Any) -> tuple[Any, Any]:
        """Return ``(dout * y, dout * x)``: the factors swap."""
        _after_forward(self, self.x)
        return dout * self.y, dout * self.x

    def __repr__(self) -> str:
        return "MulLayer()"


class AddLayer:
    """Addition node ``out = x + y`` (Python numbers or arrays)."""

    def __init__(self) -> None:
        self._called: bool | None = None

    def forward(self, x: Any, y: Any) -> Any:
        """Return ``x + y``."""
        self._called = True
        return x + y

    def backward(self, dout: Any) -> tuple[Any, Any]:
        """Return ``(dout, dout)``: addition passes the gradient through unchanged."""
        _after_forward(self, self._called)
        return dout * 1, dout * 1

    def __repr__(self) -> str:
        return "AddLayer()"


class Relu:
    """ReLU layer: ``forward`` keeps positive entries, ``backward`` passes ``dout`` where ``x > 0``."""

    def __init__(self) -> None:
        self._positive: Array | None = None

    def forward(self, x: Array) -> Array:
        """``x`` : array, any shape, real floating. Returns ``max(x, 0)``, same shape and dtype."""
        xp = checks.float_input(x, "Relu.forward")
        self._positive = x > 0
        return xp.maximum(x, 0.0)

    def backward(self, dout: Array) -> Array:
        """``dout`` : floating array of the forward input's shape. Returns ``dout`` zeroed where ``x <= 0``."""
        _after_forward(self, self._positive)
        xp = checks.require_dout(dout, self._positive, tuple(self._positive.shape), "Relu.backward")
        return xp.where(self._positive, dout, 0.0)

    @property
    def mask(self) -> Array | None:
        """Boolean array, True where the last ``forward`` input was not positive (the book's ``mask``)."""
        if self._positive is None:
            return None
        return compat.namespace_of(self._positive).logical_not(self._positive)

    def __repr__(self) -> str:
        return "Relu()"


class Sigmoid:
    """Sigmoid layer: ``forward`` is :func:`xpnet.functions.sigmoid`, ``backward`` is ``dout * (1 - y) * y``."""

    def __init__(self) -> None:
        self.out: Array | None = None

    def forward(self, x: Array) -> Array:
        """``x`` : array, any shape, real floating. Returns ``sigmoid(x)``."""
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout: Array) -> Array:
        """``dout`` : array of the forward output's shape and dtype. Returns ``dout * (1 - y) * y``."""
        _after_forward(self, self.out)
        checks.require_dout(dout, self.out, tuple(self.out.shape), "Sigmoid.backward", same_dtype_as=("y", self.out))
        return dout * (1.0 - self.out) * self.out

    def __repr__(self) -> str:
        return "Sigmoid()"


class Affine:
    """Fully connected layer ``out = x @ W + b``.

    Parameters
    ----------
    W : array, shape (D, M), real floating
    b : array, shape (M,), W's dtype (a different dtype raises TypeError)
    params, keys : optional
        Instead of ``W`` and ``b``: read them from ``params[keys[0]]`` and ``params[keys[1]]``.
        A network passes its own ``params`` this way, so replacing ``params["W1"]`` (an
        optimizer step) is seen at once: the network owns each parameter.

    Notes
    -----
    After ``backward``, ``dW`` (D, M) and ``db`` (M,) hold the parameter gradients.
    """

    def __init__(
        self, W: Array | None = None, b: Array | None = None, *,
        params: MutableMapping[str, Array] | None = None, keys: tuple[str, str] = ("W", "b"), name: str | None = None,
    ) -> None:
        if params is None:
            params = {keys[0]: W, keys[1]: b}
        elif W is not None or b is not None:
            raise TypeError("Affine: pass either W and b, or params and keys, not both")
        self._params, self.keys = params, tuple(keys)
        self.name = name or ("Affine" if keys == ("W", "b") else f"Affine({keys[0]}, {keys[1]})")
        checks.affine_params(self.W, self.b, self.name)
        self.x: Array | None = None
        self.original_x_shape: tuple[int, ...] | None = None
        self.dW: Array | None = None
        self.db: Array | None = None

    @property
    def W(self) -> Array:
        """Weight matrix, shape (D, M)."""
        return self._params[self.keys[0]]

    @W.setter
    def W(self, value: Array) -> None:
        self._params[self.keys[0]] = value

    @property
    def b(self) -> Array:
        """Bias vector, shape (M,)."""
        return self._params[self.keys[1]]

    @b.setter
    def b(self, value: Array) -> None:
        self._params[self.keys[1]] = value

    def forward(self, x: Array) -> Array:
        """Affine map of a batch.

        Parameters
        ----------
        x : array, shape (N, D) or (N, d1, d2, ...) with ``d1*d2*... == D``, W's dtype
            Another dtype raises TypeError (no silent promotion); convert it with ``xp.astype``.

        Returns
        -------
        array, shape (N, M)
        """
        W = self.W
        xp = checks.affine_input(x, W, self.b, f"{self.name}.forward")
        self.original_x_shape = tuple(x.shape)
        if x.ndim != 2:
            x = xp.reshape(x, (x.shape[0], -1))
        self.x = x
        return x @ W + self.b

    def backward(self, dout: Array, *, compute_dx: bool = True) -> Array | None:
        """Gradients of the last ``forward``.

        Parameters
        ----------
        dout : array, shape (N, M), W's dtype
        compute_dx : bool
            False skips ``dx`` (a network's first layer needs no input gradient) and returns None.

        Returns
        -------
        dx : array of the forward input's shape, or None
        """
        _after_forward(self, self.x)
        W = self.W
        shape = (int(self.x.shape[0]), int(W.shape[1]))
        xp = checks.require_dout(dout, W, shape, f"{self.name}.backward", same_dtype_as=("W", W))
        self.dW = self.x.T @ dout
        self.db = xp.sum(dout, axis=0)
        if not compute_dx:
            return None
        dx = dout @ W.T
        return xp.reshape(dx, self.original_x_shape) if len(self.original_x_shape) != 2 else dx

    def __repr__(self) -> str:
        return f"{self.name}(W={tuple(self.W.shape)}, b={tuple(self.b.shape)})"


class SoftmaxWithLoss:
    """Softmax followed by cross-entropy loss, with the gradient ``(y - t) / N``.

    The loss is :func:`xpnet.functions.softmax_cross_entropy`: exact and finite for any finite
    logits (no ``delta`` inside the log). After ``forward``: ``y`` (softmax output),
    ``t`` (one-hot targets) and ``loss``.
    """

    def __init__(self, *, name: str = "SoftmaxWithLoss") -> None:
        self.name = name
        self.loss: Array | None = None
        self.y: Array | None = None
        self.t: Array | None = None
        self._x_shape: tuple[int, ...] | None = None

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
        _, x2, self.t = checks.scores_and_targets(x, t, f"{self.name}.forward", validate=validate)
        self._x_shape = tuple(x.shape)
        self.y, self.loss = softmax_cross_entropy(x2, self.t)
        return self.loss

    def backward(self, dout: Any = 1) -> Array:
        """Gradient with respect to the scores: ``(y - t) / N * dout``, shape of the forward ``x``.

        Parameters
        ----------
        dout : number or 0-d array of the scores' dtype, backend and device
            Gradient of the final output with respect to the loss (a scalar: the loss is one).
        """
        _after_forward(self, self.y)
        xp, dout = checks.loss_dout(dout, self.y, f"{self.name}.backward")
        batch_size = self.y.shape[0]
        dx = (self.y - self.t) * (dout / batch_size)
        return xp.reshape(dx, self._x_shape) if len(self._x_shape) == 1 else dx

    def __repr__(self) -> str:
        return f"{self.name}()"
