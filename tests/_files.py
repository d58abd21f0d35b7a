"""Helpers shared by the tests of files and the command line: IDX files, a small MNIST-format data set, subprocesses."""

from __future__ import annotations

import gzip
import os
import struct
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MNIST_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    """``array`` as an IDX file (uint8 unless ``code`` says otherwise)."""
    array = np.asarray(array)
    dtype = {0x08: ">u1", 0x0B: ">i2", 0x0D: ">f4"}[code]
    return struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape) + array.astype(dtype).tobytes()


def write_mnist_dir(directory: Path, n_train: int = 600, n_test: int = 200, *, offset: int = 0, gz: bool = False) -> Path:
    """A data directory with the first ``n_train``/``n_test`` MNIST images (from ``offset``), in the four IDX files."""
    from xpnet.datasets import load_mnist

    (x, t), (xt, tt) = load_mnist(normalize=False, flatten=False)
    x, xt = x[:, 0], xt[:, 0]  # (N, 28, 28), as the IDX files hold them
    directory.mkdir(parents=True, exist_ok=True)
    arrays = (x[offset : offset + n_train], t[offset : offset + n_train], xt[:n_test], tt[:n_test])
    for name, array in zip(MNIST_NAMES, arrays):
        data = idx_bytes(array)
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            (directory / name).write_bytes(data)
    return directory


def rewrite_meta(path: Path, out: Path, edit) -> Path:
    """The checkpoint at ``path`` with its metadata changed by ``edit(meta)``, written to ``out`` as ``np.savez`` writes one."""
    import json

    with np.load(path) as z:
        members = {k: z[k] for k in z.files}
    meta = json.loads(members["meta"].item())
    edit(meta)
    with open(out, "wb") as fh:
        np.savez(fh, **{**members, "meta": np.asarray(json.dumps(meta))})
    return out


def env() -> dict[str, str]:
    """The environment for a child ``python -m xpnet``: this checkout first on the path."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), out.get("PYTHONPATH")) if p)
    return out


def xpnet_command(*args: str) -> list[str]:
    """``python -m xpnet ARGS`` with this interpreter."""
    return [sys.executable, "-m", "xpnet", *args]


def one_line_error(err: str) -> str:
    """The single line of ``err`` (asserting it is one line and no traceback)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def train_command(*argv: str, ignored: str = "") -> list[str]:
    """``xpnet train ARGV`` in a child that starts with the stop signals' default actions (and ``ignored`` ignored).

    A suite started under ``nohup`` ignores SIGHUP (a background job, SIGINT), and a child inherits
    that; xpnet rightly keeps a signal ignored at start, so the child would not stop. The child
    sets the actions itself: a ``preexec_fn`` would fork a multithreaded process (JAX's threads).
    """
    code = ("import runpy, signal, sys\n"
            "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "for name in ('SIGTERM', 'SIGHUP'): signal.signal(getattr(signal, name), signal.SIG_DFL)\n"
            f"for name in {ignored.split()!r}: signal.signal(getattr(signal, name), signal.SIG_IGN)\n"
            "sys.argv[0] = 'xpnet'\n"
            "runpy.run_module('xpnet', run_name='__main__', alter_sys=True)")
    return [sys.executable, "-c", code, "train", *argv]
