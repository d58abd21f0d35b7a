"""The ``xpnet`` command: ``train``, ``gradcheck`` and ``info``.

User mistakes (unknown backend, unreadable data, bad numbers, outputs that cannot be written)
print one line and exit 2; failures of the run itself print one line and exit 1.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from .._array.numbers import flag_names
from .._version import __version__
from ..optim import OPTIMIZER_NAMES
from .common import (
    EXIT_FAILURE, EXIT_USAGE, OneLineParser, UsageError, dropout_ratio, fraction, non_negative_float, non_negative_int, positive_float,
    positive_int,
)
from .models import MODELS, hidden_sizes, weight_init

__all__ = ["build_parser", "main"]

def _add_backend_options(p: argparse.ArgumentParser, dtype_default: str | None, shown: str, *, resumable: bool = False) -> None:
    also = ", or the checkpoint's with --resume" if resumable else ""
    p.add_argument("--backend", default=None if resumable else "numpy",
                   help=f"array backend: numpy, array_api_strict, torch, jax or cupy (default: numpy{also})")
    p.add_argument("--device", default=None, help=f"device on the backend, e.g. cpu, cuda:0, mps, device1 (default: the backend's default{also})")
    p.add_argument("--dtype", default=dtype_default, choices=["float32", "float64"], help=f"floating dtype (default: {shown})")


def _add_data_options(p: argparse.ArgumentParser, *, resumable: bool = False) -> None:
    also = ", or the resumed run's" if resumable else ""
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist",
                   help="mnist (default: the embedded copy, or the MNIST-format IDX files in --data-dir) or fashion-mnist "
                   "(its four .gz files in --data-dir, checked against the published sums)")
    p.add_argument("--data-dir", default=None,
                   help=f"directory with the four IDX files (train-images-idx3-ubyte[.gz], ...; default: the embedded MNIST{also})")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``xpnet`` command."""
    parser = OneLineParser(prog="xpnet", description="Deep Learning from Scratch (chapters 4-7) on any array-API backend.")
    parser.add_argument("--version", action="version", version=f"xpnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train_parser(sub)
    _add_gradcheck_parser(sub)
    i = sub.add_parser("info", help="version and the array backends usable on this machine")
    i.set_defaults(func=_cmd_info)
    return parser


def _add_network_options(p: argparse.ArgumentParser, *, train: bool) -> None:
    """``--model`` and the options that shape its network (train has more of them than gradcheck)."""
    p.add_argument("--model", choices=MODELS, default=None,
                   help="the network: two-layer (TwoLayerNet, chapter 5), multi-layer (MultiLayerNetExtend, chapter 6) or "
                   "convnet (SimpleConvNet, chapter 7) (default: two-layer; multi-layer with --hidden-sizes)")
    if train:
        p.add_argument("--hidden-size", type=positive_int, default=None, help="two-layer: hidden layer width (default: 50)")
    widths = "100,100,100,100,100" if train else "100,100, as the book's check of Batch Normalization"
    p.add_argument("--hidden-sizes", metavar="N,N,...", type=hidden_sizes, default=None,
                   help=f"multi-layer: widths of the hidden layers, comma-separated (default: {widths})")
    p.add_argument("--activation", choices=["relu", "sigmoid"], default=None,
                   help="two-layer and multi-layer: hidden activation (default: relu)")
    if train:
        p.add_argument("--weight-init", metavar="S", type=weight_init, default=None,
                       help="scale of the initial weights: a std, or for multi-layer relu/he (He: sqrt(2/n)) or "
                       "sigmoid/xavier (Xavier: sqrt(1/n)), n a layer's inputs (default: 0.01; multi-layer: relu)")
        p.add_argument("--weight-init-std", metavar="S", type=positive_float, default=None,
                       help="std of the initial weights, as --weight-init S")
    p.add_argument("--batch-norm", action="store_true", default=None,
                   help="multi-layer: Batch Normalization after every hidden Affine layer")
    p.add_argument("--dropout", metavar="RATIO", type=dropout_ratio, default=None,
                   help="multi-layer: Dropout after every hidden activation, dropping this fraction of the units in training")
    p.add_argument("--weight-decay", metavar="LAMBDA", type=non_negative_float, default=None,
                   help="L2 weight decay: 0.5 * LAMBDA * sum(W**2) over the weights added to the loss (default: 0)")


def _add_train_parser(sub: Any) -> None:
    t = sub.add_parser("train", help="train a network of the book on MNIST or Fashion-MNIST (defaults: the book's runs)",
                       description="Train a network of the book on MNIST (or Fashion-MNIST, or any MNIST-format set). "
                       "Defaults are the book's runs: two-layer 784-50-10 ReLU, SGD lr 0.1, batch 100, 10,000 iterations "
                       "(chapter 5); multi-layer 784-100x5-10 with He's initial weights, SGD lr 0.1, 10,000 iterations; "
                       "convnet SimpleConvNet (conv 30x5x5, hidden 100), Adam lr 0.001, batch 100, 20 epochs, evaluation "
                       "on the first 1000 images of each set (chapter 7). Accuracy once per epoch, in test mode.")
    _add_backend_options(t, None, "float32, or the checkpoint's with --resume", resumable=True)
    _add_network_options(t, train=True)
    t.add_argument("--optimizer", choices=OPTIMIZER_NAMES, default=None,
                   help="the update rule of chapter 6 (default: sgd; convnet: adam)")
    t.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate (default: 0.1 with sgd, 0.001 with adam for convnet; another optimizer: its own, "
                   "the book's 0.01 or Adam's 0.001)")
    t.add_argument("--iters", type=positive_int, default=None,
                   help="total training iterations, counting those of a resumed run (default: 10000; convnet: 20 epochs; "
                   "or the resumed run's)")
    t.add_argument("--epochs", type=positive_int, default=None,
                   help="the length in epochs instead: N * training images / batch size iterations (not with --iters)")
    t.add_argument("--batch-size", type=positive_int, default=None, help="mini-batch size (default: 100)")
    t.add_argument("--seed", type=non_negative_int, default=None, help="random seed for weights and batches (default: random, printed)")
    t.add_argument("--eval-every", type=positive_int, default=None, help="iterations between evaluations (default: one epoch)")
    t.add_argument("--eval-samples", metavar="N", type=positive_int, default=None,
                   help="measure each evaluation point on the first N images of each set, and the whole sets once at the end "
                   "(the book's evaluate_sample_num_per_epoch; default: all; convnet: 1000)")
    t.add_argument("--val-split", type=fraction, default=None, help="fraction of the training set held out for validation (default: 0)")
    t.add_argument("--patience", type=positive_int, default=None,
                   help="stop after N evaluations without better validation accuracy, keeping the best parameters (needs --val-split)")
    t.add_argument("--gradient", choices=["backprop", "numerical"], default=None, help="how gradients are computed (default: backprop)")
    _add_data_options(t, resumable=True)
    t.add_argument("--num-classes", type=positive_int, default=None,
                   help="number of classes K, labels 0..K-1 (default: from the labels, e.g. 47 for EMNIST Balanced)")
    _add_run_options(t)
    t.set_defaults(func=_cmd_train)


def _add_run_options(t: argparse.ArgumentParser) -> None:
    """Outputs, resume, threads and the other options of how ``train`` runs."""
    t.add_argument("--save", metavar="PATH", default=None,
                   help="write a checkpoint (.npz) at the end, on Ctrl-C, SIGTERM or SIGHUP, and keep the old one on divergence "
                   "(default with --resume: the resumed checkpoint)")
    t.add_argument("--resume", metavar="PATH", default=None,
                   help="continue the run stored in a checkpoint written with --save (its backend, settings, iterations and data), "
                   "and save it back to PATH as --save PATH would, unless --save names another file")
    t.add_argument("--plot", metavar="PATH", default=None,
                   help="write a figure with the loss curve and the accuracy curves (.png, .pdf, .svg ...; no suffix: .png)")
    t.add_argument("--history", metavar="PATH", default=None, help="write the training history as JSON")
    t.add_argument("--threads", type=positive_int, default=None, help="native threads for training steps (default: 1)")
    t.add_argument("--eval-threads", type=positive_int, default=None,
                   help="native threads for evaluation (default: all cores; 1 can be faster on a busy machine)")
    t.add_argument("--data-parallel", metavar="N", type=positive_int, default=None,
                   help="JAX: split every batch over N devices, parameters replicated (on the CPU, set "
                   "XLA_FLAGS=--xla_force_host_platform_device_count=N first); the batch size must divide by N")
    t.add_argument("--eager", action="store_true", help="run the step op by op instead of compiled (JAX compiles it by default)")
    t.add_argument("--quiet", action="store_true", help="print only the final summary")


def _add_gradcheck_parser(sub: Any) -> None:
    g = sub.add_parser("gradcheck", help="the book's gradient checks (chapters 5 to 7), in float64",
                       description="Compare backprop and numerical gradients (in float64): of TwoLayerNet(784, 50, 10) on 3 "
                       "MNIST images as in chapter 5, of MultiLayerNetExtend(784, [100, 100], 10) on them as chapter 6 checks "
                       "Batch Normalization, or of a small SimpleConvNet (10 filters 3x3, hidden 10) on 3 random 10x10 inputs "
                       "as in chapter 7.")
    _add_backend_options(g, "float64", "float64, the only dtype the check runs in")
    _add_network_options(g, train=False)
    g.add_argument("--seed", type=non_negative_int, default=0, help="seed of the initial weights (default: 0)")
    g.add_argument("--threshold", type=positive_float, default=1e-7, help="largest acceptable mean absolute difference (default: 1e-7)")
    _add_data_options(g)
    g.set_defaults(func=_cmd_gradcheck)


def _cmd_info(args: argparse.Namespace) -> int:
    from ..backends import available

    import numpy as np

    print(f"xpnet {__version__} (Python {platform.python_version()}, NumPy {np.__version__})")
    for info in available():
        state = "usable" if info.usable else ("installed, not usable" if info.installed else "not installed")
        devices = ", ".join(info.devices) if info.devices else "-"
        print(f"  {info.name:<17} {state:<22} devices: {devices}")
        for line in ((info.reason,) if not info.usable else ()) + info.notes:
            print(f"  {'':<17} {line}")
    return 0


def _cmd_gradcheck(args: argparse.Namespace) -> int:
    from .gradcheck import run_gradcheck

    return run_gradcheck(args)


def _cmd_train(args: argparse.Namespace) -> int:
    from .train import run_train

    return run_train(args)


class _ClosedPipeSafe:
    """A text stream whose writes are dropped once its reader has gone (``xpnet info | head -1``).

    The command goes on, and ends with its own exit status: a closed pipe is not an error of
    the run, and a training run still writes its checkpoint. Once broken, the file descriptor
    is pointed at the null device so that Python's final flush cannot complain either.
    """

    def __init__(self, stream: Any) -> None:
        self._stream, self.broken = stream, False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._break()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._break()

    def _break(self) -> None:
        self.broken = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass  # not a real file descriptor (e.g. captured by a test)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xpnet`` console script; returns the exit status.

    Exit status: 0 done; 1 the run failed (divergence, an output that could not be written,
    no memory, an unexpected error); 2 a user mistake (an option, a file, a directory, a
    backend); 128+N stopped by signal N. Every error is one line on stderr, never a traceback
    (``XPNET_TRACEBACK=1`` shows it).
    """
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _ClosedPipeSafe(sys.stdout), _ClosedPipeSafe(sys.stderr)
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = streams


def _main(argv: list[str]) -> int:
    from ..errors import BackendError, CheckpointError, DataFileError, XpnetError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    where = f"xpnet {args.command}"
    try:
        with flag_names():  # the trainer's messages name --flags, not Python parameters
            return args.func(args)
    except (UsageError, BackendError, DataFileError, CheckpointError) as exc:
        print(f"{where}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except MemoryError as exc:
        print(f"{where}: error: out of memory{': ' + _one_line(exc) if str(exc) else ''}; try a smaller --batch-size "
              "or a smaller network", file=sys.stderr)
        return EXIT_FAILURE
    except XpnetError as exc:
        print(f"{where}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:  # a failure of the run, not of the user: one line, the traceback on request
        if os.environ.get("XPNET_TRACEBACK"):
            traceback.print_exc()
        print(f"{where}: error: {type(exc).__name__}: {_one_line(exc)} (XPNET_TRACEBACK=1 shows where)", file=sys.stderr)
        return EXIT_FAILURE


def _one_line(exc: BaseException) -> str:
    """The exception's message on one line."""
    return " ".join(str(exc).split())
