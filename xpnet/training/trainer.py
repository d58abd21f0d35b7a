"""The book's mini-batch training loop (chapter 5.7.4, with chapter 6's optimizers) on any backend, device and dtype.

The data sets are copied to the device once; batch indices come from a seeded host generator;
the step (eager, or compiled by the backend's compiler: :mod:`.compiled`) gathers each batch
on the device, and its loss stays there until a logging point; nothing is printed here.
"""

from __future__ import annotations

import math
import os
import secrets
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._array.numbers import setting
from ..errors import TrainingDiverged
from .batches import BatchDraws
from .compiled import make_counter, make_step, resolve
from .data import DeviceSet
from .diagnosis import divergence_message
from .evaluations import Evaluations, Result
from .history import EvalRecord, History
from .setup import check_settings, eval_async_setting, load_sets, make_optimizer
from .threads import thread_limit

__all__ = ["EvalRecord", "History", "Trainer"]

Array = Any
#: Parameters and buffers of a network at one point of a run (copies where arrays are written in place).
Snapshot = tuple[dict[str, Array], dict[str, Array]]

#: Steps between two reads of the pending losses (divergence check, progress report).
FLUSH_EVERY = 100
#: The loss "grew" when the mean of a flushed block exceeds this many times the first step's loss.
GROWTH = 1.5
#: Evaluations queued on the background thread at most, so a slow one does not hold the training loop.
MAX_IN_FLIGHT = 3


class Trainer:
    """Mini-batch SGD on a network, with evaluation, early stopping and resumable state.

    Parameters
    ----------
    network : TwoLayerNet, MultiLayerNet, MultiLayerNetExtend, SimpleConvNet (any LayerNet)
        Trained in place (its parameters, and buffers such as running statistics).
    train_data : (x, t)
        Host arrays: images (N, D) or (N, ...) as uint8 pixels (scaled to [0, 1]) or floats;
        labels (N,) integers or one-hot (N, K). Copied to the device once.
    test_data : (x, t), optional
        Evaluated at every evaluation point, never used to choose anything.
    batch_size : int
        Samples per step, drawn uniformly with replacement (the book's ``np.random.choice``).
    lr : float, optional
        Learning rate: of SGD when ``optimizer`` is None (default 0.1, the book's chapter 5 run), or
        of the optimizer named by ``optimizer`` (default: that optimizer's own, e.g. Adam's 0.001).
    optimizer : str or optimizer, optional
        ``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"``, or an
        optimizer object of :mod:`xpnet.optim` (its state is carried, checkpointed and compiled).
    seed : int, optional
        Seed of the batch generator and the validation split; None draws one (recorded in
        ``history.config`` so the run can be repeated).
    eval_every : int, optional
        Steps between evaluations; default one epoch (``max(N // batch_size, 1)``).
    gradient : {"backprop", "numerical"}
        How gradients are computed (numerical is for tiny networks only).
    val_split : float
        Fraction of the training set held out for validation (0 for none).
    patience : int, optional
        Stop after this many evaluations without a better validation accuracy (needs a
        validation split); the best parameters are restored at the end.
    eval_batch_size : int, optional
        Samples per evaluation chunk (bounds memory); default the network's ``eval_batch_size``
        (10,000 for the fully connected networks, 1,000 for the convnet, whose columns are large).
    eval_samples : int, optional
        Measure each evaluation point on the first ``eval_samples`` samples of each set (the book's
        ``evaluate_sample_num_per_epoch``); a completed run then also measures the whole sets once,
        in ``history.full_train_acc`` and ``history.full_test_acc``.
    train_threads, eval_threads : int or None
        Native thread limits for training steps (None: no limit) and for evaluation (None:
        every core). One thread suits the small training matmuls; evaluation gains from more.
    eval_async : bool, optional
        Measure each evaluation point on a background thread, from a snapshot of the
        parameters, while training goes on (NumPy or compiled JAX; not with ``patience``, whose
        decision must come before the next step). The last evaluation runs inline on every
        core. None (default): on when the run allows it and the machine has two or more cores.
    compiled : bool, optional
        Compile the step and the evaluation with the backend's compiler (JAX: ``jax.jit`` of up
        to 100 steps a call; :mod:`xpnet.training.compiled`). None: wherever possible; False:
        op by op; True where impossible raises. :meth:`request_stop` then ends a whole chunk.
    data_parallel : int or bool, optional
        JAX: split each batch over this many devices (True: all), parameters replicated; XLA
        adds the all-reduce. ``batch_size`` must divide evenly. Equals one device to rounding.
    """

    def __init__(
        self,
        network: Any,
        train_data: tuple[Any, Any],
        test_data: tuple[Any, Any] | None = None,
        *,
        batch_size: int = 100,
        lr: float | None = None,
        seed: int | None = None,
        eval_every: int | None = None,
        gradient: str = "backprop",
        optimizer: Any = None,
        val_split: float = 0.0,
        patience: int | None = None,
        eval_batch_size: int | None = None,
        eval_samples: int | None = None,
        train_threads: int | None = 1,
        eval_threads: int | None = None,
        eval_async: bool | None = None,
        compiled: bool | None = None,
        data_parallel: int | bool | None = None,
    ) -> None:
        self.network = network
        self.backend = network.backend
        self.dtype_name = network.config["dtype"]
        if eval_batch_size is None:  # the network's own: a convolution's columns are 25 times its images
            eval_batch_size = int(getattr(network, "eval_batch_size", 10_000))
        check_settings(batch_size, gradient, val_split, patience, eval_batch_size, eval_every, eval_samples)
        self.optimizer = make_optimizer(optimizer, lr)
        self.seed = secrets.randbits(31) if seed is None else int(seed)
        self.batch_size, self.gradient, self.eval_batch_size = batch_size, gradient, eval_batch_size
        self.val_split, self.patience, self.eval_samples = float(val_split), patience, eval_samples
        self.train_threads, self.eval_threads = train_threads, eval_threads
        self.compiled, self._devices = resolve(network, self.optimizer, gradient, batch_size, compiled, data_parallel)
        self.eval_async = eval_async_setting(eval_async, network, self.compiled, patience)
        self.data_parallel = len(self._devices) if self._devices else 1
        self._counter = make_counter(network, eval_batch_size, self.compiled)
        self.train_set, self.val, self.test = load_sets(network, train_data, test_data, self.val_split, self.seed)
        self.eval_every = eval_every or max(self.train_set.n // batch_size, 1)
        self.rng = np.random.default_rng([self.seed, 1])
        self._draws = BatchDraws(self.rng, self.train_set.n, batch_size, FLUSH_EVERY)
        self.history = History(config=self._config())
        self._stop = False
        self._best: tuple[float, int, Snapshot] | None = None
        self._bad_evals = 0
        self._last_good: Snapshot = network.snapshot()

    def _config(self) -> dict[str, Any]:
        return {
            "network": {"class": type(self.network).__name__, **self.network.config}, "backend": self.backend.name,
            "device": self.backend.device_name, "batch_size": self.batch_size, "lr": getattr(self.optimizer, "lr", None),
            "optimizer": dict(getattr(self.optimizer, "config", {"name": type(self.optimizer).__name__})),
            "seed": self.seed, "network_seed": getattr(self.network, "seed", None), "eval_every": self.eval_every,
            "eval_samples": self.eval_samples, "gradient": self.gradient, "val_split": self.val_split,
            "patience": self.patience, "train_size": self.train_set.n, "compiled": self.compiled,
            "data_parallel": self.data_parallel,
        }

    # --- state for checkpoints and resuming --------------------------------------
    def state(self) -> dict[str, Any]:
        """The state that, with the network's parameters and buffers, resumes this run exactly.

        Plain Python values, and arrays where the run has them: the optimizer's state (its
        ``state()``) and, with a validation split, the best parameters and buffers so far.
        """
        best = None
        if self._best is not None:
            params, buffers = self._best[2]
            best = {"val_acc": self._best[0], "iteration": self._best[1], "params": params, "buffers": buffers}
        return {
            "rng": self._draws.resume_state(self.history.iterations),
            "history": self.history.to_dict(),
            "bad_evals": self._bad_evals,
            "best": best,
            "optimizer": self.optimizer.state() if hasattr(self.optimizer, "state") else {},
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state` of an earlier run with the same settings, parameters and buffers.

        Arrays may be host NumPy arrays (as a checkpoint holds them): they are moved to the network's device.
        """
        self._draws.restart(state["rng"])
        config = self.history.config
        self.history = History.from_dict(state["history"])
        self.history.config = config
        self._bad_evals = int(state.get("bad_evals", 0))
        if state.get("optimizer") and hasattr(self.optimizer, "load_state"):
            self.optimizer.load_state(self._on_device(state["optimizer"]))
        best = state.get("best")
        if best is not None:
            snap = ((self._on_device(best["params"]), self._on_device(best.get("buffers", {}))) if best.get("params")
                    else self.network.snapshot())  # version 2 checkpoints kept no parameters: the resumed ones stand in
            self._best = (float(best["val_acc"]), int(best["iteration"]), snap)

    def _on_device(self, tree: Any) -> Any:
        """``tree`` (dicts of host or device arrays and numbers) with every host array moved to the network's device."""
        if isinstance(tree, Mapping):
            return {k: self._on_device(v) for k, v in tree.items()}
        if isinstance(tree, np.ndarray):
            return self.backend.asarray(tree, copy=True) if tree.dtype.kind in "iub" else self.backend.asarray(tree, dtype=tree.dtype.name)
        return tree

    def _restore(self, snap: Snapshot) -> None:
        """Give the network the parameters and buffers of a snapshot."""
        self.network.params = snap[0]
        self.network.buffers.update(snap[1])

    def request_stop(self) -> None:
        """Ask the loop to stop after the current step (safe from a signal handler)."""
        self._stop = True

    # --- the loop --------------------------------------------------------------------
    def _flush(self, step: Any) -> None:
        """Read the pending losses back (one transfer) and check them."""
        if not step.pending:
            return
        values = step.losses().tolist()
        first = len(self.history.train_loss)
        self.history.train_loss.extend(values)
        self._check_growth(values, first)
        bad = [i for i, v in enumerate(values) if not math.isfinite(v)]
        if bad:
            it = first + bad[0] + 1
            self._restore(self._last_good)
            self.history.stop_reason = "diverged"
            raise TrainingDiverged(divergence_message(
                values[bad[0]], it, self.history.train_loss[0], lr=getattr(self.optimizer, "lr", None),
                init_std=self.network.config.get("weight_init_std"), scale=self.train_set.scale(),
                n_classes=self.network.output_size, weight_decay=getattr(self.network, "weight_decay_lambda", 0.0),
                optimizer=getattr(self.optimizer, "name", ""),
            ))

    def _check_growth(self, values: list[float], first: int) -> None:
        """Note (once) when the mean loss of the steps just read back exceeds 1.5 times the first step's loss."""
        h = self.history
        if not values or not h.train_loss or any("loss grew" in note for note in h.notes):
            return
        start, mean = h.train_loss[0], sum(values) / len(values)
        if math.isfinite(mean) and mean > GROWTH * start:
            h.notes.append(
                f"the loss grew from {start:.4g} at iteration 1 to a mean of {mean:.4g} over iterations {first + 1}-"
                f"{first + len(values)}; the learning rate ({self._config()['lr']}) is probably too large"
            )

    def run(
        self,
        iters: int,
        *,
        on_progress: Callable[[int, float], None] | None = None,
        on_eval: Callable[[EvalRecord], None] | None = None,
        progress_seconds: float | None = None,
    ) -> History:
        """Train until ``iters`` steps in total have been done (counting steps of a resumed run).

        Parameters
        ----------
        iters : int
            Total number of steps.
        on_progress : callable, optional
            ``on_progress(steps_done, mean_recent_loss)`` every ``FLUSH_EVERY`` steps, at every
            evaluation point, and when a background evaluation has finished.
        on_eval : callable, optional
            ``on_eval(EvalRecord)`` for every evaluation point, in order; with ``eval_async``,
            at the first step after its evaluation has finished.
        progress_seconds : float, optional
            Also report after this many seconds without a report, so that a slow run's
            progress bar moves (each report reads the pending losses back from the device).

        Raises
        ------
        TrainingDiverged
            The loss became NaN or infinite; the parameters of the last finite check are restored.
        """
        if isinstance(iters, bool) or not isinstance(iters, int) or iters < 0:
            raise ValueError(f"train: {setting('iters')} must be a non-negative int, got {iters!r}")
        self.history.config["iters"] = iters
        self._stop = False
        self.history.stop_reason = "running"
        step = make_step(self.network, self.optimizer, self.train_set, self.batch_size, gradient=self.gradient,
                         compiled=self.compiled, chunk=FLUSH_EVERY, devices=self._devices)
        self.history.config["eval_async"] = self.eval_async
        evals = Evaluations(self._measure, self.eval_async)
        started = time.perf_counter()
        try:
            with warnings.catch_warnings(), thread_limit(self.train_threads):
                # overflow in a diverging run is reported by the divergence check, not as warnings
                warnings.simplefilter("ignore", RuntimeWarning)
                self._loop(step, evals, iters, on_progress, on_eval, progress_seconds)
        except TrainingDiverged:
            self._deliver(evals.ready(keep=0), on_eval)
            raise
        finally:
            evals.close()
            step.close()
            self.history.elapsed += time.perf_counter() - started
            spent, self._counter.compile_time = self._counter.compile_time, 0.0
            self.history.compile_time += step.compile_time + spent
        self._finish(iters)
        return self.history

    def _loop(self, step: Any, evals: Evaluations, iters: int, on_progress: Any, on_eval: Any, every_s: float | None) -> None:
        it, draws = self.history.iterations, self._draws
        tic = reported = time.perf_counter()

        def pause() -> bool:  # between two steps of a run: a stop, a progress report due, or an evaluation to report
            return self._stop or (every_s is not None and time.perf_counter() - reported >= every_s) or evals.finished()

        while it < iters and not self._stop:
            # steps up to the next flush or evaluation point: one block of draws at most
            n = min(FLUSH_EVERY - it % FLUSH_EVERY, self.eval_every - it % self.eval_every, iters - it)
            it += step.run(*draws.at(it, iters), n, draws.upcoming, pause)
            at_eval = it % self.eval_every == 0 or it == iters
            due = every_s is not None and time.perf_counter() - reported >= every_s
            if not (at_eval or it % FLUSH_EVERY == 0 or due or evals.finished()):
                continue
            self._flush(step)
            self.history.train_time += time.perf_counter() - tic
            reported = time.perf_counter()
            if on_progress is not None:
                recent = self.history.train_loss[-FLUSH_EVERY:]
                on_progress(it, sum(recent) / len(recent))
            final = it == iters
            # at most MAX_IN_FLIGHT evaluations queued; all done before the last, which runs inline
            stop = self._deliver(evals.ready(keep=(0 if final else MAX_IN_FLIGHT - 1) if at_eval else None), on_eval)
            snap = self.network.snapshot()  # evaluation reads it and writes nothing: one copy serves both
            if at_eval and not stop:
                evals.submit(it, snap, inline=final)
                stop = self._deliver(evals.ready(), on_eval)
            if stop:
                break
            self._last_good = snap
            tic = time.perf_counter()
        if step.pending:  # stopped between two flushes
            self._flush(step)
            self.history.train_time += time.perf_counter() - tic
        self._deliver(evals.ready(keep=0), on_eval)

    def _finish(self, iters: int) -> None:
        if self._stop and self.history.iterations < iters:
            self.history.stop_reason = "interrupted"
        elif self.history.stop_reason == "running":
            self.history.stop_reason = "completed"
        if self._best is not None and self.history.stop_reason in ("completed", "early_stopping"):
            self._restore(self._best[2])
            self.history.best_iter = self._best[1]
        if self.eval_samples is not None and self.history.stop_reason in ("completed", "early_stopping"):
            with thread_limit(self.eval_threads or os.cpu_count()):  # the whole sets, once, at the end
                self.history.full_train_acc = self.accuracy(self.train_set)
                self.history.full_test_acc = self.accuracy(self.test) if self.test else None
        k = self.network.output_size
        h = self.history
        if h.train_acc and h.train_acc[-1] < 2.0 / k:  # from the first evaluation point on
            h.notes.append(
                f"the network is not learning: train accuracy {h.train_acc[-1]:.3f} after {h.iterations} "
                f"iterations, chance is {1 / k:.2f}; the learning rate may be too large or too small"
            )

    # --- evaluation --------------------------------------------------------------------
    def _measure(self, snap: Snapshot, background: bool) -> Result:
        """Accuracies of the network at snapshot ``snap`` (test mode); in the background on the snapshot, leaving
        thread limits alone. With ``eval_samples``, on the first samples of each set."""
        tic = time.perf_counter()
        net = self.network.bind(*snap) if background else self.network
        n = self.eval_samples
        with thread_limit(None if background else (self.eval_threads or os.cpu_count())):
            train_acc = self.accuracy(self.train_set.head(n), net)
            test_acc = self.accuracy(self.test.head(n), net) if self.test else None
            val_acc = self.accuracy(self.val.head(n), net) if self.val else None
        return train_acc, test_acc, val_acc, time.perf_counter() - tic

    def _deliver(self, results: list[tuple[int, Snapshot, Result]], on_eval: Any) -> bool:
        """Record finished evaluations in order; True when early stopping ends the run."""
        stop = False
        h = self.history
        for done, snap, (train_acc, test_acc, val_acc, seconds) in results:
            h.eval_iters.append(done)
            h.train_acc.append(train_acc)
            if test_acc is not None:
                h.test_acc.append(test_acc)
            if val_acc is not None:
                h.val_acc.append(val_acc)
                if self._best is None or val_acc > self._best[0]:
                    self._best = (val_acc, done, snap)
                    self._bad_evals = 0
                else:
                    self._bad_evals += 1
                    if self.patience is not None and self._bad_evals >= self.patience:
                        h.stop_reason = "early_stopping"
                        stop = True
            h.eval_time += seconds
            if on_eval is not None:
                previous = h.eval_iters[-2] if len(h.eval_iters) > 1 else 0  # the loss since the last point
                on_eval(EvalRecord(done, h.epoch_of(done), h.mean_loss(previous, done), train_acc, test_acc, val_acc))
        return stop

    def accuracy(self, data: DeviceSet, network: Any = None) -> float:
        """Accuracy of ``network`` (default: the trained one) on a device-resident set, in chunks (one host read)."""
        return self._counter(network if network is not None else self.network, data) / data.n
