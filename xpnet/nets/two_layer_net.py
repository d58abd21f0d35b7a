"""The book's ``TwoLayerNet`` (chapters 4 and 5): Affine - activation - Affine - SoftmaxWithLoss."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._array.checks import describe
from .._array.numbers import require_finite_number, require_positive_int
from .._array.registry import dtype_name
from ..layers import Affine, Relu, Sigmoid
from .base import LayerNet

__all__ = ["ACTIVATIONS", "TwoLayerNet"]

ACTIVATIONS = {"relu": Relu, "sigmoid": Sigmoid}


def check_activation(activation: Any, where: str) -> str:
    """``activation`` when it is ``"relu"`` or ``"sigmoid"``: TypeError or ValueError naming the choices."""
    if not isinstance(activation, str):
        raise TypeError(f"{where}: activation must be one of {sorted(ACTIVATIONS)}, got {describe(activation)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"{where}: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    return activation


class TwoLayerNet(LayerNet):
    """Affine - activation - Affine - SoftmaxWithLoss, the book's two-layer network.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        Layer widths (784, 50, 10 for MNIST).
    weight_init_std : float
        Scale of the normal initial weights; biases start at zero.
    activation : {"relu", "sigmoid"}
        ``"sigmoid"`` is chapter 4's network, ``"relu"`` chapter 5's.
    backend, device : optional
        Where the parameters live (see :func:`xpnet.backends.get_backend`).
    dtype : {"float32", "float64"}
        Parameter dtype; inputs of another floating dtype are converted to it.
    seed : int, optional
        Seed of the host generator that draws the initial weights: the same seed gives
        bit-identical float64 weights on every backend. None draws one, kept in :attr:`seed`.
    weight_decay_lambda : float
        L2 penalty on ``W1`` and ``W2`` (0: none, as in the book).
    params : mapping, optional
        Initial parameters (arrays of any backend, or nested lists) instead of random ones.

    Attributes
    ----------
    params : Params
        ``W1`` (input, hidden), ``b1`` (hidden,), ``W2`` (hidden, output), ``b2`` (output,).
    layers : OrderedDict
        ``Affine1``, ``Relu1`` or ``Sigmoid1``, ``Affine2``.
    last_layer : SoftmaxWithLoss
    seed : int or None
        The seed of the initial weights, also when drawn at random (None when ``params`` were given).
    """

    def __init__(
        self, input_size: int, hidden_size: int, output_size: int, weight_init_std: float = 0.01, *,
        activation: str = "relu", backend: Any = "numpy", device: Any = None, dtype: Any = "float64",
        seed: int | None = None, weight_decay_lambda: float = 0.0, params: Mapping[str, Any] | None = None,
        buffers: Mapping[str, Any] | None = None,
    ) -> None:
        self._input_size = require_positive_int(input_size, "TwoLayerNet", "input_size")
        self.hidden_size = require_positive_int(hidden_size, "TwoLayerNet", "hidden_size")
        output_size = require_positive_int(output_size, "TwoLayerNet", "output_size")
        self.activation = check_activation(activation, "TwoLayerNet")
        self.weight_init_std = require_finite_number(weight_init_std, "TwoLayerNet", "weight_init_std")
        self._setup(backend=backend, device=device, dtype=dtype, seed=seed, params=params, buffers=buffers,
                    sample_shape=(self._input_size,), output_size=output_size, weight_decay_lambda=weight_decay_lambda)

    @property
    def config(self) -> dict[str, Any]:
        """Architecture and dtype as plain Python values (for checkpoints)."""
        out = {
            "input_size": self._input_size, "hidden_size": self.hidden_size, "output_size": self.output_size,
            "weight_init_std": self.weight_init_std, "activation": self.activation,
            "dtype": dtype_name(self.dtype),
        }
        if self.weight_decay_lambda:
            out["weight_decay_lambda"] = self.weight_decay_lambda
        return out

    @classmethod
    def shapes(cls, config: Mapping[str, Any]) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        """``W1`` (input, hidden), ``b1``, ``W2`` (hidden, output), ``b2``; no buffers."""
        i, h, o = int(config["input_size"]), int(config["hidden_size"]), int(config["output_size"])
        return {"W1": (i, h), "b1": (h,), "W2": (h, o), "b2": (o,)}, {}

    def _initial_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The book's initialisation: ``weight_init_std`` times standard-normal weights (float64 draws), zero biases."""
        shapes, _ = self.shapes(self.config)
        return {key: rng.standard_normal(shape) * self.weight_init_std if key.startswith("W") else np.zeros(shape)
                for key, shape in shapes.items()}

    def _build_layers(self) -> OrderedDict[str, Any]:
        layers: OrderedDict[str, Any] = OrderedDict()
        layers["Affine1"] = Affine(params=self._params, keys=("W1", "b1"), name="Affine1")
        layers[f"{self.activation.capitalize()}1"] = ACTIVATIONS[self.activation]()
        layers["Affine2"] = Affine(params=self._params, keys=("W2", "b2"), name="Affine2")
        return layers

    def with_params(self, params: Mapping[str, Any]) -> "TwoLayerNet":
        """A network of the same architecture whose parameters are ``params`` (arrays shared, not copied)."""
        net = self.bind(params)
        assert isinstance(net, TwoLayerNet)
        return net
