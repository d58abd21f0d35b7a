"""What xpnet needs of an array namespace, checked up front: the standard's version, the functions and dtypes its
math calls, and arrays that say where they live.

:func:`check_namespace` refuses, in one sentence naming the library, a namespace that implements
an older version of the array API standard than :data:`~xpnet._array.compat.MIN_STANDARD`, one
that lacks a function or dtype of :data:`REQUIRED`, or (for a library without a row of its own)
one whose arrays are not arrays of the standard or have no ``device``.
"""

from __future__ import annotations

from typing import Any

from ..errors import BackendError
from . import compat
from .derived import namespace_label
from .compat import MIN_STANDARD

__all__ = ["REQUIRED", "check_arrays", "check_namespace", "namespace_of_module"]

#: What xpnet's math calls in a namespace (functions, then dtypes): a library without one is refused up front, naming it.
REQUIRED = ("abs", "all", "any", "arange", "argmax", "asarray", "astype", "concat", "count_nonzero", "exp", "isdtype",
            "isfinite", "log", "matmul", "max", "maximum", "mean", "min", "permute_dims", "reshape", "result_type", "sqrt",
            "stack", "sum", "take", "where", "zeros", "zeros_like",
            "float32", "float64", "int32", "int64", "uint8", "uint32")


def check_namespace(xp: Any) -> None:
    """Refuse, in one sentence, a namespace of an older standard than xpnet needs or lacking a function its math calls."""
    label = namespace_label(xp)
    version = getattr(xp, "__array_api_version__", None)
    if version is not None and str(version) < MIN_STANDARD:
        raise BackendError(
            f"{label} implements version {version} of the array API standard; xpnet needs {MIN_STANDARD} or newer "
            "(Python scalars as arguments of where, maximum, clip): update the library, or select a newer "
            "version where it has a switch (array_api_strict.set_array_api_strict_flags(api_version=...))"
        )
    missing = [fn for fn in REQUIRED if not hasattr(xp, fn)]
    if missing:
        raise BackendError(f"{label} lacks {', '.join(missing)}, which xpnet's math calls; it cannot be a backend")


def check_arrays(xp: Any) -> None:
    """Refuse, in one sentence, a namespace whose ``asarray(0.0)`` fails, is no array of the standard, or has no device."""
    label = namespace_label(xp)
    try:
        probe = xp.asarray(0.0)
    except Exception as exc:  # noqa: BLE001 - whatever the library raises, say it in one line
        raise BackendError(f"{label}.asarray(0.0) fails ({type(exc).__name__}: {' '.join(str(exc).split())}); "
                           "it cannot be a backend") from None
    if not compat.is_array(probe):
        raise BackendError(f"{label}.asarray(0.0) returns a {type(probe).__name__}, not an array of the standard "
                           "(it has no __array_namespace__); it cannot be a backend")
    try:
        compat.device(probe)
    except AttributeError:
        raise BackendError(f"{label}'s arrays ({type(probe).__name__}) have no device attribute, which the standard gives "
                           "every array and xpnet creates new arrays on; it cannot be a backend") from None


def namespace_of_module(module: Any, label: str) -> Any:
    """The array-API namespace of a library module (itself, or array-api-compat's wrapper of it).

    Raises
    ------
    ValueError
        ``module`` is no array namespace (no ``asarray``, or arrays that array-api-compat does not know).
    """
    if hasattr(module, "__array_api_version__") and hasattr(module, "__array_namespace_info__"):
        return module
    make = getattr(module, "asarray", None)
    if make is None:
        raise ValueError(f"{label} is not an array namespace: it has no asarray (pass a module such as dask.array)")
    try:
        return compat.namespace(make(0.0))
    except Exception as exc:  # noqa: BLE001 - an asarray of another meaning, or arrays of no known library
        raise ValueError(f"{label} is not an array-API namespace that xpnet can use "
                         f"({type(exc).__name__}: {' '.join(str(exc).split())})") from None
