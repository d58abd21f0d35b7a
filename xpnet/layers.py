"""Computational-graph layers of chapter 5 with ``forward``/``backward``, for any array-API backend.

No layer writes into its inputs or into ``dout``; state cached by ``forward`` is private,
and ``backward`` before ``forward`` raises ``RuntimeError``.
"""

from __future__ import annotations

import numbers
from collections.abc import MutableMapping
from typing import Any

from . import _compat
from ._validate import (
    describe,
    labels_to_one_hot,
    require_array,
    require_dout,
    require_floating,
    require_nonempty,
    require_same_dtype,
)
from .functions import stable_sigmoid

__all__ = ["AddLayer", "Affine", "MulLayer", "Relu", "Sigmoid", "SoftmaxWithLoss"]

Array = Any


def _float_namespace(x: Any, where: str) -> Any:
    """Namespace of ``x`` after checking it is a floating array."""
    require_array(x, where, "x")
    xp = _compat.namespace(x)
    require_floating(xp, x, where, "x")
    return xp


def _require_forward(layer: object, state: object) -> None:
    if state is None:
        raise RuntimeError(f"{type(layer).__name__}.backward called before forward")


class MulLayer:
    """Multiplication node ``out = x * y`` (Python numbers or arrays)."""

    def __init__(self) -> None:
        self._x: Any = None
        self._y: Any = None

    def forward(self, x: Any, y: Any) -> Any:
        """Return ``x * y`` and remember both factors."""
        self._x, self._y = x, y
        return x * y

    def backward(self, dout: Any) -> tuple[Any, Any]:
        """Return ``(dout * y, dout * x)``: the factors swap."""
        _require_forward(self, self._x)
        return dout * self._y, dout * self._x

    def __repr__(self) -> str:
        return "MulLayer()"


class AddLayer:
    """Addition node ``out = x + y`` (Python numbers or arrays)."""

    def __init__(self) -> None:
        self._called = False

    def forward(self, x: Any, y: Any) -> Any:
        """Return ``x + y``."""
        self._called = True
        return x + y

    def backward(self, dout: Any) -> tuple[Any, Any]:
        """Return ``(dout, dout)``: addition passes the gradient through unchanged."""
        _require_forward(self, self._called or None)
        return dout * 1, dout * 1

    def __repr__(self) -> str:
        return "AddLayer()"


class Relu:
    """ReLU layer: ``forward`` keeps positive entries, ``backward`` passes ``dout`` where ``x > 0``."""

    def __init__(self) -> None:
        self._positive: Array | None = None

    @property
    def mask(self) -> Array | None:
        """Boolean array, True where the last ``forward`` input was not positive (the book's ``mask``)."""
        if self._positive is None:
            return None
        return _compat.namespace(self._positive).logical_not(self._positive)

    def forward(self, x: Array) -> Array:
        """``x`` : array, any shape, real floating. Returns ``max(x, 0)``, same shape and dtype."""
        return self._forward(_float_namespace(x, "Relu.forward"), x)

    def _forward(self, xp: Any, x: Array) -> Array:
        """Unchecked forward (inputs validated by the caller)."""
        self._positive = x > 0
        return xp.maximum(x, 0.0)

    def backward(self, dout: Array) -> Array:
        """``dout`` : floating array of the forward input's shape. Returns ``dout`` zeroed where ``x <= 0``."""
        _require_forward(self, self._positive)
        xp = require_dout(dout, self._positive, tuple(self._positive.shape), "Relu.backward")
        return self._backward(xp, dout)

    def _backward(self, xp: Any, dout: Array) -> Array:
        """Unchecked backward."""
        return xp.where(self._positive, dout, 0.0)

    def __repr__(self) -> str:
        return "Relu()"


class Sigmoid:
    """Sigmoid layer: ``forward`` is :func:`xpnet.functions.sigmoid`, ``backward`` is ``dout * (1 - y) * y``."""

    def __init__(self) -> None:
        self._out: Array | None = None

    @property
    def out(self) -> Array | None:
        """The last ``forward`` output (the book's ``out``)."""
        return self._out

    def forward(self, x: Array) -> Array:
        """``x`` : array, any shape, real floating. Returns ``sigmoid(x)``."""
        return self._forward(_float_namespace(x, "Sigmoid.forward"), x)

    def _forward(self, xp: Any, x: Array) -> Array:
        """Unchecked forward (inputs validated by the caller)."""
        self._out = stable_sigmoid(xp, x)
        return self._out

    def backward(self, dout: Array) -> Array:
        """``dout`` : array of the forward output's shape and dtype. Returns ``dout * (1 - y) * y``."""
        _require_forward(self, self._out)
        shape = tuple(self._out.shape)
        xp = require_dout(dout, self._out, shape, "Sigmoid.backward", same_dtype_as=("y", self._out))
        return self._backward(xp, dout)

    def _backward(self, xp: Any, dout: Array) -> Array:
        """Unchecked backward."""
        return dout * (1.0 - self._out) * self._out

    def __repr__(self) -> str:
        return "Sigmoid()"


class Affine:
    """Fully connected layer ``out = x @ W + b``.

    Parameters
    ----------
    W : array, shape (D, M), real floating
    b : array, shape (M,), W's dtype (a different dtype raises TypeError)

    Notes
    -----
    A network binds its layers to its own ``params`` dict with :meth:`bound`, so replacing
    ``params["W1"]`` (an optimizer step) is seen at once: the network owns each parameter.
    After ``backward``, ``dW`` (D, M) and ``db`` (M,) hold the parameter gradients.
    """

    def __init__(self, W: Array, b: Array, *, name: str = "Affine") -> None:
        self._bind({"W": W, "b": b}, "W", "b", name)
        self._check_params()

    @classmethod
    def bound(cls, params: MutableMapping[str, Array], w_key: str, b_key: str, *, name: str | None = None) -> "Affine":
        """An Affine layer that reads its weights from ``params[w_key]`` and ``params[b_key]``."""
        layer = cls.__new__(cls)
        layer._bind(params, w_key, b_key, name or f"Affine({w_key}, {b_key})")
        layer._check_params()
        return layer

    def _bind(self, params: MutableMapping[str, Array], w_key: str, b_key: str, name: str) -> None:
        self._params = params
        self._keys = (w_key, b_key)
        self.name = name
        self._x: Array | None = None
        self._x_shape: tuple[int, ...] | None = None
        self.dW: Array | None = None
        self.db: Array | None = None

    def _check_params(self) -> None:
        W, b = self.W, self.b
        require_array(W, self.name, "W")
        require_array(b, self.name, "b")
        xp = _compat.namespace(W, b, where=self.name)
        require_floating(xp, W, self.name, "W")
        require_floating(xp, b, self.name, "b")
        if W.dtype != b.dtype:
            raise TypeError(
                f"{self.name}: W and b must have the same dtype, got {W.dtype} and {b.dtype}; "
                "convert one, e.g. xp.astype(b, W.dtype)"
            )
        if W.ndim != 2 or b.ndim != 1 or b.shape[0] != W.shape[1]:
            raise ValueError(
                f"{self.name}: W must be (D, M) and b (M,), got W {tuple(W.shape)} and b {tuple(b.shape)}"
            )

    @property
    def keys(self) -> tuple[str, str]:
        """Names of the weight and bias in the parameter dict this layer reads."""
        return self._keys

    @property
    def W(self) -> Array:
        """Weight matrix, shape (D, M)."""
        return self._params[self._keys[0]]

    @W.setter
    def W(self, value: Array) -> None:
        self._params[self._keys[0]] = value

    @property
    def b(self) -> Array:
        """Bias vector, shape (M,)."""
        return self._params[self._keys[1]]

    @b.setter
    def b(self, value: Array) -> None:
        self._params[self._keys[1]] = value

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
        where = f"{self.name}.forward"
        require_array(x, where, "x")
        xp = _compat.namespace(x, W, self.b, where=where)
        require_floating(xp, x, where, "x")
        require_same_dtype(x, W, where, "x", "W")
        if x.ndim < 1:
            raise ValueError(f"{where}: x must have a batch axis, got a 0-d array")
        d = 1
        for s in x.shape[1:]:
            d *= int(s)
        if d != W.shape[0]:
            raise ValueError(
                f"{where}: input of shape {tuple(x.shape)} has {d} features per sample, "
                f"but W has shape {tuple(W.shape)} and expects {W.shape[0]}"
            )
        return self._forward(xp, x)

    def _forward(self, xp: Any, x: Array) -> Array:
        """Unchecked forward (inputs validated by the caller)."""
        self._x_shape = tuple(x.shape)
        if x.ndim != 2:
            x = xp.reshape(x, (self._x_shape[0], -1))
        self._x = x
        return x @ self.W + self.b

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
        _require_forward(self, self._x)
        W = self.W
        shape = (int(self._x.shape[0]), int(W.shape[1]))
        xp = require_dout(dout, W, shape, f"{self.name}.backward", same_dtype_as=("W", W))
        return self._backward(xp, dout, compute_dx)

    def _backward(self, xp: Any, dout: Array, compute_dx: bool = True) -> Array | None:
        """Unchecked backward: sets ``dW`` and ``db``, returns ``dx`` (or None)."""
        self.dW = self._x.T @ dout
        self.db = xp.sum(dout, axis=0)
        if not compute_dx:
            return None
        dx = dout @ self.W.T
        return xp.reshape(dx, self._x_shape) if len(self._x_shape) != 2 else dx

    def __repr__(self) -> str:
        return f"{self.name}(W={tuple(self.W.shape)}, b={tuple(self.b.shape)})"


class SoftmaxWithLoss:
    """Softmax followed by cross-entropy loss, with the gradient ``(y - t) / N``.

    The loss is computed through log-softmax, so it is exact and finite for any finite
    logits (no ``delta`` inside the log). After ``forward``: ``y`` (softmax output),
    ``t`` (one-hot targets) and ``loss``.
    """

    def __init__(self, *, name: str = "SoftmaxWithLoss") -> None:
        self.name = name
        self._y: Array | None = None
        self._t: Array | None = None
        self._loss: Array | None = None
        self._x_shape: tuple[int, ...] | None = None

    y = property(lambda self: self._y, doc="Softmax output of the last forward, shape (N, K).")
    t = property(lambda self: self._t, doc="One-hot targets of the last forward, shape (N, K).")
    loss = property(lambda self: self._loss, doc="Loss of the last forward, a 0-d array.")

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
        where = f"{self.name}.forward"
        require_array(x, where, "x")
        require_array(t, where, "t")
        xp = _compat.namespace(x, t, where=where)
        require_floating(xp, x, where, "x")
        require_nonempty(x, where, "x")
        x2, onehot = labels_to_one_hot(xp, x, t, where, validate=validate)
        loss = self._forward(xp, x2, onehot)
        self._x_shape = tuple(x.shape)
        return loss

    def _forward(self, xp: Any, x: Array, onehot: Array) -> Array:
        """Unchecked forward on 2-D scores (N, K) and one-hot targets of the same shape."""
        shifted = x - xp.max(x, axis=-1, keepdims=True)
        e = xp.exp(shifted)
        s = xp.sum(e, axis=-1, keepdims=True)
        n = int(x.shape[0])
        self._x_shape = tuple(x.shape)
        self._y = e / s
        self._t = onehot
        # mean of -sum(t * log_softmax(x)) with log_softmax = shifted - log(s)
        self._loss = (xp.sum(onehot * (xp.log(s) - shifted))) / n
        return self._loss

    def backward(self, dout: Any = 1) -> Array:
        """Gradient with respect to the scores: ``(y - t) / N * dout``, shape of the forward ``x``.

        Parameters
        ----------
        dout : number or 0-d array of the scores' dtype, backend and device
            Gradient of the final output with respect to the loss (a scalar: the loss is one).
        """
        _require_forward(self, self._y)
        where = f"{self.name}.backward"
        if isinstance(dout, numbers.Real) and not isinstance(dout, bool):
            return self._backward(_compat.namespace(self._y), float(dout))  # NumPy scalars too
        if not _compat.is_array(dout):
            raise TypeError(f"{where}: dout must be a number or a 0-d array, got {describe(dout)}")
        xp = _compat.namespace(dout, self._y, where=where)
        require_floating(xp, dout, where, "dout")
        if dout.ndim != 0:
            raise ValueError(
                f"{where}: dout must be a scalar or 0-d array (the loss is a scalar), got shape {tuple(dout.shape)}"
            )
        require_same_dtype(dout, self._y, where, "dout", "y")
        return self._backward(xp, dout)

    def _backward(self, xp: Any, dout: Any = 1) -> Array:
        """Unchecked backward."""
        n = int(self._y.shape[0])
        scale = dout / n if not _compat.is_array(dout) else dout * (1.0 / n)
        dx = (self._y - self._t) * scale
        return xp.reshape(dx, self._x_shape) if len(self._x_shape) == 1 else dx

    def __repr__(self) -> str:
        return f"{self.name}()"
