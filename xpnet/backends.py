"""Array backends by name: which are usable here, and a (namespace, device) pair to compute on.

The public face of :mod:`xpnet._array.registry`, which holds one row per backend.
"""

from __future__ import annotations

from ._array.registry import (
    BACKEND_NAMES,
    Backend,
    BackendInfo,
    available,
    backend_of,
    dtype_name,
    get_backend,
    resolve_dtype,
    usable_backends,
)

__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "BackendInfo",
    "available",
    "backend_of",
    "dtype_name",
    "get_backend",
    "resolve_dtype",
    "usable_backends",
]
