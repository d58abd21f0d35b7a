"""Input checks shared by functions, layers, networks and the trainer: one clear message per mistake.

Every public function and method makes its checks in one call, then does the math. Inside
:func:`trusted` (the training step, evaluation, the batched numerical gradient: callers that
validated their inputs once, at the boundary) the array checks are skipped and only the
namespace is looked up; that context manager is the one way into the unchecked path.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np

from ..errors import BackendError
from . import compat as _compat
from .registry import backend_name

Array = Any

_TRUSTED: ContextVar[bool] = ContextVar("xpnet_trusted", default=False)


@contextmanager
def trusted() -> Iterator[None]:
    """Run the block on inputs already validated at the boundary: per-call array checks are skipped.

    The setting belongs to the current thread (and context): another thread starts checked.
    Parameter replacements (``params[k] = v``) are not checked inside either, so a traced
    step (``jax.jit``) can assign tracers.
    """
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def is_trusted() -> bool:
    """True inside :func:`trusted`."""
    return _TRUSTED.get()


def float_input(x: Any, where: str, name: str = "x", *, like: Any = None) -> Any:
    """Namespace of ``x`` after checking it is a floating array (of ``like``'s backend and device, if given)."""
    if _TRUSTED.get():
        return _compat.namespace_of(x)
    require_array(x, where, name)
    xp = _compat.namespace(x, like, where=where)
    require_floating(xp, x, where, name)
    return xp


def affine_input(x: Any, W: Array, b: Array, where: str) -> Any:
    """Namespace of an Affine layer's input ``x``: a floating batch of ``W``'s dtype with ``W.shape[0]`` features."""
    if _TRUSTED.get():
        return _compat.namespace_of(x)
    require_array(x, where, "x")
    xp = _compat.namespace(x, W, b, where=where)
    require_floating(xp, x, where, "x")
    require_same_dtype(x, W, where, "x", "W")
    if x.ndim < 1:
        raise ValueError(f"{where}: x must have a batch axis, got a 0-d array")
    d = math.prod(int(s) for s in x.shape[1:])
    if d != W.shape[0]:
        raise ValueError(
            f"{where}: input of shape {tuple(x.shape)} has {d} features per sample, "
            f"but W has shape {tuple(W.shape)} and expects {W.shape[0]}"
        )
    return xp


def describe(x: Any) -> str:
    """Short description of an argument for error messages: shape, dtype and backend."""
    if _compat.is_array(x):
        return f"{backend_name(x)} array of shape {tuple(x.shape)} and dtype {x.dtype}"
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
    if _TRUSTED.get():
        return _compat.namespace_of(dout)
    if not _compat.is_array(dout):
        raise TypeError(f"{where}: dout must be an array of shape {shape}, got {describe(dout)}")
    xp = _compat.namespace(dout, like, where=where)
    require_floating(xp, dout, where, "dout")
    if tuple(dout.shape) != shape:
        raise ValueError(f"{where}: dout has shape {tuple(dout.shape)}, expected {shape} (the forward output's shape)")
    if same_dtype_as is not None:
        require_same_dtype(dout, same_dtype_as[1], where, "dout", same_dtype_as[0])
    return xp


def batch_input(x: Any, width: int, where: str, *, like: Any = None) -> Any:
    """Namespace of ``x`` after checking it is a non-empty floating batch (N, width) or (N, ...) of ``width`` values."""
    if _TRUSTED.get():
        return _compat.namespace_of(x)
    xp = float_input(x, where, like=like)
    require_nonempty(x, where, "x")
    if x.ndim < 2 or math.prod(int(s) for s in x.shape[1:]) != width:
        raise ValueError(
            f"{where}: x must have shape (N, {width}) (or (N, ...) with {width} values per sample), got {tuple(x.shape)}"
        )
    return xp


def class_labels(xp: Any, x: Array, t: Any, k: int, where: str) -> Array:
    """Integer labels (N,) of targets ``t`` for a batch ``x`` of N samples: labels checked to lie in ``0..k-1``,
    or one-hot rows (N, k) turned into labels."""
    require_array(t, where, "t")
    xp = _compat.namespace(x, t, where=where)
    n = int(x.shape[0])
    if t.ndim not in (1, 2) or int(t.shape[0]) != n:
        raise ValueError(f"{where}: t must be labels (N,) or one-hot (N, K) with N={n}, got {tuple(t.shape)}")
    if t.ndim == 2:
        if int(t.shape[1]) != k:
            raise ValueError(f"{where}: one-hot width {t.shape[1]} does not match the {k} outputs")
        return xp.argmax(t, axis=1)
    check_labels(xp, t, k, where)
    return t


def affine_params(W: Any, b: Any, where: str) -> None:
    """Check an Affine layer's ``W`` (D, M) and ``b`` (M,): floating arrays of one backend, device and dtype."""
    require_array(W, where, "W")
    require_array(b, where, "b")
    xp = _compat.namespace(W, b, where=where)
    require_floating(xp, W, where, "W")
    require_floating(xp, b, where, "b")
    if W.dtype != b.dtype:
        raise TypeError(
            f"{where}: W and b must have the same dtype, got {W.dtype} and {b.dtype}; "
            "convert one, e.g. xp.astype(b, W.dtype)"
        )
    if W.ndim != 2 or b.ndim != 1 or b.shape[0] != W.shape[1]:
        raise ValueError(f"{where}: W must be (D, M) and b (M,), got W {tuple(W.shape)} and b {tuple(b.shape)}")


def loss_dout(dout: Any, y: Array, where: str) -> tuple[Any, Any]:
    """``(xp, dout)`` after checking a loss layer's ``dout``: a real number (made a Python float), or a 0-d
    array of ``y``'s backend, device and dtype."""
    if isinstance(dout, numbers.Real) and not isinstance(dout, bool):
        return _compat.namespace_of(y), float(dout)
    if _TRUSTED.get():
        return _compat.namespace_of(y), dout
    if not _compat.is_array(dout):
        raise TypeError(f"{where}: dout must be a number or a 0-d array, got {describe(dout)}")
    xp = _compat.namespace(dout, y, where=where)
    require_floating(xp, dout, where, "dout")
    if dout.ndim != 0:
        raise ValueError(f"{where}: dout must be a scalar or 0-d array (the loss is a scalar), got shape {tuple(dout.shape)}")
    require_same_dtype(dout, y, where, "dout", "y")
    return xp, dout


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
    if validate and not _TRUSTED.get() and _compat.size(t) > 0:
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
    if _TRUSTED.get() and y.ndim == 2 and t.shape == y.shape and t.dtype == y.dtype:
        return y, t  # the training step's one-hot batches
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


def scores_and_targets(y: Any, t: Any, where: str, *, validate: bool = True, name: str = "x") -> tuple[Any, Array, Array]:
    """``(xp, y2, onehot)``: checked scores ``y`` (K,) or (N, K) and targets ``t`` (one-hot or labels) in 2-D form.

    See :func:`labels_to_one_hot`; ``y`` must be a non-empty floating array, ``t`` an array of its backend and device.
    """
    if _TRUSTED.get():
        xp = _compat.namespace_of(y)
        return (xp, *labels_to_one_hot(xp, y, t, where, validate=False))
    require_array(y, where, name)
    require_array(t, where, "t")
    xp = _compat.namespace(y, t, where=where)
    require_floating(xp, y, where, name)
    require_nonempty(y, where, name)
    return (xp, *labels_to_one_hot(xp, y, t, where, validate=validate))


def host_labels(t: Any, n_classes: int, name: str, where: str = "train") -> np.ndarray:
    """Labels (N,) or one-hot (N, K) as int64 host labels (N,), checked to lie in ``0..K-1``.

    One-hot rows must hold a single 1 and zeros elsewhere: a row of zeros, a soft or
    non-finite row would otherwise become a class silently (``argmax`` picks the first).
    """
    from .registry import to_numpy

    t = np.asarray(to_numpy(t))
    if t.ndim == 2:
        if t.shape[1] != n_classes:
            raise ValueError(f"{where}: {name} one-hot width {t.shape[1]} does not match the network's {n_classes} outputs")
        _check_one_hot(t, name, where)
        t = np.argmax(t, axis=1)
    if t.ndim != 1:
        raise ValueError(f"{where}: {name} must be labels (N,) or one-hot (N, {n_classes}), got shape {t.shape}")
    if not np.issubdtype(t.dtype, np.integer):
        if t.dtype.kind in "USO":
            got, fix = f"strings or objects (dtype {t.dtype})", "map them to 0..K-1 first, e.g. np.unique(t, return_inverse=True)[1]"
        else:
            got, fix = f"dtype {t.dtype}", "convert whole-number labels with t.astype(np.int64)"
        raise TypeError(f"{where}: {name} must be integer class indices, got {got}; {fix}")
    if t.size and (int(t.min()) < 0 or int(t.max()) >= n_classes):
        raise ValueError(
            f"{where}: {name} must lie in 0..{n_classes - 1} for the network's {n_classes} outputs, "
            f"got values in {int(t.min())}..{int(t.max())}"
        )
    return t.astype(np.int64, copy=False)


def _check_one_hot(t: np.ndarray, name: str, where: str) -> None:
    """Raise ValueError naming the first row of ``t`` (N, K) that is not a one-hot row (a single 1, zeros elsewhere)."""
    if not (np.issubdtype(t.dtype, np.number) or t.dtype == np.bool_):
        raise TypeError(f"{where}: {name} one-hot targets must be numbers, got dtype {t.dtype}")
    ones = t == 1
    bad = ~(((t == 0) | ones).all(axis=1) & (ones.sum(axis=1) == 1))
    if bad.any():
        i = int(np.argmax(bad))
        row = np.asarray(t[i], dtype=np.float64)
        odd = int(np.argmax((row != 0) & (row != 1)))
        if not np.any(row):
            detail = "all zeros"
        elif not np.all(np.isfinite(row)):
            detail = "holds NaN or inf"
        elif row.sum() != 1:
            detail = f"sums to {row.sum():g}"
        else:
            detail = f"holds {row[odd]:g} at column {odd}"
        raise ValueError(
            f"{where}: {name} row {i} is not one-hot ({detail}; {int(bad.sum())} such row(s)): each row must hold a single 1 "
            "and zeros elsewhere, or pass integer labels"
        )


def host_images(x: Any, width: int, name: str, where: str = "train") -> np.ndarray:
    """Images (N, width) or (N, ...) of uint8 pixels or finite floats, as a host array (N, width).

    NaN or infinite values are refused here, at the boundary, naming the first bad index: they
    would otherwise surface many steps later as a diverged loss.
    """
    from .registry import to_numpy

    x = np.asarray(to_numpy(x))
    if x.ndim < 2 or math.prod(x.shape[1:]) != width:
        raise ValueError(f"{where}: {name} must have shape (N, {width}) or (N, ...) with {width} values per sample, got {x.shape}")
    if not (x.dtype == np.uint8 or np.issubdtype(x.dtype, np.floating)):
        raise TypeError(f"{where}: {name} must be uint8 pixels or floats, got dtype {x.dtype}")
    if x.shape[0] == 0:
        raise ValueError(f"{where}: {name} is empty")
    if x.dtype != np.uint8:
        finite = np.isfinite(x)
        if not finite.all():
            first = tuple(int(i) for i in np.unravel_index(int(np.argmin(finite)), x.shape))
            bad = int(x.size - np.count_nonzero(finite))
            raise ValueError(
                f"{where}: {name} contain {x[first]} at index {first} ({bad} non-finite value(s) in all); "
                "clean or drop those samples before training"
            )
    return x.reshape(x.shape[0], width)


@contextmanager
def named_errors(owner: str) -> Iterator[None]:
    """Prefix ``owner: `` to the errors of backend, dtype and seed checks made on the owner's behalf."""
    try:
        yield
    except (TypeError, ValueError, BackendError) as exc:
        raise type(exc)(f"{owner}: {exc}") from None  # the message already says it all
