"""Files from strangers stay harmless: checkpoints and IDX files that lie, hang or explode fail with xpnet's own error.

Tables of hostile files, each expected to raise :class:`CheckpointError` / :class:`DataFileError`
with a one-line message naming the file and the problem, before anything large is allocated;
then fuzzing in a child process whose address space and time are capped.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _files import env, idx_bytes, one_line_error, write_mnist_dir, xpnet_command
from conftest import to_np

import xpnet
from xpnet.datasets import load_mnist, read_idx
from xpnet.errors import CheckpointError, DataFileError

HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------- building hostile checkpoints
def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", method) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return path


def _npy(value) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(value), allow_pickle=False)
    return buf.getvalue()


def _meta(path: Path) -> dict:
    with np.load(path) as z:
        return json.loads(z["meta"].item())


def _with_meta(path: Path, out: Path, edit) -> Path:
    meta = _meta(path)
    edit(meta)
    return _zip(out, {**_members(path), "meta.npy": _npy(json.dumps(meta))})


def _set(keys: str, value):
    def edit(meta: dict) -> None:
        *head, last = keys.split(".")
        target = meta
        for k in head:
            target = target[k]
        target[last] = value
    return edit


def _header_lie(path: Path, out: Path, old: bytes, new: bytes, *, meta_edit=None) -> Path:
    members = _members(path)
    raw = members["param/W1.npy"]
    end = raw.index(b"}") + 1
    header = raw[10:end].replace(old, new)
    members["param/W1.npy"] = raw[:8] + struct.pack("<H", len(header)) + header + raw[end:]
    if meta_edit is not None:
        meta = _meta(path)
        meta_edit(meta)
        members["meta.npy"] = _npy(json.dumps(meta))
    return _zip(out, members)


def _zip_bomb(path: Path, out: Path) -> Path:
    """W1 declared (6, 5_000_000) float32 (120 MB), deflated from zeros into about 120 kB."""
    members = _members(path)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            if name != "param/W1.npy":
                z.writestr(name, content)
        raw = members["param/W1.npy"]
        header = raw[: raw.index(b"}") + 1].replace(b"(6, 5)", b"(6, 5000000)")
        with z.open("param/W1.npy", "w", force_zip64=True) as f:
            f.write(header.ljust(128, b" ")[:127] + b"\n")
            zeros = bytes(1 << 22)
            for _ in range(6 * 5_000_000 * 4 // len(zeros)):
                f.write(zeros)
    return out


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _fifo(tmp: Path) -> Path:
    path = tmp / "fifo.npz"
    os.mkfifo(path)
    return path


CHECKPOINT_CASES = [
    ("npy-header-declares-1e12-elements", lambda p, o: _header_lie(p, o, b"(6, 5)", b"(1000000, 1000000)"),
     r"member 'param/W1' has shape \(1000000, 1000000\), expected \(6, 5\)"),
    ("npy-header-and-meta-declare-1e12", lambda p, o: _header_lie(
        p, o, b"(6, 5)", b"(1000000, 1000000)", meta_edit=lambda m: m["network"].update(input_size=10**6, hidden_size=10**6)),
     r"declares 1000000x1000000 float32 \(4000000000000 bytes\) but holds \d+ bytes of data"),
    ("zip-bomb", _zip_bomb, r"is compressed \(method 8\)"),
    ("deflated-like-savez-compressed", lambda p, o: _zip(o, _members(p), zipfile.ZIP_DEFLATED), r"is compressed"),
    ("meta-declares-huge-string", lambda p, o: _zip(o, {**_members(p), "meta.npy": _members(p)["meta.npy"].replace(
        b"'<U", b"'<U9999999", 1)}), r"member 'meta' (declares|is corrupt)"),
    ("meta-9MB-of-nesting", lambda p, o: _zip(o, {**_members(p), "meta.npy": _npy("[" * 1_100_000 + "]" * 1_100_000)}),
     r"metadata is not valid JSON"),
    ("meta-too-many-digits", lambda p, o: _zip(o, {**_members(p), "meta.npy": _npy("1" * 100_000)}), r"not valid JSON"),
    ("meta-not-an-object", lambda p, o: _zip(o, {**_members(p), "meta.npy": _npy("[1, 2]")}), r"not an xpnet checkpoint"),
    ("meta-2d-array", lambda p, o: _zip(o, {**_members(p), "meta.npy": _npy(np.zeros((2, 2)))}),
     r"member 'meta' has dtype float64 and shape \(2, 2\), expected a 0-d unicode string"),
    ("network-not-an-object", lambda p, o: _with_meta(p, o, _set("network", "TwoLayerNet")), r"metadata\.network must be an object"),
    ("network-size-a-string", lambda p, o: _with_meta(p, o, _set("network.hidden_size", "5")),
     r"metadata\.network\.hidden_size must be a positive integer, got '5'"),
    ("network-size-zero", lambda p, o: _with_meta(p, o, _set("network.input_size", 0)), r"input_size must be a positive integer"),
    ("activation-unknown", lambda p, o: _with_meta(p, o, _set("network.activation", "tanh")), r"activation must be 'relu' or 'sigmoid'"),
    ("dtype-unknown", lambda p, o: _with_meta(p, o, _set("network.dtype", "float16")), r"dtype must be 'float32' or 'float64'"),
    ("weight-std-nan", lambda p, o: _with_meta(p, o, _set("network.weight_init_std", float("nan"))), r"weight_init_std must be"),
    ("history-loss-a-dict", lambda p, o: _with_meta(p, o, _set("history", {"train_loss": [1.0, {"a": 1}]})),
     r"metadata\.history\.train_loss\[1\] must be a number"),
    ("history-a-string", lambda p, o: _with_meta(p, o, _set("history", "x")), r"metadata\.history must be an object"),
    ("compile-time-a-string", lambda p, o: _with_meta(p, o, _set("history", {"compile_time": "1 s"})),
     r"metadata\.history\.compile_time must be a number, got '1 s'"),
    ("config-nested-deep", lambda p, o: _with_meta(p, o, _set("history", {"config": json.loads("[" * 50 + "]" * 50 and
     '{"a": ' * 50 + "1" + "}" * 50)})), r"history\.config must be an object nested at most 8 deep"),
    ("trainer-state-rng-missing", lambda p, o: _with_meta(p, o, _set("trainer_state", {"history": {}})),
     r"metadata\.trainer_state has no field 'rng'"),
    ("backend-a-list", lambda p, o: _with_meta(p, o, _set("backend", [1, "a"])), r"metadata\.backend must be a string"),
    ("run-record-wrong", lambda p, o: _with_meta(p, o, _set("run", {"backend": "numpy"})), r"metadata\.run has no field"),
    ("version", lambda p, o: _with_meta(p, o, _set("version", 99)), r"version 99 is not supported"),
    ("extra-member", lambda p, o: _zip(o, {**_members(p), "evil.npy": _npy(np.zeros(3))}), r"unexpected member\(s\) \['evil\.npy'\]"),
    ("missing-member", lambda p, o: _zip(o, {k: v for k, v in _members(p).items() if k != "param/b1.npy"}),
     r"missing \['param/b1\.npy'\]"),
    ("object-dtype", lambda p, o: _zip(o, {**_members(p), "param/b2.npy": _members(p)["param/b2.npy"].replace(b"'<f4'", b"'|O' ")}),
     r"member 'param/b2' has dtype object"),
    ("npy-header-too-long", lambda p, o: _zip(o, {**_members(p), "param/b2.npy": b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31)}),
     r"declares 2147483648 bytes"),
    ("crc-mismatch", lambda p, o: _write(o, p.read_bytes().replace(_members(p)["param/W2.npy"][-8:], b"\x01" * 8)),
     r"member 'param/W2' is corrupt: BadZipFile: Bad CRC-32"),
    ("truncated", lambda p, o: _write(o, p.read_bytes()[:-100]), r"not a readable xpnet checkpoint"),
    ("empty", lambda p, o: _write(o, b""), r"not a readable xpnet checkpoint"),
    ("a-directory", lambda p, o: o.mkdir() or o, r"is a directory"),
    ("a-fifo", lambda p, o: _fifo(o.parent), r"not a regular file \(a FIFO, device or socket\)"),
    ("a-device", lambda p, o: Path("/dev/zero"), r"not a regular file"),
]


@pytest.fixture
def saved(tmp_path) -> Path:
    """A valid checkpoint of a 6-5-3 float32 network with a history."""
    net = xpnet.TwoLayerNet(6, 5, 3, seed=0, dtype="float32")
    path = tmp_path / "ok.npz"
    xpnet.save(net, path, history=xpnet.History(train_loss=[2.3, 1.0], config={"lr": 0.1}))
    return path


@pytest.mark.parametrize("backend_name", ["numpy", "array_api_strict"])
@pytest.mark.parametrize(("make", "match"), [pytest.param(m, r, id=i) for i, m, r in CHECKPOINT_CASES])
def test_hostile_checkpoints_raise_checkpoint_error(saved, tmp_path, make, match, backend_name):
    if "fifo" in match and not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = make(saved, tmp_path / "bad.npz")
    with pytest.raises(CheckpointError) as info:
        xpnet.load(path, backend=backend_name)
    message = str(info.value)
    assert re.search(match, message), message
    assert str(path) in message and "\n" not in message


def test_checkpoints_written_by_other_numpy_layouts_still_load(saved, tmp_path, backend):
    """Big-endian and Fortran-ordered members are valid .npy files: read, converted, equal."""
    members = _members(saved)
    with np.load(saved) as z:
        w1 = z["param/W1"]
    members["param/W1.npy"] = _npy(np.asfortranarray(w1).astype(">f4"))
    other = _zip(tmp_path / "other.npz", members)
    net = xpnet.load(other, backend=backend.name, device=backend.device)
    np.testing.assert_array_equal(to_np(net.params["W1"]), w1)


def test_a_fifo_as_checkpoint_is_refused_at_once_by_the_command(tmp_path):
    fifo = _fifo(tmp_path)
    proc = subprocess.run(xpnet_command("train", "--resume", str(fifo)), capture_output=True, text=True, env=env(), timeout=60)
    assert proc.returncode == 2
    assert "not a regular file" in one_line_error(proc.stderr)


# --------------------------------------------------------------------------- IDX files
def _lying_gzip(tmp: Path, ratio: int) -> Path:
    """500 kB of incompressible pixels whose header claims ``ratio`` times as many."""
    size = 500_000
    data = struct.pack(">BBBBIII", 0, 0, 0x08, 3, size * ratio // 784, 28, 28) + np.random.default_rng(0).bytes(size)
    path = tmp / "lying.gz"
    path.write_bytes(gzip.compress(data, compresslevel=1, mtime=0))
    return path


def _fifo_idx(tmp: Path) -> Path:
    os.mkfifo(tmp / "fifo.idx")
    return tmp / "fifo.idx"


IDX_CASES = [
    ("gzip-claims-10000x-its-size", lambda tmp: _lying_gzip(tmp, 10_000), r"truncated: header says \d+x28x28 uint8"),
    ("gzip-claims-100x-its-size", lambda tmp: _lying_gzip(tmp, 100), r"truncated: .* but only 500000 bytes follow"),
    ("raw-claims-more-than-the-file", lambda tmp: _write(tmp / "r.idx", struct.pack(">BBBBIII", 0, 0, 8, 3, 5_400_000, 28, 28)
                                                                              + bytes(100)),
     r"truncated: header says 5400000x28x28 uint8 \(4233600000 bytes\) but only 100 bytes follow"),
    ("fifo", _fifo_idx, r"not a regular file \(a FIFO, device or socket\)"),
    ("device", lambda tmp: Path("/dev/zero"), r"not a regular file"),
]


@pytest.mark.parametrize(("make", "match"), [pytest.param(m, r, id=i) for i, m, r in IDX_CASES])
def test_hostile_idx_files_raise_data_file_error(tmp_path, make, match):
    path = make(tmp_path)
    with pytest.raises(DataFileError, match=match) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def _gz_idx(path: Path, data: bytes, claimed: int) -> Path:
    """A .gz of ``data`` behind a 1-D uint8 IDX header that claims ``claimed`` elements."""
    path.write_bytes(gzip.compress(struct.pack(">BBBBI", 0, 0, 0x08, 1, claimed) + data, mtime=0))
    return path


@pytest.mark.parametrize("honest_header", [True, False], ids=["header-matches-the-data", "header-claims-more"])
def test_a_gz_beyond_the_limit_is_reported_as_such_not_as_truncated(tmp_path, monkeypatch, honest_header):
    """Zeros compress about 1000:1: the data goes on past the limit, whatever the header says."""
    from xpnet.datasets import idx

    monkeypatch.setattr(idx, "_MAX_GZIP_RATIO", 4)
    path = _gz_idx(tmp_path / "zeros.gz", bytes(20_000), 20_000 if honest_header else 10**9)
    limit = 4 * path.stat().st_size
    with pytest.raises(DataFileError) as info:
        read_idx(path)
    message = str(info.value)
    assert message.startswith(f"{path}: decompresses to more than {limit} bytes (xpnet's limit for IDX files: 4 times "
                              "the size of the .gz)")
    assert "gunzip it" in message and "truncated" not in message and "trailing" not in message


def test_a_gz_whose_data_outlasts_the_count_says_where_reading_stopped(tmp_path, monkeypatch):
    from xpnet.datasets import idx

    monkeypatch.setattr(idx, "_COUNT_LIMIT", 1000)
    path = _gz_idx(tmp_path / "zeros.gz", bytes(2_000_000), 10**9)
    with pytest.raises(DataFileError) as info:
        read_idx(path)
    message = str(info.value)
    assert f"more than {256 * path.stat().st_size} bytes (xpnet's limit for IDX files" in message
    assert "decompresses to more than the 1008 bytes xpnet read" in message  # 8 header bytes and 1000 counted
    assert "truncated" not in message and "gunzip it" in message


@pytest.mark.parametrize("count_limit", [1 << 28, 5000], ids=["count-limit", "small-count-limit"])
def test_a_gz_that_ends_before_the_limit_is_reported_as_truncated(tmp_path, monkeypatch, count_limit):
    """Incompressible data, shorter than the limit and than the count: a genuine truncation, counted exactly."""
    from xpnet.datasets import idx

    monkeypatch.setattr(idx, "_MAX_GZIP_RATIO", 4)
    monkeypatch.setattr(idx, "_COUNT_LIMIT", count_limit)
    path = _gz_idx(tmp_path / "short.gz", np.random.default_rng(0).bytes(3000), 10**9)
    assert 4 * path.stat().st_size > 3008
    with pytest.raises(DataFileError, match=r"short\.gz: truncated: header says 1000000000 uint8 \(1000000000 bytes\) "
                                            r"but only 3000 bytes follow$"):
        read_idx(path)


def test_a_highly_compressed_real_file_is_read_exactly_through_a_growing_buffer(tmp_path, monkeypatch):
    """Compressed about 80:1 (beyond the ratio whose buffer is allocated at once): memory follows the data, the result is exact."""
    from xpnet.datasets import idx

    monkeypatch.setattr(idx, "_CHUNK", 1024)  # a 16 kB first buffer, so it has to grow a few times
    rng = np.random.default_rng(1)
    images = ((rng.random((400, 28, 28)) < 0.003) * rng.integers(1, 256, (400, 28, 28))).astype(np.uint8)
    path = tmp_path / "sparse.gz"
    path.write_bytes(gzip.compress(idx_bytes(images), mtime=0))
    assert len(idx_bytes(images)) > idx._TRUSTED_RATIO * path.stat().st_size
    out = read_idx(path)
    np.testing.assert_array_equal(out, images)
    assert out.flags.owndata and out.flags.writeable


def test_a_fifo_in_the_data_directory_is_refused_at_once(tmp_path):
    data = write_mnist_dir(tmp_path / "data", 20, 10)
    (data / "t10k-labels-idx1-ubyte").unlink()
    os.mkfifo(data / "t10k-labels-idx1-ubyte")
    proc = subprocess.run(xpnet_command("train", "--data-dir", str(data)), capture_output=True, text=True, env=env(), timeout=60)
    assert proc.returncode == 2
    assert "t10k-labels-idx1-ubyte: not a regular file" in one_line_error(proc.stderr)


def test_an_empty_set_of_huge_images_is_refused_before_building_the_network(tmp_path, capsys):
    from xpnet.cli import main

    data = tmp_path / "data"
    data.mkdir()
    for name, dims in (("train-images-idx3-ubyte", (0, 65536, 65536)), ("t10k-images-idx3-ubyte", (0, 65536, 65536)),
                       ("train-labels-idx1-ubyte", (0,)), ("t10k-labels-idx1-ubyte", (0,))):
        (data / name).write_bytes(struct.pack(f">BBBB{len(dims)}I", 0, 0, 8, len(dims), *dims))
    assert main(["train", "--data-dir", str(data)]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert "train-images-idx3-ubyte: holds no images (shape 0x65536x65536)" in err


@pytest.mark.parametrize("same", [True, False], ids=["same-content", "different-content"])
def test_raw_and_gz_side_by_side_must_agree(tmp_path, same):
    data = write_mnist_dir(tmp_path / "data", 30, 10)
    other = write_mnist_dir(tmp_path / "other", 30, 10, offset=0 if same else 100, gz=True)
    os.replace(other / "train-images-idx3-ubyte.gz", data / "train-images-idx3-ubyte.gz")
    if same:
        (x, _), _ = load_mnist(normalize=False, data_dir=data)
        assert x.shape == (30, 784)
    else:
        with pytest.raises(DataFileError, match=r"train-images-idx3-ubyte and .*train-images-idx3-ubyte\.gz both exist "
                                                r"with different content"):
            load_mnist(data_dir=data)


# --------------------------------------------------------------------------- fuzzing, in a child with limits
@pytest.mark.skipif(sys.platform != "linux", reason="the child caps its address space with RLIMIT_AS and reads /proc")
@pytest.mark.parametrize(("reader", "cases"), [("checkpoint", 400), ("idx", 400)])
def test_fuzzed_files_raise_only_xpnet_errors_within_memory_and_time_limits(tmp_path, reader, cases):
    """Random and mutated bytes; each case may add at most 256 MB of address space and take 5 s (see _fuzz_child.py)."""
    seed = int.from_bytes(os.urandom(4), "little")
    proc = subprocess.run([sys.executable, str(HERE / "_fuzz_child.py"), reader, str(seed), str(cases), str(tmp_path)],
                          capture_output=True, text=True, env=env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["cases"] == cases
    assert report["failures"] == [], f"seed {seed}: {report}"
    assert report["outcomes"].get("own error", 0) > cases // 2, report  # most damage is noticed, not shrugged off
