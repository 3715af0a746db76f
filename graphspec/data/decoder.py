"""Video decoders behind one small interface: a registry from decoder name to ``Video`` class.

``pyav`` (PyAV / FFmpeg) is the one we ship and the default. The other names PyTorchVideo takes
(``torchvision``, ``decord``) are accepted as it accepts them: graphspec decodes them with PyAV
and warns once per name (a ``DecoderSubstitutionWarning``) that it did. Any other name is a
``ValueError`` listing the available ones.
"""
from __future__ import annotations

import warnings
from enum import Enum
from typing import Callable

from graphspec.spec.errors import did_you_mean


class DecoderType(Enum):
    PYAV = "pyav"
    TORCHVISION = "torchvision"
    DECORD = "decord"


_DECODERS: dict[str, type] = {}

#: PyTorchVideo's decoders that graphspec does not ship, and the one that decodes in their place
SUBSTITUTE_DECODERS = {DecoderType.TORCHVISION.value: DecoderType.PYAV.value,
                       DecoderType.DECORD.value: DecoderType.PYAV.value}
_substitutions_warned: set[str] = set()


class DecoderSubstitutionWarning(UserWarning):
    """A decoder PyTorchVideo takes was asked for; another one decodes in its place."""


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
    """The ``Video`` class decoding with ``decoder``: a ``SUBSTITUTE_DECODERS`` name gets its
    substitute (warning once per name); ``ValueError`` listing the available ones otherwise."""
    name = decoder.value if isinstance(decoder, DecoderType) else str(decoder)
    if name not in _DECODERS and name in SUBSTITUTE_DECODERS:
        substitute = SUBSTITUTE_DECODERS[name]
        if name not in _substitutions_warned:
            _substitutions_warned.add(name)
            warnings.warn(f"decoder {name!r} is not shipped with graphspec: decoding with {substitute!r} "
                          f"({_DECODERS[substitute].__name__}) instead", DecoderSubstitutionWarning, stacklevel=3)
        name = substitute
    try:
        return _DECODERS[name]
    except KeyError:
        hint = did_you_mean(name, _DECODERS)
        raise ValueError(f"decoder {name!r} is not a decoder; available: {', '.join(available_decoders())}"
                         + (f" ({hint})" if hint else "")) from None
