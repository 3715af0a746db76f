"""``EncodedVideo``: a video file (mp4, avi, webm, ...) decoded on demand by a registered decoder."""
from __future__ import annotations

import os
from typing import Any

from .decoder import DecoderType, decoder_class
from .video import BadVideoError, Video


def select_video_class(decoder: str | DecoderType) -> type:
    """The ``EncodedVideo`` subclass of ``decoder`` (``"pyav"``); ``ValueError`` naming the
    available decoders for one we do not ship."""
    # the default decoder subclasses EncodedVideo: imported on first use, not at import time
    from . import encoded_video_pyav  # noqa: F401  (registers "pyav")

    return decoder_class(decoder)


class EncodedVideo(Video):
    """Base class of the encoded-video decoders; ``EncodedVideo.from_path`` picks one by name."""

    @classmethod
    def from_path(cls, file_path: str, decode_audio: bool = True, decoder: str = "pyav",
                  **other_args: Any) -> "EncodedVideo":
        """Open ``file_path`` with ``decoder``. A missing or empty file is a ``BadVideoError``
        naming it (so is a file the decoder cannot read), never a decoder traceback."""
        video_cls = select_video_class(decoder)
        if not os.path.isfile(file_path):
            reason = "is a directory, not a video file" if os.path.isdir(file_path) else "no such file"
            raise BadVideoError(file_path, reason)
        if os.path.getsize(file_path) == 0:
            raise BadVideoError(file_path, "empty file (0 bytes)")
        return video_cls(file_path, video_name=os.path.basename(file_path), decode_audio=decode_audio,
                         **other_args)

