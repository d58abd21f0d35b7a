"""What a training run recorded: loss per iteration, accuracies per evaluation, timings."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["EvalRecord", "History"]


@dataclass(frozen=True)
class EvalRecord:
    """One evaluation point, passed to ``on_eval`` callbacks."""

    iteration: int
    epoch: float
    loss: float
    train_acc: float
    test_acc: float | None
    val_acc: float | None

    def line(self) -> str:
        """The point as one line: ``epoch   1.00 | iter    600 | train acc 0.9012 | test acc 0.9050 | loss 0.3456``."""
        parts = [f"epoch {self.epoch:6.2f}", f"iter {self.iteration:6d}", f"train acc {self.train_acc:.4f}"]
        if self.test_acc is not None:
            parts.append(f"test acc {self.test_acc:.4f}")
        if self.val_acc is not None:
            parts.append(f"val acc {self.val_acc:.4f}")
        parts.append(f"loss {self.loss:.4f}")
        return " | ".join(parts)


@dataclass
class History:
    """Training history (plain Python values, JSON-serialisable).

    Attributes
    ----------
    train_loss : list of float
        Mini-batch loss at every iteration (from the forward pass of that step).
    eval_iters : list of int
        Iterations (1-based counts of completed steps) at which accuracies were measured.
    train_acc, test_acc, val_acc : list of float
        Accuracies at those points (``test_acc``/``val_acc`` empty when there is no such set).
    train_time, eval_time : float
        Seconds spent in training steps and in evaluation. Evaluations measured in the
        background (``Trainer(eval_async=True)``) overlap the training steps.
    elapsed : float
        Seconds of wall-clock time in :meth:`Trainer.run` (all runs of a resumed training).
    compile_time : float
        Seconds spent compiling the step and the evaluation (JAX), part of the two above.
    best_iter : int or None
        With a validation split: the evaluation point whose parameters were kept.
    full_train_acc, full_test_acc : float or None
        When the evaluation points measured only the first samples of each set (``eval_samples``):
        the accuracies on the whole sets at the end of the run.
    stop_reason : str
        ``"completed"``, ``"early_stopping"``, ``"interrupted"`` or ``"diverged"``.
    notes : list of str
        Findings about the run, e.g. that the network is not learning.
    config : dict
        The run's settings (network, backend, dtype, batch size, learning rate, seed, ...).
    """

    train_loss: list[float] = field(default_factory=list)
    eval_iters: list[int] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    train_time: float = 0.0
    eval_time: float = 0.0
    elapsed: float = 0.0
    compile_time: float = 0.0
    best_iter: int | None = None
    full_train_acc: float | None = None
    full_test_acc: float | None = None
    stop_reason: str = ""
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def iterations(self) -> int:
        """Number of completed training steps."""
        return len(self.train_loss)

    @property
    def wall_time(self) -> float:
        """Seconds of wall-clock time training and evaluating (:attr:`elapsed`, or the sum of the two for old records)."""
        return self.elapsed if self.elapsed > 0 else self.train_time + self.eval_time

    @property
    def iters_per_sec(self) -> float:
        """Training steps per second of training time (evaluation excluded)."""
        return self.iterations / self.train_time if self.train_time > 0 else 0.0

    def epoch_of(self, iteration: int) -> float:
        """Epochs (passes over the training set) after ``iteration`` steps: ``iteration * batch_size / train_size``."""
        batch, size = self.config.get("batch_size"), self.config.get("train_size")
        if batch and size:
            return iteration * batch / size
        return iteration / (self.config.get("eval_every") or 1)

    def mean_loss(self, start: int, stop: int) -> float:
        """Mean mini-batch loss of iterations ``start + 1 .. stop`` (NaN when there are none)."""
        values = self.train_loss[start:stop]
        return sum(values) / len(values) if values else math.nan

    def records(self) -> list[EvalRecord]:
        """Every evaluation point: iteration, epoch, mean loss since the previous point, accuracies."""
        out, previous = [], 0
        for i, it in enumerate(self.eval_iters):
            test = self.test_acc[i] if i < len(self.test_acc) else None
            val = self.val_acc[i] if i < len(self.val_acc) else None
            out.append(EvalRecord(it, self.epoch_of(it), self.mean_loss(previous, it), self.train_acc[i], test, val))
            previous = it
        return out

    def table(self) -> dict[str, list[Any]]:
        """The evaluation points as columns of equal length: ``pandas.DataFrame(history.table())`` is a table of them.

        Columns: ``iteration``, ``epoch``, ``loss`` (mean since the previous point), ``train_acc``,
        and ``test_acc`` / ``val_acc`` when the run had those sets.
        """
        records = self.records()
        columns = ["iteration", "epoch", "loss", "train_acc"]
        columns += [name for name, values in (("test_acc", self.test_acc), ("val_acc", self.val_acc)) if values]
        return {name: [getattr(r, name) for r in records] for name in columns}

    def to_pandas(self) -> Any:
        """:meth:`table` as a ``pandas.DataFrame`` indexed by iteration (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("History.to_pandas needs pandas (pip install pandas); History.table() gives the same columns") from exc
        return pd.DataFrame(self.table()).set_index("iteration")

    @property
    def final_test_acc(self) -> float | None:
        """Test accuracy at the end: on the whole test set (``full_test_acc``) where the evaluation points measured a
        part of it, else at the last evaluation; None without a test set."""
        if self.full_test_acc is not None:
            return self.full_test_acc
        return self.test_acc[-1] if self.test_acc else None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with the derived figures (iterations, wall time, throughput) added."""
        out = asdict(self)
        out["train_loss"] = [x if math.isfinite(x) else str(x) for x in self.train_loss]
        out.update(iterations=self.iterations, wall_time=self.wall_time, iters_per_sec=self.iters_per_sec)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "History":
        """Inverse of :meth:`to_dict` (derived figures are ignored)."""
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["train_loss"] = [float(x) for x in kwargs.get("train_loss", [])]
        return cls(**kwargs)

    def __repr__(self) -> str:
        parts = [f"iterations={self.iterations}", f"evaluations={len(self.eval_iters)}"]
        if self.train_loss:
            parts.append(f"loss {self.train_loss[0]:.4g} -> {self.mean_loss(max(0, self.iterations - 100), self.iterations):.4g}")
        for name, values in (("train_acc", self.train_acc), ("test_acc", self.test_acc), ("val_acc", self.val_acc)):
            if values:
                parts.append(f"{name}={values[-1]:.4f}")
        parts.append(f"stop_reason={self.stop_reason!r}")
        if self.config.get("seed") is not None:
            parts.append(f"seed={self.config['seed']}")
        if self.notes:
            parts.append(f"notes={len(self.notes)}")
        return f"History({', '.join(parts)})"

    def to_json(self) -> str:
        """The history as JSON text (:meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "History":
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))
