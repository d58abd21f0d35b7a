"""What the chapter 6 and 7 benchmarks share: implementations and where they run, child processes, ratios, targets.

Implementations: ``xpnet-numpy``, ``xpnet-jax`` (compiled), ``xpnet-torch``, ``xpnet-cupy`` (xpnet
on that backend, trained by :class:`xpnet.Trainer` in a fresh process), ``torch`` (idiomatic eager
PyTorch), ``jax`` (idiomatic ``jax.jit``) and, for chapter 7, ``book`` / ``book-dtype`` (the book's
own NumPy code, imported from its checkout at run time, with its own float64 weights / in the
job's dtype). With ``gpu`` every implementation that can runs on the first GPU.
"""

from __future__ import annotations

import contextlib
import importlib.util
import statistics
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rounds import median_of

__all__ = ["LIBRARIES", "Pair", "XPNET", "available", "load_reference", "mnist", "pair_rows", "ref_threads", "threads",
           "verdict", "where"]

BENCHMARKS = Path(__file__).resolve().parent
#: xpnet's implementations: backend, and device on the CPU / on a GPU.
XPNET = {"xpnet-numpy": ("numpy", None, None), "xpnet-jax": ("jax", "cpu", "gpu"), "xpnet-torch": ("torch", "cpu", "cuda:0"),
         "xpnet-cupy": ("cupy", None, None)}
#: The library each implementation needs.
LIBRARIES = {"xpnet-jax": "jax", "xpnet-torch": "torch", "xpnet-cupy": "cupy", "torch": "torch", "jax": "jax"}
#: (xpnet's implementation, reference, target ratio or None): compared when both ran.
Pair = tuple[str, str, "float | None"]


def where(impl: str, gpu: bool) -> tuple[str, str | None]:
    """(backend, device) of one of xpnet's implementations."""
    backend, cpu, on_gpu = XPNET[impl]
    return backend, on_gpu if gpu else cpu


def load_reference(file: str, name: str) -> Any:
    """The reference module ``benchmarks/<file>``, loaded by path."""
    spec = importlib.util.spec_from_file_location(f"xpnet_bench_{name.replace('-', '_')}", BENCHMARKS / file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mnist(n_train: int, n_test: int, image_shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """The first ``n_train`` training and ``n_test`` test images (uint8, each of ``image_shape``) and their labels."""
    from xpnet.datasets.mnist import load_mnist_uint8

    (x_tr, t_tr), (x_te, t_te) = load_mnist_uint8()
    return (x_tr[:n_train].reshape(-1, *image_shape), t_tr[:n_train], x_te[:n_test].reshape(-1, *image_shape), t_te[:n_test])


def ref_threads(setting: str) -> dict[str, int | None]:
    """The references' CPU threads: xpnet's (one for training, every core for evaluation) when ``matched``, else the
    library's defaults."""
    if setting != "matched":
        return {"train_threads": None, "eval_threads": None}
    from job import xpnet_threads

    train, evaluation = xpnet_threads()
    return {"train_threads": train, "eval_threads": evaluation}


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """BLAS threads limited to ``n`` inside the block (None, or no threadpoolctl: no change)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if n is None or threadpool_limits is None:
        yield
    else:
        with threadpool_limits(limits=n):
            yield


def available(names: Sequence[str], extra: Callable[[str], str | None], notes: list[str]) -> list[str]:
    """``names`` whose library is installed and for which ``extra(name)`` gives no reason to skip; notes for the others."""
    out = []
    for name in names:
        library = LIBRARIES.get(name)
        why = f"{library} is not installed" if library and importlib.util.find_spec(library) is None else extra(name)
        if why:
            notes.append(f"{name} skipped: {why}")
        else:
            out.append(name)
    return out


def pair_rows(pairs: Sequence[Pair], runs: dict[str, list[dict[str, Any]]], keys: dict[str, str]) -> list[dict[str, Any]]:
    """Ratios (xpnet / reference) of the medians of each ``keys`` value, and the median of per-round ratios of the first."""
    rows = []
    for mine, ref, target in pairs:
        if mine not in runs or ref not in runs:
            continue
        ratios = {label: median_of(runs[mine], key) / median_of(runs[ref], key) for label, key in keys.items()}
        first = next(iter(keys.values()))
        rounds = statistics.median(a[first] / b[first] for a, b in zip(runs[mine], runs[ref]))
        rows.append({"pair": f"{mine} / {ref}", "target": target, "rounds": rounds, **ratios})
    return rows



def verdict(ratio: float, target: float | None) -> str:
    """"meets <= T" or "MISSES <= T" (nothing without a target)."""
    if target is None:
        return ""
    return f"{'meets' if ratio <= target else 'MISSES'} <= {target:g}"
