"""What a lesson needs to know about a media file of its bundle before a browser loads it:
an image's width and height, so that the page keeps its place while a lazy image arrives on a
slow connection (the text does not jump under the learner's thumb), and a video's size in
bytes, so that a learner saving mobile data knows what watching it costs.

Read once, when a bundle is imported; the figures are written into the lesson's stored HTML.
"""

from __future__ import annotations

import io
import posixpath
import re
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

# An SVG's opening tag: its width and height in CSS pixels, or its viewBox.
_SVG_TAG = re.compile(rb"<svg\b([^>]*)>", re.IGNORECASE)
_SVG_LENGTH = r"""\s{name}\s*=\s*["']\s*([0-9]+(?:\.[0-9]+)?)\s*(?:px)?\s*["']"""
_SVG_VIEWBOX = re.compile(
    r"""\sviewBox\s*=\s*["']\s*[-0-9.]+[\s,]+[-0-9.]+[\s,]+([0-9.]+)[\s,]+([0-9.]+)\s*["']""",
    re.IGNORECASE,
)
# Video files a lesson plays in its own player (<video>), by their extension.
VIDEO_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm"}
# Larger than any photo a lesson needs; above it Pillow is not asked (decompression bombs).
MAX_PIXELS = 50_000_000


def _svg_size(data: bytes) -> tuple[int, int] | None:
    match = _SVG_TAG.search(data[:4096])
    if not match:
        return None
    attributes = match.group(1).decode("utf-8", "replace")
    width = re.search(_SVG_LENGTH.format(name="width"), attributes, re.IGNORECASE)
    height = re.search(_SVG_LENGTH.format(name="height"), attributes, re.IGNORECASE)
    if width and height:
        size = (round(float(width.group(1))), round(float(height.group(1))))
    elif box := _SVG_VIEWBOX.search(attributes):
        size = (round(float(box.group(1))), round(float(box.group(2))))
    else:
        return None
    return size if size[0] > 0 and size[1] > 0 else None


def image_size(path: str, data: bytes) -> tuple[int, int] | None:
    """An image's (width, height) in CSS pixels, or None when it cannot be told."""
    if path.lower().endswith(".svg"):
        return _svg_size(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # reads the header only
                width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombWarning):
        return None
    except Image.DecompressionBombError:
        return None
    if not 0 < width * height <= MAX_PIXELS:
        return None
    return width, height


@dataclass(frozen=True)
class MediaInfo:
    """A bundle file as a lesson shows it: its size in bytes; an image's width and height."""

    size: int
    width: int | None = None
    height: int | None = None


def is_video(path: str) -> bool:
    """True for a video file a lesson plays itself (media/cach-cai-vneid.mp4)."""
    return posixpath.splitext(path.split("?", 1)[0].split("#", 1)[0])[1].lower() in VIDEO_TYPES


def describe(path: str, data: bytes) -> MediaInfo:
    """What a lesson needs to know about one file of its bundle."""
    size = None if is_video(path) else image_size(path, data)
    return MediaInfo(len(data), *(size or (None, None)))
