"""``EncodedVideo``: a video file (mp4, avi, webm, ...) decoded on demand by a registered decoder."""
from __future__ import annotations

import os
from typing import Any

from .decoder import DecoderType, decoder_class
from .errors import BadVideoError, VideoNotFoundError
from .video_base import Video


def select_video_class(decoder: str | DecoderType) -> type:
    """The ``EncodedVideo`` subclass of ``decoder`` (``"pyav"``; see ``decoder_class`` for the
    other names PyTorchVideo takes); ``ValueError`` naming the available decoders otherwise.
    The decoders register themselves when ``graphspec.data`` is imported (which importing this
    module does first)."""
    return decoder_class(decoder)


class EncodedVideo(Video):
    """Base class of the encoded-video decoders; ``EncodedVideo.from_path`` picks one by name."""

    @classmethod
    def from_path(cls, file_path: str, decode_audio: bool = True, decoder: str = "pyav",
                  **other_args: Any) -> "EncodedVideo":
        """Open ``file_path`` with ``decoder``. A missing file is a ``VideoNotFoundError`` (a
        ``FileNotFoundError``, as PyTorchVideo raises); an empty file, a folder or a file the
        decoder cannot read a ``BadVideoError``; each names the file, never a decoder traceback."""
        video_cls = select_video_class(decoder)
        if os.path.isdir(file_path):
            raise BadVideoError(file_path, "is a directory, not a video file")
        if not os.path.isfile(file_path):
            raise VideoNotFoundError(file_path)
        if os.path.getsize(file_path) == 0:
            raise BadVideoError(file_path, "empty file (0 bytes)")
        return video_cls(file_path, video_name=os.path.basename(file_path), decode_audio=decode_audio,
                         **other_args)

