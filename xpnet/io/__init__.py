"""Files: checkpoints (``.npz``, no pickle), training histories (JSON) and plots (matplotlib, optional)."""
