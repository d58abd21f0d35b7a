"""One row per array library: what xpnet knows about it, asked as capabilities, never by name elsewhere.

The five libraries xpnet has tried have rows with extras (device names, install hints, GPU
diagnostics, a compiler, operations of their own). Any other namespace that array-api-compat
knows, or that declares ``__array_api_version__``, gets a row derived from the standard
(:func:`derived_row`): its device from ``device(x)`` and ``__array_namespace_info__``,
placement with ``asarray(..., device=)``, host transfer through DLPack with fallbacks, and
writability found by trying. Code outside ``_array/`` asks a row a question (``row.writable``,
``row.compiler``, ``row.host_memory``, ``row.float64_problem(...)``); it never compares names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import compat, devices

__all__ = ["KNOWN_ROWS", "Row"]



def _none(*args: Any) -> None:
    return None


def _no_notes(xp: Any) -> tuple[str, ...]:
    return ()


def _no_switch() -> None:
    return None


@dataclass(frozen=True)
class Row:
    """What xpnet knows about one array library.

    Identity and installation: ``name``, ``module`` (what to import), ``install`` (how), and
    ``aliases``. Devices: ``device(xp, requested)`` gives the library's device object (or an
    error naming the device), ``devices(xp)`` every device it sees as strings ``device`` accepts,
    ``device_name(device)`` that string. Diagnostics: ``problem(xp)`` (why it is installed but
    unusable, and the fix), ``notes(xp)`` (accelerators it could use but cannot here).

    Capabilities, the questions code outside ``_array/`` asks:

    ``writable``
        Its arrays can be written in place (``x[i] = v``, ``x -= y``): NumPy, CuPy, PyTorch,
        array_api_strict; not JAX. A snapshot of parameters must then be a copy.
    ``host_memory``
        Its arrays are host NumPy memory: a host array can be used as it is, with no copy.
    ``shares_host_memory``
        ``asarray(numpy_array, copy=True)`` may still share memory: copy on the host first.
    ``host_copy_arg``
        ``asarray`` of a host array accepts ``copy=``.
    ``background_threads``
        Its kernels run on the host's cores and release the GIL: a worker thread can evaluate
        (or gather the next batches) while the training loop goes on.
    ``compiler``
        The name of the compiler that traces and compiles the training step (``"xla"``), or None.
    ``ops``
        ``"module:Class"`` of its :class:`~xpnet._array.ops.Ops` subclass, or None (the portable ops).
    ``settle``
        For a lazy library (its arrays are graphs computed when read: dask, ndonnx), a function
        that computes a list of its arrays now, in one go, and returns them as arrays of the
        library that hold their values (dask's ``persist``): a training loop calls it between
        chunks of steps, so that graphs do not grow with every step. None where arrays hold values.
    """

    name: str
    module: str
    install: str
    namespace: Callable[[], Any]
    owns: Callable[[Any], bool]
    is_namespace: Callable[[Any], bool]
    device: Callable[[Any, Any], Any]
    devices: Callable[[Any], tuple[str, ...]]
    device_name: Callable[[Any], str] = str
    problem: Callable[[Any], str | None] = _none
    notes: Callable[[Any], tuple[str, ...]] = _no_notes
    to_host: Callable[[Any], np.ndarray] = np.asarray
    writable: bool = True
    host_memory: bool = False
    shares_host_memory: bool = False
    host_copy_arg: bool = True
    background_threads: bool = False
    compiler: str | None = None
    ops: str | None = None
    float64_problem: Callable[[Any, Any], str | None] = _none
    enable_float64: Callable[[], None] = _no_switch
    settle: Callable[[list[Any]], list[Any]] | None = None
    aliases: tuple[str, ...] = ()
    derived: bool = False


def _strict_to_host(x: Any) -> np.ndarray:
    try:
        return np.asarray(x)
    except (TypeError, ValueError, RuntimeError):  # refused on a non-default device: go via the CPU device
        xp = compat.namespace(x)
        return np.asarray(compat.to_device(x, xp.__array_namespace_info__().default_device()))


def _jax_float64(xp: Any, device: Any) -> str | None:
    import jax

    if jax.config.jax_enable_x64:
        return None
    return ("float64 on JAX needs 64-bit mode: call jax.config.update('jax_enable_x64', True) before creating "
            "arrays, or use dtype='float32'")


def _jax_enable_float64() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)


def _torch_float64(xp: Any, device: Any) -> str | None:
    if getattr(device, "type", None) == "mps":
        return "float64 is not supported on MPS devices (Apple GPUs); use dtype='float32'"
    return None


def _torch_namespace() -> Any:
    importlib.import_module("torch")
    return compat.compat_module("torch")


def _cupy_namespace() -> Any:
    importlib.import_module("cupy")
    return compat.compat_module("cupy")


KNOWN_ROWS: tuple[Row, ...] = (
    Row("numpy", "numpy", "pip install numpy", lambda: compat.NUMPY, compat.is_numpy_array, compat.is_numpy_namespace,
        devices.numpy_device, lambda xp: ("cpu",), host_memory=True, background_threads=True,
        ops=".ops_numpy:NumpyOps", aliases=("np",)),
    Row("array_api_strict", "array_api_strict", "pip install array-api-strict",
        lambda: importlib.import_module("array_api_strict"), compat.is_strict_array, compat.is_strict_namespace,
        devices.strict_device, devices.strict_devices, devices.strict_name,
        to_host=_strict_to_host, shares_host_memory=True, aliases=("strict", "array-api-strict")),
    Row("torch", "torch", "pip install 'xpnet[torch]' (the CPU build: add --index-url https://download.pytorch.org/whl/cpu "
        "--extra-index-url https://pypi.org/simple)", _torch_namespace, compat.is_torch_array,
        compat.is_torch_namespace, devices.torch_device, devices.torch_devices, devices.torch_name,
        notes=devices.torch_notes, to_host=lambda x: x.detach().cpu().numpy(), shares_host_memory=True,
        ops=".ops_torch:TorchOps", float64_problem=_torch_float64, aliases=("pytorch",)),
    Row("jax", "jax", "pip install 'xpnet[jax]'", lambda: importlib.import_module("jax.numpy"), compat.is_jax_array,
        compat.is_jax_namespace, devices.jax_device, devices.jax_devices, devices.jax_name, notes=devices.jax_notes,
        shares_host_memory=True, writable=False, compiler="xla", ops=".ops_jax:JaxOps",
        float64_problem=_jax_float64, enable_float64=_jax_enable_float64),
    Row("cupy", "cupy", "pip install 'xpnet[gpu]' (CUDA 12) or 'xpnet[gpu-cuda13]' (CUDA 13), on a machine with an NVIDIA GPU",
        _cupy_namespace, compat.is_cupy_array, compat.is_cupy_namespace, devices.cupy_device, devices.cupy_devices,
        devices.cupy_name, problem=devices.cupy_status, to_host=lambda x: x.get(), host_copy_arg=False, aliases=("cp",)),
)
