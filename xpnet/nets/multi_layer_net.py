"""The book's chapter 6 networks: ``MultiLayerNet`` and ``MultiLayerNetExtend`` (weight decay, Dropout, Batch Normalization)."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._array.checks import describe
from .._array.numbers import require_finite_number, require_positive_int
from .._array.registry import dtype_name
from ..layers import Affine, BatchNormalization, Dropout
from .base import LayerNet
from .two_layer_net import ACTIVATIONS, check_activation

__all__ = ["INIT_NAMES", "MultiLayerNet", "MultiLayerNetExtend", "initial_scale"]

#: ``weight_init_std`` names and the scale they give a layer with ``n`` inputs.
_NAMED_SCALES = {"relu": 2.0, "he": 2.0, "sigmoid": 1.0, "xavier": 1.0}
#: The names ``weight_init_std`` takes: He's initialisation (``relu``, ``he``) and Xavier's (``sigmoid``, ``xavier``).
INIT_NAMES = tuple(_NAMED_SCALES)


def initial_scale(weight_init_std: float | str, fan_in: int) -> float:
    """The standard deviation of a layer's initial weights: He's ``sqrt(2 / n)`` for ``"relu"``/``"he"``, Xavier's
    ``sqrt(1 / n)`` for ``"sigmoid"``/``"xavier"`` (``n`` inputs), or the number given (the book's ``__init_weight``)."""
    if isinstance(weight_init_std, str):
        return math.sqrt(_NAMED_SCALES[weight_init_std.lower()] / fan_in)
    return float(weight_init_std)


def _check_init(weight_init_std: Any, where: str) -> float | str:
    if isinstance(weight_init_std, str):
        if weight_init_std.lower() not in _NAMED_SCALES:
            raise ValueError(f"{where}: weight_init_std must be a number or one of {sorted(_NAMED_SCALES)}, got {weight_init_std!r}")
        return weight_init_std
    return require_finite_number(weight_init_std, where, "weight_init_std")


def _check_sizes(hidden_size_list: Any, where: str) -> list[int]:
    if isinstance(hidden_size_list, (str, bytes)) or not isinstance(hidden_size_list, Sequence):
        raise TypeError(f"{where}: hidden_size_list must be a list of positive ints (e.g. [100, 100, 100]), "
                        f"got {describe(hidden_size_list)}")
    return [require_positive_int(n, where, f"hidden_size_list[{i}]") for i, n in enumerate(hidden_size_list)]


class MultiLayerNet(LayerNet):
    """The book's fully connected network of any depth: (Affine - activation) x N, Affine, SoftmaxWithLoss.

    Parameters
    ----------
    input_size, output_size : int
        784 and 10 for MNIST.
    hidden_size_list : list of int
        Widths of the hidden layers, e.g. ``[100, 100, 100]``.
    activation : {"relu", "sigmoid"}
    weight_init_std : float or {"relu", "he", "sigmoid", "xavier"}
        A number, He's initialisation (``"relu"``/``"he"``: ``sqrt(2 / n)``) or Xavier's
        (``"sigmoid"``/``"xavier"``: ``sqrt(1 / n)``), ``n`` the layer's inputs.
    weight_decay_lambda : float
        L2 penalty ``0.5 * lambda * sum(W**2)`` on every weight matrix (0: none).
    backend, device, dtype, seed, params, buffers
        As for :class:`~xpnet.nets.TwoLayerNet`. The same seed gives bit-identical float64
        initial weights on every backend.

    Attributes
    ----------
    params : Params
        ``W1``, ``b1`` ... ``W{N+1}``, ``b{N+1}`` (the book's keys).
    layers : OrderedDict
        ``Affine1``, ``Activation_function1``, ..., ``Affine{N+1}`` (the book's names).
    hidden_layer_num : int
    """

    def __init__(
        self, input_size: int, hidden_size_list: Sequence[int], output_size: int, activation: str = "relu",
        weight_init_std: float | str = "relu", weight_decay_lambda: float = 0, *, backend: Any = "numpy",
        device: Any = None, dtype: Any = "float64", seed: int | None = None, params: Mapping[str, Any] | None = None,
        buffers: Mapping[str, Any] | None = None,
    ) -> None:
        where = type(self).__name__
        self._input_size = require_positive_int(input_size, where, "input_size")
        self.hidden_size_list = _check_sizes(hidden_size_list, where)
        self.hidden_layer_num = len(self.hidden_size_list)
        output_size = require_positive_int(output_size, where, "output_size")
        self.activation = check_activation(activation, where)
        self.weight_init_std = _check_init(weight_init_std, where)
        self._setup(backend=backend, device=device, dtype=dtype, seed=seed, params=params, buffers=buffers,
                    sample_shape=(self._input_size,), output_size=output_size, weight_decay_lambda=weight_decay_lambda)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor's arguments as plain Python values (for checkpoints and :meth:`to`)."""
        return {
            "input_size": self._input_size, "hidden_size_list": list(self.hidden_size_list), "output_size": self.output_size,
            "activation": self.activation, "weight_init_std": self.weight_init_std,
            "weight_decay_lambda": self.weight_decay_lambda, "dtype": dtype_name(self.dtype),
        }

    @classmethod
    def _sizes(cls, config: Mapping[str, Any]) -> list[int]:
        return [int(config["input_size"]), *(int(n) for n in config["hidden_size_list"]), int(config["output_size"])]

    @classmethod
    def shapes(cls, config: Mapping[str, Any]) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        """``W1`` (input, hidden1), ``b1`` ... ``W{N+1}`` (hiddenN, output), ``b{N+1}``; no buffers."""
        sizes = cls._sizes(config)
        params: dict[str, tuple[int, ...]] = {}
        for idx in range(1, len(sizes)):
            params[f"W{idx}"], params[f"b{idx}"] = (sizes[idx - 1], sizes[idx]), (sizes[idx],)
        return params, {}

    def _initial_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The book's ``__init_weight``: scaled standard-normal weights (float64 draws, in key order), zero biases."""
        sizes, out = self._sizes(self.config), {}
        for idx in range(1, len(sizes)):
            scale = initial_scale(self.weight_init_std, sizes[idx - 1])
            out[f"W{idx}"] = scale * rng.standard_normal((sizes[idx - 1], sizes[idx]))
            out[f"b{idx}"] = np.zeros(sizes[idx])
        return out

    def _hidden_layers(self, idx: int, layers: OrderedDict[str, Any]) -> None:
        """The layers after ``Affine{idx}`` in hidden block ``idx``: the activation."""
        layers[f"Activation_function{idx}"] = ACTIVATIONS[self.activation]()

    def _build_layers(self) -> OrderedDict[str, Any]:
        layers: OrderedDict[str, Any] = OrderedDict()
        for idx in range(1, self.hidden_layer_num + 2):
            layers[f"Affine{idx}"] = Affine(params=self._params, keys=(f"W{idx}", f"b{idx}"), name=f"Affine{idx}")
            if idx <= self.hidden_layer_num:
                self._hidden_layers(idx, layers)
        return layers


class MultiLayerNetExtend(MultiLayerNet):
    """:class:`MultiLayerNet` with the book's extensions: Batch Normalization and Dropout in each hidden block.

    Each hidden block is ``Affine{i}``, ``BatchNorm{i}`` (with ``use_batchnorm``),
    ``Activation_function{i}``, ``Dropout{i}`` (with ``use_dropout``), as in the book.

    Parameters
    ----------
    use_dropout : bool
    dropout_ration : float
        The Dropout ratio (the book's spelling; ``dropout_ratio=`` is accepted too).
    use_batchnorm : bool
    (the others as :class:`MultiLayerNet`)

    Attributes
    ----------
    params : Params
        ``W1``, ``b1`` ... ``W{N+1}``, ``b{N+1}``, then ``gamma1``, ``beta1`` ... ``gammaN``, ``betaN``
        with Batch Normalization.
    buffers : Params
        ``running_mean{i}`` and ``running_var{i}`` with Batch Normalization; ``rng`` (the random
        stream every Dropout layer draws from, seeded by ``seed``) with Dropout.
    """

    def __init__(
        self, input_size: int, hidden_size_list: Sequence[int], output_size: int, activation: str = "relu",
        weight_init_std: float | str = "relu", weight_decay_lambda: float = 0, use_dropout: bool = False,
        dropout_ration: float = 0.5, use_batchnorm: bool = False, *, dropout_ratio: float | None = None,
        backend: Any = "numpy", device: Any = None, dtype: Any = "float64", seed: int | None = None,
        params: Mapping[str, Any] | None = None, buffers: Mapping[str, Any] | None = None,
    ) -> None:
        self.use_dropout, self.use_batchnorm = bool(use_dropout), bool(use_batchnorm)
        ratio = dropout_ration if dropout_ratio is None else dropout_ratio
        self.dropout_ratio = require_finite_number(ratio, type(self).__name__, "dropout_ration", non_negative=True)
        super().__init__(input_size, hidden_size_list, output_size, activation, weight_init_std, weight_decay_lambda,
                         backend=backend, device=device, dtype=dtype, seed=seed, params=params, buffers=buffers)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor's arguments as plain Python values (for checkpoints and :meth:`to`)."""
        return {**super().config, "use_dropout": self.use_dropout, "dropout_ration": self.dropout_ratio,
                "use_batchnorm": self.use_batchnorm}

    @classmethod
    def shapes(cls, config: Mapping[str, Any]) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        """:class:`MultiLayerNet`'s, then ``gamma{i}``, ``beta{i}`` and ``running_mean{i}``, ``running_var{i}`` (D,) with
        Batch Normalization, and ``rng`` (2,) with Dropout."""
        params, buffers = super().shapes(config)
        if config.get("use_batchnorm"):
            for idx, width in enumerate(config["hidden_size_list"], start=1):
                params[f"gamma{idx}"], params[f"beta{idx}"] = (int(width),), (int(width),)
                buffers[f"running_mean{idx}"], buffers[f"running_var{idx}"] = (int(width),), (int(width),)
        if config.get("use_dropout"):
            buffers["rng"] = (2,)
        return params, buffers

    def _initial_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """:class:`MultiLayerNet`'s weights and biases, then ``gamma`` ones and ``beta`` zeros (the book's order)."""
        out = super()._initial_params(rng)
        if self.use_batchnorm:
            for idx, width in enumerate(self.hidden_size_list, start=1):
                out[f"gamma{idx}"], out[f"beta{idx}"] = np.ones(width), np.zeros(width)
        return out

    def _hidden_layers(self, idx: int, layers: OrderedDict[str, Any]) -> None:
        if self.use_batchnorm:
            layers[f"BatchNorm{idx}"] = BatchNormalization(
                params=self._params, keys=(f"gamma{idx}", f"beta{idx}"), state=self._buffers,
                state_keys=(f"running_mean{idx}", f"running_var{idx}"), name=f"BatchNorm{idx}")
        super()._hidden_layers(idx, layers)
        if self.use_dropout:
            layers[f"Dropout{idx}"] = Dropout(self.dropout_ratio, state=self._buffers, key="rng", name=f"Dropout{idx}")
