"""Symbolic dims: a dim is an int or an expression string over symbols (``T``, ``(T-3)//2+1``).

Expressions are kept in a canonical short form so that what is equal reads equal: a constant
offset is folded into the trailing one (``T-2`` then ``+1`` is ``T-1``, ``+0`` vanishes), a
window of stride 1 is no division (``(T-1)//1+1`` is ``T``) and divisions in a row are one
(``((H-1)//2)//2`` is ``(H-1)//4``: floor(floor(x/m)/k) = floor(x/(m*k)) for integers).
"""
from __future__ import annotations

import re
from typing import Any, Union

Dim = Union[int, str]

_TRAILING_OFFSET = re.compile(r"^(?P<base>.*[^+\-*/(])(?P<offset>[+-]\d+)$")
_TRAILING_DIVISION = re.compile(r"^(?P<base>\w+|\(.*\))//(?P<divisor>\d+)$")


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def split_offset(expr: str) -> tuple[str, int]:
    """``"(T-3)//2+1"`` -> ``("(T-3)//2", 1)``; ``"T"`` -> ``("T", 0)``."""
    match = _TRAILING_OFFSET.match(expr)
    if match and _balanced(match["base"]):
        return match["base"], int(match["offset"])
    return expr, 0


def add(dim: Dim, k: int) -> Dim:
    """``dim + k``, folded."""
    if isinstance(dim, int):
        return dim + k
    base, offset = split_offset(dim)
    offset += k
    return base if offset == 0 else f"{base}{offset:+d}"


def floordiv(dim: Dim, k: int) -> Dim:
    """``dim // k``."""
    if isinstance(dim, int):
        return dim // k
    if k == 1:
        return dim
    match = _TRAILING_DIVISION.match(dim)
    if match and _wrapped(match["base"]):
        return f"{match['base']}//{int(match['divisor']) * k}"
    return f"{dim}//{k}" if dim.isidentifier() else f"({dim})//{k}"


def _wrapped(base: str) -> bool:
    """A name, or one parenthesised expression (not ``(a)+(b)``)."""
    return base.isidentifier() or (_balanced(base) and not any(_balanced(base[:i]) for i in range(1, len(base))))


def window(size: Dim, span: int, stride: int, pad: int) -> Dim:
    """Output length of a sliding window: ``(size + 2*pad - span) // stride + 1``."""
    return add(floordiv(add(size, 2 * pad - span), stride), 1)


def symbols_of(values: Any) -> set[str]:
    """Symbol dims (strings) in a value: a ``TensorType``, a list of them, or a shape."""
    if isinstance(values, (list, tuple)):
        return set().union(*(symbols_of(v) for v in values)) if values else set()
    if isinstance(values, str):
        return {values}
    shape = getattr(values, "shape", None)
    return {d for d in shape if isinstance(d, str)} if shape is not None else set()


def same_shape(got: Any, want: list, fixed: set[str], binding: dict[str, Any]) -> bool:
    """Does the inferred type ``got`` have the shape ``want``? A symbol of ``want`` that the
    inputs use (``fixed``) means that symbol; any other binds, once, to the dim it meets
    (``B`` in ``expect`` is whatever the batch is)."""
    shape = getattr(got, "shape", None)
    if shape is None or len(shape) != len(want):
        return False
    for have, expected in zip(shape, want):
        if isinstance(expected, str) and expected not in fixed:
            if binding.setdefault(expected, have) != have:
                return False
        elif str(have) != str(expected):
            return False
    return True
