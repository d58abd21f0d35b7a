"""The book's networks: ``SimpleNet`` (chapter 4) and ``TwoLayerNet`` (chapters 4 and 5)."""

from __future__ import annotations

import numbers
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ._array import checks, compat, labels
from ._array.checks import describe
from ._array.numbers import named_errors, require_finite_number, require_positive_int
from ._array.trust import trusted
from ._array.random import default_rng, normal
from ._array.registry import Backend, backend_name, dtype_name, get_backend, move_target, to_numpy
from ._numgrad import batched_numerical_gradient, loop_numerical_gradient
from .layers import Affine, Relu, Sigmoid, SoftmaxWithLoss
from .params import Params
from .simple_net import SimpleNet

__all__ = ["SimpleNet", "TwoLayerNet"]  # SimpleNet lives in simple_net.py

Array = Any

ACTIVATIONS = {"relu": Relu, "sigmoid": Sigmoid}


class TwoLayerNet:
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
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        weight_init_std: float = 0.01,
        *,
        activation: str = "relu",
        backend: Any = "numpy",
        device: Any = None,
        dtype: Any = "float64",
        seed: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        input_size = require_positive_int(input_size, "TwoLayerNet", "input_size")
        hidden_size = require_positive_int(hidden_size, "TwoLayerNet", "hidden_size")
        output_size = require_positive_int(output_size, "TwoLayerNet", "output_size")
        if not isinstance(activation, str):
            raise TypeError(f"TwoLayerNet: activation must be one of {sorted(ACTIVATIONS)}, got {describe(activation)}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"TwoLayerNet: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.weight_init_std = require_finite_number(weight_init_std, "TwoLayerNet", "weight_init_std")
        with named_errors("TwoLayerNet"):
            self.backend: Backend = get_backend(backend, device)
            self.dtype = self.backend.dtype(dtype)
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.activation = activation
        shapes = self.param_shapes(input_size, hidden_size, output_size)
        #: Seed that drew the initial weights (drawn at random when not given); None for given params.
        self.seed: int | None = None
        if params is None:
            seed = secrets.randbits(31) if seed is None else seed
            params = self._init_params(shapes, seed)
            self.seed = int(seed) if isinstance(seed, numbers.Integral) else None
        self._params = Params("TwoLayerNet", self._adopt(params, shapes))
        self.layers: OrderedDict[str, Any] = OrderedDict()
        self.layers["Affine1"] = Affine(params=self._params, keys=("W1", "b1"), name="Affine1")
        self.layers[f"{activation.capitalize()}1"] = ACTIVATIONS[activation]()
        self.layers["Affine2"] = Affine(params=self._params, keys=("W2", "b2"), name="Affine2")
        self.last_layer = SoftmaxWithLoss()
        self.history: Any = None  # set by xpnet.load for a network read from a checkpoint

    @staticmethod
    def param_shapes(input_size: int, hidden_size: int, output_size: int) -> dict[str, tuple[int, ...]]:
        """The parameters' names and shapes: ``W1`` (input, hidden), ``b1``, ``W2`` (hidden, output), ``b2``."""
        return {"W1": (input_size, hidden_size), "b1": (hidden_size,), "W2": (hidden_size, output_size), "b2": (output_size,)}

    def _init_params(self, shapes: Mapping[str, tuple[int, ...]], seed: int | None) -> dict[str, Array]:
        with named_errors("TwoLayerNet"):
            rng = default_rng(seed)
        xp, dev = self.backend.xp, self.backend.device
        out = {}
        for key, shape in shapes.items():
            if key.startswith("W"):
                out[key] = normal(rng, shape, scale=self.weight_init_std, backend=self.backend, dtype=self.dtype)
            else:
                out[key] = xp.zeros(shape, dtype=self.dtype, device=dev)
        return out

    def _adopt(self, params: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]]) -> dict[str, Array]:
        missing = sorted(set(shapes) - set(params))
        extra = sorted(set(params) - set(shapes))
        if missing or extra:
            raise ValueError(f"TwoLayerNet: params must have keys {list(shapes)}; missing {missing}, unexpected {extra}")
        out = {}
        for key, shape in shapes.items():
            value = params[key]
            native = compat.is_array(value) and backend_name(value) == self.backend.name
            if not (native and value.dtype == self.dtype and compat.device(value) == self.backend.device):
                value = self._convert(key, value)
            if tuple(value.shape) != shape:
                raise ValueError(f"TwoLayerNet: params[{key!r}] has shape {tuple(value.shape)}, expected {shape}")
            out[key] = value
        return out

    def _convert(self, key: str, value: Any) -> Array:
        """``params[key]`` (an array of any backend, or nested lists of numbers) as this network's array."""
        where = f"TwoLayerNet: params[{key!r}]"
        if isinstance(value, (str, bytes)) or value is None:
            raise TypeError(f"{where} must be an array or nested lists of numbers, got {describe(value)}")
        try:
            return self.backend.asarray(value, dtype=self.dtype)
        except (TypeError, ValueError, RuntimeError) as exc:
            kind = ValueError if isinstance(exc, ValueError) else TypeError  # ragged lists are a shape problem
            raise kind(
                f"{where} must be an array or nested lists of numbers; converting {type(value).__name__} "
                f"to a {self.backend.name} array of {dtype_name(self.dtype)} failed: {exc}"
            ) from exc

    @property
    def params(self) -> Params:
        """The parameters by name; assigning an entry updates every layer."""
        return self._params

    @params.setter
    def params(self, new: Mapping[str, Array]) -> None:
        for key, value in new.items():
            self._params[key] = value

    @property
    def lastLayer(self) -> SoftmaxWithLoss:  # noqa: N802 - the book's name
        """The book's name for :attr:`last_layer`."""
        return self.last_layer

    @property
    def config(self) -> dict[str, Any]:
        """Architecture and dtype as plain Python values (for checkpoints)."""
        return {
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "output_size": self.output_size,
            "weight_init_std": self.weight_init_std,
            "activation": self.activation,
            "dtype": dtype_name(self.dtype),
        }

    def to(self, backend: Any = None, device: Any = None, dtype: Any = None) -> "TwoLayerNet":
        """A copy of this network on another backend, device and/or dtype (parameters copied).

        Like PyTorch's ``Module.to``: ``net.to("cuda:0")``, ``net.to("mps")`` or ``net.to("device1")``
        moves the network to a device of its own backend; ``net.to("torch", "cuda:0")`` to another backend.
        """
        with named_errors("TwoLayerNet.to"):
            be = move_target(self.backend, backend, device)
        cfg = self.config
        dtype = cfg["dtype"] if dtype is None else dtype
        host = {k: to_numpy(v) for k, v in self._params.items()}
        net = TwoLayerNet(
            cfg["input_size"], cfg["hidden_size"], cfg["output_size"], cfg["weight_init_std"],
            activation=cfg["activation"], backend=be, dtype=dtype, params=host,
        )
        net.seed = self.seed
        return net

    def with_params(self, params: Mapping[str, Array]) -> "TwoLayerNet":
        """A network of the same architecture whose parameters are ``params`` (arrays shared, not copied).

        Its layers are its own, so it can run beside this one (e.g. evaluation on another thread).
        """
        return TwoLayerNet(
            self.input_size, self.hidden_size, self.output_size, self.weight_init_std,
            activation=self.activation, backend=self.backend, dtype=self.dtype, params=params,
        )

    # --- the book's methods ---------------------------------------------------------
    def predict(self, x: Array) -> Array:
        """Scores (logits) of a batch through the layers' ``forward``: ``x`` (N, input_size) -> (N, output_size).

        ``x`` of another floating dtype is converted to the network's dtype. This is the one
        forward pass: the loss, the accuracy, evaluation and the numerical gradient use it.
        """
        return self._forward(x, "TwoLayerNet.predict")

    def _forward(self, x: Array, where: str) -> Array:
        """:meth:`predict`, with errors named after the public method ``where`` that was called."""
        xp = checks.batch_input(x, (self.input_size,), where, like=self._params["W1"])
        if x.dtype != self.dtype:
            x = xp.astype(x, self.dtype)
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x: Array, t: Array, *, validate: bool = True) -> Array:
        """Mean cross-entropy loss (0-d array, on the network's device).

        Parameters
        ----------
        x : array, shape (N, input_size), real floating
        t : array, integer labels (N,) or one-hot (N, output_size)
        validate : bool
            Check label values (one device-to-host read); a training loop that validated its
            dataset once passes False.
        """
        return self._loss(x, t, validate, "TwoLayerNet.loss")

    def _loss(self, x: Array, t: Array, validate: bool, where: str) -> Array:
        return self.last_layer.forward(self._forward(x, where), t, validate=validate)

    def accuracy(self, x: Array, t: Array, *, batch_size: int = 10_000) -> float:
        """Fraction of samples whose largest score is the target class, as a Python float.

        Evaluates ``batch_size`` samples at a time so memory stays bounded. Checks the label
        values and that the scores are finite (NaN/inf in ``x`` or the parameters would
        otherwise give a meaningless accuracy): ValueError naming the problem.
        """
        where = "TwoLayerNet.accuracy"
        batch_size = require_positive_int(batch_size, where, "batch_size")
        xp = checks.batch_input(x, (self.input_size,), where, like=self._params["W1"])
        labels.require_array(t, where, "t")
        t = labels.to_labels(compat.namespace(x, t, where=where), t, self.output_size, where, n=int(x.shape[0]))
        n = int(x.shape[0])
        total: Array = None
        finite: Array = None
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)  # array_api_strict rejects out-of-bounds slice stops
            hits, ok = self.count_correct(x[start:stop, ...], t[start:stop])
            total = hits if total is None else total + hits
            finite = ok if finite is None else finite & ok
        if not bool(finite):
            raise ValueError(
                f"{where}: some scores are NaN or infinite, so the accuracy would be meaningless; "
                "check x and the parameters for NaN/inf (e.g. xp.all(xp.isfinite(x)))"
            )
        return int(total) / n

    def count_correct(self, x: Array, labels: Array) -> tuple[Array, Array]:
        """Correctly classified samples of one batch, and whether every score was finite.

        Parameters
        ----------
        x : array, shape (N, input_size), real floating
        labels : array, shape (N,), integer class labels

        Returns
        -------
        hits : 0-d integer array on the device
        finite : 0-d boolean array on the device
            Nothing is read back to the host: the trainer adds these up over a whole set.
        """
        scores = self._forward(x, "TwoLayerNet.accuracy")
        xp = compat.namespace_of(scores)
        y = xp.argmax(scores, axis=1)
        hits = xp.count_nonzero(y == xp.astype(labels, y.dtype))
        return hits, xp.all(xp.isfinite(scores))

    def numerical_gradient(self, x: Array, t: Array, *, method: str = "batched", h: float = 1e-4) -> dict[str, Array]:
        """Gradients of the loss by central differences, one per parameter.

        Parameters
        ----------
        method : {"batched", "loop"}
            ``"loop"`` perturbs one element at a time (the book's definition); ``"batched"``
            evaluates thousands of perturbed networks per forward pass, using that a change of
            one weight of an Affine layer changes one column of its output. Both give the same
            numbers to about 1e-12 in float64.
        h : float
            Step, positive and finite.
        """
        where = "TwoLayerNet.numerical_gradient"
        if method not in ("batched", "loop"):
            raise ValueError(f"{where}: method must be 'batched' or 'loop', got {method!r}")
        h = require_finite_number(h, where, "h", positive=True)
        scores = self._forward(x, where)
        _, _, onehot = labels.scores_and_targets(scores, t, where)
        if x.dtype != self.dtype:
            x = compat.namespace_of(scores).astype(x, self.dtype)
        with trusted():  # checked above, once
            if method == "batched":
                return batched_numerical_gradient(self, x, onehot, h)
            return loop_numerical_gradient(self, x, onehot, h)

    def loss_and_gradient(self, x: Array, t: Array, *, validate: bool = True) -> tuple[Array, dict[str, Array]]:
        """Loss (0-d array) and backprop gradients: the layers' ``forward``, then their ``backward``.

        The first Affine layer skips its input gradient, which nothing needs.
        """
        loss = self._loss(x, t, validate, "TwoLayerNet.gradient")
        dout = self.last_layer.backward(1)
        layers = list(self.layers.values())
        for layer in reversed(layers[1:]):
            dout = layer.backward(dout)
        layers[0].backward(dout, compute_dx=False)
        grads = {}
        for layer in layers:
            if isinstance(layer, Affine):
                grads[layer.keys[0]], grads[layer.keys[1]] = layer.dW, layer.db
        return loss, grads

    def gradient(self, x: Array, t: Array) -> dict[str, Array]:
        """Backprop gradients ``{"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}`` (chapter 5)."""
        return self.loss_and_gradient(x, t)[1]

    def __repr__(self) -> str:
        return (
            f"TwoLayerNet({self.input_size}, {self.hidden_size}, {self.output_size}, activation={self.activation!r}, "
            f"backend={self.backend.name!r}, device={self.backend.device_name!r}, dtype={self.config['dtype']!r})"
        )
