"""Checks of the arrays a public function, layer or network is given: one clear message per mistake.

Each check names where it was made (``"Affine.forward"``), the argument and what was wrong
(shape, dtype, backend, device) and how to fix it. The rules for one layer's inputs live
beside the layer and are made of these pieces; every check that looks at arrays returns at
once inside :func:`xpnet._array.trust.trusted`, the one way into the unchecked path.
"""

from __future__ import annotations

import math
from typing import Any

from . import compat as _compat
from .registry import backend_name
from .trust import is_trusted

__all__ = [
    "batch_input",
    "describe",
    "float_input",
    "floating_arrays",
    "require_array",
    "require_dout",
    "require_floating",
    "require_nonempty",
    "require_same_dtype",
]

Array = Any


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
    """Raise TypeError unless ``x`` has ``ref``'s dtype."""
    if x.dtype != ref.dtype:
        raise TypeError(
            f"{where}: {name} has dtype {x.dtype} but {ref_name} has {ref.dtype}; "
            f"convert it first, e.g. xp.astype({name}, {ref_name}.dtype)"
        )


def require_nonempty(x: Array, where: str, name: str) -> None:
    """Raise ValueError when ``x`` has no elements (an empty batch)."""
    if any(int(s) == 0 for s in x.shape):
        raise ValueError(f"{where}: {name} is empty (shape {tuple(x.shape)}); a batch needs at least one sample")


def floating_arrays(where: str, **arrays: Any) -> Any:
    """Namespace of ``arrays`` (given by name) after checking each is a floating array, all of one backend and device."""
    for name, value in arrays.items():
        require_array(value, where, name)
    xp = _compat.namespace(*arrays.values(), where=where)
    for name, value in arrays.items():
        require_floating(xp, value, where, name)
    return xp


def float_input(x: Any, where: str, name: str = "x", *, like: Any = None) -> Any:
    """Namespace of ``x`` after checking it is a floating array (of ``like``'s backend and device, if given)."""
    if is_trusted():
        return _compat.namespace_of(x)
    require_array(x, where, name)
    xp = _compat.namespace(x, like, where=where)
    require_floating(xp, x, where, name)
    return xp


def require_dout(dout: Any, like: Array, shape: tuple[int, ...], where: str) -> Any:
    """Namespace of a layer's ``dout`` after checking it matches the forward pass.

    ``dout`` must be a floating array of ``like``'s backend and device with shape ``shape``
    (the forward output's); its dtype promotes with the layer's as the standard says.
    """
    if is_trusted():
        return _compat.namespace_of(dout)
    if not _compat.is_array(dout):
        raise TypeError(f"{where}: dout must be an array of shape {shape}, got {describe(dout)}")
    xp = _compat.namespace(dout, like, where=where)
    require_floating(xp, dout, where, "dout")
    if tuple(dout.shape) != tuple(shape):
        raise ValueError(f"{where}: dout has shape {tuple(dout.shape)}, expected {tuple(shape)} (the forward output's shape)")
    return xp


def batch_input(x: Any, sample_shape: tuple[int, ...], where: str, *, like: Any = None) -> Any:
    """Namespace of a network's input ``x`` after checking it is a non-empty floating batch of samples of ``sample_shape``.

    ``x`` may have shape ``(N, *sample_shape)`` or any ``(N, ...)`` holding as many values per sample.
    """
    if is_trusted():
        return _compat.namespace_of(x)
    xp = float_input(x, where, like=like)
    require_nonempty(x, where, "x")
    width = math.prod(sample_shape)
    if x.ndim < 2 or math.prod(int(s) for s in x.shape[1:]) != width:
        want = ", ".join(str(s) for s in sample_shape)
        raise ValueError(f"{where}: x must have shape (N, {want}) (or (N, ...) with {width} values per sample), got {tuple(x.shape)}")
    return xp
