"""Numerical gradients of a layered network: the book's element-by-element loop, and a batched form for Affine layers.

Perturbing one weight ``W[i, j]`` of an Affine layer by ``±h`` changes its output only in
column ``j``, by ``±h * x[:, i]``; a bias ``b[j]`` changes column ``j`` by ``±h``. When every
layer after it treats each row on its own (Affine, ReLU, Sigmoid), the perturbed outputs of a
whole chunk of elements are one broadcast expression, and the rest of the network runs once on
a stack of shape (P, N, M). The result is the element-by-element central difference (the
book's definition) up to float rounding (~1e-12 in float64). Other parameters (convolutions,
Batch Normalization, layers before one) take the loop.
"""

from __future__ import annotations

import math
from typing import Any

from ._array import compat
from .functions import softmax_cross_entropy
from .gradient import numerical_gradient

Array = Any

#: Upper bound on the elements of one (P, N, width) stack.
_STACK_ELEMENTS = 1 << 22


def mean_losses(scores: Array, onehot: Array) -> Array:
    """Softmax cross-entropy of ``scores`` (..., N, K) against one-hot ``onehot`` (N, K), mean over N: shape (...)."""
    return softmax_cross_entropy(scores, onehot)[1]


def _row_wise(layers: list) -> bool:
    return all(getattr(layer, "row_wise", False) for layer in layers)


def numerical_gradients(net: Any, x: Array, onehot: Array, h: float, method: str) -> dict[str, Array]:
    """Central-difference gradients of ``net``'s training loss for every parameter.

    Call inside :func:`xpnet._array.trust.trusted`, on checked inputs: ``x`` in the network's
    dtype and shape, ``onehot`` (N, K). ``method``: ``"batched"``, ``"loop"`` or ``"auto"``
    (batched where the layers allow it). ``net`` is left as it was.
    """
    start = dict(net.buffers)
    work = net.bind(dict(net.params), start)
    layers = list(work.layers.values())
    acts = [x]
    for layer, takes_flag in work._plan:
        acts.append(layer.forward(acts[-1], True) if takes_flag else layer.forward(acts[-1]))
    widest = max(math.prod(int(s) for s in a.shape[1:]) for a in acts)
    chunk = max(1, _STACK_ELEMENTS // (int(x.shape[0]) * widest))
    grads: dict[str, Array] = {}
    for pos, layer in enumerate(layers):
        keys = list(getattr(layer, "grads", {}))
        if not keys:
            continue
        batched = method != "loop" and getattr(layer, "row_wise", False) and _row_wise(layers[pos + 1:])
        if method == "batched" and not batched:
            raise ValueError(f"{type(net).__name__}.numerical_gradient: method='batched' needs row-wise layers after "
                             f"{layer!r}; use method='loop' or 'auto'")
        for key, is_weight in zip(keys, (True, False)):
            if batched:
                a_in = compat.namespace_of(x).reshape(acts[pos], (int(x.shape[0]), -1))
                grads[key] = _param_gradient(work, pos + 1, a_in, acts[pos + 1], onehot, is_weight, h, chunk)
                if key in work._decayed:
                    grads[key] = grads[key] + _decay_difference(net.params[key], net.weight_decay_lambda, h)
            else:
                grads[key] = _loop(net, work, start, x, onehot, key, h)
    return {k: grads[k] for k in net.params}


def _decay_difference(W: Array, lam: float, h: float) -> Array:
    """The central difference of the weight-decay term ``0.5 * lam * sum(W**2)``, element by element."""
    return 0.5 * lam * ((W + h) ** 2 - (W - h) ** 2) / (2 * h)


def _loop(net: Any, work: Any, start: dict[str, Array], x: Array, onehot: Array, key: str, h: float) -> Array:
    """The book's definition for ``params[key]``: one element at a time (:func:`xpnet.numerical_gradient`)."""
    def f(value: Array) -> Array:
        work.params[key] = value
        work.buffers.update(start)  # the same batch statistics and Dropout masks for every evaluation
        return work.last_layer.forward(work._forward_from(0, x, True), onehot, validate=False) + _decay(work)

    try:
        return numerical_gradient(f, net.params[key], h)
    finally:
        work.params[key] = net.params[key]


def _decay(net: Any) -> Any:
    if not net._decayed:
        return 0.0
    xp = compat.namespace_of(net.params[net._decayed[0]])
    return 0.5 * net.weight_decay_lambda * sum(xp.sum(net.params[k] ** 2) for k in net._decayed)


def _forward_stack(work: Any, start: int, a: Array) -> Array:
    """The network's forward pass from its ``start``-th layer on a stack (P, N, M) of batches, as one batch of P*N rows."""
    xp = compat.namespace_of(a)
    p, n = int(a.shape[0]), int(a.shape[1])
    out = work._forward_from(start, xp.reshape(a, (p * n, int(a.shape[2]))), True)
    return xp.reshape(out, (p, n, int(out.shape[-1])))


def _param_gradient(work: Any, after: int, a_in: Array, a_out: Array, onehot: Array, is_weight: bool, h: float,
                    chunk: int) -> Array:
    """Batched central differences of the loss for the weights (or biases) of the Affine layer mapping ``a_in`` to ``a_out``
    (the layers from the ``after``-th on follow it)."""
    xp = compat.namespace_of(a_out)
    dev = compat.device(a_out)
    m = int(a_out.shape[-1])
    d = int(a_in.shape[-1])
    count = d * m if is_weight else m
    cols = xp.arange(m, device=dev)
    parts = []
    for start in range(0, count, chunk):
        idx = xp.arange(start, min(start + chunk, count), device=dev)
        e_j = xp.astype((idx % m)[:, None] == cols, a_out.dtype)[:, None, :]  # (P, 1, M)
        delta = xp.take(a_in, idx // m, axis=1).T[:, :, None] * e_j if is_weight else e_j  # (P, N, M) or (P, 1, M)
        losses = [mean_losses(_forward_stack(work, after, a_out + sign * delta), onehot) for sign in (h, -h)]
        parts.append((losses[0] - losses[1]) / (2 * h))
    flat = xp.concat(parts) if len(parts) > 1 else parts[0]
    return xp.reshape(flat, (d, m) if is_weight else (m,))
