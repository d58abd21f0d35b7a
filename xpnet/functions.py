"""The book's activation and loss functions, for arrays of any array-API backend.

Every function takes its namespace from its arguments and returns arrays of the same
backend, device and (floating) dtype; losses return 0-d arrays, never Python floats.
"""

from __future__ import annotations

from typing import Any

from ._array import compat
from ._array.checks import float_input, require_array
from ._array.labels import scores_and_targets
from ._array.trust import is_trusted

__all__ = [
    "cross_entropy_error",
    "identity_function",
    "log_softmax",
    "mean_squared_error",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "softmax_cross_entropy",
    "step_function",
]

Array = Any

#: The book's small constant inside ``log`` in :func:`cross_entropy_error`.
CROSS_ENTROPY_DELTA = 1e-7


def _class_axis_input(x: Array, where: str) -> Any:
    """Namespace of ``x`` after checking it is floating with a non-empty last (class) axis."""
    xp = float_input(x, where)
    if is_trusted():
        return xp
    if x.ndim == 0:
        raise ValueError(f"{where}: x must have a class axis, got a 0-d array; pass scores of shape (K,) or (N, K)")
    if int(x.shape[-1]) == 0:
        raise ValueError(
            f"{where}: x has no classes (shape {tuple(x.shape)}); the last axis must hold at least one score"
        )
    return xp


def identity_function(x: Array) -> Array:
    """Return ``x`` unchanged (the book's output activation for regression)."""
    return x


def step_function(x: Array) -> Array:
    """Step activation: 1 where ``x > 0``, else 0, in the backend's default integer dtype."""
    require_array(x, "step_function", "x")
    xp = compat.namespace(x)
    dev = compat.device(x)
    int_dtype = xp.__array_namespace_info__().default_dtypes(device=dev)["integral"]
    return xp.astype(x > 0, int_dtype)


def sigmoid(x: Array) -> Array:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, computed without overflow for any finite ``x``.

    Parameters
    ----------
    x : array, any shape, real floating
    """
    xp = float_input(x, "sigmoid")
    e = xp.exp(-xp.abs(x))  # in (0, 1]: nothing overflows
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(x: Array) -> Array:
    """Derivative of :func:`sigmoid` at ``x``: ``(1 - sigmoid(x)) * sigmoid(x)``."""
    s = sigmoid(x)
    return (1.0 - s) * s


def relu(x: Array) -> Array:
    """Rectified linear unit ``max(0, x)``, same shape and dtype as ``x`` (NaN stays NaN)."""
    xp = float_input(x, "relu")
    return xp.maximum(x, 0.0)


def relu_grad(x: Array) -> Array:
    """Derivative of :func:`relu` as the book defines it: 1 where ``x >= 0``, else 0 (``x``'s dtype)."""
    xp = float_input(x, "relu_grad")
    return xp.astype(x >= 0, x.dtype)


def log_softmax(x: Array) -> Array:
    """Numerically stable ``log(softmax(x))`` along the last axis; finite for any finite ``x``."""
    xp = _class_axis_input(x, "log_softmax")
    shifted = x - xp.max(x, axis=-1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))


def softmax(x: Array) -> Array:
    """Softmax along the last axis, stable for large inputs.

    Parameters
    ----------
    x : array, shape (..., K), real floating
        Scores; 1-D for one sample, (N, K) for a batch, any leading shape allowed.

    Returns
    -------
    array, shape (..., K)
        Non-negative, each slice along the last axis sums to 1.

    Raises
    ------
    ValueError
        ``x`` is 0-d or has no classes (``K == 0``).
    """
    xp = _class_axis_input(x, "softmax")
    e = xp.exp(x - xp.max(x, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


def softmax_cross_entropy(x: Array, t: Array) -> tuple[Array, Array]:
    """Softmax of scores ``x`` and its exact cross-entropy against one-hot ``t``, the mean over the batch.

    The one softmax cross-entropy of xpnet: :class:`~xpnet.layers.SoftmaxWithLoss` and the
    networks' batched numerical gradient use it. Computed through :func:`log_softmax`, so
    it is exact and finite for any finite scores (no ``delta`` inside the log).

    Parameters
    ----------
    x : array, shape (..., N, K), real floating
        Scores; leading axes stack independent batches.
    t : array, shape (N, K), ``x``'s dtype
        One-hot targets (rows of probabilities work too).

    Returns
    -------
    y : array, shape (..., N, K)
        ``softmax(x)``.
    loss : array, shape (...), ``x``'s dtype
        ``-sum(t * log(y)) / N`` over each batch: a 0-d array for 2-D ``x``.
    """
    log_y = log_softmax(x)
    xp = compat.namespace_of(log_y)
    return xp.exp(log_y), xp.sum(t * log_y, axis=(-2, -1)) * (-1.0 / x.shape[-2])


def mean_squared_error(y: Array, t: Array) -> Array:
    """The book's sum of squares error ``0.5 * sum((y - t)**2)`` (not divided by the batch size).

    Parameters
    ----------
    y, t : arrays of the same shape, real floating (``t`` may be integer one-hot)

    Returns
    -------
    0-d array of ``y``'s dtype
    """
    float_input(y, "mean_squared_error", "y")
    require_array(t, "mean_squared_error", "t")
    xp = compat.namespace(y, t, where="mean_squared_error")
    if tuple(y.shape) != tuple(t.shape):
        raise ValueError(f"mean_squared_error: y and t must have the same shape, got {tuple(y.shape)} and {tuple(t.shape)}")
    if t.dtype != y.dtype:
        t = xp.astype(t, y.dtype)
    return 0.5 * xp.sum((y - t) ** 2)


def cross_entropy_error(y: Array, t: Array, *, validate: bool = True) -> Array:
    """The book's cross-entropy error ``-sum(t * log(y + 1e-7)) / N``.

    Parameters
    ----------
    y : array, shape (K,) or (N, K), real floating
        Probabilities (e.g. softmax output).
    t : array
        One-hot targets of ``y``'s shape, or integer labels of shape () or (N,).
    validate : bool
        Check that integer labels lie in ``0..K-1`` (one device-to-host read).

    Returns
    -------
    0-d array of ``y``'s dtype
        The mean over the batch. Keeps the book's ``delta = 1e-7`` so its printed values are
        reproduced (0.510825457099338 and 2.302584092994546 for the book's examples).
    """
    xp, y2, onehot = scores_and_targets(y, t, "cross_entropy_error", validate=validate, name="y")
    batch_size = int(y2.shape[0])
    return -xp.sum(onehot * xp.log(y2 + CROSS_ENTROPY_DELTA)) / batch_size
