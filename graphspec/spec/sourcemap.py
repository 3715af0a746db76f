"""Where each value of a spec was written: key path -> ``Location``."""
from __future__ import annotations

from typing import Sequence

from .errors import Diagnostic, Location


class SourceMap:
    """Key path -> ``Location``: of the key for mapping entries, of the item for list items.

    Paths are also indexed as a tree (each path's children), so the operations on a sub-tree
    (``subtree``, ``drop``, ``graft``) cost the size of that sub-tree, not of the whole map.
    """

    def __init__(self, file: str = "<spec>", entries: dict | None = None) -> None:
        self.file = file  # fallback for paths with no located ancestor
        self._locs: dict[tuple, Location] = {}
        self._children: dict[tuple, dict[tuple, None]] = {}  # path -> its child paths (an ordered set)
        for path, loc in (entries or {}).items():
            self.set(path, loc)

    def set(self, path: Sequence, loc: Location) -> None:
        path = tuple(path)
        if path not in self._locs:
            self._link(path)
        self._locs[path] = loc

    def _link(self, path: tuple) -> None:
        while path:
            kids = self._children.setdefault(path[:-1], {})
            if path in kids:
                return
            kids[path] = None
            path = path[:-1]

    def get(self, path: Sequence) -> Location | None:
        return self._locs.get(tuple(path))

    def locate(self, path: Sequence) -> Location:
        """Exact location, else the nearest located ancestor, else the start of the file."""
        path = tuple(path)
        for n in range(len(path), -1, -1):
            if path[:n] in self._locs:
                return self._locs[path[:n]]
        return Location(self.file, 1, 1)

    def attach(self, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
        """Give each finding without a location that of its key path (``locate``): the one place
        findings of every kind of spec get their file, line and column."""
        for d in diagnostics:
            if d.location is None:
                d.location = self.locate(d.path)
        return diagnostics

    def items(self):
        return self._locs.items()

    def _walk(self, prefix: tuple):
        """``prefix`` and every path below it (located or not), parents first."""
        stack = [prefix]
        while stack:
            path = stack.pop()
            yield path
            stack.extend(reversed(list(self._children.get(path, ()))))

    def subtree(self, prefix: Sequence) -> dict[tuple, Location]:
        """Entries at or below ``prefix``, keyed by their path relative to it."""
        prefix = tuple(prefix)
        n = len(prefix)
        return {p[n:]: self._locs[p] for p in self._walk(prefix) if p in self._locs}

    def drop(self, prefix: Sequence) -> None:
        prefix = tuple(prefix)
        for path in list(self._walk(prefix)):
            self._locs.pop(path, None)
            self._children.pop(path, None)
        if prefix:
            self._children.get(prefix[:-1], {}).pop(prefix, None)

    def graft(self, prefix: Sequence, entries: dict[tuple, Location]) -> None:
        for rel, loc in entries.items():
            self.set(tuple(prefix) + rel, loc)

    def __contains__(self, path) -> bool:
        return tuple(path) in self._locs

    def __len__(self) -> int:
        return len(self._locs)

    def __repr__(self) -> str:
        return f"SourceMap({self.file!r}, {len(self)} entries)"
