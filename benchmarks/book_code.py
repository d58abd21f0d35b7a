"""The book's own code, imported at run time from a checkout of its repository (nothing of it is copied here).

``book_dir`` is the repository's root, with ``common/`` and the chapter folders (``ch05/``,
``ch07/`` ...); ``$DLFS_BOOK_DIR`` names it for the benchmarks. Its modules import
``common.*``, so the root goes on ``sys.path``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BOOK_ENV", "book_dir_from_env", "book_module", "has_book", "relink"]

#: The environment variable naming the book's checkout.
BOOK_ENV = "DLFS_BOOK_DIR"


def book_dir_from_env() -> str | None:
    """``$DLFS_BOOK_DIR`` as an absolute path, or None when unset."""
    value = os.environ.get(BOOK_ENV)
    return os.path.abspath(value) if value else None


def has_book(book_dir: str | None, relative: str) -> bool:
    """Whether ``book_dir`` is a checkout holding ``relative`` (e.g. ``"ch07/simple_convnet.py"``) and ``common/``."""
    return bool(book_dir) and (Path(book_dir) / relative).is_file() and (Path(book_dir) / "common" / "layers.py").is_file()


def book_module(book_dir: str | None, relative: str) -> Any:
    """The module at ``book_dir/relative`` (e.g. ``"ch05/two_layer_net.py"``), imported with the checkout on the path."""
    if not has_book(book_dir, relative):
        raise FileNotFoundError(f"{book_dir!r} is not a checkout of the book's repository (no {relative} or common/); "
                                f"set ${BOOK_ENV} to one")
    root = str(Path(book_dir).resolve())  # type: ignore[arg-type]
    if root not in sys.path:
        sys.path.insert(0, root)
    name = "book_" + relative.replace("/", "_").removesuffix(".py")
    spec = importlib.util.spec_from_file_location(name, Path(root) / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def relink(net: Any, links: Mapping[str, tuple[str, str]], params: Mapping[str, np.ndarray]) -> Any:
    """Give the book's network ``net`` these parameters, in ``net.params`` and in the layers that hold them (``links``:
    layer name -> (weight key, bias key)), as the book's own ``load_params`` does; returns ``net``."""
    for key, value in params.items():
        net.params[key] = value
    for name, (w, b) in links.items():
        net.layers[name].W, net.layers[name].b = net.params[w], net.params[b]
    return net
