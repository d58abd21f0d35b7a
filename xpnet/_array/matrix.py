"""The default backend matrix of :mod:`xpnet.testing`: every (backend, device) case this machine's installs could run.

NumPy; array_api_strict on its default device and on ``device1`` (a CPU stand-in for a second
device); PyTorch and JAX on the CPU; PyTorch's ``cuda:0`` on a CUDA (or ROCm) build and ``mps``
on a build with MPS; JAX's ``cuda:0`` with a JAX CUDA plugin; CuPy's ``cuda:0``. Accelerator
cases are listed when the installed build could have them, so a machine whose driver is broken
shows a skip with the reason instead of silently testing the CPU only. Whether each case is
usable here is :mod:`xpnet.testing`'s question (:func:`xpnet._array.registry.get_backend`).
"""

from __future__ import annotations

import importlib.util

__all__ = ["candidates"]


def _torch_accelerators() -> list[tuple[str, str, str | None]]:
    if importlib.util.find_spec("torch") is None:
        return []
    import torch

    found: list[tuple[str, str, str | None]] = []
    if torch.version.cuda is not None or getattr(torch.version, "hip", None) is not None:
        found.append(("torch-cuda", "torch", "cuda:0"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_built():
        found.append(("torch-mps", "torch", "mps"))
    return found


def candidates() -> list[tuple[str, str, str | None]]:
    """``(id, backend name, device or None)`` of every case of the default matrix, in the order tests run them."""
    cases: list[tuple[str, str, str | None]] = [
        ("numpy", "numpy", None), ("strict", "array_api_strict", None), ("strict-device1", "array_api_strict", "device1"),
        ("torch", "torch", "cpu"), *_torch_accelerators(), ("jax", "jax", "cpu"),
    ]
    if any(importlib.util.find_spec(p) is not None for p in ("jax_cuda12_plugin", "jax_cuda13_plugin")):
        cases.append(("jax-cuda", "jax", "cuda:0"))
    cases.append(("cupy", "cupy", "cuda:0"))
    return cases
