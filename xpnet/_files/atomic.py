"""Output files: checked before a run, written atomically, never replacing anything but a regular file.

:func:`atomic_write_bytes` writes a temporary file beside the target, flushes it to disk and
renames it over the target, so a crash or a kill never leaves a half-written file in place. It
replaces only regular files (or creates new ones): a directory, a device, a FIFO or a socket
is refused, and a symbolic link is followed, so the link stays and the file it points to is
replaced. The temporary file is removed on every exit Python sees; one left behind by a killed
process (``.NAME.PID.TOKEN.xpnet-tmp``) is removed by the next write to the same target.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import tempfile
from pathlib import Path

__all__ = ["OutputError", "atomic_write_bytes", "check_output", "output_target", "stale_temporaries"]

_SUFFIX = ".xpnet-tmp"


class OutputError(OSError):
    """An output path that cannot or must not be written; the message names it and the reason."""


def _kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, word in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "not a regular file"


def output_target(path: str | os.PathLike) -> Path:
    """The regular file that writing to ``path`` replaces or creates: ``path``, or where its symbolic link points.

    Raises
    ------
    OutputError
        The path is empty, is (or points to) a directory, device, FIFO or socket, is a
        dangling symbolic link, or its directory does not exist.
    """
    text = os.fspath(path)
    if text in ("", b""):
        raise OutputError("an empty path names no file")
    path = Path(os.fsdecode(text))
    _refuse_descriptor_links(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        if target != path:
            raise OutputError(f"{path}: is a symbolic link to {target}, which does not exist") from None
        mode = None
    except OSError as exc:
        raise OutputError(f"{path}: cannot check it: {exc.strerror or exc}") from None
    if mode is not None and not stat.S_ISREG(mode):
        where = "" if target == path else f" (a link to {target})"
        raise OutputError(f"{path}{where}: is {_kind(mode)}, not a regular file; refusing to replace it")
    if not target.parent.is_dir():
        raise OutputError(f"{path}: directory {target.parent} does not exist")
    return target


def _is_descriptor_path(path: str) -> bool:
    """True for the names of open file descriptors (``/dev/stdout``, ``/dev/fd/N``, ``/proc/.../fd/N``)."""
    path = os.path.normpath(os.path.abspath(path))
    return path in ("/dev/stdin", "/dev/stdout", "/dev/stderr") or path.startswith(("/dev/fd/", "/proc/"))


def _refuse_descriptor_links(path: Path) -> None:
    """Refuse a path that is, or links through, the name of an open file descriptor.

    Replacing what ``/dev/stdout`` points to would replace the file the output is redirected to,
    losing what was written there; a file descriptor is not a file to replace.
    """
    hop = os.fspath(path)
    for _ in range(40):  # the kernel's own limit on symbolic links followed
        if _is_descriptor_path(hop):
            raise OutputError(f"{path}: names an open file descriptor ({hop}), not a file; write to a file instead")
        if not os.path.islink(hop):
            return
        link = os.readlink(hop)
        hop = link if os.path.isabs(link) else os.path.join(os.path.dirname(hop), link)
    raise OutputError(f"{path}: too many levels of symbolic links")


def check_output(path: str | os.PathLike) -> Path:
    """:func:`output_target`, after proving that a file can be created in its directory (a probe, removed at once).

    Raises
    ------
    OutputError
        As :func:`output_target`, or the directory is not writable (permissions, read-only file system),
        or the existing file is read-only.
    """
    target = output_target(path)
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputError(f"{path}: the file is read-only; make it writable or choose another path")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create files in {target.parent}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)
    return target


def _pid_running(pid: int) -> bool:
    """True when a process with this id exists (or cannot be told apart from one)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0  # someone else's live process; an absurd id is no process
    return True


def stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Temporary files of earlier writes to ``target`` whose process no longer runs (left by a kill)."""
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(\d+)\.[0-9a-f]+{re.escape(_SUFFIX)}")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    found = []
    for name in names:
        m = pattern.fullmatch(name)
        if m and not _pid_running(int(m.group(1))):
            found.append(target.parent / name)
    return found


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temporary file beside it, flushed to disk, renamed over it.

    Parameters
    ----------
    path : str or PathLike
        The file to create or replace (see :func:`output_target`).
    data : bytes

    Returns
    -------
    pathlib.Path
        The file written (``path``, or the file its symbolic link points to).

    Raises
    ------
    OSError
        :class:`OutputError` for a path that must not be replaced; the system's error when writing fails
        (the previous file is then left as it was, and the temporary file removed).
    """
    target = output_target(path)
    for old in stale_temporaries(target):
        try:
            old.unlink()
        except OSError:
            pass  # gone already, or not ours to remove
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{_SUFFIX}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        with open(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _sync_directory(target.parent)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return target


def _sync_directory(directory: Path) -> None:
    """Flush the rename to disk where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
