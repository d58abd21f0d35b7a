"""Targets, checked and converted in one place: integer class labels and one-hot rows.

The one rule: targets of the scores' shape are one-hot rows; integer targets of shape (N,)
(or (N, 1), as the book's ``ch07/gradient_check.py`` passes them) are class labels in
``0..K-1``. The losses take rows of the scores' shape as they are (soft targets work); where a
class is needed (accuracy, a training set) each such row must hold a single 1 and zeros
elsewhere, and a row that does not is refused, naming it: ``argmax`` would silently pick its
first largest entry. Every function is array-API generic, so the host data sets go through
the same code on NumPy.
"""

from __future__ import annotations

from typing import Any

from . import compat as _compat
from .checks import require_array, require_floating, require_nonempty
from .registry import to_numpy
from .trust import is_trusted

__all__ = ["check_label_values", "one_hot_targets", "scores_and_targets", "to_labels"]

Array = Any


def check_label_values(xp: Any, t: Array, k: int, where: str, *, name: str = "t", validate: bool = True) -> None:
    """Integer labels ``t`` for ``k`` classes: TypeError unless integral; with ``validate``, ValueError unless
    ``0 <= t < k`` (one boolean read back to the host)."""
    if not xp.isdtype(t.dtype, "integral"):
        kind = "labels t" if name == "t" else name
        raise TypeError(
            f"{where}: {kind} must be integers (class indices 0..{k - 1}), got dtype {t.dtype}; "
            "pass integer labels or one-hot targets of the scores' shape"
        )
    if validate and not is_trusted() and _compat.size(t) > 0:
        bad = xp.any((t < 0) | (t >= k))
        if bool(bad):
            lo, hi = int(xp.min(t)), int(xp.max(t))
            raise ValueError(f"{where}: labels must lie in 0..{k - 1} for {k} classes, got values in {lo}..{hi}")


def _label_column(t: Array, batch_shape: tuple[int, ...]) -> bool:
    """True for integer labels given as a column ``(N, 1)`` where ``(N,)`` is meant."""
    return len(batch_shape) == 1 and tuple(t.shape) == (*batch_shape, 1)


def one_hot_targets(xp: Any, y: Array, t: Array, where: str, *, validate: bool = True) -> tuple[Array, Array]:
    """Bring scores ``y`` and targets ``t`` to 2-D form with one-hot targets of ``y``'s dtype.

    Parameters
    ----------
    y : array, shape (K,) or (N, K), real floating
        Scores or probabilities.
    t : array
        Rows of ``y``'s shape (one-hot, or soft targets), or integer class labels of shape
        ``y.shape[:-1]`` (or ``(N, 1)``).
    validate : bool
        Check that integer labels lie in ``0 <= t < K`` (one boolean read back to the host).

    Returns
    -------
    y2, onehot : arrays of shape (N, K) and ``y``'s dtype
    """
    if is_trusted() and y.ndim == 2 and t.shape == y.shape and t.dtype == y.dtype:
        return y, t  # the training step's one-hot batches
    require_array(t, where, "t")
    if y.ndim not in (1, 2):
        raise ValueError(f"{where}: scores must be 1-D (K,) or 2-D (N, K), got shape {tuple(y.shape)}")
    k = int(y.shape[-1])
    batch_shape = tuple(y.shape[:-1])
    if tuple(t.shape) == tuple(y.shape):
        onehot = t if t.dtype == y.dtype else xp.astype(t, y.dtype)
    elif tuple(t.shape) == batch_shape or (_label_column(t, batch_shape) and xp.isdtype(t.dtype, "integral")):
        check_label_values(xp, t, k, where, validate=validate)
        t = xp.reshape(t, batch_shape) if t.ndim != len(batch_shape) else t
        classes = xp.arange(k, dtype=t.dtype, device=_compat.device(t))
        onehot = xp.astype(t[..., None] == classes, y.dtype)
    else:
        raise ValueError(f"{where}: {_mismatch(y, t)}")
    if y.ndim == 1:
        y = xp.reshape(y, (1, k))
        onehot = xp.reshape(onehot, (1, k))
    return y, onehot


def _mismatch(y: Array, t: Array) -> str:
    """Why targets ``t`` do not fit scores ``y``, and what would."""
    k = int(y.shape[-1])
    t_form = "one-hot" if t.ndim == y.ndim else "label"
    expected = f"one-hot targets of shape {tuple(y.shape)} or integer labels of shape {tuple(y.shape[:-1])}"
    if t.ndim == y.ndim == 2 and t.shape[0] == y.shape[0]:
        detail = f"one-hot width {t.shape[-1]} does not match the {k} outputs"
    elif t.ndim >= 1 and y.ndim == 2 and t.shape[0] != y.shape[0]:
        detail = f"batch sizes differ: {y.shape[0]} scores but {t.shape[0]} {t_form} targets"
    else:
        detail = "shapes do not match"
    return f"{detail}; expected {expected}, got t of shape {tuple(t.shape)}"


def scores_and_targets(y: Any, t: Any, where: str, *, validate: bool = True, name: str = "x") -> tuple[Any, Array, Array]:
    """``(xp, y2, onehot)``: checked scores ``y`` (K,) or (N, K) and targets ``t`` in 2-D form (see :func:`one_hot_targets`).

    ``y`` must be a non-empty floating array, ``t`` an array of its backend and device.
    """
    if is_trusted():
        xp = _compat.namespace_of(y)
        return (xp, *one_hot_targets(xp, y, t, where, validate=False))
    require_array(y, where, name)
    require_array(t, where, "t")
    xp = _compat.namespace(y, t, where=where)
    require_floating(xp, y, where, name)
    require_nonempty(y, where, name)
    return (xp, *one_hot_targets(xp, y, t, where, validate=validate))


def to_labels(xp: Any, t: Array, k: int, where: str, *, n: int | None = None, name: str = "t") -> Array:
    """Class labels (N,) of targets ``t`` for ``k`` classes: integer labels (N,) or (N, 1) checked to lie in
    ``0..k-1``, or one-hot rows (N, k) checked to be one-hot and turned into labels.

    ``n``, when given, is the number of samples ``t`` must cover. Inside ``trusted()`` nothing is
    checked (one-hot rows are taken by their ``argmax``).
    """
    if t.ndim == 2 and int(t.shape[1]) == 1 and k != 1:
        t = xp.reshape(t, (int(t.shape[0]),))
    if t.ndim not in (1, 2) or (n is not None and int(t.shape[0]) != n):
        size = f" with N={n}" if n is not None else ""
        raise ValueError(f"{where}: {name} must be labels (N,) or one-hot (N, K){size}, got {tuple(t.shape)}")
    if t.ndim == 1:
        check_label_values(xp, t, k, where, name=name)
        return t
    if int(t.shape[1]) != k:
        raise ValueError(f"{where}: {'' if name == 't' else name + ' '}one-hot width {t.shape[1]} does not match the {k} outputs")
    if not is_trusted():
        _require_one_hot(xp, t, where, name)
    return xp.argmax(t, axis=1)


def _require_one_hot(xp: Any, t: Array, where: str, name: str) -> None:
    """Raise ValueError naming the first row of ``t`` (N, K) that is not one-hot (a single 1, zeros elsewhere)."""
    if not (xp.isdtype(t.dtype, "numeric") or xp.isdtype(t.dtype, "bool")):
        raise TypeError(f"{where}: {name} one-hot targets must be numbers, got dtype {t.dtype}")
    if xp.isdtype(t.dtype, "bool"):
        t = xp.astype(t, xp.int32)
    ones = t == 1
    count = xp.sum(xp.astype(ones, xp.int32), axis=1)
    bad = ~(xp.all(ones | (t == 0), axis=1) & (count == 1))
    if not bool(xp.any(bad)):
        return
    flags = to_numpy(bad)
    i = int(flags.argmax())
    row = to_numpy(t[i, ...]).astype("float64")
    if not row.any():
        detail = "all zeros"
    elif not all(v == v and abs(v) != float("inf") for v in row.tolist()):
        detail = "holds NaN or inf"
    elif row.sum() != 1:
        detail = f"sums to {row.sum():g}"
    else:
        odd = int(((row != 0) & (row != 1)).argmax())
        detail = f"holds {row[odd]:g} at column {odd}"
    raise ValueError(
        f"{where}: {name} row {i} is not one-hot ({detail}; {int(flags.sum())} such row(s)): each row must hold a single 1 "
        "and zeros elsewhere, or pass integer labels"
    )
