"""``LabeledVideoPaths``: the list of ``(video path, {"label": ...})`` a dataset reads, from a
``path label`` text/csv file or from a ``<class>/<video>`` folder layout."""
from __future__ import annotations

import os
from typing import NamedTuple, Optional

from .errors import DataAssertionError

#: Files taken as videos in a class-folder layout (folders inside a class folder are frame videos).
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv")


class LabelProblem(NamedTuple):
    """A label that is no class index (``data inspect`` / ``build`` apply the bad-file policy):
    the videos it labels, as the dataset's bad-file policy names them, the dataset argument
    naming the file that holds it, and why (naming that file and line)."""

    videos: tuple[str, ...]
    arg: str
    reason: str


def not_a_class_index(label: int, num_classes: Optional[int], where: str, first: int = 0) -> Optional[str]:
    """Why ``label`` (read at ``where``, ``file:line``) is no class index: below ``first`` (0, or
    1 for AVA's action ids), or past ``num_classes`` when that is known; None when it is one."""
    last = first + num_classes - 1 if num_classes else None
    if label >= first and (last is None or label <= last):
        return None
    bound = f"{first}..{last}" if last is not None else f">= {first}"
    return f"label {label} ({where}) is not a class index ({bound})"


class LabeledVideoPaths:
    """Video paths with their label dicts; ``path_prefix`` is joined to every path."""

    def __init__(self, paths_and_labels: list[tuple[str, Optional[dict]]], path_prefix: str = "",
                 origins: Optional[list[str]] = None) -> None:
        self._paths_and_labels = list(paths_and_labels)
        self._path_prefix = path_prefix
        #: where each entry was read (``train.csv:3``), for messages about its label
        self.origins = list(origins) if origins is not None else [None] * len(self._paths_and_labels)

    def label_problems(self, num_classes: Optional[int] = None) -> list[LabelProblem]:
        """Each integer label that is no class index: negative, or not below ``num_classes`` when
        that is known (the classes of the model a data spec names). Other labels (HMDB51's
        action names, as PyTorchVideo gives them) are no indices to check."""
        found = []
        for index, (_, info) in enumerate(self._paths_and_labels):
            label = (info or {}).get("label")
            if isinstance(label, int) and not isinstance(label, bool):
                reason = not_a_class_index(label, num_classes, self.origins[index] or "its list")
                if reason:
                    found.append(LabelProblem((self[index][0],), "data_path", reason))
        return found

    @classmethod
    def from_path(cls, data_path: str) -> "LabeledVideoPaths":
        """A file is read with ``from_csv``, a folder with ``from_directory``."""
        if os.path.isfile(data_path):
            return cls.from_csv(data_path)
        if os.path.isdir(data_path):
            return cls.from_directory(data_path)
        raise FileNotFoundError(f"{data_path}: no such file or folder (expected a 'path label' list "
                                f"or a folder of class folders)")

    @classmethod
    def from_csv(cls, file_path: str) -> "LabeledVideoPaths":
        """Each non-empty line is ``path label`` (separated by whitespace or a comma; the label is
        the last field, an integer)."""
        out, origins = [], []
        with open(file_path) as handle:
            for number, line in enumerate(handle, 1):
                text = line.strip()
                if not text:
                    continue
                parts = text.rsplit(None, 1) if " " in text or "\t" in text else text.rsplit(",", 1)
                if len(parts) != 2:
                    raise ValueError(f"{file_path}:{number}: expected 'path label', got {text!r}")
                path, label = parts[0].rstrip(","), parts[1]
                try:
                    out.append((path, {"label": int(label)}))
                except ValueError:
                    raise ValueError(f"{file_path}:{number}: label {label!r} is not an integer") from None
                origins.append(f"{file_path}:{number}")
        if not out:
            raise DataAssertionError(f"{file_path}: no 'path label' lines")
        return cls(out, origins=origins)

    @classmethod
    def from_directory(cls, dir_path: str) -> "LabeledVideoPaths":
        """``dir_path/<class>/<video>``: classes are the sub-folders in sorted order, labelled
        0, 1, ...; a video is a file with a video extension or a folder (of frames)."""
        classes = sorted(d for d in os.listdir(dir_path) if os.path.isdir(os.path.join(dir_path, d)))
        if not classes:
            raise DataAssertionError(f"{dir_path}: no class folders")
        out = []
        for label, name in enumerate(classes):
            folder = os.path.join(dir_path, name)
            for entry in sorted(os.listdir(folder)):
                path = os.path.join(folder, entry)
                if os.path.isdir(path) or entry.lower().endswith(VIDEO_EXTENSIONS):
                    out.append((path, {"label": label}))
        return cls(out)

    @property
    def path_prefix(self) -> str:
        return self._path_prefix

    @path_prefix.setter
    def path_prefix(self, value: str) -> None:
        self._path_prefix = value

    def __getitem__(self, index: int) -> tuple[str, dict]:
        path, label = self._paths_and_labels[index]
        return os.path.join(self._path_prefix, path), dict(label or {})

    def __len__(self) -> int:
        return len(self._paths_and_labels)
