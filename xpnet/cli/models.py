"""The networks of ``xpnet train`` and ``xpnet gradcheck``: ``--model`` and the options that shape it.

``two-layer`` is the book's chapter 5 network (TwoLayerNet), ``multi-layer`` its chapter 6
network (MultiLayerNetExtend: any depth, Batch Normalization, Dropout), ``convnet`` its chapter 7
network (SimpleConvNet). An option that shapes another model than the one chosen is refused,
never ignored.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from typing import Any

from ..nets.multi_layer_net import INIT_NAMES
from .common import UsageError

__all__ = [
    "CLASSES", "INIT_NAMES", "MODELS", "MODEL_DEFAULTS", "build_network", "check_applies", "describe_network",
    "hidden_sizes", "model_of", "weight_init",
]

MODELS = ("two-layer", "multi-layer", "convnet")
#: The network class of each model (a checkpoint's network must be of its run's model).
CLASSES = {"two-layer": "TwoLayerNet", "multi-layer": "MultiLayerNetExtend", "convnet": "SimpleConvNet"}

#: The settings of each model's book run that ``--model`` changes (the others are the command's, the same for all).
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "two-layer": {"hidden_size": 50, "hidden_sizes": None, "activation": "relu", "weight_init_std": 0.01, "batch_norm": False,
                  "dropout": None, "optimizer": "sgd", "lr": 0.1, "iters": 10_000, "epochs": None, "eval_samples": None},
    "multi-layer": {"hidden_size": None, "hidden_sizes": [100, 100, 100, 100, 100], "activation": "relu",
                    "weight_init_std": "relu", "batch_norm": False, "dropout": None, "optimizer": "sgd", "lr": 0.1,
                    "iters": 10_000, "epochs": None, "eval_samples": None},
    "convnet": {"hidden_size": None, "hidden_sizes": None, "activation": None, "weight_init_std": 0.01, "batch_norm": False,
                "dropout": None, "optimizer": "adam", "lr": 0.001, "iters": None, "epochs": 20, "eval_samples": 1000},
}
#: The models each network-shaping option applies to.
_APPLIES = {"hidden_size": ("two-layer",), "hidden_sizes": ("multi-layer",), "activation": ("two-layer", "multi-layer"),
            "batch_norm": ("multi-layer",), "dropout": ("multi-layer",)}
#: SimpleConvNet's layers besides the input and the classes: the book's chapter 7 network.
CONV_PARAM = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}
CONV_HIDDEN = 100


def hidden_sizes(text: str) -> list[int]:
    """An argparse type: ``100,100,100`` as a list of positive ints."""
    parts = text.split(",")
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        sizes = []
    if not sizes or any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers (e.g. 100,100,100), got {text!r}")
    return sizes


def weight_init(text: str) -> float | str:
    """An argparse type: a positive number (the std of the initial weights) or one of :data:`INIT_NAMES`."""
    if text.lower() in INIT_NAMES:
        return text.lower()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number or one of {', '.join(INIT_NAMES)}, got {text!r}")
    return value


def model_of(args: argparse.Namespace) -> str:
    """The model asked for: ``--model``, else multi-layer when ``--hidden-sizes`` is given, else two-layer."""
    if args.model is not None:
        return str(args.model)
    return "multi-layer" if getattr(args, "hidden_sizes", None) is not None else "two-layer"


def check_applies(given: Mapping[str, tuple[str, Any]], model: str, whose: str) -> None:
    """Refuse every network option in ``given`` (setting -> (flag, value)) that does not shape ``model``.

    ``whose`` names the model in the message: ``--model convnet`` or ``the run's model convnet``.
    """
    for key, (flag, value) in given.items():
        if key in _APPLIES and model not in _APPLIES[key]:
            takes = " and ".join(f"--model {m}" for m in _APPLIES[key])
            instead = "; --hidden-sizes N,N,... gives the widths of its hidden layers" if key == "hidden_size" and model == "multi-layer" else ""
            raise UsageError(f"{flag} does not apply to {whose}; it shapes {takes}{instead}")
        if key == "weight_init_std" and isinstance(value, str) and model != "multi-layer":
            raise UsageError(f"{flag} {value} does not apply to {whose}, whose initial weights have one std for all layers: "
                             f"give a number (e.g. {flag} 0.01); He's and Xavier's scales are for --model multi-layer")


def build_network(s: Mapping[str, Any], backend: Any, input_dim: tuple[int, ...], classes: int, *,
                  conv_param: Mapping[str, int] | None = None, conv_hidden: int = CONV_HIDDEN) -> Any:
    """The network of settings ``s`` for samples of shape ``input_dim`` ((C, H, W)) and ``classes`` classes.

    ``s`` holds ``model``, ``dtype``, ``seed``, ``weight_decay``, ``weight_init_std`` and the model's
    options (``hidden_size``; ``hidden_sizes``, ``activation``, ``batch_norm``, ``dropout``).
    Values the network refuses raise TypeError or ValueError.
    """
    from ..nets import MultiLayerNetExtend, SimpleConvNet, TwoLayerNet

    common = {"backend": backend, "dtype": s["dtype"], "seed": s["seed"], "weight_decay_lambda": s["weight_decay"]}
    width = math.prod(input_dim)
    if s["model"] == "two-layer":
        return TwoLayerNet(width, s["hidden_size"], classes, s["weight_init_std"], activation=s["activation"], **common)
    if s["model"] == "multi-layer":
        dropout = s["dropout"]
        return MultiLayerNetExtend(width, s["hidden_sizes"], classes, s["activation"], s["weight_init_std"],
                                   use_dropout=dropout is not None, dropout_ration=0.5 if dropout is None else dropout,
                                   use_batchnorm=s["batch_norm"], **common)
    return SimpleConvNet(input_dim, dict(CONV_PARAM if conv_param is None else conv_param), conv_hidden, classes,
                         s["weight_init_std"], **common)


def describe_network(net: Any) -> str:
    """The network in the header's words: ``TwoLayerNet(784, 50, 10, relu)``,
    ``MultiLayerNetExtend(784, [100, 100], 10, relu, batch norm, dropout 0.2)``,
    ``SimpleConvNet(conv 30x5x5 stride 1 pad 0, hidden 100)``."""
    c = net.config
    decay = [f"weight decay {net.weight_decay_lambda:g}"] if net.weight_decay_lambda else []
    name = type(net).__name__
    if name == "SimpleConvNet":
        p = c["conv_param"]
        parts = [f"conv {p['filter_num']}x{p['filter_size']}x{p['filter_size']} stride {p['stride']} pad {p['pad']}",
                 f"hidden {c['hidden_size']}"]
    elif "hidden_size_list" in c:
        parts = [str(c["input_size"]), str(c["hidden_size_list"]), str(c["output_size"]), c["activation"]]
        parts += ["batch norm"] * bool(c.get("use_batchnorm")) + [f"dropout {c['dropout_ration']:g}"] * bool(c.get("use_dropout"))
    else:
        parts = [str(c["input_size"]), str(c["hidden_size"]), str(c["output_size"]), c["activation"]]
    return f"{name}({', '.join(parts + decay)})"
