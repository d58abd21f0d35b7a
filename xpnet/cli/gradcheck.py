"""``xpnet gradcheck``: backprop against central differences (float64) for the book's networks, on the first images.

``--model two-layer`` is chapter 5's check (TwoLayerNet(784, 50, 10), with the book's printed
figures beside ours), ``multi-layer`` chapter 6's check of Batch Normalization
(MultiLayerNetExtend(784, [100, 100], 10)), ``convnet`` chapter 7's (a SimpleConvNet of 10 3x3
filters and 10 hidden units on random 10x10 inputs, as the book's).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from .common import UsageError, backend_from_args, load_dataset
from .models import build_network, check_applies, model_of
from .resume import given_options

__all__ = ["BOOK", "run_gradcheck"]

#: The book's figures (chapter 5.7.3: TwoLayerNet on 3 images), mean |backprop - numerical| per parameter.
BOOK = {"two-layer": {"W1": 4e-10, "b1": 2.5e-9, "W2": 5.5e-9, "b2": 1.4e-7}}
#: Images checked.
IMAGES = 3
#: The networks checked, per model (the options given replace these).
NETWORKS: dict[str, dict[str, Any]] = {
    "two-layer": {"hidden_size": 50, "activation": "relu", "weight_init_std": 0.01},
    "multi-layer": {"hidden_sizes": [100, 100], "activation": "relu", "weight_init_std": "relu", "batch_norm": False,
                    "dropout": None},
    "convnet": {"weight_init_std": 0.01},
}
#: Chapter 7's small SimpleConvNet: its convolution, hidden width and input side (the central pixels of each image).
SMALL_CONV = {"filter_num": 10, "filter_size": 3, "pad": 0, "stride": 1}
SMALL_HIDDEN = 10
SMALL_SIDE = 10
#: Steps of the central differences other than the book's 1e-4: the small convnet's pre-activations (weights of std
#: 0.01) lie within 1e-4 of the kinks of ReLU and max pooling often enough to spoil its check.
STEPS = {"convnet": 1e-7}


def _inputs(model: str, images: Any, seed: int) -> tuple[Any, tuple[int, ...], str]:
    """The inputs checked (float64), the networks' input shape, and the inputs in words.

    The images scaled to [0, 1] (load_mnist's scaling); for ``convnet`` random 10x10 inputs,
    uniform in [0, 1) as in the book's chapter 7 check: MNIST's background puts the convolution's
    outputs at exactly 0, the kink of ReLU, where central differences cannot agree with backprop.
    """
    import numpy as np

    if model == "convnet":
        x = np.random.default_rng(seed).random((len(images), 1, SMALL_SIDE, SMALL_SIDE))
        return x, (1, SMALL_SIDE, SMALL_SIDE), f"{len(x)} random {SMALL_SIDE}x{SMALL_SIDE} inputs (seed {seed}) labelled as the first images"
    from .._array.compat import NUMPY
    from .._array.ops import ops_for

    x = ops_for(NUMPY).to_float(np.asarray(images), np.dtype(np.float32)).astype(np.float64)  # load_mnist's scaling
    return x, (int(x.shape[1]),), f"{len(x)} images of {x.shape[1]} pixels"


def _network(args: argparse.Namespace, model: str, be: Any, input_dim: tuple[int, ...], classes: int) -> Any:
    """The float64 network checked: the model's, with the options given."""
    given = given_options(args)
    check_applies(given, model, f"--model {model}")
    s = {"model": model, "dtype": "float64", "seed": args.seed, "weight_decay": args.weight_decay or 0.0,
         **NETWORKS[model], **{key: value for key, (_, value) in given.items() if key in NETWORKS[model]}}
    try:
        return build_network(s, be, input_dim, classes, conv_param=SMALL_CONV, conv_hidden=SMALL_HIDDEN)
    except TypeError as exc:  # e.g. a device without float64
        raise UsageError(str(exc)) from exc


def run_gradcheck(args: argparse.Namespace) -> int:
    """Run ``xpnet gradcheck``; returns the exit status (0 every difference below ``--threshold``, 1 otherwise)."""
    from ..datasets import count_classes
    from ..gradcheck import gradient_check

    if args.dtype != "float64":
        raise UsageError(f"--dtype {args.dtype} does not apply: the gradient check runs in float64 "
                         "(central differences in float32 lose the digits it compares)")
    model = model_of(args)
    be = backend_from_args(args, "float64")
    ((x_train, t_train), (_, t_test)), dataset = load_dataset(args)
    host, input_dim, inputs = _inputs(model, x_train[:IMAGES], args.seed)
    net = _network(args, model, be, input_dim, count_classes(t_train, t_test))
    x, t = be.asarray(host, dtype="float64"), be.asarray(t_train[:IMAGES])
    count = sum(math.prod(p.shape) for p in net.params.values())
    print(f"computing numerical gradients of {count:,} parameters with {be} ...", flush=True)  # seconds, on some backends
    result = gradient_check(net, x, t, method="auto", h=STEPS.get(model, 1e-4))
    print(f"gradient check of {type(net).__name__} on {inputs} from {dataset} ({be}, float64 numerical vs backprop):")
    book = BOOK.get(model, {})
    for key, diff in result.mean_abs_diff.items():
        figure = f"   (book: {book[key]:.1e})" if key in book else ""
        print(f"  {key}: {diff:.2e}{figure}   max rel err {result.max_rel_error[key]:.1e}")
    worst = result.worst()
    if worst > args.threshold:
        print(f"FAILED: largest difference {worst:.2e} exceeds {args.threshold:.1e}", file=sys.stderr)
        return 1
    print(f"OK: every difference is below {args.threshold:.1e}")
    return 0
