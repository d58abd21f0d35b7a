"""Array backends: a namespace and a device to compute on, found by name, module or array, with its row of capabilities.

Any namespace is a backend: the five libraries of :data:`~xpnet._array.rows.KNOWN_ROWS` by name
(or alias), any other by its module (``dask.array``, ``ndonnx``, ``marray.masked_namespace(numpy)``)
or by a module name that can be imported (``"dask.array"``, ``"ndonnx"``); those get a row derived
from the standard (:mod:`xpnet._array.derived`).
"""

from __future__ import annotations

import importlib
import importlib.util
import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import BackendError
from . import compat
from .derived import derived_row, namespace_label
from .rows import KNOWN_ROWS, Row
from .standard import REQUIRED, check_arrays, check_namespace, namespace_of_module

__all__ = [
    "BACKEND_NAMES", "REQUIRED", "Backend", "BackendInfo", "available", "backend_name", "backend_of",
    "check_namespace", "dtype_name", "get_backend", "move_target", "names_backend", "namespace_name", "read_only_reason",
    "resolve_dtype", "row_for", "row_of", "to_numpy", "usable_backends",
]

_FLOAT_NAMES = ("float32", "float64")
_BY_NAME = {row.name: row for row in KNOWN_ROWS}
_ALIASES = {alias: row.name for row in KNOWN_ROWS for alias in row.aliases}
#: Libraries whose array namespace is a submodule of the package a user names.
_MODULE_ALIASES = {"dask": "dask.array"}
#: Libraries that wrap another namespace, by the function that does: the name ``"marray.numpy"``, which such a namespace
#: records as its name, is ``marray.masked_namespace(numpy)`` (made anew when no such module was imported yet).
_WRAPPERS = {"marray": "masked_namespace"}
_DERIVED: dict[int, Row] = {}

BACKEND_NAMES: tuple[str, ...] = tuple(row.name for row in KNOWN_ROWS)


# --- rows ----------------------------------------------------------------------------------
def _known_row_of_namespace(xp: Any) -> Row | None:
    return next((row for row in KNOWN_ROWS if row.is_namespace(xp)), None)


def row_for(xp: Any) -> Row:
    """The row of namespace ``xp``: a known library's, or one derived from the standard (made once per namespace)."""
    row = _known_row_of_namespace(xp)
    if row is None:
        row = _DERIVED.get(id(xp))
        if row is None:
            row = _DERIVED[id(xp)] = derived_row(xp)
    return row


def row_of(x: Any) -> Row:
    """The row of the library that owns array ``x``."""
    row = next((r for r in KNOWN_ROWS if r.owns(x)), None)
    return row if row is not None else row_for(compat.namespace_of(x))


def backend_name(x: Any) -> str:
    """Short name of the library that owns array ``x`` (``"numpy"``, ``"torch"``, ``"dask.array"`` ...)."""
    return row_of(x).name if compat.is_array(x) else type(x).__name__


def namespace_name(xp: Any) -> str | None:
    """Backend name of a known namespace ``xp``, or None for a namespace without a row of its own."""
    row = _known_row_of_namespace(xp)
    return row.name if row is not None else None


def to_numpy(x: Any) -> np.ndarray:
    """Host NumPy copy of an array of any backend (the boundary to the host)."""
    if isinstance(x, np.ndarray):
        return x
    return row_of(x).to_host(x) if compat.is_array(x) else np.asarray(x)


def read_only_reason(x: Any) -> str:
    """Why array ``x`` cannot be written in place, in a few words."""
    if isinstance(x, np.ndarray):
        return "the NumPy array is read-only: x.flags.writeable is False"
    if getattr(x, "requires_grad", False):
        return "the tensor requires grad"
    row = row_of(x)
    if not row.writable:
        return f"{row.name} arrays are immutable"
    return f"this {row.name} array refuses item assignment"


# --- dtypes ----------------------------------------------------------------------------------
def resolve_dtype(xp: Any, dtype: Any, *, device: Any = None) -> Any:
    """Floating dtype of namespace ``xp`` named by ``dtype`` (a string or a dtype object), checked to exist on ``device``."""
    if dtype is None:
        dtype = "float64"
    name = dtype_name(dtype)
    if name not in _FLOAT_NAMES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}")
    if name == "float64":
        problem = row_for(xp).float64_problem(xp, device)
        if problem is not None:
            raise TypeError(problem)
    return getattr(xp, name)


def dtype_name(dtype: Any) -> str:
    """Plain name (``"float32"``, ``"int64"``, ...) of a dtype of any backend, or of a string naming one."""
    if isinstance(dtype, str):
        name = dtype
    else:
        name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
        name = str(name).rsplit(".", 1)[-1]
    return {"float": "float64", "double": "float64", "single": "float32"}.get(name, name)


# --- Backend ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Backend:
    """An array namespace and the device to create arrays on.

    Attributes
    ----------
    name : str
        ``"numpy"``, ``"array_api_strict"``, ``"torch"``, ``"jax"``, ``"cupy"``, or the name of a
        namespace without a row of its own (``"dask.array"``, ``"ndonnx"`` ...).
    xp : module
        The array-API namespace (array-api-compat's wrapper where one is needed).
    device : object
        The backend's own device object.
    """

    name: str
    xp: Any = field(repr=False)
    device: Any

    @property
    def row(self) -> Row:
        """What xpnet knows about the library: its capabilities (see :class:`~xpnet._array.rows.Row`)."""
        return row_for(self.xp)

    @property
    def device_name(self) -> str:
        """The device as a string that :func:`get_backend` accepts back (``"cpu"``, ``"cuda:0"``, ``"device1"``)."""
        return self.row.device_name(self.device)

    def dtype(self, dtype: Any) -> Any:
        """This backend's floating dtype for ``"float32"``/``"float64"`` or a dtype object (float64 checked to exist)."""
        return resolve_dtype(self.xp, dtype, device=self.device)

    def asarray(self, x: Any, dtype: Any = None, *, copy: bool = True) -> Any:
        """Copy host data (NumPy array, list, scalar) or another backend's array onto this device.

        Parameters
        ----------
        x : array_like
            Host data; arrays of other backends are brought to the host first.
        dtype : str or dtype, optional
            Target dtype (``"float32"``, ``"float64"``, or a dtype of this backend).
        copy : bool
            Never share memory with ``x`` when True (the default). With False a host array may be
            used as it is where the backend allows it, or copied where it does not.
        """
        row = self.row
        if compat.is_array(x) and not isinstance(x, np.ndarray) and compat.namespace_of(x) is not self.xp:
            x = to_numpy(x)
        host = isinstance(x, np.ndarray)
        dt = None if dtype is None else self.dtype(dtype)
        fresh = False  # x is a host array of our own: the backend may share it
        if host and dt is not None and x.dtype != np.dtype(dtype_name(dt)):
            x, fresh = x.astype(dtype_name(dt)), True  # converted on the host, where no kernel needs compiling
        elif host and copy and row.shares_host_memory:
            x, fresh = np.array(x, copy=True), True  # their asarray may share NumPy memory even with copy=True
        # copy=None lets the library copy only when it must (the standard's meaning); CuPy refuses copy= for host data
        copy_arg = True if copy and not fresh and (row.host_copy_arg or not host) else None
        return self.xp.asarray(x, dtype=dt, device=self.device, copy=copy_arg)

    def to_numpy(self, x: Any) -> np.ndarray:
        """Host NumPy copy of ``x``."""
        return to_numpy(x)

    def enable_float64(self) -> None:
        """Switch on float64 where the library needs a switch (JAX's 64-bit mode); nothing elsewhere."""
        self.row.enable_float64()

    def __str__(self) -> str:
        return f"{self.name} on {self.device_name}"


@dataclass(frozen=True)
class BackendInfo:
    """What :func:`available` found out about one backend."""

    name: str
    installed: bool
    usable: bool
    reason: str
    devices: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # accelerators it could use but cannot here, each with the reason and the fix


def names_backend(obj: Any) -> bool:
    """True when ``obj`` names a backend (a Backend, a namespace module, a known name or alias), not a device."""
    if isinstance(obj, (Backend, types.ModuleType)):
        return True
    if not isinstance(obj, str):
        return False
    key = obj.strip().lower()
    return key in _BY_NAME or key in _ALIASES or (key not in ("cpu", "gpu") and "." in key and ":" not in key)


def _canonical(name: str) -> str:
    key = name.strip().lower()
    return _ALIASES.get(key, key)


def _import_failure(name: str, install: str, exc: BaseException) -> BackendError:
    """The one error for a library that is missing or fails to import: its name, the cause, and the ways out."""
    top = name.split(".")[0]
    missing = getattr(exc, "name", None) == top or f"No module named '{top}'" in str(exc)
    if isinstance(exc, ImportError) and (missing or importlib.util.find_spec(top) is None):
        return BackendError(f"backend {name!r} is not installed ({exc}); install it with: {install}")
    return BackendError(
        f"backend {name!r} is installed but fails to import ({type(exc).__name__}: {' '.join(str(exc).split())}); "
        f"reinstall it ({install}), or use another backend (e.g. backend='numpy', --backend numpy)"
    )


def _import_row(row: Row) -> Any:
    try:
        return row.namespace()
    except Exception as exc:  # ImportError, or a broken install: OSError (a missing libcudart), RuntimeError ...
        raise _import_failure(row.name, row.install, exc) from exc


def _unknown(name: str) -> ValueError:
    return ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}, or pass an array-API "
                      "namespace module (e.g. dask.array) or the name of one that can be imported")


def _wrapped_namespace(top: str, inner_name: str, name: str) -> Any:
    """The namespace that library ``top`` wraps around the importable namespace ``inner_name`` (``"marray.numpy"``)."""
    try:
        inner = importlib.import_module(inner_name)
    except ImportError:
        raise _unknown(name) from None
    return getattr(importlib.import_module(top), _WRAPPERS[top])(inner)


def _import_namespace(name: str) -> Any:
    """The namespace of an importable module named ``name`` (``"dask.array"``, ``"ndonnx"``, ``"marray.numpy"``)."""
    module_name = _MODULE_ALIASES.get(name, name)
    top, _, rest = module_name.partition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if top in _WRAPPERS and rest and exc.name == module_name:
            return _wrapped_namespace(top, rest, name)
        if importlib.util.find_spec(top) is None or exc.name == module_name:  # no such library, or no such module of it
            raise _unknown(name) from None
        raise _import_failure(module_name, f"pip install {top}", exc) from exc  # one of its dependencies is missing
    except Exception as exc:  # a broken install
        raise _import_failure(module_name, f"pip install {top}", exc) from exc
    return namespace_of_module(module, repr(name))


def _resolve_namespace(backend: Any) -> tuple[Row, Any]:
    """``(row, namespace)`` named by ``backend``: a known name or alias, an importable module name, or a module."""
    if isinstance(backend, str):
        name = _canonical(backend)
        row = _BY_NAME.get(name)
        if row is not None:
            return row, _import_row(row)
        xp = _import_namespace(name)
    elif isinstance(backend, types.ModuleType) or hasattr(backend, "__array_api_version__"):
        known = _known_row_of_namespace(backend)
        xp = backend if known is not None else namespace_of_module(backend, namespace_label(backend))
    else:
        raise TypeError(
            f"backend must be a name ({', '.join(BACKEND_NAMES)}, or an importable array-API module such as "
            f"'dask.array'), an array namespace module or a Backend, got {type(backend).__name__} {backend!r}"
        )
    if _known_row_of_namespace(xp) is None:  # a library xpnet has no row for: what its row is derived from, checked first
        check_namespace(xp)
        check_arrays(xp)
    return row_for(xp), xp


def get_backend(backend: str | Any | Backend = "numpy", device: Any = None) -> Backend:
    """Pick a backend by name or namespace, and a device on it.

    Parameters
    ----------
    backend : str, namespace module or Backend
        ``"numpy"``, ``"array_api_strict"``, ``"torch"``, ``"jax"``, ``"cupy"`` (or an alias such as
        ``"np"``), the name of any importable array-API module (``"dask.array"``, ``"ndonnx"``), or
        a namespace module itself (``dask.array``, ``marray.masked_namespace(numpy)``, the
        wrapped torch namespace).
    device : str or device object, optional
        ``"cpu"``, ``"cuda:0"``, ``"device1"`` (array_api_strict), the library's own device object,
        or (for other libraries) the ``str`` of one of the devices its namespace lists.
        Default: the backend's default device.

    Raises
    ------
    TypeError
        ``backend`` is neither a name, a namespace module nor a Backend.
    ValueError
        Unknown backend name or device.
    BackendError
        The backend is not installed, fails to import (the message names it and the way out), is
        not usable here (CuPy without a GPU), implements an older standard than xpnet needs, or
        lacks a function xpnet's math calls.
    """
    if isinstance(backend, Backend):
        if device is None:
            return backend
        backend = backend.xp
    row, xp = _resolve_namespace(backend)
    problem = row.problem(xp)
    if problem is not None:
        raise BackendError(f"{row.name} is installed but not usable here: {problem}")
    if not row.derived:  # a derived row's namespace was checked before its row was made
        check_namespace(xp)
    return Backend(row.name, xp, row.device(xp, device))


def move_target(current: Backend, backend: Any = None, device: Any = None) -> Backend:
    """Where ``net.to(backend, device)`` goes: like PyTorch's ``Module.to("cuda:0")``, a lone ``backend`` that names
    no backend is a device of ``current``'s backend."""
    if backend is None and device is None:
        return current
    if device is None and not names_backend(backend):
        try:
            return get_backend(current.xp, backend)
        except ValueError as exc:
            raise ValueError(
                f"unknown backend or device {backend!r}: not a backend ({', '.join(BACKEND_NAMES)}) "
                f"nor a device of {current.name} ({exc})"
            ) from exc
    return get_backend(backend if backend is not None else current.xp, device)


def backend_of(x: Any) -> Backend:
    """The :class:`Backend` (namespace and device) that array ``x`` lives on."""
    xp = compat.namespace(x)
    return Backend(row_for(xp).name, xp, compat.device(x))


def _probe(row: Row) -> BackendInfo:
    if importlib.util.find_spec(row.module.split(".")[0]) is None:
        return BackendInfo(row.name, False, False, f"not installed ({row.install})")
    try:
        xp = row.namespace()
        problem = row.problem(xp)
        if problem is not None:
            return BackendInfo(row.name, True, False, problem)
        return BackendInfo(row.name, True, True, "ok", row.devices(xp), row.notes(xp))
    except Exception as exc:  # a broken install should be reported, not crash the listing
        return BackendInfo(row.name, True, False, str(_import_failure(row.name, row.install, exc)))


def available() -> list[BackendInfo]:
    """Probe every library with a row of its own: installed, usable on this machine, and its devices."""
    return [_probe(row) for row in KNOWN_ROWS]


def usable_backends() -> list[str]:
    """Names of the backends with a row of their own that work on this machine."""
    return [info.name for info in available() if info.usable]
