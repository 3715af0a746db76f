"""The data layer's errors: one type per failure, each also an instance of the built-in type
PyTorchVideo raises for it, so that ``except FileNotFoundError`` / ``except AssertionError``
written against PyTorchVideo keeps working."""
from __future__ import annotations


class BadVideoError(RuntimeError):
    """A video that cannot be read: missing, empty, truncated or not a video. Names the file.

    The one error of every PyAV failure, whether a dataset reads the video or ``data prepare``
    re-encodes it (``MediaError`` is its other name)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __str__(self) -> str:  # also for the OSError subclass, whose own str shows errno
        return f"{self.path}: {self.reason}"


#: ``data prepare``'s name for the same failures
MediaError = BadVideoError


class VideoNotFoundError(BadVideoError, FileNotFoundError, AssertionError):
    """A video file or frame folder that does not exist. PyTorchVideo's ``EncodedVideo.from_path``
    raises ``FileNotFoundError`` for it and ``FrameVideo.from_directory`` asserts."""

    def __init__(self, path: str, reason: str = "no such file") -> None:
        super().__init__(path, reason)
        self.filename = path


class EmptyVideoError(BadVideoError, AssertionError):
    """A frame video without frames (PyTorchVideo asserts)."""


class DataAssertionError(ValueError, AssertionError):
    """An argument or input file refused where PyTorchVideo asserts: a ``ValueError`` with a
    message saying what is wrong, and an ``AssertionError`` as PyTorchVideo's was."""


class DataFileNotFoundError(FileNotFoundError, AssertionError):
    """A data file or folder (a frame list, a split folder) that does not exist, where
    PyTorchVideo asserts that it does."""
