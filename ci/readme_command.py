"""Print a command from README.md: the first code line after the marker ``<!-- ci:NAME -->``.

CI runs the README's commands through this, so the documented commands are the tested ones.
Usage: python3 ci/readme_command.py test-command
"""

import pathlib
import sys


def command(name: str, readme: pathlib.Path) -> str:
    lines = readme.read_text(encoding="utf-8").splitlines()
    marker = f"<!-- ci:{name} -->"
    try:
        start = lines.index(marker)
    except ValueError:
        raise SystemExit(f"{readme}: no line {marker!r}") from None
    for line in lines[start + 1 :]:
        text = line.strip()
        if text and not text.startswith("```"):
            return text
    raise SystemExit(f"{readme}: no command after {marker!r}")


if __name__ == "__main__":
    root = pathlib.Path(__file__).resolve().parents[1]
    print(command(sys.argv[1] if len(sys.argv) > 1 else "test-command", root / "README.md"))
