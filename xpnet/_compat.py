"""The one place xpnet touches array-api-compat: namespaces, devices, host copies."""

from __future__ import annotations

import importlib
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "backend_name",
    "compat_namespace",
    "device",
    "is_array",
    "is_writeable",
    "namespace",
    "namespace_name",
    "size",
    "to_device",
    "to_numpy",
]

Array = Any


def is_array(x: object) -> bool:
    """True for an array of any array-API library (Python scalars are not arrays)."""
    return type(x) is np.ndarray or array_api_compat.is_array_api_obj(x)


def is_writeable(x: Array) -> bool:
    """True when ``x[idx] = v`` may write into ``x`` in place.

    False for JAX arrays (immutable), read-only NumPy arrays, and tensors that require grad.
    A library may still refuse the write (array_api_strict over read-only memory): try it.
    """
    if isinstance(x, np.ndarray):
        return bool(x.flags.writeable)
    if array_api_compat.is_torch_array(x) and x.requires_grad:
        return False
    return bool(array_api_compat.is_writeable_array(x))


def backend_name(x: Array) -> str:
    """Short name of the library that owns array ``x`` (``"numpy"``, ``"torch"``, ...)."""
    checks = (
        ("numpy", array_api_compat.is_numpy_array),
        ("cupy", array_api_compat.is_cupy_array),
        ("torch", array_api_compat.is_torch_array),
        ("jax", array_api_compat.is_jax_array),
    )
    for name, check in checks:
        if check(x):
            return name
    module = type(x).__module__.split(".")[0]
    return module


def namespace(*arrays: Array | None, where: str | None = None) -> Any:
    """Array namespace shared by ``arrays`` (scalars and ``None`` are ignored).

    Raises
    ------
    TypeError
        If no argument is an array, or if the arrays come from two libraries.
    ValueError
        If the arrays live on two different devices.
    """
    if arrays and all(type(a) is np.ndarray or isinstance(a, np.generic) for a in arrays):
        return _NUMPY  # the hot path of NumPy training steps: nothing to compare
    present = [a for a in arrays if a is not None and is_array(a)]
    prefix = f"{where}: " if where else ""
    if not present:
        kinds = ", ".join(type(a).__name__ for a in arrays) or "nothing"
        raise TypeError(f"{prefix}expected at least one array, got {kinds}")
    try:
        xp = array_api_compat.array_namespace(*present)
    except TypeError as exc:
        names = sorted({backend_name(a) for a in present})
        raise TypeError(
            f"{prefix}arrays from different backends cannot be mixed: got {' and '.join(names)}; "
            "move them to one backend first (e.g. xpnet.backends.get_backend(name).asarray(x))"
        ) from exc
    if xp is _NUMPY_COMPAT:
        xp = _NUMPY
    if len(present) > 1:
        first = array_api_compat.device(present[0])
        for other in present[1:]:
            dev = array_api_compat.device(other)
            if dev != first:
                raise ValueError(
                    f"{prefix}arrays on different devices cannot be combined: {first!r} and {dev!r}; "
                    "move them to one device first"
                )
    return xp


_NUMPY_COMPAT = importlib.import_module("array_api_compat.numpy")


def _fast_numpy() -> Any:
    """NumPy itself where it implements the standard (2.1+, fewer wrapper layers), else the compat wrapper."""
    major, minor = (int(p) for p in np.__version__.split(".")[:2])
    return np if (major, minor) >= (2, 1) else _NUMPY_COMPAT


_NUMPY = _fast_numpy()


def device(x: Array) -> Any:
    """Device that array ``x`` lives on."""
    return array_api_compat.device(x)


def size(x: Array) -> int:
    """Number of elements of ``x`` as a Python int."""
    n = array_api_compat.size(x)
    return int(n) if n is not None else 0


def to_device(x: Array, dev: Any) -> Array:
    """Copy or move ``x`` to device ``dev`` (no-op when it is already there)."""
    return array_api_compat.to_device(x, dev)


def to_numpy(x: Any) -> np.ndarray:
    """Host NumPy copy of an array of any backend (the boundary to the host)."""
    if isinstance(x, np.ndarray):
        return x
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    if is_array(x):
        try:
            return np.asarray(x)
        except (TypeError, ValueError, RuntimeError):
            # array_api_strict on a non-default device refuses __array__; go via the CPU device.
            xp = array_api_compat.array_namespace(x)
            info = xp.__array_namespace_info__()
            return np.asarray(array_api_compat.to_device(x, info.default_device()))
    return np.asarray(x)


def compat_namespace(name: str) -> Any:
    """The array-API namespace of backend ``name`` (import errors propagate).

    NumPy, CuPy and PyTorch get array-api-compat's wrapped namespaces; JAX and
    array_api_strict implement the standard themselves.
    """
    if name == "numpy":
        return _NUMPY
    if name in ("cupy", "torch"):
        importlib.import_module(name)
        return importlib.import_module(f"array_api_compat.{name}")
    if name == "jax":
        return importlib.import_module("jax.numpy")
    if name == "array_api_strict":
        return importlib.import_module("array_api_strict")
    raise ValueError(f"unknown backend {name!r}")


def namespace_name(xp: Any) -> str | None:
    """Backend name of namespace ``xp``, or None when xpnet does not know it."""
    checks = (
        ("numpy", array_api_compat.is_numpy_namespace),
        ("cupy", array_api_compat.is_cupy_namespace),
        ("torch", array_api_compat.is_torch_namespace),
        ("jax", array_api_compat.is_jax_namespace),
        ("array_api_strict", array_api_compat.is_array_api_strict_namespace),
    )
    for name, check in checks:
        if check(xp):
            return name
    return None
