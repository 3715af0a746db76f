"""The bad-file policy every dataset shares: ``"skip"`` (the default) warns once per file with a
``BadVideoWarning`` naming it and the reason, and records it in ``bad_files``; ``"strict"``
raises the ``BadVideoError``. Never silent, never retried endlessly."""
from __future__ import annotations

import warnings
from typing import Any, Callable, Literal

from .errors import BadVideoError

BadFilePolicy = Literal["skip", "strict"]


class BadVideoWarning(UserWarning):
    """A video was skipped; the message names the file and the reason."""


class BadFileTracker:
    """Mixin holding the policy (``_bad_policy``) and, per process (each DataLoader worker keeps
    its own), ``bad_files``: path -> reason of every file skipped."""

    def __init__(self, bad_files: BadFilePolicy) -> None:
        if bad_files not in ("skip", "strict"):
            raise ValueError(f"bad_files must be 'skip' or 'strict', not {bad_files!r}")
        self._bad_policy = bad_files
        self.bad_files: dict[str, str] = {}

    def _bad(self, err: BadVideoError) -> None:
        """Apply the policy to ``err``: raise it (strict) or warn once for its file and record it."""
        if self._bad_policy == "strict":
            raise err
        if err.path not in self.bad_files:
            self.bad_files[err.path] = err.reason
            warnings.warn(f"skipping {err.path}: {err.reason}", BadVideoWarning, stacklevel=3)

    def _first_readable(self, index: int, count: int, read: Callable[[int], Any]) -> Any:
        """``read(i)`` for the first of ``index, index + 1, ...`` (wrapping, each tried once)
        that is not a bad file."""
        if not 0 <= index < count:
            raise IndexError(f"item {index} out of range for {count} items")
        for offset in range(count):
            try:
                return read((index + offset) % count)
            except BadVideoError as err:
                self._bad(err)
        raise BadVideoError(f"item {index}", "no item of the dataset can be read")
