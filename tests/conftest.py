"""The backend matrix every array test runs on, and helpers to compare results on the host.

Cases: NumPy; array_api_strict on its default device and on ``Device("device1")`` (a CPU
stand-in for a GPU: mixing devices raises); PyTorch CPU and JAX CPU when installed; CuPy,
PyTorch on ``cuda:0`` and JAX on its first GPU when a CUDA device is usable. A case that
cannot run here is skipped with the reason.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest

import xpnet
from xpnet._array import compat as _compat
from xpnet._array.registry import to_numpy
from xpnet.backends import Backend, get_backend

if importlib.util.find_spec("jax") is not None:
    import jax

    # float64 tests need JAX's 64-bit mode; set before any JAX array exists (test suite only).
    jax.config.update("jax_enable_x64", True)


def _skip_reason(name: str, device: Any) -> str | None:
    """Why backend ``name`` cannot run here, or None when it can."""
    info = {i.name: i for i in xpnet.available()}[name]
    if not info.usable:
        return f"{name}: {info.reason}"
    try:
        get_backend(name, device)
    except (xpnet.BackendError, ValueError) as exc:  # e.g. no GPU for this library here
        return f"{name} on {device}: {exc}"
    return None


BACKEND_CASES = [
    ("numpy", None, "numpy"),
    ("array_api_strict", None, "strict"),
    ("array_api_strict", "device1", "strict-device1"),
    ("torch", "cpu", "torch"),
    ("jax", "cpu", "jax"),
    ("cupy", "cuda:0", "cupy"),
    ("torch", "cuda:0", "torch-cuda"),
    ("jax", "gpu", "jax-gpu"),
]


#: The cases whose training step is compiled by the backend's compiler (see xpnet.training.compiled).
COMPILED_CASES = [case for case in BACKEND_CASES if case[0] == "jax"]


def _params(cases: list = BACKEND_CASES) -> list:
    params = []
    for name, device, case_id in cases:
        reason = _skip_reason(name, device)
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param((name, device), id=case_id, marks=marks))
    return params


@pytest.fixture(params=_params())
def backend(request: pytest.FixtureRequest) -> Backend:
    """A (namespace, device) pair from the matrix above."""
    name, device = request.param
    return get_backend(name, device)


@pytest.fixture(params=_params(COMPILED_CASES))
def compiled_backend(request: pytest.FixtureRequest) -> Backend:
    """A case of the matrix whose training step is compiled (JAX on the CPU, JAX on a GPU)."""
    name, device = request.param
    return get_backend(name, device)


@pytest.fixture
def numpy_backend() -> Backend:
    """The NumPy backend, for tests that need a second, different backend."""
    return get_backend("numpy")


def to_np(x: Any) -> np.ndarray:
    """Host NumPy copy of an array of any backend (or a Python number)."""
    return np.asarray(to_numpy(x)) if _compat.is_array(x) else np.asarray(x)


TOL = {"float32": dict(rtol=2e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-14)}


def assert_close(actual: Any, expected: Any, dtype: str = "float64", **kw: Any) -> None:
    """Compare on the host with per-dtype tolerances (``rtol``/``atol`` override)."""
    tol = {**TOL[dtype], **kw}
    np.testing.assert_allclose(to_np(actual), np.asarray(expected, dtype=np.float64), **tol)


def blobs(n: int = 600, d: int = 12, k: int = 3, *, n_test: int = 200, spread: float = 25.0, seed: int = 0) -> tuple:
    """Separable clusters as uint8 'images' (N, d) and int labels: ``((x, t), (x_test, t_test))``."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(40, 215, size=(k, d))
    t = rng.integers(0, k, size=n + n_test)
    x = np.clip(centers[t] + rng.normal(scale=spread, size=(n + n_test, d)), 0, 255).astype(np.uint8)
    return (x[:n], t[:n]), (x[n:], t[n:])


def read_only(x: np.ndarray) -> np.ndarray:
    """A read-only NumPy copy: any in-place write raises ValueError."""
    y = np.array(x, copy=True)
    y.flags.writeable = False
    return y
