"""The ``xpnet`` command line: ``train``, ``gradcheck`` and ``info``; ``python -m xpnet`` runs it too."""

from __future__ import annotations

from .main import build_parser, main

__all__ = ["build_parser", "main"]
