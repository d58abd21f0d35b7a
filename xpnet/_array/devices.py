"""Devices of each backend: device strings, the devices a backend sees, and why a device it could have is unusable.

Each backend has four pieces here, used by the registry's rows:

* ``resolve(xp, device)``: the backend's device object for ``None``, a device string or a
  device object, or an error that names the device and says what to do;
* ``devices(xp)``: every device the backend sees, as the strings ``resolve`` accepts back;
* ``name(device)``: that string for one device object (what checkpoints store);
* ``problem(xp)`` (CuPy) and ``notes(xp)`` (PyTorch, JAX): the backend's own reason when it
  cannot use a GPU (driver too old, no device, CPU-only build, toolkit missing) and the fix.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
from typing import Any

from ..errors import BackendError

__all__ = ["cupy_problem", "parse_index"]

_TORCH_CUDA = "pip install torch --index-url https://download.pytorch.org/whl/cu126 (pick your CUDA on https://pytorch.org/get-started/locally/)"
_JAX_CUDA = "pip install 'jax[cuda12]' (Linux)"
_GPU_EXTRAS = "pip install 'xpnet[gpu]' (CUDA 12) or 'xpnet[gpu-cuda13]' (CUDA 13)"


def parse_index(spec: str, default: int = 0) -> tuple[str, int]:
    """``"cuda:1"`` -> ``("cuda", 1)``; ``"cuda"`` -> ``("cuda", default)``."""
    kind, _, idx = spec.strip().partition(":")
    if idx and not idx.isdigit():
        raise ValueError(f"bad device {spec!r}: expected 'kind' or 'kind:index', e.g. 'cuda:0'")
    return kind.lower(), int(idx) if idx else default


# --- NumPy ---------------------------------------------------------------------------------
def numpy_device(xp: Any, device: Any) -> Any:
    """NumPy's only device, ``"cpu"``."""
    if device not in (None, "cpu"):
        raise ValueError(f"NumPy arrays live on the CPU only; got device {device!r} (use --backend torch, jax or cupy for a GPU)")
    return "cpu"


# --- array_api_strict ----------------------------------------------------------------------
_STRICT_REPR = re.compile(r"^(?:array_api_strict\.)?Device\('([^']+)'\)$")


def strict_device(xp: Any, device: Any) -> Any:
    """array_api_strict's device named ``device`` (``"CPU_DEVICE"``, ``"device1"``, ``"cpu"``, or its repr)."""
    info = xp.__array_namespace_info__()
    if device is None or (isinstance(device, str) and device.lower() == "cpu"):
        return info.default_device()
    if isinstance(device, str):
        match = _STRICT_REPR.match(device.strip())
        try:
            device = xp.Device(match.group(1) if match else device.strip())
        except ValueError:
            pass  # an unknown name: reported below with the list of devices
    if device not in info.devices():
        names = ", ".join(strict_name(d) for d in info.devices())
        raise ValueError(f"array_api_strict has no device {device!r}; choose one of {names}")
    return device


def strict_devices(xp: Any) -> tuple[str, ...]:
    """Every array_api_strict device, by name."""
    return tuple(strict_name(d) for d in xp.__array_namespace_info__().devices())


def strict_name(device: Any) -> str:
    """``"device1"`` for ``Device('device1')``."""
    match = _STRICT_REPR.match(repr(device))
    return match.group(1) if match else str(device)


# --- PyTorch -------------------------------------------------------------------------------
def torch_device(xp: Any, device: Any) -> Any:
    """A ``torch.device``, checked to exist here (CUDA and MPS errors carry PyTorch's reason and the fix)."""
    import torch

    if device is None:
        return torch.get_default_device() if hasattr(torch, "get_default_device") else torch.device("cpu")
    try:
        dev = torch.device(device)
    except TypeError as exc:
        raise TypeError(
            f"torch device must be a str such as 'cpu', 'cuda:0' or 'mps', an int or a torch.device, "
            f"got {type(device).__name__} {device!r}"
        ) from exc
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"torch has no device {device!r}; use 'cpu', 'cuda:N' or 'mps'") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise BackendError(f"device {device!r} asked for, but {torch_cuda_problem()}")
        count = torch.cuda.device_count()
        if (dev.index or 0) >= count:
            raise ValueError(f"torch sees {count} CUDA device(s); {device!r} is out of range")
    elif dev.type == "mps" and not _mps_available(torch):
        raise BackendError(f"device {device!r} asked for, but {torch_mps_problem()}")
    return dev


def _mps_available(torch: Any) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def torch_devices(xp: Any) -> tuple[str, ...]:
    """``cpu``, every ``cuda:N`` and ``mps`` that PyTorch can use here."""
    import torch

    cuda = tuple(f"cuda:{i}" for i in range(torch.cuda.device_count())) if torch.cuda.is_available() else ()
    return ("cpu", *cuda, *(("mps",) if _mps_available(torch) else ()))


def torch_name(device: Any) -> str:
    """``"cpu"``, ``"cuda:0"``, ``"mps"``."""
    return str(device)


def torch_cuda_problem() -> str:
    """Why PyTorch cannot use CUDA here (its own words where it has them) and how to fix it."""
    import torch

    version = torch.__version__
    if getattr(torch.version, "cuda", None) is None and getattr(torch.version, "hip", None) is None:
        return f"this PyTorch ({version}) is a CPU-only build; for an NVIDIA GPU install a CUDA build: {_TORCH_CUDA}"
    try:
        torch.cuda.init()
        reason = f"it sees {torch.cuda.device_count()} CUDA device(s)"
    except Exception as exc:  # PyTorch's own reason: no driver, driver too old, no device
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"PyTorch {version} (built for CUDA {torch.version.cuda}) cannot use a GPU: {reason}; check that `nvidia-smi` "
        f"lists the GPU and that its driver supports CUDA {torch.version.cuda} (update the driver, or install a "
        "PyTorch build for an older CUDA from https://pytorch.org/get-started/locally/)"
    )


def torch_mps_problem() -> str:
    """Why PyTorch cannot use Apple's MPS here."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_built():
        return f"this PyTorch ({torch.__version__}) has no MPS support; MPS is for Macs with Apple silicon (macOS 12.3+)"
    return "PyTorch was built with MPS, but MPS is not available on this Mac (it needs macOS 12.3+ and a Metal GPU)"


def torch_notes(xp: Any) -> tuple[str, ...]:
    """The GPU kinds this PyTorch cannot use, each with the reason and the fix."""
    import torch

    notes = []
    if not torch.cuda.is_available():
        notes.append(f"no CUDA: {torch_cuda_problem()}")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_built() and not mps.is_available():
        notes.append(f"no MPS: {torch_mps_problem()}")
    return tuple(notes)


# --- JAX -----------------------------------------------------------------------------------
_JAX_KINDS = {"cuda": "gpu", "rocm": "gpu"}


def jax_device(xp: Any, device: Any) -> Any:
    """A JAX device: ``"cpu"``, ``"cpu:0"``, ``"gpu:0"``/``"cuda:0"``, ``"tpu:0"``, or a device object.

    None: this process's first device (after ``jax.distributed.initialize`` ``jax.devices()[0]`` may be another host's).
    """
    import jax

    if device is None:
        return jax.local_devices()[0]
    if not isinstance(device, str):
        return device
    kind, idx = parse_index(device)
    kind = _JAX_KINDS.get(kind, kind)
    try:
        devices = jax.devices(kind)
    except RuntimeError as exc:
        fix = f"; for NVIDIA GPUs: {_JAX_CUDA}" if kind == "gpu" else ""
        raise BackendError(f"JAX has no {kind!r} devices here ({exc}){fix}") from exc
    if idx >= len(devices):
        raise ValueError(f"JAX has {len(devices)} {kind} device(s); index {idx} is out of range")
    return devices[idx]


def _jax_platform_devices(kind: str) -> list[Any]:
    import jax

    try:
        return list(jax.devices(kind))
    except RuntimeError:
        return []


def jax_devices(xp: Any) -> tuple[str, ...]:
    """Every device JAX sees, CPU and accelerators alike."""
    return tuple(jax_name(d) for kind in ("cpu", "gpu", "tpu") for d in _jax_platform_devices(kind))


def jax_name(device: Any) -> str:
    """``"cpu:0"``, ``"cuda:0"``: the device's platform and its index among that platform's devices."""
    kind = "cuda" if device.platform == "gpu" else device.platform
    peers = _jax_platform_devices(device.platform)
    idx = peers.index(device) if device in peers else device.id
    return f"{kind}:{idx}"


def jax_notes(xp: Any) -> tuple[str, ...]:
    """Why JAX has no GPU here: no CUDA plugin installed, or the plugin's own error."""
    import jax

    if _jax_platform_devices("gpu"):
        return ()
    plugins = [p for p in ("jax_cuda12_plugin", "jax_cuda13_plugin") if importlib.util.find_spec(p) is not None]
    if not plugins:
        return (f"no GPU: no JAX CUDA plugin is installed; for NVIDIA GPUs: {_JAX_CUDA}",)
    try:
        jax.devices("gpu")
        reason = "no GPU device"
    except RuntimeError as exc:  # JAX's own reason
        reason = str(exc).strip().splitlines()[0]
    return (f"no GPU: {', '.join(plugins)} is installed but {reason}; check `nvidia-smi` and the driver's CUDA version",)


# --- CuPy ----------------------------------------------------------------------------------
def cupy_device(xp: Any, device: Any) -> Any:
    """A ``cupy.cuda.Device``: ``None`` (device 0), ``"cuda:N"``, ``"gpu:N"``, an int or a device object."""
    import cupy

    count = cupy.cuda.runtime.getDeviceCount()
    if device is None:
        return cupy.cuda.Device(0)
    if isinstance(device, int):
        idx = device
    elif isinstance(device, str):
        kind, idx = parse_index(device)
        if kind not in ("cuda", "gpu"):
            raise ValueError(f"CuPy devices are 'cuda:N'; got {device!r}")
    else:
        return device
    if idx >= count:
        raise ValueError(f"CuPy sees {count} CUDA device(s); 'cuda:{idx}' is out of range")
    return cupy.cuda.Device(idx)


def cupy_devices(xp: Any) -> tuple[str, ...]:
    """``cuda:N`` for every GPU CuPy can use (none when it has a problem)."""
    if _cupy_status() is not None:
        return ()
    import cupy

    return tuple(f"cuda:{i}" for i in range(int(cupy.cuda.runtime.getDeviceCount())))


def cupy_name(device: Any) -> str:
    """``"cuda:0"``."""
    return f"cuda:{getattr(device, 'id', device)}"


def cupy_status(xp: Any) -> str | None:
    """Why CuPy cannot be used here, with the fix; None when it can (probed once per process)."""
    return _cupy_status()


@functools.lru_cache(maxsize=1)
def _cupy_status() -> str | None:
    import cupy

    return cupy_problem(cupy)


def cupy_problem(cupy: Any) -> str | None:
    """Probe ``cupy``: a CUDA device, then one compiled kernel. CuPy's own error and the fix, or None.

    Parameters
    ----------
    cupy : module
        The ``cupy`` module (a stand-in in tests).
    """
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:  # CUDA runtime errors carry the reason: driver too old, no device, ...
        return _explain(exc)
    if count == 0:
        return _no_device()
    try:
        float((cupy.arange(4, dtype=cupy.float32) * 2).sum())  # NVRTC compiles this kernel
    except Exception as exc:
        return _explain(exc)
    return None


def _no_device() -> str:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    hint = f" (CUDA_VISIBLE_DEVICES is {visible!r})" if visible is not None else ""
    return f"CuPy sees no CUDA device{hint}; check that `nvidia-smi` lists a GPU"


def _explain(exc: Exception) -> str:
    """CuPy's error in one line, followed by what fixes it."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    low = text.lower()
    if "insufficientdriver" in low or "driver version is insufficient" in low:
        fix = (f"the NVIDIA driver is older than the CUDA this CuPy was built for ({_cupy_wheel()}); update the driver, "
               "or install CuPy for an older CUDA: pip install 'xpnet[gpu]' (CUDA 12) instead of 'xpnet[gpu-cuda13]'")
    elif "nodevice" in low or "no cuda-capable device" in low:
        fix = _no_device()
    elif any(key in low for key in ("nvrtc", "cuda headers", "cuda_fp16", "compileexception", "cuda_path", "libcu")):
        fix = f"CuPy cannot find the CUDA toolkit libraries it compiles kernels with; {_GPU_EXTRAS} installs them as wheels"
    elif "nvidia driver" in low or "libcuda" in low or "initializationerror" in low:
        fix = "no usable NVIDIA driver: install or repair it, then check that `nvidia-smi` lists the GPU"
    else:
        fix = f"see the README's GPU troubleshooting; reinstalling with {_GPU_EXTRAS} often helps"
    return f"{type(exc).__name__}: {text}; {fix}"


def _cupy_wheel() -> str:
    """The installed CuPy distribution, e.g. ``cupy-cuda13x 14.2.0``."""
    from importlib import metadata

    for dist in ("cupy-cuda13x", "cupy-cuda12x", "cupy"):
        try:
            return f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return "an unknown CuPy build"
