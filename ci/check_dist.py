"""Check what the built wheel and sdist carry: the typed marker, the data, both licence files, the tests and examples.

Usage: python ci/check_dist.py DIST_DIR   (after ``python -m build --outdir DIST_DIR``)
"""

from __future__ import annotations

import email.parser
import pathlib
import sys
import tarfile
import zipfile

WHEEL_FILES = [
    "xpnet/__init__.py",
    "xpnet/py.typed",
    "xpnet/testing.py",
    "xpnet/datasets/data/mnist/train-images-idx3-ubyte.gz",
    "xpnet/datasets/data/mnist/t10k-labels-idx1-ubyte.gz",
]
SDIST_FILES = [
    "pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE", "LICENSE-MNIST", "MANIFEST.in",
    "xpnet/py.typed", "tests/conftest.py", "tests/test_public_api.py", "examples/_common.py",
    "examples/train_neuralnet.py", "examples/README.md", "benchmarks/bench.py",
]
LICENSE_EXPRESSION = "MIT AND CC-BY-SA-3.0"


def check_wheel(path: pathlib.Path) -> list[str]:
    """Problems with the wheel at ``path`` (empty when it is complete)."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(z.read(meta_name).decode())
    problems = [f"wheel lacks {name}" for name in WHEEL_FILES if name not in names]
    licenses = {n.rsplit("/", 1)[-1] for n in names if ".dist-info/licenses/" in n}
    problems += [f"wheel lacks the licence file {name}" for name in ("LICENSE", "LICENSE-MNIST") if name not in licenses]
    if meta.get("License-Expression") != LICENSE_EXPRESSION:
        problems.append(f"wheel metadata License-Expression is {meta.get('License-Expression')!r}, expected {LICENSE_EXPRESSION!r}")
    problems += [f"wheel ships test or build files: {n}" for n in names if n.startswith(("tests/", "examples/", "benchmarks/"))]
    return problems


def check_sdist(path: pathlib.Path) -> list[str]:
    """Problems with the sdist at ``path``."""
    with tarfile.open(path) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    problems = [f"sdist lacks {name}" for name in SDIST_FILES if name not in names]
    problems += [f"sdist carries build junk: {n}" for n in names if "__pycache__" in n or n.endswith(".pyc")]
    return problems


def main(dist: str) -> int:
    folder = pathlib.Path(dist)
    wheels, sdists = sorted(folder.glob("*.whl")), sorted(folder.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"{folder}: expected one wheel and one sdist, found {[p.name for p in wheels + sdists]}", file=sys.stderr)
        return 1
    problems = check_wheel(wheels[0]) + check_sdist(sdists[0])
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"ok: {wheels[0].name} and {sdists[0].name} carry what they should")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "dist"))
