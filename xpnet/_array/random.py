"""Seeded host random numbers, moved once onto any backend and device."""

from __future__ import annotations

from typing import Any

import numpy as np

from .registry import Backend, dtype_name

__all__ = ["BITS", "batch_indices", "default_rng", "index_dtype", "normal", "random_bits", "stream_state"]



def default_rng(seed: int | None | np.random.Generator = None) -> np.random.Generator:
    """A host NumPy generator: ``seed`` may be an int, None (fresh entropy) or a Generator (returned as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
    return np.random.default_rng(seed)


def normal(
    rng: np.random.Generator, shape: tuple[int, ...], *, scale: float = 1.0, backend: Backend, dtype: Any = "float64"
) -> Any:
    """``scale`` times standard-normal draws of ``shape``, drawn in float64 on the host.

    The same generator state gives bit-identical float64 values on every backend; float32
    values are the correctly rounded float64 ones.
    """
    host = rng.standard_normal(shape) * scale
    return backend.asarray(host, dtype=dtype)


def batch_indices(rng: np.random.Generator, n: int, batch_size: int) -> np.ndarray:
    """``batch_size`` indices drawn uniformly from ``range(n)`` with replacement, shape (batch_size,), int64.

    Like the book's ``np.random.choice(train_size, batch_size)``.
    """
    return rng.integers(0, n, size=batch_size, dtype=np.int64)


# --- counter-based random bits: the same on every backend, and inside a compiled step -------------
_M32 = 0xFFFFFFFF
#: Bits of each draw that :func:`random_bits` returns (exact in float32 and float64).
BITS = 24


def index_dtype(xp: Any) -> Any:
    """The integer dtype random bits are computed in: int64 where it is the default integer, else uint32 (JAX without 64-bit mode).

    Every step keeps values below 2**48 and masks them to 32 bits, so both give the same bits.
    """
    info = xp.__array_namespace_info__()
    default = info.default_dtypes()["integral"]
    return xp.int64 if default == xp.int64 else xp.uint32


def _wrap32(x: Any) -> Any:
    """``x mod 2**32`` for ``x`` below 2**49: a mask in int64; uint32 arithmetic wraps by itself (and JAX without its 64-bit
    mode cannot hold the mask, 2**32 - 1, as a constant)."""
    return x if dtype_name(x.dtype) == "uint32" else x & _M32


def _mul32(x: Any, c: int) -> Any:
    """``(x * c) mod 2**32`` for ``x`` below 2**32, without a product beyond 2**48 (int64 and uint32 alike)."""
    lo, hi = c & 0xFFFF, c >> 16
    return _wrap32(x * lo + (((x * hi) & 0xFFFF) << 16))


def _mix32(x: Any) -> Any:
    """A 32-bit integer hash (Wellons' lowbias32): a bijection of 0..2**32-1 whose every output bit depends on every input bit."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def stream_state(seed: int, xp: Any, device: Any) -> Any:
    """The state of a random stream: ``[key, counter]`` (shape (2,), :func:`index_dtype`), counter 0.

    ``key`` is a 32-bit key derived from ``seed`` on the host (NumPy's SeedSequence).
    """
    key = int(np.random.SeedSequence([int(seed), 3]).generate_state(1, np.uint32)[0])
    return xp.asarray([key, 0], dtype=index_dtype(xp), device=device)


def random_bits(xp: Any, state: Any, shape: tuple[int, ...], device: Any) -> tuple[Any, Any]:
    """``(bits, next_state)``: uniform integers in ``0..2**24-1`` of ``shape`` for stream ``state`` (see :func:`stream_state`).

    Counter-based: the bits depend only on the key, the counter and each element's index, so the
    same state gives bit-identical draws on every backend, and a compiled step (``jax.jit``) that
    carries the state draws new bits at every step. Element ``i`` of draw ``c`` is
    ``mix(mix(i + mix(key ^ mix(c))) ^ key) >> 8``.
    """
    dt = state.dtype
    key, counter = state[0], state[1]
    base = _mix32(key ^ _mix32(counter))
    n = 1
    for s in shape:
        n *= int(s)
    idx = xp.arange(n, dtype=dt, device=device)
    bits = _mix32(_mix32(_wrap32(idx + base)) ^ key) >> (32 - BITS)
    nxt = xp.stack([key, _wrap32(counter + 1)])
    return xp.reshape(bits, shape), nxt
