"""The backend matrix every array test runs on, and helpers to compare results on the host.

The matrix is :func:`xpnet.testing.backend_cases`, the one users get for their own tests:
NumPy; array_api_strict on its default device and on ``Device("device1")`` (a CPU stand-in
for a GPU: mixing devices raises); PyTorch and JAX on the CPU; PyTorch's CUDA and MPS
devices and JAX's CUDA device where the installed builds have them; CuPy. A case that
cannot run here is skipped with the reason.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest

from xpnet._array import compat as _compat
from xpnet._array.registry import to_numpy
from xpnet.backends import Backend, get_backend
from xpnet.testing import TOLERANCES, backend_cases, backend_params

if importlib.util.find_spec("jax") is not None:
    import jax

    # float64 tests need JAX's 64-bit mode; set before any JAX array exists (test suite only).
    jax.config.update("jax_enable_x64", True)


@pytest.fixture(params=backend_params())
def backend(request: pytest.FixtureRequest) -> Backend:
    """A (namespace, device) pair from the matrix of :mod:`xpnet.testing` (skipped with the reason where unusable)."""
    return request.param.get()


@pytest.fixture(params=backend_params([case for case in backend_cases() if case.backend == "jax"]))
def compiled_backend(request: pytest.FixtureRequest) -> Backend:
    """A case of the matrix whose training step is compiled (JAX on the CPU, JAX on a GPU)."""
    return request.param.get()


@pytest.fixture
def numpy_backend() -> Backend:
    """The NumPy backend, for tests that need a second, different backend."""
    return get_backend("numpy")


def to_np(x: Any) -> np.ndarray:
    """Host NumPy copy of an array of any backend (or a Python number)."""
    return np.asarray(to_numpy(x)) if _compat.is_array(x) else np.asarray(x)


TOL = TOLERANCES  # per dtype, shared with xpnet.testing.assert_backends_agree


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
