"""Array backends by name: one registry row per backend, and a (namespace, device) pair to compute on."""

from __future__ import annotations

import importlib
import importlib.util
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import BackendError
from . import compat, devices

__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "BackendInfo",
    "available",
    "backend_name",
    "backend_of",
    "dtype_name",
    "get_backend",
    "move_target",
    "names_backend",
    "namespace_name",
    "resolve_dtype",
    "to_numpy",
    "usable_backends",
]

_FLOAT_NAMES = ("float32", "float64")


# --- per-backend pieces (devices in devices.py) -------------------------------------------
def _strict_to_host(x: Any) -> np.ndarray:
    try:
        return np.asarray(x)
    except (TypeError, ValueError, RuntimeError):  # refused on a non-default device: go via the CPU device
        xp = compat.namespace(x)
        return np.asarray(compat.to_device(x, xp.__array_namespace_info__().default_device()))


def _none(xp: Any) -> None:
    return None


def _no_notes(xp: Any) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True)
class _Row:
    """What xpnet knows about one backend."""

    name: str
    module: str  # what to import to use it
    install: str  # how to install it
    namespace: Callable[[], Any]
    owns: Callable[[Any], bool]  # is this an array of the backend?
    is_namespace: Callable[[Any], bool]
    device: Callable[[Any, Any], Any]  # (xp, requested device or None) -> the backend's device object
    devices: Callable[[Any], tuple[str, ...]]  # every device it sees here, as strings `device` accepts
    device_name: Callable[[Any], str] = str  # device object -> that string
    problem: Callable[[Any], str | None] = _none  # why it is installed but unusable, and the fix
    notes: Callable[[Any], tuple[str, ...]] = _no_notes  # accelerators it could use but cannot, and why
    to_host: Callable[[Any], np.ndarray] = np.asarray
    shares_host_memory: bool = False  # xp.asarray(numpy_array, copy=True) may still share memory
    aliases: tuple[str, ...] = ()


_ROWS: tuple[_Row, ...] = (
    _Row("numpy", "numpy", "pip install numpy", lambda: compat.NUMPY, compat.is_numpy_array, compat.is_numpy_namespace,
         devices.numpy_device, lambda xp: ("cpu",), aliases=("np",)),
    _Row("array_api_strict", "array_api_strict", "pip install array-api-strict",
         lambda: importlib.import_module("array_api_strict"), compat.is_strict_array, compat.is_strict_namespace,
         devices.strict_device, devices.strict_devices, devices.strict_name,
         to_host=_strict_to_host, shares_host_memory=True, aliases=("strict", "array-api-strict")),
    _Row("torch", "torch", "pip install torch (CPU build: pip install torch --index-url https://download.pytorch.org/whl/cpu)",
         lambda: (importlib.import_module("torch"), compat.compat_module("torch"))[1], compat.is_torch_array,
         compat.is_torch_namespace, devices.torch_device, devices.torch_devices, devices.torch_name,
         notes=devices.torch_notes, to_host=lambda x: x.detach().cpu().numpy(), shares_host_memory=True,
         aliases=("pytorch",)),
    _Row("jax", "jax", "pip install jax", lambda: importlib.import_module("jax.numpy"), compat.is_jax_array,
         compat.is_jax_namespace, devices.jax_device, devices.jax_devices, devices.jax_name, notes=devices.jax_notes,
         shares_host_memory=True),
    _Row("cupy", "cupy", "pip install 'xpnet[gpu]' (CUDA 12) or 'xpnet[gpu-cuda13]' (CUDA 13), on a machine with an NVIDIA GPU",
         lambda: (importlib.import_module("cupy"), compat.compat_module("cupy"))[1], compat.is_cupy_array,
         compat.is_cupy_namespace, devices.cupy_device, devices.cupy_devices, devices.cupy_name,
         problem=devices.cupy_status, to_host=lambda x: x.get(), aliases=("cp",)),
)
_BY_NAME = {row.name: row for row in _ROWS}
_ALIASES = {alias: row.name for row in _ROWS for alias in row.aliases}

BACKEND_NAMES: tuple[str, ...] = tuple(row.name for row in _ROWS)


def _row_of_array(x: Any) -> _Row | None:
    return next((row for row in _ROWS if row.owns(x)), None)


def backend_name(x: Any) -> str:
    """Short name of the library that owns array ``x`` (``"numpy"``, ``"torch"``, ...)."""
    row = _row_of_array(x)
    return row.name if row is not None else compat.library(x)


def namespace_name(xp: Any) -> str | None:
    """Backend name of namespace ``xp``, or None when xpnet does not know it."""
    return next((row.name for row in _ROWS if row.is_namespace(xp)), None)


def to_numpy(x: Any) -> np.ndarray:
    """Host NumPy copy of an array of any backend (the boundary to the host)."""
    if isinstance(x, np.ndarray):
        return x
    row = _row_of_array(x) if compat.is_array(x) else None
    return row.to_host(x) if row is not None else np.asarray(x)


# --- dtypes ------------------------------------------------------------------------------
def resolve_dtype(xp: Any, dtype: Any, *, backend: str | None = None) -> Any:
    """Floating dtype of namespace ``xp`` named by ``dtype`` (a string or a dtype object)."""
    if dtype is None:
        return xp.float64
    name = dtype_name(dtype)
    if name not in _FLOAT_NAMES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}")
    if name == "float64" and backend == "jax":
        import jax

        if not jax.config.jax_enable_x64:
            raise TypeError(
                "float64 on JAX needs 64-bit mode: call jax.config.update('jax_enable_x64', True) "
                "before creating arrays, or use dtype='float32'"
            )
    return getattr(xp, name)


def dtype_name(dtype: Any) -> str:
    """Plain name (``"float32"``, ``"int64"``, ...) of a dtype of any backend, or of a string naming one."""
    if isinstance(dtype, str):
        name = dtype
    else:
        name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
        name = str(name).rsplit(".", 1)[-1]
    return {"float": "float64", "double": "float64", "single": "float32"}.get(name, name)


# --- Backend -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Backend:
    """An array namespace and the device to create arrays on.

    Attributes
    ----------
    name : str
        ``"numpy"``, ``"array_api_strict"``, ``"torch"``, ``"jax"`` or ``"cupy"``.
    xp : module
        The array-API namespace (array-api-compat's wrapper where one is needed).
    device : object
        The backend's own device object.
    """

    name: str
    xp: Any = field(repr=False)
    device: Any

    @property
    def device_name(self) -> str:
        """The device as a string that :func:`get_backend` accepts back (``"cpu"``, ``"cuda:0"``, ``"device1"``)."""
        return _BY_NAME[self.name].device_name(self.device)

    def dtype(self, dtype: Any) -> Any:
        """This backend's floating dtype for ``"float32"``/``"float64"`` or a dtype object."""
        dt = resolve_dtype(self.xp, dtype, backend=self.name)
        if self.name == "torch" and getattr(self.device, "type", None) == "mps" and dtype_name(dt) == "float64":
            raise TypeError("float64 is not supported on MPS devices (Apple GPUs); use dtype='float32'")
        return dt

    def asarray(self, x: Any, dtype: Any = None, *, copy: bool = True) -> Any:
        """Copy host data (NumPy array, list, scalar) or another backend's array onto this device.

        Parameters
        ----------
        x : array_like
            Host data; arrays of other backends are brought to the host first.
        dtype : str or dtype, optional
            Target dtype (``"float32"``, ``"float64"``, or a dtype of this backend).
        copy : bool
            Never share memory with ``x`` when True (the default).
        """
        if compat.is_array(x) and namespace_name(compat.namespace(x)) != self.name:
            x = to_numpy(x)
        host = isinstance(x, np.ndarray)
        dt = None if dtype is None else self.dtype(dtype)
        fresh = False  # x is a host array of our own: the backend may share it
        if host and dt is not None and x.dtype != np.dtype(dtype_name(dt)):
            x, fresh = x.astype(dtype_name(dt)), True  # converted on the host, where no kernel needs compiling
        elif host and copy and _BY_NAME[self.name].shares_host_memory:
            x, fresh = np.array(x, copy=True), True  # their asarray may share NumPy memory even with copy=True
        # CuPy: host -> GPU always copies, and it rejects copy=True from a NumPy array
        copy_arg: bool | None = None if fresh or host and self.name == "cupy" else copy
        if compat.is_array(x) and compat.device(x) != self.device:
            return compat.to_device(self.xp.asarray(x, dtype=dt), self.device)
        return self.xp.asarray(x, dtype=dt, device=self.device, copy=copy_arg)

    def to_numpy(self, x: Any) -> np.ndarray:
        """Host NumPy copy of ``x``."""
        return to_numpy(x)

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
    """True when ``obj`` names a backend (a Backend, a namespace module, a name or alias such as ``"np"``), not a device."""
    if isinstance(obj, (Backend, types.ModuleType)):
        return True
    return isinstance(obj, str) and (obj.strip().lower() in _BY_NAME or obj.strip().lower() in _ALIASES)


def _canonical(name: str) -> str:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _BY_NAME:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
    return key


def _import_namespace(row: _Row) -> Any:
    try:
        return row.namespace()
    except ImportError as exc:
        raise BackendError(f"backend {row.name!r} is not installed ({exc}); install it with: {row.install}") from exc


def get_backend(backend: str | Any | Backend = "numpy", device: Any = None) -> Backend:
    """Pick a backend by name or namespace, and a device on it.

    Parameters
    ----------
    backend : str, namespace module or Backend
        ``"numpy"``, ``"array_api_strict"``, ``"torch"``, ``"jax"``, ``"cupy"``, or a namespace
        such as ``array_api_strict`` or the wrapped torch namespace.
    device : str or device object, optional
        ``"cpu"``, ``"cuda:0"``, ``"device1"`` (array_api_strict), or the backend's own device
        object. Default: the backend's default device.

    Raises
    ------
    TypeError
        ``backend`` is neither a name, a namespace module nor a Backend.
    ValueError
        Unknown backend name or device.
    BackendError
        The backend is not installed, or (CuPy) there is no usable GPU.
    """
    if isinstance(backend, Backend):
        if device is None:
            return backend
        backend = backend.name
    if isinstance(backend, str):
        name = _canonical(backend)
    elif isinstance(backend, types.ModuleType):
        found = namespace_name(backend)
        if found is None:
            raise ValueError(f"unknown array namespace {backend!r}; pass one of {', '.join(BACKEND_NAMES)}")
        name = found
    else:
        raise TypeError(
            f"backend must be a name ({', '.join(BACKEND_NAMES)}), an array namespace module "
            f"or a Backend, got {type(backend).__name__} {backend!r}"
        )
    row = _BY_NAME[name]
    xp = _import_namespace(row)
    problem = row.problem(xp)
    if problem is not None:
        raise BackendError(f"{name} is installed but not usable here: {problem}")
    return Backend(name, xp, row.device(xp, device))


def move_target(current: Backend, backend: Any = None, device: Any = None) -> Backend:
    """Where ``net.to(backend, device)`` goes: like PyTorch's ``Module.to("cuda:0")``, a lone ``backend`` that names
    no backend is a device of ``current``'s backend."""
    if backend is None and device is None:
        return current
    if device is None and not names_backend(backend):
        try:
            return get_backend(current.name, backend)
        except ValueError as exc:
            raise ValueError(
                f"unknown backend or device {backend!r}: not a backend ({', '.join(BACKEND_NAMES)}) "
                f"nor a device of {current.name} ({exc})"
            ) from exc
    return get_backend(backend if backend is not None else current.name, device)


def backend_of(x: Any) -> Backend:
    """The :class:`Backend` (namespace and device) that array ``x`` lives on."""
    xp = compat.namespace(x)
    name = namespace_name(xp)
    if name is None:
        raise TypeError(f"arrays of type {type(x).__name__} are not supported by xpnet")
    return Backend(name, xp, compat.device(x))


def _probe(row: _Row) -> BackendInfo:
    if importlib.util.find_spec(row.module) is None:
        return BackendInfo(row.name, False, False, f"not installed ({row.install})")
    try:
        xp = row.namespace()
        problem = row.problem(xp)
        if problem is not None:
            return BackendInfo(row.name, True, False, problem)
        return BackendInfo(row.name, True, True, "ok", row.devices(xp), row.notes(xp))
    except Exception as exc:  # a broken install should be reported, not crash the listing
        return BackendInfo(row.name, True, False, f"import failed: {type(exc).__name__}: {exc}; reinstall it: {row.install}")


def available() -> list[BackendInfo]:
    """Probe every known backend: installed, usable on this machine, and its devices."""
    return [_probe(row) for row in _ROWS]


def usable_backends() -> list[str]:
    """Names of the backends that work on this machine."""
    return [info.name for info in available() if info.usable]
