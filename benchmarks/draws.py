"""Host random draws the chapter 6 and 7 references share with xpnet, so that all start from the same weights and see
the same batches (their first losses then agree, which the benchmark reports and the tests check).

* Weights: ``numpy.random.default_rng(seed)``, standard normals in float64 drawn in the networks' key
  order (``W1``, ``W2``, ...; biases zero, Batch Normalization's ``gamma`` one and ``beta`` zero),
  each times its scale: what xpnet's networks draw for ``seed=seed``.
* Batches: ``numpy.random.default_rng([seed, 1])``, one ``integers(0, n, size=(100, batch))`` call per
  block of 100 steps: what ``xpnet.Trainer(seed=seed)`` draws.

Host NumPy only; nothing here imports xpnet.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping

import numpy as np

__all__ = ["BLOCK", "batch_blocks", "convnet", "convnet_shapes", "he_mlp", "mlp_shapes", "normal_weights", "take_steps"]

BLOCK = 100  # steps per draw of batch indices


def batch_blocks(seed: int, n: int, batch: int) -> Iterator[np.ndarray]:
    """Batch indices, ``(BLOCK, batch)`` int64 rows in [0, n), one block after another, forever."""
    rng = np.random.default_rng([seed, 1])
    while True:
        yield rng.integers(0, n, size=(BLOCK, batch))


def take_steps(seed: int, n: int, batch: int) -> Generator[np.ndarray, int, None]:
    """A generator of batch indices that answers ``.send(k)`` with the next ``k`` steps' rows, (k, batch) int64 (the
    same rows as :func:`batch_blocks`, regrouped); prime it with ``next()``."""
    blocks, left = batch_blocks(seed, n, batch), np.empty((0, batch), np.int64)
    k = yield left
    while True:
        while len(left) < k:
            left = np.concatenate([left, next(blocks)])
        out, left = left[:k], left[k:]
        k = yield out


def normal_weights(seed: int, shapes: Mapping[str, tuple[int, ...]], scales: Mapping[str, float]) -> dict[str, np.ndarray]:
    """float64 arrays of ``shapes`` (in their order): ``scales[key]`` times standard normals for each key in ``scales``,
    ones for ``gamma*`` keys, zeros for the others."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, shape in shapes.items():
        if key in scales:
            out[key] = scales[key] * rng.standard_normal(shape)
        else:
            out[key] = np.ones(shape) if key.startswith("gamma") else np.zeros(shape)
    return out


def mlp_shapes(input_size: int, hidden: list[int], output_size: int, batchnorm: bool) -> dict[str, tuple[int, ...]]:
    """``W1`` (input, hidden1), ``b1`` ... ``W{N+1}``, ``b{N+1}``, then ``gamma{i}``, ``beta{i}`` with Batch Normalization."""
    sizes = [input_size, *hidden, output_size]
    shapes: dict[str, tuple[int, ...]] = {}
    for i in range(1, len(sizes)):
        shapes[f"W{i}"], shapes[f"b{i}"] = (sizes[i - 1], sizes[i]), (sizes[i],)
    if batchnorm:
        for i, width in enumerate(hidden, start=1):
            shapes[f"gamma{i}"], shapes[f"beta{i}"] = (width,), (width,)
    return shapes


def he_mlp(seed: int, input_size: int, hidden: list[int], output_size: int, batchnorm: bool) -> dict[str, np.ndarray]:
    """The chapter 6 network's initial parameters: He's scale ``sqrt(2 / fan_in)`` for every weight matrix."""
    shapes = mlp_shapes(input_size, hidden, output_size, batchnorm)
    scales = {k: float(np.sqrt(2.0 / s[0])) for k, s in shapes.items() if k.startswith("W")}
    return normal_weights(seed, shapes, scales)


def convnet_shapes(filters: int = 30, size: int = 5, hidden: int = 100, output_size: int = 10) -> dict[str, tuple[int, ...]]:
    """Chapter 7's SimpleConvNet on 1x28x28 images: ``W1`` (FN, 1, FS, FS) ... ``b3``; 2x2 pooling after the convolution."""
    pooled = filters * ((28 - size + 1) // 2) ** 2
    return {"W1": (filters, 1, size, size), "b1": (filters,), "W2": (pooled, hidden), "b2": (hidden,),
            "W3": (hidden, output_size), "b3": (output_size,)}


def convnet(seed: int, std: float = 0.01) -> dict[str, np.ndarray]:
    """The chapter 7 network's initial parameters: ``std`` times standard normals for ``W1``-``W3``, zero biases."""
    shapes = convnet_shapes()
    return normal_weights(seed, shapes, {k: std for k in shapes if k.startswith("W")})
