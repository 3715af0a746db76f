"""Python scalar helpers: numpy scalars as the Python numbers they are, and strict bool flags, for
builders, spec arguments, hub kwargs and transforms alike."""
from __future__ import annotations

import inspect
from functools import wraps
from typing import Any, Callable

def python_scalars(value: Any) -> Any:
    """``value`` with every numpy scalar in it (``np.int64``, ``np.float32``, what ``np.prod``
    returns; inside tuples, lists and dicts too) as the Python scalar it holds, so that strict
    validation accepts it as the int / float it is. A numpy bool becomes a bool and a numpy
    string a str: still no number. numpy itself is not imported (torch does not need it)."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    if isinstance(value, (list, tuple)):
        return type(value)(python_scalars(v) for v in value) if type(value) in (list, tuple) else value
    if isinstance(value, dict):
        return {k: python_scalars(v) for k, v in value.items()}
    return value


def require_bool(function: str, **flags: Any) -> None:
    """``TypeError`` for a flag given something other than True or False (or a numpy bool):
    ``int8="yes"`` and ``pretrained="no"`` are both true to ``if``, so a string would silently
    mean yes. Here, below the API and the hub functions, so that both can check their flags."""
    for name, value in flags.items():
        numpy_bool = type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")
        if not isinstance(value, bool) and not numpy_bool:
            hint = f" (the string {value!r} is not a bool)" if isinstance(value, str) else ""
            raise TypeError(f"{function}(): {name} must be True or False, got {type(value).__name__} "
                            f"{value!r}{hint}")


def python_scalar_args(target: Callable) -> Callable:
    """``target`` (a function, or a class: its ``__init__`` in place) called with the numpy scalars
    in its arguments as Python scalars (``python_scalars``): what specs and builders get from
    validation, for ops a Python caller constructs directly (the transforms)."""
    function = target.__init__ if inspect.isclass(target) else target
    if getattr(function, "takes_numpy_scalars", False):
        return target

    @wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        return function(*python_scalars(args), **python_scalars(kwargs))

    call.takes_numpy_scalars = True
    if not inspect.isclass(target):
        return call
    target.__init__ = call
    return target
