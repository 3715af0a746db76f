"""The smallest input size a symbolic dim may take: a window over ``T`` (a pool, a strided
conv) fits some ``T``, not all, so static inference cannot refuse it; instead each node's output
dims are held to be >= 1, and where that needs more than ``T >= 1`` a warning states the least
size that works and the node that needs it ("T >= 8 for blocks.5.pool.pool (AvgPool3d)")."""
from __future__ import annotations

import re
from typing import Any, Iterable

from graphspec.spec.errors import Diagnostic

_SYMBOL = re.compile(r"[A-Za-z_]\w*")
_ARITHMETIC = re.compile(r"[\d+\-*/() ]+")
#: sizes searched for the least one that works (a clip dim beyond this is no clip)
_LARGEST = 1 << 24


def _value(expression: str, symbol: str, size: int) -> int:
    text = _SYMBOL.sub(lambda m: str(size) if m.group() == symbol else m.group(), expression)
    if not _ARITHMETIC.fullmatch(text):
        raise ValueError(expression)
    return int(eval(text, {"__builtins__": {}}))  # noqa: S307 (digits and + - * // ( ) only)


def least_size(expression: str) -> tuple[str, int | None] | None:
    """(symbol, the least size of it for which ``expression`` >= 1, None if no size does) for an
    expression over one symbol that grows with it; None for anything else."""
    symbols = set(_SYMBOL.findall(expression))
    if len(symbols) != 1 or expression in symbols:
        return None
    (symbol,) = symbols
    try:
        if _value(expression, symbol, _LARGEST) < 1:
            return symbol, None
        low, high = 1, _LARGEST  # the expressions are floor divisions of sums: monotone in the size
        while low < high:
            mid = (low + high) // 2
            low, high = (low, mid) if _value(expression, symbol, mid) >= 1 else (mid + 1, high)
    except (ValueError, ZeroDivisionError, SyntaxError):
        return None
    return symbol, low


def _dims(value: Any) -> Iterable:
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _dims(item)
    else:
        yield from getattr(value, "shape", ())


def least_size_warnings(nodes: Iterable[Any]) -> list[Diagnostic]:
    """One warning per symbol whose dims some node needs larger than 1, at the node needing most."""
    needs: dict[str, tuple[int | None, Any]] = {}
    for node in nodes:
        for dim in _dims(node.meta.get("output")):
            found = least_size(dim) if isinstance(dim, str) else None
            if found is None:
                continue
            symbol, size = found
            best = needs.get(symbol)
            if best is None or (best[0] is not None and (size is None or size > best[0])):
                needs[symbol] = (size, node)
    out = []
    for symbol, (size, node) in needs.items():
        if size == 1:
            continue
        where = f"{node.shown} ({node.op})"
        message = (f"{symbol} >= {size} for {where}: a smaller {symbol} fails there" if size is not None
                   else f"no size of {symbol} works for {where}")
        out.append(Diagnostic(message, path=node.source, severity="warning" if size is not None else "error",
                              code="symbolic",
                              hint="static checks of windows over a symbolic dim hold for this least size"))
    return out
