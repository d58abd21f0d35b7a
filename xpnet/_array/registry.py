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
from . import compat

__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "BackendInfo",
    "available",
    "backend_name",
    "backend_of",
    "dtype_name",
    "get_backend",
    "namespace_name",
    "resolve_dtype",
    "to_numpy",
    "usable_backends",
]

_FLOAT_NAMES = ("float32", "float64")


# --- per-backend pieces ------------------------------------------------------------------
def _parse_index(spec: str, default: int = 0) -> tuple[str, int]:
    kind, _, idx = spec.partition(":")
    if idx and not idx.isdigit():
        raise ValueError(f"bad device {spec!r}: expected 'kind' or 'kind:index', e.g. 'cuda:0'")
    return kind.lower(), int(idx) if idx else default


def _numpy_device(xp: Any, device: Any) -> Any:
    if device not in (None, "cpu"):
        raise ValueError(f"NumPy arrays live on the CPU only; got device {device!r}")
    return "cpu"


def _strict_device(xp: Any, device: Any) -> Any:
    info = xp.__array_namespace_info__()
    if device is None or (isinstance(device, str) and device.lower() == "cpu"):
        return info.default_device()
    if isinstance(device, str):
        try:
            device = xp.Device(device)
        except ValueError:
            pass  # an unknown name: reported below with the list of devices
    if device not in info.devices():
        raise ValueError(f"array_api_strict has no device {device!r}; choose one of {info.devices()}")
    return device


def _torch_device(xp: Any, device: Any) -> Any:
    import torch

    if device is None:
        return torch.get_default_device() if hasattr(torch, "get_default_device") else torch.device("cpu")
    try:
        dev = torch.device(device)
    except TypeError as exc:
        raise TypeError(
            f"torch device must be a str such as 'cpu' or 'cuda:0', an int or a torch.device, "
            f"got {type(device).__name__} {device!r}"
        ) from exc
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"torch has no device {device!r}; use 'cpu' or 'cuda:N'") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BackendError(f"device {device!r} asked for, but this PyTorch build sees no CUDA GPU")
    return dev


def _jax_device(xp: Any, device: Any) -> Any:
    import jax

    if device is None:
        return jax.devices()[0]
    if not isinstance(device, str):
        return device
    kind, idx = _parse_index(device)
    kind = {"cuda": "gpu"}.get(kind, kind)
    try:
        devices = jax.devices(kind)
    except RuntimeError as exc:
        raise BackendError(f"JAX has no {kind!r} devices here ({exc})") from exc
    if idx >= len(devices):
        raise ValueError(f"JAX has {len(devices)} {kind} device(s); index {idx} is out of range")
    return devices[idx]


def _cuda_device_count() -> int:
    import cupy

    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # CUDA driver missing or broken: no usable device
        return 0


def _cupy_device(xp: Any, device: Any) -> Any:
    import cupy

    count = _cuda_device_count()
    if device is None:
        return cupy.cuda.Device(0)
    if isinstance(device, int):
        idx = device
    elif isinstance(device, str):
        kind, idx = _parse_index(device)
        if kind not in ("cuda", "gpu"):
            raise ValueError(f"CuPy devices are 'cuda:N'; got {device!r}")
    else:
        return device
    if idx >= count:
        raise ValueError(f"CuPy sees {count} CUDA device(s); 'cuda:{idx}' is out of range")
    return cupy.cuda.Device(idx)


def _torch_devices(xp: Any) -> tuple[str, ...]:
    import torch

    return ("cpu", *(f"cuda:{i}" for i in range(torch.cuda.device_count())))


def _jax_devices(xp: Any) -> tuple[str, ...]:
    import jax

    return tuple(str(d) for d in jax.devices())


def _cupy_devices(xp: Any) -> tuple[str, ...]:
    return tuple(f"cuda:{i}" for i in range(_cuda_device_count()))


def _strict_to_host(x: Any) -> np.ndarray:
    try:
        return np.asarray(x)
    except (TypeError, ValueError, RuntimeError):  # refused on a non-default device: go via the CPU device
        xp = compat.namespace(x)
        return np.asarray(compat.to_device(x, xp.__array_namespace_info__().default_device()))


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
    devices: Callable[[Any], tuple[str, ...]]  # every device it sees here
    to_host: Callable[[Any], np.ndarray] = np.asarray
    shares_host_memory: bool = False  # xp.asarray(numpy_array, copy=True) may still share memory
    aliases: tuple[str, ...] = ()


_ROWS: tuple[_Row, ...] = (
    _Row("numpy", "numpy", "pip install numpy", lambda: compat.NUMPY, compat.is_numpy_array, compat.is_numpy_namespace,
         _numpy_device, lambda xp: ("cpu",), aliases=("np",)),
    _Row("array_api_strict", "array_api_strict", "pip install array-api-strict",
         lambda: importlib.import_module("array_api_strict"), compat.is_strict_array, compat.is_strict_namespace,
         _strict_device, lambda xp: tuple(str(d) for d in xp.__array_namespace_info__().devices()),
         to_host=_strict_to_host, shares_host_memory=True, aliases=("strict", "array-api-strict")),
    _Row("torch", "torch", "pip install torch (CPU build: pip install torch --index-url https://download.pytorch.org/whl/cpu)",
         lambda: (importlib.import_module("torch"), compat.compat_module("torch"))[1], compat.is_torch_array,
         compat.is_torch_namespace, _torch_device, _torch_devices, to_host=lambda x: x.detach().cpu().numpy(),
         shares_host_memory=True, aliases=("pytorch",)),
    _Row("jax", "jax", "pip install jax", lambda: importlib.import_module("jax.numpy"), compat.is_jax_array,
         compat.is_jax_namespace, _jax_device, _jax_devices, shares_host_memory=True),
    _Row("cupy", "cupy", "pip install 'xpnet[gpu]' (a CuPy wheel matching your CUDA, e.g. cupy-cuda12x) on a machine with an NVIDIA GPU",
         lambda: (importlib.import_module("cupy"), compat.compat_module("cupy"))[1], compat.is_cupy_array,
         compat.is_cupy_namespace, _cupy_device, _cupy_devices, to_host=lambda x: x.get(), aliases=("cp",)),
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

    def dtype(self, dtype: Any) -> Any:
        """This backend's floating dtype for ``"float32"``/``"float64"`` or a dtype object."""
        return resolve_dtype(self.xp, dtype, backend=self.name)

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
        if fresh or host and self.name == "cupy":
            copy = None  # CuPy: host -> GPU always copies, and it rejects copy=True from a NumPy array
        if compat.is_array(x) and compat.device(x) != self.device:
            return compat.to_device(self.xp.asarray(x, dtype=dt), self.device)
        return self.xp.asarray(x, dtype=dt, device=self.device, copy=copy)

    def to_numpy(self, x: Any) -> np.ndarray:
        """Host NumPy copy of ``x``."""
        return to_numpy(x)

    def __str__(self) -> str:
        return f"{self.name} on {self.device}"


@dataclass(frozen=True)
class BackendInfo:
    """What :func:`available` found out about one backend."""

    name: str
    installed: bool
    usable: bool
    reason: str
    devices: tuple[str, ...] = ()


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
        name = namespace_name(backend)
        if name is None:
            raise ValueError(f"unknown array namespace {backend!r}; pass one of {', '.join(BACKEND_NAMES)}")
    else:
        raise TypeError(
            f"backend must be a name ({', '.join(BACKEND_NAMES)}), an array namespace module "
            f"or a Backend, got {type(backend).__name__} {backend!r}"
        )
    row = _BY_NAME[name]
    xp = _import_namespace(row)
    if not row.devices(xp):
        raise BackendError(f"{name} is installed but no CUDA GPU is usable here; {row.install}")
    return Backend(name, xp, row.device(xp, device))


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
        devices = row.devices(xp)
    except Exception as exc:  # a broken install should be reported, not crash the listing
        return BackendInfo(row.name, True, False, f"import failed: {exc}")
    if not devices:
        return BackendInfo(row.name, True, False, "installed, but no CUDA GPU is usable here")
    return BackendInfo(row.name, True, True, "ok", devices)


def available() -> list[BackendInfo]:
    """Probe every known backend: installed, usable on this machine, and its devices."""
    return [_probe(row) for row in _ROWS]


def usable_backends() -> list[str]:
    """Names of the backends that work on this machine."""
    return [info.name for info in available() if info.usable]
