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

    @property
    def final_test_acc(self) -> float | None:
        """Test accuracy at the last evaluation, or None."""
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

    def to_json(self) -> str:
        """The history as JSON text (:meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "History":
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))
