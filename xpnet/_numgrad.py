"""Batched numerical gradients of a layered network: many perturbed networks per forward pass.

Perturbing one weight ``W[i, j]`` of an Affine layer by ``±h`` changes its output only in
column ``j``, by ``±h * x[:, i]``; a bias ``b[j]`` changes column ``j`` by ``±h``. So the
perturbed outputs of a whole chunk of elements are one broadcast expression, and the rest
of the network runs once on a stack of shape (P, N, M). The result is the element-by-element
central difference (the book's definition) up to float rounding (~1e-12 in float64).
"""

from __future__ import annotations

from typing import Any

from ._array import compat
from .functions import softmax_cross_entropy
from .gradient import numerical_gradient
from .layers import Affine

Array = Any

#: Upper bound on the elements of one (P, N, width) stack.
_STACK_ELEMENTS = 1 << 22


def mean_losses(scores: Array, onehot: Array) -> Array:
    """Softmax cross-entropy of ``scores`` (..., N, K) against one-hot ``onehot`` (N, K), mean over N: shape (...)."""
    return softmax_cross_entropy(scores, onehot)[1]


def _forward_stack(layers: list, a: Array) -> Array:
    """The layers' ``forward`` on a stack (P, N, M) of batches, as one batch of P*N rows."""
    xp = compat.namespace_of(a)
    p, n = int(a.shape[0]), int(a.shape[1])
    a = xp.reshape(a, (p * n, int(a.shape[2])))
    for layer in layers:
        a = layer.forward(a)
    return xp.reshape(a, (p, n, int(a.shape[-1])))


def batched_numerical_gradient(net: Any, x: Array, onehot: Array, h: float) -> dict[str, Array]:
    """Central-difference gradients of ``net``'s loss for every parameter.

    Call inside :func:`xpnet._array.checks.trusted`, on checked inputs.

    Parameters
    ----------
    net : TwoLayerNet (layers of Affine / Relu / Sigmoid)
    x : array, shape (N, D), the network's dtype
    onehot : array, shape (N, K), one-hot targets
    h : float
    """
    xp = compat.namespace_of(x)
    work = net.with_params(dict(net.params))  # layers of its own: net's cached state stays as it was
    layers = list(work.layers.values())
    acts = [x]
    for layer in layers:
        acts.append(layer.forward(acts[-1]))
    widest = max(int(a.shape[-1]) for a in acts)
    chunk = max(1, _STACK_ELEMENTS // (int(x.shape[0]) * widest))
    grads = {}
    for pos, layer in enumerate(layers):
        if not isinstance(layer, Affine):
            continue
        rest = layers[pos + 1 :]
        a_in, a_out = acts[pos], acts[pos + 1]
        for key, is_weight in ((layer.keys[0], True), (layer.keys[1], False)):
            grads[key] = _param_gradient(xp, rest, a_in, a_out, onehot, is_weight, h, chunk)
    return {k: grads[k] for k in net.params}


def _param_gradient(
    xp: Any, rest: list, a_in: Array, a_out: Array, onehot: Array, is_weight: bool, h: float, chunk: int
) -> Array:
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
        losses = [mean_losses(_forward_stack(rest, a_out + sign * delta), onehot) for sign in (h, -h)]
        parts.append((losses[0] - losses[1]) / (2 * h))
    flat = xp.concat(parts) if len(parts) > 1 else parts[0]
    return xp.reshape(flat, (d, m) if is_weight else (m,))


def loop_numerical_gradient(net: Any, x: Array, onehot: Array, h: float) -> dict[str, Array]:
    """The book's definition: one parameter element at a time (:func:`xpnet.numerical_gradient`).

    Call inside :func:`xpnet._array.checks.trusted`, on checked inputs.
    """
    work = net.with_params(dict(net.params))
    grads = {}
    for key in net.params:
        def f(value: Array, key: str = key) -> Array:
            work.params[key] = value
            return mean_losses(work.predict(x), onehot)

        grads[key] = numerical_gradient(f, net.params[key], h)
        work.params[key] = net.params[key]
    return grads
