"""A network's parameters as a file: xpnet's ``.npz`` or the book's pickle read, nothing run; ``.npz`` written, atomically.

The book's ``save_params`` pickles a dict of NumPy arrays, and its ``load_params`` unpickles
whatever it is given, which runs any code the file names. :func:`read_params` tells the two
kinds of file apart by their first bytes: a zip is read by the bounded ``.npz`` reader
(:mod:`.npz`), a pickle by the restricted unpickler (:mod:`.unpickle`), which rebuilds NumPy
arrays and refuses everything else. :func:`write_params` writes ``.npz`` only.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from ..errors import CheckpointError
from .atomic import OutputError, atomic_write_bytes
from .npz import NpzReader, open_regular
from .unpickle import SAFE_DTYPES, load_array_dict

__all__ = ["read_params", "write_params"]

_WHAT = "parameter"
_ZIP_HEADS = (b"PK\x03\x04", b"PK\x05\x06")  # a member first, or an empty archive


def read_params(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a parameter file: xpnet's ``.npz`` or the book's pickle, whatever its name says.

    A zip is read as ``.npz``: a regular file whose members are uncompressed ``.npy`` arrays,
    each header checked against the member's length before anything is allocated. A pickle
    (protocol 2 to 5, as the book's ``save_params`` writes with NumPy 1 or 2) is read without
    importing or calling anything it names: only a dict of names to NumPy arrays is accepted
    (see :mod:`xpnet._files.unpickle`).

    Parameters
    ----------
    path : str or PathLike
        A regular file (a directory, FIFO, device or socket is refused without blocking).

    Returns
    -------
    dict of str to numpy.ndarray
        Fresh, writable, C-contiguous arrays in native byte order, of bool, integer, float or
        complex dtype, any shape (``.npz`` members in sorted order, a pickle's in its own).

    Raises
    ------
    CheckpointError
        The file is missing or not a regular file, is neither ``.npz`` nor a pickle, is truncated
        or corrupt, or holds anything but arrays of those dtypes (a global other than NumPy's
        array builders is refused by name, before anything runs). The message names the file.
    """
    text = os.fsdecode(os.fspath(path))
    if not text:
        raise CheckpointError("an empty path names no parameter file")
    path = Path(text)
    with open_regular(path, CheckpointError, _WHAT) as fh:
        head = fh.read(4)
        if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
            return load_array_dict(head + fh.read(), str(path))
    if head in _ZIP_HEADS:
        with NpzReader(path, CheckpointError, _WHAT) as reader:
            return {name: reader.array(name, SAFE_DTYPES) for name in sorted(reader.names)}
    if not head:
        raise CheckpointError(f"{path}: is empty, not a parameter file")
    raise CheckpointError(f"{path}: not a parameter file: neither .npz (a zip) nor a pickle of protocol 2 to 5 "
                          f"(it starts with {head!r})")


def write_params(path: str | os.PathLike, params: Mapping[str, np.ndarray]) -> Path:
    """Write ``params`` to ``path`` as an uncompressed ``.npz``, atomically; never as a pickle.

    The name is kept as given: ``write_params("params.pkl", ...)`` writes ``.npz`` content to
    ``params.pkl`` (no suffix is added), and :func:`read_params` reads it back by its content.
    The file is written beside its target and renamed over it, so an interrupted write leaves
    the previous file as it was; the bytes depend only on the arrays (fixed member timestamps).

    Parameters
    ----------
    path : str or PathLike
        Target file; its directory must exist. A symbolic link is followed; a directory, device,
        FIFO or socket is refused.
    params : Mapping of str to numpy.ndarray
        Host arrays of bool, integer, float or complex dtype, any shape; one member ``NAME.npy``
        each, in the mapping's order.

    Returns
    -------
    pathlib.Path
        The file written (``path``, or where its symbolic link points).

    Raises
    ------
    TypeError
        ``params`` is not a mapping, a name is not a ``str``, or a value is not a NumPy array of
        one of those dtypes (convert device arrays to NumPy first).
    ValueError
        A name is empty.
    CheckpointError
        The file cannot be written; the previous file at ``path`` is then unchanged.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        for name, array in _checked(params).items():
            member = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(member, "w", force_zip64=True) as out:
                npy_format.write_array(out, array, allow_pickle=False)
    try:
        return atomic_write_bytes(path, buf.getvalue())
    except OutputError as exc:  # names the path already
        raise CheckpointError(f"cannot write parameters: {exc}") from exc
    except OSError as exc:
        raise CheckpointError(f"{os.fspath(path)!s}: cannot write parameters: {exc.strerror or exc}") from exc


def _checked(params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``params`` as a dict, each name a non-empty str and each value a NumPy array of a safe dtype."""
    if not isinstance(params, Mapping):
        raise TypeError(f"write_params: params must be a mapping of names to NumPy arrays, got {type(params).__name__}")
    allowed = {d.newbyteorder("=") for d in SAFE_DTYPES}
    for name, array in params.items():
        if not isinstance(name, str):
            raise TypeError(f"write_params: parameter names must be str, got {type(name).__name__} {name!r}")
        if not name:
            raise ValueError("write_params: a parameter name is empty; give each array a name")
        if not isinstance(array, np.ndarray):
            raise TypeError(f"write_params: params[{name!r}] is {type(array).__module__}.{type(array).__name__}, not a "
                            "NumPy array; convert device arrays to NumPy first")
        if array.dtype.newbyteorder("=") not in allowed:
            raise TypeError(f"write_params: params[{name!r}] has dtype {array.dtype}; a parameter file holds bool, integer, "
                            "float or complex arrays")
    return dict(params)
