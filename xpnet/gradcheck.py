"""Gradient check: backprop against central differences, in float64 (chapter 5.7.3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._array.registry import to_numpy

__all__ = ["GradientCheckResult", "gradient_check"]


@dataclass(frozen=True)
class GradientCheckResult:
    """Per-parameter agreement of backprop and numerical gradients.

    Attributes
    ----------
    mean_abs_diff : dict of str to float
        ``mean(|backprop - numerical|)``, the figure the book prints (W1 4e-10, b1 2.5e-9, ...).
    max_rel_error : dict of str to float
        ``max(|a - b| / max(|a| + |b|, 1e-12))`` over the elements: near 0 when they agree.
    """

    mean_abs_diff: dict[str, float]
    max_rel_error: dict[str, float]

    def worst(self) -> float:
        """The largest mean absolute difference over the parameters."""
        return max(self.mean_abs_diff.values())

    def __str__(self) -> str:
        return "\n".join(
            f"{k}: mean |diff| {self.mean_abs_diff[k]:.3e}, max rel err {self.max_rel_error[k]:.3e}"
            for k in self.mean_abs_diff
        )


def gradient_check(network: Any, x: Any, t: Any, *, method: str = "batched", h: float = 1e-4) -> GradientCheckResult:
    """Compare ``network.gradient`` with ``network.numerical_gradient`` on ``(x, t)``.

    Runs on a float64 copy of ``network`` on its own backend and device whatever the
    network's dtype (float32 central differences are too coarse to judge anything).

    Parameters
    ----------
    network : TwoLayerNet, MultiLayerNet, MultiLayerNetExtend or SimpleConvNet (any LayerNet)
    x : array, shape (N, input_size) or (N, *sample_shape), real floating
    t : array, labels (N,) or one-hot (N, output_size)
    method : {"batched", "loop", "auto"}
        How the numerical gradient is evaluated (see ``LayerNet.numerical_gradient``; ``"batched"``
        needs row-wise layers after every parameter, ``"auto"`` batches where it can).
    h : float
        Step of the central differences (the book's 1e-4). A smaller one (1e-7 in float64) keeps
        the steps off the kinks of ReLU and max pooling where pre-activations are tiny (the
        chapter 7 network with weights of std 0.01).
    """
    net64 = network.to(dtype="float64")
    xp = net64.backend.xp
    x64 = xp.astype(x, xp.float64) if x.dtype != xp.float64 else x
    numerical = net64.numerical_gradient(x64, t, method=method, h=h)
    backprop = net64.gradient(x64, t)
    mean_abs, max_rel = {}, {}
    for key in numerical:
        diff = xp.abs(backprop[key] - numerical[key])
        scale = xp.abs(backprop[key]) + xp.abs(numerical[key])
        rel = diff / xp.where(scale > 1e-12, scale, 1e-12)
        mean_abs[key] = float(to_numpy(xp.mean(diff)))
        max_rel[key] = float(to_numpy(xp.max(rel)))
    return GradientCheckResult(mean_abs, max_rel)
