"""Array backends by name: which are usable here, and a (namespace, device) pair to compute on."""

from __future__ import annotations

import importlib.util
import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _compat
from .errors import BackendError

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

BACKEND_NAMES: tuple[str, ...] = ("numpy", "array_api_strict", "torch", "jax", "cupy")

_INSTALL_HINT = {
    "numpy": "pip install numpy",
    "array_api_strict": "pip install array-api-strict",
    "torch": "pip install torch (CPU build: pip install torch --index-url https://download.pytorch.org/whl/cpu)",
    "jax": "pip install jax",
    "cupy": "pip install 'xpnet[gpu]' (a CuPy wheel matching your CUDA, e.g. cupy-cuda12x) on a machine with an NVIDIA GPU",
}

_ALIASES = {"np": "numpy", "strict": "array_api_strict", "array-api-strict": "array_api_strict", "pytorch": "torch", "cp": "cupy"}

_FLOAT_NAMES = ("float32", "float64")


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
        if _compat.is_array(x) and _compat.namespace_name(_compat.namespace(x)) != self.name:
            x = _compat.to_numpy(x)
        if isinstance(x, np.ndarray) and copy and self.name in ("array_api_strict", "torch", "jax"):
            x = np.array(x, copy=True)  # their asarray may share NumPy memory even with copy=True
        if isinstance(x, np.ndarray) and self.name == "cupy":
            copy = None  # host -> GPU always copies; CuPy rejects copy=True from a NumPy array
        dt = None if dtype is None else self.dtype(dtype)
        if _compat.is_array(x) and _compat.device(x) != self.device:
            return _compat.to_device(self.xp.asarray(x, dtype=dt), self.device)
        return self.xp.asarray(x, dtype=dt, device=self.device, copy=copy)

    def to_numpy(self, x: Any) -> np.ndarray:
        """Host NumPy copy of ``x``."""
        return _compat.to_numpy(x)

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


def _canonical(name: str) -> str:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in BACKEND_NAMES:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
    return key


def _import_namespace(name: str) -> Any:
    try:
        return _compat.compat_namespace(name)
    except ImportError as exc:
        raise BackendError(f"backend {name!r} is not installed ({exc}); install it with: {_INSTALL_HINT[name]}") from exc


def _cuda_device_count() -> int:
    import cupy

    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # CUDA driver missing or broken: no usable device
        return 0


def _parse_index(spec: str, default: int = 0) -> tuple[str, int]:
    kind, _, idx = spec.partition(":")
    if idx and not idx.isdigit():
        raise ValueError(f"bad device {spec!r}: expected 'kind' or 'kind:index', e.g. 'cuda:0'")
    return kind.lower(), int(idx) if idx else default


def _resolve_device(name: str, xp: Any, device: Any) -> Any:
    """Turn ``device`` (None, a string like ``"cuda:0"``, or a device object) into the backend's own."""
    if name == "numpy":
        if device not in (None, "cpu"):
            raise ValueError(f"NumPy arrays live on the CPU only; got device {device!r}")
        return "cpu"
    if name == "array_api_strict":
        info = xp.__array_namespace_info__()
        if device is None:
            return info.default_device()
        if isinstance(device, str):
            if device.lower() == "cpu":
                return info.default_device()
            try:
                device = xp.Device(device)
            except ValueError:
                pass  # an unknown name: reported below with the list of devices
        if device not in info.devices():
            raise ValueError(f"array_api_strict has no device {device!r}; choose one of {info.devices()}")
        return device
    if name == "torch":
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
    if name == "jax":
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
    # cupy
    import cupy

    count = _cuda_device_count()
    if count == 0:
        raise BackendError(f"CuPy is installed but no CUDA GPU is usable here; {_INSTALL_HINT['cupy']}")
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
        xp = _import_namespace(name)
    elif not isinstance(backend, types.ModuleType):
        raise TypeError(
            f"backend must be a name ({', '.join(BACKEND_NAMES)}), an array namespace module "
            f"or a Backend, got {type(backend).__name__} {backend!r}"
        )
    else:
        name = _compat.namespace_name(backend)
        if name is None:
            raise ValueError(f"unknown array namespace {backend!r}; pass one of {', '.join(BACKEND_NAMES)}")
        xp = _import_namespace(name)
    if name == "cupy" and _cuda_device_count() == 0:
        raise BackendError(f"CuPy is installed but no CUDA GPU is usable here; {_INSTALL_HINT['cupy']}")
    return Backend(name, xp, _resolve_device(name, xp, device))


def backend_of(x: Any) -> Backend:
    """The :class:`Backend` (namespace and device) that array ``x`` lives on."""
    xp = _compat.namespace(x)
    name = _compat.namespace_name(xp)
    if name is None:
        raise TypeError(f"arrays of type {type(x).__name__} are not supported by xpnet")
    return Backend(name, xp, _compat.device(x))


def _probe(name: str) -> BackendInfo:
    module = "jax" if name == "jax" else name
    if importlib.util.find_spec(module) is None:
        return BackendInfo(name, False, False, f"not installed ({_INSTALL_HINT[name]})")
    try:
        xp = _compat.compat_namespace(name)
    except Exception as exc:  # a broken install should be reported, not crash the listing
        return BackendInfo(name, True, False, f"import failed: {exc}")
    if name == "numpy":
        return BackendInfo(name, True, True, "ok", ("cpu",))
    if name == "array_api_strict":
        devices = tuple(str(d) for d in xp.__array_namespace_info__().devices())
        return BackendInfo(name, True, True, "ok", devices)
    if name == "torch":
        import torch

        devices = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        return BackendInfo(name, True, True, "ok", tuple(devices))
    if name == "jax":
        import jax

        return BackendInfo(name, True, True, "ok", tuple(str(d) for d in jax.devices()))
    count = _cuda_device_count()
    if count == 0:
        return BackendInfo(name, True, False, "installed, but no CUDA GPU is usable here")
    return BackendInfo(name, True, True, "ok", tuple(f"cuda:{i}" for i in range(count)))


def available() -> list[BackendInfo]:
    """Probe every known backend: installed, usable on this machine, and its devices."""
    return [_probe(name) for name in BACKEND_NAMES]


def usable_backends() -> list[str]:
    """Names of the backends that work on this machine."""
    return [info.name for info in available() if info.usable]
