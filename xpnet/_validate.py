"""Input checks shared by functions, layers and networks: one clear message per mistake."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import math
import numbers
import operator
from typing import Any

from . import _compat
from .errors import BackendError

Array = Any


def describe(x: Any) -> str:
    """Short description of an argument for error messages: shape, dtype and backend."""
    if _compat.is_array(x):
        return f"{_compat.backend_name(x)} array of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"


def require_array(x: Any, where: str, name: str) -> None:
    """Raise TypeError unless ``x`` is an array of some array-API library."""
    if not _compat.is_array(x):
        raise TypeError(f"{where}: {name} must be an array, got {describe(x)}")


def require_floating(xp: Any, x: Array, where: str, name: str) -> None:
    """Raise TypeError unless ``x`` has a real floating dtype."""
    if not xp.isdtype(x.dtype, "real floating"):
        raise TypeError(
            f"{where}: {name} must have a floating dtype (float32 or float64), got {x.dtype}; "
            "convert it first, e.g. xp.astype(x, xp.float32)"
        )


def require_same_dtype(x: Array, ref: Array, where: str, name: str, ref_name: str) -> None:
    """Raise TypeError unless ``x`` has ``ref``'s dtype (both of one namespace: no promotion happens)."""
    if x.dtype != ref.dtype:
        raise TypeError(
            f"{where}: {name} has dtype {x.dtype} but {ref_name} has {ref.dtype}; "
            f"convert it first, e.g. xp.astype({name}, {ref_name}.dtype)"
        )


def require_dout(
    dout: Any, like: Array, shape: tuple[int, ...], where: str, *, same_dtype_as: tuple[str, Array] | None = None
) -> Any:
    """Namespace of a layer's ``dout`` after checking it matches the forward pass.

    ``dout`` must be a floating array of ``like``'s backend and device with shape ``shape``, and
    of the dtype of ``same_dtype_as = (name, array)`` when given (the layer would promote silently).
    """
    if not _compat.is_array(dout):
        raise TypeError(f"{where}: dout must be an array of shape {shape}, got {describe(dout)}")
    xp = _compat.namespace(dout, like, where=where)
    require_floating(xp, dout, where, "dout")
    if tuple(dout.shape) != shape:
        raise ValueError(f"{where}: dout has shape {tuple(dout.shape)}, expected {shape} (the forward output's shape)")
    if same_dtype_as is not None:
        require_same_dtype(dout, same_dtype_as[1], where, "dout", same_dtype_as[0])
    return xp


def require_positive_int(value: Any, where: str, name: str) -> int:
    """``value`` as a Python int: TypeError unless an integer (NumPy's too, not bool), ValueError unless >= 1."""
    if isinstance(value, bool):
        raise TypeError(f"{where}: {name} must be a positive int, got {describe(value)}")
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"{where}: {name} must be a positive int, got {describe(value)}") from None
    if n < 1:
        raise ValueError(f"{where}: {name} must be a positive int, got {value!r}")
    return n


def require_finite_number(value: Any, where: str, name: str, *, positive: bool = False) -> float:
    """``value`` as a Python float: TypeError unless a real number (not bool), ValueError unless finite (and > 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        kind = "a positive finite number" if positive else "a finite number"
        raise TypeError(f"{where}: {name} must be {kind}, got {describe(value)}")
    v = float(value)
    if not math.isfinite(v) or (positive and not v > 0):
        kind = "positive and finite" if positive else "a finite number"
        raise ValueError(f"{where}: {name} must be {kind}, got {value!r}")
    return v


def require_nonempty(x: Array, where: str, name: str) -> None:
    """Raise ValueError when ``x`` has no elements (an empty batch)."""
    if any(int(s) == 0 for s in x.shape):
        raise ValueError(f"{where}: {name} is empty (shape {tuple(x.shape)}); a batch needs at least one sample")


def check_labels(xp: Any, t: Array, k: int, where: str, *, validate: bool = True) -> None:
    """Integer labels ``t`` for ``k`` classes: TypeError unless integral; with ``validate``, ValueError unless
    ``0 <= t < k`` (one boolean read back to the host)."""
    if not xp.isdtype(t.dtype, "integral"):
        raise TypeError(
            f"{where}: labels t must be integers (class indices 0..{k - 1}), got dtype {t.dtype}; "
            "pass integer labels or one-hot targets of the scores' shape"
        )
    if validate and _compat.size(t) > 0:
        bad = xp.any((t < 0) | (t >= k))
        if bool(bad):
            lo, hi = int(xp.min(t)), int(xp.max(t))
            raise ValueError(f"{where}: labels must lie in 0..{k - 1} for {k} classes, got values in {lo}..{hi}")


def labels_to_one_hot(
    xp: Any, y: Array, t: Array, where: str, *, validate: bool = True
) -> tuple[Array, Array]:
    """Bring scores ``y`` and targets ``t`` to 2-D form with one-hot targets of ``y``'s dtype.

    Parameters
    ----------
    y : array, shape (K,) or (N, K), real floating
        Scores or probabilities.
    t : array
        One-hot targets of ``y``'s shape, or integer class labels of shape ``y.shape[:-1]``.
    validate : bool
        Check that integer labels lie in ``0 <= t < K``. This reads one boolean back to the
        host (a device sync); callers that validated their labels once may skip it.

    Returns
    -------
    y2, onehot : arrays of shape (N, K) and ``y``'s dtype
    """
    require_array(t, where, "t")
    if y.ndim not in (1, 2):
        raise ValueError(f"{where}: scores must be 1-D (K,) or 2-D (N, K), got shape {tuple(y.shape)}")
    k = int(y.shape[-1])
    if tuple(t.shape) == tuple(y.shape):
        onehot = t if t.dtype == y.dtype else xp.astype(t, y.dtype)
    elif tuple(t.shape) == tuple(y.shape[:-1]):
        check_labels(xp, t, k, where, validate=validate)
        classes = xp.arange(k, dtype=t.dtype, device=_compat.device(t))
        onehot = xp.astype(t[..., None] == classes, y.dtype)
    else:
        t_form = "one-hot" if t.ndim == y.ndim else "label"
        expected = f"one-hot targets of shape {tuple(y.shape)} or integer labels of shape {tuple(y.shape[:-1])}"
        if t.ndim == y.ndim and t.ndim == 2 and t.shape[0] == y.shape[0]:
            detail = f"one-hot width {t.shape[-1]} does not match the {k} outputs"
        elif t.ndim >= 1 and y.ndim == 2 and t.shape[0] != y.shape[0]:
            detail = f"batch sizes differ: {y.shape[0]} scores but {t.shape[0]} {t_form} targets"
        else:
            detail = "shapes do not match"
        raise ValueError(f"{where}: {detail}; expected {expected}, got t of shape {tuple(t.shape)}")
    if y.ndim == 1:
        y = xp.reshape(y, (1, k))
        onehot = xp.reshape(onehot, (1, k))
    return y, onehot


@contextmanager
def named_errors(owner: str) -> Iterator[None]:
    """Prefix ``owner: `` to the errors of backend, dtype and seed checks made on the owner's behalf."""
    try:
        yield
    except (TypeError, ValueError, BackendError) as exc:
        raise type(exc)(f"{owner}: {exc}") from None  # the message already says it all
