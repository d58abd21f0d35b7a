"""Dropout (chapter 6.4.3): during training each unit is kept with probability ``1 - dropout_ratio``."""

from __future__ import annotations

import math
import secrets
from collections.abc import MutableMapping
from typing import Any

from .._array import compat
from .._array.checks import float_input, require_dout
from .._array.numbers import require_finite_number, require_seed
from .._array.ops import ops_for
from .._array.random import BITS, random_bits, stream_state
from ._contract import require_forward

__all__ = ["Dropout"]

Array = Any


class Dropout:
    """The book's Dropout: ``forward(x, train_flg=True)`` keeps each entry where a uniform draw exceeds ``dropout_ratio``
    and zeroes the rest; at test time (``train_flg=False``) it scales by ``1 - dropout_ratio``.

    Parameters
    ----------
    dropout_ratio : float
        Probability that a unit is dropped, in [0, 1).
    seed : int, optional
        Seed of the layer's own random stream (used when ``state`` is not given); None draws
        one, kept in :attr:`seed`.
    state, key : optional
        A network passes its own state mapping and the key of its random stream there, so the
        stream is checkpointed and carried through a compiled step with the parameters.

    Notes
    -----
    The book draws ``np.random.rand(*x.shape) > dropout_ratio`` from NumPy's global generator.
    Here the draws come from a counter-based stream (:func:`xpnet._array.random.random_bits`):
    24-bit uniform integers ``u`` from the stream's key, its counter and each element's index,
    and the mask is ``u / 2**24 > dropout_ratio``. The same seed gives bit-identical masks on
    every backend and device, every draw advances the counter (a compiled step draws new masks
    at every step), and ``np.random.seed`` has no effect on it.

    Attributes
    ----------
    mask : array of bool, the last training input's shape
        True where the unit was kept.
    """

    takes_train_flg = True

    def __init__(self, dropout_ratio: float = 0.5, *, seed: int | None = None,
                 state: MutableMapping[str, Array] | None = None, key: str = "rng", name: str = "Dropout") -> None:
        ratio = require_finite_number(dropout_ratio, name, "dropout_ratio", non_negative=True)
        if ratio >= 1.0:
            raise ValueError(f"{name}: dropout_ratio must be in [0, 1), got {dropout_ratio!r}")
        self.dropout_ratio, self.name, self._key = ratio, name, key
        self.seed = require_seed(seed, name) if state is None else None
        if state is None:
            self.seed = secrets.randbits(31) if self.seed is None else self.seed
            state = {key: None}  # made on the first forward, on the input's backend and device
        self._state = state
        #: Draws at or below this 24-bit integer are dropped: ``u > threshold`` is ``u / 2**24 > dropout_ratio``.
        self._threshold = math.floor(ratio * 2**BITS)
        self.mask: Array = None

    def forward(self, x: Array, train_flg: bool = True) -> Array:
        """``x`` : array, any shape, real floating. Returns ``x`` masked (training) or scaled by ``1 - dropout_ratio``."""
        xp = float_input(x, f"{self.name}.forward")
        if not train_flg:
            return x * (1.0 - self.dropout_ratio)
        self.mask = self._draw(xp, x) > self._threshold
        return ops_for(xp).masked(x, self.mask)

    def _draw(self, xp: Any, x: Array) -> Array:
        """Uniform 24-bit integers of ``x``'s shape from the stream, which moves on by one draw."""
        state = self._state[self._key]
        if state is None:
            state = stream_state(self.seed or 0, xp, compat.device(x))
        bits, self._state[self._key] = random_bits(xp, state, tuple(x.shape), compat.device(x))
        return bits

    def backward(self, dout: Array) -> Array:
        """``dout`` : floating array of the training input's shape. Returns ``dout`` where the unit was kept, else 0."""
        require_forward(self, self.mask)
        xp = require_dout(dout, self.mask, tuple(self.mask.shape), f"{self.name}.backward")
        return ops_for(xp).masked(dout, self.mask)

    def __repr__(self) -> str:
        return f"{self.name}(dropout_ratio={self.dropout_ratio})"
