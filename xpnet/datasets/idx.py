"""Strict reader for IDX files (the MNIST file format), raw or gzip-compressed.

An IDX file is a 4-byte magic number ``00 00 TT NN`` (``TT`` the element type,
``NN`` the number of dimensions), ``NN`` big-endian uint32 dimension sizes, and
then exactly ``prod(dims)`` big-endian elements. Anything else -- a short or
long payload, an unknown type, a damaged gzip stream -- is reported as
:class:`~xpnet.errors.DataFileError` with a one-line message naming the file.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import sys
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from math import prod
from typing import Any, Protocol

import numpy as np

from xpnet.errors import DataFileError

__all__ = ["IDX_DTYPES", "read_idx"]

#: IDX element type code -> NumPy dtype (native byte order; the file is big-endian).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(np.int16),
    0x0C: np.dtype(np.int32),
    0x0D: np.dtype(np.float32),
    0x0E: np.dtype(np.float64),
}

_GZIP_MAGIC = b"\x1f\x8b"
_MAX_NDIM = 32  # the oldest NumPy we support caps arrays at 32 dimensions
# Deflate cannot expand data by more than ~1032:1; real image sets compress a few
# times (MNIST about 5:1). A .gz whose header claims more than 256 times its size
# is refused before any payload is read (gunzip it to use such a file anyway).
_MAX_GZIP_RATIO = 256
# Up to this ratio the payload buffer is allocated at once; beyond it, it grows with the data.
_TRUSTED_RATIO = 32
_MAX_NBYTES = np.iinfo(np.intp).max  # NumPy's limit, zero-length dimensions aside
_CHUNK = 1 << 20  # bytes decompressed/read per step
_COUNT_LIMIT = 1 << 28  # a refused file's data is counted (for its message) up to this many bytes


class _Hasher(Protocol):
    """Anything with ``update(bytes-like)``, e.g. ``hashlib.sha256()``."""

    def update(self, data: Any, /) -> None: ...  # pragma: no cover


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file into a NumPy array.

    Parameters
    ----------
    path : str or os.PathLike
        The file, raw or gzip-compressed. Compression is detected from the
        gzip magic bytes ``1f 8b``, not from the ``.gz`` suffix.

    Returns
    -------
    numpy.ndarray, shape given by the header's dimensions
        A fresh, writable, C-contiguous array in native byte order, of dtype
        uint8, int8, int16, int32, float32 or float64 (IDX type codes 0x08,
        0x09, 0x0B, 0x0C, 0x0D, 0x0E).

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike.
    xpnet.errors.DataFileError
        The file is missing or unreadable, the gzip stream is corrupt, the
        magic number or dimensions are invalid, the payload is shorter or
        longer than the header says, or a compressed file's header claims more
        than 256 times the size of the ``.gz`` (gunzip such a file to read it).
        The message names the file.
    """
    return _read_idx(path)


def _read_idx(path: str | os.PathLike[str], hasher: _Hasher | None = None) -> np.ndarray:
    """Read an IDX file, feeding its uncompressed bytes to ``hasher`` if given."""
    if not isinstance(path, (str, bytes, os.PathLike)):  # an int would open a file descriptor
        raise TypeError(f"read_idx: path must be a str or os.PathLike, got {type(path).__name__}")
    name = os.fsdecode(path)
    try:
        with _open_regular(path, name) as raw:
            size = os.fstat(raw.fileno()).st_size
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            if not compressed:
                return _read_stream(raw, name, size, exact=True, hasher=hasher)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_stream(stream, name, size * _MAX_GZIP_RATIO, exact=False, hasher=hasher, packed=size)
    except DataFileError:
        raise
    except FileNotFoundError:
        raise DataFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise DataFileError(f"{name}: is a directory, not an IDX file") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataFileError(f"{name}: corrupt gzip stream: {_describe_gzip_error(exc)}") from exc
    except OSError as exc:
        raise DataFileError(f"{name}: cannot read file: {_one_line(exc.strerror or exc)}") from exc


def _open_regular(path: str | bytes | os.PathLike[str], name: str) -> io.BufferedReader:
    """Open a non-empty regular file; a FIFO, device or socket is refused before it can block.

    The type is checked before opening, and the file is opened with ``O_NONBLOCK`` and checked
    again, so a FIFO swapped in between cannot hang the reader either.
    """
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(name)
    if not stat.S_ISREG(st.st_mode):
        raise DataFileError(f"{name}: not a regular file (a FIFO, device or socket); an IDX file must be a regular file")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
        os.close(fd)
        if st.st_size == 0 and stat.S_ISREG(st.st_mode):
            raise DataFileError(f"{name}: empty file, not an IDX file")
        raise DataFileError(f"{name}: not a regular file")
    return open(fd, "rb")


def _read_stream(
    f: io.BufferedIOBase, name: str, limit: int, *, exact: bool, hasher: _Hasher | None, packed: int = 0
) -> np.ndarray:
    """Parse header and payload from ``f``; ``limit`` bounds the bytes it can hold.

    With ``exact=True`` (raw file) ``limit`` is the file size, so a length
    mismatch is detected before any payload is read. A compressed stream of
    ``packed`` bytes whose header claims more than ``_TRUSTED_RATIO`` times that
    is read into a buffer that grows only as data arrives, so a lying header
    allocates nothing.
    """
    dtype, dims, header = _read_header(f, name)
    if hasher is not None:
        hasher.update(header)
    count = prod(dims)
    nbytes = count * dtype.itemsize
    available = limit - len(header)
    if exact and nbytes != available:
        raise DataFileError(_length_message(name, dims, dtype, nbytes, available))
    if nbytes > available:  # more than a .gz of this size may hold: the data itself says whether it ends early
        stop = min(available, _COUNT_LIMIT)
        follow = _count_rest(f, stop + 1)
        if follow > stop:
            raise DataFileError(_over_limit_message(name, dims, dtype, nbytes, len(header) + stop, packed))
        raise DataFileError(_length_message(name, dims, dtype, nbytes, follow))
    if exact or nbytes <= _TRUSTED_RATIO * packed:
        out = np.empty(dims, dtype=dtype)  # owns its memory, so a read-only flag set later sticks
        got = _read_into(f, out.reshape(-1).view(np.uint8).data, hasher)
    else:
        grown, got = _read_growing(f, nbytes, hasher)
        if got == nbytes:
            out = np.empty(dims, dtype=dtype)
            out.reshape(-1).view(np.uint8)[:] = grown[:nbytes]
        del grown
    if got < nbytes:
        raise DataFileError(_length_message(name, dims, dtype, nbytes, got))
    if not exact and f.read(1):
        rest = _count_rest(f, _COUNT_LIMIT)
        raise DataFileError(_length_message(name, dims, dtype, nbytes, nbytes + 1 + rest, at_least=rest >= _COUNT_LIMIT))
    if dtype.itemsize > 1 and sys.byteorder == "little":
        out.byteswap(inplace=True)
    return out


def _read_growing(f: io.BufferedIOBase, nbytes: int, hasher: _Hasher | None) -> tuple[np.ndarray, int]:
    """Up to ``nbytes`` bytes of ``f`` in a buffer that doubles only when full: memory follows the data, not the header."""
    buf = np.empty(min(nbytes, 16 * _CHUNK), np.uint8)
    got = 0
    while got < nbytes:
        if got == len(buf):
            buf.resize(min(nbytes, 2 * len(buf)), refcheck=False)
        n = _read_into(f, buf.data[got:], hasher)
        if n == 0:
            break
        got += n
    return buf, got


def _read_header(f: io.BufferedIOBase, name: str) -> tuple[np.dtype, tuple[int, ...], bytes]:
    """Read and validate the magic number and dimensions; return them with the raw header."""
    magic = f.read(4)
    if len(magic) < 4:
        raise DataFileError(
            f"{name}: truncated: {len(magic)} bytes, too short for the 4-byte IDX magic number"
        )
    if magic[:2] != b"\x00\x00":
        hint = " (named .gz but not gzip-compressed)" if name.endswith(".gz") else ""
        raise DataFileError(
            f"{name}: bad magic number 0x{magic.hex()}{hint}: an IDX file starts with two zero bytes"
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} {dt}" for c, dt in IDX_DTYPES.items())
        raise DataFileError(f"{name}: unknown IDX type code 0x{code:02X} (known: {known})")
    if not 1 <= ndim <= _MAX_NDIM:
        raise DataFileError(f"{name}: invalid IDX header: {ndim} dimensions (expected 1 to {_MAX_NDIM})")
    raw_dims = f.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DataFileError(
            f"{name}: truncated: header says {ndim} dimensions ({4 * ndim} bytes) "
            f"but only {len(raw_dims)} bytes follow the magic number"
        )
    dims = tuple(int.from_bytes(raw_dims[i : i + 4], "big") for i in range(0, 4 * ndim, 4))
    dtype = IDX_DTYPES[code]
    if prod(d for d in dims if d) * dtype.itemsize > _MAX_NBYTES:
        shape = "x".join(map(str, dims))
        raise DataFileError(f"{name}: invalid IDX header: {shape} {dtype} is too large for any array")
    return dtype, dims, magic + raw_dims


def _read_into(f: io.BufferedIOBase, buf: memoryview, hasher: _Hasher | None) -> int:
    """Fill ``buf`` from ``f`` in chunks; return the number of bytes read (short at EOF).

    With a ``hasher`` and a large ``buf``, each chunk is hashed on a second thread while the
    next one is read (both release the GIL: decompression and hashing overlap, in order).
    """
    if hasher is None or len(buf) < 4 * _CHUNK:
        return _fill(f, buf, hasher.update if hasher is not None else None)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="xpnet-hash") as pool:
        pending: list[Future[None]] = []

        def hash_later(chunk: memoryview) -> None:
            if pending:
                pending.pop().result()  # the previous chunk first: the hash sees the bytes in order
            pending.append(pool.submit(hasher.update, chunk))

        got = _fill(f, buf, hash_later)
        if pending:
            pending.pop().result()
    return got


def _fill(f: io.BufferedIOBase, buf: memoryview, consume: Callable[[memoryview], None] | None) -> int:
    """Fill ``buf`` from ``f`` a chunk at a time, handing each chunk read to ``consume``; return the bytes read."""
    pos = 0
    while pos < len(buf):
        n = f.readinto(buf[pos : pos + _CHUNK])
        if not n:
            break
        if consume is not None:
            consume(buf[pos : pos + n])
        pos += n
    return pos


def _count_rest(f: io.BufferedIOBase, limit: int) -> int:
    """Count (and discard) the bytes left in ``f``, stopping after ``limit``."""
    total = 0
    while total < limit:
        chunk = f.read(min(_CHUNK, limit - total))
        if not chunk:
            break
        total += len(chunk)
    return total


def _length_message(
    name: str, dims: tuple[int, ...], dtype: np.dtype, nbytes: int, follow: int, *, at_least: bool = False
) -> str:
    """Describe a payload of ``follow`` bytes (``at_least``: counting stopped there) where the header promises ``nbytes``."""
    kind = "truncated" if follow < nbytes else "trailing bytes"
    shape = "x".join(map(str, dims))
    amount = "only " if follow < nbytes else "at least " if at_least else ""
    return f"{name}: {kind}: header says {shape} {dtype} ({nbytes} bytes) but {amount}{follow} bytes follow"


def _over_limit_message(name: str, dims: tuple[int, ...], dtype: np.dtype, nbytes: int, read: int, packed: int) -> str:
    """Describe a .gz of ``packed`` bytes whose header claims more than xpnet reads from it, and whose data goes on
    past the ``read`` bytes (header included) xpnet decompressed before it stopped."""
    limit = packed * _MAX_GZIP_RATIO
    shape = "x".join(map(str, dims))
    claim = f"its header says {shape} {dtype} ({nbytes} bytes of data)"
    rule = f"xpnet's limit for IDX files: {_MAX_GZIP_RATIO} times the size of the .gz"
    if read >= limit:
        what = f"decompresses to more than {limit} bytes ({rule}); {claim}"
    else:
        what = f"{claim}, more than {limit} bytes ({rule}), and it decompresses to more than the {read} bytes xpnet read"
    return f"{name}: {what}: gunzip it and read the uncompressed file, or check the file if it should be smaller"


def _describe_gzip_error(exc: BaseException) -> str:
    """Turn a gzip/zlib exception into a short phrase."""
    if isinstance(exc, EOFError):
        return "compressed data ends early (truncated .gz file?)"
    return _one_line(exc)


def _one_line(obj: object) -> str:
    """``str(obj)`` with runs of whitespace (newlines included) collapsed."""
    return " ".join(str(obj).split())
