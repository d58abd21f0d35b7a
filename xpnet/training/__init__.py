"""The book's mini-batch training loop and its plumbing: the trainer, its settings, its step and the step's
compiled form (per compiler), data on the device, batch draws, evaluation points and the run's history."""

from __future__ import annotations

from .api import train
from .history import EvalRecord, History
from .progress import ProgressBar
from .trainer import Trainer

__all__ = ["EvalRecord", "History", "ProgressBar", "Trainer", "train"]
