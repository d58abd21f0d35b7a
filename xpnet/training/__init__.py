"""The book's mini-batch SGD loop and its plumbing: the trainer, its step and the step's compiled
forms per backend, data on the device, batch draws, evaluation points and the run's history."""

from __future__ import annotations

from .history import EvalRecord, History
from .trainer import Trainer, train

__all__ = ["EvalRecord", "History", "Trainer", "train"]
