"""A checkpoint's trainer state as JSON plus arrays: nested dicts whose array leaves are stored as ``.npy`` members.

``Trainer.state()`` holds plain values (the generator's state, counts) and arrays (the optimizer's
state, the best parameters so far). :func:`split` replaces every array by a reference
``{"__array__": name}`` and returns the arrays by member name; :func:`join` puts the arrays read
back in their places.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._array import compat
from .._array.registry import to_numpy

__all__ = ["REF", "join", "refs", "split"]

#: The key of a reference to an array member.
REF = "__array__"


def split(tree: Any, prefix: str = "state") -> tuple[Any, dict[str, np.ndarray]]:
    """``(tree with references, {member name: host array})``: member names are the keys' path, ``prefix/a/b``."""
    arrays: dict[str, np.ndarray] = {}

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, Mapping):
            return {str(k): walk(v, f"{path}/{k}") for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [walk(v, f"{path}/{i}") for i, v in enumerate(node)]
        if isinstance(node, np.ndarray) or compat.is_array(node):
            host = np.asarray(to_numpy(node))
            if host.ndim == 0 and host.dtype.kind in "iu":
                return int(host)  # a counter (Adam's iter after a compiled step) stays a number
            arrays[path] = host
            return {REF: path}
        if isinstance(node, np.generic):
            return node.item()
        return node

    return walk(tree, prefix), arrays


def refs(tree: Any) -> list[str]:
    """The member names ``tree`` refers to, in order."""
    if isinstance(tree, Mapping):
        if set(tree) == {REF} and isinstance(tree[REF], str):
            return [tree[REF]]
        return [name for v in tree.values() for name in refs(v)]
    if isinstance(tree, list):
        return [name for v in tree for name in refs(v)]
    return []


def join(tree: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    """``tree`` with each reference replaced by its array from ``arrays``."""
    if isinstance(tree, Mapping):
        if set(tree) == {REF} and isinstance(tree[REF], str):
            return arrays[tree[REF]]
        return {k: join(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [join(v, arrays) for v in tree]
    return tree
