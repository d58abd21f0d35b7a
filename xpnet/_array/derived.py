"""Rows for array libraries xpnet has no row for, derived from the array API standard alone.

Given a namespace (a module the compat layer knows, or that declares
``__array_api_version__``), :func:`derived_row` answers every question a row answers from
what the standard promises: the default device from ``__array_namespace_info__`` (or
``device(asarray(0.0))``), the devices it lists, placement with ``asarray(..., device=)``,
transfer to the host through DLPack (then ``numpy.asarray``, then a library's own
``to_numpy``-style method), whether its arrays can be written, found by trying on a small
array of its own, and, for a lazy library, how to compute its arrays now
(:func:`~xpnet._array.lazy.settle_for`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import compat
from .lazy import settle_for
from .rows import Row

__all__ = ["derived_row", "namespace_label"]

#: Methods some libraries give for a host copy when neither DLPack nor ``__array__`` works.
_HOST_METHODS = ("to_numpy", "unwrap_numpy", "numpy", "get")


def namespace_label(xp: Any) -> str:
    """A short name for namespace ``xp``: its library's module name (``dask.array``, ``ndonnx``)."""
    return compat.library_name(xp)


def _info(xp: Any) -> Any:
    make = getattr(xp, "__array_namespace_info__", None)
    return make() if make is not None else None


def _default_device(xp: Any) -> Any:
    info = _info(xp)
    if info is not None and hasattr(info, "default_device"):
        return info.default_device()
    return compat.device(xp.asarray(0.0))


def _devices(xp: Any) -> list[Any]:
    info = _info(xp)
    found = list(info.devices()) if info is not None and hasattr(info, "devices") else []
    return found or [_default_device(xp)]


def _device_label(dev: Any, known: list[Any]) -> str:
    """``str(dev)``, or ``"#i"`` (its place among the namespace's devices) where ``str`` is only an object's address."""
    text = str(dev)
    if " at 0x" not in text:
        return text
    return f"#{next((i for i, d in enumerate(known) if d == dev), 0)}"


def _device_for(xp: Any, requested: Any) -> Any:
    """The device object for ``requested`` (None: the default; a device object; or its label, see :func:`_device_label`)."""
    if requested is None:
        return _default_device(xp)
    known = _devices(xp)
    for dev in known:
        if dev == requested if not isinstance(requested, str) else requested.strip() == _device_label(dev, known):
            return dev
    if not isinstance(requested, str):
        return requested  # a device object the namespace does not list: trust the caller
    names = ", ".join(_device_label(d, known) for d in known)
    raise ValueError(f"{namespace_label(xp)} has no device {requested!r}; choose one of {names}")


def _to_host(x: Any) -> np.ndarray:
    """A host NumPy copy of ``x``: through DLPack, else ``numpy.asarray``, else the library's own method."""
    try:
        return np.array(np.from_dlpack(x), copy=True)
    except Exception:  # noqa: BLE001 - a library may refuse DLPack export in many ways; try the next route
        pass
    try:
        host = np.asarray(x)
        if host.dtype != object:
            return host
    except Exception:  # noqa: BLE001
        pass
    for method in _HOST_METHODS:
        fn = getattr(x, method, None)
        if callable(fn):
            host = np.asarray(fn())
            if host.dtype != object:
                return host
    raise TypeError(
        f"cannot copy a {type(x).__module__}.{type(x).__name__} to the host: it supports neither DLPack nor "
        f"numpy.asarray nor a method among {', '.join(_HOST_METHODS)}"
    )


def _writable(xp: Any) -> bool:
    """Whether the namespace's arrays can be written in place, found by trying on a small array of its own."""
    try:
        probe = xp.zeros((2,), dtype=xp.float64 if hasattr(xp, "float64") else None)
        probe[0] = 1.0
        probe += 1.0
        return bool(_to_host(probe)[0] == 2.0)
    except Exception:  # noqa: BLE001 - any refusal means: not writable
        return False


def derived_row(xp: Any) -> Row:
    """A row for namespace ``xp`` from the standard alone (see the module docstring)."""
    label = namespace_label(xp)

    def owns(x: Any) -> bool:
        return compat.is_array(x) and compat.namespace_of(x) is xp

    return Row(
        label, getattr(xp, "__name__", label), f"install the library that provides {label}",
        namespace=lambda: xp, owns=owns,
        is_namespace=lambda other: other is xp, device=_device_for,
        devices=lambda ns: tuple(_device_label(d, _devices(ns)) for d in _devices(ns)),
        device_name=lambda dev: _device_label(dev, _devices(xp)), to_host=_to_host, writable=_writable(xp),
        shares_host_memory=True, settle=settle_for(xp, _to_host), derived=True,
    )

