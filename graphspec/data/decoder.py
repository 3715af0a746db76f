"""Video decoders behind one small interface: a registry from decoder name to ``Video`` class.

``pyav`` (PyAV / FFmpeg) is the one we ship and the default. ``DecoderType`` also names the
backends PyTorchVideo documents (``torchvision``, ``decord``) so that asking for one gives a clear
error listing what is available instead of a bare KeyError.
"""
from __future__ import annotations

from enum import Enum
from typing import Callable

from graphspec.spec.errors import did_you_mean


class DecoderType(Enum):
    PYAV = "pyav"
    TORCHVISION = "torchvision"
    DECORD = "decord"


_DECODERS: dict[str, type] = {}


def register_decoder(name: str) -> Callable[[type], type]:
    """Class decorator: make a ``Video`` subclass the decoder called ``name``."""

    def deco(cls: type) -> type:
        if name in _DECODERS and _DECODERS[name] is not cls:
            raise ValueError(f"decoder {name!r} is already registered")
        _DECODERS[name] = cls
        return cls

    return deco


def available_decoders() -> list[str]:
    return sorted(_DECODERS)


def decoder_class(decoder: str | DecoderType) -> type:
    """The ``Video`` class decoding with ``decoder``; ``ValueError`` listing the available ones."""
    name = decoder.value if isinstance(decoder, DecoderType) else str(decoder)
    try:
        return _DECODERS[name]
    except KeyError:
        known = {d.value for d in DecoderType}
        why = "is not shipped with graphspec" if name in known else "is not a decoder"
        hint = did_you_mean(name, _DECODERS)
        raise ValueError(f"decoder {name!r} {why}; available: {', '.join(available_decoders())}"
                         + (f" ({hint})" if hint and name not in known else "")) from None
