"""Fashion-MNIST from a directory the user points to: the published sums are checked, nothing is downloaded."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

import xpnet
import xpnet.datasets as ds
from xpnet.datasets import fashion
from xpnet.errors import DataFileError
from xpnet.cli import main


def _idx(array: np.ndarray) -> bytes:
    code = {np.dtype(np.uint8): 0x08}[array.dtype]
    return struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def fake_fashion(directory: Path, n: int = 300, n_test: int = 100) -> dict[str, str]:
    """Four small Fashion-MNIST-format .gz files (28x28 images whose mean brightness gives the class); their MD5s."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    sums = {}
    for prefix, count in (("train", n), ("t10k", n_test)):
        labels = rng.integers(0, 10, size=count).astype(np.uint8)
        images = (labels[:, None, None] * 25 + rng.integers(0, 5, size=(count, 28, 28))).astype(np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte.gz"
            data = gzip.compress(_idx(array), mtime=0)
            (directory / name).write_bytes(data)
            sums[name] = hashlib.md5(data, usedforsecurity=False).hexdigest()
    return sums


@pytest.fixture
def fashion_dir(tmp_path, monkeypatch):
    """A directory of fake files whose sums stand in for the published ones."""
    directory = tmp_path / "fashion"
    monkeypatch.setattr(fashion, "FASHION_MNIST_MD5", fake_fashion(directory))
    return directory


def test_published_sums_are_those_of_the_fashion_mnist_readme():
    assert ds.FASHION_MNIST_MD5["train-images-idx3-ubyte.gz"] == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert ds.FASHION_MNIST_MD5["t10k-labels-idx1-ubyte.gz"] == "bb300cfdad3c16e7a12a480ee83cd310"
    assert len(ds.FASHION_MNIST_MD5) == 4 and len(ds.FASHION_MNIST_CLASSES) == 10


def test_load_fashion_mnist_reads_the_checked_files(fashion_dir):
    (x, t), (xt, tt) = xpnet.load_fashion_mnist(data_dir=fashion_dir)
    assert x.shape == (300, 784) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert t.shape == (300,) and t.dtype == np.int64 and xt.shape == (100, 784)
    (_, onehot), _ = xpnet.load_fashion_mnist(one_hot_label=True, flatten=False, data_dir=fashion_dir)
    assert onehot.shape == (300, 10)


def test_a_file_that_differs_from_the_published_one_is_named(fashion_dir, monkeypatch):
    monkeypatch.setattr(fashion, "FASHION_MNIST_MD5", {**fashion.FASHION_MNIST_MD5, "t10k-images-idx3-ubyte.gz": "0" * 32})
    with pytest.raises(DataFileError, match=r"t10k-images-idx3-ubyte\.gz: MD5 [0-9a-f]{32} differs from the published "
                                            r"Fashion-MNIST sum 0{32}.*github\.com/zalandoresearch/fashion-mnist"):
        xpnet.load_fashion_mnist(data_dir=fashion_dir)


def test_missing_files_say_where_to_get_them(tmp_path, fashion_dir):
    with pytest.raises(DataFileError, match=r"missing train-images-idx3-ubyte\.gz; .*zalandoresearch/fashion-mnist"):
        xpnet.load_fashion_mnist(data_dir=tmp_path)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "train-images-idx3-ubyte").write_bytes(gzip.decompress((fashion_dir / "train-images-idx3-ubyte.gz").read_bytes()))
    with pytest.raises(DataFileError, match=r"an uncompressed copy is there, but the published sums are of the \.gz files"):
        xpnet.load_fashion_mnist(data_dir=raw)


def test_the_vendored_mnist_is_not_fashion_mnist():
    with pytest.raises(DataFileError, match="differs from the published Fashion-MNIST sum"):
        xpnet.load_fashion_mnist(data_dir=ds.default_data_dir())


def test_train_on_fashion_mnist_names_the_data_set(fashion_dir, tmp_path, capsys):
    hist = tmp_path / "h.json"
    code = main(["train", "--dataset", "fashion-mnist", "--data-dir", str(fashion_dir), "--iters", "60", "--batch-size", "30",
                 "--lr", "0.5", "--seed", "0", "--history", str(hist), "--plot", str(tmp_path / "f.png")])
    out = capsys.readouterr().out
    assert code == 0
    assert "on Fashion-MNIST (300 train / 100 test images)" in out.splitlines()[0]
    assert xpnet.History.from_json(hist.read_text()).config["dataset"] == "Fashion-MNIST"
    assert main(["train", "--dataset", "fashion-mnist", "--iters", "1"]) == 2
    assert "needs --data-dir" in capsys.readouterr().err
