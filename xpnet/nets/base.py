"""What the book's layered networks share: parameters owned in one place, layers in order, a loss layer.

``TwoLayerNet`` (chapter 5), ``MultiLayerNet`` and ``MultiLayerNetExtend`` (chapter 6) and
``SimpleConvNet`` (chapter 7) differ only in their parameters, their layers and their
configuration; the book's methods (``predict``, ``loss``, ``accuracy``, ``numerical_gradient``,
``gradient``) are written once here, on the layers' ``forward`` and ``backward``.
"""

from __future__ import annotations

import copy
import math
import secrets
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .._array import compat
from .._array.checks import batch_input, describe, require_array
from .._array.labels import scores_and_targets, to_labels
from .._array.numbers import named_errors, require_finite_number, require_positive_int, require_seed
from .._array.random import default_rng, index_dtype, stream_state
from .._array.registry import Backend, dtype_name, get_backend, move_target, to_numpy
from .._array.trust import trusted
from .._numgrad import numerical_gradients
from ..layers import SoftmaxWithLoss
from ..params import Params

__all__ = ["LayerNet"]

Array = Any


class LayerNet:
    """A network of the book: ``params`` (the one owner of the weights), ``layers`` in order, and ``last_layer``.

    Subclasses give ``config`` (their constructor's arguments, JSON-able), ``shapes(config)``
    (the shapes of their parameters and of their state), ``_initial_params(rng)`` (host arrays,
    the book's initialisation) and ``_build_layers()`` (layers reading ``params`` and ``buffers``
    by key). Everything below works for all of them.

    Attributes
    ----------
    params : Params
        The trainable parameters by the book's keys (``W1``, ``b1``, ``gamma1``, ...).
    buffers : Params
        State that is not trained: Batch Normalization's running statistics
        (``running_mean1``, ``running_var1``) and the random stream of Dropout (``rng``).
    layers : OrderedDict
    last_layer : SoftmaxWithLoss
    backend : Backend
    dtype : the backend's floating dtype
    sample_shape : tuple of int
        The shape of one input sample, e.g. (784,) or (1, 28, 28).
    output_size : int
    weight_decay_lambda : float
        Strength of the L2 penalty ``0.5 * lambda * sum(W**2)`` over the weight matrices.
    seed : int or None
        The seed of the initial weights and of the random stream (None when both were given).
    """

    decayed_prefix = "W"  #: weight decay applies to the book's weights, ``W1``, ``W2`` ...
    eval_batch_size = 10_000  #: samples a trainer evaluates at a time by default (one chunk's memory)

    def _setup(self, *, backend: Any, device: Any, dtype: Any, seed: int | None, params: Mapping[str, Any] | None,
               buffers: Mapping[str, Any] | None, sample_shape: tuple[int, ...], output_size: int,
               weight_decay_lambda: float) -> None:
        """Place the network on its backend, draw or adopt its parameters and state, and build its layers."""
        where = type(self).__name__
        with named_errors(where):
            self.backend: Backend = get_backend(backend, device)
            self.dtype = self.backend.dtype(dtype)
            seed = require_seed(seed, where)
        self.sample_shape, self.output_size = tuple(int(s) for s in sample_shape), int(output_size)
        self.weight_decay_lambda = require_finite_number(weight_decay_lambda, where, "weight_decay_lambda", non_negative=True)
        param_shapes, buffer_shapes = self.shapes(self.config)
        drawn = seed if seed is not None else secrets.randbits(31)
        self.seed: int | None = drawn if params is None or (buffer_shapes and buffers is None) else seed
        if params is None:
            with named_errors(where):
                params = self._initial_params(default_rng(drawn))
        if buffers is None:
            buffers = self._initial_buffers(buffer_shapes, drawn)
        self._params = Params(where, self._adopt(params, param_shapes, "params"))
        self._buffers = Params(where, self._adopt(buffers, buffer_shapes, "buffers"))
        self._build()
        self.history: Any = None  # set by xpnet.load for a network read from a checkpoint

    def _build(self) -> None:
        self.layers: OrderedDict[str, Any] = self._build_layers()
        self.last_layer = SoftmaxWithLoss()
        self._plan = [(layer, bool(getattr(layer, "takes_train_flg", False))) for layer in self.layers.values()]
        self._decayed = [k for k in self._params if k.startswith(self.decayed_prefix)] if self.weight_decay_lambda else []

    # --- what subclasses give -----------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        """The constructor's arguments as plain Python values (for checkpoints and :meth:`to`)."""
        raise NotImplementedError

    @classmethod
    def shapes(cls, config: Mapping[str, Any]) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        """``(parameter shapes, buffer shapes)`` by key, for a network of ``config``."""
        raise NotImplementedError

    def _initial_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _build_layers(self) -> OrderedDict[str, Any]:
        raise NotImplementedError

    # --- parameters and state -----------------------------------------------------------------
    def _initial_buffers(self, shapes: Mapping[str, tuple[int, ...]], seed: int) -> dict[str, Any]:
        xp, dev = self.backend.xp, self.backend.device
        out: dict[str, Any] = {}
        for key, shape in shapes.items():
            out[key] = stream_state(seed, xp, dev) if key == "rng" else xp.zeros(shape, dtype=self.dtype, device=dev)
        return out

    def _buffer_dtype(self, key: str) -> Any:
        return index_dtype(self.backend.xp) if key == "rng" else self.dtype

    def _adopt(self, given: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]], kind: str) -> dict[str, Array]:
        """``given`` as this network's arrays: every key of ``shapes``, converted to its backend, device and dtype."""
        where = type(self).__name__
        if not isinstance(given, Mapping):
            raise TypeError(f"{where}: {kind} must be a mapping of arrays by key, got {describe(given)}")
        missing, extra = sorted(set(shapes) - set(given)), sorted(set(given) - set(shapes))
        if missing or extra:
            raise ValueError(f"{where}: {kind} must have keys {list(shapes)}; missing {missing}, unexpected {extra}")
        out = {}
        for key, shape in shapes.items():
            value, dtype = given[key], self.dtype if kind == "params" else self._buffer_dtype(key)
            native = compat.is_array(value) and compat.namespace_of(value) is self.backend.xp
            if not (native and value.dtype == dtype and compat.device(value) == self.backend.device):
                value = self._convert(f"{kind}[{key!r}]", value, dtype)
            if tuple(value.shape) != tuple(shape):
                raise ValueError(f"{where}: {kind}[{key!r}] has shape {tuple(value.shape)}, expected {tuple(shape)}")
            out[key] = value
        return out

    def _convert(self, what: str, value: Any, dtype: Any) -> Array:
        """``value`` (an array of any backend, or nested lists of numbers) as this network's array of ``dtype``."""
        where = f"{type(self).__name__}: {what}"
        if isinstance(value, (str, bytes)) or value is None:
            raise TypeError(f"{where} must be an array or nested lists of numbers, got {describe(value)}")
        try:
            host = to_numpy(value) if compat.is_array(value) else np.asarray(value)
            name = dtype_name(dtype)
            if name.startswith("float"):
                return self.backend.asarray(host, dtype=name)
            return self.backend.asarray(np.asarray(host, dtype=name))
        except (TypeError, ValueError, RuntimeError) as exc:
            kind = ValueError if isinstance(exc, ValueError) else TypeError  # ragged lists are a shape problem
            raise kind(
                f"{where} must be an array or nested lists of numbers; converting {type(value).__name__} "
                f"to a {self.backend.name} array of {dtype_name(dtype)} failed: {exc}"
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
    def buffers(self) -> Params:
        """The state that is not trained (running statistics, the random stream) by name."""
        return self._buffers

    @property
    def lastLayer(self) -> SoftmaxWithLoss:  # noqa: N802 - the book's name
        """The book's name for :attr:`last_layer`."""
        return self.last_layer

    @property
    def input_size(self) -> int:
        """Values per input sample (784 for MNIST)."""
        return math.prod(self.sample_shape)

    def bind(self, params: Mapping[str, Array], buffers: Mapping[str, Array] | None = None) -> "LayerNet":
        """A network of this architecture computing with ``params`` and ``buffers`` (arrays shared, not copied).

        Its layers and its mappings are its own, so it can run beside this one (evaluation on a
        thread, a traced step) and what it writes (an update, new running statistics) stays in it.
        The arrays are taken unchecked: they come from this network or from a step over its arrays.
        """
        net = copy.copy(self)
        net._params = self._params.rebound(params)
        net._buffers = self._buffers.rebound(self._buffers if buffers is None else buffers)
        net._build()
        return net

    def snapshot(self) -> tuple[dict[str, Array], dict[str, Array]]:
        """Parameters and buffers as they are now, safe to keep while training goes on (copies where arrays are written in place)."""
        if not self.backend.row.writable:
            return dict(self._params), dict(self._buffers)
        xp = self.backend.xp
        return ({k: xp.asarray(v, copy=True) for k, v in self._params.items()},
                {k: xp.asarray(v, copy=True) for k, v in self._buffers.items()})

    # --- the book's methods ---------------------------------------------------------------------
    def predict(self, x: Array, train_flg: bool = False) -> Array:
        """Scores (logits) of a batch through the layers' ``forward``: ``x`` (N, *sample_shape) -> (N, output_size).

        ``x`` may also be (N, D) with as many values per sample; another floating dtype is
        converted to the network's. ``train_flg`` switches Dropout and Batch Normalization to
        training mode. This is the one forward pass: the loss, the accuracy, evaluation and the
        numerical gradient use it.
        """
        return self._forward(x, f"{type(self).__name__}.predict", train_flg)

    def _forward(self, x: Array, where: str, train_flg: bool = False) -> Array:
        """:meth:`predict`, with errors named after the public method ``where`` that was called."""
        xp = batch_input(x, self.sample_shape, where, like=self._first)
        return self._forward_from(0, self._prepare(xp, x), train_flg)

    def _forward_from(self, start: int, x: Array, train_flg: bool) -> Array:
        """The layers from the ``start``-th on, on an input already in the network's dtype and shape."""
        for layer, takes_flag in self._plan[start:]:
            x = layer.forward(x, train_flg) if takes_flag else layer.forward(x)
        return x

    @property
    def _first(self) -> Array:
        return next(iter(self._params.values()))

    def _prepare(self, xp: Any, x: Array) -> Array:
        """``x`` in the network's dtype and in the shape (N, *sample_shape) its first layer takes (a reshape, a cast)."""
        if x.ndim != len(self.sample_shape) + 1:
            x = xp.reshape(x, (x.shape[0], *self.sample_shape))
        return x if x.dtype == self.dtype else xp.astype(x, self.dtype)

    def loss(self, x: Array, t: Array, train_flg: bool = False, *, validate: bool = True) -> Array:
        """Mean cross-entropy loss, plus weight decay ``0.5 * lambda * sum(W**2)`` (a 0-d array on the network's device).

        Parameters
        ----------
        x : array, shape (N, *sample_shape), real floating
        t : array, integer labels (N,) or one-hot (N, output_size)
        train_flg : bool
            Run Dropout and Batch Normalization in training mode.
        validate : bool
            Check label values (one device-to-host read); a loop that validated its data once passes False.
        """
        return self._loss(x, t, train_flg, validate, f"{type(self).__name__}.loss")

    def _loss(self, x: Array, t: Array, train_flg: bool, validate: bool, where: str) -> Array:
        loss = self.last_layer.forward(self._forward(x, where, train_flg), t, validate=validate)
        if self._decayed:
            xp = compat.namespace_of(loss)
            decay = sum(xp.sum(self._params[k] ** 2) for k in self._decayed)
            loss = loss + 0.5 * self.weight_decay_lambda * decay
        return loss

    def accuracy(self, x: Array, t: Array, *, batch_size: int = 10_000) -> float:
        """Fraction of samples whose largest score is the target class, as a Python float.

        Evaluates ``batch_size`` samples at a time (test mode) so memory stays bounded. Checks the
        labels (one-hot rows must be one-hot); NaN or inf in ``x`` raises ValueError. A sample whose
        scores are not finite (diverged parameters) counts as misclassified, with a RuntimeWarning.
        """
        where = f"{type(self).__name__}.accuracy"
        batch_size = require_positive_int(batch_size, where, "batch_size")
        xp = batch_input(x, self.sample_shape, where, like=self._first)
        require_array(t, where, "t")
        labels = to_labels(compat.namespace(x, t, where=where), t, self.output_size, where, n=int(x.shape[0]))
        n = int(x.shape[0])
        # array_api_strict rejects out-of-bounds slice stops: min(...)
        blocks = ((x[lo:min(lo + batch_size, n), ...], labels[lo:min(lo + batch_size, n)]) for lo in range(0, n, batch_size))
        total, finite = self.count_all(blocks)
        if not bool(finite):
            if not bool(xp.all(xp.isfinite(x))):
                raise ValueError(f"{where}: x holds NaN or infinite values; clean or drop those samples first")
            warnings.warn(f"{where}: some scores are NaN or infinite (have the parameters diverged?); those samples count "
                          "as misclassified", RuntimeWarning, stacklevel=2)
        return int(total) / n

    def count_all(self, blocks: Iterable[tuple[Array, Array]]) -> tuple[Array, Array]:
        """:meth:`count_correct` summed over ``(x, labels)`` blocks, on the device: ``(hits, every score finite)``.

        The one chunked count: :meth:`accuracy` and the trainer's evaluation both add up through it.
        """
        total: Array = None
        finite: Array = None
        for x, labels in blocks:
            hits, ok = self.count_correct(x, labels)
            total = hits if total is None else total + hits
            finite = ok if finite is None else finite & ok
        return total, finite

    def count_correct(self, x: Array, labels: Array) -> tuple[Array, Array]:
        """Correctly classified samples of one batch (test mode), and whether every score was finite.

        Parameters
        ----------
        x : array, shape (N, *sample_shape) or (N, D), real floating
        labels : array, shape (N,), integer class labels (a label of -1 never counts)

        Returns
        -------
        hits : 0-d integer array on the device
        finite : 0-d boolean array on the device
            Nothing is read back to the host: the trainer adds these up over a whole set.
        """
        scores = self._forward(x, f"{type(self).__name__}.accuracy")
        xp = compat.namespace_of(scores)
        y = xp.argmax(scores, axis=1)
        finite = xp.all(xp.isfinite(scores), axis=1)  # a sample with a NaN score is never counted as correct
        hits = xp.count_nonzero((y == xp.astype(labels, y.dtype)) & finite)
        return hits, xp.all(finite)

    def numerical_gradient(self, x: Array, t: Array, *, method: str = "auto", h: float = 1e-4) -> dict[str, Array]:
        """Gradients of the training loss (``train_flg=True``) by central differences, one per parameter.

        Parameters
        ----------
        method : {"auto", "batched", "loop"}
            ``"loop"`` perturbs one element at a time (the book's definition); ``"batched"``
            evaluates thousands of perturbed networks per forward pass, using that a change of one
            weight of an Affine layer changes one column of its output (only for the parameters of
            layers followed by row-wise layers: Affine, ReLU, Sigmoid); ``"auto"`` batches where it
            can. Both give the same numbers to about 1e-12 in float64.
        h : float
            Step, positive and finite.

        Notes
        -----
        Every evaluation starts from the network's current buffers: Batch Normalization uses the
        batch's statistics and Dropout the masks the next training forward will draw. Nothing of
        the network changes.
        """
        where = f"{type(self).__name__}.numerical_gradient"
        if method not in ("auto", "batched", "loop"):
            raise ValueError(f"{where}: method must be 'auto', 'batched' or 'loop', got {method!r}")
        h = require_finite_number(h, where, "h", positive=True)
        xp = batch_input(x, self.sample_shape, where, like=self._first)
        x = self._prepare(xp, x)
        stand_in = xp.zeros((int(x.shape[0]), self.output_size), dtype=self.dtype, device=self.backend.device)
        _, _, onehot = scores_and_targets(stand_in, t, where)
        with trusted():  # checked above, once
            return numerical_gradients(self, x, onehot, h, method)

    def loss_and_gradient(self, x: Array, t: Array, *, validate: bool = True) -> tuple[Array, dict[str, Array]]:
        """Training loss (0-d array) and backprop gradients: the layers' ``forward`` (training mode), then their ``backward``.

        The first layer skips its input gradient, which nothing needs. Weight decay adds
        ``lambda * W`` to each weight's gradient.
        """
        loss = self._loss(x, t, True, validate, f"{type(self).__name__}.gradient")
        dout = self.last_layer.backward(1)
        layers = list(self.layers.values())
        for layer in reversed(layers[1:]):
            dout = layer.backward(dout)
        first = layers[0]
        if getattr(first, "takes_compute_dx", False):
            first.backward(dout, compute_dx=False)
        else:
            first.backward(dout)
        found: dict[str, Array] = {}
        for layer in layers:
            found.update(getattr(layer, "grads", {}))
        for key in self._decayed:
            found[key] = found[key] + self.weight_decay_lambda * self._params[key]
        return loss, {k: found[k] for k in self._params}

    def gradient(self, x: Array, t: Array) -> dict[str, Array]:
        """Backprop gradients by parameter key (``{"W1": dW1, "b1": db1, ...}``), as the book's ``gradient``."""
        return self.loss_and_gradient(x, t)[1]

    # --- moving ---------------------------------------------------------------------------------
    def to(self, backend: Any = None, device: Any = None, dtype: Any = None) -> "LayerNet":
        """A copy of this network on another backend, device and/or dtype (parameters and buffers copied).

        Like PyTorch's ``Module.to``: ``net.to("cuda:0")``, ``net.to("mps")`` or ``net.to("device1")``
        moves it to a device of its own backend; ``net.to("torch", "cuda:0")`` to another backend.
        """
        with named_errors(f"{type(self).__name__}.to"):
            be = move_target(self.backend, backend, device)
        config = dict(self.config)
        if dtype is not None:
            config["dtype"] = dtype_name(dtype)
        cls: Any = type(self)
        net = cls(**config, backend=be, params={k: to_numpy(v) for k, v in self._params.items()},
                         buffers={k: to_numpy(v) for k, v in self._buffers.items()})
        net.seed = self.seed
        return net

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items() if k != "dtype")
        return (f"{type(self).__name__}({args}, backend={self.backend.name!r}, device={self.backend.device_name!r}, "
                f"dtype={dtype_name(self.dtype)!r})")
