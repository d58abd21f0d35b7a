"""Checks of the Python numbers and names a public function or constructor takes: one clear message per mistake."""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from ..errors import BackendError
from .checks import describe

__all__ = [
    "flag_names", "named_errors", "require_choice", "require_finite_number", "require_non_negative_int", "require_positive_int",
    "require_seed", "setting",
]

_FLAG_NAMES: ContextVar[bool] = ContextVar("xpnet_flag_names", default=False)


def setting(name: str, flag: str | None = None) -> str:
    """How a message names the setting ``name``: ``name`` itself (the Python parameter), or inside
    :func:`flag_names` its command-line flag, ``flag`` or else ``--name-with-dashes``."""
    if not _FLAG_NAMES.get():
        return name
    return flag if flag is not None else "--" + name.replace("_", "-")


@contextmanager
def flag_names() -> Iterator[None]:
    """Inside the block (the ``xpnet`` command), messages built with :func:`setting` name command-line flags.

    The setting belongs to the current thread (and context), like :func:`~xpnet._array.trust.trusted`.
    """
    token = _FLAG_NAMES.set(True)
    try:
        yield
    finally:
        _FLAG_NAMES.reset(token)


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


def require_non_negative_int(value: Any, where: str, name: str) -> int:
    """``value`` as a Python int: TypeError unless an integer (NumPy's too, not bool), ValueError unless >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be a non-negative int, got {describe(value)}")
    if value < 0:
        raise ValueError(f"{where}: {name} must be a non-negative int, got {value!r}")
    return int(value)


def require_finite_number(value: Any, where: str, name: str, *, positive: bool = False, non_negative: bool = False) -> float:
    """``value`` as a Python float: TypeError unless a real number (not bool), ValueError unless finite (and > 0 or >= 0)."""
    kind = "a positive finite number" if positive else "a non-negative finite number" if non_negative else "a finite number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be {kind}, got {describe(value)}")
    v = float(value)
    if not math.isfinite(v) or (positive and not v > 0) or (non_negative and not v >= 0):
        kind = "positive and finite" if positive else "non-negative and finite" if non_negative else kind
        raise ValueError(f"{where}: {name} must be {kind}, got {value!r}")
    return v


def require_choice(value: Any, choices: Collection[str], where: str, name: str) -> str:
    """``value`` when it is one of the strings ``choices`` (compared as given): TypeError or ValueError naming them."""
    listed = ", ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise TypeError(f"{where}: {name} must be one of {listed}, got {describe(value)}")
    if value not in choices:
        raise ValueError(f"{where}: {name} must be one of {listed}, got {value!r}")
    return value


def require_seed(seed: Any, where: str) -> int | None:
    """``seed`` as a non-negative Python int, or None: ValueError otherwise."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{where}: seed must be a non-negative int or None, got {seed!r}")
    return int(seed)


@contextmanager
def named_errors(owner: str) -> Iterator[None]:
    """Prefix ``owner: `` to the errors of backend, dtype and seed checks made on the owner's behalf."""
    try:
        yield
    except (TypeError, ValueError, BackendError) as exc:
        raise type(exc)(f"{owner}: {exc}") from None  # the message already says it all
