"""Exception types raised by xpnet."""

from __future__ import annotations

__all__ = ["BackendError", "CheckpointBackendError", "CheckpointError", "DataFileError", "TrainingDiverged", "XpnetError"]


class XpnetError(Exception):
    """Base class of every error xpnet raises on its own account."""


class BackendError(XpnetError, RuntimeError):
    """A requested array backend or device is not installed or not usable here."""


class DataFileError(XpnetError, ValueError):
    """A dataset file is missing, truncated, corrupt or inconsistent (the message names it)."""


class CheckpointError(XpnetError, ValueError):
    """A checkpoint file cannot be read or does not match the expected network."""


class CheckpointBackendError(CheckpointError, BackendError):
    """A checkpoint's saved backend or device is not usable here: both a CheckpointError and a BackendError."""


class TrainingDiverged(XpnetError, ArithmeticError):
    """The loss or a parameter became NaN or infinite during training."""
