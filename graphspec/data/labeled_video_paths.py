"""``LabeledVideoPaths``: the list of ``(video path, {"label": ...})`` a dataset reads, from a
``path label`` text/csv file or from a ``<class>/<video>`` folder layout."""
from __future__ import annotations

import os
from typing import Optional

from .errors import DataAssertionError

#: Files taken as videos in a class-folder layout (folders inside a class folder are frame videos).
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv")


class LabeledVideoPaths:
    """Video paths with their label dicts; ``path_prefix`` is joined to every path."""

    def __init__(self, paths_and_labels: list[tuple[str, Optional[dict]]], path_prefix: str = "",
                 origins: Optional[list[str]] = None) -> None:
        self._paths_and_labels = list(paths_and_labels)
        self._path_prefix = path_prefix
        #: where each entry was read (``train.csv:3``), for messages about its label
        self.origins = list(origins) if origins is not None else [None] * len(self._paths_and_labels)

    def not_class_indices(self, num_classes: Optional[int] = None) -> list[tuple[int, str]]:
        """(entry index, reason) of each label that is no class index: negative, or not below
        ``num_classes`` when that is known (the classes of the model a data spec names)."""
        bound = f"0..{num_classes - 1}" if num_classes else ">= 0"
        found = []
        for index, (_, info) in enumerate(self._paths_and_labels):
            label = (info or {}).get("label")
            if isinstance(label, int) and (label < 0 or (num_classes and label >= num_classes)):
                where = f" ({self.origins[index]})" if self.origins[index] else ""
                found.append((index, f"label {label}{where} is not a class index ({bound})"))
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
