"""The book's ``SimpleConvNet`` (chapter 7): conv - ReLU - pool - affine - ReLU - affine - softmax."""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._array.checks import describe
from .._array.numbers import require_finite_number, require_non_negative_int, require_positive_int
from .._array.ops import window_output_size
from .._array.registry import dtype_name, to_numpy
from .._files.params import read_params, write_params
from ..layers import Affine, Convolution, Pooling, Relu
from .base import LayerNet

__all__ = ["SimpleConvNet"]

#: The book's defaults.
CONV_PARAM = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}
#: The pooling layer: 2x2 windows, stride 2.
POOL = 2


def _check_conv_param(conv_param: Any, where: str) -> dict[str, int]:
    if not isinstance(conv_param, Mapping):
        raise TypeError(f"{where}: conv_param must be a dict like {CONV_PARAM}, got {describe(conv_param)}")
    unknown = sorted(set(conv_param) - set(CONV_PARAM))
    if unknown:
        raise ValueError(f"{where}: conv_param has unknown keys {unknown}; it takes {sorted(CONV_PARAM)}")
    out = {**CONV_PARAM, **conv_param}
    for key in ("filter_num", "filter_size", "stride"):
        out[key] = require_positive_int(out[key], where, f"conv_param[{key!r}]")
    out["pad"] = require_non_negative_int(out["pad"], where, "conv_param['pad']")
    return out


class SimpleConvNet(LayerNet):
    """The book's convolutional network: ``Conv1`` - ``Relu1`` - ``Pool1`` - ``Affine1`` - ``Relu2`` - ``Affine2`` - SoftmaxWithLoss.

    Parameters
    ----------
    input_dim : (C, H, W)
        The shape of one image, (1, 28, 28) for MNIST.
    conv_param : dict
        ``filter_num``, ``filter_size``, ``pad`` and ``stride`` of the convolution (the book's keys).
    hidden_size, output_size : int
    weight_init_std : float
        Scale of the normal initial weights (all three layers, as in the book); biases start at zero.
    backend, device, dtype, seed, params, weight_decay_lambda
        As for :class:`~xpnet.nets.TwoLayerNet`.

    Attributes
    ----------
    params : Params
        ``W1`` (FN, C, FS, FS), ``b1`` (FN,), ``W2`` (FN*PH*PW, hidden), ``b2``, ``W3`` (hidden, output), ``b3``,
        PH and PW the pooled height and width.
    layers : OrderedDict
        ``Conv1``, ``Relu1``, ``Pool1``, ``Affine1``, ``Relu2``, ``Affine2`` (the book's names).
    """

    #: A chunk of 1,000 28x28 images holds 576,000 rows of im2col columns (58 MB of float32), not 576 MB.
    eval_batch_size = 1_000

    def __init__(
        self, input_dim: Sequence[int] = (1, 28, 28), conv_param: Mapping[str, int] | None = None, hidden_size: int = 100,
        output_size: int = 10, weight_init_std: float = 0.01, *, backend: Any = "numpy", device: Any = None,
        dtype: Any = "float64", seed: int | None = None, weight_decay_lambda: float = 0.0,
        params: Mapping[str, Any] | None = None, buffers: Mapping[str, Any] | None = None,
    ) -> None:
        where = "SimpleConvNet"
        if isinstance(input_dim, (str, bytes)) or not isinstance(input_dim, Sequence) or len(input_dim) != 3:
            raise TypeError(f"{where}: input_dim must be (C, H, W), e.g. (1, 28, 28), got {describe(input_dim)}")
        self.input_dim = tuple(require_positive_int(n, where, f"input_dim[{i}]") for i, n in enumerate(input_dim))
        self.conv_param = _check_conv_param(CONV_PARAM if conv_param is None else conv_param, where)
        self.hidden_size = require_positive_int(hidden_size, where, "hidden_size")
        output_size = require_positive_int(output_size, where, "output_size")
        self.weight_init_std = require_finite_number(weight_init_std, where, "weight_init_std")
        self._setup(backend=backend, device=device, dtype=dtype, seed=seed, params=params, buffers=buffers,
                    sample_shape=self.input_dim, output_size=output_size, weight_decay_lambda=weight_decay_lambda)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor's arguments as plain Python values (for checkpoints and :meth:`to`)."""
        out = {"input_dim": list(self.input_dim), "conv_param": dict(self.conv_param), "hidden_size": self.hidden_size,
               "output_size": self.output_size, "weight_init_std": self.weight_init_std, "dtype": dtype_name(self.dtype)}
        if self.weight_decay_lambda:
            out["weight_decay_lambda"] = self.weight_decay_lambda
        return out

    @classmethod
    def shapes(cls, config: Mapping[str, Any]) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        """``W1`` (FN, C, FS, FS), ``b1``, ``W2`` (FN * pooled height * pooled width, hidden), ``b2``, ``W3``, ``b3``."""
        c, h, w = (int(n) for n in config["input_dim"])
        p = _check_conv_param(config["conv_param"], cls.__name__)
        fn, fs, stride, pad = p["filter_num"], p["filter_size"], p["stride"], p["pad"]
        oh, ow = window_output_size(h, fs, stride, pad), window_output_size(w, fs, stride, pad)
        if oh < POOL or ow < POOL:
            raise ValueError(f"{cls.__name__}: a {fs}x{fs} filter (stride {stride}, pad {pad}) on {h}x{w} images gives "
                             f"{oh}x{ow} outputs, too small for the {POOL}x{POOL} pooling")
        pooled = fn * window_output_size(oh, POOL, POOL, 0) * window_output_size(ow, POOL, POOL, 0)
        hidden, out = int(config["hidden_size"]), int(config["output_size"])
        return {"W1": (fn, c, fs, fs), "b1": (fn,), "W2": (pooled, hidden), "b2": (hidden,), "W3": (hidden, out),
                "b3": (out,)}, {}

    def _initial_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The book's initialisation: ``weight_init_std`` times standard-normal weights (float64 draws, in key order), zero biases."""
        shapes, _ = self.shapes(self.config)
        return {key: self.weight_init_std * rng.standard_normal(shape) if key.startswith("W") else np.zeros(shape)
                for key, shape in shapes.items()}

    def _build_layers(self) -> OrderedDict[str, Any]:
        layers: OrderedDict[str, Any] = OrderedDict()
        p = self.conv_param
        layers["Conv1"] = Convolution(params=self._params, keys=("W1", "b1"), stride=p["stride"], pad=p["pad"], name="Conv1")
        layers["Relu1"] = Relu()
        layers["Pool1"] = Pooling(POOL, POOL, stride=POOL, name="Pool1")
        layers["Affine1"] = Affine(params=self._params, keys=("W2", "b2"), name="Affine1")
        layers["Relu2"] = Relu()
        layers["Affine2"] = Affine(params=self._params, keys=("W3", "b3"), name="Affine2")
        return layers

    def accuracy(self, x: Any, t: Any, batch_size: int = 100) -> float:
        """Fraction of samples whose largest score is the target class (``batch_size`` images at a time, as the book's).

        Unlike the book's, the samples beyond the last full batch count too.
        """
        return super().accuracy(x, t, batch_size=batch_size)

    def save_params(self, file_name: str | os.PathLike = "params.pkl") -> None:
        """Write the parameters to ``file_name`` as an uncompressed ``.npz`` (no pickle), atomically, under the name given.

        :meth:`load_params` reads it back, and so does ``numpy.load``.
        """
        write_params(file_name, {k: to_numpy(v) for k, v in self.params.items()})

    def load_params(self, file_name: str | os.PathLike = "params.pkl") -> None:
        """Read parameters written by :meth:`save_params`, or the book's own pickled ``params.pkl``.

        The book's pickle is read by a restricted reader that admits only NumPy arrays of numbers
        and refuses anything else (it never runs pickled code). Each array must have its
        parameter's shape; it is converted to this network's backend, device and dtype.

        Raises
        ------
        CheckpointError
            The file is missing, unreadable, hostile, or not a dict of arrays.
        ValueError
            A key this network does not have, a missing key, or a shape that does not match.
        """
        loaded = read_params(file_name)
        self.params = self._adopt(loaded, self.shapes(self.config)[0], f"the parameters in {os.fspath(file_name)}")
