"""A bounded reader of ``.npz`` files from strangers: every declared size is checked before anything is allocated.

``numpy.load`` trusts the file: a ``.npy`` header may declare 10^12 elements, a deflated
member may expand a thousandfold, and a FIFO given as the file blocks forever. This reader
opens regular files only, without blocking; accepts only uncompressed (stored) members, which
``numpy.savez`` writes, so no member can hold more bytes than the file does; checks each
header's dtype and shape against what the caller expects and against the member's length
before reading the data; and reads every member to its end, so zip's CRC check runs.
Every failure is the caller's error type, with the file named.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
from collections.abc import Iterable
from math import prod
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.lib import format as npy_format

__all__ = ["NpzReader", "open_regular"]

_MAGIC = b"\x93NUMPY"
_MAX_HEADER = 4096  # xpnet's headers are about 120 bytes
_HEADER_READERS = {1: (npy_format.read_array_header_1_0, "<H"), 2: (npy_format.read_array_header_2_0, "<I"),
                   3: (npy_format.read_array_header_2_0, "<I")}


def open_regular(path: Path, error: type[Exception], what: str) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file; a FIFO, device, socket or directory raises ``error`` at once.

    The file is opened with ``O_NONBLOCK``, so even a FIFO swapped in after the check cannot block.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what} file: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{path}: is a directory, not a {what} file")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: not a regular file (a FIFO, device or socket); a {what} file must be a regular file")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(f"{path}: cannot read {what} file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise error(f"{path}: not a regular file; a {what} file must be a regular file")
    return open(fd, "rb")


class NpzReader:
    """The members of an ``.npz`` file, read with every size checked first (use as a context manager).

    Parameters
    ----------
    path : Path
    error : exception type
        Raised for every problem, with a message that starts with the path.
    what : str
        What the file is, for messages (e.g. ``"checkpoint"``).
    """

    def __init__(self, path: Path, error: type[Exception], what: str) -> None:
        self.path, self.error, self.what = path, error, what
        self._fh = open_regular(path, error, what)
        try:
            self.size = os.fstat(self._fh.fileno()).st_size
            self._zip = zipfile.ZipFile(self._fh)
            self._members = self._check_members(self._zip.infolist())
        except self.error:
            self._fh.close()
            raise
        except Exception as exc:  # zipfile's failures are many and foreign: all mean "not a readable file"
            self._fh.close()
            raise self._fail(f"not a readable xpnet {what} (.npz): {_describe(exc)}") from exc

    def __enter__(self) -> "NpzReader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._zip.close()
        self._fh.close()

    def _fail(self, problem: str) -> Exception:
        return self.error(f"{self.path}: {problem}")

    def _check_members(self, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            if name in members:
                raise self._fail(f"member {name!r} appears twice")
            if info.flag_bits & 0x1:
                raise self._fail(f"member {name!r} is encrypted")
            if info.compress_type != zipfile.ZIP_STORED:
                raise self._fail(f"member {name!r} is compressed (method {info.compress_type}); xpnet reads only the "
                                 "uncompressed members numpy.savez writes")
            if info.file_size != info.compress_size or info.header_offset + info.compress_size > self.size:
                raise self._fail(f"member {name!r} declares {info.file_size} bytes, more than the file holds")
            members[name] = info
        return members

    @property
    def names(self) -> set[str]:
        """Member names without the ``.npy`` suffix (a member without it is named as it is)."""
        return {n[:-4] if n.endswith(".npy") else n for n in self._members}

    def expect_names(self, expected: Iterable[str]) -> None:
        """Raise unless the members are exactly ``expected`` (names without ``.npy``)."""
        expected = set(expected)
        names = set(self._members)
        wanted = {f"{n}.npy" for n in expected}
        if names != wanted:
            extra, missing = sorted(names - wanted), sorted(wanted - names)
            parts = ([f"unexpected member(s) {extra}"] if extra else []) + ([f"missing {missing}"] if missing else [])
            raise self._fail(f"members {sorted(names)} do not match the expected {sorted(wanted)}: {'; '.join(parts)}")

    def array(self, name: str, dtypes: Iterable[np.dtype], shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Member ``name`` as a fresh native-order array of one of ``dtypes`` (any byte order) and ``shape`` (if given)."""
        allowed = [np.dtype(d).newbyteorder("=") for d in dtypes]

        def accept(dtype: np.dtype, found: tuple[int, ...]) -> str | None:
            if dtype.hasobject or dtype.newbyteorder("=") not in allowed:
                return f"has dtype {dtype}, expected {' or '.join(map(str, allowed))}"
            if shape is not None and found != tuple(shape):
                return f"has shape {found}, expected {tuple(shape)}"
            return None

        return self._member(name, accept)

    def text(self, name: str) -> str:
        """Member ``name``, a 0-d unicode array (what ``numpy.savez`` makes of a ``str``), as a ``str``."""

        def accept(dtype: np.dtype, found: tuple[int, ...]) -> str | None:
            if dtype.kind != "U" or found != ():
                return f"has dtype {dtype} and shape {found}, expected a 0-d unicode string"
            return None

        array = self._member(name, accept)
        try:
            return str(array[()])
        except Exception as exc:  # e.g. code points beyond U+10FFFF
            raise self._fail(f"member {name!r} is not valid text: {_describe(exc)}") from exc

    def _member(self, name: str, accept: Any) -> np.ndarray:
        info = self._members.get(f"{name}.npy")
        if info is None:
            raise self._fail(f"not an xpnet {self.what}: no member {name!r}")
        try:
            with self._zip.open(info) as member:
                return self._read(member, name, info.file_size, accept)
        except self.error:
            raise
        except Exception as exc:
            raise self._fail(f"member {name!r} is corrupt: {_describe(exc)}") from exc

    def _read(self, member: Any, name: str, size: int, accept: Any) -> np.ndarray:
        header_len, (shape, fortran, dtype) = _header(member)
        problem = accept(dtype, tuple(shape))
        if problem:
            raise self._fail(f"member {name!r} {problem}")
        nbytes = prod(shape) * dtype.itemsize
        if nbytes != size - header_len:
            shown = "x".join(map(str, shape)) or "0-d"
            raise self._fail(f"member {name!r} declares {shown} {dtype} ({nbytes} bytes) "
                             f"but holds {size - header_len} bytes of data")
        buf = np.empty(nbytes, np.uint8)  # no more than the member holds, checked just above
        view, got = memoryview(buf.data), 0
        while got < nbytes:
            n = member.readinto(view[got : got + (1 << 22)])
            if not n:
                break
            got += n
        if got != nbytes or member.read(1):  # reading to the end also runs zip's CRC check
            raise self._fail(f"member {name!r} is truncated or too long")
        out = buf.view(dtype).reshape(shape, order="F" if fortran else "C")
        if dtype.isnative and out.flags.c_contiguous:
            return out
        return np.ascontiguousarray(out.astype(dtype.newbyteorder("="), copy=True))


def _header(member: BinaryIO) -> tuple[int, tuple[tuple[int, ...], bool, np.dtype]]:
    """Length and content of a ``.npy`` header (magic, version, bounded dict), read from ``member``."""
    lead = member.read(8)
    if len(lead) < 8 or lead[:6] != _MAGIC or lead[6] not in _HEADER_READERS:
        raise ValueError(f"not a .npy member (starts with {lead[:8]!r})")
    read_header, length_format = _HEADER_READERS[lead[6]]
    raw_len = member.read(struct.calcsize(length_format))
    if len(raw_len) != struct.calcsize(length_format):
        raise ValueError("the .npy header is truncated")
    length = struct.unpack(length_format, raw_len)[0]
    if length > _MAX_HEADER:
        raise ValueError(f"the .npy header declares {length} bytes (at most {_MAX_HEADER} expected)")
    text = member.read(length)
    if len(text) != length:
        raise ValueError("the .npy header is truncated")
    parsed = read_header(io.BytesIO(raw_len + text), max_header_size=_MAX_HEADER)
    return 8 + len(raw_len) + length, parsed


def _describe(exc: BaseException) -> str:
    """One line: the exception's type and message."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
