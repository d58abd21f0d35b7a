"""Every bad input at the public boundary: the exception type, and a message naming where and what.

Tables of ``case(id, call, exception type, regex of the message)``:

* ``ARRAY_CASES`` run on every backend of the ``backend`` fixture;
* ``HOST_CASES`` do not depend on a backend (constructor arguments, backends, datasets);
* ``MIXED_CASES`` combine arrays of two backends (the message must name both);
* the same calls combine arrays on two array_api_strict devices (the message must name both);
* ``NAN_CASES`` feed NaN/inf: the result must show it (NaN/inf) or xpnet raises; never a finite answer.

A bad input that xpnet does not report clearly (a raw NumPy/PyTorch/JAX error, or a silent
wrong answer) stays in its table marked ``xfail(strict=True)``; the reason says what happens
today and the message expected instead. Once fixed, strict xfail reports XPASS: drop the mark.
"""

from __future__ import annotations

import gzip
import importlib.util
import re
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import to_np

import xpnet
import xpnet.datasets as ds
from xpnet import (
    SGD,
    AddLayer,
    Affine,
    BackendError,
    MulLayer,
    Relu,
    Sigmoid,
    SimpleNet,
    SoftmaxWithLoss,
    TwoLayerNet,
    cross_entropy_error,
    get_backend,
    gradient_check,
    gradient_descent,
    log_softmax,
    mean_squared_error,
    numerical_diff,
    numerical_gradient,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    step_function,
)
from xpnet.errors import DataFileError

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_JAX = importlib.util.find_spec("jax") is not None


def case(case_id: str, call: Callable, exc: type[BaseException] | None = None, match: str = "", *,
         xfail: str | None = None, skip: str | None = None) -> Any:
    """One table row; ``xfail`` says what happens today and which message is expected instead."""
    marks = []
    if xfail:
        marks.append(pytest.mark.xfail(strict=True, reason=xfail))
    if skip:
        marks.append(pytest.mark.skip(reason=skip))
    return pytest.param(call, exc, match, id=case_id, marks=marks)


# --- builders ------------------------------------------------------------------------------
def F(be, data, dtype: str = "float64"):
    """Floating array on backend ``be``."""
    return be.asarray(np.asarray(data, dtype=np.float64), dtype=dtype)


def I(be, data):  # noqa: E743 - I for an integer array, next to F
    """int64 array on backend ``be``."""
    return be.asarray(np.asarray(data, dtype=np.int64))


X23 = np.arange(6.0).reshape(2, 3) / 10  # scores of 2 samples, 3 classes


def probs(be):
    """Probabilities of 2 samples over 3 classes."""
    return F(be, [[0.2, 0.3, 0.5]] * 2)


def swl(be, t, x=X23):
    """``SoftmaxWithLoss().forward(x, t)`` on ``be``."""
    return SoftmaxWithLoss().forward(F(be, x), t)


def net(be, **kw) -> TwoLayerNet:
    """A 4-3-3 network on ``be``."""
    return TwoLayerNet(4, 3, 3, backend=be, seed=0, **kw)


def x4(be, n: int = 2):
    """A valid input batch for :func:`net`."""
    return F(be, np.linspace(-1, 1, 4 * n).reshape(n, 4))


def after_forward(layer, *args):
    """``layer`` after one forward pass on ``args``."""
    layer.forward(*args)
    return layer


def affine(be, d: int = 4, m: int = 3, dtype: str = "float64", name: str = "Affine") -> Affine:
    return Affine(F(be, np.ones((d, m)), dtype), F(be, np.zeros(m), dtype), name=name)


def set_param(params, key, value) -> None:
    params[key] = value


# --- arrays on one backend ------------------------------------------------------------------
FLOAT_ONLY = r"must have a floating dtype \(float32 or float64\), got \w*\.?int64"
# TwoLayerNet validates through SoftmaxWithLoss.forward or under its own method's name
NET_OR_SWL = r"(TwoLayerNet\.\w+|SoftmaxWithLoss\.forward)"

ACTIVATION_CASES = [
    *[case(f"{f.__name__}-int-x", lambda be, f=f: f(I(be, [[1, 2]])), TypeError, rf"{name}: x {FLOAT_ONLY}")
      for f, name in [(softmax, "softmax"), (log_softmax, "log_softmax"), (sigmoid, "sigmoid"),
                      (sigmoid_grad, "sigmoid"), (relu, "relu"), (relu_grad, "relu_grad")]],
    *[case(f"{f.__name__}-list-x", lambda be, f=f: f([[1.0, 2.0]]), TypeError,
           rf"{f.__name__}: x must be an array, got list")
      for f in (softmax, log_softmax, sigmoid, relu, relu_grad, step_function)],
    case("softmax-zero-classes", lambda be: softmax(F(be, np.zeros((2, 0)))), ValueError,
         r"softmax: x has no classes \(shape \(2, 0\)\)"),
    case("log_softmax-zero-classes", lambda be: log_softmax(F(be, np.zeros((2, 0)))), ValueError,
         r"log_softmax: x has no classes \(shape \(2, 0\)\)"),
    case("softmax-0d", lambda be: softmax(F(be, 1.0)), ValueError,
         r"softmax: x must have a class axis, got a 0-d array"),
    case("log_softmax-0d", lambda be: log_softmax(F(be, 1.0)), ValueError,
         r"log_softmax: x must have a class axis, got a 0-d array"),
]

LOSS_FUNCTION_CASES = [
    case("cross_entropy-label-negative", lambda be: cross_entropy_error(probs(be), I(be, [-1, 1])), ValueError,
         r"cross_entropy_error: labels must lie in 0\.\.2 for 3 classes, got values in -1\.\.1"),
    case("cross_entropy-label-equals-K", lambda be: cross_entropy_error(probs(be), I(be, [0, 3])), ValueError,
         r"cross_entropy_error: labels must lie in 0\.\.2 for 3 classes, got values in 0\.\.3"),
    case("cross_entropy-label-float", lambda be: cross_entropy_error(probs(be), F(be, [0.0, 1.0])), TypeError,
         r"cross_entropy_error: labels t must be integers .*float64"),
    case("cross_entropy-label-bool", lambda be: cross_entropy_error(probs(be), be.asarray(np.array([True, False]))),
         TypeError, r"cross_entropy_error: labels t must be integers .*bool"),
    case("cross_entropy-one-hot-width", lambda be: cross_entropy_error(probs(be), F(be, np.eye(4)[:2])), ValueError,
         r"cross_entropy_error: one-hot width 4 does not match the 3 outputs"),
    case("cross_entropy-batch-mismatch", lambda be: cross_entropy_error(probs(be), I(be, [0, 1, 2])), ValueError,
         r"cross_entropy_error: batch sizes differ: 2 scores but 3 label targets"),
    case("cross_entropy-int-y", lambda be: cross_entropy_error(I(be, [[0, 1]]), I(be, [1])), TypeError,
         rf"cross_entropy_error: y {FLOAT_ONLY}"),
    case("cross_entropy-3d-y",
         lambda be: cross_entropy_error(F(be, np.full((2, 2, 3), 1 / 3)), I(be, np.zeros((2, 2)))), ValueError,
         r"cross_entropy_error: scores must be 1-D \(K,\) or 2-D \(N, K\), got shape \(2, 2, 3\)"),
    case("cross_entropy-t-list", lambda be: cross_entropy_error(probs(be), [1, 2]), TypeError,
         r"cross_entropy_error: t must be an array, got list"),
    case("cross_entropy-empty-batch", lambda be: cross_entropy_error(F(be, np.zeros((0, 3))), I(be, np.zeros(0))),
         ValueError, r"cross_entropy_error: y is empty \(shape \(0, 3\)\); a batch needs at least one sample"),
    case("cross_entropy-y-list", lambda be: cross_entropy_error([[0.5, 0.5]], I(be, [0])), TypeError,
         r"cross_entropy_error: y must be an array, got list"),
    case("mean_squared_error-shape", lambda be: mean_squared_error(F(be, [1.0, 2.0]), F(be, [1.0, 2.0, 3.0])),
         ValueError, r"mean_squared_error: y and t must have the same shape, got \(2,\) and \(3,\)"),
    case("mean_squared_error-int-y", lambda be: mean_squared_error(I(be, [1, 2]), F(be, [1.0, 2.0])), TypeError,
         rf"mean_squared_error: y {FLOAT_ONLY}"),
    case("mean_squared_error-y-list", lambda be: mean_squared_error([1.0, 2.0], F(be, [1.0, 2.0])), TypeError,
         r"mean_squared_error: y must be an array, got list"),
    case("mean_squared_error-t-list", lambda be: mean_squared_error(F(be, [1.0, 2.0]), [1.0, 2.0]), TypeError,
         r"mean_squared_error: t must be an array, got list"),
]

RELU_SIGMOID_CASES = [
    case("Relu.forward-int-x", lambda be: Relu().forward(I(be, [[1, -1]])), TypeError,
         rf"Relu\.forward: x {FLOAT_ONLY}"),
    case("Relu.forward-list-x", lambda be: Relu().forward([1.0]), TypeError,
         r"Relu\.forward: x must be an array, got list"),
    case("Relu.backward-before-forward", lambda be: Relu().backward(F(be, X23)), RuntimeError,
         r"Relu\.backward called before forward"),
    case("Relu.backward-dout-shape", lambda be: after_forward(Relu(), F(be, X23)).backward(F(be, [1.0, 1.0, 1.0])),
         ValueError, r"Relu\.backward: dout has shape \(3,\), expected \(2, 3\)"),
    case("Relu.backward-dout-float", lambda be: after_forward(Relu(), F(be, X23)).backward(1.0), TypeError,
         r"Relu\.backward: dout must be an array of shape \(2, 3\), got float 1\.0"),
    case("Relu.backward-int-dout", lambda be: after_forward(Relu(), F(be, X23)).backward(I(be, np.ones((2, 3)))),
         TypeError, rf"Relu\.backward: dout {FLOAT_ONLY}"),
    case("Sigmoid.forward-int-x", lambda be: Sigmoid().forward(I(be, [[1, -1]])), TypeError,
         rf"(Sigmoid\.forward|sigmoid): x {FLOAT_ONLY}"),
    case("Sigmoid.backward-before-forward", lambda be: Sigmoid().backward(F(be, X23)), RuntimeError,
         r"Sigmoid\.backward called before forward"),
    case("Sigmoid.backward-dout-broadcastable",
         lambda be: after_forward(Sigmoid(), F(be, X23)).backward(F(be, [1.0, 1.0, 1.0])),
         ValueError, r"Sigmoid\.backward: dout has shape \(3,\), expected \(2, 3\)"),
    case("Sigmoid.backward-dout-shape", lambda be: after_forward(Sigmoid(), F(be, X23)).backward(F(be, np.ones(4))),
         ValueError, r"Sigmoid\.backward: dout has shape \(4,\), expected \(2, 3\)"),
    case("Sigmoid.backward-dout-list", lambda be: after_forward(Sigmoid(), F(be, X23)).backward([[1.0] * 3] * 2),
         TypeError, r"Sigmoid\.backward: dout must be an array of shape \(2, 3\), got list"),
    case("MulLayer.backward-before-forward", lambda be: MulLayer().backward(F(be, [1.0])), RuntimeError,
         r"MulLayer\.backward called before forward"),
    case("AddLayer.backward-before-forward", lambda be: AddLayer().backward(F(be, [1.0])), RuntimeError,
         r"AddLayer\.backward called before forward"),
]

AFFINE_CASES = [
    case("Affine.forward-width", lambda be: affine(be, name="Affine1").forward(F(be, np.ones((2, 5)))), ValueError,
         r"Affine1\.forward: input of shape \(2, 5\) has 5 features per sample, "
         r"but W has shape \(4, 3\) and expects 4"),
    case("Affine.forward-nd-width", lambda be: affine(be).forward(F(be, np.ones((2, 2, 3)))), ValueError,
         r"Affine\.forward: input of shape \(2, 2, 3\) has 6 features per sample, but W has shape \(4, 3\)"),
    case("Affine.forward-int-x", lambda be: affine(be).forward(I(be, np.ones((2, 4)))), TypeError,
         rf"Affine\.forward: x {FLOAT_ONLY}"),
    case("Affine.forward-0d-x", lambda be: affine(be).forward(F(be, 1.0)), ValueError,
         r"Affine\.forward: x must have a batch axis, got a 0-d array"),
    case("Affine.forward-list-x", lambda be: affine(be).forward([[1.0] * 4]), TypeError,
         r"Affine\.forward: x must be an array, got list"),
    case("Affine-W-1d", lambda be: Affine(F(be, np.ones(3)), F(be, np.ones(3))), ValueError,
         r"Affine: W must be \(D, M\) and b \(M,\), got W \(3,\) and b \(3,\)"),
    case("Affine-b-width", lambda be: Affine(F(be, np.ones((4, 3))), F(be, np.ones(2))), ValueError,
         r"Affine: W must be \(D, M\) and b \(M,\), got W \(4, 3\) and b \(2,\)"),
    case("Affine-W-int", lambda be: Affine(I(be, np.ones((4, 3))), F(be, np.ones(3))), TypeError,
         rf"Affine: W {FLOAT_ONLY}"),
    case("Affine-W-list", lambda be: Affine([[1.0]], F(be, np.ones(1))), TypeError,
         r"Affine: W must be an array, got list"),
    case("Affine-b-int", lambda be: Affine(F(be, np.ones((2, 3))), I(be, np.zeros(3))).forward(F(be, np.ones((1, 2)))),
         TypeError, rf"Affine: b {FLOAT_ONLY}"),
    case("Affine.backward-before-forward", lambda be: affine(be).backward(F(be, np.ones((2, 3)))), RuntimeError,
         r"Affine\.backward called before forward"),
    case("Affine.backward-dout-shape",
         lambda be: after_forward(affine(be), F(be, np.ones((2, 4)))).backward(F(be, np.ones((2, 4)))),
         ValueError, r"Affine\.backward: dout has shape \(2, 4\), expected \(2, 3\)"),
    case("Affine.backward-int-dout",
         lambda be: after_forward(affine(be), F(be, np.ones((2, 4)))).backward(I(be, np.ones((2, 3)))),
         TypeError, rf"Affine\.backward: dout {FLOAT_ONLY}"),
    case("Affine.backward-dout-list",
         lambda be: after_forward(affine(be), F(be, np.ones((2, 4)))).backward([[1.0] * 3] * 2),
         TypeError, r"Affine\.backward: dout must be an array of shape \(2, 3\), got list"),
]

SOFTMAX_WITH_LOSS_CASES = [
    case("SoftmaxWithLoss-label-negative", lambda be: swl(be, I(be, [-1, 1])), ValueError,
         r"SoftmaxWithLoss\.forward: labels must lie in 0\.\.2 for 3 classes, got values in -1\.\.1"),
    case("SoftmaxWithLoss-label-equals-K", lambda be: swl(be, I(be, [0, 3])), ValueError,
         r"SoftmaxWithLoss\.forward: labels must lie in 0\.\.2 for 3 classes, got values in 0\.\.3"),
    case("SoftmaxWithLoss-1d-label-out-of-range", lambda be: swl(be, I(be, 2), x=[0.1, 0.2]), ValueError,
         r"SoftmaxWithLoss\.forward: labels must lie in 0\.\.1 for 2 classes, got values in 2\.\.2"),
    case("SoftmaxWithLoss-label-float", lambda be: swl(be, F(be, [0.0, 1.0])), TypeError,
         r"SoftmaxWithLoss\.forward: labels t must be integers \(class indices 0\.\.2\), got dtype \w*\.?float64"),
    case("SoftmaxWithLoss-one-hot-width", lambda be: swl(be, F(be, np.eye(2))), ValueError,
         r"SoftmaxWithLoss\.forward: one-hot width 2 does not match the 3 outputs"),
    case("SoftmaxWithLoss-label-batch", lambda be: swl(be, I(be, [0])), ValueError,
         r"SoftmaxWithLoss\.forward: batch sizes differ: 2 scores but 1 label targets"),
    case("SoftmaxWithLoss-one-hot-batch", lambda be: swl(be, F(be, np.eye(3))), ValueError,
         r"SoftmaxWithLoss\.forward: batch sizes differ: 2 scores but 3 one-hot targets"),
    case("SoftmaxWithLoss-1d-x-label-shape", lambda be: swl(be, I(be, [1]), x=[0.1, 0.2, 0.3]), ValueError,
         r"SoftmaxWithLoss\.forward: shapes do not match; expected .* got t of shape \(1,\)"),
    case("SoftmaxWithLoss-empty-batch", lambda be: swl(be, I(be, np.zeros(0)), x=np.zeros((0, 3))), ValueError,
         r"SoftmaxWithLoss\.forward: x is empty \(shape \(0, 3\)\)"),
    case("SoftmaxWithLoss-zero-classes", lambda be: swl(be, I(be, [0, 0]), x=np.zeros((2, 0))), ValueError,
         r"SoftmaxWithLoss\.forward: x is empty \(shape \(2, 0\)\)"),
    case("SoftmaxWithLoss-int-x", lambda be: SoftmaxWithLoss().forward(I(be, [[1, 2]]), I(be, [0])), TypeError,
         rf"SoftmaxWithLoss\.forward: x {FLOAT_ONLY}"),
    case("SoftmaxWithLoss-3d-x", lambda be: swl(be, I(be, np.zeros((2, 2))), x=np.ones((2, 2, 3))), ValueError,
         r"SoftmaxWithLoss\.forward: scores must be 1-D \(K,\) or 2-D \(N, K\), got shape \(2, 2, 3\)"),
    case("SoftmaxWithLoss-t-list", lambda be: swl(be, [0, 1]), TypeError,
         r"SoftmaxWithLoss\.forward: t must be an array, got list"),
    case("SoftmaxWithLoss.backward-before-forward", lambda be: SoftmaxWithLoss().backward(), RuntimeError,
         r"SoftmaxWithLoss\.backward called before forward"),
    case("SoftmaxWithLoss.backward-dout-vector",
         lambda be: after_forward(SoftmaxWithLoss(), F(be, X23), I(be, [0, 1])).backward(F(be, [1.0, 2.0, 3.0])),
         ValueError, r"SoftmaxWithLoss\.backward: dout must be a scalar or 0-d array .*got shape \(3,\)"),
    case("SoftmaxWithLoss.backward-dout-str",
         lambda be: after_forward(SoftmaxWithLoss(), F(be, X23), I(be, [0, 1])).backward("1"), TypeError,
         r"SoftmaxWithLoss\.backward: dout must be a number or a 0-d array, got str '1'"),
    case("SoftmaxWithLoss.backward-dout-int-array",
         lambda be: after_forward(SoftmaxWithLoss(), F(be, X23), I(be, [0, 1])).backward(I(be, 1)), TypeError,
         rf"SoftmaxWithLoss\.backward: dout {FLOAT_ONLY}"),
    case("SoftmaxWithLoss.backward-dout-dtype",
         lambda be: after_forward(SoftmaxWithLoss(), F(be, X23), I(be, [0, 1])).backward(F(be, 1.0, "float32")),
         TypeError, r"SoftmaxWithLoss\.backward: dout has dtype \w*\.?float32 but y has \w*\.?float64"),
]

NET_CASES = [
    case("TwoLayerNet-input-width", lambda be: net(be).loss(F(be, np.ones((2, 5))), I(be, [0, 1])), ValueError,
         r"TwoLayerNet\.\w+: x must have shape \(N, 4\) .*got \(2, 5\)"),
    case("TwoLayerNet-input-1d", lambda be: net(be).predict(F(be, np.ones(4))), ValueError,
         r"TwoLayerNet\.\w+: x must have shape \(N, 4\) .*got \(4,\)"),
    case("TwoLayerNet-int-x", lambda be: net(be).loss(I(be, np.ones((2, 4))), I(be, [0, 1])), TypeError,
         rf"TwoLayerNet\.\w+: x {FLOAT_ONLY}"),
    case("TwoLayerNet-list-x", lambda be: net(be).predict([[1.0] * 4]), TypeError,
         r"TwoLayerNet\.\w+: x must be an array, got list"),
    case("TwoLayerNet-empty-batch", lambda be: net(be).loss(F(be, np.ones((0, 4))), I(be, np.zeros(0))), ValueError,
         r"TwoLayerNet\.\w+: x is empty \(shape \(0, 4\)\)"),
    case("TwoLayerNet.loss-label-negative", lambda be: net(be).loss(x4(be), I(be, [-1, 0])), ValueError,
         rf"{NET_OR_SWL}: labels must lie in 0\.\.2 for 3 classes, got values in -1\.\.0"),
    case("TwoLayerNet.loss-label-equals-K", lambda be: net(be).loss(x4(be), I(be, [0, 3])), ValueError,
         rf"{NET_OR_SWL}: labels must lie in 0\.\.2 for 3 classes, got values in 0\.\.3"),
    case("TwoLayerNet.loss-label-float", lambda be: net(be).loss(x4(be), F(be, [0.0, 1.0])), TypeError,
         rf"{NET_OR_SWL}: labels t must be integers"),
    case("TwoLayerNet.loss-one-hot-width", lambda be: net(be).loss(x4(be), F(be, np.eye(4)[:2])), ValueError,
         rf"{NET_OR_SWL}: one-hot width 4 does not match the 3 outputs"),
    case("TwoLayerNet.loss-batch-mismatch", lambda be: net(be).loss(x4(be), I(be, [0, 1, 2])), ValueError,
         rf"{NET_OR_SWL}: batch sizes differ: 2 scores but 3 label targets"),
    case("TwoLayerNet.gradient-label-equals-K", lambda be: net(be).gradient(x4(be), I(be, [3, 0])), ValueError,
         rf"{NET_OR_SWL}: labels must lie in 0\.\.2 for 3 classes, got values in 0\.\.3"),
    case("TwoLayerNet.numerical_gradient-label-negative",
         lambda be: net(be).numerical_gradient(x4(be), I(be, [0, -1])), ValueError,
         r"TwoLayerNet\.numerical_gradient: labels must lie in 0\.\.2 for 3 classes, got values in -1\.\.0"),
    case("TwoLayerNet.numerical_gradient-method",
         lambda be: net(be).numerical_gradient(x4(be), I(be, [0, 1]), method="fast"), ValueError,
         r"TwoLayerNet\.numerical_gradient: method must be 'auto', 'batched' or 'loop', got 'fast'"),
    case("TwoLayerNet.numerical_gradient-h-zero",
         lambda be: net(be).numerical_gradient(x4(be), I(be, [0, 1]), h=0.0), ValueError,
         r"TwoLayerNet\.numerical_gradient: h must be positive and finite, got 0\.0"),
    case("TwoLayerNet.numerical_gradient-h-negative",
         lambda be: net(be).numerical_gradient(x4(be), I(be, [0, 1]), h=-1e-4), ValueError,
         r"TwoLayerNet\.numerical_gradient: h must be positive and finite, got -0\.0001"),
    *[case(f"TwoLayerNet.numerical_gradient-h-{h}-{method}",
           lambda be, h=h, method=method: net(be).numerical_gradient(x4(be), I(be, [0, 1]), h=h, method=method),
           ValueError, rf"TwoLayerNet\.numerical_gradient: h must be positive and finite, got {h}")
      for h in (float("nan"), float("inf")) for method in ("batched", "loop")],
    case("TwoLayerNet.numerical_gradient-h-str",
         lambda be: net(be).numerical_gradient(x4(be), I(be, [0, 1]), h="1e-4"), TypeError,
         r"TwoLayerNet\.numerical_gradient: h must be a positive finite number, got str '1e-4'"),
    case("TwoLayerNet.accuracy-t-length", lambda be: net(be).accuracy(x4(be), I(be, [0, 1, 2])), ValueError,
         r"TwoLayerNet\.accuracy: t must be labels \(N,\) or one-hot \(N, K\) with N=2, got \(3,\)"),
    case("TwoLayerNet.accuracy-one-hot-width", lambda be: net(be).accuracy(x4(be), F(be, np.eye(4)[:2])), ValueError,
         r"TwoLayerNet\.accuracy: one-hot width 4 does not match the 3 outputs"),
    case("TwoLayerNet.accuracy-x-list", lambda be: net(be).accuracy([[1.0] * 4], I(be, [0])), TypeError,
         r"TwoLayerNet\.accuracy: x must be an array, got list"),
    case("TwoLayerNet.accuracy-empty", lambda be: net(be).accuracy(F(be, np.ones((0, 4))), I(be, np.zeros(0))),
         ValueError, r"TwoLayerNet\.\w+: x is empty \(shape \(0, 4\)\)"),
    case("TwoLayerNet.accuracy-label-out-of-range", lambda be: net(be).accuracy(x4(be), I(be, [5, -1])), ValueError,
         r"TwoLayerNet\.accuracy: labels must lie in 0\.\.2 for 3 classes, got values in -1\.\.5"),
    case("TwoLayerNet.accuracy-label-float", lambda be: net(be).accuracy(x4(be), F(be, [0.0, 1.5])), TypeError,
         r"TwoLayerNet\.accuracy: labels t must be integers \(class indices 0\.\.2\), got dtype \w*\.?float64"),
    case("TwoLayerNet.accuracy-batch-size-zero",
         lambda be: net(be).accuracy(x4(be), I(be, [0, 1]), batch_size=0), ValueError,
         r"TwoLayerNet\.accuracy: batch_size must be a positive int, got 0"),
    case("TwoLayerNet.accuracy-batch-size-negative",
         lambda be: net(be).accuracy(x4(be), I(be, [0, 1]), batch_size=-5), ValueError,
         r"TwoLayerNet\.accuracy: batch_size must be a positive int, got -5"),
    case("TwoLayerNet.accuracy-batch-size-float",
         lambda be: net(be).accuracy(x4(be), I(be, [0, 1]), batch_size=2.5), TypeError,
         r"TwoLayerNet\.accuracy: batch_size must be a positive int, got float 2\.5"),
    case("TwoLayerNet.accuracy-x-width", lambda be: net(be).accuracy(F(be, np.ones((2, 5))), I(be, [0, 1])),
         ValueError, r"TwoLayerNet\.accuracy: x must have shape \(N, 4\) .*got \(2, 5\)"),
    case("TwoLayerNet.accuracy-int-x", lambda be: net(be).accuracy(I(be, np.ones((2, 4))), I(be, [0, 1])),
         TypeError, rf"TwoLayerNet\.accuracy: x {FLOAT_ONLY}"),
    case("gradient_check-input-width", lambda be: gradient_check(net(be), F(be, np.ones((2, 5))), I(be, [0, 1])),
         ValueError, r"TwoLayerNet\.numerical_gradient: x must have shape \(N, 4\) .*got \(2, 5\)"),
]

PARAMS_CASES = [
    case("params-wrong-shape", lambda be: set_param(net(be).params, "W1", F(be, np.ones((3, 4)))), ValueError,
         r"TwoLayerNet\.params\['W1'\] must keep shape \(4, 3\) and dtype \w*\.?float64, got shape \(3, 4\)"),
    case("params-wrong-key", lambda be: set_param(net(be).params, "W3", F(be, np.ones((4, 3)))), KeyError,
         r"TwoLayerNet\.params has no parameter 'W3'; its keys are \['W1', 'b1', 'W2', 'b2'\]"),
    case("params-not-array", lambda be: set_param(net(be).params, "b1", [0.0, 0.0, 0.0]), TypeError,
         r"TwoLayerNet\.params\['b1'\] must be an array, got list"),
    case("params-delete", lambda be: net(be).params.__delitem__("W1"), TypeError,
         r"TwoLayerNet\.params: parameters cannot be deleted \(tried 'W1'\)"),
    case("params-setter-wrong-shape", lambda be: setattr(net(be), "params", {"b2": F(be, np.ones(4))}), ValueError,
         r"TwoLayerNet\.params\['b2'\] must keep shape \(3,\)"),
    case("params-wrong-dtype", lambda be: set_param(net(be).params, "W1", F(be, np.ones((4, 3)), "float32")),
         TypeError, r"TwoLayerNet\.params\['W1'\] must keep dtype \w*\.?float64, got dtype \w*\.?float32; "
                    r"convert it first"),
    case("TwoLayerNet-params-arg-shape", lambda be: TwoLayerNet(2, 2, 2, backend=be, params={
        "W1": np.zeros((3, 2)), "b1": np.zeros(2), "W2": np.zeros((2, 2)), "b2": np.zeros(2)}),
         ValueError, r"TwoLayerNet: params\['W1'\] has shape \(3, 2\), expected \(2, 2\)"),
    case("TwoLayerNet-params-arg-keys", lambda be: TwoLayerNet(2, 2, 2, backend=be, params={"W1": np.zeros((2, 2))}),
         ValueError, r"TwoLayerNet: params must have keys \['W1', 'b1', 'W2', 'b2'\]; missing \['W2', 'b1', 'b2'\]"),
    case("TwoLayerNet-params-arg-str", lambda be: TwoLayerNet(1, 1, 1, backend=be, params={
        "W1": "1.0", "b1": [0.0], "W2": [[1.0]], "b2": [0.0]}),
         TypeError, r"TwoLayerNet: params\['W1'\] must be an array or nested lists of numbers, got str '1\.0'"),
    case("TwoLayerNet-params-arg-ragged", lambda be: TwoLayerNet(2, 1, 1, backend=be, params={
        "W1": [[1.0], [2.0, 3.0]], "b1": [0.0], "W2": [[1.0]], "b2": [0.0]}),
         ValueError, r"TwoLayerNet: params\['W1'\] must be an array or nested lists of numbers; converting list"),
    case("SGD.update-grad-shape", lambda be: SGD(0.1).update(net(be).params, {"W1": F(be, np.ones(3))}), ValueError,
         r"SGD\.update: grads\['W1'\] has shape \(3,\), params\['W1'\] has \(4, 3\)"),
    case("SGD.update-grad-list", lambda be: SGD(0.1).update(net(be).params, {"b1": [0.0, 0.0, 0.0]}), TypeError,
         r"SGD\.update: grads\['b1'\] must be an array of shape \(3,\), got list"),
    case("SGD.update-grad-key", lambda be: SGD(0.1).update(net(be).params, {"W9": F(be, np.ones(3))}), KeyError,
         r"SGD\.update: params has no parameter 'W9'; its keys are \['W1', 'b1', 'W2', 'b2'\]"),
]

NUMERICAL_AND_SIMPLE_NET_CASES = [
    case("numerical_gradient-int-x", lambda be: numerical_gradient(lambda v: v, I(be, [1, 2])), TypeError,
         rf"numerical_gradient: x {FLOAT_ONLY}"),
    case("numerical_gradient-list-x", lambda be: numerical_gradient(lambda v: v, [1.0, 2.0]), TypeError,
         r"numerical_gradient: x must be an array of floats, got list"),
    case("numerical_gradient-h-zero", lambda be: numerical_gradient(lambda v: be.xp.sum(v), F(be, [1.0]), h=0),
         ValueError, r"numerical_gradient: h must be positive and finite, got 0"),
    case("numerical_gradient-h-nan",
         lambda be: numerical_gradient(lambda v: be.xp.sum(v), F(be, [1.0]), h=float("nan")), ValueError,
         r"numerical_gradient: h must be positive and finite, got nan"),
    case("numerical_gradient-h-inf",
         lambda be: numerical_gradient(lambda v: be.xp.sum(v), F(be, [1.0]), h=float("inf")), ValueError,
         r"numerical_gradient: h must be positive and finite, got inf"),
    case("numerical_gradient-h-array",
         lambda be: numerical_gradient(lambda v: be.xp.sum(v), F(be, [1.0]), h=F(be, 1e-4)), TypeError,
         r"numerical_gradient: h must be a positive finite number, got \w+ array"),
    case("numerical_gradient-f-not-scalar", lambda be: numerical_gradient(lambda v: v * 2.0, F(be, [1.0, 2.0, 3.0])),
         ValueError, r"numerical_gradient: f must return a scalar \(0-d array or float\), got shape \(3,\)"),
    case("numerical_gradient-f-returns-None", lambda be: numerical_gradient(lambda v: None, F(be, [1.0])), TypeError,
         r"numerical_gradient: f must return a scalar \(0-d array or float\), got NoneType None"),
    case("gradient_descent-step-num",
         lambda be: gradient_descent(lambda v: be.xp.sum(v * v), F(be, [1.0]), step_num=-1), ValueError,
         r"gradient_descent: step_num must be >= 0, got -1"),
    case("gradient_descent-int-x", lambda be: gradient_descent(lambda v: be.xp.sum(v * v), I(be, [1])), TypeError,
         rf"gradient_descent: x {FLOAT_ONLY}"),
    case("SimpleNet-W-shape", lambda be: SimpleNet(F(be, np.ones((3, 3)))), ValueError,
         r"SimpleNet: W must have shape \(2, 3\), got \(3, 3\)"),
    case("SimpleNet-W-int", lambda be: SimpleNet(I(be, np.ones((2, 3)))), TypeError, rf"SimpleNet: W {FLOAT_ONLY}"),
    case("SimpleNet-x-width", lambda be: SimpleNet(F(be, np.ones((2, 3)))).loss(F(be, np.ones((1, 3))), I(be, [0])),
         ValueError, r"SimpleNet\.loss: x must have shape \(2,\) or \(N, 2\) for W of shape \(2, 3\), got x \(1, 3\)"),
    case("SimpleNet.predict-x-0d", lambda be: SimpleNet(F(be, np.ones((2, 3)))).predict(F(be, 1.0)), ValueError,
         r"SimpleNet\.predict: x must have shape \(2,\) or \(N, 2\) .*got x \(\)"),
    case("SimpleNet.predict-W-shape",
         lambda be: SimpleNet(F(be, np.ones((2, 3)))).predict(F(be, [1.0, 2.0]), W=F(be, np.ones((2, 4)))), ValueError,
         r"SimpleNet\.predict: x must have shape \(2,\) or \(N, 2\) for W of shape \(2, 3\), .*W \(2, 4\)"),
    case("SimpleNet.predict-x-list", lambda be: SimpleNet(F(be, np.ones((2, 3)))).predict([1.0, 2.0]), TypeError,
         r"SimpleNet\.predict: x must be an array, got list"),
    case("SimpleNet-int-x", lambda be: SimpleNet(F(be, np.ones((2, 3)))).loss(I(be, [[1, 2]]), I(be, [0])),
         TypeError, rf"SimpleNet\.loss: x {FLOAT_ONLY}"),
]

ARRAY_CASES = [*ACTIVATION_CASES, *LOSS_FUNCTION_CASES, *RELU_SIGMOID_CASES, *AFFINE_CASES,
               *SOFTMAX_WITH_LOSS_CASES, *NET_CASES, *PARAMS_CASES, *NUMERICAL_AND_SIMPLE_NET_CASES]


@pytest.mark.parametrize(("call", "exc", "match"), ARRAY_CASES)
def test_bad_array_input_is_reported(backend, call, exc, match):
    with pytest.raises(exc, match=match):
        call(backend)


# --- inputs that do not depend on a backend ---------------------------------------------------
def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file holding ``array`` as uint8."""
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.asarray(array, dtype=np.uint8).tobytes()


def write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def mnist_dir(tmp: Path, train_labels=(0, 1), test_labels=(0,), train_images: int = 2) -> Path:
    """A tiny MNIST-format directory (2x2 images) with the given labels."""
    files = {
        "train-images-idx3-ubyte": np.zeros((train_images, 2, 2)),
        "train-labels-idx1-ubyte": np.array(train_labels),
        "t10k-images-idx3-ubyte": np.zeros((len(test_labels), 2, 2)),
        "t10k-labels-idx1-ubyte": np.array(test_labels),
    }
    for name, array in files.items():
        write(tmp, name, idx_bytes(array))
    return tmp


def truncated_gzip(tmp: Path) -> Path:
    data = gzip.compress(idx_bytes(np.arange(100).reshape(10, 10)), mtime=0)
    return write(tmp, "t.gz", data[: len(data) // 2])


def two_layer(**kw) -> TwoLayerNet:
    return TwoLayerNet(4, 3, 3, **kw)


def sized(name: str, value: Any) -> TwoLayerNet:
    return TwoLayerNet(**{"input_size": 4, "hidden_size": 3, "output_size": 3, name: value})


NO_TORCH = None if HAS_TORCH else "torch is not installed"
NO_JAX = None if HAS_JAX else "jax is not installed"
TORCH_SEES_CUDA = HAS_TORCH and __import__("torch").cuda.is_available()
CUPY_USABLE = "cupy" in xpnet.backends.usable_backends()
BAD_SIZES = [("input_size", 0), ("hidden_size", -1), ("output_size", np.int64(0))]
BAD_SIZE_TYPES = [("output_size", 2.0), ("hidden_size", True), ("input_size", "4"), ("output_size", None)]

CONSTRUCTOR_CASES = [
    *[case(f"TwoLayerNet-{name}-{value!r}", lambda tmp, name=name, value=value: sized(name, value), ValueError,
           rf"TwoLayerNet: {name} must be a positive int, got {re.escape(repr(value))}")
      for name, value in BAD_SIZES],
    *[case(f"TwoLayerNet-{name}-{value!r}", lambda tmp, name=name, value=value: sized(name, value), TypeError,
           rf"TwoLayerNet: {name} must be a positive int, got {type(value).__name__} {re.escape(repr(value))}")
      for name, value in BAD_SIZE_TYPES],
    case("TwoLayerNet-activation-name", lambda tmp: two_layer(activation="tanh"), ValueError,
         r"TwoLayerNet: activation must be one of \['relu', 'sigmoid'\], got 'tanh'"),
    case("TwoLayerNet-activation-case", lambda tmp: two_layer(activation="ReLU"), ValueError,
         r"TwoLayerNet: activation must be one of \['relu', 'sigmoid'\], got 'ReLU'"),
    case("TwoLayerNet-activation-None", lambda tmp: two_layer(activation=None), TypeError,
         r"TwoLayerNet: activation must be one of \['relu', 'sigmoid'\], got NoneType None"),
    case("TwoLayerNet-activation-list", lambda tmp: two_layer(activation=["relu"]), TypeError,
         r"TwoLayerNet: activation must be one of \['relu', 'sigmoid'\], got list \['relu'\]"),
    case("TwoLayerNet-dtype-float16", lambda tmp: two_layer(dtype="float16"), TypeError,
         r"TwoLayerNet: dtype must be float32 or float64, got 'float16'"),
    case("TwoLayerNet-dtype-int64", lambda tmp: two_layer(dtype="int64"), TypeError,
         r"TwoLayerNet: dtype must be float32 or float64, got 'int64'"),
    case("TwoLayerNet-dtype-np.int32", lambda tmp: two_layer(dtype=np.int32), TypeError,
         r"TwoLayerNet: dtype must be float32 or float64, got .*int32"),
    case("TwoLayerNet-seed-negative", lambda tmp: two_layer(seed=-1), ValueError,
         r"TwoLayerNet: seed must be a non-negative int or None, got -1"),
    case("TwoLayerNet-seed-float", lambda tmp: two_layer(seed=1.5), ValueError,
         r"TwoLayerNet: seed must be a non-negative int or None, got 1\.5"),
    case("TwoLayerNet-seed-str", lambda tmp: two_layer(seed="0"), ValueError,
         r"TwoLayerNet: seed must be a non-negative int or None, got '0'"),
    case("TwoLayerNet-backend-name", lambda tmp: two_layer(backend="tensorflow"), ValueError,
         r"TwoLayerNet: unknown backend 'tensorflow'; choose one of numpy, array_api_strict, torch, jax, cupy"),
    case("TwoLayerNet-backend-None", lambda tmp: two_layer(backend=None), TypeError,
         r"TwoLayerNet: backend must be a name \(numpy, .*\), an array namespace module or a Backend, got NoneType"),
    case("TwoLayerNet-strict-device-name", lambda tmp: two_layer(backend="array_api_strict", device="device9"),
         ValueError, r"TwoLayerNet: array_api_strict has no device 'device9'"),
    case("TwoLayerNet-numpy-device", lambda tmp: two_layer(device="cuda:0"), ValueError,
         r"TwoLayerNet: NumPy arrays live on the CPU only; got device 'cuda:0'"),
    case("TwoLayerNet-weight-init-std-nan", lambda tmp: two_layer(weight_init_std=float("nan")), ValueError,
         r"TwoLayerNet: weight_init_std must be a finite number, got nan"),
    case("TwoLayerNet-weight-init-std-inf", lambda tmp: two_layer(weight_init_std=float("inf")), ValueError,
         r"TwoLayerNet: weight_init_std must be a finite number, got inf"),
    case("TwoLayerNet-weight-init-std-str", lambda tmp: two_layer(weight_init_std="big"), TypeError,
         r"TwoLayerNet: weight_init_std must be a finite number, got str 'big'"),
    case("TwoLayerNet-weight-init-std-None", lambda tmp: two_layer(weight_init_std=None), TypeError,
         r"TwoLayerNet: weight_init_std must be a finite number, got NoneType None"),
    case("TwoLayerNet.to-backend-name", lambda tmp: two_layer().to(backend="tf"), ValueError,
         r"TwoLayerNet\.to: unknown backend or device 'tf': not a backend \(numpy, .*\) nor a device of numpy"),
    case("SimpleNet-seed-negative", lambda tmp: SimpleNet(seed=-2), ValueError,
         r"SimpleNet: seed must be a non-negative int or None, got -2"),
    case("SimpleNet-backend-name", lambda tmp: SimpleNet(backend="tf"), ValueError, r"SimpleNet: unknown backend 'tf'"),
    case("SimpleNet-dtype-int", lambda tmp: SimpleNet(dtype="int64"), TypeError,
         r"SimpleNet: dtype must be float32 or float64, got 'int64'"),
    case("SimpleNet-numpy-device", lambda tmp: SimpleNet(device="cuda:0"), ValueError,
         r"SimpleNet: NumPy arrays live on the CPU only; got device 'cuda:0'"),
]

BACKEND_CASES = [
    case("get_backend-unknown-name", lambda tmp: get_backend("tensorflow"), ValueError,
         r"unknown backend 'tensorflow'; choose one of numpy, array_api_strict, torch, jax, cupy"),
    case("get_backend-not-a-name", lambda tmp: get_backend(123), TypeError,
         r"backend must be a name \(numpy, array_api_strict, torch, jax, cupy, or an importable array-API module .*\), "
         r"an array namespace module or a Backend, got int 123"),
    case("get_backend-None", lambda tmp: get_backend(None), TypeError,
         r"backend must be a name \(numpy, .*\), an array namespace module or a Backend, got NoneType None"),
    case("get_backend-unknown-module", lambda tmp: get_backend(re), ValueError,
         r"re is not an array namespace: it has no asarray"),
    case("get_backend-numpy-gpu", lambda tmp: get_backend("numpy", "cuda"), ValueError,
         r"NumPy arrays live on the CPU only; got device 'cuda'"),
    case("get_backend-strict-device-name", lambda tmp: get_backend("array_api_strict", "device9"), ValueError,
         r"array_api_strict has no device 'device9'; choose one of .*CPU_DEVICE.*device1"),
    case("get_backend-torch-device-name", lambda tmp: get_backend("torch", "bogus"), ValueError,
         r"torch has no device 'bogus'; use 'cpu', 'cuda:N' or 'mps'", skip=NO_TORCH),
    case("get_backend-torch-device-type", lambda tmp: get_backend("torch", 2.5), TypeError,
         r"torch device must be a str such as 'cpu', 'cuda:0' or 'mps', an int or a torch\.device, got float 2\.5",
         skip=NO_TORCH),
    case("get_backend-torch-cuda-without-gpu", lambda tmp: get_backend("torch", "cuda"), BackendError,
         r"device 'cuda' asked for, but (this PyTorch .* is a CPU-only build|PyTorch .* cannot use a GPU)",
         skip=NO_TORCH or ("this PyTorch sees a CUDA GPU" if TORCH_SEES_CUDA else None)),
    case("get_backend-jax-device-index", lambda tmp: get_backend("jax", "cpu:7"), ValueError,
         r"JAX has \d+ cpu device\(s\); index 7 is out of range", skip=NO_JAX),
    case("get_backend-jax-device-spec", lambda tmp: get_backend("jax", "cpu:x"), ValueError,
         r"bad device 'cpu:x': expected 'kind' or 'kind:index'", skip=NO_JAX),
    case("get_backend-jax-device-kind", lambda tmp: get_backend("jax", "bogus"), BackendError,
         r"JAX has no 'bogus' devices here", skip=NO_JAX),
    case("get_backend-cupy-unusable", lambda tmp: get_backend("cupy"), BackendError,
         r"(backend 'cupy' is not installed|cupy is installed but not usable here)",
         skip="CuPy is usable here" if CUPY_USABLE else None),
    *[case(f"SGD-lr-{lr}", lambda tmp, lr=lr: SGD(lr), ValueError,
           rf"SGD: lr must be positive and finite, got {re.escape(repr(lr))}")
      for lr in (0, -0.1, float("nan"), float("inf"), float("-inf"))],
    case("SGD-lr-str", lambda tmp: SGD("fast"), TypeError, r"SGD: lr must be a positive finite number, got str 'fast'"),
    case("SGD-lr-None", lambda tmp: SGD(None), TypeError,
         r"SGD: lr must be a positive finite number, got NoneType None"),
    case("SGD-lr-bool", lambda tmp: SGD(True), TypeError, r"SGD: lr must be a positive finite number, got bool True"),
    case("numerical_diff-h-zero", lambda tmp: numerical_diff(lambda v: v * v, 1.0, h=0), ValueError,
         r"numerical_diff: h must be positive and finite, got 0"),
    case("numerical_diff-h-nan", lambda tmp: numerical_diff(lambda v: v * v, 1.0, h=float("nan")), ValueError,
         r"numerical_diff: h must be positive and finite, got nan"),
    case("numerical_diff-h-str", lambda tmp: numerical_diff(lambda v: v * v, 1.0, h="1e-4"), TypeError,
         r"numerical_diff: h must be a positive finite number, got str '1e-4'"),
]

DATASET_CASES = [
    case("read_idx-truncated", lambda tmp: ds.read_idx(write(tmp, "t.idx", idx_bytes(np.arange(10))[:-5])),
         DataFileError, r"t\.idx: truncated: header says 10 uint8 \(10 bytes\) but only 5 bytes follow"),
    case("read_idx-trailing-bytes", lambda tmp: ds.read_idx(write(tmp, "t.idx", idx_bytes(np.arange(3)) + b"xx")),
         DataFileError, r"t\.idx: trailing bytes: header says 3 uint8 \(3 bytes\) but 5 bytes follow"),
    case("read_idx-truncated-header", lambda tmp: ds.read_idx(write(tmp, "t.idx", b"\x00\x00\x08\x03\x00\x00")),
         DataFileError, r"t\.idx: truncated: header says 3 dimensions \(12 bytes\) but only 2 bytes follow"),
    case("read_idx-truncated-gzip", lambda tmp: ds.read_idx(truncated_gzip(tmp)), DataFileError,
         r"t\.gz: corrupt gzip stream"),
    case("read_idx-bad-magic", lambda tmp: ds.read_idx(write(tmp, "t.idx", b"\x01\x02\x08\x01\x00\x00\x00\x01\x00")),
         DataFileError, r"t\.idx: bad magic number 0x01020801"),
    case("read_idx-type-code", lambda tmp: ds.read_idx(write(tmp, "t.idx", idx_bytes(np.arange(2), code=0x07))),
         DataFileError, r"t\.idx: unknown IDX type code 0x07"),
    case("read_idx-empty-file", lambda tmp: ds.read_idx(write(tmp, "t.idx", b"")), DataFileError,
         r"t\.idx: empty file, not an IDX file"),
    case("read_idx-missing-file", lambda tmp: ds.read_idx(tmp / "nope.idx"), DataFileError,
         r"nope\.idx: no such file"),
    case("read_idx-directory", lambda tmp: ds.read_idx(tmp), DataFileError, r"(is a directory|not a regular file)"),
    case("read_idx-not-a-path", lambda tmp: ds.read_idx(3), TypeError,
         r"read_idx: path must be a str or os\.PathLike, got int"),
    case("load_mnist-missing-dir", lambda tmp: ds.load_mnist(data_dir=tmp / "missing"), DataFileError,
         r"missing: data directory does not exist"),
    case("load_mnist-dir-is-file", lambda tmp: ds.load_mnist(data_dir=write(tmp, "f.txt", b"x")), DataFileError,
         r"f\.txt: data_dir is not a directory"),
    case("load_mnist-empty-dir", lambda tmp: ds.load_mnist(data_dir=tmp), DataFileError,
         r"missing train-images-idx3-ubyte \(or train-images-idx3-ubyte\.gz\)"),
    case("load_mnist-path-positional", lambda tmp: ds.load_mnist(str(tmp)), TypeError,
         r"load_mnist: normalize must be a bool, got str .*; pass a directory as data_dir=\.\.\."),
    case("load_mnist-data-dir-int", lambda tmp: ds.load_mnist(data_dir=3), TypeError,
         r"data_dir must be a str or os\.PathLike, got int"),
    case("load_mnist-label-out-of-range", lambda tmp: ds.load_mnist(data_dir=mnist_dir(tmp, train_labels=(0, 10)), num_classes=10),
         DataFileError, r"train-labels-idx1-ubyte: label 10 at index 1 is outside 0\.\.9 for num_classes=10"),
    case("load_mnist-count-mismatch", lambda tmp: ds.load_mnist(data_dir=mnist_dir(tmp, train_images=3)),
         DataFileError, r"train-images-idx3-ubyte has 3 images but .*train-labels-idx1-ubyte has 2 labels"),
]

HOST_CASES = [*CONSTRUCTOR_CASES, *BACKEND_CASES, *DATASET_CASES]


@pytest.mark.parametrize(("call", "exc", "match"), HOST_CASES)
def test_bad_host_input_is_reported(tmp_path, call, exc, match):
    with pytest.raises(exc, match=match):
        call(tmp_path)


# --- arrays of two backends, arrays on two devices --------------------------------------------
def other_backend(be):
    """A second backend to mix with ``be``: NumPy, or array_api_strict when ``be`` is NumPy."""
    return get_backend("array_api_strict" if be.name == "numpy" else "numpy")


def mixed(case_id: str, call: Callable, where: str) -> tuple[str, Callable, str]:
    """``call(a, b)`` mixes arrays of ``a`` and ``b``; ``where`` is the name the message must start with."""
    return case_id, call, where


# call(a, b): a and b are Backends; the first array comes from a, the offending one from b
MIXES = [
    mixed("mean_squared_error", lambda a, b: mean_squared_error(F(a, [1.0]), F(b, [1.0])), "mean_squared_error"),
    mixed("cross_entropy_error", lambda a, b: cross_entropy_error(probs(a), I(b, [1, 2])), "cross_entropy_error"),
    mixed("Affine-W-b", lambda a, b: Affine(F(a, np.ones((2, 3))), F(b, np.ones(3))), "Affine"),
    mixed("Affine.forward", lambda a, b: affine(a).forward(F(b, np.ones((2, 4)))), r"Affine\.forward"),
    mixed("Affine.backward",
          lambda a, b: after_forward(affine(a), F(a, np.ones((2, 4)))).backward(F(b, np.ones((2, 3)))),
          r"Affine\.backward"),
    mixed("Relu.backward", lambda a, b: after_forward(Relu(), F(a, X23)).backward(F(b, X23)), r"Relu\.backward"),
    mixed("Sigmoid.backward", lambda a, b: after_forward(Sigmoid(), F(a, X23)).backward(F(b, X23)),
          r"Sigmoid\.backward"),
    mixed("SoftmaxWithLoss.forward", lambda a, b: swl(a, I(b, [0, 1])), r"SoftmaxWithLoss\.forward"),
    mixed("SoftmaxWithLoss.backward",
          lambda a, b: after_forward(SoftmaxWithLoss(), F(a, X23), I(a, [0, 1])).backward(F(b, 1.0)),
          r"SoftmaxWithLoss\.backward"),
    mixed("TwoLayerNet.loss-x", lambda a, b: net(a).loss(x4(b), I(a, [0, 1])), r"TwoLayerNet\.\w+"),
    mixed("TwoLayerNet.loss-t", lambda a, b: net(a).loss(x4(a), I(b, [0, 1])), NET_OR_SWL),
    mixed("TwoLayerNet.accuracy-t", lambda a, b: net(a).accuracy(x4(a), I(b, [0, 1])), r"TwoLayerNet\.accuracy"),
    mixed("TwoLayerNet.params", lambda a, b: set_param(net(a).params, "W1", F(b, np.ones((4, 3)))),
          r"TwoLayerNet\.params\['W1'\]"),
    mixed("TwoLayerNet.params-b2", lambda a, b: set_param(net(a).params, "b2", F(b, np.zeros(3))),
          r"TwoLayerNet\.params\['b2'\]"),
    mixed("SimpleNet.predict", lambda a, b: SimpleNet(F(a, np.ones((2, 3)))).predict(F(b, [1.0, 2.0])),
          r"SimpleNet\.predict"),
]
MIXED_CASES = [case(i, call, match=where) for i, call, where in MIXES]
DEVICE_CASES = [case(i, call, match=where) for i, call, where in MIXES]


@pytest.mark.parametrize(("call", "exc", "match"), MIXED_CASES)
def test_arrays_from_two_backends_are_reported(backend, call, exc, match):
    other = other_backend(backend)
    with pytest.raises(TypeError, match=rf"{match}: arrays from different backends cannot be mixed: got ") as info:
        call(backend, other)
    message = str(info.value)
    assert backend.name in message and other.name in message, message


@pytest.mark.parametrize("devices", [(None, "device1"), ("device1", None)],
                         ids=["default-vs-device1", "device1-vs-default"])
@pytest.mark.parametrize(("call", "exc", "match"), DEVICE_CASES)
def test_arrays_on_two_devices_are_reported(devices, call, exc, match):
    a, b = (get_backend("array_api_strict", d) for d in devices)
    with pytest.raises(ValueError, match=rf"{match}: arrays on different devices cannot be combined: ") as info:
        call(a, b)
    message = str(info.value)
    assert "CPU_DEVICE" in message and "device1" in message, message


# --- NaN and inf propagate visibly ----------------------------------------------------------
NAN_ROW = [[np.nan, 0.5, -0.5], [0.1, 0.2, 0.3]]
INF_ROW = [[np.inf, 0.5, -0.5], [0.1, 0.2, 0.3]]


def x4_with(be, value):
    """:func:`x4` with one entry replaced by ``value``."""
    x = np.linspace(-1, 1, 8).reshape(2, 4)
    x[0, 1] = value
    return F(be, x)


def net_loss(be, activation: str, value: float):
    return net(be, activation=activation).loss(x4_with(be, value), I(be, [0, 1]))


NAN_WEIGHTS = {"W1": np.full((4, 3), np.nan), "b1": np.zeros(3), "W2": np.ones((3, 3)), "b2": np.zeros(3)}

NAN_CASES = [
    case("softmax-nan", lambda be: softmax(F(be, NAN_ROW))),
    case("softmax-inf", lambda be: softmax(F(be, INF_ROW))),
    case("log_softmax-nan", lambda be: log_softmax(F(be, NAN_ROW))),
    case("sigmoid-nan", lambda be: sigmoid(F(be, NAN_ROW))),
    case("Sigmoid.forward-nan", lambda be: Sigmoid().forward(F(be, NAN_ROW))),
    case("Relu.forward-nan", lambda be: Relu().forward(F(be, NAN_ROW))),
    case("relu-nan", lambda be: relu(F(be, NAN_ROW))),
    case("Affine.forward-nan", lambda be: affine(be, d=3).forward(F(be, NAN_ROW))),
    case("mean_squared_error-nan", lambda be: mean_squared_error(F(be, NAN_ROW), F(be, np.zeros((2, 3))))),
    case("cross_entropy_error-nan", lambda be: cross_entropy_error(F(be, NAN_ROW), I(be, [1, 1]))),
    case("SoftmaxWithLoss-nan", lambda be: swl(be, I(be, [1, 1]), x=NAN_ROW)),
    case("SoftmaxWithLoss-inf", lambda be: swl(be, I(be, [1, 1]), x=INF_ROW)),
    case("SoftmaxWithLoss-nan-one-hot", lambda be: swl(be, F(be, [[np.nan, 1, 0], [0, 1, 0]]))),
    case("SoftmaxWithLoss.backward-nan",
         lambda be: after_forward(SoftmaxWithLoss(), F(be, NAN_ROW), I(be, [1, 1])).backward()),
    # a sigmoid net maps +-inf inputs to its finite limit, which is right: only NaN is listed for it
    *[case(f"TwoLayerNet-{act}-{name}", lambda be, act=act, v=v: net_loss(be, act, v))
      for act, name, v in (("relu", "nan", np.nan), ("sigmoid", "nan", np.nan), ("relu", "inf", np.inf),
                           ("relu", "-inf", -np.inf))],
    *[case(f"TwoLayerNet.gradient-{act}-nan",
           lambda be, act=act: net(be, activation=act).gradient(x4_with(be, np.nan), I(be, [0, 1]))["W1"])
      for act in ("relu", "sigmoid")],
    case("TwoLayerNet-nan-weights", lambda be: net(be, params=NAN_WEIGHTS).loss(x4(be), I(be, [0, 1]))),
    *[case(f"TwoLayerNet.accuracy-{name}", lambda be, v=v: net(be).accuracy(x4_with(be, v), I(be, [0, 1])))
      for name, v in (("nan", np.nan), ("inf", np.inf))],
]


def test_accuracy_of_diverged_weights_warns_and_counts_them_wrong(backend):
    """The book's batch_norm_test.py measures diverged networks: a number, with a warning, never an argmax of NaN."""
    with pytest.warns(RuntimeWarning, match="NaN or infinite.*count as misclassified"):
        assert net(backend, params=NAN_WEIGHTS).accuracy(x4(backend), I(backend, [0, 1])) == 0.0


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # NumPy's note on inf - inf
@pytest.mark.parametrize(("call", "exc", "match"), NAN_CASES)
def test_nan_and_inf_propagate_visibly(backend, call, exc, match):
    """The result holds a NaN/inf (or xpnet raises naming NaN/inf): never a silently finite answer."""
    try:
        out = call(backend)
    except (ValueError, ArithmeticError) as err:
        assert re.search(r"(?i)nan|inf|finite", str(err)), str(err)
        return
    host = np.asarray(to_np(out), dtype=np.float64)
    assert not np.all(np.isfinite(host)), f"finite result {host!r} from non-finite input"
