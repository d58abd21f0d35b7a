"""Numerical differentiation and gradient descent (chapter 4), without writing into any array.

The book perturbs ``x[idx]`` in place and restores it. That breaks on PyTorch (indexing
returns a view, so the saved value moves too and the result is half the true gradient)
and on JAX (arrays are immutable). Here each perturbed point is a fresh array built with
a one-hot step, so ``x`` is never touched and every backend gets the same answer.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._array import compat as _compat
from ._array.checks import describe, require_finite_number, require_floating

__all__ = ["gradient_descent", "numerical_diff", "numerical_gradient"]

Array = Any


def numerical_diff(f: Callable[[Any], Any], x: Any, h: float = 1e-4) -> Any:
    """Central difference ``(f(x + h) - f(x - h)) / (2h)``.

    Parameters
    ----------
    f : callable
        A function of one scalar (Python number or 0-d array).
    x : float or 0-d array
    h : float
        Step, positive and finite; the book's 1e-4 balances rounding and truncation error.
    """
    require_finite_number(h, "numerical_diff", "h", positive=True)
    return (f(x + h) - f(x - h)) / (2 * h)


def _as_float_array(x: Any, where: str) -> tuple[Any, Any]:
    if not _compat.is_array(x):
        raise TypeError(f"{where}: x must be an array of floats, got {type(x).__name__}")
    xp = _compat.namespace(x, where=where)
    require_floating(xp, x, where, "x")
    return xp, x


def numerical_gradient(f: Callable[[Any], Any], x: Any, h: float = 1e-4) -> Any:
    """Gradient of scalar function ``f`` at ``x`` by central differences, element by element.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a scalar (0-d array or Python float). It must compute from its
        argument: ``lambda W: net.loss(x, t)`` that ignores ``W`` gives zeros.
    x : array, any shape, real floating
        The point; it is never modified.
    h : float
        Step size, positive and finite.

    Returns
    -------
    array, same shape, dtype, backend and device as ``x``
    """
    xp, x = _as_float_array(x, "numerical_gradient")
    require_finite_number(h, "numerical_gradient", "h", positive=True)
    shape = tuple(x.shape)
    n = _compat.size(x)
    dev = _compat.device(x)
    if n == 0:
        return xp.zeros(shape, dtype=x.dtype, device=dev)
    grads = list(central_differences(f, x, range(n), h))
    return xp.reshape(xp.stack(grads), shape)


def central_differences(f: Callable[[Any], Any], x: Any, indices: Iterable[int], h: float) -> Iterator[Any]:
    """``(f(x + h e_i) - f(x - h e_i)) / 2h`` for each flat index ``i``, as 0-d arrays of ``x``'s dtype.

    Each perturbed point is a fresh array; ``x`` is never written.
    """
    xp = _compat.namespace(x)
    shape, n, dev = tuple(x.shape), _compat.size(x), _compat.device(x)
    flat = xp.reshape(x, (n,))
    ids = xp.arange(n, device=dev)
    step = xp.asarray(h, dtype=x.dtype, device=dev)
    zero = xp.asarray(0.0, dtype=x.dtype, device=dev)
    for count, i in enumerate(indices):
        e = xp.where(ids == i, step, zero)
        fxh1 = f(xp.reshape(flat + e, shape))
        fxh2 = f(xp.reshape(flat - e, shape))
        if count == 0:
            _require_scalar(fxh1)
        yield xp.asarray((fxh1 - fxh2) / (2 * h), dtype=x.dtype, device=dev)


def _require_scalar(value: Any) -> None:
    """Raise unless ``f``'s result ``value`` is a 0-d array or a real number."""
    if _compat.is_array(value):
        if value.ndim != 0:
            raise ValueError(
                f"numerical_gradient: f must return a scalar (0-d array or float), got shape {tuple(value.shape)}; "
                "reduce it, e.g. with xp.sum"
            )
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"numerical_gradient: f must return a scalar (0-d array or float), got {describe(value)}")


def gradient_descent(
    f: Callable[[Any], Any], init_x: Any, lr: float = 0.01, step_num: int = 100
) -> tuple[Any, list[Any]]:
    """Plain gradient descent ``x <- x - lr * grad f(x)`` with numerical gradients.

    Parameters
    ----------
    f : callable
        Scalar function of an array.
    init_x : array, real floating
        Start point; not modified.
    lr : float
        Learning rate.
    step_num : int
        Number of steps.

    Returns
    -------
    x : array
        The final point.
    x_history : list of arrays
        The point before each step (``step_num`` entries, the book's ``x_history``).
    """
    xp, x = _as_float_array(init_x, "gradient_descent")
    if step_num < 0:
        raise ValueError(f"gradient_descent: step_num must be >= 0, got {step_num}")
    history = []
    for _ in range(step_num):
        history.append(x)
        x = x - lr * numerical_gradient(f, x)
    return x, history
