"""What every command shares for its output: exit codes, stdout/stderr, tables, human-readable
numbers, the checks of an output path, and atomic writes (``graphspec.files``: a temporary file in
the same folder, then ``os.replace``, so an interrupted run never leaves a half-written file behind)."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

from graphspec.files import atomic_write, write_text  # noqa: F401  (the commands write through these)

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 3, 130, 141
PROG = "graphspec"
#: default ``--depth`` of ``summary`` and ``graph``: the model, its blocks, their sub-blocks
DEFAULT_DEPTH = 3


class UsageError(Exception):
    """Bad command-line input that is not a spec problem (exit 2)."""


def out(text: str = "") -> None:
    print(text, file=sys.stdout)


def err(text: str = "") -> None:
    print(text, file=sys.stderr)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def human(n: int | float | None, unit: str = "") -> str:
    """``41918652416`` -> ``41.92G``; None (not countable) -> ``?``."""
    if n is None:
        return "?"
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.2f}{suffix}{unit}"
    return f"{n:g}{unit}" if isinstance(n, float) else f"{n}{unit}"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """Aligned text columns with a rule under the header; columns in ``right`` are right-aligned."""
    rows = [list(map(str, r)) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    return [line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]


def check_writable(output: str | Path | None) -> None:
    """Fail early (before any work) when ``-o`` cannot be written: no such folder, a folder, a
    folder where no file can be created (permissions, a read-only file system)."""
    if output is None or output == "-":
        return
    path = Path(output)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"cannot write {output}: it is a directory; give a file name")
    if not folder.is_dir():
        raise UsageError(f"cannot write {output}: folder {str(folder)!r} does not exist")
    try:  # the way the output will be written: a temporary file in the same folder
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror or error}") from None
    os.close(fd)
    os.unlink(probe)


def emit(text: str, output: str | None) -> None:
    """Print ``text``, or write it atomically to ``output`` (and say so on stderr)."""
    if output is None or output == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        write_text(output, text if text.endswith("\n") else text + "\n")
        err(f"wrote {output}")


def depth_arg(text: str) -> int:
    """``--depth``: 1 or more, or -1 for all levels."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer (-1 for all levels), got {text!r}") from None
    if value < -1 or value == 0:
        raise argparse.ArgumentTypeError(f"expected a depth of 1 or more, or -1 for all levels; got {value}")
    return value
