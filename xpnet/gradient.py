"""Numerical differentiation and gradient descent (chapter 4).

``numerical_gradient(f, x)`` perturbs ``x`` one element at a time, as the book does, so the
book's idiom ``numerical_gradient(lambda w: net.loss(x, t), net.W)`` -- an ``f`` that ignores
its argument and reads ``net.W`` through the network -- works on every backend whose arrays can
be written (NumPy, CuPy, PyTorch, array_api_strict). Each saved value is a copy, not a view
(on PyTorch ``x[idx]`` is a view, and a straight port returns half the gradient), and the
original bits are written back in a ``finally``: afterwards ``x`` is bit-identical, even
when ``f`` raises.

Where ``x`` cannot be written (JAX arrays, read-only NumPy arrays, tensors that require
grad) each perturbed point is a fresh array instead, which only an ``f`` that computes from
its argument sees; an ``f`` that ignores it would get zeros, so that case raises a
``ValueError`` saying how to write ``f``.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._array import compat as _compat
from ._array.registry import backend_name, read_only_reason, to_numpy
from ._array.checks import describe, require_floating
from ._array.numbers import require_finite_number

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

    Where ``x`` can be written in place (NumPy, CuPy, PyTorch, array_api_strict), each element
    is perturbed in ``x`` itself, as in the book, so ``f`` may ignore its argument and read
    ``x`` through something else: ``numerical_gradient(lambda w: net.loss(x, t), net.W)``
    works. Elsewhere (JAX, read-only NumPy arrays, tensors that require grad) ``f`` gets fresh
    perturbed arrays and must compute from its argument. Either way ``x`` holds exactly its
    original bits afterwards, also when ``f`` raises, and an ``f`` that reads its argument
    gets the same values on both paths.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a scalar (0-d array or Python float).
    x : array, any shape, real floating
        The point. Perturbed in place and restored where it can be written; never changed.
    h : float
        Step size, positive and finite.

    Returns
    -------
    array, same shape, dtype, backend and device as ``x``

    Raises
    ------
    ValueError
        ``x`` cannot be written and ``f`` does not read its argument (every difference is
        exactly zero and ``f`` returns the same value whatever it is passed): write
        ``lambda W: net.loss(x, t, W=W)``, or use a backend with mutable arrays.
    """
    xp, x = _as_float_array(x, "numerical_gradient")
    require_finite_number(h, "numerical_gradient", "h", positive=True)
    shape = tuple(x.shape)
    if _compat.size(x) == 0:
        return xp.zeros(shape, dtype=x.dtype, device=_compat.device(x))
    if _can_write(xp, x):
        return xp.reshape(xp.stack(_in_place_differences(f, x, h)), shape)
    grad = xp.reshape(xp.stack(list(central_differences(f, x, range(_compat.size(x)), h))), shape)
    if not bool(xp.any(grad != 0)):
        _require_reads_argument(f, x)
    return grad


def _can_write(xp: Any, x: Array) -> bool:
    """Whether ``x[idx] = v`` works on ``x``: checked, then tried by writing one element's own value back."""
    if not _compat.is_writeable(x):
        return False
    first = (0,) * x.ndim
    try:
        x[first] = xp.asarray(x[first], copy=True)
    except (TypeError, ValueError, RuntimeError, IndexError):
        return False  # e.g. array_api_strict over read-only NumPy memory
    return True


def _in_place_differences(f: Callable[[Any], Any], x: Array, h: float) -> list[Array]:
    """The book's loop: ``(f(x) - f(x)) / 2h`` with ``x[idx]`` set to ``x[idx] +- h``, restored bit for bit.

    Returns one 0-d array of ``x``'s dtype and device per element, in C order.
    """
    xp, dev = _compat.namespace(x), _compat.device(x)
    step = xp.asarray(h, dtype=x.dtype, device=dev)
    grads: list[Array] = []
    for idx in itertools.product(*(range(int(s)) for s in x.shape)):
        orig = xp.asarray(x[idx], copy=True)  # a copy: on PyTorch and CuPy x[idx] is a view
        try:
            x[idx] = orig + step
            fxh1 = _snapshot(f(x))
            if not grads:
                _require_scalar(fxh1)
            x[idx] = orig - step
            diff = (fxh1 - _snapshot(f(x))) / (2 * h)
        finally:
            x[idx] = orig
        grads.append(xp.asarray(diff, dtype=x.dtype, device=dev))
    return grads


def _snapshot(value: Any) -> Any:
    """A copy of ``f``'s result when it is an array: it may be a view of ``x`` (``lambda v: v[0]`` on PyTorch)."""
    return _compat.namespace(value).asarray(value, copy=True) if _compat.is_array(value) else value


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


class _Placeholder:
    """An argument no computation can use: an ``f`` that reads its argument fails on it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<numerical_gradient placeholder>"


def _require_reads_argument(f: Callable[[Any], Any], x: Array) -> None:
    """Raise ValueError when ``f`` (all of whose differences at the unwritable ``x`` are 0) ignores its argument.

    A flat but honest ``f`` (a dead ReLU, a constant loss) fails on a placeholder argument or
    returns another value there, and keeps its zero gradient.
    """
    try:
        value = _to_float(f(x))
        ignores = math.isfinite(value) and _to_float(f(_Placeholder())) == value
    except Exception:  # noqa: BLE001 - any failure on the placeholder means f used its argument
        ignores = False
    if not ignores:
        return
    raise ValueError(
        f"numerical_gradient: f does not read its argument: f returns {value:.8g} whatever it is passed, so "
        f"every central difference is exactly 0. x ({backend_name(x)} array, shape {tuple(x.shape)}, "
        f"{x.dtype}) cannot be written in place ({read_only_reason(x)}), so its perturbations only reach f "
        "through f's argument. Compute from the argument, e.g. f = lambda W: net.loss(x, t, W=W) instead of "
        "lambda W: net.loss(x, t); or keep the array on a backend with mutable arrays (e.g. NumPy), where "
        "numerical_gradient perturbs it in place as the book does"
    )


def _to_float(value: Any) -> float:
    """``value`` (a 0-d array of any backend, or a number) as a Python float, read through a host copy."""
    return float(to_numpy(value)) if _compat.is_array(value) else float(value)


def gradient_descent(
    f: Callable[[Any], Any], init_x: Any, lr: float = 0.01, step_num: int = 100
) -> tuple[Any, list[Any]]:
    """Plain gradient descent ``x <- x - lr * grad f(x)`` with numerical gradients.

    Parameters
    ----------
    f : callable
        Scalar function of an array.
    init_x : array, real floating
        Start point; bit-identical afterwards (the first numerical gradient perturbs it in
        place and restores it where it can be written).
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
