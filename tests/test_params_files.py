"""Parameter files: .npz written atomically and read back exactly; the book's pickles read without running anything.

Host files only (NumPy arrays in, NumPy arrays out): moving parameters to a backend is the
network's business, so these tests need no backend matrix. Hostile pickles are made here with
the ordinary ``pickle`` module from objects whose ``__reduce__`` names a dangerous call; each one
is shown to run its payload under ``pickle.loads`` (a marker file appears), and to be refused by
``read_params`` with the global named and no marker.
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import pickletools
import re
import shlex
import subprocess
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

from xpnet._files.params import read_params, write_params
from xpnet._files.unpickle import load_array_dict
from xpnet.errors import CheckpointError

_RECONSTRUCT = np.zeros(1).__reduce__()[0]  # NumPy's own _reconstruct, wherever this NumPy keeps it
posix_only = pytest.mark.skipif(os.name != "posix", reason="the payloads use touch, FIFOs and shell commands")


def _book_like() -> dict[str, np.ndarray]:
    """A dict like the book's params.pkl, with every dtype kind a parameter file holds and awkward layouts."""
    rng = np.random.default_rng(0)
    return {
        "W1": rng.standard_normal((3, 1, 2, 2)),
        "b1": rng.standard_normal(3).astype(np.float32),
        "W2": np.asfortranarray(rng.standard_normal((4, 3))),
        "steps": np.arange(5, dtype=np.int64)[::2],  # not contiguous
        "big_endian": np.arange(4, dtype=">i4"),
        "mask": np.array([True, False]),
        "z": np.array([1 + 2j, -1j], dtype=np.complex64),
        "scale": np.array(0.5),  # 0-d
        "empty": np.zeros((0, 3), dtype=np.uint8),
    }


def _assert_same(got: dict, want: dict) -> None:
    assert list(got) == list(want)
    for key, array in want.items():
        out = got[key]
        assert isinstance(out, np.ndarray) and out.flags.writeable and out.dtype.isnative, key
        assert out.shape == array.shape and out.dtype == array.dtype.newbyteorder("="), key
        np.testing.assert_array_equal(out, array, err_msg=key)


def _read_bytes(tmp_path, data: bytes, name: str = "params.pkl") -> dict[str, np.ndarray]:
    path = tmp_path / name
    path.write_bytes(data)
    return read_params(path)


# --------------------------------------------------------------------------- .npz written, read back
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_, np.complex128])
def test_write_then_read_gives_the_same_arrays(tmp_path, dtype):
    rng = np.random.default_rng(1)
    params = {"W1": (rng.standard_normal((4, 3)) * 10).astype(dtype), "b1": (rng.standard_normal(3) * 10).astype(dtype)}
    path = tmp_path / "params.npz"
    assert write_params(path, params) == path
    back = read_params(path)
    _assert_same({k: back[k] for k in params}, params)
    assert sorted(back) == sorted(params)


def test_the_book_name_gets_npz_content_that_numpy_reads_without_pickle(tmp_path):
    params = _book_like()
    path = tmp_path / "params.pkl"
    write_params(path, params)
    with zipfile.ZipFile(path) as archive:
        assert [i.filename for i in archive.infolist()] == [f"{k}.npy" for k in params]
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
    with np.load(path, allow_pickle=False) as npz:  # an independent reader, pickle off
        for key, array in params.items():
            assert npz[key].dtype == array.dtype and npz[key].shape == array.shape, key
            np.testing.assert_array_equal(npz[key], array, err_msg=key)
    _assert_same({k: read_params(path)[k] for k in params}, params)


def test_an_npz_numpy_wrote_is_read(tmp_path):
    params = _book_like()
    np.savez(tmp_path / "params.npz", **params)
    back = read_params(tmp_path / "params.npz")
    _assert_same({k: back[k] for k in params}, params)


def test_writing_is_deterministic_and_atomic(tmp_path):
    path = tmp_path / "params.npz"
    write_params(path, {"W": np.ones((2, 2))})
    first = path.read_bytes()
    write_params(path, {"W": np.ones((2, 2))})
    assert path.read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.npz"]  # no temporary left


@pytest.mark.parametrize("params, error, match", [
    ([np.ones(2)], TypeError, "mapping"),
    ({1: np.ones(2)}, TypeError, "names must be str"),
    ({"": np.ones(2)}, ValueError, "empty"),
    ({"W": [1.0, 2.0]}, TypeError, "not a NumPy array"),
    ({"W": np.array([object()], dtype=object)}, TypeError, "dtype object"),
    ({"W": np.array(["a"])}, TypeError, "dtype <U1"),
])
def test_write_refuses_what_is_not_a_dict_of_numeric_arrays(tmp_path, params, error, match):
    with pytest.raises(error, match=match):
        write_params(tmp_path / "p.npz", params)
    assert not (tmp_path / "p.npz").exists()


def test_write_refuses_a_directory_and_a_missing_folder(tmp_path):
    with pytest.raises(CheckpointError, match="directory"):
        write_params(tmp_path, {"W": np.ones(2)})
    with pytest.raises(CheckpointError, match="does not exist"):
        write_params(tmp_path / "missing" / "p.npz", {"W": np.ones(2)})


# --------------------------------------------------------------------------- the book's pickles
def _as_numpy1(data: bytes) -> bytes:
    """``data`` with NumPy 2's module paths (``numpy._core...``) as NumPy 1 wrote them (``numpy.core...``), reframed."""
    shorter = re.sub(rb"\x8c(.)numpy\._core\.", lambda m: b"\x8c" + bytes([m.group(1)[0] - 1]) + b"numpy.core.", data,
                     flags=re.S)  # SHORT_BINUNICODE: one length byte (protocols 4, 5)
    return pickletools.optimize(shorter.replace(b"numpy._core.", b"numpy.core."))  # GLOBAL lines (2, 3); new frames


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickles_of_every_protocol_are_read(tmp_path, protocol):
    params = _book_like()
    _assert_same(_read_bytes(tmp_path, pickle.dumps(params, protocol=protocol)), params)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_numpy1_module_paths_are_read(tmp_path, protocol):
    """The book's file says numpy.core.multiarray._reconstruct (NumPy 1); NumPy 2 writes numpy._core."""
    params = _book_like()
    data = _as_numpy1(pickle.dumps(params, protocol=protocol))
    assert b"numpy.core." in data and b"numpy._core" not in data
    with warnings.catch_warnings():  # NumPy 2 warns on numpy.core; this is our own file, so plain pickle may read it
        warnings.simplefilter("ignore", DeprecationWarning)
        trusted = pickle.loads(data)
    for key, array in params.items():  # the edit made a valid pickle of the same arrays
        np.testing.assert_array_equal(trusted[key], array, err_msg=key)
    _assert_same(_read_bytes(tmp_path, data), params)


def test_numpy_scalars_become_0d_arrays(tmp_path):
    got = _read_bytes(tmp_path, pickle.dumps({"lr": np.float32(0.5), "n": np.int64(3)}, protocol=2))
    assert got["lr"].shape == () and got["lr"].dtype == np.float32 and got["lr"] == 0.5
    assert got["n"].dtype == np.int64 and got["n"] == 3


# --------------------------------------------------------------------------- hostile pickles
class _Calls:
    """Pickles as the call ``func(*args)``: what a hostile file holds where an array should be."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _payload(kind: str, marker, tmp_path) -> tuple[_Calls, str]:
    """A pickled call that creates ``marker`` when unpickled, and the global a pickle names for it."""
    touch = f"touch {shlex.quote(str(marker))}"
    create = f"open({str(marker)!r}, 'w').close()"
    if kind == "os.system":
        return _Calls(os.system, touch), f"{os.system.__module__}.system"  # posix.system
    if kind == "eval":
        return _Calls(eval, create), "builtins.eval"
    if kind == "exec":
        return _Calls(exec, create), "builtins.exec"
    if kind == "subprocess":
        return _Calls(subprocess.Popen, ["touch", str(marker)]), "subprocess.Popen"
    if kind == "partial":
        return _Calls(functools.partial(os.system, touch)), "functools.partial"
    evil = tmp_path / "evil.npy"  # numpy.load with allow_pickle=True runs the object array's pickle
    np.save(evil, np.array([_Calls(os.system, touch), None], dtype=object), allow_pickle=True)
    return _Calls(np.load, str(evil), None, True), "numpy.load"


_KINDS = ["os.system", "eval", "exec", "subprocess", "partial", "numpy.load"]


@posix_only
@pytest.mark.parametrize("kind", _KINDS)
def test_each_payload_runs_under_plain_pickle(tmp_path, kind):
    """What the refusals below are worth: pickle.load would run each payload."""
    marker = tmp_path / "marker"
    payload, _ = _payload(kind, marker, tmp_path)
    value = pickle.loads(pickle.dumps({"W1": payload}, protocol=4))["W1"]
    if isinstance(value, subprocess.Popen):
        value.wait(timeout=30)
    assert marker.exists()


@posix_only
@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("kind", _KINDS)
def test_payloads_are_refused_by_name_and_never_run(tmp_path, kind, protocol):
    marker = tmp_path / "marker"
    payload, name = _payload(kind, marker, tmp_path)
    data = pickle.dumps({"W1": np.ones(2), "b1": payload}, protocol=protocol)
    with pytest.raises(CheckpointError, match=rf"params\.pkl: refuses the global {re.escape(name)}\b"):
        _read_bytes(tmp_path, data)
    assert not marker.exists()


@posix_only
def test_object_arrays_are_refused_before_their_items_are_unpickled(tmp_path):
    marker = tmp_path / "marker"
    payload, _ = _payload("os.system", marker, tmp_path)
    data = pickle.dumps({"W1": np.array([payload, None], dtype=object)}, protocol=4)
    with pytest.raises(CheckpointError, match=r"refuses dtype 'O8' \(object"):
        _read_bytes(tmp_path, data)
    assert not marker.exists()
    pickle.loads(data)  # while plain pickle runs the item
    assert marker.exists()


class _Declared:
    """Pickles as NumPy pickles an array, with the shape, dtype and bytes given (which need not agree)."""

    def __init__(self, shape, dtype, data):
        self.shape, self.dtype, self.data = shape, np.dtype(dtype), data

    def __reduce__(self):
        return _RECONSTRUCT, (np.ndarray, (0,), b"b"), (1, self.shape, self.dtype, False, self.data)


def test_declared_arrays_made_from_these_parts_are_read(tmp_path):
    """The crafted form below is NumPy's own: with consistent parts it reads as the array."""
    got = _read_bytes(tmp_path, pickle.dumps({"W": _Declared((2, 3), "<f8", np.arange(6.0).tobytes())}))
    np.testing.assert_array_equal(got["W"], np.arange(6.0).reshape(2, 3))


def test_a_huge_declared_array_is_refused_before_allocating(tmp_path):
    data = pickle.dumps({"W1": _Declared((10**6, 10**6), "f8", bytes(8))}, protocol=4)  # 8 TB declared
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"declares shape \(1000000, 1000000\).*holds 8 bytes"):
            _read_bytes(tmp_path, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_data_used_again_cannot_allocate_more_than_the_file_holds(tmp_path):
    shared = bytes(1 << 16)  # pickled once, then referred to from the memo
    data = pickle.dumps({f"W{i}": _Declared((1 << 13,), "f8", shared) for i in range(64)}, protocol=4)
    assert len(data) < 2 * len(shared)
    with pytest.raises(CheckpointError, match="more bytes than the file holds"):
        _read_bytes(tmp_path, data)


def _persistent(obj) -> bytes:
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=4)
    pickler.persistent_id = lambda o: "weights" if isinstance(o, np.ndarray) else None  # type: ignore[method-assign]
    pickler.dump(obj)
    return out.getvalue()


@pytest.mark.parametrize("data, match", [
    (pickle.dumps([np.ones(2)], protocol=4), "holds a list, expected a dict"),
    (pickle.dumps(np.ones(2), protocol=4), "holds an array, expected a dict"),
    (pickle.dumps({1: np.ones(2)}, protocol=4), "key that is an int"),
    (pickle.dumps({"W": "text"}, protocol=4), "parameter 'W' is a str, expected an array"),
    (pickle.dumps({"W": {"inner": np.ones(2)}}, protocol=4), "holds a dict inside another container"),
    (pickle.dumps({"W": np.array(["a", "b"])}, protocol=4), "refuses dtype 'U1'"),
    (pickle.dumps({"W": np.ma.masked_array([1.0])}, protocol=4), "refuses the global numpy.ma.core._mareconstruct"),
    (pickle.dumps({"W": functools.reduce(lambda t, _: (t,), range(10), ())}, protocol=4), "tuples nest deeper"),
    (pickle.dumps({"W": functools.reduce(lambda t, _: (t, 1, 2, 3), range(10), ())}, protocol=4), "marks nest deeper"),
    (_persistent({"W": np.ones(2)}), "refuses a persistent id"),
    (pickle.dumps({"W": np.ones(2)}, protocol=4) + b"junk", "4 bytes after the pickle's end"),
    (pickle.dumps({"W": np.ones(2)}, protocol=4)[:-30], "not a readable pickle"),
    (pickle.dumps({"W": np.ones(2)}, protocol=0), "neither .npz .* nor a pickle of protocol 2 to 5"),
    (b"", "is empty"),
    (np.random.default_rng(2).bytes(4096), "not a parameter file"),
    (b"PK\x03\x04" + np.random.default_rng(3).bytes(4096), r"not a readable xpnet parameter \(\.npz\)"),
])
def test_anything_but_a_dict_of_arrays_is_refused(tmp_path, data, match):
    with pytest.raises(CheckpointError, match=match) as caught:
        _read_bytes(tmp_path, data)
    assert str(caught.value).startswith(str(tmp_path / "params.pkl"))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_damaged_pickles_give_arrays_or_a_checkpoint_error_never_another(protocol):
    good = pickle.dumps(_book_like(), protocol=protocol)
    rng = np.random.default_rng(protocol)
    for trial in range(300):
        data = bytearray(good[: rng.integers(3, len(good) + 1)] if trial % 3 == 0 else good)
        for at in rng.integers(2, len(data), size=rng.integers(1, 4)):
            data[at] = rng.integers(256)
        try:
            got = load_array_dict(bytes(data), "damaged.pkl")
        except CheckpointError as exc:
            assert str(exc).startswith("damaged.pkl: ")
        else:
            assert all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in got.items())


def test_a_missing_file_a_directory_and_a_fifo_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no such parameter file"):
        read_params(tmp_path / "missing.pkl")
    with pytest.raises(CheckpointError, match="is a directory"):
        read_params(tmp_path)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        with pytest.raises(CheckpointError, match="not a regular file"):
            read_params(tmp_path / "fifo")  # refused at once, without blocking on the pipe


def test_a_tampered_npz_is_refused(tmp_path):
    path = tmp_path / "params.npz"
    buf = io.BytesIO()
    np.savez_compressed(buf, W=np.ones(3))
    path.write_bytes(buf.getvalue())
    with pytest.raises(CheckpointError, match="compressed"):
        read_params(path)
    np.savez(path, W=np.array([object()], dtype=object))  # allow_pickle is on when writing
    with pytest.raises(CheckpointError, match="dtype object"):
        read_params(path)
