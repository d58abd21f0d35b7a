"""The ``xpnet`` command: ``train``, ``gradcheck`` and ``info``.

User mistakes (unknown backend, unreadable data, bad numbers) print one line and exit 2.
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .._version import __version__
from .common import EXIT_USAGE, UsageError, OneLineParser, backend_from_args, fraction, non_negative_int, positive_float, positive_int

__all__ = ["build_parser", "main"]

def _add_backend_options(p: argparse.ArgumentParser, dtype_default: str | None, shown: str) -> None:
    p.add_argument("--backend", default="numpy", help="array backend: numpy, array_api_strict, torch, jax or cupy (default: numpy)")
    p.add_argument("--device", default=None, help="device on the backend, e.g. cpu, cuda:0, device1 (default: the backend's default)")
    p.add_argument("--dtype", default=dtype_default, choices=["float32", "float64"], help=f"floating dtype (default: {shown})")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``xpnet`` command."""
    parser = OneLineParser(prog="xpnet", description="Deep Learning from Scratch (chapters 4-5) on any array-API backend.")
    parser.add_argument("--version", action="version", version=f"xpnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train TwoLayerNet on MNIST (defaults: the book's chapter-5 run)",
                       description="Train TwoLayerNet on MNIST with mini-batch SGD. Defaults are the book's run: "
                       "784-50-10, ReLU, lr 0.1, batch 100, 10,000 iterations, accuracy once per epoch.")
    _add_backend_options(t, None, "float32, or the checkpoint's with --resume")
    t.add_argument("--iters", type=non_negative_int, default=None, help="total training iterations (default: 10000)")
    t.add_argument("--batch-size", type=positive_int, default=None, help="mini-batch size (default: 100)")
    t.add_argument("--lr", type=positive_float, default=None, help="SGD learning rate (default: 0.1)")
    t.add_argument("--hidden-size", type=positive_int, default=None, help="hidden layer width (default: 50)")
    t.add_argument("--activation", choices=["relu", "sigmoid"], default=None, help="hidden activation (default: relu)")
    t.add_argument("--weight-init-std", type=positive_float, default=None, help="std of the initial weights (default: 0.01)")
    t.add_argument("--seed", type=non_negative_int, default=None, help="random seed for weights and batches (default: random, printed)")
    t.add_argument("--eval-every", type=positive_int, default=None, help="iterations between evaluations (default: one epoch)")
    t.add_argument("--val-split", type=fraction, default=None, help="fraction of the training set held out for validation (default: 0)")
    t.add_argument("--patience", type=positive_int, default=None,
                   help="stop after N evaluations without better validation accuracy, keeping the best parameters (needs --val-split)")
    t.add_argument("--gradient", choices=["backprop", "numerical"], default=None, help="how gradients are computed (default: backprop)")
    t.add_argument("--data-dir", default=None, help="directory with the four MNIST-format IDX files (default: the embedded MNIST)")
    t.add_argument("--save", metavar="PATH", default=None, help="write a checkpoint (.npz) at the end, on Ctrl-C, and keep the old one on divergence")
    t.add_argument("--resume", metavar="PATH", default=None, help="continue the run stored in a checkpoint written with --save")
    t.add_argument("--plot", metavar="PATH", default=None, help="write a PNG with the loss curve and the accuracy curves")
    t.add_argument("--history", metavar="PATH", default=None, help="write the training history as JSON")
    t.add_argument("--threads", type=positive_int, default=None, help="native threads for training steps (default: 1)")
    t.add_argument("--eval-threads", type=positive_int, default=None,
                   help="native threads for evaluation (default: all cores; 1 can be faster on a busy machine)")
    t.add_argument("--data-parallel", metavar="N", type=positive_int, default=None,
                   help="JAX: split every batch over N devices, parameters replicated (on the CPU, set "
                   "XLA_FLAGS=--xla_force_host_platform_device_count=N first); the batch size must divide by N")
    t.add_argument("--eager", action="store_true", help="run the step op by op instead of compiled (JAX compiles it by default)")
    t.add_argument("--quiet", action="store_true", help="print only the final summary")
    t.set_defaults(func=_cmd_train)

    g = sub.add_parser("gradcheck", help="the book's gradient check on 3 MNIST images",
                       description="Compare backprop and numerical gradients of TwoLayerNet(784, 50, 10) on 3 MNIST images (in float64).")
    _add_backend_options(g, "float64", "float64")
    g.add_argument("--activation", choices=["relu", "sigmoid"], default="relu", help="hidden activation (default: relu)")
    g.add_argument("--seed", type=non_negative_int, default=0, help="seed of the initial weights (default: 0)")
    g.add_argument("--threshold", type=positive_float, default=1e-7, help="largest acceptable mean absolute difference (default: 1e-7)")
    g.add_argument("--data-dir", default=None, help="directory with MNIST-format IDX files (default: the embedded MNIST)")
    g.set_defaults(func=_cmd_gradcheck)

    i = sub.add_parser("info", help="version and the array backends usable on this machine")
    i.set_defaults(func=_cmd_info)

    return parser


def _cmd_info(args: argparse.Namespace) -> int:
    from ..backends import available

    import numpy as np

    print(f"xpnet {__version__} (Python {platform.python_version()}, NumPy {np.__version__})")
    for info in available():
        state = "usable" if info.usable else ("installed, not usable" if info.installed else "not installed")
        devices = ", ".join(info.devices) if info.devices else "-"
        print(f"  {info.name:<17} {state:<22} devices: {devices}")
        if not info.usable:
            print(f"  {'':<17} {info.reason}")
    return 0


def _cmd_gradcheck(args: argparse.Namespace) -> int:
    from ..datasets import load_mnist
    from ..gradcheck import gradient_check
    from ..nets import TwoLayerNet

    be = backend_from_args(args, "float64")
    (x_train, t_train), _ = load_mnist(data_dir=args.data_dir)
    net = TwoLayerNet(784, 50, 10, activation=args.activation, backend=be, dtype=args.dtype, seed=args.seed)
    x = be.asarray(x_train[:3], dtype=args.dtype)
    t = be.asarray(t_train[:3])
    result = gradient_check(net, x, t)
    book = {"W1": 4e-10, "b1": 2.5e-9, "W2": 5.5e-9, "b2": 1.4e-7}
    print(f"gradient check on 3 MNIST images ({be}, float64 numerical vs backprop):")
    for key, diff in result.mean_abs_diff.items():
        print(f"  {key}: {diff:.2e}   (book: {book[key]:.1e})   max rel err {result.max_rel_error[key]:.1e}")
    worst = result.worst()
    if worst > args.threshold:
        print(f"FAILED: largest difference {worst:.2e} exceeds {args.threshold:.1e}", file=sys.stderr)
        return 1
    print(f"OK: every difference is below {args.threshold:.1e}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .train import run_train

    return run_train(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xpnet`` console script; returns the exit status."""
    from ..errors import BackendError, CheckpointError, DataFileError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except (UsageError, BackendError, DataFileError, CheckpointError) as exc:
        print(f"xpnet {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
