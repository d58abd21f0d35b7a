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

Any other array-API namespace joins the matrix as an extra case: a namespace module
(``dask.array``, ``marray.masked_namespace(numpy)``), the name of an importable one
(``"dask.array"``, ``"ndonnx"``), or a ``(backend, device)`` pair. Its id is the library's name
(``dask.array``, ``ndonnx``, ``marray.numpy``), with ``-device`` when a device is given; a
library that is not installed, or that xpnet refuses (an older standard, a missing function),
is a case skipped with the reason::

    import dask.array

    @pytest.fixture(params=backend_params(extra=[dask.array, "ndonnx"]))
    def backend(request):
        return request.param.get()

    assert_backends_agree(xpnet.softmax, x, cases=backend_cases(extra=[dask.array]))

The default matrix's list of cases lives in :mod:`xpnet._array.matrix`. pytest itself is
imported only by :func:`backend_params`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._array import compat
from ._array.derived import namespace_label
from ._array.matrix import candidates
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
        ``jax``, ``jax-cuda``, ``cupy``; for an extra case the library's name (``dask.array``).
    backend : str or namespace module
        What :func:`xpnet.get_backend` takes: a backend name, or (extra cases) a namespace module.
    device : str or None
        Device string (None: the backend's default device).
    skip_reason : str or None
        Why the case cannot run here; None when it can.
    """

    id: str
    backend: Any
    device: Any
    skip_reason: str | None = None

    @property
    def usable(self) -> bool:
        """True when the case can run here."""
        return self.skip_reason is None

    def get(self) -> Backend:
        """The case's :class:`~xpnet.backends.Backend` (namespace and device)."""
        return get_backend(self.backend, self.device)


def _known_cases() -> list[BackendCase]:
    """The default matrix (:func:`xpnet._array.matrix.candidates`), each case with the reason it cannot run here."""
    infos = {info.name: info for info in available()}
    out = []
    for case_id, name, device in candidates():
        info = infos[name]
        reason = None if info.usable else f"{name}: {info.reason}"
        if reason is None:
            try:
                get_backend(name, device)
            except (BackendError, ValueError, TypeError) as exc:
                reason = f"{name} {device}: {exc}"
        out.append(BackendCase(case_id, name, device, reason))
    return out


def _extra_case(entry: Any, taken: set[str]) -> BackendCase:
    """The case of one extra backend: a namespace module, a backend name, or a ``(backend, device)`` pair."""
    backend, device = entry if isinstance(entry, tuple) and len(entry) == 2 else (entry, None)
    reason = None
    try:
        be = get_backend(backend, device)
        label, place = be.name, be.device_name
    except (BackendError, ValueError, TypeError) as exc:
        label = backend.strip() if isinstance(backend, str) else namespace_label(backend)
        place, reason = str(device), f"{label}: {exc}"
    case_id = label if device is None else f"{label}-{place}"
    base, n = case_id, 1
    while case_id in taken:  # the same library twice (another device, or a known one added again)
        n += 1
        case_id = f"{base}-{n}"
    taken.add(case_id)
    return BackendCase(case_id, backend, device, reason)


def backend_cases(extra: Sequence[Any] | None = None) -> list[BackendCase]:
    """The backend matrix: every case, usable or with the reason it is skipped here.

    Accelerator cases are listed when the installed build could have them (a CUDA build of
    PyTorch, a JAX CUDA plugin, CuPy), so a GPU machine whose driver is broken shows the skip
    and its reason instead of silently running on the CPU only.

    Parameters
    ----------
    extra : sequence, optional
        More backends to add after the default matrix: namespace modules (``dask.array``,
        ``marray.masked_namespace(numpy)``), backend names or names of importable namespace
        modules (``"ndonnx"``), or ``(backend, device)`` pairs. Each case's id is its library's
        name (``-device`` appended when a device is given); one that cannot run here carries the reason.
    """
    return _with_extra(_known_cases(), extra)


def _with_extra(cases: list[BackendCase], extra: Sequence[Any] | None) -> list[BackendCase]:
    """``cases`` followed by a case for each entry of ``extra`` (ids kept distinct from those taken)."""
    taken = {case.id for case in cases}
    return [*cases, *(_extra_case(entry, taken) for entry in (extra or ()))]


def backend_params(cases: list[BackendCase] | None = None, *, extra: Sequence[Any] | None = None) -> list[Any]:
    """The matrix as ``pytest.param(case, id=case.id)`` values, skipped with the reason where unusable.

    Use them as ``@pytest.fixture(params=backend_params())`` or ``@pytest.mark.parametrize("case", backend_params())``;
    ``case.get()`` is the Backend. ``cases`` replaces the default matrix; ``extra`` adds backends
    to it (or to ``cases``), as :func:`backend_cases` does.
    """
    import pytest

    chosen = _with_extra(_known_cases() if cases is None else list(cases), extra)
    return [
        pytest.param(case, id=case.id, marks=[pytest.mark.skip(reason=case.skip_reason)] if case.skip_reason else [])
        for case in chosen
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
        Default: :func:`backend_cases`; ``backend_cases(extra=[dask.array])`` adds other
        libraries. Unusable cases are left out; so is JAX for float64 arguments without its
        64-bit mode (with a warning).

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
