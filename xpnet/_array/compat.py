"""The one place xpnet touches array-api-compat: namespaces and devices of arrays of any library."""

from __future__ import annotations

import importlib
import math
import types
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "MIN_STANDARD",
    "NUMPY",
    "compat_module",
    "device",
    "is_array",
    "is_lazy",
    "is_writeable",
    "library",
    "library_name",
    "namespace",
    "namespace_of",
    "size",
    "to_device",
]

Array = Any


#: The oldest version of the array API standard xpnet's code needs (Python scalars as arguments of ``where``,
#: ``maximum``, ``clip``: 2024.12). A namespace that declares an older one is refused up front.
MIN_STANDARD = "2024.12"


def _fast_numpy() -> Any:
    """NumPy's namespace for xpnet: NumPy itself where it implements the standard xpnet needs (NumPy 2.2+, which
    declares 2024.12), else the compat wrapper.

    Its reductions go straight to the ufuncs' ``reduce`` (what ``np.sum``, ``np.max`` and ``np.mean``
    call after a Python-level dispatch that costs more than the work at a training step's sizes),
    with the same results bit for bit. Everything else is the module's own.
    """
    own_version = str(getattr(np, "__array_api_version__", ""))
    base = np if own_version >= MIN_STANDARD else importlib.import_module("array_api_compat.numpy")
    fast = types.ModuleType("numpy", "NumPy for xpnet: the standard namespace, reductions through ufunc.reduce.")
    own = {"__name__", "__doc__", "__spec__", "__loader__", "__package__", "__path__", "__file__", "__getattr__", "__dir__"}
    vars(fast).update({k: v for k, v in vars(base).items() if k not in own})

    def sum(x: Any, /, *, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
        if dtype is None and x.dtype.kind in "biu":
            return base.sum(x, axis=axis, keepdims=keepdims)  # the standard's integer promotion
        return np.add.reduce(x, axis=axis, dtype=dtype, keepdims=keepdims)  # type: ignore[call-overload]

    def max(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
        return np.maximum.reduce(x, axis=axis, keepdims=keepdims)  # type: ignore[call-overload]

    def mean(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Any:
        if x.dtype.kind not in "fc":
            return base.mean(x, axis=axis, keepdims=keepdims)  # the standard's rules for integers
        count = x.size if axis is None else math.prod(x.shape[a] for a in ((axis,) if isinstance(axis, int) else axis))
        return np.add.reduce(x, axis=axis, keepdims=keepdims) / count  # type: ignore[call-overload]  # np.mean, bit for bit

    vars(fast).update(sum=sum, max=max, mean=mean)
    return fast


#: The namespace xpnet uses for NumPy arrays.
NUMPY = _fast_numpy()


def _numpy_itself(xp: Any) -> bool:
    """True for NumPy or array-api-compat's wrapper of it (by name: importing the wrapper costs 60 ms of NumPy submodules)."""
    return xp is np or getattr(xp, "__name__", None) == "array_api_compat.numpy"
#: Namespace of each array type seen so far (a type never changes library).
_BY_TYPE: dict[type, Any] = {np.ndarray: NUMPY}


def is_array(x: object) -> bool:
    """True for an array of any array-API library (Python scalars are not arrays)."""
    return type(x) is np.ndarray or array_api_compat.is_array_api_obj(x)


def library(x: Array) -> str:
    """Top-level module of the library that owns ``x`` (``"numpy"``, ``"torch"``, ``"jax"``, ...)."""
    root = type(x).__module__.split(".")[0]
    return {"jaxlib": "jax"}.get(root, root)


def namespace_of(x: Array) -> Any:
    """Namespace of one array, without comparing devices (the step's unchecked path: cached by type)."""
    xp = _BY_TYPE.get(type(x))
    if xp is None:
        xp = array_api_compat.array_namespace(x)
        xp = NUMPY if _numpy_itself(xp) else xp
        _BY_TYPE[type(x)] = xp
    return xp


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
        return NUMPY  # nothing to compare: NumPy has one device
    present = [a for a in arrays if a is not None and is_array(a)]
    prefix = f"{where}: " if where else ""
    if not present:
        kinds = ", ".join(type(a).__name__ for a in arrays) or "nothing"
        raise TypeError(f"{prefix}expected at least one array, got {kinds}")
    try:
        xp = array_api_compat.array_namespace(*present)
    except TypeError as exc:
        names = sorted({library(a) for a in present})
        raise TypeError(
            f"{prefix}arrays from different backends cannot be mixed: got {' and '.join(names)}; "
            "move them to one backend first (e.g. xpnet.get_backend(name).asarray(x))"
        ) from exc
    if len(present) > 1:
        first = array_api_compat.device(present[0])
        for other in present[1:]:
            dev = array_api_compat.device(other)
            if dev != first:
                raise ValueError(
                    f"{prefix}arrays on different devices cannot be combined: {first!r} and {dev!r}; "
                    "move them to one device first"
                )
    return NUMPY if _numpy_itself(xp) else xp


def library_name(xp: Any) -> str:
    """The module name of namespace ``xp``'s library: ``"dask.array"`` for array-api-compat's wrapper of it."""
    name = str(getattr(xp, "__name__", type(xp).__name__))
    return name.removeprefix("array_api_compat.")


def compat_module(name: str) -> Any:
    """array-api-compat's wrapped namespace of library ``name`` (``"torch"``, ``"cupy"``)."""
    return importlib.import_module(f"array_api_compat.{name}")


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


def is_writeable(x: Array) -> bool:
    """True when ``x[idx] = v`` may write into ``x`` in place.

    False for JAX arrays (immutable), read-only NumPy arrays (also under an array_api_strict array,
    which array-api-compat calls writeable), and tensors that require grad.
    """
    if isinstance(x, np.ndarray):
        return bool(x.flags.writeable)
    if array_api_compat.is_torch_array(x) and x.requires_grad:
        return False
    if is_strict_array(x) and isinstance(getattr(x, "_array", None), np.ndarray):
        return bool(x._array.flags.writeable)
    return bool(array_api_compat.is_writeable_array(x))


def is_lazy(x: Array) -> bool:
    """True when reading ``x``'s values may compute a graph (dask, ndonnx; JAX, which dispatches asynchronously)."""
    return bool(array_api_compat.is_lazy_array(x))


# Library tests, for the backend registry's rows.
is_numpy_array = array_api_compat.is_numpy_array
is_cupy_array = array_api_compat.is_cupy_array
is_torch_array = array_api_compat.is_torch_array
is_jax_array = array_api_compat.is_jax_array
def is_numpy_namespace(xp: Any) -> bool:
    """True for NumPy's namespace (xpnet's own, NumPy itself or array-api-compat's wrapper)."""
    return xp is NUMPY or array_api_compat.is_numpy_namespace(xp)


is_cupy_namespace = array_api_compat.is_cupy_namespace
is_torch_namespace = array_api_compat.is_torch_namespace
is_jax_namespace = array_api_compat.is_jax_namespace
is_strict_namespace = array_api_compat.is_array_api_strict_namespace


def is_strict_array(x: Array) -> bool:
    """True for an array_api_strict array."""
    return type(x).__module__.startswith("array_api_strict")
