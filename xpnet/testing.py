"""Backend parity in your own tests: the backend matrix as a pytest parametrisation, and ``assert_backends_agree``.

The matrix is the one xpnet's own suite runs on: NumPy; array_api_strict on its default
device and on ``device1`` (a CPU stand-in for a second device: mixing devices raises);
PyTorch and JAX on the CPU; PyTorch's ``cuda:0`` when it is a CUDA build and ``mps`` when
it is built with MPS; JAX's ``cuda:0`` when a JAX CUDA plugin is installed; CuPy's
``cuda:0``. A case that cannot run here carries the reason, in the backend's own words::

    import pytest
    from xpnet.testing import backend_params

    @pytest.fixture(params=backend_params())
    def backend(request):
        return request.param.get()      # an xpnet Backend: backend.asarray(...), backend.xp, backend.device

pytest itself is imported only by :func:`backend_params`.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._array import compat
from ._array.registry import Backend, available, dtype_name, get_backend, to_numpy
from .errors import BackendError

__all__ = ["TOLERANCES", "BackendCase", "assert_backends_agree", "backend_cases", "backend_params"]

#: Default ``(rtol, atol)`` per result dtype when backends are compared on the host.
TOLERANCES: Mapping[str, dict[str, float]] = {
    "float32": {"rtol": 2e-5, "atol": 1e-6},
    "float64": {"rtol": 1e-12, "atol": 1e-14},
}


@dataclass(frozen=True)
class BackendCase:
    """One cell of the backend matrix.

    Attributes
    ----------
    id : str
        Test id: ``numpy``, ``strict``, ``strict-device1``, ``torch``, ``torch-cuda``, ``torch-mps``,
        ``jax``, ``jax-cuda``, ``cupy``.
    backend : str
        Backend name for :func:`xpnet.get_backend`.
    device : str or None
        Device string (None: the backend's default device).
    skip_reason : str or None
        Why the case cannot run here; None when it can.
    """

    id: str
    backend: str
    device: str | None
    skip_reason: str | None = None

    @property
    def usable(self) -> bool:
        """True when the case can run here."""
        return self.skip_reason is None

    def get(self) -> Backend:
        """The case's :class:`~xpnet.backends.Backend` (namespace and device)."""
        return get_backend(self.backend, self.device)


def _candidates() -> list[tuple[str, str, str | None]]:
    """``(id, backend, device)`` of every case this machine's installs could run."""
    cases: list[tuple[str, str, str | None]] = [
        ("numpy", "numpy", None), ("strict", "array_api_strict", None), ("strict-device1", "array_api_strict", "device1"),
        ("torch", "torch", "cpu"),
    ]
    if importlib.util.find_spec("torch") is not None:
        import torch

        if torch.version.cuda is not None or getattr(torch.version, "hip", None) is not None:
            cases.append(("torch-cuda", "torch", "cuda:0"))
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_built():
            cases.append(("torch-mps", "torch", "mps"))
    cases.append(("jax", "jax", "cpu"))
    if any(importlib.util.find_spec(p) is not None for p in ("jax_cuda12_plugin", "jax_cuda13_plugin")):
        cases.append(("jax-cuda", "jax", "cuda:0"))
    cases.append(("cupy", "cupy", "cuda:0"))
    return cases


def backend_cases() -> list[BackendCase]:
    """The backend matrix: every case, usable or with the reason it is skipped here.

    Accelerator cases are listed when the installed build could have them (a CUDA build of
    PyTorch, a JAX CUDA plugin, CuPy), so a GPU machine whose driver is broken shows the skip
    and its reason instead of silently running on the CPU only.
    """
    infos = {info.name: info for info in available()}
    out = []
    for case_id, name, device in _candidates():
        info = infos[name]
        reason = None if info.usable else f"{name}: {info.reason}"
        if reason is None:
            try:
                get_backend(name, device)
            except (BackendError, ValueError, TypeError) as exc:
                reason = f"{name} {device}: {exc}"
        out.append(BackendCase(case_id, name, device, reason))
    return out


def backend_params(cases: list[BackendCase] | None = None) -> list[Any]:
    """The matrix as ``pytest.param(case, id=case.id)`` values, skipped with the reason where unusable.

    Use them as ``@pytest.fixture(params=backend_params())`` or ``@pytest.mark.parametrize("case", backend_params())``;
    ``case.get()`` is the Backend.
    """
    import pytest

    return [
        pytest.param(case, id=case.id, marks=[pytest.mark.skip(reason=case.skip_reason)] if case.skip_reason else [])
        for case in (backend_cases() if cases is None else cases)
    ]


def _move(x: Any, be: Backend) -> Any:
    """NumPy arrays (and containers of them) onto ``be`` in their own dtype; anything else unchanged."""
    if isinstance(x, np.ndarray):
        return be.asarray(x, dtype=x.dtype.name if x.dtype.kind == "f" else None)
    if isinstance(x, (list, tuple)) and any(isinstance(v, np.ndarray) for v in x):
        return type(x)(_move(v, be) for v in x)
    if isinstance(x, dict):
        return {k: _move(v, be) for k, v in x.items()}
    return x


def _host(x: Any) -> Any:
    """A result on the host: arrays as NumPy copies, containers element by element, numbers as they are."""
    if compat.is_array(x):
        return np.array(to_numpy(x), copy=True)
    if isinstance(x, (list, tuple)):
        return type(x)(_host(v) for v in x)
    if isinstance(x, Mapping):
        return {k: _host(v) for k, v in x.items()}
    return x


def _leaves(x: Any, path: str = "result") -> list[tuple[str, Any]]:
    if isinstance(x, (list, tuple)):
        return [leaf for i, v in enumerate(x) for leaf in _leaves(v, f"{path}[{i}]")]
    if isinstance(x, Mapping):
        return [leaf for k, v in x.items() for leaf in _leaves(v, f"{path}[{k!r}]")]
    return [(path, x)]


def _compare(path: str, ref: Any, got: Any, ref_id: str, case_id: str, rtol: float | None, atol: float | None) -> None:
    """Raise AssertionError unless ``got`` matches ``ref`` (shape, floating precision, values within tolerance)."""
    a, b = np.asarray(ref), np.asarray(got)
    where = f"assert_backends_agree: {path} differs between {ref_id} and {case_id}"
    if a.shape != b.shape:
        raise AssertionError(f"{where}: shape {a.shape} vs {b.shape}")
    if a.dtype.kind == "f" and b.dtype.kind == "f" and a.dtype.itemsize != b.dtype.itemsize:
        raise AssertionError(f"{where}: dtype {a.dtype} vs {b.dtype}")
    tol = dict(TOLERANCES.get(dtype_name(a.dtype), {"rtol": 0.0, "atol": 0.0}))
    tol.update({k: v for k, v in (("rtol", rtol), ("atol", atol)) if v is not None})
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        ok = np.array_equal(a, b)
    else:
        ok = bool(np.all(np.isclose(b, a, rtol=tol["rtol"], atol=tol["atol"], equal_nan=True)))
    if not ok:
        diff = np.abs(b.astype(np.float64) - a.astype(np.float64))
        worst = np.unravel_index(int(np.nanargmax(diff)), diff.shape) if diff.ndim else ()
        raise AssertionError(
            f"{where}: max |difference| {float(np.nanmax(diff)):.3g} at index {tuple(int(i) for i in worst)} "
            f"({a[worst]!r} vs {b[worst]!r}; rtol {tol['rtol']:g}, atol {tol['atol']:g})"
        )


def assert_backends_agree(
    fn: Callable[..., Any],
    *args: Any,
    rtol: float | None = None,
    atol: float | None = None,
    cases: list[BackendCase] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Run ``fn`` on every usable backend and device, and check that the results agree on the host.

    Parameters
    ----------
    fn : callable
        Called as ``fn(*args, **kwargs)`` with every NumPy array among the arguments (also
        inside lists, tuples and dicts) moved to the case's backend and device, in its own
        dtype. ``fn`` takes its namespace from its inputs, as xpnet's functions do; it can
        get the Backend with ``xpnet.backends.backend_of(x)``.
    *args, **kwargs
        The arguments: NumPy arrays, numbers, anything else passed as is.
    rtol, atol : float, optional
        Tolerances; default per dtype of the first backend's result (:data:`TOLERANCES`),
        exact for integers and booleans.
    cases : list of BackendCase, optional
        Default: :func:`backend_cases`. Unusable cases are left out; so is JAX for float64
        arguments without its 64-bit mode (with a warning).

    Returns
    -------
    dict
        Each case's result on the host (arrays as NumPy), by case id.

    Raises
    ------
    AssertionError
        A result differs from the first case's (NumPy's): the message names the output,
        both cases, the largest difference and where it is.
    """
    results: dict[str, Any] = {}
    for case in (c for c in (backend_cases() if cases is None else cases) if c.usable):
        be = case.get()
        try:
            moved_args, moved_kwargs = _move(list(args), be), _move(dict(kwargs), be)
        except TypeError as exc:  # float64 on JAX without 64-bit mode
            warnings.warn(f"assert_backends_agree: {case.id} left out: {exc}", stacklevel=2)
            continue
        results[case.id] = _host(fn(*moved_args, **moved_kwargs))
    if not results:
        raise AssertionError("assert_backends_agree: no backend is usable here")
    (ref_id, ref), *others = results.items()
    for case_id, got in others:
        ref_leaves, got_leaves = _leaves(ref), _leaves(got)
        if [p for p, _ in ref_leaves] != [p for p, _ in got_leaves]:
            raise AssertionError(f"assert_backends_agree: {case_id} returned another structure than {ref_id}")
        for (path, a), (_, b) in zip(ref_leaves, got_leaves):
            _compare(path, a, b, ref_id, case_id, rtol, atol)
    return results
