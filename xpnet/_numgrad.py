"""Batched numerical gradients of a layered network: many perturbed networks per forward pass.

Perturbing one weight ``W[i, j]`` of an Affine layer by ``±h`` changes its output only in
column ``j``, by ``±h * x[:, i]``; a bias ``b[j]`` changes column ``j`` by ``±h``. So the
perturbed outputs of a whole chunk of elements are one broadcast expression, and the rest
of the network runs once on a stack of shape (P, N, M). The result is the element-by-element
central difference (the book's definition) up to float rounding (~1e-12 in float64).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _compat
from .functions import sigmoid
from .gradient import numerical_gradient
from .layers import Affine, Relu, Sigmoid

Array = Any

#: Upper bound on the elements of one (P, N, width) stack.
_STACK_ELEMENTS = 1 << 22


def _apply(layer: Any, a: Array, params: Mapping[str, Array], xp: Any) -> Array:
    """Functional forward of one layer on an array with any leading axes (no layer state touched)."""
    if isinstance(layer, Affine):
        w_key, b_key = layer.keys
        return a @ params[w_key] + params[b_key]
    if isinstance(layer, Relu):
        return xp.maximum(a, 0.0)
    if isinstance(layer, Sigmoid):
        return sigmoid(a)
    raise TypeError(f"numerical gradient: unsupported layer {layer!r}")


def scores_with(net: Any, x: Array, overrides: Mapping[str, Array]) -> Array:
    """Scores of ``net`` on ``x`` with some parameters replaced (``net`` itself is untouched)."""
    xp = _compat.namespace(x)
    params = {**dict(net.params), **overrides}
    a = x
    for layer in net.layers.values():
        a = _apply(layer, a, params, xp)
    return a


def batched_numerical_gradient(net: Any, x: Array, onehot: Array, h: float) -> dict[str, Array]:
    """Central-difference gradients of ``net``'s loss for every parameter.

    Parameters
    ----------
    net : TwoLayerNet (layers of Affine / Relu / Sigmoid)
    x : array, shape (N, D), the network's dtype
    onehot : array, shape (N, K), one-hot targets
    h : float
    """
    xp = _compat.namespace(x)
    params = dict(net.params)
    layers = list(net.layers.values())
    acts = [x]
    for layer in layers:
        acts.append(_apply(layer, acts[-1], params, xp))
    widest = max(int(a.shape[-1]) for a in acts)
    chunk = max(1, _STACK_ELEMENTS // (int(x.shape[0]) * widest))
    grads = {}
    for pos, layer in enumerate(layers):
        if not isinstance(layer, Affine):
            continue
        rest = layers[pos + 1 :]
        w_key, b_key = layer.keys
        a_in, a_out = acts[pos], acts[pos + 1]
        for key, is_weight in ((w_key, True), (b_key, False)):
            grads[key] = _param_gradient(xp, net, rest, params, a_in, a_out, onehot, is_weight, h, chunk)
    return {k: grads[k] for k in net.params}


def _param_gradient(
    xp: Any, net: Any, rest: list, params: dict, a_in: Array, a_out: Array, onehot: Array, is_weight: bool, h: float, chunk: int
) -> Array:
    dev = _compat.device(a_out)
    m = int(a_out.shape[-1])
    d = int(a_in.shape[-1])
    count = d * m if is_weight else m
    cols = xp.arange(m, device=dev)
    parts = []
    for start in range(0, count, chunk):
        idx = xp.arange(start, min(start + chunk, count), device=dev)
        j = idx % m
        e_j = xp.astype(j[:, None] == cols, a_out.dtype)[:, None, :]  # (P, 1, M)
        if is_weight:
            x_i = xp.take(a_in, idx // m, axis=1).T[:, :, None]  # (P, N, 1)
            delta = x_i * e_j
        else:
            delta = e_j
        losses = []
        for sign in (h, -h):
            a = a_out + sign * delta
            for layer in rest:
                a = _apply(layer, a, params, xp)
            losses.append(stacked_loss(a, onehot))
        parts.append((losses[0] - losses[1]) / (2 * h))
    flat = xp.concat(parts) if len(parts) > 1 else parts[0]
    shape = (d, m) if is_weight else (m,)
    return xp.reshape(flat, shape)


def stacked_loss(scores: Array, onehot: Array) -> Array:
    """Softmax cross-entropy of ``scores`` (..., N, K) against one-hot ``onehot`` (N, K), mean over N."""
    xp = _compat.namespace(scores)
    shifted = scores - xp.max(scores, axis=-1, keepdims=True)
    log_y = shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))
    n = int(onehot.shape[0])
    return -xp.sum(xp.sum(onehot * log_y, axis=-1), axis=-1) / n


def loop_numerical_gradient(net: Any, x: Array, onehot: Array, h: float) -> dict[str, Array]:
    """The book's definition: one parameter element at a time (:func:`xpnet.numerical_gradient`)."""
    grads = {}
    for key in net.params:
        def f(value: Array, key: str = key) -> Array:
            return stacked_loss(scores_with(net, x, {key: value}), onehot)
        grads[key] = numerical_gradient(f, net.params[key], h)
    return grads
