"""``xpnet train``: the book's MNIST run from the command line, with progress, outputs and resume."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import TrainingDiverged
from ..training.history import EvalRecord, History
from .common import UsageError, backend_from_args

EXIT_DIVERGED = 1
EXIT_INTERRUPTED = 130

DEFAULTS = {
    "iters": 10_000, "batch_size": 100, "lr": 0.1, "hidden_size": 50, "activation": "relu",
    "weight_init_std": 0.01, "eval_every": None, "val_split": 0.0, "patience": None,
    "gradient": "backprop", "seed": None, "dtype": "float32",
}
# options a resumed run takes from its checkpoint: trainer settings, and the network's own
RESUMED = {"batch_size", "lr", "seed", "eval_every", "val_split", "patience", "gradient"}
NETWORK_OPTIONS = {"hidden_size", "activation", "dtype", "weight_init_std"}


def _check_output_paths(args: argparse.Namespace) -> None:
    for option in ("save", "history", "plot"):
        value = getattr(args, option)
        if value is not None and not Path(value).resolve().parent.is_dir():
            raise UsageError(f"--{option} {value}: directory {Path(value).resolve().parent} does not exist")
    if args.plot is not None:
        from ..io.plot import matplotlib_available

        if not matplotlib_available():
            raise UsageError("--plot needs matplotlib, which is not installed: pip install 'xpnet[plot]'")


def _settings(args: argparse.Namespace, saved: dict[str, Any] | None) -> dict[str, Any]:
    """Option values: explicit ones, else the checkpoint's (when resuming), else the defaults."""
    out = {}
    for key, default in DEFAULTS.items():
        given = getattr(args, key)
        if saved is not None and key in RESUMED | NETWORK_OPTIONS:
            stored = saved["network"].get(key) if key in NETWORK_OPTIONS else saved.get(key)
            if given is not None and stored is not None and given != stored:
                option = "--" + key.replace("_", "-")
                raise UsageError(f"{option} {given} differs from the resumed checkpoint's {stored} ({args.resume})")
            if given is None:
                given = stored
        out[key] = default if given is None else given
    return out


class _Reporter:
    """Progress bar on a terminal (tqdm), plain per-epoch lines otherwise."""

    def __init__(self, total: int, start: int, quiet: bool) -> None:
        self.quiet = quiet
        self.bar = None
        if not quiet and sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, initial=start, unit="it", desc="training", dynamic_ncols=True, leave=False)
        self.last = start

    def line(self, text: str) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)

    def progress(self, done: int, loss: float) -> None:
        if self.bar is not None:
            self.bar.update(done - self.last)
            self.bar.set_postfix(loss=f"{loss:.4f}")
        self.last = done

    def evaluation(self, r: EvalRecord) -> None:
        parts = [f"epoch {r.epoch:6.2f}", f"iter {r.iteration:6d}", f"train acc {r.train_acc:.4f}"]
        if r.test_acc is not None:
            parts.append(f"test acc {r.test_acc:.4f}")
        if r.val_acc is not None:
            parts.append(f"val acc {r.val_acc:.4f}")
        parts.append(f"loss {r.loss:.4f}")
        self.line(" | ".join(parts))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _build(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    """Network, trainer and settings for this invocation (fresh or resumed)."""
    from ..datasets import load_mnist_uint8
    from ..io.checkpoint import load_checkpoint
    from ..nets import TwoLayerNet
    from ..training import Trainer

    be = backend_from_args(args, args.dtype)
    ckpt = None
    saved = None
    if args.resume is not None:
        ckpt = load_checkpoint(args.resume, backend=be.name, device=args.device)
        if not ckpt.trainer_state or not ckpt.history:
            raise UsageError(f"--resume {args.resume}: the checkpoint holds no training state (it was not written by xpnet train)")
        saved = {**ckpt.history.config, "network": ckpt.network.config}
    s = _settings(args, saved)
    (x_train, t_train), (x_test, t_test) = load_mnist_uint8(data_dir=args.data_dir)
    width = int(x_train.shape[1])
    if ckpt is not None:
        net = ckpt.network
        if net.input_size != width:
            raise UsageError(f"--resume {args.resume}: the network expects {net.input_size} inputs, the data has {width}")
    else:
        try:
            net = TwoLayerNet(width, s["hidden_size"], 10, s["weight_init_std"], activation=s["activation"],
                              backend=be, dtype=s["dtype"], seed=s["seed"])
        except TypeError as exc:  # e.g. float64 on JAX without 64-bit mode
            raise UsageError(str(exc)) from exc
    try:
        trainer = Trainer(net, (x_train, t_train), (x_test, t_test), batch_size=s["batch_size"], lr=s["lr"],
                          seed=s["seed"], eval_every=s["eval_every"], gradient=s["gradient"], val_split=s["val_split"],
                          patience=s["patience"], train_threads=args.threads or 1,
                          eval_threads=args.eval_threads, compiled=False if args.eager else None,
                          data_parallel=args.data_parallel)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if ckpt is not None:
        trainer.load_state(ckpt.trainer_state)
    return net, trainer, s


def _write_outputs(args: argparse.Namespace, trainer: Any, history: History, *, save: bool) -> list[str]:
    from ..io.atomic import atomic_write_bytes
    from ..io.checkpoint import save as save_checkpoint
    from ..io.plot import plot_history

    written = []
    if save and args.save:
        save_checkpoint(trainer.network, args.save, history=history, trainer_state=trainer.state())
        written.append(f"checkpoint {args.save}")
    if args.history:
        atomic_write_bytes(args.history, history.to_json().encode())
        written.append(f"history {args.history}")
    if args.plot and history.iterations:
        plot_history(history, args.plot, title=f"TwoLayerNet on MNIST ({trainer.backend}, {trainer.dtype_name})")
        written.append(f"plot {args.plot}")
    return written


def run_train(args: argparse.Namespace) -> int:
    """Run ``xpnet train``; returns the exit status (0 done, 1 diverged, 2 usage error, 130 interrupted)."""
    tic = time.perf_counter()
    _check_output_paths(args)
    net, trainer, s = _build(args)
    iters = s["iters"]
    start = trainer.history.iterations
    if iters < start:
        raise UsageError(f"--iters {iters} is below the {start} iterations the resumed run has done already")
    rep = _Reporter(iters, start, args.quiet)
    rep.line(
        f"training TwoLayerNet({net.input_size}, {net.hidden_size}, {net.output_size}, {net.activation}) on {trainer.backend}, "
        f"{trainer.dtype_name}: {trainer.train_set.n} train / {trainer.test.n} test images, batch {trainer.batch_size}, "
        f"lr {s['lr']}, {iters} iterations{f' from {start}' if start else ''}, seed {trainer.seed}"
    )

    def on_sigint(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C stops at once
        trainer.request_stop()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        history = trainer.run(iters, on_progress=rep.progress, on_eval=rep.evaluation)
    except TrainingDiverged as exc:
        rep.close()
        written = _write_outputs(args, trainer, trainer.history, save=False)
        kept = f"; {args.save} was not overwritten" if args.save else ""
        print(f"xpnet train: {exc}{kept}" + (f"; wrote {', '.join(written)}" if written else ""), file=sys.stderr)
        return EXIT_DIVERGED
    finally:
        signal.signal(signal.SIGINT, previous)
        rep.close()
    written = _write_outputs(args, trainer, history, save=True)
    if history.stop_reason == "interrupted":
        hint = f"; resume with: xpnet train --resume {args.save}" if args.save else ""
        print(f"xpnet train: interrupted at iteration {history.iterations}"
              + (f"; wrote {', '.join(written)}" if written else "") + hint, file=sys.stderr)
        return EXIT_INTERRUPTED
    _summary(history, trainer, time.perf_counter() - tic, written)
    return 0


def _summary(history: History, trainer: Any, elapsed: float, written: list[str]) -> None:
    test = history.final_test_acc
    train_acc = history.train_acc[-1] if history.train_acc else float("nan")
    best = f", best validation at iteration {history.best_iter} restored" if history.best_iter else ""
    compiled = f", {history.compile_time:.1f} s of it compiling" if trainer.compiled else ""
    where = f"{trainer.backend}" + (f" and {trainer.data_parallel - 1} more devices, batch split" if trainer.data_parallel > 1 else "")
    print(
        f"done ({history.stop_reason}{best}): test acc {test:.4f}, train acc {train_acc:.4f} after {history.iterations} iterations | "
        f"{elapsed:.1f} s in all (training {history.train_time:.1f} s at {history.iters_per_sec:.0f} it/s, "
        f"evaluation {history.eval_time:.1f} s{', alongside training' if trainer.eval_async else ''}{compiled}) | "
        f"{where}, {trainer.dtype_name}{', compiled' if trainer.compiled else ''}, seed {trainer.seed}"
    )
    for note in history.notes:
        print(f"warning: {note}", file=sys.stderr)
    if written:
        print(f"wrote {', '.join(written)}")
