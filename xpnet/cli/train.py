"""``xpnet train``: the book's MNIST run from the command line, with progress, outputs, signals and resume."""

from __future__ import annotations

import argparse
import math
import secrets
import signal
import sys
import threading
import time
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from ..errors import BackendError, CheckpointError, DataFileError, TrainingDiverged
from ..training.history import EvalRecord, History
from ..training.progress import PROGRESS_SECONDS, ProgressBar
from .common import EXIT_FAILURE, UsageError, backend_for, load_data
from .outputs import check_not_inputs, check_outputs, resume_hint, write_outputs
from .models import CLASSES, build_network, describe_network
from .resume import check_data, fresh_settings, resumed_settings, run_record, settle_length

__all__ = ["run_train"]

EXIT_DIVERGED = EXIT_FAILURE
#: Signals that stop a run after the current step (and save it): Ctrl-C, ``kill``/``timeout``/schedulers, a closed terminal.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class _Reporter:
    """A progress bar on a terminal (tqdm, moving every half second), and one line per evaluation point."""

    def __init__(self, total: int, start: int, quiet: bool) -> None:
        self.quiet = quiet
        self.bar = ProgressBar(total, start) if not quiet and sys.stderr.isatty() else None
        #: seconds between progress reports: a slow run's bar still moves
        self.seconds = PROGRESS_SECONDS if self.bar is not None else None

    def line(self, text: str) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)

    def progress(self, done: int, loss: float) -> None:
        if self.bar is not None:
            self.bar.progress(done, loss)

    def evaluation(self, r: EvalRecord) -> None:
        self.line(r.line())

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _StopOnSignal:
    """While active, SIGINT, SIGTERM and SIGHUP ask the trainer to stop after the current step; a second one stops at once.

    ``signum`` is the first signal received (None if none). Outside the main thread, where Python
    cannot install handlers, signals keep their default actions; a signal the process was started
    with ignored (``nohup``, background jobs) stays ignored.
    """

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # the second signal: stop now
            signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)
            signal.raise_signal(signum)
            return
        self.signum = signum
        self.trainer.request_stop()

    def __enter__(self) -> "_StopOnSignal":
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                if signal.getsignal(sig) is not signal.SIG_IGN:  # nohup, or a background job: the caller wants it ignored
                    self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _resumed(args: argparse.Namespace) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The checkpoint of ``--resume`` (on the host), its run record and trainer state."""
    from ..io.checkpoint import load_checkpoint

    ckpt = load_checkpoint(args.resume, backend="numpy")
    recorded, state = ckpt.run or {}, ckpt.trainer_state or {}
    if not state or ckpt.history is None or not recorded:
        raise UsageError(f"--resume {args.resume}: the checkpoint holds no run to continue (no run record: it was written by "
                         "xpnet.save or by an older xpnet train); load it with xpnet.load, or start a new run")
    return ckpt, recorded, state


def _backend(args: argparse.Namespace, s: dict[str, Any], resumed: bool) -> Any:
    """The run's backend; when a resumed run's own backend is unusable here, say how to continue it elsewhere."""
    try:
        return backend_for(s["backend"], s["device"], s["dtype"])
    except (UsageError, BackendError) as exc:
        if not resumed or args.backend is not None:
            raise
        device = f", device {s['device']}" if s["device"] else ""
        raise UsageError(f"--resume {args.resume}: the run was on {s['backend']}{device}, which is not usable here ({exc}); "
                         "pass --backend (and --device) to continue it elsewhere") from None


def _network(args: argparse.Namespace, ckpt: Any, s: dict[str, Any], be: Any, image_shape: list[int], classes: int) -> Any:
    """The resumed network moved to ``be``, or a new one for images of ``image_shape`` and ``classes`` classes."""
    if ckpt is not None:
        _check_resumed(args, ckpt.network, s["model"], math.prod(image_shape))
    input_dim = (1, *image_shape) if len(image_shape) == 2 else tuple(image_shape)
    if ckpt is None and s["model"] == "convnet" and len(input_dim) != 3:
        raise UsageError(f"--model convnet needs images of height and width; the data's are of shape {tuple(image_shape)}")
    try:
        return ckpt.network.to(be.name, be.device) if ckpt is not None else build_network(s, be, input_dim, classes)
    except (TypeError, ValueError) as exc:  # e.g. float64 on a device without float64, images too small for the filters
        raise UsageError(f"--resume {args.resume}: {exc}" if ckpt is not None else str(exc)) from exc


def _check_resumed(args: argparse.Namespace, net: Any, model: str, width: int) -> None:
    """Refuse a resumed network of another model than its run's, or one that does not fit the data or ``--num-classes``."""
    if type(net).__name__ != CLASSES[model]:
        raise CheckpointError(f"{args.resume}: corrupt run record: the run's model is {model} ({CLASSES[model]}), "
                              f"the checkpoint holds a {type(net).__name__}")
    if net.input_size != width:
        raise UsageError(f"--resume {args.resume}: the network expects {net.input_size} inputs, the data has {width}")
    if args.num_classes is not None and args.num_classes != net.output_size:
        raise UsageError(f"--num-classes {args.num_classes} differs from the resumed network's {net.output_size} outputs")


def _build(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    """Network, trainer, settings and run record for this invocation (fresh or resumed); data checked before building."""
    from ..datasets import count_classes

    ckpt, recorded, state = _resumed(args) if args.resume is not None else (None, {}, {})
    if ckpt is not None:
        s = resumed_settings(args, recorded, args.resume)
    else:
        s = fresh_settings(args)
        if s["seed"] is None:  # one seed for the weights and the batches, printed: --seed repeats the run
            s["seed"] = secrets.randbits(31)
    be = _backend(args, s, ckpt is not None)
    try:
        (x_train, t_train), (x_test, t_test), identity = load_data(args, s["data_dir"])
    except DataFileError as exc:
        if ckpt is None or args.data_dir is not None:
            raise
        raise UsageError(f"--resume {args.resume}: the run's data set cannot be read ({exc}); pass --data-dir") from None
    check_not_inputs(args, _data_files(s["data_dir"]))
    if ckpt is not None:
        check_data(recorded, identity, args.resume)
    net = _network(args, ckpt, s, be, identity["image_shape"], args.num_classes or count_classes(t_train, t_test))
    trainer = _trainer(args, net, s, (x_train, t_train), (x_test, t_test))
    settle_length(s, trainer.train_set.n, len(state["history"].get("train_loss", [])) if state else 0, args.resume)
    if ckpt is not None:
        try:
            trainer.load_state(state)
        except Exception as exc:  # the generator state is NumPy's to judge; any refusal means a corrupt file
            raise CheckpointError(f"{args.resume}: corrupt trainer state: {type(exc).__name__}: {exc}") from exc
    trainer.history.config["dataset"] = identity["name"]
    return net, trainer, s, run_record(s, be.name, trainer, identity)


def _trainer(args: argparse.Namespace, net: Any, s: dict[str, Any], train: tuple[Any, Any], test: tuple[Any, Any]) -> Any:
    """The trainer of settings ``s`` (a setting it refuses is a UsageError)."""
    from ..training import Trainer

    try:
        return Trainer(net, train, test, batch_size=s["batch_size"], optimizer=s["optimizer"], lr=s["lr"], seed=s["seed"],
                       eval_every=s["eval_every"], eval_samples=s["eval_samples"], gradient=s["gradient"],
                       val_split=s["val_split"], patience=s["patience"], train_threads=args.threads or 1,
                       eval_threads=args.eval_threads, compiled=False if args.eager else None, data_parallel=args.data_parallel)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _data_files(data_dir: str | None) -> list[Path]:
    """The files a data set may be read from (raw or ``.gz``), which no output may replace."""
    from ..datasets import MNIST_FILES, default_data_dir

    directory = default_data_dir() if data_dir is None else Path(data_dir)
    return [directory / f"{name}{suffix}" for name in MNIST_FILES for suffix in ("", ".gz")]


def run_train(args: argparse.Namespace) -> int:
    """Run ``xpnet train``; returns the exit status (0 done, 1 diverged or an output failed, 2 usage error, 128+N stopped by signal N)."""
    tic = time.perf_counter()
    args.save_back = args.resume is not None and args.save is None  # the resumed run continues in its own file
    if args.save_back:
        args.save = args.resume
    check_outputs(args)
    net, trainer, s, run = _build(args)
    iters, before = s["iters"], _Spent.of(trainer.history)
    start = before.iterations
    rep = _Reporter(iters, start, args.quiet)
    rep.line(_header(net, trainer, s, start) + (f"; saved back to {args.resume} (--save PATH writes elsewhere)"
                                                 if args.save_back else ""))
    if trainer.compiled and start < iters:  # the first chunk of steps compiles before it runs: seconds without a line
        rep.line("compiling the training step ...")
    with _StopOnSignal(trainer) as stopper:
        try:
            history = trainer.run(iters, on_progress=rep.progress, on_eval=rep.evaluation, progress_seconds=rep.seconds)
        except TrainingDiverged as exc:
            rep.close()
            written, failed = write_outputs(args, trainer, trainer.history, run, save=False)
            kept = f"; {args.save} was not overwritten" if args.save else ""
            print(f"xpnet train: {exc}{kept}" + _report(written, failed), file=sys.stderr)
            return EXIT_DIVERGED
        finally:
            rep.close()
        written, failed = write_outputs(args, trainer, history, run, save=True)
    if history.stop_reason == "interrupted":
        name = signal.Signals(stopper.signum).name if stopper.signum is not None else "a stop request"
        hint = f"; resume with: {resume_hint(args)}" if args.save and not failed else ""
        print(f"xpnet train: interrupted by {name} at iteration {history.iterations}" + _report(written, failed) + hint,
              file=sys.stderr)
        return EXIT_FAILURE if failed else 128 + (stopper.signum or signal.SIGINT)
    _summary(history, trainer, time.perf_counter() - tic, before, written)
    if failed:
        print(f"xpnet train: trained, but {'; '.join(failed)}", file=sys.stderr)
        return EXIT_FAILURE
    return 0


def _header(net: Any, trainer: Any, s: dict[str, Any], start: int) -> str:
    """The first line: network, data, backend, optimizer, length and seed."""
    epochs = f" ({s['epochs']} epochs)" if s["epochs"] is not None else ""
    largest = max(trainer.train_set.n, trainer.test.n if trainer.test is not None else 0)
    sampled = ""
    if s["eval_samples"] is not None and s["eval_samples"] < largest:
        sampled = f", evaluation on the first {s['eval_samples']} images of each set"
    elif s["eval_samples"] is not None:
        sampled = f", evaluation on every image (--eval-samples {s['eval_samples']} covers the sets)"
    return (f"training {describe_network(net)} on {trainer.history.config['dataset']} ({trainer.train_set.n} train / "
            f"{trainer.test.n} test images) with {trainer.backend}, {trainer.dtype_name}: batch {trainer.batch_size}, "
            f"{trainer.optimizer!r}, {s['iters']} iterations{epochs}{f' from {start}' if start else ''}{sampled}, "
            f"seed {trainer.seed}")


def _report(written: list[str], failed: list[str]) -> str:
    """``; wrote ...; but ...`` for the one-line messages."""
    return (f"; wrote {', '.join(written)}" if written else "") + (f"; but {'; '.join(failed)}" if failed else "")


@dataclass(frozen=True)
class _Spent:
    """Iterations and seconds a history has recorded (a resumed run's include those of the processes before)."""

    iterations: int
    train_time: float
    eval_time: float
    compile_time: float

    @classmethod
    def of(cls, h: History) -> "_Spent":
        return cls(h.iterations, h.train_time, h.eval_time, h.compile_time)

    def since(self, earlier: "_Spent") -> "_Spent":
        return _Spent(*(a - b for a, b in zip(astuple(self), astuple(earlier))))


def _summary(history: History, trainer: Any, elapsed: float, before: _Spent, written: list[str]) -> None:
    """The last line: results of the whole run, then the times of this process (the history keeps the run's totals)."""
    test = history.final_test_acc
    train_acc = history.train_acc[-1] if history.train_acc else None
    whole = ""
    if history.full_train_acc is not None:  # the evaluation points measured the first images of each set
        train_acc, whole = history.full_train_acc, " (whole sets)"
    best = f", best validation at iteration {history.best_iter} restored" if history.best_iter else ""
    warned = f", {len(history.notes)} warning{'s' if len(history.notes) > 1 else ''} below" if history.notes else ""
    here = _Spent.of(history).since(before)
    rate = here.iterations / here.train_time if here.train_time > 0 else 0.0
    compiled = f", {here.compile_time:.1f} s of it compiling" if trainer.compiled else ""
    covers = ""  # a new run: this process is the whole run
    if before.iterations:
        covers = f"iterations {before.iterations + 1}-{history.iterations}" if here.iterations else "no iterations"
        covers += " in this process: "
    where = f"{trainer.backend}" + (f" and {trainer.data_parallel - 1} more devices, batch split" if trainer.data_parallel > 1 else "")
    print(
        f"done ({history.stop_reason}{best}{warned}): test acc {_acc(test)}, train acc {_acc(train_acc)}{whole} after {history.iterations} "
        f"iterations | {covers}{elapsed:.1f} s in all (training {here.train_time:.1f} s at {rate:.0f} it/s, "
        f"evaluation {here.eval_time:.1f} s{', alongside training' if trainer.eval_async else ''}{compiled}) | "
        f"{where}, {trainer.dtype_name}{', compiled' if trainer.compiled else ''}, seed {trainer.seed}"
    )
    for note in history.notes:
        print(f"warning: {note}", file=sys.stderr)
    if written:
        print(f"wrote {', '.join(written)}")


def _acc(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
