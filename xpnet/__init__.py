"""xpnet: Deep Learning from Scratch (chapters 4-7) for NumPy, CuPy, PyTorch, JAX and any array-API library."""

from __future__ import annotations

from . import backends, functions, gradient, layers, nets, optim, util
from ._version import __version__
from .backends import Backend, available, get_backend
from .errors import BackendError, CheckpointBackendError, CheckpointError, DataFileError, TrainingDiverged, XpnetError
from .functions import (
    cross_entropy_error,
    identity_function,
    log_softmax,
    mean_squared_error,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    softmax_cross_entropy,
    step_function,
)
from .datasets import load_fashion_mnist, load_mnist
from .gradcheck import GradientCheckResult, gradient_check
from .gradient import gradient_descent, numerical_diff, numerical_gradient
from .io import plot
from .io.checkpoint import load, save
from .io.plot import plot_history
from .layers import AddLayer, Affine, BatchNormalization, Convolution, Dropout, MulLayer, Pooling, Relu, Sigmoid, SoftmaxWithLoss
from .nets import MultiLayerNet, MultiLayerNetExtend, SimpleConvNet, SimpleNet, TwoLayerNet
from .optim import SGD, AdaGrad, Adam, Momentum, Nesterov, Optimizer, RMSprop, get_optimizer
from .params import Params
from .training import History, Trainer, train

__all__ = [
    "AdaGrad",
    "Adam",
    "AddLayer",
    "Affine",
    "Backend",
    "BackendError",
    "BatchNormalization",
    "CheckpointBackendError",
    "CheckpointError",
    "Convolution",
    "DataFileError",
    "Dropout",
    "GradientCheckResult",
    "History",
    "Momentum",
    "MulLayer",
    "MultiLayerNet",
    "MultiLayerNetExtend",
    "Nesterov",
    "Optimizer",
    "Params",
    "Pooling",
    "RMSprop",
    "Relu",
    "SGD",
    "Sigmoid",
    "SimpleConvNet",
    "SimpleNet",
    "SoftmaxWithLoss",
    "Trainer",
    "TrainingDiverged",
    "TwoLayerNet",
    "XpnetError",
    "__version__",
    "available",
    "backends",
    "cross_entropy_error",
    "functions",
    "get_backend",
    "get_optimizer",
    "gradient",
    "gradient_check",
    "gradient_descent",
    "identity_function",
    "layers",
    "load",
    "load_fashion_mnist",
    "load_mnist",
    "log_softmax",
    "mean_squared_error",
    "nets",
    "numerical_diff",
    "numerical_gradient",
    "optim",
    "plot",
    "plot_history",
    "relu",
    "relu_grad",
    "save",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "softmax_cross_entropy",
    "step_function",
    "train",
    "util",
]
