"""The book's mini-batch SGD loop (chapter 5.7.4) on any backend, device and dtype.

The dataset is copied to the device once; batch indices come from a seeded host generator;
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
from ..optim import SGD
from .batches import BatchDraws
from .compiled import make_counter, make_step, resolve
from .data import DeviceSet, host_images, host_labels
from .diagnosis import data_scale, divergence_message
from .evaluations import Evaluations, Result
from .history import EvalRecord, History
from .threads import thread_limit

__all__ = ["EvalRecord", "History", "Trainer"]

Array = Any

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
    network : TwoLayerNet
        Trained in place (its ``params`` entries are replaced each step).
    train_data : (x, t)
        Host arrays: images (N, D) or (N, ...) as uint8 pixels (scaled to [0, 1]) or floats;
        labels (N,) integers or one-hot (N, K). Copied to the device once.
    test_data : (x, t), optional
        Evaluated at every evaluation point, never used to choose anything.
    batch_size : int
        Samples per step, drawn uniformly with replacement (the book's ``np.random.choice``).
    lr : float
        SGD learning rate (ignored when ``optimizer`` is given).
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
    eval_batch_size : int
        Samples per evaluation chunk (bounds memory).
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
        lr: float = 0.1,
        seed: int | None = None,
        eval_every: int | None = None,
        gradient: str = "backprop",
        optimizer: Any = None,
        val_split: float = 0.0,
        patience: int | None = None,
        eval_batch_size: int = 10_000,
        train_threads: int | None = 1,
        eval_threads: int | None = None,
        eval_async: bool | None = None,
        compiled: bool | None = None,
        data_parallel: int | bool | None = None,
    ) -> None:
        self.network = network
        self.backend = network.backend
        self.dtype_name = network.config["dtype"]
        self._check_settings(batch_size, gradient, val_split, patience, eval_batch_size, eval_every)
        self.optimizer = optimizer if optimizer is not None else SGD(lr)
        self.seed = secrets.randbits(31) if seed is None else int(seed)
        self.batch_size, self.gradient, self.eval_batch_size = batch_size, gradient, eval_batch_size
        self.val_split, self.patience = float(val_split), patience
        self.train_threads, self.eval_threads = train_threads, eval_threads
        self.compiled, self._devices = resolve(network, self.optimizer, gradient, batch_size, compiled, data_parallel)
        self.eval_async = self._check_eval_async(eval_async)
        self.data_parallel = len(self._devices) if self._devices else 1
        self._counter = make_counter(network, eval_batch_size, self.compiled)
        self._load_sets(train_data, test_data)
        self.eval_every = eval_every or max(self.train_set.n // batch_size, 1)
        self.rng = np.random.default_rng([self.seed, 1])
        self._draws = BatchDraws(self.rng, self.train_set.n, batch_size, FLUSH_EVERY)
        self.history = History(config=self._config())
        self._stop = False
        self._best: tuple[float, int, dict[str, Array]] | None = None
        self._bad_evals = 0
        self._last_good: dict[str, Array] = dict(network.params)

    def _load_sets(self, train_data: tuple[Any, Any], test_data: tuple[Any, Any] | None) -> None:
        """Check the sets once and put them on the device: ``train_set``, ``val`` (split off it) and ``test``."""
        k, width = self.network.output_size, self.network.input_size
        x_tr = host_images(train_data[0], width, "training images")
        t_tr = host_labels(train_data[1], k, "training labels")
        if len(x_tr) != len(t_tr):
            raise ValueError(f"train: {len(x_tr)} training images but {len(t_tr)} training labels")
        self.val: DeviceSet | None = None
        if self.val_split > 0:
            order = np.random.default_rng([self.seed, 2]).permutation(len(x_tr))
            n_val = max(1, int(round(len(x_tr) * self.val_split)))
            if n_val >= len(x_tr):
                raise ValueError(f"train: {setting('val_split')} {self.val_split} leaves no training data")
            val_idx, tr_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
            self.val = DeviceSet(self.backend, self.dtype_name, x_tr[val_idx], t_tr[val_idx], keep_pixels=self.compiled)
            x_tr, t_tr = x_tr[tr_idx], t_tr[tr_idx]
        self.train_set = DeviceSet(self.backend, self.dtype_name, x_tr, t_tr, for_batches=True, keep_pixels=self.compiled)
        self.test: DeviceSet | None = None
        if test_data is not None:
            x_te = host_images(test_data[0], width, "test images")
            t_te = host_labels(test_data[1], k, "test labels")
            if len(x_te) != len(t_te):
                raise ValueError(f"train: {len(x_te)} test images but {len(t_te)} test labels")
            self.test = DeviceSet(self.backend, self.dtype_name, x_te, t_te, keep_pixels=self.compiled)

    @staticmethod
    def _check_settings(batch_size: int, gradient: str, val_split: float, patience: int | None, eval_bs: int, eval_every: int | None) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"train: {setting('batch_size')} must be a positive int, got {batch_size!r}")
        if gradient not in ("backprop", "numerical"):
            raise ValueError(f"train: {setting('gradient')} must be 'backprop' or 'numerical', got {gradient!r}")
        if not 0.0 <= val_split < 1.0:
            raise ValueError(f"train: {setting('val_split')} must be in [0, 1), got {val_split}")
        if patience is not None and (patience < 1 or val_split <= 0):
            raise ValueError(f"train: {setting('patience')} needs a positive int and a validation split ({setting('val_split')} > 0)")
        if eval_bs < 1 or (eval_every is not None and eval_every < 1):
            raise ValueError(f"train: {setting('eval_batch_size')} and {setting('eval_every')} must be positive")

    def _check_eval_async(self, eval_async: bool | None) -> bool:
        # NumPy and XLA release the GIL in their large kernels: evaluation overlaps the training steps
        possible = (self.backend.name == "numpy" or self.compiled) and hasattr(self.network, "with_params") and self.patience is None
        if eval_async is None:
            return possible and (os.cpu_count() or 1) >= 2
        if eval_async and not possible:
            raise ValueError(
                f"train: {setting('eval_async')} needs a network with with_params() (a TwoLayerNet) on the numpy backend or compiled "
                f"(JAX), and no {setting('patience')} (early stopping decides at each evaluation); got "
                f"{type(self.network).__name__} on {self.backend.name}, {setting('patience')} {self.patience}"
            )
        return bool(eval_async)

    def _config(self) -> dict[str, Any]:
        return {
            "network": self.network.config, "backend": self.backend.name, "device": self.backend.device_name,
            "batch_size": self.batch_size, "lr": getattr(self.optimizer, "lr", None), "seed": self.seed,
            "network_seed": getattr(self.network, "seed", None), "eval_every": self.eval_every, "gradient": self.gradient,
            "val_split": self.val_split, "patience": self.patience, "train_size": self.train_set.n,
            "compiled": self.compiled, "data_parallel": self.data_parallel,
        }

    # --- state for checkpoints and resuming --------------------------------------
    def state(self) -> dict[str, Any]:
        """JSON-serialisable state that, with the network's parameters, resumes this run exactly."""
        best = None if self._best is None else {"val_acc": self._best[0], "iteration": self._best[1]}
        return {
            "rng": self._draws.resume_state(self.history.iterations),
            "history": self.history.to_dict(),
            "bad_evals": self._bad_evals,
            "best": best,
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state` of an earlier run with the same settings and parameters."""
        self._draws.restart(state["rng"])
        config = self.history.config
        self.history = History.from_dict(state["history"])
        self.history.config = config
        self._bad_evals = int(state.get("bad_evals", 0))
        best = state.get("best")
        if best is not None:
            self._best = (float(best["val_acc"]), int(best["iteration"]), dict(self.network.params))

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
            self.network.params = self._last_good
            self.history.stop_reason = "diverged"
            raise TrainingDiverged(divergence_message(
                values[bad[0]], it, self.history.train_loss[0], lr=getattr(self.optimizer, "lr", None),
                init_std=self.network.config.get("weight_init_std"), scale=data_scale(self.train_set),
                n_classes=self.network.output_size,
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
            if at_eval and not stop:
                evals.submit(it, dict(self.network.params), inline=final)
                stop = self._deliver(evals.ready(), on_eval)
            if stop:
                break
            self._last_good = dict(self.network.params)
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
            self.network.params = self._best[2]
            self.history.best_iter = self._best[1]
        k = self.network.output_size
        h = self.history
        if h.train_acc and h.train_acc[-1] < 2.0 / k:  # from the first evaluation point on
            h.notes.append(
                f"the network is not learning: train accuracy {h.train_acc[-1]:.3f} after {h.iterations} "
                f"iterations, chance is {1 / k:.2f}; the learning rate may be too large or too small"
            )

    # --- evaluation --------------------------------------------------------------------
    def _measure(self, params: dict[str, Array], background: bool) -> Result:
        """Accuracies of the network with ``params``; in the background on a snapshot, leaving thread limits alone."""
        tic = time.perf_counter()
        net = self.network.with_params(params) if background else self.network
        with thread_limit(None if background else (self.eval_threads or os.cpu_count())):
            train_acc = self.accuracy(self.train_set, net)
            test_acc = self.accuracy(self.test, net) if self.test else None
            val_acc = self.accuracy(self.val, net) if self.val else None
        return train_acc, test_acc, val_acc, time.perf_counter() - tic

    def _deliver(self, results: list[tuple[int, dict[str, Array], Result]], on_eval: Any) -> bool:
        """Record finished evaluations in order; True when early stopping ends the run."""
        stop = False
        h = self.history
        for done, params, (train_acc, test_acc, val_acc, seconds) in results:
            h.eval_iters.append(done)
            h.train_acc.append(train_acc)
            if test_acc is not None:
                h.test_acc.append(test_acc)
            if val_acc is not None:
                h.val_acc.append(val_acc)
                if self._best is None or val_acc > self._best[0]:
                    self._best = (val_acc, done, params)
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
