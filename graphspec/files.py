"""Atomic file writes shared by every writer (the command line, ``export_spec``, ``data prepare``).

A file is written to a temporary name in its own folder, flushed to disk, and renamed into place
only once complete, so an interrupted run never leaves a half-written file under the final name.
The file gets the mode a plain ``open(path, "w")`` would give it: an existing file keeps its
mode, a new one gets 0o666 less the user's umask (``tempfile.mkstemp`` alone would leave 0o600).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Callable, Sequence

Writer = Callable[[IO[bytes]], None]


def atomic_write(targets: Sequence[tuple[Path, Writer]]) -> None:
    """Write every target atomically: all go to temporary files in their own folders first and
    are moved into place only when all of them were written (nothing is left on failure)."""
    done: list[tuple[str, Path]] = []
    try:
        for path, writer in targets:
            path = Path(path)
            folder = path.parent if str(path.parent) else Path(".")
            if path.is_dir():
                raise IsADirectoryError(21, "is a directory", str(path))
            try:
                fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
            except OSError as error:  # name the file the user asked for, not our temporary one
                raise OSError(error.errno, error.strerror, str(path)) from None
            done.append((tmp, path))
            try:
                with os.fdopen(fd, "wb") as f:
                    writer(f)
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(tmp, new_file_mode(path))
            except OSError as error:
                raise OSError(error.errno, error.strerror or str(error), str(path)) from None
        for tmp, path in done:
            try:
                os.replace(tmp, path)
            except OSError as error:
                raise OSError(error.errno, error.strerror, str(path)) from None
    except BaseException:
        for tmp, _ in done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    atomic_write([(Path(path), lambda f: f.write(data))])


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def new_file_mode(path: Path) -> int:
    """The permission bits ``path`` gets: its own when it exists, else 0o666 less the umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~umask()


def umask() -> int:
    """The process umask (reading it means setting it: it is put back at once)."""
    current = os.umask(0o022)
    os.umask(current)
    return current
