"""Fuzz one of xpnet's file readers in this process, under a memory and a time limit (run by test_untrusted_files.py).

Usage: ``python _fuzz_child.py {checkpoint|idx} SEED CASES WORKDIR``. Each case is random bytes or
a valid file with random damage: flipped, cut, inserted or appended bytes, and edits that keep
the structure but lie (``.npy`` shapes and dtypes, zip sizes and compression methods, metadata
values and nesting, IDX dimensions). The reader must return or raise xpnet's own error type; a
``MemoryError`` (the address space is capped a fixed amount above what the process had after a
first, valid read), a case over the time limit, or any other exception is a failure. Prints one
JSON line: the number of cases, how each ended, and the first failures.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import resource
import signal
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

import xpnet
from xpnet.datasets import read_idx
from xpnet.errors import CheckpointError, DataFileError

MEMORY_HEADROOM = 256 << 20  # bytes of address space a case may add
SECONDS = 5  # per case


class Timeout(Exception):
    """A case ran past its time limit."""


def _vm_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")


# --- valid files to damage -------------------------------------------------------------------
def checkpoint_bytes(workdir: Path) -> bytes:
    net = xpnet.TwoLayerNet(6, 5, 3, seed=0, dtype="float32")
    history = xpnet.History(train_loss=[2.3, 1.0], eval_iters=[2], train_acc=[0.5], test_acc=[0.4], config={"lr": 0.1})
    path = workdir / "valid.npz"
    xpnet.save(net, path, history=history)
    return path.read_bytes()


def idx_bytes(rng: random.Random) -> bytes:
    dims = [rng.randint(0, 4) for _ in range(rng.randint(1, 3))]
    code, dtype = rng.choice([(0x08, ">u1"), (0x0B, ">i2"), (0x0D, ">f4")])
    data = struct.pack(f">BBBB{len(dims)}I", 0, 0, code, len(dims), *dims)
    data += np.zeros(int(np.prod(dims)), dtype).tobytes()
    return gzip.compress(data, mtime=0) if rng.random() < 0.5 else data


# --- damage ----------------------------------------------------------------------------------
def damage(rng: random.Random, data: bytes) -> bytes:
    """Flip, cut, insert or append bytes, one to four times."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op, pos = rng.choice("fcia"), rng.randrange(max(len(out), 1))
        if op == "f" and out:
            out[pos] = rng.randrange(256)
        elif op == "c":
            del out[pos:]
        elif op == "i":
            out[pos:pos] = rng.randbytes(rng.randint(1, 8))
        else:
            out += rng.randbytes(rng.randint(1, 64))
    return bytes(out)


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return buf.getvalue()


def _npy(value: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, value, allow_pickle=False)
    return buf.getvalue()


BIG = [0, 1, -1, 7, 2**31, 2**32 + 5, 10**12, 10**30]


def lie_in_npy_header(rng: random.Random, members: dict[str, bytes]) -> dict[str, bytes]:
    name = rng.choice(sorted(members))
    raw = members[name]
    end = raw.index(b"}") + 1
    header = raw[10:end].decode("latin1")
    choice = rng.random()
    if choice < 0.4:
        header = header.replace(header[header.index("(") : header.index(")") + 1], str(tuple(rng.choice(BIG) for _ in range(rng.randint(0, 3)))))
    elif choice < 0.7:
        start = header.index("'descr': ") + 9
        stop = header.index(",", start)
        header = header[:start] + repr(rng.choice(["<U99999999", "|O", "<f8", ">f4", "<i8", "|b1", "<c16", "[('a', '<f4')]", "<U0"])) + header[stop:]
    else:
        header = header.replace("False", "True") if rng.random() < 0.5 else header[: rng.randrange(len(header))]
    body = header.encode("latin1")
    return {**members, name: raw[:8] + struct.pack("<H", len(body)) + body + raw[end:]}


def lie_in_meta(rng: random.Random, members: dict[str, bytes]) -> dict[str, bytes]:
    meta = json.loads(np.load(io.BytesIO(members["meta.npy"])).item())
    values = [None, True, -1, 0, 10**12, 1e308, "x", [], {}, [1, "a"], {"a": [[[[]]]]}, float("nan")]
    target = meta
    path = []
    while isinstance(target, dict) and target and rng.random() < 0.7:
        key = rng.choice(sorted(target))
        path.append(key)
        if not isinstance(target[key], dict) or rng.random() < 0.3:
            target[key] = rng.choice(values)
            break
        target = target[key]
    if rng.random() < 0.1:
        text = "[" * rng.choice([100, 5000, 200000]) + "]" * rng.randint(0, 5)
    elif rng.random() < 0.1:
        text = json.dumps(meta)[: rng.randrange(200)]
    else:
        text = json.dumps(meta)
    return {**members, "meta.npy": _npy(np.asarray(text))}


def lie_in_zip(rng: random.Random, data: bytes) -> bytes:
    """Overwrite a field of a central-directory or local header with a random value."""
    out = bytearray(data)
    sig = rng.choice([b"PK\x01\x02", b"PK\x03\x04", b"PK\x05\x06"])
    spots = [i for i in range(len(out)) if out.startswith(sig, i)]
    if not spots:
        return bytes(out)
    at = rng.choice(spots)
    offset, width = rng.choice([(8, 2), (10, 2), (16, 4), (20, 4), (24, 4), (28, 2), (42, 4), (10, 2), (12, 4), (16, 4)])
    value = rng.choice([0, 1, 8, 12, 14, 99, 2**16 - 1, 2**32 - 1, rng.randrange(2 ** (8 * width))]) % 2 ** (8 * width)
    out[at + offset : at + offset + width] = value.to_bytes(width, "little")
    return bytes(out)


def checkpoint_case(rng: random.Random, valid: bytes) -> bytes:
    kind = rng.random()
    if kind < 0.1:
        return rng.randbytes(rng.randint(0, 2000))
    if kind < 0.35:
        return damage(rng, valid)
    if kind < 0.55:
        return lie_in_zip(rng, valid)
    members = _members(valid)
    if kind < 0.7:
        return _zip(lie_in_npy_header(rng, members))
    if kind < 0.85:
        return _zip(lie_in_meta(rng, members))
    if kind < 0.92:
        extra = dict(members)
        extra[rng.choice(["evil.npy", "param/W3.npy", "meta.npy.npy", "../x"])] = _npy(np.zeros(3))
        return _zip(extra)
    return _zip(members, zipfile.ZIP_DEFLATED)


def lying_gzip(rng: random.Random) -> bytes:
    """A few hundred kB of incompressible pixels whose header claims tens to thousands of times more."""
    size = rng.randint(200_000, 600_000)
    claim = size * rng.choice([2, 50, 200, 300, 1000, 4000]) // 784
    return gzip.compress(struct.pack(">BBBBIII", 0, 0, 0x08, 3, claim, 28, 28) + rng.randbytes(size), compresslevel=1, mtime=0)


def idx_case(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.05:
        return lying_gzip(rng)
    if kind < 0.15:
        return rng.randbytes(rng.randint(0, 200))
    if kind < 0.6:
        return damage(rng, idx_bytes(rng))
    ndim = rng.randint(0, 5)
    dims = [rng.choice([0, 1, 3, 28, 65536, 2**31, 2**32 - 1]) for _ in range(ndim)]
    code = rng.choice([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, rng.randrange(256)])
    data = struct.pack(f">BBBB{ndim}I", 0, 0, code, ndim, *dims) + bytes(rng.randint(0, 4096))
    return gzip.compress(data, mtime=0) if rng.random() < 0.5 else data


# --- the loop --------------------------------------------------------------------------------
def main() -> None:
    kind, seed, cases, workdir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    rng = random.Random(seed)
    path = workdir / ("case.npz" if kind == "checkpoint" else "case.idx")
    valid = checkpoint_bytes(workdir) if kind == "checkpoint" else b""
    own = CheckpointError if kind == "checkpoint" else DataFileError
    read = xpnet.load if kind == "checkpoint" else read_idx
    path.write_bytes(valid or idx_bytes(rng))
    read(path)  # warm up: lazy imports and caches belong to the baseline, not to a case
    limit = _vm_size() + MEMORY_HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    def on_alarm(signum: int, frame: object) -> None:
        raise Timeout(f"over {SECONDS} s")

    signal.signal(signal.SIGALRM, on_alarm)
    outcomes: dict[str, int] = {}
    failures: list[str] = []
    for i in range(cases):
        data = checkpoint_case(rng, valid) if kind == "checkpoint" else idx_case(rng)
        path.write_bytes(data)
        signal.alarm(SECONDS)
        try:
            read(path)
            outcome = "loaded"
        except own as exc:
            outcome = "own error"
            if str(path) not in str(exc) or "\n" in str(exc):
                failures.append(f"case {i}: message does not name the file in one line: {exc}")
        except BaseException as exc:  # noqa: BLE001 - everything else is what this fuzzer looks for
            outcome = type(exc).__name__
            failures.append(f"case {i}: {type(exc).__name__}: {str(exc)[:300]} (bytes: {data[:64].hex()}...)")
        finally:
            signal.alarm(0)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print(json.dumps({"cases": cases, "outcomes": outcomes, "failures": failures[:10], "limit_mb": limit >> 20}))


if __name__ == "__main__":
    main()
