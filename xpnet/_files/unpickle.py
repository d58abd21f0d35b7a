"""The book's parameter pickles, read without running anything: a dict of names to NumPy arrays, nothing else.

The book's ``save_params`` pickles a dict of arrays. :func:`load_array_dict` reads such a file
with :class:`~xpnet._files.pickle_machine.PickleMachine`, which imports nothing, and maps the
few global names NumPy writes to builders of its own:

- ``numpy.core.multiarray._reconstruct`` (NumPy 1) or ``numpy._core.multiarray._reconstruct``
  (NumPy 2), with ``numpy.ndarray`` as its first argument: an empty array that BUILD fills;
- ``numpy.dtype``: bool, integer, float and complex dtypes only (never object);
- ``numpy.core.multiarray.scalar`` / ``numpy._core.multiarray.scalar``: a 0-d array;
- ``numpy.core.numeric._frombuffer`` / ``numpy._core.numeric._frombuffer``: how protocol 5
  writes an array;
- ``_codecs.encode`` with ``"latin1"``, and ``builtins.bytes`` with no argument: how protocol 2
  writes bytes.

Every array's shape and dtype must account for exactly the bytes it holds, and the arrays
together may hold no more bytes than the file, so a small file cannot make a large allocation
(bytes used again through the memo count each time). The result must be a dict of ``str`` to
arrays.
"""

from __future__ import annotations

import sys
from math import prod
from typing import Any, Literal

import numpy as np

from .pickle_machine import Global, PickleMachine, Refused, args_of, describe, run, short

__all__ = ["SAFE_DTYPES", "load_array_dict"]

#: The dtypes a parameter file may hold (native byte order): bool, integers, floats and complex.
SAFE_DTYPES: tuple[np.dtype, ...] = tuple(np.dtype(t) for t in (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, np.longdouble, np.complex64, np.complex128, np.clongdouble))
# How numpy.dtype's pickle names them ("f8"); the first of a size wins (float64, not an 8-byte longdouble).
_DTYPE_CODES = {f"{d.kind}{d.itemsize}": d for d in reversed(SAFE_DTYPES)}
_MAX_NDIM = 64  # NumPy's own limit
_BYTE_ORDERS: dict[Any, Literal["<", ">", "="]] = {"<": "<", ">": ">", "=": "=", "|": "="}  # "|": not applicable
_LAYOUTS: dict[Any, Literal["C", "F"]] = {"C": "C", "F": "F"}


class _Pending:
    """An array made by ``_reconstruct``, waiting for BUILD to give it its shape, dtype and bytes."""

    WHAT = "an array"
    __slots__ = ("array",)

    def __init__(self) -> None:
        self.array: np.ndarray | None = None


class _Dtype:
    """A dtype made by ``numpy.dtype(code, align, copy)``; BUILD sets its byte order, once."""

    WHAT = "a dtype"
    __slots__ = ("base", "order", "built")

    def __init__(self, base: np.dtype) -> None:
        self.base, self.built = base, False
        self.order: Literal["<", ">", "="] = "="

    def resolve(self) -> np.dtype:
        return self.base.newbyteorder(self.order)


def _is(value: Any, expected: int) -> bool:
    """``value`` is the int ``expected`` (not a bool, not an array that compares equal)."""
    return type(value) is int and value == expected


class _ArrayMachine(PickleMachine):
    """The pickle machine with NumPy's builders, as this reader allows them, and a budget of bytes."""

    def __init__(self, size: int) -> None:
        table = {"numpy.ndarray": Global("numpy.ndarray", None)}
        for names, build in ((("numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct"), self._reconstruct),
                             (("numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar"), self._scalar),
                             (("numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer"), self._frombuffer),
                             (("numpy.dtype",), self._dtype), (("_codecs.encode",), self._latin1),
                             (("builtins.bytes",), _no_bytes)):
            table.update({name: Global(name, build) for name in names})
        super().__init__(table, "NumPy's array and dtype builders")
        self.left = {"array": size, "latin1": size}  # bytes the builders may still make

    def build(self, target: Any, state: Any) -> None:
        if isinstance(target, _Pending) and target.array is None:
            version, shape, dtype, fortran, data = args_of(state, 5, "an array's state")
            if not _is(version, 1) or type(fortran) is not bool:
                raise Refused("an array's state is not NumPy's (version 1, shape, dtype, fortran flag, bytes)")
            target.array = self._array(data, dtype, shape, "F" if fortran else "C")
        elif isinstance(target, _Dtype) and not target.built:
            version, order, subarray, names, fields, _, _, flags = args_of(state, 8, "a dtype's state")
            plain = _is(version, 3) and _is(flags, 0) and subarray is None and names is None and fields is None
            if not plain or type(order) is not str or order not in _BYTE_ORDERS:
                raise Refused(f"a {target.base} dtype's state is not that of a plain number type")
            target.order, target.built = _BYTE_ORDERS[order], True
        else:
            raise Refused(f"sets the state of {describe(target)}; only new arrays and dtypes take one, once")

    def _reconstruct(self, args: tuple) -> _Pending:
        cls = args_of(args, 3, "_reconstruct's arguments")[0]
        if not (isinstance(cls, Global) and cls.name == "numpy.ndarray"):
            raise Refused(f"_reconstruct makes {describe(cls)}; only numpy.ndarray is allowed (no subclasses)")
        return _Pending()

    def _scalar(self, args: tuple) -> np.ndarray:
        dtype, data = args_of(args, 2, "scalar's arguments")
        return self._array(data, dtype, (), "C")

    def _frombuffer(self, args: tuple) -> np.ndarray:
        data, dtype, shape, order = args_of(args, 4, "_frombuffer's arguments")
        if type(order) is not str or order not in _LAYOUTS:
            raise Refused(f"_frombuffer's order is {describe(order)}, expected 'C' or 'F'")
        return self._array(data, dtype, shape, _LAYOUTS[order])

    @staticmethod
    def _dtype(args: tuple) -> _Dtype:
        code, align, copy = args_of(args, 3, "numpy.dtype's arguments")
        if type(code) is not str or type(align) is not bool or type(copy) is not bool:
            raise Refused("numpy.dtype's arguments are not a dtype code and two flags")
        if code not in _DTYPE_CODES:
            why = " (object: its items would be unpickled as Python objects)" if code.startswith("O") else ""
            raise Refused(f"refuses dtype {short(code)!r}{why}: parameters are bool, integer, float or complex arrays")
        return _Dtype(_DTYPE_CODES[code])

    def _latin1(self, args: tuple) -> bytes:
        text, encoding = args_of(args, 2, "_codecs.encode's arguments")
        if type(text) is not str or type(encoding) is not str or encoding not in ("latin1", "latin-1"):
            raise Refused("_codecs.encode is allowed only to turn latin-1 text into bytes (as protocol 2 writes them)")
        self._spend("latin1", len(text))
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            raise Refused("_codecs.encode is given text that is not latin-1") from None

    def _array(self, data: Any, dtype: Any, shape: Any, order: Literal["C", "F"]) -> np.ndarray:
        """A fresh native-order array of ``shape`` from the bytes ``data``, whose length must match exactly."""
        if not isinstance(dtype, _Dtype):
            raise Refused(f"an array's dtype is {describe(dtype)}, not a numpy.dtype")
        if type(data) not in (bytes, bytearray):
            raise Refused(f"an array's data is {describe(data)}, not bytes (an object array's would be a list)")
        if type(shape) is not tuple or len(shape) > _MAX_NDIM or any(type(d) is not int or not 0 <= d <= sys.maxsize for d in shape):
            raise Refused(f"an array's shape is {describe(shape)} that is not a tuple of at most {_MAX_NDIM} sizes")
        dt = dtype.resolve()
        nbytes = prod(shape) * dt.itemsize
        if nbytes != len(data):
            raise Refused(f"an array declares shape {short(str(shape))} of {dt} ({nbytes} bytes) but holds {len(data)} bytes")
        self._spend("array", nbytes)
        try:
            return np.array(np.frombuffer(data, dtype=dt).reshape(shape, order=order), dtype=dt.newbyteorder("="), order="C")
        except ValueError as exc:  # e.g. a zero-size shape with sizes beyond NumPy's
            raise Refused(f"an array of shape {short(str(shape))} cannot be made: {exc}") from None

    def _spend(self, kind: str, nbytes: int) -> None:
        self.left[kind] -= nbytes
        if self.left[kind] < 0:
            raise Refused("its arrays would take more bytes than the file holds (the same data used again); refused "
                          "before allocating")

    def finish(self) -> dict[str, np.ndarray]:
        """The dict the pickle made, its arrays checked."""
        value = super().finish()
        if type(value) is not dict:
            raise Refused(f"holds {describe(value)}, expected a dict of parameter names (str) to arrays")
        out = {}
        for key, item in value.items():
            array = item.array if isinstance(item, _Pending) else item
            if not isinstance(array, np.ndarray):
                never = " never filled" if isinstance(item, _Pending) else ""
                raise Refused(f"parameter {short(key)!r} is {describe(item)}{never}, expected an array")
            out[key] = array
        return out


def _no_bytes(args: tuple) -> bytes:
    """``builtins.bytes()``: protocol 2's empty bytes, and nothing else (``bytes(n)`` would allocate ``n``)."""
    if args != ():
        raise Refused("builtins.bytes is allowed only with no argument (protocol 2's empty bytes)")
    return b""


def load_array_dict(data: bytes, source: str) -> dict[str, np.ndarray]:
    """The dict of arrays pickled in ``data`` (protocol 2 to 5), rebuilt without importing or calling anything it names.

    Parameters
    ----------
    data : bytes
        The whole file.
    source : str
        The file's name, for messages.

    Returns
    -------
    dict of str to numpy.ndarray
        Fresh, writable, native byte order, C-contiguous arrays of bool, integer, float or complex
        dtype, in the pickle's order (a NumPy scalar becomes a 0-d array).

    Raises
    ------
    CheckpointError
        Anything else in the pickle, or a malformed one; the message names ``source``, the problem
        (a refused global by its name) and where in the file.
    """
    return run(_ArrayMachine(len(data)), data, source)
